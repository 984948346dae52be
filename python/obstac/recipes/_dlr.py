"""DLR EOC (EnMAP and other products on ``download.geoservice.dlr.de``): basic auth, login pages.

DLR's STAC API (``https://geoservice.dlr.de/eoc/ogc/stac/v1``) is anonymous; the files it points
to on ``https://download.geoservice.dlr.de/ENMAP/files/...`` need an EOC account. eodag sends
HTTP basic auth to that host, and that is what this recipe does, through the generic HTTP recipe
(obstore's ``HTTPStore``): obstore drops ``Authorization`` when a redirect leaves the origin, so
the password only ever goes to the DLR download host.

Without a valid login the server does not always say 401: it may redirect to the EOC single
sign-on (``sso.eoc.dlr.de``), whose HTML login page answers 200, and obstore would take that
page for the product. Two guards turn it into a :class:`~obstac.errors.CredentialsError`:

- before the first read of an asset, :attr:`Route.resolve <obstac.recipes.Route.resolve>` makes
  one small request (``GET``, ``Range: bytes=0-0``), following redirects by hand with the
  password kept on the DLR origin, and refuses a 401/403 or an HTML answer. This is what makes
  a range read, ``read_ranges`` or ``open()`` fail with the right error: obstore reports a login
  page answering a range request only as "range not supported";
- every read that starts at byte 0 checks its first bytes for HTML
  (:func:`~obstac.recipes._base.html_login_check`), should the login expire mid-way.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from obstac._redact import register_secret
from obstac.errors import AssetNotFoundError, CredentialsError, RemoteError
from obstac.hrefs import StoreKind
from obstac.recipes._base import Route, html_login_check
from obstac.recipes._http import HTTPRecipe
from obstac.recipes._netrc import netrc_login
from obstac.recipes._probe import (
    MAX_REDIRECTS,
    ProbeAnswer,
    check_base_url,
    origin_of,
    probe,
    without_userinfo,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["DEFAULT_URL", "DLRRecipe", "dlr"]

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://download.geoservice.dlr.de"
"""DLR EOC's download server, where EnMAP (and other EOC) product files live."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _hint(host: str) -> str:
    return (
        "pass username= and password= (your DLR EOC account) to obstac.recipes.dlr(), or set "
        f"DLR_USERNAME and DLR_PASSWORD, or add 'machine {host} login ... password ...' to "
        "your netrc file (NETRC, default ~/.netrc)"
    )


@dataclass(frozen=True, eq=False, repr=False)
class DLRRecipe:
    """Reads DLR EOC downloads with HTTP basic auth. Built by :func:`dlr`."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_URL
    credential_source: str = "anonymous"
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    allow_insecure_credentials: bool = False
    name: str = "dlr"
    _http: HTTPRecipe = field(init=False, repr=False)
    _authorization: str | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", check_base_url(self.base_url, self.name))
        authorization = None
        if self.username and self.password:
            pair = f"{self.username}:{self.password}"
            encoded = base64.b64encode(pair.encode()).decode()
            for secret in (self.password, pair, encoded):
                register_secret(secret)
            authorization = f"Basic {encoded}"
        object.__setattr__(self, "_authorization", authorization)
        object.__setattr__(
            self,
            "_http",
            HTTPRecipe(
                headers={"Authorization": authorization} if authorization else None,
                client_options=self.client_options,
                retry_config=self.retry_config,
                allow_insecure_credentials=self.allow_insecure_credentials,
                name=self.name,
            ),
        )

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the download server: the only place the password goes."""
        return origin_of(self.base_url)

    @property
    def host(self) -> str:
        """The download server's host name (the netrc ``machine``)."""
        return urlsplit(self.base_url).hostname or ""

    @property
    def credential_hint(self) -> str:
        """What to set when DLR refuses access."""
        return _hint(self.host)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """http(s) URLs on the download server's origin (the password goes nowhere else)."""
        return location.kind is StoreKind.HTTP and location.origin == self.origin

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """URLs on the download server (``download.geoservice.dlr.de`` by default)."""
        return self.handles(location, asset)

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An ``HTTPStore`` for the download server with basic auth, checked before reading."""
        planned = self._http.route(location, asset)
        hint = self.credential_hint
        route = replace(
            planned,
            recipe=self.name,
            store_key=(self, *planned.store_key[1:]),
            store_description=planned.store_description
            + (" with basic auth" if self._authorization else ""),
            credential_source=self.credential_source,
            credential_hint=hint,
            credentials_available=self._authorization is not None,
            check_body=html_login_check(self.name, location.href, hint),
        )

        def resolve() -> Route:
            self._check_access(location)
            return route

        return replace(route, resolve=resolve)

    def _check_access(self, location: Location) -> None:
        """One ``GET`` (``Range: bytes=0-0``) that follows redirects by hand; raise on a login.

        ``Authorization`` goes only to the download origin, as obstore sends it.
        """
        url = without_userinfo(location.href)
        shown = location.safe_href
        authorization = self._authorization
        if authorization is None and location.userinfo:  # the generic route sends it too
            authorization = f"Basic {base64.b64encode(location.userinfo.encode()).decode()}"
        headers = {"Authorization": authorization} if authorization else {}
        for _ in range(MAX_REDIRECTS + 1):
            same_origin = origin_of(url) == self.origin
            answer = probe(url, headers if same_origin else {}, recipe=self.name)
            logger.debug(
                "dlr: GET %s (%s, no redirects) -> %d",
                answer.safe_url,
                "basic auth" if same_origin and headers else "no credentials",
                answer.status,
            )
            if answer.status in _REDIRECTS and answer.location:
                url = answer.location
                continue
            self._judge(answer, shown, location.href, same_origin)
            return
        raise RemoteError(
            f"{shown} redirected more than {MAX_REDIRECTS} times (recipe {self.name!r})",
            href=location.href,
            recipe=self.name,
        )

    def _judge(self, answer: ProbeAnswer, shown: str, href: str, same_origin: bool) -> None:
        """Raise for an answer that is a refusal or a login page; return for anything else.

        Other failures (5xx, 429) are left to obstore, which retries them.
        """
        where = "" if same_origin else f" after a redirect to {origin_of(answer.url)}"
        if answer.status in (401, 403) or (answer.ok and _is_html(answer)):
            what = f"HTTP {answer.status}" if not answer.ok else "an HTML (login) page"
            raise CredentialsError(
                f"DLR answered {what}{where} instead of the data for {shown} (recipe "
                f"{self.name!r}, credentials: {self.credential_source}): {self.credential_hint}",
                href=href,
                recipe=self.name,
            )
        if answer.status == 404:
            raise AssetNotFoundError(
                f"no object at {shown} (recipe {self.name!r}, HTTP 404{where})",
                href=href,
                recipe=self.name,
            )

    def __repr__(self) -> str:
        return (
            f"DLRRecipe(base_url={self.base_url!r}, username={self.username!r}, "
            f"credentials={self.credential_source!r})"
        )


def _is_html(answer: ProbeAnswer) -> bool:
    if answer.content_type.split(";")[0].strip() in _HTML_TYPES:
        return True
    try:
        html_login_check("dlr", answer.url, "")(answer.prefix)
    except CredentialsError:
        return True
    return False


def dlr(
    username: str | None = None,
    password: str | None = None,
    *,
    base_url: str = DEFAULT_URL,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    allow_insecure_credentials: bool = False,
) -> DLRRecipe:
    """A recipe for DLR EOC downloads (EnMAP and other products on download.geoservice.dlr.de).

    Credentials are looked up in this order: the parameters; env ``DLR_USERNAME`` and
    ``DLR_PASSWORD``; the netrc entry of the download host (file ``NETRC``, else
    ``~/.netrc``). They are sent as HTTP basic auth to the download host only.

    Before the first read of each asset the recipe makes one small request (``GET``,
    ``Range: bytes=0-0``), so that a refused login (401, or a redirect to the EOC login page
    that answers 200) is a :class:`~obstac.errors.CredentialsError` whatever the read.

    Args:
        username: Your DLR EOC user name (env ``DLR_USERNAME``).
        password: Your DLR EOC password (env ``DLR_PASSWORD``).
        base_url: The download server; only URLs on its origin are served and claimed.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
        allow_insecure_credentials: Send the password over a plain ``http://`` base URL that is
            not this machine (loopback is always allowed). Off by default.
    """
    host = urlsplit(base_url).hostname or ""
    user = username or os.environ.get("DLR_USERNAME") or ""
    secret = password or os.environ.get("DLR_PASSWORD") or ""
    register_secret(secret)
    if user and secret:
        if username and password:
            source = "parameters username/password"
        elif not username and not password:
            source = "env DLR_USERNAME/DLR_PASSWORD"
        else:
            source = "parameters and env DLR_USERNAME/DLR_PASSWORD"
    else:
        login, from_netrc = netrc_login(host, recipe="dlr") or ("", "")
        if from_netrc and (not user or user == login):
            user, secret, source = login, from_netrc, f"netrc (machine {host})"
        elif user or secret:
            missing = "password (DLR_PASSWORD)" if user else "username (DLR_USERNAME)"
            source = f"incomplete: no {missing}"
        else:
            source = "none (anonymous)"
    return DLRRecipe(
        username=user or None,
        password=secret or None,
        base_url=base_url,
        credential_source=source,
        client_options=client_options,
        retry_config=retry_config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
