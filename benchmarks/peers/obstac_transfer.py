"""obstac: whole objects through :func:`obstac.transfer.transfer`, ranges through
:meth:`obstac.AssetReader.read_ranges_async` with its defaults (one call per file, all files at
once; ``cog``: one for the header, then one for the tiles; obstac's own plan merges ranges at
most 128 KiB apart, 32 requests per call, 64 across the gathered calls;
:mod:`benchmarks.range_gaps` measures other settings). Every
origin through obstac's generic recipe for its provider
(:func:`benchmarks.peers._provider.obstac_opener`); in the concurrency sweep a
:class:`obstac.transfer.Scheduler` of ``scenario.concurrency`` requests in flight;
item collections through :func:`obstac.download_items` (:mod:`benchmarks.peers.obstac_items`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.model import RANGE_KINDS, Measurement, Origin, Scenario
from benchmarks.peers import obstac_items
from benchmarks.peers._common import local_path, read_files, timed_download, timed_ranges
from benchmarks.peers._provider import ALL, obstac_opener

if TYPE_CHECKING:
    from obstore import Bytes

    from obstac import AssetReader

OPTIONS_ENV = "OBSTAC_BENCH_RANGE_OPTIONS"
"""JSON keywords for ``read_ranges_async`` (e.g. ``{"coalesce": 65536}``); set only by
:mod:`benchmarks.range_gaps` to measure other settings than the defaults."""

NAME = "obstac"
KINDS = frozenset({"download", "ranges", "cog", "items", "mirror"})
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
    if scenario.kind in RANGE_KINDS:
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
    readers: dict[str, AssetReader] = {}
    options: dict[str, int] = json.loads(os.environ.get(OPTIONS_ENV) or "{}")

    async def fetch(key: str, starts: list[int], ends: list[int]) -> list[Bytes]:
        reader = readers.setdefault(key, open_asset(key))  # one reader per file, as a user would
        return await reader.read_ranges_async(starts, ends, **options)

    note = "read_ranges_async per file (obstac's range plan), files gathered"
    if scenario.kind == "cog":
        note += "; header read, then the tiles"
    if options:
        note += f"; {options}"
    return timed_ranges(NAME, scenario, note, lambda: read_files(scenario, fetch))
