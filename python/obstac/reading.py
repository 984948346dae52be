"""Reading one asset: ``open_asset(asset)`` -> :class:`AssetReader` (whole, ranges, file-like).

Every read is obstore calls on a cached store, so the sync methods never touch an event loop
and work unchanged inside Jupyter, and the ``_async`` twins await obstore directly.
``read_ranges`` plans its own requests (:mod:`obstac._range_plan`): ranges at most 128 KiB
apart share one request (obstore's ``get_ranges`` merges up to 1 MiB, which on a WAN link
carried 7x the payload), up to 32 requests per call run at once (worker threads in the sync
method, tasks in the async one; 64 at most across calls), and each range is a zero-copy slice
of its request's bytes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import obstore

from obstac._assets import AssetInfo, AssetLike, asset_info
from obstac._file import DEFAULT_FILE_BUFFER, AssetFile
from obstac._range_plan import (
    DEFAULT_COALESCE,
    DEFAULT_MAX_CONCURRENCY,
    RangePastEndError,
    RangePlan,
    check_options,
    fetch_all,
    fetch_all_async,
    plan_ranges,
)
from obstac._redact import redact_url
from obstac.errors import (
    InvalidRangeError,
    ObstacError,
    RemoteError,
    is_range_refusal,
    translate_store_error,
)
from obstac.recipes._select import route_asset
from obstac.stores import StoreCache, default_store_cache

if TYPE_CHECKING:
    from obstore import Bytes
    from obstore.store import ObjectStore

    from obstac.hrefs import Location
    from obstac.recipes import Recipe, Route

__all__ = ["AssetFile", "AssetReader", "open_asset"]


def open_asset(
    asset: AssetLike,
    *,
    recipe: Recipe | None = None,
    recipes: Sequence[Recipe] = (),
    cache: StoreCache | None = None,
    base: str | None = None,
) -> AssetReader:
    """A reader for one asset's bytes. Makes no request until you read.

    Args:
        asset: A pystac ``Asset`` (its item gives the base for relative hrefs and metadata such
            as ``table:storage_options``), a STAC asset dict, or an href string.
        recipe: The recipe to use; it must serve this href. Default: chosen from the href.
        recipes: Recipes to try in order before the defaults (the first that serves wins).
        cache: Where stores are kept and reused; default: the process-wide cache.
        base: Resolve relative hrefs against this instead of the item's self link.

    Raises:
        UnsupportedHrefError: The href is empty, relative with no base, or of an unknown form.
        RecipeError: ``recipe`` cannot serve this href, or lacks something it needs.
    """
    info = asset_info(asset, base=base)
    location, route = route_asset(info, recipe=recipe, recipes=recipes)
    store_cache = cache if cache is not None else default_store_cache()
    return AssetReader(info=info, location=location, route=route, cache=store_cache)


class AssetReader:
    """Reads one asset: all of it, one range, many ranges, or as a seekable file.

    Ranges are ``[start, end)`` byte offsets like Python slices. ``read_range(start)`` reads to
    the end, and a negative ``start`` with no ``end`` reads the last ``-start`` bytes.
    """

    def __init__(
        self, *, info: AssetInfo, location: Location, route: Route, cache: StoreCache
    ) -> None:
        self._info = info
        self._location = location
        self._cache = cache
        self._planned = route
        self._active: tuple[Route, ObjectStore] | None = None
        self._resolve_lock = threading.Lock()
        if route.resolve is None:
            self._active = (route, cache.get(route))
        self._size: int | None = None
        self._size_lock = threading.Lock()

    @property
    def _route(self) -> Route:
        return self._resolved()[0]

    @property
    def _store(self) -> ObjectStore:
        return self._resolved()[1]

    def _resolved(self) -> tuple[Route, ObjectStore]:
        """The route and store reads use; a route with ``resolve`` is resolved once, here."""
        if self._active is None:
            with self._resolve_lock:
                if self._active is None:
                    resolve = self._planned.resolve
                    route = resolve() if resolve is not None else self._planned
                    self._active = (route, self._cache.get(route))
        return self._active

    def resolve(self) -> None:
        """Make the request a recipe may need before the first read; idempotent.

        Some recipes look something up before data can be read (create S3 keys, follow a
        login). Every read does this on first use; call it to pay that cost, or meet its error,
        up front. Later calls, and routes that need no request, return at once.

        Raises:
            ObstacError: The recipe's lookup failed (e.g. ``CredentialsError``).
        """
        self._resolved()

    async def resolve_async(self) -> None:
        """Async twin of :meth:`resolve`: the request runs in a worker thread, off the loop."""
        if self._active is None:
            await asyncio.to_thread(self._resolved)

    @property
    def credential_hint(self) -> str:
        """What to provide when the store refuses access, as ``CredentialsError`` says it.

        The hint of the route reads use: the resolved one once :meth:`resolve` ran, else the
        planned one. Reading it never makes a request.
        """
        route = self._active[0] if self._active is not None else self._planned
        return route.credential_hint

    @property
    def href(self) -> str:
        """The absolute href being read (an ``alternate`` one when the primary was unreadable)."""
        return self._location.href

    @property
    def store(self) -> ObjectStore:
        """The obstore store serving this asset (shared with other readers of the same store)."""
        return self._store

    @property
    def path(self) -> str:
        """The path of the object inside :attr:`store`."""
        return self._route.path

    @property
    def location(self) -> Location:
        """The parsed href."""
        return self._location

    @property
    def recipe(self) -> str:
        """The name of the recipe that routed this asset."""
        return self._planned.recipe

    @property
    def media_type(self) -> str | None:
        """The asset's declared media type (its ``type``, e.g. ``"image/tiff"``), if any."""
        value = self._info.fields.get("type")
        return value if isinstance(value, str) else None

    @property
    def size(self) -> int:
        """The object's size in bytes (one HEAD request on first use, then cached)."""
        if self._size is None:
            with self._size_lock:
                if self._size is None:
                    self._size = self.head()["size"]
        return self._size

    def head(self) -> obstore.ObjectMeta:
        """The object's metadata: size, ETag, last modified (one HEAD request)."""
        with self._errors():
            meta = obstore.head(self._store, self.path)
        self._size = meta["size"]
        return meta

    async def head_async(self) -> obstore.ObjectMeta:
        """Async twin of :meth:`head`."""
        await self.resolve_async()
        with self._errors():
            meta = await obstore.head_async(self._store, self.path)
        self._size = meta["size"]
        return meta

    async def size_async(self) -> int:
        """Async twin of :attr:`size`."""
        if self._size is None:
            return (await self.head_async())["size"]
        return self._size

    def read(self) -> Bytes:
        """The whole object, as obstore's zero-copy ``Bytes`` (one GET)."""
        with self._errors():
            data = obstore.get(self._store, self.path).bytes()
        return self._checked(data)

    async def read_async(self) -> Bytes:
        """Async twin of :meth:`read`."""
        await self.resolve_async()
        with self._errors():
            result = await obstore.get_async(self._store, self.path)
            data = await result.bytes_async()
        return self._checked(data)

    def read_range(self, start: int, end: int | None = None) -> Bytes:
        """Bytes ``[start, end)``; to the end when ``end`` is None; a suffix when ``start < 0``.

        Raises:
            InvalidRangeError: The range is empty or reversed, or starts past the end.
        """
        if end is not None:
            _check_range(start, end, self._location)
        try:
            if end is not None:
                data = obstore.get_range(self._store, self.path, start=start, end=end)
            else:
                data = obstore.get(self._store, self.path, options=_open_range(start)).bytes()
        except obstore.exceptions.NotSupportedError:
            if start >= 0 or end is not None:
                raise self._translate_range_error(start, self._size_or_none()) from None
            # Azure has no suffix ranges: learn the size (one HEAD), then read the tail.
            size = self.size
            return self.read_range(max(0, size + start), size) if size else _EMPTY
        except (obstore.exceptions.BaseError, OSError) as error:
            raise self._translate(error, start, self._size_or_none) from None
        return self._checked(data) if start <= 0 else data

    async def read_range_async(self, start: int, end: int | None = None) -> Bytes:
        """Async twin of :meth:`read_range`."""
        await self.resolve_async()
        if end is not None:
            _check_range(start, end, self._location)
        try:
            if end is not None:
                data = await obstore.get_range_async(self._store, self.path, start=start, end=end)
            else:
                options = _open_range(start)
                data = await (
                    await obstore.get_async(self._store, self.path, options=options)
                ).bytes_async()
        except obstore.exceptions.NotSupportedError:
            size = await self._size_or_none_async()
            if start >= 0 or end is not None:
                raise self._translate_range_error(start, size) from None
            size = await self.size_async()
            return await self.read_range_async(max(0, size + start), size) if size else _EMPTY
        except (obstore.exceptions.BaseError, OSError) as error:
            size = await self._size_or_none_async() if is_range_refusal(error) else None
            raise self._translate(error, start, lambda: size) from None
        return self._checked(data) if start <= 0 else data

    def read_ranges(
        self,
        starts: Sequence[int],
        ends: Sequence[int],
        *,
        coalesce: int = DEFAULT_COALESCE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> list[Bytes]:
        """Many ranges at once, in the order given; nearby ones share a request.

        Ranges may come in any order, overlap or repeat. Ranges at most ``coalesce`` bytes
        apart are read with one request (never grown past 1 MiB by merging; a larger single
        range is one request), and up to ``max_concurrency`` requests run at once, each from a
        worker thread (no event loop, so this works inside Jupyter); all calls in the process
        together keep at most 64 in flight. Each range comes back as a zero-copy slice of its
        request's ``Bytes``; one that ends past the object's end comes back short.

        Args:
            starts: Range starts (``0 <= start``).
            ends: Range ends (exclusive), paired with ``starts``.
            coalesce: The largest gap, in bytes, worth reading to save a request. Default
                128 KiB: an extra request costs about RTT / requests in flight of the link's
                time, a merged gap costs gap / bandwidth, and 40 ms x 200 MiB/s / 64 in flight
                is 128 KiB; measured, 0-128 KiB were equally fast and 128 KiB sent the fewest
                requests (docs/defaults.md). Raise it for a slower-RTT or faster link, lower it
                when egress bytes cost more than requests; 0 merges only touching or
                overlapping ranges.
            max_concurrency: Requests this call keeps in flight. Default 32: a COG read as 50
                scattered tiles needs ~31 requests at the default gap, so one round trip.

        Raises:
            InvalidRangeError: The lists differ in length, a range is empty or reversed, or one
                starts past the end of the object.
            ValueError: ``coalesce`` is negative or ``max_concurrency`` is below 1.
        """
        plan = self._plan(starts, ends, coalesce, max_concurrency)
        if not plan.requests:
            return []
        store, path = self._store, self.path

        def fetch(start: int, end: int) -> Bytes:
            try:
                return obstore.get_range(store, path, start=start, end=end)
            except (obstore.exceptions.BaseError, OSError) as error:
                raise self._translate(error, start, self._size_or_none) from None

        chunks = fetch_all(fetch, plan.requests, max_concurrency)
        return self._checked_chunks(starts, self._sliced(plan, starts, ends, chunks))

    async def read_ranges_async(
        self,
        starts: Sequence[int],
        ends: Sequence[int],
        *,
        coalesce: int = DEFAULT_COALESCE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> list[Bytes]:
        """Async twin of :meth:`read_ranges`: the requests are tasks on the running loop, and
        all calls on one loop together keep at most 64 in flight."""
        await self.resolve_async()
        plan = self._plan(starts, ends, coalesce, max_concurrency)
        if not plan.requests:
            return []
        store, path = self._store, self.path

        async def fetch(start: int, end: int) -> Bytes:
            try:
                return await obstore.get_range_async(store, path, start=start, end=end)
            except (obstore.exceptions.BaseError, OSError) as error:
                size = await self._size_or_none_async() if is_range_refusal(error) else None
                raise self._translate(error, start, lambda: size) from None

        chunks = await fetch_all_async(fetch, plan.requests, max_concurrency)
        return self._checked_chunks(starts, self._sliced(plan, starts, ends, chunks))

    def open(self, *, buffer_size: int = DEFAULT_FILE_BUFFER) -> AssetFile:
        """A seekable, read-only binary file over the object (see :class:`AssetFile`).

        Reads are served from a read-ahead buffer of ``buffer_size`` bytes, refilled with one
        ranged GET when a read falls outside it; seeking costs nothing. Opening costs one HEAD
        request unless :attr:`size` is known. For rasterio, prefer :class:`RasterioOpener`:
        ``rasterio.open(f)`` on a file object reads the whole object into memory.
        """
        return AssetFile(self, buffer_size=buffer_size)

    def check_body(self, prefix: bytes) -> None:
        """Run the recipe's check of an object's first bytes, if its route has one.

        Reads run it on every response that starts at byte 0; a caller that fetches the object
        another way (e.g. a transfer streaming it to disk) runs it on the first chunk. Only the
        first 512 bytes are looked at. Resolves the route first if no read did (see
        :meth:`resolve`).

        Args:
            prefix: The first bytes of the object (more than 512 is fine).

        Raises:
            CredentialsError: The bytes are not the data, e.g. an HTML login page served in
                their place (the recipe's check decides what to refuse and how).
        """
        check = self._route.check_body
        if check is not None:
            check(bytes(memoryview(prefix)[:_CHECKED_PREFIX]))

    def _checked(self, data: Bytes) -> Bytes:
        """``data`` after :meth:`check_body` on its start."""
        self.check_body(bytes(memoryview(data)[:_CHECKED_PREFIX]))
        return data

    def _plan(
        self, starts: Sequence[int], ends: Sequence[int], coalesce: int, max_concurrency: int
    ) -> RangePlan:
        """The requests serving ``read_ranges``' arguments, once they are checked."""
        _check_ranges(starts, ends, self._location)
        check_options(coalesce, max_concurrency)
        return plan_ranges(starts, ends, coalesce=coalesce)

    def _sliced(
        self, plan: RangePlan, starts: Sequence[int], ends: Sequence[int], chunks: list[Bytes]
    ) -> list[Bytes]:
        """The plan's slices of ``chunks``; a range past the end raises ``InvalidRangeError``."""
        try:
            return plan.slice(starts, ends, chunks)
        except RangePastEndError as past:
            raise self._translate_range_error(past.start, past.size) from None

    def _checked_chunks(self, starts: Sequence[int], chunks: list[Bytes]) -> list[Bytes]:
        """Run the body check on the chunk that starts the object, if one was read."""
        for start, chunk in zip(starts, chunks, strict=True):
            if start == 0:
                self._checked(chunk)
        return chunks

    def _size_or_none(self) -> int | None:
        """The size if a HEAD can tell it, else None (used only to explain a failed range)."""
        try:
            return self.size
        except ObstacError:
            return None

    async def _size_or_none_async(self) -> int | None:
        try:
            return await self.size_async()
        except ObstacError:
            return None

    def _translate(
        self, error: BaseException, start: int, size: Callable[[], int | None]
    ) -> ObstacError:
        """An obstac error for a failed range read; a refused range is checked against size."""
        if isinstance(error, ObstacError):
            return error
        if is_range_refusal(error):
            return self._translate_range_error(start, size())
        return translate_store_error(
            error, href=self.href, recipe=self.recipe, credential_hint=self._planned.credential_hint
        )

    def _translate_range_error(self, start: int, size: int | None) -> ObstacError:
        if size is not None and start >= size:
            return InvalidRangeError(
                f"range starting at byte {start} is past the end of {self._location.safe_href!r} "
                f"({size} bytes)",
                href=self.href,
                recipe=self.recipe,
            )
        return RemoteError(
            f"the server of {self._location.safe_href!r} did not answer a range request with "
            f"206 Partial Content (recipe {self.recipe!r}); it may not support ranges",
            href=self.href,
            recipe=self.recipe,
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Re-raise obstore and OS errors as obstac errors that name href and recipe."""
        try:
            yield
        except (obstore.exceptions.BaseError, OSError) as error:
            raise translate_store_error(
                error,
                href=self.href,
                recipe=self.recipe,
                credential_hint=self._planned.credential_hint,
            ) from None

    def __repr__(self) -> str:
        route = self._active[0] if self._active is not None else self._planned
        return (
            f"AssetReader(href={redact_url(self.href)!r}, recipe={self.recipe!r}, "
            f"store={route.store_description}, path={route.path!r})"
        )


_EMPTY = obstore.Bytes(b"")
_CHECKED_PREFIX = 512
"""How many leading bytes a recipe's body check sees (enough to recognise an HTML page)."""


def _open_range(start: int) -> obstore.GetOptions:
    if start < 0:
        return {"range": {"suffix": -start}}
    return {"range": {"offset": start}}


def _check_range(start: int, end: int, location: Location) -> None:
    if start < 0 or end <= start:
        raise InvalidRangeError(
            f"invalid byte range [{start}, {end}) for {location.safe_href!r}: need "
            "0 <= start < end (for the last N bytes use read_range(-N))",
            href=location.href,
        )


def _check_ranges(starts: Sequence[int], ends: Sequence[int], location: Location) -> None:
    if len(starts) != len(ends):
        raise InvalidRangeError(
            f"read_ranges got {len(starts)} starts and {len(ends)} ends for "
            f"{location.safe_href!r}; they must pair up",
            href=location.href,
        )
    for start, end in zip(starts, ends, strict=True):
        _check_range(start, end, location)
