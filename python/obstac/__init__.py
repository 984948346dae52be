"""obstac: get the bytes behind STAC catalogs through obstore.

    import obstac
    reader = obstac.open_asset(item.assets["B04"])
    header = reader.read_range(0, 16384)

See :func:`open_asset`, :class:`RasterioOpener`, :mod:`obstac.recipes` and :mod:`obstac.errors`.
"""

from obstac import recipes, transfer
from obstac._assets import AssetInfo, AssetLike
from obstac._rasterio import RasterioFile, RasterioOpener
from obstac.download import (
    DownloadedItem,
    DownloadedItemCollection,
    DownloadError,
    DownloadReport,
    PlannedAsset,
    download_item,
    download_item_async,
    download_items,
    download_items_async,
    plan_download,
)
from obstac.errors import (
    AssetNotFoundError,
    CredentialsError,
    InvalidRangeError,
    ObstacError,
    RecipeError,
    RemoteError,
    UnsupportedHrefError,
)
from obstac.hrefs import Location, StoreKind, parse_href
from obstac.reading import AssetFile, AssetReader, open_asset
from obstac.stores import StoreCache

__version__ = "0.1.0"

__all__ = [
    "AssetFile",
    "AssetInfo",
    "AssetLike",
    "AssetNotFoundError",
    "AssetReader",
    "CredentialsError",
    "DownloadError",
    "DownloadReport",
    "DownloadedItem",
    "DownloadedItemCollection",
    "InvalidRangeError",
    "Location",
    "ObstacError",
    "PlannedAsset",
    "RasterioFile",
    "RasterioOpener",
    "RecipeError",
    "RemoteError",
    "StoreCache",
    "StoreKind",
    "UnsupportedHrefError",
    "download_item",
    "download_item_async",
    "download_items",
    "download_items_async",
    "open_asset",
    "parse_href",
    "plan_download",
    "recipes",
    "transfer",
]
