"""Bad input and refused access give typed errors that name the href and the fix, never a secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import obstac
from obstac import StoreCache
from obstac.recipes import azure, http, s3
from obstac.testing import AzuriteServer, MotoServer, RangeHTTPServer
from obstac.testing.http_origin import RecordedRequest, Response
from tests.conftest import FAST_RETRY, Backend

WRONG_KEY = "d3Jvbmcta2V5LXRoYXQtbG9va3MtcmVhbC0xMjM0NTY3ODkwYWJjZGVmZ2hpams="
GOOD_TOKEN = "tok-3f9c2b7e51d04a8e"


class TokenOrigin(RangeHTTPServer):
    """An origin that wants ``Authorization: Bearer GOOD_TOKEN``, as many data portals do."""

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {GOOD_TOKEN}":
            return Response(401, {"WWW-Authenticate": "Bearer"}, b"unauthorized")
        return None


@pytest.fixture(scope="module")
def token_origin() -> Iterator[TokenOrigin]:
    with TokenOrigin() as server:
        server.put("private/scene.tif", b"private bytes")
        yield server


@pytest.mark.parametrize(
    ("href", "error", "names"),
    [
        ("", obstac.UnsupportedHrefError, "empty href"),
        ("ftp://example.com/x.tif", obstac.UnsupportedHrefError, "ftp://"),
        ({"title": "no href"}, obstac.UnsupportedHrefError, "no usable 'href'"),
        ({"href": ""}, obstac.UnsupportedHrefError, "no usable 'href'"),
        ("az://container/x.tif", obstac.RecipeError, "AZURE_STORAGE_ACCOUNT_NAME"),
    ],
)
def test_bad_input_is_a_typed_error(href: object, error: type[Exception], names: str) -> None:
    with pytest.raises(error) as caught:
        obstac.open_asset(href)  # type: ignore[arg-type]
    assert names in str(caught.value)
    assert isinstance(caught.value, obstac.ObstacError)


def test_wrong_input_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"pystac\.Asset"):
        obstac.open_asset(42)  # type: ignore[arg-type]


def test_explicit_recipe_of_the_wrong_kind_says_so() -> None:
    with pytest.raises(obstac.RecipeError, match="cannot read") as caught:
        obstac.open_asset("s3://bucket/key.tif", recipe=http())
    assert "s3" in str(caught.value)


def test_wrong_azure_key_names_the_credential_to_set(
    azure_backend: Backend, azurite_server: AzuriteServer, store_cache: StoreCache
) -> None:
    href = azure_backend.put("secret.bin", b"payload")
    wrong = azure(
        account_key=WRONG_KEY,
        endpoint=azurite_server.endpoint,
        retry_config=FAST_RETRY,
    )
    reader = obstac.open_asset(href, recipe=wrong, cache=store_cache)
    with pytest.raises(obstac.CredentialsError) as caught:
        reader.read()
    message = str(caught.value)
    assert isinstance(caught.value, PermissionError)
    assert "recipe 'azure'" in message
    assert "AZURE_STORAGE_ACCOUNT_KEY" in message
    assert "account_key=" in message
    assert WRONG_KEY not in message
    assert WRONG_KEY not in repr(wrong)
    assert WRONG_KEY not in repr(reader)


def test_missing_azure_credential_is_refused_with_the_fix(
    azure_backend: Backend, azurite_server: AzuriteServer, store_cache: StoreCache
) -> None:
    href = azure_backend.put("private.bin", b"payload")
    anonymous = azure(endpoint=azurite_server.endpoint, retry_config=FAST_RETRY)
    with pytest.raises(obstac.CredentialsError, match="sas_token="):
        obstac.open_asset(href, recipe=anonymous, cache=store_cache).read()


def test_missing_http_token_is_a_credentials_error(
    token_origin: TokenOrigin, store_cache: StoreCache
) -> None:
    href = f"{token_origin.url}/private/scene.tif"
    with pytest.raises(obstac.CredentialsError, match="headers=") as caught:
        obstac.open_asset(href, recipe=http(retry_config=FAST_RETRY), cache=store_cache).read()
    assert "401" in str(caught.value)
    authorised = http(headers={"Authorization": f"Bearer {GOOD_TOKEN}"})
    reader = obstac.open_asset(href, recipe=authorised, cache=store_cache)
    assert bytes(reader.read()) == b"private bytes"
    assert GOOD_TOKEN not in repr(authorised)
    assert GOOD_TOKEN not in repr(obstac.recipes.explain(href, recipe=authorised))


def test_sas_token_in_href_is_used_and_never_shown(
    azurite_server: AzuriteServer,
    azure_backend: Backend,
    store_cache: StoreCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    href = azure_backend.put("signed.bin", b"signed payload")
    container = href.split("/")[3]
    sas = azurite_server.container_sas(container, expiry=datetime.now(UTC) + timedelta(minutes=10))
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    # No key in the recipe: the SAS on the href is the only credential.
    recipe = azure(endpoint=azurite_server.endpoint, retry_config=FAST_RETRY)
    reader = obstac.open_asset(f"{href}?{sas}", recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == b"signed payload"
    assert obstac.recipes.explain(f"{href}?{sas}", recipe=recipe).credential_source == (
        "SAS token in the href"
    )
    missing = obstac.open_asset(
        f"{href.replace('signed.bin', 'gone.bin')}?{sas}", recipe=recipe, cache=store_cache
    )
    with pytest.raises(obstac.AssetNotFoundError) as caught:
        missing.read()
    shown = [str(caught.value), repr(caught.value), repr(missing), repr(reader), caplog.text]
    for text in shown:
        assert signature not in text
        assert "sig=" not in text or "sig=***" in text
    assert "gone.bin" in str(caught.value)


def test_userinfo_password_is_sent_as_basic_auth_and_never_shown(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    http_origin.put("basic/x.bin", b"basic")
    origin = http_origin.url.replace("http://", "http://alice:pw-9f8e7d6c@")
    reader = obstac.open_asset(f"{origin}/basic/x.bin", cache=store_cache)
    http_origin.clear_requests()
    assert bytes(reader.read()) == b"basic"
    sent = http_origin.requests[-1].headers.get("authorization", "")
    assert sent.startswith("Basic ")
    assert "pw-9f8e7d6c" not in repr(reader)
    with pytest.raises(obstac.AssetNotFoundError) as caught:
        obstac.open_asset(f"{origin}/basic/nope.bin", cache=store_cache).read()
    assert "pw-9f8e7d6c" not in str(caught.value)
    assert "alice:***@" in str(caught.value)


def test_not_found_on_a_local_file(tmp_path: object) -> None:
    with pytest.raises(obstac.AssetNotFoundError, match="no object at"):
        obstac.open_asset(f"{tmp_path}/missing.tif").read()


def test_wrong_s3_secret_names_the_credential_to_set(
    moto_auth_server: MotoServer, store_cache: StoreCache
) -> None:
    keys = moto_auth_server.keys
    assert keys is not None
    moto_auth_server.create_bucket("private-bucket")
    moto_auth_server.put("private-bucket", "a/b.tif", b"signed bytes")
    good = s3(
        endpoint=moto_auth_server.url,
        access_key_id=keys.access_key_id,
        secret_access_key=keys.secret_access_key,
        retry_config=FAST_RETRY,
    )
    href = "s3://private-bucket/a/b.tif"
    assert bytes(obstac.open_asset(href, recipe=good, cache=store_cache).read()) == b"signed bytes"
    wrong_secret = "wR0ng/secret+KEY-value-0123456789abcdef"
    wrong = s3(
        endpoint=moto_auth_server.url,
        access_key_id=keys.access_key_id,
        secret_access_key=wrong_secret,
        retry_config=FAST_RETRY,
    )
    with pytest.raises(obstac.CredentialsError) as caught:
        obstac.open_asset(href, recipe=wrong, cache=store_cache).read()
    message = str(caught.value)
    assert "AWS_SECRET_ACCESS_KEY" in message
    assert "secret_access_key=" in message
    assert wrong_secret not in message
    assert wrong_secret not in repr(wrong)
