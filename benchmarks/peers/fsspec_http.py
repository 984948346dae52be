"""fsspec's ``HTTPFileSystem.cat_ranges`` (aiohttp underneath): every range of every file in one
call, one GET per range, fsspec's default batch size in flight (ranges scenario only)."""

from __future__ import annotations

import time
from importlib.util import find_spec

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import check_ranges

NAME = "fsspec-http"
KINDS = frozenset({"ranges"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("fsspec", "fsspec.implementations.http")


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    if find_spec("fsspec") is None or find_spec("aiohttp") is None:
        return "fsspec or aiohttp is not installed (benchmarks/requirements.txt)"
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``cat_ranges`` over the scenario's ranges, in scenario order."""
    import fsspec

    fs = fsspec.filesystem("http", skip_instance_cache=True)
    paths = [origin.href(r.key) for r in scenario.ranges]
    starts = [r.start for r in scenario.ranges]
    ends = [r.end for r in scenario.ranges]
    started = time.perf_counter()
    chunks = fs.cat_ranges(paths, starts, ends, on_error="raise")
    seconds = time.perf_counter() - started
    total = check_ranges(scenario, [len(c) for c in chunks])
    return Measurement(NAME, scenario.name, seconds, total, "cat_ranges, one GET per range")
