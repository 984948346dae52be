"""Runs one peer on one scenario in its own process: ``python -m benchmarks._worker``.

Reads ``{"peer", "scenario", "origin"}`` as JSON on stdin and prints one JSON line: the
peer's :class:`~benchmarks.model.Measurement` with peak RSS and CPU seconds filled in (this
process and the tools it ran). The peer's ``IMPORTS`` are imported first and their CPU is
reported apart (``import_cpu_seconds``), as the wall time excludes them too.
"""

from __future__ import annotations

import importlib
import json
import resource
import sys
import traceback
from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers import load

_KIB = 1024


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mib() -> float:
    # ru_maxrss of RUSAGE_SELF survives exec: a fresh worker reports the harness's RSS at fork.
    # VmHWM is the high-water mark of this process's own memory only. For the tools it ran,
    # RUSAGE_CHILDREN (KiB) is the largest child, floored at this worker's RSS when it forked,
    # which is below VmHWM, so the maximum of the two is right.
    own = 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1])
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, child) / _KIB


def main() -> None:
    """Run the peer named on stdin and print its measurement."""
    request = json.load(sys.stdin)
    scenario = Scenario.from_json(request["scenario"])
    origin = Origin.from_json(request["origin"])
    peer = load(request["peer"])
    cpu_start = cpu_before = _cpu()
    try:
        # The peer's own imports are not the transfer: its wall clock starts after them too.
        for name in peer.IMPORTS:
            importlib.import_module(name)
        cpu_before = _cpu()
        measurement: Measurement = peer.run(scenario, origin)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        measurement = Measurement(peer.NAME, scenario.name, 0.0, 0, error=f"{error}"[:500])
    result = measurement.to_json()
    result["cpu_seconds"] = _cpu() - cpu_before
    result["import_cpu_seconds"] = cpu_before - cpu_start
    result["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
