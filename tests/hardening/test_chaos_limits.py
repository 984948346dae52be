"""Retries and time are bounded per asset, and a 429/503 storm drains a host's concurrency.

A permanently failing object stops after ``max_retries_per_asset`` engine retries (counted at
the origin) or at ``max_seconds_per_asset``, whichever comes first, and leaves nothing under
its final name. During a storm the requests in flight at the origin drop, and they climb back
once it ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from obstac import StoreCache
from obstac.testing import ChaosOrigin, Fault
from obstac.transfer import Scheduler, TransferOptions, transfer

if TYPE_CHECKING:
    from obstore.store import RetryConfig

from tests.hardening._chaos import (
    BUCKET,
    CLIENTS,
    PART,
    Client,
    chaos_job,
    chaos_recipe,
    names,
    payload,
)

NO_OBSTORE_RETRY: RetryConfig = {"max_retries": 0, "retry_timeout": timedelta(seconds=5)}
"""Every failed request reaches the engine, so the origin's counts are the engine's."""


@pytest.fixture
def origin() -> Iterator[ChaosOrigin]:
    with ChaosOrigin(seed=5, stall_seconds=2.0) as server:
        yield server


@pytest.mark.parametrize("client", CLIENTS)
def test_permanent_failure_stops_after_the_retries_of_the_asset(
    origin: ChaosOrigin, tmp_path: Path, client: Client
) -> None:
    origin.put(f"{BUCKET}/down.bin", payload(3000, client))
    origin.storm = Fault.STATUS_500
    options = TransferOptions(retry_backoff=0.01, max_attempts=100, max_retries_per_asset=5)
    job = chaos_job(origin, "down.bin", tmp_path / "down.bin", client, retry=NO_OBSTORE_RETRY)
    [result] = transfer([job], options=options)
    assert result.status == "failed"
    assert "max_retries_per_asset" in str(result.error)
    assert result.retries == 5
    assert origin.count("GET") == result.requests == 6  # the first request and 5 retries
    assert names(tmp_path) == []


def test_retries_of_all_parts_share_one_budget(origin: ChaosOrigin, tmp_path: Path) -> None:
    path = f"{BUCKET}/parts.bin"
    origin.put(path, payload(12 * PART, "parts"))
    origin.script(path, None)  # the first request succeeds, then every part fails
    options = TransferOptions(
        part_size=PART,
        single_get_threshold=PART,
        max_parts_per_object=4,
        retry_backoff=0.01,
        max_attempts=100,
        max_retries_per_asset=6,
    )

    def fail_every_part() -> None:
        while origin.count("GET", path) < 1:
            time.sleep(0.001)
        origin.storm = Fault.STATUS_500

    helper = threading.Thread(target=fail_every_part, daemon=True)
    helper.start()
    job = chaos_job(origin, "parts.bin", tmp_path / "parts.bin", "http", retry=NO_OBSTORE_RETRY)
    [result] = transfer([job], options=options)
    helper.join()
    assert result.status == "failed"
    assert "max_retries_per_asset" in str(result.error)
    assert result.retries == 6
    # The first request, plus at most one request per retry and per part in flight when the
    # budget ran out: 100 attempts per request were allowed, the asset's budget stopped it.
    assert 1 + 6 <= origin.count("GET") <= 1 + 6 + 4
    assert "parts.bin" not in names(tmp_path)


def test_stalls_stop_at_the_time_budget_of_the_asset(origin: ChaosOrigin, tmp_path: Path) -> None:
    origin.put(f"{BUCKET}/stuck.bin", payload(3000, "stuck"))
    origin.storm = Fault.STALL_HEADERS  # every answer hangs for 2 s
    budget = 1.0
    options = TransferOptions(
        retry_backoff=0.01,
        max_attempts=1000,
        max_retries_per_asset=None,
        max_seconds_per_asset=budget,
    )
    job = chaos_job(origin, "stuck.bin", tmp_path / "stuck.bin", "http", retry=NO_OBSTORE_RETRY)
    started = time.monotonic()
    [result] = transfer([job], options=options)
    elapsed = time.monotonic() - started
    assert result.status == "failed"
    assert "max_seconds_per_asset" in str(result.error)
    assert budget <= elapsed < budget + 0.5
    # Each stalled request was abandoned after the 0.2 s read timeout and retried: about
    # budget / 0.2 requests, never the 1000 attempts allowed, never one 2 s wait.
    assert 3 <= origin.count("GET") <= 6
    assert names(tmp_path) == []


def test_a_503_storm_drains_concurrency_and_it_recovers(tmp_path: Path) -> None:
    count, limit = 450, 16
    with ChaosOrigin(latency=0.08) as origin:  # each answer takes 80 ms: in flight = concurrency
        for index in range(count):
            origin.put(f"{BUCKET}/s{index}.bin", payload(2000, index))
        marks: dict[str, float] = {}

        def storm() -> None:
            while origin.count("GET") < 120:
                time.sleep(0.005)
            marks["start"] = time.monotonic()
            origin.storm = Fault.STATUS_503
            time.sleep(0.8)
            origin.storm = None
            marks["end"] = time.monotonic()

        cache = StoreCache()
        recipe = chaos_recipe(origin, "http", retry=NO_OBSTORE_RETRY)
        jobs = [
            chaos_job(
                origin, f"s{i}.bin", tmp_path / f"s{i}.bin", "http", recipe=recipe, cache=cache
            )
            for i in range(count)
        ]
        helper = threading.Thread(target=storm, daemon=True)
        helper.start()
        options = TransferOptions(retry_backoff=0.02, max_attempts=30, max_retries_per_asset=None)
        started = time.monotonic()
        results = transfer(jobs, options=options, scheduler=Scheduler(max_per_host=limit))
        finished = time.monotonic()
        helper.join()
        assert all(result.ok for result in results)
        assert origin.injected[Fault.STATUS_503] > 0
        before = origin.in_flight_between(started + 0.1, marks["start"])
        during = origin.in_flight_between(marks["start"] + 0.5, marks["end"])
        after = origin.in_flight_between(marks["end"] + 0.5, finished - 0.1)
    assert before >= limit - 2  # the scheduler's full concurrency
    assert during <= 3  # halved round after round, down to one request
    assert after >= limit * 3 // 4  # recovered: one more request per success
    for index in (0, count // 2, count - 1):
        assert (tmp_path / f"s{index}.bin").read_bytes() == payload(2000, index)
