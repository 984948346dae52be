"""Turn every accepted form of "some STAC items" into batches of ``pystac.Item``, lazily.

``ItemsLike`` is accepted at the boundary of :func:`obstac.download_items` and normalised here,
once, so the download code never branches on input types:

- a ``pystac.Item`` or a STAC Item dict (``"type": "Feature"``);
- a ``pystac.ItemCollection`` or a FeatureCollection dict;
- any iterable of the above (lists, tuples, generators), consumed as it is iterated;
- a pystac-client ``ItemSearch`` (anything with ``pages_as_dicts()``), fetched page by page:
  the next page is requested only when the previous one has been handed out, so a 50 000 item
  search never sits in memory at once;
- a path (``str``, ``os.PathLike`` or ``file://`` URL) to a JSON file (an Item or a
  FeatureCollection) or to an NDJSON file (one Item per line, read line by line).

Items read from a file that have no ``self`` link get their relative asset hrefs resolved
against the file, as a STAC reader would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeGuard, runtime_checkable
from urllib.parse import unquote, urlsplit

import pystac

from obstac.errors import ObstacError
from obstac.hrefs import resolve_href

__all__ = [
    "DownloadInputError",
    "ItemSearchLike",
    "ItemsLike",
    "iter_item_batches",
    "iter_items",
    "located",
    "to_item",
]


@runtime_checkable
class ItemSearchLike(Protocol):
    """What obstac needs of a pystac-client ``ItemSearch``: its pages, as dicts, lazily.

    Recognised by this method rather than by class, so pystac-client is not imported until a
    user has a search in hand.
    """

    def pages_as_dicts(self) -> Iterator[dict[str, Any]]:
        """Yield each page of the search (a FeatureCollection dict), requesting it then."""
        ...


ItemsLike: TypeAlias = (
    "pystac.Item | pystac.ItemCollection | Mapping[str, Any] | str | os.PathLike[str] "
    "| Iterable[pystac.Item | Mapping[str, Any]] | ItemSearchLike"
)
"""Items in any form :func:`iter_item_batches` accepts (see the module docstring)."""

DEFAULT_BATCH_SIZE = 64
"""Items handed out per batch when the input has no pages of its own (lists, generators, files).
Batches are what a caller pulls off its event loop in one go; 64 keeps the look-ahead small."""

_NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl", ".geojsonl", ".geojsons", ".ndgeojson"})


class DownloadInputError(ObstacError, ValueError):
    """An argument of a download call is unusable: items that are not STAC Items, a layout
    that would leave the destination, an unknown ``on_error``... The message says which."""


def iter_items(items: ItemsLike) -> Iterator[pystac.Item]:
    """Every item of ``items``, one at a time (see :func:`iter_item_batches`)."""
    for batch in iter_item_batches(items):
        yield from batch


def iter_item_batches(
    items: ItemsLike, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[list[pystac.Item]]:
    """The items of ``items`` in batches, reading lazily.

    A pystac-client ``ItemSearch`` yields one batch per page of the API's answer; everything
    else yields batches of at most ``batch_size`` items. Nothing is read before the first batch
    is asked for, and each batch is read only when asked for.

    Args:
        items: Any form in :data:`ItemsLike`.
        batch_size: Items per batch for inputs without pages of their own.

    Raises:
        DownloadInputError: An element is not a STAC Item (nor a FeatureCollection of them), or
            a file cannot be read as JSON/NDJSON.
        TypeError: ``items`` is of a type that holds no items (e.g. an int).
    """
    if batch_size < 1:
        raise DownloadInputError(f"batch_size must be at least 1, not {batch_size}")
    if _is_search(items):
        yield from _search_batches(items)
        return
    stream = _flatten(items)
    while True:
        batch: list[pystac.Item] = []
        try:
            batch.extend(itertools.islice(stream, batch_size))
        except Exception:
            # Hand out what was read before the failure, then let the failure through.
            if batch:
                yield batch
            raise
        if not batch:
            return
        yield batch


def to_item(value: pystac.Item | Mapping[str, Any], *, base: str | None = None) -> pystac.Item:
    """One ``pystac.Item`` from a pystac Item or a STAC Item dict.

    Dicts are copied, never changed, and are not migrated: the item keeps the STAC version and
    fields it came with.

    Args:
        value: The item.
        base: Resolve relative asset hrefs against this when the item has no ``self`` link (the
            file the item was read from).

    Raises:
        DownloadInputError: ``value`` is a dict that is not a STAC Item.
    """
    if isinstance(value, pystac.Item):
        return value
    if not isinstance(value, Mapping):
        raise DownloadInputError(
            f"expected a STAC Item (pystac.Item or a dict with 'type': 'Feature'), "
            f"got {type(value).__name__}"
        )
    return _item_from_dict(dict(value), base=base, owned=False)


@contextlib.contextmanager
def located(where: str) -> Iterator[None]:
    """Prefix the message of a :class:`DownloadInputError` raised inside with ``where`` (a
    line of a file, a feature of a collection), so a user can find the bad item."""
    try:
        yield
    except DownloadInputError as error:
        raise DownloadInputError(f"{where}: {error}") from None


def _is_search(items: object) -> TypeGuard[ItemSearchLike]:
    return isinstance(items, ItemSearchLike) and not isinstance(items, (str, bytes, Mapping))


def _search_batches(search: ItemSearchLike) -> Iterator[list[pystac.Item]]:
    """One batch per page: pystac-client asks for page N+1 only when we ask for it."""
    for page in search.pages_as_dicts():
        features = page.get("features") or []
        # The page dict is ours (pystac-client built it from the response): no copy needed.
        yield [_item_from_dict(feature, base=None, owned=True) for feature in features]


def _flatten(items: object, *, base: str | None = None) -> Iterator[pystac.Item]:
    if isinstance(items, pystac.Item):
        yield items
    elif isinstance(items, pystac.ItemCollection):
        yield from items.items
    elif isinstance(items, Mapping):
        yield from _from_mapping(items, base=base)
    elif isinstance(items, (str, os.PathLike)):
        yield from _from_file(items)
    elif isinstance(items, bytes):
        raise TypeError("items as bytes are not accepted: pass json.loads(data) or a file path")
    elif _is_search(items):
        for batch in _search_batches(items):
            yield from batch
    elif isinstance(items, Iterable):
        for element in items:
            if isinstance(element, (str, os.PathLike)) or not isinstance(
                element, (pystac.Item, pystac.ItemCollection, Mapping)
            ):
                raise DownloadInputError(
                    "each element of items must be a pystac.Item or a STAC Item dict, not "
                    f"{type(element).__name__}"
                )
            yield from _flatten(element, base=base)
    else:
        raise TypeError(
            "items must be a pystac Item or ItemCollection, a STAC dict, an iterable of "
            "items, a pystac_client ItemSearch, or a path to a JSON/NDJSON file; got "
            f"{type(items).__name__}"
        )


def _from_mapping(document: Mapping[str, Any], *, base: str | None) -> Iterator[pystac.Item]:
    kind = document.get("type")
    if kind == "Feature":
        yield _item_from_dict(dict(document), base=base, owned=False)
    elif kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list):
            raise DownloadInputError("a FeatureCollection needs a 'features' list")
        for index, feature in enumerate(features):
            with located(f"features[{index}] of the FeatureCollection"):
                if not isinstance(feature, Mapping):
                    raise DownloadInputError(
                        f"a FeatureCollection's features must be STAC Items, not "
                        f"{type(feature).__name__}"
                    )
                item = _item_from_dict(dict(feature), base=base, owned=False)
            yield item
    else:
        raise DownloadInputError(
            f"expected a STAC Item ('type': 'Feature') or an ItemCollection "
            f"('type': 'FeatureCollection'), got a dict with type {kind!r}"
            + (f" and id {document.get('id')!r}" if "id" in document else "")
        )


def _item_from_dict(document: dict[str, Any], *, base: str | None, owned: bool) -> pystac.Item:
    if document.get("type") != "Feature":
        raise DownloadInputError(
            f"expected a STAC Item ('type': 'Feature'), got type {document.get('type')!r}"
            + (f" with id {document.get('id')!r}" if "id" in document else "")
        )
    if not isinstance(document.get("id"), str) or not document["id"]:
        raise DownloadInputError("a STAC Item needs a non-empty string 'id'")
    problem = _shape_problem(document)
    if problem:
        raise DownloadInputError(
            f"item {document['id']!r} is not a valid STAC Item: {problem}; fix or leave out "
            "this item"
        )
    if base is not None and _self_href(document) is None:
        document = _with_absolute_asset_hrefs(document, base)
        owned = True
    try:
        return pystac.Item.from_dict(document, migrate=False, preserve_dict=not owned)
    except (AttributeError, KeyError, TypeError, ValueError, pystac.STACError) as error:
        raise DownloadInputError(
            f"item {document.get('id')!r} is not a valid STAC Item: {error!r}"
        ) from error


def _shape_problem(document: Mapping[str, Any]) -> str | None:
    """What makes ``document`` unusable as an item, in words naming the field, or None.

    Checks the fields a download walks (properties, assets and their hrefs, links,
    collection), so a hostile or broken item is refused by name instead of failing deep
    inside pystac or the download with an unrelated error.
    """
    if not isinstance(document.get("properties"), dict):
        return f"'properties' must be a JSON object, not {_json_type(document.get('properties'))}"
    for name, kind in (("assets", dict), ("links", list)):
        value = document.get(name)
        if value is not None and not isinstance(value, kind):
            return f"{name!r} must be a JSON {_json_kind(kind)}, not {_json_type(value)}"
    collection = document.get("collection")
    if collection is not None and not isinstance(collection, str):
        return f"'collection' must be a string, not {_json_type(collection)}"
    for key, asset in (document.get("assets") or {}).items():
        if not isinstance(asset, dict):
            return f"asset {key!r} must be a JSON object, not {_json_type(asset)}"
        href = asset.get("href")
        if not isinstance(href, str):
            what = "has no 'href'" if href is None else f"has a {_json_type(href)} 'href'"
            return f"asset {key!r} {what} (a string is needed)"
    for link in document.get("links") or []:
        if not isinstance(link, dict):
            return f"each of 'links' must be a JSON object, not {_json_type(link)}"
    return None


def _json_kind(kind: type) -> str:
    return "object" if kind is dict else "array"


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number" if isinstance(value, (int, float)) else "value")


def _self_href(document: Mapping[str, Any]) -> str | None:
    for link in document.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel") == "self":
            href = link.get("href")
            return href if isinstance(href, str) else None
    return None


def _with_absolute_asset_hrefs(document: dict[str, Any], base: str) -> dict[str, Any]:
    assets = document.get("assets")
    if not isinstance(assets, Mapping):
        return document
    resolved: dict[str, Any] = {}
    for key, asset in assets.items():
        if isinstance(asset, Mapping) and isinstance(asset.get("href"), str):
            resolved[key] = {**asset, "href": resolve_href(asset["href"], base)}
        else:
            resolved[key] = asset
    return {**document, "assets": resolved}


def _local_path(source: str | os.PathLike[str]) -> Path:
    text = os.fspath(source)
    parts = urlsplit(text)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        raise DownloadInputError(
            f"items={text!r}: only local JSON/NDJSON files are read by path; for a remote "
            "file pass pystac.ItemCollection.from_file(url) or a pystac_client search"
        )
    return Path(text)


def _from_file(source: str | os.PathLike[str]) -> Iterator[pystac.Item]:
    path = _local_path(source).absolute()
    base = path.as_posix()
    if not path.is_file():
        raise DownloadInputError(f"items={os.fspath(source)!r}: no such file")
    if path.suffix.lower() in _NDJSON_SUFFIXES:
        yield from _from_ndjson(path, base)
        return
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several JSON documents: NDJSON under another name
            yield from _from_ndjson(path, base)
            return
        raise DownloadInputError(f"{path} is not JSON: {error}") from error
    del text
    if not isinstance(document, dict):
        raise DownloadInputError(f"{path} holds a JSON {type(document).__name__}, not STAC")
    if document.get("type") == "Feature" and _self_href(document) is None:
        # A single item file is the item's own location, as pystac.Item.from_file has it.
        item = _item_from_dict(document, base=None, owned=True)
        item.set_self_href(base)
        yield item
        return
    yield from _from_mapping(document, base=base)


def _from_ndjson(path: Path, base: str) -> Iterator[pystac.Item]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as error:
                raise DownloadInputError(f"{path}, line {number}: not JSON: {error}") from error
            if not isinstance(document, dict):
                raise DownloadInputError(f"{path}, line {number}: not a STAC Item")
            with located(f"{path}, line {number}"):
                yield from _from_mapping(document, base=base)
