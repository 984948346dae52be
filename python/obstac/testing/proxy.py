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
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK

_READ_SIZE = 64 * 1024
"""Bytes read from a socket per call."""

_MAX_HEAD_BYTES = 64 * 1024
"""A request head larger than this is not HTTP we understand: stop parsing, keep forwarding."""

_STOP_TIMEOUT = 10.0
"""Seconds ``stop()`` waits for the proxy's event loop to close its connections."""


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


class CountingProxy(Service):
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
        self._target = (target_host, target_port)
        self._requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._pipes: set[asyncio.Future[None]] = set()
        self._closing = False
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the proxy listens on.

        Raises:
            RuntimeError: If the proxy is not started.
        """
        if self._port is None:
            msg = "CountingProxy is not started; call start() first"
            raise RuntimeError(msg)
        return self._port

    @property
    def url(self) -> str:
        """The proxy's base URL, ``http://127.0.0.1:PORT``; use it as the store's endpoint."""
        return f"http://{LOOPBACK}:{self.port}"

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

    def start(self) -> Self:
        """Listen on a free port and start forwarding.

        Returns:
            This proxy, to allow ``proxy = CountingProxy(port).start()``.

        Raises:
            RuntimeError: If it is already started.
        """
        if self._loop is not None:
            msg = f"CountingProxy is already started on port {self._port}"
            raise RuntimeError(msg)
        loop = asyncio.new_event_loop()
        self._closing = False
        self._server = loop.run_until_complete(asyncio.start_server(self._on_client, LOOPBACK, 0))
        self._port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"CountingProxy:{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close every open connection, end the loop. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop, self._thread, self._server, self._port = None, None, None, None

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    async def _close(self) -> None:
        # Cancel the pipes, not the connection tasks: asyncio (3.11) logs an error for a
        # cancelled client_connected_cb task. Each connection then closes its own sockets.
        self._closing = True
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _on_client(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._forward(client_reader, client_writer)
        finally:
            if task is not None:
                self._connections.discard(task)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            await _close_writer(client_writer)  # the client sees the target refuse
            return
        if self._closing:
            await _close_writer(server_writer)
            await _close_writer(client_writer)
            return
        parser = _RequestParser(self._record)
        pipes = {
            asyncio.ensure_future(_pipe(client_reader, server_writer, parser.feed)),
            asyncio.ensure_future(_pipe(server_reader, client_writer, None)),
        }
        self._pipes |= pipes
        try:
            # Both directions end at EOF; a reset on either side ends the connection.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._pipes -= pipes
            await _close_writer(server_writer)
            await _close_writer(client_writer)


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


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
