"""SharingHub (CS GROUP): AI models and datasets kept in GitLab -- search, read, download.

Service:      a SharingHub server, by default https://sharinghub.p2.csgroup.space, whose STAC
              API is at {server}/api/stac; collections are topics such as ai-model or dataset;
              files are served by {server}/api/download/{project}/repository/{path}?ref=...,
              large ones redirected to object storage (GitLab LFS).
Credentials:  SHARINGHUB_TOKEN (a GitLab access token of the GitLab behind the server; inside
              GitLab CI, CI_JOB_TOKEN); public projects need none. The token is sent as
              X-Gitlab-Token to the SharingHub server only, never to the storage it redirects to.
              SHARINGHUB_URL names another server.
Recipe:       obstac.recipes.sharinghub(token, base_url=...)
              (--offline: a local SharingHub with a second origin for LFS storage)

Run:          python recipes/sharinghub.py [--collection ID] [--max-items N] [--dest DIR]
              python recipes/sharinghub.py --offline    (no account, no network)
"""

from __future__ import annotations

import argparse
import os
import sys

import _common
import _offline
import pystac_client

import obstac

SERVER = "https://sharinghub.p2.csgroup.space"
COLLECTION = "ai-model"


def run(stac_url: str, recipe: obstac.recipes.Recipe, args: argparse.Namespace) -> int:
    """Search, read byte ranges of the first data file, download the small metadata files."""
    search = pystac_client.Client.open(stac_url).search(
        collections=[args.collection], max_items=args.max_items
    )
    items = list(search.items())
    print(f"search: {len(items)} items from {stac_url}")
    if not items:
        return 1
    small: list[str] = []
    for item in items:
        for key in _common.pick(item, keys=["model"], roles=["data"])[:1]:
            _common.show_reads(item, key, obstac.open_asset(item.assets[key], recipe=recipe))
        small += _common.pick(item, roles=["metadata", "thumbnail", "overview"])
    return _common.download(items, args.dest, recipe, small)


def main(argv: list[str] | None = None) -> int:
    """Run against a SharingHub server, or with ``--offline`` against a local double."""
    parser = _common.parser(__doc__)
    parser.add_argument("--collection", default=COLLECTION, help=f"default {COLLECTION}")
    args = parser.parse_args(argv)
    if args.offline:
        with _offline.sharinghub() as local:
            return run(local.stac_url, obstac.recipes.sharinghub(**local.recipe_options), args)
    server = os.environ.get("SHARINGHUB_URL", SERVER).rstrip("/")
    return run(f"{server}/api/stac", obstac.recipes.sharinghub(base_url=server), args)


if __name__ == "__main__":
    sys.exit(_common.run_main(main))
