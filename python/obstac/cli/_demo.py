"""``obstac demo`` and ``obstac bench``: commands that take their own arguments untouched."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import cast

from obstac.cli._errors import EXIT_USAGE, PROG, say

__all__ = ["PASS_THROUGH", "cmd_bench", "cmd_demo"]

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
    say(
        "obstac bench: the benchmark suite lives in the repository, not in the package: "
        "from a clone run 'make bench' (quick) or 'python -m benchmarks --full'"
    )
    return EXIT_USAGE
