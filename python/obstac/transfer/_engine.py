"""The transfer engine: jobs -> requests (scheduled, retried) -> verified files or objects.

How one job runs (docs/transfer.md has the why and the measurements):

1. **Skip?** Unless ``overwrite``, an existing target is skipped only when proven identical:
   its size and ``file:checksum`` match (no request at all), or the manifest / object metadata
   recorded the source ETag and one HEAD shows it unchanged. Store targets: a folder the call
   writes several objects into is listed once; only objects listed there are HEADed.
2. **Resume?** A partial local file whose state records an ETag continues: only the missing
   byte ranges are requested, each with ``If-Match``; a changed object restarts from zero.
3. **First request**: ``GET`` of ``[0, single_get_threshold)`` (or the whole object when
   ``file:size`` says it is small). Its headers give the size and ETag: a small object is
   complete with this one request; a large one is split into ``part_size`` ranges fetched by up
   to ``max_parts_per_object`` requests at once, each streamed to its offset as chunks arrive.
4. **Finish**: size and checksum verified, file ``fsync``-ed and renamed (or the multipart
   upload completed). Anything that fails verification is deleted, never renamed.

Every request holds a :class:`~obstac.transfer.Scheduler` slot while in flight. Failures that
escape obstore's own retries (a connection reset mid-body, a 503 storm, a stalled read) are
retried per part with exponential backoff and jitter, resuming the part where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from obstac.transfer import _local
from obstac.transfer._events import EventSink, _Emitter
from obstac.transfer._job import Job, Status
from obstac.transfer._local import LocalTarget, ManifestEntry
from obstac.transfer._portal import run_sync
from obstac.transfer._scheduler import Scheduler
from obstac.transfer._store_dest import StoreTarget, supports_attributes
from obstac.transfer._store_listing import FolderListings

if TYPE_CHECKING:
    from obstac.errors import ObstacError
    from obstac.reading import AssetReader

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_PARTS_PER_OBJECT",
    "DEFAULT_MAX_RETRIES_PER_ASSET",
    "DEFAULT_PART_SIZE",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_SINGLE_GET_THRESHOLD",
    "DEFAULT_SINGLE_PUT_THRESHOLD",
    "TransferJob",
    "TransferOptions",
    "TransferResult",
    "transfer",
    "transfer_async",
]

P = ParamSpec("P")
T = TypeVar("T")

MiB = 1024 * 1024

DEFAULT_PART_SIZE = 8 * MiB
"""Bytes per ranged GET of a large object. 8 MiB parts reached 0.85-0.95 of a 100 MiB/s link
(60 ms RTT, 16 MiB/s per connection) where one stream per file reached 0.33; smaller parts
pay one RTT per part more often, larger ones leave fewer parts to spread (docs/transfer.md)."""

DEFAULT_SINGLE_GET_THRESHOLD = 8 * MiB
"""Objects up to this size come in one GET. Equal to the part size: the first request asks
for ``[0, 8 MiB)``, which is the whole object when it is small and the first part when not, so
no object ever costs a HEAD or an extra request."""

DEFAULT_SINGLE_PUT_THRESHOLD = 64 * MiB
"""Objects up to this size are written to a store target with one PUT (their parts fetched in
parallel into one buffer); larger ones as a multipart upload. A multipart upload costs 2
requests more than its parts (10 for 64 MiB in 8 MiB parts) and at most ``MAX_UPLOADS`` run at
once; one PUT is one request. 64 MiB held whole is less than one multipart copy may buffer
(16 parts of 8 MiB) and far below the services' single-PUT limits (S3 5 GiB, Azure 5000 MiB,
GCS none); a failed PUT resends at most 64 MiB (docs/transfer.md)."""

DEFAULT_MAX_PARTS_PER_OBJECT = 16
"""Parts of one object in flight at once. Behind 40 ms RTT, 25 MiB/s per connection and a
200 MiB/s link, 1 GiB took 6.6 s with 8 parts and 5.3 s (the link) with 16; peak RSS grows
~5 MiB per part in flight, 126 MiB in all for 16 (docs/transfer.md)."""

DEFAULT_MAX_ATTEMPTS = 5
"""Attempts per request (on top of obstore's own retries inside each attempt)."""

DEFAULT_MAX_RETRIES_PER_ASSET = 20
"""Engine-level retries of one asset, all its requests together. Each one follows a request
that failed even after obstore's own retries, so 20 in one asset mean the source is failing
persistently, not blipping: stop, keep the partial file, and let a re-run resume. Without it a
50 GiB asset (6,400 parts of 8 MiB) could spend ``max_attempts - 1`` = 4 retries on every
part: 25,600 retries and days of backoff before it fails."""

DEFAULT_RETRY_BACKOFF = 1.0
"""Seconds before the engine's first retry, doubled at each further attempt (with jitter, at
most :data:`RETRY_BACKOFF_MAX`). obstore already retried quickly (100 ms, 200 ms, ...) inside
the failed attempt, so what reaches the engine is a longer outage or a throttling storm."""

DEFAULT_CHUNK_SIZE = 1 * MiB
"""Bytes obstore gathers before handing a chunk to Python (``stream(min_chunk_size=...)``),
i.e. bytes per file write. Measured fastest of 256 KiB-2 MiB (~1000 Python calls and thread
hops per GiB); a part in flight holds ~5 chunks of memory (docs/transfer.md)."""

IO_THREADS = 16
"""Worker threads (one pool per process, shared by every call) for file writes, hashing and
fsync. Page-cache writes take microseconds but an ``fsync`` can take milliseconds: 16 keeps
hundreds of small files finishing in parallel."""

MANIFEST_FLUSH_ENTRIES = 256
"""Finished files recorded in memory before their manifest lines are written (or see the time
bound): one append per batch instead of one per file."""

MANIFEST_FLUSH_SECONDS = 1.0
"""Longest a finished file waits for its manifest line: a crash loses at most this much
record (the files stay; a later run proves them by checksum or downloads them again)."""


# -- public data types ----------------------------------------------------------------------


@dataclass(frozen=True)
class TransferJob:
    """One object to copy.

    Attributes:
        id: Unique within a call, e.g. ``"item-id/asset-key"``; names the job in events and
            results.
        source: Where the bytes come from (``obstac.open_asset(...)``).
        target: Where they go: a :class:`LocalTarget` or a :class:`StoreTarget`.
        expected_size: The asset's ``file:size``, checked against the object.
        expected_checksum: The asset's raw ``file:checksum``, checked against the bytes.
        overwrite: Transfer even when the target is proven identical.
    """

    id: str
    source: AssetReader
    target: LocalTarget | StoreTarget
    expected_size: int | None = None
    expected_checksum: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class TransferOptions:
    """How the engine splits, retries and verifies. Every default is measured or reasoned in
    docs/transfer.md.

    Attributes:
        part_size: Bytes per ranged GET of a large object.
        single_get_threshold: Objects up to this size come in one GET.
        single_put_threshold: Store targets: objects up to this size (or up to
            ``single_get_threshold``) are written with one PUT, larger ones as a multipart
            upload. The object is held whole in memory, within the scheduler's byte budget.
        max_parts_per_object: Parts of one object in flight at once.
        max_attempts: Attempts per request, on top of obstore's own retries.
        max_retries_per_asset: Engine-level retries of one asset, all its requests together
            (None: only ``max_attempts`` bounds them, per request).
        max_seconds_per_asset: Give up on an asset after this long, waits and retries
            included (None: no limit).
        on_error: ``"continue"``: run every job, failures become results with status
            ``"failed"``. ``"raise"``: the first failure cancels the other jobs, removes their
            temporary files, and is raised.
        chunk_size: Bytes obstore gathers before handing them to Python (one file write).
        retry_backoff: Seconds before the first engine-level retry (doubling, jittered).
        compute_checksum: Compute the sha2-256 of what is written (``TransferResult.checksum``,
            recorded as ``file:checksum``). Checksums the asset declares are verified anyway.
        fsync: ``fsync`` each finished file before renaming it (durable against power loss).
    """

    part_size: int = DEFAULT_PART_SIZE
    single_get_threshold: int = DEFAULT_SINGLE_GET_THRESHOLD
    single_put_threshold: int = DEFAULT_SINGLE_PUT_THRESHOLD
    max_parts_per_object: int = DEFAULT_MAX_PARTS_PER_OBJECT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_retries_per_asset: int | None = DEFAULT_MAX_RETRIES_PER_ASSET
    max_seconds_per_asset: float | None = None
    on_error: Literal["continue", "raise"] = "continue"
    chunk_size: int = DEFAULT_CHUNK_SIZE
    retry_backoff: float = DEFAULT_RETRY_BACKOFF
    compute_checksum: bool = True
    fsync: bool = True

    def __post_init__(self) -> None:
        positive = {
            "part_size": self.part_size,
            "single_get_threshold": self.single_get_threshold,
            "single_put_threshold": self.single_put_threshold,
            "max_parts_per_object": self.max_parts_per_object,
            "max_attempts": self.max_attempts,
            "chunk_size": self.chunk_size,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"TransferOptions({name}={value}): it must be at least 1")
        if self.max_retries_per_asset is not None and self.max_retries_per_asset < 0:
            raise ValueError(
                f"TransferOptions(max_retries_per_asset={self.max_retries_per_asset}): "
                "must be >= 0, or None for no limit"
            )
        if self.retry_backoff < 0:
            raise ValueError(f"TransferOptions(retry_backoff={self.retry_backoff}): must be >= 0")
        if self.max_seconds_per_asset is not None and self.max_seconds_per_asset <= 0:
            raise ValueError(
                f"TransferOptions(max_seconds_per_asset={self.max_seconds_per_asset}): "
                "must be positive, or None for no limit"
            )
        if self.on_error not in ("continue", "raise"):
            raise ValueError(
                f"TransferOptions(on_error={self.on_error!r}): use 'continue' or 'raise'"
            )


@dataclass(frozen=True)
class TransferResult:
    """The outcome of one job.

    Attributes:
        job_id: The job's id.
        href: The source href, credentials redacted.
        target: The destination: local path or store URL.
        status: ``downloaded``, ``resumed`` (continued a partial download), ``skipped``
            (target proven identical) or ``failed``.
        size: The object's size, when known.
        bytes_transferred: Bytes received over the network by this call (for ``resumed``,
            only the missing ones; 0 for ``skipped``).
        seconds: Wall time of the job.
        requests: GET and HEAD requests the engine sent (obstore's internal retries of one
            request are not counted).
        retries: Engine-level retries after a failed request.
        verified: The size was checked and, when the asset declares one, the checksum
            matched. False when the declared checksum could not be interpreted, or on failure.
        checksum: The sha2-256 multihash (hex) of the bytes now at the target.
        etag: The source object's ETag.
        error: Why the job failed (None unless ``status == "failed"``).
    """

    job_id: str
    href: str
    target: str
    status: Status
    size: int | None
    bytes_transferred: int
    seconds: float
    requests: int
    retries: int
    verified: bool
    checksum: str | None
    etag: str | None
    error: ObstacError | None = None

    @property
    def ok(self) -> bool:
        """Whether the target now holds the object (downloaded, resumed or skipped)."""
        return self.status != "failed"


# -- entry points ---------------------------------------------------------------------------


async def transfer_async(
    jobs: Iterable[TransferJob] | AsyncIterable[TransferJob],
    *,
    options: TransferOptions | None = None,
    scheduler: Scheduler | None = None,
    events: EventSink | None = None,
) -> list[TransferResult]:
    """Run transfer jobs concurrently; return one result per job, in the order of ``jobs``.

    Jobs are read lazily (an async iterable or generator can stream them), and only a bounded
    number run at once, so millions of jobs never sit in memory as tasks.

    Args:
        jobs: The jobs; ids must be unique and no two jobs may share a target.
        options: Part size, retries, verification... (defaults: :class:`TransferOptions`).
        scheduler: Request limits shared with other calls; default: a new
            :class:`Scheduler` with the measured defaults.
        events: Receives progress events (see :class:`TransferEvent`).

    Returns:
        The results. With ``on_error="continue"`` failed jobs are results with status
        ``"failed"`` and an ``error``.

    Raises:
        ObstacError: With ``on_error="raise"``, the first failure (the other jobs are
            cancelled and their temporary files removed).
    """
    run = Run(options or TransferOptions(), scheduler or Scheduler(), _Emitter(events))
    return await run.run(jobs)


async def _transfer_sharing_listings_async(
    jobs: Sequence[TransferJob],
    *,
    listings: FolderListings,
    options: TransferOptions,
    scheduler: Scheduler,
    events: EventSink | None,
) -> list[TransferResult]:
    """:func:`transfer_async` with destination listings shared with other calls (one per
    item of a ``download_items`` into a store share the listing of their parent folder)."""
    return await Run(options, scheduler, _Emitter(events), listings).run(jobs)


def transfer(
    jobs: Iterable[TransferJob] | AsyncIterable[TransferJob],
    *,
    options: TransferOptions | None = None,
    scheduler: Scheduler | None = None,
    events: EventSink | None = None,
) -> list[TransferResult]:
    """Blocking twin of :func:`transfer_async`; works inside a running event loop (Jupyter).

    The transfer runs on obstac's background event loop; ``events`` is called from that
    loop's thread. Ctrl-C cancels it: partial files keep their resume state, and nothing
    incomplete appears under a final name.
    """
    return run_sync(transfer_async(jobs, options=options, scheduler=scheduler, events=events))


# -- internals ------------------------------------------------------------------------------


class Run:
    """One call of :func:`transfer_async`: its jobs, threads, manifests and failure policy."""

    def __init__(
        self,
        options: TransferOptions,
        scheduler: Scheduler,
        emit: _Emitter,
        listings: FolderListings | None = None,
    ) -> None:
        self.options = options
        self.scheduler = scheduler
        self.emit = emit
        self.executor = _io_executor()
        self.outstanding: set[Future[Any]] = set()
        self.manifests: dict[Path, dict[str, ManifestEntry]] = {}
        self.manifest_locks: dict[Path, asyncio.Lock] = {}
        self.targets: dict[str, str] = {}
        self.ids: set[str] = set()
        self.abandoning = False
        self.tasks: set[asyncio.Task[None]] = set()
        self.folders: set[Path] = set()
        self.listings: dict[Path, frozenset[str]] = {}
        self.listing_locks: dict[Path, asyncio.Lock] = {}
        self.unrecorded: dict[Path, list[ManifestEntry]] = {}
        self.unrecorded_count = 0
        self.flush_timer: asyncio.TimerHandle | None = None
        self.store_folders = listings if listings is not None else FolderListings()

    async def run(
        self, jobs: Iterable[TransferJob] | AsyncIterable[TransferJob]
    ) -> list[TransferResult]:
        if not isinstance(jobs, Sequence):  # streamed: their folders are not known up front
            return await self.run_jobs(jobs)
        expected = list(_provable_store_targets(jobs))
        self.store_folders.expect(expected)
        try:
            return await self.run_jobs(jobs)
        finally:
            self.store_folders.forget(expected)

    async def run_jobs(
        self, jobs: Iterable[TransferJob] | AsyncIterable[TransferJob]
    ) -> list[TransferResult]:
        results: dict[int, TransferResult] = {}
        failure: list[ObstacError] = []
        admission = asyncio.Semaphore(max(self.scheduler.max_requests * 2, 16))
        count = 0
        try:
            async for job in _iterate(jobs):
                await admission.acquire()
                if failure:
                    admission.release()
                    break
                task = asyncio.create_task(
                    self.job_task(count, job, results, admission, failure),
                    name=f"obstac-transfer:{job.id}",
                )
                count += 1
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                if failure:
                    break
            while self.tasks:
                await asyncio.wait(set(self.tasks))
            await asyncio.wrap_future(self.flush_manifests())
            await self.drain()
        except BaseException:
            await self.cancel_all()
            self.flush_manifests()
            with contextlib.suppress(BaseException):
                await self.drain()
            raise
        if failure:
            raise failure[0]
        return [results[index] for index in range(count)]

    async def cancel_all(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        while self.tasks:
            with contextlib.suppress(BaseException):
                await asyncio.wait(set(self.tasks))

    async def job_task(
        self,
        index: int,
        job: TransferJob,
        results: dict[int, TransferResult],
        admission: asyncio.Semaphore,
        failure: list[ObstacError],
    ) -> None:
        try:
            result = await Job(self, job).run()
        except asyncio.CancelledError:
            if not self.abandoning:
                raise
            return
        finally:
            admission.release()
        results[index] = result
        if result.error is not None and self.options.on_error == "raise" and not failure:
            failure.append(result.error)
            self.abandoning = True
            current = asyncio.current_task()
            for task in list(self.tasks):
                if task is not current:
                    task.cancel()

    def submit(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future = self.executor.submit(function, *args, **kwargs)
        self.outstanding.add(future)
        future.add_done_callback(self.outstanding.discard)
        return future

    async def drain(self) -> None:
        """Wait for every file operation this call queued, clean-ups of cancelled jobs
        included: when the call returns or raises, no temporary file is still being removed."""
        while self.outstanding:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self.outstanding)])

    def record(self, directory: Path, entry: ManifestEntry) -> None:
        """Queue a finished file's manifest line (written in batches, see MANIFEST_FLUSH_*)."""
        entries = self.manifests.get(directory)
        if entries is not None:
            entries[entry.name] = entry
        self.unrecorded.setdefault(directory, []).append(entry)
        self.unrecorded_count += 1
        if self.unrecorded_count >= MANIFEST_FLUSH_ENTRIES:
            self.flush_manifests()
        elif self.flush_timer is None:
            loop = asyncio.get_running_loop()
            self.flush_timer = loop.call_later(MANIFEST_FLUSH_SECONDS, self.flush_manifests)

    def flush_manifests(self) -> Future[None]:
        """Write the queued manifest lines in a worker thread (runs even if nobody awaits)."""
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        batch, self.unrecorded, self.unrecorded_count = self.unrecorded, {}, 0
        return self.submit(_write_manifests, batch)

    async def names(self, directory: Path) -> frozenset[str]:
        """The names in ``directory`` when this call first looked (one scan per folder)."""
        lock = self.listing_locks.setdefault(directory, asyncio.Lock())
        async with lock:
            names = self.listings.get(directory)
            if names is None:
                names = await asyncio.wrap_future(self.submit(_local.list_names, directory))
                self.listings[directory] = names
            return names

    async def manifest(self, directory: Path) -> dict[str, ManifestEntry]:
        """The manifest of ``directory``, read once per call."""
        lock = self.manifest_locks.setdefault(directory, asyncio.Lock())
        async with lock:
            entries = self.manifests.get(directory)
            if entries is None:
                entries = await asyncio.wrap_future(self.submit(_local.load_manifest, directory))
                self.manifests[directory] = entries
            return entries


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _io_executor() -> ThreadPoolExecutor:
    """The process's pool of file-work threads, made on first use and shared by every call
    (many concurrent calls, e.g. one per item, must not each start their own threads)."""
    global _executor  # noqa: PLW0603 - one lazily made pool per process
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="obstac-io")
        return _executor


def _write_manifests(batch: Mapping[Path, list[ManifestEntry]]) -> None:
    for directory, entries in batch.items():
        with contextlib.suppress(OSError):  # without a record, a later run re-proves the file
            _local.append_manifest(directory, entries)


def _provable_store_targets(jobs: Sequence[TransferJob]) -> Iterator[StoreTarget]:
    """The store targets a job may skip (a store that keeps obstac's record, no overwrite)."""
    for job in jobs:
        target = job.target
        if (
            isinstance(target, StoreTarget)
            and not job.overwrite
            and supports_attributes(target.store)
        ):
            yield target


async def _iterate(
    jobs: Iterable[TransferJob] | AsyncIterable[TransferJob],
) -> AsyncIterator[TransferJob]:
    if isinstance(jobs, AsyncIterable):
        async for job in jobs:
            yield job
    else:
        for job in jobs:
            yield job
