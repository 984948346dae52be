"""GDAL reading through obstac: the same windowed reads as the ``rasterio`` peer, with
``rasterio.open(href, opener=obstac.RasterioOpener(...))`` instead of ``/vsicurl/`` (``cog``
scenario only).

rasterio 1.4 registers the opener as a GDAL virtual file system: GDAL reads each file's header
through an obstac file with its own read-ahead buffer (seeks are free) and sends the tiles of a
window as one multi-range read, which obstac passes to ``AssetReader.read_ranges`` (obstore
merges nearby ranges). Not ``rasterio.open(f)``: rasterio 1.4 reads a file object whole into a
``MemoryFile`` first, which for a COG means every byte of every overview, per dataset.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._provider import obstac_recipe
from benchmarks.peers._windows import timed_windows
from benchmarks.peers.rasterio_vsicurl import GDAL_CONFIG

NAME = "obstac-rasterio"
KINDS = frozenset({"cog"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("obstac", "rasterio", "rasterio.windows", "numpy")


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    if find_spec("rasterio") is None:
        return "rasterio is not installed (pip install rasterio; make install does)"
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Read the scenario's windows through obstac's rasterio opener (see the module)."""
    import rasterio

    import obstac

    os.environ.update(GDAL_CONFIG)  # the same GDAL options as the rasterio peer
    recipe, href_of = obstac_recipe(origin)
    opener = obstac.RasterioOpener(recipe=recipe)

    def open_dataset(key: str) -> Any:
        return rasterio.open(href_of(key), opener=opener)

    note = "rasterio.open(href, opener=obstac.RasterioOpener(recipe=...))"
    return timed_windows(NAME, scenario, note, open_dataset)
