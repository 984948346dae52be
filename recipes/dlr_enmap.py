"""DLR EOC: EnMAP hyperspectral products -- search, read ranges, download (EOC login).

Service:      STAC API https://geoservice.dlr.de/eoc/ogc/stac/v1 (anonymous), collection
              ENMAP_HSI_L2A; files on https://download.geoservice.dlr.de/ENMAP/files/...,
              which need an EOC account (HTTP basic auth; without it the server redirects to
              an HTML login page that answers 200, which the recipe reports as a login error
              instead of saving it as data).
Credentials:  DLR_USERNAME + DLR_PASSWORD, or ~/.netrc with
              "machine download.geoservice.dlr.de login ... password ...".
Recipe:       obstac.recipes.dlr(username, password, base_url=...)
              (--offline: a local download server with the same login behaviour)

Run:          python recipes/dlr_enmap.py [--collection ID] [--max-items N] [--dest DIR]
              python recipes/dlr_enmap.py --offline    (no account, no network)
"""

from __future__ import annotations

import argparse
import sys

import _common
import _offline
import pystac_client

import obstac

STAC_URL = "https://geoservice.dlr.de/eoc/ogc/stac/v1"
COLLECTION = "ENMAP_HSI_L2A"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of the spectral image, download metadata and quicklooks."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[args.collection], max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    small: list[str] = []
    for item in items:
        for key in _common.pick(item, keys=["image"], suffixes=["SPECTRAL_IMAGE.TIF"])[:1]:
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
        small += _common.pick(item, roles=["metadata", "overview", "thumbnail"])
    return _common.download(items, args.dest, recipe, small)


def main(argv: list[str] | None = None) -> int:
    """Run against DLR EOC, or with ``--offline`` against a local download server."""
    parser = _common.parser(__doc__)
    parser.add_argument("--collection", default=COLLECTION, help=f"default {COLLECTION}")
    args = parser.parse_args(argv)
    if args.offline:
        with _offline.dlr_enmap() as local:
            return run(local.stac_url, obstac.recipes.dlr(**local.recipe_options), args)
    return run(STAC_URL, obstac.recipes.dlr(), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
