"""The workloads, in quick (``make bench``), full (``--full``) and smoke (tests) sizes.

Covered: (1) many small assets, (2) few large assets, (3) scattered COG-tile-like ranges.
Not yet: item-collection download, store-to-store mirror, per-provider origins, concurrency
sweep (issue 6, scenarios 4-7; see README).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from benchmarks.model import MIB, ObjectSpec, RangeSpec, Scenario

Mode = Literal["smoke", "quick", "full"]

KIB = 1024

_SIZES: dict[Mode, dict[str, tuple[int, int]]] = {
    # name: (count, size) for downloads; (ranges, files) for ranges.
    "smoke": {"small": (8, 256 * KIB), "large": (1, 8 * MIB), "ranges": (40, 2)},
    "quick": {"small": (200, MIB), "large": (2, 128 * MIB), "ranges": (500, 10)},
    "full": {"small": (500, MIB), "large": (4, 256 * MIB), "ranges": (2000, 50)},
}

RANGE_FILE_SIZE = 16 * MIB
"""Size of each file the ranges scenario reads from (a mid-sized COG)."""

SEED = 6
"""Seeds the range layout and the payloads, so every run reads the same bytes."""


def scenarios(mode: Mode, names: tuple[str, ...] | None = None) -> list[Scenario]:
    """The scenarios of a mode, optionally only those named.

    Args:
        mode: ``"smoke"``, ``"quick"`` or ``"full"``.
        names: Keep only these scenario names (``small``, ``large``, ``ranges``).

    Raises:
        ValueError: If a name is unknown.
    """
    sizes = _SIZES[mode]
    unknown = set(names or ()) - set(sizes)
    if unknown:
        msg = f"unknown scenario(s) {sorted(unknown)}; use some of {sorted(sizes)}"
        raise ValueError(msg)
    built = [_small(mode, *sizes["small"]), _large(mode, *sizes["large"])]
    built.append(_ranges(mode, *sizes["ranges"]))
    return [s for s in built if names is None or s.name in names]


def _small(mode: Mode, count: int, size: int) -> Scenario:
    objects = tuple(ObjectSpec(f"{mode}/small/f{i:04d}.bin", size) for i in range(count))
    return Scenario("small", f"{count} x {_size(size)} assets", "download", objects)


def _large(mode: Mode, count: int, size: int) -> Scenario:
    objects = tuple(ObjectSpec(f"{mode}/large/f{i:02d}.bin", size) for i in range(count))
    return Scenario("large", f"{count} x {_size(size)} assets", "download", objects)


def _ranges(mode: Mode, count: int, files: int) -> Scenario:
    file_size = RANGE_FILE_SIZE if mode != "smoke" else 2 * MIB
    objects = tuple(ObjectSpec(f"{mode}/cog/c{i:03d}.tif", file_size) for i in range(files))
    rng = random.Random(SEED)  # noqa: S311 - a reproducible layout, nothing secret
    ranges = []
    for i in range(count):
        obj = objects[i % files]
        length = rng.randint(16 * KIB, 64 * KIB)
        start = rng.randrange(0, obj.size - length)
        ranges.append(RangeSpec(obj.key, start, start + length))
    title = f"{count} ranges of 16-64 KiB over {files} files"
    return Scenario("ranges", title, "ranges", objects, tuple(ranges))


def _size(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def payloads(scenario: Scenario) -> Iterator[tuple[ObjectSpec, bytes]]:
    """The content of each object: seeded pseudo-random (incompressible) bytes."""
    for index, obj in enumerate(scenario.objects):
        rng = random.Random(f"{SEED}:{scenario.name}:{index}")  # noqa: S311 - see SEED
        yield obj, rng.randbytes(obj.size)


def write_files(scenario: Scenario, root: Path, bucket: str) -> None:
    """Write the scenario's objects under ``root/bucket/`` (skipping ones already there)."""
    for obj, data in _lazy_payloads(scenario, root / bucket):
        path = root / bucket / obj.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _lazy_payloads(scenario: Scenario, base: Path) -> Iterator[tuple[ObjectSpec, bytes]]:
    for index, obj in enumerate(scenario.objects):
        path = base / obj.key
        if path.exists() and path.stat().st_size == obj.size:
            continue
        rng = random.Random(f"{SEED}:{scenario.name}:{index}")  # noqa: S311 - see SEED
        yield obj, rng.randbytes(obj.size)
