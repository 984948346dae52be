"""Which destination objects exist, learned from one listing per folder instead of a HEAD each.

Before copying into a store, a job that may skip must know whether its target exists (and,
when it does, read obstac's record from the object's metadata with a HEAD). When one call
writes several objects into the same folder, one bounded listing of that folder answers the
first question for all of them: a target the listing does not show is copied without a HEAD,
and one listed with the wrong size too. Only objects the listing shows with the right size
are HEADed, because listings do not carry user metadata (S3, GCS and Azure, as obstore
exposes them).

Bounds: a listing is one request for at most :data:`LISTING_LIMIT` objects, never of a store's
root, and only for a folder with :data:`MIN_TARGETS_TO_LIST` or more targets in the call (for
one target, a HEAD answers in one request too, and also reads the record). A folder holding
more objects than that, a listing that fails (e.g. no permission to list) or a path a listing
might spell differently leaves the answer unknown, and the job sends its HEAD as before.

Races are those of a HEAD followed by a PUT, over a longer window: an object that appears
after the listing is copied over (as an object that appears after the HEAD is), and one that
disappears fails its HEAD and is copied. Neither case skips anything unproven; at worst a copy
is made that a HEAD would have saved.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Final

import obstore

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from obstac.transfer._store_dest import StoreTarget

__all__ = ["ABSENT", "UNKNOWN", "FolderListings", "Presence", "Unlisted"]

LISTING_LIMIT = 1000
"""Objects read from one folder's listing: one page on S3 and GCS (their maximum per request),
so listing a folder is one request. A folder with more objects (or subfolders holding them)
is not listed further: its targets are HEADed."""

MIN_TARGETS_TO_LIST = 2
"""Targets of one call in a folder before the folder is listed. With one, its HEAD costs the
same single request and also reads the record."""


class Unlisted(Enum):
    """What a listing says about a target it does not show."""

    ABSENT = "absent"
    """The listing is complete and does not show the object."""
    UNKNOWN = "unknown"
    """No listing answers (not listed, too large, failed): ask with a HEAD."""


ABSENT: Final = Unlisted.ABSENT
UNKNOWN: Final = Unlisted.UNKNOWN

Presence = int | Unlisted
"""What a listing says about one target: its size when listed, else ABSENT or UNKNOWN."""

_Key = tuple[int, str]


@dataclass(frozen=True)
class _Listing:
    sizes: dict[str, int]
    complete: bool


class FolderListings:
    """The listings of destination folders, each made once, on first need.

    One per :func:`~obstac.transfer.transfer_async` call, or one shared by every call of a
    ``download_items`` (``parents=True``): an item's assets go to their own folder beside
    the other items' folders, so one listing of the parent folder (the collection's, under
    the default layout) answers for every item while the parent holds fewer than
    :data:`LISTING_LIMIT` objects, and each item's own folder is listed only when it does not.
    """

    def __init__(self, *, parents: bool = False) -> None:
        """Start with no listing.

        Args:
            parents: Also list each target folder's parent (never the store's root).
        """
        self.parents = parents
        self.wanted: Counter[_Key] = Counter()
        self.stores: dict[_Key, ObjectStore] = {}
        self.listings: dict[_Key, _Listing | None] = {}
        self.locks: dict[_Key, asyncio.Lock] = {}

    def expect(self, targets: Iterable[StoreTarget]) -> None:
        """Announce targets a call may skip: folders with enough of them get listed."""
        for target in targets:
            folder = _folder(target.path)
            if folder is not None:
                self.wanted[(id(target.store), folder)] += 1

    def forget(self, targets: Iterable[StoreTarget]) -> None:
        """The call that expected ``targets`` is over: drop the listings only it needed."""
        for target in targets:
            folder = _folder(target.path)
            if folder is None:
                continue
            key = (id(target.store), folder)
            self.wanted[key] -= 1
            if self.wanted[key] <= 0:
                del self.wanted[key]
                self.listings.pop(key, None)
                self.stores.pop(key, None)
                self.locks.pop(key, None)

    async def presence(self, target: StoreTarget) -> Presence:
        """The target's size if a listing shows it, else ABSENT or UNKNOWN."""
        folder = _folder(target.path)
        if folder is None:
            return UNKNOWN
        parent = _folder(folder) if self.parents else None
        if parent is not None:
            seen = _answer(await self.listing(target.store, parent), target.path)
            if seen is not UNKNOWN:
                return seen
        if self.wanted[(id(target.store), folder)] >= MIN_TARGETS_TO_LIST:
            return _answer(await self.listing(target.store, folder), target.path)
        return UNKNOWN

    async def listing(self, store: ObjectStore, folder: str) -> _Listing | None:
        """The listing of ``folder``, made by the first job that asks."""
        key = (id(store), folder)
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self.listings:
                self.stores[key] = store  # keeps id(store) from being reused meanwhile
                self.listings[key] = await _list(store, folder)
            return self.listings[key]


def _answer(listing: _Listing | None, path: str) -> Presence:
    if listing is None:
        return UNKNOWN
    size = listing.sizes.get(path)
    if size is not None:
        return size
    return ABSENT if listing.complete else UNKNOWN


def _folder(path: str) -> str | None:
    """The folder to list for ``path``, or None when a listing cannot answer for it.

    None for an object at the store's root (listing the root is never bounded to one folder)
    and for a path obstore could spell differently in a listing (empty, ``.`` or ``..``
    segments): absent from the listing would then not mean absent from the store.
    """
    parts = path.split("/")
    if len(parts) < 2 or any(part in ("", ".", "..") for part in parts):
        return None
    return "/".join(parts[:-1])


async def _list(store: ObjectStore, folder: str) -> _Listing | None:
    """Up to LISTING_LIMIT objects under ``folder``; None when the listing fails."""
    stream = obstore.list(store, folder, chunk_size=LISTING_LIMIT)
    try:
        chunk = await anext(stream, None)
    except (obstore.exceptions.BaseError, OSError):
        return None
    found = list(chunk or ())
    return _Listing({meta["path"]: meta["size"] for meta in found}, len(found) < LISTING_LIMIT)
