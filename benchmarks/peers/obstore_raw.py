"""Raw obstore by hand, the floor obstac must stay within a few % of.

Small objects: one ``get_async`` per object, streamed to its file, 64 in flight. Large objects
(> one part): 8 MiB ``get_range_async`` parts written at their offsets, 64 in flight over all
objects. Ranges: ``get_ranges_async`` per file, files gathered (``cog``: the header first).
The store matches the origin's provider (:func:`benchmarks.peers._provider.obstore_store`);
``scenario.concurrency`` replaces the 64 in the concurrency sweep. Item collections: the assets
as plain objects, as above.
Mirror: :mod:`benchmarks.peers.obstore_mirror`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from benchmarks.model import RANGE_KINDS, Measurement, Origin, Scenario
from benchmarks.peers import obstore_mirror
from benchmarks.peers._common import (
    CONCURRENCY,
    PART_SIZE,
    local_path,
    read_files,
    timed_download,
    timed_ranges,
)
from benchmarks.peers._provider import ALL, obstore_store

NAME = "obstore"
KINDS = frozenset({"download", "ranges", "cog", "items", "mirror"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("obstore", "obstore.store")
PROVIDERS = ALL


def missing() -> str | None:
    """Always available: obstore is obstac's dependency."""
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Fetch with obstore directly (see the module)."""
    import obstore

    if scenario.kind == "mirror":
        return obstore_mirror.run_mirror(NAME, scenario, origin)
    store = obstore_store(origin)
    in_flight = scenario.concurrency or CONCURRENCY
    if scenario.kind in RANGE_KINDS:

        async def fetch(key: str, starts: list[int], ends: list[int]) -> list[obstore.Bytes]:
            return await obstore.get_ranges_async(store, key, starts=starts, ends=ends)

        note = "get_ranges_async per file, files gathered"
        if scenario.kind == "cog":
            note += "; header read, then the tiles"
        return timed_ranges(NAME, scenario, note, lambda: read_files(scenario, fetch))

    async def download(root: Path) -> None:
        limit = asyncio.Semaphore(in_flight)

        async def whole(key: str, path: Path) -> None:
            async with limit:
                result = await obstore.get_async(store, key)
                with path.open("wb") as file:
                    async for chunk in result.stream(min_chunk_size=1024 * 1024):
                        file.write(chunk)

        async def part(key: str, fd: int, start: int, end: int) -> None:
            async with limit:
                data = await obstore.get_range_async(store, key, start=start, end=end)
                os.pwrite(fd, memoryview(data), start)

        tasks = []
        fds = []
        for obj in scenario.objects:
            path = local_path(root, obj.key)
            if obj.size <= PART_SIZE:
                tasks.append(whole(obj.key, path))
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fds.append(fd)
            tasks.extend(
                part(obj.key, fd, start, min(start + PART_SIZE, obj.size))
                for start in range(0, obj.size, PART_SIZE)
            )
        try:
            await asyncio.gather(*tasks)
        finally:
            for fd in fds:
                os.close(fd)

    note = f"{in_flight} in flight, {PART_SIZE >> 20} MiB parts above that size"
    return timed_download(NAME, scenario, note, lambda root: asyncio.run(download(root)))
