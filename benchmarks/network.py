"""The simulated link between the peers and the origin, and the ideal time it allows.

Each peer connects to a :class:`obstac.testing.LatencyProxy` (the link: RTT and bandwidth
caps), which forwards to a :class:`obstac.testing.CountingProxy` (counts HTTP requests), which
forwards to the origin. Both proxies run in the harness process, each on its own event loop.

Profiles (:data:`obstac.testing.latency_proxy.PROFILES`): ``wan`` = 40 ms RTT, 25 MiB/s per
connection, 200 MiB/s in total; ``lan`` = nothing added (the proxies' own cost only).

Proxy ceiling, from the LatencyProxy docstring (2-core machine, one 512 MiB stream, no cap):
1200-1270 MiB/s through ``lan``, 960-970 MiB/s with a 40 ms RTT. It runs all connections on one
event loop in one thread, so that is also its ceiling summed over connections. The ``wan``
total cap (200 MiB/s) is 5x below it; the CountingProxy in the chain adds its own cost, not
measured separately yet (see README).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Self

from obstac.testing import CountingProxy, LatencyProxy, Service
from obstac.testing.latency_proxy import PROFILES, ProfileName

PROXY_CEILING = (
    "LatencyProxy (one asyncio loop, one thread), measured on the 2-core dev machine with one "
    "512 MiB stream: 1200-1270 MiB/s (lan), 960-970 MiB/s with 40 ms RTT; also its ceiling "
    "summed over connections. wan caps total at 200 MiB/s, 5x below."
)
"""The proxy's own ceiling, as its docstring states it."""


def ideal_seconds(payload_bytes: int, profile: ProfileName) -> float | None:
    """The fastest a transfer of ``payload_bytes`` could finish under a profile.

    ``bytes / total cap + one RTT``; None when the profile has no total cap (``lan``).
    """
    link = PROFILES[profile]
    if link.total is None:
        return None
    return payload_bytes / link.total + link.rtt


class Link(Service):
    """The proxy chain in front of an origin port; a context manager.

    Attributes:
        profile: The profile's name.
    """

    def __init__(self, profile: ProfileName, origin_port: int) -> None:
        """Describe the chain; nothing listens until ``start``."""
        self.profile = profile
        self._counter = CountingProxy(origin_port)
        self._origin_port = origin_port
        self._latency: LatencyProxy | None = None
        self._stack = ExitStack()

    @property
    def url(self) -> str:
        """The URL peers connect to."""
        if self._latency is None:
            msg = "Link is not started"
            raise RuntimeError(msg)
        return self._latency.url

    def start(self) -> Self:
        """Start both proxies."""
        self._stack.enter_context(self._counter)
        latency = LatencyProxy.profile(self.profile, self._counter.port)
        self._latency = self._stack.enter_context(latency)
        return self

    def stop(self) -> None:
        """Stop both proxies."""
        self._stack.close()
        self._latency = None

    def reset(self) -> None:
        """Forget the requests counted so far."""
        self._counter.clear()

    def wire_bytes(self) -> int:
        """Bytes carried from the origin to the peer since start (headers included)."""
        return self._latency.bytes_down if self._latency is not None else 0

    def requests(self) -> int:
        """HTTP requests counted since the last :meth:`reset`."""
        return self._counter.count()

    def signed(self) -> int:
        """Requests since the last :meth:`reset` that carried an ``Authorization`` header."""
        return sum("authorization" in r.headers for r in self._counter.requests)
