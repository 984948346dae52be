"""How ``read_ranges``'s defaults were chosen: scenario 3 at several ``coalesce`` gaps.

``python -m benchmarks.range_gaps [--gap KIB ...] [--concurrency N ...] [--profile wan|lan ...]
[--repeat N] [--peer NAME ...]`` runs the obstac peer on the ranges scenario (quick sizes) once
per gap and concurrency, each in its own worker behind a fresh link, exactly as ``python -m
benchmarks`` does, and the named reference peers (default: obstore, aiohttp, fsspec-http) beside
them. The settings reach the worker through :data:`OPTIONS_ENV`. Runs are interleaved (every
setting once, then again) so a busy machine spreads its noise over all of them; each row is the
median of ``--repeat`` runs, with the min-max and the requests and wire MiB of the median run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import cast

from benchmarks.model import MIB, Measurement, Scenario
from benchmarks.origins import MemoryOrigin, NginxOrigin, nginx_path
from benchmarks.peers.obstac_transfer import OPTIONS_ENV
from benchmarks.runner import measure
from benchmarks.scenarios import scenarios
from obstac.testing.latency_proxy import ProfileName

DEFAULT_GAPS_KIB = (0, 32, 64, 128, 256, 1024)
DEFAULT_PEERS = ("obstore", "aiohttp", "fsspec-http")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.range_gaps")
    parser.add_argument("--gap", type=int, action="append", help="coalesce gap in KiB")
    parser.add_argument("--concurrency", type=int, action="append", help="max_concurrency")
    parser.add_argument("--profile", action="append", choices=["wan", "lan"])
    parser.add_argument("--peer", action="append", help="reference peers (default: 3)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--files", type=int, help="keep the first N files and their ranges")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the grid and print one line per setting."""
    args = parse(argv)
    gaps = args.gap if args.gap is not None else list(DEFAULT_GAPS_KIB)
    concurrencies: list[int | None] = list(args.concurrency or [None])
    profiles = [cast("ProfileName", p) for p in (args.profile or ["wan", "lan"])]
    peers = args.peer if args.peer is not None else list(DEFAULT_PEERS)
    (scenario,) = scenarios("quick", ("ranges",))
    if args.files is not None:
        scenario = _first_files(scenario, args.files)
    settings: list[tuple[str, dict[str, int]]] = []
    for gap in gaps:
        for concurrency in concurrencies:
            options = {"coalesce": gap * 1024}
            if concurrency is not None:
                options["max_concurrency"] = concurrency
            settings.append(("obstac", options))
    settings += [(peer, {}) for peer in peers]
    runs: dict[tuple[str, str, str], list[Measurement]] = {}
    with ExitStack() as stack:
        if nginx_path() is not None:
            data = Path(tempfile.mkdtemp(prefix="obstac-bench-data-"))
            stack.callback(shutil.rmtree, data, ignore_errors=True)
            origin: NginxOrigin | MemoryOrigin = stack.enter_context(NginxOrigin(data))
        else:
            origin = stack.enter_context(MemoryOrigin())
        origin.add(scenario)
        for _ in range(args.repeat):
            for profile in profiles:
                for peer, options in settings:
                    os.environ[OPTIONS_ENV] = json.dumps(options)
                    before = listen_overflows()
                    measured = measure(peer, scenario, origin, profile)
                    dropped = listen_overflows() - before
                    measured = dataclasses.replace(
                        measured, extra={**measured.extra, "listen_overflows": dropped}
                    )
                    key = (str(profile), peer, json.dumps(options))
                    runs.setdefault(key, []).append(measured)
                    print(f"  {_row(key, [measured])}", flush=True)
    os.environ.pop(OPTIONS_ENV, None)
    print(f"{scenario.title}; origin {origin.name}; median (min-max) of {args.repeat}")
    print("profile | peer | options | s | requests | wire MiB | listen overflows (all runs)")
    for setting, measured_runs in runs.items():
        print(_row(setting, measured_runs))


def _first_files(scenario: Scenario, files: int) -> Scenario:
    """The scenario cut to its first ``files`` files and their ranges (same layout per file)."""
    objects = scenario.objects[:files]
    keys = {obj.key for obj in objects}
    ranges = tuple(r for r in scenario.ranges if r.key in keys)
    title = f"{len(ranges)} ranges of 16-64 KiB over {files} file{'s' * (files != 1)}"
    return dataclasses.replace(scenario, title=title, objects=objects, ranges=ranges)


def _row(key: tuple[str, str, str], runs: list[Measurement]) -> str:
    profile, peer, options = key
    failed = [m.error for m in runs if m.error is not None]
    if failed:
        return f"{profile} | {peer} | {options} | FAILED: {failed[0]}"
    ordered = sorted(runs, key=lambda m: m.seconds)
    median = ordered[(len(ordered) - 1) // 2]
    spread = f"{ordered[0].seconds:.2f}-{ordered[-1].seconds:.2f}"
    return (
        f"{profile} | {peer} | {options} | {median.seconds:.2f} ({spread}) | "
        f"{median.requests} | {(median.wire_bytes or 0) / MIB:.1f} | "
        f"{sum(int(m.extra.get('listen_overflows', 0)) for m in runs)}"
    )


def listen_overflows() -> int:
    """The machine's count of connections dropped because a listen queue was full (Linux).

    The proxies listen with asyncio's default backlog (100): a burst of more new connections
    than that, met by a busy accept loop, loses SYNs, and each lost one costs the client a 1 s
    retransmit. Counted around every run so such runs can be told apart (machine-wide: other
    jobs' drops count too); 0 off Linux.
    """
    path = Path("/proc/net/netstat")
    if not path.exists():
        return 0
    lines = path.read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            row = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(row.get("ListenOverflows", 0))
    return 0


if __name__ == "__main__":
    main()
