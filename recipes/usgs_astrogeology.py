"""USGS Astrogeology: planetary analysis-ready data on AWS S3 -- search, read ranges, download.

Service:      STAC API https://stac.astrogeology.usgs.gov/api, e.g. collection
              mro_ctx_controlled_usgs_dtms (Mars CTX digital terrain models); assets in the
              public buckets s3://asc-mars, s3://astrogeo-ard, ... (us-west-2), written as
              https://asc-mars.s3-us-west-2.amazonaws.com/... hrefs.
Credentials:  none: requests are unsigned, even when AWS keys are set.
Recipe:       obstac.recipes.usgs_astrogeology(endpoint=...)  (endpoint: a local S3 for --offline)

Run:          python recipes/usgs_astrogeology.py [--collection ID] [--max-items N] [--dest DIR]
              python recipes/usgs_astrogeology.py --offline    (moto, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://stac.astrogeology.usgs.gov/api"
COLLECTION = "mro_ctx_controlled_usgs_dtms"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of the DEM, download the thumbnail and metadata."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[args.collection], max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    for item in items:
        for key in _common.pick(item, keys=["dem"], roles=["data"])[:1]:
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
    return _common.download(items, args.dest, recipe, ["thumbnail", "fgdc_metadata"])


def main(argv: list[str] | None = None) -> int:
    """Run against the USGS Astrogeology STAC API, or with ``--offline`` against moto."""
    parser = _common.parser(__doc__)
    parser.add_argument("--collection", default=COLLECTION, help=f"default {COLLECTION}")
    args = parser.parse_args(argv)
    if args.offline:
        with _offline.usgs_astrogeology() as local:
            recipe = obstac.recipes.usgs_astrogeology(**local.recipe_options)
            return run(local.stac_url, recipe, args)
    return run(STAC_URL, obstac.recipes.usgs_astrogeology(), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
