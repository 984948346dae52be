"""rasterio windowed reads through GDAL's ``/vsicurl/`` (``cog`` scenario only).

``rasterio.open("/vsicurl/{href}")`` per file and thread, ``dataset.read(1, window=...)`` per
window, decoded pixels out (:mod:`benchmarks.peers._windows`), with the GDAL configuration a
careful user sets for cloud reads, as titiler's deployment does (:data:`GDAL_CONFIG`). The
options go in the worker's environment before GDAL is first used, so every thread sees them.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._windows import timed_windows
from benchmarks.tiff import HEADER_BYTES

NAME = "rasterio"
KINDS = frozenset({"cog"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("rasterio", "rasterio.windows", "numpy")

GDAL_CONFIG = {
    # No directory listing on open (GDAL would look for .aux.xml / .ovr side files).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    # Only .tif is opened through /vsicurl/: no probing for side files by other names.
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif",
    # One GET for tiles that sit next to each other in the file (a window's row of tiles).
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    # HTTP/2 multiplexing where the server offers it (this origin speaks HTTP/1.1: no effect).
    "GDAL_HTTP_MULTIPLEX": "YES",
    # The first read of a file: the same bytes the byte-range peers read for the header.
    "GDAL_INGESTED_BYTES_AT_OPEN": str(HEADER_BYTES),
    # A per-handle read cache, so a dataset reading a tile twice fetches it once.
    "VSI_CACHE": "TRUE",
}
"""The GDAL options set for this peer (titiler's documented settings, less GDAL_HTTP_VERSION=2,
which asks a plain-HTTP origin for an h2c upgrade, and the cache sizes, left at GDAL's
defaults)."""


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    if find_spec("rasterio") is None:
        return "rasterio is not installed (pip install rasterio; make install does)"
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Read the scenario's windows through ``/vsicurl/`` (see the module)."""
    import rasterio

    os.environ.update(GDAL_CONFIG)

    def open_dataset(key: str) -> Any:
        return rasterio.open(f"/vsicurl/{origin.href(key)}")

    note = "rasterio.open('/vsicurl/...'), titiler's GDAL options"
    return timed_windows(NAME, scenario, note, open_dataset)
