"""obstac's seekable file handed to rasterio: the same windowed reads as the ``rasterio`` peer,
with GDAL reading through obstac instead of ``/vsicurl/`` (``cog`` scenario only).

``rasterio.open(key, opener=...)`` with an opener returning ``open_asset(href).open()``:
rasterio 1.4 registers the opener as a GDAL virtual file system and GDAL reads the file lazily,
seek by seek, through obstac. Measured: one ranged GET of the 1 MiB read-ahead buffer per GDAL
read, because a seek (GDAL seeks before every read) drops the buffer; ~10,700 GETs on quick
``cog``, so the peer is opt-in (:data:`benchmarks.peers.OPT_IN`). Not ``rasterio.open(f)``:
rasterio 1.4 reads a file object whole into a ``MemoryFile`` first (``rasterio.open``'s
source), which for a COG means every byte of every overview, per dataset.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._provider import obstac_opener
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
    """Read the scenario's windows through obstac files (see the module)."""
    import rasterio

    os.environ.update(GDAL_CONFIG)  # the same GDAL options as the rasterio peer
    open_asset = obstac_opener(origin)

    def open_dataset(key: str) -> Any:
        def opener(path: str, mode: str = "rb") -> Any:
            if path != key:  # rasterio probes the opener with a made-up path first
                raise FileNotFoundError(path)
            return open_asset(key).open()

        return rasterio.open(key, opener=opener)

    note = "rasterio.open(key, opener=open_asset(href).open)"
    return timed_windows(NAME, scenario, note, open_dataset)
