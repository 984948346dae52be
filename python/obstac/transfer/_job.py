"""One transfer job while it runs: its requests, retries, verification and counters.

:class:`Job` is shared by both destinations (:mod:`~obstac.transfer._local` for files,
:mod:`~obstac.transfer._store_dest` for stores): it sends every GET and HEAD of the job through
the scheduler, checks each response against what it learned from the first one (size, ETag),
streams bodies to the destination's ``write``, retries what escapes obstore's own retries, and
verifies ``file:size`` and ``file:checksum``.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

import obstore

from obstac._redact import redact
from obstac.errors import (
    ObstacError,
    RemoteError,
    is_range_refusal,
    status_of,
    translate_store_error,
)
from obstac.transfer._checksums import (
    RECORDED_ALGORITHM,
    ExpectedChecksum,
    multihash,
    parse_checksum,
)
from obstac.transfer._errors import ChecksumMismatchError, SizeMismatchError, TransferError
from obstac.transfer._events import TransferEvent, _ByteReporter
from obstac.transfer._scheduler import THROTTLE_STATUSES

if TYPE_CHECKING:
    from obstore import GetOptions, GetResult, ObjectMeta
    from obstore.store import ObjectStore

    from obstac.reading import AssetReader
    from obstac.transfer._engine import Run, TransferJob, TransferResult

__all__ = ["Job", "Outcome", "Segment", "Status"]

P = ParamSpec("P")
T = TypeVar("T")

Status = Literal["downloaded", "resumed", "skipped", "failed"]

RETRY_BACKOFF_MAX = 30.0
"""Longest wait between two attempts of one request."""

BODY_CHECK_BYTES = 512
"""How many leading bytes a recipe's body check sees (enough to recognise an HTML page)."""

MAX_RESTARTS = 1
"""A job whose object changes under it restarts once; a second change fails it."""


class ObjectChangedError(Exception):
    """The object's ETag or size changed between two requests of one job."""


class TruncatedError(Exception):
    """A response ended before the bytes it announced (retryable)."""


class NotTheObjectError(Exception):
    """A successful response whose body is an HTML page, not the object (retryable)."""


HTML_TYPES = ("text/html", "application/xhtml+xml")
"""Media types of a web page: refused as a response unless the asset itself is a page."""


@dataclass(eq=False)
class Segment:
    """A byte range of the object and how much of it is written (from its start)."""

    start: int
    end: int
    written: int = 0
    chunks: list[bytes] = field(default_factory=list)
    ready: asyncio.Event | None = None

    @property
    def position(self) -> int:
        return self.start + self.written

    @property
    def done(self) -> bool:
        return self.position >= self.end


def split_range(start: int, end: int, part_size: int) -> list[Segment]:
    """``[start, end)`` as consecutive segments of ``part_size`` bytes (the last shorter)."""
    return [Segment(at, min(at + part_size, end)) for at in range(start, end, part_size)]


def done_ranges(segments: Iterable[Segment]) -> tuple[tuple[int, int], ...]:
    """The written bytes of ``segments`` as sorted, merged ``[start, end)`` ranges."""
    merged: list[list[int]] = []
    for segment in sorted(segments, key=lambda s: s.start):
        if not segment.written:
            continue
        start, end = segment.start, segment.position
        if merged and merged[-1][1] == start:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return tuple((start, end) for start, end in merged)


def host_of(reader: AssetReader) -> str:
    """The per-host limit's key: an HTTP origin, or a bucket/container's endpoint."""
    location = reader.location
    if location.origin:
        return location.origin.lower()
    account = f"{location.account}/" if location.account else ""
    return f"{location.kind.value}://{account}{location.bucket or ''}"


def strong_etag(etag: str | None) -> bool:
    """Whether ``etag`` is a strong validator (``If-Match`` compares strong ETags only)."""
    return bool(etag) and not str(etag).startswith("W/")


@dataclass
class Outcome:
    """How a job ended, before it becomes a :class:`~obstac.transfer.TransferResult`."""

    status: Status
    size: int | None
    verified: bool
    checksum: str | None
    etag: str | None


Write = Callable[[Segment, int, bytes], Awaitable[None]]
Settle = Callable[[Segment], Awaitable[None]]
First = Callable[[Segment], Awaitable[bool]]


class Job:
    """One job while it runs: its counters, what it learned about the object, its requests."""

    def __init__(self, call: Run, job: TransferJob) -> None:
        self.call = call
        self.options = call.options
        self.job = job
        self.reader = job.source
        self.href = self.reader.location.safe_href
        self.target = str(job.target)
        self.host = host_of(self.reader)
        self.requests = 0
        self.retries = 0
        self.received = 0
        self.size: int | None = None
        self.etag: str | None = None
        self.last_modified: Any = None
        self.expected: ExpectedChecksum | None = (
            parse_checksum(job.expected_checksum) if job.expected_checksum is not None else None
        )
        self.reporter = _ByteReporter(call.emit, job.id, self.href, self.target)
        self.reporter.total = job.expected_size
        self.deadline = (
            time.monotonic() + self.options.max_seconds_per_asset
            if self.options.max_seconds_per_asset is not None
            else None
        )
        self.pending: set[Future[Any]] = set()
        self.store: ObjectStore | None = None
        self.path = ""
        self.size_unknown_before = True
        self.page_expected = is_page(self.reader.media_type) or self.href.lower().split("?")[
            0
        ].endswith((".html", ".htm"))

    # -- plumbing ---------------------------------------------------------------------------

    def event(self, kind: Any, **fields: Any) -> None:
        if self.call.emit.active:
            self.call.emit(TransferEvent(kind, self.job.id, self.href, self.target, **fields))

    def submit_io(
        self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> asyncio.Future[T]:
        """Start blocking file work in a worker thread, tracked so that no descriptor is
        closed while a thread still uses it."""
        future = self.call.submit(function, *args, **kwargs)
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)
        return asyncio.wrap_future(future)

    async def io(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking file work in a worker thread (tracked, see :meth:`submit_io`)."""
        return await self.submit_io(function, *args, **kwargs)

    def after_pending(self, function: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run ``function`` in a worker thread once every tracked file operation is over, even
        if this job is being cancelled: closing a descriptor a thread still writes through
        could send those bytes into whatever file reuses the number."""
        waiting = set(self.pending)

        def later() -> None:
            wait_futures(waiting)
            function(*args, **kwargs)

        self.submit_io(later)

    async def settle(self) -> None:
        """Wait for every tracked file operation."""
        while self.pending:
            await asyncio.wait([asyncio.wrap_future(f) for f in list(self.pending)])

    def translate(self, error: BaseException) -> ObstacError:
        if isinstance(error, ObstacError):
            return error
        return translate_store_error(
            error,
            href=self.reader.href,
            recipe=self.reader.recipe,
            credential_hint=self.reader.credential_hint,
        )

    def fail(self, message: str, cls: type[TransferError] = TransferError) -> TransferError:
        return cls(message, href=self.reader.href, recipe=self.reader.recipe, target=self.target)

    def size_mismatch(self, expected: int, actual: int, what: str) -> SizeMismatchError:
        return SizeMismatchError(
            f"{self.href}: {what}; nothing was kept under {self.target}",
            expected=expected,
            actual=actual,
            href=self.reader.href,
            recipe=self.reader.recipe,
            target=self.target,
        )

    def check_body(self, prefix: bytes) -> None:
        """The recipe's check of the first bytes (e.g. an HTML login page instead of data)."""
        self.reader.check_body(bytes(prefix[:BODY_CHECK_BYTES]))

    def result(
        self, outcome: Outcome | None, started: float, error: ObstacError | None
    ) -> TransferResult:
        from obstac.transfer._engine import TransferResult

        return TransferResult(
            job_id=self.job.id,
            href=self.href,
            target=self.target,
            status=outcome.status if outcome else "failed",
            size=outcome.size if outcome else self.size,
            bytes_transferred=self.received,
            seconds=time.monotonic() - started,
            requests=self.requests,
            retries=self.retries,
            verified=outcome.verified if outcome else False,
            checksum=outcome.checksum if outcome else None,
            etag=outcome.etag if outcome else self.etag,
            error=error,
        )

    # -- the job ----------------------------------------------------------------------------

    async def run(self) -> TransferResult:
        started = time.monotonic()
        self.event("start", total=self.job.expected_size)
        outcome: Outcome | None = None
        error: ObstacError | None = None
        try:
            self.claim()
            await self.resolve()
            if self.deadline is None:
                outcome = await self.dispatch()
            else:
                timeout = asyncio.timeout_at(loop_time(self.deadline))
                try:
                    async with timeout:
                        outcome = await self.dispatch()
                except TimeoutError:
                    if not timeout.expired():
                        raise
                    raise self.fail(
                        f"gave up on {self.href} after {self.options.max_seconds_per_asset} s "
                        "(TransferOptions.max_seconds_per_asset); run again to resume it"
                    ) from None
        except ObstacError as caught:
            error = caught
        except asyncio.CancelledError:
            self.reporter.flush()
            raise
        except obstore.exceptions.BaseError as caught:  # a store error not translated on the way
            error = self.translate(caught)
        except OSError as caught:  # the destination: permissions, a full disk, a bad path
            error = self.fail(f"writing {self.target} failed: {caught}")
        except Exception as caught:  # a bug: say so rather than blame the network
            error = self.fail(
                f"transferring {self.href} to {self.target} failed unexpectedly "
                f"({type(caught).__name__}: {caught}); please report this"
            )
        self.reporter.flush()
        if error is not None or outcome is None:
            error = error or self.fail(f"{self.href}: the transfer ended without an outcome")
            self.event("fail", total=self.size, message=str(error))
            return self.result(None, started, error)
        kind = "skip" if outcome.status == "skipped" else "done"
        self.event(kind, bytes=outcome.size or 0, total=outcome.size)
        return self.result(outcome, started, None)

    def claim(self) -> None:
        """Refuse a duplicate id, or a target another job of this call writes."""
        call = self.call
        if self.job.id in call.ids:
            raise self.fail(f"two transfer jobs share the id {self.job.id!r}; ids must be unique")
        call.ids.add(self.job.id)
        target = self.job.target
        from obstac.transfer._store_dest import StoreTarget

        key = (
            f"{id(target.store)}:{target.path}"
            if isinstance(target, StoreTarget)
            else os.path.abspath(target.path)
        )
        other = call.targets.get(key)
        if other is not None:
            raise self.fail(
                f"jobs {other!r} and {self.job.id!r} would both write {self.target}; give "
                "each asset its own target"
            )
        call.targets[key] = self.job.id

    async def resolve(self) -> None:
        """Resolve the reader's route (a recipe may look before the first read) off the loop."""
        try:
            await self.reader.resolve_async()
            self.store = self.reader.store
            self.path = self.reader.path
        except (obstore.exceptions.BaseError, OSError) as error:
            raise self.translate(error) from None

    async def dispatch(self) -> Outcome:
        from obstac.transfer._local import FileTransfer, LocalTarget
        from obstac.transfer._store_dest import StoreTransfer

        target = self.job.target
        for restart in range(MAX_RESTARTS + 1):
            try:
                if isinstance(target, LocalTarget):
                    return await FileTransfer(self, target, fresh=restart > 0).run()
                return await StoreTransfer(self, target).run()
            except ObjectChangedError:
                self.size = self.etag = self.last_modified = None
                self.reporter.total = self.job.expected_size
        raise self.fail(
            f"{self.href} changed twice while it was being downloaded (its ETag or size "
            "differs between requests); try again when the object is no longer being written"
        )

    # -- requests ---------------------------------------------------------------------------

    def learn(self, meta: ObjectMeta) -> None:
        """Check a response's metadata against what the job knows; learn it the first time."""
        size, etag = meta["size"], meta.get("e_tag")
        if self.size is None:
            expected = self.job.expected_size
            if expected is not None and size != expected:
                raise self.size_mismatch(
                    expected,
                    size,
                    f"the object is {size} bytes but its file:size says {expected}. The asset "
                    "metadata or the object is wrong: check the item",
                )
            self.size, self.etag = size, etag
            self.last_modified = meta.get("last_modified")
            self.reporter.total = size
            return
        if size != self.size or (self.etag is not None and etag != self.etag):
            raise ObjectChangedError
        if self.etag is None and meta.get("last_modified") != self.last_modified:
            raise ObjectChangedError

    async def fetch(
        self,
        segment: Segment,
        write: Write,
        settle: Settle | None = None,
        *,
        first: First | None = None,
        plain: bool = False,
        chunk_size: int | None = None,
    ) -> memoryview | None:
        """Fetch ``segment`` through ``write``, retrying from where it stopped.

        ``first`` runs after the headers of the job's first response (size and ETag known);
        when it returns True the body is returned whole instead of streamed (small objects).
        ``plain`` asks for the whole object without a Range header. ``chunk_size`` overrides
        :attr:`TransferOptions.chunk_size` (bytes obstore gathers before each ``write``).
        """
        attempt = 0
        whole = False
        while True:
            attempt += 1
            try:
                async with self.call.scheduler.slot(self.host):
                    self.requests += 1
                    result = await self._get(segment, plain=plain and segment.written == 0)
                    if first is not None and self.size_unknown_before:
                        whole = await first(segment)
                    if whole:
                        return await self._read_whole(result, segment)
                    await self._stream(result, segment, write, settle, chunk_size)
                    return None
            except (ObjectChangedError, ObstacError):
                raise
            except obstore.exceptions.PreconditionError:
                raise ObjectChangedError from None
            except Exception as error:
                if self.size is None and not plain and is_range_refusal(error):
                    plain = True  # an empty object (416), or a server that ignores ranges
                    continue
                await self.backoff(error, attempt, range_refused=is_range_refusal(error))

    async def _get(self, segment: Segment, *, plain: bool) -> GetResult:
        assert self.store is not None
        options: GetOptions = {}
        if not plain:
            options["range"] = (segment.position, segment.end)
        if strong_etag(self.etag):
            options["if_match"] = self.etag
        result = await obstore.get_async(self.store, self.path, options=options)
        if not self.page_expected and is_page(result.attributes.get("Content-Type")):
            await self.refuse_page(result, segment)
        self.size_unknown_before = self.size is None
        self.learn(result.meta)
        assert self.size is not None
        if segment.start == 0 and (plain or segment.end > self.size):
            segment.end = self.size
        returned = tuple(result.range)
        if segment.end > segment.position and returned != (segment.position, segment.end):
            raise self.fail(
                f"{self.href}: asked for bytes [{segment.position}, {segment.end}) and the "
                f"server sent [{returned[0]}, {returned[1]}); it does not serve ranges reliably"
            )
        return result

    async def refuse_page(self, result: GetResult, segment: Segment) -> None:
        """Refuse an HTML page sent with 200 in place of the object (an error or login page
        from a proxy, a CDN or a portal): the recipe's body check may name the credential it
        wants; otherwise the request is retried and, if it persists, reported."""
        if segment.position == 0:
            async for chunk in result.stream(min_chunk_size=BODY_CHECK_BYTES):
                self.check_body(bytes(chunk))
                break
        content_type = result.attributes.get("Content-Type")
        raise NotTheObjectError(f"the server sent a web page (Content-Type {content_type})")

    async def _read_whole(self, result: GetResult, segment: Segment) -> memoryview:
        data = memoryview(await result.bytes_async())  # obstore's buffer, not copied
        self.received += len(data)
        self.reporter.add(len(data))
        if len(data) != segment.end:
            raise TruncatedError(f"the response ended at byte {len(data)} of {segment.end}")
        if data:
            self.check_body(bytes(data[:BODY_CHECK_BYTES]))
        return data

    async def _stream(
        self,
        result: GetResult,
        segment: Segment,
        write: Write,
        settle: Settle | None,
        chunk_size: int | None = None,
    ) -> None:
        cursor = segment.position
        try:
            async for chunk in result.stream(min_chunk_size=chunk_size or self.options.chunk_size):
                size = len(chunk)
                if not size:
                    continue
                if cursor == 0:
                    self.check_body(chunk)
                if cursor + size > segment.end:
                    raise self.fail(
                        f"{self.href}: the server sent more bytes than the range asked for"
                    )
                self.received += size
                self.reporter.add(size)
                await write(segment, cursor, chunk)
                cursor += size
        finally:
            if settle is not None:
                await settle(segment)
        if cursor < segment.end:
            raise TruncatedError(f"the response ended at byte {cursor} of {segment.end}")

    async def backoff(
        self, error: BaseException, attempt: int, *, range_refused: bool = False
    ) -> None:
        """Wait before retrying after ``error``, or raise it when retrying is pointless.

        ``range_refused``: a part's range was answered with the whole object (a proxy or
        server that honours ranges only sometimes), retried like a transient error.
        """
        status = status_of(error)
        retryable = (
            range_refused
            or isinstance(error, TruncatedError | NotTheObjectError)
            or (
                isinstance(error, obstore.exceptions.GenericError | TimeoutError | ConnectionError)
                and (status is None or status in (408, 429) or status >= 500)
            )
        )
        if not retryable or attempt >= self.options.max_attempts:
            raise self.give_up(error, attempt) from None
        budget = self.options.max_retries_per_asset
        if budget is not None and self.retries >= budget:
            raise self.give_up(error, attempt, budget_spent=True) from None
        delay = min(RETRY_BACKOFF_MAX, self.options.retry_backoff * (2 ** (attempt - 1)))
        delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not crypto
        if self.deadline is not None and time.monotonic() + delay > self.deadline:
            raise self.give_up(error, attempt) from None
        if status in THROTTLE_STATUSES:
            # obstore neither honours nor exposes Retry-After: back the whole host off for the
            # delay, so every job waits instead of each retrying into the storm (the scheduler
            # has also halved the host's concurrency).
            self.call.scheduler.pause(self.host, delay)
        self.retries += 1
        text = str(error).strip()
        message = redact(text.splitlines()[0] if text else type(error).__name__)
        self.event("retry", attempt=attempt, total=self.size, message=message)
        await asyncio.sleep(delay)

    def give_up(
        self, error: BaseException, attempt: int, *, budget_spent: bool = False
    ) -> ObstacError:
        recipe = self.reader.recipe
        if isinstance(error, NotTheObjectError):
            translated: ObstacError = RemoteError(
                f"{self.href} answered with a web page instead of the data, {attempt} times "
                f"in a row (recipe {recipe!r}): {error}. It is an error or login page of the "
                "server or a proxy: open the href in a browser to read it. If the asset is a "
                "web page, give it the type 'text/html'",
                href=self.reader.href,
                recipe=recipe,
            )
        elif isinstance(error, TruncatedError):
            translated = RemoteError(
                f"reading {self.href} failed after {attempt} attempts (recipe "
                f"{recipe!r}): {error}; run again to resume",
                href=self.reader.href,
                recipe=recipe,
            )
        else:
            translated = self.translate(error)
            if attempt > 1 and not budget_spent:
                translated.args = (f"{translated.args[0]} (gave up after {attempt} attempts)",)
        if budget_spent:
            translated.args = (
                f"{translated.args[0]} (gave up after {self.retries} retries of this asset: "
                "TransferOptions.max_retries_per_asset; run again to resume)",
            )
        return translated

    async def head(self) -> ObjectMeta:
        """One HEAD of the source (holding a scheduler slot), retried like a GET."""
        assert self.store is not None
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.call.scheduler.slot(self.host):
                    self.requests += 1
                    return await obstore.head_async(self.store, self.path)
            except (obstore.exceptions.BaseError, OSError) as error:
                await self.backoff(error, attempt)

    # -- verification -----------------------------------------------------------------------

    def algorithms(self) -> tuple[str, ...]:
        """The hashes to compute while writing: sha2-256 to record, and the declared one."""
        names: list[str] = []
        if self.options.compute_checksum:
            names.append(RECORDED_ALGORITHM)
        if self.expected is not None:
            names.extend(self.expected.candidates)
        return tuple(dict.fromkeys(names))

    def verify(self, digests: Mapping[str, bytes]) -> bool:
        """Raise when the declared checksum mismatches; return whether it was verified."""
        if self.expected is None:
            return True
        verdict = self.expected.check(digests)
        if verdict is False:
            actual = self.expected.actual(digests)
            raise ChecksumMismatchError(
                f"{self.href} does not match its file:checksum: expected "
                f"{self.expected.value}, got {actual}; nothing was kept under {self.target}. "
                "The object changed since the item was made, or it was corrupted on the way: "
                "try again, and report it to the catalog if it persists",
                expected=self.expected.value,
                actual=actual,
                href=self.reader.href,
                recipe=self.reader.recipe,
                target=self.target,
            )
        return verdict is True

    @staticmethod
    def recorded(digests: Mapping[str, bytes]) -> str | None:
        digest = digests.get(RECORDED_ALGORITHM)
        return multihash(RECORDED_ALGORITHM, digest) if digest is not None else None


def is_page(media_type: object) -> bool:
    """Whether a media type (``"text/html; charset=utf-8"``...) is a web page's."""
    return isinstance(media_type, str) and media_type.strip().lower().startswith(HTML_TYPES)


def loop_time(deadline: float) -> float:
    return asyncio.get_running_loop().time() + (deadline - time.monotonic())
