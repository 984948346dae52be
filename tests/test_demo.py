"""``python -m obstac.demo``: the offline demo runs end to end, verifies, and cleans up.

Each test runs the demo as its own process, as ``make demo`` does, and checks its exit code,
its summary and what it left behind: the files it downloaded (``--dest``), no temporary
folder, and no server still listening after it ended, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from obstac.demo import main, synthetic_file

SUMMARY = re.compile(
    r"obstac demo: 8 items, 46 assets, (?P<mib>[\d.]+) MiB in (?P<seconds>[\d.]+) s "
    r"\((?P<rate>[\d.]+) MiB/s\), (?P<requests>\d+) requests, (?P<retries>\d+) retries, "
    r"all 46 verified"
)
SERVER_PORTS = re.compile(r"127\.0\.0\.1:(\d+)")
DEMO_BYTES = 159.8  # MiB: the catalog's 46 files


def _demo(
    *args: str, timeout: float = 90, tmpdir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None
    return subprocess.run(
        [sys.executable, "-m", "obstac.demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def _closed(port: int, wait: float = 10.0) -> bool:
    """Whether nothing listens on ``port`` any more (servers may take a moment to exit)."""
    deadline = time.monotonic() + wait
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


@contextlib.contextmanager
def _running(*args: str) -> Iterator[subprocess.Popen[str]]:
    """The demo as a running process; killed if the test fails before it ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "obstac.demo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_lan_demo_downloads_and_verifies_every_asset_then_removes_its_temp_folder(
    tmp_path: Path,
) -> None:
    # A private TMPDIR: other tests may run demos (and make temp folders) at the same time.
    started = time.monotonic()
    done = _demo("--profile", "lan", tmpdir=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 60
    summary = SUMMARY.search(done.stdout)
    assert summary is not None, done.stdout
    assert float(summary["mib"]) == DEMO_BYTES
    assert summary["retries"] == "0"
    # One GET per asset at least; the 10-12 MiB "visual" COGs come in two 8 MiB parts.
    assert 46 < int(summary["requests"]) <= 46 + 6
    for origin, recipe, assets in [
        ("S3 (moto)", "earth-search", 18),
        ("Azure (Azurite)", "planetary_computer", 18),
        ("HTTP", "http", 10),
    ]:
        assert re.search(rf"{re.escape(origin)}\s*│\s*{recipe}\s*│\s*{assets}\s*│", done.stdout)
    assert "lan profile (no delay, no cap)" in done.stdout
    assert "search: 8 items in 2 pages" in done.stderr
    ports = [int(port) for port in SERVER_PORTS.findall(done.stderr)[:2]]
    assert len(ports) == 2
    assert all(_closed(port) for port in ports)
    assert not list(tmp_path.glob("obstac-demo-*"))  # its download folder is gone


def test_wan_demo_into_dest_keeps_files_whose_bytes_match_the_catalog(tmp_path: Path) -> None:
    dest = tmp_path / "demo"
    done = _demo("--profile", "wan", "--dest", str(dest))
    assert done.returncode == 0, done.stderr[-3000:]
    summary = SUMMARY.search(done.stdout)
    assert summary is not None, done.stdout
    assert "wan profile (40 ms RTT, 25 MiB/s per connection" in done.stdout
    assert f"files and item JSON are in {dest}" in done.stdout
    documents = sorted(p for p in dest.glob("*/*/*.json") if p.stem == p.parent.name)
    assert len(documents) == 8
    assert {path.parent.parent.name for path in documents} == {"sentinel-2-l2a", "landsat-c2-l2"}
    files = 0
    for path in documents:
        item = json.loads(path.read_text())
        for asset in item["assets"].values():
            local = (path.parent / asset["href"]).resolve()
            data = local.read_bytes()
            assert asset["file:checksum"] == "1220" + hashlib.sha256(data).hexdigest()
            origin = asset["alternate"]["origin"]["href"]
            assert data == synthetic_file(origin, asset["file:size"])  # the bytes the demo made
            files += 1
    assert files == 46


def test_ctrl_c_stops_every_server_and_exits_130() -> None:
    with _running("--profile", "wan") as process:
        assert process.stderr is not None
        first = process.stderr.readline()  # printed before any server starts
        ports = [int(port) for port in SERVER_PORTS.findall(first)]
        assert len(ports) == 2, first
        time.sleep(0.5)  # mid-startup: moto and Azurite are starting in other threads
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 130, first + err
    assert "interrupted; every server it started is stopped" in err
    assert "obstac demo: 8 items" not in out
    assert all(_closed(port) for port in ports)


def test_bad_usage_exits_2_and_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--profile", "moon"]) == 2
    assert "invalid choice: 'moon'" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "--profile {wan,lan}" in capsys.readouterr().out


def test_synthetic_files_are_deterministic_tiffs_where_named_so() -> None:
    a = synthetic_file("https://example.com/B04.tif", 1000)
    assert a == synthetic_file("https://example.com/B04.tif", 1000)
    assert a.startswith(b"II*\x00")
    assert len(a) == 1000
    assert synthetic_file("https://example.com/B03.tif", 1000) != a
    assert not synthetic_file("meta.xml", 10).startswith(b"II*")


def test_sigterm_is_handled_like_ctrl_c() -> None:
    with _running("--profile", "lan") as process:
        assert process.stderr is not None
        first = process.stderr.readline()
        ports = [int(port) for port in SERVER_PORTS.findall(first)]
        assert len(ports) == 2, first
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, first + err
    assert all(_closed(port) for port in ports)
