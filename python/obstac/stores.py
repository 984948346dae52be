"""StoreCache: one obstore store per (recipe, bucket/container/origin, options), reused.

Building a store is cheap, but each store owns its connection pool and credential cache: reusing
it is what lets a thousand reads share TCP/TLS connections and one credential fetch. The cache
is safe to share between threads and asyncio tasks (building never awaits, and a lock guards
the map).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from obstac.recipes import Route

__all__ = ["StoreCache", "default_store_cache"]


class StoreCache:
    """Builds each distinct store once and hands out the same instance afterwards."""

    def __init__(self) -> None:
        self._stores: dict[tuple[Hashable, ...], ObjectStore] = {}
        self._lock = threading.Lock()

    def get(self, route: Route) -> ObjectStore:
        """The store for ``route``, built on first use."""
        with self._lock:
            store = self._stores.get(route.store_key)
            if store is None:
                store = route.build()
                self._stores[route.store_key] = store
            return store

    def clear(self) -> None:
        """Forget every store (their connections close when no reader holds them)."""
        with self._lock:
            self._stores.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stores)

    def __repr__(self) -> str:
        return f"StoreCache(stores={len(self)})"


_default = StoreCache()


def default_store_cache() -> StoreCache:
    """The process-wide cache used when a call is given none."""
    return _default
