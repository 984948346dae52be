"""``obstac download`` in a pseudo-terminal: rich progress bars render on stderr when it is a
terminal, while stdout (a pipe) still gets the JSON; stdin as a terminal is a usage error."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from obstac.testing import RangeHTTPServer
from obstac.testing.http_origin import RecordedRequest, Response

BIN = Path(sys.executable).parent
DELAY = 0.8
"""Seconds the slow origin waits before answering a GET: long enough for several refreshes of
the progress display (10 per second)."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class SlowOrigin(RangeHTTPServer):
    """The HTTP origin, answering each GET after :data:`DELAY` seconds."""

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method == "GET":
            time.sleep(DELAY)
        return None


@pytest.fixture(scope="module")
def slow_origin() -> Iterator[SlowOrigin]:
    with SlowOrigin() as origin:
        yield origin


@dataclass
class TerminalRun:
    returncode: int
    terminal: str  # what the terminal received (stderr), escape codes included
    stdout: bytes

    @property
    def text(self) -> str:
        """The terminal output without escape codes."""
        return _ANSI.sub("", self.terminal)


def obstac_command() -> list[str]:
    script = BIN / "obstac"
    return [str(script)] if script.exists() else [sys.executable, "-m", "obstac.cli"]


def run_in_terminal(args: list[str], *, stdin_path: Path | None) -> TerminalRun:
    """Run obstac with stderr (and, without ``stdin_path``, stdin) on a 120x40 pty."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TTY_COMPATIBLE")
    }
    env["TERM"] = "xterm-256color"
    with stdin_path.open("rb") if stdin_path else open(os.devnull, "rb") as piped:
        process = subprocess.Popen(
            [*obstac_command(), *args],
            stdin=piped if stdin_path else terminal,
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=env,
        )
    os.close(terminal)
    received = bytearray()
    stdout = bytearray()
    assert process.stdout is not None
    streams = {controller: received, process.stdout.fileno(): stdout}
    deadline = time.monotonic() + 60
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(list(streams), [], [], 0.2)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the process closed the terminal
                chunk = b""
            if chunk:
                streams[fd].extend(chunk)
            else:
                del streams[fd]
    os.close(controller)
    process.stdout.close()
    returncode = process.wait(timeout=10)
    return TerminalRun(returncode, received.decode("utf-8", "replace"), bytes(stdout))


def _items(origin: SlowOrigin, prefix: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for number in range(4):
        data = os.urandom(2 * 1024 * 1024 + number)
        origin.put(f"{prefix}/item-{number}/data.bin", data)
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "id": f"item-{number}",
                "collection": "tty",
                "geometry": None,
                "properties": {"datetime": "2024-05-17T10:00:00Z"},
                "links": [],
                "assets": {
                    "data": {
                        "href": f"{origin.url}/{prefix}/item-{number}/data.bin",
                        "file:size": len(data),
                        "roles": ["data"],
                    }
                },
            }
        )
    return items


def test_progress_bars_render_in_a_terminal(tmp_path: Path, slow_origin: SlowOrigin) -> None:
    items = _items(slow_origin, f"tty-{uuid.uuid4().hex[:8]}")
    source = tmp_path / "items.json"
    source.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    dest = tmp_path / "dest"

    run = run_in_terminal(["download", "-o", str(dest)], stdin_path=source)

    assert run.returncode == 0, run.text
    text = run.text
    assert "━" in text  # rich's bar
    assert re.search(r"\b0%", text)  # bars drawn before the data arrived
    assert "100%" in text
    assert re.search(r"\d+\.\d/8\.0 MiB", text)  # overall bytes: done / total
    assert re.search(r"/2\.0 MiB", text)  # a per-asset bar
    assert "tty/item-0/data" in text  # per-asset bars are named after their asset
    assert "all: 4/4 assets" in text
    assert "\x1b[" in run.terminal  # a live display: cursor movements and colours
    assert "4 assets of 4 items: 4 downloaded" in text
    # stdout is a pipe: the JSON went there, untouched by the display.
    collection = json.loads(run.stdout)
    assert [feature["id"] for feature in collection["features"]] == [item["id"] for item in items]
    for item in items:
        written = dest / "tty" / item["id"] / "data.bin"
        assert written.stat().st_size == item["assets"]["data"]["file:size"]


def test_json_events_stay_json_on_a_terminal(tmp_path: Path, slow_origin: SlowOrigin) -> None:
    items = _items(slow_origin, f"tty-{uuid.uuid4().hex[:8]}")[:2]
    source = tmp_path / "items.ndjson"
    source.write_text("".join(json.dumps(item) + "\n" for item in items))

    run = run_in_terminal(["download", "-o", str(tmp_path / "dest"), "--json"], stdin_path=source)

    assert run.returncode == 0
    assert "\x1b[" not in run.terminal  # no live display, no colours
    events = [json.loads(line) for line in run.terminal.splitlines() if line.strip()]
    assert [e["event"] for e in events if e["event"] != "bytes"] == [
        "start",
        "start",
        "done",
        "done",
        "summary",
    ]
    assert events[-1]["ok"] is True
    assert events[-1]["bytes"] == sum(item["assets"]["data"]["file:size"] for item in items)


def test_stdin_that_is_a_terminal_is_a_usage_error(tmp_path: Path) -> None:
    run = run_in_terminal(["download", "-o", str(tmp_path / "dest")], stdin_path=None)
    assert run.returncode == 2
    assert "no input: pipe in an Item" in run.text
    assert not (tmp_path / "dest").exists()
