"""The transfer engine to a local folder, on moto (S3), Azurite and the HTTP origin.

Many small objects: one GET each, correct bytes, nothing left behind; a re-run proves every
file identical without a GET (a HEAD when only the ETag can prove it, nothing at all when the
checksum can); skip only when proven; events; on_error; the sync API inside a running loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import obstore
import pytest
from obstore.store import AzureStore, S3Store

import obstac
from obstac import StoreCache
from obstac.testing import AzuriteServer, CountingProxy, MotoServer, RangeHTTPServer
from obstac.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from obstac.transfer import (
    MANIFEST_NAME,
    ChecksumMismatchError,
    EventLog,
    LocalTarget,
    Scheduler,
    SizeMismatchError,
    TransferError,
    TransferEvent,
    TransferJob,
    TransferOptions,
    transfer,
    transfer_async,
)
from tests.conftest import FAST_RETRY, Backend

SMALL_COUNT = 500


@pytest.fixture(scope="module")
def web() -> Iterator[RangeHTTPServer]:
    """This module's HTTP origin (with room for ~100 connections at once)."""
    with RangeHTTPServer() as server:
        yield server


def _sha256_multihash(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


def _payloads(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(4 * 1024, 64 * 1024)) for _ in range(count)]


def _leftovers(folder: Path) -> list[str]:
    """Temporary or state files the engine may have left in ``folder`` (recursively)."""
    return sorted(
        str(path.relative_to(folder)) for path in folder.rglob("*") if "obstac-partial" in path.name
    )


@dataclass
class Origin:
    """A backend from conftest plus what this module needs: bulk seeding and HEAD counts."""

    backend: Backend
    seed: Callable[[str, list[bytes]], list[str]]
    heads: Callable[[], int]


async def _put_all(store: obstore.store.ObjectStore, keys: list[str], data: list[bytes]) -> None:
    limit = asyncio.Semaphore(32)

    async def put(key: str, body: bytes) -> None:
        async with limit:
            await obstore.put_async(store, key, body)

    await asyncio.gather(*(put(k, d) for k, d in zip(keys, data, strict=True)))


@pytest.fixture(params=["s3", "azure", "http"])
def origin(request: pytest.FixtureRequest) -> Origin:
    """Each test using this runs on moto, Azurite and the HTTP origin."""
    name = request.param
    if name == "s3":
        backend: Backend = request.getfixturevalue("s3_backend")
        moto: MotoServer = request.getfixturevalue("moto_server")
        moto_proxy: CountingProxy = request.getfixturevalue("moto_proxy")
        store = S3Store(
            "obstac-read",
            endpoint=moto.url,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            region="us-east-1",
            client_options={"allow_http": True},
        )

        def seed_s3(prefix: str, data: list[bytes]) -> list[str]:
            keys = [f"{prefix}/{i:04d}.bin" for i in range(len(data))]
            asyncio.run(_put_all(store, keys, data))
            return [f"s3://obstac-read/{key}" for key in keys]

        return Origin(backend, seed_s3, lambda: moto_proxy.count("HEAD"))
    if name == "azure":
        backend = request.getfixturevalue("azure_backend")
        azurite: AzuriteServer = request.getfixturevalue("azurite_server")
        azurite_proxy: CountingProxy = request.getfixturevalue("azurite_proxy")
        container = AzureStore(
            container_name="obstac-read",
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            endpoint=azurite.endpoint,
            client_options={"allow_http": True},
        )

        def seed_azure(prefix: str, data: list[bytes]) -> list[str]:
            keys = [f"{prefix}/{i:04d}.bin" for i in range(len(data))]
            asyncio.run(_put_all(container, keys, data))
            base = f"https://{ACCOUNT_NAME}.blob.core.windows.net/obstac-read"
            return [f"{base}/{key}" for key in keys]

        return Origin(backend, seed_azure, lambda: azurite_proxy.count("HEAD"))
    web: RangeHTTPServer = request.getfixturevalue("web")

    def seed_http(prefix: str, data: list[bytes]) -> list[str]:
        for i, body in enumerate(data):
            web.put(f"{prefix}/{i:04d}.bin", body)
        return [f"{web.url}/{prefix}/{i:04d}.bin" for i in range(len(data))]

    http_backend = Backend(
        "http",
        obstac.recipes.http(retry_config=FAST_RETRY),
        lambda name, data: "",
        lambda: web.count("GET"),
        web.clear_requests,
    )
    return Origin(http_backend, seed_http, lambda: web.count("HEAD"))


def _jobs(
    hrefs: list[str],
    folder: Path,
    origin: Origin,
    cache: StoreCache,
    *,
    checksums: list[str] | None = None,
    sizes: list[int] | None = None,
) -> list[TransferJob]:
    return [
        TransferJob(
            id=f"asset-{i}",
            source=obstac.open_asset(href, recipe=origin.backend.recipe, cache=cache),
            target=LocalTarget(folder / f"{i:04d}.bin"),
            expected_checksum=checksums[i] if checksums else None,
            expected_size=sizes[i] if sizes else None,
        )
        for i, href in enumerate(hrefs)
    ]


def test_many_small_objects_one_get_each_then_rerun_without_get(
    origin: Origin, tmp_path: Path, store_cache: StoreCache
) -> None:
    data = _payloads(SMALL_COUNT, seed=11)
    hrefs = origin.seed(f"small-{os.getpid()}-{random.random()}", data)
    jobs = _jobs(hrefs, tmp_path, origin, store_cache)
    origin.backend.reset()
    scheduler = Scheduler()

    results = transfer(jobs, scheduler=scheduler)

    assert [r.status for r in results] == ["downloaded"] * SMALL_COUNT
    assert origin.backend.gets() == SMALL_COUNT
    assert all(r.requests == 1 and r.retries == 0 and r.verified for r in results)
    assert sum(r.bytes_transferred for r in results) == sum(len(d) for d in data)
    for i, body in enumerate(data):
        assert (tmp_path / f"{i:04d}.bin").read_bytes() == body
        assert results[i].checksum == _sha256_multihash(body)
        assert results[i].size == len(body)
    assert _leftovers(tmp_path) == []
    assert 1 < scheduler.peak_in_flight <= scheduler.max_requests

    # Re-run: the manifest recorded each ETag; one HEAD per file proves it current, no GET.
    origin.backend.reset()
    heads_before = origin.heads()
    again = transfer(_jobs(hrefs, tmp_path, origin, store_cache))
    assert [r.status for r in again] == ["skipped"] * SMALL_COUNT
    assert origin.backend.gets() == 0
    assert origin.heads() - heads_before == SMALL_COUNT
    assert all(r.bytes_transferred == 0 and r.requests == 1 for r in again)

    # With file:checksum and file:size the local bytes prove themselves: no request at all.
    heads_before = origin.heads()
    checksums = [_sha256_multihash(body) for body in data]
    sizes = [len(body) for body in data]
    third = transfer(_jobs(hrefs, tmp_path, origin, store_cache, checksums=checksums, sizes=sizes))
    assert [r.status for r in third] == ["skipped"] * SMALL_COUNT
    assert origin.backend.gets() == 0
    assert origin.heads() == heads_before
    assert all(r.requests == 0 and r.verified for r in third)


# -- the rest runs on the HTTP origin only: the engine's behaviour does not depend on it ------


@pytest.fixture
def put(web: RangeHTTPServer) -> Callable[[str, bytes], str]:
    prefix = f"t{random.getrandbits(40):x}"

    def put(name: str, data: bytes) -> str:
        web.put(f"{prefix}/{name}", data)
        return f"{web.url}/{prefix}/{name}"

    return put


def _job(href: str, target: Path, cache: StoreCache, **fields: object) -> TransferJob:
    reader = obstac.open_asset(href, recipe=obstac.recipes.http(), cache=cache)
    return TransferJob(
        id=str(fields.pop("id", target.name)),
        source=reader,
        target=LocalTarget(target),
        **fields,  # type: ignore[arg-type]
    )


SMALL_OPTIONS = TransferOptions(part_size=64 * 1024, single_get_threshold=64 * 1024)
"""Parts of 64 KiB, so a 1 MiB object exercises the multi-part path quickly."""


def test_multipart_download_ranges_and_bytes(
    web: RangeHTTPServer, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    data = random.Random(5).randbytes(1024 * 1024 + 77)
    href = put("big.bin", data)
    web.clear_requests()
    [result] = transfer([_job(href, tmp_path / "big.bin", StoreCache())], options=SMALL_OPTIONS)
    assert result.status == "downloaded"
    assert (tmp_path / "big.bin").read_bytes() == data
    gets = [r for r in web.requests if r.method == "GET"]
    assert len(gets) == result.requests == 17  # 16 parts of 64 KiB + the last 77 bytes
    assert sorted(r.range or "" for r in gets)[0] == "bytes=0-65535"
    assert all(r.range is not None for r in gets)
    assert result.checksum == _sha256_multihash(data)
    assert _leftovers(tmp_path) == []


def test_checksums_of_every_form_verify(put: Callable[[str, bytes], str], tmp_path: Path) -> None:
    data = random.Random(6).randbytes(200_000)
    forms = {
        "sha2-256": "1220" + hashlib.sha256(data).hexdigest(),
        "sha2-512": "1340" + hashlib.sha512(data).hexdigest(),
        "sha3-256": "1620" + hashlib.sha3_256(data).hexdigest(),
        "md5": "d50110" + hashlib.md5(data, usedforsecurity=False).hexdigest(),
        "bare-md5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
    }
    cache = StoreCache()
    jobs = [
        _job(put(f"{name}.bin", data), tmp_path / f"{name}.bin", cache, expected_checksum=value)
        for name, value in forms.items()
    ]
    # Both paths: one GET (the default threshold) and 64 KiB parts.
    for options in (TransferOptions(), SMALL_OPTIONS):
        results = transfer(jobs, options=options)
        assert [r.status for r in results] == ["downloaded"] * len(forms), results
        assert all(r.verified for r in results)
        for path in tmp_path.glob("*.bin"):
            assert path.read_bytes() == data
            path.unlink()


@pytest.mark.parametrize("options", [TransferOptions(), SMALL_OPTIONS], ids=["one-get", "parts"])
def test_checksum_mismatch_keeps_nothing(
    options: TransferOptions, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    data = random.Random(7).randbytes(300_000)
    wrong = "1220" + hashlib.sha256(b"something else").hexdigest()
    job = _job(put("x.bin", data), tmp_path / "x.bin", StoreCache(), expected_checksum=wrong)
    [result] = transfer([job], options=options)
    assert result.status == "failed"
    assert isinstance(result.error, ChecksumMismatchError)
    assert result.error.expected == wrong
    assert result.error.actual == _sha256_multihash(data)
    assert "file:checksum" in str(result.error)
    assert not (tmp_path / "x.bin").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file, no state, no manifest line


@pytest.mark.parametrize("options", [TransferOptions(), SMALL_OPTIONS], ids=["one-get", "parts"])
def test_size_mismatch_fails_before_downloading(
    options: TransferOptions,
    web: RangeHTTPServer,
    put: Callable[[str, bytes], str],
    tmp_path: Path,
) -> None:
    data = random.Random(8).randbytes(300_000)
    job = _job(put("x.bin", data), tmp_path / "x.bin", StoreCache(), expected_size=299_999)
    web.clear_requests()
    [result] = transfer([job], options=options)
    assert result.status == "failed"
    assert isinstance(result.error, SizeMismatchError)
    assert (result.error.expected, result.error.actual) == (299_999, 300_000)
    assert result.requests == 1  # the first response's headers were enough
    assert result.bytes_transferred < len(data)
    assert list(tmp_path.iterdir()) == []


def test_unverifiable_checksum_downloads_unverified(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    # CDSE-style "md5" multihash carrying 32 bytes: no algorithm matches, so nothing can be
    # claimed either way.
    data = b"some bytes"
    odd = "d50120" + "ab" * 32
    job = _job(put("odd.bin", data), tmp_path / "odd.bin", StoreCache(), expected_checksum=odd)
    [result] = transfer([job])
    assert result.status == "downloaded"
    assert result.verified is False
    assert (tmp_path / "odd.bin").read_bytes() == data


def test_existing_file_is_not_trusted_without_proof(
    web: RangeHTTPServer, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    data = random.Random(9).randbytes(10_000)
    href = put("a.bin", data)
    target = tmp_path / "a.bin"
    target.write_bytes(b"x" * len(data))  # same size, other bytes, no manifest
    web.clear_requests()
    [result] = transfer([_job(href, target, StoreCache())])
    assert result.status == "downloaded"
    assert target.read_bytes() == data

    # A file changed after download (same size, new mtime) is not proven by the manifest.
    target.write_bytes(b"y" * len(data))
    [result] = transfer([_job(href, target, StoreCache())])
    assert result.status == "downloaded"
    assert target.read_bytes() == data

    # With a declared checksum, a file that hashes wrong is downloaded again.
    target.write_bytes(b"z" * len(data))
    checksum = _sha256_multihash(data)
    [result] = transfer([_job(href, target, StoreCache(), expected_checksum=checksum)])
    assert result.status == "downloaded"
    assert target.read_bytes() == data

    # overwrite=True downloads even a proven file.
    web.clear_requests()
    [result] = transfer([_job(href, target, StoreCache(), overwrite=True)])
    assert result.status == "downloaded"
    assert web.count("GET") == 1


def test_changed_remote_object_is_downloaded_again(
    web: RangeHTTPServer, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    href = put("v.bin", b"version one")
    target = tmp_path / "v.bin"
    transfer([_job(href, target, StoreCache())])
    put("v.bin", b"version two")  # same path: new ETag
    [result] = transfer([_job(href, target, StoreCache())])
    assert result.status == "downloaded"
    assert target.read_bytes() == b"version two"
    lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert [json.loads(line)["etag"] for line in lines][-1] == result.etag


def test_empty_object(put: Callable[[str, bytes], str], tmp_path: Path) -> None:
    href = put("empty", b"")
    [result] = transfer([_job(href, tmp_path / "empty", StoreCache())])
    assert result.status == "downloaded"
    assert (tmp_path / "empty").read_bytes() == b""
    assert result.checksum == _sha256_multihash(b"")
    # Known to be empty: one plain GET, no range to refuse.
    [known] = transfer([_job(href, tmp_path / "empty2", StoreCache(), expected_size=0)])
    assert known.requests == 1


def test_missing_object_fails_with_not_found(web: RangeHTTPServer, tmp_path: Path) -> None:
    job = _job(f"{web.url}/no/such.bin", tmp_path / "such.bin", StoreCache())
    [result] = transfer([job])
    assert result.status == "failed"
    assert isinstance(result.error, obstac.AssetNotFoundError)
    assert result.requests == 1
    assert list(tmp_path.iterdir()) == []


def test_on_error_continue_runs_every_job(
    web: RangeHTTPServer, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    cache = StoreCache()
    jobs = [_job(put(f"{i}.bin", b"%d" % i), tmp_path / f"{i}.bin", cache) for i in range(6)]
    jobs.insert(3, _job(f"{web.url}/missing.bin", tmp_path / "missing.bin", cache))
    results = transfer(jobs)
    assert [r.status for r in results] == ["downloaded"] * 3 + ["failed"] + ["downloaded"] * 3
    assert [r.job_id for r in results] == [j.id for j in jobs]


def test_on_error_raise_stops_and_cleans_up(
    web: RangeHTTPServer, put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    cache = StoreCache()
    big = random.Random(10).randbytes(2 * 1024 * 1024)
    jobs = [_job(f"{web.url}/missing.bin", tmp_path / "missing.bin", cache)]
    jobs += [_job(put(f"big{i}.bin", big), tmp_path / f"big{i}.bin", cache) for i in range(4)]
    options = TransferOptions(part_size=64 * 1024, single_get_threshold=64 * 1024, on_error="raise")
    with pytest.raises(obstac.AssetNotFoundError, match=r"missing\.bin"):
        transfer(jobs, options=options)
    assert _leftovers(tmp_path) == []
    for path in tmp_path.glob("big*.bin"):
        assert path.read_bytes() == big  # only complete files carry a final name


def test_duplicate_targets_and_ids_are_refused(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    cache = StoreCache()
    href = put("d.bin", b"data")
    jobs = [
        _job(href, tmp_path / "d.bin", cache, id="one"),
        _job(href, tmp_path / "d.bin", cache, id="two"),
        _job(href, tmp_path / "e.bin", cache, id="one"),
    ]
    results = transfer(jobs)
    assert [r.status for r in results] == ["downloaded", "failed", "failed"]
    assert isinstance(results[1].error, TransferError)
    assert "both write" in str(results[1].error)
    assert "share the id" in str(results[2].error)


def test_events_are_coalesced_and_complete(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    data = random.Random(12).randbytes(3 * 1024 * 1024)
    href = put("ev.bin", data)
    log = EventLog()
    options = TransferOptions(part_size=256 * 1024, single_get_threshold=256 * 1024)
    [result] = transfer(
        [_job(href, tmp_path / "ev.bin", StoreCache())], options=options, events=log
    )
    kinds = [e.kind for e in log.events]
    assert kinds[0] == "start"
    assert kinds[-1] == "done"
    received = log.of_kind("bytes")
    assert sum(e.bytes for e in received) == len(data) == result.bytes_transferred
    # 1 MiB chunks at most 256 KiB apart... coalesced to at most one event per MiB or 100 ms.
    assert len(received) <= 12
    assert received[-1].total == len(data)
    assert log.of_kind("done")[0].bytes == len(data)


def test_a_failing_sink_never_stops_a_transfer(
    put: Callable[[str, bytes], str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("progress bar bug")

    [result] = transfer(
        [_job(put("s.bin", b"abc"), tmp_path / "s.bin", StoreCache())], events=broken
    )
    assert result.status == "downloaded"
    assert "progress bar bug" in caplog.text


def test_sync_api_works_inside_a_running_event_loop(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    href = put("loop.bin", b"inside a loop")
    scheduler = Scheduler(max_requests=4)

    async def notebook_cell() -> list[str]:
        # What Jupyter does: the sync API called while an event loop runs in this thread.
        first = transfer([_job(href, tmp_path / "a.bin", StoreCache())], scheduler=scheduler)
        # The same scheduler, now from this loop through the async API.
        second = await transfer_async(
            [_job(href, tmp_path / "b.bin", StoreCache())], scheduler=scheduler
        )
        return [first[0].status, second[0].status]

    assert asyncio.run(notebook_cell()) == ["downloaded", "downloaded"]
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


def test_async_iterable_of_jobs_is_consumed_lazily(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    cache = StoreCache()
    hrefs = [put(f"{i}.bin", b"%d" % i) for i in range(50)]
    produced: list[int] = []

    async def jobs() -> AsyncIterator[TransferJob]:
        for i, href in enumerate(hrefs):
            produced.append(i)
            yield _job(href, tmp_path / f"{i}.bin", cache)

    produced_at_first_done: list[int] = []

    def watch(event: TransferEvent) -> None:
        if event.kind == "done" and not produced_at_first_done:
            produced_at_first_done.append(len(produced))

    results = asyncio.run(transfer_async(jobs(), scheduler=Scheduler(max_requests=2), events=watch))
    assert len(results) == 50
    assert produced_at_first_done[0] < 50  # jobs are pulled as slots free up, not all at once
    assert all(r.status == "downloaded" for r in results)
    assert (tmp_path / "49.bin").read_bytes() == b"49"


def test_scheduler_limits_requests_per_host(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    cache = StoreCache()
    jobs = [_job(put(f"{i}.bin", b"x" * 1000), tmp_path / f"{i}.bin", cache) for i in range(60)]
    scheduler = Scheduler(max_requests=50, max_per_host=3)
    results = transfer(jobs, scheduler=scheduler)
    assert all(r.status == "downloaded" for r in results)
    assert scheduler.peak_in_flight <= 3
    assert scheduler.in_flight == 0


def test_options_and_scheduler_validate_their_values() -> None:
    with pytest.raises(ValueError, match="part_size"):
        TransferOptions(part_size=0)
    with pytest.raises(ValueError, match="on_error"):
        TransferOptions(on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_per_host"):
        Scheduler(max_per_host=0)


def test_unwritable_destination_fails_naming_the_path(
    put: Callable[[str, bytes], str], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    job = _job(put("w.bin", b"data"), tmp_path / "a-file" / "w.bin", StoreCache())
    [result] = transfer([job])
    assert result.status == "failed"
    assert isinstance(result.error, TransferError)
    assert str(tmp_path / "a-file") in str(result.error)
