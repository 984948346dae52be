"""Raw obstore by hand, the floor obstac must stay within a few % of.

Small objects: one ``get_async`` per object, streamed to its file, 64 in flight. Large objects
(> one part): 8 MiB ``get_range_async`` parts written at their offsets, 64 in flight over all
objects. Ranges: ``get_ranges_async`` per file, files gathered. The store matches the origin's
provider (:func:`benchmarks.peers._provider.obstore_store`); ``scenario.concurrency`` replaces
the 64 in the concurrency sweep. Item collections: the assets as plain objects, as above.
Mirror: :mod:`benchmarks.peers.obstore_mirror`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers import obstore_mirror
from benchmarks.peers._common import (
    CONCURRENCY,
    PART_SIZE,
    check_ranges,
    group_ranges,
    local_path,
    timed_download,
    ungroup,
)
from benchmarks.peers._provider import ALL, obstore_store

NAME = "obstore"
KINDS = frozenset({"download", "ranges", "items", "mirror"})
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
    if scenario.kind == "ranges":
        by_key = group_ranges(scenario)

        async def read_all() -> dict[str, list[int]]:
            results = await asyncio.gather(
                *(
                    obstore.get_ranges_async(store, key, starts=s, ends=e)
                    for key, (s, e) in by_key.items()
                )
            )
            return {k: [len(c) for c in chunks] for k, chunks in zip(by_key, results, strict=True)}

        started = time.perf_counter()
        lengths = asyncio.run(read_all())
        seconds = time.perf_counter() - started
        total = check_ranges(scenario, ungroup(scenario, lengths))
        return Measurement(NAME, scenario.name, seconds, total, "get_ranges_async, files gathered")

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
