"""Automatic recipe selection over every real fixture item: explicit > metadata > host rules."""

from __future__ import annotations

from collections import Counter

import pystac
import pytest

import obstac
from obstac.recipes import explain
from tests._fixtures import iter_fixture_items

# With no credential in the environment: (provider of the fixture file, recipe, store kind).
# CDSE assets fall back to their https alternates (no S3 keys at hand); Planetary Computer's
# 50 "http" hrefs are its API's preview/tile links.
EXPECTED_WITHOUT_CREDENTIALS = {
    ("cdse", "http", "http"): 64,
    ("digital-earth-australia", "s3", "s3"): 9,
    ("earth-search", "earth-search", "s3"): 198,
    ("nasa-cmr-stac", "earthdata", "http"): 17,
    ("planetary-computer", "http", "http"): 50,
    ("planetary-computer", "planetary_computer", "azure"): 198,
    ("stac-spec-example", "gcs", "gcs"): 4,
    ("stac-spec-example", "http", "http"): 2,
    ("umbra-canopy", "http", "http"): 1,
    ("usgs-astrogeology", "usgs-astrogeology", "s3"): 8,
    ("usgs-landsatlook", "http", "http"): 17,
}


def _explain_all() -> Counter[tuple[str, str, str]]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for source, stac in iter_fixture_items():
        if stac.get("type") != "Feature":
            continue
        item = pystac.Item.from_dict(stac, migrate=False)
        for asset in item.assets.values():
            explanation = explain(asset)
            counts[(source.split("__")[0], explanation.recipe, explanation.kind)] += 1
    return counts


def test_fixture_assets_pick_their_provider_recipe() -> None:
    assert dict(_explain_all()) == EXPECTED_WITHOUT_CREDENTIALS


def test_credentials_at_hand_change_the_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    # With CDSE keys the S3 primaries become readable: no fallback to the https alternates.
    monkeypatch.setenv("CDSE_S3_ACCESS_KEY", "cdse-access-key-id")
    monkeypatch.setenv("CDSE_S3_SECRET_KEY", "cdse-secret-key-value")
    counts = _explain_all()
    # 60 s3://eodata assets; 4 assets are https-only (product zips on zipper/download hosts).
    assert counts[("cdse", "cdse", "s3")] == 60
    assert counts[("cdse", "http", "http")] == 4


def test_requester_pays_alternate_is_used_without_aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    asset = {
        "href": "s3://usgs-landsat/collection02/level-2/x_SR_B4.TIF",
        "storage:requester_pays": True,
        "alternate": {"https": {"href": "https://landsatlook.usgs.gov/data/x_SR_B4.TIF"}},
    }
    assert explain(asset).kind == "http"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "example-secret-access-key")
    chosen = explain(asset)
    assert (chosen.recipe, chosen.kind) == ("earth-search", "s3")
    assert "requester_pays=True" in chosen.store
    assert "example-secret-access-key" not in repr(chosen)


def test_explicit_recipe_wins_over_the_provider() -> None:
    href = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/x/B04.tif"
    assert explain(href).recipe == "planetary_computer"
    anonymous = obstac.recipes.azure(anonymous=True)
    assert explain(href, recipe=anonymous).recipe == "azure"
    assert explain(href, recipes=[anonymous]).recipe == "azure"
    # A recipes= list that serves nothing here falls back to automatic choice.
    assert explain(href, recipes=[obstac.recipes.http()]).recipe == "planetary_computer"
