"""Sequential ``requests.get(href).content`` written to a file, no session (the pattern in
many STAC download snippets: a new connection per object)."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import local_path, timed_download

NAME = "requests-seq"
KINDS = frozenset({"download", "items"})
NEEDS_S3 = False
IMPORTS: tuple[str, ...] = ("requests",)


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    return None if find_spec("requests") else "requests is not installed"


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``requests.get(...).content`` each object in turn."""
    import requests

    def work(root: Path) -> None:
        for obj in scenario.objects:
            response = requests.get(origin.href(obj.key), timeout=600)
            response.raise_for_status()
            local_path(root, obj.key).write_bytes(response.content)

    return timed_download(NAME, scenario, "sequential get().content, no session", work)
