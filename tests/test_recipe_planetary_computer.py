"""planetary_computer(): real Azurite reads with real SAS tokens from a local PC token endpoint.

Every account maps to Azurite (``blob_endpoint``) behind a counting proxy; the token endpoint
double signs real container SAS tokens that Azurite refuses once their ``se`` has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pystac
import pytest
from obstore.store import AzureStore

import obstac
from obstac import StoreCache
from obstac._assets import AssetInfo
from obstac.hrefs import parse_href
from obstac.recipes import explain, http
from obstac.recipes._base import ProviderRecipe
from obstac.recipes._planetary_computer import (
    PlanetaryComputerRecipe,
    planetary_computer,
    sign,
)
from obstac.testing import AzuriteServer, CountingProxy, free_port
from obstac.testing.planetary_computer import PlanetaryComputerDouble
from tests._fixtures import fixtures_dir, iter_fixture_assets
from tests.conftest import FAST_RETRY

GOOD_KEY = "pc-subscription-key-5f0e9a7c1b2d4e6f"
WRONG_KEY = "pc-wrong-key-0a1b2c3d4e5f60718293"
S2_BLOB = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2"
PAYLOAD = bytes(range(256)) * 40  # 10 KiB, every byte value


@pytest.fixture(autouse=True)
def _no_pc_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PC SDK variables would change which key and endpoint the recipe uses."""
    monkeypatch.delenv("PC_SDK_SUBSCRIPTION_KEY", raising=False)
    monkeypatch.delenv("PC_SDK_SAS_URL", raising=False)


def _container(azurite: AzuriteServer, name: str, *, public: bool = False) -> None:
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):
        azurite.create_container(name, public=public)


@pytest.fixture
def azurite(azurite_server: AzuriteServer, azurite_proxy: CountingProxy) -> AzuriteServer:
    for name in ("sentinel2-l2", "daymet-zarr", "naip"):
        _container(azurite_server, name)
    _container(azurite_server, "pc-public-assets", public=True)
    azurite_proxy.clear()
    return azurite_server


@pytest.fixture
def blob_endpoint(azurite_proxy: CountingProxy) -> str:
    """Every storage account -> Azurite's devstoreaccount1, through the counting proxy."""
    return f"{azurite_proxy.url}/devstoreaccount1"


@pytest.fixture
def pc(azurite: AzuriteServer) -> Iterator[PlanetaryComputerDouble]:
    with PlanetaryComputerDouble(azurite) as double:
        yield double


def _recipe(
    pc: PlanetaryComputerDouble, blob_endpoint: str, **kwargs: Any
) -> PlanetaryComputerRecipe:
    return planetary_computer(sas_url=pc.sas_url, blob_endpoint=blob_endpoint, **kwargs)


def _unique(name: str) -> str:
    return f"t-{time.monotonic_ns()}/{name}"


# -- reading -----------------------------------------------------------------------------------


def test_https_blob_href_reads_whole_and_range_with_one_token(
    azurite: AzuriteServer,
    azurite_proxy: CountingProxy,
    pc: PlanetaryComputerDouble,
    blob_endpoint: str,
    store_cache: StoreCache,
) -> None:
    blob = _unique("B04 band.tif")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    href = f"{S2_BLOB}/{blob.replace(' ', '%20')}"
    recipe = _recipe(pc, blob_endpoint)
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == PAYLOAD
    assert bytes(reader.read_range(1000, 3000)) == PAYLOAD[1000:3000]
    # The async API works with the same (sync) provider, and the token is reused.
    assert bytes(asyncio.run(reader.read_range_async(5, 9))) == PAYLOAD[5:9]
    assert pc.count_tokens() == 1
    assert pc.count_tokens("sentinel2l2a01", "sentinel2-l2") == 1
    gets = [r for r in azurite_proxy.requests if r.method == "GET"]
    assert len(gets) == 3
    assert all("sig=" in r.target and "authorization" not in r.headers for r in gets)
    assert reader.recipe == "planetary_computer"
    provider: ProviderRecipe = recipe  # the protocol automatic selection needs
    assert isinstance(provider, ProviderRecipe)
    assert "subscription key" in explain(href, recipe=recipe).credential_source


def test_abfs_href_with_storage_options_reads_whole_and_range(
    azurite: AzuriteServer,
    azurite_proxy: CountingProxy,
    pc: PlanetaryComputerDouble,
    blob_endpoint: str,
    store_cache: StoreCache,
) -> None:
    blob = _unique("daily/hi.zarr/.zmetadata")
    azurite.put("daymet-zarr", blob, PAYLOAD)
    asset: dict[str, Any] = {
        "href": f"abfs://daymet-zarr/{blob}",
        "type": "application/vnd+zarr",
        "xarray:storage_options": {"account_name": "daymeteuwest"},
    }
    recipe = _recipe(pc, blob_endpoint)
    reader = obstac.open_asset(asset, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == PAYLOAD
    assert bytes(reader.read_range(100, 228)) == PAYLOAD[100:228]
    assert pc.count_tokens("daymeteuwest", "daymet-zarr") == 1
    assert pc.count_tokens() == 1
    assert azurite_proxy.count("GET") == 2
    assert reader.path == blob

    # Without the storage options the account is unknown: the error says what to add.
    with pytest.raises(obstac.RecipeError, match="xarray:storage_options"):
        obstac.open_asset(asset["href"], recipe=recipe, cache=store_cache)


def test_token_refresh_across_expiry_in_a_long_read_loop(
    azurite: AzuriteServer, blob_endpoint: str, store_cache: StoreCache
) -> None:
    # Each SAS dies after 4-5 s (se, whole seconds); msft:expiry says 303 s, so obstore (which
    # refetches when < 300 s remain) asks again ~3 s after each fetch: before the SAS dies.
    lifetime = timedelta(seconds=5)
    blob = _unique("refresh.bin")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    with PlanetaryComputerDouble(
        azurite, token_lifetime=lifetime, reported_lifetime=lifetime + timedelta(seconds=298)
    ) as pc:
        recipe = _recipe(pc, blob_endpoint, retry_config=FAST_RETRY)
        reader = obstac.open_asset(f"{S2_BLOB}/{blob}", recipe=recipe, cache=store_cache)

        async def loop(seconds: float) -> tuple[int, list[str], datetime]:
            reads, failures = 0, []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                try:
                    if reads % 2:
                        data = bytes(await reader.read_range_async(10, 20))
                        assert data == PAYLOAD[10:20]
                    else:
                        assert bytes(await reader.read_async()) == PAYLOAD
                except obstac.ObstacError as error:
                    failures.append(str(error))
                reads += 1
                await asyncio.sleep(0.05)
            return reads, failures, datetime.now(UTC)

        reads, failures, finished = asyncio.run(loop(8.0))
        issued = pc.issued

    assert failures == []
    assert reads > 50
    # The first SAS really died during the loop, so later reads needed the refreshed ones.
    assert issued[0].expires < finished - timedelta(seconds=2)
    assert len(issued) >= 3
    assert pc.count_tokens() == len(issued)


def test_stale_token_is_refused_by_azurite(
    azurite: AzuriteServer, blob_endpoint: str, store_cache: StoreCache
) -> None:
    # The control for the refresh test: a client trusting a long msft:expiry keeps a dead SAS,
    # and Azurite refuses it.
    blob = _unique("stale.bin")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    with PlanetaryComputerDouble(
        azurite, token_lifetime=timedelta(seconds=2), reported_lifetime=timedelta(hours=1)
    ) as pc:
        recipe = _recipe(pc, blob_endpoint, retry_config=FAST_RETRY)
        reader = obstac.open_asset(f"{S2_BLOB}/{blob}", recipe=recipe, cache=store_cache)
        assert bytes(reader.read()) == PAYLOAD
        wait = (pc.issued[0].expires - datetime.now(UTC)).total_seconds() + 1.0
        time.sleep(max(0.0, wait))
        with pytest.raises(obstac.CredentialsError):
            reader.read()
        assert pc.count_tokens() == 1


def test_missing_or_wrong_subscription_key_names_parameter_and_env_var(
    azurite: AzuriteServer,
    blob_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blob = _unique("keyed.bin")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    href = f"{S2_BLOB}/{blob}"
    with PlanetaryComputerDouble(azurite, subscription_key=GOOD_KEY) as pc:
        for recipe in (
            _recipe(pc, blob_endpoint, retry_config=FAST_RETRY),
            _recipe(pc, blob_endpoint, retry_config=FAST_RETRY, subscription_key=WRONG_KEY),
        ):
            with pytest.raises(obstac.CredentialsError) as caught:
                obstac.open_asset(href, recipe=recipe, cache=StoreCache()).read()
            message = str(caught.value)
            assert "subscription_key=" in message
            assert "PC_SDK_SUBSCRIPTION_KEY" in message
            assert "401" in message
            assert WRONG_KEY not in message
            with pytest.raises(obstac.CredentialsError, match="PC_SDK_SUBSCRIPTION_KEY"):
                recipe.sign(href)
        assert pc.issued == []
        assert pc.count_tokens() == 4

        # The key from the environment is sent as Ocp-Apim-Subscription-Key.
        monkeypatch.setenv("PC_SDK_SUBSCRIPTION_KEY", GOOD_KEY)
        recipe = _recipe(pc, blob_endpoint)
        assert "env PC_SDK_SUBSCRIPTION_KEY" in recipe.credential_source()
        assert bytes(obstac.open_asset(href, recipe=recipe, cache=StoreCache()).read()) == PAYLOAD
        assert pc.requests[-1].headers["ocp-apim-subscription-key"] == GOOD_KEY
        assert len(pc.issued) == 1


def test_unreachable_token_api_fails_fast_naming_sas_url(
    azurite: AzuriteServer, blob_endpoint: str
) -> None:
    recipe = planetary_computer(
        sas_url=f"http://127.0.0.1:{free_port()}/api/sas/v1/token",
        blob_endpoint=blob_endpoint,
        retry_config=FAST_RETRY,
    )
    started = time.monotonic()
    with pytest.raises(obstac.ObstacError) as caught:
        obstac.open_asset(f"{S2_BLOB}/nothing.bin", recipe=recipe, cache=StoreCache()).read()
    assert time.monotonic() - started < 15  # bounded retries, not obstore's ~7 minutes
    assert "PC_SDK_SAS_URL" in str(caught.value)
    assert "could not reach the Planetary Computer token API" in str(caught.value)


def test_already_signed_href_is_read_without_a_token_request(
    azurite: AzuriteServer,
    azurite_proxy: CountingProxy,
    pc: PlanetaryComputerDouble,
    blob_endpoint: str,
    store_cache: StoreCache,
) -> None:
    blob = _unique("signed.bin")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    sas = azurite.container_sas("sentinel2-l2", expiry=datetime.now(UTC) + timedelta(hours=1))
    href = f"{S2_BLOB}/{blob}?{sas}"
    recipe = _recipe(pc, blob_endpoint)
    info = AssetInfo(href=href)
    assert recipe.handles(parse_href(href), info)
    assert not recipe.claims(parse_href(href), info)  # the generic azure recipe serves it
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == PAYLOAD
    assert bytes(reader.read_range(0, 16)) == PAYLOAD[:16]
    assert pc.count_tokens() == 0
    assert azurite_proxy.count("GET") == 2
    assert explain(href, recipe=recipe).credential_source == "SAS token in the href"
    assert recipe.sign(href) == href


def test_public_account_is_read_anonymously(
    azurite: AzuriteServer,
    azurite_proxy: CountingProxy,
    pc: PlanetaryComputerDouble,
    blob_endpoint: str,
    store_cache: StoreCache,
) -> None:
    blob = _unique("thumbnail.png")
    azurite.put("pc-public-assets", blob, PAYLOAD)
    href = f"https://ai4edatasetspublicassets.blob.core.windows.net/pc-public-assets/{blob}"
    recipe = _recipe(pc, blob_endpoint)
    assert not recipe.claims(parse_href(href), AssetInfo(href=href))
    reader = obstac.open_asset(href, recipe=recipe, cache=store_cache)
    assert bytes(reader.read()) == PAYLOAD
    assert pc.count_tokens() == 0
    (get,) = [r for r in azurite_proxy.requests if r.method == "GET"]
    assert "sig=" not in get.target
    assert "authorization" not in get.headers
    assert recipe.sign(href) == href


# -- signing -----------------------------------------------------------------------------------


def _fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((fixtures_dir() / "items" / name).read_text())
    return document


def _get(url: str, range_header: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Range": range_header} if range_header else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


def test_sign_item_returns_urls_a_plain_http_get_can_read(
    azurite: AzuriteServer, pc: PlanetaryComputerDouble, blob_endpoint: str
) -> None:
    original = _fixture("planetary-computer__sentinel-2-l2a__1.json")
    item = pystac.Item.from_dict(original)
    b04_path = urlsplit(item.assets["B04"].href).path.removeprefix("/sentinel2-l2/")
    azurite.put("sentinel2-l2", unquote(b04_path), PAYLOAD)
    recipe = _recipe(pc, blob_endpoint)

    signed = recipe.sign(item)

    assert signed is not item
    assert (
        item.to_dict(transform_hrefs=False)["assets"] == original["assets"]
    )  # the input is untouched
    assert "msft:expiry" not in item.properties
    blob_assets = [k for k, a in item.assets.items() if ".blob.core.windows.net" in a.href]
    assert len(blob_assets) == 22
    for key, asset in signed.assets.items():
        if key in blob_assets:
            assert asset.href.startswith(f"{blob_endpoint}/sentinel2-l2/")
            assert "&sig=" in asset.href
        else:
            assert asset.href == item.assets[key].href
    (issued,) = pc.issued  # one token served all 22 assets
    assert signed.properties["msft:expiry"] == issued.reported_expiry.strftime("%Y-%m-%dT%H:%M:%SZ")

    assert _get(signed.assets["B04"].href) == (200, PAYLOAD)
    assert _get(signed.assets["B04"].href, "bytes=10-19") == (206, PAYLOAD[10:20])
    # obstac reads the signed URL too, with no recipe of its own (plain HTTP).
    reader = obstac.open_asset(signed.assets["B04"].href, recipe=http(), cache=StoreCache())
    assert bytes(reader.read()) == PAYLOAD

    # Signing again reuses the cached token; signing a signed item changes nothing.
    assert recipe.sign(item).assets["B04"].href == signed.assets["B04"].href
    assert recipe.sign(signed).assets["B04"].href == signed.assets["B04"].href
    assert pc.count_tokens() == 1
    # The same through the module-level helper and the async twin, on the item's dict form.
    signed_dict = asyncio.run(recipe.sign_async(original))
    assert signed_dict["assets"]["B04"]["href"] == signed.assets["B04"].href
    assert sign(original["assets"]["B04"], recipe=recipe)["href"] == signed.assets["B04"].href
    assert pc.count_tokens() == 1


def test_sign_item_collection_fetches_one_token_per_container(
    pc: PlanetaryComputerDouble, blob_endpoint: str
) -> None:
    document = _fixture("planetary-computer__itemcollection-search__1.json")
    recipe = _recipe(pc, blob_endpoint)
    signed = recipe.sign(pystac.ItemCollection.from_dict(document))
    signed_dict = recipe.sign(document)
    assert len(signed.items) == 10
    hrefs = [a.href for item in signed.items for a in item.assets.values()]
    assert sum("&sig=" in href for href in hrefs) == 28
    assert all("msft:expiry" in item.properties for item in signed.items)
    assert [f["assets"]["image"]["href"] for f in signed_dict["features"]] == [
        item.assets["image"].href for item in signed.items
    ]
    assert pc.count_tokens() == 1
    assert pc.count_tokens("naipeuwest", "naip") == 1


def test_sign_abfs_collection_puts_token_in_storage_options_and_reads_with_it(
    azurite: AzuriteServer, pc: PlanetaryComputerDouble, blob_endpoint: str
) -> None:
    document = _fixture("planetary-computer__collection__daymet-daily-hi.json")
    azurite.put("daymet-zarr", "daily/hi.zarr", PAYLOAD)
    recipe = _recipe(pc, blob_endpoint)
    signed = recipe.sign(pystac.Collection.from_dict(document))
    zarr = signed.assets["zarr-abfs"]
    assert zarr.href == "abfs://daymet-zarr/daily/hi.zarr"
    options = zarr.extra_fields["xarray:storage_options"]
    assert options["account_name"] == "daymeteuwest"
    assert "sig=" in options["credential"]
    assert "&sig=" in signed.assets["zarr-https"].href
    assert signed.assets["thumbnail"].href == document["assets"]["thumbnail"]["href"]
    assert "msft:expiry" in signed.extra_fields
    assert pc.count_tokens() == 1  # daymeteuwest/daymet-zarr, for both assets

    # The PC SDK's abfs form (token as storage option credential) reads with no new token.
    reader = obstac.open_asset(zarr, recipe=recipe, cache=StoreCache())
    assert bytes(reader.read_range(0, 64)) == PAYLOAD[:64]
    assert pc.count_tokens() == 1
    assert "storage options" in explain(zarr, recipe=recipe).credential_source


# -- claiming and routing over the shared fixtures ----------------------------------------------


def _expected_place(href: str, options: Any) -> tuple[str, str, str]:
    """(account, container, key) read off the raw href, independently of obstac.hrefs."""
    parts = urlsplit(href)
    if parts.scheme == "abfs":
        return options["account_name"], parts.netloc, parts.path.lstrip("/")
    container, _, key = unquote(parts.path).lstrip("/").partition("/")
    return parts.netloc.split(".")[0], container, key


def test_fixture_assets_are_claimed_and_routed_without_network(
    pc: PlanetaryComputerDouble, blob_endpoint: str
) -> None:
    recipe = _recipe(pc, blob_endpoint)
    outcome: Counter[str] = Counter()
    accounts: Counter[str] = Counter()
    for asset in iter_fixture_assets():
        info = AssetInfo(href=asset.href, fields=asset.fields, base=asset.base)
        location = parse_href(asset.href, base=asset.base, storage_options=asset.storage_options)
        claimed = recipe.claims(location, info)
        if not asset.source.startswith("planetary-computer__"):
            outcome["other provider claimed" if claimed else "other provider"] += 1
            continue
        if not claimed:
            outcome[f"not claimed {location.kind.value} {location.account or location.origin}"] += 1
            continue
        account, container, key = _expected_place(asset.href, asset.storage_options)
        route = recipe.route(location, info)
        store = route.build()
        assert isinstance(store, AzureStore)
        assert store.config["account_name"] == account
        assert store.config["container_name"] == container
        assert store.config["endpoint"] == blob_endpoint
        assert route.path == key
        assert route.recipe == "planetary_computer"
        outcome["claimed " + urlsplit(asset.href).scheme] += 1
        accounts[account] += 1

    assert outcome == {
        "claimed https": 197,
        "claimed abfs": 4,
        "not claimed azure ai4edatasetspublicassets": 2,
        "not claimed http https://planetarycomputer.microsoft.com": 50,
        "other provider": outcome["other provider"],
    }
    assert outcome["other provider"] > 100
    assert accounts == {
        "astersa": 61,
        "landsateuwest": 60,
        "sentinel2l2a01": 44,
        "naipeuwest": 28,
        "planet": 2,
        "daymeteuwest": 2,
        "ai4edataeuwest": 2,
        "cpdataeuwest": 1,
        "pcstacitems": 1,
    }
    assert pc.requests == []  # routing and building stores made no request


def test_claims_unknown_account_only_with_planetary_computer_metadata(
    pc: PlanetaryComputerDouble, blob_endpoint: str
) -> None:
    recipe = _recipe(pc, blob_endpoint)
    href = "https://newdataset01.blob.core.windows.net/data/a.tif"
    location = parse_href(href)
    assert not recipe.claims(location, AssetInfo(href=href))
    assert recipe.claims(location, AssetInfo(href=href, fields={"msft:container": "data"}))
    pc_self = "https://planetarycomputer.microsoft.com/api/stac/v1/collections/x/items/y"
    assert recipe.claims(location, AssetInfo(href=href, base=pc_self))
    other = "https://earth-search.aws.element84.com/v1/collections/x/items/y"
    assert not recipe.claims(location, AssetInfo(href=href, base=other))
    s3 = parse_href("s3://sentinel-cogs/a.tif")
    assert not recipe.claims(s3, AssetInfo(href="s3://sentinel-cogs/a.tif", base=pc_self))


# -- secrets -------------------------------------------------------------------------------------


def test_no_token_or_key_in_errors_reprs_logs_or_explain(
    azurite: AzuriteServer,
    blob_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    blob = _unique("secret.bin")
    azurite.put("sentinel2-l2", blob, PAYLOAD)
    azurite.put("daymet-zarr", blob, PAYLOAD)
    href = f"{S2_BLOB}/{blob}"
    abfs = {"href": f"abfs://daymet-zarr/{blob}", "table:storage_options": {"account_name": "x1"}}
    shown: list[str] = []
    with PlanetaryComputerDouble(azurite, subscription_key=GOOD_KEY) as pc:
        good = _recipe(pc, blob_endpoint, subscription_key=GOOD_KEY)
        reader = obstac.open_asset(href, recipe=good, cache=StoreCache())
        assert bytes(reader.read()) == PAYLOAD
        signed_href = good.sign(href)
        signed_abfs = good.sign(abfs)
        shown += [repr(good), repr(reader), repr(good.token_provider("sentinel2l2a01", "x"))]
        already_signed = f"{S2_BLOB}/{blob}?{pc.issued[0].token}"
        for asset in (href, abfs, signed_abfs, already_signed):
            shown.append(str(explain(asset, recipe=good)))
        shown += [str(explain(signed_href)), repr(parse_href(signed_href))]
        shown += [repr(parse_href(already_signed)), repr(AssetInfo(href=already_signed))]

        for key in (None, WRONG_KEY):
            bad = _recipe(pc, blob_endpoint, subscription_key=key, retry_config=FAST_RETRY)
            with pytest.raises(obstac.CredentialsError) as caught:
                obstac.open_asset(href, recipe=bad, cache=StoreCache()).read()
            shown += [str(caught.value), repr(caught.value), repr(bad)]
            with pytest.raises(obstac.CredentialsError) as caught:
                bad.sign(href)
            shown += [str(caught.value), repr(caught.value)]
        # A signed href whose SAS has been tampered with: Azurite refuses it.
        tampered = signed_href.replace("sig=", "sig=AAAA")
        signed_recipe = _recipe(pc, blob_endpoint, retry_config=FAST_RETRY)
        with pytest.raises(obstac.CredentialsError) as caught:
            obstac.open_asset(
                f"{S2_BLOB}/{blob}?{urlsplit(tampered).query}",
                recipe=signed_recipe,
                cache=StoreCache(),
            ).read()
        shown += [str(caught.value), repr(caught.value)]
        tokens = [issued.token for issued in pc.issued]

    assert len(tokens) == 2
    assert "fetched a SAS token for sentinel2l2a01/sentinel2-l2" in caplog.text
    shown.append(caplog.text)
    secrets = [GOOD_KEY, WRONG_KEY]
    for token in tokens:
        secrets.append(token)
        secrets += [v for k, v in (p.split("=", 1) for p in token.split("&")) if k == "sig"]
    for text in shown:
        for secret in secrets:
            assert secret not in text
            assert unquote(secret) not in text
