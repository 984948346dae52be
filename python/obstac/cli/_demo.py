"""``obstac demo`` and ``obstac bench``: commands that take their own arguments untouched.

``obstac bench`` runs ``python -m benchmarks`` of the clone around the working directory (the
suite and its peers are not part of the package); its options are the suite's own
(``obstac bench --help``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

from obstac.cli._errors import EXIT_USAGE, PROG, say

__all__ = ["PASS_THROUGH", "cmd_bench", "cmd_demo", "find_clone"]

PASS_THROUGH = frozenset({"demo", "bench"})
"""Commands whose arguments, options included, go to their own parser untouched."""


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module("obstac.demo")
    except ModuleNotFoundError as error:
        if error.name != "obstac.demo":
            raise
        say(
            f"{PROG} demo: the demo is not part of this installation (module obstac.demo is "
            "missing); from a clone of the repository, run 'make demo'"
        )
        return EXIT_USAGE
    run = cast("Callable[[list[str] | None], int]", module.main)
    return int(run(list(args.arguments)))


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark suite of the clone around the working directory."""
    clone = find_clone(Path.cwd())
    if clone is None:
        say(
            f"{PROG} bench: the benchmark suite lives in the repository, not in the package: "
            "run it from inside a clone of obstac ('obstac bench', 'make bench' for the quick "
            "mode with its peers installed, 'python -m benchmarks --full')"
        )
        return EXIT_USAGE
    if str(clone) not in sys.path:
        sys.path.insert(0, str(clone))
    module = importlib.import_module("benchmarks.__main__")
    run = cast("Callable[[list[str] | None], object]", module.main)
    run(list(args.arguments))
    return 0


def find_clone(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``benchmarks/__main__.py`` beside
    ``python/obstac`` (a clone of obstac), or None."""
    for folder in (start, *start.parents):
        if (folder / "benchmarks" / "__main__.py").is_file() and (
            folder / "python" / "obstac"
        ).is_dir():
            return folder
    return None
