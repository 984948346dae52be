"""A TCP proxy that makes a local server look far away: round-trip time and bandwidth caps.

There is no ``netem`` on the machines obstac is tested on, so `LatencyProxy` plays the network
between a client and a server on 127.0.0.1. Every byte keeps its order and value; on the way:

- **Delay.** Each chunk is delivered half an RTT after it arrived, in each direction, so one
  request/response round gains one ``rtt``. Chunks are pipelined (a delivery queue per
  direction, up to :data:`WINDOW_BYTES` in flight), so a long stream is delayed, not slowed:
  its throughput is set by the caps, as on a real link. A new connection also waits one
  ``rtt`` before its first byte goes through, the cost of TCP's handshake.
- **Bandwidth.** Token buckets cap each connection (``per_connection``) and all connections
  together (``total``), in bytes per second, each direction on its own (a link is full duplex).

Profiles (see :data:`PROFILES`): ``"wan"`` is a cloud region seen from a good office or a
remote VM — 40 ms RTT, 25 MiB/s per connection (what one TCP stream to S3 gets over such a
path), 200 MiB/s in total; ``"lan"`` adds nothing (no delay, no cap), so the same code path can
run at local speed.

Ceiling, measured on the 2-core development machine (Python 3.11, one 512 MiB stream from a
sender process to a reader, no cap): 1200-1270 MiB/s through the ``lan`` profile and 960-970
MiB/s with a 40 ms RTT, against 4-5 GiB/s for the same stream without the proxy. The ``wan``
profile gives that stream 24 MiB/s (50 MiB in 2.07 s: 2.0 s at 25 MiB/s plus the handshake and
one-way delay). The proxy runs all connections on one event loop in one thread, so these are
also its ceiling summed over connections; a benchmark whose result nears them measures the
proxy, not the modelled link, and must say so.

Example:
    ```py
    with MotoServer() as moto, LatencyProxy.profile("wan", moto.port) as wan:
        store = S3Store("bucket", endpoint=wan.url, ...)  # 40 ms away, 25 MiB/s per stream
    ```
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from obstac.testing._ports import LOOPBACK
from obstac.testing._tcp_proxy import TCPProxy

__all__ = [
    "MIB",
    "PROFILES",
    "WINDOW_BYTES",
    "LatencyProxy",
    "LinkProfile",
    "ProfileName",
]

MIB = 1024 * 1024
"""One mebibyte, the unit of the caps."""

READ_SIZE = 256 * 1024
"""Bytes read from a socket per call: large reads keep the proxy's own ceiling high."""

WINDOW_BYTES = 32 * MIB
"""Most bytes queued for delayed delivery per direction of one connection, like a TCP window.
In-flight bytes bound a stream to window / one-way delay: 32 MiB / 20 ms = 1.6 GiB/s, above
the proxy's own ceiling, so the delay never caps throughput below the bandwidth caps (8 MiB
held an uncapped 40 ms stream to 370 MiB/s). A capped stream holds far less (25 MiB/s x 20 ms
= 0.5 MiB)."""

BURST_SECONDS = 0.005
"""A token bucket holds at most this many seconds of its rate (and at least one read), so a
capped transfer cannot burst far above its rate after idling."""


ProfileName = Literal["wan", "lan"]


@dataclass(frozen=True)
class LinkProfile:
    """A modelled network path.

    Attributes:
        rtt: Round-trip time added, in seconds.
        per_connection: Bytes per second each connection may carry in each direction, or None
            for no cap.
        total: Bytes per second all connections together may carry in each direction, or None
            for no cap.
    """

    rtt: float
    per_connection: float | None
    total: float | None


PROFILES: dict[ProfileName, LinkProfile] = {
    "wan": LinkProfile(rtt=0.040, per_connection=25 * MIB, total=200 * MIB),
    "lan": LinkProfile(rtt=0.0, per_connection=None, total=None),
}
"""The named profiles: ``"wan"`` (40 ms, 25 MiB/s per connection, 200 MiB/s in total) and
``"lan"`` (nothing added)."""


class _TokenBucket:
    """Paces bytes to a rate; reservations may go into debt, which the caller waits out."""

    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, now: float) -> None:
        self._rate = rate
        self._burst = max(rate * BURST_SECONDS, float(READ_SIZE))
        self._tokens = self._burst
        self._stamp = now

    def reserve(self, count: int, now: float) -> float:
        """Take ``count`` tokens; return how long to wait until they are really there."""
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        self._tokens -= count
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


class _Direction:
    """Counters and the shared bucket of one direction (client to server, or back)."""

    def __init__(self, total: float | None) -> None:
        self.total_rate = total
        self.bucket: _TokenBucket | None = None
        self.bytes = 0


class LatencyProxy(TCPProxy):
    """A TCP proxy on 127.0.0.1 adding round-trip time and bandwidth caps (see the module).

    It runs its own asyncio event loop in a background thread, so it works beside any client,
    sync or async.

    Attributes:
        rtt: The added round-trip time, seconds.
        per_connection: The per-connection cap, bytes/s each way (None: none).
        total: The cap on all connections together, bytes/s each way (None: none).
    """

    def __init__(
        self,
        target_port: int,
        *,
        rtt: float = 0.040,
        per_connection: float | None = 25 * MIB,
        total: float | None = 200 * MIB,
        target_host: str = LOOPBACK,
    ) -> None:
        """Describe the proxy; nothing listens until ``start``.

        Args:
            target_port: The port of the server to forward to.
            rtt: Round-trip time to add, seconds (half each way); 0 for none.
            per_connection: Cap per connection, bytes/s in each direction; None for none.
            total: Cap over all connections, bytes/s in each direction; None for none.
            target_host: The host of the server to forward to.

        Raises:
            ValueError: If ``rtt`` is negative or a cap is not positive.
        """
        if rtt < 0:
            msg = f"rtt={rtt!r}: the added round-trip time cannot be negative"
            raise ValueError(msg)
        for name, cap in (("per_connection", per_connection), ("total", total)):
            if cap is not None and cap <= 0:
                msg = f"{name}={cap!r}: a cap must be positive bytes/s, or None for no cap"
                raise ValueError(msg)
        super().__init__(target_port, target_host)
        self.rtt = rtt
        self.per_connection = per_connection
        self.total = total
        self._up = _Direction(total)
        self._down = _Direction(total)

    @classmethod
    def profile(
        cls, name: ProfileName, target_port: int, *, target_host: str = LOOPBACK
    ) -> LatencyProxy:
        """A proxy with a named profile's delay and caps (see :data:`PROFILES`).

        Args:
            name: ``"wan"`` or ``"lan"``.
            target_port: The port of the server to forward to.
            target_host: The host of the server to forward to.

        Returns:
            The proxy, not started.

        Raises:
            ValueError: If ``name`` is not a profile.
        """
        if name not in PROFILES:
            msg = f"profile {name!r} is unknown; use one of {sorted(PROFILES)}"
            raise ValueError(msg)
        link = PROFILES[name]
        return cls(
            target_port,
            rtt=link.rtt,
            per_connection=link.per_connection,
            total=link.total,
            target_host=target_host,
        )

    @property
    def bytes_up(self) -> int:
        """Bytes forwarded from clients to the server since start."""
        with self._lock:
            return self._up.bytes

    @property
    def bytes_down(self) -> int:
        """Bytes forwarded from the server to clients since start."""
        with self._lock:
            return self._down.bytes

    def __repr__(self) -> str:
        caps = ", ".join(
            f"{name}={cap / MIB:g} MiB/s" if cap is not None else f"{name}=None"
            for name, cap in (("per_connection", self.per_connection), ("total", self.total))
        )
        return f"LatencyProxy({self._target[0]}:{self._target[1]}, rtt={self.rtt:g}, {caps})"

    async def _before_connect(self) -> None:
        if self.rtt:
            await asyncio.sleep(self.rtt)  # the handshake's round trip

    def _pipes(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        server_reader: asyncio.StreamReader,
        server_writer: asyncio.StreamWriter,
    ) -> set[asyncio.Future[None]]:
        return {
            asyncio.ensure_future(self._pipe(client_reader, server_writer, self._up)),
            asyncio.ensure_future(self._pipe(server_reader, client_writer, self._down)),
        }

    def _buckets(self, direction: _Direction, now: float) -> list[_TokenBucket]:
        buckets = []
        if self.per_connection is not None:
            buckets.append(_TokenBucket(self.per_connection, now))
        if direction.total_rate is not None:
            if direction.bucket is None:
                direction.bucket = _TokenBucket(direction.total_rate, now)
            buckets.append(direction.bucket)
        return buckets

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: _Direction
    ) -> None:
        """Copy bytes until EOF through the caps and the delay, then half-close the writer."""
        loop = asyncio.get_running_loop()
        buckets = self._buckets(direction, loop.time())
        one_way = self.rtt / 2
        delivery: _Delivery | None = None
        consumer: asyncio.Future[None] | None = None
        if one_way:
            delivery = _Delivery(writer)
            consumer = asyncio.ensure_future(delivery.run())
        try:
            while data := await reader.read(READ_SIZE):
                if buckets:
                    now = loop.time()
                    wait = max(bucket.reserve(len(data), now) for bucket in buckets)
                    if wait > 0:
                        await asyncio.sleep(wait)
                with self._lock:
                    direction.bytes += len(data)
                if delivery is None:
                    writer.write(data)
                    await writer.drain()
                else:
                    await delivery.put(loop.time() + one_way, data)
            if delivery is not None and consumer is not None:
                await delivery.put(loop.time() + one_way, b"")  # EOF, delayed like data
                await consumer
            elif writer.can_write_eof() and not writer.is_closing():
                writer.write_eof()
        finally:
            if consumer is not None:
                # Also collects a delivery that failed on its own (the receiver reset), so
                # asyncio never logs its exception as unretrieved.
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)


class _Delivery:
    """Writes queued chunks to one writer, each at its due time; ``b""`` means EOF."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        self._queued_bytes = 0
        self._space = asyncio.Event()
        self._dead = False

    async def put(self, due: float, data: bytes) -> None:
        """Queue ``data`` for ``due``; wait while the window is full."""
        while self._queued_bytes >= WINDOW_BYTES and not self._dead:
            self._space.clear()
            await self._space.wait()
        if self._dead:
            msg = "the receiving side of the proxied connection closed"
            raise ConnectionResetError(msg)
        self._queued_bytes += len(data)
        self._queue.put_nowait((due, data))

    async def run(self) -> None:
        """Deliver until EOF; a failed write ends the delivery and wakes a waiting ``put``."""
        loop = asyncio.get_running_loop()
        writer = self._writer
        try:
            while True:
                due, data = await self._queue.get()
                self._queued_bytes -= len(data)
                self._space.set()
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if not data:
                    if writer.can_write_eof() and not writer.is_closing():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        finally:
            self._dead = True
            self._space.set()
