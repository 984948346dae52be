"""One look before the leap: a single request that does not follow redirects.

Recipes whose credentials must stay on their origin (a GitLab token header, a basic-auth
password) probe an asset once, see where it really is, and only then hand the read to obstore,
whose HTTPStore would otherwise carry custom headers along any redirect.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin, urlsplit

from obstac._redact import redact_url
from obstac.errors import RecipeError, RemoteError
from obstac.hrefs import Location, StoreKind

__all__ = [
    "MAX_REDIRECTS",
    "PROBE_TIMEOUT",
    "REDIRECT_STATUSES",
    "ProbeAnswer",
    "check_base_url",
    "http_location",
    "origin_of",
    "probe",
    "without_userinfo",
]

MAX_REDIRECTS = 5
"""Same-origin redirects followed by hand before giving up: more than any real server chains,
few enough that a redirect loop fails in well under a second."""

PROBE_TIMEOUT = 30.0
"""Seconds the probe waits to connect and for each read: obstac's read timeout
(:data:`obstac._defaults.READ_TIMEOUT`), so a probe gives up on a stalled server when a read
would."""

_PROBE_PREFIX = 512
"""Bytes of a 2xx body the probe keeps (enough to recognise an HTML page); the rest is left
unread and the connection closed."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
"""The statuses a probe treats as a redirect to look at."""


@dataclass(frozen=True)
class ProbeAnswer:
    """What one request without redirects got back.

    Attributes:
        status: The HTTP status, or 0 when no answer came (the reason says why).
        url: The URL asked (it may carry a credential; see :attr:`safe_url`).
        location: The absolute ``Location`` of a redirect, else None.
        content_type: The ``Content-Type`` of the answer, lower-cased, or ``""``.
        prefix: The first bytes of a 2xx body (at most 512).
        reason: A short, secret-free reason when ``status`` is 0 or the server sent one.
    """

    status: int
    url: str = field(repr=False)
    location: str | None = field(default=None, repr=False)
    content_type: str = ""
    prefix: bytes = field(default=b"", repr=False)
    reason: str = ""

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    @property
    def safe_url(self) -> str:
        """The URL asked, credentials redacted."""
        return redact_url(self.url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand every 3xx back to the caller instead of following it."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def probe(url: str, headers: Mapping[str, str], *, recipe: str) -> ProbeAnswer:
    """One ``GET`` of ``url`` with ``Range: bytes=0-0`` and ``headers``, redirects not followed.

    The answer's headers and at most 512 body bytes are read; the connection is then closed,
    so a server that ignores the range does not send its whole object. Proxies from the
    environment are honoured, as obstore honours them.

    Args:
        url: An absolute http(s) URL without userinfo.
        headers: Headers to send (credentials: the caller decides they may go to this origin).
        recipe: The recipe name, for error messages.

    Raises:
        RemoteError: The server could not be reached or broke the connection.
    """
    request = urllib.request.Request(  # noqa: S310 - the caller passes http(s) URLs only
        url, headers={**headers, "Range": "bytes=0-0", "User-Agent": "obstac"}, method="GET"
    )
    try:
        with _OPENER.open(request, timeout=PROBE_TIMEOUT) as response:
            return ProbeAnswer(
                status=response.status,
                url=url,
                content_type=(response.headers.get("Content-Type") or "").lower(),
                prefix=response.read(_PROBE_PREFIX),
            )
    except urllib.error.HTTPError as error:
        with error:
            location = error.headers.get("Location")
            return ProbeAnswer(
                status=error.code,
                url=url,
                location=urljoin(url, location) if location else None,
                content_type=(error.headers.get("Content-Type") or "").lower(),
                reason=str(error.reason or "")[:200],
            )
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise RemoteError(
            f"could not reach {redact_url(url)} (recipe {recipe!r}): {reason}",
            href=url,
            recipe=recipe,
        ) from None


def check_base_url(url: str, recipe: str, env: str | None = None) -> str:
    """``url`` without its trailing ``/``; a :class:`~obstac.errors.RecipeError` if not http(s).

    Args:
        url: The server URL a recipe was given.
        recipe: The recipe name, for the message.
        env: The environment variable that may have set it, for the message.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        where = f"base_url= (or {env})" if env else "base_url="
        raise RecipeError(
            f"{where} of recipe {recipe!r} must be an http(s) URL such as "
            f"'https://host.example', not {redact_url(url)!r}",
            recipe=recipe,
        )
    return url.rstrip("/")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, as :class:`~obstac.hrefs.Location` has it."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{parts.scheme.lower()}://{host}" + (f":{parts.port}" if parts.port else "")


def http_location(url: str) -> Location:
    """A plain HTTP :class:`~obstac.hrefs.Location` for ``url`` (no cloud-host detection).

    Used for URLs a server sent (redirects, presigned object-store URLs): they are read as the
    server gave them, query included.
    """
    parts = urlsplit(url)
    return Location(
        kind=StoreKind.HTTP,
        key=unquote(parts.path).lstrip("/"),
        origin=origin_of(url),
        query=parts.query,
        href=url,
    )


def without_userinfo(href: str) -> str:
    """``href`` without its ``user:password@`` (the probe sends basic auth as a header)."""
    parts = urlsplit(href)
    if "@" not in parts.netloc:
        return href
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
