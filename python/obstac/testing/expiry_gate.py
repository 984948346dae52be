"""An HTTP gate in front of moto that enforces the expiry of temporary (STS) credentials.

moto issues STS credentials with an ``Expiration`` but accepts them forever. A test that must
prove a client *refreshes* its credentials needs them to really die: `ExpiryGate` is a small
reverse proxy on 127.0.0.1 that forwards S3 reads to moto unchanged (the ``Host`` header is
kept, so SigV4 signatures still verify) and refuses, with an S3-style ``ExpiredToken`` error,
every request whose ``x-amz-security-token`` was registered with an expiry now past.

Credentials it was never told about pass through, and moto judges them as usual. Point the
store's endpoint at ``gate.url`` instead of moto's, and register each session token when it
is issued::

    with ExpiryGate(moto.port) as gate:
        credentials = sts.assume_role(...)["Credentials"]
        gate.register(credentials["SessionToken"], time.time() + 3.0)
        store = S3Store(bucket, endpoint=gate.url, ...)

The gate forwards ``GET`` and ``HEAD`` (reads); other methods get 501, since the origin server
it builds on does not keep request bodies.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from xml.sax.saxutils import escape

from obstac.testing._ports import LOOPBACK
from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer

__all__ = ["ExpiryGate"]

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that belong to one connection and are never forwarded (RFC 9110, section 7.6.1)."""

_FORWARD_TIMEOUT = 30.0
"""Seconds the gate waits on moto for one request."""


class ExpiryGate(_OriginServer):
    """A reverse proxy to an S3 server that refuses expired temporary credentials.

    Attributes:
        status: The HTTP status of the refusal (default 403, ``ExpiredToken`` in the body).
    """

    def __init__(self, target_port: int, target_host: str = LOOPBACK, status: int = 403) -> None:
        """Describe the gate; nothing listens until ``start``.

        Args:
            target_port: The port of the S3 server (moto) to forward to.
            target_host: The host of that server.
            status: The HTTP status to refuse expired credentials with.
        """
        super().__init__()
        self._target = (target_host, target_port)
        self.status = status
        self._expiries: dict[str, float] = {}
        self._lock = threading.Lock()
        self._refused = 0

    def register(self, session_token: str, expires_at: float) -> None:
        """Make requests signed with ``session_token`` fail from ``expires_at`` on.

        Args:
            session_token: The STS session token (sent as ``x-amz-security-token``).
            expires_at: When the credentials die, as a :func:`time.time` timestamp.
        """
        with self._lock:
            self._expiries[session_token] = expires_at

    @property
    def refused(self) -> int:
        """How many requests the gate refused because their credentials had expired."""
        with self._lock:
            return self._refused

    def handle(self, request: RecordedRequest) -> Response | None:
        """Refuse expired credentials; forward everything else to the target server."""
        token = request.headers.get("x-amz-security-token")
        if token is not None:
            with self._lock:
                expiry = self._expiries.get(token)
                expired = expiry is not None and time.time() >= expiry
                if expired:
                    self._refused += 1
            if expired:
                return _expired_token(self.status)
        if request.method not in ("GET", "HEAD"):
            return Response(501, {"Content-Type": "text/plain"}, b"the gate forwards reads only")
        return self._forward(request)

    def _forward(self, request: RecordedRequest) -> Response:
        connection = http.client.HTTPConnection(*self._target, timeout=_FORWARD_TIMEOUT)
        try:
            connection.putrequest(
                request.method, request.target, skip_host=True, skip_accept_encoding=True
            )
            for name, value in request.headers.items():
                if name not in _HOP_BY_HOP:
                    connection.putheader(name, value)
            connection.endheaders()
            answer = connection.getresponse()
            body = answer.read()
            headers: dict[str, str] = {}
            for name, value in answer.getheaders():
                if name.lower() in _HOP_BY_HOP:
                    continue
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            return Response(answer.status, headers, body)
        finally:
            connection.close()


def _expired_token(status: int) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>ExpiredToken</Code>"
        "<Message>The provided token has expired.</Message>"
        f"<RequestId>{escape(uuid.uuid4().hex)}</RequestId></Error>"
    ).encode()
    return Response(status, {"Content-Type": "application/xml"}, body)
