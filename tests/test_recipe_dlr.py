"""DLR EOC: basic auth to the download host only, and a login page is a credentials error.

Every test runs against `DLRDouble` in one of its three refusal modes (``basic``: 401; ``sso``:
302 to an HTML login page on a second origin; ``page``: the login page served with 200 in place
of the file) and asserts on the requests each origin recorded.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pystac
import pytest
from obstore import Bytes

import obstac
from obstac import StoreCache
from obstac._assets import asset_info
from obstac.hrefs import parse_href
from obstac.recipes import explain, http
from obstac.recipes._dlr import DLRRecipe, dlr
from obstac.recipes._select import route_asset
from obstac.testing.dlr import LOGIN_PAGE, PASSWORD, USERNAME, DLRDouble, Mode
from tests.conftest import FAST_RETRY

MIB = 1024 * 1024
WRONG_PASSWORD = "not-the-eoc-pw-4410"
SCENE = (
    "ENMAP/files/L2A/2024/07/01/ENMAP01-____L2A-DT0000084321_20240701T103000Z_001_V010402"
    "_20240702T120000Z"
)
GOOD_BASIC = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
WRONG_BASIC = base64.b64encode(f"{USERNAME}:{WRONG_PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, WRONG_PASSWORD, GOOD_BASIC, WRONG_BASIC)
MODES: list[Mode] = ["basic", "sso", "page"]


def _payload(size: int, seed: int = 21) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture(autouse=True)
def _no_dlr_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's DLR variables and ~/.netrc must not leak into these tests."""
    monkeypatch.delenv("DLR_USERNAME", raising=False)
    monkeypatch.delenv("DLR_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture(scope="module")
def doubles() -> Iterator[dict[str, DLRDouble]]:
    with (
        DLRDouble(mode="basic") as basic,
        DLRDouble(mode="sso") as sso,
        DLRDouble(mode="page") as page,
    ):
        yield {"basic": basic, "sso": sso, "page": page}


@pytest.fixture(params=MODES)
def server(request: pytest.FixtureRequest, doubles: dict[str, DLRDouble]) -> DLRDouble:
    """The double in each refusal mode, its request logs cleared."""
    chosen = doubles[request.param]
    chosen.clear_requests()
    chosen.login.clear_requests()
    return chosen


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_reads_whole_ranges_and_file_with_basic_auth(
    server: DLRDouble, store_cache: StoreCache
) -> None:
    data = _payload(3 * MIB)
    href = server.put(f"{SCENE}/SPECTRAL_IMAGE.TIF", data)
    recipe = dlr(USERNAME, PASSWORD, base_url=server.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert server.requests == []  # opening a reader makes no request
    assert bytes(reader.read()) == data
    assert bytes(reader.read_range(10, 1010)) == data[10:1010]
    starts, ends = [0, 4096, 2 * MIB], [100, 8192, 2 * MIB + 64]
    chunks = reader.read_ranges(starts, ends)
    assert [bytes(c) for c in chunks] == [data[s:e] for s, e in zip(starts, ends, strict=True)]
    with reader.open(buffer_size=64 * 1024) as f:
        f.seek(MIB + 1)
        assert f.read(10) == data[MIB + 1 : MIB + 11]
        f.seek(-5, io.SEEK_END)
        assert f.read() == data[-5:]
    # One probe, then the reads; every request carried the credentials; no login page visit.
    assert [r.range for r in server.requests[:2]] == ["bytes=0-0", None]
    assert sum(r.range == "bytes=0-0" for r in server.requests) == 1
    assert all(r.headers["authorization"] == f"Basic {GOOD_BASIC}" for r in server.requests)
    assert server.login.requests == []


def test_async_reads_with_basic_auth(
    doubles: dict[str, DLRDouble], store_cache: StoreCache
) -> None:
    server = doubles["sso"]
    data = _payload(MIB, seed=22)
    href = server.put(f"{SCENE}/QL_PIXELMASK.TIF", data)
    reader = obstac.open_asset(
        href, recipe=dlr(USERNAME, PASSWORD, base_url=server.url), cache=store_cache
    )

    async def main() -> tuple[Bytes, Bytes, list[Bytes], int]:
        return await asyncio.gather(
            reader.read_async(),
            reader.read_range_async(5, 50),
            reader.read_ranges_async([0], [3]),
            reader.size_async(),
        )

    whole, part, chunks, size = asyncio.run(main())
    assert bytes(whole) == data
    assert bytes(part) == data[5:50]
    assert bytes(chunks[0]) == data[:3]
    assert size == len(data)


@pytest.mark.parametrize("password", [None, WRONG_PASSWORD], ids=["missing", "wrong"])
def test_refused_login_is_a_credentials_error_for_every_read(
    server: DLRDouble,
    password: str | None,
    store_cache: StoreCache,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    href = server.put(f"{SCENE}/METADATA.XML", b"<level_X>EnMAP metadata</level_X>" * 100)
    username = USERNAME if password else None
    recipe = dlr(username, password, base_url=server.url, retry_config=FAST_RETRY)
    reads: dict[str, Callable[[obstac.AssetReader], object]] = {
        "read": lambda r: r.read(),
        "read_range": lambda r: r.read_range(100, 200),
        "read_ranges": lambda r: r.read_ranges([50, 1000], [60, 1100]),
        "open": lambda r: r.open().read(10),
    }
    for name, read in reads.items():
        reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
        with pytest.raises(obstac.CredentialsError) as caught:
            read(reader)
        message = str(caught.value)
        for needed in ("username=", "password=", "DLR_USERNAME", "DLR_PASSWORD", "netrc"):
            assert needed in message, (name, needed)
        assert "recipe 'dlr'" in message
        _assert_no_secret(message, repr(caught.value), repr(reader))
    # Basic auth never reached the login host (the probe sends it to the DLR origin only).
    assert not server.authorization_reached_login
    if server.mode == "sso":
        assert server.login.count("GET") >= len(reads)
    # Only probes reached the server: no read ever saved a login page or a 401 body.
    assert all(r.range == "bytes=0-0" for r in server.requests)
    assert "dlr: GET" in caplog.text
    _assert_no_secret(caplog.text, repr(recipe))


def test_obstore_drops_basic_auth_on_the_redirect_to_the_login_host(
    doubles: dict[str, DLRDouble], store_cache: StoreCache
) -> None:
    """What the recipe relies on, and what it guards against, with the generic HTTP recipe."""
    server = doubles["sso"]
    server.login.clear_requests()
    href = server.put(f"{SCENE}/naive.TIF", b"II*\x00 a GeoTIFF")
    naive = http(headers={"Authorization": f"Basic {WRONG_BASIC}"}, retry_config=FAST_RETRY)
    saved = bytes(obstac.open_asset(href, recipe=naive, cache=store_cache).read())
    assert saved == LOGIN_PAGE  # obstore followed the SSO redirect and took the page as data
    assert server.login.count("GET") == 1
    assert not server.authorization_reached_login  # ...but it did not send the credentials


def test_login_expiring_after_the_probe_is_caught_by_the_body_check(
    store_cache: StoreCache,
) -> None:
    with DLRDouble(mode="page") as server:
        href = server.put(f"{SCENE}/SPECTRAL_IMAGE_SWIR.TIF", b"II*\x00" + b"\x01" * 2000)
        recipe = dlr(USERNAME, PASSWORD, base_url=server.url, retry_config=FAST_RETRY)
        reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
        assert bytes(reader.read_range(0, 4)) == b"II*\x00"  # resolved: the login worked
        server.password = "rotated-by-the-portal"  # the session or password changes
        with pytest.raises(obstac.CredentialsError, match="HTML page") as caught:
            reader.read()
        assert "DLR_PASSWORD" in str(caught.value)
        _assert_no_secret(str(caught.value))


def test_credentials_from_env_and_netrc(
    doubles: dict[str, DLRDouble],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    store_cache: StoreCache,
) -> None:
    server = doubles["basic"]
    href = server.put(f"{SCENE}/env.TIF", b"env bytes")
    assert dlr(base_url=server.url).credential_source == "none (anonymous)"

    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(f"machine 127.0.0.1\n  login {USERNAME}\n  password {PASSWORD}\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    from_netrc = dlr(base_url=server.url)
    assert from_netrc.credential_source == "netrc (machine 127.0.0.1)"
    assert bytes(obstac.open_asset(href, recipe=from_netrc, cache=store_cache).read()) == (
        b"env bytes"
    )
    # The real host's entry is looked up for the real host.
    assert dlr().credential_source == "none (anonymous)"

    monkeypatch.setenv("DLR_USERNAME", USERNAME)
    monkeypatch.setenv("DLR_PASSWORD", WRONG_PASSWORD)
    from_env = dlr(base_url=server.url, retry_config=FAST_RETRY)
    assert from_env.credential_source == "env DLR_USERNAME/DLR_PASSWORD"  # env before netrc
    with pytest.raises(obstac.CredentialsError, match="env DLR_USERNAME/DLR_PASSWORD"):
        obstac.open_asset(href, recipe=from_env, cache=store_cache).read()
    from_params = dlr(USERNAME, PASSWORD, base_url=server.url)  # parameters before env
    assert from_params.credential_source == "parameters username/password"
    assert bytes(obstac.open_asset(href, recipe=from_params, cache=store_cache).read()) == (
        b"env bytes"
    )
    monkeypatch.delenv("DLR_PASSWORD")
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    assert dlr(base_url=server.url).credential_source == "incomplete: no password (DLR_PASSWORD)"


def test_unparsable_netrc_is_ignored_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    netrc_file = tmp_path / "netrc"
    netrc_file.write_text(f"machine 127.0.0.1 login {USERNAME} password\n{PASSWORD} bogus\n")
    monkeypatch.setenv("NETRC", str(netrc_file))
    recipe = dlr(base_url="http://127.0.0.1:9")
    assert recipe.credential_source == "none (anonymous)"
    assert "ignoring netrc file" in caplog.text
    _assert_no_secret(caplog.text)


def _enmap_item() -> dict[str, Any]:
    """An item shaped like DLR's STAC API output for EnMAP L2A (assets on the download host)."""
    download = f"https://download.geoservice.dlr.de/{SCENE}"
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "ENMAP01-____L2A-DT0000084321_20240701T103000Z_001_V010402_20240702T120000Z",
        "collection": "ENMAP_HSI_L2A",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[11.0, 48.0], [11.4, 48.0], [11.4, 48.3], [11.0, 48.3], [11.0, 48.0]]],
        },
        "bbox": [11.0, 48.0, 11.4, 48.3],
        "properties": {"datetime": "2024-07-01T10:30:00Z", "platform": "EnMAP"},
        "links": [],
        "assets": {
            "image": {
                "href": f"{download}/ENMAP01-____L2A-DT0000084321_SPECTRAL_IMAGE.TIF",
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
            },
            "metadata": {
                "href": f"{download}/ENMAP01-____L2A-DT0000084321_METADATA.XML",
                "type": "application/xml",
                "roles": ["metadata"],
                "alternate": {"s3": {"href": "s3://enmap-mirror/L2A/METADATA.XML"}},
            },
            "thumbnail": {
                "href": "https://geoservice.dlr.de/eoc/ogc/stac/v1/thumbnails/enmap.png",
                "type": "image/png",
                "roles": ["thumbnail"],
            },
        },
    }


def test_claims_and_routing_over_an_enmap_item() -> None:
    item = pystac.Item.from_dict(_enmap_item())
    anonymous, logged_in = dlr(), dlr(USERNAME, PASSWORD)
    for key in ("image", "metadata"):
        info = asset_info(item.assets[key])
        assert anonymous.claims(parse_href(info.href), info), key
    thumbnail = asset_info(item.assets["thumbnail"])
    assert not anonymous.claims(parse_href(thumbnail.href), thumbnail)  # STAC host: anonymous
    for lookalike in (
        "https://download.geoservice.dlr.de.example.com/ENMAP/files/x.TIF",
        "http://download.geoservice.dlr.de/ENMAP/files/x.TIF",
    ):
        info = asset_info(lookalike)
        assert not anonymous.handles(parse_href(info.href), info), lookalike

    explanation = explain(item.assets["image"], recipe=logged_in)
    assert explanation.recipe == "dlr"
    assert explanation.credential_source == "parameters username/password"
    assert explanation.store.endswith("with basic auth")
    _assert_no_secret(repr(explanation), repr(logged_in))

    # Without credentials the DLR route says so, and an alternate href is preferred.
    metadata = asset_info(item.assets["metadata"])
    location, route = route_asset(metadata, recipes=[anonymous])
    assert location.kind.value == "s3"
    assert route.recipe == "s3"
    _, with_login = route_asset(metadata, recipes=[logged_in])
    assert with_login.recipe == "dlr"
    assert isinstance(logged_in, DLRRecipe)


def test_base_url_must_be_an_http_url() -> None:
    with pytest.raises(obstac.RecipeError, match="base_url="):
        dlr(USERNAME, PASSWORD, base_url="download.geoservice.dlr.de")


def test_userinfo_in_the_href_is_used_when_the_recipe_has_none(
    doubles: dict[str, DLRDouble], store_cache: StoreCache
) -> None:
    server = doubles["sso"]
    href = server.put(f"{SCENE}/userinfo.TIF", b"userinfo bytes")
    with_userinfo = href.replace("http://", f"http://{USERNAME}:{PASSWORD}@")
    recipe = dlr(base_url=server.url, retry_config=FAST_RETRY)
    reader = obstac.open_asset(with_userinfo, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == b"userinfo bytes"
    _assert_no_secret(repr(reader))
