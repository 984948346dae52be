"""The transfer engine's parts on their own: checksums, scheduler, portal, events, manifest."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import Counter
from pathlib import Path

import pytest

import obstac.transfer
from obstac.transfer import EventLog, Scheduler, TransferEvent, multihash, parse_checksum
from obstac.transfer._checksums import Hashers, file_digests
from obstac.transfer._events import _ByteReporter, _Emitter
from obstac.transfer._local import (
    MANIFEST_NAME,
    ManifestEntry,
    append_manifest,
    load_manifest,
    partial_paths,
)
from obstac.transfer._portal import run_sync
from obstac.transfer._scheduler import ByteBudget
from tests._fixtures import iter_fixture_assets

DATA = b"The quick brown fox jumps over the lazy dog"


def test_all_is_sorted_and_importable() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    names = obstac.transfer.__all__
    constants = [name for name in names if name.isupper()]
    others = [name for name in names if not name.isupper()]
    assert names == sorted(constants) + sorted(others, key=lambda name: (name[0].islower(), name))
    for name in names:
        assert getattr(obstac.transfer, name) is not None


# -- checksums ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "algorithm"),
    [
        ("1220" + hashlib.sha256(DATA).hexdigest(), "sha2-256"),
        ("1340" + hashlib.sha512(DATA).hexdigest(), "sha2-512"),
        ("1620" + hashlib.sha3_256(DATA).hexdigest(), "sha3-256"),
        ("1440" + hashlib.sha3_512(DATA).hexdigest(), "sha3-512"),
        ("d50110" + hashlib.md5(DATA, usedforsecurity=False).hexdigest(), "md5"),
        ("1114" + hashlib.sha1(DATA, usedforsecurity=False).hexdigest(), "sha1"),
        (hashlib.md5(DATA, usedforsecurity=False).hexdigest(), "md5"),
        (hashlib.md5(DATA, usedforsecurity=False).hexdigest().upper(), "md5"),
    ],
)
def test_checksum_forms_parse_and_verify(value: str, algorithm: str) -> None:
    parsed = parse_checksum(value)
    assert parsed.candidates == (algorithm,)
    assert parsed.exact
    hashers = Hashers(parsed.candidates)
    hashers.update(DATA)
    assert parsed.check(hashers.digests()) is True
    other = Hashers(parsed.candidates)
    other.update(DATA + b".")
    assert parsed.check(other.digests()) is False
    assert parsed.actual(hashers.digests()).lower() == value.lower()


def test_multihash_round_trips() -> None:
    digest = hashlib.sha256(DATA).digest()
    assert multihash("sha2-256", digest) == "1220" + digest.hex()
    assert multihash("md5", b"\0" * 16).startswith("d50110")
    assert parse_checksum(multihash("blake2b-256", b"\1" * 32)).candidates == ("blake2b-256",)


def test_inconsistent_multihash_is_never_a_mismatch() -> None:
    # CDSE writes "d50120" + 32 bytes: md5's code with a 32-byte digest.
    odd = parse_checksum("d50120" + hashlib.sha256(DATA).hexdigest())
    assert not odd.exact
    assert set(odd.candidates) == {"sha2-256", "sha3-256", "blake2b-256"}
    hashers = Hashers(odd.candidates)
    hashers.update(DATA)
    assert odd.check(hashers.digests()) is True  # it was a sha2-256 after all
    hashers = Hashers(odd.candidates)
    hashers.update(b"other")
    assert odd.check(hashers.digests()) is None  # undecidable, not a mismatch


@pytest.mark.parametrize("value", ["", "xyz", "12", "1220abcd", "ff" * 7, "1220" + "zz" * 32])
def test_uninterpretable_checksums_have_no_candidate(value: str) -> None:
    parsed = parse_checksum(value)
    assert not parsed.verifiable
    assert parsed.check({"sha2-256": b"x"}) is None


def test_every_fixture_checksum_is_understood() -> None:
    kinds: Counter[str] = Counter()
    for asset in iter_fixture_assets():
        value = asset.fields.get("file:checksum")
        if not isinstance(value, str) or "#" in asset.key:
            continue
        parsed = parse_checksum(value)
        assert parsed.verifiable, (asset.source, asset.key, value)
        kinds["+".join(parsed.candidates)] += 1
    # Earth Search: sha2-256; CDSE: sha3-256, md5, and its 32-byte "md5".
    assert kinds["sha2-256"] > 0
    assert kinds["sha3-256"] > 0
    assert kinds["md5"] > 0
    assert kinds["sha2-256+sha3-256+blake2b-256"] > 0


def test_file_digests_read_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "f"
    data = DATA * 100_000  # 4.3 MB: several 1 MiB blocks
    path.write_bytes(data)
    digests = file_digests(path, ["sha2-256", "md5"])
    assert digests["sha2-256"] == hashlib.sha256(data).digest()
    assert digests["md5"] == hashlib.md5(data, usedforsecurity=False).digest()


# -- scheduler ----------------------------------------------------------------------------------


def test_scheduler_enforces_global_and_per_host_limits() -> None:
    scheduler = Scheduler(max_requests=5, max_per_host=2)
    active: Counter[str] = Counter()
    peaks: Counter[str] = Counter()

    async def request(host: str) -> None:
        async with scheduler.slot(host):
            active[host] += 1
            peaks[host] = max(peaks[host], active[host])
            await asyncio.sleep(0.005)
            active[host] -= 1

    async def main() -> None:
        await asyncio.gather(*(request(f"h{i % 4}") for i in range(40)))

    asyncio.run(main())
    assert max(peaks.values()) == 2
    assert scheduler.peak_in_flight == 5  # 4 hosts x 2 would be 8: the global limit holds
    assert scheduler.in_flight == 0


def test_paused_host_waits_while_others_go() -> None:
    scheduler = Scheduler()
    order: list[str] = []

    async def request(host: str) -> None:
        async with scheduler.slot(host):
            order.append(host)

    async def main() -> None:
        scheduler.pause("slow", 0.1)
        await asyncio.gather(request("slow"), request("fast"))

    asyncio.run(main())
    assert order == ["fast", "slow"]


def test_scheduler_is_usable_from_several_loops() -> None:
    scheduler = Scheduler(max_requests=1)

    async def once() -> None:
        async with scheduler.slot("h"):
            await asyncio.sleep(0)

    asyncio.run(once())
    asyncio.run(once())  # a new loop gets its own slots: no "bound to another loop" error
    run_sync(once())
    assert scheduler.peak_in_flight == 1


def test_byte_budget_is_first_come_first_served_and_survives_cancellation() -> None:
    budget = ByteBudget(100)
    order: list[str] = []

    async def take(name: str, amount: int, hold: float) -> None:
        await budget.acquire(amount)
        order.append(name)
        await asyncio.sleep(hold)
        budget.release(amount)

    async def main() -> None:
        first = asyncio.create_task(take("a", 80, 0.02))
        await asyncio.sleep(0)
        big = asyncio.create_task(take("b", 60, 0))  # waits for a
        await asyncio.sleep(0)
        small = asyncio.create_task(take("c", 10, 0))  # fits now, but queues behind b
        cancelled = asyncio.create_task(take("d", 50, 0))
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(first, big, small, return_exceptions=True)
        assert await budget.acquire(500) == 100  # more than the total: capped, never stuck
        budget.release(100)

    asyncio.run(main())
    assert order == ["a", "b", "c"]


# -- portal -------------------------------------------------------------------------------------


def test_portal_runs_coroutines_from_sync_and_from_inside_a_loop() -> None:
    async def where() -> str:
        return threading.current_thread().name

    assert run_sync(where()) == "obstac-portal"

    async def inside() -> str:
        return run_sync(where())  # blocking call from a running loop, as in Jupyter

    assert asyncio.run(inside()) == "obstac-portal"


def test_portal_raises_the_coroutines_exception() -> None:
    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_sync(boom())


# -- events -------------------------------------------------------------------------------------


def test_byte_events_are_coalesced() -> None:
    log = EventLog()
    reporter = _ByteReporter(_Emitter(log), "job", "href", "target")
    for _ in range(1000):
        reporter.add(8 * 1024)  # 8000 KiB in 8 KiB chunks, instantly
    reporter.flush()
    received = log.of_kind("bytes")
    assert sum(e.bytes for e in received) == 8000 * 1024
    assert len(received) <= 9  # one per MiB, not one per chunk


def test_event_log_and_sink_protocol() -> None:
    log = EventLog()
    assert isinstance(log, obstac.transfer.EventSink)
    log(TransferEvent("start", "j", "h", "t"))
    assert [e.kind for e in log.events] == ["start"]
    assert "EventLog(events=1)" in repr(log)


# -- local files --------------------------------------------------------------------------------


def test_partial_names_stay_within_file_name_limits(tmp_path: Path) -> None:
    temp, state = partial_paths(tmp_path / "B04.tif")
    assert (temp.name, state.name) == (".B04.tif.obstac-partial", ".B04.tif.obstac-partial.json")
    long_temp, long_state = partial_paths(tmp_path / ("x" * 250))
    assert len(long_state.name) <= 255
    assert long_temp.parent == tmp_path


def test_manifest_last_line_wins_and_torn_lines_are_ignored(tmp_path: Path) -> None:
    def entry(size: int) -> ManifestEntry:
        return ManifestEntry("a.tif", size, 1, '"e"', "https://x/a.tif", {"sha2-256": "1220"})

    append_manifest(tmp_path, [entry(1), entry(2)])
    with (tmp_path / MANIFEST_NAME).open("a") as f:
        f.write('{"version": 1, "name": "b.t')  # a crash mid-write
    assert load_manifest(tmp_path)["a.tif"].size == 2
    assert "b.t" not in load_manifest(tmp_path)


def test_manifest_is_compacted_when_it_grows(tmp_path: Path) -> None:
    append_manifest(tmp_path, [ManifestEntry("a.tif", i, 1, None, "h", {}) for i in range(500)])
    assert load_manifest(tmp_path)["a.tif"].size == 499
    assert len((tmp_path / MANIFEST_NAME).read_text().splitlines()) == 1
