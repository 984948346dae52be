"""Normalise what users hand us (pystac Asset, STAC asset dict, href) into one :class:`AssetInfo`.

``AssetLike`` is accepted at every public boundary and turned into an ``AssetInfo`` here, once, so
the rest of obstac never branches on input types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

import pystac

from obstac._redact import redact_url
from obstac.errors import UnsupportedHrefError
from obstac.hrefs import resolve_href, storage_options_of

__all__ = ["AssetInfo", "AssetLike", "asset_info", "asset_roles"]

AssetLike: TypeAlias = "pystac.Asset | Mapping[str, Any] | str"
"""A pystac ``Asset``, a STAC asset dict (``{"href": ..., ...}``) or an href string."""

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class AssetInfo:
    """One asset, as obstac needs it: its absolute href and the metadata recipes read.

    Attributes:
        href: The absolute href (relative ones resolved against the item's self link). It may
            carry a credential (a SAS query), so it is kept out of ``repr``.
        fields: The asset's fields over its item's properties (the asset wins), e.g.
            ``storage:region``, ``storage:requester_pays``, ``table:storage_options``,
            ``file:size``, ``alternate``.
        key: The asset's key in its item, when known.
        item_id: The owning item's id, when known.
        collection_id: The owning item's collection, when known.
        base: The href relative hrefs (``alternate`` ones too) resolve against.
    """

    href: str = field(repr=False)
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    key: str | None = None
    item_id: str | None = None
    collection_id: str | None = None
    base: str | None = field(default=None, repr=False)

    @property
    def alternate_hrefs(self) -> list[str]:
        """The absolute hrefs of the asset's ``alternate`` entries, in their order."""
        alternates = self.fields.get("alternate")
        if not isinstance(alternates, Mapping):
            return []
        hrefs = []
        for alternate in alternates.values():
            href = alternate.get("href") if isinstance(alternate, Mapping) else None
            if isinstance(href, str) and href.strip():
                hrefs.append(resolve_href(href.strip(), self.base or self.href))
        return hrefs

    def with_href(self, href: str) -> AssetInfo:
        """The same asset read from another href (one of its alternates)."""
        return replace(self, href=href)

    @property
    def storage_options(self) -> Mapping[str, Any] | None:
        """``table:storage_options`` / ``xarray:storage_options``, from the asset or item."""
        return storage_options_of(self.fields)

    def __repr__(self) -> str:
        return (
            f"AssetInfo(href={redact_url(self.href)!r}, key={self.key!r}, "
            f"item_id={self.item_id!r}, collection_id={self.collection_id!r})"
        )


def asset_info(asset: AssetLike, *, base: str | None = None) -> AssetInfo:
    """Turn any accepted asset form into an :class:`AssetInfo`.

    Args:
        asset: A pystac ``Asset`` (its owner gives the base for relative hrefs and the item
            properties), a STAC asset dict, or an href string.
        base: Overrides the href relative hrefs resolve against. For a bare relative path string
            with no base, the current directory is used, as any file API would.

    Raises:
        UnsupportedHrefError: The asset has no href, or a relative href with nothing to resolve
            it against.
    """
    if isinstance(asset, pystac.Asset):
        return _from_pystac(asset, base)
    if isinstance(asset, Mapping):
        href = asset.get("href")
        if not isinstance(href, str) or not href.strip():
            raise UnsupportedHrefError(
                f"the asset dict has no usable 'href' (keys: {sorted(asset)[:10]})"
            )
        fields = {k: v for k, v in asset.items() if k != "href"}
        return AssetInfo(href=resolve_href(href.strip(), base), fields=fields, base=base)
    if isinstance(asset, str):
        if not asset.strip():
            raise UnsupportedHrefError("empty href '': an asset needs an href to read")
        return AssetInfo(href=resolve_href(asset.strip(), base or f"{Path.cwd().as_posix()}/"))
    raise TypeError(
        f"open_asset() takes a pystac.Asset, a STAC asset dict or an href string, "
        f"not {type(asset).__name__}"
    )


def _from_pystac(asset: pystac.Asset, base: str | None) -> AssetInfo:
    owner = asset.owner
    properties: Mapping[str, Any] = _EMPTY
    item_id = collection_id = None
    if isinstance(owner, pystac.Item):
        properties = owner.properties
        item_id = owner.id
        collection_id = owner.collection_id
    elif isinstance(owner, pystac.Collection):
        properties = owner.extra_fields
        collection_id = owner.id
    key = _key_in_owner(asset)
    self_href = base or (owner.get_self_href() if owner is not None else None)
    fields: dict[str, Any] = {**properties, **asset.extra_fields}
    if asset.roles is not None:
        fields["roles"] = list(asset_roles(asset))
    if asset.media_type is not None:
        fields["type"] = asset.media_type
    return AssetInfo(
        href=resolve_href(asset.href, self_href),
        fields=fields,
        key=key,
        item_id=item_id,
        collection_id=collection_id,
        base=self_href,
    )


def _key_in_owner(asset: pystac.Asset) -> str | None:
    owner = asset.owner
    if owner is None:
        return None
    for key, candidate in owner.assets.items():
        if candidate is asset:
            return key
    return None


def asset_roles(asset: pystac.Asset) -> tuple[str, ...]:
    """The asset's roles, in order, however the item spelled them: a bare string is one role
    (not one per character, as iterating it would give), entries that are not strings are
    dropped (a dict in ``roles`` would not even hash)."""
    roles: object = asset.roles
    if isinstance(roles, str):
        return (roles,)
    if not isinstance(roles, list | tuple):
        return ()
    return tuple(role for role in roles if isinstance(role, str))
