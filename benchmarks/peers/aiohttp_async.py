"""aiohttp with hand-written concurrency: one GET per object (or per range), 64 in flight on
one session, bodies streamed to files in 1 MiB chunks. Large objects are not split, as in the
typical hand-written downloader."""

from __future__ import annotations

import asyncio
import time
from importlib.util import find_spec
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import CONCURRENCY, check_ranges, local_path, timed_download

NAME = "aiohttp"
KINDS = frozenset({"download", "ranges", "items"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("aiohttp",)


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    return None if find_spec("aiohttp") else "aiohttp is not installed (benchmarks/requirements)"


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Fetch with aiohttp (see the module)."""
    import aiohttp

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None))

    if scenario.kind == "ranges":

        async def read_all() -> list[int]:
            async with session() as client:
                limit = asyncio.Semaphore(CONCURRENCY)

                async def one(key: str, start: int, end: int) -> int:
                    headers = {"Range": f"bytes={start}-{end - 1}"}
                    async with limit, client.get(origin.href(key), headers=headers) as response:
                        response.raise_for_status()
                        return len(await response.read())

                return list(
                    await asyncio.gather(*(one(r.key, r.start, r.end) for r in scenario.ranges))
                )

        started = time.perf_counter()
        lengths = asyncio.run(read_all())
        seconds = time.perf_counter() - started
        total = check_ranges(scenario, lengths)
        return Measurement(NAME, scenario.name, seconds, total, "one GET per range, 64 in flight")

    async def download(root: Path) -> None:
        async with session() as client:
            limit = asyncio.Semaphore(CONCURRENCY)

            async def one(key: str) -> None:
                async with limit, client.get(origin.href(key)) as response:
                    response.raise_for_status()
                    with local_path(root, key).open("wb") as file:
                        async for chunk in response.content.iter_chunked(1024 * 1024):
                            file.write(chunk)

            await asyncio.gather(*(one(obj.key) for obj in scenario.objects))

    note = f"one GET per object, {CONCURRENCY} in flight"
    return timed_download(NAME, scenario, note, lambda root: asyncio.run(download(root)))
