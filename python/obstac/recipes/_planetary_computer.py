"""The Microsoft Planetary Computer recipe: Azure Blob reads with SAS tokens from PC's token API.

Planetary Computer data sits in Azure Blob Storage accounts (``sentinel2l2a01``,
``landsateuwest``, ...) that accept requests signed with a short-lived, read-only container
SAS token. The token comes from ``GET {sas_url}/{account}/{container}``, which answers
``{"msft:expiry": "2024-05-14T19:00:49Z", "token": "st=...&se=...&sp=rl&...&sig=..."}``;
a subscription key (header ``Ocp-Apim-Subscription-Key``) raises the rate limits.

How this recipe reads (wrapping obstore thinly):

- One ``AzureStore`` per account and container, whose credential provider is obstore's own
  ``PlanetaryComputerCredentialProvider`` (sync, ``requests``) behind a thin wrapper that
  registers each token as a secret, hands obstore an expiry in ``datetime.timezone.utc`` and
  turns a refused key into an error naming ``subscription_key=`` and
  ``PC_SDK_SUBSCRIPTION_KEY``. obstore caches the token and fetches a new one when fewer than
  300 s of its ``msft:expiry`` remain; the sync provider also serves obstore's async API (it
  runs on obstore's own threads).
- An href that already carries a SAS (query with ``st``, ``se``, ``sp`` or ``sig``, as
  ``planetary_computer.sign()`` leaves them) is read with that SAS and no token request; so is
  an ``abfs://`` asset whose storage options hold a ``credential``.
- Public accounts (``ai4edatasetspublicassets``: thumbnails) are read anonymously.
- ``blob_endpoint`` sends every account to another blob endpoint (Azurite in tests), so the
  real hrefs ``https://{account}.blob.core.windows.net/...`` are read from there.

:meth:`PlanetaryComputerRecipe.sign` returns a copy of an item, item collection, collection,
asset or href with SAS-signed hrefs and ``msft:expiry`` set, for tools that want URLs (GDAL,
odc-stac, rasterio).

What :meth:`PlanetaryComputerRecipe.claims` picks automatically (never a request): an Azure
location (``https://{account}.blob.core.windows.net/...``, ``abfs://container/path`` with
``table:storage_options`` / ``xarray:storage_options`` naming ``account_name``,
``abfs[s]://container@account.dfs.core.windows.net/...``, ``az://``) whose account is known,
that is not public and whose href carries no SAS yet, when one of these holds:

- the account is one of :data:`PLANETARY_COMPUTER_ACCOUNTS` (seen in Planetary Computer items);
- the asset or its item has ``msft:*`` fields (``msft:storage_account``, ``msft:container``,
  ``msft:expiry``, ...);
- the item's self link is on ``planetarycomputer.microsoft.com``.

Already-signed hrefs stay with the generic azure recipe (which uses the SAS in the href), and
public accounts too (it reads them anonymously). Passed explicitly (``recipe=``), this recipe
serves any Azure location (``handles``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping, MutableMapping
from copy import deepcopy
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import pystac

from obstac._redact import redact_url, register_secret
from obstac.errors import CredentialsError, ObstacError, RecipeError, RemoteError
from obstac.hrefs import StoreKind, parse_href, storage_options_of
from obstac.recipes._azure import AzureRecipe
from obstac.recipes._base import Route, env_source, require_bucket

if TYPE_CHECKING:
    import requests
    from obstore.auth.planetary_computer import PlanetaryComputerCredentialProvider
    from obstore.store import AzureSASToken, ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = [
    "DEFAULT_SAS_URL",
    "PLANETARY_COMPUTER_ACCOUNTS",
    "PUBLIC_ACCOUNTS",
    "PlanetaryComputerRecipe",
    "PlanetaryComputerTokenProvider",
    "planetary_computer",
    "sign",
    "sign_async",
]

logger = logging.getLogger(__name__)

DEFAULT_SAS_URL = "https://planetarycomputer.microsoft.com/api/sas/v1/token"
"""The Planetary Computer token API (env ``PC_SDK_SAS_URL`` overrides it)."""

SUBSCRIPTION_KEY_ENV = "PC_SDK_SUBSCRIPTION_KEY"
SAS_URL_ENV = "PC_SDK_SAS_URL"

PLANETARY_COMPUTER_ACCOUNTS = frozenset(
    {
        "ai4edataeuwest",
        "astersa",
        "cpdataeuwest",
        "daymeteuwest",
        "landsateuwest",
        "naipeuwest",
        "pcstacitems",
        "planet",
        "sentinel2l2a01",
    }
)
"""Storage accounts seen in Planetary Computer items: claimed even without other PC metadata."""

PUBLIC_ACCOUNTS = frozenset({"ai4edatasetspublicassets"})
"""Accounts readable anonymously (thumbnails); never sent to the token API, as the PC SDK does."""

TOKEN_REUSE_MARGIN = timedelta(seconds=300)
"""A cached token is reused by :meth:`PlanetaryComputerRecipe.sign` while more than 300 s of
its ``msft:expiry`` remain: obstore's own refresh margin, so signed URLs live at least 5 min."""

TOKEN_RETRIES = 3
"""Retries of a token request on 429/5xx or a failed connection, 0.5 s then 1 s then 2 s apart
(``Retry-After`` honoured). obstore's default session retries 10 times with waits growing to
120 s: a wrong ``sas_url`` then hangs ~7 minutes before saying so; this fails in ~4 s."""

TOKEN_TIMEOUT = (5.0, 30.0)
"""Connect and read timeouts (s) of a token request: the connect timeout of obstac's stores,
and a read timeout that a slow token API answers well within (it answers in ~0.1 s). Without
them ``requests`` waits forever."""

_PC_HOST = "planetarycomputer.microsoft.com"
_SETTINGS_FILE = Path("~/.planetarycomputer/settings.env")
_SAS_QUERY_NAMES = frozenset({"st", "se", "sp", "sig"})
_STORAGE_OPTION_KEYS = ("table:storage_options", "xarray:storage_options")
_EXPIRY_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_HINT = (
    "pass subscription_key= to obstac.recipes.planetary_computer() or set "
    f"{SUBSCRIPTION_KEY_ENV} (a Planetary Computer API key); for another token endpoint pass "
    f"sas_url= or set {SAS_URL_ENV}"
)
_SIGNED_HINT = (
    "the SAS token that came with the href was refused (it may have expired): sign the item "
    "again, or drop the query from the href so obstac.recipes.planetary_computer() fetches a "
    "fresh token"
)
_PUBLIC_HINT = "this public Planetary Computer account is read anonymously; check the href"


class PlanetaryComputerTokenProvider:
    """An obstore Azure credential provider for one Planetary Computer account and container.

    Wraps obstore's ``PlanetaryComputerCredentialProvider``: each call fetches a token from the
    token API (obstore caches it and calls again when fewer than 300 s remain). The token is
    registered as a secret so obstac never shows it, and kept for :meth:`token`.
    """

    def __init__(
        self,
        account: str,
        container: str,
        *,
        sas_url: str,
        subscription_key: str | None,
        recipe: str = "planetary_computer",
    ) -> None:
        """Describe the provider; no request is made until it is called.

        Args:
            account: The storage account, e.g. ``"sentinel2l2a01"``.
            container: The container, e.g. ``"sentinel2-l2"``.
            sas_url: The token API's base URL (no trailing slash).
            subscription_key: Sent as ``Ocp-Apim-Subscription-Key`` when set; when None,
                obstore looks at ``PC_SDK_SUBSCRIPTION_KEY`` and
                ``~/.planetarycomputer/settings.env`` itself.
            recipe: The recipe name errors show.
        """
        from obstore.auth.planetary_computer import PlanetaryComputerCredentialProvider

        self.account = account
        self.container = container
        self.sas_url = sas_url
        self._recipe = recipe
        self._inner: PlanetaryComputerCredentialProvider = PlanetaryComputerCredentialProvider(
            account_name=account,
            container_name=container,
            session=_token_session(),
            subscription_key=subscription_key,
            sas_url=sas_url,
        )
        self._lock = threading.Lock()
        self._last: tuple[str, datetime] | None = None

    @property
    def token_url(self) -> str:
        """Where tokens come from: ``{sas_url}/{account}/{container}`` (no secret in it)."""
        return f"{self.sas_url}/{self.account}/{self.container}"

    def __call__(self) -> AzureSASToken:
        """Fetch a new token (obstore calls this when its cached one is about to expire).

        Raises:
            CredentialsError: The token API refused the request (401/403): the subscription
                key is missing or wrong, or the dataset needs approval.
            RemoteError: The token API failed otherwise or sent something unexpected.
        """
        token, expires_at = self._fetch()
        return {"sas_token": token, "expires_at": expires_at}

    def token(self, *, min_validity: timedelta = TOKEN_REUSE_MARGIN) -> tuple[str, datetime]:
        """The last token if more than ``min_validity`` of it remains, else a new one.

        Returns:
            The SAS query string (no leading ``?``) and its ``msft:expiry`` in UTC.
        """
        with self._lock:
            last = self._last
        if last is not None and last[1] - datetime.now(UTC) > min_validity:
            return last
        return self._fetch()

    def _fetch(self) -> tuple[str, datetime]:
        import requests

        shown = redact_url(self.token_url)
        try:
            credential = self._inner()
        except requests.HTTPError as error:
            status = error.response.status_code if error.response is not None else None
            if status in (401, 403):
                raise CredentialsError(
                    f"the Planetary Computer token API refused {shown} (HTTP {status}): {_HINT}",
                    recipe=self._recipe,
                ) from None
            raise RemoteError(
                f"the Planetary Computer token API failed for {shown} (HTTP {status}); "
                f"check sas_url= / {SAS_URL_ENV} or try again later",
                recipe=self._recipe,
                status=status,
            ) from None
        except requests.RequestException as error:
            raise RemoteError(
                f"could not reach the Planetary Computer token API at {shown} "
                f"({type(error).__name__}); check sas_url= / {SAS_URL_ENV} and the network",
                recipe=self._recipe,
            ) from None
        except (KeyError, TypeError, ValueError) as error:
            raise RemoteError(
                f"the Planetary Computer token API at {shown} did not answer with "
                f"'token' and 'msft:expiry' ({type(error).__name__}); check sas_url= / "
                f"{SAS_URL_ENV}",
                recipe=self._recipe,
            ) from None
        token = credential["sas_token"]
        if not isinstance(token, str) or not token:
            raise RemoteError(
                f"the Planetary Computer token API at {shown} sent an empty token",
                recipe=self._recipe,
            )
        token = token.removeprefix("?")
        register_secret(token)
        expires_at = _as_utc(credential["expires_at"])
        with self._lock:
            self._last = (token, expires_at)
        logger.debug(
            "fetched a SAS token for %s/%s from %s, valid until %s",
            self.account,
            self.container,
            shown,
            expires_at.strftime(_EXPIRY_FORMAT),
        )
        return token, expires_at

    def __repr__(self) -> str:
        return (
            f"PlanetaryComputerTokenProvider(account={self.account!r}, "
            f"container={self.container!r}, sas_url={redact_url(self.sas_url)!r})"
        )


def _token_session() -> requests.Session:
    """A ``requests`` session for the token API: bounded retries and timeouts."""
    import requests
    import requests.adapters
    import urllib3.util.retry

    class TimeoutAdapter(requests.adapters.HTTPAdapter):
        def send(
            self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
        ) -> requests.Response:
            # Session.send passes timeout=None by keyword when the caller gave none.
            if kwargs.get("timeout") is None and len(args) < 2:
                kwargs["timeout"] = TOKEN_TIMEOUT
            return super().send(request, *args, **kwargs)

    retry = urllib3.util.retry.Retry(
        total=TOKEN_RETRIES,
        backoff_factor=0.5,
        status_forcelist=[429, 500, 502, 503, 504],
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = TimeoutAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _as_utc(expires_at: datetime | None) -> datetime:
    """obstore needs ``tzinfo`` to be ``datetime.timezone.utc`` itself, not just UTC-equal."""
    if expires_at is None:
        raise ValueError("token without msft:expiry")
    if expires_at.tzinfo is None:
        return expires_at.replace(tzinfo=UTC)
    return expires_at.astimezone(UTC)


SignableT = TypeVar(
    "SignableT",
    str,
    pystac.Item,
    pystac.ItemCollection,
    pystac.Collection,
    pystac.Asset,
    dict[str, Any],
)
"""What :meth:`PlanetaryComputerRecipe.sign` accepts and returns (a signed copy of the same)."""


@dataclass(frozen=True, eq=False, repr=False)
class PlanetaryComputerRecipe:
    """Reads Planetary Computer Azure assets with SAS tokens. Built by :func:`planetary_computer`.

    Attributes:
        subscription_key: The API key sent to the token API (never shown).
        sas_url: The token API's base URL.
        blob_endpoint: Where blob requests go instead of ``https://{account}.blob.core...``.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration.
        key_source: Where ``subscription_key`` came from, for ``explain`` (never its value).
        name: The recipe's name in messages and ``explain``.
    """

    subscription_key: str | None = field(default=None, repr=False)
    sas_url: str = DEFAULT_SAS_URL
    blob_endpoint: str | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    key_source: str | None = None
    name: str = "planetary_computer"
    _providers: dict[tuple[str, str], PlanetaryComputerTokenProvider] = field(
        default_factory=dict, init=False, repr=False
    )
    _token_recipes: dict[tuple[str, str], AzureRecipe] = field(
        default_factory=dict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _signed_recipe: AzureRecipe = field(init=False, repr=False)
    _public_recipe: AzureRecipe = field(init=False, repr=False)

    def __post_init__(self) -> None:
        register_secret(self.subscription_key)
        object.__setattr__(self, "sas_url", self.sas_url.rstrip("/"))
        common: dict[str, Any] = {
            "endpoint": self.blob_endpoint,
            "client_options": self.client_options,
            "retry_config": self.retry_config,
            "name": self.name,
        }
        object.__setattr__(self, "_signed_recipe", AzureRecipe(**common))
        object.__setattr__(self, "_public_recipe", AzureRecipe(anonymous=True, **common))

    # -- selection ---------------------------------------------------------------------------

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """Any Azure location (``*.blob.core.windows.net``, ``abfs[s]://``, ``az://``)."""
        return location.kind is StoreKind.AZURE

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """Planetary Computer's unsigned, non-public Azure assets (see the module docstring)."""
        if location.kind is not StoreKind.AZURE or not location.account:
            return False
        if location.account in PUBLIC_ACCOUNTS or _is_sas(location.sas_token):
            return False
        return (
            location.account in PLANETARY_COMPUTER_ACCOUNTS
            or any(key.startswith("msft:") for key in asset.fields)
            or _is_pc_host(asset.base)
        )

    # -- routing -----------------------------------------------------------------------------

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An ``AzureStore`` for the location's account and container; the key as path.

        Raises:
            RecipeError: The href names no container, or no account (an ``abfs://`` href
                without ``table:storage_options`` / ``xarray:storage_options``).
        """
        container = require_bucket(location, self.name)
        account = self._account_of(location)
        if _is_sas(location.sas_token):
            route = self._signed_recipe.route(location, asset)
            return replace(route, store_key=(self, *route.store_key), credential_hint=_SIGNED_HINT)
        credential = _options_credential(asset.storage_options)
        if credential is not None:
            register_secret(credential)
            route = self._signed_recipe.route(replace(location, sas_token=credential), asset)
            return replace(
                route,
                store_key=(self, *route.store_key),
                credential_source="SAS token in the asset's storage options (credential)",
                credential_hint=_SIGNED_HINT,
            )
        if account in PUBLIC_ACCOUNTS:
            route = self._public_recipe.route(replace(location, sas_token=None), asset)
            return replace(route, store_key=(self, *route.store_key), credential_hint=_PUBLIC_HINT)
        route = self._token_recipe(account, container).route(
            replace(location, sas_token=None), asset
        )
        return replace(
            route,
            store_key=(self, *route.store_key),
            credential_source=self.credential_source(),
            credential_hint=_HINT,
        )

    def credential_source(self) -> str:
        """Where tokens come from and with which key source (never a value)."""
        key = self.key_source or ("parameter subscription_key" if self.subscription_key else None)
        return (
            f"Planetary Computer SAS token from {redact_url(self.sas_url)} "
            f"({key or 'no subscription key: anonymous rate limits'})"
        )

    def token_provider(self, account: str, container: str) -> PlanetaryComputerTokenProvider:
        """The (shared) token provider of one account and container; makes no request."""
        with self._lock:
            provider = self._providers.get((account, container))
            if provider is None:
                provider = PlanetaryComputerTokenProvider(
                    account,
                    container,
                    sas_url=self.sas_url,
                    subscription_key=self.subscription_key,
                    recipe=self.name,
                )
                self._providers[(account, container)] = provider
            return provider

    def _token_recipe(self, account: str, container: str) -> AzureRecipe:
        provider = self.token_provider(account, container)
        with self._lock:
            recipe = self._token_recipes.get((account, container))
            if recipe is None:
                recipe = AzureRecipe(
                    endpoint=self.blob_endpoint,
                    credential_provider=provider,
                    client_options=self.client_options,
                    retry_config=self.retry_config,
                    name=self.name,
                )
                self._token_recipes[(account, container)] = recipe
            return recipe

    def _account_of(self, location: Location) -> str:
        if not location.account:
            raise RecipeError(
                f"{location.safe_href!r} does not name its storage account: give the asset "
                "table:storage_options / xarray:storage_options with account_name (as "
                "Planetary Computer items do), or use the https://{account}.blob.core."
                "windows.net/{container}/{path} href",
                href=location.href,
                recipe=self.name,
            )
        return location.account

    def endpoint_for(self, account: str) -> str:
        """The blob endpoint URL for ``account`` (``{account}`` in ``blob_endpoint`` filled)."""
        return self._signed_recipe.endpoint_for(account)

    # -- signing -----------------------------------------------------------------------------

    def sign(self, stac: SignableT) -> SignableT:
        """A copy of ``stac`` whose Planetary Computer hrefs carry a SAS token.

        Accepts a pystac ``Item``, ``ItemCollection``, ``Collection`` or ``Asset``, a STAC
        dict of any of those (a FeatureCollection too), or an href string; returns the same
        kind, never modifying the input. Blob hrefs get ``?{token}`` (pointing at
        ``blob_endpoint`` when one is set), ``abfs://`` assets get the token as
        ``credential`` in their storage options (as the PC SDK does), ``alternate`` hrefs are
        signed too. Already-signed hrefs, public accounts and non-Azure hrefs are left as
        they are. Items and collections get ``msft:expiry``: the earliest expiry of the tokens
        used. One token per container serves a whole call, and is reused across calls while
        more than 300 s of it remain.

        Raises:
            CredentialsError: The token API refused the subscription key.
            RemoteError: The token API failed.
        """
        signer = _Signer(self)
        signed: Any
        if isinstance(stac, str):
            signed = signer.href(stac)
        elif isinstance(stac, pystac.Item):
            signed = signer.pystac_item(stac)
        elif isinstance(stac, pystac.ItemCollection):
            signed = stac.clone()
            for item in signed.items:
                signer.pystac_owner(item, item.properties, item.get_self_href())
        elif isinstance(stac, pystac.Collection):
            # Not clone(): pystac's Collection.clone() resolves the root link (a request).
            signed = type(stac).from_dict(stac.to_dict(transform_hrefs=False), migrate=False)
            signer.pystac_owner(signed, signed.extra_fields, stac.get_self_href())
        elif isinstance(stac, pystac.Asset):
            signed = signer.pystac_asset(stac)
        elif isinstance(stac, dict):
            signed = signer.stac_dict(deepcopy(stac))
        else:
            raise TypeError(
                "sign() takes a pystac Item, ItemCollection, Collection or Asset, a STAC dict "
                f"or an href string, not {type(stac).__name__}"
            )
        return signed  # type: ignore[no-any-return]

    async def sign_async(self, stac: SignableT) -> SignableT:
        """Async twin of :meth:`sign` (token requests run in a worker thread)."""
        return await asyncio.to_thread(self.sign, stac)

    def __repr__(self) -> str:
        return (
            f"PlanetaryComputerRecipe(sas_url={redact_url(self.sas_url)!r}, "
            f"blob_endpoint={self.blob_endpoint!r}, credentials={self.credential_source()!r})"
        )


@dataclass(frozen=True)
class _Target:
    """An href to sign: its absolute form, account and container, and whether it is a URL."""

    href: str = field(repr=False)
    account: str
    container: str
    is_url: bool


class _Signer:
    """One ``sign`` call: one token per container, the earliest expiry per owner."""

    def __init__(self, recipe: PlanetaryComputerRecipe) -> None:
        self._recipe = recipe
        self._tokens: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._expiries: list[datetime] = []

    def _token(self, account: str, container: str) -> str:
        key = (account, container)
        if key not in self._tokens:
            self._tokens[key] = self._recipe.token_provider(account, container).token()
        token, expires = self._tokens[key]
        self._expiries.append(expires)
        return token

    def _signable(
        self, href: str, options: Mapping[str, Any] | None, base: str | None
    ) -> _Target | None:
        """Where the href points when it should be signed, else None."""
        try:
            location = parse_href(href, base=base, storage_options=options)
        except ObstacError:
            return None
        account, container = location.account, location.bucket
        if (
            location.kind is not StoreKind.AZURE
            or not account
            or not container
            or account in PUBLIC_ACCOUNTS
            or _is_sas(location.sas_token)
        ):
            return None
        return _Target(location.href, account, container, is_url=location.origin is not None)

    def href(self, href: str, base: str | None = None) -> str:
        """The signed form of a blob href (others are returned unchanged)."""
        target = self._signable(href, None, base)
        if target is None or not target.is_url:
            return href
        token = self._token(target.account, target.container)
        parts = urlsplit(target.href)
        if self._recipe.blob_endpoint:
            start = self._recipe.endpoint_for(target.account).rstrip("/") + parts.path
        else:
            start = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return f"{start}?{parts.query}&{token}" if parts.query else f"{start}?{token}"

    def asset_fields(
        self, asset: MutableMapping[str, Any], owner: Mapping[str, Any], base: str | None
    ) -> None:
        """Sign one asset given as a mutable STAC asset dict (``href`` and its fields)."""
        href = asset.get("href")
        if isinstance(href, str):
            options = storage_options_of({**owner, **asset})
            target = self._signable(href, options, base)
            if target is not None and target.is_url:
                asset["href"] = self.href(href, base)
            elif target is not None and options is not None:
                # abfs:// and az:// hrefs cannot carry a query: the PC SDK puts the token in
                # the storage options, where fsspec/adlfs and obstac look for it.
                token = self._token(target.account, target.container)
                key = next((k for k in _STORAGE_OPTION_KEYS if k in asset), None)
                if key is None:
                    key = next(k for k in _STORAGE_OPTION_KEYS if k in owner)
                asset[key] = {**options, "credential": token}
        alternates = asset.get("alternate")
        if isinstance(alternates, MutableMapping):
            for alternate in alternates.values():
                if isinstance(alternate, MutableMapping) and isinstance(alternate.get("href"), str):
                    alternate["href"] = self.href(alternate["href"], base)

    def stac_dict(self, stac: dict[str, Any]) -> dict[str, Any]:
        """Sign a STAC dict in place: FeatureCollection, Item, Collection or asset."""
        features = stac.get("features")
        if isinstance(features, list):
            for feature in features:
                if isinstance(feature, dict):
                    self.stac_dict(feature)
            return stac
        assets = stac.get("assets")
        if isinstance(assets, dict):
            self._expiries = []
            properties = stac.get("properties")
            owner = properties if isinstance(properties, dict) else stac
            base = _self_link(stac)
            for asset in assets.values():
                if isinstance(asset, dict):
                    self.asset_fields(asset, owner, base)
            if self._expiries:
                owner["msft:expiry"] = min(self._expiries).strftime(_EXPIRY_FORMAT)
            return stac
        if "href" in stac:
            self.asset_fields(stac, {}, None)
        return stac

    def pystac_owner(
        self,
        owner: pystac.Item | pystac.Collection,
        fields: dict[str, Any],
        base: str | None,
    ) -> None:
        """Sign the assets of a cloned item or collection and set its ``msft:expiry``."""
        self._expiries = []
        for asset in owner.assets.values():
            self._pystac_asset_in_place(asset, fields, base)
        if self._expiries:
            fields["msft:expiry"] = min(self._expiries).strftime(_EXPIRY_FORMAT)

    def pystac_item(self, item: pystac.Item) -> pystac.Item:
        signed = item.clone()
        self.pystac_owner(signed, signed.properties, item.get_self_href())
        return signed

    def pystac_asset(self, asset: pystac.Asset) -> pystac.Asset:
        owner = asset.owner
        fields: Mapping[str, Any] = {}
        if isinstance(owner, pystac.Item):
            fields = owner.properties
        elif isinstance(owner, pystac.Collection):
            fields = owner.extra_fields
        base = owner.get_self_href() if owner is not None else None
        signed = asset.clone()
        self._pystac_asset_in_place(signed, fields, base)
        return signed

    def _pystac_asset_in_place(
        self, asset: pystac.Asset, owner: Mapping[str, Any], base: str | None
    ) -> None:
        view: dict[str, Any] = {**asset.extra_fields, "href": asset.href}
        self.asset_fields(view, owner, base)
        asset.href = view.pop("href")
        asset.extra_fields = view


def _is_sas(query: str | None) -> bool:
    """Whether an href query is a SAS signature (has ``st``, ``se``, ``sp`` or ``sig``)."""
    if not query:
        return False
    return any(name in _SAS_QUERY_NAMES for name, _ in parse_qsl(query, keep_blank_values=True))


def _options_credential(options: Mapping[str, Any] | None) -> str | None:
    """A SAS token the PC SDK's ``sign()`` put in ``storage_options['credential']``."""
    credential = options.get("credential") if options else None
    if isinstance(credential, str) and _is_sas(credential.removeprefix("?")):
        return credential.removeprefix("?")
    return None


def _is_pc_host(href: str | None) -> bool:
    if not href:
        return False
    try:
        host = (urlsplit(href).hostname or "").lower()
    except ValueError:
        return False
    return host == _PC_HOST or host.endswith("." + _PC_HOST)


def _self_link(stac: Mapping[str, Any]) -> str | None:
    for link in stac.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel") == "self":
            href = link.get("href")
            return href if isinstance(href, str) else None
    return None


def planetary_computer(
    *,
    subscription_key: str | None = None,
    sas_url: str | None = None,
    blob_endpoint: str | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
) -> PlanetaryComputerRecipe:
    """A recipe for Microsoft Planetary Computer data (Azure Blob with SAS tokens).

    Args:
        subscription_key: A Planetary Computer API key, sent as ``Ocp-Apim-Subscription-Key``
            to the token API (env ``PC_SDK_SUBSCRIPTION_KEY``; obstore also reads
            ``~/.planetarycomputer/settings.env``). Optional: without one, tokens come with
            anonymous rate limits.
        sas_url: The token API's base URL (env ``PC_SDK_SAS_URL``; default
            ``https://planetarycomputer.microsoft.com/api/sas/v1/token``). Tokens are
            requested from ``{sas_url}/{account}/{container}``.
        blob_endpoint: Read blobs from this endpoint instead of
            ``https://{account}.blob.core.windows.net`` (``{account}`` is filled in), e.g.
            Azurite's ``"http://127.0.0.1:10000/devstoreaccount1"``.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration for blob requests.

    Example:
        ```py
        item = pystac_client.Client.open(PC_STAC).get_collection("sentinel-2-l2a")...
        reader = obstac.open_asset(item.assets["B04"], recipe=obstac.recipes.planetary_computer())
        signed = obstac.recipes.planetary_computer().sign(item)  # URLs for GDAL
        ```
    """
    key_source = "parameter subscription_key" if subscription_key else None
    if not subscription_key:
        subscription_key = os.environ.get(SUBSCRIPTION_KEY_ENV) or None
        key_source = env_source(SUBSCRIPTION_KEY_ENV)
    if not subscription_key and _SETTINGS_FILE.expanduser().is_file():
        # obstore's provider reads the PC SDK settings file itself when no key is given.
        key_source = f"{SUBSCRIPTION_KEY_ENV} in {_SETTINGS_FILE}, if set there"
    return PlanetaryComputerRecipe(
        subscription_key=subscription_key,
        sas_url=sas_url or os.environ.get(SAS_URL_ENV) or DEFAULT_SAS_URL,
        blob_endpoint=blob_endpoint,
        client_options=client_options,
        retry_config=retry_config,
        key_source=key_source,
    )


@lru_cache(maxsize=4)
def _default_recipe(env: tuple[str | None, str | None]) -> PlanetaryComputerRecipe:
    del env  # only the cache key: the factory reads the environment itself
    return planetary_computer()


def _recipe_or_default(recipe: PlanetaryComputerRecipe | None) -> PlanetaryComputerRecipe:
    if recipe is not None:
        return recipe
    return _default_recipe((os.environ.get(SUBSCRIPTION_KEY_ENV), os.environ.get(SAS_URL_ENV)))


def sign(stac: SignableT, *, recipe: PlanetaryComputerRecipe | None = None) -> SignableT:
    """A copy of ``stac`` with SAS-signed Planetary Computer hrefs and ``msft:expiry`` set.

    See :meth:`PlanetaryComputerRecipe.sign`. Without ``recipe``, one built from the
    environment (``PC_SDK_SUBSCRIPTION_KEY``, ``PC_SDK_SAS_URL``) is used and kept, so its
    tokens are reused across calls.
    """
    return _recipe_or_default(recipe).sign(stac)


async def sign_async(
    stac: SignableT, *, recipe: PlanetaryComputerRecipe | None = None
) -> SignableT:
    """Async twin of :func:`sign`."""
    return await _recipe_or_default(recipe).sign_async(stac)
