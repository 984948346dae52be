"""Runs the suite: each peer in its own subprocess, behind a fresh proxy chain, in one run.

Per run: wall time (the peer times its transfer), payload bytes (checked on disk or in memory),
requests (counted at the CountingProxy), peak RSS and CPU seconds (the worker's rusage, with
its children's), then the ratio to obstac's time in the same run and the efficiency against
the profile's ideal time (:func:`benchmarks.network.ideal_seconds`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, cast

from benchmarks.mirror import MirrorSink, sink_for
from benchmarks.model import Measurement, Origin, Provider, Scenario
from benchmarks.network import Link, ideal_seconds
from benchmarks.origins import BUCKET
from benchmarks.peers import PEERS, load
from benchmarks.provider_origins import speaks
from benchmarks.repeat import repeated
from obstac.testing.latency_proxy import ProfileName

RUN_TIMEOUT = 600.0
"""Seconds one peer may take on one scenario before it is killed and reported as failed."""

REFERENCE = "obstac"
"""The peer every ratio is taken against."""


class OriginServer(Protocol):
    """What the runner needs of an origin (:mod:`benchmarks.origins`)."""

    name: str
    s3: bool
    provider: Provider

    @property
    def port(self) -> int:
        """The port it listens on."""
        ...

    def add(self, scenario: Scenario) -> None:
        """Make a scenario's objects available."""
        ...


Progress = Callable[[str], None]


def skip_reason(peer: str, scenario: Scenario, origin: OriginServer) -> str | None:
    """Why a peer does not run on a scenario, or None when it does."""
    module = load(peer)
    if scenario.kind not in module.KINDS or not speaks(module, origin.provider):
        return "n/a"
    # Not installed first: it is the reason to act on, whatever the origin.
    reason: str | None = module.missing()
    if reason is None and module.NEEDS_S3 and not origin.s3:
        reason = f"needs an S3 origin ({origin.name} is not)"
    return reason


def interpreter(peer: str) -> str:
    """The Python a peer's worker runs in: the peer's ``interpreter()`` when it has one (peers
    whose pins clash with this venv's, :mod:`benchmarks.peers._venv`), else this one."""
    own = getattr(load(peer), "interpreter", None)
    return str(own()) if own is not None else sys.executable


def run_one(peer: str, scenario: Scenario, origin: Origin) -> Measurement:
    """Run one peer in a subprocess; its temp files go to a folder removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"obstac-bench-{peer}-"))
    # LIBC_FATAL_STDERR_: glibc writes fatal errors (an abort in native code) to /dev/tty by
    # default; send them to stderr, which the report quotes.
    env = {**os.environ, "TMPDIR": str(workdir), "LIBC_FATAL_STDERR_": "1"}
    request = {"peer": peer, "scenario": scenario.to_json(), "origin": origin.to_json()}
    try:
        done = subprocess.run(  # noqa: S603 - a Python of ours (this one or the peers' venv's)
            [interpreter(peer), "-m", "benchmarks._worker"],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Measurement(peer, scenario.name, 0.0, 0, error=f"timed out after {RUN_TIMEOUT} s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    result = _result(lines[-1]) if lines else None
    if result is None:
        error = f"worker exited {done.returncode}: {done.stderr[-500:]}"
        return Measurement(peer, scenario.name, 0.0, 0, error=error)
    if done.returncode != 0:
        # The peer finished and its bytes were checked, then the process died on the way out
        # (raw obstore's workers abort with SIGABRT at interpreter exit now and then, about 1
        # in 10 under load): keep the measurement, record the exit.
        result = dataclasses.replace(result, extra={**result.extra, "exit": done.returncode})
    return result


def _result(line: str) -> Measurement | None:
    """The worker's measurement line, or None when it is not one (it died before printing)."""
    try:
        return Measurement.from_json(json.loads(line))
    except (ValueError, TypeError, KeyError):
        return None


def run_suite(
    scenarios: Sequence[Scenario],
    origin: OriginServer,
    *,
    peers: Sequence[str] = tuple(PEERS),
    profiles: Sequence[ProfileName] = ("wan",),
    progress: Progress = lambda _line: None,
    repeat: int = 1,
) -> tuple[list[Measurement], list[dict[str, str]]]:
    """Run every peer on every scenario under every profile, ``repeat`` times each.

    Returns:
        The measurements (ratios and efficiencies filled in), and the skipped runs as
        ``{"peer", "scenario", "reason"}``.
    """
    measurements: list[Measurement] = []
    skipped: list[dict[str, str]] = []
    for scenario in scenarios:
        origin.add(scenario)
        runs = [(profile, peer) for profile in profiles for peer in peers]
        with sink_for(scenario) as sink:  # the S3 bucket of mirror scenarios, else None
            for profile, peer in runs:
                reason = skip_reason(peer, scenario, origin)
                if reason is not None:
                    if reason != "n/a":
                        skipped.append({"peer": peer, "scenario": scenario.name, "reason": reason})
                    continue
                progress(f"{scenario.name} [{profile}] {peer} ...")

                def once(
                    peer: str = peer,
                    profile: ProfileName = profile,
                    scenario: Scenario = scenario,
                    sink: MirrorSink | None = sink,
                ) -> Measurement:
                    mirror_to = sink.fresh() if sink is not None else None  # empty every run
                    measured = measure(peer, scenario, origin, profile, mirror_to=mirror_to)
                    progress(f"  {_line(measured)}")
                    return measured

                measured = repeated(once, repeat)
                measurements.append(measured)
    return with_ratios(measurements, scenarios), skipped


def measure(
    peer: str,
    scenario: Scenario,
    origin: OriginServer,
    profile: ProfileName,
    *,
    mirror_to: str | None = None,
) -> Measurement:
    """One run of one peer behind a fresh link; requests and wire bytes filled in.

    ``mirror_to``: the empty S3 bucket a ``mirror`` scenario copies into (its moto is reached
    directly, not through the link).
    """
    with Link(profile, origin.port) as link:
        where = Origin(
            url=link.url,
            bucket=BUCKET,
            server=origin.name,
            s3=origin.s3,
            provider=origin.provider,
            mirror_to=mirror_to,
        )
        measured = run_one(peer, scenario, where)
        requests, wire, signed = link.requests(), link.wire_bytes(), link.signed()
    extra = {**measured.extra, "signed_requests": signed}
    return dataclasses.replace(
        measured, profile=profile, requests=requests, wire_bytes=wire, extra=extra
    )


def with_ratios(
    measurements: Sequence[Measurement], scenarios: Sequence[Scenario]
) -> list[Measurement]:
    """Fill in each run's ratio to obstac (same scenario and profile) and its efficiency."""
    payload = {s.name: s.payload_bytes for s in scenarios}
    reference = {
        (m.scenario, m.profile): m.seconds
        for m in measurements
        if m.peer == REFERENCE and m.error is None
    }
    done = []
    for m in measurements:
        if m.error is not None:
            done.append(m)
            continue
        ref = reference.get((m.scenario, m.profile))
        ideal = ideal_seconds(payload[m.scenario], cast("ProfileName", m.profile))
        done.append(
            dataclasses.replace(
                m,
                ratio=m.seconds / ref if ref else None,
                efficiency=ideal / m.seconds if ideal is not None and m.seconds > 0 else None,
            )
        )
    return done


def _line(m: Measurement) -> str:
    if m.error is not None:
        return f"{m.peer}: FAILED {m.error[:200]}"
    return f"{m.peer}: {m.seconds:.2f} s, {m.mib_per_s or 0:.1f} MiB/s, {m.requests} requests"
