"""Choosing the recipe for an asset: explicit first, then the defaults by store kind.

Explicit ``recipe=`` must serve the asset or obstac says so; a ``recipes=[...]`` list is tried
in order and falls back to the defaults, so one list can cover a whole item (provider data plus
thumbnails on another host). Routing makes no request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from obstac.errors import ObstacError, RecipeError
from obstac.hrefs import Location, StoreKind, parse_href
from obstac.recipes._azure import azure
from obstac.recipes._base import Recipe, Route
from obstac.recipes._gcs import gcs
from obstac.recipes._http import http
from obstac.recipes._local import local
from obstac.recipes._providers import default_providers
from obstac.recipes._s3 import s3

if TYPE_CHECKING:
    from obstac._assets import AssetInfo, AssetLike

__all__ = [
    "Explanation",
    "auto_recipe",
    "default_recipe",
    "explain",
    "locate",
    "route_asset",
]


@cache
def default_recipe(kind: StoreKind) -> Recipe:
    """The generic recipe used for a store kind when no provider claims the asset."""
    factories: dict[StoreKind, Callable[[], Recipe]] = {
        StoreKind.S3: s3,
        StoreKind.AZURE: azure,
        StoreKind.GCS: gcs,
        StoreKind.HTTP: http,
        StoreKind.FILE: local,
    }
    return factories[kind]()


def locate(info: AssetInfo) -> Location:
    """Parse an asset's href, using its storage options for ``abfs://`` accounts."""
    return parse_href(info.href, storage_options=info.storage_options)


def auto_recipe(location: Location, info: AssetInfo) -> Recipe:
    """The recipe obstac picks by itself: the first provider claiming the asset, else generic.

    Providers look at the href's host or bucket and at item metadata (``storage:*``,
    ``auth:schemes``); they are built from the environment (``PC_SDK_SUBSCRIPTION_KEY``,
    ``EARTHDATA_TOKEN``, ...), so no argument is needed for the common case.
    """
    for provider in default_providers():
        if provider.claims(location, info):
            return provider
    return default_recipe(location.kind)


def _route_one(
    info: AssetInfo, recipe: Recipe | None, recipes: Sequence[Recipe]
) -> tuple[Location, Route]:
    location = locate(info)
    if recipe is not None:
        if not recipe.handles(location, info):
            raise RecipeError(
                f"recipe {recipe.name!r} cannot read {location.safe_href!r} "
                f"(a {location.kind.value} href); pick a recipe for {location.kind.value} or "
                "leave recipe= unset to choose automatically",
                href=location.href,
                recipe=recipe.name,
            )
        return location, recipe.route(location, info)
    for candidate in recipes:
        if candidate.handles(location, info):
            return location, candidate.route(location, info)
    return location, auto_recipe(location, info).route(location, info)


def route_asset(
    info: AssetInfo,
    *,
    recipe: Recipe | None = None,
    recipes: Sequence[Recipe] = (),
) -> tuple[Location, Route]:
    """Pick the recipe for an asset and let it route the asset to a store and path.

    Order: the explicit ``recipe``; else the first of ``recipes`` that serves the href; else a
    provider that claims it (host, bucket, ``storage:*``, ``auth:schemes``); else the generic
    recipe of its store kind. When that route lacks the credentials it needs, the asset's
    ``alternate`` hrefs are tried in order and the first readable one wins.

    Raises:
        RecipeError: ``recipe`` was given but cannot serve this href.
        UnsupportedHrefError: The href cannot be parsed.
    """
    primary = _route_one(info, recipe, recipes)
    if primary[1].credentials_available:
        return primary
    for href in info.alternate_hrefs:
        try:
            alternate = _route_one(info.with_href(href), recipe, recipes)
        except ObstacError:
            continue
        if alternate[1].credentials_available:
            return alternate
    return primary


@dataclass(frozen=True)
class Explanation:
    """How obstac would read an asset, worked out without a single request.

    Attributes:
        href: The asset href, credentials redacted.
        kind: The store kind the href parsed to.
        recipe: The recipe chosen.
        store: A secret-free description of the store.
        path: The path inside the store.
        credential_source: Where the credential comes from (never its value).
    """

    href: str
    kind: str
    recipe: str
    store: str
    path: str
    credential_source: str


def explain(
    asset: AssetLike, *, recipe: Recipe | None = None, recipes: Sequence[Recipe] = ()
) -> Explanation:
    """Which recipe, store and credential source obstac would use for ``asset`` (no request)."""
    from obstac._assets import asset_info

    location, route = route_asset(asset_info(asset), recipe=recipe, recipes=recipes)
    return Explanation(
        href=location.safe_href,
        kind=location.kind.value,
        recipe=route.recipe,
        store=route.store_description,
        path=route.path,
        credential_source=route.credential_source,
    )
