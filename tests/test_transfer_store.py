"""Store-to-store copies: Azurite -> moto through the engine, with no local file on the way."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import obstore
import pytest
from obstore.store import AzureStore, LocalStore, S3Store

import obstac
from obstac import StoreCache
from obstac.recipes import http
from obstac.testing import AzuriteServer, ChaosOrigin, CountingProxy, Fault, MotoServer
from obstac.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from obstac.transfer import (
    ChecksumMismatchError,
    Scheduler,
    StoreTarget,
    TransferJob,
    TransferOptions,
    TransferResult,
    transfer,
)
from tests.conftest import FAST_RETRY, Backend

MIB = 1024 * 1024
DEST_BUCKET = "obstac-mirror"
OPTIONS = TransferOptions(
    part_size=5 * MIB, single_get_threshold=5 * MIB, single_put_threshold=5 * MIB
)
"""S3's smallest multipart part is 5 MiB: a 12 MiB object becomes a 3-part upload."""
MEDIUM = TransferOptions(
    part_size=MIB, single_get_threshold=MIB, single_put_threshold=8 * MIB, retry_backoff=0.05
)
"""Objects of 1-8 MiB come as 1 MiB ranged parts and go up as one PUT; larger as multipart.
Medium test objects are above 5 MiB: obstore's writer sends less than its buffer (5 MiB at
least) as one PUT by itself, so a smaller object would not tell the two paths apart."""


def _s3(endpoint: str) -> S3Store:
    """The destination bucket on moto, at ``endpoint`` (moto, or a proxy in front of it)."""
    return S3Store(
        DEST_BUCKET,
        endpoint=endpoint,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
    )


@pytest.fixture(scope="module")
def dest(moto_server: MotoServer) -> S3Store:
    moto_server.create_bucket(DEST_BUCKET)
    return _s3(moto_server.url)


@pytest.fixture(scope="module")
def source(azurite_server: AzuriteServer, azure_backend: Backend) -> AzureStore:
    return AzureStore(
        container_name="obstac-read",
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        endpoint=azurite_server.endpoint,
        client_options={"allow_http": True},
    )


def _seed(source: AzureStore, blobs: dict[str, bytes]) -> dict[str, str]:
    async def put_all() -> None:
        await asyncio.gather(*(obstore.put_async(source, k, v) for k, v in blobs.items()))

    asyncio.run(put_all())
    base = f"https://{ACCOUNT_NAME}.blob.core.windows.net/obstac-read"
    return {key: f"{base}/{key}" for key in blobs}


def _jobs(
    hrefs: dict[str, str],
    backend: Backend,
    dest: S3Store,
    prefix: str,
    checksums: dict[str, str] | None = None,
) -> list[TransferJob]:
    cache = StoreCache()
    return [
        TransferJob(
            id=key,
            source=obstac.open_asset(href, recipe=backend.recipe, cache=cache),
            target=StoreTarget(dest, f"{prefix}/{key}", f"s3://{DEST_BUCKET}/{prefix}/{key}"),
            expected_checksum=(checksums or {}).get(key),
        )
        for key, href in hrefs.items()
    ]


def _sha(data: bytes) -> str:
    return "1220" + hashlib.sha256(data).hexdigest()


def test_azurite_to_moto_copies_small_and_large_objects_then_skips(
    source: AzureStore,
    dest: S3Store,
    azure_backend: Backend,
    azurite_proxy: CountingProxy,
) -> None:
    run = uuid.uuid4().hex[:8]
    rng = random.Random(1)
    blobs = {f"m-{run}/small-{i}.bin": rng.randbytes(rng.randint(1000, 60_000)) for i in range(20)}
    blobs[f"m-{run}/large.bin"] = rng.randbytes(12 * MIB + 3)
    hrefs = _seed(source, blobs)
    azure_backend.reset()

    results = transfer(_jobs(hrefs, azure_backend, dest, "mirror"), options=OPTIONS)

    assert [r.status for r in results] == ["downloaded"] * len(blobs), [r.error for r in results]
    by_id = {r.job_id: r for r in results}
    for key, data in blobs.items():
        copied = obstore.get(dest, f"mirror/{key}")
        assert bytes(copied.bytes()) == data
        assert copied.attributes["obstac_source_etag"] == by_id[key].etag
    large = by_id[f"m-{run}/large.bin"]
    assert large.requests == 1 + 3  # one HEAD for the size, then three 5 MiB ranged GETs
    assert large.checksum == _sha(blobs[f"m-{run}/large.bin"])
    small = by_id[f"m-{run}/small-0.bin"]
    assert small.requests == 2  # HEAD (no file:size given) + one GET
    head = obstore.get(dest, f"mirror/m-{run}/small-0.bin", options={"head": True})
    assert head.attributes["obstac_source_etag"] == small.etag
    assert head.attributes["obstac_sha256"] == small.checksum
    assert head.meta["e_tag"] != small.etag  # a new object, whose own ETag differs

    # Re-run: each copy records its source's ETag; a HEAD of each source proves it current.
    azurite_proxy.clear()
    again = transfer(_jobs(hrefs, azure_backend, dest, "mirror"), options=OPTIONS)
    assert [r.status for r in again] == ["skipped"] * len(blobs)
    assert azurite_proxy.count("GET") == 0
    assert azurite_proxy.count("HEAD") == len(blobs)

    # With file:checksum the copy's recorded sha256 proves it without asking the source.
    azurite_proxy.clear()
    smalls = {k: v for k, v in hrefs.items() if "small" in k}
    checksums = {key: _sha(blobs[key]) for key in smalls}
    third = transfer(_jobs(smalls, azure_backend, dest, "mirror", checksums), options=OPTIONS)
    assert [r.status for r in third] == ["skipped"] * len(smalls)
    assert azurite_proxy.count() == 0


@pytest.mark.parametrize(
    ("size", "options"),
    [(40_000, OPTIONS), (6 * MIB + 5, MEDIUM), (11 * MIB, OPTIONS)],
    ids=["put", "parts-then-put", "multipart"],
)
def test_checksum_mismatch_leaves_no_object(
    size: int, options: TransferOptions, source: AzureStore, dest: S3Store, azure_backend: Backend
) -> None:
    key = f"bad-{uuid.uuid4().hex[:8]}.bin"
    hrefs = _seed(source, {key: random.Random(2).randbytes(size)})
    wrong = _sha(b"not these bytes")
    [result] = transfer(_jobs(hrefs, azure_backend, dest, "mirror", {key: wrong}), options=options)
    assert result.status == "failed"
    assert isinstance(result.error, ChecksumMismatchError)
    with pytest.raises(FileNotFoundError):
        obstore.head(dest, f"mirror/{key}")


def test_copy_into_a_local_store(
    source: AzureStore, azure_backend: Backend, tmp_path: Path
) -> None:
    key = f"l-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(3).randbytes(7 * MIB)
    hrefs = _seed(source, {key: data})
    local = LocalStore(tmp_path)
    job = TransferJob(
        id=key,
        source=obstac.open_asset(hrefs[key], recipe=azure_backend.recipe, cache=StoreCache()),
        target=StoreTarget(local, f"copy/{key}", f"file://{tmp_path}/copy/{key}"),
        expected_size=len(data),
    )
    results: list[TransferResult] = transfer([job], options=OPTIONS)
    assert results[0].status == "downloaded", results[0].error
    assert results[0].requests == 2  # file:size known: no HEAD, two ranged GETs
    assert (tmp_path / "copy" / key).read_bytes() == data


def test_a_small_copy_cut_mid_body_resumes_and_puts_the_whole_object(dest: S3Store) -> None:
    key = f"cut-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(4).randbytes(300_000)
    with ChaosOrigin() as origin:
        origin.put(f"src/{key}", data)
        origin.script(f"src/{key}", Fault.SHORT_BODY, Fault.SHORT_BODY)  # obstore's own retry too
        job = TransferJob(
            id=key,
            source=obstac.open_asset(
                f"{origin.url}/src/{key}", recipe=http(retry_config=FAST_RETRY)
            ),
            target=StoreTarget(dest, f"cut/{key}", f"s3://{DEST_BUCKET}/cut/{key}"),
            expected_size=len(data),
            expected_checksum=_sha(data),
        )
        [result] = transfer([job], options=OPTIONS)
    assert (result.status, result.retries, result.verified) == ("downloaded", 1, True)
    assert bytes(obstore.get(dest, f"cut/{key}").bytes()) == data


# -- the put threshold: medium objects are one PUT, fed by parallel ranged GETs -------------


@pytest.fixture(scope="module")
def chaos() -> Iterator[ChaosOrigin]:
    with ChaosOrigin() as origin:
        yield origin


@pytest.fixture(scope="module", params=["s3", "azure"])
def counted(
    request: pytest.FixtureRequest,
    moto_server: MotoServer,
    moto_proxy: CountingProxy,
    azurite_server: AzuriteServer,
    azurite_proxy: CountingProxy,
) -> tuple[S3Store | AzureStore, CountingProxy]:
    """A destination behind a proxy that counts its requests: moto, or Azurite."""
    if request.param == "s3":
        moto_server.create_bucket(DEST_BUCKET)
        return _s3(moto_proxy.url), moto_proxy
    azurite_server.create_container(DEST_BUCKET)
    azure = AzureStore(
        DEST_BUCKET,
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        endpoint=f"{azurite_proxy.url}/{ACCOUNT_NAME}",
        client_options={"allow_http": True},
    )
    return azure, azurite_proxy


def _writes(proxy: CountingProxy, key: str) -> Counter[str]:
    """The destination's writes of ``key`` by kind: ``put`` (a whole object), or the steps of
    a multipart upload (S3 ``create``/``part``/``complete``, Azure ``block``/``blocklist``).
    Reads (the HEAD that looks for an earlier copy) are not counted."""
    kinds: Counter[str] = Counter()
    for request in proxy.requests:
        if key not in request.target:
            continue
        query = request.target.partition("?")[2]
        if request.method == "POST":
            kinds["create" if "uploads" in query and "uploadId" not in query else "complete"] += 1
        elif request.method == "PUT":
            if "partNumber" in query:
                kinds["part"] += 1
            elif "comp=blocklist" in query:
                kinds["blocklist"] += 1
            elif "comp=block" in query:
                kinds["block"] += 1
            else:
                kinds["put"] += 1
    return kinds


def _chaos_job(
    origin: ChaosOrigin, key: str, data: bytes, store: S3Store | AzureStore
) -> TransferJob:
    origin.put(f"src/{key}", data)
    return TransferJob(
        id=key,
        source=obstac.open_asset(f"{origin.url}/src/{key}", recipe=http(retry_config=FAST_RETRY)),
        target=StoreTarget(store, f"medium/{key}", f"dest://{DEST_BUCKET}/medium/{key}"),
        expected_size=len(data),
        expected_checksum=_sha(data),
    )


def _source_ranges(origin: ChaosOrigin, key: str) -> list[tuple[int, int]]:
    """The source's ranged GETs for ``key``, as sorted inclusive ``(first, last)`` bytes."""
    ranges = []
    for request in origin.requests:
        if request.path == f"src/{key}" and request.method == "GET":
            assert request.range is not None, "a medium object is fetched in ranges"
            first, _, last = request.range.removeprefix("bytes=").partition("-")
            ranges.append((int(first), int(last)))
    return sorted(ranges)


def test_a_medium_object_is_one_put_fed_by_parallel_ranged_gets(
    chaos: ChaosOrigin, counted: tuple[S3Store | AzureStore, CountingProxy]
) -> None:
    store, proxy = counted
    key = f"one-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(5).randbytes(6 * MIB + 5)
    [result] = transfer([_chaos_job(chaos, key, data, store)], options=MEDIUM)

    assert result.status == "downloaded", result.error
    assert _writes(proxy, key) == {"put": 1}  # no multipart create, parts or complete
    parts = [(at, min(at + MIB, len(data)) - 1) for at in range(0, len(data), MIB)]
    assert _source_ranges(chaos, key) == parts  # 7 ranged GETs: 6 of 1 MiB and 5 bytes
    assert (result.requests, result.verified, result.checksum) == (7, True, _sha(data))
    copied = obstore.get(store, f"medium/{key}")
    assert hashlib.sha256(bytes(copied.bytes())).digest() == hashlib.sha256(data).digest()
    assert copied.attributes["obstac_sha256"] == _sha(data)


def test_a_small_object_above_5_mib_is_one_put_too(
    chaos: ChaosOrigin, counted: tuple[S3Store | AzureStore, CountingProxy]
) -> None:
    store, proxy = counted
    key = f"six-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(8).randbytes(6 * MIB)  # one GET (<= 8 MiB); obstore's put alone
    [result] = transfer([_chaos_job(chaos, key, data, store)])  # would make it multipart

    assert result.status == "downloaded", result.error
    assert _writes(proxy, key) == {"put": 1}
    assert bytes(obstore.get(store, f"medium/{key}").bytes()) == data


def test_medium_objects_larger_than_the_copy_budget_still_go_through(
    chaos: ChaosOrigin, moto_server: MotoServer, moto_proxy: CountingProxy
) -> None:
    moto_server.create_bucket(DEST_BUCKET)
    store = _s3(moto_proxy.url)
    blobs = {
        f"big-{i}-{uuid.uuid4().hex[:8]}.bin": random.Random(i).randbytes(6 * MIB) for i in (1, 2)
    }
    jobs = [_chaos_job(chaos, key, data, store) for key, data in blobs.items()]
    # Each object asks the 2 MiB budget for more than it holds: it waits for all of it, one
    # copy at a time, instead of waiting forever (the bound turns a deadlock into a failure).
    options = replace(MEDIUM, max_seconds_per_asset=60)
    results = transfer(jobs, options=options, scheduler=Scheduler(max_buffered_bytes=2 * MIB))

    assert [r.status for r in results] == ["downloaded"] * 2, [r.error for r in results]
    for key, data in blobs.items():
        assert _writes(moto_proxy, key) == {"put": 1}
        assert bytes(obstore.get(store, f"medium/{key}").bytes()) == data


def test_a_medium_part_cut_mid_body_is_resumed_and_still_one_put(
    chaos: ChaosOrigin, moto_server: MotoServer, moto_proxy: CountingProxy
) -> None:
    key = f"cut-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(6).randbytes(6 * MIB + 5)
    moto_server.create_bucket(DEST_BUCKET)
    store = _s3(moto_proxy.url)
    job = _chaos_job(chaos, key, data, store)
    # One part at a time, so the faults meet a known part: the second part's body is cut at
    # 1.5 MiB, obstore continues it itself and is cut again at 1.75 MiB; the engine's retry
    # then asks for the rest from the last byte that reached the buffer (256 KiB chunks).
    chaos.script(f"src/{key}", None, Fault.SHORT_BODY, Fault.SHORT_BODY)
    [result] = transfer([job], options=replace(MEDIUM, max_parts_per_object=1, chunk_size=MIB // 4))

    assert (result.status, result.retries, result.verified) == ("downloaded", 1, True)
    ranges = _source_ranges(chaos, key)
    assert len(ranges) == 7 + 2  # two continuations of the cut part, no part asked twice
    continued = [first for first, _ in ranges if first % MIB]  # not at a part's start
    assert len(continued) == 2
    assert continued[0] == MIB + MIB // 2
    assert MIB + MIB // 2 <= continued[1] < 2 * MIB
    assert _writes(moto_proxy, key) == {"put": 1}
    assert bytes(obstore.get(store, f"medium/{key}").bytes()) == data


def test_above_the_put_threshold_the_copy_is_a_multipart_upload(
    chaos: ChaosOrigin, counted: tuple[S3Store | AzureStore, CountingProxy]
) -> None:
    store, proxy = counted
    key = f"mp-{uuid.uuid4().hex[:8]}.bin"
    data = random.Random(7).randbytes(8 * MIB + 1)  # 2 parts of obstore's 5 MiB buffer
    [result] = transfer([_chaos_job(chaos, key, data, store)], options=MEDIUM)

    assert result.status == "downloaded", result.error
    writes = _writes(proxy, key)
    assert writes["put"] == 0
    assert writes in ({"create": 1, "part": 2, "complete": 1}, {"block": 2, "blocklist": 1})
    assert bytes(obstore.get(store, f"medium/{key}").bytes()) == data
