"""Helpers shared by the peers: output folders, file sizes, timing, range reads checked."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.model import Measurement, Scenario
from benchmarks.tiff import HEADER_BYTES, Window, tile_index, tile_ranges

if TYPE_CHECKING:
    from typing_extensions import Buffer

CONCURRENCY = 64
"""Requests in flight for the hand-written concurrent peers (aiohttp, raw obstore, boto3
threads). DESIGN.md measured ~100 in flight reaching 0.97 of the link on small files and 32 or
fewer leaving 10-20 % idle; 64 is in between and what a careful user would pick."""

PART_SIZE = 8 * 1024 * 1024
"""Ranged part size for the peers that split large objects by hand (raw obstore)."""


def out_dir() -> Path:
    """A fresh folder to download into (under ``$TMPDIR``, which the harness removes)."""
    return Path(tempfile.mkdtemp(prefix="out-"))


def local_path(root: Path, key: str) -> Path:
    """Where a key lands under ``root``; creates its parent folder."""
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def bytes_on_disk(scenario: Scenario, root: Path) -> int:
    """Bytes of the scenario's files found under ``root``.

    Raises:
        RuntimeError: A file is missing or has the wrong size (the peer did not deliver).
    """
    total = 0
    for obj in scenario.objects:
        path = root / obj.key
        size = path.stat().st_size if path.exists() else -1
        if size != obj.size:
            msg = f"{obj.key}: expected {obj.size} bytes on disk, found {size}"
            raise RuntimeError(msg)
        total += size
    return total


def timed_download(
    name: str, scenario: Scenario, note: str, work: Callable[[Path], None]
) -> Measurement:
    """Run ``work(out_dir)``, time it, check every file landed whole."""
    root = out_dir()
    started = time.perf_counter()
    work(root)
    seconds = time.perf_counter() - started
    return Measurement(name, scenario.name, seconds, bytes_on_disk(scenario, root), note)


def check_ranges(scenario: Scenario, chunks: list[int]) -> int:
    """Sum of range lengths, after checking each chunk's length matches its range.

    Raises:
        RuntimeError: A chunk has the wrong length.
    """
    for spec, got in zip(scenario.ranges, chunks, strict=True):
        if got != spec.end - spec.start:
            msg = f"{spec.key}[{spec.start}:{spec.end}]: got {got} bytes"
            raise RuntimeError(msg)
    return sum(chunks)


def group_ranges(scenario: Scenario) -> dict[str, tuple[list[int], list[int]]]:
    """The scenario's ranges grouped by key: ``{key: (starts, ends)}``, in scenario order."""
    by_key: dict[str, tuple[list[int], list[int]]] = {}
    for spec in scenario.ranges:
        starts, ends = by_key.setdefault(spec.key, ([], []))
        starts.append(spec.start)
        ends.append(spec.end)
    return by_key


def ungroup(scenario: Scenario, lengths: dict[str, list[int]]) -> list[int]:
    """Per-key chunk lengths (as :func:`group_ranges` ordered them) back in scenario order."""
    positions = dict.fromkeys(lengths, 0)
    ordered = []
    for spec in scenario.ranges:
        ordered.append(lengths[spec.key][positions[spec.key]])
        positions[spec.key] += 1
    return ordered


Fetch = Callable[[str, list[int], list[int]], Awaitable[Sequence["Buffer"]]]
"""``fetch(key, starts, ends)``: one file's ranges, read the peer's way, in the order asked."""


async def read_files(scenario: Scenario, fetch: Fetch) -> list[int]:
    """Read every file's ranges with ``fetch``, files at once; chunk lengths in scenario order.

    ``cog`` scenarios: each file's first :data:`~benchmarks.tiff.HEADER_BYTES` first, parsed
    into the byte ranges of the tiles its windows touch (what a COG reader does before it can
    ask for tiles), which must be the scenario's.

    Raises:
        RuntimeError: A header gave other ranges than the scenario's.
    """
    windows: dict[str, list[Window]] = {}
    for w in scenario.windows:
        windows.setdefault(w.key, []).append((w.col_off, w.row_off, w.width, w.height))

    async def one(key: str, starts: list[int], ends: list[int]) -> list[int]:
        if scenario.kind == "cog":
            [header] = await fetch(key, [0], [HEADER_BYTES])
            parsed = tile_ranges(tile_index(bytes(memoryview(header))), windows[key])
            if parsed != (starts, ends):
                msg = f"{key}: the header gives other tile ranges than the scenario's"
                raise RuntimeError(msg)
        return [len(memoryview(chunk)) for chunk in await fetch(key, starts, ends)]

    by_key = group_ranges(scenario)
    lengths = await asyncio.gather(*(one(key, *spans) for key, spans in by_key.items()))
    return ungroup(scenario, dict(zip(by_key, lengths, strict=True)))


def timed_ranges(
    name: str, scenario: Scenario, note: str, read: Callable[[], Coroutine[Any, Any, list[int]]]
) -> Measurement:
    """Run ``read()`` (usually :func:`read_files`) in a fresh event loop, time it, check every
    chunk's length."""
    started = time.perf_counter()
    lengths = asyncio.run(read())
    seconds = time.perf_counter() - started
    return Measurement(name, scenario.name, seconds, check_ranges(scenario, lengths), note)
