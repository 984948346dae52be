"""The peers: one module per tool, each with ``NAME``, ``KINDS`` (scenario kinds it runs),
``NEEDS_S3``, ``IMPORTS``, ``missing() -> str | None`` and ``run(scenario, origin) ->
Measurement``; optionally ``PROVIDERS`` (the origins it speaks, default HTTP only) and
``interpreter() -> Path``: the Python its worker runs in, for peers whose pins clash with this
venv's (s3fs, in ``.venv-peers``: :mod:`benchmarks.peers._venv`).

Modules import their tool inside ``run`` so the harness can list peers without installing them.
``IMPORTS`` names those modules: the worker imports them before it starts counting CPU, so CPU
seconds, like wall time, measure the transfer and not the import (``import obstac`` alone
costs ~0.18 s of CPU here, more than half of what a 200-file transfer costs).
"""

from __future__ import annotations

import importlib
from types import ModuleType

PEERS: dict[str, str] = {
    "obstac": "benchmarks.peers.obstac_transfer",
    "obstore": "benchmarks.peers.obstore_raw",
    "aiohttp": "benchmarks.peers.aiohttp_async",
    "fsspec-http": "benchmarks.peers.fsspec_http",
    "s3fs": "benchmarks.peers.s3fs_async",
    "boto3-threads": "benchmarks.peers.boto3_threads",
    "s5cmd": "benchmarks.peers.s5cmd_cli",
    "rclone": "benchmarks.peers.rclone_cli",
    "requests-seq": "benchmarks.peers.requests_seq",
    "urllib-seq": "benchmarks.peers.urllib_seq",
    "stac-asset": "benchmarks.peers.stac_asset_collection",
    "rasterio": "benchmarks.peers.rasterio_vsicurl",
    "obstac-rasterio": "benchmarks.peers.obstac_rasterio",
}
"""Peer name -> module, in the order the table shows them (obstac first: the reference)."""

OPT_IN: frozenset[str] = frozenset()
"""Peers run only when named with ``--peer`` (none now: ``obstac-rasterio`` was, while it sent
one GET per GDAL read, ~55 s on quick ``cog``; through ``RasterioOpener`` it takes ~3 s)."""

DEFAULT_PEERS = tuple(name for name in PEERS if name not in OPT_IN)
"""The peers a run without ``--peer`` uses."""


def load(name: str) -> ModuleType:
    """The module of a peer.

    Raises:
        ValueError: If the peer is unknown.
    """
    if name not in PEERS:
        msg = f"unknown peer {name!r}; use some of {list(PEERS)}"
        raise ValueError(msg)
    return importlib.import_module(PEERS[name])
