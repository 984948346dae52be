"""The benchmark harness runs end to end on tiny scenarios (obstac and raw obstore; rasterio, a
test dependency, on the COG scenario).

No extra installs and no nginx: the origin is obstac.testing.RangeHTTPServer, behind the same
LatencyProxy + CountingProxy chain the real runs use; scenario 6 also starts moto, Azurite and
the GCS double, and the mirror scenario writes into moto.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import venv
from pathlib import Path
from typing import Any

import pytest
import rasterio

from benchmarks import cog
from benchmarks.__main__ import main
from benchmarks.collection import SIZES
from benchmarks.model import Measurement
from benchmarks.origins import MemoryOrigin
from benchmarks.peers._common import read_files
from benchmarks.peers._windows import timed_windows
from benchmarks.repeat import repeated
from benchmarks.runner import interpreter, skip_reason
from benchmarks.scenarios import PAYLOAD_BLOCK, _payload, scenarios


def _run(tmp_path: Path, scenario: str, *options: str) -> dict[str, Any]:
    """A smoke run of one scenario (or group) on the in-memory origin; its JSON document."""
    args = ["--smoke", "--origin", "memory", "--scenario", scenario, "--no-chart"]
    path = main([*args, "--results", str(tmp_path), *options])
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.mark.parametrize("scenario", ["small", "ranges"])
def test_harness_writes_ratios_and_efficiency(tmp_path: Path, scenario: str) -> None:
    doc = _run(tmp_path, scenario, "--peer", "obstac", "--peer", "obstore")
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


def test_provider_origins_each_serve_the_workload_through_their_recipe(tmp_path: Path) -> None:
    doc = _run(tmp_path, "providers", "--peer", "obstac", "--peer", "obstore")
    described = {s["name"]: s for s in doc["scenarios"]}
    assert set(described) == {"small@s3", "small@azure", "small@gcs", "small@http"}
    runs = {(r["scenario"], r["peer"], r["profile"]): r for r in doc["runs"]}
    assert len(runs) == 12  # obstac and obstore under wan, obstore's lan ceiling, per origin
    for name, scenario in described.items():
        for peer, profile in (("obstac", "wan"), ("obstore", "wan"), ("obstore", "lan")):
            run = runs[(name, peer, profile)]
            assert run["error"] is None, run["error"]
            assert run["bytes"] == scenario["payload_bytes"]
            # One GET per object, on every provider: no HEAD, no listing.
            assert run["requests"] == scenario["objects"]
            # moto and Azurite get signed requests (S3 SigV4, Azure shared key); the GCS
            # double and nginx are read unsigned.
            signed = name in {"small@s3", "small@azure"}
            assert run["extra"]["signed_requests"] == (run["requests"] if signed else 0)
        ceiling = runs[(name, "obstore", "lan")]
        assert ceiling["note"].startswith("server ceiling")
        assert ceiling["efficiency"] is None  # lan has no cap to compare with
        assert runs[(name, "obstac", "wan")]["ratio"] == 1.0


def test_concurrency_sweep_serialises_at_one_and_repeats_report_spread(tmp_path: Path) -> None:
    doc = _run(tmp_path, "sweep", "--repeat", "2")
    runs = {r["scenario"]: r for r in doc["runs"]}
    assert set(runs) == {"sweep-1", "sweep-16"}  # obstac only: the other peers are not swept
    objects = doc["scenarios"][0]["objects"]
    for run in runs.values():
        assert run["peer"] == "obstac"
        assert run["error"] is None, run["error"]
        assert run["requests"] == objects
        assert len(run["repeats"]) == 2
        assert run["seconds"] in run["repeats"]
        assert run["seconds_min"] <= run["seconds"] <= run["seconds_max"]
    # One request in flight: every object waits at least one 40 ms round trip after the last.
    assert runs["sweep-1"]["seconds_min"] >= objects * 0.04
    assert "Scheduler(1 in flight)" in runs["sweep-1"]["note"]
    assert runs["sweep-16"]["seconds"] < runs["sweep-1"]["seconds"]


def test_a_failed_repeat_fails_the_entry() -> None:
    outcomes = iter([Measurement("p", "s", 1.0, 10), Measurement("p", "s", 0.0, 0, error="boom")])
    measured = repeated(lambda: next(outcomes), 2)
    assert measured.error == "1 of 2 runs failed; first: boom"
    spread = iter([Measurement("p", "s", t, 10) for t in (3.0, 1.0, 2.0)])
    median = repeated(lambda: next(spread), 3)
    assert (median.seconds, median.repeats) == (2.0, [3.0, 1.0, 2.0])


def test_an_origin_that_does_not_start_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBSTAC_AZURITE", str(tmp_path / "no-azurite-here"))
    doc = _run(tmp_path, "providers", "--peer", "obstac")
    [skip] = [s for s in doc["skipped"] if s["scenario"] == "small@azure"]
    assert "the azure origin did not start" in skip["reason"]
    assert "OBSTAC_AZURITE" in skip["reason"]
    ran = {r["scenario"] for r in doc["runs"] if r["error"] is None}
    assert ran == {"small@s3", "small@gcs", "small@http"}


def test_a_peer_whose_venv_is_absent_is_skipped_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # s3fs runs from the peers' venv (its pins clash with .venv's boto3); make test never makes it.
    monkeypatch.setenv("OBSTAC_BENCH_PEERS_VENV", str(tmp_path / "no-venv-here"))
    doc = _run(tmp_path, "small", "--peer", "s3fs")
    [skip] = doc["skipped"]
    assert skip["peer"] == "s3fs"
    assert f"no peers' venv at {tmp_path / 'no-venv-here'}" in skip["reason"]
    assert "`make bench` creates it" in skip["reason"]
    assert [run["peer"] for run in doc["runs"]] == ["obstac"]


def test_a_peers_venv_without_the_peer_is_named_and_its_python_runs_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "bare-venv"
    venv.create(bare, with_pip=False)
    monkeypatch.setenv("OBSTAC_BENCH_PEERS_VENV", str(bare))
    [small] = scenarios("smoke", ("small",))
    reason = skip_reason("s3fs", small, MemoryOrigin())
    assert reason is not None
    assert f"s3fs, obstac not installed in the peers' venv at {bare}" in reason
    # Its worker would start with the venv's Python; every other peer's with the harness's own.
    assert interpreter("s3fs") == str(bare / "bin" / "python")
    assert interpreter("obstac") == sys.executable


def test_item_collection_scenario_downloads_every_asset_once(tmp_path: Path) -> None:
    doc = _run(tmp_path, "items", "--peer", "obstac", "--peer", "obstore")
    [described] = doc["scenarios"]
    assert described["kind"] == "items"
    runs = {run["peer"]: run for run in doc["runs"]}
    assert set(runs) == {"obstac", "obstore"}
    for run in runs.values():
        assert run["error"] is None, run["error"]
        assert run["bytes"] == described["payload_bytes"]
        # Every asset declares file:size under the part size: one GET each, no HEAD.
        assert run["requests"] == described["objects"]
        assert 0 < run["efficiency"] < 1
    assert "download_items" in runs["obstac"]["note"]
    assert runs["obstac"]["ratio"] == 1.0


def test_mirror_scenario_checks_the_bucket_not_the_exit_code(tmp_path: Path) -> None:
    doc = _run(tmp_path, "mirror", "--peer", "obstac", "--peer", "obstore")
    [described] = doc["scenarios"]
    assert described["kind"] == "mirror"
    runs = {run["peer"]: run for run in doc["runs"]}
    for run in runs.values():
        assert run["error"] is None, run["error"]
        # bytes come from listing the destination bucket after the copy, object by object.
        assert run["bytes"] == described["payload_bytes"]
        assert run["requests"] == described["objects"]
    items, _assets = SIZES["smoke"]["mirror"]
    # download_items also writes each item's JSON beside its assets; raw obstore does not.
    assert runs["obstac"]["extra"]["objects_listed"] == described["objects"] + items
    assert runs["obstore"]["extra"]["objects_listed"] == described["objects"]


def test_payloads_past_one_block_are_drawn_in_blocks() -> None:
    # Full mode's 256 MiB objects overflowed `randbytes` (one int of 8 x size bits) and
    # crashed `--full` before its second scenario; payloads are now drawn in blocks.
    whole = _payload("large", 0, PAYLOAD_BLOCK + 10)
    assert len(whole) == PAYLOAD_BLOCK + 10
    assert whole[:PAYLOAD_BLOCK] == _payload("large", 0, PAYLOAD_BLOCK)  # seeded, stable
    assert whole[PAYLOAD_BLOCK:] != _payload("large", 0, 10)  # the tail is drawn on, not reset
    assert PAYLOAD_BLOCK * 8 < 2**31  # each block stays within randbytes' limit


def test_cog_scenario_reads_tiles_after_headers_and_decodes_windows(tmp_path: Path) -> None:
    doc = _run(
        tmp_path, "cog", "--peer", "obstac", "--peer", "rasterio", "--peer", "obstac-rasterio"
    )
    [described] = doc["scenarios"]
    assert described["kind"] == "cog"
    files, windows = described["objects"], described["windows"]
    runs = {run["peer"]: run for run in doc["runs"]}
    assert set(runs) == {"obstac", "rasterio", "obstac-rasterio"}
    for run in runs.values():
        assert run["error"] is None, run["error"]
        # The tiles the windows touch: their lengths checked (obstac), their pixels (rasterio).
        assert run["bytes"] == described["payload_bytes"]
        assert run["wire_bytes"] >= described["payload_bytes"]
    # obstac reads each file's header, then its tiles: at least two GETs a file, at most one
    # per tile on top of the headers.
    assert 2 * files <= runs["obstac"]["requests"] <= files + described["ranges"]
    assert "header read, then the tiles" in runs["obstac"]["note"]
    # rasterio decoded every 256 x 256 uint16 window, each checked against its crc32, through
    # /vsicurl/ and through obstac's opener, which costs at most twice /vsicurl/'s requests
    # (measured: 24 vs 20; a plain obstac file sent one GET per GDAL read: 10,732 on quick).
    for peer in ("rasterio", "obstac-rasterio"):
        assert runs[peer]["extra"]["decoded_bytes"] == windows * 256 * 256 * 2
        assert "crc32" in runs[peer]["note"]
    assert "RasterioOpener" in runs["obstac-rasterio"]["note"]
    assert runs["obstac-rasterio"]["requests"] <= 2 * runs["rasterio"]["requests"]


def test_cog_checks_fail_a_peer_on_wrong_pixels_or_wrong_tile_ranges() -> None:
    scenario = cog.cog_scenario("smoke")
    first = scenario.windows[0]
    wrong_pixels = dataclasses.replace(
        scenario, windows=(dataclasses.replace(first, crc32=first.crc32 ^ 1), *scenario.windows[1:])
    )
    with pytest.raises(RuntimeError, match="pixels differ"):
        timed_windows("local", wrong_pixels, "", lambda key: rasterio.open(cog.file_path(key)))

    async def local(key: str, starts: list[int], ends: list[int]) -> list[bytes]:
        data = cog.file_path(key).read_bytes()
        return [data[s:e] for s, e in zip(starts, ends, strict=True)]

    assert sum(asyncio.run(read_files(scenario, local))) == scenario.payload_bytes
    shifted = dataclasses.replace(scenario.ranges[0], start=scenario.ranges[0].start + 1)
    wrong_ranges = dataclasses.replace(scenario, ranges=(shifted, *scenario.ranges[1:]))
    with pytest.raises(RuntimeError, match="other tile ranges"):
        asyncio.run(read_files(wrong_ranges, local))
