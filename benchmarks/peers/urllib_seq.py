"""Sequential ``urllib.request.urlretrieve``, one object after the other (the classic tutorial
pattern many STAC notebooks start from)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import local_path, timed_download

NAME = "urllib-seq"
KINDS = frozenset({"download"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("urllib.request",)


def missing() -> str | None:
    """Always available: the standard library."""
    return None


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``urlretrieve`` each object in turn."""

    def work(root: Path) -> None:
        for obj in scenario.objects:
            urllib.request.urlretrieve(origin.href(obj.key), local_path(root, obj.key))  # noqa: S310 - our own http origin

    return timed_download(NAME, scenario, "sequential urlretrieve", work)
