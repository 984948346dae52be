"""Reading rasters with rasterio through obstac: :class:`RasterioOpener`.

rasterio (>= 1.4) lets GDAL read through Python objects: ``rasterio.open(href, opener=...)``.
Given a :class:`RasterioOpener`, GDAL reads the href with obstac's recipes (signing, logins,
requester-pays, headers) and obstore's stores, and sends its multi-range reads (all the tiles
of a window at once) to :meth:`AssetReader.read_ranges`, which merges nearby ranges into few
requests. rasterio stays optional: this module imports it only when an opener is made.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from obstac._file import AssetFile
from obstac._redact import redact_url
from obstac.errors import RecipeError, UnsupportedHrefError
from obstac.reading import AssetReader, open_asset

if TYPE_CHECKING:
    from obstore import ObjectMeta

    from obstac.recipes import Recipe
    from obstac.stores import StoreCache

__all__ = ["RASTERIO_FILE_BUFFER", "RasterioFile", "RasterioOpener"]

RASTERIO_FILE_BUFFER = 64 * 1024
"""Read-ahead of the files a :class:`RasterioOpener` gives GDAL: 64 KiB. GDAL reads a COG's
header in small pieces (its own ``/vsicurl/`` starts with 16 KiB), and the tiles of a window
come through multi-range reads, not the buffer; 64 KiB holds the header of common COGs and the
tile-offset entries near it in one GET. Measured on a 16.8 MiB COG through a 40 ms link, one
256 px window: 0.48 MiB on the wire with 64 KiB, 1.42 MiB with 1 MiB, the same 3 requests."""

_READERS_KEPT = 256
"""Readers (and their HEAD answers) an opener keeps, most recently used first: GDAL asks for
size, type and date of one href several times per open, and this many is more than a
``rasterio.merge`` of a mosaic opens at once, while bounding what a long-lived opener holds."""


class RasterioFile(AssetFile):
    """An :class:`AssetFile` that also serves GDAL's multi-range reads (``get_byte_ranges``)."""

    def get_byte_ranges(self, offsets: Sequence[int], sizes: Sequence[int]) -> list[bytes]:
        """The bytes of each range ``[offset, offset + size)``, in order.

        Ranges inside the read-ahead buffer are copied from it; the others go to
        :meth:`AssetReader.read_ranges` together, so nearby ones share a request.
        """
        self._check_open()
        found: dict[int, bytes] = {}
        starts: list[int] = []
        ends: list[int] = []
        buffer_start, buffer_end = self.buffered
        for index, (offset, size) in enumerate(zip(offsets, sizes, strict=True)):
            end = min(offset + size, self.size)
            if end <= offset:
                found[index] = b""
            elif buffer_start <= offset and end <= buffer_end:
                found[index] = bytes(self._buffer[offset - buffer_start : end - buffer_start])
            else:
                starts.append(offset)
                ends.append(end)
        fetched = iter(self._reader.read_ranges(starts, ends) if starts else [])
        return [found[i] if i in found else bytes(next(fetched)) for i in range(len(offsets))]


class RasterioOpener:
    """Lets rasterio read hrefs through obstac: ``rasterio.open(href, opener=RasterioOpener())``.

    GDAL asks the opener for a file per href it needs (the raster, and sidecar files it probes
    for such as ``.aux.xml`` or ``.msk``). Each file is a :class:`RasterioFile`: its own
    read-ahead buffer, so GDAL's header reads and seeks cost few requests, and multi-range reads
    for the tiles of a window, merged by obstore. Every href goes through :func:`open_asset`, so
    recipes choose auth as for any other read. Opening a raster costs one HEAD request.

    One opener may serve many ``rasterio.open`` calls, in turn or at once; it keeps the size of
    the last 256 hrefs it saw. Read-only: GDAL cannot write or delete through it.

    Example:
        ```py
        import obstac, rasterio
        from rasterio.windows import Window

        opener = obstac.RasterioOpener(recipes=[obstac.recipes.planetary_computer()])
        with rasterio.open(item.assets["B04"].href, opener=opener) as dataset:
            block = dataset.read(1, window=Window(0, 0, 512, 512))
        ```
    """

    def __init__(
        self,
        *,
        recipe: Recipe | None = None,
        recipes: Sequence[Recipe] = (),
        cache: StoreCache | None = None,
        buffer_size: int = RASTERIO_FILE_BUFFER,
    ) -> None:
        """Describe how to read; no request is made until rasterio opens something.

        Args:
            recipe: The recipe for every href; default: chosen per href, as
                :func:`open_asset` does.
            recipes: Recipes to try in order before the defaults.
            cache: Where stores are kept and reused; default: the process-wide cache.
            buffer_size: Read-ahead of each file GDAL opens (see :class:`AssetFile`).
        """
        _register_with_rasterio()
        self._recipe = recipe
        self._recipes = tuple(recipes)
        self._cache = cache
        self._buffer_size = buffer_size
        self._readers: OrderedDict[str, tuple[AssetReader, ObjectMeta | None]] = OrderedDict()
        self._lock = threading.Lock()

    def open(self, path: str, mode: str = "rb", **kwds: Any) -> RasterioFile:
        """A file over ``path`` (the href given to ``rasterio.open``, or a sidecar of it).

        Raises:
            ValueError: ``mode`` is not a read mode (rasterio then tries it without ``b``).
            FileNotFoundError: Nothing is at ``path``, or it is not an href obstac can read.
            ObstacError: Reading failed otherwise (e.g. ``CredentialsError``).
        """
        del kwds  # encoding and the like mean nothing for bytes
        if mode not in ("r", "rb"):
            msg = f"mode {mode!r}: obstac opens rasters read-only ('rb')"
            raise ValueError(msg)
        self._meta(path)
        return RasterioFile(self._reader(path), buffer_size=self._buffer_size)

    def isfile(self, path: str) -> bool:
        """Whether an object is at ``path`` (one HEAD request, remembered)."""
        try:
            self._meta(path)
        except FileNotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        """Always ``False``: object stores have no directories to read rasters from."""
        del path
        return False

    def ls(self, path: str) -> list[str]:
        """The names, under the folder ``path``, of the objects this opener found.

        Listing a bucket or web folder is slow or impossible, so GDAL gets what it needs to
        know: the rasters it opened there, and that no sidecar file exists beside them.
        """
        folder = path.rstrip("/") + "/"
        with self._lock:
            found = [
                href[len(folder) :]
                for href, (_, meta) in self._readers.items()
                if meta is not None and href.startswith(folder)
            ]
        return [name for name in found if name and "/" not in name]

    def size(self, path: str) -> int:
        """The size in bytes of the object at ``path`` (one HEAD request, remembered)."""
        return self._meta(path)["size"]

    def mtime(self, path: str) -> int:
        """When the object at ``path`` was last modified, in seconds since the epoch."""
        return int(self._meta(path)["last_modified"].timestamp())

    def rm(self, path: str) -> None:
        """Refused: the opener is read-only.

        Raises:
            PermissionError: Always.
        """
        msg = f"obstac's rasterio opener is read-only; not removing {redact_url(path)!r}"
        raise PermissionError(msg)

    def _reader(self, path: str) -> AssetReader:
        with self._lock:
            kept = self._readers.get(path)
            if kept is not None:
                self._readers.move_to_end(path)
                return kept[0]
        try:
            reader = open_asset(path, recipe=self._recipe, recipes=self._recipes, cache=self._cache)
        except (UnsupportedHrefError, RecipeError) as error:
            # rasterio checks an opener with size("test") and refuses it on a ValueError; for
            # rasterio (and GDAL) a path no recipe can read is a file that is not there.
            raise FileNotFoundError(str(error)) from None
        self._keep(path, reader, None)
        return reader

    def _meta(self, path: str) -> ObjectMeta:
        """The HEAD answer for ``path``, asked once while the reader is kept."""
        reader = self._reader(path)
        with self._lock:
            kept = self._readers.get(path)
        if kept is not None and kept[1] is not None:
            return kept[1]
        meta = reader.head()
        self._keep(path, reader, meta)
        return meta

    def _keep(self, path: str, reader: AssetReader, meta: ObjectMeta | None) -> None:
        with self._lock:
            self._readers[path] = (reader, meta)
            self._readers.move_to_end(path)
            while len(self._readers) > _READERS_KEPT:
                self._readers.popitem(last=False)

    def __repr__(self) -> str:
        recipe = self._recipe.name if self._recipe is not None else "chosen per href"
        return f"RasterioOpener(recipe={recipe!r}, buffer_size={self._buffer_size})"


_registered = False


def _register_with_rasterio() -> None:
    """Make rasterio see :class:`RasterioOpener` as a multi-range container, once.

    rasterio gives GDAL a multi-range callback only to openers that are instances of
    ``rasterio.abc.MultiByteRangeResourceContainer``; registering the class with that ABC does
    it without making rasterio a dependency of ``import obstac``.
    """
    global _registered  # noqa: PLW0603 - one flag for a one-time registration
    if _registered:
        return
    try:
        from rasterio.abc import MultiByteRangeResourceContainer
    except ImportError:  # no rasterio: nothing can call the opener anyway
        return
    MultiByteRangeResourceContainer.register(RasterioOpener)
    _registered = True
