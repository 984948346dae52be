"""``obstac bench`` runs the benchmark suite of the clone it is started in, and says where the
suite lives when started elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from obstac.cli import main

CLONE = Path(__file__).resolve().parents[1]


def test_outside_a_clone_it_says_where_the_suite_lives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--smoke"]) == 2
    err = capsys.readouterr().err
    assert "clone of obstac" in err
    assert "make bench" in err


def test_inside_a_clone_it_runs_the_suite_with_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From a subfolder of the clone: the suite is found by walking up.
    monkeypatch.chdir(CLONE / "docs")
    results = tmp_path / "results"
    argv = ["bench", "--smoke", "--origin", "memory", "--scenario", "small"]
    argv += ["--peer", "obstac", "--results", str(results), "--no-chart"]
    assert main(argv) == 0
    [written] = results.glob("*.json")
    doc = json.loads(written.read_text())
    assert doc["mode"] == "smoke"
    assert [run["peer"] for run in doc["runs"]] == ["obstac"]
    assert doc["runs"][0]["error"] is None
