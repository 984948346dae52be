"""Scenario 3b, ``cog``: pixel windows read from real Cloud-Optimized GeoTIFFs.

The files are written with rasterio (GDAL's ``COG`` driver) when the scenario is built: one band
of ``uint16`` (a Sentinel-2 reflectance band's type), 512 x 512 internal tiles, DEFLATE with
the horizontal predictor, overviews as the driver makes them (``OVERVIEWS=AUTO``). DEFLATE, not
uncompressed: most published COGs are compressed (Earth Search's Sentinel-2 bands are
DEFLATE), so tiles have uneven lengths known only from the header, and a reader that decodes
pays the inflate, as users do. The pixels are a smooth field plus seeded Gaussian noise
(sigma :data:`NOISE_STD`), so tiles compress to ~42 % (~214 KiB each), not to nothing.

The work is a seeded list of 256 x 256 windows at random pixel offsets (most straddle 2 or 4
tiles), spread over the files in turn. The byte-range peers read each file's first
:data:`benchmarks.tiff.HEADER_BYTES`, parse the tile index and fetch the tiles the file's
windows touch, each once (``Scenario.ranges``: the harness checks their lengths and that the
header gives the same ranges); the rasterio peers open each file through GDAL and decode the
windows (``Scenario.windows``: each window's ``crc32`` is checked). Both pay their header
reads inside the timed part.

Built files are cached under ``$TMPDIR/obstac-bench-cog/v{VERSION}/`` with the scenario as
``{mode}.json`` beside them, so a second run (or a second origin) reuses them; building quick
mode takes ~25 s on a 2-core machine, a cached build well under a second.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import zlib
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks.model import MIB, Mode, ObjectSpec, RangeSpec, Scenario, WindowSpec
from benchmarks.tiff import HEADER_BYTES, TileIndex, tile_index, tile_ranges

VERSION = 1
"""Bump when the files or windows change: cached builds of another version are not reused."""

SIZES: dict[Mode, tuple[int, int, int]] = {
    # (files, image side in pixels, windows)
    "smoke": (2, 1024, 8),
    "quick": (10, 4096, 300),
    "full": (30, 4096, 1200),
}
"""Quick: 10 files of 4096 x 4096 px (~16.8 MiB each: 64 full-resolution tiles of ~214 KiB
and ~3.3 MiB of overviews), 300 windows touching ~40 distinct tiles a file (~85 MiB of tiles).
Full: 30 files, 1200 windows. Smoke: 2 files of 1024 x 1024 px, 8 windows."""

TILE = 512
"""Internal tile size in pixels (the COG driver's default)."""

WINDOW = 256
"""Window size in pixels: a common chip size for training data and tile servers."""

NOISE_STD = 6.0
"""Standard deviation of the per-pixel noise: keeps DEFLATE at ~42 % of the raw tile."""

SEED = "cog"
"""Seeds the pixels and the windows, so every run reads the same tiles."""

CACHE = Path(tempfile.gettempdir()) / "obstac-bench-cog" / f"v{VERSION}"
"""Where built files and their scenario are kept between runs."""


def unavailable() -> str | None:
    """Why the scenario cannot be built here (rasterio missing), or None."""
    if find_spec("rasterio") is None or find_spec("numpy") is None:
        return "the cog scenario needs rasterio to write its files: pip install rasterio"
    return None


def cog_scenario(mode: Mode) -> Scenario:
    """The ``cog`` scenario of a mode; writes (or reuses) its files under :data:`CACHE`.

    Raises:
        RuntimeError: rasterio is not installed, or GDAL disagrees with the parsed header.
    """
    manifest = CACHE / f"{mode}.json"
    if manifest.exists():
        scenario = Scenario.from_json(json.loads(manifest.read_text()))
        if all(_cached(obj) for obj in scenario.objects):
            return scenario
    reason = unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    scenario = _build(mode)
    _replace(manifest, json.dumps(scenario.to_json()).encode())
    return scenario


def file_path(key: str) -> Path:
    """The cached file of one of the scenario's objects."""
    return CACHE / key


def _cached(obj: ObjectSpec) -> bool:
    path = file_path(obj.key)
    return path.exists() and path.stat().st_size == obj.size


def _build(mode: Mode) -> Scenario:
    files, side, count = SIZES[mode]
    keys = [f"{mode}/geotiff/g{i:03d}.tif" for i in range(files)]
    rng = random.Random(f"{SEED}:{mode}")  # noqa: S311 - a reproducible layout, nothing secret
    placed = [
        (keys[i % files], rng.randrange(side - WINDOW + 1), rng.randrange(side - WINDOW + 1))
        for i in range(count)
    ]
    objects: list[ObjectSpec] = []
    ranges: list[RangeSpec] = []
    windows: list[WindowSpec] = []
    for number, key in enumerate(keys):
        pixels = _pixels(number, side)
        path = file_path(key)
        _write_cog(path, pixels)
        index = tile_index(path.read_bytes()[:HEADER_BYTES])
        _check_against_gdal(path, index)
        mine = [(col, row, WINDOW, WINDOW) for key_, col, row in placed if key_ == key]
        starts, ends = tile_ranges(index, mine)
        objects.append(ObjectSpec(key, path.stat().st_size))
        ranges.extend(RangeSpec(key, s, e) for s, e in zip(starts, ends, strict=True))
        windows.extend(
            WindowSpec(key, col, row, WINDOW, WINDOW, _crc(pixels, col, row))
            for key_, col, row in placed
            if key_ == key
        )
    size = sum(o.size for o in objects) / files / MIB
    title = (
        f"{count} windows of {WINDOW} px over {files} COGs ({side} px, uint16, {TILE} px "
        f"DEFLATE tiles, {size:.1f} MiB each)"
    )
    return Scenario("cog", title, "cog", tuple(objects), tuple(ranges), windows=tuple(windows))


def _pixels(number: int, side: int) -> Any:
    """A smooth field plus seeded noise, ``uint16``, ``side`` x ``side``."""
    import numpy as np

    rng = np.random.default_rng([VERSION, number])
    axis = np.arange(side, dtype=np.float64)
    field = (
        1000.0
        + 500.0 * np.sin(axis / 300.0 + number)[np.newaxis, :]
        + 500.0 * np.cos(axis / 410.0 + number)[:, np.newaxis]
    )
    return (field + rng.normal(0.0, NOISE_STD, (side, side))).clip(0, 65535).astype(np.uint16)


def _crc(pixels: Any, col: int, row: int) -> int:
    """``zlib.crc32`` of one window's pixels (C order, as ``DatasetReader.read`` returns them)."""
    return zlib.crc32(pixels[row : row + WINDOW, col : col + WINDOW].tobytes())


def _write_cog(path: Path, pixels: Any) -> None:
    """Write ``pixels`` as a COG at ``path`` (through a temp name, so readers never see half)."""
    import rasterio
    from rasterio.transform import from_origin

    side = pixels.shape[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tif")
    profile = {
        "driver": "COG",
        "width": side,
        "height": side,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32632",
        "transform": from_origin(500_000, 5_000_000, 10, 10),
        "blocksize": TILE,
        "compress": "DEFLATE",
        "predictor": 2,
    }
    with rasterio.open(partial, "w", **profile) as dataset:
        dataset.write(pixels, 1)
    partial.replace(path)


def _check_against_gdal(path: Path, index: TileIndex) -> None:
    """Every tile's offset and length from :func:`tile_index` equal GDAL's.

    Raises:
        RuntimeError: They differ (the parser is wrong for this file).
    """
    import rasterio

    with rasterio.open(path) as dataset:
        for tile, (offset, length) in enumerate(zip(index.offsets, index.byte_counts, strict=True)):
            col, row = tile % index.tiles_across, tile // index.tiles_across
            gdal = (
                int(dataset.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1)),
                int(dataset.get_tag_item(f"BLOCK_SIZE_{col}_{row}", "TIFF", bidx=1)),
            )
            if gdal != (offset, length):
                msg = f"{path.name} tile {col},{row}: header says {offset, length}, GDAL {gdal}"
                raise RuntimeError(msg)


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(data)
    partial.replace(path)
