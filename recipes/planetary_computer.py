"""Microsoft Planetary Computer: Sentinel-2 L2A COGs on Azure Blob -- search, read, download.

Service:      STAC API https://planetarycomputer.microsoft.com/api/stac/v1, collection
              sentinel-2-l2a; assets in Azure Blob (https://sentinel2l2a01.blob.core.windows.net
              /sentinel2-l2/...), readable with a SAS token from
              https://planetarycomputer.microsoft.com/api/sas/v1/token, fetched and refreshed by
              the recipe (one per storage account and container).
Credentials:  none needed; PC_SDK_SUBSCRIPTION_KEY (your Planetary Computer API key) lifts the
              anonymous rate limits. PC_SDK_SAS_URL overrides the token endpoint.
Recipe:       obstac.recipes.planetary_computer(sas_url=..., blob_endpoint=...)
              (--offline: Azurite, and a local token endpoint issuing real Azurite SAS tokens)

Run:          python recipes/planetary_computer.py [--max-items N] [--dest DIR]
              python recipes/planetary_computer.py --offline    (no account, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
COLLECTION = "sentinel-2-l2a"
BBOX = [-106.2, 39.7, -104.9, 40.6]
DATETIME = "2023-10-01/2023-10-31"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of band 4, download the preview and granule metadata."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[COLLECTION],
        bbox=BBOX,
        datetime=DATETIME,
        max_items=args.max_items,
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    for item in items:
        for key in _common.pick(item, keys=["B04"]):
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
    return _common.download(items, args.dest, recipe, ["preview", "granule-metadata"])


def main(argv: list[str] | None = None) -> int:
    """Run against the Planetary Computer, or with ``--offline`` against Azurite."""
    args = _common.parser(__doc__).parse_args(argv)
    if args.offline:
        with _offline.planetary_computer() as local:
            recipe = obstac.recipes.planetary_computer(**local.recipe_options)
            return run(local.stac_url, recipe, args)
    return run(STAC_URL, obstac.recipes.planetary_computer(), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
