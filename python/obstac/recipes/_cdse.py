"""Copernicus Data Space Ecosystem (CDSE): the ``eodata`` bucket over S3 with CDSE's own keys.

CDSE items point at ``s3://eodata/...`` and name CDSE in their metadata: ``auth:schemes``
(an ``s3`` scheme and an OpenID Connect one at ``identity.dataspace.copernicus.eu``) and
``storage:schemes`` (``cdse-s3`` on ``https://eodata.dataspace.copernicus.eu``, and
``creodias-s3``, requester-pays, on ``https://eodata.cloudferro.com``). The data is read from
CDSE's S3 endpoint, path-style, in region ``"default"``, with S3 keys that are not AWS keys:

- long-lived keys made at https://eodata-s3keysmanager.dataspace.copernicus.eu/, passed as
  ``access_key_id=`` / ``secret_access_key=`` or set as ``CDSE_S3_ACCESS_KEY`` /
  ``CDSE_S3_SECRET_KEY``;
- or temporary keys this recipe creates on first read: an OIDC password grant at the identity
  endpoint (``username=`` / ``password=``, env ``CDSE_USERNAME`` / ``CDSE_PASSWORD``) or a
  token you already hold (``oidc_token=``) buys an access token, and a ``POST`` to the S3 keys
  manager with it returns ``{"access_id": ..., "secret": ...}``.

Keys go to obstore through a credential provider, so ``AWS_*`` variables in the environment
never mix into CDSE requests (an ``AWS_SESSION_TOKEN`` would otherwise be sent along with the
CDSE keys). Without any key the route says ``credentials_available=False``: selection then
tries the asset's ``alternate`` hrefs, and reading the S3 href fails before any request with
a message naming the variables to set.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlencode, urlsplit

from obstac._redact import register_secret
from obstac.errors import CredentialsError, RecipeError, RemoteError
from obstac.hrefs import Location, StoreKind
from obstac.recipes._base import Route, require_bucket
from obstac.recipes._s3 import S3Recipe

if TYPE_CHECKING:
    from collections.abc import Callable

    from obstore.store import ClientConfig, RetryConfig, S3Credential

    from obstac._assets import AssetInfo

__all__ = [
    "DEFAULT_ENDPOINT",
    "DEFAULT_IDENTITY_URL",
    "DEFAULT_KEYS_URL",
    "ENV_VARS",
    "CDSEKeys",
    "CDSERecipe",
    "cdse",
]

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://eodata.dataspace.copernicus.eu"
"""CDSE's S3 endpoint (a GSLB in front of CloudFerro and OTC storage)."""

DEFAULT_IDENTITY_URL = (
    "https://identity.dataspace.copernicus.eu/auth/realms/CDSE/protocol/openid-connect/token"
)
"""CDSE's OpenID Connect token endpoint (Keycloak realm ``CDSE``)."""

DEFAULT_KEYS_URL = "https://s3-keys-manager.cloudferro.com/api/user/credentials"
"""The S3 keys manager: ``POST`` with a bearer token creates a key pair."""

CLIENT_ID = "cdse-public"
"""The public OIDC client CDSE's documentation uses for the password grant."""

REGION = "default"
"""The region name CDSE's S3 endpoint signs with."""

BUCKET = "eodata"
"""The bucket holding every CDSE product."""

EODATA_HOSTS = frozenset({"eodata.dataspace.copernicus.eu", "eodata.ams.dataspace.copernicus.eu"})
"""Hosts of CDSE's S3 endpoint (the GSLB and the OTC-pinned one)."""

_IDENTITY_HOST = "identity.dataspace.copernicus.eu"

KEY_PROPAGATION_DELAY = 5.0
"""Seconds to wait after creating a key pair before using it: CDSE's documentation waits 5 s
"to ensure the key pair is installed" on the storage side."""

HTTP_TIMEOUT = 30.0
"""Seconds allowed for each request to the identity endpoint and the keys manager."""

ENV_VARS = ("CDSE_S3_ACCESS_KEY", "CDSE_S3_SECRET_KEY", "CDSE_USERNAME", "CDSE_PASSWORD")
"""The environment variables :func:`cdse` reads."""

_MAX_DETAIL = 200

_HINT = (
    "pass access_key_id= and secret_access_key= to obstac.recipes.cdse(), or set "
    "CDSE_S3_ACCESS_KEY / CDSE_S3_SECRET_KEY (create keys at "
    "https://eodata-s3keysmanager.dataspace.copernicus.eu/); or pass username= and password= "
    "(env CDSE_USERNAME / CDSE_PASSWORD) or oidc_token= to have temporary keys created"
)


class CDSEKeys:
    """The S3 keys of a CDSE account: given, or created once through the S3 keys manager.

    An obstore ``S3CredentialProvider``: obstore calls it for credentials, and the first call
    creates the keys when they were not given. Thread-safe; keys are created at most once per
    instance (until :meth:`revoke`). Its ``repr`` shows where the keys come from, never them.
    """

    def __init__(
        self,
        *,
        source: str,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        oidc_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        missing: str | None = None,
        identity_url: str = DEFAULT_IDENTITY_URL,
        keys_url: str = DEFAULT_KEYS_URL,
        client_id: str = CLIENT_ID,
        propagation_delay: float = KEY_PROPAGATION_DELAY,
        timeout: float = HTTP_TIMEOUT,
    ) -> None:
        """Describe the keys; no request is made here.

        Args:
            source: Where the keys or the means to create them come from (shown in ``explain``).
            access_key_id: A key pair's id, when given.
            secret_access_key: Its secret.
            oidc_token: An OIDC access token to create keys with.
            username: CDSE account name for the OIDC password grant.
            password: Its password.
            missing: Why no keys can be had (``None`` when they can).
            identity_url: The OIDC token endpoint.
            keys_url: The keys manager's ``/api/user/credentials`` URL.
            client_id: The OIDC client id of the password grant.
            propagation_delay: Seconds to wait after creating keys before they are used.
            timeout: Seconds allowed for each request to either endpoint.
        """
        for secret in (access_key_id, secret_access_key, oidc_token, password):
            register_secret(secret)
        self.source = source
        self.missing = missing
        self.identity_url = identity_url
        self.keys_url = keys_url
        self.client_id = client_id
        self.propagation_delay = propagation_delay
        self.timeout = timeout
        self._given = (access_key_id, secret_access_key) if access_key_id else None
        self._keys: tuple[str, str] | None = None
        self._created_with_token: str | None = None
        self._oidc_token = oidc_token
        self._username = username
        self._password = password
        self._lock = threading.Lock()
        for url in (identity_url, keys_url):
            if urlsplit(url).scheme not in ("http", "https"):
                raise RecipeError(f"CDSE endpoint {url!r} must be an http(s) URL", recipe="cdse")

    @property
    def available(self) -> bool:
        """Whether keys are given or can be created (no request is made)."""
        return self.missing is None

    @property
    def pending(self) -> bool:
        """Whether the keys still have to be created (a request on first use)."""
        return self._given is None and self._keys is None

    def keys(self) -> tuple[str, str]:
        """The key id and secret, creating them on first call when they were not given.

        Raises:
            CredentialsError: No keys and no way to create them, or CDSE refused the username,
                password or token. The message names the parameter and variable to set.
            RemoteError: An endpoint could not be reached or answered with a server error.
        """
        if self._given is not None:
            key_id, secret = self._given
            return key_id, secret or ""
        with self._lock:
            if self._keys is None:
                if self.missing is not None:
                    raise CredentialsError(self.missing, recipe="cdse")
                self._keys = self._create()
            return self._keys

    def __call__(self) -> S3Credential:
        """obstore's credential callback: static keys that never expire."""
        key_id, secret = self.keys()
        return {
            "access_key_id": key_id,
            "secret_access_key": secret,
            "token": None,
            "expires_at": None,
        }

    def revoke(self) -> bool:
        """Delete the key pair this object created (``DELETE .../access_id/{id}``).

        Keys that were given are left alone. The next read creates a new pair.

        Returns:
            True when a created key pair was deleted, False when there was none.

        Raises:
            CredentialsError: The keys manager refused the token.
            RemoteError: The keys manager could not be reached or failed.
        """
        with self._lock:
            if self._keys is None or self._given is not None:
                return False
            access_id = self._keys[0]
            token = self._created_with_token or self._token()
            status, body = self._request(
                "DELETE",
                f"{self.keys_url.rstrip('/')}/access_id/{access_id}",
                headers={"Authorization": f"Bearer {token}"},
            )
            if status >= 400:
                self._fail("delete the S3 key pair", self.keys_url, status, body)
            self._keys = None
            logger.debug("cdse: deleted the S3 key pair created at %s", self.keys_url)
            return True

    # -- the two requests of key creation -----------------------------------------------------

    def _create(self) -> tuple[str, str]:
        token = self._token()
        status, body = self._request(
            "POST",
            self.keys_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            data=b"",
        )
        if status >= 400:
            self._fail("create S3 keys", self.keys_url, status, body)
        document = _json_object(body)
        access_id, secret = document.get("access_id"), document.get("secret")
        if not isinstance(access_id, str) or not isinstance(secret, str):
            raise RemoteError(
                f"the CDSE S3 keys manager at {self.keys_url} answered without "
                f"'access_id' and 'secret' (keys: {sorted(document)[:10]})",
                recipe="cdse",
                status=status,
            )
        register_secret(access_id)
        register_secret(secret)
        self._created_with_token = token
        logger.debug("cdse: created an S3 key pair at %s", self.keys_url)
        if self.propagation_delay > 0:
            time.sleep(self.propagation_delay)
        return access_id, secret

    def _token(self) -> str:
        if self._oidc_token:
            return self._oidc_token
        form = urlencode(
            {
                "client_id": self.client_id,
                "grant_type": "password",
                "username": self._username or "",
                "password": self._password or "",
            }
        ).encode()
        status, body = self._request(
            "POST",
            self.identity_url,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            data=form,
        )
        if status >= 400:
            self._fail("get an OIDC token", self.identity_url, status, body)
        token = _json_object(body).get("access_token")
        if not isinstance(token, str) or not token:
            raise RemoteError(
                f"the CDSE identity endpoint {self.identity_url} answered without an "
                "'access_token'",
                recipe="cdse",
                status=status,
            )
        register_secret(token)
        logger.debug(
            "cdse: got an OIDC token from %s for user %r", self.identity_url, self._username
        )
        return token

    def _request(
        self, method: str, url: str, *, headers: Mapping[str, str], data: bytes | None = None
    ) -> tuple[int, bytes]:
        # S310: both URLs were checked to be http(s) in __init__, so no file:// can be opened.
        request = urllib.request.Request(url, data=data, headers=dict(headers), method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return int(error.code), bytes(error.read())
        except (urllib.error.URLError, OSError) as error:
            raise RemoteError(
                f"could not reach the CDSE endpoint {url}: {error}", recipe="cdse"
            ) from None

    def _fail(self, what: str, url: str, status: int, body: bytes) -> NoReturn:
        detail = _error_detail(body)
        said = f"HTTP {status}" + (f": {detail}" if detail else "")
        if status >= 500:
            raise RemoteError(
                f"CDSE failed to {what} at {url} ({said}); try again later",
                recipe="cdse",
                status=status,
            )
        if url == self.identity_url:
            fix = (
                "check username= and password= of obstac.recipes.cdse() (env CDSE_USERNAME / "
                "CDSE_PASSWORD)"
            )
        else:
            fix = (
                "pass a valid oidc_token=, or username= and password= (env CDSE_USERNAME / "
                "CDSE_PASSWORD), to obstac.recipes.cdse()"
            )
        raise CredentialsError(
            f"CDSE refused to {what} at {url} ({said}): {fix}; or pass S3 keys as "
            "access_key_id= / secret_access_key= (env CDSE_S3_ACCESS_KEY / CDSE_S3_SECRET_KEY)",
            recipe="cdse",
        )

    def __repr__(self) -> str:
        state = "given" if self._given else ("created" if self._keys else "not created yet")
        return f"CDSEKeys(source={self.source!r}, keys={state})"


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _error_detail(body: bytes) -> str:
    """A short reason from an OIDC (``error_description``) or API (``detail``) error body."""
    document = _json_object(body)
    for key in ("error_description", "detail", "error", "message"):
        value = document.get(key)
        if isinstance(value, str) and value:
            return value[:_MAX_DETAIL]
    return ""


@dataclass(frozen=True, eq=False, repr=False)
class CDSERecipe:
    """Reads CDSE's ``eodata`` bucket with CDSE S3 keys. Built by :func:`cdse`."""

    keys: CDSEKeys
    endpoint: str = DEFAULT_ENDPOINT
    requester_pays: bool = False
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    name: str = "cdse"
    _s3: S3Recipe = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s3 = S3Recipe(
            endpoint=self.endpoint,
            region=REGION,
            virtual_hosted_style=False,
            credential_provider=self.keys,
            client_options=self.client_options,
            retry_config=self.retry_config,
            name=self.name,
        )
        object.__setattr__(self, "_s3", s3)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """S3 locations, and https URLs on CDSE's S3 endpoint (``/eodata/...``)."""
        del asset
        if location.kind is StoreKind.S3:
            return True
        return location.kind is StoreKind.HTTP and self._is_endpoint_host(location)

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """``s3://eodata`` and CDSE endpoint URLs, unless the item names another provider.

        An ``s3://`` href in another bucket is claimed when the asset's ``storage:schemes``
        or ``auth:schemes`` point at CDSE. ``s3://eodata`` is claimed unless its storage
        schemes name only other platforms (other DIAS clouds also have an ``eodata`` bucket).
        """
        if location.kind is StoreKind.HTTP:
            host = urlsplit(location.origin or "").hostname or ""
            return host in EODATA_HOSTS
        if location.kind is not StoreKind.S3 or location.origin is not None:
            return False  # an S3 https URL is an AWS host, not CDSE
        says = metadata_names_cdse(asset)
        if location.bucket == BUCKET:
            return says is not False
        return says is True

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """A path-style ``S3Store`` on CDSE's endpoint, region ``default``, with CDSE keys."""
        bucket_location = self._s3_location(location)
        pays = self.requester_pays or scheme_requester_pays(asset, self.endpoint)
        # storage:* describe several endpoints (cdse-s3, creodias-s3); only ours applies.
        fields = {k: v for k, v in asset.fields.items() if not k.startswith("storage:")}
        if pays:
            fields["storage:requester_pays"] = True
        route = self._s3.route(bucket_location, dataclasses.replace(asset, fields=fields))
        route = dataclasses.replace(
            route,
            store_key=(self, *route.store_key),
            credential_source=self.keys.source,
            credential_hint=_HINT,
            credentials_available=self.keys.available,
        )
        if not self.keys.available:
            return dataclasses.replace(route, resolve=_refuse(location, self.keys))
        if self.keys.pending:
            return dataclasses.replace(route, resolve=_create_keys(route, self.keys))
        return route

    def revoke_keys(self) -> bool:
        """Delete the temporary key pair this recipe created, if any (see :meth:`CDSEKeys.revoke`).

        Returns:
            True when a created key pair was deleted.
        """
        return self.keys.revoke()

    def _is_endpoint_host(self, location: Location) -> bool:
        """Whether an http(s) location is on a CDSE S3 host or on this recipe's own endpoint."""
        if (urlsplit(location.origin or "").hostname or "") in EODATA_HOSTS:
            return True
        endpoint = urlsplit(self.endpoint)
        port = f":{endpoint.port}" if endpoint.port else ""
        return location.origin == f"{endpoint.scheme}://{endpoint.hostname}{port}"

    def _s3_location(self, location: Location) -> Location:
        if location.kind is StoreKind.S3:
            require_bucket(location, self.name)
            return dataclasses.replace(location, region=REGION)
        bucket, _, key = location.key.partition("/")
        if not bucket:
            require_bucket(dataclasses.replace(location, bucket=None), self.name)
        return Location(
            kind=StoreKind.S3, bucket=bucket, key=key, region=REGION, href=location.href
        )

    def __repr__(self) -> str:
        return f"CDSERecipe(endpoint={self.endpoint!r}, region={REGION!r}, keys={self.keys!r})"


def _refuse(location: Location, keys: CDSEKeys) -> Callable[[], Route]:
    """A ``Route.resolve`` that fails before any request: there is no key to sign with."""

    def resolve() -> Route:
        raise CredentialsError(
            f"{location.safe_href!r} is on CDSE's S3 endpoint, which needs CDSE S3 keys: "
            f"{keys.missing}",
            href=location.href,
            recipe="cdse",
        )

    return resolve


def _create_keys(route: Route, keys: CDSEKeys) -> Callable[[], Route]:
    """A ``Route.resolve`` that creates the keys (two requests) before the first read."""

    def resolve() -> Route:
        keys.keys()
        return dataclasses.replace(route, resolve=None)

    return resolve


def _host(url: object) -> str:
    return (urlsplit(url).hostname or "") if isinstance(url, str) else ""


def _referenced_schemes(asset: AssetInfo) -> list[Mapping[str, Any]] | None:
    """The ``storage:schemes`` entries the asset refers to (all when it names none)."""
    schemes = asset.fields.get("storage:schemes")
    if not isinstance(schemes, Mapping):
        return None
    refs = asset.fields.get("storage:refs")
    chosen = [schemes.get(ref) for ref in refs] if isinstance(refs, list) else schemes.values()
    return [scheme for scheme in chosen if isinstance(scheme, Mapping)]


def metadata_names_cdse(asset: AssetInfo) -> bool | None:
    """Whether the asset's metadata points at CDSE: True, False, or None when it says nothing.

    ``storage:schemes`` (v2, through ``storage:refs``) with a platform on a CDSE S3 host, or
    ``auth:schemes`` with an OpenID Connect URL on CDSE's identity host, say True. Storage
    schemes that all name other platforms say False.
    """
    auth = asset.fields.get("auth:schemes")
    if isinstance(auth, Mapping) and any(
        isinstance(scheme, Mapping) and _host(scheme.get("openIdConnectUrl")) == _IDENTITY_HOST
        for scheme in auth.values()
    ):
        return True
    schemes = _referenced_schemes(asset)
    if not schemes:
        return None
    return any(_host(scheme.get("platform")) in EODATA_HOSTS for scheme in schemes)


def scheme_requester_pays(asset: AssetInfo, endpoint: str) -> bool:
    """The ``requester_pays`` of the asset's storage scheme on ``endpoint`` (False if none)."""
    host = _host(endpoint)
    return any(
        _host(scheme.get("platform")) == host and scheme.get("requester_pays") is True
        for scheme in _referenced_schemes(asset) or []
    )


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def cdse(
    *,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    oidc_token: str | None = None,
    endpoint: str = DEFAULT_ENDPOINT,
    requester_pays: bool = False,
    identity_url: str = DEFAULT_IDENTITY_URL,
    keys_url: str = DEFAULT_KEYS_URL,
    client_id: str = CLIENT_ID,
    key_propagation_delay: float = KEY_PROPAGATION_DELAY,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
) -> CDSERecipe:
    """A recipe for the Copernicus Data Space Ecosystem's ``eodata`` bucket.

    Credentials are taken from the first of: ``access_key_id=`` / ``secret_access_key=``;
    ``oidc_token=``; ``username=`` / ``password=``; env ``CDSE_S3_ACCESS_KEY`` /
    ``CDSE_S3_SECRET_KEY``; env ``CDSE_USERNAME`` / ``CDSE_PASSWORD``. A token or a username
    and password create a temporary key pair on first read (two requests, then
    ``key_propagation_delay`` seconds); :meth:`CDSERecipe.revoke_keys` deletes it. Routing
    never makes a request.

    Args:
        access_key_id: CDSE S3 access key (env ``CDSE_S3_ACCESS_KEY``).
        secret_access_key: Its secret (env ``CDSE_S3_SECRET_KEY``).
        username: CDSE account for creating keys (env ``CDSE_USERNAME``).
        password: Its password (env ``CDSE_PASSWORD``).
        oidc_token: An OIDC access token of a CDSE account, to create keys with.
        endpoint: The S3 endpoint (``https://eodata.ams.dataspace.copernicus.eu`` pins OTC;
            a local moto server for tests).
        requester_pays: Send ``x-amz-request-payer: requester``; also set when the asset's
            storage scheme on ``endpoint`` says requester-pays (CREODIAS).
        identity_url: The OIDC token endpoint (password grant).
        keys_url: The S3 keys manager's ``/api/user/credentials`` URL.
        client_id: The OIDC client of the password grant.
        key_propagation_delay: Seconds to wait after creating keys, before the first read
            (default 5 s, as CDSE's documentation does).
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
    """
    for secret in (access_key_id, secret_access_key, oidc_token, password):
        register_secret(secret)
    common: dict[str, Any] = {
        "identity_url": identity_url,
        "keys_url": keys_url,
        "client_id": client_id,
        "propagation_delay": key_propagation_delay,
    }
    keys = _keys_from(
        access_key_id, secret_access_key, username, password, oidc_token, common=common
    )
    return CDSERecipe(
        keys=keys,
        endpoint=endpoint.rstrip("/"),
        requester_pays=requester_pays,
        client_options=client_options,
        retry_config=retry_config,
    )


def _keys_from(
    access_key_id: str | None,
    secret_access_key: str | None,
    username: str | None,
    password: str | None,
    oidc_token: str | None,
    *,
    common: dict[str, Any],
) -> CDSEKeys:
    """Pick the credential source in the documented order; explain what is missing."""
    if access_key_id or secret_access_key:
        return _key_pair(
            access_key_id or _env("CDSE_S3_ACCESS_KEY"),
            secret_access_key or _env("CDSE_S3_SECRET_KEY"),
            "parameter access_key_id" if access_key_id else "env CDSE_S3_ACCESS_KEY",
            common,
        )
    if oidc_token:
        return CDSEKeys(
            source="S3 keys created with parameter oidc_token", oidc_token=oidc_token, **common
        )
    if username or password:
        return _login(
            username or _env("CDSE_USERNAME"),
            password or _env("CDSE_PASSWORD"),
            "parameter username" if username else "env CDSE_USERNAME",
            common,
        )
    env_key, env_secret = _env("CDSE_S3_ACCESS_KEY"), _env("CDSE_S3_SECRET_KEY")
    if env_key or env_secret:
        return _key_pair(env_key, env_secret, "env CDSE_S3_ACCESS_KEY", common)
    env_user, env_password = _env("CDSE_USERNAME"), _env("CDSE_PASSWORD")
    if env_user or env_password:
        return _login(env_user, env_password, "env CDSE_USERNAME", common)
    return CDSEKeys(
        source="none (no CDSE S3 keys, token or login given)",
        missing=f"no credentials were given: {_HINT}",
        **common,
    )


def _key_pair(
    key_id: str | None, secret: str | None, source: str, common: dict[str, Any]
) -> CDSEKeys:
    register_secret(key_id)
    register_secret(secret)
    if key_id and secret:
        return CDSEKeys(source=source, access_key_id=key_id, secret_access_key=secret, **common)
    missing = (
        "access_key_id= / CDSE_S3_ACCESS_KEY is set but secret_access_key= / "
        "CDSE_S3_SECRET_KEY is not"
        if key_id
        else "secret_access_key= / CDSE_S3_SECRET_KEY is set but access_key_id= / "
        "CDSE_S3_ACCESS_KEY is not"
    )
    return CDSEKeys(source=f"incomplete ({source})", missing=f"{missing}: {_HINT}", **common)


def _login(
    username: str | None, password: str | None, source: str, common: dict[str, Any]
) -> CDSEKeys:
    register_secret(password)
    if username and password:
        return CDSEKeys(
            source=f"S3 keys created by logging in as {source}",
            username=username,
            password=password,
            **common,
        )
    missing = (
        "username= / CDSE_USERNAME is set but password= / CDSE_PASSWORD is not"
        if username
        else "password= / CDSE_PASSWORD is set but username= / CDSE_USERNAME is not"
    )
    return CDSEKeys(source=f"incomplete ({source})", missing=f"{missing}: {_HINT}", **common)
