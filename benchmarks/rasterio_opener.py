"""Windows of one COG read three ways through a 40 ms link: the table in docs/rasterio.md.

    python -m benchmarks.rasterio_opener        # ~1 min on 2 cores; prints a Markdown table

The COG is the first file of the quick ``cog`` scenario (4096 x 4096 ``uint16``, 512 px
tiles, DEFLATE, overviews: 16.8 MiB), the windows are the first 1 and 20 the scenario places on
it (256 px, random offsets), each checked against the scenario's ``crc32``. It is served by
:class:`obstac.testing.RangeHTTPServer` (which counts the requests) behind
``LatencyProxy.profile("wan")`` (40 ms RTT, 25 MiB/s per connection; wire bytes are the
proxy's ``bytes_down``). Each way and window count runs in its own Python process on its own
copy of the file, so no connection, GDAL cache or HEAD answer carries over; the time covers
``rasterio.open`` and the reads (not the interpreter's start). Ways:

- ``/vsicurl/``: GDAL's own HTTP reader, ``GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR``.
- ``RasterioOpener``: ``rasterio.open(href, opener=obstac.RasterioOpener())``.
- ``open(f)``: ``rasterio.open(f)`` with ``f = open_asset(href).open()``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from benchmarks.cog import cog_scenario, file_path
from benchmarks.model import WindowSpec

WAYS = ("vsicurl", "opener", "opener-1m", "file")
REPEATS = 3
"""Runs of each way and count; the table shows the median time (requests and bytes repeat)."""
WINDOW_COUNTS = (1, 20)
MIB = 1024 * 1024


def _windows(count: int) -> list[WindowSpec]:
    """The first ``count`` windows the ``cog`` scenario places on its first file."""
    scenario = cog_scenario("quick")
    key = scenario.objects[0].key
    return [window for window in scenario.windows if window.key == key][:count]


def _worker(way: str, href: str, count: int) -> None:
    """Read ``count`` windows of ``href`` one way, check their pixels, print the seconds."""
    import rasterio

    import obstac

    windows = _windows(count)
    crcs = []
    start = time.perf_counter()
    if way == "vsicurl":
        with (
            rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
            rasterio.open(f"/vsicurl/{href}") as dataset,
        ):
            crcs = [_crc(dataset, window) for window in windows]
    elif way.startswith("opener"):
        opener = obstac.RasterioOpener()
        if way == "opener-1m":
            opener = obstac.RasterioOpener(buffer_size=MIB)
        with rasterio.open(href, opener=opener) as dataset:
            crcs = [_crc(dataset, window) for window in windows]
    else:
        with obstac.open_asset(href).open() as f, rasterio.open(f) as dataset:
            crcs = [_crc(dataset, window) for window in windows]
    seconds = time.perf_counter() - start
    if crcs != [window.crc32 for window in windows]:
        msg = f"{way}: the pixels differ from the file's"
        raise RuntimeError(msg)
    print(json.dumps({"seconds": seconds}))


def _crc(dataset: Any, window: WindowSpec) -> int:
    from rasterio.windows import Window

    area = Window(window.col_off, window.row_off, window.width, window.height)
    return zlib.crc32(dataset.read(1, window=area).tobytes())


def _run_worker(way: str, count: int, href: str) -> float:
    """Run :func:`_worker` in a fresh interpreter; the seconds it measured."""
    answer = subprocess.run(  # noqa: S603 - this module in this interpreter, no shell
        [sys.executable, "-m", "benchmarks.rasterio_opener", way, str(count), href],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    seconds: float = json.loads(answer.stdout.strip().splitlines()[-1])["seconds"]
    return seconds


def main() -> None:
    """Serve the COG through the WAN link, run each way, print the table."""
    from obstac.testing import LatencyProxy, RangeHTTPServer

    first = cog_scenario("quick").objects[0]
    content = file_path(first.key).read_bytes()
    rows = []
    with RangeHTTPServer() as origin:
        for count in WINDOW_COUNTS:
            for way in WAYS:
                runs = []
                for run in range(REPEATS):
                    path = f"{way}-{count}-{run}/cog.tif"
                    origin.put(path, content)
                    with LatencyProxy.profile("wan", origin.port) as wan:
                        seconds = _run_worker(way, count, f"{wan.url}/{path}")
                        runs.append((seconds, origin.count(path=path), wan.bytes_down))
                    origin.delete(path)
                median = sorted(run[0] for run in runs)[REPEATS // 2]
                rows.append((way, count, median, runs[0][1], runs[0][2]))
    print(f"COG: {first.key}, {len(content) / MIB:.1f} MiB, wan link")
    print("| way | windows | seconds (median of 3) | requests | wire MiB |")
    print("|---|---:|---:|---:|---:|")
    for way, count, seconds, requests, wire in rows:
        print(f"| {way} | {count} | {seconds:.2f} | {requests} | {wire / MIB:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _worker(sys.argv[1], sys.argv[3], int(sys.argv[2]))
    else:
        main()
