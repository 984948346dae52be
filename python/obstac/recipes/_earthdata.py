"""NASA Earthdata: Earthdata Login (EDL) in front of the DAACs' S3 buckets and https downloads.

NASA's cloud archive (Earthdata Cloud) keeps its files in S3 buckets in AWS ``us-west-2`` and
serves them two ways, both behind an Earthdata Login:

- **In region** (code running in us-west-2): straight from S3, with temporary credentials
  (one hour) that the DAAC's ``/s3credentials`` endpoint hands out to an EDL user. This recipe
  reads ``s3://`` hrefs that way, and https hrefs too when the DAAC table
  (:mod:`obstac.recipes._earthdata_daacs`) knows their bucket. Credentials come from obstore's
  ``NasaEarthdataCredentialProvider`` (a bearer token, or the EDL OAuth redirect with basic
  auth sent to the EDL host only); obstore fetches new ones when fewer than 300 s remain.
- **Anywhere else**: the https hrefs, with ``Authorization: Bearer <EDL token>``. The DAAC
  answers with a redirect to a presigned S3 URL, and obstore drops the ``Authorization`` header
  on that cross-origin redirect, so the token never leaves the DAAC. Given a username and
  password instead of a token, the recipe first asks EDL for the user's token
  (``POST /api/users/find_or_create_token`` with basic auth to the EDL host, as earthaccess
  does), once, before the first read; obstore's ``HTTPStore`` cannot follow EDL's
  cookie-based OAuth redirect itself.

Whether the code runs in region is ``in_region=``, else ``AWS_REGION`` /
``AWS_DEFAULT_REGION`` equal to ``us-west-2``. The instance-metadata service is never asked: a
machine outside AWS would wait on it.

Credentials, the first one found wins: ``token=``; ``username=`` and ``password=``; the file
given as ``netrc=``; env ``EARTHDATA_TOKEN``; env ``EARTHDATA_USERNAME`` and
``EARTHDATA_PASSWORD``; the netrc file (env ``NETRC``, else ``~/.netrc``, ``~/_netrc`` on
Windows) entry of the EDL host (``edl_host=``, env ``EARTHDATA_HOST``, else
``urs.earthdata.nasa.gov``). Without any, routes say ``credentials_available=False`` (selection
then tries the asset's ``alternate`` hrefs), public https files are still read anonymously, and
anything needing a login fails with a :class:`~obstac.errors.CredentialsError` naming what to
set.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote, urlsplit

from obstac._redact import redact, register_secret
from obstac.errors import CredentialsError, ObstacError, RecipeError, RemoteError
from obstac.hrefs import Location, StoreKind, parse_href
from obstac.recipes._base import Route, html_login_check, require_bucket
from obstac.recipes._earthdata_daacs import (
    EARTHDATA_DOMAINS,
    HTTPS_TO_S3,
    S3_CREDENTIALS_ENDPOINTS,
)
from obstac.recipes._http import HTTPRecipe
from obstac.recipes._netrc import default_netrc, netrc_login
from obstac.recipes._s3 import S3Recipe

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config, S3Credential

    from obstac._assets import AssetInfo

__all__ = [
    "DEFAULT_EDL_HOST",
    "ENV_VARS",
    "IN_REGION",
    "EarthdataLogin",
    "EarthdataRecipe",
    "EarthdataS3Credentials",
    "earthdata",
]

logger = logging.getLogger(__name__)

DEFAULT_EDL_HOST = "urs.earthdata.nasa.gov"
"""Earthdata Login's production host."""

IN_REGION = "us-west-2"
"""The AWS region of Earthdata Cloud; its S3 credentials work there only."""

ENV_VARS = (
    "EARTHDATA_TOKEN",
    "EARTHDATA_USERNAME",
    "EARTHDATA_PASSWORD",
    "EARTHDATA_HOST",
    "NETRC",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
"""The environment variables :func:`earthdata` reads."""

HTTP_TIMEOUT = 30.0
"""Seconds allowed for the request to EDL's token API."""

TOKEN_MARGIN = timedelta(days=1)
"""An EDL token (valid 60 days) is asked for again when it expires within this margin."""

_NAME = "earthdata"


@dataclass(frozen=True)
class EarthdataLogin:
    """The Earthdata Login credential a recipe uses. Its ``repr`` shows the source only.

    Attributes:
        source: Where it came from, e.g. ``"env EARTHDATA_TOKEN"`` (never the value).
        token: An EDL bearer token, or None.
        username: The EDL user name, or None.
        password: The EDL password, or None.
    """

    source: str
    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        register_secret(self.token)
        register_secret(self.password)
        if self.username and self.password:
            register_secret(base64.b64encode(f"{self.username}:{self.password}".encode()).decode())

    @property
    def auth(self) -> str | tuple[str, str]:
        """What obstore's credential provider takes: the token, else (username, password)."""
        if self.token:
            return self.token
        return (self.username or "", self.password or "")


class EarthdataS3Credentials:
    """An obstore ``S3CredentialProvider``: temporary credentials from a DAAC's s3credentials.

    A thin wrapper of ``obstore.auth.earthdata.NasaEarthdataCredentialProvider`` (requests):
    it registers every fetched key as a secret, gives ``expires_at`` the exact
    ``datetime.timezone.utc`` obstore needs, and turns a refused login into a
    :class:`~obstac.errors.CredentialsError` naming what to set.

    Attributes:
        config: ``{"region": "us-west-2"}``, merged by obstore into the store's config.
        credentials_url: The ``/s3credentials`` endpoint.
    """

    def __init__(
        self, credentials_url: str, *, login: EarthdataLogin, edl_hostname: str, hint: str
    ) -> None:
        """Prepare the provider; no request is made until obstore asks for credentials.

        Args:
            credentials_url: The DAAC's ``/s3credentials`` endpoint.
            login: The EDL credential to present (token, or username and password).
            edl_hostname: EDL's host name: basic auth is sent on a redirect to it only.
            hint: What to set when the login is refused (for the error message).
        """
        from obstore.auth.earthdata import NasaEarthdataCredentialProvider

        self.config: S3Config = {"region": IN_REGION}
        self.credentials_url = credentials_url
        self._login = login
        self._hint = hint
        self._inner = NasaEarthdataCredentialProvider(
            credentials_url, host=edl_hostname, auth=login.auth
        )
        # Stores of several buckets of one DAAC share this provider: one fetch at a time.
        self._lock = threading.Lock()

    def __call__(self) -> S3Credential:
        """Fetch new temporary credentials (obstore calls this when < 300 s remain)."""
        with self._lock:
            try:
                credential = self._inner()
            except Exception as error:  # requests' errors; obstore wraps whatever is raised
                raise self._error(error) from None
            finally:
                # One fetch an hour: close its connections rather than leave sockets to the
                # garbage collector. The session (and its EDL cookies) stays usable.
                self._inner.session.close()
        register_secret(credential["access_key_id"])
        register_secret(credential["secret_access_key"])
        register_secret(credential.get("token"))
        expires = credential.get("expires_at")
        if expires is not None:
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=UTC)
            expires = expires.astimezone(UTC)
            credential["expires_at"] = expires
            logger.debug(
                "earthdata: temporary S3 credentials from %s, valid until %s",
                self.credentials_url,
                expires.isoformat(),
            )
        return credential

    def _error(self, error: Exception) -> ObstacError:
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if status in (401, 403):
            return CredentialsError(
                f"{self.credentials_url} did not accept the Earthdata Login from "
                f"{self._login.source} (HTTP {status}): {self._hint}",
                href=self.credentials_url,
                recipe=_NAME,
            )
        if isinstance(error, KeyError | ValueError):
            return RemoteError(
                f"{self.credentials_url} answered something other than S3 credentials "
                f"({type(error).__name__})",
                href=self.credentials_url,
                recipe=_NAME,
            )
        return RemoteError(
            f"fetching S3 credentials from {self.credentials_url} failed: "
            f"{type(error).__name__}: {redact(str(error))[:200]}",
            href=self.credentials_url,
            recipe=_NAME,
            status=status if isinstance(status, int) else None,
        )

    def __repr__(self) -> str:
        return (
            f"EarthdataS3Credentials(credentials_url={self.credentials_url!r}, "
            f"login={self._login.source!r})"
        )


@dataclass
class _State:
    """What a recipe builds lazily and shares between its routes (under one lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    s3_recipes: dict[str, S3Recipe] = field(default_factory=dict)
    http_recipes: dict[str | None, HTTPRecipe] = field(default_factory=dict)
    token: str | None = None
    token_expires: datetime | None = None


@dataclass(frozen=True, eq=False, repr=False)
class EarthdataRecipe:
    """Reads NASA Earthdata assets: S3 in us-west-2, https with an EDL token elsewhere.

    Built by :func:`earthdata`; see it for the meaning of each field.
    """

    login: EarthdataLogin | None
    in_region: bool
    edl_url: str = f"https://{DEFAULT_EDL_HOST}"
    credentials_url: str | None = None
    s3_endpoint: str | None = None
    bucket_credentials: Mapping[str, str] = field(default_factory=lambda: S3_CREDENTIALS_ENDPOINTS)
    https_to_s3: tuple[tuple[str, str], ...] = HTTPS_TO_S3
    hosts: tuple[str, ...] = ()
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    name: str = _NAME
    _state: _State = field(default_factory=_State, init=False, repr=False)

    @property
    def edl_hostname(self) -> str:
        """EDL's host name (the only host basic auth is ever sent to)."""
        return urlsplit(self.edl_url).hostname or DEFAULT_EDL_HOST

    @property
    def credential_hint(self) -> str:
        """What to set when Earthdata refuses access (names parameters and env vars)."""
        host = self.edl_hostname
        return (
            "pass token= to obstac.recipes.earthdata() or set EARTHDATA_TOKEN (an Earthdata "
            f"Login token: {self.edl_url}/profile, 'Generate Token'), or pass username= and "
            "password= or set EARTHDATA_USERNAME and EARTHDATA_PASSWORD, or put "
            f"'machine {host} login USER password PASSWORD' in your netrc file (~/.netrc, or the "
            "file NETRC names)"
        )

    def credential_source(self) -> str:
        """Where the EDL credential comes from (never its value)."""
        return self.login.source if self.login is not None else "none found"

    # -- which assets ------------------------------------------------------------------------

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """``s3://`` hrefs, and https hrefs on Earthdata hosts (the EDL token goes nowhere else).

        Earthdata hosts: ``*.earthdata.nasa.gov``, ``*.earthdatacloud.nasa.gov``, the hosts of
        ``https_to_s3`` and ``hosts``, and any host an item from CMR-STAC
        (``cmr.earthdata.nasa.gov``) points to.
        """
        if location.kind is StoreKind.S3:
            return True
        return location.kind is StoreKind.HTTP and self._takes_token(location, asset)

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """Buckets of the DAAC table, and https hrefs on Earthdata hosts (see :meth:`handles`)."""
        if location.kind is StoreKind.S3:
            return location.bucket in self.bucket_credentials
        return location.kind is StoreKind.HTTP and self._takes_token(location, asset)

    def _takes_token(self, location: Location, asset: AssetInfo) -> bool:
        host = urlsplit(location.origin or "").hostname or ""
        if _in_domains(host, EARTHDATA_DOMAINS) or host in self.hosts:
            return True
        if self._s3_for_https(location) is not None:
            return True
        base_host = urlsplit(asset.base or "").hostname or ""
        return _in_domains(base_host, EARTHDATA_DOMAINS)

    # -- routing -----------------------------------------------------------------------------

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """S3 with s3credentials in region, else https with the EDL token (no request made)."""
        if location.kind is StoreKind.S3:
            if self.in_region:
                return self._s3_route(location, asset)
            https = self._https_for_s3(location)
            if https is not None:
                return self._http_route(https, asset)
            return self._out_of_region_route(location)
        if location.kind is StoreKind.HTTP:
            if self.in_region and self.login is not None:
                s3_location = self._s3_for_https(location)
                if s3_location is not None and self._credentials_url_for(s3_location):
                    return self._s3_route(s3_location, asset)
            return self._http_route(location, asset)
        raise RecipeError(
            f"recipe {self.name!r} reads s3:// and https hrefs, not {location.safe_href!r}",
            href=location.href,
            recipe=self.name,
        )

    def _credentials_url_for(self, location: Location) -> str | None:
        return self.credentials_url or self.bucket_credentials.get(location.bucket or "")

    def _s3_route(self, location: Location, asset: AssetInfo) -> Route:
        bucket = require_bucket(location, self.name)
        url = self._credentials_url_for(location)
        if url is None:
            raise RecipeError(
                f"no s3credentials endpoint is known for bucket {bucket!r} of "
                f"{location.safe_href!r}: pass credentials_url= (the DAAC's "
                "https://.../s3credentials, which CMR lists as S3CredentialsAPIEndpoint of the "
                f"collection) or bucket_credentials={{{bucket!r}: ...}} to "
                "obstac.recipes.earthdata()",
                href=location.href,
                recipe=self.name,
            )
        hint = (
            f"{self.credential_hint}. Direct S3 access works only from AWS {IN_REGION}; "
            "elsewhere pass in_region=False to read the https hrefs"
        )
        if self.login is None:
            return self._unreadable(
                location,
                description=f"S3Store(bucket={bucket!r}, region={IN_REGION!r})",
                source="none: no Earthdata Login credentials found",
                message=(
                    f"reading {location.safe_href} needs temporary S3 credentials from {url}, "
                    f"which need an Earthdata Login: {self.credential_hint}"
                ),
                hint=hint,
            )
        route = self._s3_recipe(url, self.login).route(location, asset)
        return replace(
            route,
            recipe=self.name,
            store_key=(self, *route.store_key),
            credential_source=f"temporary S3 credentials from {url} (Earthdata Login: "
            f"{self.login.source})",
            credential_hint=hint,
        )

    def _s3_recipe(self, credentials_url: str, login: EarthdataLogin) -> S3Recipe:
        """One S3 recipe (so one credential provider) per s3credentials endpoint."""
        with self._state.lock:
            recipe = self._state.s3_recipes.get(credentials_url)
            if recipe is None:
                provider = EarthdataS3Credentials(
                    credentials_url,
                    login=login,
                    edl_hostname=self.edl_hostname,
                    hint=self.credential_hint,
                )
                recipe = S3Recipe(
                    endpoint=self.s3_endpoint,
                    region=IN_REGION,
                    credential_provider=provider,
                    client_options=self.client_options,
                    retry_config=self.retry_config,
                    name=self.name,
                )
                self._state.s3_recipes[credentials_url] = recipe
            return recipe

    def _out_of_region_route(self, location: Location) -> Route:
        bucket = require_bucket(location, self.name)
        message = (
            f"{location.safe_href} can only be read in AWS {IN_REGION} (this recipe has "
            "in_region=False: AWS_REGION / AWS_DEFAULT_REGION is not us-west-2), and the DAAC "
            "table knows no https URL for its bucket: read the asset's https href, pass "
            "https_to_s3= to obstac.recipes.earthdata(), or run in us-west-2 with "
            "in_region=True"
        )
        return self._unreadable(
            location,
            description=f"S3Store(bucket={bucket!r}, region={IN_REGION!r})",
            source=f"none: out of region {IN_REGION}",
            message=message,
            hint=message,
        )

    def _unreadable(
        self, location: Location, *, description: str, source: str, message: str, hint: str
    ) -> Route:
        """A route that fails on first read, before any request, with ``message``."""

        def fail() -> NoReturn:
            raise CredentialsError(message, href=location.href, recipe=self.name)

        return Route(
            recipe=self.name,
            store_key=(self, "unreadable", location.bucket, location.kind.value),
            build=fail,
            path=location.key,
            store_description=description,
            credential_source=source,
            credential_hint=hint,
            credentials_available=False,
            resolve=fail,
        )

    def _http_route(self, location: Location, asset: AssetInfo) -> Route:
        login = self.login
        if login is None:
            route = self._http_recipe(None).route(location, asset)
            return self._dress(
                route,
                location,
                "anonymous (no Earthdata Login credentials found)",
                available=False,
            )
        if login.token:
            route = self._http_recipe(login.token).route(location, asset)
            return self._dress(route, location, f"EDL bearer token ({login.source})")
        source = f"EDL bearer token from {self.edl_url} for the user of {login.source}"
        planned = self._dress(self._http_recipe(None).route(location, asset), location, source)

        def resolve() -> Route:
            route = self._http_recipe(self._edl_token(login)).route(location, asset)
            return self._dress(route, location, source)

        return replace(
            planned,
            store_key=(self, "edl-token", *planned.store_key[2:]),
            build=lambda: resolve().build(),
            resolve=resolve,
        )

    def _dress(
        self, route: Route, location: Location, source: str, *, available: bool = True
    ) -> Route:
        """A generic HTTP route as this recipe's: name, key, source, hint, login-page check."""
        return replace(
            route,
            recipe=self.name,
            store_key=(self, *route.store_key),
            credential_source=source,
            credential_hint=self.credential_hint,
            credentials_available=available,
            check_body=html_login_check(self.name, location.href, self.credential_hint),
        )

    def _http_recipe(self, token: str | None) -> HTTPRecipe:
        """One HTTP recipe per token (so stores and connections are shared across assets)."""
        with self._state.lock:
            recipe = self._state.http_recipes.get(token)
            if recipe is None:
                register_secret(token)
                headers = {"Authorization": f"Bearer {token}"} if token else None
                recipe = HTTPRecipe(
                    headers=headers,
                    client_options=self.client_options,
                    retry_config=self.retry_config,
                    name=self.name,
                )
                self._state.http_recipes[token] = recipe
            return recipe

    def _edl_token(self, login: EarthdataLogin) -> str:
        """The user's EDL token, asked of EDL once (and again only near its expiry)."""
        with self._state.lock:
            now = datetime.now(UTC)
            expires = self._state.token_expires
            if self._state.token and (expires is None or expires - TOKEN_MARGIN > now):
                return self._state.token
            token, expires = _find_or_create_token(
                self.edl_url, login, self.credential_hint, self.name
            )
            self._state.token, self._state.token_expires = token, expires
            return token

    # -- https <-> s3 ------------------------------------------------------------------------

    def _s3_for_https(self, location: Location) -> Location | None:
        """The ``s3://`` location of an https href, when the DAAC table maps its prefix."""
        if location.kind is not StoreKind.HTTP or location.query or not location.origin:
            return None
        url = f"{location.origin}/{location.key}"
        for https_prefix, s3_prefix in self.https_to_s3:
            if url.startswith(https_prefix):
                bucket, _, key_prefix = s3_prefix.removeprefix("s3://").partition("/")
                key = key_prefix + url[len(https_prefix) :]
                return Location(
                    kind=StoreKind.S3,
                    bucket=bucket,
                    key=key,
                    region=IN_REGION,
                    href=f"s3://{bucket}/{key}",
                )
        return None

    def _https_for_s3(self, location: Location) -> Location | None:
        """The https location of an ``s3://`` href, when the DAAC table maps its bucket."""
        url = f"s3://{location.bucket}/{location.key}"
        for https_prefix, s3_prefix in self.https_to_s3:
            if url.startswith(s3_prefix):
                return parse_href(https_prefix + quote(url[len(s3_prefix) :]))
        return None

    def __repr__(self) -> str:
        return (
            f"EarthdataRecipe(in_region={self.in_region}, edl_host={self.edl_hostname!r}, "
            f"login={self.credential_source()!r})"
        )


def _in_domains(host: str, domains: Sequence[str]) -> bool:
    return any(host == domain or host.endswith(f".{domain}") for domain in domains)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: basic auth must reach the EDL host and no other."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _find_or_create_token(
    edl_url: str, login: EarthdataLogin, hint: str, recipe: str
) -> tuple[str, datetime | None]:
    """Ask EDL for the user's bearer token (``POST /api/users/find_or_create_token``).

    Returns:
        The token and its expiry, when EDL's ``expiration_date`` (``M/D/YYYY``) parses.
    """
    url = f"{edl_url}/api/users/find_or_create_token"
    basic = base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
    register_secret(basic)
    # S310: _edl_url() only lets http(s) URLs through, so no file:// can be opened here.
    request = urllib.request.Request(  # noqa: S310
        url,
        data=b"",
        method="POST",
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        error.close()
        if error.code in (401, 403):
            raise CredentialsError(
                f"Earthdata Login at {edl_url} refused the username and password from "
                f"{login.source} (HTTP {error.code}): {hint}",
                href=url,
                recipe=recipe,
            ) from None
        raise RemoteError(
            f"Earthdata Login's token API at {url} answered HTTP {error.code}",
            href=url,
            recipe=recipe,
            status=error.code,
        ) from None
    except (urllib.error.URLError, OSError) as error:
        raise RemoteError(
            f"Earthdata Login's token API at {url} could not be reached: {error}",
            href=url,
            recipe=recipe,
        ) from None
    try:
        answer = json.loads(body)
        token = str(answer["access_token"])
    except (ValueError, KeyError, TypeError):
        raise RemoteError(
            f"Earthdata Login's token API at {url} answered without an access_token",
            href=url,
            recipe=recipe,
        ) from None
    register_secret(token)
    expires = _edl_date(answer.get("expiration_date"))
    logger.debug("earthdata: got an EDL token from %s (expires %s)", url, expires or "unknown")
    return token, expires


def _edl_date(value: object) -> datetime | None:
    """EDL's ``expiration_date`` (``"7/13/2025"``, or ISO 8601) as a UTC datetime."""
    if not isinstance(value, str):
        return None
    for parse in (
        lambda text: datetime.strptime(text, "%m/%d/%Y"),
        datetime.fromisoformat,
    ):
        try:
            parsed = parse(value.strip())
        except ValueError:
            continue
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


def _edl_url(edl_host: str | None) -> str:
    """EDL's base URL from ``edl_host=`` / ``EARTHDATA_HOST``: a host name or an http(s) URL."""
    raw = (edl_host or os.environ.get("EARTHDATA_HOST") or DEFAULT_EDL_HOST).strip().rstrip("/")
    url = raw if "://" in raw else f"https://{raw}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecipeError(
            f"edl_host={raw!r} (or EARTHDATA_HOST) must be a host name such as "
            f"{DEFAULT_EDL_HOST!r} or an http(s) URL",
            recipe=_NAME,
        )
    return url


def _netrc_login(path: Path | None, host: str, *, explicit: bool) -> EarthdataLogin | None:
    found = netrc_login(host, path, recipe=_NAME, explicit=explicit)
    if found is None:
        return None
    where = path if path is not None else default_netrc()
    return EarthdataLogin(f"netrc {where} (machine {host})", username=found[0], password=found[1])


def _find_login(
    token: str | None,
    username: str | None,
    password: str | None,
    netrc: str | os.PathLike[str] | None,
    host: str,
) -> EarthdataLogin | None:
    if token:
        return EarthdataLogin("parameter token", token=token)
    if username or password:
        if not (username and password):
            missing = "password=" if username else "username="
            raise RecipeError(
                f"obstac.recipes.earthdata() got only one of username= and password=: pass "
                f"{missing} too (or set EARTHDATA_USERNAME and EARTHDATA_PASSWORD), or pass "
                "token= (env EARTHDATA_TOKEN)",
                recipe=_NAME,
            )
        return EarthdataLogin("parameters username/password", username=username, password=password)
    if netrc is not None:
        return _netrc_login(Path(netrc).expanduser(), host, explicit=True)
    if env_token := os.environ.get("EARTHDATA_TOKEN"):
        return EarthdataLogin("env EARTHDATA_TOKEN", token=env_token)
    env_user = os.environ.get("EARTHDATA_USERNAME")
    env_password = os.environ.get("EARTHDATA_PASSWORD")
    if env_user and env_password:
        return EarthdataLogin(
            "env EARTHDATA_USERNAME/EARTHDATA_PASSWORD", username=env_user, password=env_password
        )
    return _netrc_login(None, host, explicit=False)


def _in_region_from_env() -> bool:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return region == IN_REGION


def earthdata(
    *,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
    netrc: str | os.PathLike[str] | None = None,
    credentials_url: str | None = None,
    edl_host: str | None = None,
    in_region: bool | None = None,
    s3_endpoint: str | None = None,
    bucket_credentials: Mapping[str, str] | None = None,
    https_to_s3: Mapping[str, str] | None = None,
    hosts: Sequence[str] = (),
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
) -> EarthdataRecipe:
    """A recipe for NASA Earthdata (CMR-STAC items, DAAC https URLs, Earthdata Cloud buckets).

    Reads ``s3://`` hrefs (and https hrefs the DAAC table maps to a bucket) straight from S3
    when running in AWS us-west-2, with temporary credentials from the DAAC's
    ``/s3credentials``, refreshed before they expire; elsewhere reads the https hrefs with an
    EDL bearer token. Nothing is requested until the first read.

    Args:
        token: An EDL bearer token (env ``EARTHDATA_TOKEN``), from your EDL profile page.
        username: Your EDL user name (env ``EARTHDATA_USERNAME``); with ``password``.
        password: Your EDL password (env ``EARTHDATA_PASSWORD``). Basic auth is only ever sent
            to the EDL host.
        netrc: A netrc file holding ``machine <EDL host> login ... password ...``. Default:
            env ``NETRC``, else ``~/.netrc`` (``~/_netrc`` on Windows), used when neither
            parameters nor env variables give a credential.
        credentials_url: The ``/s3credentials`` endpoint to use for every bucket, instead of
            the DAAC table (e.g. a DAAC the table does not list).
        edl_host: Earthdata Login's host, or its base URL (env ``EARTHDATA_HOST``; default
            ``urs.earthdata.nasa.gov``; ``uat.urs.earthdata.nasa.gov`` for UAT).
        in_region: Whether this code runs in AWS us-west-2. Default: ``AWS_REGION`` or
            ``AWS_DEFAULT_REGION`` is ``us-west-2`` (the instance-metadata service is never
            asked).
        s3_endpoint: An S3 endpoint other than AWS's (a local test server).
        bucket_credentials: More ``{bucket: s3credentials URL}`` rows, over the DAAC table.
        https_to_s3: More ``{https URL prefix: s3:// URL prefix}`` rows, tried before the DAAC
            table, e.g. ``{"https://data.lpdaac.earthdatacloud.nasa.gov/lp-prod-protected/":
            "s3://lp-prod-protected/"}``.
        hosts: More host names the EDL token may be sent to (on-premises DAAC servers);
            ``*.earthdata.nasa.gov`` and ``*.earthdatacloud.nasa.gov`` always may.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).

    Raises:
        RecipeError: Only one of ``username`` and ``password`` was given, or the ``netrc``
            file passed cannot be read.
    """
    edl_url = _edl_url(edl_host)
    host = urlsplit(edl_url).hostname or DEFAULT_EDL_HOST
    login = _find_login(token, username, password, netrc, host)
    table = dict(S3_CREDENTIALS_ENDPOINTS)
    table.update(bucket_credentials or {})
    prefixes = tuple((https_to_s3 or {}).items()) + HTTPS_TO_S3
    return EarthdataRecipe(
        login=login,
        in_region=_in_region_from_env() if in_region is None else in_region,
        edl_url=edl_url,
        credentials_url=credentials_url,
        s3_endpoint=s3_endpoint,
        bucket_credentials=table,
        https_to_s3=prefixes,
        hosts=tuple(h.lower() for h in hosts),
        client_options=client_options,
        retry_config=retry_config,
    )
