"""The soak: 2,000 transfers against the chaos origin at a 10% fault rate, seeded.

Half read over HTTP, half over S3 (the same origin); a third of the objects are split into
parts. Every request meets a fault with probability 0.1, drawn from all kinds. The promise:
every file under its final name is byte-identical to the source, every other asset is reported
failed, and the counts of faults injected and survived add up. The table is printed in the
terminal summary (``tests/conftest.py``), with or without ``-s``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from obstac import StoreCache
from obstac.testing import ChaosOrigin, Fault
from obstac.transfer import transfer
from tests.hardening._chaos import (
    BUCKET,
    CLIENTS,
    OPTIONS,
    chaos_job,
    chaos_recipe,
    payload,
)

TRANSFERS = 2000
RATE = 0.10
SEED = 20240607
SOAK_READ_TIMEOUT = "1s"
"""Longer than the per-fault tests' 0.2 s: with ~100 requests in flight on 2 busy cores (the
rest of the suite runs beside this test), healthy answers from the in-process origin took over
0.2 s and were abandoned as stalls (83 of 2,000 assets failed in a fresh-clone run)."""
STALL = 1.5
"""Stalls outlast the soak's read timeout, so each one is abandoned by the client."""

SOAK_OPTIONS = replace(OPTIONS, retry_backoff=0.01, max_attempts=5)


def _size(index: int) -> int:
    """A third of the objects take 2-4 parts of 16 KiB; the others fit one GET."""
    return 40_000 + index % 20_000 if index % 3 == 0 else 500 + (index * 7919) % 12_000


def test_soak_2000_transfers_at_a_10_percent_fault_rate(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    started = time.monotonic()
    with ChaosOrigin(seed=SEED, rate=RATE, stall_seconds=STALL) as origin:
        keys = [f"{index:04d}.bin" for index in range(TRANSFERS)]
        for index, key in enumerate(keys):
            origin.put(f"{BUCKET}/{key}", payload(_size(index), (SEED, key)))
        cache = StoreCache()
        recipes = {
            client: chaos_recipe(origin, client, read_timeout=SOAK_READ_TIMEOUT)
            for client in CLIENTS
        }
        jobs = []
        for index, key in enumerate(keys):
            client = CLIENTS[index % 2]
            # Half the assets declare file:size; all declare their type, as STAC items do.
            size = _size(index) if index % 4 < 2 else None
            jobs.append(
                chaos_job(
                    origin,
                    key,
                    tmp_path / key,
                    client,
                    recipe=recipes[client],
                    cache=cache,
                    expected_size=size,
                )
            )
        results = transfer(jobs, options=SOAK_OPTIONS)
        faults = origin.faults
        versions = {key: origin.history(f"{BUCKET}/{key}") for key in keys}
        requests = len(origin.requests)
    elapsed = time.monotonic() - started

    ok = {result.job_id for result in results if result.ok}
    failed = {result.job_id for result in results if not result.ok}
    corrupt = []
    for result in results:
        final = tmp_path / result.job_id
        if not result.ok:
            if final.exists():
                corrupt.append(result.job_id)  # a failed asset must leave nothing final
            continue
        # The file is exactly the version of the object its transfer reports. (An object
        # changed by a request the client had already abandoned stays at its old version.)
        served = [v.data for v in versions[result.job_id] if v.etag == result.etag]
        if served != [final.read_bytes()]:
            corrupt.append(result.job_id)
    injected: Counter[Fault] = Counter(fault.kind for fault in faults)
    survived: Counter[Fault] = Counter(
        fault.kind for fault in faults if fault.path.removeprefix(f"{BUCKET}/") in ok
    )
    lost: Counter[Fault] = Counter(
        fault.kind for fault in faults if fault.path.removeprefix(f"{BUCKET}/") in failed
    )
    table = _table(
        injected=injected,
        survived=survived,
        lost=lost,
        ok=len(ok),
        failed=len(failed),
        corrupt=len(corrupt),
        requests=requests,
        elapsed=elapsed,
    )
    record_property("obstac_report", table)

    assert len(results) == TRANSFERS
    assert corrupt == []
    assert len(ok) + len(failed) == TRANSFERS
    assert set(injected) == set(Fault)  # every kind was exercised
    assert sum(injected.values()) >= RATE * 0.8 * requests
    for kind in Fault:
        assert survived[kind] + lost[kind] == injected[kind], kind
    # Retries absorb nearly all of it: a failure needs a fault met on 5 attempts in a row.
    assert len(failed) <= TRANSFERS // 100, [r.error for r in results if not r.ok][:3]


def _table(
    *,
    injected: Counter[Fault],
    survived: Counter[Fault],
    lost: Counter[Fault],
    ok: int,
    failed: int,
    corrupt: int,
    requests: int,
    elapsed: float,
) -> str:
    lines = [
        f"soak: {ok + failed} transfers, {requests} requests, fault rate {RATE:.0%}, "
        f"seed {SEED}, {elapsed:.1f} s",
        f"{'fault':24} {'injected':>9} {'survived':>9} {'on failed':>10}",
    ]
    for kind in Fault:
        lines.append(f"{kind.value:24} {injected[kind]:9d} {survived[kind]:9d} {lost[kind]:10d}")
    total = (sum(injected.values()), sum(survived.values()), sum(lost.values()))
    lines.append(f"{'all':24} {total[0]:9d} {total[1]:9d} {total[2]:10d}")
    lines.append(f"files identical: {ok}, reported failed: {failed}, corrupt: {corrupt}")
    return "\n".join(lines)
