"""cdse(): CDSE's eodata bucket, path-style in region "default", with CDSE S3 keys.

The S3 side is moto with auth enforced (its IAM keys stand for CDSE keys) behind a counting
proxy that shows the path-style requests and their signatures. Key creation runs end to end
against `CDSEDouble`: an OIDC password grant, then the keys manager, which mints a real IAM key
in the same moto, so the created key is proven by reading with it.
"""

from __future__ import annotations

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
from obstac._redact import redact
from obstac.errors import AssetNotFoundError, CredentialsError
from obstac.hrefs import StoreKind, parse_href
from obstac.recipes import Route, explain
from obstac.recipes._cdse import CDSERecipe, cdse
from obstac.testing import AwsKeys, CountingProxy, MotoServer, RangeHTTPServer
from obstac.testing.cdse import CDSEDouble
from obstac.testing.proxy import ProxiedRequest
from tests._fixtures import iter_fixture_assets, iter_fixture_items
from tests.conftest import FAST_RETRY

CDSE_FILES = {"cdse__sentinel-2-l1c__1.json", "cdse__sentinel-2-l2a__1.json"}
L2A_FILE = "cdse__sentinel-2-l2a__1.json"


@pytest.fixture(scope="module")
def cdse_moto(moto_auth_server: MotoServer) -> MotoServer:
    try:
        moto_auth_server.create_bucket("eodata")
    except ClientError as error:  # the session's moto may already hold it
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    return moto_auth_server


@pytest.fixture(scope="module")
def keys(cdse_moto: MotoServer) -> AwsKeys:
    assert cdse_moto.keys is not None
    return cdse_moto.keys


@pytest.fixture(scope="module")
def proxy(cdse_moto: MotoServer) -> Iterator[CountingProxy]:
    with CountingProxy(cdse_moto.port) as counting:
        yield counting


@pytest.fixture(scope="module")
def double(cdse_moto: MotoServer) -> Iterator[CDSEDouble]:
    with CDSEDouble(cdse_moto) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_cdse_env(monkeypatch: pytest.MonkeyPatch, proxy: CountingProxy) -> None:
    for name in ("CDSE_S3_ACCESS_KEY", "CDSE_S3_SECRET_KEY", "CDSE_USERNAME", "CDSE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    proxy.clear()


def built_s3_store(route: Route) -> S3Store:
    """The store a route builds (no request is made), which must be an ``S3Store``."""
    store = route.build()
    assert isinstance(store, S3Store)
    return store


def l2a_asset(name: str | None = None) -> pystac.Asset:
    """An asset of the real CDSE L2A item: ``name``, or its first ``s3://eodata`` JPEG 2000."""
    for source, stac in iter_fixture_items():
        if source == L2A_FILE:
            item = pystac.Item.from_dict(stac)
            if name is not None:
                return item.assets[name]
            return next(
                asset
                for asset in item.assets.values()
                if asset.href.startswith("s3://eodata/") and asset.href.endswith(".jp2")
            )
    raise AssertionError(f"{L2A_FILE} is missing from the shared fixtures")


def scope_of(request: ProxiedRequest) -> list[str]:
    """``[key id, date, region, service, "aws4_request"]`` of a SigV4 Authorization header."""
    return request.headers["authorization"].split("Credential=")[1].split(",")[0].split("/")


def keyed(keys: AwsKeys, proxy: CountingProxy) -> CDSERecipe:
    return cdse(
        access_key_id=keys.access_key_id,
        secret_access_key=keys.secret_access_key,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )


def test_reads_a_fixture_asset_path_style_in_region_default(
    cdse_moto: MotoServer, proxy: CountingProxy, keys: AwsKeys, store_cache: StoreCache
) -> None:
    asset = l2a_asset()
    key = parse_href(asset.href).key
    payload = b"\x00\x00\x00\x0cjP  \r\n" + bytes(range(256)) * 64
    cdse_moto.put("eodata", key, payload)

    reader = obstac.open_asset(asset, recipe=keyed(keys, proxy), cache=store_cache)
    assert bytes(reader.read()) == payload
    assert bytes(reader.read_range(0, 12)) == payload[:12]

    assert proxy.count("GET") == 2
    for request in proxy.requests:
        assert request.target.split("?")[0] == f"/eodata/{key}"  # path-style
        assert request.headers["host"] == f"127.0.0.1:{proxy.port}"  # no bucket in the host
        key_id, _, region, service, _ = scope_of(request)
        assert (key_id, region, service) == (keys.access_key_id, "default", "s3")
        assert "x-amz-request-payer" not in request.headers


def test_https_hrefs_on_the_eodata_endpoint_read_the_same_object(
    cdse_moto: MotoServer, proxy: CountingProxy, keys: AwsKeys, store_cache: StoreCache
) -> None:
    key = "Sentinel-2/MSI/L2A/obstac/https-form/MTD_MSIL2A.xml"
    cdse_moto.put("eodata", key, b"<xml/>")
    recipe = keyed(keys, proxy)
    for href in (
        f"https://eodata.dataspace.copernicus.eu/eodata/{key}",
        f"https://eodata.ams.dataspace.copernicus.eu/eodata/{key}",
        f"s3://eodata/{key}",
    ):
        assert bytes(obstac.open_asset(href, recipe=recipe, cache=store_cache).read()) == b"<xml/>"
    assert len(store_cache) == 1
    assert [r.target.split("?")[0] for r in proxy.requests] == [f"/eodata/{key}"] * 3


def test_keys_from_the_environment_and_aws_variables_stay_out(
    cdse_moto: MotoServer,
    proxy: CountingProxy,
    keys: AwsKeys,
    store_cache: StoreCache,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CDSE_S3_ACCESS_KEY", keys.access_key_id)
    monkeypatch.setenv("CDSE_S3_SECRET_KEY", keys.secret_access_key)
    # obstore would add these to a store configured with plain keys; a provider keeps them out.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAAWSNOTCDSE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-not-for-cdse")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "aws-session-token-not-for-cdse")
    key = "Sentinel-2/obstac/env/INSPIRE.xml"
    cdse_moto.put("eodata", key, b"inspire")

    recipe = cdse(endpoint=proxy.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(f"s3://eodata/{key}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == b"inspire"

    (request,) = proxy.requests
    assert "x-amz-security-token" not in request.headers
    assert scope_of(request)[0] == keys.access_key_id
    assert explain(f"s3://eodata/{key}", recipe=recipe).credential_source == (
        "env CDSE_S3_ACCESS_KEY"
    )


def test_missing_keys_fail_before_any_request_naming_what_to_set(
    cdse_moto: MotoServer, proxy: CountingProxy, store_cache: StoreCache
) -> None:
    asset = l2a_asset()
    recipe = cdse(endpoint=proxy.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(asset, recipe=recipe, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()

    message = str(raised.value)
    for needed in ("CDSE_S3_ACCESS_KEY", "CDSE_S3_SECRET_KEY", "access_key_id=", "CDSE_USERNAME"):
        assert needed in message
    assert raised.value.recipe == "cdse"
    assert proxy.requests == []
    assert explain(asset, recipe=recipe).credential_source.startswith("none")


def test_a_half_given_key_pair_names_the_missing_half(
    proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDSE_S3_ACCESS_KEY", "AKIAHALFPAIR")
    reader = obstac.open_asset("s3://eodata/a.jp2", recipe=cdse(endpoint=proxy.url))
    with pytest.raises(CredentialsError, match="CDSE_S3_SECRET_KEY is not"):
        reader.read()
    assert proxy.requests == []


def test_without_keys_the_alternate_href_is_read(
    proxy: CountingProxy, http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    http_origin.put("odata/v1/Products(obstac)/$value", b"zipper bytes")
    http_origin.clear_requests()
    asset = {
        "href": "s3://eodata/Sentinel-2/obstac/alt.jp2",
        "auth:refs": ["s3"],
        "alternate": {
            "https": {"href": f"{http_origin.url}/odata/v1/Products(obstac)/$value"},
        },
    }
    reader = obstac.open_asset(
        asset, recipes=[cdse(endpoint=proxy.url, retry_config=FAST_RETRY)], cache=store_cache
    )
    assert bytes(reader.read()) == b"zipper bytes"
    assert http_origin.count("GET") == 1
    assert proxy.requests == []


def test_a_wrong_secret_is_refused_by_enforced_moto(
    cdse_moto: MotoServer, proxy: CountingProxy, keys: AwsKeys, store_cache: StoreCache
) -> None:
    key = "Sentinel-2/obstac/wrong/B02.jp2"
    cdse_moto.put("eodata", key, b"data")
    wrong = "cdse-wrong-secret-0123456789"
    recipe = cdse(
        access_key_id=keys.access_key_id,
        secret_access_key=wrong,
        endpoint=proxy.url,
        retry_config=FAST_RETRY,
    )
    reader = obstac.open_asset(f"s3://eodata/{key}", recipe=recipe, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()

    message = str(raised.value)
    assert "403" in message
    assert "CDSE_S3_SECRET_KEY" in message
    assert "secret_access_key=" in message
    assert wrong not in message
    assert keys.access_key_id not in message
    assert proxy.count("GET") == 1  # a refusal is not retried


def test_keys_are_created_from_username_and_password_end_to_end(
    cdse_moto: MotoServer,
    proxy: CountingProxy,
    double: CDSEDouble,
    store_cache: StoreCache,
) -> None:
    key = "Sentinel-2/obstac/login/B03.jp2"
    cdse_moto.put("eodata", key, b"created-key bytes")
    double.clear_requests()
    recipe = cdse(
        username=double.username,
        password=double.password,
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
        key_propagation_delay=0,
        retry_config=FAST_RETRY,
    )
    href = f"s3://eodata/{key}"
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert explain(href, recipe=recipe).credential_source == (
        "S3 keys created by logging in as parameter username"
    )
    assert double.requests == []  # routing and opening make no request

    assert bytes(reader.read()) == b"created-key bytes"
    assert bytes(reader.read_range(0, 7)) == b"created"

    token_request, keys_request = double.requests
    assert (token_request.method, token_request.path) == (
        "POST",
        "/auth/realms/CDSE/protocol/openid-connect/token",
    )
    assert token_request.form["grant_type"] == "password"
    assert token_request.form["client_id"] == "cdse-public"
    assert (keys_request.method, keys_request.path) == ("POST", "/api/user/credentials")
    assert keys_request.headers["authorization"].startswith("Bearer ")
    (access_id,) = double.active_keys
    assert [scope_of(r)[0] for r in proxy.requests] == [access_id, access_id]

    assert recipe.revoke_keys()
    assert double.active_keys == []
    assert double.count("DELETE", f"/api/user/credentials/access_id/{access_id}") == 1
    # The IAM key is really gone: the store, still holding it, is now refused.
    with pytest.raises(CredentialsError):
        reader.read()
    assert not recipe.revoke_keys()


def test_keys_are_created_from_an_oidc_token(
    cdse_moto: MotoServer,
    proxy: CountingProxy,
    double: CDSEDouble,
    store_cache: StoreCache,
) -> None:
    key = "Sentinel-2/obstac/token/B08.jp2"
    cdse_moto.put("eodata", key, b"token bytes")
    double.clear_requests()
    recipe = cdse(
        oidc_token=double.issue_token(),
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
        key_propagation_delay=0,
        retry_config=FAST_RETRY,
    )
    assert bytes(obstac.open_asset(f"s3://eodata/{key}", recipe=recipe).read()) == b"token bytes"
    assert double.count("POST", "/auth") == 0
    assert double.count("POST", "/api/user/credentials") == 1
    recipe.revoke_keys()


def test_a_wrong_password_names_the_login_settings(
    proxy: CountingProxy, double: CDSEDouble, store_cache: StoreCache
) -> None:
    wrong = "not-the-password-1234"
    recipe = cdse(
        username=double.username,
        password=wrong,
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
        key_propagation_delay=0,
    )
    reader = obstac.open_asset("s3://eodata/a.jp2", recipe=recipe, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()
    message = str(raised.value)
    assert "HTTP 401: Invalid user credentials" in message
    for needed in ("username=", "password=", "CDSE_USERNAME", "CDSE_PASSWORD"):
        assert needed in message
    assert wrong not in message
    assert proxy.requests == []


def test_an_invalid_token_names_oidc_token(
    proxy: CountingProxy, double: CDSEDouble, store_cache: StoreCache
) -> None:
    recipe = cdse(
        oidc_token="expired-or-forged-token",
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
    )
    reader = obstac.open_asset("s3://eodata/a.jp2", recipe=recipe, cache=store_cache)
    with pytest.raises(CredentialsError) as raised:
        reader.read()
    assert "oidc_token=" in str(raised.value)
    assert "HTTP 401" in str(raised.value)
    assert "expired-or-forged-token" not in str(raised.value)
    assert proxy.requests == []


def test_credential_sources_in_their_documented_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def source(**kwargs: Any) -> str:
        return cdse(**kwargs).keys.source

    monkeypatch.setenv("CDSE_S3_ACCESS_KEY", "AKIAENVKEY")
    monkeypatch.setenv("CDSE_S3_SECRET_KEY", "env-secret-key-0001")
    monkeypatch.setenv("CDSE_USERNAME", "env-user")
    monkeypatch.setenv("CDSE_PASSWORD", "env-password-0001")
    assert source(access_key_id="AKIAPARAM", secret_access_key="p-secret") == (
        "parameter access_key_id"
    )
    assert source(oidc_token="a-token-0001") == "S3 keys created with parameter oidc_token"
    assert source(username="me", password="pw-0001") == (
        "S3 keys created by logging in as parameter username"
    )
    assert source() == "env CDSE_S3_ACCESS_KEY"
    monkeypatch.delenv("CDSE_S3_ACCESS_KEY")
    monkeypatch.delenv("CDSE_S3_SECRET_KEY")
    assert source() == "S3 keys created by logging in as env CDSE_USERNAME"
    monkeypatch.delenv("CDSE_PASSWORD")
    assert not cdse().keys.available


@pytest.mark.parametrize("with_keys", [False, True], ids=["no-keys", "keys"])
def test_every_fixture_asset_of_cdse_is_claimed_and_routed(with_keys: bool) -> None:
    recipe = (
        cdse(access_key_id="AKIAFIXTURE", secret_access_key="fixture-secret-0001")
        if with_keys
        else cdse()
    )
    per_file: Counter[str] = Counter()
    built: set[tuple[Hashable, ...]] = set()
    for fixture in iter_fixture_assets():
        location = parse_href(fixture.href, base=fixture.base)
        info = AssetInfo(href=location.href, fields=fixture.fields, base=fixture.base)
        if not recipe.claims(location, info):
            continue
        per_file[fixture.source] += 1
        assert location.kind is StoreKind.S3
        assert location.bucket == "eodata"
        route = recipe.route(location, info)
        assert route.recipe == "cdse"
        assert route.path == location.key
        assert route.path.startswith("Sentinel-2/MSI/")
        # The creodias-s3 scheme is requester-pays; CDSE's own endpoint is not.
        assert route.store_description == (
            "S3Store(bucket='eodata', region='default', "
            "endpoint='https://eodata.dataspace.copernicus.eu')"
        )
        assert route.credentials_available is with_keys
        assert (route.resolve is not None) is (not with_keys)
        if route.store_key in built:
            continue
        built.add(route.store_key)
        store = built_s3_store(route)
        config: dict[str, Any] = dict(store.config)
        assert config["region"] == "default"
        assert config["endpoint"] == "https://eodata.dataspace.copernicus.eu"
        assert config["virtual_hosted_style_request"] == "false"
        assert "request_payer" not in config
        assert "access_key_id" not in config  # keys travel through the credential provider
        assert store.credential_provider is recipe.keys
    # 19 + 41 S3 assets and one s3:// thumbnail alternate per item; the zipper, datahub and
    # download https hrefs need OIDC, not S3 keys, and are left to other recipes.
    assert per_file == {"cdse__sentinel-2-l1c__1.json": 20, "cdse__sentinel-2-l2a__1.json": 42}
    assert len(built) == 1


def test_fixture_counts_match_the_raw_json() -> None:
    counted: Counter[str] = Counter()
    for source, stac in iter_fixture_items():
        for asset in (stac.get("assets") or {}).values():
            hrefs = [asset["href"]] + [a["href"] for a in (asset.get("alternate") or {}).values()]
            counted[source] += sum(href.startswith("s3://eodata/") for href in hrefs)
    assert {k: v for k, v in counted.items() if v} == {
        "cdse__sentinel-2-l1c__1.json": 20,
        "cdse__sentinel-2-l2a__1.json": 42,
    }


def test_the_creodias_endpoint_is_requester_pays_by_its_storage_scheme() -> None:
    recipe = cdse(
        access_key_id="AKIACREODIAS",
        secret_access_key="creodias-secret-0001",
        endpoint="https://eodata.cloudferro.com",
    )
    asset = l2a_asset()
    info = asset_info(asset)
    route = recipe.route(parse_href(asset.href), info)
    assert route.store_description.endswith("requester_pays=True)")
    assert dict(built_s3_store(route).config)["request_payer"] == "true"


@pytest.mark.parametrize(
    ("href", "fields", "claimed"),
    [
        ("s3://eodata/Sentinel-1/a.SAFE", {}, True),
        ("https://eodata.dataspace.copernicus.eu/eodata/Sentinel-1/a", {}, True),
        (
            "s3://eodata/Sentinel-1/a.SAFE",
            {"storage:schemes": {"codede": {"platform": "https://eodata.codede.cloud"}}},
            False,
        ),
        (
            "s3://other-bucket/a.tif",
            {
                "storage:schemes": {"c": {"platform": "https://eodata.dataspace.copernicus.eu"}},
                "storage:refs": ["c"],
            },
            True,
        ),
        ("s3://other-bucket/a.tif", {}, False),
        ("https://zipper.dataspace.copernicus.eu/odata/v1/Products(x)/$value", {}, False),
        ("https://eodata.s3.amazonaws.com/a.tif", {}, False),
    ],
)
def test_claims_eodata_and_cdse_metadata(href: str, fields: dict[str, Any], claimed: bool) -> None:
    info = AssetInfo(href=href, fields=fields)
    assert cdse().claims(parse_href(href), info) is claimed


def test_no_secret_in_messages_reprs_logs_or_explain(
    cdse_moto: MotoServer,
    proxy: CountingProxy,
    double: CDSEDouble,
    store_cache: StoreCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # obstac's loggers at DEBUG; the doubles' own boto3 calls log their keys and are not ours.
    caplog.set_level(logging.DEBUG, logger="obstac")
    recipe = cdse(
        username=double.username,
        password=double.password,
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
        key_propagation_delay=0,
        retry_config=FAST_RETRY,
    )
    href = "s3://eodata/Sentinel-2/obstac/leak/absent.jp2"
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    with pytest.raises(AssetNotFoundError) as missing:
        reader.read()
    # The created pair was registered, so any text obstac shows would have it redacted.
    access_id, secret = double.handed_out[-2:]
    assert double.active_keys == [access_id]
    assert redact(f"id={access_id} secret={secret}") == "id=*** secret=***"
    recipe.revoke_keys()
    with pytest.raises(CredentialsError) as refused:  # the revoked key, refused by moto
        reader.read()
    wrong = cdse(
        username=double.username,
        password="wrong-password-for-leak-test",
        identity_url=double.token_url,
        keys_url=double.keys_url,
        endpoint=proxy.url,
    )
    with pytest.raises(CredentialsError) as denied:
        obstac.open_asset(href, recipe=wrong, cache=store_cache).read()

    shown = [
        str(missing.value),
        str(refused.value),
        str(denied.value),
        repr(reader),
        repr(recipe),
        repr(recipe.keys),
        repr(wrong),
        repr(explain(href, recipe=recipe)),
        caplog.text,
    ]
    secrets = [double.password, "wrong-password-for-leak-test", *double.handed_out]
    assert len(secrets) >= 5  # password, token, refresh token, key id and secret
    for text in shown:
        for secret in secrets:
            assert secret not in text
    assert "created an S3 key pair" in caplog.text  # logging happened, without secrets
