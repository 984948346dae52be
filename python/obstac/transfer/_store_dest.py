"""The object-store destination: any obstore store, written with one PUT or a multipart upload.

Bytes go from the source store to the destination store through memory, never through a local
file (store-to-store copy, e.g. Azure to S3). Objects up to ``single_put_threshold`` are sent
with one ``put`` (one GET, or parallel ranged GETs into one buffer, before it); larger ones
stream, in order, into ``obstore.open_writer_async``, which uploads them as a multipart upload
(S3, GCS) or a block list (Azure). Both are atomic: the object appears under its name only
when complete, and an aborted upload leaves nothing behind.

obstac records where the copy came from in the object's own metadata (``obstac_source_etag``,
``obstac_sha256``), so a later run can prove the copy current with a HEAD instead of copying
again; a HEAD is sent only for an object its folder's listing shows (``_store_listing.py``).
Stores without user metadata (``LocalStore``) get no record and are copied again, unasked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import obstore
from obstore.store import LocalStore

from obstac._redact import redact
from obstac.errors import ObstacError
from obstac.transfer._checksums import RECORDED_ALGORITHM, Hashers, multihash
from obstac.transfer._errors import TransferError
from obstac.transfer._job import Job, Outcome, Segment, Write, split_range
from obstac.transfer._store_listing import ABSENT

if TYPE_CHECKING:
    from obstore import Attributes
    from obstore.store import ObjectStore

__all__ = ["StoreTarget"]

ATTRIBUTE_SOURCE_ETAG = "obstac_source_etag"
"""User-metadata key holding the source object's ETag (letters, digits and ``_`` only: Azure
metadata names must be C# identifiers)."""

ATTRIBUTE_SHA256 = "obstac_sha256"
"""User-metadata key holding the sha2-256 multihash of the bytes written."""

MIN_MULTIPART_PART = 5 * 1024 * 1024
"""S3's smallest multipart part (except the last): upload buffers are never smaller."""

WRITER_CONCURRENCY = 4
"""Parts one multipart upload sends at once. Each holds one part in memory, so an upload costs
up to (this + 1) x part size; 4 keeps an 8 MiB-part upload under 40 MiB and, with several
uploads running, the destination busy."""


@dataclass(frozen=True)
class StoreTarget:
    """Write the object into an obstore store.

    Attributes:
        store: Any obstore store (``S3Store``, ``AzureStore``, ``GCSStore``, ``LocalStore``...).
        path: The object's path inside ``store``.
        url: How to show the destination (e.g. ``s3://bucket/prefix/B04.tif``): used in
            results, events, messages and rewritten hrefs. It must carry no secret.
    """

    store: ObjectStore
    path: str
    url: str

    def __str__(self) -> str:
        return self.url


def supports_attributes(store: ObjectStore) -> bool:
    """Whether ``store`` keeps user metadata (obstore's ``LocalStore`` refuses it)."""
    return not isinstance(store, LocalStore)


def record_attributes(
    store: ObjectStore, etag: str | None, sha256: str | None
) -> Attributes | None:
    """The metadata that records a copy's origin, or None when the store keeps none."""
    if not supports_attributes(store):
        return None
    attributes: Attributes = {}
    if etag:
        attributes[ATTRIBUTE_SOURCE_ETAG] = etag
    if sha256:
        attributes[ATTRIBUTE_SHA256] = sha256
    return attributes or None


@dataclass(frozen=True)
class TargetRecord:
    """What the destination says about an existing copy (one HEAD)."""

    size: int
    source_etag: str | None
    sha256: str | None


async def read_record(target: StoreTarget) -> TargetRecord | None:
    """The destination object's size and recorded origin, or None when it does not exist."""
    try:
        result = await obstore.get_async(target.store, target.path, options={"head": True})
    except FileNotFoundError:
        return None
    attributes = result.attributes if supports_attributes(target.store) else {}
    return TargetRecord(
        size=result.meta["size"],
        source_etag=attributes.get(ATTRIBUTE_SOURCE_ETAG),
        sha256=attributes.get(ATTRIBUTE_SHA256),
    )


# -- the job of a store target --------------------------------------------------------------


class StoreTransfer:
    """A job whose target is an object in a store: a store-to-store copy, no local file.

    The size is known before the first GET (``file:size``, else one HEAD), so memory is
    reserved before any request slot is taken: a copy never holds a slot while it waits for
    memory, which is what keeps many concurrent copies from deadlocking.
    """

    def __init__(self, job: Job, target: StoreTarget) -> None:
        self.job = job
        self.options = job.options
        self.target = target
        self.budget = job.call.scheduler.buffers()
        self.held = 0

    async def run(self) -> Outcome:
        job = self.job
        if not job.job.overwrite:
            skipped = await self.prove_identical()
            if skipped is not None:
                return skipped
        size = job.job.expected_size
        if size is None:
            job.learn(await job.head())
            size = job.size
        assert size is not None
        try:
            if size <= self.options.single_get_threshold:
                return await self.copy_small(size)
            if size <= self.options.single_put_threshold:
                return await self.copy_medium(size)
            async with job.call.scheduler.uploads():
                return await self.copy_large(size)
        finally:
            if self.held:
                self.budget.release(self.held)
                self.held = 0

    async def keep(self, segment: Segment, offset: int, chunk: bytes) -> None:
        segment.chunks.append(chunk)
        segment.written += len(chunk)

    async def copy_small(self, size: int) -> Outcome:
        job = self.job
        self.held = await self.budget.acquire(size)
        segment = Segment(0, size)
        # The whole object as one chunk, gathered by obstore off the event loop: no second
        # copy of every byte by a Python join on the loop (0.12-0.17 s per 184 MiB measured).
        # obstore continues a cut body itself; if it gives up, the engine's retry starts this
        # object (at most single_get_threshold bytes) over.
        await job.fetch(segment, self.keep, plain=True, chunk_size=max(size, 1))
        chunks = segment.chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        segment.chunks.clear()
        return await self.put_whole(data)

    async def copy_medium(self, size: int) -> Outcome:
        """Ranged parts fetched in parallel into one buffer, then one PUT.

        The buffer is reserved whole from the byte budget before any request slot is taken
        (an object larger than the budget waits for all of it, so it never deadlocks). Each
        part is retried from where it stopped (:meth:`Job.fetch`), writing at its offsets.
        """
        self.held = await self.budget.acquire(size)
        buffer = memoryview(bytearray(size))

        async def place(segment: Segment, offset: int, chunk: bytes) -> None:
            buffer[offset : offset + len(chunk)] = chunk
            segment.written += len(chunk)

        await self.fetch_parts(split_range(0, size, self.options.part_size), place)
        return await self.put_whole(buffer)

    async def fetch_parts(self, segments: list[Segment], write: Write) -> None:
        """Fetch ``segments`` through ``write``, ``max_parts_per_object`` at once; the first
        failure (after the job's retries) cancels the others and is raised."""
        queue = deque(segments)

        async def worker() -> None:
            while queue:
                await self.job.fetch(queue.popleft(), write)

        workers = [
            asyncio.create_task(worker())
            for _ in range(min(self.options.max_parts_per_object, len(segments)))
        ]
        try:
            done, _ = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in workers:
                error = task.exception() if task in done and not task.cancelled() else None
                if error is not None:
                    raise error
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def put_whole(self, data: bytes | memoryview) -> Outcome:
        """Hash and verify the whole object, then write it with one PUT (atomic)."""
        job = self.job
        hashers = Hashers(job.algorithms())
        if hashers.algorithms:
            await job.io(hashers.update, data)
        digests = hashers.digests()
        verified = job.verify(digests)
        checksum = job.recorded(digests)
        attributes = record_attributes(self.target.store, job.etag, checksum)
        # One request whatever the size: obstore's put would switch to a multipart upload
        # (3 requests at least) above its 5 MiB chunk_size.
        options: dict[str, Any] = {"use_multipart": False}
        if attributes is not None:
            options["attributes"] = attributes
        try:
            await obstore.put_async(self.target.store, self.target.path, data, **options)
        except (obstore.exceptions.BaseError, OSError) as error:
            raise self.target_error(error) from None
        return Outcome("downloaded", job.size, verified, checksum, job.etag)

    async def copy_large(self, size: int) -> Outcome:
        job = self.job
        segments = split_range(0, size, self.options.part_size)
        for segment in segments:
            segment.ready = asyncio.Event()
        window = asyncio.Semaphore(self.options.max_parts_per_object)
        tasks: set[asyncio.Task[None]] = set()
        failure: list[BaseException] = []
        funded: dict[int, int] = {}

        async def fetch(segment: Segment) -> None:
            try:
                await job.fetch(segment, self.keep)
                assert segment.ready is not None
                segment.ready.set()
            except asyncio.CancelledError:
                raise
            except BaseException as error:
                if not failure:
                    failure.append(error)
                for ready in segments:
                    assert ready.ready is not None
                    ready.ready.set()  # wake the writer so it sees the failure

        async def feed() -> None:
            for segment in segments:
                await window.acquire()
                funded[id(segment)] = await self.budget.acquire(segment.end - segment.start)
                if failure:
                    return
                task = asyncio.create_task(fetch(segment))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        feeder = asyncio.create_task(feed())
        try:
            return await self.write_in_order(segments, window, failure, funded)
        finally:
            feeder.cancel()
            for task in list(tasks):
                task.cancel()
            with contextlib.suppress(BaseException):
                await feeder
            while tasks:
                with contextlib.suppress(BaseException):
                    await asyncio.wait(set(tasks))
            for amount in funded.values():
                self.budget.release(amount)

    async def write_in_order(
        self,
        segments: list[Segment],
        window: asyncio.Semaphore,
        failure: list[BaseException],
        funded: dict[int, int],
    ) -> Outcome:
        job = self.job
        hashers = Hashers(job.algorithms())
        declared = None
        expected = job.expected
        if expected is not None and expected.exact and expected.candidates[0] == RECORDED_ALGORITHM:
            declared = multihash(RECORDED_ALGORITHM, expected.digest)  # verified before commit
        buffer_size = max(self.options.part_size, MIN_MULTIPART_PART)
        options: dict[str, Any] = {
            "buffer_size": buffer_size,
            "max_concurrency": WRITER_CONCURRENCY,
        }
        attributes = record_attributes(self.target.store, job.etag, declared)
        if attributes is not None:
            options["attributes"] = attributes
        try:
            async with obstore.open_writer_async(
                self.target.store, self.target.path, **options
            ) as writer:
                for segment in segments:
                    assert segment.ready is not None
                    await segment.ready.wait()
                    if failure:
                        raise failure[0]
                    for chunk in segment.chunks:
                        if hashers.algorithms:
                            await job.io(hashers.update, chunk)
                        await writer.write(chunk)
                    segment.chunks.clear()
                    self.budget.release(funded.pop(id(segment), 0))
                    window.release()
                digests = hashers.digests()
                verified = job.verify(digests)  # raising inside the block aborts the upload
        except (obstore.exceptions.BaseError, OSError) as error:
            raise self.target_error(error) from None
        return Outcome("downloaded", job.size, verified, job.recorded(digests), job.etag)

    def target_error(self, error: BaseException) -> TransferError:
        text = str(error).strip()
        detail = redact(text.splitlines()[0]) if text else type(error).__name__
        return self.job.fail(
            f"writing {self.target.url} failed: {detail}. Check the destination's "
            "credentials and that its bucket or container exists"
        )

    async def prove_identical(self) -> Outcome | None:
        """A skipped outcome when the destination object records this very source."""
        job = self.job
        if not supports_attributes(self.target.store):
            return None  # nothing recorded there, so nothing could prove a copy
        expected_size = job.job.expected_size
        listed = await job.call.store_folders.presence(self.target)
        if listed is ABSENT or (
            isinstance(listed, int) and expected_size is not None and listed != expected_size
        ):
            return None  # not there, or not this size: copy without a HEAD
        try:
            record = await read_record(self.target)
        except (obstore.exceptions.BaseError, OSError):
            return None
        if record is None:
            return None
        if expected_size is not None and record.size != expected_size:
            return None
        expected = job.expected
        if (
            expected is not None
            and expected.exact
            and expected.candidates[0] == RECORDED_ALGORITHM
            and record.sha256 is not None
        ):
            if record.sha256 != multihash(RECORDED_ALGORITHM, expected.digest):
                return None
            return Outcome("skipped", record.size, True, record.sha256, record.source_etag)
        if record.source_etag is None:
            return None
        try:
            meta = await job.head()
        except ObstacError:
            return None
        if meta["size"] != record.size or meta.get("e_tag") != record.source_etag:
            return None
        job.size, job.etag = record.size, record.source_etag
        return Outcome("skipped", record.size, True, record.sha256, record.source_etag)
