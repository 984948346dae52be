"""``--repeat N``: run each peer N times and keep the run with the median time, with the spread.

The kept run is a real one (the lower median for an even N), so its requests, wire bytes, RSS
and CPU belong to the time shown; :attr:`benchmarks.model.Measurement.repeats` holds every
run's seconds (the table shows their min-max, the JSON ``seconds_min`` / ``seconds_max``). A
failure in any run makes the whole entry that failure: a flaky peer is not hidden by its
good runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from benchmarks.model import Measurement


def repeated(run: Callable[[], Measurement], times: int) -> Measurement:
    """Call ``run`` ``times`` times; the median run with every run's seconds, or a failure.

    Raises:
        ValueError: If ``times`` is below 1.
    """
    if times < 1:
        msg = f"--repeat {times}: it must be at least 1"
        raise ValueError(msg)
    runs = [run() for _ in range(times)]
    failed = [m for m in runs if m.error is not None]
    if failed:
        first = failed[0]
        error = f"{len(failed)} of {times} runs failed; first: {first.error}"
        return dataclasses.replace(first, error=error) if times > 1 else first
    if times == 1:
        return runs[0]
    ordered = sorted(runs, key=lambda m: m.seconds)
    median = ordered[(times - 1) // 2]
    return dataclasses.replace(median, repeats=[m.seconds for m in runs])
