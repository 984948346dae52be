"""The workloads, in quick (``make bench``), full (``--full``) and smoke (tests) sizes.

Covered: (1) many small assets, (2) few large assets, (3) scattered COG-tile-like ranges,
(3b) windows of real COGs (:mod:`benchmarks.cog`, name ``cog``), (4) an item collection
downloaded and (5) mirrored into S3 (:mod:`benchmarks.collection`),
(6) the small workload from each provider origin (:mod:`benchmarks.providers`, name
``providers``), (7) obstac's concurrency sweep (:mod:`benchmarks.sweep`, name ``sweep``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from benchmarks import cog
from benchmarks.collection import SIZES as COLLECTION_SIZES
from benchmarks.collection import collection_scenario
from benchmarks.model import KIB, MIB, Mode, ObjectSpec, RangeSpec, Scenario
from benchmarks.providers import provider_scenarios
from benchmarks.sweep import sweep_scenarios

__all__ = ["KIB", "Mode", "payloads", "scenarios", "write_files"]

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
        names: Keep only these scenario names (``small``, ``large``, ``ranges``, ``cog``,
            ``items``, ``mirror``); ``providers`` and ``sweep`` name groups (``small@s3``...,
            ``sweep-1``...). Without names, ``cog`` is left out when rasterio is missing
            (:func:`benchmarks.cog.unavailable` says why).

    Raises:
        ValueError: If a name is unknown.
        RuntimeError: ``cog`` is named and rasterio is not installed.
    """
    sizes = _SIZES[mode]
    known = set(sizes) | {"cog"} | set(COLLECTION_SIZES[mode]) | set(_GROUPS)
    unknown = set(names or ()) - known
    if unknown:
        msg = f"unknown scenario(s) {sorted(unknown)}; use some of {sorted(known)}"
        raise ValueError(msg)
    built = [_small(mode, *sizes["small"]), _large(mode, *sizes["large"])]
    built.append(_ranges(mode, *sizes["ranges"]))
    # Built only when asked for, or for the whole suite when rasterio can write its files.
    if (names is None and cog.unavailable() is None) or "cog" in (names or ()):
        built.append(cog.cog_scenario(mode))
    # Built only when asked for: their file:checksum values hash every payload (~1 s quick).
    built.extend(
        collection_scenario(mode, name, _payload)
        for name in COLLECTION_SIZES[mode]
        if names is None or name in names
    )
    chosen = [s for s in built if names is None or s.name in names]
    for group, build in _GROUPS.items():
        if names is None or group in names:
            chosen.extend(build(mode))
    return chosen


_GROUPS = {"providers": provider_scenarios, "sweep": sweep_scenarios}
"""Names that stand for several scenarios each (scenarios 6 and 7)."""


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


PAYLOAD_BLOCK = 64 * MIB
"""Payloads are drawn in blocks of this size: ``randbytes`` overflows at 256 MiB (it builds one
integer of ``8 x size`` bits), the size of a full-mode ``large`` object."""


def _payload(scenario: str, index: int, size: int) -> bytes:
    rng = random.Random(f"{SEED}:{scenario}:{index}")  # noqa: S311 - see SEED
    # Up to one block this is a single randbytes(size): the bytes payloads had before blocks.
    blocks = [rng.randbytes(min(PAYLOAD_BLOCK, size - at)) for at in range(0, size, PAYLOAD_BLOCK)]
    return b"".join(blocks)


def payloads(scenario: Scenario) -> Iterator[tuple[ObjectSpec, bytes]]:
    """The content of each object: seeded pseudo-random (incompressible) bytes, or for ``cog``
    the GeoTIFFs :mod:`benchmarks.cog` wrote."""
    for index, obj in enumerate(scenario.objects):
        yield obj, _content(scenario, index, obj)


def _content(scenario: Scenario, index: int, obj: ObjectSpec) -> bytes:
    if scenario.kind == "cog":
        return cog.file_path(obj.key).read_bytes()
    return _payload(scenario.name, index, obj.size)


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
        yield obj, _content(scenario, index, obj)
