"""The local-file destination: a hidden temporary file, resume state, atomic rename, a manifest.

For a target ``dir/NAME`` the engine writes:

- ``dir/.NAME.obstac-partial``: the bytes, each part at its offset (the file is sized first,
  so parts land in any order). Never under the final name until it is complete and verified.
- ``dir/.NAME.obstac-partial.json``: the resume state of an object fetched in parts: its
  ETag, size and the byte ranges already on disk (saved after an ``fdatasync`` of the data,
  so the state never claims bytes the disk may not have).
- then ``fsync`` and ``rename`` to ``dir/NAME``: a crash or Ctrl-C at any moment leaves either
  no file under the final name or the complete, verified one.
- ``dir/.obstac-manifest.jsonl``: one line per finished file (size, mtime, source ETag,
  checksums). It is what proves, on the next run, that ``NAME`` is still the object it was
  downloaded from, without reading the file or the object again.

Every function here blocks; the engine calls them in its worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

from obstac.errors import ObstacError
from obstac.transfer._checksums import (
    RECORDED_ALGORITHM,
    Hashers,
    file_digests,
    multihash,
    parse_checksum,
)
from obstac.transfer._errors import ChecksumMismatchError, SizeMismatchError
from obstac.transfer._job import (
    Job,
    ObjectChangedError,
    Outcome,
    Segment,
    Status,
    done_ranges,
    split_range,
    strong_etag,
)

__all__ = ["MANIFEST_NAME", "LocalTarget"]

PARTIAL_SUFFIX = ".obstac-partial"
"""Suffix of the temporary file beside the final one (a leading dot hides it)."""

MANIFEST_NAME = ".obstac-manifest.jsonl"
"""The per-folder record of finished downloads (JSON Lines, appended to, compacted on load)."""

_STATE_VERSION = 1
_MANIFEST_VERSION = 1
_MAX_NAME_BYTES = 255
_COMPACT_SLACK = 64
"""A manifest is rewritten on load when it has this many more lines than twice its entries."""


@dataclass(frozen=True)
class LocalTarget:
    """Write the object to a local file.

    Attributes:
        path: The final file path; its folder is created if needed. A relative path is taken
            relative to the current directory when the transfer starts.
    """

    path: Path

    def __post_init__(self) -> None:
        if not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))

    def __str__(self) -> str:
        return str(self.path)


# -- temporary file and resume state --------------------------------------------------------


def partial_paths(final: Path) -> tuple[Path, Path]:
    """The temporary file and the resume-state file for ``final``."""
    name = f".{final.name}{PARTIAL_SUFFIX}"
    if len(os.fsencode(name + ".json")) > _MAX_NAME_BYTES:
        digest = hashlib.sha256(os.fsencode(final.name)).hexdigest()[:24]
        name = f".obstac-{digest}{PARTIAL_SUFFIX}"
    temp = final.with_name(name)
    return temp, temp.with_name(name + ".json")


@dataclass(frozen=True)
class PartialState:
    """What a partial download has on disk.

    Attributes:
        etag: The object's ETag when the download began.
        size: The object's size.
        done: Sorted, disjoint ``[start, end)`` byte ranges written and synced.
        href: The source href, redacted (to tell a user what the partial file is).
    """

    etag: str
    size: int
    done: tuple[tuple[int, int], ...]
    href: str = ""

    @property
    def done_bytes(self) -> int:
        """Bytes already on disk."""
        return sum(end - start for start, end in self.done)


def load_state(state_path: Path, temp: Path) -> PartialState | None:
    """The resume state, or None when absent, unreadable, or inconsistent with the temp file."""
    try:
        document = json.loads(state_path.read_text("utf-8"))
        if document.get("version") != _STATE_VERSION:
            return None
        state = PartialState(
            etag=str(document["etag"]),
            size=int(document["size"]),
            done=tuple((int(start), int(end)) for start, end in document["done"]),
            href=str(document.get("href", "")),
        )
        if temp.stat().st_size != state.size:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    previous = 0
    for start, end in state.done:
        if start < previous or end <= start or end > state.size:
            return None
        previous = end
    return state


@dataclass(frozen=True)
class Inspection:
    """What is on disk for one target before it is transferred (one worker-thread call).

    Attributes:
        final: The final file's ``stat``, or None when it does not exist.
        state: A usable resume state, or None (stale partial files were then deleted).
    """

    final: os.stat_result | None
    state: PartialState | None


def inspect(
    final: Path, temp: Path | None = None, state_path: Path | None = None, *, resume: bool = False
) -> Inspection:
    """Stat the final file and, when ``resume``, load the resume state.

    Partial files that cannot be resumed are left alone: a fresh download truncates the
    temporary file and replaces the state (see :func:`open_partial`).
    """
    try:
        found: os.stat_result | None = os.stat(final)
    except FileNotFoundError:
        found = None
    if not resume or temp is None or state_path is None:
        return Inspection(found, None)
    return Inspection(found, load_state(state_path, temp))


def list_names(directory: Path) -> frozenset[str]:
    """The names in ``directory`` (empty if it does not exist): one scan per folder and call,
    instead of one ``stat`` per file. A ``stat`` of a missing name waits on the folder's lock
    while other threads create files in it, which measurably stalled the event loop."""
    try:
        with os.scandir(directory) as entries:
            return frozenset(entry.name for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def save_state(fd: int, state_path: Path, state: PartialState) -> None:
    """Sync the data written so far, then record which ranges it covers."""
    os.fdatasync(fd)
    document = {
        "version": _STATE_VERSION,
        "etag": state.etag,
        "size": state.size,
        "done": [list(pair) for pair in state.done],
        "href": state.href,
    }
    staging = _staging(state_path)
    staging.write_text(json.dumps(document), "utf-8")
    os.replace(staging, state_path)


def _staging(state_path: Path) -> Path:
    """Where a new state is written before it replaces the old one (a kill between the two
    leaves it behind: every cleanup removes it too)."""
    return state_path.with_name(state_path.name + ".tmp")


def _remove_state(state_path: Path) -> None:
    for path in (state_path, _staging(state_path)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def open_partial(temp: Path, state_path: Path, size: int, *, fresh: bool) -> int:
    """Open (creating its folder) the temporary file sized to ``size``; return its descriptor.

    A fresh start first deletes any earlier resume state, so that no state can ever describe
    bytes of another download.
    """
    temp.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        _remove_state(state_path)
    flags = os.O_RDWR | os.O_CREAT | (os.O_TRUNC if fresh else 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        if os.fstat(fd).st_size != size:
            os.ftruncate(fd, size)
    except BaseException:
        os.close(fd)
        raise
    return fd


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` (``os.pwrite`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def finish(
    fd: int, temp: Path, final: Path, state_path: Path | None, *, sync: bool
) -> os.stat_result:
    """Make the temporary file durable, then give it its final name (atomic on POSIX).

    Returns the file's ``stat`` (taken before the rename, which changes neither size nor
    modification time).
    """
    try:
        if sync:
            os.fsync(fd)
        stat = os.fstat(fd)
    finally:
        os.close(fd)
    os.replace(temp, final)
    if state_path is not None:
        _remove_state(state_path)
    return stat


def discard(fd: int | None, temp: Path, state_path: Path | None) -> None:
    """Close and delete a temporary file and its state (a failed or abandoned download)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    if state_path is not None:
        _remove_state(state_path)


def close_quietly(fd: int | None) -> None:
    """Close ``fd`` if open, ignoring errors (the partial file stays for a later resume)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def write_whole(
    final: Path,
    temp: Path,
    data: bytes | memoryview,
    algorithms: tuple[str, ...],
    verify: Callable[[Mapping[str, bytes]], None],
    *,
    sync: bool,
    make_folder: bool,
    replace: bool,
) -> tuple[dict[str, bytes], os.stat_result]:
    """Write a small object in one go: hash, verify, write, fsync, publish under its name.

    One worker-thread call does all of it, so a small object costs one thread hop. On Linux
    the bytes go to an unnamed file (``O_TMPFILE``) that gets its final name with one
    ``linkat``: no temporary name to create and rename (measured ~1.5x cheaper per file), and
    nothing to clean up after a crash. Elsewhere, or when ``replace`` (a file is already
    there), it is the named temporary file and ``rename``.

    ``verify`` raises to refuse the bytes (nothing is written then). Returns the digests and
    the file's ``stat`` (for its manifest line).
    """
    hashers = Hashers(algorithms)
    hashers.update(data)
    digests = hashers.digests()
    verify(digests)
    if make_folder:
        final.parent.mkdir(parents=True, exist_ok=True)
    if not replace and _unnamed_files_work():
        stat = _publish_unnamed(final, data, sync=sync)
        if stat is not None:
            return digests, stat
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        pwrite_all(fd, data, 0)
        stat = os.fstat(fd)
    except BaseException:
        discard(fd, temp, None)
        raise
    finish(fd, temp, final, None, sync=sync)
    return digests, stat


class _UnnamedFiles:
    """Whether ``O_TMPFILE`` + ``linkat`` works here (learned on first use), and the root
    directory descriptor the ``linkat`` call needs."""

    def __init__(self) -> None:
        supported = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
        self.works: bool | None = None if supported else False
        self.root_fd: int | None = None


_UNNAMED = _UnnamedFiles()


def _unnamed_files_work() -> bool:
    return _UNNAMED.works is not False


def _publish_unnamed(final: Path, data: bytes | memoryview, *, sync: bool) -> os.stat_result | None:
    """Write ``data`` to an unnamed file in ``final``'s folder and link it as ``final``.

    Returns None (nothing written, nothing left behind) when the folder's file system does
    not support it, or when ``final`` appeared meanwhile; the caller then uses a temp file.
    """
    try:
        fd = os.open(final.parent, os.O_TMPFILE | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as error:
        if error.errno in _UNSUPPORTED:
            _UNNAMED.works = False
            return None
        raise
    try:
        pwrite_all(fd, data, 0)
        if sync:
            os.fsync(fd)
        stat = os.fstat(fd)
        if _UNNAMED.root_fd is None:
            _UNNAMED.root_fd = os.open("/", os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N names the unnamed file; a dir fd makes
        # CPython call linkat (plain link() would not follow the /proc symlink).
        os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=_UNNAMED.root_fd, follow_symlinks=True)
    except FileExistsError:
        return None
    except OSError as error:
        if error.errno in _UNSUPPORTED or error.errno in (errno.EXDEV, errno.ENOENT):
            _UNNAMED.works = False
            return None
        raise
    finally:
        os.close(fd)
    _UNNAMED.works = True
    return stat


_UNSUPPORTED = frozenset(
    {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EACCES}
)


# -- the manifest of finished files ---------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """One finished file, as recorded in its folder's manifest.

    Attributes:
        name: The file name in the folder.
        size: Its size when written.
        mtime_ns: Its modification time when written (a later change invalidates the entry).
        etag: The source object's ETag, if it had one.
        href: The source href, redacted.
        checksums: Multihashes (hex) of the file, by algorithm name.
    """

    name: str
    size: int
    mtime_ns: int
    etag: str | None
    href: str
    checksums: Mapping[str, str] = field(default_factory=dict)

    def describes(self, stat: os.stat_result) -> bool:
        """Whether the file on disk is still the one this entry recorded."""
        return self.size == stat.st_size and self.mtime_ns == stat.st_mtime_ns


def load_manifest(directory: Path) -> dict[str, ManifestEntry]:
    """The entries of ``directory``'s manifest (last line per name wins); empty if none."""
    path = directory / MANIFEST_NAME
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    entries: dict[str, ManifestEntry] = {}
    for line in lines:
        try:
            document = json.loads(line)
            if document.get("version") != _MANIFEST_VERSION:
                continue
            entry = ManifestEntry(
                name=str(document["name"]),
                size=int(document["size"]),
                mtime_ns=int(document["mtime_ns"]),
                etag=document.get("etag"),
                href=str(document.get("href", "")),
                checksums=dict(document.get("checksums") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # a torn or foreign line: ignore it
        entries[entry.name] = entry
    if len(lines) > 2 * len(entries) + _COMPACT_SLACK:
        with contextlib.suppress(OSError):
            _rewrite_manifest(path, entries.values())
    return entries


def _line(entry: ManifestEntry) -> str:
    document = {
        "version": _MANIFEST_VERSION,
        "name": entry.name,
        "size": entry.size,
        "mtime_ns": entry.mtime_ns,
        "etag": entry.etag,
        "href": entry.href,
        "checksums": dict(entry.checksums),
    }
    return json.dumps(document, separators=(",", ":")) + "\n"


def _rewrite_manifest(path: Path, entries: Iterable[ManifestEntry]) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text("".join(_line(entry) for entry in entries), "utf-8")
    os.replace(staging, path)


def append_manifest(directory: Path, entries: Iterable[ManifestEntry]) -> None:
    """Add lines to ``directory``'s manifest (one ``O_APPEND`` write: safe alongside other
    writers, in this process or another)."""
    data = "".join(_line(entry) for entry in entries).encode("utf-8")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(directory / MANIFEST_NAME, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


# -- the job of a local target --------------------------------------------------------------

STATE_SAVE_INTERVAL = 1.0
"""Seconds between two saves of a partial download's resume state (each one ``fdatasync``s the
data first): a crash loses at most about this much progress, and the data is written back
while the download runs instead of all at the final ``fsync``."""


class FileTransfer:
    """A job whose target is a local file."""

    def __init__(self, job: Job, target: LocalTarget, *, fresh: bool) -> None:
        self.job = job
        self.options = job.options
        self.final = Path(os.path.abspath(target.path))
        self.directory = self.final.parent
        self.temp, self.state_path = partial_paths(self.final)
        self.fresh = fresh
        self.fd: int | None = None
        self.segments: list[Segment] = []
        self.queue: deque[Segment] = deque()
        self.hasher: FrontierHasher | None = None
        self.saver: StateSaver | None = None
        self.resumable = False
        self.workers: set[asyncio.Task[None]] = set()
        self.failure: BaseException | None = None
        self.writes: dict[int, tuple[asyncio.Future[None], int]] = {}
        self.exists = False

    async def run(self) -> Outcome:
        job = self.job
        expected = job.job.expected_size
        resumable = expected is None or expected > self.options.single_get_threshold
        names = await job.call.names(self.directory)
        resume = resumable and not self.fresh and self.state_path.name in names
        if self.final.name in names or resume:
            found = await job.io(inspect, self.final, self.temp, self.state_path, resume=resume)
        else:
            found = Inspection(None, None)
        self.exists = found.final is not None
        if found.final is not None and not self.fresh and not job.job.overwrite:
            skipped = await self.prove_identical(found.final)
            if skipped is not None:
                return skipped
        state = found.state
        if state is not None and expected is not None and state.size != expected:
            state = None  # a partial of another version: start afresh (and check file:size)
        keep = False
        try:
            if state is not None and strong_etag(state.etag):
                return await self.resume(state)
            return await self.download()
        except (ObjectChangedError, ChecksumMismatchError, SizeMismatchError):
            raise
        except asyncio.CancelledError:
            keep = self.resumable and not job.call.abandoning
            raise
        except BaseException:
            keep = self.resumable and self.options.on_error != "raise"
            raise
        finally:
            if self.fd is not None or self.workers:
                await self.close(keep=keep)

    # -- skip -------------------------------------------------------------------------------

    async def prove_identical(self, stat: os.stat_result) -> Outcome | None:
        """A skipped outcome when the final file is proven to be the object, else None."""
        job = self.job
        if not S_ISREG(stat.st_mode):
            raise job.fail(
                f"{self.final} exists and is not a regular file; move it away or choose "
                "another destination"
            )
        expected_size = job.job.expected_size
        if expected_size is not None and stat.st_size != expected_size:
            return None
        entry = (await job.call.manifest(self.directory)).get(self.final.name)
        if entry is not None and not entry.describes(stat):
            entry = None
        etag = entry.etag if entry is not None else None
        expected = job.expected
        if expected is not None and expected.verifiable:
            digests = _digests_from_multihashes(entry.checksums if entry is not None else {})
            missing = tuple(name for name in expected.candidates if name not in digests)
            if missing:
                wanted = tuple(dict.fromkeys([*missing, RECORDED_ALGORITHM]))
                digests.update(await job.io(file_digests, self.final, wanted))
            verdict = expected.check(digests)
            if verdict is True:
                return Outcome("skipped", stat.st_size, True, job.recorded(digests), etag)
            if verdict is False:
                return None
        if entry is None or not etag:
            return None
        try:
            meta = await job.head()
        except ObstacError:
            return None  # the download will say what is wrong
        if meta["size"] != stat.st_size or meta.get("e_tag") != etag:
            return None
        job.size, job.etag = stat.st_size, etag
        checksum = entry.checksums.get(RECORDED_ALGORITHM)
        return Outcome("skipped", stat.st_size, True, checksum, etag)

    # -- download ---------------------------------------------------------------------------

    async def download(self) -> Outcome:
        job = self.job
        threshold = self.options.single_get_threshold
        expected = job.job.expected_size
        plain = expected is not None and expected <= threshold
        first = Segment(0, expected if plain and expected is not None else threshold)
        self.segments = [first]
        try:
            body = await job.fetch(
                first, self.write, self.settle_writes, first=self.first_headers, plain=plain
            )
        except BaseException as error:
            self.failure = self.failure or error
            raise
        if body is not None:
            return await self.finish_whole(body)
        await self.worker(None)
        await self.wait_workers()
        return await self.finish("downloaded")

    async def resume(self, state: PartialState) -> Outcome:
        job = self.job
        job.size, job.etag = state.size, state.etag
        job.reporter.total = state.size
        segments: list[Segment] = []
        at = 0
        for start, end in state.done:
            segments.extend(split_range(at, start, self.options.part_size))
            segments.append(Segment(start, end, written=end - start))
            at = end
        segments.extend(split_range(at, state.size, self.options.part_size))
        self.segments = segments
        missing = [segment for segment in segments if not segment.done]
        if not missing:
            meta = await job.head()
            if meta["size"] != state.size or meta.get("e_tag") != state.etag:
                raise ObjectChangedError
        await self.open(fresh=False)
        self.queue.extend(missing)
        self.spawn(len(missing))
        await self.wait_workers()
        return await self.finish("resumed")

    async def open(self, *, fresh: bool) -> None:
        job = self.job
        assert job.size is not None
        opening = job.call.submit(open_partial, self.temp, self.state_path, job.size, fresh=fresh)
        job.pending.add(opening)
        opening.add_done_callback(job.pending.discard)
        try:
            self.fd = await asyncio.wrap_future(opening)
        except OSError as error:
            raise job.fail(f"cannot write {self.temp}: {error}") from None
        except asyncio.CancelledError:
            # Cancelled while a thread opens the file: close (and for a fresh file, delete)
            # it once the thread is done, so no descriptor and no empty file is left.
            job.after_pending(_close_opened, opening, self.temp, self.state_path, fresh=fresh)
            raise
        job.call.folders.add(self.directory)
        self.hasher = FrontierHasher(job, self.fd, self.segments, job.algorithms())
        self.resumable = job.size > self.options.single_get_threshold and strong_etag(job.etag)
        if self.resumable:
            self.saver = StateSaver(job, self.fd, self.state_path, self.segments)

    async def first_headers(self, segment: Segment) -> bool:
        """After the first response's headers: take a small body whole, or plan the parts."""
        job = self.job
        assert job.size is not None
        if segment.end >= job.size and job.size <= self.options.chunk_size:
            return True
        self.segments.extend(split_range(segment.end, job.size, self.options.part_size))
        await self.open(fresh=True)
        self.queue.extend(self.segments[1:])
        self.spawn(len(self.queue), running=1)
        return False

    def spawn(self, wanted: int, running: int = 0) -> None:
        for _ in range(max(0, min(self.options.max_parts_per_object - running, wanted))):
            task = asyncio.create_task(self.worker_task())
            self.workers.add(task)
            task.add_done_callback(self.workers.discard)

    async def worker_task(self) -> None:
        try:
            await self.worker(None)
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            if self.failure is None:
                self.failure = error
                for task in list(self.workers):
                    if task is not asyncio.current_task():
                        task.cancel()

    async def worker(self, segment: Segment | None) -> None:
        """Fetch segments from the queue until it is empty (or a sibling failed)."""
        while self.failure is None:
            if segment is None:
                if not self.queue:
                    return
                segment = self.queue.popleft()
            await self.job.fetch(segment, self.write, self.settle_writes)
            segment = None

    async def wait_workers(self) -> None:
        while self.workers:
            await asyncio.wait(set(self.workers))
        if self.failure is not None:
            raise self.failure

    async def write(self, segment: Segment, offset: int, chunk: bytes) -> None:
        """Write one chunk at its offset in a worker thread; each segment keeps one write in
        flight, so receiving the next chunk overlaps writing this one."""
        await self.settle_writes(segment)
        assert self.fd is not None
        future = self.job.submit_io(pwrite_all, self.fd, chunk, offset)
        self.writes[id(segment)] = (future, len(chunk))

    async def settle_writes(self, segment: Segment) -> None:
        """Wait for the segment's write in flight and count its bytes as written."""
        pending = self.writes.pop(id(segment), None)
        if pending is None:
            return
        future, size = pending
        try:
            await future
        except OSError as error:
            raise self.job.fail(f"cannot write {self.temp}: {error}") from None
        segment.written += size
        if self.hasher is not None:
            self.hasher.poke()
        if self.saver is not None:
            self.saver.poke()

    # -- finish -----------------------------------------------------------------------------

    async def finish_whole(self, body: memoryview) -> Outcome:
        """A small object: hash, verify, write, fsync, rename and record in one thread hop."""
        job = self.job
        verified: list[bool] = []

        def verify(digests: Mapping[str, bytes]) -> None:
            verified.append(job.verify(digests))

        try:
            digests, stat = await job.io(
                write_whole,
                self.final,
                self.temp,
                body,
                job.algorithms(),
                verify,
                sync=self.options.fsync,
                make_folder=self.directory not in job.call.folders,
                replace=self.exists,
            )
        except OSError as error:
            raise job.fail(f"cannot write {self.final}: {error}") from None
        job.call.folders.add(self.directory)
        self.record(stat, digests)
        return Outcome("downloaded", job.size, verified[0], job.recorded(digests), job.etag)

    async def finish(self, status: Status) -> Outcome:
        job = self.job
        assert self.fd is not None
        assert self.hasher is not None
        assert job.size is not None
        written = sum(segment.written for segment in self.segments)
        if written != job.size:
            raise job.size_mismatch(job.size, written, f"{written} of {job.size} bytes arrived")
        digests = await self.hasher.finish()
        if self.saver is not None:
            await self.saver.stop()
        fd, self.fd = self.fd, None
        try:
            verified = job.verify(digests)
        except ChecksumMismatchError:
            self.resumable = False
            job.after_pending(discard, fd, self.temp, self.state_path)
            await job.settle()
            raise
        try:
            stat = await job.io(
                finish, fd, self.temp, self.final, self.state_path, sync=self.options.fsync
            )
        except OSError as error:
            raise job.fail(f"cannot finish {self.final}: {error}") from None
        self.record(stat, digests)
        return Outcome(status, job.size, verified, job.recorded(digests), job.etag)

    def record(self, stat: os.stat_result, digests: Mapping[str, bytes]) -> None:
        """Queue the finished file's manifest line: what proves it on the next run."""
        entry = ManifestEntry(
            name=self.final.name,
            size=stat.st_size,
            mtime_ns=stat.st_mtime_ns,
            etag=self.job.etag,
            href=self.job.href,
            checksums={name: multihash(name, digest) for name, digest in digests.items()},
        )
        self.job.call.record(self.directory, entry)

    async def close(self, *, keep: bool) -> None:
        """Stop the workers and release the file: keep it with its state for a resume, or
        delete it."""
        job = self.job
        for task in list(self.workers):
            task.cancel()
        while self.workers:
            with contextlib.suppress(BaseException):
                await asyncio.wait(set(self.workers))
        if self.hasher is not None:
            await self.hasher.stop()
        if self.saver is not None:
            await self.saver.stop()
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if keep and self.saver is not None:
            job.after_pending(_save_and_close, fd, self.state_path, self.saver.snapshot())
        else:
            job.after_pending(discard, fd, self.temp, self.state_path)
        with contextlib.suppress(BaseException):
            await job.settle()


def _close_opened(opening: Future[int], temp: Path, state_path: Path, *, fresh: bool) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    if fresh:
        discard(opening.result(), temp, state_path)
    else:
        close_quietly(opening.result())


def _save_and_close(fd: int, state_path: Path, state: PartialState) -> None:
    try:
        save_state(fd, state_path, state)
    except OSError:
        pass  # no state: the next run restarts this file from zero
    finally:
        close_quietly(fd)


def _digests_from_multihashes(known: Mapping[str, str]) -> dict[str, bytes]:
    digests: dict[str, bytes] = {}
    for name, value in known.items():
        parsed = parse_checksum(value)
        if parsed.exact and parsed.candidates[0] == name:
            digests[name] = parsed.digest
    return digests


class FrontierHasher:
    """Hashes the file in order as its contiguous written prefix grows, reading it back from
    the page cache in a worker thread: parts land out of order, hashes need order."""

    def __init__(
        self, job: Job, fd: int, segments: list[Segment], algorithms: tuple[str, ...]
    ) -> None:
        self.job = job
        self.fd = fd
        self.segments = segments
        self.hashers = Hashers(algorithms)
        self.position = 0
        self.index = 0
        self.task: asyncio.Task[None] | None = None
        self.stopped = False

    def frontier(self) -> int:
        segments = self.segments
        while self.index < len(segments) and segments[self.index].done:
            self.index += 1
        if self.index < len(segments):
            return segments[self.index].position
        return segments[-1].end if segments else 0

    def poke(self) -> None:
        if self.stopped or not self.hashers.algorithms:
            return
        if (self.task is None or self.task.done()) and self.frontier() > self.position:
            self.task = asyncio.create_task(self.catch_up())

    async def catch_up(self) -> None:
        while not self.stopped and (end := self.frontier()) > self.position:
            await self.job.io(self.hashers.update_from_file, self.fd, self.position, end)
            self.position = end

    async def finish(self) -> dict[str, bytes]:
        if self.task is not None:
            await self.task
        await self.catch_up()
        return self.hashers.digests()

    async def stop(self) -> None:
        self.stopped = True
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class StateSaver:
    """Saves a partial download's resume state, at most every STATE_SAVE_INTERVAL seconds."""

    def __init__(self, job: Job, fd: int, state_path: Path, segments: list[Segment]) -> None:
        self.job = job
        self.fd = fd
        self.state_path = state_path
        self.segments = segments
        self.dirty = False
        self.last = 0.0
        self.task: asyncio.Task[None] | None = None
        self.saving: asyncio.Future[None] | None = None
        self.stopped = False

    def snapshot(self) -> PartialState:
        job = self.job
        assert job.size is not None
        assert job.etag is not None
        return PartialState(job.etag, job.size, done_ranges(self.segments), job.href)

    def poke(self) -> None:
        self.dirty = True
        if not self.stopped and (self.task is None or self.task.done()):
            self.task = asyncio.create_task(self.loop())

    async def loop(self) -> None:
        while self.dirty and not self.stopped:
            wait = self.last + STATE_SAVE_INTERVAL - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.dirty = False
            self.saving = self.job.submit_io(save_state, self.fd, self.state_path, self.snapshot())
            with contextlib.suppress(OSError):
                await asyncio.shield(self.saving)  # a thread cannot be cancelled: see stop()
            self.last = time.monotonic()

    async def stop(self) -> None:
        """Stop saving; return only once no save is running in a worker thread.

        Cancelling the loop does not stop a save a thread has started: without the wait, that
        save could replace the state file after the caller finished the download and deleted
        it, leaving a stale ``.obstac-partial.json`` beside the finished file.
        """
        self.stopped = True
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        saving, self.saving = self.saving, None
        if saving is not None and not saving.done():
            with contextlib.suppress(BaseException):
                await saving
