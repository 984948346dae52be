"""``python -m benchmarks [--full] [--scenario NAME] [--peer NAME] [--profile wan|lan]
[--repeat N]``. Scenario names: small, large, ranges, cog (3b: windows of real COGs), items,
mirror, providers (6: small@s3, small@azure...), sweep (7: sweep-1 ... sweep-256)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import cast

from rich.console import Console

from benchmarks import cog
from benchmarks.groups import ceilings, run_groups
from benchmarks.origins import MemoryOrigin, NginxOrigin, nginx_path
from benchmarks.peers import DEFAULT_PEERS, PEERS
from benchmarks.report import RESULTS, chart, document, print_table, write_json
from benchmarks.runner import REFERENCE
from benchmarks.scenarios import Mode, scenarios
from benchmarks.sweep import chart as sweep_chart
from obstac.testing.latency_proxy import PROFILES, ProfileName


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--full", action="store_true", help="full sizes (default: quick)")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--scenario", action="append", help="only this scenario (repeatable)")
    parser.add_argument(
        "--peer",
        action="append",
        choices=list(PEERS),
        help="only this peer (repeatable)",
    )
    parser.add_argument(
        "--profile", action="append", choices=sorted(PROFILES), help="link profile (default wan)"
    )
    parser.add_argument(
        "--origin",
        choices=["auto", "nginx", "memory"],
        default="auto",
        help="nginx when installed (auto), or obstac.testing.RangeHTTPServer (memory)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per peer; the table shows the median and the min-max (default 1)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for JSON and PNG")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> Path:
    """Run the suite; print the table; write the JSON (returned) and the PNG."""
    args = parse(argv)
    console = Console(width=max(Console().width, 140))
    mode: Mode = "full" if args.full else "smoke" if args.smoke else "quick"
    chosen = scenarios(mode, tuple(args.scenario) if args.scenario else None)
    left_out = None if args.scenario else cog.unavailable()
    if left_out is not None:
        console.print(f"cog scenario left out: {left_out}")
    peers = list(args.peer or DEFAULT_PEERS)
    if REFERENCE not in peers:
        peers.insert(0, REFERENCE)
    profiles = [cast("ProfileName", p) for p in (args.profile or ["wan"])]
    use_nginx = args.origin == "nginx" or (args.origin == "auto" and nginx_path() is not None)
    with ExitStack() as stack:
        if use_nginx:
            data = Path(tempfile.mkdtemp(prefix="obstac-bench-data-"))
            stack.callback(shutil.rmtree, data, ignore_errors=True)
            origin: NginxOrigin | MemoryOrigin = stack.enter_context(NginxOrigin(data))
        else:
            console.print("nginx not found: serving from obstac.testing.RangeHTTPServer")
            origin = stack.enter_context(MemoryOrigin())
        measurements, skipped = run_groups(
            chosen,
            origin,
            mode=mode,
            peers=peers,
            profiles=profiles,
            progress=lambda line: console.print(line, style="dim", highlight=False, markup=False),
            repeat=args.repeat,
        )
    print_table(chosen, measurements, console)
    for line in ceilings(measurements):
        console.print(line)
    for skip in skipped:
        console.print(f"skipped {skip['peer']} on {skip['scenario']}: {skip['reason']}")
    path = write_json(document(mode, origin.name, chosen, measurements, skipped), args.results)
    console.print(f"results: {path}")
    if not args.no_chart:
        bars = [s for s in chosen if s.concurrency is None]
        png = chart(bars, measurements, path.with_suffix(".png"))
        swept = sweep_chart(measurements, path.with_name(f"{path.stem}-sweep.png"))
        console.print(
            f"chart: {png}" + (f", sweep: {swept}" if swept else "")
            if png
            else "chart skipped: matplotlib is not installed "
            "(pip install -r benchmarks/requirements.txt)"
        )
    return path


if __name__ == "__main__":
    main()
