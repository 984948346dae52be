"""The outputs: a rich table on stdout, ``benchmarks/results/<date>.json`` and a PNG chart."""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.model import MIB, Measurement, Scenario
from benchmarks.network import PROXY_CEILING

RESULTS = Path(__file__).parent / "results"
"""Where results are written by default."""


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "note": "shared machine: absolute times are noisy, compare ratios within one run",
    }


def document(
    mode: str,
    origin: str,
    scenarios: Sequence[Scenario],
    measurements: Sequence[Measurement],
    skipped: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """The JSON document of one run."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode,
        "origin": origin,
        "machine": machine(),
        "proxy_ceiling": PROXY_CEILING,
        "scenarios": [
            {
                "name": s.name,
                "title": s.title,
                "kind": s.kind,
                "objects": len(s.objects),
                "ranges": len(s.ranges),
                "windows": len(s.windows),
                "payload_bytes": s.payload_bytes,
            }
            for s in scenarios
        ],
        "runs": [m.to_json() for m in measurements],
        "skipped": list(skipped),
    }


def write_json(doc: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Write ``<directory>/<date>.json`` (UTC date and time, so runs do not overwrite)."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
    path = directory / f"{stamp}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _seconds(m: Measurement) -> str:
    """The time, with the min-max of repeated runs (``1.27 (1.20-1.41)``)."""
    if len(m.repeats) < 2:
        return f"{m.seconds:.2f}"
    return f"{m.seconds:.2f} ({min(m.repeats):.2f}-{max(m.repeats):.2f})"


def table(scenarios: Sequence[Scenario], measurements: Sequence[Measurement]) -> Table:
    """The results as a rich table, one row per run."""
    caption = "; ".join(f"{s.name} = {s.title}" for s in scenarios)
    out = Table(
        title="obstac benchmarks (ratio = peer time / obstac time; >1: obstac faster; "
        "s = median (min-max) with --repeat)",
        caption=caption,
    )
    for column in (
        "scenario",
        "profile",
        "peer",
        "s",
        "MiB/s",
        "requests",
        "wire MiB",
        "RSS MiB",
        "CPU s",
    ):
        left = column in {"scenario", "peer"}
        out.add_column(column, justify="left" if left else "right", no_wrap=left or column == "s")
    out.add_column("ratio", justify="right")
    out.add_column("efficiency", justify="right")
    for m in measurements:
        if m.error is not None:
            out.add_row(m.scenario, m.profile, m.peer, "FAILED", m.error[:60])
            continue
        out.add_row(
            m.scenario,
            m.profile,
            m.peer,
            _seconds(m),
            _fmt(m.mib_per_s, ".1f"),
            _fmt(m.requests, "d"),
            _fmt(None if m.wire_bytes is None else m.wire_bytes / MIB, ".0f"),
            _fmt(m.peak_rss_mib, ".0f"),
            _fmt(m.cpu_seconds, ".1f"),
            _fmt(m.ratio, ".2f"),
            _fmt(m.efficiency, ".2f"),
        )
    return out


def print_table(
    scenarios: Sequence[Scenario], measurements: Sequence[Measurement], console: Console
) -> None:
    """Print the table."""
    console.print(table(scenarios, measurements))


def chart(
    scenarios: Sequence[Scenario], measurements: Sequence[Measurement], path: Path
) -> Path | None:
    """A PNG bar chart of MiB/s per peer, one panel per scenario; None without matplotlib."""
    if find_spec("matplotlib") is None:
        return None
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    shown = [s for s in scenarios if any(m.scenario == s.name for m in measurements)]
    figure, axes = plt.subplots(1, max(len(shown), 1), figsize=(5 * max(len(shown), 1), 4))
    panels = axes if len(shown) > 1 else [axes]
    for panel, scenario in zip(panels, shown, strict=False):
        runs = [m for m in measurements if m.scenario == scenario.name and m.error is None]
        labels = [f"{m.peer}\n{m.profile}" for m in runs]
        panel.bar(labels, [m.mib_per_s or 0 for m in runs])
        panel.set_title(scenario.title, fontsize=9)
        panel.set_ylabel("MiB/s (payload)")
        panel.tick_params(axis="x", labelrotation=60, labelsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
