"""The benchmark harness runs end to end on one tiny scenario (obstac and raw obstore only).

No extra installs and no nginx: the origin is obstac.testing.RangeHTTPServer, behind the same
LatencyProxy + CountingProxy chain the real runs use.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main


@pytest.mark.parametrize("scenario", ["small", "ranges"])
def test_harness_writes_ratios_and_efficiency(tmp_path: Path, scenario: str) -> None:
    path = main(
        [
            "--smoke",
            "--origin",
            "memory",
            "--scenario",
            scenario,
            "--peer",
            "obstac",
            "--peer",
            "obstore",
            "--results",
            str(tmp_path),
            "--no-chart",
        ]
    )
    doc = json.loads(path.read_text())
    assert doc["mode"] == "smoke"
    assert doc["origin"] == "RangeHTTPServer"
    assert {"platform", "cpus", "python"} <= set(doc["machine"])
    assert "MiB/s" in doc["proxy_ceiling"]
    [described] = doc["scenarios"]
    runs = {run["peer"]: run for run in doc["runs"]}
    assert set(runs) == {"obstac", "obstore"}
    for run in runs.values():
        assert run["error"] is None, run["error"]
        assert run["scenario"] == scenario
        assert run["profile"] == "wan"
        assert run["bytes"] == described["payload_bytes"]
        assert run["seconds"] > 0
        assert run["mib_per_s"] > 0
        assert run["requests"] >= 1
        assert run["wire_bytes"] >= described["payload_bytes"]
        assert 10 < run["peak_rss_mib"] < 1024
        assert run["cpu_seconds"] >= 0
        # The library is imported before the CPU clock starts, and its import is counted apart.
        assert run["import_cpu_seconds"] > 0
        # Efficiency = (bytes / 200 MiB/s + 40 ms) / measured: below 1 through the proxy.
        assert 0 < run["efficiency"] < 1
    assert runs["obstac"]["ratio"] == 1.0
    assert runs["obstore"]["ratio"] == pytest.approx(
        runs["obstore"]["seconds"] / runs["obstac"]["seconds"]
    )
    if scenario == "ranges":
        # 40 ranges over 2 files of 2 MiB: coalesced into far fewer requests than ranges.
        assert runs["obstac"]["requests"] < described["ranges"]
