"""Every script in recipes/ runs its search -> read -> download path offline and verifies.

The scripts are run as users run them (``python recipes/<name>.py --offline``), all at once as
separate processes, so the whole set costs about as long as the slowest one. Each check reads
what its script printed: items found, the recipe and store that read the byte ranges, the
format of the header read back, every downloaded asset verified, and for CDSE the temporary
key pair deleted.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parent.parent / "recipes"
TIMEOUT = 120.0


@dataclass(frozen=True)
class Case:
    """One script run and what it must print."""

    script: str
    args: tuple[str, ...]
    items: int
    read: str  # "recipe (Store)" on the read line
    header: str  # format recognised in the header bytes
    downloaded: int


CASES = {
    "earth_search": Case("earth_search", (), 2, "earth-search (S3Store)", "TIFF", 4),
    "usgs_astrogeology": Case("usgs_astrogeology", (), 1, "usgs-astrogeology (S3Store)", "TIFF", 2),
    "planetary_computer": Case(
        "planetary_computer", (), 1, "planetary_computer (AzureStore)", "TIFF", 2
    ),
    "cdse": Case("cdse", (), 1, "cdse (S3Store)", "JPEG 2000", 2),
    "nasa_emit": Case("nasa_emit", (), 1, "earthdata (HTTPStore)", "HDF5", 1),
    "nasa_emit_in_region": Case("nasa_emit", ("--in-region",), 1, "earthdata (S3Store)", "HDF5", 1),
    "dlr_enmap": Case("dlr_enmap", (), 1, "dlr (HTTPStore)", "TIFF", 2),
    "sharinghub": Case("sharinghub", (), 1, "sharinghub (HTTPStore)", "unknown format", 1),
}


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@pytest.fixture(scope="module")
def finished() -> Iterator[dict[str, Finished]]:
    """Start every case at once; collect each one's output."""
    started = time.monotonic()
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(RECIPES / f"{case.script}.py"), "--offline", *case.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, case in CASES.items()
    }
    results: dict[str, Finished] = {}
    try:
        for name, process in processes.items():
            out, err = process.communicate(timeout=TIMEOUT)
            results[name] = Finished(process.returncode, out, err, time.monotonic() - started)
        yield results
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_every_catalog_has_a_script_and_every_script_a_case() -> None:
    scripts = {path.stem for path in RECIPES.glob("*.py") if not path.stem.startswith("_")}
    assert scripts == {
        "planetary_computer",
        "earth_search",
        "cdse",
        "nasa_emit",
        "dlr_enmap",
        "usgs_astrogeology",
        "sharinghub",
    }
    assert {case.script for case in CASES.values()} == scripts


@pytest.mark.xdist_group("recipes_scripts")
@pytest.mark.parametrize("name", sorted(CASES))
def test_script_runs_offline_reads_ranges_and_downloads_verified(
    name: str, finished: dict[str, Finished]
) -> None:
    case, run = CASES[name], finished[name]
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr == "", run.stderr  # no warning, no traceback
    out = run.stdout
    assert f"search: {case.items} items from http://127.0.0.1:" in out
    reads = re.findall(r"^read: .* via (.+?): (\d+) bytes, header (\d+) bytes \((.+?)\)", out, re.M)
    assert len(reads) == case.items, out
    for via, size, header, kind in reads:
        assert via == case.read
        assert int(header) == min(16384, int(size))
        assert kind.startswith(case.header)
    assert re.search(r"3 ranges 196608 bytes", out)
    assert out.count("downloaded: ") == case.downloaded
    assert f"; all {case.downloaded} verified" in out
    assert "not verified" not in out
    if case.script == "cdse":
        assert "revoked the temporary S3 key pair this run created" in out
    assert run.seconds < 60, f"{name} took {run.seconds:.1f} s"


@pytest.mark.xdist_group("recipes_scripts")
def test_help_documents_service_credentials_and_offline_mode() -> None:
    processes = {
        script: subprocess.Popen(
            [sys.executable, str(RECIPES / f"{script}.py"), "--help"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for script in {case.script for case in CASES.values()}
    }
    for script, process in processes.items():
        out, _ = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, script
        for heading in ("Service:", "Credentials:", "Recipe:", "--offline"):
            assert heading in out, f"{script} --help lacks {heading}"
