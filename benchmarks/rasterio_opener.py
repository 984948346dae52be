"""Windows of one COG read three ways through a 40 ms link: the table in docs/rasterio.md.

    python -m benchmarks.rasterio_opener        # ~1 min on 2 cores; prints a Markdown table

The COG is like the ``cog`` scenario's: 4096 x 4096 ``uint16``, 512 px tiles, DEFLATE with the
horizontal predictor, overviews (GDAL's ``COG`` driver), a smooth field plus noise (~17 MiB).
It is served by :class:`obstac.testing.RangeHTTPServer` (which counts the requests) behind
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
import random
import subprocess
import sys
import time
from pathlib import Path

SIDE = 4096
TILE = 512
WINDOW = 256
WAYS = ("vsicurl", "opener", "opener-1m", "file")
REPEATS = 3
"""Runs of each way and count; the table shows the median time (requests and bytes repeat)."""
WINDOW_COUNTS = (1, 20)
MIB = 1024 * 1024


def _cog_bytes() -> bytes:
    import numpy as np
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy

    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype("float32") / SIDE
    field = 2000 + 1500 * np.sin(6 * rows) * np.cos(4 * cols)
    noise = np.random.default_rng(3).normal(0, 6.0, (SIDE, SIDE))
    pixels = (field + noise).astype("uint16")[np.newaxis]
    profile = {
        "driver": "GTiff",
        "width": SIDE,
        "height": SIDE,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": rasterio.transform.from_origin(500_000, 4_000_000, 10, 10),
    }
    with MemoryFile() as source, MemoryFile() as cog:
        with source.open(**profile) as dataset:
            dataset.write(pixels)
        copy(
            source.name,
            cog.name,
            driver="COG",
            BLOCKSIZE=TILE,
            COMPRESS="DEFLATE",
            PREDICTOR=2,
            OVERVIEWS="AUTO",
        )
        return bytes(cog.read())


def _windows(count: int) -> list[tuple[int, int]]:
    rng = random.Random(f"windows-{count}")  # noqa: S311 - reproducible windows, nothing secret
    return [(rng.randrange(SIDE - WINDOW), rng.randrange(SIDE - WINDOW)) for _ in range(count)]


def _worker(way: str, href: str, count: int) -> None:
    """Read ``count`` windows of ``href`` one way; print seconds and a checksum as JSON."""
    import rasterio
    from rasterio.windows import Window

    import obstac

    total = 0
    start = time.perf_counter()
    if way == "vsicurl":
        with (
            rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"),
            rasterio.open(f"/vsicurl/{href}") as dataset,
        ):
            for column, row in _windows(count):
                total += int(dataset.read(1, window=Window(column, row, WINDOW, WINDOW)).sum())
    elif way.startswith("opener"):
        opener = obstac.RasterioOpener()
        if way == "opener-1m":
            opener = obstac.RasterioOpener(buffer_size=MIB)
        with rasterio.open(href, opener=opener) as dataset:
            for column, row in _windows(count):
                total += int(dataset.read(1, window=Window(column, row, WINDOW, WINDOW)).sum())
    else:
        with obstac.open_asset(href).open() as f, rasterio.open(f) as dataset:
            for column, row in _windows(count):
                total += int(dataset.read(1, window=Window(column, row, WINDOW, WINDOW)).sum())
    print(json.dumps({"seconds": time.perf_counter() - start, "checksum": total}))


def _run_worker(way: str, count: int, href: str) -> dict[str, float]:
    """Run :func:`_worker` in a fresh interpreter; its JSON answer."""
    answer = subprocess.run(  # noqa: S603 - this module in this interpreter, no shell
        [sys.executable, "-m", "benchmarks.rasterio_opener", way, str(count), href],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result: dict[str, float] = json.loads(answer.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Build the COG, serve it through the WAN link, run each way, print the table."""
    from obstac.testing import LatencyProxy, RangeHTTPServer

    content = _cog_bytes()
    rows = []
    with RangeHTTPServer() as origin:
        for count in WINDOW_COUNTS:
            checksums = set()
            for way in WAYS:
                runs = []
                for run in range(REPEATS):
                    path = f"{way}-{count}-{run}/cog.tif"
                    origin.put(path, content)
                    with LatencyProxy.profile("wan", origin.port) as wan:
                        result = _run_worker(way, count, f"{wan.url}/{path}")
                        runs.append((result["seconds"], origin.count(path=path), wan.bytes_down))
                    origin.delete(path)
                    checksums.add(result["checksum"])
                seconds = sorted(run[0] for run in runs)[REPEATS // 2]
                rows.append((way, count, seconds, runs[0][1], runs[0][2]))
            if len(checksums) != 1:
                msg = f"the ways read different pixels for {count} windows: {checksums}"
                raise RuntimeError(msg)
    print(f"COG: {len(content) / MIB:.1f} MiB, {SIDE} x {SIDE} px, {TILE} px tiles, wan link")
    print("| way | windows | seconds (median of 3) | requests | wire MiB |")
    print("|---|---:|---:|---:|---:|")
    for way, count, seconds, requests, wire in rows:
        print(f"| {way} | {count} | {seconds:.2f} | {requests} | {wire / MIB:.2f} |")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        _worker(sys.argv[1], sys.argv[3], int(sys.argv[2]))
    else:
        main()
