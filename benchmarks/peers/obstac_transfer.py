"""obstac: whole objects through :func:`obstac.transfer.transfer`, ranges through
:meth:`obstac.AssetReader.read_ranges_async` (one call per file, all files at once). Every
origin through obstac's generic recipe for its provider
(:func:`benchmarks.peers._provider.obstac_opener`); in the concurrency sweep a
:class:`obstac.transfer.Scheduler` of ``scenario.concurrency`` requests in flight;
item collections through :func:`obstac.download_items` (:mod:`benchmarks.peers.obstac_items`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers import obstac_items
from benchmarks.peers._common import (
    check_ranges,
    group_ranges,
    local_path,
    timed_download,
    ungroup,
)
from benchmarks.peers._provider import ALL, obstac_opener

NAME = "obstac"
KINDS = frozenset({"download", "ranges", "items", "mirror"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("obstac", "obstac.transfer")
PROVIDERS = ALL


def missing() -> str | None:
    """Always available: obstac is the package under test."""
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Download the scenario's objects, or read its ranges, with obstac's defaults.

    ``fsync=False``: no other peer syncs its files, so obstac does not either here.
    """
    if scenario.kind == "ranges":
        return _ranges(scenario, origin)
    if scenario.kind == "items":
        return obstac_items.run_items(NAME, scenario, origin)
    if scenario.kind == "mirror":
        return obstac_items.run_mirror(NAME, scenario, origin)

    from obstac.transfer import LocalTarget, Scheduler, TransferJob, TransferOptions, transfer

    open_asset = obstac_opener(origin)
    note = "transfer() defaults, fsync=False"
    scheduler = None
    if scenario.concurrency is not None:
        n = scenario.concurrency
        scheduler = Scheduler(max_requests=n, max_per_host=n)
        note = f"transfer(), Scheduler({n} in flight), fsync=False"

    def work(root: Path) -> None:
        jobs = [
            TransferJob(obj.key, open_asset(obj.key), LocalTarget(local_path(root, obj.key)))
            for obj in scenario.objects
        ]
        transfer(jobs, options=TransferOptions(fsync=False, on_error="raise"), scheduler=scheduler)

    return timed_download(NAME, scenario, note, work)


def _ranges(scenario: Scenario, origin: Origin) -> Measurement:
    open_asset = obstac_opener(origin)
    by_key = group_ranges(scenario)

    async def read_all() -> dict[str, list[int]]:
        readers = {key: open_asset(key) for key in by_key}
        results = await asyncio.gather(
            *(readers[key].read_ranges_async(*by_key[key]) for key in by_key)
        )
        return {key: [len(c) for c in chunks] for key, chunks in zip(by_key, results, strict=True)}

    started = time.perf_counter()
    lengths = asyncio.run(read_all())
    seconds = time.perf_counter() - started
    total = check_ranges(scenario, ungroup(scenario, lengths))
    return Measurement(NAME, scenario.name, seconds, total, "read_ranges_async, files gathered")
