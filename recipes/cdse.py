"""Copernicus Data Space Ecosystem: Sentinel-2 from s3://eodata -- search, read, download.

Service:      STAC API https://stac.dataspace.copernicus.eu/v1, collection sentinel-2-l2a;
              assets in the eodata bucket, S3 endpoint https://eodata.dataspace.copernicus.eu.
Credentials:  one of
                CDSE_S3_ACCESS_KEY + CDSE_S3_SECRET_KEY  (S3 keys made at
                  https://eodata-s3keysmanager.dataspace.copernicus.eu), or
                CDSE_USERNAME + CDSE_PASSWORD  (your CDSE account: the recipe creates a
                  temporary S3 key pair on first read and this script deletes it at the end).
Recipe:       obstac.recipes.cdse(endpoint=..., identity_url=..., keys_url=...)
              (--offline: moto with IAM enforced, and local token and key-manager endpoints)

Run:          python recipes/cdse.py [--max-items N] [--dest DIR]
              python recipes/cdse.py --offline    (no account, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://stac.dataspace.copernicus.eu/v1"
COLLECTION = "sentinel-2-l2a"
BBOX = [-106.5, 57.6, -104.6, 58.6]
DATETIME = "2022-02-01/2022-02-28"


def run(stac_url: str, recipe: obstac.recipes.CDSERecipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of a 60 m band, download the product and granule metadata."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[COLLECTION], bbox=BBOX, datetime=DATETIME, max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    try:
        for item in items:
            for key in _common.pick(item, keys=["B04_60m", "B04_20m", "B04_10m"])[:1]:
                reader = obstac.open_asset(item.assets[key], recipe=recipe)
                _common.show_reads(item, key, reader)
        return _common.download(items, args.dest, recipe, ["product_metadata", "granule_metadata"])
    finally:
        # Keys made from a user name and password (or a token) are temporary: delete them.
        if recipe.revoke_keys():
            print("revoked the temporary S3 key pair this run created")


def main(argv: list[str] | None = None) -> int:
    """Run against CDSE, or with ``--offline`` against moto and local key endpoints."""
    args = _common.parser(__doc__).parse_args(argv)
    if args.offline:
        with _offline.cdse() as local:
            return run(local.stac_url, obstac.recipes.cdse(**local.recipe_options), args)
    return run(STAC_URL, obstac.recipes.cdse(), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
