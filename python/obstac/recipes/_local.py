"""The local-file recipe: ``file://`` URLs and plain paths through obstore's ``LocalStore``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from obstore.store import LocalStore

from obstac.hrefs import StoreKind
from obstac.recipes._base import Route

if TYPE_CHECKING:
    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["LocalRecipe", "local"]


@dataclass(frozen=True, eq=False)
class LocalRecipe:
    """Reads local files. One ``LocalStore`` rooted at ``/`` serves every path."""

    name: str = "local"

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """File locations only."""
        return location.kind is StoreKind.FILE

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """The shared root ``LocalStore``; the absolute path without its leading slash."""
        return Route(
            recipe=self.name,
            store_key=(self,),
            build=LocalStore,
            path=location.key.lstrip("/"),
            store_description="LocalStore(prefix='/')",
            credential_source="local filesystem permissions",
            credential_hint="check the file's permissions",
        )


def local() -> LocalRecipe:
    """A recipe for ``file://`` URLs and local paths."""
    return LocalRecipe()
