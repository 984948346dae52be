"""The generic HTTP(S) recipe: any URL, with optional headers, through obstore's ``HTTPStore``.

One store per origin serves every plain URL there, so connections are reused across assets.
A URL with a query string (``?ref=main``, a presigned signature) gets a store whose base URL
carries that query, since obstore paths cannot hold one; the query is part of the resource and
is sent as given.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from obstore.store import HTTPStore

from obstac import _defaults
from obstac._redact import has_credential_query, redact_url, register_secret
from obstac.errors import RemoteError
from obstac.hrefs import StoreKind
from obstac.recipes._base import Route, frozen_items, refuse_insecure_credentials
from obstac.recipes._probe import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    http_location,
    origin_of,
    probe,
    without_userinfo,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["HTTPRecipe", "http"]

logger = logging.getLogger(__name__)

_DROPPED_ON_REDIRECT = frozenset({"authorization", "cookie", "proxy-authorization"})
"""Headers obstore (reqwest) itself removes when a redirect leaves the origin; any other header
of the recipe would be forwarded, so a route with one looks before it reads."""

_SENSITIVE_HEADER = re.compile(r"(?i)(authorization|token|key|secret|cookie|password)")
_HINT = (
    "pass headers= (e.g. {'Authorization': 'Bearer ...'}) to obstac.recipes.http(), or use the "
    "provider's recipe (obstac.recipes.dlr(), sharinghub(), earthdata(), ...)"
)


@dataclass(frozen=True, eq=False, repr=False)
class HTTPRecipe:
    """Reads http(s) URLs through obstore's ``HTTPStore``. Built by :func:`http`."""

    headers: Mapping[str, str] | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    allow_insecure_credentials: bool = False
    name: str = "http"

    def __post_init__(self) -> None:
        for header, value in (self.headers or {}).items():
            if _SENSITIVE_HEADER.search(header):
                register_secret(value)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """HTTP locations only (cloud https URLs parse to S3/Azure/GCS locations)."""
        return location.kind is StoreKind.HTTP

    def credential_source(self, location: Location | None = None) -> str:
        """Where this recipe's credentials come from (never their value)."""
        sources = []
        if location is not None and location.userinfo:
            sources.append("basic auth from the URL's userinfo")
        if self.headers:
            sources.append(f"headers {', '.join(sorted(self.headers))}")
        return "; ".join(sources) or "anonymous"

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An ``HTTPStore`` for the URL's origin (or origin + directory + query); its path."""
        base, path = _base_and_path(location)
        headers = dict(self.headers or {})
        if location.userinfo:
            register_secret(location.userinfo)
            token = base64.b64encode(location.userinfo.encode()).decode()
            register_secret(token)
            headers.setdefault("Authorization", f"Basic {token}")
        if headers:
            refuse_insecure_credentials(
                location.href,
                recipe=self.name,
                href=location.href,
                allow=self.allow_insecure_credentials,
                what=f"credentials ({self.credential_source(location)})",
            )

        def build() -> HTTPStore:
            options = _defaults.client_options(
                self.client_options, allow_http=base.startswith("http://")
            )
            if headers:
                user_headers = (self.client_options or {}).get("default_headers", {})
                merged = {
                    k: v if isinstance(v, str) else v.decode() for k, v in user_headers.items()
                }
                options["default_headers"] = {**merged, **headers}
            return HTTPStore.from_url(base, client_options=options, retry_config=self.retry_config)

        route = Route(
            recipe=self.name,
            store_key=(self, base, location.userinfo, frozen_items(headers)),
            build=build,
            path=path,
            store_description=f"HTTPStore(url={redact_url(base)!r})",
            credential_source=self.credential_source(location),
            credential_hint=_HINT,
        )
        forwarded = any(name.lower() not in _DROPPED_ON_REDIRECT for name in headers)
        if not forwarded and not has_credential_query(location.href):
            return route

        def resolve() -> Route:
            return self._resolve_on_origin(location, asset, headers, route)

        return replace(route, resolve=resolve)

    def _resolve_on_origin(
        self, location: Location, asset: AssetInfo, headers: Mapping[str, str], route: Route
    ) -> Route:
        """Look once without redirects so credentials never reach another origin.

        obstore forwards custom headers (an API key, a token header) along any redirect, and
        sends the URL it leaves, query and all (a presigned signature, a token parameter), as
        ``Referer`` to the next origin. Redirects within the origin are followed by hand with
        the headers; a redirect to another origin is read from there directly, without them.
        """
        start = without_userinfo(location.href)
        url = start
        for _ in range(MAX_REDIRECTS + 1):
            answer = probe(url, headers, recipe=self.name)
            logger.debug(
                "%s: GET %s (headers, no redirects) -> %d",
                self.name,
                answer.safe_url,
                answer.status,
            )
            if answer.status not in REDIRECT_STATUSES or not answer.location:
                if url == start:
                    return route
                return replace(self.route(http_location(url), asset), resolve=None)
            if origin_of(answer.location) != origin_of(start):
                logger.debug(
                    "%s: redirected to another origin, reading %s without the recipe's headers",
                    self.name,
                    redact_url(answer.location),
                )
                plain = HTTPRecipe(
                    client_options=self.client_options,
                    retry_config=self.retry_config,
                    name=self.name,
                )
                return plain.route(http_location(answer.location), asset)
            url = answer.location
        raise RemoteError(
            f"{location.safe_href} redirected more than {MAX_REDIRECTS} times within "
            f"{origin_of(start)} (recipe {self.name!r}); the server seems to loop",
            href=location.href,
            recipe=self.name,
        )

    def __repr__(self) -> str:
        return f"HTTPRecipe(credentials={self.credential_source()!r})"


def _base_and_path(location: Location) -> tuple[str, str]:
    """The store's base URL and the path inside it for an HTTP location.

    Plain URLs share one store per origin. URLs with a query, and paths obstore cannot express
    (empty segments, a trailing slash), get a base URL that carries them.
    """
    origin = location.origin or ""
    raw_path = urlsplit(location.href).path
    odd_path = "//" in raw_path or raw_path.endswith("/") or not location.key
    if not location.query and not odd_path:
        return origin, location.key
    directory, _, _ = raw_path.rpartition("/")
    if odd_path or not directory:
        url = origin + raw_path
        return (f"{url}?{location.query}" if location.query else url), ""
    return f"{origin}{directory}?{location.query}", location.name


def http(
    *,
    headers: Mapping[str, str] | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    allow_insecure_credentials: bool = False,
) -> HTTPRecipe:
    """A recipe for plain http(s) URLs.

    Args:
        headers: Headers sent with every request of this recipe (``Authorization``, API keys).
            obstore drops ``Authorization`` on a redirect to another origin but forwards
            custom headers, so for a route with a custom header the recipe first makes one
            request with redirects off (``GET``, ``Range: bytes=0-0``) and reads a redirect to
            another origin without its headers.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
        allow_insecure_credentials: Send headers or URL userinfo over plain ``http://`` to a
            host that is not this machine (loopback is always allowed). Off by default.
    """
    return HTTPRecipe(
        headers=dict(headers) if headers else None,
        client_options=client_options,
        retry_config=retry_config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
