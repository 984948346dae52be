"""``obstac download``: items from a file or stdin, their assets to a folder or a store."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from obstac.cli._errors import UsageError
from obstac.cli._input import open_items
from obstac.cli._output import Result, atomic_write, make_reporter
from obstac.cli._recipes import recipe_for_dest, recipe_from_args

if TYPE_CHECKING:
    from obstac.download import DownloadOptions

__all__ = ["cmd_download"]


# -- download --------------------------------------------------------------------------------


def cmd_download(args: argparse.Namespace) -> int:
    from obstac.download import DownloadError, download_items

    recipe = recipe_from_args(args)
    if args.output_json not in (None, "-") and not Path(args.output_json).parent.is_dir():
        raise UsageError(f"--output-json {args.output_json}: its folder does not exist")
    source = open_items(args.input)
    reporter = make_reporter(args)
    options: DownloadOptions = {
        "layout": args.layout,
        "overwrite": args.overwrite,
        "on_error": args.on_error,
        "keep_signed_hrefs": args.keep_signed_hrefs,
        "progress": reporter,
    }
    if recipe is not None:
        # Tried first for every asset it can serve; the others get the automatic choice, so
        # one --recipe does not break an item's thumbnail on another host.
        options["recipes"] = [recipe]
    if args.include:
        options["include"] = args.include
    if args.exclude:
        options["exclude"] = args.exclude
    if args.role:
        options["roles"] = args.role
    if args.concurrency is not None:
        options["concurrency"] = args.concurrency
    dest_recipe = recipe_for_dest(args.dest, args.dest_endpoint, recipe)
    if dest_recipe is not None:
        options["dest_recipe"] = dest_recipe
    reporter.start(args.dest)
    try:
        try:
            collection = download_items(source, args.dest, **options)
        except DownloadError as error:
            collection = error.items
    finally:
        reporter.stop()
    result = Result.of(collection.report, len(collection.items), args.dest)
    _write_json(collection.to_dict(), args.output_json)
    reporter.finish(result)
    return result.exit_code


def _write_json(document: Mapping[str, Any], output: str | None) -> None:
    """The item collection as one compact line (as stac-client prints it), to stdout or a file."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(Path(output), text.encode())
