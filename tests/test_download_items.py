"""download_items against real servers: moto (S3), Azurite (Azure) and the HTTP origin.

Each test builds items whose assets live on the local servers, downloads them, and checks the
bytes on disk (or in the destination store), the item JSON written beside them, and the requests
the origins received.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import obstore
import pystac
import pytest
from obstore.store import S3Store

import obstac
from obstac.download import DownloadedItem, DownloadError, download_item, download_items
from obstac.recipes import Recipe, azure, http, s3
from obstac.testing import AzuriteServer, CountingProxy, MotoServer, RangeHTTPServer
from obstac.testing.azurite import ACCOUNT_KEY as AZURITE_KEY
from obstac.testing.azurite import ACCOUNT_NAME as AZURITE_ACCOUNT
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from obstac.transfer import MANIFEST_NAME, EventLog
from tests.conftest import FAST_RETRY


def _sha256_multihash(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


@dataclass
class Origins:
    """The three origins, each with a fresh prefix for one test, and recipes that reach them."""

    moto: MotoServer
    moto_proxy: CountingProxy
    azurite: AzuriteServer
    azurite_proxy: CountingProxy
    web: RangeHTTPServer
    bucket: str
    container: str
    prefix: str

    @property
    def s3_recipe(self) -> Recipe:
        return s3(
            endpoint=self.moto_proxy.url,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            retry_config=FAST_RETRY,
        )

    @property
    def azure_recipe(self) -> Recipe:
        return azure(
            account_key=AZURITE_KEY,
            endpoint=f"{self.azurite_proxy.url}/{{account}}",
            retry_config=FAST_RETRY,
        )

    @property
    def recipes(self) -> list[Recipe]:
        return [self.s3_recipe, self.azure_recipe, http(retry_config=FAST_RETRY)]

    def on_s3(self, name: str, data: bytes) -> str:
        self.moto.put(self.bucket, f"{self.prefix}/{name}", data)
        return f"s3://{self.bucket}/{self.prefix}/{name}"

    def on_azure(self, name: str, data: bytes) -> str:
        self.azurite.put(self.container, f"{self.prefix}/{name}", data)
        return (
            f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{self.container}/{self.prefix}/{name}"
        )

    def on_http(self, name: str, data: bytes) -> str:
        self.web.put(f"{self.prefix}/{name}", data)
        return f"{self.web.url}/{self.prefix}/{name}"

    def gets(self) -> int:
        return (
            self.moto_proxy.count("GET") + self.azurite_proxy.count("GET") + self.web.count("GET")
        )

    def clear(self) -> None:
        self.moto_proxy.clear()
        self.azurite_proxy.clear()
        self.web.clear_requests()


@pytest.fixture(scope="module")
def _buckets(moto_server: MotoServer, azurite_server: AzuriteServer) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:8]
    bucket, container = f"dl-src-{suffix}", f"dl-src-{suffix}"
    moto_server.create_bucket(bucket)
    azurite_server.create_container(container)
    return bucket, container


@pytest.fixture
def origins(
    moto_server: MotoServer,
    moto_proxy: CountingProxy,
    azurite_server: AzuriteServer,
    azurite_proxy: CountingProxy,
    http_origin: RangeHTTPServer,
    _buckets: tuple[str, str],
) -> Origins:
    found = Origins(
        moto_server,
        moto_proxy,
        azurite_server,
        azurite_proxy,
        http_origin,
        *_buckets,
        prefix=f"t-{uuid.uuid4().hex[:8]}",
    )
    found.clear()
    return found


def _item(
    item_id: str, assets: dict[str, dict[str, Any]], *, collection: str = "demo", **extra: Any
) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "id": item_id,
        "collection": collection,
        "geometry": {"type": "Point", "coordinates": [4.35, 50.85]},
        "bbox": [4.35, 50.85, 4.35, 50.85],
        "properties": {"datetime": "2024-05-17T10:00:00Z"},
        "links": extra.pop("links", []),
        "assets": assets,
        **extra,
    }


def _files(root: Path) -> set[str]:
    """Every file under ``root`` but the engine's manifests (its record of finished files)."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name != MANIFEST_NAME
    }


# -- the whole path --------------------------------------------------------------------------


def test_items_from_three_origins_land_in_a_folder(tmp_path: Path, origins: Origins) -> None:
    payloads: dict[tuple[str, str], bytes] = {}
    items = []
    for number in range(3):
        item_id = f"scene-{number}"
        data = {
            "B04": f"s3 red band {number}".encode() * 100,
            "B08": f"azure nir band {number}".encode() * 100,
            "thumbnail": f"http thumbnail {number}".encode(),
        }
        payloads.update({(item_id, key): value for key, value in data.items()})
        items.append(
            _item(
                item_id,
                {
                    "B04": {
                        "href": origins.on_s3(f"{item_id}/B04.tif", data["B04"]),
                        "roles": ["data"],
                        "file:size": len(data["B04"]),
                        "file:checksum": _sha256_multihash(data["B04"]),
                    },
                    "B08": {
                        "href": origins.on_azure(f"{item_id}/B08.tif", data["B08"]),
                        "roles": ["data"],
                    },
                    "thumbnail": {
                        "href": origins.on_http(f"{item_id}/thumb.png", data["thumbnail"]),
                        "roles": ["thumbnail"],
                    },
                },
                links=[
                    {"rel": "self", "href": f"https://api.example/items/{item_id}"},
                    {"rel": "parent", "href": "../collections/demo"},
                    {"rel": "license", "href": "https://example.com/license"},
                ],
            )
        )
    collection = pystac.ItemCollection.from_dict({"type": "FeatureCollection", "features": items})
    dest = tmp_path / "dest"
    written = download_items(collection, dest, recipes=origins.recipes)

    assert written.report.count("downloaded") == 9
    assert written.report.bytes_transferred == sum(len(v) for v in payloads.values())
    assert written.report.requests >= 9
    assert all(outcome.result.verified for outcome in written.report.assets)
    assert _files(dest) == {
        f"demo/scene-{n}/{name}"
        for n in range(3)
        for name in ("B04.tif", "B08.tif", "thumb.png", f"scene-{n}.json")
    }
    for item in written.items:
        assert isinstance(item, DownloadedItem)
        assert item.report.count("downloaded") == 3
        json_path = dest / "demo" / item.id / f"{item.id}.json"
        assert item.get_self_href() == json_path.as_posix()
        saved = json.loads(json_path.read_text())
        assert {key: a["href"] for key, a in saved["assets"].items()} == {
            "B04": "./B04.tif",
            "B08": "./B08.tif",
            "thumbnail": "./thumb.png",
        }
        links = {link["rel"]: link["href"] for link in saved["links"]}
        assert links == {
            "self": json_path.as_posix(),
            "parent": "https://api.example/collections/demo",
            "license": "https://example.com/license",
        }
        assert (
            "https://stac-extensions.github.io/file/v2.1.0/schema.json"
            in (saved["stac_extensions"])
        )
        # Read back as any STAC user would: from the file, through obstac.
        reread = pystac.Item.from_file(str(json_path))
        original = next(i for i in items if i["id"] == item.id)
        for key, asset in reread.assets.items():
            expected = payloads[(item.id, key)]
            assert bytes(obstac.open_asset(asset).read()) == expected
            assert asset.extra_fields["file:size"] == len(expected)
            assert asset.extra_fields["file:checksum"] == _sha256_multihash(expected)
            assert asset.extra_fields["alternate"] == {
                "origin": {"href": original["assets"][key]["href"]}
            }


def test_include_exclude_and_roles_choose_the_assets(tmp_path: Path, origins: Origins) -> None:
    hrefs = {
        key: origins.on_http(f"filters/{key}.bin", key.encode())
        for key in ("B02", "B03", "B04", "thumbnail", "metadata")
    }
    roles = {"thumbnail": ["thumbnail"], "metadata": ["metadata"]}
    item = _item(
        "filtered",
        {k: {"href": h, "roles": roles.get(k, ["data"])} for k, h in hrefs.items()},
    )

    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"include": ["B04", "thumbnail"]}, {"B04", "thumbnail"}),
        ({"include": "B03"}, {"B03"}),
        ({"exclude": ["thumbnail", "metadata"]}, {"B02", "B03", "B04"}),
        ({"roles": ["data"], "exclude": ["B02"]}, {"B03", "B04"}),
        ({"roles": ["metadata", "thumbnail"]}, {"thumbnail", "metadata"}),
    ]
    for number, (options, expected) in enumerate(cases):
        dest = tmp_path / str(number)
        written = download_item(item, dest, **options)
        on_disk = {p.rsplit("/", 1)[-1].removesuffix(".bin") for p in _files(dest)}
        assert on_disk == expected | {"filtered.json"}, options
        assert {o.asset_key for o in written.report.assets} == expected
        for key, asset in written.assets.items():  # the others still point at the origin
            assert asset.href == ("./" + key + ".bin" if key in expected else hrefs[key])


def test_hostile_names_stay_inside_dest(tmp_path: Path, origins: Origins) -> None:
    long_name = "L" * 300 + ".tif"
    item = _item(
        "../../x",
        {
            # pystac turns a raw backslash into '/', so hosts send it encoded.
            "backslashes": {
                "href": origins.on_http("h/..\\..\\evil.tif", b"backslashes").replace("\\", "%5C")
            },
            "one": {"href": origins.on_http("h/a/B04.tif", b"first B04")},
            "two": {"href": origins.on_http("h/b/B04.tif", b"second B04")},
            "query": {"href": origins.on_http("h/q.tif", b"query") + "?name=../../../q.tif"},
            "self-json": {"href": origins.on_http("h/.._.._x.json", b"not the item json")},
            "long": {"href": origins.on_http(f"h/{long_name}", b"long")},
            "dots": {"href": f"{origins.web.url}/{origins.prefix}/h/%2E%2E"},
            "../../key": {"href": origins.on_http("h/c/B04.tif", b"third B04")},
        },
        collection="../..",
    )
    outer = tmp_path / "outer"
    dest = outer / "dest"
    with pytest.raises(DownloadError) as raised:
        download_item(item, dest, recipes=origins.recipes)

    # Only the asset whose path is '..' failed (obstore refuses it); the rest landed inside.
    assert [o.asset_key for o in raised.value.report.failures] == ["dots"]
    assert all(p.resolve().is_relative_to(dest.resolve()) for p in outer.rglob("*"))
    folder = dest / ".._.." / ".._.._x"
    names = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != MANIFEST_NAME}
    assert names.pop(".._.._x.json").startswith(b"{")
    assert names.pop("self-json-.._.._x.json") == b"not the item json"
    assert names.pop(".._.._evil.tif") == b"backslashes"
    assert names.pop("one-B04.tif") == b"first B04"
    assert names.pop("two-B04.tif") == b"second B04"
    assert names.pop(".._.._key-B04.tif") == b"third B04"
    assert names.pop("q.tif") == b"query"
    [(long_written, content)] = names.items()
    assert content == b"long"
    assert long_written.endswith(".tif")
    assert len(long_written.encode()) <= 200


# -- mirror into another store ---------------------------------------------------------------


def test_mirror_from_azurite_into_moto(
    tmp_path: Path, origins: Origins, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = f"dl-mirror-{uuid.uuid4().hex[:8]}"
    moto_server.create_bucket(mirror)
    data = {f"B{n:02d}": f"band {n} ".encode() * 1000 for n in range(1, 4)}
    items = [
        _item(
            f"az-{number}",
            {
                key: {"href": origins.on_azure(f"az-{number}/{key}.tif", value)}
                for key, value in data.items()
            },
        )
        for number in range(2)
    ]
    monkeypatch.chdir(tmp_path)  # nothing may be written locally: check the cwd stays empty
    dest_recipe = s3(
        endpoint=moto_server.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        retry_config=FAST_RETRY,
    )
    written = download_items(
        items, f"s3://{mirror}/copies", recipes=origins.recipes, dest_recipe=dest_recipe
    )
    assert list(tmp_path.iterdir()) == []
    assert written.report.count("downloaded") == 6

    store = S3Store(
        mirror,
        endpoint=moto_server.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
    )
    keys = sorted(meta["path"] for batch in obstore.list(store) for meta in batch)
    assert keys == sorted(
        f"copies/demo/az-{n}/{name}"
        for n in range(2)
        for name in ("B01.tif", "B02.tif", "B03.tif", f"az-{n}.json")
    )
    for number in range(2):
        for key, value in data.items():
            path = f"copies/demo/az-{number}/{key}.tif"
            assert bytes(obstore.get(store, path).bytes()) == value
        json_url = f"s3://{mirror}/copies/demo/az-{number}/az-{number}.json"
        saved = json.loads(bytes(obstore.get(store, json_url.split("/", 3)[3]).bytes()))
        assert {a["href"] for a in saved["assets"].values()} == {
            "./B01.tif",
            "./B02.tif",
            "./B03.tif",
        }
        assert saved["links"][0] == {"rel": "self", "href": json_url, "type": "application/json"}
        reread = pystac.Item.from_dict(saved)
        assert reread.get_self_href() == json_url
        for key, value in data.items():
            reader = obstac.open_asset(reread.assets[key], recipe=dest_recipe)
            assert reader.href == f"s3://{mirror}/copies/demo/az-{number}/{key}.tif"
            assert bytes(reader.read()) == value
        assert (
            saved["assets"]["B01"]["alternate"]["origin"]["href"]
            == (items[number]["assets"]["B01"]["href"])
        )


# -- failures --------------------------------------------------------------------------------


def _three_items_one_missing(origins: Origins) -> list[dict[str, Any]]:
    items = []
    for number in range(3):
        assets = {
            "a": {"href": origins.on_http(f"f{number}/a.bin", f"a{number}".encode())},
            "b": {"href": origins.on_s3(f"f{number}/b.bin", f"b{number}".encode())},
        }
        if number == 1:
            assets["gone"] = {"href": f"{origins.web.url}/{origins.prefix}/f1/gone.bin?sig=s3cr3t"}
        items.append(_item(f"item-{number}", assets))
    return items


def test_on_error_continue_downloads_the_rest_and_lists_the_failure(
    tmp_path: Path, origins: Origins
) -> None:
    items = _three_items_one_missing(origins)
    with pytest.raises(DownloadError) as raised:
        download_items(items, tmp_path, recipes=origins.recipes)
    error = raised.value
    assert isinstance(error, obstac.ObstacError)
    [failure] = error.report.failures
    assert (failure.item_id, failure.asset_key) == ("item-1", "gone")
    assert isinstance(failure.error, FileNotFoundError)
    message = str(error)
    assert "1 of 7 assets failed" in message
    assert "item-1/gone" in message
    assert "gone.bin" in message
    assert "s3cr3t" not in message
    assert error.report.count("downloaded") == 6
    assert [item.id for item in error.items.items] == ["item-0", "item-1", "item-2"]
    assert _files(tmp_path) == {
        f"demo/item-{n}/{name}" for n in range(3) for name in ("a.bin", "b.bin", f"item-{n}.json")
    }
    saved = json.loads((tmp_path / "demo/item-1/item-1.json").read_text())
    # The failed asset keeps its original href, without the signature.
    assert saved["assets"]["gone"]["href"] == f"{origins.web.url}/{origins.prefix}/f1/gone.bin"
    assert saved["assets"]["a"]["href"] == "./a.bin"
    assert "s3cr3t" not in (tmp_path / "demo/item-1/item-1.json").read_text()


def test_on_error_raise_stops_at_the_first_failure(tmp_path: Path, origins: Origins) -> None:
    items = _three_items_one_missing(origins)
    with pytest.raises(DownloadError) as raised:
        download_items(items, tmp_path, recipes=origins.recipes, on_error="raise", concurrency=1)
    error = raised.value
    assert "stopped at the first failure" in str(error)
    assert [o.asset_key for o in error.report.failures] == ["gone"]
    assert isinstance(error.__cause__, FileNotFoundError)
    assert [item.id for item in error.items.items] == ["item-0"]
    # item-0 finished; item-1 failed so its JSON is not written; item-2 never started.
    files = _files(tmp_path)
    assert {f for f in files if f.startswith("demo/item-0/")} == {
        "demo/item-0/a.bin",
        "demo/item-0/b.bin",
        "demo/item-0/item-0.json",
    }
    assert not any(f.endswith(".json") for f in files if not f.startswith("demo/item-0/"))
    assert not any(f.startswith("demo/item-2/") for f in files)
    assert not any(r.path.startswith(f"{origins.prefix}/f2/") for r in origins.web.requests)
    # No temporary file is left anywhere.
    assert all(f.rsplit("/", 1)[-1] in ("a.bin", "b.bin", "item-0.json") for f in files)


def test_rerun_of_a_finished_download_makes_no_get(tmp_path: Path, origins: Origins) -> None:
    items = [
        _item(
            f"again-{n}",
            {
                "s3": {"href": origins.on_s3(f"again-{n}/s3.bin", b"s3 bytes" * 500)},
                "az": {"href": origins.on_azure(f"again-{n}/az.bin", b"azure bytes" * 500)},
                "web": {"href": origins.on_http(f"again-{n}/web.bin", b"web bytes" * 500)},
            },
        )
        for n in range(2)
    ]
    first = download_items(items, tmp_path, recipes=origins.recipes)
    assert first.report.count("downloaded") == 6
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    origins.clear()

    log = EventLog()
    second = download_items(items, tmp_path, recipes=origins.recipes, progress=log)
    assert origins.gets() == 0
    assert second.report.count("skipped") == 6
    assert second.report.bytes_transferred == 0
    assert len(log.of_kind("skip")) == 6
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before

    forced = download_items(items, tmp_path, recipes=origins.recipes, overwrite=True)
    assert forced.report.count("downloaded") == 6
    assert origins.gets() >= 6


def test_signed_hrefs_are_kept_only_when_asked(
    tmp_path: Path, origins: Origins, azurite_server: AzuriteServer
) -> None:
    href = origins.on_azure("signed/x.tif", b"signed bytes")
    sas = azurite_server.container_sas(
        origins.container, expiry=datetime.now(UTC) + timedelta(hours=1)
    )
    item = _item("signed", {"x": {"href": f"{href}?{sas}"}})
    # The SAS in the href is the only credential: the recipe has no key.
    recipe = azure(endpoint=f"{origins.azurite_proxy.url}/{{account}}", retry_config=FAST_RETRY)

    plain = download_item(item, tmp_path / "plain", recipe=recipe)
    text = (tmp_path / "plain/demo/signed/signed.json").read_text()
    assert plain.assets["x"].extra_fields["alternate"]["origin"]["href"] == href
    assert "sig=" not in text
    kept = download_item(item, tmp_path / "kept", recipe=recipe, keep_signed_hrefs=True)
    assert kept.assets["x"].extra_fields["alternate"]["origin"]["href"] == f"{href}?{sas}"
    assert (tmp_path / "kept/demo/signed/x.tif").read_bytes() == b"signed bytes"


def test_progress_events_reach_the_sink(tmp_path: Path, origins: Origins) -> None:
    item = _item(
        "watched",
        {
            "a": {"href": origins.on_http("w/a.bin", b"a" * 4096)},
            "b": {"href": origins.on_s3("w/b.bin", b"b" * 4096)},
        },
    )
    log = EventLog()
    download_item(item, tmp_path, recipes=origins.recipes, progress=log)
    assert sorted(e.job_id for e in log.of_kind("start")) == ["demo/watched/a", "demo/watched/b"]
    assert sorted((e.job_id, e.bytes) for e in log.of_kind("done")) == [
        ("demo/watched/a", 4096),
        ("demo/watched/b", 4096),
    ]
