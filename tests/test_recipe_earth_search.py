"""earth_search(): public buckets unsigned, requester-pays buckets signed with the payer header.

Real Earth Search hrefs from the shared fixtures (``https://sentinel-cogs.s3.us-west-2...``,
``s3://usgs-landsat/...``, ``s3://sentinel-s2-l2a/...``) are read from moto through the recipe's
``endpoint=``, behind a counting proxy. moto enforces neither requester-pays nor (here) auth, so
the proxy is the witness: every GET to a requester-pays bucket must carry
``x-amz-request-payer: requester`` and a signature in the bucket's region; every GET to a
public bucket must be unsigned. The requester-pays buckets are private in moto, so an unsigned
request to them is refused, as AWS refuses it.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Hashable, Iterator
from typing import Any

import pystac
import pytest
from botocore.exceptions import ClientError
from obstore.store import S3Store

import obstac
from obstac import StoreCache
from obstac._assets import AssetInfo, asset_info
from obstac.errors import AssetNotFoundError, CredentialsError
from obstac.hrefs import parse_href
from obstac.recipes import Route, explain
from obstac.recipes._earth_search import EarthSearchRecipe, earth_search
from obstac.recipes._s3 import requester_pays_of
from obstac.testing import CountingProxy, MotoServer, RangeHTTPServer
from obstac.testing.proxy import ProxiedRequest
from tests._fixtures import iter_fixture_assets, iter_fixture_items
from tests.conftest import FAST_RETRY

KEY_ID = "AKIAEARTHSEARCHTEST1"
SECRET = "earth-search-secret-key-for-tests-0001"
TOKEN = "earth-search-session-token-for-tests-0001"

BUCKETS = {
    "sentinel-cogs": "us-west-2",
    "usgs-landsat": "us-west-2",
    "sentinel-s2-l2a": "eu-central-1",
}


def _create_bucket(moto: MotoServer, name: str, region: str) -> None:
    try:
        moto.create_bucket(name, region)
    except ClientError as error:  # the session's moto may already hold it
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


@pytest.fixture(scope="module")
def es_moto(moto_server: MotoServer) -> MotoServer:
    for bucket, region in BUCKETS.items():
        _create_bucket(moto_server, bucket, region)
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": ["arn:aws:s3:::sentinel-cogs/*"],
            }
        ],
    }
    moto_server.client().put_bucket_policy(Bucket="sentinel-cogs", Policy=json.dumps(public))
    return moto_server


@pytest.fixture(scope="module")
def proxy(es_moto: MotoServer) -> Iterator[CountingProxy]:
    with CountingProxy(es_moto.port) as counting:
        yield counting


@pytest.fixture
def paying(proxy: CountingProxy) -> EarthSearchRecipe:
    proxy.clear()
    return earth_search(
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )


@pytest.fixture
def keyless(proxy: CountingProxy) -> EarthSearchRecipe:
    proxy.clear()
    return earth_search(endpoint=proxy.url, retry_config=FAST_RETRY)


def built_s3_store(route: Route) -> S3Store:
    """The store a route builds (no request is made), which must be an ``S3Store``."""
    store = route.build()
    assert isinstance(store, S3Store)
    return store


def fixture_item(name: str) -> pystac.Item:
    for source, stac in iter_fixture_items():
        if source == name:
            return pystac.Item.from_dict(stac)
    raise AssertionError(f"{name} is missing from the shared fixtures")


def scope_region(request: ProxiedRequest) -> str:
    """The region in a SigV4 Authorization header's credential scope."""
    credential = request.headers["authorization"].split("Credential=")[1].split(",")[0]
    return credential.split("/")[2]


def test_public_cog_of_a_fixture_item_is_read_unsigned_even_with_keys(
    es_moto: MotoServer,
    proxy: CountingProxy,
    paying: EarthSearchRecipe,
    store_cache: StoreCache,
) -> None:
    asset = fixture_item("earth-search__sentinel-2-l2a__2.json").assets["blue"]
    assert asset.href.startswith("https://sentinel-cogs.s3.us-west-2.amazonaws.com/")
    key = parse_href(asset.href).key
    payload = b"II*\x00" + b"\x01\x02" * 5000
    es_moto.put("sentinel-cogs", key, payload)

    reader = obstac.open_asset(asset, recipe=paying, cache=store_cache)
    assert bytes(reader.read()) == payload
    assert bytes(reader.read_range(-100)) == payload[-100:]

    gets = [r for r in proxy.requests if r.method == "GET"]
    assert len(gets) == 2
    for request in gets:
        assert request.target.split("?")[0] == f"/sentinel-cogs/{key}"
        assert "authorization" not in request.headers
        assert "x-amz-request-payer" not in request.headers
    assert explain(asset, recipe=paying).credential_source.startswith("anonymous")


def test_requester_pays_landsat_sends_the_payer_header_on_every_get(
    es_moto: MotoServer,
    proxy: CountingProxy,
    paying: EarthSearchRecipe,
    store_cache: StoreCache,
) -> None:
    item = fixture_item("earth-search__landsat-c2-l2__1.json")
    asset = item.assets["red"]
    assert asset.href.startswith("s3://usgs-landsat/")
    # pystac migrates the item's storage v1 fields to v2 schemes; requester-pays survives.
    assert requester_pays_of(asset_info(asset))
    key = parse_href(asset.href).key
    payload = bytes(range(256)) * 4096 * 3  # 3 MiB
    es_moto.put("usgs-landsat", key, payload)

    reader = obstac.open_asset(asset, recipe=paying, cache=store_cache)
    assert bytes(reader.read()) == payload
    assert bytes(reader.read_range(10, 20)) == payload[10:20]
    # obstore coalesces ranges less than 1 MiB apart: these two stay two requests.
    first, second = reader.read_ranges([0, 2_500_000], [16, 2_500_016])
    assert (bytes(first), bytes(second)) == (payload[:16], payload[2_500_000:2_500_016])
    assert reader.size == len(payload)

    gets = [r for r in proxy.requests if r.method == "GET"]
    assert len(gets) == 4  # whole, one range, two ranges too far apart to coalesce
    assert proxy.count("HEAD") == 1
    for request in proxy.requests:
        assert request.headers.get("x-amz-request-payer") == "requester"
        assert f"Credential={KEY_ID}/" in request.headers["authorization"]
        assert scope_region(request) == "us-west-2"
        assert request.target.split("?")[0] == f"/usgs-landsat/{key}"


def test_sentinel_2_jp2_is_signed_for_eu_central_1_with_keys_from_the_environment(
    es_moto: MotoServer,
    proxy: CountingProxy,
    keyless: EarthSearchRecipe,
    store_cache: StoreCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    item = fixture_item("earth-search__sentinel-2-l2a__2.json")
    asset = item.assets["red-jp2"]
    location = parse_href(asset.href)
    assert location.bucket == "sentinel-s2-l2a"
    assert "storage:requester_pays" not in asset.extra_fields  # known by its bucket
    es_moto.put("sentinel-s2-l2a", location.key, b"\x00\x00\x00\x0cjP  jp2 data")

    reader = obstac.open_asset(asset, recipe=keyless, cache=store_cache)
    assert bytes(reader.read()) == b"\x00\x00\x00\x0cjP  jp2 data"

    (request,) = proxy.requests
    assert request.headers["x-amz-request-payer"] == "requester"
    assert scope_region(request) == "eu-central-1"
    shown = explain(asset, recipe=keyless)
    assert shown.credential_source == "env AWS_ACCESS_KEY_ID (requester pays)"
    assert "requester_pays=True" in shown.store


def test_requester_pays_without_aws_keys_fails_before_any_request(
    es_moto: MotoServer,
    proxy: CountingProxy,
    keyless: EarthSearchRecipe,
    store_cache: StoreCache,
) -> None:
    asset = fixture_item("earth-search__landsat-c2-l2__1.json").assets["blue"]
    es_moto.put("usgs-landsat", parse_href(asset.href).key, b"never read")

    reader = obstac.open_asset(asset, recipe=keyless, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()

    message = str(raised.value)
    assert "requester-pays" in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert "access_key_id=" in message
    assert "requester_pays" in message
    assert raised.value.recipe == "earth-search"
    assert proxy.requests == []
    shown = explain(asset, recipe=keyless)
    assert shown.credential_source.startswith("none: requester-pays needs AWS credentials")


def _landsat_with_alternate(origin: RangeHTTPServer, key: str) -> dict[str, Any]:
    """A LandsatLook-style asset: the requester-pays S3 href first, a free https alternate."""
    return {
        "href": f"s3://usgs-landsat/{key}",
        "type": "image/tiff; application=geotiff; profile=cloud-optimized",
        "storage:requester_pays": True,
        "alternate": {"https": {"href": f"{origin.url}/data/{key}"}},
    }


def test_without_keys_the_free_alternate_href_is_read(
    es_moto: MotoServer,
    proxy: CountingProxy,
    keyless: EarthSearchRecipe,
    http_origin: RangeHTTPServer,
    store_cache: StoreCache,
) -> None:
    key = "collection02/level-2/obstac/alt/B4.TIF"
    es_moto.put("usgs-landsat", key, b"paid copy")
    http_origin.put(f"data/{key}", b"free copy")
    http_origin.clear_requests()

    reader = obstac.open_asset(
        _landsat_with_alternate(http_origin, key), recipes=[keyless], cache=store_cache
    )
    assert bytes(reader.read()) == b"free copy"
    assert reader.href == f"{http_origin.url}/data/{key}"
    assert http_origin.count("GET") == 1
    assert proxy.requests == []


def test_requester_pays_false_never_pays_even_with_keys(
    es_moto: MotoServer,
    proxy: CountingProxy,
    http_origin: RangeHTTPServer,
    store_cache: StoreCache,
) -> None:
    proxy.clear()
    frugal = earth_search(
        requester_pays=False,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )
    key = "collection02/level-2/obstac/frugal/B5.TIF"
    es_moto.put("usgs-landsat", key, b"paid copy")
    http_origin.put(f"data/{key}", b"free copy")

    asset = _landsat_with_alternate(http_origin, key)
    reader = obstac.open_asset(asset, recipes=[frugal], cache=store_cache)
    assert bytes(reader.read()) == b"free copy"

    alone = obstac.open_asset(f"s3://usgs-landsat/{key}", recipe=frugal, cache=store_cache)
    with pytest.raises(CredentialsError, match="requester_pays=False"):
        alone.read()
    assert proxy.requests == []


def test_requester_pays_true_signs_buckets_the_recipe_does_not_know(
    es_moto: MotoServer, proxy: CountingProxy, store_cache: StoreCache
) -> None:
    proxy.clear()
    recipe = earth_search(
        requester_pays=True,
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )
    es_moto.put("sentinel-cogs", "obstac/rp-true.txt", b"x")
    assert bytes(obstac.open_asset("s3://sentinel-cogs/obstac/rp-true.txt", recipe=recipe).read())
    (request,) = proxy.requests
    assert request.headers["x-amz-request-payer"] == "requester"
    assert "authorization" in request.headers


@pytest.mark.parametrize(
    "fields",
    [
        {"storage:requester_pays": True},
        {
            "storage:schemes": {
                "aws": {"type": "aws-s3", "platform": "https://x", "requester_pays": True},
                "free": {"type": "aws-s3", "platform": "https://y", "requester_pays": False},
            },
            "storage:refs": ["aws"],
        },
    ],
    ids=["storage-v1", "storage-v2-schemes"],
)
def test_storage_metadata_makes_an_unknown_bucket_requester_pays(fields: dict[str, Any]) -> None:
    href = "s3://e84-earth-search-future-data/a/b.tif"
    info = AssetInfo(href=href, fields=fields)
    location = parse_href(href)

    without = earth_search().route(location, info)
    assert not without.credentials_available
    paid = earth_search(access_key_id=KEY_ID, secret_access_key=SECRET).route(location, info)
    assert paid.credentials_available
    assert paid.store_description == (
        "S3Store(bucket='e84-earth-search-future-data', region='us-west-2', "
        "endpoint='https://s3.us-west-2.amazonaws.com', requester_pays=True)"
    )
    free = AssetInfo(href=href, fields={**fields, "storage:refs": ["free"]})
    if "storage:schemes" in fields:
        assert earth_search().route(location, free).credentials_available


EXPECTED = {
    # bucket: (region, requester pays, number of hrefs in the fixtures)
    "sentinel-cogs": ("us-west-2", False, 57),
    "e84-earth-search-sentinel-data": ("us-west-2", False, 23),
    "usgs-landsat": ("us-west-2", True, 66),
    "sentinel-s2-l2a": ("eu-central-1", True, 51),
    "sentinel-s2-l1c": ("eu-central-1", True, 17),
}


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "keys"])
def test_every_fixture_asset_of_earth_search_is_claimed_and_routed(with_keys: bool) -> None:
    recipe = (
        earth_search(access_key_id=KEY_ID, secret_access_key=SECRET)
        if with_keys
        else earth_search()
    )
    per_bucket: Counter[str] = Counter()
    sources: set[str] = set()
    built: set[tuple[Hashable, ...]] = set()
    for fixture in iter_fixture_assets():
        location = parse_href(fixture.href, base=fixture.base)
        info = AssetInfo(href=location.href, fields=fixture.fields, base=fixture.base)
        if not recipe.claims(location, info):
            continue
        assert location.bucket is not None
        region, pays, _ = EXPECTED[location.bucket]
        per_bucket[location.bucket] += 1
        sources.add(fixture.source)
        route = recipe.route(location, info)
        assert route.recipe == "earth-search"
        assert route.path == location.key
        assert route.store_description == (
            f"S3Store(bucket={location.bucket!r}, region={region!r}, "
            f"endpoint='https://s3.{region}.amazonaws.com'"
            + (", requester_pays=True" if pays else "")
            + ")"
        )
        assert route.credentials_available is (not pays or with_keys)
        if route.store_key in built:
            continue  # one store per bucket (and payer setting), shared by its assets
        built.add(route.store_key)
        config: dict[str, Any] = dict(built_s3_store(route).config)  # no request is made
        assert config["region"] == region
        assert config["bucket"] == location.bucket
        assert "endpoint" not in config
        if pays and with_keys:
            assert config["request_payer"] == "true"
            assert config["access_key_id"] == KEY_ID
            assert "skip_signature" not in config
        if not pays:
            assert config["skip_signature"] == "true"
            assert "request_payer" not in config
    assert per_bucket == {bucket: count for bucket, (_, _, count) in EXPECTED.items()}
    assert sum(per_bucket.values()) == 214
    assert len(built) == len(EXPECTED)
    # LandsatLook's s3:// alternates are the usgs-landsat bucket too; nothing else is claimed.
    assert sources == {
        "earth-search__itemcollection-search__1.json",
        "earth-search__landsat-c2-l2__1.json",
        "earth-search__sentinel-2-c1-l2a__1.json",
        "earth-search__sentinel-2-l1c__1.json",
        "earth-search__sentinel-2-l2a__1.json",
        "earth-search__sentinel-2-l2a__2.json",
        "usgs-landsatlook__landsat-c2l2-sr__1.json",
    }


def test_fixture_counts_match_the_raw_json() -> None:
    """The numbers above, counted from the fixture files without obstac's parser."""
    counted: Counter[str] = Counter()
    for _, stac in iter_fixture_items():
        for asset in (stac.get("assets") or {}).values():
            hrefs = [asset["href"]] + [
                alt["href"] for alt in (asset.get("alternate") or {}).values() if "href" in alt
            ]
            for href in hrefs:
                for bucket in EXPECTED:
                    if href.startswith((f"s3://{bucket}/", f"https://{bucket}.s3.")):
                        counted[bucket] += 1
    assert counted == {bucket: count for bucket, (_, _, count) in EXPECTED.items()}


@pytest.mark.parametrize(
    ("href", "base", "claimed"),
    [
        ("s3://sentinel-cogs/a.tif", None, True),
        ("https://sentinel-cogs.s3.us-west-2.amazonaws.com/a.tif", None, True),
        ("s3://e84-earth-search-sentinel-data/a.tif", None, True),
        ("s3://usgs-landsat/a.TIF", None, True),
        ("s3://sentinel-s2-l1c/tiles/a.jp2", None, True),
        ("s3://someone-else/a.tif", None, False),
        ("s3://someone-else/a.tif", "https://earth-search.aws.element84.com/v1/x/items/y", True),
        ("https://earth-search.aws.element84.com/v1/thumbnail", None, False),
        ("s3://dea-public-data/a.tif", None, False),
    ],
)
def test_claims_earth_search_buckets_and_items(href: str, base: str | None, claimed: bool) -> None:
    info = AssetInfo(href=href, base=base)
    assert earth_search().claims(parse_href(href), info) is claimed


def test_href_host_and_storage_region_win_over_the_bucket_table() -> None:
    recipe = earth_search()
    href = "https://sentinel-s2-l2a.s3.us-east-1.amazonaws.com/a.jp2"
    assert recipe.region_for(parse_href(href), AssetInfo(href=href)) == "us-east-1"
    info = AssetInfo(href="s3://usgs-landsat/a", fields={"storage:region": "us-east-2"})
    assert recipe.region_for(parse_href("s3://usgs-landsat/a"), info) == "us-east-2"
    v2 = AssetInfo(
        href="s3://usgs-landsat/a",
        fields={
            "storage:schemes": {"s": {"type": "aws-s3", "region": "ca-central-1"}},
            "storage:refs": ["s"],
        },
    )
    assert recipe.region_for(parse_href("s3://usgs-landsat/a"), v2) == "ca-central-1"
    assert recipe.region_for(parse_href("s3://unknown/a"), AssetInfo(href="s3://unknown/a")) == (
        "us-west-2"
    )


def test_no_secret_in_messages_reprs_logs_or_explain(
    es_moto: MotoServer,
    proxy: CountingProxy,
    store_cache: StoreCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # obstac's loggers at DEBUG; the doubles' own boto3 calls log their keys and are not ours.
    caplog.set_level(logging.DEBUG, logger="obstac")
    proxy.clear()
    recipe = earth_search(
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=TOKEN,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )
    href = "s3://usgs-landsat/collection02/obstac/absent.TIF"
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    with pytest.raises(AssetNotFoundError) as missing:
        reader.read()
    refused_reader = obstac.open_asset(href, recipe=earth_search(endpoint=proxy.url))
    with pytest.raises(CredentialsError) as refused:
        refused_reader.read()

    shown = [
        str(missing.value),
        str(refused.value),
        repr(reader),
        repr(refused_reader),
        repr(recipe),
        repr(explain(href, recipe=recipe)),
        caplog.text,
    ]
    for text in shown:
        for secret in (SECRET, TOKEN, KEY_ID):
            assert secret not in text
    # The signed request did carry the session token: it was used, just never shown.
    assert proxy.requests[0].headers["x-amz-security-token"] == TOKEN
