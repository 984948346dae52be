"""Tiled GeoTIFFs written by rasterio in memory, for the tests that read rasters back."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.io import MemoryFile


def tiled_geotiff(pixels: np.ndarray, *, tile: int = 256, compress: str | None = None) -> bytes:
    """``pixels`` (bands, rows, columns) as a tiled GeoTIFF in UTM 33N, 10 m pixels.

    Args:
        pixels: The bands to write; their dtype is the file's.
        tile: Tile width and height in pixels.
        compress: A GDAL compression (e.g. ``"deflate"``), or None for none.
    """
    count, height, width = pixels.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": str(pixels.dtype),
        "tiled": True,
        "blockxsize": tile,
        "blockysize": tile,
        "crs": "EPSG:32633",
        "transform": rasterio.transform.from_origin(500_000, 4_000_000, 10, 10),
    }
    if compress is not None:
        profile["compress"] = compress
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(pixels)
        return bytes(memory.read())
