"""open_asset accepts pystac Assets, STAC dicts and hrefs, local files, and shares stores safely."""

from __future__ import annotations

import threading
from pathlib import Path

import pystac

import obstac
from obstac import StoreCache
from obstac.recipes import explain
from obstac.testing import RangeHTTPServer


def _item(self_href: str, assets: dict[str, pystac.Asset]) -> pystac.Item:
    item = pystac.Item("scene-1", None, None, pystac.utils.str_to_datetime("2024-01-01"), {})
    for key, asset in assets.items():
        item.add_asset(key, asset)
    item.set_self_href(self_href)
    return item


def test_pystac_asset_with_relative_href_reads_against_self_link(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    http_origin.put("catalog/scene-1/B04.tif", b"band four")
    item = _item(
        f"{http_origin.url}/catalog/scene-1/scene-1.json",
        {"B04": pystac.Asset("./B04.tif", roles=["data"])},
    )
    reader = obstac.open_asset(item.assets["B04"], cache=store_cache)
    assert reader.href == f"{http_origin.url}/catalog/scene-1/B04.tif"
    assert bytes(reader.read()) == b"band four"


def test_item_metadata_reaches_the_recipe() -> None:
    # The Planetary Computer form: abfs://container/path, the account in storage options.
    item = _item(
        "https://planetarycomputer.microsoft.com/api/stac/v1/collections/fia/items/x",
        {
            "data": pystac.Asset(
                "abfs://cpdata/raw/fia/plot.parquet",
                extra_fields={"table:storage_options": {"account_name": "cpdataeuwest"}},
            )
        },
    )
    explanation = explain(item.assets["data"])
    assert explanation.recipe == "planetary_computer"
    assert "account='cpdataeuwest'" in explanation.store
    assert "container='cpdata'" in explanation.store
    assert explanation.path == "raw/fia/plot.parquet"


def test_storage_region_on_the_item_sets_the_s3_region() -> None:
    item = _item("https://example.com/items/x.json", {"a": pystac.Asset("s3://bkt/k.tif")})
    item.properties["storage:region"] = "eu-central-1"
    assert "region='eu-central-1'" in explain(item.assets["a"]).store
    # ...but a region in the href's host is the truth.
    assert "us-west-2" in explain("https://bkt.s3.us-west-2.amazonaws.com/k.tif").store


def test_stac_dict_and_href_string(http_origin: RangeHTTPServer, store_cache: StoreCache) -> None:
    http_origin.put("d/x.bin", b"dict")
    href = f"{http_origin.url}/d/x.bin"
    assert bytes(
        obstac.open_asset({"href": href, "roles": ["data"]}, cache=store_cache).read()
    ) == (b"dict")
    assert bytes(obstac.open_asset(href, cache=store_cache).read()) == b"dict"


def test_local_files_by_path_file_url_and_relative_name(
    tmp_path: Path, monkeypatch: object, store_cache: StoreCache
) -> None:
    target = tmp_path / "a dir" / "x%y.bin"
    target.parent.mkdir()
    target.write_bytes(b"local bytes")
    assert bytes(obstac.open_asset(str(target), cache=store_cache).read()) == b"local bytes"
    assert bytes(obstac.open_asset(target.as_uri(), cache=store_cache).read_range(6, 11)) == (
        b"bytes"
    )
    relative = obstac.open_asset("x%y.bin", base=f"{target.parent}/", cache=store_cache)
    assert bytes(relative.read_range(-5)) == b"bytes"


def test_store_cache_builds_one_store_under_concurrency(http_origin: RangeHTTPServer) -> None:
    cache = StoreCache()
    http_origin.put("c/x.bin", b"x")
    href = f"{http_origin.url}/c/x.bin"
    stores: list[object] = []
    barrier = threading.Barrier(16)

    def open_one() -> None:
        barrier.wait()
        stores.append(obstac.open_asset(href, cache=cache).store)

    threads = [threading.Thread(target=open_one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores) == 16
    assert all(store is stores[0] for store in stores)
    assert len(cache) == 1


def test_distinct_buckets_and_recipes_get_distinct_stores() -> None:
    cache = StoreCache()
    a = obstac.open_asset("s3://bucket-a/k", cache=cache)
    b = obstac.open_asset("s3://bucket-b/k", cache=cache)
    anon = obstac.open_asset(
        "s3://bucket-a/k", recipe=obstac.recipes.s3(anonymous=True), cache=cache
    )
    assert a.store is not b.store
    assert a.store is not anon.store
    assert obstac.open_asset("s3://bucket-a/other", cache=cache).store is a.store
    assert len(cache) == 3


def test_public_names_are_sorted_and_importable() -> None:
    for module in (obstac, obstac.recipes, obstac.errors):
        names = module.__all__
        assert names == sorted(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"
