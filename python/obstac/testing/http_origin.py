"""An in-process HTTP/1.1 origin serving in-memory objects with byte ranges and ETags.

`RangeHTTPServer` is what a static file host, a CDN or a STAC API's asset server looks like to
obstore's `HTTPStore`: GET and HEAD, `Range`, `ETag`, `Last-Modified` and the conditional
headers. It records every request so tests can count what a client sent.

Doubles of other servers subclass it and override `handle`, which sees every request first and
may answer it itself (a login page, a 401, a dropped connection) or return None to have the
object served normally by `serve`.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import unquote

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK

CHUNK_SIZE = 256 * 1024
"""Bytes written to the socket per call: 256 KiB keeps a 1 GiB body from being copied whole."""

_POLL_INTERVAL = 0.05
"""Seconds the serving thread waits between shutdown checks: keeps ``stop()`` under 0.1 s."""

_BODYLESS_STATUSES = frozenset({204, 304})

_BODY_METHODS = frozenset({"POST", "PUT", "DELETE"})
"""Methods whose body `RecordedRequest.body` keeps; other bodies are read and dropped."""

_BYTE_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE | re.ASCII)
"""One range of the ``bytes`` unit; a list of ranges (with a comma) does not match."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the origin received it.

    Attributes:
        method: The HTTP method, e.g. ``"GET"``.
        target: The raw request target, percent-encoding and query included.
        path: The percent-decoded path without its leading slash and without the query.
        query: The raw query string (without ``?``), or ``""``.
        headers: The request headers, names lower-cased; repeated headers joined with ``", "``.
        range: The ``Range`` header, or None.
        body: The body of a POST, PUT or DELETE sent with a ``Content-Length`` (``b""``
            otherwise: other bodies are read and dropped). Kept out of ``repr``: it may hold a
            password or a token.
    """

    method: str
    target: str
    path: str
    query: str
    headers: dict[str, str]
    range: str | None
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Response:
    """A response an origin sends as given.

    ``Content-Length`` is added from the body unless the headers set it (a double may set a
    larger one and ``close=True`` to simulate a truncated transfer). A HEAD request gets the
    headers only.

    Attributes:
        status: The HTTP status code.
        headers: Response headers.
        body: The body; a memoryview is sent without copying.
        close: Close the connection after this response.
        stall: Seconds to stay silent after sending the body, before closing the connection
            (a stalled transfer when the headers announced more bytes than the body holds).
        reset: End the connection with a TCP reset (RST) instead of a clean close.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | memoryview = b""
    close: bool = False
    stall: float = 0.0
    reset: bool = False


@dataclass(frozen=True)
class StoredObject:
    """An object an origin serves.

    Attributes:
        data: The content.
        etag: The quoted hex MD5 of the content, e.g. ``'"9e107d9d372bb6826bd81d3542a419d6"'``.
        last_modified: The RFC 7231 date fixed when the object was stored.
        headers: Extra response headers sent with this object (e.g. ``x-goog-generation``).
    """

    data: bytes
    etag: str
    last_modified: str
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, data: bytes, headers: Mapping[str, str] | None = None) -> StoredObject:
        """Store ``data`` now: compute its ETag and fix its Last-Modified date.

        Args:
            data: The content.
            headers: Extra response headers for this object.

        Returns:
            The stored object.
        """
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        modified = email.utils.formatdate(time.time(), usegmt=True)
        return cls(bytes(data), f'"{digest}"', modified, dict(headers or {}))


class _UnsatisfiableRangeError(Exception):
    """A syntactically valid Range that selects no byte of the object."""


class _OriginServer(Service):
    """The machinery shared by `RangeHTTPServer` and the provider doubles.

    Subclasses add their own ``put``/``delete`` (their addressing differs) on top of
    ``_put_object``/``_delete_object``, and may override `handle`, `serve` and `not_found`.
    """

    def __init__(self, port: int = 0) -> None:
        """Describe the origin; nothing listens until ``start``.

        Args:
            port: The 127.0.0.1 port to bind; 0 picks a free one (kept across restarts).
        """
        self._bind_port = port
        self._objects: dict[str, StoredObject] = {}
        self._objects_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._requests_lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._peak_in_flight = 0
        self._in_flight_log: list[tuple[float, int]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the origin listens on.

        Raises:
            RuntimeError: If the origin is not started.
        """
        if self._server is None:
            msg = f"{type(self).__name__} is not started; call start() first"
            raise RuntimeError(msg)
        return self._server.server_port

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``."""
        return f"http://{LOOPBACK}:{self.port}"

    def start(self) -> Self:
        """Bind the port and serve from a background thread.

        Returns:
            This origin, to allow ``origin = RangeHTTPServer().start()``.

        Raises:
            RuntimeError: If it is already started.
        """
        if self._server is not None:
            msg = f"{type(self).__name__} is already started on port {self.port}"
            raise RuntimeError(msg)
        server = _HTTPServer(self, self._bind_port)
        self._bind_port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"{type(self).__name__}:{server.server_port}",
            daemon=True,
        )
        self._server = server
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open keep-alive connections. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join()
        self._server, self._thread = None, None

    # -- objects -----------------------------------------------------------------------------

    def object_at(self, path: str) -> StoredObject | None:
        """Return the object stored at a decoded path (no leading slash), or None.

        Args:
            path: The path, as in `RecordedRequest.path`.

        Returns:
            The stored object, or None.
        """
        with self._objects_lock:
            return self._objects.get(path)

    def _put_object(
        self, path: str, data: bytes, headers: Mapping[str, str] | None = None
    ) -> StoredObject:
        stored = StoredObject.of(data, headers)
        with self._objects_lock:
            self._objects[path] = stored
        return stored

    def _delete_object(self, path: str) -> None:
        with self._objects_lock:
            self._objects.pop(path, None)

    # -- recorded requests -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._requests_lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        with self._requests_lock:
            self._requests.clear()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Count the recorded requests, optionally only one method and/or one decoded path.

        Args:
            method: Count only this method (case-insensitive).
            path: Count only this decoded path (no leading slash).

        Returns:
            The number of matching requests.
        """
        wanted = method.upper() if method is not None else None
        return sum(
            1
            for request in self.requests
            if (wanted is None or request.method == wanted)
            and (path is None or request.path == path)
        )

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_lock:
            self._requests.append(request)

    # -- requests in flight ------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Requests being answered right now (from the request line to the last body byte)."""
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests answered at once since the origin was made."""
        return self._peak_in_flight

    def in_flight_between(self, start: float, end: float) -> int:
        """The most requests in flight at once between two ``time.monotonic()`` instants.

        Args:
            start: The start of the window.
            end: Its end.

        Returns:
            The peak over the window (the count at ``start`` included).
        """
        with self._requests_lock:
            log = list(self._in_flight_log)
        peak = 0
        for at, count in log:
            if at <= start:
                peak = count  # the count when the window opens
            elif at <= end:
                peak = max(peak, count)
        return peak

    def _enter(self) -> None:
        with self._requests_lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            self._in_flight_log.append((time.monotonic(), self._in_flight))

    def _leave(self) -> None:
        with self._requests_lock:
            self._in_flight -= 1
            self._in_flight_log.append((time.monotonic(), self._in_flight))

    # -- answering ---------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Response | None:
        """See every request first; override to answer some requests differently.

        Called from a server thread, once per request, after the request is recorded.

        Args:
            request: The request.

        Returns:
            A response to send as is, or None to answer with `serve`.
        """
        del request
        return None

    def not_found(self, request: RecordedRequest) -> Response:
        """Answer a GET or HEAD for a path that holds no object; override for other formats.

        Args:
            request: The request.

        Returns:
            A 404 with a short plain-text body.
        """
        body = f"not found: {request.path}\n".encode()
        return Response(404, {"Content-Type": "text/plain; charset=utf-8"}, body)

    def serve(self, request: RecordedRequest) -> Response:
        """Answer a request the way a static object host does.

        GET and HEAD only (else 405). Honours ``If-Match`` (412), ``If-Unmodified-Since``
        (412), ``If-None-Match`` (304), ``If-Modified-Since`` (304), ``If-Range`` and one
        ``Range`` (206, or 416 when it selects nothing). Several ranges get the whole object.

        Args:
            request: The request.

        Returns:
            The response; its body is a memoryview of the stored bytes.
        """
        if request.method not in ("GET", "HEAD"):
            return Response(405, {"Allow": "GET, HEAD"})
        stored = self.object_at(request.path)
        if stored is None:
            return self.not_found(request)
        headers = {
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "ETag": stored.etag,
            "Last-Modified": stored.last_modified,
            **stored.headers,
        }
        status = _precondition_status(request.headers, stored)
        if status is not None:
            return Response(status, headers if status == 304 else {})
        return _content_response(request, stored, headers)

    def _respond(self, request: RecordedRequest) -> Response:
        response = self.handle(request)
        return response if response is not None else self.serve(request)


def _content_response(
    request: RecordedRequest, stored: StoredObject, headers: dict[str, str]
) -> Response:
    """The 200, 206 or 416 answer to a GET or HEAD whose preconditions hold."""
    size = len(stored.data)
    byte_range = request.range
    if byte_range is not None and not _if_range_holds(request.headers, stored):
        byte_range = None
    try:
        selected = _parse_range(byte_range, size) if byte_range is not None else None
    except _UnsatisfiableRangeError:
        return Response(416, {"Content-Range": f"bytes */{size}"})
    view = memoryview(stored.data)
    if selected is None:
        return Response(200, {**headers, "Content-Length": str(size)}, view)
    start, end = selected
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return Response(206, headers, view[start : end + 1])


def _precondition_status(headers: Mapping[str, str], stored: StoredObject) -> int | None:
    """Evaluate the conditional headers in RFC 9110 order: 412, 304, or None to proceed."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _etag_listed(if_match, stored.etag, weak=False):
            return 412
    elif _modified_since(headers.get("if-unmodified-since"), stored) is True:
        return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return 304 if _etag_listed(if_none_match, stored.etag, weak=True) else None
    if _modified_since(headers.get("if-modified-since"), stored) is False:
        return 304
    return None


def _if_range_holds(headers: Mapping[str, str], stored: StoredObject) -> bool:
    """True unless an ``If-Range`` names another ETag or date (then the whole object is sent)."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    return if_range in (stored.etag, stored.last_modified)


def _etag_listed(header: str, etag: str, *, weak: bool) -> bool:
    candidates = [item.strip() for item in header.split(",")]
    if "*" in candidates:
        return True
    if weak:
        candidates = [item.removeprefix("W/") for item in candidates]
    return etag in candidates


def _modified_since(header: str | None, stored: StoredObject) -> bool | None:
    """Compare Last-Modified with an HTTP date; None when the header is absent or unparsable."""
    if header is None:
        return None
    modified = email.utils.parsedate_to_datetime(stored.last_modified)
    try:
        since: datetime = email.utils.parsedate_to_datetime(header)
        return modified > since
    except (TypeError, ValueError):  # unparsable, or a date without a time zone
        return None


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Parse one ``bytes=`` range into inclusive ``(start, end)`` within ``size`` bytes.

    Returns None when the whole object should be sent instead (another unit, several ranges,
    bad syntax: RFC 9110 says to ignore such a header).

    Raises:
        _UnsatisfiableRangeError: When the range is valid but selects no byte.
    """
    match = _BYTE_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # bytes=-n: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _UnsatisfiableRangeError
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if end < start:
        return None
    if start >= size:
        raise _UnsatisfiableRangeError
    return start, min(end, size - 1)


class RangeHTTPServer(_OriginServer):
    """An HTTP/1.1 origin on 127.0.0.1 serving in-memory objects by path.

    Example:
        ```py
        with RangeHTTPServer() as origin:
            origin.put("data/a b.tif", b"...")
            store = HTTPStore.from_url(origin.url, client_options={"allow_http": True})
            obstore.get_range(store, "data/a b.tif", start=0, end=4)
            assert origin.count("GET", "data/a b.tif") == 1
        ```
    """

    def put(self, path: str, data: bytes) -> None:
        """Store an object; requests for this path (percent-encoded or not) will get it.

        Args:
            path: The raw, unencoded path without a leading slash, e.g. ``"dir/a b.tif"``.
            data: The content.
        """
        self._put_object(path, data)

    def delete(self, path: str) -> None:
        """Remove an object, if present.

        Args:
            path: The path given to `put`.
        """
        self._delete_object(path)


class _HTTPServer(ThreadingHTTPServer):
    """The stdlib server, knowing its origin and its open connections."""

    daemon_threads = True
    # The stdlib's backlog of 5 drops connections when ~100 arrive at once (obstac's default
    # concurrency): a 500-file run then stalls for seconds on SYN retries.
    request_queue_size = 1024

    def __init__(self, origin: _OriginServer, port: int) -> None:
        self.origin = origin
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((LOOPBACK, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection so keep-alive clients see the origin go away."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                continue

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is normal (a cancelled read); anything else is a
        # bug in a double and its traceback should show.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a `RecordedRequest` and sends the origin's `Response`."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests count requests through `requests` instead."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_OPTIONS(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        origin = self.server.origin
        origin._enter()
        try:
            body = self._read_body(keep=self.command in _BODY_METHODS)
            request = self._recorded(body)
            origin._record(request)
            try:
                response = origin._respond(request)
            except Exception:  # a double's bug: answer 500 and show the traceback
                details = traceback.format_exc()
                sys.stderr.write(details)
                response = Response(
                    500, {"Content-Type": "text/plain"}, details.encode(), close=True
                )
            self._send(response, head_only=request.method == "HEAD")
        finally:
            origin._leave()

    def _recorded(self, body: bytes) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raw_path, _, query = self.path.partition("?")
        return RecordedRequest(
            method=self.command,
            target=self.path,
            path=unquote(raw_path).removeprefix("/"),
            query=query,
            headers=headers,
            range=headers.get("range"),
            body=body,
        )

    def _read_body(self, *, keep: bool) -> bytes:
        """Read the body by ``Content-Length``: returned if ``keep``, else dropped chunk by chunk.

        A chunked body is not decoded: the connection closes after the answer instead.
        """
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True  # not worth decoding: answer, then hang up
            return b""
        remaining = int(self.headers.get("Content-Length") or 0)
        if keep:
            return self.rfile.read(remaining)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, CHUNK_SIZE))
            if not chunk:
                break
            remaining -= len(chunk)
        return b""

    def _send(self, response: Response, *, head_only: bool) -> None:
        try:
            self.send_response(response.status)
            has_length = False
            for name, value in response.headers.items():
                has_length = has_length or name.lower() == "content-length"
                self.send_header(name, value)
            bodyless = response.status in _BODYLESS_STATUSES or response.status < 200
            if not has_length and not bodyless:
                self.send_header("Content-Length", str(len(response.body)))
            if response.close or response.stall or response.reset:
                self.send_header("Connection", "close")
            self.end_headers()
            if not (head_only or bodyless):
                body = memoryview(response.body).cast("B")
                for offset in range(0, len(body), CHUNK_SIZE):
                    self.wfile.write(body[offset : offset + CHUNK_SIZE])
            if response.stall:
                self.wfile.flush()
                time.sleep(response.stall)
            if response.reset:
                self.wfile.flush()
                # SO_LINGER on with a zero timeout: close() sends RST, not FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
        except (ConnectionError, TimeoutError):
            self.close_connection = True
