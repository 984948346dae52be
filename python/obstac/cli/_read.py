"""``obstac read``: an href's bytes, whole or in ranges, to stdout or a file."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import obstac
from obstac.cli._errors import EXIT_OK, UsageError
from obstac.cli._output import atomic_write
from obstac.cli._recipes import recipe_from_args
from obstac.errors import InvalidRangeError

__all__ = ["READ_CHUNK", "cmd_read", "parse_ranges"]


READ_CHUNK = 8 * 1024 * 1024
"""Bytes per ranged GET when ``obstac read`` streams a whole object: the engine's part size,
so memory stays at one chunk whatever the object's size."""

# -- read ------------------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class _Range:
    """A byte range as the command line gives it, HTTP-style: ``START-END`` (END included),
    ``START-`` (to the end) or ``-N`` (the last N bytes)."""

    start: int
    end: int | None  # exclusive, as obstac's readers take it

    def __str__(self) -> str:
        if self.start < 0:
            return f"-{-self.start}"
        return f"{self.start}-" if self.end is None else f"{self.start}-{self.end - 1}"


def parse_ranges(text: str) -> list[_Range]:
    found: list[_Range] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None or not (match.group(1) or match.group(2)):
            raise argparse.ArgumentTypeError(
                f"invalid range {part!r}: use START-END (END included, as in HTTP and curl -r), "
                "START- (to the end) or -N (the last N bytes)"
            )
        first, last = match.group(1), match.group(2)
        if not first:
            count = int(last)
            if count < 1:
                raise argparse.ArgumentTypeError(f"invalid range {part!r}: -N needs N >= 1")
            found.append(_Range(-count, None))
        elif not last:
            found.append(_Range(int(first), None))
        else:
            start, end = int(first), int(last)
            if end < start:
                raise argparse.ArgumentTypeError(
                    f"invalid range {part!r}: END ({end}) is before START ({start})"
                )
            found.append(_Range(start, end + 1))
    return found


def cmd_read(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    reader = obstac.open_asset(args.href, recipe=recipe)
    ranges = [r for group in args.range or [] for r in group]
    if ranges:
        chunks: Iterable[bytes] = _read_ranges(reader, ranges)
    else:
        chunks = _read_whole(reader)
    if args.output in (None, "-"):
        _stream_to_stdout(chunks)
    else:
        atomic_write(Path(args.output), chunks)
    return EXIT_OK


def _read_ranges(reader: obstac.AssetReader, ranges: Sequence[_Range]) -> list[bytes]:
    """Each range's bytes in the order given; closed ranges go to ``read_ranges`` together
    (which merges nearby ones into fewer requests and runs them concurrently)."""
    closed = [(i, r) for i, r in enumerate(ranges) if r.end is not None and r.start >= 0]
    results: dict[int, bytes] = {}
    if len(closed) > 1:
        chunks = reader.read_ranges(
            [r.start for _, r in closed], [cast("int", r.end) for _, r in closed]
        )
        for (index, _), chunk in zip(closed, chunks, strict=True):
            results[index] = bytes(chunk)
    for index, wanted in enumerate(ranges):
        if index not in results:
            results[index] = bytes(reader.read_range(wanted.start, wanted.end))
    return [results[index] for index in range(len(ranges))]


def _read_whole(reader: obstac.AssetReader) -> Iterator[bytes]:
    """The object in :data:`READ_CHUNK` ranged GETs, so memory stays at one chunk."""
    position = 0
    while True:
        try:
            chunk = reader.read_range(position, position + READ_CHUNK)
        except InvalidRangeError:
            return  # the previous chunk ended exactly at the end (or the object is empty)
        data = bytes(chunk)
        if data:
            yield data
        if len(data) < READ_CHUNK:
            return
        position += len(data)


def _stream_to_stdout(chunks: Iterable[bytes]) -> None:
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    terminal = sys.stdout.isatty()
    for chunk in chunks:
        if terminal and b"\0" in chunk:
            raise UsageError(
                "binary output not written to a terminal: redirect it (> FILE), pipe it, or "
                "pass -o FILE"
            )
        if out is None:  # a text stdout (tests): show the bytes as Latin-1
            sys.stdout.write(chunk.decode("latin-1"))
        else:
            out.write(chunk)
    if out is not None:
        out.flush()
