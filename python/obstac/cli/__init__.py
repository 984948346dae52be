"""The ``obstac`` command: a thin shell over :func:`obstac.download.download_items`,
:func:`obstac.open_asset` and :func:`obstac.recipes.explain`.

::

    stac-client search URL -c sentinel-2-l2a --max-items 10 | obstac download -o data/
    obstac read s3://bucket/scene.tif --range 0-16383 > header.bin
    obstac info items.ndjson --head --dest data/

Subcommands: ``download``, ``read``, ``info``, ``demo``, ``bench``. Messages go to stderr and
pass through obstac's redaction (:mod:`obstac._redact`), so no secret is ever printed; stdout
carries only the command's output (item JSON, bytes, or the info table).

Exit codes:

- ``0``: success; for ``download``, every selected asset is on disk and verified.
- ``1``: something failed at run time (an asset that could not be downloaded or verified, a
  read refused by the store, an asset ``info`` could not route or HEAD).
- ``2``: bad usage or unreadable input: an unknown flag, input that is not a STAC Item,
  ItemCollection or NDJSON, a recipe that cannot serve the href, an invalid range.
- ``130``: interrupted (Ctrl-C); running ``download`` again resumes.

A reader of stdout that goes away (``obstac read ... | head``) ends the command quietly, with 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import cast

from obstac._items import DownloadInputError
from obstac.cli._demo import PASS_THROUGH
from obstac.cli._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    UsageError,
    report_error,
    say,
    setup_logging,
)
from obstac.cli._info import HEAD_CONCURRENCY
from obstac.cli._parser import build_parser
from obstac.cli._read import READ_CHUNK
from obstac.cli._recipes import RECIPE_NAMES
from obstac.errors import InvalidRangeError, ObstacError, RecipeError, UnsupportedHrefError
from obstac.progress import MAX_BARS

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HEAD_CONCURRENCY",
    "MAX_BARS",
    "PROG",
    "READ_CHUNK",
    "RECIPE_NAMES",
    "UsageError",
    "build_parser",
    "main",
]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``obstac`` command line; return its exit code.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = parser.parse_known_args(arguments)
        if args.command in PASS_THROUGH:
            # Hand the command's own arguments over exactly as typed, in their order.
            args.arguments = arguments[arguments.index(args.command) + 1 :]
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    setup_logging()
    command: str | None = args.command
    json_errors = bool(getattr(args, "json", False))
    handler = cast("Callable[[argparse.Namespace], int]", args.handler)
    try:
        return handler(args)
    except UsageError as error:
        return report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_USAGE)
    except (DownloadInputError, UnsupportedHrefError, RecipeError, InvalidRangeError) as error:
        return report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_USAGE)
    except ObstacError as error:
        return report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_FAILED)
    except KeyboardInterrupt:
        say(f"{PROG}: interrupted; run the same command again to resume")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (obstac read ... | head): stop quietly.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as error:
        if os.environ.get("OBSTAC_DEBUG"):
            say(traceback.format_exc())
        code = report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_FAILED)
        if not json_errors and not os.environ.get("OBSTAC_DEBUG"):
            say(f"{PROG}: this is a bug in obstac; set OBSTAC_DEBUG=1 for a (redacted) traceback")
        return code
