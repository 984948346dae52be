"""An origin that fails on purpose: the faults of real networks and servers, on a seeded plan.

`ChaosOrigin` serves in-memory objects the way both a static HTTP host and an S3-compatible
endpoint do (path-style ``/bucket/key``: ``ETag``, ``Last-Modified``, ``Content-Range``,
``206``, conditional requests, an XML ``NoSuchKey`` 404), so obstore's ``HTTPStore`` and an
unsigned ``S3Store`` (``skip_signature``) both read it. Each GET or HEAD may instead meet one
`Fault`:

- scripted: ``origin.script("bucket/key", Fault.RESET, Fault.STATUS_503)`` makes the next
  requests for that path fail in that order;
- a storm: while ``origin.storm`` is set, every request meets that fault;
- at a rate: with ``rate=0.1`` one request in ten meets a fault drawn from ``kinds``. The draw
  for the n-th request of a path depends only on ``(seed, path, n)``, so a plan replays the
  same way whatever order concurrent requests arrive in.

Every fault injected is counted by kind (`ChaosOrigin.injected`) and logged with its path
(`ChaosOrigin.faults`), so a test can compare what was injected with what its client survived.
"""

from __future__ import annotations

import enum
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from obstac.testing.http_origin import RecordedRequest, Response, StoredObject, _OriginServer

__all__ = ["ChaosOrigin", "Fault", "InjectedFault"]


class Fault(enum.StrEnum):
    """One way a request can go wrong."""

    STATUS_500 = "500"
    """``500 Internal Server Error`` (an S3 ``InternalError`` body)."""
    STATUS_503 = "503"
    """``503 Slow Down`` without ``Retry-After``."""
    STATUS_503_RETRY_AFTER = "503 Retry-After"
    """``503`` with ``Retry-After`` (`ChaosOrigin.retry_after` seconds)."""
    STATUS_429 = "429"
    """``429 Too Many Requests`` without ``Retry-After``."""
    STATUS_429_RETRY_AFTER = "429 Retry-After"
    """``429`` with ``Retry-After``."""
    RESET = "reset mid-body"
    """The headers and half the body, then a TCP reset (RST)."""
    SHORT_BODY = "short body"
    """The full ``Content-Length``, half the body, then a clean close (FIN)."""
    STALL_HEADERS = "stall before headers"
    """Silence for `ChaosOrigin.stall_seconds`, then a bare ``503`` and a close (a client
    whose read timeout is shorter has given up by then)."""
    STALL_BODY = "stall mid-body"
    """The headers and half the body, then silence for `ChaosOrigin.stall_seconds`."""
    CHANGE = "object changed"
    """The object gets a new version (same size, new ETag) before the request is answered.
    Only for a ranged GET past byte 0: the object changes *between parts* of one download."""
    IGNORE_RANGE = "range ignored"
    """``200`` with the whole object to a ranged GET (only ranged GETs)."""
    HTML_200 = "HTML page with 200"
    """``200 text/html`` with an error page instead of the object."""


_STATUS = {
    Fault.STATUS_500: (500, "InternalError", "We encountered an internal error."),
    Fault.STATUS_503: (503, "SlowDown", "Please reduce your request rate."),
    Fault.STATUS_503_RETRY_AFTER: (503, "SlowDown", "Please reduce your request rate."),
    Fault.STATUS_429: (429, "TooManyRequests", "Too many requests."),
    Fault.STATUS_429_RETRY_AFTER: (429, "TooManyRequests", "Too many requests."),
}
_RETRY_AFTER = frozenset({Fault.STATUS_503_RETRY_AFTER, Fault.STATUS_429_RETRY_AFTER})
_BODY_FAULTS = frozenset({Fault.RESET, Fault.SHORT_BODY, Fault.STALL_BODY})
_RANGED_ONLY = frozenset({Fault.IGNORE_RANGE, Fault.CHANGE})

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><h1>Service Temporarily Unavailable</h1><p>Please try again later.</p></body>"
    b"</html>\n"
)
"""The page a misconfigured proxy or CDN sends with ``200`` in place of the object."""


@dataclass(frozen=True)
class InjectedFault:
    """One fault the origin injected.

    Attributes:
        kind: What went wrong.
        path: The decoded path of the request (``bucket/key`` for S3-style requests).
        method: ``GET`` or ``HEAD``.
        range: The request's ``Range`` header, or None.
        at: ``time.monotonic()`` when it was injected.
    """

    kind: Fault
    path: str
    method: str
    range: str | None
    at: float


class ChaosOrigin(_OriginServer):
    """An HTTP and S3-compatible (path-style, unsigned) origin that injects faults.

    Args:
        seed: Seeds the per-request draws of the rate plan.
        rate: Probability that a request meets a fault drawn from ``kinds`` (0 disables).
        kinds: The faults the rate plan draws from (default: all of them). A draw that does
            not apply to a request (a body fault on a HEAD, ``IGNORE_RANGE`` on a GET without
            ``Range``, ``CHANGE`` on a request starting at byte 0) is redrawn among the kinds
            that do apply; when none does, the request is served normally.
        stall_seconds: How long a stall lasts; make it longer than the client's read timeout.
        retry_after: The ``Retry-After`` value, in seconds, of the faults that carry one.
        latency: Seconds every answer waits before it is sent (0: none), so that requests in
            flight at the origin show how many a client keeps open.
        port: The 127.0.0.1 port to bind; 0 picks a free one.

    Example:
        ```py
        with ChaosOrigin(seed=1, rate=0.1) as origin:
            origin.put("bucket/a.tif", data)
            http_href = f"{origin.url}/bucket/a.tif"
            s3_store = S3Store("bucket", endpoint=origin.url, skip_signature=True,
                               client_options={"allow_http": True})
            ...
            print(origin.injected)   # Counter({Fault.RESET: 3, ...})
        ```
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        rate: float = 0.0,
        kinds: Iterable[Fault] = tuple(Fault),
        stall_seconds: float = 1.0,
        retry_after: int = 1,
        latency: float = 0.0,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"ChaosOrigin(rate={rate}): use a probability in [0, 1]")
        self.seed = seed
        self.rate = rate
        self.kinds = tuple(kinds)
        self.stall_seconds = stall_seconds
        self.retry_after = retry_after
        self.latency = latency
        self.storm: Fault | None = None
        """While set, every GET and HEAD meets this fault (e.g. a 503 storm)."""
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Fault | None]] = {}
        self._seen: Counter[str] = Counter()
        self._faults: list[InjectedFault] = []
        self._versions: Counter[str] = Counter()
        self._history: dict[str, list[StoredObject]] = {}

    # -- objects and plans -------------------------------------------------------------------

    def put(self, path: str, data: bytes) -> None:
        """Store an object at ``path`` (``bucket/key`` for S3-style access).

        Args:
            path: The unencoded path without a leading slash.
            data: The content.
        """
        stored = self._put_object(path, data)
        with self._lock:
            self._history[path] = [stored]

    def history(self, path: str) -> list[StoredObject]:
        """Every version stored at ``path``, oldest first (`Fault.CHANGE` adds one each).

        A download that ended before a change reached it holds an earlier version: check a
        file against the version whose ETag its transfer reports.
        """
        with self._lock:
            return list(self._history.get(path, ()))

    def script(self, path: str, *faults: Fault | None) -> None:
        """Make the next requests for ``path`` meet ``faults``, one each, in order.

        ``None`` serves one request normally (e.g. ``None, Fault.IGNORE_RANGE`` spares the
        first request and hits the second). A scripted fault that does not apply to the
        request it meets (see ``kinds``) waits for the next request it applies to.

        Args:
            path: The decoded path, as given to `put`.
            faults: The faults, first one first.
        """
        with self._lock:
            self._scripts.setdefault(path, []).extend(faults)

    def versions(self, path: str) -> int:
        """How many times a `Fault.CHANGE` replaced the object at ``path`` (0: the original)."""
        with self._lock:
            return self._versions[path]

    # -- what was injected -------------------------------------------------------------------

    @property
    def injected(self) -> Counter[Fault]:
        """Faults injected so far, by kind."""
        with self._lock:
            return Counter(fault.kind for fault in self._faults)

    @property
    def faults(self) -> list[InjectedFault]:
        """Every fault injected so far, oldest first."""
        with self._lock:
            return list(self._faults)

    # -- answering ---------------------------------------------------------------------------

    def not_found(self, request: RecordedRequest) -> Response:
        """An S3-style XML ``NoSuchKey`` (HTTP clients only look at the status)."""
        return _xml_error(404, "NoSuchKey", "The specified key does not exist.", request.path)

    def handle(self, request: RecordedRequest) -> Response | None:
        """Decide this request's fault, if any, and answer it."""
        if self.latency:
            time.sleep(self.latency)
        if request.method not in ("GET", "HEAD"):
            return None
        fault = self._decide(request)
        if fault is None:
            return None
        with self._lock:
            self._faults.append(
                InjectedFault(fault, request.path, request.method, request.range, time.monotonic())
            )
        return self._inject(fault, request)

    def _decide(self, request: RecordedRequest) -> Fault | None:
        with self._lock:
            index = self._seen[request.path]
            self._seen[request.path] += 1
            storm = self.storm
            if storm is not None and _applies(storm, request):
                return storm
            script = self._scripts.get(request.path)
            if script:
                for position, fault in enumerate(script):
                    if fault is None or _applies(fault, request):
                        del script[position]
                        return fault
        if self.rate <= 0.0:
            return None
        draw = random.Random(f"{self.seed}/{request.path}/{index}")  # noqa: S311 - a test plan
        if draw.random() >= self.rate:
            return None
        candidates = [kind for kind in self.kinds if _applies(kind, request)]
        return draw.choice(candidates) if candidates else None

    def _inject(self, fault: Fault, request: RecordedRequest) -> Response | None:
        if fault in _STATUS:
            status, code, message = _STATUS[fault]
            response = _xml_error(status, code, message, request.path)
            if fault in _RETRY_AFTER:
                headers = {**response.headers, "Retry-After": str(self.retry_after)}
                response = Response(status, headers, response.body)
            return response
        if fault is Fault.STALL_HEADERS:
            time.sleep(self.stall_seconds)
            return Response(503, {}, b"", close=True)  # the client has given up by now
        if fault is Fault.HTML_200:
            headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
            return Response(200, headers, HTML_PAGE)
        if fault is Fault.CHANGE:
            self._change(request.path)
            return None  # served normally: the new ETag (or a 412 to If-Match) tells the client
        served = self.serve(request)
        if fault is Fault.IGNORE_RANGE:
            stored = self.object_at(request.path)
            if stored is None or served.status not in (200, 206):
                return served
            headers = {k: v for k, v in served.headers.items() if k != "Content-Range"}
            headers["Content-Length"] = str(len(stored.data))
            return Response(200, headers, memoryview(stored.data))
        # RESET, SHORT_BODY, STALL_BODY: the announced length, half the bytes.
        half = memoryview(served.body)[: len(served.body) // 2]
        if fault is Fault.RESET:
            return Response(served.status, served.headers, half, reset=True)
        if fault is Fault.STALL_BODY:
            return Response(served.status, served.headers, half, stall=self.stall_seconds)
        return Response(served.status, served.headers, half, close=True)

    def _change(self, path: str) -> None:
        """Replace the object by a new version of the same size (one byte differs)."""
        stored = self.object_at(path)
        if stored is None or not stored.data:
            return
        with self._lock:
            self._versions[path] += 1
            version = self._versions[path]
        data = bytearray(stored.data)
        data[version % len(data)] ^= 0xFF
        changed = self._put_object(path, bytes(data), stored.headers)
        with self._lock:
            self._history.setdefault(path, [stored]).append(changed)


def _applies(fault: Fault, request: RecordedRequest) -> bool:
    """Whether ``fault`` can happen to ``request``."""
    if (fault in _BODY_FAULTS or fault is Fault.HTML_200) and request.method != "GET":
        return False
    if fault in _RANGED_ONLY:
        if request.method != "GET" or request.range is None:
            return False
        if fault is Fault.CHANGE:
            return _range_start(request.range) > 0
    return True


def _range_start(header: str) -> int:
    first = header.partition("=")[2].partition("-")[0].strip()
    return int(first) if first.isdigit() else 0


def _xml_error(status: int, code: str, message: str, path: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<Resource>/{escape(path)}</Resource><RequestId>chaos</RequestId></Error>"
    ).encode()
    return Response(status, {"Content-Type": "application/xml"}, body)
