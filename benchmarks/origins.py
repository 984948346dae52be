"""The servers the peers fetch from, all on 127.0.0.1.

- :class:`NginxOrigin`: Debian's nginx serving a temp folder: a fast static HTTP origin, and a
  path-style S3 stand-in for GETs and HEADs (it ignores the signature). ``make bench`` installs
  it (``apt-get install -y nginx``).
- :class:`MemoryOrigin`: :class:`obstac.testing.RangeHTTPServer` in this process, serving the
  objects from memory; used when nginx is absent and by the smoke test. Slower than nginx
  (Python, thread per connection), so results on it say more about the server than the peers.

The provider origins of scenario 6 (moto, Azurite, the GCS double) are in
:mod:`benchmarks.provider_origins`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Self

from benchmarks.model import Provider, Scenario
from benchmarks.scenarios import payloads, write_files
from obstac.testing import RangeHTTPServer, Service, free_port, wait_for_port

BUCKET = "bench"
"""The first path segment of every object (the S3 bucket for S3 peers)."""

_NGINX_CONF = """\
{user}
worker_processes 2;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    keepalive_timeout 120s;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {data};
        location / {{ }}
    }}
}}
"""


def nginx_path() -> str | None:
    """The nginx executable, or None when it is not installed."""
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


class NginxOrigin(Service):
    """nginx serving ``data_root`` on a free 127.0.0.1 port; a context manager."""

    name = "nginx"
    s3 = True
    provider: Provider = "http"

    def __init__(self, data_root: Path) -> None:
        """Describe the server; nothing runs until ``start``.

        Raises:
            FileNotFoundError: nginx is not installed (``apt-get install -y nginx``).
        """
        executable = nginx_path()
        if executable is None:
            msg = "nginx is not installed: run `apt-get install -y nginx` (make bench does)"
            raise FileNotFoundError(msg)
        self._executable = executable
        self._data_root = data_root
        self._conf_dir = Path(tempfile.mkdtemp(prefix="obstac-bench-nginx-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.port = free_port()

    def add(self, scenario: Scenario) -> None:
        """Write a scenario's files where nginx serves them."""
        write_files(scenario, self._data_root, BUCKET)

    def start(self) -> Self:
        """Start nginx and wait until it accepts connections."""
        (self._conf_dir / "tmp").mkdir(exist_ok=True)
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self._conf_dir / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(user=user, root=self._conf_dir, port=self.port, data=self._data_root)
        )
        self._process = subprocess.Popen(  # noqa: S603 - our own config, no shell
            [self._executable, "-c", str(conf), "-p", str(self._conf_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        """Stop nginx (SIGTERM to the master it started) and remove its config folder."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self._conf_dir, ignore_errors=True)


class MemoryOrigin(Service):
    """:class:`obstac.testing.RangeHTTPServer` holding the objects in memory."""

    name = "RangeHTTPServer"
    s3 = False
    provider: Provider = "http"

    def __init__(self) -> None:
        """Describe the server; nothing runs until ``start``."""
        self._server = RangeHTTPServer()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._server.port

    def add(self, scenario: Scenario) -> None:
        """Load a scenario's objects into memory."""
        for obj, data in payloads(scenario):
            self._server.put(f"{BUCKET}/{obj.key}", data)

    def start(self) -> Self:
        """Start serving."""
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.stop()
