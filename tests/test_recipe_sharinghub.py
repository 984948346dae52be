"""SharingHub: the GitLab token reaches the SharingHub origin and nothing else, reads work.

Every test runs against `SharingHubDouble` (the download API on one port, the LFS object
storage it redirects to on another) and asserts on the requests each origin recorded.
"""

from __future__ import annotations

import asyncio
import io
import logging
import random
from collections.abc import Iterator
from typing import Any

import pystac
import pytest

import obstac
from obstac import StoreCache
from obstac._assets import asset_info
from obstac.hrefs import parse_href
from obstac.recipes import explain, http
from obstac.recipes._sharinghub import SharingHubRecipe, sharinghub, strip_token
from obstac.testing.sharinghub import TOKEN, SharingHubDouble
from tests.conftest import FAST_RETRY

MIB = 1024 * 1024
PROJECT = "space-lab/cloud-detection"
WRONG_TOKEN = "glpat-wr0ng-Zk41mPq8vB"
HREF_TOKEN = "glpat-fr0m-href-Hc73Lx"
ENV_VARS = ("SHARINGHUB_TOKEN", "CI_JOB_TOKEN", "SHARINGHUB_URL")


def _payload(size: int, seed: int = 11) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(autouse=True)
def _no_sharinghub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's (or GitLab CI's) token must not leak into these tests."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def hub() -> Iterator[SharingHubDouble]:
    with SharingHubDouble(tokens=(TOKEN, HREF_TOKEN)) as server:
        yield server


@pytest.fixture
def clean_hub(hub: SharingHubDouble) -> SharingHubDouble:
    hub.clear_requests()
    hub.storage.clear_requests()
    return hub


@pytest.fixture
def recipe(hub: SharingHubDouble) -> SharingHubRecipe:
    return sharinghub(TOKEN, base_url=hub.url, retry_config=FAST_RETRY)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in (TOKEN, WRONG_TOKEN, HREF_TOKEN):
            assert secret not in text


def _assert_token_only_as_header(hub: SharingHubDouble, token: str = TOKEN) -> None:
    """Every SharingHub request carried the token once, as the header; the query never."""
    assert hub.requests
    for request in hub.requests:
        assert request.headers.get("x-gitlab-token") == token
        assert "gitlab_token" not in request.query


def _read_everything(reader: obstac.AssetReader, data: bytes) -> None:
    """Whole, one range, scattered ranges and a seekable file all give the right bytes."""
    assert bytes(reader.read()) == data
    assert bytes(reader.read_range(10, 1010)) == data[10:1010]
    assert bytes(reader.read_range(-100)) == data[-100:]
    starts = [0, 5000, 2 * MIB, 2 * MIB + 77]
    ends = [100, 9000, 2 * MIB + 50, 2 * MIB + 4096]
    chunks = reader.read_ranges(starts, ends)
    assert [bytes(c) for c in chunks] == [data[s:e] for s, e in zip(starts, ends, strict=True)]
    with reader.open(buffer_size=64 * 1024) as f:
        assert f.size == len(data)
        f.seek(MIB + 3)
        assert f.read(20) == data[MIB + 3 : MIB + 23]
        f.seek(-7, io.SEEK_END)
        assert f.read() == data[-7:]


def test_direct_answer_is_read_with_the_token_header(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    data = _payload(3 * MIB)
    href = clean_hub.put(PROJECT, "data/scene.tif", data)
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert clean_hub.requests == []  # opening a reader makes no request
    _read_everything(reader, data)
    probe, first_read = clean_hub.requests[:2]
    assert (probe.method, probe.range) == ("GET", "bytes=0-0")
    assert (first_read.method, first_read.range) == ("GET", None)
    # One probe per reader, however many reads follow.
    assert sum(r.range == "bytes=0-0" for r in clean_hub.requests) == 1
    _assert_token_only_as_header(clean_hub)
    assert clean_hub.storage.requests == []


def test_cross_origin_redirect_is_followed_without_the_token(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    data = _payload(3 * MIB, seed=12)
    href = clean_hub.put_redirected(PROJECT, "model/weights.onnx", data)
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    _read_everything(reader, data)
    # SharingHub saw the probe only (it answered 302); every read went to the storage origin.
    assert [(r.method, r.range) for r in clean_hub.requests] == [("GET", "bytes=0-0")]
    _assert_token_only_as_header(clean_hub)
    assert clean_hub.storage.count("GET") >= 4
    assert clean_hub.storage.count("HEAD") == 1  # open()
    assert not clean_hub.token_leaked
    assert "no token sent" in repr(reader)
    assert reader.href == href  # errors and reports keep naming the asset's own href


def test_generic_http_recipe_keeps_the_token_header_off_that_redirect(
    clean_hub: SharingHubDouble, store_cache: StoreCache
) -> None:
    """obstore forwards X-Gitlab-Token across origins by itself; http() looks first, too."""
    href = clean_hub.put_redirected(PROJECT, "model/leak.onnx", b"lfs bytes")
    naive = http(headers={"X-Gitlab-Token": TOKEN}, retry_config=FAST_RETRY)
    assert bytes(obstac.open_asset(href, recipe=naive, cache=store_cache).read()) == b"lfs bytes"
    assert not clean_hub.token_leaked


def test_async_reads_direct_and_redirected(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    direct_data, lfs_data = _payload(2 * MIB, seed=13), _payload(2 * MIB, seed=14)
    direct = clean_hub.put(PROJECT, "data/async.tif", direct_data)
    lfs = clean_hub.put_redirected(PROJECT, "data/async-lfs.tif", lfs_data)

    async def read_all(href: str, data: bytes) -> None:
        reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
        whole, part, chunks, size = await asyncio.gather(
            reader.read_async(),
            reader.read_range_async(100, 200),
            reader.read_ranges_async([0, MIB], [10, MIB + 10]),
            reader.size_async(),
        )
        assert bytes(whole) == data
        assert bytes(part) == data[100:200]
        assert [bytes(c) for c in chunks] == [data[:10], data[MIB : MIB + 10]]
        assert size == len(data)

    async def main() -> None:
        await asyncio.gather(read_all(direct, direct_data), read_all(lfs, lfs_data))

    asyncio.run(main())
    # Concurrent first reads of one reader still resolve it once: one probe per asset.
    assert sum(r.range == "bytes=0-0" for r in clean_hub.requests) == 2
    _assert_token_only_as_header(clean_hub)
    assert not clean_hub.token_leaked


def test_same_origin_redirect_is_followed_by_hand_with_the_token(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    clean_hub.put(PROJECT, "data/v2/scene.tif", b"moved bytes")
    old = clean_hub.alias(PROJECT, "data/v1/scene.tif", "data/v2/scene.tif")
    reader = obstac.open_asset(old, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == b"moved bytes"
    assert [(r.path.rsplit("/", 2)[-2], r.range) for r in clean_hub.requests] == [
        ("v1", "bytes=0-0"),
        ("v2", "bytes=0-0"),
        ("v2", None),
    ]
    _assert_token_only_as_header(clean_hub)


def test_redirect_loop_stops_after_five_hops(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    href = clean_hub.loop(PROJECT, "data/loop.tif")
    with pytest.raises(obstac.RemoteError, match="redirected more than 5 times"):
        obstac.open_asset(href, recipe=recipe, cache=store_cache).read()
    assert clean_hub.count("GET") >= 6


def test_missing_token_names_the_parameter_and_env_var(
    clean_hub: SharingHubDouble, store_cache: StoreCache
) -> None:
    href = clean_hub.put(PROJECT, "data/private.tif", b"private")
    anonymous = sharinghub(base_url=clean_hub.url, retry_config=FAST_RETRY)
    assert anonymous.credential_source == "anonymous"
    with pytest.raises(obstac.CredentialsError) as caught:
        obstac.open_asset(href, recipe=anonymous, cache=store_cache).read()
    message = str(caught.value)
    assert "403" in message
    assert "token=" in message
    assert "SHARINGHUB_TOKEN" in message
    assert "recipe 'sharinghub'" in message
    # No token, no secret to guard: no probe, obstore reads directly.
    assert [r.range for r in clean_hub.requests] == [None]


def test_wrong_token_fails_at_the_probe_and_is_never_shown(
    clean_hub: SharingHubDouble, store_cache: StoreCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    href = clean_hub.put(PROJECT, "data/private2.tif", b"private")
    wrong = sharinghub(WRONG_TOKEN, base_url=clean_hub.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(href, recipe=wrong, cache=store_cache)
    with pytest.raises(obstac.CredentialsError) as caught:
        reader.read_range(0, 4)
    message = str(caught.value)
    assert "HTTP 401" in message
    assert "token=" in message
    assert "SHARINGHUB_TOKEN" in message
    assert "parameter token" in message  # where the refused token came from
    assert all(r.range == "bytes=0-0" for r in clean_hub.requests)  # never a real read
    assert "sharinghub: GET" in caplog.text
    _assert_no_secret(message, repr(caught.value), repr(reader), repr(wrong), caplog.text)


def test_missing_file_is_asset_not_found(
    clean_hub: SharingHubDouble, recipe: SharingHubRecipe, store_cache: StoreCache
) -> None:
    clean_hub.put(PROJECT, "data/on-main.tif", b"x")
    href = clean_hub.href(PROJECT, "data/on-main.tif", ref="dev")
    with pytest.raises(obstac.AssetNotFoundError, match="ref= branch") as caught:
        obstac.open_asset(href, recipe=recipe, cache=store_cache).read()
    assert isinstance(caught.value, FileNotFoundError)


def test_token_in_the_href_is_sent_once_as_header_and_redacted(
    clean_hub: SharingHubDouble, store_cache: StoreCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    href = clean_hub.put(PROJECT, "data/query.tif", b"query bytes") + f"&gitlab_token={HREF_TOKEN}"
    no_token = sharinghub(base_url=clean_hub.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(href, recipe=no_token, cache=store_cache)
    assert bytes(reader.read()) == b"query bytes"
    _assert_token_only_as_header(clean_hub, HREF_TOKEN)
    explanation = explain(href, recipe=no_token)
    assert explanation.credential_source == "gitlab_token in the href (sent as X-Gitlab-Token)"
    assert "gitlab_token=***" in explanation.href
    _assert_no_secret(repr(reader), repr(explanation), caplog.text)

    # The recipe's own token wins over a stale one in the href; still sent once, as header.
    clean_hub.clear_requests()
    stale = href.replace(HREF_TOKEN, WRONG_TOKEN)
    own = sharinghub(TOKEN, base_url=clean_hub.url, retry_config=FAST_RETRY)
    assert bytes(obstac.open_asset(stale, recipe=own, cache=store_cache).read()) == b"query bytes"
    _assert_token_only_as_header(clean_hub, TOKEN)


def test_strip_token_keeps_the_rest_of_the_query() -> None:
    assert strip_token("https://h/a.tif?ref=main&gitlab_token=abc&cache=60") == (
        "https://h/a.tif?ref=main&cache=60",
        "abc",
    )
    assert strip_token("https://h/a.tif?ref=main") == ("https://h/a.tif?ref=main", None)


def test_env_vars_configure_token_and_server(
    monkeypatch: pytest.MonkeyPatch, clean_hub: SharingHubDouble, store_cache: StoreCache
) -> None:
    href = clean_hub.put(PROJECT, "data/env.tif", b"env bytes")
    monkeypatch.setenv("SHARINGHUB_URL", clean_hub.url)
    monkeypatch.setenv("CI_JOB_TOKEN", TOKEN)
    from_ci = sharinghub()
    assert from_ci.base_url == clean_hub.url
    assert from_ci.credential_source == "env CI_JOB_TOKEN"
    assert bytes(obstac.open_asset(href, recipe=from_ci, cache=store_cache).read()) == b"env bytes"
    monkeypatch.setenv("SHARINGHUB_TOKEN", HREF_TOKEN)
    assert sharinghub().credential_source == "env SHARINGHUB_TOKEN"  # before CI_JOB_TOKEN
    monkeypatch.setenv("GITLAB_TOKEN", WRONG_TOKEN)
    monkeypatch.delenv("SHARINGHUB_TOKEN")
    monkeypatch.delenv("CI_JOB_TOKEN")
    assert sharinghub().credential_source == "anonymous"  # GITLAB_TOKEN is not read
    assert sharinghub(TOKEN).credential_source == "parameter token"


def _sharinghub_item(server: str, token: str) -> dict[str, Any]:
    """An item shaped like sharinghub-server's build_stac_item output (a model project)."""
    download = f"{server}/api/download/{PROJECT}"
    rc_query = f"gitlab_token={token}"
    return {
        "stac_version": "1.0.0",
        "stac_extensions": [],
        "type": "Feature",
        "id": PROJECT,
        "collection": "ai-model",
        "geometry": None,
        "properties": {
            "title": "cloud-detection",
            "datetime": "2024-05-02T09:30:00Z",
            "keywords": ["segmentation"],
            "sharinghub:id": 4242,
            "sharinghub:name": "Space Lab / cloud-detection",
            "sharinghub:path": PROJECT,
            "sharinghub:default-branch": "main",
            "sharinghub:access-level": 20,
            "sharinghub:dvc-init": "disable",
        },
        "links": [
            {"rel": "self", "href": f"{server}/api/stac/collections/ai-model/items/{PROJECT}"},
            {"rel": "bug_tracker", "href": f"https://gitlab.example.org/{PROJECT}/issues"},
        ],
        "assets": {
            "model/weights.onnx": {
                "href": f"{download}/repository/model/weights.onnx?ref=main&{rc_query}",
                "roles": ["data"],
            },
            "preview.png": {
                "href": f"{download}/repository/docs/preview.png?ref=main&cache=600&{rc_query}",
                "roles": ["thumbnail"],
                "type": "image/png",
            },
            "release": {
                "href": f"{download}/archive.zip?ref=v1.0.0&{rc_query}",
                "roles": ["source"],
                "type": "application/zip",
            },
            "paper": {"href": "https://doi.example.org/10.1234/clouds.pdf", "roles": ["data"]},
        },
    }


def test_claims_and_routing_over_a_sharinghub_item() -> None:
    server = "https://sharinghub.p2.csgroup.space"
    item = pystac.Item.from_dict(_sharinghub_item(server, HREF_TOKEN))
    recipe = sharinghub()  # the real server by default
    other = sharinghub(base_url="https://hub.other.example")
    for key in ("model/weights.onnx", "preview.png", "release"):
        info = asset_info(item.assets[key])
        location = parse_href(info.href)
        assert recipe.claims(location, info), key
        assert not other.claims(location, info), key
        explanation = explain(item.assets[key], recipe=recipe)
        assert explanation.recipe == "sharinghub"
        assert "gitlab_token" not in explanation.store
        assert "X-Gitlab-Token" in explanation.store
        _assert_no_secret(repr(explanation))
    paper = asset_info(item.assets["paper"])
    assert not recipe.claims(parse_href(paper.href), paper)
    assert not recipe.handles(parse_href(paper.href), paper)  # the token stays home
    # A server under a path prefix claims only that prefix on its origin.
    prefixed = sharinghub(base_url="https://portal.example/sharinghub/")
    inside = asset_info("https://portal.example/sharinghub/api/download/p/repository/a?ref=main")
    outside = asset_info("https://portal.example/wiki/a.tif")
    assert prefixed.claims(parse_href(inside.href), inside)
    assert not prefixed.claims(parse_href(outside.href), outside)


def test_item_from_the_double_reads_through_pystac(
    clean_hub: SharingHubDouble, store_cache: StoreCache
) -> None:
    clean_hub.put(PROJECT, "model/weights.onnx", b"onnx weights")
    clean_hub.put_redirected(PROJECT, "docs/preview.png", b"png preview")
    item = pystac.Item.from_dict(_sharinghub_item(clean_hub.url, TOKEN))
    recipe = sharinghub(base_url=clean_hub.url, retry_config=FAST_RETRY)
    weights = obstac.open_asset(item.assets["model/weights.onnx"], recipe=recipe, cache=store_cache)
    preview = obstac.open_asset(item.assets["preview.png"], recipe=recipe, cache=store_cache)
    assert bytes(weights.read()) == b"onnx weights"
    assert bytes(preview.read()) == b"png preview"
    _assert_token_only_as_header(clean_hub)
    assert not clean_hub.token_leaked


def test_base_url_must_be_an_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(obstac.RecipeError, match="SHARINGHUB_URL"):
        sharinghub(TOKEN, base_url="sharinghub.example/api")
    monkeypatch.setenv("SHARINGHUB_URL", "https://hub.example/")
    assert sharinghub().base_url == "https://hub.example"
