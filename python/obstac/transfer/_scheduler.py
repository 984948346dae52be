"""One limiter for every request a transfer makes: a global limit and a per-host limit.

Every GET and HEAD of a transfer holds one *slot* while it is in flight (from sending the
request to receiving its last byte). A :class:`Scheduler` is shared by all jobs of one call and
can be passed to the next call, so two concurrent downloads in one program share one budget.

Slots are per event loop: asyncio primitives belong to one loop. All sync calls run on the one
portal loop (:mod:`obstac.transfer._portal`), so they share limits; an async caller's loop gets
its own set of slots with the same limits.

The per-host limit adapts to throttling, the way TCP adapts to loss (AIMD): a request that
ends in 429 or 503 halves the host's limit (once per round: requests that started before the
last cut cannot cut it again), and every request that succeeds raises it by one, back up to
``max_per_host``. A storm thus drains to one request in flight within a few rounds, and a
host that recovers gets its full concurrency back after about ``max_per_host`` successes.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from obstac.errors import status_of

__all__ = [
    "DEFAULT_MAX_BUFFERED_BYTES",
    "DEFAULT_MAX_PER_HOST",
    "DEFAULT_MAX_REQUESTS",
    "MAX_UPLOADS",
    "THROTTLE_STATUSES",
    "ByteBudget",
    "Scheduler",
]

DEFAULT_MAX_REQUESTS = 100
"""Requests in flight at once, over all hosts. Measured (docs/transfer.md): with ~100 requests
in flight many small objects reach 0.97 of a 100 MiB/s, 60 ms RTT link, while 32 or fewer
leave 10-20% of it idle; beyond ~100 nothing is gained and memory grows (each request in flight
may hold one stream chunk). Behind the benchmark's Python proxies on 2 cores, 64 was 1-5% faster
than 100 on 200 x 1 MiB (a plain aiohttp client drifts the same way: the proxies pay per
connection); kept at 100 because real links to distant regions need more in flight, not fewer
(benchmarks/README.md, "Latest numbers")."""

DEFAULT_MAX_PER_HOST = 100
"""Requests in flight to one host (an HTTP origin, or one bucket/container's endpoint). Equal to
the global limit: a download from one bucket, the common case, should get the full measured
concurrency. Lower it for small institutional servers that throttle or refuse many
connections (e.g. ``Scheduler(max_per_host=8)``)."""


DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024
"""Memory that store-to-store copies sharing one scheduler may hold at once (256 MiB). An object
sent with one PUT (up to ``single_put_threshold``, 64 MiB) is held whole, and parts of a
multipart copy wait in memory for the upload to take them in order; this bounds them, so a
1 GiB copy, or fifty 12 MiB ones, never hold more."""

MAX_UPLOADS = 4
"""Large store-to-store copies (multipart uploads) in flight at once per scheduler. Each holds
up to 5 upload buffers of one part besides its parts in flight: 4 bound that to ~160 MiB with
8 MiB parts. Small copies (one PUT each) are not limited by it."""


THROTTLE_STATUSES = frozenset({429, 503})
"""Statuses that mean "slow down": they halve the host's concurrency and pause it."""


class _HostLimit:
    """An adaptive limit of requests in flight to one host (see the module docstring)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = float(maximum)
        self.used = 0
        self.round = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> int:
        """Wait for room under the current limit; return the round the request starts in."""
        if not self.waiters and self.used < int(self.limit):
            self.used += 1
            return self.round
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted just as we were cancelled: give it back
            else:
                self.waiters.remove(waiter)
            raise
        return self.round

    def release(self) -> None:
        self.used -= 1
        self._wake()

    def throttled(self, started_round: int) -> None:
        """A request that started in ``started_round`` was told to slow down: halve, once."""
        if started_round == self.round:
            self.limit = max(1.0, self.limit / 2)
            self.round += 1

    def succeeded(self) -> None:
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1)
            self._wake()

    def _wake(self) -> None:
        while self.waiters and self.used < int(self.limit):
            waiter = self.waiters.popleft()
            if not waiter.done():
                self.used += 1
                waiter.set_result(None)


class _LoopSlots:
    """The semaphores and memory budget of one event loop."""

    def __init__(self, max_requests: int, max_per_host: int, max_buffered_bytes: int) -> None:
        self.all = asyncio.Semaphore(max_requests)
        self.max_per_host = max_per_host
        self.hosts: dict[str, _HostLimit] = {}
        self.buffers = ByteBudget(max_buffered_bytes)
        self.uploads = asyncio.Semaphore(MAX_UPLOADS)

    def host(self, host: str) -> _HostLimit:
        limit = self.hosts.get(host)
        if limit is None:
            limit = self.hosts[host] = _HostLimit(self.max_per_host)
        return limit


class Scheduler:
    """Limits the requests in flight: at most ``max_requests`` in all, ``max_per_host`` per host.

    Pass one to several calls (``transfer(..., scheduler=s)``, ``download_items(...,
    scheduler=s)``) to make them share one budget.

    Args:
        max_requests: Requests in flight at once over all hosts.
        max_per_host: Requests in flight at once to one host.
        max_buffered_bytes: Memory store-to-store copies may hold at once.

    Raises:
        ValueError: A limit is below 1.
    """

    def __init__(
        self,
        *,
        max_requests: int = DEFAULT_MAX_REQUESTS,
        max_per_host: int = DEFAULT_MAX_PER_HOST,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
    ) -> None:
        limits = (
            ("max_requests", max_requests),
            ("max_per_host", max_per_host),
            ("max_buffered_bytes", max_buffered_bytes),
        )
        for name, value in limits:
            if value < 1:
                raise ValueError(f"Scheduler({name}={value}): it must be at least 1")
        self._max_requests = max_requests
        self._max_per_host = max_per_host
        self._max_buffered_bytes = max_buffered_bytes
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSlots] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._paused_until: dict[str, float] = {}
        self._in_flight = 0
        self._peak = 0

    @property
    def max_requests(self) -> int:
        """The global limit."""
        return self._max_requests

    @property
    def max_per_host(self) -> int:
        """The per-host limit."""
        return self._max_per_host

    @property
    def in_flight(self) -> int:
        """Requests holding a slot right now."""
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests that held a slot at once since this scheduler was made."""
        return self._peak

    def pause(self, host: str, seconds: float) -> None:
        """Start no new request to ``host`` for ``seconds`` (requests in flight go on).

        The engine calls this when a host answers 429 or 503, so that every job backs off
        from it together instead of each retrying into the storm.
        """
        until = time.monotonic() + max(0.0, seconds)
        with self._lock:
            if until > self._paused_until.get(host, 0.0):
                self._paused_until[host] = until

    def _slots(self) -> _LoopSlots:
        loop = asyncio.get_running_loop()
        with self._lock:
            slots = self._loops.get(loop)
            if slots is None:
                slots = self._loops[loop] = _LoopSlots(
                    self._max_requests, self._max_per_host, self._max_buffered_bytes
                )
            return slots

    async def _wait_unpaused(self, host: str) -> None:
        while True:
            wait = self._paused_until.get(host, 0.0) - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    def buffers(self) -> ByteBudget:
        """The running loop's memory budget for store-to-store copies."""
        return self._slots().buffers

    def uploads(self) -> asyncio.Semaphore:
        """The running loop's limit on large store-to-store copies (:data:`MAX_UPLOADS`)."""
        return self._slots().uploads

    def host_limit(self, host: str) -> int:
        """The running loop's current limit of requests in flight to ``host``: ``max_per_host``,
        or less while the host throttles (429/503)."""
        limit = self._slots().hosts.get(host)
        return int(limit.limit) if limit is not None else self._max_per_host

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request slot for ``host`` for the duration of the ``async with`` block.

        A block that raises an error with status 429 or 503 halves the host's limit; one that
        ends without error raises it by one (up to ``max_per_host``).
        """
        slots = self._slots()
        await self._wait_unpaused(host)
        limit = slots.host(host)
        started = await limit.acquire()
        try:
            await self._wait_unpaused(host)
            async with slots.all:
                with self._lock:
                    self._in_flight += 1
                    self._peak = max(self._peak, self._in_flight)
                try:
                    yield
                finally:
                    with self._lock:
                        self._in_flight -= 1
        except Exception as error:
            if status_of(error) in THROTTLE_STATUSES:
                limit.throttled(started)
            raise
        else:
            limit.succeeded()
        finally:
            limit.release()

    def __repr__(self) -> str:
        return (
            f"Scheduler(max_requests={self._max_requests}, max_per_host={self._max_per_host}, "
            f"in_flight={self._in_flight})"
        )


class ByteBudget:
    """A first-come-first-served byte semaphore: bounds what store-to-store copies buffer."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def acquire(self, amount: int) -> int:
        """Take ``amount`` bytes (at most the total), waiting behind earlier requests."""
        amount = min(amount, self.total)
        if not self._waiters and self._free >= amount:
            self._free -= amount
            return amount
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((amount, waiter))
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release(amount)  # granted just as we were cancelled: give it back
            else:
                self._waiters.remove((amount, waiter))
                self._wake()
            raise
        return amount

    def release(self, amount: int) -> None:
        """Give back bytes taken with :meth:`acquire`."""
        self._free += amount
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._free >= self._waiters[0][0]:
            amount, waiter = self._waiters.popleft()
            if not waiter.done():
                self._free -= amount
                waiter.set_result(None)
