"""The items a command reads: a file, or stdin (an Item, an ItemCollection or NDJSON)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from obstac._items import DownloadInputError, iter_item_batches, iter_items, located
from obstac.cli._errors import UsageError

if TYPE_CHECKING:
    import pystac

__all__ = ["ItemSource", "open_items"]


# -- reading items ---------------------------------------------------------------------------


@dataclass
class ItemSource:
    """Items read lazily, the first batch already read so that bad input fails before work."""

    label: str
    first: list[pystac.Item]
    rest: Iterator[list[pystac.Item]]

    def __iter__(self) -> Iterator[pystac.Item]:
        yield from self.first
        self.first = []
        for batch in self.rest:
            yield from batch


def open_items(source: str | None) -> ItemSource:
    """The items of a file, or of stdin when ``source`` is None or ``-``.

    Raises:
        UsageError: stdin is a terminal (nothing piped in).
        DownloadInputError: The input is not JSON/NDJSON of STAC Items (exit code 2).
    """
    if source in (None, "-"):
        stream: IO[str] | None = sys.stdin
        if stream is None or stream.isatty():
            raise UsageError(
                "no input: pipe in an Item, an ItemCollection or NDJSON (e.g. 'stac-client "
                "search URL ... | obstac download -o DIR') or name a file"
            )
        label = "stdin"
        batches = iter_item_batches(_stdin_documents(stream))
    else:
        path = Path(source)
        if not path.is_file():
            raise DownloadInputError(
                f"{source}: no such file"
                if not path.exists()
                else f"{source}: not a file; name an Item, ItemCollection or NDJSON file"
            )
        label = source
        batches = iter_item_batches(path)
    try:
        first = next(batches, [])
    except (TypeError, UnicodeDecodeError) as error:
        raise DownloadInputError(f"{label}: {error}") from None
    return ItemSource(label, first, batches)


def _stdin_documents(stream: IO[str]) -> Iterator[pystac.Item]:
    """The items of stdin: NDJSON (one document per line, read as they come), or one document
    spread over several lines (a pretty-printed Item or ItemCollection)."""
    buffer = getattr(stream, "buffer", None)
    lines: Iterator[str] = (
        iter(io.TextIOWrapper(buffer, encoding="utf-8-sig")) if buffer is not None else iter(stream)
    )
    seen = False
    number = 0
    try:
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as error:
                if seen:
                    raise DownloadInputError(
                        f"stdin, line {number}: not JSON ({error.msg}: column {error.colno}); "
                        "NDJSON needs one complete Item per line"
                    ) from None
                whole = line + "".join(lines)
                try:
                    document = json.loads(whole)
                except json.JSONDecodeError as error:
                    raise DownloadInputError(
                        f"stdin is not JSON nor NDJSON ({error.msg}: line "
                        f"{number + error.lineno - 1}, column {error.colno}; truncated?): "
                        "expected an Item, an ItemCollection or one Item per line"
                    ) from None
                seen = True
                yield from _documents_in(document, "stdin")
                return
            seen = True
            yield from _documents_in(document, f"stdin, line {number}")
    except UnicodeDecodeError as error:
        raise DownloadInputError(f"stdin is not UTF-8 text: {error.reason}") from None
    if not seen:
        raise DownloadInputError(
            "stdin is empty: expected an Item, an ItemCollection or NDJSON (did the command "
            "before the pipe fail?)"
        )


def _documents_in(document: Any, where: str) -> Iterator[pystac.Item]:
    """The items of one document of stdin, read here so that an error names its line."""
    if isinstance(document, dict) or (
        isinstance(document, list) and all(isinstance(d, dict) for d in document)
    ):
        with located(where):
            yield from iter_items(document)
    else:
        raise DownloadInputError(
            f"{where}: a JSON {type(document).__name__} is not a STAC Item nor an ItemCollection"
        )
