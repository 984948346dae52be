"""download_items' inputs and names: item forms, streamed searches, layouts, safe file names,
hrefs saved without their secrets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pystac
import pystac_client
import pytest

from obstac import download
from obstac._items import DownloadInputError, iter_item_batches, iter_items
from obstac.download import (
    DownloadReport,
    download_items,
    download_items_async,
    file_name,
    safe_name,
    unique_names,
    unsigned_href,
)
from obstac.testing import RangeHTTPServer
from obstac.testing.stac_api import StacAPIDouble
from obstac.transfer import MANIFEST_NAME, EventLog, TransferEvent


def _feature(item_id: str, assets: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "geometry": None,
        "properties": {"datetime": "2024-05-17T10:00:00Z", **extra.pop("properties", {})},
        "links": extra.pop("links", []),
        "assets": assets,
        "collection": extra.pop("collection", "coll"),
        **extra,
    }


# -- item inputs -----------------------------------------------------------------------------


def test_every_input_form_becomes_pystac_items(tmp_path: Path) -> None:
    one = _feature("a", {"x": {"href": "https://h/a.tif"}})
    two = _feature("b", {"x": {"href": "https://h/b.tif"}})
    collection = {"type": "FeatureCollection", "features": [one, two]}
    forms: list[Any] = [
        collection,
        pystac.ItemCollection.from_dict(collection),
        [one, pystac.Item.from_dict(two)],
        (feature for feature in (one, two)),
    ]
    (tmp_path / "c.json").write_text(json.dumps(collection))
    (tmp_path / "c.ndjson").write_text(json.dumps(one) + "\n\n" + json.dumps(two) + "\n")
    (tmp_path / "c.txt").write_text(json.dumps(one) + "\n" + json.dumps(two))  # NDJSON unnamed
    forms += [str(tmp_path / "c.json"), tmp_path / "c.ndjson", (tmp_path / "c.txt").as_uri()]
    for form in forms:
        assert [item.id for item in iter_items(form)] == ["a", "b"], form
    assert one["assets"]["x"]["href"] == "https://h/a.tif"  # the caller's dicts are untouched


def test_relative_hrefs_in_files_resolve_against_the_file(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps(_feature("a", {"x": {"href": "./a.tif"}})))
    item = next(iter_items(tmp_path / "one.json"))
    assert item.get_self_href() == (tmp_path / "one.json").as_posix()
    assert item.assets["x"].get_absolute_href() == (tmp_path / "a.tif").as_posix()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "all.ndjson").write_text(
        json.dumps(_feature("b", {"x": {"href": "b/x.tif"}})) + "\n"
    )
    item = next(iter_items(tmp_path / "sub" / "all.ndjson"))
    assert item.assets["x"].href == (tmp_path / "sub" / "b" / "x.tif").as_posix()


def test_bad_inputs_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(DownloadInputError, match="'type': 'Feature'"):
        list(iter_items({"type": "Collection", "id": "c"}))
    with pytest.raises(DownloadInputError, match="each element"):
        list(iter_items([42]))  # type: ignore[list-item]
    with pytest.raises(DownloadInputError, match="no such file"):
        list(iter_items(tmp_path / "missing.json"))
    with pytest.raises(DownloadInputError, match="remote file"):
        list(iter_items("https://example.com/items.json"))
    with pytest.raises(TypeError, match="items must be"):
        list(iter_items(42))  # type: ignore[arg-type]
    (tmp_path / "bad.ndjson").write_text(json.dumps(_feature("a", {})) + "\n{oops\n")
    with pytest.raises(DownloadInputError, match="line 2"):
        list(iter_items(tmp_path / "bad.ndjson"))


def test_batches_are_read_lazily() -> None:
    pulled = 0

    def features() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for number in range(10):
            pulled += 1
            yield _feature(f"i{number}", {})

    batches = iter_item_batches(features(), batch_size=4)
    assert pulled == 0
    assert [item.id for item in next(batches)] == ["i0", "i1", "i2", "i3"]
    assert pulled == 4
    assert [len(batch) for batch in batches] == [4, 2]


# -- a search, streamed page by page ---------------------------------------------------------


@pytest.fixture
def search_items(http_origin: RangeHTTPServer) -> list[dict[str, Any]]:
    prefix = f"search-{uuid.uuid4().hex[:8]}"
    features = []
    for number in range(50):
        http_origin.put(f"{prefix}/{number}/data.bin", f"item {number}".encode())
        href = f"{http_origin.url}/{prefix}/{number}/data.bin"
        features.append(_feature(f"item-{number:02d}", {"data": {"href": href}}))
    return features


def test_search_streams_page_by_page(tmp_path: Path, search_items: list[dict[str, Any]]) -> None:
    """50 items, pages of 10, 4 requests at once: downloads start after the first page and the
    search is never more than one page ahead of the items in flight."""
    concurrency = 4
    trace: list[tuple[int, int]] = []  # (pages served, items done) at each start event
    done = 0

    with StacAPIDouble(search_items) as api:

        def watch(event: TransferEvent) -> None:
            nonlocal done
            if event.kind == "start":
                trace.append((api.pages_served, done))
            elif event.kind in ("done", "skip", "fail"):
                done += 1

        search = pystac_client.Client.open(api.url).search(limit=10)
        items = download_items(search, tmp_path, concurrency=concurrency, progress=watch)
        assert api.pages_served == 5

    assert len(items.items) == 50
    assert items.report.count("downloaded") == 50
    assert trace[0][0] == 1, "the first download must start before page 2 is fetched"
    # Items fetched but not finished: at most the items in flight plus one page.
    ahead = max(pages * 10 - finished for pages, finished in trace)
    assert ahead <= concurrency + 10, trace
    assert [item.id for item in items.items] == [f"item-{n:02d}" for n in range(50)]
    assert (tmp_path / "coll" / "item-49" / "data.bin").read_bytes() == b"item 49"


def test_generator_input_is_consumed_as_downloads_finish(
    tmp_path: Path, search_items: list[dict[str, Any]]
) -> None:
    pulled = 0
    trace: list[tuple[int, int]] = []
    done = 0

    def features() -> Iterator[dict[str, Any]]:
        nonlocal pulled
        for feature in search_items:
            pulled += 1
            yield feature

    def watch(event: TransferEvent) -> None:
        nonlocal done
        if event.kind == "start":
            trace.append((pulled, done))
        elif event.kind in ("done", "skip", "fail"):
            done += 1

    items = download_items(features(), tmp_path, concurrency=3, progress=watch)
    assert len(items.items) == 50
    # Batches are as big as the window (3): at most two windows read ahead of what finished.
    assert max(read - finished for read, finished in trace) <= 2 * 3, trace


# -- names -----------------------------------------------------------------------------------


def test_safe_name_never_leaves_its_folder() -> None:
    assert safe_name("..") == "__"
    assert safe_name(".") == "_"
    assert safe_name("") == "_"
    assert safe_name("../../etc/passwd") == ".._.._etc_passwd"
    assert safe_name("..\\..\\x.tif") == ".._.._x.tif"
    assert safe_name("a\x00b\nc?d#e.tif") == "a_b_c_d_e.tif"
    long = safe_name("é" * 300 + ".tif")
    assert len(long.encode()) <= download.MAX_NAME_BYTES
    assert long.endswith(".tif")
    assert long != safe_name("é" * 301 + ".tif")  # the hash keeps cut names distinct


def test_file_names_come_from_the_path_never_the_query() -> None:
    assert file_name("https://h/dir/B04.tif?name=../../evil.tif&sig=x", "k") == "B04.tif"
    assert file_name("https://h/dir/a%20b%23c.tif", "k") == "a b_c.tif"  # decoded, '#' cleaned
    assert file_name("https://h/dir/", "thumbnail") == "thumbnail"
    assert file_name("s3://bucket/a%20b.tif", "k") == "a%20b.tif"  # s3 keys are literal
    assert file_name("https://h/d/%2E%2E", "k") == "__"


def test_unique_names_prefix_the_asset_key_on_collision() -> None:
    names = unique_names(
        [("B04", "image.tif"), ("B08", "IMAGE.tif"), ("meta", "x.json"), ("self", "item.json")],
        reserved={"item.json"},
    )
    assert names == {
        "B04": "B04-image.tif",
        "B08": "B08-IMAGE.tif",
        "meta": "x.json",
        "self": "self-item.json",
    }
    clash = unique_names([("a", "x"), ("a-x", "y"), ("b", "x")], reserved={"a-x"})
    assert len({name.casefold() for name in clash.values()}) == 3
    assert "a-x" not in clash.values()


def test_saved_hrefs_lose_their_secrets() -> None:
    sas = "https://acct.blob.core.windows.net/c/x.tif?sv=2021-06-08&se=2030&sp=r&sig=SECRETSIG"
    assert unsigned_href(sas) == "https://acct.blob.core.windows.net/c/x.tif"
    presigned = (
        "https://bucket.s3.amazonaws.com/x.tif?versionId=7&X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIA%2F&X-Amz-Signature=abc&X-Amz-Expires=60"
    )
    assert unsigned_href(presigned) == "https://bucket.s3.amazonaws.com/x.tif?versionId=7"
    assert unsigned_href("https://user:pw@h/x.tif?token=t0k3n&format=tif") == (
        "https://h/x.tif?format=tif"
    )
    assert unsigned_href("https://h/x.tif?sig=abc&sv=1") == "https://h/x.tif"
    assert unsigned_href("s3://bucket/x.tif") == "s3://bucket/x.tif"
    assert unsigned_href("/local/x.tif") == "/local/x.tif"


# -- layouts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    ["../{id}", "{id}/..", "/abs/{id}", "~/x", "a//{id}", "{collection}/./{id}", "C:/x", "{}",
     "{id", "a\\{id}"],
)  # fmt: skip
def test_layouts_that_could_leave_dest_are_refused_before_any_request(
    tmp_path: Path, http_origin: RangeHTTPServer, layout: str
) -> None:
    http_origin.clear_requests()
    item = _feature("a", {"x": {"href": f"{http_origin.url}/never.bin"}})
    with pytest.raises(DownloadInputError, match="layout"):
        download_items([item], tmp_path, layout=layout)
    assert http_origin.requests == []


def test_layout_fields_and_hostile_values(tmp_path: Path, http_origin: RangeHTTPServer) -> None:
    http_origin.put("layout/x.bin", b"x")
    href = f"{http_origin.url}/layout/x.bin"
    item = _feature(
        "../../../escape",
        {"x": {"href": href}},
        collection="..",
        properties={"platform": "sentinel/2a", "datetime": "2023-02-03T00:00:00Z"},
    )
    written = download_items(
        [item], tmp_path / "dest", layout="{collection}/{platform}/{year}/{month}/{day}/{id}"
    )
    folder = tmp_path / "dest" / "__" / "sentinel_2a" / "2023" / "02" / "03" / ".._.._.._escape"
    assert (folder / "x.bin").read_bytes() == b"x"
    assert (folder / ".._.._.._escape.json").is_file()
    assert all(p.is_relative_to(tmp_path / "dest") for p in tmp_path.rglob("*"))
    assert written.items[0].assets["x"].href == "./x.bin"


def test_layout_field_missing_on_an_item_fails_that_item(
    tmp_path: Path, http_origin: RangeHTTPServer
) -> None:
    http_origin.put("layout/y.bin", b"y")
    item = _feature("a", {"y": {"href": f"{http_origin.url}/layout/y.bin"}})
    with pytest.raises(download.DownloadError, match="has no 'platform'") as raised:
        download_items([item], tmp_path, layout="{platform}/{id}")
    assert raised.value.report.count("failed") == 1
    assert list(tmp_path.iterdir()) == []


def test_two_items_in_one_folder_is_refused(tmp_path: Path, http_origin: RangeHTTPServer) -> None:
    http_origin.put("layout/z.bin", b"z")
    href = f"{http_origin.url}/layout/z.bin"
    items = [_feature("a", {"z": {"href": href}}), _feature("b", {"z": {"href": href}})]
    with pytest.raises(download.DownloadError, match="another item") as raised:
        download_items(items, tmp_path, layout="{collection}", concurrency=1)
    assert [item.id for item in raised.value.items.items] == ["a"]
    assert (tmp_path / "coll" / "z.bin").read_bytes() == b"z"


def test_empty_layout_writes_into_dest(tmp_path: Path, http_origin: RangeHTTPServer) -> None:
    http_origin.put("layout/e.bin", b"e")
    item = _feature("solo", {"e": {"href": f"{http_origin.url}/layout/e.bin"}})
    written = download.download_item(item, tmp_path, layout="")
    written_names = {p.name for p in tmp_path.iterdir()} - {MANIFEST_NAME}
    assert sorted(written_names) == ["e.bin", "solo.json"]
    assert written.get_self_href() == (tmp_path / "solo.json").as_posix()


# -- options ---------------------------------------------------------------------------------


def test_unknown_options_and_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unknown download option"):
        download_items([], tmp_path, role=["data"])  # type: ignore[call-arg]
    with pytest.raises(DownloadInputError, match="on_error"):
        download_items([], tmp_path, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(DownloadInputError, match="concurrency"):
        download_items([], tmp_path, concurrency=0)
    with pytest.raises(DownloadInputError, match="one item"):
        download.download_item({"type": "FeatureCollection", "features": []}, tmp_path)


def test_no_items_is_an_empty_collection(tmp_path: Path) -> None:
    result = download_items([], tmp_path)
    assert result.items == []
    assert result.report == DownloadReport((), result.report.seconds)


def test_sync_api_works_inside_a_running_loop(tmp_path: Path, http_origin: RangeHTTPServer) -> None:
    import asyncio

    http_origin.put("loop/a.bin", b"in a loop")
    item = _feature("looped", {"a": {"href": f"{http_origin.url}/loop/a.bin"}})
    log = EventLog()

    async def notebook_cell() -> pystac.ItemCollection:
        # As in Jupyter: the sync API called from a coroutine, with a loop running.
        return download_items([item], tmp_path, progress=log)

    written = asyncio.run(notebook_cell())
    assert (tmp_path / "coll" / "looped" / "a.bin").read_bytes() == b"in a loop"
    assert [event.kind for event in log.events if event.kind != "bytes"] == ["start", "done"]
    again = asyncio.run(download_items_async([item], tmp_path / "async"))
    assert again.items[0].id == written.items[0].id == "looped"


def test_ndjson_file_of_local_items_to_a_folder(tmp_path: Path) -> None:
    source = tmp_path / "catalog"
    for number in range(3):
        (source / f"s{number}").mkdir(parents=True)
        (source / f"s{number}" / "band.bin").write_bytes(f"local {number}".encode())
    lines = [json.dumps(_feature(f"s{n}", {"band": {"href": f"s{n}/band.bin"}})) for n in range(3)]
    (source / "items.ndjson").write_text("\n".join(lines) + "\n")

    written = download_items(source / "items.ndjson", tmp_path / "dest")
    assert written.report.count("downloaded") == 3
    for number, item in enumerate(written.items):
        assert (tmp_path / "dest" / "coll" / f"s{number}" / "band.bin").read_bytes() == (
            f"local {number}".encode()
        )
        origin = item.assets["band"].extra_fields["alternate"]["origin"]["href"]
        assert origin == (source / f"s{number}" / "band.bin").as_posix()


def test_a_store_object_as_destination(tmp_path: Path, http_origin: RangeHTTPServer) -> None:
    import obstore
    from obstore.store import MemoryStore

    http_origin.put("mem/a.bin", b"into memory")
    item = _feature("m", {"a": {"href": f"{http_origin.url}/mem/a.bin"}})
    store = MemoryStore()
    written = download.download_item(item, "mirror/here", dest_store=store)
    assert bytes(obstore.get(store, "mirror/here/coll/m/a.bin").bytes()) == b"into memory"
    saved = json.loads(bytes(obstore.get(store, "mirror/here/coll/m/m.json").bytes()))
    assert saved["assets"]["a"]["href"] == "./a.bin"
    # Without a URL for the store, no self link can be written.
    assert all(link["rel"] != "self" for link in saved["links"])
    assert written.get_self_href() is None


def test_an_input_that_fails_midway_names_how_far_it_got(
    tmp_path: Path, http_origin: RangeHTTPServer
) -> None:
    http_origin.put("midway/a.bin", b"a")

    def features() -> Iterator[dict[str, Any]]:
        yield _feature("first", {"a": {"href": f"{http_origin.url}/midway/a.bin"}})
        raise ConnectionError("the STAC API went away")

    with pytest.raises(DownloadInputError, match="failed after 1 of them") as raised:
        download_items(features(), tmp_path)
    assert isinstance(raised.value.__cause__, ConnectionError)
    # The item read before the failure was finished, not abandoned.
    assert (tmp_path / "coll" / "first" / "a.bin").read_bytes() == b"a"
    assert (tmp_path / "coll" / "first" / "first.json").is_file()
