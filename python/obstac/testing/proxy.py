"""A counting TCP proxy: put it between obstore and moto or Azurite to see every request.

`CountingProxy` listens on a free 127.0.0.1 port and forwards each connection, bytes
unchanged in both directions, to a target server. On the way it reads the client's bytes as
HTTP/1.1 requests (request line and headers, then skips ``Content-Length`` body bytes) and
records each one. A request with a chunked body stops the parsing of that connection; its bytes
are still forwarded. Responses are not parsed.

Point the store at the proxy instead of the server, e.g.
``S3Store(bucket, endpoint=proxy.url, ...)``; signatures still verify, because the proxy does
not change a byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from obstac.testing._ports import LOOPBACK
from obstac.testing._tcp_proxy import TCPProxy

_READ_SIZE = 64 * 1024
"""Bytes read from a socket per call."""

_MAX_HEAD_BYTES = 64 * 1024
"""A request head larger than this is not HTTP we understand: stop parsing, keep forwarding."""


@dataclass(frozen=True)
class ProxiedRequest:
    """One HTTP request seen on its way through the proxy.

    Attributes:
        method: The HTTP method, e.g. ``"GET"``.
        target: The raw request target, e.g. ``"/bucket/key?x-id=GetObject"``.
        range: The ``Range`` header, or None.
        headers: The request headers, names lower-cased; repeated headers joined with ``", "``.
    """

    method: str
    target: str
    range: str | None
    headers: dict[str, str]


class _RequestParser:
    """Reads a client's byte stream as consecutive HTTP/1.1 requests; fed in arbitrary pieces."""

    def __init__(self, on_request: Callable[[ProxiedRequest], None]) -> None:
        self._on_request = on_request
        self._buffer = bytearray()
        self._body_left = 0
        self._gave_up = False

    def feed(self, data: bytes) -> None:
        if self._gave_up:
            return
        self._buffer += data
        while self._buffer and not self._gave_up:
            if self._body_left:
                skipped = min(self._body_left, len(self._buffer))
                del self._buffer[:skipped]
                self._body_left -= skipped
                continue
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                self._gave_up = len(self._buffer) > _MAX_HEAD_BYTES
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            self._parse_head(head)

    def _parse_head(self, head: bytes) -> None:
        lines = head.decode("latin-1").lstrip("\r\n").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._stop()
            return
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                continue
            key, value = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self._on_request(ProxiedRequest(parts[0], parts[1], headers.get("range"), headers))
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._stop()
            return
        length = headers.get("content-length", "0").strip() or "0"
        if not length.isdigit():
            self._stop()
            return
        self._body_left = int(length)

    def _stop(self) -> None:
        self._gave_up = True
        self._buffer.clear()


class CountingProxy(TCPProxy):
    """A TCP proxy on 127.0.0.1 that records the HTTP requests passing through it.

    It runs its own asyncio event loop in a background thread, so it works from sync tests and
    beside any event loop the code under test uses.

    Example:
        ```py
        with CountingProxy(moto.port) as proxy:
            store = S3Store("bucket", endpoint=proxy.url, ...)
            obstore.get(store, "key").bytes()
            assert proxy.count("GET") == 1
        ```
    """

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        """Describe the proxy; nothing listens until ``start``.

        Args:
            target_port: The port of the server to forward to.
            target_host: The host of the server to forward to.
        """
        super().__init__(target_port, target_host)
        self._requests: list[ProxiedRequest] = []

    @property
    def requests(self) -> list[ProxiedRequest]:
        """A snapshot of the requests seen so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self._requests.clear()

    def count(self, method: str | None = None) -> int:
        """Count the requests seen, optionally only those of one method.

        Args:
            method: Count only this method (case-insensitive).

        Returns:
            The number of requests.
        """
        wanted = method.upper() if method is not None else None
        return sum(1 for request in self.requests if wanted is None or request.method == wanted)

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _pipes(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        server_reader: asyncio.StreamReader,
        server_writer: asyncio.StreamWriter,
    ) -> set[asyncio.Future[None]]:
        parser = _RequestParser(self._record)
        return {
            asyncio.ensure_future(_pipe(client_reader, server_writer, parser.feed)),
            asyncio.ensure_future(_pipe(server_reader, client_writer, None)),
        }


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    observe: Callable[[bytes], None] | None,
) -> None:
    """Copy bytes until EOF, then half-close the writer so the other side sees EOF too."""
    while data := await reader.read(_READ_SIZE):
        if observe is not None:
            observe(data)
        writer.write(data)
        await writer.drain()
    if writer.can_write_eof() and not writer.is_closing():
        writer.write_eof()
