"""The generic HTTP(S) recipe: any URL, with optional headers, through obstore's ``HTTPStore``.

One store per origin serves every plain URL there, so connections are reused across assets.
A URL with a query string (``?ref=main``, a presigned signature) gets a store whose base URL
carries that query, since obstore paths cannot hold one; the query is part of the resource and
is sent as given.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from obstore.store import HTTPStore

from obstac import _defaults
from obstac._redact import redact_url, register_secret
from obstac.hrefs import StoreKind
from obstac.recipes._base import Route, frozen_items

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["HTTPRecipe", "http"]

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

        return Route(
            recipe=self.name,
            store_key=(self, base, location.userinfo, frozen_items(headers)),
            build=build,
            path=path,
            store_description=f"HTTPStore(url={redact_url(base)!r})",
            credential_source=self.credential_source(location),
            credential_hint=_HINT,
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
) -> HTTPRecipe:
    """A recipe for plain http(s) URLs.

    Args:
        headers: Headers sent with every request of this recipe (``Authorization``, API keys).
            obstore drops ``Authorization`` on a redirect to another host but forwards custom
            headers, so put a custom token header only on a recipe for a host you trust.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
    """
    return HTTPRecipe(
        headers=dict(headers) if headers else None,
        client_options=client_options,
        retry_config=retry_config,
    )
