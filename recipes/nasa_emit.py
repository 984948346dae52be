"""NASA EMIT (LP DAAC): imaging-spectroscopy granules on Earthdata Cloud -- search, read, download.

Service:      CMR-STAC https://cmr.earthdata.nasa.gov/stac/LPCLOUD, collection EMITL2ARFL_001
              (EMIT L2A surface reflectance, netCDF-4); files at
              https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/EMITL2ARFL.001/...,
              i.e. s3://lp-prod-protected/... inside AWS us-west-2.
Credentials:  an Earthdata Login account (https://urs.earthdata.nasa.gov), one of
                EARTHDATA_TOKEN  (a bearer token from your EDL profile), or
                EARTHDATA_USERNAME + EARTHDATA_PASSWORD, or
                ~/.netrc with "machine urs.earthdata.nasa.gov login ... password ...".
              Outside AWS us-west-2 the https hrefs are read with the token; with --in-region
              (or AWS_REGION=us-west-2) straight from S3 with the DAAC's temporary
              /s3credentials, refreshed before they expire.
Recipe:       obstac.recipes.earthdata(edl_host=..., s3_endpoint=..., bucket_credentials=...)
              (--offline: local doubles of EDL, the DAAC, STS and S3)

Run:          python recipes/nasa_emit.py [--in-region] [--collection ID] [--dest DIR]
              python recipes/nasa_emit.py --offline [--in-region]    (no account, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://cmr.earthdata.nasa.gov/stac/LPCLOUD"
COLLECTION = "EMITL2ARFL_001"
BBOX = [128.0, -24.0, 130.0, -22.0]
DATETIME = "2023-03-01/2023-03-31"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read the netCDF header and ranges of the reflectance, download the browse image."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[args.collection], bbox=BBOX, datetime=DATETIME, max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    browse: list[str] = []
    for item in items:
        # A reflectance granule is ~2 GB: read its header and a few ranges, do not download it.
        for key in _common.pick(item, suffixes=[".nc"])[:1]:
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
        browse += _common.pick(item, suffixes=[".png", ".jpg", ".jpeg"])
    return _common.download(items, args.dest, recipe, browse)


def main(argv: list[str] | None = None) -> int:
    """Run against CMR-STAC and LP DAAC, or with ``--offline`` against the Earthdata doubles."""
    parser = _common.parser(__doc__)
    parser.add_argument("--collection", default=COLLECTION, help=f"default {COLLECTION}")
    parser.add_argument(
        "--in-region",
        action="store_true",
        default=None,
        help="read from S3 with /s3credentials (in AWS us-west-2); default: from AWS_REGION",
    )
    args = parser.parse_args(argv)
    if args.offline:
        with _offline.nasa_emit() as local:
            recipe = obstac.recipes.earthdata(
                **local.recipe_options, in_region=bool(args.in_region)
            )
            return run(local.stac_url, recipe, args)
    return run(STAC_URL, obstac.recipes.earthdata(in_region=args.in_region), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
