"""Helpers shared by the peers: output folders, file sizes, thread-safe timing."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.model import Measurement, Scenario

CONCURRENCY = 64
"""Requests in flight for the hand-written concurrent peers (aiohttp, raw obstore, boto3
threads). DESIGN.md measured ~100 in flight reaching 0.97 of the link on small files and 32 or
fewer leaving 10-20 % idle; 64 is in between and what a careful user would pick."""

PART_SIZE = 8 * 1024 * 1024
"""Ranged part size for the peers that split large objects by hand (raw obstore)."""


def out_dir() -> Path:
    """A fresh folder to download into (under ``$TMPDIR``, which the harness removes)."""
    return Path(tempfile.mkdtemp(prefix="out-"))


def local_path(root: Path, key: str) -> Path:
    """Where a key lands under ``root``; creates its parent folder."""
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def bytes_on_disk(scenario: Scenario, root: Path) -> int:
    """Bytes of the scenario's files found under ``root``.

    Raises:
        RuntimeError: A file is missing or has the wrong size (the peer did not deliver).
    """
    total = 0
    for obj in scenario.objects:
        path = root / obj.key
        size = path.stat().st_size if path.exists() else -1
        if size != obj.size:
            msg = f"{obj.key}: expected {obj.size} bytes on disk, found {size}"
            raise RuntimeError(msg)
        total += size
    return total


def timed_download(
    name: str, scenario: Scenario, note: str, work: Callable[[Path], None]
) -> Measurement:
    """Run ``work(out_dir)``, time it, check every file landed whole."""
    root = out_dir()
    started = time.perf_counter()
    work(root)
    seconds = time.perf_counter() - started
    return Measurement(name, scenario.name, seconds, bytes_on_disk(scenario, root), note)


def check_ranges(scenario: Scenario, chunks: list[int]) -> int:
    """Sum of range lengths, after checking each chunk's length matches its range.

    Raises:
        RuntimeError: A chunk has the wrong length.
    """
    for spec, got in zip(scenario.ranges, chunks, strict=True):
        if got != spec.end - spec.start:
            msg = f"{spec.key}[{spec.start}:{spec.end}]: got {got} bytes"
            raise RuntimeError(msg)
    return sum(chunks)


def group_ranges(scenario: Scenario) -> dict[str, tuple[list[int], list[int]]]:
    """The scenario's ranges grouped by key: ``{key: (starts, ends)}``, in scenario order."""
    by_key: dict[str, tuple[list[int], list[int]]] = {}
    for spec in scenario.ranges:
        starts, ends = by_key.setdefault(spec.key, ([], []))
        starts.append(spec.start)
        ends.append(spec.end)
    return by_key


def ungroup(scenario: Scenario, lengths: dict[str, list[int]]) -> list[int]:
    """Per-key chunk lengths (as :func:`group_ranges` ordered them) back in scenario order."""
    positions = dict.fromkeys(lengths, 0)
    ordered = []
    for spec in scenario.ranges:
        ordered.append(lengths[spec.key][positions[spec.key]])
        positions[spec.key] += 1
    return ordered
