"""aiohttp with hand-written concurrency: one GET per object (or per range; ``cog``: per tile,
after one per header), 64 in flight on one session, bodies streamed to files in 1 MiB chunks.
Large objects are not split, as in the typical hand-written downloader."""

from __future__ import annotations

import asyncio
from importlib.util import find_spec
from pathlib import Path

from benchmarks.model import RANGE_KINDS, Measurement, Origin, Scenario
from benchmarks.peers._common import (
    CONCURRENCY,
    local_path,
    read_files,
    timed_download,
    timed_ranges,
)

NAME = "aiohttp"
KINDS = frozenset({"download", "ranges", "cog", "items"})
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

    if scenario.kind in RANGE_KINDS:

        async def read_all() -> list[int]:
            async with session() as client:
                limit = asyncio.Semaphore(CONCURRENCY)

                async def one(key: str, start: int, end: int) -> bytes:
                    headers = {"Range": f"bytes={start}-{end - 1}"}
                    async with limit, client.get(origin.href(key), headers=headers) as response:
                        response.raise_for_status()
                        body: bytes = await response.read()  # Any when aiohttp is absent
                        return body

                async def fetch(key: str, starts: list[int], ends: list[int]) -> list[bytes]:
                    spans = zip(starts, ends, strict=True)
                    return list(await asyncio.gather(*(one(key, s, e) for s, e in spans)))

                return await read_files(scenario, fetch)

        note = f"one GET per range, {CONCURRENCY} in flight"
        return timed_ranges(NAME, scenario, note, read_all)

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
