"""What the hostile-input tests share: a destination with canaries around it, a snapshot of the
tree that holds them, STAC Item dicts, and the ``obstac`` command run in-process.

Every test downloads into ``root/dest`` with the current directory set to ``root/cwd``, and with
``root/outside`` as the place hostile absolute paths point at. A snapshot of ``root`` taken
before and after proves that nothing outside ``dest`` was created, changed or removed. Test
modules import ``*_fixture`` to use the ``sandbox``, ``origin`` and ``cli`` fixtures.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from obstac.cli import main
from obstac.testing import RangeHTTPServer

Tree = dict[str, str]
"""Relative path -> ``dir``, ``link:<target>`` or the sha256 of a file."""

LEFTOVER_MARKERS = (".obstac-partial", ".tmp")
"""Parts of the names of temporary files (which start with a dot): none may stay behind once a
call has returned."""


def snapshot(root: Path) -> Tree:
    """Every entry under ``root`` (links not followed), with what identifies its content."""
    tree: Tree = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            relative = path.relative_to(root).as_posix()
            if path.is_symlink():
                tree[relative] = f"link:{os.readlink(path)}"
            elif path.is_dir():
                tree[relative] = "dir"
            else:
                tree[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return tree


@dataclass
class Sandbox:
    """``root`` holds ``dest`` (where downloads go), ``cwd`` (the current directory),
    ``outside`` (where hostile absolute paths point) and canary files around them."""

    root: Path
    before: Tree

    @property
    def dest(self) -> Path:
        return self.root / "dest"

    @property
    def outside(self) -> Path:
        return self.root / "outside"

    def add_input(self, name: str, content: bytes) -> Path:
        """Write an input file into ``outside`` (part of what must not change)."""
        path = self.outside / name
        path.write_bytes(content)
        self.before = snapshot(self.root)
        return path

    def written(self) -> Tree:
        """What is under ``dest`` now, relative to it."""
        return snapshot(self.dest) if self.dest.exists() else {}

    def assert_contained(self) -> Tree:
        """Nothing outside ``dest`` changed, no temporary file is left in it; returns what
        ``dest`` holds (relative path -> sha256 or ``dir``)."""
        after = snapshot(self.root)
        outside_before = {p: v for p, v in self.before.items() if not _in_dest(p)}
        outside_after = {p: v for p, v in after.items() if not _in_dest(p)}
        assert outside_after == outside_before, "written outside dest"
        leftovers = [
            path
            for path, content in after.items()
            if _in_dest(path)
            and content != "dir"
            and (name := path.rsplit("/", 1)[-1]).startswith(".")
            and any(marker in name for marker in LEFTOVER_MARKERS)
        ]
        assert leftovers == [], "temporary files left in dest"
        return self.written()


def _in_dest(relative: str) -> bool:
    return relative == "dest" or relative.startswith("dest/")


@pytest.fixture(name="sandbox")
def sandbox_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for folder in ("cwd", "outside", "canary"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "canary.txt").write_text(f"{folder} must not change\n")
    (tmp_path / "canary.txt").write_text("root must not change\n")
    monkeypatch.chdir(tmp_path / "cwd")
    return Sandbox(tmp_path, snapshot(tmp_path))


@dataclass
class Origin:
    """The HTTP origin with a prefix private to one test."""

    server: RangeHTTPServer
    prefix: str

    def put(self, path: str, data: bytes) -> str:
        """Serve ``data`` at ``path`` (unencoded) under the prefix; returns its URL."""
        self.server.put(f"{self.prefix}/{path}", data)
        return f"{self.server.url}/{self.prefix}/{path}"

    def url(self, encoded_path: str) -> str:
        """The URL of ``encoded_path`` (percent-encoded as given) under the prefix."""
        return f"{self.server.url}/{self.prefix}/{encoded_path}"

    @property
    def requests(self) -> int:
        """Requests received under the prefix so far."""
        return sum(1 for r in self.server.requests if r.path.startswith(self.prefix + "/"))

    @property
    def gets(self) -> int:
        """GET requests received under the prefix so far."""
        return sum(
            1
            for r in self.server.requests
            if r.method == "GET" and r.path.startswith(self.prefix + "/")
        )


@pytest.fixture(name="origin")
def origin_fixture(http_origin: RangeHTTPServer) -> Origin:
    return Origin(http_origin, f"hostile-{uuid.uuid4().hex[:8]}")


def feature(item_id: Any, assets: Any, **extra: Any) -> dict[str, Any]:
    """A STAC Item dict; ``extra`` adds or replaces top-level fields."""
    document: dict[str, Any] = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "geometry": None,
        "properties": {"datetime": "2024-05-17T10:00:00Z"},
        "links": [],
        "assets": assets,
        "collection": "coll",
    }
    document.update(extra)
    return document


@dataclass(frozen=True)
class Run:
    """What one ``obstac`` command did."""

    code: int
    out: str
    err: str

    @property
    def summary(self) -> dict[str, Any]:
        """The ``--json`` summary line (the last event on stderr)."""
        document: dict[str, Any] = json.loads(self.err.strip().splitlines()[-1])
        return document


@dataclass
class Cli:
    """``obstac ARGS`` in this process (``main(argv)``), with bytes piped into stdin."""

    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def run(self, args: list[str], stdin: bytes = b"") -> Run:
        self.capsys.readouterr()
        self.monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = main(args)
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.err
        return Run(code, captured.out, captured.err)


@pytest.fixture(name="cli")
def cli_fixture(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)
