"""The transfer engine against origins that misbehave on purpose.

503 storms with Retry-After, connections reset mid-body, objects that change while being read,
slow origins, cancellation. Each test asserts the outcome and that nothing incomplete or
corrupt ever appears under the final name.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import obstac
from obstac import StoreCache
from obstac.errors import RemoteError
from obstac.recipes import http
from obstac.testing import RangeHTTPServer, RecordedRequest, Response
from obstac.transfer import (
    EventLog,
    LocalTarget,
    TransferEvent,
    TransferJob,
    TransferOptions,
    transfer,
)
from obstac.transfer import transfer_async as transfer_async_
from tests.conftest import FAST_RETRY

PART = 64 * 1024
FAST = TransferOptions(
    part_size=PART,
    single_get_threshold=PART,
    chunk_size=16 * 1024,
    retry_backoff=0.05,
    max_attempts=4,
)
"""64 KiB parts streamed in 16 KiB chunks, quick engine retries: faults land mid-part."""


class StormOrigin(RangeHTTPServer):
    """After ``calm`` GETs, answers the next ``storm`` GETs with 503 and ``Retry-After: 1``."""

    def __init__(self) -> None:
        super().__init__()
        self.calm = 0
        self.storm = 0
        self.times: list[float] = []
        self._lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method != "GET":
            return None
        with self._lock:
            self.times.append(time.monotonic())
            if self.calm > 0:
                self.calm -= 1
                return None
            if self.storm == 0:
                return None
            self.storm -= 1
        return Response(503, {"Retry-After": "1", "Content-Type": "text/plain"}, b"slow down")


class ResetOrigin(RangeHTTPServer):
    """For the first ``resets`` GETs: announce the full length, send half, hang up.

    With ``window = (lo, hi)`` only GETs whose range starts in ``[lo, hi)`` count and fail.
    """

    def __init__(self) -> None:
        super().__init__()
        self.resets = 0
        self.window: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method != "GET":
            return None
        if self.window is not None:
            start = int(request.range.split("=")[1].split("-")[0]) if request.range else 0
            if not self.window[0] <= start < self.window[1]:
                return None
        with self._lock:
            if self.resets == 0:
                return None
            self.resets -= 1
        full = self.serve(request)
        half = memoryview(full.body)[: len(full.body) // 2]
        return Response(full.status, dict(full.headers), half, close=True)


class ChangingOrigin(RangeHTTPServer):
    """Replaces ``path`` with ``replacement`` once ``after`` GETs of it were served."""

    def __init__(self) -> None:
        super().__init__()
        self.path = ""
        self.after = -1
        self.replacement = b""
        self._lock = threading.Lock()

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method == "GET" and request.path == self.path:
            with self._lock:
                if self.after == 0:
                    self.put(self.path, self.replacement)
                self.after -= 1
        return None


class GatedOrigin(RangeHTTPServer):
    """Holds every ranged GET starting at or past ``gate`` until ``opened`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = 0
        self.opened = threading.Event()

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method == "GET" and request.range:
            start = int(request.range.split("=")[1].split("-")[0])
            if start >= self.gate:
                self.opened.wait(30)
        return None


class SlowOrigin(RangeHTTPServer):
    """Waits ``delay`` seconds before answering each GET."""

    delay = 0.0

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.method == "GET":
            time.sleep(self.delay)
        return None


@pytest.fixture
def storm_origin() -> Iterator[StormOrigin]:
    with StormOrigin() as origin:
        yield origin


@pytest.fixture
def reset_origin() -> Iterator[ResetOrigin]:
    with ResetOrigin() as origin:
        yield origin


def _job(origin: RangeHTTPServer, name: str, target: Path, **fields: object) -> TransferJob:
    reader = obstac.open_asset(
        f"{origin.url}/{name}", recipe=http(retry_config=FAST_RETRY), cache=StoreCache()
    )
    return TransferJob(id=name, source=reader, target=LocalTarget(target), **fields)  # type: ignore[arg-type]


def _payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# -- 503 storms ---------------------------------------------------------------------------------


def test_503_storm_is_waited_out(storm_origin: StormOrigin, tmp_path: Path) -> None:
    data = _payload(20_000, 1)
    storm_origin.put("a.bin", data)
    storm_origin.storm = 3  # obstore retries once inside an attempt: 2 attempts fail on 503
    log = EventLog()
    [result] = transfer([_job(storm_origin, "a.bin", tmp_path / "a.bin")], options=FAST, events=log)
    assert result.status == "downloaded"
    assert (tmp_path / "a.bin").read_bytes() == data
    assert result.retries == 1
    assert result.requests == 2  # engine attempts (obstore's own retry is inside the first)
    [retry] = log.of_kind("retry")
    assert retry.attempt == 1
    assert "503" in retry.message
    # obstore does not expose Retry-After, so the engine backs off on its own: at least half
    # its first delay (jitter) passed between the failed attempt and the next one.
    times = storm_origin.times
    assert times[2] - times[1] >= FAST.retry_backoff / 2


def test_endless_503_storm_fails_after_bounded_attempts(
    storm_origin: StormOrigin, tmp_path: Path
) -> None:
    storm_origin.put("a.bin", _payload(20_000, 2))
    storm_origin.storm = 10_000
    options = TransferOptions(retry_backoff=0.02, max_attempts=3)
    [result] = transfer([_job(storm_origin, "a.bin", tmp_path / "a.bin")], options=options)
    assert result.status == "failed"
    assert isinstance(result.error, RemoteError)
    assert result.error.status == 503
    assert "gave up after 3 attempts" in str(result.error)
    assert storm_origin.count("GET") == 3 * 2  # 3 engine attempts x (1 + 1 obstore retry)
    assert result.retries == 2
    assert _names(tmp_path) == []


def test_503_storm_in_the_middle_of_a_multipart_download(
    storm_origin: StormOrigin, tmp_path: Path
) -> None:
    data = _payload(40 * PART + 5, 3)
    storm_origin.put("big.bin", data)
    storm_origin.calm, storm_origin.storm = 10, 40  # a storm hits the parts in flight
    log = EventLog()
    [result] = transfer(
        [_job(storm_origin, "big.bin", tmp_path / "big.bin")], options=FAST, events=log
    )
    assert result.status == "downloaded", result.error
    assert result.retries >= 1
    assert result.retries == len(log.of_kind("retry"))
    assert (
        hashlib.sha256((tmp_path / "big.bin").read_bytes()).digest()
        == hashlib.sha256(data).digest()
    )
    assert _names(tmp_path) == [".obstac-manifest.jsonl", "big.bin"]


# -- connections reset mid-body -----------------------------------------------------------------


def test_reset_mid_body_resumes_the_part(reset_origin: ResetOrigin, tmp_path: Path) -> None:
    data = _payload(20 * PART, 4)
    reset_origin.put("big.bin", data)
    # Part 5 is cut three times: its first GET, obstore's own continuation (so the failure
    # reaches the engine), then the engine's retry; obstore's next continuation completes it.
    reset_origin.window = (5 * PART, 6 * PART)
    reset_origin.resets = 3
    [result] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert result.status == "downloaded", result.error
    assert (tmp_path / "big.bin").read_bytes() == data
    assert result.retries == 1
    # Each retry continued where the part's bytes stopped, not from the part's start.
    starts = [
        int(request.range.split("=")[1].split("-")[0])
        for request in reset_origin.requests
        if request.range
    ]
    in_part_five = [start for start in starts if 5 * PART <= start < 6 * PART]
    assert in_part_five[0] == 5 * PART
    assert len(in_part_five) == 4
    assert all(start > 5 * PART for start in in_part_five[1:])


def test_reset_of_a_small_object_is_retried(reset_origin: ResetOrigin, tmp_path: Path) -> None:
    data = _payload(30_000, 5)
    reset_origin.put("a.bin", data)
    reset_origin.resets = 2  # obstore's continuation fails too, the engine retries
    [result] = transfer([_job(reset_origin, "a.bin", tmp_path / "a.bin")], options=FAST)
    assert result.status == "downloaded"
    assert result.retries == 1
    assert (tmp_path / "a.bin").read_bytes() == data


def test_endless_resets_fail_then_a_rerun_resumes(
    reset_origin: ResetOrigin, tmp_path: Path
) -> None:
    data = _payload(24 * PART, 6)
    reset_origin.put("big.bin", data)
    reset_origin.resets = 10_000
    [failed] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert failed.status == "failed"
    assert isinstance(failed.error, RemoteError)
    assert "run again to resume" in str(failed.error) or "gave up" in str(failed.error)
    assert not (tmp_path / "big.bin").exists()
    # The partial file stays under its hidden name with its resume state.
    assert _names(tmp_path) == [".big.bin.obstac-partial", ".big.bin.obstac-partial.json"]

    # A kill while the state was being saved leaves its staging file: cleaned up at the end.
    (tmp_path / ".big.bin.obstac-partial.json.tmp").write_text("{")
    reset_origin.resets = 0
    reset_origin.clear_requests()
    [resumed] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert resumed.status == "resumed"
    assert (tmp_path / "big.bin").read_bytes() == data
    assert resumed.bytes_transferred < len(data)
    fetched = sum(_range_length(r) for r in reset_origin.requests if r.method == "GET")
    assert fetched == resumed.bytes_transferred
    assert all("if-match" in r.headers for r in reset_origin.requests if r.method == "GET")
    assert _names(tmp_path) == [".obstac-manifest.jsonl", "big.bin"]


def _range_length(request: RecordedRequest) -> int:
    assert request.range is not None
    first, last = request.range.split("=")[1].split("-")
    return int(last) - int(first) + 1


# -- objects that change ------------------------------------------------------------------------


def test_object_changing_mid_download_restarts_from_zero(tmp_path: Path) -> None:
    old, new = _payload(20 * PART, 7), _payload(20 * PART, 8)
    with ChangingOrigin() as origin:
        origin.put("v.bin", old)
        origin.path, origin.after, origin.replacement = "v.bin", 3, new
        [result] = transfer([_job(origin, "v.bin", tmp_path / "v.bin")], options=FAST)
        assert result.status == "downloaded"
        assert (tmp_path / "v.bin").read_bytes() == new
        assert result.etag == origin.object_at("v.bin").etag  # type: ignore[union-attr]
        # Parts asked after the change carried If-Match with the old ETag and got 412.
        assert any("if-match" in r.headers for r in origin.requests)


def test_partial_of_a_changed_object_is_not_resumed(
    reset_origin: ResetOrigin, tmp_path: Path
) -> None:
    reset_origin.put("big.bin", _payload(24 * PART, 9))
    reset_origin.resets = 10_000
    [failed] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert failed.status == "failed"
    new = _payload(24 * PART, 10)
    reset_origin.put("big.bin", new)  # same size, new ETag
    reset_origin.resets = 0
    [result] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert result.status == "downloaded"  # restarted, not resumed
    assert (tmp_path / "big.bin").read_bytes() == new


# -- time budget and cancellation ---------------------------------------------------------------


def test_max_seconds_per_asset(tmp_path: Path) -> None:
    with SlowOrigin() as origin:
        origin.put("slow.bin", b"x" * 1000)
        origin.delay = 0.5
        options = TransferOptions(max_seconds_per_asset=0.2)
        [result] = transfer([_job(origin, "slow.bin", tmp_path / "slow.bin")], options=options)
        assert result.status == "failed"
        assert "max_seconds_per_asset" in str(result.error)
        assert result.seconds < 0.5
        assert _names(tmp_path) == []


def test_cancelled_transfer_keeps_a_resumable_partial_only(
    reset_origin: ResetOrigin, tmp_path: Path
) -> None:
    data = _payload(64 * PART, 11)
    reset_origin.put("big.bin", data)
    job = _job(reset_origin, "big.bin", tmp_path / "big.bin")
    log = EventLog()

    async def interrupted() -> None:
        third = asyncio.Event()

        def watch(event: TransferEvent) -> None:
            log(event)
            if sum(e.bytes for e in log.of_kind("bytes")) >= len(data) // 3:
                third.set()

        task = asyncio.create_task(transfer_async_([job], options=FAST, events=watch))
        await third.wait()
        task.cancel()  # what Ctrl-C does to the sync API's coroutine
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert not (tmp_path / "big.bin").exists()
    assert _names(tmp_path) == [".big.bin.obstac-partial", ".big.bin.obstac-partial.json"]
    [result] = transfer([_job(reset_origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert result.status == "resumed"
    assert result.bytes_transferred < len(data)
    assert (tmp_path / "big.bin").read_bytes() == data


def test_ctrl_c_in_the_sync_api_leaves_only_a_resumable_partial(tmp_path: Path) -> None:
    # SIGINT reaches Python's main thread only; pytest (and each xdist worker) runs tests there.
    assert threading.current_thread() is threading.main_thread()
    data = _payload(64 * PART, 12)
    state_path = tmp_path / ".big.bin.obstac-partial.json"
    with GatedOrigin() as origin:
        origin.put("big.bin", data)
        origin.gate = 32 * PART  # the first half lands, the rest hangs until Ctrl-C

        def press_ctrl_c_when_half_is_saved() -> None:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    done = json.loads(state_path.read_text())["done"]
                except (OSError, ValueError):
                    done = []
                if sum(end - start for start, end in done) >= 32 * PART:
                    break
                time.sleep(0.02)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        helper = threading.Thread(target=press_ctrl_c_when_half_is_saved, daemon=True)
        helper.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                transfer([_job(origin, "big.bin", tmp_path / "big.bin")], options=FAST)
        finally:
            origin.opened.set()
            helper.join(30)
        assert not (tmp_path / "big.bin").exists()
        assert _names(tmp_path) == [".big.bin.obstac-partial", ".big.bin.obstac-partial.json"]
        origin.gate = len(data)
        [result] = transfer([_job(origin, "big.bin", tmp_path / "big.bin")], options=FAST)
    assert result.status == "resumed"
    assert result.bytes_transferred <= len(data) // 2
    assert (tmp_path / "big.bin").read_bytes() == data
