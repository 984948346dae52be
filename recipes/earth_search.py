"""Earth Search (Element 84): Sentinel-2 L2A COGs on AWS S3 -- search, read ranges, download.

Service:      STAC API https://earth-search.aws.element84.com/v1, collection sentinel-2-l2a;
              assets in the public bucket s3://sentinel-cogs (us-west-2).
Credentials:  none for the public COGs: requests are unsigned, even when AWS keys are set.
              Requester-pays buckets (s3://usgs-landsat, s3://sentinel-s2-l2a, ...) need AWS
              keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY[, AWS_SESSION_TOKEN]); AWS bills
              that account for the transfer.
Recipe:       obstac.recipes.earth_search(endpoint=...)  (endpoint: a local S3 for --offline)

Run:          python recipes/earth_search.py [--max-items N] [--dest DIR]
              python recipes/earth_search.py --offline    (moto, no account, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://earth-search.aws.element84.com/v1"
COLLECTION = "sentinel-2-l2a"
BBOX = [-106.2, 39.7, -104.9, 40.6]  # Colorado Front Range
DATETIME = "2023-10-01/2023-10-31"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of the red band, download the small assets."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[COLLECTION], bbox=BBOX, datetime=DATETIME, max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    for item in items:
        for key in _common.pick(item, keys=["red", "B04"]):
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
    return _common.download(items, args.dest, recipe, ["thumbnail", "granule_metadata"])


def main(argv: list[str] | None = None) -> int:
    """Run against Earth Search, or with ``--offline`` against a local moto server."""
    args = _common.parser(__doc__).parse_args(argv)
    if args.offline:
        with _offline.earth_search() as local:
            return run(local.stac_url, obstac.recipes.earth_search(**local.recipe_options), args)
    return run(STAC_URL, obstac.recipes.earth_search(), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
