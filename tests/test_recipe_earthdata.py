"""NASA Earthdata: S3 via s3credentials in region, https with an EDL token elsewhere.

Every read goes to real local servers (obstac.testing.earthdata): an Earthdata Login double on
``localhost``, a DAAC (TEA) double on ``127.0.0.1`` whose ``/s3credentials`` hands out real STS
credentials of a moto server that checks signatures, an expiry gate in front of moto that kills
those credentials on time, and a presigned-URL origin the DAAC redirects data requests to.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pystac
import pytest

import obstac
from obstac import StoreCache
from obstac._assets import AssetInfo, asset_info
from obstac.hrefs import parse_href
from obstac.recipes import explain, s3
from obstac.recipes._earthdata import EarthdataRecipe, earthdata
from obstac.testing import MotoServer
from obstac.testing.earthdata import EarthdataDoubles, EarthdataUser
from obstac.testing.http_origin import RecordedRequest
from tests._fixtures import fixtures_dir
from tests.conftest import FAST_RETRY

BUCKET = "lp-prod-protected"
KEY = "HLSL30.020/HLS.L30.T01GEL.2021001T213113.v2.0/HLS.L30.T01GEL.2021001T213113.v2.0.B04.tif"
DATA = bytes(range(256)) * 64
ALICE_PASSWORD = "pw-alice-4f1c9b27e8d3"
WRONG_TOKEN = "edl-wrong-token-7d2c91a0b3e4f5"
WRONG_PASSWORD = "pw-wrong-0a9b8c7d6e5f"
NAMES = (
    "token=",
    "EARTHDATA_TOKEN",
    "username=",
    "password=",
    "EARTHDATA_USERNAME",
    "EARTHDATA_PASSWORD",
    "netrc",
)


@pytest.fixture(autouse=True)
def _no_earthdata_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer credential reaches a test: EDL variables unset, NETRC names no file."""
    for name in ("EARTHDATA_TOKEN", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture(scope="module")
def nasa(moto_auth_server: MotoServer) -> Iterator[EarthdataDoubles]:
    with EarthdataDoubles(moto_auth_server) as doubles:
        doubles.put(BUCKET, KEY, DATA)
        yield doubles


@pytest.fixture
def alice(nasa: EarthdataDoubles) -> Iterator[EarthdataUser]:
    """Alice's EDL account; every server's request log starts empty, lifetimes are reset."""
    user = nasa.add_user("alice", ALICE_PASSWORD)
    for server in (nasa.edl, nasa.daac, nasa.gate, nasa.data):
        server.clear_requests()
    yield user
    nasa.issuer.set_lifetimes()


def local(nasa: EarthdataDoubles, **options: object) -> EarthdataRecipe:
    """The recipe pointed at the doubles: EDL, the DAAC for BUCKET, the gate as S3 endpoint."""
    return earthdata(
        edl_host=nasa.edl_url,
        s3_endpoint=nasa.s3_endpoint,
        bucket_credentials={BUCKET: nasa.credentials_url},
        https_to_s3={f"{nasa.daac.url}/{BUCKET}/": f"s3://{BUCKET}/"},
        retry_config=FAST_RETRY,
        **options,  # type: ignore[arg-type]
    )


def basic_auth_seen(requests: Iterable[RecordedRequest]) -> list[str]:
    return [
        r.path for r in requests if r.headers.get("authorization", "").lower().startswith("basic")
    ]


def s3_gets(nasa: EarthdataDoubles) -> list[RecordedRequest]:
    return [r for r in nasa.gate.requests if r.method == "GET"]


def credential_fetches(nasa: EarthdataDoubles) -> int:
    return nasa.daac.count("GET", "s3credentials")


# -- in region: s3credentials -> STS -> moto with auth enforced ---------------------------------


def test_in_region_token_reads_s3_with_temporary_credentials_from_s3credentials(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    recipe = local(nasa, token=alice.token, in_region=True)
    reader = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert credential_fetches(nasa) == 0  # nothing happens before the first read

    assert bytes(reader.read()) == DATA
    assert bytes(reader.read_range(1000, 5000)) == DATA[1000:5000]

    [fetch] = nasa.daac.requests
    assert fetch.path == "s3credentials"
    assert fetch.headers["authorization"] == f"Bearer {alice.token}"
    issued = nasa.issuer.issued[-1]
    gets = s3_gets(nasa)
    assert [g.range for g in gets] == [None, "bytes=1000-4999"]
    for get in gets:  # signed with the STS credentials the DAAC handed out
        assert get.headers["x-amz-security-token"] == issued["sessionToken"]
        assert f"Credential={issued['accessKeyId']}/" in get.headers["authorization"]
        assert "/us-west-2/s3/" in get.headers["authorization"]
    assert nasa.data.requests == []

    # The https href of the same object is read from S3 too, with the same store.
    https = obstac.open_asset(nasa.https_url(BUCKET, KEY), recipe=recipe, cache=store_cache)
    assert bytes(https.read_range(0, 100)) == DATA[:100]
    assert (https.recipe, len(store_cache), credential_fetches(nasa)) == ("earthdata", 1, 1)
    assert len(s3_gets(nasa)) == 3
    assert nasa.daac.count(path=f"{BUCKET}/{KEY}") == 0


def test_the_s3_endpoint_behind_the_gate_checks_signatures(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    forged = s3(
        endpoint=nasa.s3_endpoint,
        region="us-west-2",
        access_key_id="AKIAOBSTACFORGED0001",
        secret_access_key="forged-secret-key-value-0123456789",
        retry_config=FAST_RETRY,
    )
    with pytest.raises(obstac.CredentialsError):
        obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=forged, cache=store_cache).read()


def test_in_region_password_follows_the_edl_redirect_with_basic_auth_to_edl_only(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    recipe = local(nasa, username="alice", password=ALICE_PASSWORD, in_region=True)
    reader = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read_range(0, 4096)) == DATA[:4096]

    # s3credentials -> 302 to EDL -> basic auth at EDL -> code back to /login -> cookie -> JSON
    assert [r.path for r in nasa.daac.requests] == ["s3credentials", "login", "s3credentials"]
    assert "asf-urs=" in nasa.daac.requests[-1].headers["cookie"]
    assert basic_auth_seen(nasa.edl.requests) == ["oauth/authorize"]
    for server in (nasa.daac, nasa.gate, nasa.data):
        assert basic_auth_seen(server.requests) == []
    assert nasa.edl.count("POST") == 0  # no token API on this path
    assert len(s3_gets(nasa)) == 1


def test_netrc_named_by_the_netrc_variable_gives_the_edl_login(
    nasa: EarthdataDoubles,
    alice: EarthdataUser,
    store_cache: StoreCache,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {nasa.edl.hostname} login alice password {ALICE_PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    recipe = local(nasa, in_region=True)
    assert recipe.credential_source() == f"netrc {netrc} (machine localhost)"

    reader = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == DATA
    assert basic_auth_seen(nasa.edl.requests) == ["oauth/authorize"]
    assert basic_auth_seen(nasa.daac.requests) == []

    with pytest.raises(obstac.RecipeError, match="netrc="):
        earthdata(netrc=tmp_path / "missing-netrc")


# -- out of region: https with the EDL bearer token --------------------------------------------


def test_out_of_region_token_reads_https_and_the_presigned_redirect_drops_it(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    recipe = local(nasa, token=alice.token, in_region=False)
    reader = obstac.open_asset(nasa.https_url(BUCKET, KEY), recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == DATA
    assert bytes(reader.read_range(100, 300)) == DATA[100:300]

    daac = nasa.daac.requests
    assert [r.path for r in daac] == [f"{BUCKET}/{KEY}"] * 2
    assert all(r.headers["authorization"] == f"Bearer {alice.token}" for r in daac)
    signed = nasa.data.requests
    assert [r.range for r in signed] == [None, "bytes=100-299"]
    assert all("authorization" not in r.headers and "cookie" not in r.headers for r in signed)
    assert all("X-Amz-Signature=" in r.query for r in signed)
    assert (credential_fetches(nasa), nasa.gate.requests) == (0, [])

    # An s3:// href is read over https out of region when the table knows its DAAC URL.
    s3_href = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert bytes(s3_href.read_range(0, 10)) == DATA[:10]
    assert (len(store_cache), nasa.gate.requests) == (1, [])


def test_out_of_region_password_buys_one_edl_token_for_every_read(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    recipe = local(nasa, username="alice", password=ALICE_PASSWORD, in_region=False)
    first = obstac.open_asset(nasa.https_url(BUCKET, KEY), recipe=recipe, cache=store_cache)
    second = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert nasa.edl.requests == []  # opening asks nothing

    assert bytes(first.read()) == DATA
    assert bytes(second.read_range(0, 512)) == DATA[:512]

    assert nasa.edl.count("POST", "api/users/find_or_create_token") == 1
    assert basic_auth_seen(nasa.edl.requests) == ["api/users/find_or_create_token"]
    assert all(r.headers["authorization"] == f"Bearer {alice.token}" for r in nasa.daac.requests)
    for server in (nasa.daac, nasa.data, nasa.gate):
        assert basic_auth_seen(server.requests) == []
    assert all("authorization" not in r.headers for r in nasa.data.requests)


def test_async_reads_resolve_the_edl_token_off_the_event_loop(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    import asyncio

    recipe = local(nasa, username="alice", password=ALICE_PASSWORD, in_region=False)
    reader = obstac.open_asset(nasa.https_url(BUCKET, KEY), recipe=recipe, cache=store_cache)
    assert bytes(asyncio.run(reader.read_range_async(0, 64))) == DATA[:64]
    assert nasa.edl.count("POST", "api/users/find_or_create_token") == 1


# -- refresh: credentials that really expire, read across their expiry --------------------------


def test_credentials_are_refreshed_before_the_gate_kills_them(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    # Reported valid 302 s: obstore (refresh when < 300 s remain) fetches new ones after ~2 s.
    # The gate kills each set after 4 s: a client that did not refresh fails from then on.
    nasa.issuer.set_lifetimes(reported=302.0, enforced=4.0)
    refused_before = nasa.gate.refused
    recipe = local(nasa, token=alice.token, in_region=True)
    reader = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    started = time.monotonic()
    reads = 0
    while time.monotonic() - started < 8.0:
        assert bytes(reader.read_range(4096, 8192)) == DATA[4096:8192]
        reads += 1
        time.sleep(0.05)

    fetches = credential_fetches(nasa)
    tokens = {r.headers["x-amz-security-token"] for r in s3_gets(nasa)}
    print(f"refresh: {reads} reads in 8 s, {fetches} credential fetches, {len(tokens)} tokens used")
    assert fetches >= 2
    assert len(tokens) >= 2  # the new credentials were used, not only fetched
    assert nasa.gate.refused == refused_before  # no request ever carried dead credentials
    assert reads == len(s3_gets(nasa))


def test_the_gate_refuses_credentials_past_their_real_expiry(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    # Reported valid an hour, killed after 1 s: obstore keeps using them and is refused, which
    # is what the refresh test above would see if obstore did not refresh.
    nasa.issuer.set_lifetimes(reported=3600.0, enforced=1.0)
    recipe = local(nasa, token=alice.token, in_region=True)
    reader = obstac.open_asset(f"s3://{BUCKET}/{KEY}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read_range(0, 16)) == DATA[:16]
    time.sleep(1.2)
    refused_before = nasa.gate.refused
    with pytest.raises(obstac.CredentialsError):
        reader.read_range(0, 16)
    assert nasa.gate.refused == refused_before + 1
    assert credential_fetches(nasa) == 1


# -- missing and wrong credentials ---------------------------------------------------------------


def test_without_any_credential_reads_fail_naming_every_way_to_log_in(
    nasa: EarthdataDoubles, alice: EarthdataUser, store_cache: StoreCache
) -> None:
    in_region = local(nasa, in_region=True)
    assert in_region.login is None
    s3_href = f"s3://{BUCKET}/{KEY}"
    assert explain(s3_href, recipe=in_region).credential_source.startswith("none")
    with pytest.raises(obstac.CredentialsError) as caught:
        obstac.open_asset(s3_href, recipe=in_region, cache=store_cache).read()
    for name in NAMES:
        assert name in str(caught.value)
    assert nasa.daac.requests == []  # failed before any request

    # Out of region the https href is tried anonymously (public files work): the DAAC sends it
    # to EDL's login page, which the body check turns into a CredentialsError.
    elsewhere = local(nasa, in_region=False)
    with pytest.raises(obstac.CredentialsError) as caught:
        obstac.open_asset(nasa.https_url(BUCKET, KEY), recipe=elsewhere, cache=store_cache).read()
    for name in NAMES:
        assert name in str(caught.value)
    assert [r.path for r in nasa.edl.requests] == ["oauth/authorize"]
    assert nasa.data.requests == []


@pytest.mark.parametrize(
    ("in_region", "credential"),
    [
        (True, {"token": WRONG_TOKEN}),
        (True, {"username": "alice", "password": WRONG_PASSWORD}),
        (False, {"token": WRONG_TOKEN}),
        (False, {"username": "alice", "password": WRONG_PASSWORD}),
    ],
    ids=["in-region-token", "in-region-password", "https-token", "https-password"],
)
def test_wrong_credentials_fail_naming_the_parameters_and_variables(
    nasa: EarthdataDoubles,
    alice: EarthdataUser,
    store_cache: StoreCache,
    in_region: bool,
    credential: dict[str, str],
) -> None:
    recipe = local(nasa, in_region=in_region, **credential)
    href = f"s3://{BUCKET}/{KEY}" if in_region else nasa.https_url(BUCKET, KEY)
    started = time.monotonic()
    with pytest.raises(obstac.CredentialsError) as caught:
        obstac.open_asset(href, recipe=recipe, cache=store_cache).read()
    message = str(caught.value)
    for name in NAMES:
        assert name in message
    assert WRONG_TOKEN not in message
    assert WRONG_PASSWORD not in message
    assert time.monotonic() - started < 10
    for server in (nasa.daac, nasa.data, nasa.gate):
        assert basic_auth_seen(server.requests) == []
    assert nasa.data.requests == []
    assert nasa.gate.requests == []


def test_username_without_password_is_refused_up_front() -> None:
    with pytest.raises(obstac.RecipeError) as caught:
        earthdata(username="alice")
    assert "password=" in str(caught.value)
    assert "EARTHDATA_PASSWORD" in str(caught.value)


# -- configuration from the environment ---------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"AWS_REGION": "us-west-2"}, True),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, True),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}, False),
    ],
)
def test_in_region_comes_from_aws_region_variables(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert earthdata().in_region is expected
    assert earthdata(in_region=not expected).in_region is (not expected)


def test_credentials_come_from_parameters_then_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert earthdata().credential_source() == "none found"
    monkeypatch.setenv("EARTHDATA_USERNAME", "bob")
    monkeypatch.setenv("EARTHDATA_PASSWORD", "pw-bob-env-1234")
    assert earthdata().credential_source() == "env EARTHDATA_USERNAME/EARTHDATA_PASSWORD"
    monkeypatch.setenv("EARTHDATA_TOKEN", "edl-env-token-5678")
    assert earthdata().credential_source() == "env EARTHDATA_TOKEN"
    assert earthdata(token="edl-param-token-9012").credential_source() == "parameter token"
    monkeypatch.setenv("EARTHDATA_HOST", "uat.urs.earthdata.nasa.gov")
    assert earthdata().edl_hostname == "uat.urs.earthdata.nasa.gov"


# -- claims and routing, without a request -------------------------------------------------------


def _fixture_item() -> pystac.Item:
    path = fixtures_dir() / "items" / "nasa-cmr-stac__HLSL30.v1.5__1.json"
    return pystac.Item.from_dict(json.loads(path.read_text()))


@pytest.mark.parametrize("in_region", [True, False])
def test_cmr_stac_fixture_item_is_claimed_and_routed_without_network(in_region: bool) -> None:
    recipe = earthdata(token="edl-fixture-token-not-real", in_region=in_region)
    item = _fixture_item()
    for key, asset in item.assets.items():
        info = asset_info(asset)
        assert recipe.claims(parse_href(info.href), info), key
        explained = explain(asset, recipe=recipe)
        assert explained.recipe == "earthdata"
        if key == "metadata":  # CMR's own XML: https, with the token, in region too
            assert explained.store == "HTTPStore(url='https://cmr.earthdata.nasa.gov')"
            continue
        bucket = "lp-prod-public" if key == "browse" else "lp-prod-protected"
        name = asset.href.rsplit("/", 1)[1]
        if in_region:
            assert explained.store.startswith(f"S3Store(bucket='{bucket}', region='us-west-2'")
            assert explained.path == f"HLSL30.015/{name}"
            assert explained.credential_source.startswith(
                "temporary S3 credentials from "
                "https://data.lpdaac.earthdatacloud.nasa.gov/s3credentials"
            )
        else:
            assert explained.store == "HTTPStore(url='https://lpdaac.earthdata.nasa.gov')"
            assert explained.path == f"{bucket}/HLSL30.015/{name}"
            assert explained.credential_source == "EDL bearer token (parameter token)"


def test_claims_only_earthdata_hosts_buckets_and_cmr_items() -> None:
    recipe = earthdata(in_region=False)

    def claimed(href: str, base: str | None = None) -> bool:
        return recipe.claims(parse_href(href), AssetInfo(href=href, base=base))

    assert claimed("s3://podaac-ops-cumulus-protected/MUR/x.nc")
    assert claimed("https://data.nsidc.earthdatacloud.nasa.gov/nsidc-cumulus-prod-protected/x")
    assert claimed("https://archive.podaac.earthdata.nasa.gov/podaac-ops-cumulus-public/x.png")
    assert not claimed("s3://sentinel-cogs/sentinel-s2-l2a-cogs/x.tif")
    assert not claimed("https://example.com/x.tif")
    assert not claimed("https://earthdata.nasa.gov.example.com/x.tif")
    cmr = "https://cmr.earthdata.nasa.gov/stac/LPCLOUD/collections/C/items/G"
    assert claimed("https://e4ftl01.cr.usgs.gov/MOLT/x.hdf", base=cmr)
    with pytest.raises(obstac.RecipeError):  # the token is never sent to a stranger
        obstac.open_asset("https://example.com/x.tif", recipe=recipe)


def test_an_unreadable_s3_href_lets_selection_take_the_https_alternate() -> None:
    recipe = earthdata(token="edl-fixture-token-not-real", in_region=False)
    bucket = "asf-ngap2w-p-s1-slc-7b420b89"  # in the DAAC table, but no https prefix known
    asset = {
        "href": f"s3://{bucket}/S1A_IW_SLC.zip",
        "alternate": {"https": {"href": "https://datapool.asf.alaska.edu/SLC/SA/S1A_IW_SLC.zip"}},
    }
    alone = explain({"href": asset["href"]}, recipe=recipe)
    assert alone.credential_source == "none: out of region us-west-2"
    chosen = explain(asset, recipes=[recipe])
    assert chosen.href == "https://datapool.asf.alaska.edu/SLC/SA/S1A_IW_SLC.zip"
    with pytest.raises(obstac.CredentialsError, match="in_region=True"):
        obstac.open_asset({"href": asset["href"]}, recipe=recipe).read()


def test_an_s3_bucket_without_known_endpoint_asks_for_credentials_url() -> None:
    recipe = earthdata(token="edl-fixture-token-not-real", in_region=True)
    with pytest.raises(obstac.RecipeError, match="credentials_url="):
        obstac.open_asset("s3://some-new-daac-bucket/x.nc", recipe=recipe)
    explicit = earthdata(
        token="edl-fixture-token-not-real",
        in_region=True,
        credentials_url="https://data.example.earthdata.nasa.gov/s3credentials",
    )
    assert "data.example.earthdata.nasa.gov/s3credentials" in (
        explain("s3://some-new-daac-bucket/x.nc", recipe=explicit).credential_source
    )


# -- secrets --------------------------------------------------------------------------------------


def test_no_secret_in_errors_reprs_logs_or_explain(
    nasa: EarthdataDoubles,
    alice: EarthdataUser,
    store_cache: StoreCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    s3_href, https_href = f"s3://{BUCKET}/{KEY}", nasa.https_url(BUCKET, KEY)
    recipes = [
        local(nasa, token=alice.token, in_region=True),
        local(nasa, username="alice", password=ALICE_PASSWORD, in_region=True),
        local(nasa, token=alice.token, in_region=False),
        local(nasa, username="alice", password=ALICE_PASSWORD, in_region=False),
    ]
    for recipe in recipes:
        for href in (s3_href, https_href):
            reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
            assert bytes(reader.read_range(0, 8)) == DATA[:8]
            shown += [repr(recipe), repr(reader), repr(reader.location), repr(reader.store)]
            shown.append(repr(explain(href, recipe=recipe)))
        shown.append(repr(recipe.route(parse_href(s3_href), AssetInfo(href=s3_href))))
    for wrong in (
        local(nasa, token=WRONG_TOKEN, in_region=True),
        local(nasa, username="alice", password=WRONG_PASSWORD, in_region=False),
    ):
        with pytest.raises(obstac.CredentialsError) as caught:
            obstac.open_asset(s3_href, recipe=wrong, cache=store_cache).read()
        shown += [str(caught.value), repr(caught.value), repr(wrong)]
    secrets = [alice.token, ALICE_PASSWORD, WRONG_TOKEN, WRONG_PASSWORD]
    for issued in nasa.issuer.issued:
        secrets += [issued["secretAccessKey"], issued["sessionToken"]]
    # boto3 serves only the doubles (moto's STS behind /s3credentials) and its debug log prints
    # the AssumeRole answer; every other logger (obstac, requests, urllib3) is checked.
    logged = [
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(("botocore", "boto3"))
    ]
    assert any("earthdata: temporary S3 credentials from" in line for line in logged)
    text = "\n".join([*shown, *logged])
    for secret in secrets:
        assert secret not in text
