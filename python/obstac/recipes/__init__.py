"""Recipes: one per provider, each knowing how that provider's assets are authenticated.

Generic recipes cover any S3, Azure, GCS, HTTP(S) or local store and take endpoints and
credentials as parameters, so the same code runs against the real provider and a local double::

    import obstac
    r = obstac.open_asset(href, recipe=obstac.recipes.s3(endpoint="http://127.0.0.1:9000"))

With no recipe given, obstac picks one from the href (see :func:`explain`).
"""

from obstac.recipes._azure import AzureRecipe, azure
from obstac.recipes._base import ProviderRecipe, Recipe, Route
from obstac.recipes._cdse import CDSERecipe, cdse
from obstac.recipes._dlr import DLRRecipe, dlr
from obstac.recipes._earth_search import EarthSearchRecipe, earth_search
from obstac.recipes._earthdata import EarthdataRecipe, earthdata
from obstac.recipes._gcs import GCSRecipe, gcs
from obstac.recipes._http import HTTPRecipe, http
from obstac.recipes._local import LocalRecipe, local
from obstac.recipes._planetary_computer import PlanetaryComputerRecipe, planetary_computer
from obstac.recipes._planetary_computer import sign as sign_planetary_computer
from obstac.recipes._planetary_computer import sign_async as sign_planetary_computer_async
from obstac.recipes._s3 import S3Recipe, s3
from obstac.recipes._select import Explanation, explain
from obstac.recipes._sharinghub import SharingHubRecipe, sharinghub
from obstac.recipes._usgs_astrogeology import UsgsAstrogeologyRecipe, usgs_astrogeology

__all__ = [
    "AzureRecipe",
    "CDSERecipe",
    "DLRRecipe",
    "EarthSearchRecipe",
    "EarthdataRecipe",
    "Explanation",
    "GCSRecipe",
    "HTTPRecipe",
    "LocalRecipe",
    "PlanetaryComputerRecipe",
    "ProviderRecipe",
    "Recipe",
    "Route",
    "S3Recipe",
    "SharingHubRecipe",
    "UsgsAstrogeologyRecipe",
    "azure",
    "cdse",
    "dlr",
    "earth_search",
    "earthdata",
    "explain",
    "gcs",
    "http",
    "local",
    "planetary_computer",
    "s3",
    "sharinghub",
    "sign_planetary_computer",
    "sign_planetary_computer_async",
    "usgs_astrogeology",
]
