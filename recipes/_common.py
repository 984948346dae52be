"""What every recipe script shares: its command line, its download folder, what it prints.

The scripts themselves hold the part worth reading: the search, the recipe, the reads and
the download. This module only keeps them short.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path

import pystac
from pystac_client.exceptions import APIError

import obstac
from obstac.download import DownloadError, DownloadReport, download_items

__all__ = [
    "HEADER_BYTES",
    "RANGE_BYTES",
    "destination",
    "parser",
    "pick",
    "run_main",
    "show_reads",
    "show_report",
]

HEADER_BYTES = 16 * 1024
"""Bytes read from the start of a file: a COG's header and tile index usually fit."""

RANGE_BYTES = 64 * 1024
"""Bytes of each scattered range read after the header, about one compressed COG tile."""

_SIGNATURES = [
    (b"II*\x00", "TIFF (little-endian)"),
    (b"MM\x00*", "TIFF (big-endian)"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\x89HDF\r\n\x1a\n", "HDF5 / netCDF-4"),
    (b"CDF\x01", "netCDF classic"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"<?xml", "XML"),
    (b"PK\x03\x04", "ZIP"),
]


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every recipe script takes: ``--offline``, ``--dest``, ``--max-items``.

    Args:
        doc: The script's module docstring; its first line is the description, the rest the
            epilog of ``--help``.

    Returns:
        The parser; a script may add its own options before parsing.
    """
    title, _, rest = (doc or "").strip().partition("\n")
    parsed = argparse.ArgumentParser(
        description=title,
        epilog=rest.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parsed.add_argument(
        "--offline",
        action="store_true",
        help="run against local doubles of the service (no account, no network)",
    )
    parsed.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="download folder (kept); default: a temporary folder, removed at the end",
    )
    parsed.add_argument(
        "--max-items", type=int, default=2, help="items to take from the search (default 2)"
    )
    return parsed


@contextlib.contextmanager
def destination(dest: Path | None) -> Iterator[Path]:
    """``dest`` itself, or a temporary folder removed when the block ends."""
    if dest is not None:
        dest.mkdir(parents=True, exist_ok=True)
        yield dest
        return
    folder = Path(tempfile.mkdtemp(prefix="obstac-recipe-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def pick(
    item: pystac.Item,
    *,
    keys: Collection[str] = (),
    roles: Collection[str] = (),
    suffixes: Sequence[str] = (),
) -> list[str]:
    """The keys of an item's assets chosen by key, else by role, else by href suffix.

    Real items of one catalog differ (a band missing, keys renamed between versions), so
    scripts name what they want in a few ways and take the first way that finds something.

    Args:
        item: The item.
        keys: Asset keys wanted, in order.
        roles: Roles wanted (any of them).
        suffixes: Href endings wanted, case-insensitive (``".nc"``).

    Returns:
        The matching keys, possibly empty.
    """
    assets = item.assets
    found = [key for key in keys if key in assets]
    if found:
        return found
    found = [key for key, a in assets.items() if set(a.roles or ()) & set(roles)]
    if found:
        return found
    endings = tuple(s.lower() for s in suffixes)
    return [key for key, a in assets.items() if endings and a.href.lower().endswith(endings)]


def _kind(data: bytes) -> str:
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            return name
    return "unknown format"


def show_reads(item: pystac.Item, key: str, reader: obstac.AssetReader) -> None:
    """Read a file's header and three scattered ranges (as a COG reader would); print them.

    Args:
        item: The item the asset belongs to.
        key: The asset's key.
        reader: The asset's reader, from ``obstac.open_asset``.
    """
    size = reader.size
    header = bytes(reader.read_range(0, min(HEADER_BYTES, size)))
    starts = [size * k // 4 for k in (1, 2, 3)]
    ends = [min(start + RANGE_BYTES, size) for start in starts]
    parts = reader.read_ranges(starts, ends)
    got = sum(len(part) for part in parts)
    print(
        f"read: {item.id}/{key} via {reader.recipe} ({type(reader.store).__name__}): "
        f"{size} bytes, header "
        f"{len(header)} bytes ({_kind(header)}), 3 ranges {got} bytes"
    )


def show_report(report: DownloadReport, dest: Path) -> int:
    """Print each asset's outcome and the totals; return the exit status (0: all verified).

    Args:
        report: The download's report.
        dest: Where the files went.

    Returns:
        0 when every asset was downloaded and verified, else 1.
    """
    for outcome in report.assets:
        result = outcome.result
        state = "verified" if result.verified else "not verified"
        if outcome.status == "failed":
            print(f"failed: {outcome.describe()}")
            continue
        print(
            f"{outcome.status}: {outcome.item_id}/{outcome.asset_key} "
            f"{result.size} bytes, {state} -> {Path(result.target).relative_to(dest)}"
        )
    ok = report.ok and report.verified == len(report.assets) and len(report.assets) > 0
    verdict = f"all {report.verified} verified" if ok else "NOT all verified"
    print(f"download: {report.summary()}; {verdict}")
    return 0 if ok else 1


def download(
    items: Sequence[pystac.Item],
    dest: Path | None,
    recipe: obstac.recipes.Recipe,
    include: Collection[str],
) -> int:
    """Download the ``include`` assets of ``items`` with ``recipe``, print the outcome.

    Args:
        items: The items found.
        dest: ``--dest``, or None for a temporary folder removed afterwards.
        recipe: The catalog's recipe (other hosts are chosen automatically).
        include: The asset keys to download.

    Returns:
        0 when every asset was downloaded and verified, else 1.
    """
    with destination(dest) as folder:
        try:
            report = download_items(items, folder, recipes=[recipe], include=include).report
        except DownloadError as error:
            report = error.report
        return show_report(report, folder)


def run_main(main: Callable[[list[str] | None], int]) -> int:
    """Run a script's ``main``, turning obstac's and the STAC API's errors into one line.

    Args:
        main: The script's ``main(argv)``.

    Returns:
        Its exit status, or 1 after printing an error a user can act on.
    """
    try:
        return main(None)
    except (obstac.ObstacError, APIError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
