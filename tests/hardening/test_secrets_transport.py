"""Credentials stay on their origin and off plain http.

- A redirect to another origin (another port of 127.0.0.1 is another origin) never carries the
  recipe's headers, basic auth or token: for the generic http recipe (custom header, bearer,
  URL userinfo), DLR and SharingHub, for reads and downloads.
- Credentials over ``http://`` to a host that is not this machine are refused while routing,
  before any request, unless ``allow_insecure_credentials=True``. Refusals are asserted with
  TEST-NET addresses (192.0.2.0/24) in calls that make no request (``explain``, ``obstac info``
  without ``--head``); every call that does connect goes to 127.0.0.1.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from obstore.store import HTTPStore

import obstac
from obstac import StoreCache
from obstac.errors import CredentialsError
from obstac.recipes import Recipe, azure, dlr, explain, gcs, http, s3, sharinghub
from obstac.testing import RangeHTTPServer
from obstac.testing.dlr import PASSWORD, USERNAME, DLRDouble
from obstac.testing.http_origin import RecordedRequest, Response
from obstac.testing.sharinghub import TOKEN, SharingHubDouble
from tests.conftest import FAST_RETRY

API_KEY = "hs-api-key-3e8f01c2d7b94a65"
BEARER = "hs-bearer-9a7c5e3b1d0f2468"
USERINFO_PASSWORD = "hs-userinfo-pw-5b2d8f4e"
DATA = b"payload behind a redirect " * 40
TEST_NET = "192.0.2.10"  # RFC 5737: documentation only, never routed


class Redirector(RangeHTTPServer):
    """Origin A: ``/away/<path>`` answers 302 to origin B, ``/here/<path>`` 302 to A's own
    ``<path>``; everything else is served from A's own objects."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.path.startswith("away/"):
            return Response(302, {"Location": f"{self.target}/{request.path[5:]}"})
        if request.path.startswith("here/"):
            return Response(302, {"Location": f"{self.url}/{request.path[5:]}"})
        return None


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[Redirector, RangeHTTPServer]]:
    """Origin A (the one the recipe trusts) and B (another port: another origin)."""
    with RangeHTTPServer() as b, Redirector(b.url) as a:
        b.put("data.bin", DATA)
        a.put("data.bin", DATA)
        yield a, b


@pytest.fixture
def ab(origins: tuple[Redirector, RangeHTTPServer]) -> tuple[Redirector, RangeHTTPServer]:
    for server in origins:
        server.clear_requests()
    return origins


def _carried(requests: list[RecordedRequest], secret: str) -> int:
    return sum(secret in value for r in requests for value in r.headers.values())


def test_obstore_alone_forwards_a_custom_header_across_origins(
    ab: tuple[Redirector, RangeHTTPServer],
) -> None:
    """Why obstac looks before it reads: a bare HTTPStore sends X-Api-Key to origin B."""
    a, b = ab
    store = HTTPStore.from_url(
        a.url, client_options={"allow_http": True, "default_headers": {"X-Api-Key": API_KEY}}
    )
    import obstore

    assert bytes(obstore.get(store, "away/data.bin").bytes()) == DATA
    assert _carried(b.requests, API_KEY) == 1


@pytest.mark.parametrize(
    ("headers", "secret"),
    [
        ({"X-Api-Key": API_KEY}, API_KEY),
        ({"Authorization": f"Bearer {BEARER}"}, BEARER),
        ({"Authorization": f"Bearer {BEARER}", "X-Api-Key": API_KEY}, API_KEY),
    ],
    ids=["custom-header", "bearer", "both"],
)
def test_http_recipe_headers_never_follow_a_redirect_to_another_origin(
    ab: tuple[Redirector, RangeHTTPServer], headers: dict[str, str], secret: str
) -> None:
    a, b = ab
    recipe = http(headers=headers, retry_config=FAST_RETRY)
    reader = obstac.open_asset(f"{a.url}/away/data.bin", recipe=recipe, cache=StoreCache())
    assert bytes(reader.read()) == DATA
    assert bytes(reader.read_range(10, 20)) == DATA[10:20]
    assert b.count("GET") >= 2  # the data came from B ...
    assert _carried(b.requests, secret) == 0  # ... which never saw the credential
    assert _carried(b.requests, BEARER) == 0
    assert _carried(a.requests, secret) >= 1  # A, the trusted origin, did


@pytest.mark.parametrize(
    "query",
    [f"token={API_KEY}", f"X-Amz-Signature={API_KEY}&X-Amz-Expires=60", f"sig={API_KEY}&sv=2024"],
    ids=["token", "presigned", "sas"],
)
def test_a_signed_url_never_reaches_another_origin_as_referer(
    ab: tuple[Redirector, RangeHTTPServer], query: str
) -> None:
    """obstore sends the URL it leaves, query included, as Referer to the redirect target."""
    a, b = ab
    href = f"{a.url}/away/data.bin?{query}"
    reader = obstac.open_asset(href, recipe=http(retry_config=FAST_RETRY), cache=StoreCache())
    assert bytes(reader.read()) == DATA
    assert b.count("GET") == 1
    assert _carried(b.requests, API_KEY) == 0
    assert API_KEY not in "".join(r.query for r in b.requests)
    assert [API_KEY in r.query for r in a.requests] == [True]  # the probe, to its own origin


def test_http_recipe_follows_a_same_origin_redirect_with_its_headers(
    ab: tuple[Redirector, RangeHTTPServer],
) -> None:
    a, b = ab
    recipe = http(headers={"X-Api-Key": API_KEY}, retry_config=FAST_RETRY)
    reader = obstac.open_asset(f"{a.url}/here/data.bin", recipe=recipe, cache=StoreCache())
    assert bytes(reader.read()) == DATA
    # The probe saw the 302, followed it by hand; the read then went straight to data.bin.
    assert [r.path for r in a.requests] == ["here/data.bin", "data.bin", "data.bin"]
    assert all(r.headers.get("x-api-key") == API_KEY for r in a.requests)
    assert b.requests == []


def test_userinfo_basic_auth_never_follows_a_redirect_to_another_origin(
    ab: tuple[Redirector, RangeHTTPServer],
) -> None:
    a, b = ab
    href = a.url.replace("http://", f"http://reader:{USERINFO_PASSWORD}@") + "/away/data.bin"
    reader = obstac.open_asset(href, recipe=http(retry_config=FAST_RETRY), cache=StoreCache())
    assert bytes(reader.read()) == DATA
    assert b.count("GET") == 1
    assert all("authorization" not in r.headers for r in b.requests)
    assert all(r.headers.get("authorization", "").startswith("Basic ") for r in a.requests)


def test_download_through_a_cross_origin_redirect_keeps_the_header_home(
    ab: tuple[Redirector, RangeHTTPServer], tmp_path: Path
) -> None:
    a, b = ab
    item: dict[str, object] = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "redirected",
        "geometry": None,
        "properties": {"datetime": "2024-01-01T00:00:00Z"},
        "links": [],
        "assets": {"data": {"href": f"{a.url}/away/data.bin", "roles": ["data"]}},
    }
    recipe = http(headers={"X-Api-Key": API_KEY}, retry_config=FAST_RETRY)
    result = obstac.download_item(item, tmp_path, recipe=recipe)
    assert [f.read_bytes() for f in tmp_path.rglob("data.bin")] == [DATA]
    assert not result.report.failures
    assert b.count("GET") >= 1
    assert _carried(b.requests, API_KEY) == 0


def test_dlr_password_never_reaches_the_login_origin() -> None:
    with DLRDouble(mode="sso") as server:
        href = server.put("ENMAP/files/x/QL.TIF", DATA)
        wrong = dlr(USERNAME, "hs-wrong-dlr-pw-77aa", base_url=server.url, retry_config=FAST_RETRY)
        with pytest.raises(CredentialsError):
            obstac.open_asset(href, recipe=wrong, cache=StoreCache()).read()
        assert server.login.count("GET") >= 1  # the redirect was looked at ...
        assert not server.authorization_reached_login  # ... without the password
        good = dlr(USERNAME, PASSWORD, base_url=server.url, retry_config=FAST_RETRY)
        assert bytes(obstac.open_asset(href, recipe=good, cache=StoreCache()).read()) == DATA
        assert not server.authorization_reached_login


def test_sharinghub_token_never_follows_the_lfs_redirect() -> None:
    with SharingHubDouble() as hub:
        href = hub.put_redirected("team/models", "weights.bin", DATA)
        recipe = sharinghub(TOKEN, base_url=hub.url, retry_config=FAST_RETRY)
        assert bytes(obstac.open_asset(href, recipe=recipe, cache=StoreCache()).read()) == DATA
        assert hub.storage.count("GET") >= 1
        assert not hub.token_leaked


# -- plain http ---------------------------------------------------------------------------------

INSECURE: list[tuple[str, Recipe, str]] = [
    (
        "s3-keys",
        s3(
            endpoint=f"http://{TEST_NET}:9000",
            access_key_id="AKIAHSINSECURE000001",
            secret_access_key="hs-insecure-secret-key",
        ),
        "s3://bucket/a.tif",
    ),
    (
        "azure-key",
        azure(account_key="aHMtaW5zZWN1cmUta2V5", endpoint=f"http://{TEST_NET}:10000/{{account}}"),
        "https://acct.blob.core.windows.net/container/a.tif",
    ),
    (
        "azure-sas",
        azure(sas_token="sv=2024&sig=hs-insecure-sig", endpoint=f"http://{TEST_NET}/{{account}}"),
        "https://acct.blob.core.windows.net/container/a.tif",
    ),
    ("gcs-bearer", gcs(bearer_token="hs-gcs-bearer", endpoint=f"http://{TEST_NET}"), "gs://b/a"),
    ("http-header", http(headers={"X-Api-Key": API_KEY}), f"http://{TEST_NET}/a.tif"),
    ("http-bearer", http(headers={"Authorization": "Bearer x"}), f"http://{TEST_NET}/a.tif"),
    ("http-userinfo", http(), f"http://u:{USERINFO_PASSWORD}@{TEST_NET}/a.tif"),
    ("http-hostname", http(headers={"X-Api-Key": API_KEY}), "http://data.example.org/a.tif"),
    ("dlr", dlr("u", "hs-dlr-pw", base_url=f"http://{TEST_NET}"), f"http://{TEST_NET}/ENMAP/a"),
    (
        "sharinghub",
        sharinghub("hs-sh-token", base_url=f"http://{TEST_NET}"),
        f"http://{TEST_NET}/api/download/p/repository/a?ref=main",
    ),
]


@pytest.mark.parametrize(
    ("recipe", "href"), [c[1:] for c in INSECURE], ids=[c[0] for c in INSECURE]
)
def test_credentials_over_plain_http_to_another_host_are_refused_before_any_request(
    recipe: Recipe, href: str
) -> None:
    with pytest.raises(CredentialsError, match="allow_insecure_credentials=True") as caught:
        explain(href, recipe=recipe)
    message = str(caught.value)
    assert "--allow-insecure-credentials" in message
    assert "https://" in message
    assert USERINFO_PASSWORD not in message
    assert API_KEY not in message


@pytest.mark.parametrize(
    ("recipe", "href"), [c[1:] for c in INSECURE], ids=[c[0] for c in INSECURE]
)
def test_the_opt_in_lets_them_through(recipe: Recipe, href: str) -> None:
    from dataclasses import replace

    allowed = replace(recipe, allow_insecure_credentials=True)  # type: ignore[type-var]
    assert explain(href, recipe=allowed).recipe == recipe.name


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "localhost", "[::1]"])
def test_loopback_and_anonymous_http_need_no_opt_in(host: str) -> None:
    explain(f"http://{host}:8080/a.tif", recipe=http(headers={"X-Api-Key": API_KEY}))
    explain(
        "s3://b/k",
        recipe=s3(endpoint=f"http://{host}:9000", access_key_id="a" * 8, secret_access_key="s" * 8),
    )
    explain(f"http://{TEST_NET}/a.tif", recipe=http())  # nothing secret to send
    explain("s3://b/k", recipe=s3(endpoint=f"http://{TEST_NET}:9000", anonymous=True))
    explain(f"https://{TEST_NET}/a.tif", recipe=http(headers={"X-Api-Key": API_KEY}))


def test_cli_flag_reaches_the_recipe() -> None:
    """``obstac info`` without ``--head`` makes no request: refusal, then the opt-in."""
    base = [sys.executable, "-m", "obstac.cli", "info", f"http://{TEST_NET}/a.tif"]
    flags = ["--recipe", "http", "--header", f"X-Api-Key: {API_KEY}"]
    refused = subprocess.run(
        [*base, *flags, "--json"], capture_output=True, timeout=60, check=False
    )
    assert refused.returncode == 1
    assert b"CredentialsError" in refused.stdout
    assert b"--allow-insecure-credentials" in refused.stdout
    assert API_KEY.encode() not in refused.stdout + refused.stderr
    allowed = subprocess.run(
        [*base, *flags, "--allow-insecure-credentials", "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert b'"recipe": "http"' in allowed.stdout
    assert API_KEY.encode() not in allowed.stdout + allowed.stderr
