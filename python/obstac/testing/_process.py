"""A server subprocess: start it, wait for its port, stop it, keep its log for errors."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK, port_is_open

_STOP_GRACE_SECONDS = 5.0
"""Seconds between SIGTERM and SIGKILL on stop: moto and Azurite exit well within 1 s."""

_LOG_TAIL_BYTES = 2048
"""How much of the server log an error message quotes: enough for a Python or Node traceback."""

# Servers run in their own session (so a Ctrl-C meant for the caller does not hit them first),
# which also means nothing kills them if the caller forgets. Every live one is remembered here
# and stopped at interpreter exit: a server started by a thread while the main thread was being
# interrupted is still stopped.
_live: set[ServerProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _live_lock:
        remaining = list(_live)
    for server in remaining:
        server.stop()


_POLL_INTERVAL = 0.05
"""Seconds between readiness checks while the server starts."""


class ServerProcess(Service):
    """A local server run as a subprocess that listens on one 127.0.0.1 port.

    The process runs in its own session (process group), so ``stop`` also reaches any children
    a launcher script starts. Its stdout and stderr go to a temporary log file; errors quote
    the end of that log.

    Example:
        ```py
        argv = [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)]
        with ServerProcess(argv, port=port) as server:
            urllib.request.urlopen(server.url)
        ```
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        startup_timeout: float = 30.0,
        name: str | None = None,
    ) -> None:
        """Describe the server; nothing runs until ``start``.

        Args:
            argv: The command and its arguments.
            port: The 127.0.0.1 port the server will listen on.
            env: The complete environment for the process; None inherits this process's.
            cwd: The working directory; None inherits this process's.
            startup_timeout: Seconds to wait for the port to open.
            name: A short name for messages and the log file; defaults to the command's name.
        """
        self._argv = list(argv)
        self._port = port
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._startup_timeout = startup_timeout
        self._name = name or Path(self._argv[0]).name
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the server listens on."""
        return self._port

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self._port}"

    @property
    def log_path(self) -> Path | None:
        """The file holding the server's stdout and stderr, once started."""
        return self._log_path

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the process and wait until its port accepts connections.

        Returns:
            This server, to allow ``server = ServerProcess(...).start()``.

        Raises:
            RuntimeError: If it is already running, exits early, or its port does not open in
                time. The message quotes the last 2 KB of its log.
        """
        if self._process is not None:
            msg = f"{self._name} is already started on port {self._port}"
            raise RuntimeError(msg)
        fd, log_name = tempfile.mkstemp(prefix=f"obstac-{self._name}-", suffix=".log")
        self._log_path = Path(log_name)
        with os.fdopen(fd, "wb") as log:
            self._process = subprocess.Popen(
                self._argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
                cwd=self._cwd,
                start_new_session=True,
            )
        try:
            self._wait_until_ready(self._process)
        except BaseException:
            # Keep the log file: the error message points at it.
            self._terminate()
            self._process = None
            raise
        with _live_lock:
            _live.add(self)
        return self

    def stop(self) -> None:
        """Stop the process: SIGTERM, then SIGKILL after 5 s. Safe to call twice."""
        if self._process is None:
            return
        self._terminate()
        self._process = None
        with _live_lock:
            _live.discard(self)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def log_tail(self, size: int = _LOG_TAIL_BYTES) -> str:
        """Return the last ``size`` bytes of the server log, decoded leniently.

        Args:
            size: How many bytes to read from the end.

        Returns:
            The text, or an empty string if there is no log.
        """
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - size))
            return log.read().decode("utf-8", errors="replace")

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while True:
            code = process.poll()
            if code is not None:
                self._fail(f"exited with code {code} before opening port {self._port}")
            if port_is_open(self._port):
                return
            if time.monotonic() >= deadline:
                self._fail(f"did not open port {self._port} within {self._startup_timeout:g} s")
            time.sleep(_POLL_INTERVAL)

    def _fail(self, what: str) -> None:
        msg = (
            f"{self._name} {what}.\ncommand: {' '.join(self._argv)}\n"
            f"log ({self._log_path}), last {_LOG_TAIL_BYTES} bytes:\n{self.log_tail()}"
        )
        raise RuntimeError(msg)

    def _terminate(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        self._signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            process.wait()

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
        # The process leads its own group (start_new_session), so this reaches only it and
        # the children it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
