"""A seekable, read-only file over one asset, with its own read-ahead buffer.

:class:`AssetFile` keeps one buffer ``[start, end)`` of the object. A read inside it costs no
request, whatever seeks came before (GDAL seeks before every read, often to where it already
is); a read that leaves it refills it with one ranged GET of ``buffer_size`` bytes from the
read's start; a read larger than the buffer goes straight to the caller in one GET and leaves
the buffer as it was. The object's size (one HEAD, shared with its reader) bounds every read.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obstac.reading import AssetReader

__all__ = ["DEFAULT_FILE_BUFFER", "AssetFile"]

DEFAULT_FILE_BUFFER = 1024 * 1024
"""Read-ahead of :meth:`AssetReader.open` files: 1 MiB, obstore's own default. Big enough that
a GeoTIFF header and its first tiles come in one request, small enough that a random window read
does not drag in much it does not need."""


class AssetFile(io.RawIOBase):
    """A read-only, seekable binary file over one object; get one from ``AssetReader.open()``.

    Seeking never makes a request; reading does only when the bytes are not in the buffer (see
    the module). Errors are obstac's: ``AssetNotFoundError``, ``CredentialsError``, ...

    Attributes:
        name: The asset's href with any secret in it redacted.
        mode: Always ``"rb"``.
        path: Same as ``name``; with ``fs``, what fsspec-aware code (``rasterio.io.FilePath``)
            uses to open its own copy of the file: ``f.fs.open(f.path, f.mode)``.
    """

    mode = "rb"

    def __init__(self, reader: AssetReader, *, buffer_size: int = DEFAULT_FILE_BUFFER) -> None:
        """Wrap ``reader``; costs one HEAD request unless the reader knows the size already.

        Args:
            reader: The asset to read.
            buffer_size: Bytes fetched per refill of the read-ahead buffer (at least 1).

        Raises:
            ValueError: ``buffer_size`` is below 1.
            ObstacError: The HEAD request failed (e.g. ``AssetNotFoundError``).
        """
        if buffer_size < 1:
            msg = f"buffer_size={buffer_size!r}: the read-ahead buffer needs at least 1 byte"
            raise ValueError(msg)
        super().__init__()
        self.name = reader.location.safe_href
        self.path = self.name
        self._reader = reader
        self._buffer_size = buffer_size
        self._size = reader.size
        self._position = 0
        self._buffer_start = 0
        self._buffer = memoryview(b"")

    @property
    def size(self) -> int:
        """The object's size in bytes."""
        return self._size

    @property
    def fs(self) -> _Reopener:
        """Opens more files like this one, each with its own position and buffer (fsspec-style)."""
        return _Reopener(self)

    @property
    def buffered(self) -> tuple[int, int]:
        """The byte range ``[start, end)`` held in the read-ahead buffer (empty at first)."""
        return self._buffer_start, self._buffer_start + len(self._buffer)

    def readable(self) -> bool:
        """Always ``True``."""
        return True

    def seekable(self) -> bool:
        """Always ``True``."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` relative to ``whence``; no request. Returns the new position.

        Raises:
            ValueError: The new position would be negative, or ``whence`` is unknown.
        """
        self._check_open()
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._position + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            msg = f"invalid whence ({whence!r}, should be 0, 1 or 2)"
            raise ValueError(msg)
        if position < 0:
            msg = f"negative seek position {position}"
            raise ValueError(msg)
        self._position = position
        return position

    def tell(self) -> int:
        """The current position."""
        self._check_open()
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes from the current position (all the rest when negative).

        Returns ``b""`` at or after the end of the object.
        """
        return bytes(self._take(size))

    def readall(self) -> bytes:
        """Everything from the current position to the end."""
        return self.read(-1)

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position; 0 at the end of the object."""
        target = memoryview(buffer).cast("B")
        data = self._take(len(target))
        target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        """Drop the buffer; reading afterwards raises ``ValueError``."""
        self._buffer = memoryview(b"")
        super().close()

    def _take(self, size: int | None) -> memoryview | bytes:
        """Up to ``size`` bytes from the position, which moves past them.

        Bytes held in one piece come back as a view into what obstore returned, so the caller
        copies them once.
        """
        self._check_open()
        start = self._position
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        if end <= start:
            return b""
        buffer_start, buffer_end = self.buffered
        parts: list[memoryview] = []
        if buffer_start <= start < buffer_end:
            parts.append(self._buffer[start - buffer_start : min(end, buffer_end) - buffer_start])
            start = min(end, buffer_end)
        if start < end:
            parts.append(self._fetch(start, end))
        self._position = end
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _fetch(self, start: int, end: int) -> memoryview:
        """Bytes ``[start, end)``: one GET, through a refilled buffer unless it is too small."""
        if end - start >= self._buffer_size:
            return memoryview(self._reader.read_range(start, end))
        fill_end = min(self._size, start + self._buffer_size)
        self._buffer = memoryview(self._reader.read_range(start, fill_end))
        self._buffer_start = start
        return self._buffer[: end - start]

    def _check_open(self) -> None:
        if self.closed:
            msg = f"I/O operation on closed file {self.name!r}"
            raise ValueError(msg)

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"position={self._position}"
        return f"AssetFile(name={self.name!r}, size={self._size}, {state})"


class _Reopener:
    """The ``fs`` of an :class:`AssetFile`: ``open(path, mode)`` gives a fresh file over it."""

    def __init__(self, file: AssetFile) -> None:
        self._file = file

    def open(self, path: str, mode: str = "rb") -> AssetFile:
        """A new file over the same object, at position 0 with an empty buffer.

        Raises:
            ValueError: ``path`` is not this file's ``path``, or ``mode`` is not a read mode.
        """
        file = self._file
        if path != file.path or mode not in ("r", "rb"):
            msg = f"can only reopen {file.path!r} for reading ('rb'), not {path!r} with {mode!r}"
            raise ValueError(msg)
        return type(file)(file._reader, buffer_size=file._buffer_size)
