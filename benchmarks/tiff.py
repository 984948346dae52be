"""What a COG reader takes from a GeoTIFF's header: the tile grid and each tile's byte range.

The byte-range peers of the ``cog`` scenario (:mod:`benchmarks.cog`) read a file's first
:data:`HEADER_BYTES`, parse its first IFD (the full-resolution image in a Cloud-Optimized
GeoTIFF) with :func:`tile_index`, and turn pixel windows into the tiles' byte ranges with
:func:`tile_ranges`: what GDAL does for a windowed read, without the decoding. Little-endian
classic TIFF and BigTIFF, one band (or pixel-interleaved) tiled images only: the files the
scenario writes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

HEADER_BYTES = 16 * 1024
"""Bytes read from the start of each file: GDAL's first read of a ``/vsicurl/`` file (its
``CPL_VSIL_CURL_CHUNK_SIZE``, 16 KiB). A COG keeps every IFD and tag array ahead of the tiles;
the scenario's files fit theirs in far less."""

_WIDTH, _HEIGHT, _TILE_WIDTH, _TILE_LENGTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS = (
    256,
    257,
    322,
    323,
    324,
    325,
)
_TYPES = {3: ("H", 2), 4: ("I", 4), 16: ("Q", 8)}
"""TIFF field type -> (struct code, size): SHORT, LONG, LONG8 (what these tags use)."""


@dataclass(frozen=True)
class TileIndex:
    """The full-resolution tile grid of a tiled TIFF.

    Attributes:
        width: Image width in pixels.
        height: Image height in pixels.
        tile_width: Tile width in pixels.
        tile_height: Tile height in pixels.
        offsets: Each tile's byte offset, row-major.
        byte_counts: Each tile's length in bytes, row-major.
    """

    width: int
    height: int
    tile_width: int
    tile_height: int
    offsets: tuple[int, ...]
    byte_counts: tuple[int, ...]

    @property
    def tiles_across(self) -> int:
        """Tiles in one row of the grid."""
        return -(-self.width // self.tile_width)


Window = tuple[int, int, int, int]
"""``(col_off, row_off, width, height)`` in pixels."""


def tile_index(header: bytes) -> TileIndex:
    """The tile grid of the first IFD in ``header`` (the file's first bytes).

    Raises:
        ValueError: Not a little-endian tiled TIFF, or its first IFD or tag arrays lie beyond
            ``header`` (read more bytes).
    """
    if header[:2] != b"II":
        msg = "not a little-endian TIFF (big-endian files are not supported here)"
        raise ValueError(msg)
    (magic,) = struct.unpack_from("<H", header, 2)
    if magic == 42:
        count_code, slot, (ifd,) = "H", 4, struct.unpack_from("<I", header, 4)
    elif magic == 43:
        count_code, slot, (ifd,) = "Q", 8, struct.unpack_from("<Q", header, 8)
    else:
        msg = f"not a TIFF (magic {magic})"
        raise ValueError(msg)
    entry = 4 + 2 * slot  # tag, type, count (slot bytes), value or offset (slot bytes)
    need = ifd + struct.calcsize(count_code)
    if need > len(header):
        msg = f"the first IFD starts at byte {ifd}, beyond the {len(header)} bytes read"
        raise ValueError(msg)
    (entries,) = struct.unpack_from(f"<{count_code}", header, ifd)
    tags: dict[int, tuple[int, ...]] = {}
    for n in range(entries):
        at = ifd + struct.calcsize(count_code) + n * entry
        tag, kind = struct.unpack_from("<HH", header, at)
        if kind not in _TYPES:
            continue
        (count,) = struct.unpack_from("<I" if slot == 4 else "<Q", header, at + 4)
        code, size = _TYPES[kind]
        where = at + 4 + slot
        if count * size > slot:
            (where,) = struct.unpack_from("<I" if slot == 4 else "<Q", header, where)
        if where + count * size > len(header):
            msg = f"tag {tag} ends at byte {where + count * size}, beyond the {len(header)} read"
            raise ValueError(msg)
        tags[tag] = struct.unpack_from(f"<{count}{code}", header, where)
    missing = {_TILE_WIDTH, _TILE_OFFSETS, _TILE_BYTE_COUNTS} - set(tags)
    if missing:
        msg = f"not a tiled TIFF (tags {sorted(missing)} missing from the first IFD)"
        raise ValueError(msg)
    return TileIndex(
        width=tags[_WIDTH][0],
        height=tags[_HEIGHT][0],
        tile_width=tags[_TILE_WIDTH][0],
        tile_height=tags[_TILE_LENGTH][0],
        offsets=tags[_TILE_OFFSETS],
        byte_counts=tags[_TILE_BYTE_COUNTS],
    )


def tiles_of(index: TileIndex, window: Window) -> list[int]:
    """The row-major numbers of the tiles a window touches."""
    col_off, row_off, width, height = window
    cols = range(col_off // index.tile_width, (col_off + width - 1) // index.tile_width + 1)
    rows = range(row_off // index.tile_height, (row_off + height - 1) // index.tile_height + 1)
    return [row * index.tiles_across + col for row in rows for col in cols]


def tile_ranges(index: TileIndex, windows: Iterable[Window]) -> tuple[list[int], list[int]]:
    """``(starts, ends)`` of the tiles the windows touch: each tile once, in file order."""
    tiles = {tile for window in windows for tile in tiles_of(index, window)}
    spans = sorted((index.offsets[t], index.offsets[t] + index.byte_counts[t]) for t in tiles)
    return [start for start, _ in spans], [end for _, end in spans]
