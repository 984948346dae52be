"""What a transfer tells its watchers: :class:`TransferEvent`, sent to an :class:`EventSink`.

A sink is any callable taking one event (a function, a bound method, :class:`EventLog`). It is
called from the event loop running the transfer (the portal thread for the sync API), so it
must return quickly: hand the event to a progress bar or a queue, do not do I/O that blocks.
A sink that raises is reported once through :mod:`logging` and then left out; it never stops
a transfer.

``bytes`` events are coalesced: one per job at most every :data:`BYTES_EVENT_MIN_BYTES` bytes
or :data:`BYTES_EVENT_MIN_SECONDS` seconds, not one per network chunk.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "BYTES_EVENT_MIN_BYTES",
    "BYTES_EVENT_MIN_SECONDS",
    "EventKind",
    "EventLog",
    "EventSink",
    "TransferEvent",
]

EventKind = Literal["start", "bytes", "retry", "skip", "done", "fail"]

BYTES_EVENT_MIN_BYTES = 1024 * 1024
"""A job reports received bytes once at least 1 MiB is pending (or see the time bound)."""

BYTES_EVENT_MIN_SECONDS = 0.1
"""... or once 100 ms passed since its last report: 10 updates/s is smooth for a progress bar,
and at 1 GiB/s it still means ~1000 events/s in total, not 130,000 (one per 8 KiB chunk)."""

_log = logging.getLogger("obstac.transfer")


@dataclass(frozen=True)
class TransferEvent:
    """One thing that happened to one transfer job.

    Attributes:
        kind: ``start`` (the job began), ``bytes`` (bytes arrived), ``retry`` (a request
            failed and will be retried), ``skip`` (the target is proven identical),
            ``done`` (finished and verified), ``fail`` (gave up).
        job_id: The job's id.
        href: The source href, credentials redacted.
        target: The destination: a local path or a store URL.
        bytes: For ``bytes``: bytes received since the last event. For ``done`` and ``skip``:
            the object's size.
        total: The object's size when known.
        attempt: For ``retry``: the attempt that failed (1 = the first).
        message: For ``retry`` and ``fail``: why (credentials redacted).
    """

    kind: EventKind
    job_id: str
    href: str
    target: str
    bytes: int = 0
    total: int | None = None
    attempt: int = 0
    message: str = ""


@runtime_checkable
class EventSink(Protocol):
    """Receives transfer events; any ``callable(event) -> None`` is one."""

    def __call__(self, event: TransferEvent) -> None:
        """Handle one event; called on the transfer's event loop, so return quickly."""
        ...


class EventLog:
    """A sink that keeps every event, e.g. to inspect a transfer afterwards or in tests.

    Example:
        ```py
        log = EventLog()
        transfer(jobs, events=log)
        retried = [e for e in log.events if e.kind == "retry"]
        ```
    """

    def __init__(self) -> None:
        self._events: list[TransferEvent] = []
        self._lock = threading.Lock()

    def __call__(self, event: TransferEvent) -> None:
        """Keep ``event``."""
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[TransferEvent]:
        """A snapshot of the events received so far, oldest first."""
        with self._lock:
            return list(self._events)

    def of_kind(self, kind: EventKind) -> list[TransferEvent]:
        """The events of one kind, oldest first."""
        return [event for event in self.events if event.kind == kind]

    def __repr__(self) -> str:
        return f"EventLog(events={len(self.events)})"


class _Emitter:
    """Delivers events to a user sink, isolating the transfer from the sink's failures."""

    def __init__(self, sink: EventSink | None) -> None:
        self._sink = sink

    @property
    def active(self) -> bool:
        return self._sink is not None

    def __call__(self, event: TransferEvent) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            sink(event)
        except Exception:
            _log.exception("the transfer event sink %r raised; it gets no more events", sink)
            self._sink = None


class _ByteReporter:
    """Coalesces one job's received bytes into ``bytes`` events (see the module docstring)."""

    __slots__ = ("_emit", "_href", "_job_id", "_last", "_pending", "_target", "total")

    def __init__(self, emit: _Emitter, job_id: str, href: str, target: str) -> None:
        self._emit = emit
        self._job_id = job_id
        self._href = href
        self._target = target
        self._pending = 0
        self._last = time.monotonic()
        self.total: int | None = None

    def add(self, count: int) -> None:
        if not self._emit.active:
            return
        self._pending += count
        if self._pending >= BYTES_EVENT_MIN_BYTES:
            self.flush()
            return
        now = time.monotonic()
        if now - self._last >= BYTES_EVENT_MIN_SECONDS:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self._pending:
            pending, self._pending = self._pending, 0
            self._last = time.monotonic() if now is None else now
            self._emit(
                TransferEvent("bytes", self._job_id, self._href, self._target, pending, self.total)
            )
