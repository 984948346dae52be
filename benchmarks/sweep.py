"""Scenario 7: obstac's small-files download at 1, 4, 16, 64, 128 and 256 requests in flight
(a :class:`obstac.transfer.Scheduler` with ``max_requests = max_per_host = N``), under the
run's profile (``wan`` by default), to show where it saturates. A line chart of MiB/s against
N goes beside the results (``<date>-sweep.png``).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

from benchmarks.model import KIB, Measurement, Mode, ObjectSpec, Scenario

LEVELS = (1, 4, 16, 64, 128, 256)
"""Requests in flight."""

SIZES: dict[Mode, tuple[int, int]] = {
    # (count, size). At 1 in flight each object costs about one RTT (40 ms) plus its transfer
    # at 25 MiB/s, so quick stays ~10 s there; 256 objects let 256 be in flight at once.
    "smoke": (8, 64 * KIB),
    "quick": (256, 128 * KIB),
    "full": (1024, 256 * KIB),
}

PEERS = ("obstac",)
"""Who is swept (obstac; ``--full`` adds raw obstore at the same levels, its floor)."""

FULL_PEERS = ("obstac", "obstore")


def sweep_scenarios(mode: Mode) -> list[Scenario]:
    """One scenario per level, named ``sweep-N``, all over the same objects."""
    count, size = SIZES[mode]
    levels = LEVELS if mode != "smoke" else (1, 16)
    objects = tuple(ObjectSpec(f"{mode}/sweep/f{i:04d}.bin", size) for i in range(count))
    return [
        Scenario(
            f"sweep-{n}",
            f"{count} x {size // KIB} KiB, {n} in flight",
            "download",
            objects,
            concurrency=n,
        )
        for n in levels
    ]


def chart(measurements: Sequence[Measurement], path: Path) -> Path | None:
    """A PNG of MiB/s against requests in flight, one line per peer and profile; None without
    matplotlib or sweep runs."""
    runs = [m for m in measurements if m.scenario.startswith("sweep-") and m.error is None]
    if not runs or find_spec("matplotlib") is None:
        return None
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for peer, profile in sorted({(m.peer, m.profile) for m in runs}):
        points = sorted(
            (int(m.scenario.removeprefix("sweep-")), m.mib_per_s or 0.0)
            for m in runs
            if (m.peer, m.profile) == (peer, profile)
        )
        label = f"{peer} {profile}"
        axis.plot([n for n, _ in points], [v for _, v in points], marker="o", label=label)
    axis.set_xscale("log", base=2)
    axis.set_xticks(list(LEVELS), [str(n) for n in LEVELS])
    axis.set_xlabel("requests in flight")
    axis.set_ylabel("MiB/s (payload)")
    axis.set_title("scenario 7: concurrency sweep (small files)", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
