"""Runs the chosen scenarios group by group: each group on its own origin with its own peers.

- the plain scenarios (1-3, and the collection ones) on the run's origin, every peer;
- scenario 6 (:mod:`benchmarks.providers`) on each provider's origin in turn
  (:mod:`benchmarks.provider_origins`), the peers that speak it, then raw obstore again under
  ``lan`` on the same origin: that server's ceiling, the fastest any peer can read it here;
- scenario 7 (:mod:`benchmarks.sweep`) on the run's origin, obstac only (``--full``: and raw
  obstore).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import ExitStack

from benchmarks.model import Measurement, Mode, Scenario
from benchmarks.provider_origins import server_for
from benchmarks.providers import LEFT_OUT, PROVIDERS
from benchmarks.runner import OriginServer, Progress, run_suite
from benchmarks.sweep import FULL_PEERS
from benchmarks.sweep import PEERS as SWEEP_PEERS
from obstac.testing.latency_proxy import ProfileName

CEILING_PEER = "obstore"
"""The peer whose ``lan`` run measures a provider origin's own ceiling."""

CEILING_NOTE = "server ceiling (lan, no link caps)"
"""Starts the note of those runs."""

Result = tuple[list[Measurement], list[dict[str, str]]]


def run_groups(
    chosen: Sequence[Scenario],
    origin: OriginServer,
    *,
    mode: Mode,
    peers: Sequence[str],
    profiles: Sequence[ProfileName],
    progress: Progress,
    repeat: int = 1,
) -> Result:
    """Run every group of ``chosen``; the measurements in group order, and the skipped runs."""
    measurements: list[Measurement] = []
    skipped: list[dict[str, str]] = []

    def run(
        group: list[Scenario], server: OriginServer, who: Sequence[str], on: Sequence[ProfileName]
    ) -> None:
        done, skips = run_suite(
            group, server, peers=who, profiles=on, progress=progress, repeat=repeat
        )
        measurements.extend(done)
        skipped.extend(skips)

    plain = [s for s in chosen if s.provider is None and s.concurrency is None]
    if plain:
        run(plain, origin, peers, profiles)
    for provider in PROVIDERS:
        group = [s for s in chosen if s.provider == provider]
        if not group:
            continue
        with ExitStack() as stack:
            try:
                server = stack.enter_context(server_for(provider, origin))
            except RuntimeError as error:  # e.g. Azurite not installed: say so, run the rest
                reason = f"the {provider} origin did not start: {error}"
                skipped.extend({"peer": "all", "scenario": s.name, "reason": reason} for s in group)
                continue
            progress(f"scenario 6 on {server.name} ({provider})")
            run(group, server, [p for p in peers if p not in LEFT_OUT], profiles)
            if CEILING_PEER in peers and "lan" not in profiles:
                run(group, server, [CEILING_PEER], ["lan"])
        names = {s.name for s in group}
        measurements[:] = [
            dataclasses.replace(m, note=f"{CEILING_NOTE}; {m.note}")
            if m.scenario in names and m.peer == CEILING_PEER and m.profile == "lan"
            else m
            for m in measurements
        ]
    sweep = [s for s in chosen if s.concurrency is not None]
    if sweep:
        swept = FULL_PEERS if mode == "full" else SWEEP_PEERS
        run(sweep, origin, [p for p in peers if p in swept], profiles)
    return measurements, skipped


def ceilings(measurements: Sequence[Measurement]) -> list[str]:
    """One line per provider scenario: its server's ceiling next to obstac's rate."""
    lines = []
    for m in measurements:
        if m.note.startswith(CEILING_NOTE) and m.error is None:
            obstac = next(
                (
                    o
                    for o in measurements
                    if o.scenario == m.scenario and o.peer == "obstac" and o.error is None
                ),
                None,
            )
            rate = f"obstac {obstac.mib_per_s:.1f} MiB/s ({obstac.profile})" if obstac else ""
            lines.append(
                f"{m.scenario}: server ceiling {m.mib_per_s:.1f} MiB/s (raw obstore, lan); {rate}"
            )
    return lines
