"""read_ranges / read_ranges_async: obstac's own range plan, proved at a real HTTP origin.

Nearby ranges share a request and far ones do not (counted at the origin, Range headers read
back), merging stops at the size cap, ranges come back in the caller's order whatever their
order, overlaps or repeats, the concurrency bound holds (requests in flight at the origin), and
failures give the same obstac errors as single reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

import obstac
from obstac import StoreCache
from obstac._range_plan import (
    DEFAULT_COALESCE,
    DEFAULT_MAX_CONCURRENCY,
    MAX_MERGED_REQUEST,
    SHARED_MAX_IN_FLIGHT,
)
from obstac.recipes import http
from obstac.testing import RangeHTTPServer
from obstac.testing.http_origin import RecordedRequest, Response
from tests.conftest import FAST_RETRY

if TYPE_CHECKING:
    from obstac import AssetReader

KIB = 1024
MIB = 1024 * KIB


def _payload(size: int, seed: int = 11) -> bytes:
    return random.Random(seed).randbytes(size)


def _reader(origin: RangeHTTPServer, path: str, data: bytes, cache: StoreCache) -> AssetReader:
    origin.put(path, data)
    reader = obstac.open_asset(
        f"{origin.url}/{path}", recipe=http(retry_config=FAST_RETRY), cache=cache
    )
    origin.clear_requests()
    return reader


def _asked(origin: RangeHTTPServer, path: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` of every ranged GET the origin received for ``path``, sorted."""
    spans = []
    for request in origin.requests:
        if request.method == "GET" and request.path == path and request.range is not None:
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", request.range)
            assert match is not None, request.range
            spans.append((int(match[1]), int(match[2]) + 1))
    return sorted(spans)


def _both(reader: AssetReader, starts: list[int], ends: list[int], **options: int) -> list[bytes]:
    """Read with the sync method and the async twin; both must agree. Returns one result."""
    sync = [bytes(c) for c in reader.read_ranges(starts, ends, **options)]
    chunks = asyncio.run(reader.read_ranges_async(starts, ends, **options))
    assert [bytes(c) for c in chunks] == sync
    return sync


def test_gap_at_the_threshold_merges_and_one_byte_more_does_not(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    data = _payload(2 * MIB)
    reader = _reader(http_origin, "plan/gap.bin", data, store_cache)
    near = [1000, 1100 + DEFAULT_COALESCE]  # the gap is exactly DEFAULT_COALESCE
    far = [1000, 1101 + DEFAULT_COALESCE]  # one byte more (obstore would merge up to 1 MiB)
    for starts in (near, far):
        ends = [s + 100 for s in starts]
        assert _both(reader, starts, ends) == [data[s:e] for s, e in zip(starts, ends, strict=True)]
    merged = [(1000, 1200 + DEFAULT_COALESCE)]
    apart = [(1000, 1100), (1101 + DEFAULT_COALESCE, 1201 + DEFAULT_COALESCE)]
    assert _asked(http_origin, "plan/gap.bin") == sorted((merged + apart) * 2)


def test_coalesce_keyword_sets_the_gap(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    data = _payload(3 * MIB)
    reader = _reader(http_origin, "plan/keyword.bin", data, store_cache)
    starts = [0, 300 * KIB, 600 * KIB, 2 * MIB]
    ends = [s + 10 * KIB for s in starts]
    expected = [data[s:e] for s, e in zip(starts, ends, strict=True)]
    assert _both(reader, starts, ends, coalesce=290 * KIB) == expected
    assert http_origin.count("GET") == 2 * 2  # [0, 610 KiB) and [2 MiB, +10 KiB), twice
    http_origin.clear_requests()
    assert _both(reader, starts, ends, coalesce=0) == expected
    assert http_origin.count("GET") == 2 * 4


def test_ranges_come_back_in_the_callers_order(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    # Three clusters 200 KiB apart (beyond the default gap); inside each, ranges overlap, repeat
    # and contain each other, shuffled together: three requests, each exactly its cluster's span.
    data = _payload(MIB)
    reader = _reader(http_origin, "plan/order.bin", data, store_cache)
    rng = random.Random(5)
    clusters = [(10_000, 40_000), (240_000, 300_000), (500_000, 520_000)]
    ranges = []
    for low, high in clusters:
        ranges += [(low, high), (low + 5, low + 50), (low + 5, low + 50)]
        for _ in range(20):
            start = rng.randrange(low, high - 1)
            ranges.append((start, rng.randrange(start + 1, high + 1)))
    rng.shuffle(ranges)
    starts, ends = [s for s, _ in ranges], [e for _, e in ranges]
    assert _both(reader, starts, ends) == [data[s:e] for s, e in ranges]
    assert _asked(http_origin, "plan/order.bin") == sorted(clusters * 2)


def test_merging_stops_at_the_cap_and_a_big_range_is_not_split(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    cap = MAX_MERGED_REQUEST
    piece = cap // 4
    big = 3 * cap  # where one range larger than the cap starts
    data = _payload(big + cap + piece)
    reader = _reader(http_origin, "plan/cap.bin", data, store_cache)
    # Touching ranges of a quarter of the cap over [0, 2.5 caps): one run, but merging may not
    # grow a request past the cap, so it takes three; then the big range, alone and whole.
    starts = list(range(0, 2 * cap + 2 * piece, piece))
    ends = [s + piece for s in starts]
    starts.append(big)
    ends.append(len(data))
    chunks = reader.read_ranges(starts, ends)
    assert [bytes(c) for c in chunks] == [data[s:e] for s, e in zip(starts, ends, strict=True)]
    asked = _asked(http_origin, "plan/cap.bin")
    assert asked == [(0, cap), (cap, 2 * cap), (2 * cap, 2 * cap + 2 * piece), (big, len(data))]


class CrowdOrigin(RangeHTTPServer):
    """Holds GETs until ``crowd`` of them are in flight together (5 s at most), then each for
    ``hold`` seconds more. A client that allows fewer than ``crowd`` at once shows a lower peak;
    one that allows more sends them while the crowd is held, and shows a higher one."""

    crowd = 1
    hold = 0.2

    def __init__(self) -> None:
        super().__init__()
        self.gathered = threading.Event()

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method == "GET":
            deadline = time.monotonic() + 5
            while not self.gathered.is_set() and time.monotonic() < deadline:
                if self.in_flight >= self.crowd:
                    self.gathered.set()
                time.sleep(0.002)
            time.sleep(self.hold)
        return None


@pytest.fixture
def crowd_origin() -> Iterator[CrowdOrigin]:
    with CrowdOrigin() as origin:
        yield origin


def _peak(origin: CrowdOrigin, crowd: int, read: Callable[[], object]) -> tuple[int, int]:
    """Peak GETs in flight at the origin while ``read()`` ran (held until ``crowd`` were), and
    the GETs it sent."""
    origin.clear_requests()
    origin.crowd = crowd
    origin.gathered.clear()
    began = time.monotonic()
    read()
    return origin.in_flight_between(began, time.monotonic()), origin.count("GET")


def test_requests_in_flight_stay_within_max_concurrency(
    crowd_origin: CrowdOrigin, store_cache: StoreCache
) -> None:
    data = _payload(8 * MIB)
    reader = _reader(crowd_origin, "plan/slow.bin", data, store_cache)
    apart = DEFAULT_COALESCE + 10 * KIB  # beyond the default gap: one request per range
    starts = [i * apart for i in range(6)]
    ends = [s + KIB for s in starts]
    expected = [data[s:e] for s, e in zip(starts, ends, strict=True)]

    def sync() -> None:
        assert [bytes(c) for c in reader.read_ranges(starts, ends, max_concurrency=3)] == expected

    async def in_a_running_loop() -> None:
        sync()  # the sync method touches no event loop: it works inside one (Jupyter)
        chunks = await reader.read_ranges_async(starts, ends, max_concurrency=3)
        assert [bytes(c) for c in chunks] == expected

    assert _peak(crowd_origin, 3, sync) == (3, 6)
    assert _peak(crowd_origin, 3, lambda: asyncio.run(in_a_running_loop())) == (3, 12)

    many = [i * apart for i in range(DEFAULT_MAX_CONCURRENCY + 4)]
    wide = [s + KIB for s in many]
    peak, gets = _peak(
        crowd_origin, DEFAULT_MAX_CONCURRENCY, lambda: reader.read_ranges(many, wide)
    )
    assert (peak, gets) == (DEFAULT_MAX_CONCURRENCY, len(many))


def test_calls_at_once_share_the_in_flight_limit(
    crowd_origin: CrowdOrigin, store_cache: StoreCache
) -> None:
    # Two calls of 40 far-apart ranges, each allowed 40 in flight: together they must stay
    # within the shared limit (per event loop for the async twin, per process for sync calls).
    data = _payload(MIB)
    reader = _reader(crowd_origin, "plan/shared.bin", data, store_cache)
    count = SHARED_MAX_IN_FLIGHT // 2 + 8
    first = [i * 10 * KIB for i in range(count)]
    second = [s + 5 * KIB for s in first]
    options = {"coalesce": 0, "max_concurrency": count}

    async def gathered() -> None:
        await asyncio.gather(
            reader.read_ranges_async(first, [s + 10 for s in first], **options),
            reader.read_ranges_async(second, [s + 10 for s in second], **options),
        )

    def threads() -> None:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            calls = [
                pool.submit(reader.read_ranges, starts, [s + 10 for s in starts], **options)
                for starts in (first, second)
            ]
        assert [len(call.result()) for call in calls] == [count, count]

    shared = SHARED_MAX_IN_FLIGHT
    assert _peak(crowd_origin, shared, lambda: asyncio.run(gathered())) == (shared, 2 * count)
    assert _peak(crowd_origin, shared, threads) == (shared, 2 * count)


def test_a_range_past_the_end_is_an_invalid_range_merged_or_not(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    data = _payload(10_000)
    reader = _reader(http_origin, "plan/short.bin", data, store_cache)
    past = "byte 20000 is past the end"
    for coalesce in (DEFAULT_COALESCE, 0):  # merged with [0, 10): a short answer; alone: a 416
        with pytest.raises(obstac.InvalidRangeError, match=past):
            reader.read_ranges([0, 20_000], [10, 20_010], coalesce=coalesce)
        with pytest.raises(obstac.InvalidRangeError, match=past):
            asyncio.run(reader.read_ranges_async([20_000, 0], [20_010, 10], coalesce=coalesce))
    # A range that only ends past the end comes back short, as a single ranged read does.
    assert _both(reader, [0, 9_990], [10, 10_300]) == [data[:10], data[9_990:]]


def test_a_missing_object_and_bad_options_fail_like_other_reads(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    missing = obstac.open_asset(
        f"{http_origin.url}/plan/none.bin", recipe=http(retry_config=FAST_RETRY), cache=store_cache
    )
    starts, ends = [0, 500 * KIB, MIB], [10, 500 * KIB + 10, MIB + 10]
    with pytest.raises(obstac.AssetNotFoundError, match=r"none\.bin"):
        missing.read_ranges(starts, ends)
    with pytest.raises(obstac.AssetNotFoundError, match=r"none\.bin"):
        asyncio.run(missing.read_ranges_async(starts, ends))
    http_origin.clear_requests()
    assert missing.read_ranges([], []) == []
    with pytest.raises(ValueError, match="coalesce=-1"):
        missing.read_ranges([0], [1], coalesce=-1)
    with pytest.raises(ValueError, match="max_concurrency=0"):
        asyncio.run(missing.read_ranges_async([0], [1], max_concurrency=0))
    assert http_origin.count() == 0
