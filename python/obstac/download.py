"""Download STAC items: their assets to a folder or into another store, and their JSON beside.

::

    import obstac
    items = obstac.download_items(search, "data/", roles=["data"])
    items.report.bytes_transferred
    obstac.download_items(items, "s3://bucket/mirror", dest_recipe=obstac.recipes.s3())

For each item, the selected assets (``include=``, ``exclude=``, ``roles=``) go to
``dest/<layout>/<file name>`` through the transfer engine (:mod:`obstac.transfer`: concurrent,
resumable, verified), then the item's JSON is written beside them as ``<layout>/<id>.json`` with

- each downloaded asset's ``href`` made relative to it (``./B04.tif``);
- the original href kept as ``alternate`` ``{"origin": {"href": ...}}``, its secrets (SAS
  token, presigned signature, userinfo) removed unless ``keep_signed_hrefs=True``;
- ``file:size`` and ``file:checksum`` (the item's own, else the multihash sha2-256 of what was
  written) recorded;
- its ``self`` link set to the new JSON, and every other link made absolute.

File names come from the href's path (never from its query), percent-decoded, cleaned of
separators, control characters and ``..``, bounded in length, and unique within the item: two
assets whose hrefs end in the same name are written as ``<asset key>-<name>``. A name the
engine keeps for itself (``.obstac-manifest.jsonl``, ``.<name>.obstac-partial``) gets its
leading dot replaced by ``_``.

An item whose ``self`` link is a URL (it came from a STAC API or a web catalog) may not point
an asset at a local file (``/etc/passwd``, ``file:///...``): that asset fails with
:class:`~obstac.UnsupportedHrefError` instead of copying a file of this machine into ``dest``.

Items are read lazily (a pystac-client search page by page) and at most a bounded number are in
flight at once, so a search of 50 000 items starts downloading after its first page and never
holds more than a page plus the items in flight. The returned collection holds every item.

``on_error="continue"`` (default) downloads everything it can, writes every item JSON (a failed
asset keeps its original href there), then raises one :class:`DownloadError` listing each
failure. ``on_error="raise"`` stops at the first failure: transfers in flight are cancelled and
the engine removes their temporary files; items finished before then keep their files and JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, Literal, TypedDict, Unpack
from urllib.parse import unquote, urlsplit, urlunsplit

import obstore
import pystac

from obstac._assets import asset_roles
from obstac._items import DownloadInputError, ItemsLike, iter_item_batches
from obstac._redact import _SENSITIVE_PARAM, _is_sas_host, _redact_registered, redact_url
from obstac.errors import ObstacError, UnsupportedHrefError, translate_store_error
from obstac.hrefs import StoreKind, parse_href, resolve_href
from obstac.reading import open_asset
from obstac.transfer import (
    EventSink,
    LocalTarget,
    Scheduler,
    StoreTarget,
    TransferError,
    TransferEvent,
    TransferJob,
    TransferOptions,
    TransferResult,
)
from obstac.transfer._checksums import file_digests, parse_checksum
from obstac.transfer._engine import _transfer_sharing_listings_async
from obstac.transfer._local import PARTIAL_SUFFIX, load_manifest, load_state, partial_paths
from obstac.transfer._portal import run_sync
from obstac.transfer._store_listing import FolderListings

if TYPE_CHECKING:
    from obstore import ObjectMeta
    from obstore.store import ObjectStore

    from obstac.recipes import Recipe
    from obstac.stores import StoreCache

__all__ = [
    "DEFAULT_LAYOUT",
    "AssetOutcome",
    "DownloadError",
    "DownloadInputError",
    "DownloadOptions",
    "DownloadReport",
    "DownloadedItem",
    "DownloadedItemCollection",
    "PlanAction",
    "PlannedAsset",
    "download_item",
    "download_item_async",
    "download_items",
    "download_items_async",
    "file_name",
    "plan_download",
    "safe_name",
    "unique_names",
    "unsigned_href",
]

DEFAULT_LAYOUT = "{collection}/{id}"
"""Where an item's files go under ``dest``: one folder per collection, one per item, as STAC
APIs address items (``/collections/{collection}/items/{id}``)."""

NO_COLLECTION = "no-collection"
"""What ``{collection}`` becomes for items that name no collection."""

MAX_NAME_BYTES = 200
"""Longest file or folder name written, in UTF-8 bytes. File systems allow 255; the rest is
left for the engine's temporary-file suffix. Longer names are cut and given a hash suffix so
they stay unique."""

MAX_ITEMS_IN_FLIGHT = 256
"""Upper bound on items being downloaded at once, whatever the scheduler allows (memory)."""

MAX_LISTED_FAILURES = 100
"""Failures spelled out in a :class:`DownloadError` message; ``.report`` holds all of them."""

FILE_EXTENSION = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
ALTERNATE_EXTENSION = "https://stac-extensions.github.io/alternate-assets/v1.2.0/schema.json"

OnError = Literal["continue", "raise"]
Status = Literal["downloaded", "resumed", "skipped", "failed"]
PlanAction = Literal["download", "skip", "skip?", "resume", "error"]
"""What :func:`plan_download` says a download would do with an asset's file."""
_DONE_STATUSES = frozenset({"downloaded", "resumed", "skipped"})


class DownloadOptions(TypedDict, total=False):
    """The options of :func:`download_item` and :func:`download_items` (all keyword-only)."""

    include: Collection[str] | str | None
    """Download only these asset keys (default: every asset)."""
    exclude: Collection[str] | str | None
    """Do not download these asset keys."""
    roles: Collection[str] | str | None
    """Download only assets having at least one of these roles, e.g. ``["data"]``."""
    layout: str
    """Folder of each item under ``dest``; default ``"{collection}/{id}"``. Fields: ``{id}``,
    ``{collection}``, ``{year}``, ``{month}``, ``{day}``, ``{date}`` (from ``datetime`` or
    ``start_datetime``) and any item property (``{platform}``, ``{sat:relative_orbit}``).
    ``""`` puts the files directly in ``dest``. Must stay inside ``dest``: no ``..``, no
    absolute path."""
    recipe: Recipe | None
    """The recipe to read every asset with (default: chosen per asset)."""
    recipes: Sequence[Recipe]
    """Recipes tried in order for each asset before the automatic choice."""
    dest_recipe: Recipe | None
    """The recipe whose store writes to a store URL ``dest`` (endpoint and credentials of the
    destination), e.g. ``obstac.recipes.s3(endpoint=...)``. Default: chosen from ``dest``."""
    dest_store: ObjectStore | None
    """An obstore store to write into. ``dest`` is then the path inside it, or a URL whose path
    is (the URL also becomes the written items' ``self`` links)."""
    overwrite: bool
    """Download even files proven identical to the remote ones (default False)."""
    concurrency: int | None
    """Requests in flight at once, for a scheduler made for this call (engine default when
    None). Ignored when ``scheduler`` is given."""
    scheduler: Scheduler | None
    """A scheduler shared with other calls, so their requests share one limit."""
    options: TransferOptions | None
    """Part size, attempts, time budget... of the engine (its ``on_error`` is replaced)."""
    on_error: OnError
    """``"continue"`` (default): download all that can be, then raise one DownloadError.
    ``"raise"``: stop at the first failure."""
    progress: EventSink | None
    """Called with every transfer event (start, bytes, retry, skip, done, fail)."""
    cache: StoreCache | None
    """Where stores are kept and reused (default: the process-wide cache)."""
    keep_signed_hrefs: bool
    """Keep SAS tokens and presigned signatures in the hrefs written to the item JSON (default
    False: they are removed, since a saved file must not carry a credential)."""


_OPTION_NAMES = frozenset(DownloadOptions.__annotations__)
_log = logging.getLogger("obstac.download")


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetOutcome:
    """What happened to one asset of one item.

    Attributes:
        item_id: The item's id.
        collection_id: The item's collection, if it names one.
        asset_key: The asset's key in the item.
        result: The engine's result: status, bytes, seconds, requests, retries, verification,
            the (redacted) href and the target written.
    """

    item_id: str
    collection_id: str | None
    asset_key: str
    result: TransferResult

    @property
    def status(self) -> Status:
        """``"downloaded"``, ``"resumed"``, ``"skipped"`` or ``"failed"``."""
        return self.result.status

    @property
    def error(self) -> ObstacError | None:
        """Why the asset failed, when it did."""
        return self.result.error

    def describe(self) -> str:
        """One line for messages: ``item/asset href: ErrorClass: reason``."""
        error = self.result.error
        reason = f"{type(error).__name__}: {error}" if error is not None else self.status
        return f"{self.item_id}/{self.asset_key} {redact_url(self.result.href)}: {reason}"


@dataclass(frozen=True)
class DownloadReport:
    """Each asset's outcome, and the totals of a download call.

    Attributes:
        assets: One outcome per selected asset, in the order the items came.
        seconds: Wall-clock time of the call (or of the item, for an item's own report).
    """

    assets: tuple[AssetOutcome, ...] = ()
    seconds: float = 0.0

    @property
    def results(self) -> tuple[TransferResult, ...]:
        """The engine's results, one per asset."""
        return tuple(outcome.result for outcome in self.assets)

    @property
    def failures(self) -> tuple[AssetOutcome, ...]:
        """The assets that failed."""
        return tuple(outcome for outcome in self.assets if outcome.status == "failed")

    @property
    def ok(self) -> bool:
        """True when no asset failed."""
        return not self.failures

    @property
    def bytes_transferred(self) -> int:
        """Bytes received from the origins (a resumed asset counts only what it fetched)."""
        return sum(outcome.result.bytes_transferred for outcome in self.assets)

    @property
    def requests(self) -> int:
        """Requests sent, retries included."""
        return sum(outcome.result.requests for outcome in self.assets)

    @property
    def retries(self) -> int:
        """Requests that were retries."""
        return sum(outcome.result.retries for outcome in self.assets)

    def count(self, status: Status) -> int:
        """How many assets ended with ``status``."""
        return sum(1 for outcome in self.assets if outcome.status == status)

    @property
    def verified(self) -> int:
        """How many assets were checked against their size (and checksum when given)."""
        return sum(1 for outcome in self.assets if outcome.result.verified)

    def summary(self) -> str:
        """One line: counts by status, bytes, requests, retries and seconds."""
        counts = ", ".join(
            f"{self.count(status)} {status}"
            for status in ("downloaded", "resumed", "skipped", "failed")
        )
        return (
            f"{len(self.assets)} assets: {counts}; {self.bytes_transferred} bytes in "
            f"{self.requests} requests ({self.retries} retries), {self.seconds:.2f} s"
        )


class DownloadedItem(pystac.Item):
    """A ``pystac.Item`` as written by a download, with :attr:`report` for its assets.

    Its ``self`` href is the written JSON, so its relative asset hrefs resolve to the
    downloaded files: ``obstac.open_asset(item.assets["B04"])`` reads the local copy.
    """

    report: DownloadReport

    @classmethod
    def _written(cls, document: dict[str, Any], report: DownloadReport) -> DownloadedItem:
        item = cls.from_dict(document, migrate=False, preserve_dict=False)
        item.report = report
        return item


class DownloadedItemCollection(pystac.ItemCollection):
    """A ``pystac.ItemCollection`` of :class:`DownloadedItem`, with the call's :attr:`report`."""

    items: list[DownloadedItem]  # type: ignore[assignment]

    def __init__(
        self,
        items: Sequence[DownloadedItem],
        report: DownloadReport,
        extra_fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(items, extra_fields=extra_fields, clone_items=False)
        self.report = report


class DownloadError(ObstacError):
    """Some assets could not be downloaded; the message lists each with its reason.

    Attributes:
        report: Every asset's outcome (``report.failures`` for the failed ones).
        items: The items whose JSON was written, as returned on success. With
            ``on_error="continue"`` that is every item (a failed asset keeps its original
            href); with ``"raise"``, the items finished before the stop.
    """

    def __init__(
        self,
        message: str,
        *,
        report: DownloadReport,
        items: DownloadedItemCollection,
    ) -> None:
        super().__init__(message)
        self.report = report
        self.items = items

    @property
    def failures(self) -> tuple[AssetOutcome, ...]:
        """The failed assets."""
        return self.report.failures


# -- public functions ------------------------------------------------------------------------


def download_item(
    item: pystac.Item | Mapping[str, Any] | str | os.PathLike[str],
    dest: str | os.PathLike[str],
    **options: Unpack[DownloadOptions],
) -> DownloadedItem:
    """Download one item's assets to ``dest`` and write its JSON beside them.

    Works from plain scripts and inside a running event loop (Jupyter) alike.

    Args:
        item: A ``pystac.Item``, a STAC Item dict, or the path of an Item JSON file.
        dest: A local folder, or a store URL to mirror into (``s3://bucket/prefix``,
            ``az://container/prefix``, ``gs://...``, ``file://...``).
        **options: See :class:`DownloadOptions`.

    Returns:
        The item as written, relative hrefs and all, with its :attr:`~DownloadedItem.report`.

    Raises:
        DownloadError: An asset failed (its ``.items`` holds the item as written).
        DownloadInputError: ``item`` is not one STAC Item, or an option is unusable.
    """
    return run_sync(download_item_async(item, dest, **options))


async def download_item_async(
    item: pystac.Item | Mapping[str, Any] | str | os.PathLike[str],
    dest: str | os.PathLike[str],
    **options: Unpack[DownloadOptions],
) -> DownloadedItem:
    """Async twin of :func:`download_item`."""
    if isinstance(item, pystac.ItemCollection) or (
        isinstance(item, Mapping) and item.get("type") == "FeatureCollection"
    ):
        raise DownloadInputError(
            "download_item() takes one item; for an ItemCollection use download_items()"
        )
    collection = await download_items_async(item, dest, **options)
    if len(collection.items) != 1:
        raise DownloadInputError(
            f"download_item() takes one item, and got {len(collection.items)}; "
            "use download_items() for several"
        )
    return collection.items[0]


def download_items(
    items: ItemsLike,
    dest: str | os.PathLike[str],
    **options: Unpack[DownloadOptions],
) -> DownloadedItemCollection:
    """Download the assets of many items to ``dest``, each item's JSON beside its assets.

    Works from plain scripts and inside a running event loop (Jupyter) alike.

    Args:
        items: A ``pystac.ItemCollection``, an iterable of Items or STAC dicts, a pystac-client
            ``ItemSearch`` (read page by page), or the path of a JSON/NDJSON file.
        dest: A local folder, or a store URL to mirror into (``s3://bucket/prefix``,
            ``az://container/prefix``, ``gs://...``, ``file://...``).
        **options: See :class:`DownloadOptions`.

    Returns:
        The items as written, in input order, with the call's :attr:`report`.

    Raises:
        DownloadError: Some assets failed; it lists each and carries ``.report`` and
            ``.items``.
        DownloadInputError: An input is not a STAC Item, or an option is unusable.
    """
    return run_sync(download_items_async(items, dest, **options))


async def download_items_async(
    items: ItemsLike,
    dest: str | os.PathLike[str],
    **options: Unpack[DownloadOptions],
) -> DownloadedItemCollection:
    """Async twin of :func:`download_items`."""
    run = _Download.create(dest, options)
    started = time.perf_counter()
    entries: list[_ItemResult] = []
    try:
        async for entry in run.stream(items):
            entries.append(entry)
    except _Stopped as stop:
        entries.extend(stop.entries)
        raise run.error(entries, time.perf_counter() - started, stopped=True) from stop.cause
    entries.sort(key=lambda entry: entry.index)
    report = DownloadReport(
        tuple(outcome for entry in entries for outcome in entry.outcomes),
        time.perf_counter() - started,
    )
    if not report.ok:
        raise run.error(entries, report.seconds, stopped=False)
    return DownloadedItemCollection([e.item for e in entries if e.item is not None], report)


# -- the run ---------------------------------------------------------------------------------


@dataclass
class _ItemResult:
    """One item done: the item as written (None when its JSON was not written) and the
    outcome of each selected asset."""

    index: int
    item: DownloadedItem | None
    outcomes: list[AssetOutcome]
    cause: BaseException | None = None

    @property
    def failed(self) -> bool:
        return any(outcome.status == "failed" for outcome in self.outcomes)


class _Stopped(Exception):  # noqa: N818 - internal control flow, never escapes this module
    """``on_error="raise"`` met a failure: carries the failing item and those that finished
    while the others were being cancelled."""

    def __init__(self, entries: list[_ItemResult], cause: BaseException | None) -> None:
        super().__init__("stopped at the first failure")
        self.entries = entries
        self.cause = cause


@dataclass(frozen=True)
class _Planned:
    key: str
    asset: pystac.Asset
    href: str  # absolute when it could be resolved; may carry a credential
    name: str
    refused: ObstacError | None = None  # why the asset must not be read at all


@dataclass(frozen=True)
class _Filters:
    include: frozenset[str] | None
    exclude: frozenset[str]
    roles: frozenset[str] | None

    @classmethod
    def of(cls, options: DownloadOptions) -> _Filters:
        return cls(
            include=_key_set(options.get("include"), "include"),
            exclude=_key_set(options.get("exclude"), "exclude") or frozenset(),
            roles=_key_set(options.get("roles"), "roles"),
        )

    def selects(self, key: str, asset: pystac.Asset) -> bool:
        if self.include is not None and key not in self.include:
            return False
        if key in self.exclude:
            return False
        if self.roles is not None:
            return not self.roles.isdisjoint(asset_roles(asset))
        return True


@dataclass
class _Download:
    """One call's settings and shared state."""

    destination: _LocalDestination | _StoreDestination
    layout: _Layout
    filters: _Filters
    recipe: Recipe | None
    recipes: Sequence[Recipe]
    cache: StoreCache | None
    overwrite: bool
    scheduler: Scheduler
    options: TransferOptions
    on_error: OnError
    progress: EventSink | None
    keep_signed_hrefs: bool
    _folders: set[str] = field(default_factory=set)
    _fail_events: dict[str, TransferEvent] = field(default_factory=dict)
    # A store destination's folders, listed once for every item (their parent folder, then
    # each item's own folder when the parent holds too many objects): no HEAD per absent object.
    _listings: FolderListings = field(default_factory=lambda: FolderListings(parents=True))

    @classmethod
    def create(cls, dest: str | os.PathLike[str], options: DownloadOptions) -> _Download:
        _check_option_names(options)
        on_error = options.get("on_error", "continue")
        if on_error not in ("continue", "raise"):
            raise DownloadInputError(f"on_error must be 'continue' or 'raise', not {on_error!r}")
        scheduler = options.get("scheduler")
        if scheduler is None:
            concurrency = options.get("concurrency")
            if concurrency is not None and concurrency < 1:
                raise DownloadInputError(f"concurrency must be at least 1, not {concurrency}")
            scheduler = Scheduler() if concurrency is None else Scheduler(max_requests=concurrency)
        engine_options = replace(options.get("options") or TransferOptions(), on_error=on_error)
        cache = options.get("cache")
        destination = _destination(
            dest,
            dest_recipe=options.get("dest_recipe"),
            dest_store=options.get("dest_store"),
            cache=cache,
        )
        if isinstance(destination, _LocalDestination):
            destination = replace(destination, fsync=engine_options.fsync)
        return cls(
            destination=destination,
            layout=_Layout.parse(options.get("layout", DEFAULT_LAYOUT)),
            filters=_Filters.of(options),
            recipe=options.get("recipe"),
            recipes=tuple(options.get("recipes", ())),
            cache=cache,
            overwrite=bool(options.get("overwrite", False)),
            scheduler=scheduler,
            options=engine_options,
            on_error=on_error,
            progress=options.get("progress"),
            keep_signed_hrefs=bool(options.get("keep_signed_hrefs", False)),
        )

    @property
    def items_in_flight(self) -> int:
        """Items downloaded at once: enough to keep every request slot of the scheduler busy
        with one-asset items, bounded so the look-ahead stays small."""
        return max(1, min(self.scheduler.max_requests, MAX_ITEMS_IN_FLIGHT))

    async def stream(self, items: ItemsLike) -> AsyncIterator[_ItemResult]:
        """Download items as they are read; yield each one once it is done.

        At most :attr:`items_in_flight` items are being downloaded at once, and the input is
        read one batch (a search page) at a time, only when a slot is free.

        Raises:
            _Stopped: ``on_error="raise"`` and an asset failed (everything else is cancelled).
        """
        window = self.items_in_flight
        slots = asyncio.Semaphore(window)
        queue: asyncio.Queue[_ItemResult | BaseException | None] = asyncio.Queue()
        tasks: set[asyncio.Task[_ItemResult]] = set()
        feeder = asyncio.create_task(self._feed(items, slots, window, queue, tasks))
        stopped: _Stopped | None = None
        try:
            while (entry := await queue.get()) is not None:
                if isinstance(entry, BaseException):
                    raise entry
                if entry.failed and self.on_error == "raise":
                    stopped = _Stopped([entry], entry.cause)
                    break
                yield entry
        finally:
            pending = [feeder, *tasks]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if stopped is not None:
            # Items that finished while the others were being cancelled are written: keep them.
            while not queue.empty():
                late = queue.get_nowait()
                if isinstance(late, _ItemResult) and not late.failed:
                    stopped.entries.append(late)
            raise stopped

    async def _feed(
        self,
        items: ItemsLike,
        slots: asyncio.Semaphore,
        window: int,
        queue: asyncio.Queue[_ItemResult | BaseException | None],
        tasks: set[asyncio.Task[_ItemResult]],
    ) -> None:
        """Start one task per item while a slot is free; queue each result, then None."""

        def finished(task: asyncio.Task[_ItemResult]) -> None:
            tasks.discard(task)
            if not task.cancelled():
                error = task.exception()
                queue.put_nowait(error if error is not None else task.result())
            slots.release()

        batches = iter_item_batches(items, batch_size=window)
        index = 0
        failure: BaseException | None = None
        try:
            # Each batch (a search page) is read in a worker thread: reading may block.
            while (batch := await asyncio.to_thread(next, batches, None)) is not None:
                for item in batch:
                    await slots.acquire()
                    task = asyncio.create_task(self._download(index, item))
                    tasks.add(task)
                    task.add_done_callback(finished)
                    index += 1
                del batch
        except (ObstacError, TypeError) as error:
            failure = error
        except Exception as error:  # e.g. the STAC API of a search failed mid-way
            failure = DownloadInputError(
                f"reading the items failed after {index} of them "
                f"({type(error).__name__}: {error}); those were downloaded, and running again "
                "skips them"
            )
            failure.__cause__ = error
        for _ in range(window):  # every slot back: the last item started is done
            await slots.acquire()
        queue.put_nowait(failure)

    def error(self, entries: list[_ItemResult], seconds: float, *, stopped: bool) -> DownloadError:
        """The one error of a call with failures, listing each failure."""
        entries = sorted(entries, key=lambda entry: entry.index)
        report = DownloadReport(
            tuple(outcome for entry in entries for outcome in entry.outcomes), seconds
        )
        written = [entry.item for entry in entries if entry.item is not None]
        failures = report.failures
        lines = [outcome.describe() for outcome in failures[:MAX_LISTED_FAILURES]]
        if len(failures) > MAX_LISTED_FAILURES:
            lines.append(f"... and {len(failures) - MAX_LISTED_FAILURES} more (see .report)")
        where = self.destination.describe()
        if stopped:
            head = (
                "download stopped at the first failure (on_error='raise'); "
                f"{len(written)} item(s) finished before it have their files and JSON under "
                f"{where}:"
            )
        else:
            done = len(report.assets) - len(failures)
            head = (
                f"{len(failures)} of {len(report.assets)} assets failed; the other {done} are "
                f"under {where} and {len(written)} item JSON file(s) were written (a failed "
                "asset keeps its original href). Run again to fetch only what is missing:"
            )
        message = "\n".join([head, *(f"  - {line}" for line in lines)])
        return DownloadError(
            message, report=report, items=DownloadedItemCollection(written, report)
        )

    # -- one item ----------------------------------------------------------------------------

    async def _download(self, index: int, item: pystac.Item) -> _ItemResult:
        """Transfer one item's selected assets, then write its JSON beside them."""
        started = time.perf_counter()
        planned = self._plan(item)
        outcomes: dict[str, AssetOutcome] = {}
        try:
            folder = self.layout.render(item)
            self._claim(folder, item)
        except DownloadInputError as error:
            for plan in planned:
                outcomes[plan.key] = self._failed(item, plan, item.id, error, target="")
            return _ItemResult(index, None, list(outcomes.values()))
        jobs: dict[str, tuple[_Planned, TransferJob]] = {}
        for plan in planned:
            target = self.destination.target(_join(folder, plan.name))
            job_id = f"{folder or item.id}/{plan.key}"
            if plan.refused is not None:
                outcomes[plan.key] = self._failed(item, plan, job_id, plan.refused, _shown(target))
                continue
            try:
                reader = open_asset(
                    plan.asset, recipe=self.recipe, recipes=self.recipes, cache=self.cache
                )
            except ObstacError as error:
                outcomes[plan.key] = self._failed(item, plan, job_id, error, _shown(target))
                continue
            job = TransferJob(
                id=job_id,
                source=reader,
                target=target,
                expected_size=_int_field(plan.asset, "file:size"),
                expected_checksum=_str_field(plan.asset, "file:checksum"),
                overwrite=self.overwrite,
            )
            jobs[job_id] = (plan, job)
        if outcomes and self.on_error == "raise":
            return _ItemResult(index, None, list(outcomes.values()))
        if jobs:
            await self.destination.prepare(folder)
            try:
                results = await _transfer_sharing_listings_async(
                    [job for _, job in jobs.values()],
                    listings=self._listings,
                    options=self.options,
                    scheduler=self.scheduler,
                    events=self._sink,
                )
            except ObstacError as error:
                if self.on_error != "raise":
                    raise
                plan, job = self._failing(jobs, error)
                outcomes[plan.key] = self._failed(item, plan, job.id, error, _shown(job.target))
                return _ItemResult(index, None, list(outcomes.values()), error)
            for result in results:
                plan, _ = jobs[result.job_id]
                outcomes[plan.key] = AssetOutcome(item.id, item.collection_id, plan.key, result)
        ordered = [outcomes[plan.key] for plan in planned if plan.key in outcomes]
        if self.on_error == "raise" and any(o.status == "failed" for o in ordered):
            return _ItemResult(index, None, ordered)
        report = DownloadReport(tuple(ordered), time.perf_counter() - started)
        document = self._rewritten(item, folder, planned, outcomes)
        await self.destination.write(_join(folder, _json_name(item)), _dumps(document))
        return _ItemResult(index, DownloadedItem._written(document, report), ordered)

    @property
    def _sink(self) -> EventSink | None:
        """What the engine reports to: the user's sink, seen first by us when stopping at the
        first failure (to know which asset failed)."""
        if self.on_error == "raise":
            return self._events
        return self.progress

    def _events(self, event: TransferEvent) -> None:
        if event.kind == "fail":
            self._fail_events[event.job_id] = event
        if self.progress is not None:
            try:
                self.progress(event)
            except Exception:
                _log.exception("the progress sink %r raised; it gets no more events", self.progress)
                self.progress = None

    def _plan(self, item: pystac.Item) -> list[_Planned]:
        """The selected assets of ``item`` with their absolute hrefs and unique file names."""
        return _select(item, self.filters)

    def _claim(self, folder: str, item: pystac.Item) -> None:
        """Refuse a second item in the same folder: their files would overwrite each other."""
        _claim_folder(self._folders, folder, item, self.layout)

    def _failed(
        self, item: pystac.Item, plan: _Planned, job_id: str, error: ObstacError, target: str
    ) -> AssetOutcome:
        """An outcome for an asset that failed outside the engine's own results."""
        result = TransferResult(
            job_id=job_id,
            href=redact_url(plan.href),
            target=target,
            status="failed",
            size=None,
            bytes_transferred=0,
            seconds=0.0,
            requests=0,
            retries=0,
            verified=False,
            checksum=None,
            etag=None,
            error=error,
        )
        return AssetOutcome(item.id, item.collection_id, plan.key, result)

    def _failing(
        self, jobs: Mapping[str, tuple[_Planned, TransferJob]], error: ObstacError
    ) -> tuple[_Planned, TransferJob]:
        """The job the engine raised for (on_error="raise"), found from its "fail" event."""
        for job_id, pair in jobs.items():
            if job_id in self._fail_events:
                return pair
        for pair in jobs.values():
            if redact_url(pair[1].source.href) == error.href:
                return pair
        return next(iter(jobs.values()))

    def _rewritten(
        self,
        item: pystac.Item,
        folder: str,
        planned: list[_Planned],
        outcomes: Mapping[str, AssetOutcome],
    ) -> dict[str, Any]:
        """The item JSON to write beside its assets (see the module docstring)."""
        base = item.get_self_href()
        document = item.to_dict(include_self_link=False, transform_hrefs=False)
        names = {plan.key: plan.name for plan in planned}
        extensions: list[str] = list(document.get("stac_extensions") or [])
        assets: dict[str, Any] = document.get("assets") or {}
        for key, asset in assets.items():
            if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
                continue
            original = _absolute(asset["href"], base)
            outcome = outcomes.get(key)
            downloaded = outcome is not None and outcome.status in _DONE_STATUSES
            asset["href"] = f"./{names[key]}" if downloaded else self._saved_href(original)
            alternates = asset.get("alternate")
            if isinstance(alternates, dict):
                for alternate in alternates.values():
                    if isinstance(alternate, dict) and isinstance(alternate.get("href"), str):
                        alternate["href"] = self._saved_href(_absolute(alternate["href"], base))
            if not downloaded or outcome is None:
                continue
            asset["alternate"] = {
                **(alternates if isinstance(alternates, dict) else {}),
                "origin": {"href": self._saved_href(original)},
            }
            result = outcome.result
            if result.size is not None:
                asset["file:size"] = result.size
            checksum = asset.get("file:checksum") or result.checksum
            if checksum:
                asset["file:checksum"] = checksum
            _add_extension(extensions, FILE_EXTENSION, "/file/")
            _add_extension(extensions, ALTERNATE_EXTENSION, "/alternate-assets/")
        links = [
            {**link, "href": self._saved_href(_absolute(link["href"], base))}
            for link in document.get("links") or []
            if isinstance(link, dict)
            and link.get("rel") != "self"
            and isinstance(link.get("href"), str)
        ]
        self_href = self.destination.self_href(_join(folder, _json_name(item)))
        if self_href is not None:
            links.insert(0, {"rel": "self", "href": self_href, "type": "application/json"})
        document["links"] = links
        document["stac_extensions"] = extensions
        return document

    def _saved_href(self, href: str) -> str:
        return href if self.keep_signed_hrefs else unsigned_href(href)


def _check_option_names(options: Mapping[str, object]) -> None:
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(
            f"unknown download option(s) {sorted(unknown)}; valid: {sorted(_OPTION_NAMES)}"
        )


def _select(item: pystac.Item, filters: _Filters) -> list[_Planned]:
    """The selected assets of ``item`` with their absolute hrefs and unique file names."""
    base = item.get_self_href()
    chosen: list[tuple[str, pystac.Asset, str, str]] = []
    for key, asset in item.assets.items():
        if not filters.selects(key, asset):
            continue
        try:
            href = resolve_href(asset.href, base)
        except UnsupportedHrefError:
            href = asset.href
        chosen.append((key, asset, href, _unreserved(file_name(href, key))))
    names = unique_names([(key, name) for key, _, _, name in chosen], {_json_name(item)})
    return [
        _Planned(key, asset, href, names[key], _local_file_refusal(item, key, href, base))
        for key, asset, href, _ in chosen
    ]


def _local_file_refusal(
    item: pystac.Item, key: str, href: str, base: str | None
) -> ObstacError | None:
    """An error when a remote item (its self link is a URL) points an asset at a local file:
    a catalog on the web must not make obstac copy this machine's files (``/etc/passwd``,
    ``file:///home/...``) into dest, where they may be published with the rest."""
    if base is None or _is_local(base) or not _is_local(href):
        return None
    return UnsupportedHrefError(
        f"asset {key!r} of item {item.id!r} points at a local file, and the item comes from "
        f"{redact_url(base)}: refused, so that a remote catalog cannot copy files of this "
        "machine. If you trust it, save the item's JSON without its self link and download "
        "from that file",
        href=href,
    )


def _is_local(href: str) -> bool:
    try:
        return parse_href(href).kind is StoreKind.FILE
    except ObstacError:
        return False


def _claim_folder(folders: set[str], folder: str, item: pystac.Item, layout: _Layout) -> None:
    """Refuse a second item in the same folder: their files would overwrite each other."""
    claimed = folder.casefold()
    if claimed in folders:
        raise DownloadInputError(
            f"item {item.id!r} would be written to folder {folder or '.'!r}, which another "
            f"item of this call already uses (layout={layout.template!r}); use a "
            "layout with {id} and {collection} so each item gets its own folder"
        )
    folders.add(claimed)


# -- planning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedAsset:
    """What :func:`download_items` would do with one selected asset, judged without a request.

    Attributes:
        item_id: The item's id.
        asset_key: The asset's key in the item.
        href: The asset's absolute href, credentials redacted.
        target: Where its file would go: a local path (as ``dest`` was given) or a store URL;
            None when the item's folder cannot be made from the layout.
        action: ``download`` (fetched), ``skip`` (on disk and proven identical), ``skip?``
            (on disk; skipped if one HEAD finds its recorded ETag unchanged), ``resume`` (a
            partial download is on disk), or ``error`` (the download would fail: see reason).
        reason: Why, in words for people.
    """

    item_id: str
    asset_key: str
    href: str
    target: str | None
    action: PlanAction
    reason: str


def plan_download(
    items: ItemsLike,
    dest: str | os.PathLike[str],
    *,
    heads: Mapping[tuple[str, str], ObjectMeta] | None = None,
    **options: Unpack[DownloadOptions],
) -> list[PlannedAsset]:
    """Say what ``download_items(items, dest, **options)`` would do with each selected asset.

    Assets are selected, named and placed by the same code as :func:`download_items`
    (``include``, ``exclude``, ``roles``, ``layout``), and each target on disk is judged as the
    transfer engine judges it: ``file:size`` and ``file:checksum``, the ETag recorded by a
    previous download, a partial file to resume. No request is sent: pass ``heads`` (what a
    HEAD of an asset answered, e.g. :meth:`obstac.AssetReader.head`) to judge by the remote
    size and ETag too. A store URL ``dest`` is not looked at (it is checked when downloading).

    Args:
        items: Any input of :func:`download_items`.
        dest: The folder or store URL the download would write to.
        heads: HEAD answers by ``(item id, asset key)``; they replace ``file:size``.
        **options: See :class:`DownloadOptions`; options about reading and writing (recipes,
            scheduler, progress...) do not change the plan.

    Returns:
        One :class:`PlannedAsset` per selected asset, items in input order.

    Raises:
        DownloadInputError: An input is not a STAC Item, or an option is unusable.
    """
    _check_option_names(options)
    text = os.fspath(dest)
    if not isinstance(text, str) or not text.strip():
        raise DownloadInputError("dest must be a folder or a store URL, not an empty value")
    parts = urlsplit(text)
    is_url = len(parts.scheme) > 1 and not isinstance(dest, os.PathLike)
    store = is_url and parts.scheme != "file"
    root = Path(unquote(parts.path)) if is_url and not store else Path(text)
    layout = _Layout.parse(options.get("layout", DEFAULT_LAYOUT))
    filters = _Filters.of(options)
    overwrite = bool(options.get("overwrite", False))
    known = heads or {}
    folders: set[str] = set()
    planned: list[PlannedAsset] = []
    for batch in iter_item_batches(items):
        for item in batch:
            selected = _select(item, filters)
            try:
                folder: str | None = layout.render(item)
                _claim_folder(folders, folder or "", item, layout)
            except DownloadInputError as error:
                folder, problem = None, str(error)
            for plan in selected:
                href = redact_url(plan.href)
                if folder is None:
                    planned.append(PlannedAsset(item.id, plan.key, href, None, "error", problem))
                    continue
                if plan.refused is not None:
                    target = str(root / _join(folder, plan.name))
                    planned.append(
                        PlannedAsset(item.id, plan.key, href, target, "error", str(plan.refused))
                    )
                    continue
                relative = _join(folder, plan.name)
                if store:
                    target = f"{text.rstrip('/')}/{relative}"
                    action: PlanAction = "download"
                    reason = "store destination: checked when downloading"
                else:
                    target = str(root / relative)
                    action, reason = _judge_file(
                        Path(target).absolute(),
                        plan.asset,
                        known.get((item.id, plan.key)),
                        overwrite=overwrite,
                    )
                planned.append(PlannedAsset(item.id, plan.key, href, target, action, reason))
    return planned


def _judge_file(
    target: Path, asset: pystac.Asset, head: ObjectMeta | None, *, overwrite: bool
) -> tuple[PlanAction, str]:
    """What the transfer engine would do with ``target`` (see ``FileTransfer.run``)."""
    try:
        stat = target.stat()
    except FileNotFoundError:
        return _judge_missing(target)
    except OSError as error:
        return "error", f"cannot look at {target}: {error.strerror}"
    if not S_ISREG(stat.st_mode):
        return "error", "exists and is not a regular file"
    if overwrite:
        return "download", "on disk; overwrite=True fetches it again"
    return _judge_existing(target, stat, asset, head)


def _judge_missing(target: Path) -> tuple[PlanAction, str]:
    """A target not on disk: resumed when a usable partial download is beside it."""
    temp, state_path = partial_paths(target)
    state = load_state(state_path, temp)
    if state is not None:
        from obstac.progress import format_size

        done, size = format_size(state.done_bytes), format_size(state.size)
        return "resume", f"{done} of {size} already on disk"
    return "download", "not on disk"


def _judge_existing(
    target: Path, stat: os.stat_result, asset: pystac.Asset, head: ObjectMeta | None
) -> tuple[PlanAction, str]:
    """A regular file on disk: skipped only when proven identical, as the engine proves it."""
    size = head["size"] if head is not None else _int_field(asset, "file:size")
    if size is not None and stat.st_size != size:  # file:size, or the HEAD's answer
        return "download", f"on disk with {stat.st_size} bytes, the asset has {size}"
    checksum = _str_field(asset, "file:checksum")
    if checksum:
        expected = parse_checksum(checksum)
        if expected.verifiable:
            verdict = expected.check(file_digests(target, expected.candidates))
            if verdict is True:
                return "skip", "on disk, file:checksum matches"
            if verdict is False:
                return "download", "on disk, but file:checksum differs"
    entry = load_manifest(target.parent).get(target.name)
    if entry is not None and entry.describes(stat) and entry.etag:
        if head is None:
            return (
                "skip?",
                "on disk; skipped if its ETag is unchanged (one HEAD; --head checks now)",
            )
        if head.get("e_tag") == entry.etag:
            return "skip", "on disk, ETag unchanged"
        return "download", "on disk, but the object changed (ETag)"
    return "download", "on disk but unproven (no file:checksum nor recorded ETag): fetched again"


# -- destinations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _LocalDestination:
    root: Path
    fsync: bool = True

    def target(self, relative: str) -> LocalTarget:
        return LocalTarget(path=self.root / relative)

    def self_href(self, relative: str) -> str | None:
        return (self.root / relative).as_posix()

    async def prepare(self, folder: str) -> None:
        await asyncio.to_thread((self.root / folder).mkdir, parents=True, exist_ok=True)

    async def write(self, relative: str, data: bytes) -> None:
        path = self.root / relative
        try:
            await asyncio.to_thread(_atomic_write, path, data, fsync=self.fsync)
        except OSError as error:
            raise TransferError(
                f"cannot write the item JSON {path}: {error.strerror or error}; check that "
                "dest is a writable folder with free space",
                target=str(path),
            ) from error

    def describe(self) -> str:
        return str(self.root)


@dataclass(frozen=True)
class _StoreDestination:
    store: ObjectStore
    prefix: str
    url: str | None

    def _path(self, relative: str) -> str:
        return _join(self.prefix, relative)

    def target(self, relative: str) -> StoreTarget:
        url = f"{self.url}/{relative}" if self.url else self._path(relative)
        return StoreTarget(store=self.store, path=self._path(relative), url=url)

    def self_href(self, relative: str) -> str | None:
        return f"{self.url}/{relative}" if self.url else None

    async def prepare(self, folder: str) -> None:
        return None

    async def write(self, relative: str, data: bytes) -> None:
        try:
            await obstore.put_async(self.store, self._path(relative), data)
        except (obstore.exceptions.BaseError, OSError) as error:
            shown = self.url or self.prefix
            raise translate_store_error(
                error,
                href=f"{shown}/{relative}",
                recipe="destination",
                credential_hint=(
                    "pass dest_recipe= (e.g. obstac.recipes.s3(...) with credentials that may "
                    "write) or dest_store= with a writable obstore store"
                ),
            ) from None

    def describe(self) -> str:
        return redact_url(self.url) if self.url else f"{self.store!r} at {self.prefix!r}"


def _destination(
    dest: str | os.PathLike[str],
    *,
    dest_recipe: Recipe | None,
    dest_store: ObjectStore | None,
    cache: StoreCache | None,
) -> _LocalDestination | _StoreDestination:
    text = os.fspath(dest)
    if not isinstance(text, str) or not text.strip():
        raise DownloadInputError("dest must be a folder or a store URL, not an empty value")
    parts = urlsplit(text)
    is_url = len(parts.scheme) > 1 and not isinstance(dest, os.PathLike)
    if dest_store is not None:
        if is_url:
            location = parse_href(text)
            return _StoreDestination(dest_store, location.key.strip("/"), text.rstrip("/"))
        return _StoreDestination(dest_store, text.strip("/"), None)
    if not is_url or parts.scheme == "file":
        path = Path(unquote(parts.path)) if is_url else Path(text)
        if dest_recipe is not None:
            raise DownloadInputError(
                f"dest_recipe= is for store URLs, and dest {text!r} is a local folder"
            )
        return _LocalDestination(path.absolute())
    writer = open_asset(text, recipe=dest_recipe, cache=cache)
    return _StoreDestination(writer.store, writer.path.strip("/"), text.rstrip("/"))


def _atomic_write(path: Path, data: bytes, *, fsync: bool) -> None:
    """Write ``path`` whole or not at all: a temporary file beside it, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            if fsync:
                os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# -- names and layout ------------------------------------------------------------------------

_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f/\\?#]")
_FIELD = re.compile(r"\{([^{}]*)\}")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_name(text: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """``text`` as one safe file or folder name.

    Separators (``/``, ``\\``), NUL and control characters, ``?`` and ``#`` become ``_``;
    ``""``, ``.`` and ``..`` become underscores; names over ``max_bytes`` UTF-8 bytes are cut
    and given a short hash so that they stay distinct (the extension is kept).
    """
    cleaned = _UNSAFE_CHARACTERS.sub("_", unicodedata.normalize("NFC", text)).strip()
    if cleaned in ("", ".", ".."):
        cleaned = cleaned.replace(".", "_") or "_"
    encoded = cleaned.encode()
    if len(encoded) <= max_bytes:
        return cleaned
    digest = hashlib.sha256(encoded).hexdigest()[:10]
    stem, dot, extension = cleaned.rpartition(".")
    suffix = f".{extension}" if dot and stem and len(extension.encode()) <= 16 else ""
    head = stem if suffix else cleaned
    budget = max_bytes - len(suffix.encode()) - len(digest) - 1
    cut = head.encode()[:budget].decode("utf-8", "ignore")
    return f"{cut}-{digest}{suffix}"


def file_name(href: str, key: str) -> str:
    """The file name an asset is written under: the last segment of its href's path.

    Never taken from the query string. https paths are percent-decoded (what the server
    stores); ``s3://``-style keys are taken literally, as :func:`obstac.parse_href` does. An
    href with no name (ending in ``/``) is named after its asset key.
    """
    try:
        path = parse_href(href).key
    except ObstacError:
        path = unquote(urlsplit(href).path)
    name = "" if path.endswith("/") else PurePosixPath(path).name
    return safe_name(name or key)


def unique_names(
    pairs: Sequence[tuple[str, str]], reserved: Collection[str] = ()
) -> dict[str, str]:
    """Map each (asset key, file name) to a name unique within the item.

    A name shared by several assets (compared case-insensitively, as macOS and Windows file
    systems do), or equal to a reserved name such as the item's JSON, becomes
    ``<key>-<name>``; a collision even then gets a counter.
    """
    counts = Counter(name.casefold() for _, name in pairs)
    taken = {name.casefold() for name in reserved}
    reserved_folded = set(taken)
    unique: dict[str, str] = {}
    for key, name in pairs:
        folded = name.casefold()
        candidate = name
        if counts[folded] > 1 or folded in reserved_folded:
            candidate = safe_name(f"{key}-{name}")
        number = 2
        while candidate.casefold() in taken:
            candidate = safe_name(f"{key}-{number}-{name}")
            number += 1
        taken.add(candidate.casefold())
        unique[key] = candidate
    return unique


@dataclass(frozen=True)
class _Layout:
    """A checked layout template: each ``{field}`` fills one or part of one path segment."""

    template: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, template: str) -> _Layout:
        if not isinstance(template, str):
            raise DownloadInputError(f"layout must be a string, not {type(template).__name__}")
        problem = _layout_problem(template)
        if problem:
            raise DownloadInputError(
                f"layout {template!r} {problem}; it is a path relative to dest such as "
                f"{DEFAULT_LAYOUT!r}, '{{id}}' or '{{collection}}/{{year}}/{{id}}'"
            )
        stripped = template.strip().strip("/")
        return cls(template, tuple(stripped.split("/")) if stripped else ())

    def render(self, item: pystac.Item) -> str:
        """The item's folder, relative to dest (``""`` for dest itself).

        Raises:
            DownloadInputError: The item lacks a field the layout names.
        """
        values = _layout_values(item)
        rendered: list[str] = []
        for segment in self.segments:

            def fill(match: re.Match[str]) -> str:
                name = match.group(1).strip()
                value = values.get(name)
                if value is None:
                    raise DownloadInputError(
                        f"item {item.id!r} has no {name!r} for layout {self.template!r}; use "
                        "a field every item has ({id}, {collection}, {year}...)"
                    )
                return safe_name(value)

            rendered.append(safe_name(_FIELD.sub(fill, segment)))
        return "/".join(rendered)


def _layout_problem(template: str) -> str | None:
    if "\x00" in template or "\\" in template:
        return "contains a backslash or NUL"
    stripped = template.strip()
    if stripped.startswith(("/", "~")) or _WINDOWS_DRIVE.match(stripped):
        return "is an absolute path"
    literal = _FIELD.sub("x", stripped)
    if "{" in literal or "}" in literal:
        return "has an unbalanced brace"
    if any(not name.strip() for name in _FIELD.findall(stripped)):
        return "has an empty {} field"
    body = stripped.rstrip("/")
    if body and any(part.strip() in ("", ".", "..") for part in body.split("/")):
        return "has an empty, '.' or '..' segment, which could leave dest"
    return None


def _layout_values(item: pystac.Item) -> dict[str, str]:
    values = {
        str(key): str(value)
        for key, value in item.properties.items()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    }
    values["id"] = item.id
    values["collection"] = item.collection_id or NO_COLLECTION
    when = item.datetime or _parse_datetime(item.properties.get("start_datetime"))
    if when is not None:
        values.update(
            year=f"{when.year:04d}",
            month=f"{when.month:02d}",
            day=f"{when.day:02d}",
            date=when.date().isoformat(),
        )
    return values


def _parse_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return pystac.utils.str_to_datetime(value)
    except ValueError:
        return None


# -- hrefs -----------------------------------------------------------------------------------

_SAS_QUERY = re.compile(r"(?i)(^|&)sig=")
_SIGNING_PREFIXES = ("x-amz-", "x-goog-")


def unsigned_href(href: str) -> str:
    """``href`` without the credentials it may carry, fit to be saved in a file.

    Removes URL userinfo, the whole query of Azure blob URLs and of SAS-shaped queries
    (``sig=``), and any signing or token parameter (``X-Amz-*``, ``X-Goog-*``, ``token``,
    ``access_token``...) of other URLs; keeps the rest of the query, which may name the
    resource. Registered secrets still present are replaced by ``***``.
    """
    try:
        parts = urlsplit(href)
    except ValueError:
        return _redact_registered(href)
    if not parts.scheme or not parts.netloc:
        return _redact_registered(href)
    netloc = parts.netloc
    if "@" in netloc and parts.scheme.lower() not in ("abfs", "abfss"):
        netloc = netloc.rpartition("@")[2]
    query = parts.query
    if query and (_is_sas_host(parts.hostname or "") or _SAS_QUERY.search(query)):
        query = ""
    elif query:
        kept = []
        for pair in query.split("&"):
            name = unquote(pair.partition("=")[0])
            if _SENSITIVE_PARAM.match(name) or name.lower().startswith(_SIGNING_PREFIXES):
                continue
            kept.append(pair)
        query = "&".join(kept)
    return _redact_registered(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def _absolute(href: str, base: str | None) -> str:
    try:
        return resolve_href(href, base)
    except UnsupportedHrefError:
        return href


# -- small helpers ---------------------------------------------------------------------------


def _key_set(value: Collection[str] | str | None, name: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    if not all(isinstance(key, str) for key in value):
        raise DownloadInputError(f"{name}= takes asset keys or roles as strings, got {value!r}")
    return frozenset(value)


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


def _json_name(item: pystac.Item) -> str:
    return _unreserved(safe_name(f"{item.id}.json"))


def _unreserved(name: str) -> str:
    """``name``, or ``_name`` when the transfer engine keeps that name for itself in a folder
    (its manifest, a partial download or its resume state): an asset or item named so by a
    hostile catalog would overwrite them, or be overwritten."""
    if name.startswith(".obstac-") or (
        name.startswith(".") and name.endswith((PARTIAL_SUFFIX, f"{PARTIAL_SUFFIX}.json"))
    ):
        return f"_{name[1:]}"
    return name


def _dumps(document: Mapping[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def _shown(target: LocalTarget | StoreTarget) -> str:
    return str(target.path) if isinstance(target, LocalTarget) else redact_url(target.url)


def _int_field(asset: pystac.Asset, name: str) -> int | None:
    value = asset.extra_fields.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_field(asset: pystac.Asset, name: str) -> str | None:
    value = asset.extra_fields.get(name)
    return value if isinstance(value, str) and value.strip() else None


def _add_extension(extensions: list[str], schema: str, marker: str) -> None:
    if not any(marker in existing for existing in extensions):
        extensions.append(schema)
