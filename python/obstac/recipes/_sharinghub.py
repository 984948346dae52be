"""SharingHub (CS GROUP's STAC catalog over GitLab): a GitLab token that never leaves its origin.

SharingHub serves a project's repository files at
``{server}/api/download/{gitlab_project_path}/repository/{file_path}?ref={branch}`` and reads
the GitLab token from the ``X-Gitlab-Token`` header or a ``gitlab_token`` query parameter (its
STAC API also writes ``gitlab_token=...`` into the hrefs it returns when the catalog request
carried one).

obstore's ``HTTPStore`` follows redirects by itself and forwards custom headers such as
``X-Gitlab-Token`` to whatever host a redirect names (an LFS object store, a CDN), and it has no
switch to stop following. So this recipe looks first: before the first read of an asset,
:attr:`Route.resolve <obstac.recipes.Route.resolve>` sends one request with the token and
redirects off (``GET`` with ``Range: bytes=0-0``) and decides:

- ``2xx``: read the SharingHub URL with the token header;
- ``3xx`` to the same origin: follow by hand, at most :data:`MAX_REDIRECTS` hops;
- ``3xx`` to another origin: read the ``Location`` URL *without* the token (it is usually
  presigned, as object stores hand out);
- ``401``/``403``: :class:`~obstac.errors.CredentialsError` naming ``token=`` and the env vars;
- ``404``: :class:`~obstac.errors.AssetNotFoundError`; anything else:
  :class:`~obstac.errors.RemoteError`.

Residual risk: once a URL answered ``2xx`` with the token, obstore reads it with the token
header; if the server answered a *later* request with a redirect to another host (it did not
for the probe), obstore would follow it with the header. SharingHub itself streams files from
GitLab (it follows GitLab's LFS redirects server-side), so this takes a server that changes its
answer between two requests.

A ``gitlab_token`` in an href's query is a credential: it is removed from the URL (so it is
neither sent twice nor shown) and, when the recipe has no token of its own, sent as the header.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

from obstac._redact import redact_url, register_secret
from obstac.errors import AssetNotFoundError, CredentialsError, RemoteError
from obstac.hrefs import Location, StoreKind
from obstac.recipes._base import Route
from obstac.recipes._http import HTTPRecipe
from obstac.recipes._probe import (
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    ProbeAnswer,
    check_base_url,
    http_location,
    origin_of,
    probe,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac._assets import AssetInfo

__all__ = [
    "DEFAULT_URL",
    "TOKEN_ENV_VARS",
    "SharingHubRecipe",
    "sharinghub",
    "strip_token",
]

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://sharinghub.p2.csgroup.space"
"""The public SharingHub server of CS GROUP (env ``SHARINGHUB_URL`` overrides it)."""

TOKEN_ENV_VARS = ("SHARINGHUB_TOKEN", "CI_JOB_TOKEN")
"""Where :func:`sharinghub` looks for a token, in order, when ``token=`` is not given."""

_REDIRECTS = REDIRECT_STATUSES
_HEADER = "X-Gitlab-Token"
_QUERY_KEY = "gitlab_token"
_HINT = (
    "pass token= (a GitLab access token of the GitLab behind this SharingHub) to "
    "obstac.recipes.sharinghub(), or set SHARINGHUB_TOKEN (inside GitLab CI, CI_JOB_TOKEN is "
    "used); SHARINGHUB_URL or base_url= names the server"
)


@dataclass(frozen=True, eq=False, repr=False)
class SharingHubRecipe:
    """Reads SharingHub downloads with the GitLab token kept on the SharingHub origin.

    Built by :func:`sharinghub`; see it for the meaning of each field.
    """

    token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_URL
    credential_source: str = "anonymous"
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    allow_insecure_credentials: bool = False
    name: str = "sharinghub"
    _anonymous: HTTPRecipe = field(init=False, repr=False)

    def __post_init__(self) -> None:
        register_secret(self.token)
        object.__setattr__(
            self, "base_url", check_base_url(self.base_url, self.name, "SHARINGHUB_URL")
        )
        object.__setattr__(
            self,
            "_anonymous",
            HTTPRecipe(client_options=self.client_options, retry_config=self.retry_config),
        )

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the SharingHub server: the only place the token goes."""
        return origin_of(self.base_url)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """http(s) URLs on the SharingHub server's origin (the token goes nowhere else)."""
        return location.kind is StoreKind.HTTP and location.origin == self.origin

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """URLs on the SharingHub server (its origin and, if ``base_url`` has one, its path).

        Items of another SharingHub (``sharinghub:*`` fields, another host) are not claimed:
        this recipe's token belongs to its own server.
        """
        if not self.handles(location, asset):
            return False
        base_path = urlsplit(self.base_url).path.rstrip("/")
        path = urlsplit(location.href).path
        return not base_path or path == base_path or path.startswith(f"{base_path}/")

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """The SharingHub URL (token header) after a no-redirect look; plain HTTP without token.

        A ``gitlab_token`` in the href's query is taken out of the URL; it is the token used
        when the recipe has none of its own.
        """
        clean_href, href_token = strip_token(location.href)
        register_secret(href_token)
        token, source = self.token, self.credential_source
        if not token and href_token:
            token, source = href_token, f"{_QUERY_KEY} in the href (sent as {_HEADER})"
        target = http_location(clean_href)
        if not token:
            return self._plain_route(target, asset, source, note="")
        planned = self._token_route(target, asset, token, source)

        def resolve() -> Route:
            return self._resolve(target, asset, token, source)

        return replace(planned, resolve=resolve)

    def _token_route(self, target: Location, asset: AssetInfo, token: str, source: str) -> Route:
        """The route that reads ``target`` with the token header (SharingHub origin only)."""
        with_token = HTTPRecipe(
            headers={_HEADER: token},
            client_options=self.client_options,
            retry_config=self.retry_config,
            allow_insecure_credentials=self.allow_insecure_credentials,
            name=self.name,
        )
        route = with_token.route(target, asset)
        return replace(
            route,
            recipe=self.name,
            store_key=(self, "token", *route.store_key[1:]),
            store_description=f"{route.store_description} with header {_HEADER}",
            credential_source=source,
            credential_hint=_HINT,
        )

    def _plain_route(self, target: Location, asset: AssetInfo, source: str, note: str) -> Route:
        """The route that reads ``target`` with no token (anonymous, or after a redirect)."""
        route = self._anonymous.route(target, asset)
        return replace(
            route,
            recipe=self.name,
            store_key=(self, "plain", *route.store_key[1:]),
            store_description=route.store_description + note,
            credential_source=source,
            credential_hint=_HINT,
        )

    def _resolve(self, target: Location, asset: AssetInfo, token: str, source: str) -> Route:
        """Probe ``target`` with the token, redirects off, and pick the route to read."""
        url = target.href
        shown = target.safe_href
        for _ in range(MAX_REDIRECTS + 1):
            answer = probe(url, {_HEADER: token}, recipe=self.name)
            logger.debug(
                "sharinghub: GET %s (token, no redirects) -> %d", answer.safe_url, answer.status
            )
            if answer.ok or answer.status == 416:  # 416: an empty file refuses bytes=0-0
                return self._token_route(http_location(url), asset, token, source)
            if answer.status in _REDIRECTS and answer.location:
                next_url, _ = strip_token(answer.location)
                if origin_of(next_url) == self.origin:
                    logger.debug("sharinghub: following %s by hand", redact_url(next_url))
                    url = next_url
                    continue
                logger.debug(
                    "sharinghub: redirected to another origin, reading %s without the token",
                    redact_url(next_url),
                )
                note = f" (redirected from {shown}; no token sent)"
                return self._plain_route(http_location(next_url), asset, "anonymous", note)
            raise self._refusal(answer, shown, source)
        raise RemoteError(
            f"{shown} redirected more than {MAX_REDIRECTS} times within {self.origin} "
            f"(recipe {self.name!r}); the server seems to loop",
            href=target.href,
            recipe=self.name,
        )

    def _refusal(self, answer: ProbeAnswer, shown: str, source: str) -> Exception:
        """The obstac error for a probe answer that is neither data nor a redirect."""
        if answer.status in (401, 403):
            return CredentialsError(
                f"SharingHub refused the token for {shown} (recipe {self.name!r}, HTTP "
                f"{answer.status}, token from {source}): {_HINT}",
                href=shown,
                recipe=self.name,
            )
        if answer.status == 404:
            return AssetNotFoundError(
                f"no object at {shown} (recipe {self.name!r}, HTTP 404): check the project "
                "path, the file path and the ref= branch",
                href=shown,
                recipe=self.name,
            )
        return RemoteError(
            f"SharingHub answered HTTP {answer.status or 'nothing'} for {shown} "
            f"(recipe {self.name!r}){': ' + answer.reason if answer.reason else ''}",
            href=shown,
            recipe=self.name,
            status=answer.status or None,
        )

    def __repr__(self) -> str:
        return (
            f"SharingHubRecipe(base_url={self.base_url!r}, credentials={self.credential_source!r})"
        )


def strip_token(url: str) -> tuple[str, str | None]:
    """``url`` without its ``gitlab_token`` query parameters, and the (last) token removed."""
    parts = urlsplit(url)
    if not parts.query:
        return url, None
    kept, token = [], None
    for pair in parts.query.split("&"):
        name, sep, value = pair.partition("=")
        if sep and unquote(name) == _QUERY_KEY:
            token = unquote(value) or token
            continue
        kept.append(pair)
    if len(kept) == len(parts.query.split("&")):
        return url, None
    return urlunsplit(parts._replace(query="&".join(kept))), token


def sharinghub(
    token: str | None = None,
    *,
    base_url: str | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    allow_insecure_credentials: bool = False,
) -> SharingHubRecipe:
    """A recipe for SharingHub downloads, the GitLab token kept on the SharingHub server.

    The token is sent as ``X-Gitlab-Token`` to the SharingHub origin only: a redirect to
    another host (object storage behind GitLab LFS) is followed without it. Before the first
    read of each asset the recipe makes one small request (``GET``, ``Range: bytes=0-0``) to
    see whether the server answers or redirects.

    Args:
        token: A GitLab access token of the GitLab behind the SharingHub server. Default: env
            ``SHARINGHUB_TOKEN``, then ``CI_JOB_TOKEN`` (set inside GitLab CI jobs). The
            generic ``GITLAB_TOKEN`` is deliberately not read: it often belongs to another
            GitLab, and SharingHub passes the token on to its own. With no token, hrefs that
            carry ``gitlab_token=`` use that one; others are read anonymously (public projects).
        base_url: The SharingHub server, e.g. ``"https://sharinghub.p2.csgroup.space"``.
            Default: env ``SHARINGHUB_URL``, else CS GROUP's public server. Only URLs on its
            origin are served and claimed.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
        allow_insecure_credentials: Send the token over a plain ``http://`` base URL that is
            not this machine (loopback is always allowed). Off by default.
    """
    source = "parameter token" if token else "anonymous"
    if not token:
        for name in TOKEN_ENV_VARS:
            if os.environ.get(name):
                token, source = os.environ[name], f"env {name}"
                break
    return SharingHubRecipe(
        token=token or None,
        base_url=base_url or os.environ.get("SHARINGHUB_URL") or DEFAULT_URL,
        credential_source=source,
        client_options=client_options,
        retry_config=retry_config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
