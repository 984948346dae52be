"""A double of DLR's EOC download server (``download.geoservice.dlr.de``), with its login.

DLR serves EnMAP and other EOC products from ``https://download.geoservice.dlr.de/ENMAP/files/
...``; a download needs an EOC account. eodag sends HTTP basic auth there, and users report the
other face of the same server: a request without a valid login is redirected (CAS single sign-on
at ``sso.eoc.dlr.de``) to an HTML login page that answers **200**, so a naive client saves the
login page as the product. `DLRDouble` plays both:

- ``Authorization: Basic`` with the right user and password: the object, with ``Range``,
  ``ETag`` and ``HEAD`` like any static host;
- anything else, by ``mode``:

  - ``"basic"``: ``401`` with ``WWW-Authenticate: Basic realm="EOC"``;
  - ``"sso"``: ``302`` to ``/cas/login?service=...`` on a *second origin* (:attr:`login`,
    another port, so a cross-origin redirect as with the real SSO host), where a login page
    answers ``200 text/html`` to every GET and HEAD, ``Range`` or not;
  - ``"page"``: the same ``200 text/html`` login page from the download origin itself.

The login origin records its requests, so a test can prove that the basic-auth header never
reached it (:attr:`DLRDouble.authorization_reached_login`).
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal, Self
from urllib.parse import quote

from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer

__all__ = ["LOGIN_PAGE", "LOGIN_PATH", "PASSWORD", "USERNAME", "DLRDouble", "LoginPage", "Mode"]

Mode = Literal["basic", "sso", "page"]
"""How `DLRDouble` refuses a request without the right basic-auth credentials."""

USERNAME = "enmap-user"
"""The user name a `DLRDouble` accepts unless told otherwise."""

PASSWORD = "eoc-Pa55-7c1d9e"
"""The password a `DLRDouble` accepts unless told otherwise."""

LOGIN_PATH = "cas/login"
"""Where the login page lives on the login origin (as on ``sso.eoc.dlr.de``)."""

LOGIN_PAGE = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"/>'
    b"<title>EOC Login - Central Authentication Service</title></head>\n"
    b'<body><form id="fm1" method="post"><input id="username" name="username"/>'
    b'<input id="password" name="password" type="password"/>'
    b'<input type="submit" value="LOGIN"/></form></body></html>\n'
)
"""The body the login page answers with (what a naive client would save as the product)."""

_LOGIN_HEADERS = {"Content-Type": "text/html;charset=UTF-8", "Cache-Control": "no-store"}


class LoginPage(_OriginServer):
    """The SSO origin: a ``200 text/html`` login page for every GET and HEAD, whatever the path.

    Like a real login page it ignores ``Range`` and answers the whole page.
    """

    def handle(self, request: RecordedRequest) -> Response | None:
        """Answer every request with the login page.

        Args:
            request: The request.

        Returns:
            ``200 text/html`` with `LOGIN_PAGE`.
        """
        del request
        return Response(200, _LOGIN_HEADERS, LOGIN_PAGE)


class DLRDouble(_OriginServer):
    """A local stand-in for ``download.geoservice.dlr.de`` on 127.0.0.1.

    Example:
        ```py
        with DLRDouble(mode="sso") as dlr:
            href = dlr.put("ENMAP/files/L2A/scene/SPECTRAL_IMAGE.TIF", b"...")
            recipe = obstac.recipes.dlr(USERNAME, PASSWORD, base_url=dlr.url)
            obstac.open_asset(href, recipe=recipe).read()
            assert not dlr.authorization_reached_login
        ```
    """

    def __init__(
        self,
        *,
        mode: Mode = "basic",
        username: str = USERNAME,
        password: str = PASSWORD,
        port: int = 0,
    ) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            mode: How a request without the right credentials is refused (see the module).
            username: The user name accepted.
            password: The password accepted.
            port: The 127.0.0.1 port of the download origin; 0 picks a free one.
        """
        super().__init__(port)
        self.mode: Mode = mode
        self.username = username
        self.password = password
        self.login = LoginPage()

    def start(self) -> Self:
        """Start the download origin and the login origin.

        Returns:
            This double.
        """
        self.login.start()
        try:
            return super().start()
        except BaseException:
            self.login.stop()
            raise

    def stop(self) -> None:
        """Stop both origins. Safe to call twice."""
        super().stop()
        self.login.stop()

    def put(self, path: str, data: bytes) -> str:
        """Store a product file and return its href.

        Args:
            path: The path without a leading slash, e.g.
                ``"ENMAP/files/L2A/2024/ENMAP01-____L2A-DT0000001_SPECTRAL_IMAGE.TIF"``.
            data: The content.

        Returns:
            The URL a STAC item of this double would carry, ``http://127.0.0.1:PORT/path``.
        """
        self._put_object(path, data)
        return f"{self.url}/{quote(path)}"

    @property
    def login_url(self) -> str:
        """The login page's URL on the login origin (without the ``service`` query)."""
        return f"{self.login.url}/{LOGIN_PATH}"

    @property
    def authorization_reached_login(self) -> bool:
        """Whether any request to the login origin carried an ``Authorization`` header."""
        return any("authorization" in request.headers for request in self.login.requests)

    def authorized(self, request: RecordedRequest) -> bool:
        """Whether the request carries ``Authorization: Basic`` with the accepted credentials.

        Args:
            request: The request.

        Returns:
            True for the right user and password.
        """
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return decoded == f"{self.username}:{self.password}"

    def handle(self, request: RecordedRequest) -> Response | None:
        """Serve authorised requests; refuse the others as ``mode`` says.

        Args:
            request: The request.

        Returns:
            None to serve the object, else the refusal.
        """
        if self.authorized(request):
            return None
        if self.mode == "sso":
            service = quote(f"{self.url}{request.target}", safe="")
            return Response(302, {"Location": f"{self.login_url}?service={service}"})
        if self.mode == "page":
            return Response(200, _LOGIN_HEADERS, LOGIN_PAGE)
        return Response(
            401,
            {"WWW-Authenticate": 'Basic realm="EOC"', "Content-Type": "text/plain"},
            b"401 Unauthorized\n",
        )
