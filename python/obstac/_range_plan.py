"""Many byte ranges of one object: merge near ones, fetch the merged requests concurrently,
slice the answers back in the caller's order.

Why obstac plans ranges itself instead of calling obstore's ``get_ranges``: obstore merges
ranges closer than 1 MiB and runs 10 requests at once, and neither number can be changed. On a
link with a 40 ms RTT and 25 MiB/s per connection that rule fetched 137 MiB to deliver 20 MiB of
scattered 16-64 KiB tiles, 2-3x slower than one GET per range (benchmarks/README.md, scenario 3).

The cost model behind the defaults: with ``C`` requests in flight, one more request costs about
``RTT / C`` of the whole read; merging a gap of ``g`` bytes costs ``g / B`` (``B`` the link's
total bandwidth). Merging pays while ``g < RTT * B / C``: 40 ms x 200 MiB/s / 64 = 128 KiB. The
defaults below were then checked by measuring scenario 3 at several gaps
(``python -m benchmarks.range_gaps``; numbers in benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from obstore import Bytes

__all__ = [
    "DEFAULT_COALESCE",
    "DEFAULT_MAX_CONCURRENCY",
    "MAX_MERGED_REQUEST",
    "SHARED_MAX_IN_FLIGHT",
    "RangePastEndError",
    "RangePlan",
    "check_options",
    "fetch_all",
    "fetch_all_async",
    "plan_ranges",
]

KIB = 1024
MIB = 1024 * KIB

DEFAULT_COALESCE = 128 * KIB
"""Ranges at most this many bytes apart are read with one request (obstore's rule: 1 MiB).
The cost model above at 64 in flight; measured on scenario 3, gaps of 0-128 KiB were equally
fast under both link profiles and 128 KiB sent the fewest requests of them (docs/defaults.md)."""

DEFAULT_MAX_CONCURRENCY = 32
"""Merged requests one ``read_ranges`` call keeps in flight: at the default gap a 16 MiB COG
read in 50 scattered tiles needs ~31 requests, so they go out in one round trip."""

SHARED_MAX_IN_FLIGHT = 64
"""Requests all ``read_ranges`` calls keep in flight together: per process for the sync method,
per event loop for the async twin (aiohttp bounds a session's connections the same way). Without
it, gathering ``read_ranges_async`` over 10 files at 32 each opened 320 connections at once and
overflowed the benchmark link's listen queue on a busy machine (each lost SYN costs the client a
1 s retransmit); 64 is where the transfer engine's concurrency sweep saturates the link."""

MAX_MERGED_REQUEST = 1 * MIB
"""Merging never grows a request past this many bytes: 1 MiB is what one connection moves in one
round trip on the benchmark's WAN link (25 MiB/s x 40 ms), so a bigger request would take longer
on its one connection than the extra requests it saves cost side by side. Measured on the
``cog`` scenario (whole tiles, contiguous runs): 1 MiB 0.59-0.62 s, 2-8 MiB 0.63-1.07 s; then 5
runs at 1 MiB: 0.60 s against 0.65 s for aiohttp's one GET per tile. A single range asked for
larger is one request: never split."""

T = TypeVar("T")

_thread_slots = threading.BoundedSemaphore(SHARED_MAX_IN_FLIGHT)
_loop_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class RangePlan:
    """The requests that serve a list of ranges, and where each range lies in them.

    Attributes:
        requests: The merged ``(start, end)`` byte ranges to fetch, sorted by start.
        placements: For each input range, in input order: the index of the request that holds
            it and the range's offset inside that request.
    """

    requests: tuple[tuple[int, int], ...]
    placements: tuple[tuple[int, int], ...]

    def slice(
        self, starts: Sequence[int], ends: Sequence[int], chunks: Sequence[Bytes]
    ) -> list[Bytes]:
        """Each input range's bytes, cut from the fetched requests without copying.

        A range that ends past the object's end comes back short, as one ranged GET would.

        Args:
            starts: The input ranges' starts, as planned.
            ends: Their ends.
            chunks: The fetched bytes of :attr:`requests`, in the same order.

        Raises:
            RangePastEndError: A range starts at or past the end of the object (its request
                came back shorter than the range's offset in it).
        """
        out: list[Bytes] = []
        for start, end, (index, offset) in zip(starts, ends, self.placements, strict=True):
            chunk = chunks[index]
            if offset >= len(chunk):
                raise RangePastEndError(start, self.requests[index][0] + len(chunk))
            # A zero-copy slice; the step is spelled out because obstore's stub types only
            # three-part slices.
            out.append(chunk[offset : offset + end - start : 1])
        return out


class RangePastEndError(Exception):
    """A range starts at or past the end of the object (the caller turns it into its error).

    Attributes:
        start: The range's start.
        size: The object's size, as the short answer showed it.
    """

    def __init__(self, start: int, size: int) -> None:
        super().__init__(f"range starting at byte {start} is past the end ({size} bytes)")
        self.start = start
        self.size = size


def check_options(coalesce: int, max_concurrency: int) -> None:
    """Refuse a negative ``coalesce`` or a ``max_concurrency`` below 1.

    Raises:
        ValueError: Naming the bad value.
    """
    if coalesce < 0:
        raise ValueError(f"read_ranges(coalesce={coalesce}): it must be 0 or more bytes")
    if max_concurrency < 1:
        raise ValueError(f"read_ranges(max_concurrency={max_concurrency}): it must be at least 1")


def plan_ranges(
    starts: Sequence[int],
    ends: Sequence[int],
    *,
    coalesce: int = DEFAULT_COALESCE,
    max_request: int = MAX_MERGED_REQUEST,
) -> RangePlan:
    """Merge ranges (``[start, end)``, any order, overlaps and duplicates allowed) into requests.

    Ranges are taken by start. A range joins the request before it when it starts at most
    ``coalesce`` bytes after that request's end (overlapping and contained ranges count as a
    gap of 0) and the merged request stays within ``max_request`` bytes; a range the request
    already covers always joins. Otherwise it starts a new request.

    Args:
        starts: Range starts (checked by the caller: ``0 <= start < end``).
        ends: Range ends, paired with ``starts``.
        coalesce: The largest gap, in bytes, worth reading to save a request; 0 merges only
            ranges that touch or overlap.
        max_request: The most bytes merging may grow a request to.

    Returns:
        The plan: requests sorted by start, and each range's place in them.
    """
    order = sorted(range(len(starts)), key=lambda i: (starts[i], ends[i]))
    requests: list[list[int]] = []
    placed: list[tuple[int, int]] = [(0, 0)] * len(starts)
    for i in order:
        start, end = starts[i], ends[i]
        if requests:
            current = requests[-1]
            covered = end <= current[1]
            near = start - current[1] <= coalesce
            if covered or (near and end - current[0] <= max_request):
                current[1] = max(current[1], end)
                placed[i] = (len(requests) - 1, start - current[0])
                continue
        requests.append([start, end])
        placed[i] = (len(requests) - 1, 0)
    return RangePlan(tuple((s, e) for s, e in requests), tuple(placed))


def fetch_all(
    fetch: Callable[[int, int], T], requests: Sequence[tuple[int, int]], max_concurrency: int
) -> list[T]:
    """``fetch(start, end)`` for every request from a pool of up to ``max_concurrency`` threads.

    No event loop is involved, so this works the same inside Jupyter. One request runs in the
    calling thread. Every request also holds one of the process's
    :data:`SHARED_MAX_IN_FLIGHT` slots while it runs. The first failure is raised once the
    requests already running end; those not started are dropped.
    """

    def guarded(start: int, end: int) -> T:
        with _thread_slots:
            return fetch(start, end)

    if len(requests) == 1:
        return [guarded(*requests[0])]
    workers = min(max_concurrency, len(requests))
    pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="obstac-ranges")
    try:
        futures = [pool.submit(guarded, start, end) for start, end in requests]
        concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()  # raises its exception
        return [future.result() for future in futures]
    finally:  # also on an interrupt: requests not started are dropped, not run
        pool.shutdown(wait=True, cancel_futures=True)


async def fetch_all_async(
    fetch: Callable[[int, int], Awaitable[T]],
    requests: Sequence[tuple[int, int]],
    max_concurrency: int,
) -> list[T]:
    """``await fetch(start, end)`` for every request, at most ``max_concurrency`` at once.

    Every request also holds one of the running loop's :data:`SHARED_MAX_IN_FLIGHT` slots
    while it runs. The first failure cancels the others and is raised; so does cancelling the
    caller.
    """
    loop = asyncio.get_running_loop()
    slots = _loop_slots.get(loop)
    if slots is None:
        slots = _loop_slots[loop] = asyncio.Semaphore(SHARED_MAX_IN_FLIGHT)

    async def guarded(index: int) -> T:
        async with slots:
            return await fetch(*requests[index])

    if len(requests) == 1:
        return [await guarded(0)]
    results: dict[int, T] = {}
    indices = iter(range(len(requests)))

    async def worker() -> None:
        for index in indices:  # shared: each worker takes the next request not yet taken
            results[index] = await guarded(index)

    tasks = [asyncio.ensure_future(worker()) for _ in range(min(max_concurrency, len(requests)))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [results[index] for index in range(len(requests))]
