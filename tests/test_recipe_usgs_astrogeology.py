"""usgs_astrogeology(): public asc-* / astrogeo-ard buckets, read unsigned from moto via endpoint=.

The fixture item's real hrefs (``https://asc-mars.s3-us-west-2.amazonaws.com/...``) are read
from moto, behind a counting proxy that shows what obstore sent: path-style requests to the
recipe's endpoint, with no ``Authorization`` header even when AWS keys are in the environment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pystac
import pytest
from botocore.exceptions import ClientError
from obstore.store import S3Store

import obstac
from obstac import StoreCache
from obstac._assets import AssetInfo
from obstac.errors import CredentialsError, ObstacError
from obstac.hrefs import parse_href
from obstac.recipes import Route, explain
from obstac.recipes._usgs_astrogeology import UsgsAstrogeologyRecipe, usgs_astrogeology
from obstac.testing import CountingProxy, MotoServer
from tests._fixtures import iter_fixture_assets, iter_fixture_items
from tests.conftest import FAST_RETRY

ITEM_FILE = "usgs-astrogeology__ctx_dtms__1.json"
PRIVATE_BUCKET = "asc-obstac-private"


def _create_bucket(moto: MotoServer, name: str, region: str) -> None:
    try:
        moto.create_bucket(name, region)
    except ClientError as error:  # the session's moto may already hold it
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",):
            raise


def make_public(moto: MotoServer, bucket: str) -> None:
    """A bucket policy letting anyone read, as the Astrogeology buckets have."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    moto.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


@pytest.fixture(scope="module")
def astro_moto(moto_server: MotoServer) -> MotoServer:
    _create_bucket(moto_server, "asc-mars", "us-west-2")
    make_public(moto_server, "asc-mars")
    _create_bucket(moto_server, PRIVATE_BUCKET, "us-west-2")
    return moto_server


@pytest.fixture(scope="module")
def proxy(astro_moto: MotoServer) -> Iterator[CountingProxy]:
    with CountingProxy(astro_moto.port) as counting:
        yield counting


@pytest.fixture
def recipe(proxy: CountingProxy) -> UsgsAstrogeologyRecipe:
    proxy.clear()
    return usgs_astrogeology(endpoint=proxy.url, retry_config=FAST_RETRY)


def built_s3_store(route: Route) -> S3Store:
    """The store a route builds (no request is made), which must be an ``S3Store``."""
    store = route.build()
    assert isinstance(store, S3Store)
    return store


def fixture_item() -> pystac.Item:
    for source, stac in iter_fixture_items():
        if source == ITEM_FILE:
            return pystac.Item.from_dict(stac)
    raise AssertionError(f"{ITEM_FILE} is missing from the shared fixtures")


def test_reads_the_fixture_dem_from_moto_unsigned(
    astro_moto: MotoServer,
    proxy: CountingProxy,
    recipe: UsgsAstrogeologyRecipe,
    store_cache: StoreCache,
) -> None:
    item = fixture_item()
    asset = item.assets["dem"]
    location = parse_href(asset.href)
    payload = b"II*\x00" + bytes(range(256)) * 40
    astro_moto.put("asc-mars", location.key, payload)

    reader = obstac.open_asset(asset, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == payload
    assert bytes(reader.read_range(4, 20)) == payload[4:20]

    gets = [r for r in proxy.requests if r.method == "GET"]
    assert len(gets) == 2
    for request in gets:
        assert request.target.split("?")[0] == f"/asc-mars/{location.key}"
        assert "authorization" not in request.headers
        assert "x-amz-security-token" not in request.headers
    assert gets[1].range == "bytes=4-19"


def test_dashed_dotted_and_s3_forms_share_one_store(
    astro_moto: MotoServer,
    proxy: CountingProxy,
    recipe: UsgsAstrogeologyRecipe,
    store_cache: StoreCache,
) -> None:
    key = "ctx_dtms/obstac-forms/collection.json"
    astro_moto.put("asc-mars", key, b'{"type": "Collection"}')
    hrefs = [
        f"https://asc-mars.s3-us-west-2.amazonaws.com/{key}",
        f"https://asc-mars.s3.us-west-2.amazonaws.com/{key}",
        f"s3://asc-mars/{key}",
    ]
    for href in hrefs:
        assert bytes(obstac.open_asset(href, recipe=recipe, cache=store_cache).read()) == (
            b'{"type": "Collection"}'
        )
    assert len(store_cache) == 1
    assert proxy.count("GET") == 3
    assert {r.target.split("?")[0] for r in proxy.requests} == {f"/asc-mars/{key}"}


def test_aws_keys_in_the_environment_are_never_sent(
    astro_moto: MotoServer,
    proxy: CountingProxy,
    recipe: UsgsAstrogeologyRecipe,
    store_cache: StoreCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSGSLEAKTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "usgs-env-secret-must-not-sign")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "usgs-env-session-token")
    key = "ctx_dtms/obstac-env/provenance.txt"
    astro_moto.put("asc-mars", key, b"provenance")

    reader = obstac.open_asset(f"s3://asc-mars/{key}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == b"provenance"

    (request,) = proxy.requests
    assert "authorization" not in request.headers
    assert "x-amz-security-token" not in request.headers
    assert "AKIAUSGSLEAKTEST" not in json.dumps(request.headers)
    shown = explain(f"s3://asc-mars/{key}", recipe=recipe)
    assert shown.credential_source.startswith("anonymous")
    assert "usgs-env-secret" not in repr(reader) + repr(recipe) + repr(shown)


def test_a_private_object_is_refused_with_what_to_do(
    astro_moto: MotoServer,
    proxy: CountingProxy,
    recipe: UsgsAstrogeologyRecipe,
    store_cache: StoreCache,
) -> None:
    key = "not/public.tif"
    astro_moto.put(PRIVATE_BUCKET, key, b"secret bytes")

    reader = obstac.open_asset(f"s3://{PRIVATE_BUCKET}/{key}", recipe=recipe, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()

    message = str(raised.value)
    assert "usgs-astrogeology" in message
    assert "obstac.recipes.s3(" in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert raised.value.recipe == "usgs-astrogeology"
    # Refused once: an unsigned request is all this recipe ever sends, and 403 is not retried.
    (request,) = proxy.requests
    assert "authorization" not in request.headers


def test_every_fixture_asset_of_astrogeology_is_claimed_and_routed() -> None:
    recipe = usgs_astrogeology()
    claimed: list[tuple[str, str]] = []
    for fixture in iter_fixture_assets():
        location = parse_href(fixture.href, base=fixture.base)
        info = AssetInfo(href=location.href, fields=fixture.fields, base=fixture.base)
        if not recipe.claims(location, info):
            continue
        claimed.append((fixture.source, fixture.key))
        route = recipe.route(location, info)
        assert route.recipe == "usgs-astrogeology"
        assert route.path == location.key
        assert route.path.startswith("ctx_dtms/F21_044106_1800_XN_00N220W")
        assert route.credentials_available
        assert route.credential_source.startswith("anonymous")
        assert route.store_description == (
            "S3Store(bucket='asc-mars', region='us-west-2', "
            "endpoint='https://s3.us-west-2.amazonaws.com')"
        )
        store = built_s3_store(route)
        config: dict[str, Any] = dict(store.config)
        assert config["bucket"] == "asc-mars"
        assert config["region"] == "us-west-2"
        assert config["skip_signature"] == "true"
        assert "endpoint" not in config
    # Eight assets, all in the Astrogeology item, all in the dashed legacy host form.
    assert len(claimed) == 8
    assert {source for source, _ in claimed} == {ITEM_FILE}
    expected = {
        key
        for source, stac in iter_fixture_items()
        if source == ITEM_FILE
        for key, asset in stac["assets"].items()
        if asset["href"].startswith("https://asc-mars.s3-us-west-2.amazonaws.com/")
    }
    assert {key for _, key in claimed} == expected


@pytest.mark.parametrize(
    ("href", "claimed"),
    [
        ("s3://astrogeo-ard/mars/mro/ctx/a.tif", True),
        ("s3://asc-moon/lro/a.tif", True),
        ("https://asc-mars.s3.us-west-2.amazonaws.com/a.tif", True),
        ("https://asc-pds-services.s3-us-west-2.amazonaws.com/a.tif", True),
        ("https://asc-mars.s3.eu-west-1.amazonaws.com/a.tif", False),
        ("s3://sentinel-cogs/a.tif", False),
        ("https://astrogeology.usgs.gov/a.tif", False),
    ],
)
def test_claims_astrogeology_buckets_only(href: str, claimed: bool) -> None:
    location = parse_href(href)
    assert usgs_astrogeology().claims(location, AssetInfo(href=href)) is claimed


def test_s3_assets_of_the_astrogeology_stac_api_are_claimed_by_base() -> None:
    href = "s3://some-other-bucket/a.tif"
    info = AssetInfo(href=href, base="https://stac.astrogeology.usgs.gov/api/collections/x/items/y")
    assert usgs_astrogeology().claims(parse_href(href), info)


def test_no_log_line_or_repr_shows_environment_secrets(
    astro_moto: MotoServer,
    recipe: UsgsAstrogeologyRecipe,
    store_cache: StoreCache,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "usgs-astro-secret-in-env-0001"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUSGSLOGTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    # obstac's loggers at DEBUG; the doubles' own boto3 calls log their keys and are not ours.
    caplog.set_level(logging.DEBUG, logger="obstac")
    reader = obstac.open_asset(
        f"s3://{PRIVATE_BUCKET}/absent.tif", recipe=recipe, cache=store_cache
    )
    with pytest.raises(ObstacError) as raised:
        reader.read()
    shown = [str(raised.value), repr(reader), repr(recipe), caplog.text]
    shown.append(repr(explain(f"s3://{PRIVATE_BUCKET}/absent.tif", recipe=recipe)))
    assert all(secret not in text for text in shown)
