"""``obstac info``: how each asset would be read (recipe, store, credential source, size) and,
with ``--dest``, what a download would do with its file; no request without ``--head``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table
from rich.text import Text

import obstac
from obstac import recipes as recipe_factories
from obstac._assets import asset_roles
from obstac._items import DownloadInputError
from obstac._redact import redact, redact_url
from obstac.cli._errors import EXIT_FAILED, EXIT_OK, UsageError
from obstac.cli._input import open_items
from obstac.cli._recipes import recipe_from_args
from obstac.errors import ObstacError, RecipeError, UnsupportedHrefError
from obstac.progress import format_size

if TYPE_CHECKING:
    import pystac
    from obstore import ObjectMeta

    from obstac.download import DownloadOptions
    from obstac.recipes import Recipe

__all__ = ["HEAD_CONCURRENCY", "cmd_info"]


HEAD_CONCURRENCY = 16
"""HEAD requests ``obstac info --head`` sends at once."""

# -- info ------------------------------------------------------------------------------------


def _looks_like_stac(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return head[:1] in (b"{", b"[")


@dataclass
class _Row:
    """One asset, as ``info`` describes it."""

    item: str | None
    collection: str | None
    asset: str | None
    roles: list[str]
    href: str
    kind: str | None = None
    recipe: str | None = None
    store: str | None = None
    path: str | None = None
    credential_source: str | None = None
    size: int | None = None
    size_source: str | None = None
    etag: str | None = None
    target: str | None = None
    action: str | None = None
    reason: str | None = None
    error: str | None = None
    reader: obstac.AssetReader | None = field(default=None, repr=False)
    meta: ObjectMeta | None = field(default=None, repr=False)

    def document(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "collection": self.collection,
            "asset": self.asset,
            "roles": self.roles,
            "href": self.href,
            "kind": self.kind,
            "recipe": self.recipe,
            "store": self.store,
            "path": self.path,
            "credential_source": self.credential_source,
            "size": self.size,
            "size_source": self.size_source,
            "etag": self.etag,
            "target": self.target,
            "action": self.action,
            "reason": self.reason,
            "error": self.error,
        }


def cmd_info(args: argparse.Namespace) -> int:
    from obstac.download import DEFAULT_LAYOUT

    recipe = recipe_from_args(args)
    source: str | None = args.source
    items: Sequence[pystac.Item | dict[str, Any]]
    selection: DownloadOptions
    if source is not None and _is_href(source):
        rows = [_href_row(source, recipe)]
        items, selection = [_href_item(source)], {"layout": ""}
    else:
        recipes = [recipe] if recipe is not None else []
        read = list(open_items(source))
        rows = list(_item_rows(read, recipes, args))
        items = read
        selection = {
            "layout": args.layout if args.layout is not None else DEFAULT_LAYOUT,
            "include": args.include,
            "exclude": args.exclude,
            "roles": args.role,
        }
    if args.head:
        asyncio.run(_head_all(rows))
    if args.dest is not None:
        _plan(rows, items, args.dest, **selection)
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps(_redacted(row.document()), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        _print_info(rows, head=args.head, dest=args.dest)
    return EXIT_FAILED if any(row.error for row in rows) else EXIT_OK


def _is_href(source: str) -> bool:
    """Whether ``info``'s argument is one asset href rather than a file of items.

    URLs are hrefs; a local file is items when it starts like JSON, else it is a data file.
    """
    if source == "-":
        return False
    scheme = urlsplit(source).scheme
    if len(scheme) > 1 and scheme != "file":
        return True
    path = Path(source[len("file://") :] if scheme == "file" else source)
    if path.is_dir():
        raise UsageError(f"{source} is a folder; name an Item file, NDJSON, or an href")
    if not path.exists():
        raise DownloadInputError(f"{source}: no such file")
    return not _looks_like_stac(path)


def _redacted(document: dict[str, Any]) -> dict[str, Any]:
    return {
        key: redact(value) if isinstance(value, str) else value for key, value in document.items()
    }


def _explain_into(row: _Row, asset: Any, recipes: Sequence[Recipe]) -> None:
    try:
        explanation = recipe_factories.explain(asset, recipes=recipes)
        row.reader = obstac.open_asset(asset, recipes=recipes)
    except ObstacError as error:
        row.error = f"{type(error).__name__}: {error}"
        return
    row.href = explanation.href
    row.kind = explanation.kind
    row.recipe = explanation.recipe
    row.store = explanation.store
    row.path = explanation.path
    row.credential_source = explanation.credential_source


def _href_row(href: str, recipe: Recipe | None) -> _Row:
    row = _Row(item=None, collection=None, asset=None, roles=[], href=redact_url(href))
    try:
        explanation = recipe_factories.explain(href, recipe=recipe)
        row.reader = obstac.open_asset(href, recipe=recipe)
    except (RecipeError, UnsupportedHrefError):
        raise
    except ObstacError as error:
        row.error = f"{type(error).__name__}: {error}"
        return row
    row.href = explanation.href
    row.kind = explanation.kind
    row.recipe = explanation.recipe
    row.store = explanation.store
    row.path = explanation.path
    row.credential_source = explanation.credential_source
    return row


_HREF_ITEM = "obstac-info-href"
"""The id of the one-asset item ``info HREF --dest`` plans (asset key ``asset``)."""


def _href_item(href: str) -> dict[str, Any]:
    """One href as an item of one asset, for :func:`obstac.download.plan_download`."""
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": _HREF_ITEM,
        "geometry": None,
        "properties": {"datetime": "1970-01-01T00:00:00Z"},
        "links": [],
        "assets": {"asset": {"href": href}},
    }


def _selected(item: pystac.Item, args: argparse.Namespace) -> list[tuple[str, pystac.Asset, str]]:
    """The assets ``--include/--exclude/--role`` select, with their absolute hrefs."""
    from obstac.hrefs import resolve_href

    include = set(args.include) if args.include else None
    exclude = set(args.exclude or ())
    roles = set(args.role) if args.role else None
    base = item.get_self_href()
    chosen: list[tuple[str, pystac.Asset, str]] = []
    for key, asset in item.assets.items():
        if (include is not None and key not in include) or key in exclude:
            continue
        if roles is not None and roles.isdisjoint(asset_roles(asset)):
            continue
        try:
            href = resolve_href(asset.href, base)
        except UnsupportedHrefError:
            href = asset.href
        chosen.append((key, asset, href))
    return chosen


def _item_rows(
    items: Iterable[pystac.Item], recipes: Sequence[Recipe], args: argparse.Namespace
) -> Iterator[_Row]:
    for item in items:
        for key, asset, href in _selected(item, args):
            row = _Row(
                item=item.id,
                collection=item.collection_id,
                asset=key,
                roles=list(asset_roles(asset)),
                href=redact_url(href),
            )
            size = asset.extra_fields.get("file:size")
            if isinstance(size, int) and not isinstance(size, bool):
                row.size, row.size_source = size, "file:size"
            _explain_into(row, asset, recipes)
            yield row


async def _head_all(rows: Sequence[_Row]) -> None:
    slots = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def head(row: _Row) -> None:
        if row.reader is None:
            return
        async with slots:
            try:
                meta: ObjectMeta = await row.reader.head_async()
            except ObstacError as error:
                row.error = f"{type(error).__name__}: {error}"
                return
        row.size, row.size_source = meta["size"], "HEAD"
        row.etag = meta.get("e_tag")
        row.meta = meta

    await asyncio.gather(*(head(row) for row in rows))


def _plan(
    rows: Sequence[_Row],
    items: Sequence[pystac.Item | dict[str, Any]],
    dest: str,
    **selection: Unpack[DownloadOptions],
) -> None:
    """What ``download -o DEST`` would do with each asset's file, judged from the disk (and
    the HEAD answer, when ``--head`` got one) by :func:`obstac.download.plan_download`."""
    from obstac.download import plan_download

    heads = {
        (row.item or _HREF_ITEM, row.asset or "asset"): row.meta
        for row in rows
        if row.meta is not None
    }
    plans = plan_download(items, dest, heads=heads, **selection)
    for row, plan in zip(rows, plans, strict=True):
        row.target, row.action, row.reason = plan.target, plan.action, plan.reason


def _print_info(rows: Sequence[_Row], *, head: bool, dest: str | None) -> None:
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=160)
    table = Table(title=f"{len(rows)} asset(s)", title_justify="left")
    columns = ["item", "asset", "roles", "recipe", "store", "credentials", "size"]
    if dest is not None:
        columns.append(f"download to {dest}")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        if row.size is None:
            size = "-" if head else "? (--head)"
        else:
            size = format_size(row.size) + (
                "" if row.size_source == "HEAD" else f" ({row.size_source})"
            )
        store = row.store or ""
        if row.path:
            store = f"{store} {row.path}"
        cells = [
            Text(redact(row.item or "-")),
            Text(redact(row.asset or "-")),
            Text(", ".join(row.roles) or "-"),
            Text(row.recipe or "-"),
            Text(redact(store)) if not row.error else Text(redact(row.error), style="red"),
            Text(redact(row.credential_source or "-")),
            Text(size),
        ]
        if dest is not None:
            cells.append(Text(f"{row.action or '-'}: {row.reason or ''}".rstrip(": ")))
        table.add_row(*cells)
    console.print(table)
