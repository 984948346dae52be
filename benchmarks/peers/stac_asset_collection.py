"""stac-asset (PyPI ``stac-asset``): ``download_item_collection(items, directory)`` with its
defaults, as its README shows for the items of a pystac-client search: up to 500 downloads at
once on one aiohttp session (whose connector opens at most 100 connections), each item in a
``${id}`` folder, an ``item-collection.json`` written at the end."""

from __future__ import annotations

import asyncio
from importlib.util import find_spec
from pathlib import Path

from benchmarks.collection import COLLECTION, collection_root, item_dicts
from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import timed_download

NAME = "stac-asset"
KINDS = frozenset({"items"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("pystac", "stac_asset")


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    if find_spec("stac_asset") is None:
        return "stac-asset is not installed (pip install -r benchmarks/requirements.txt)"
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``download_item_collection`` of the scenario's items; built before the clock starts."""
    import pystac
    import stac_asset

    items = pystac.ItemCollection(item_dicts(scenario, origin))

    def work(root: Path) -> None:
        directory = root / collection_root(scenario) / COLLECTION
        asyncio.run(stac_asset.download_item_collection(items, directory))

    return timed_download(NAME, scenario, "download_item_collection() defaults", work)
