"""Scenario 6: the same workloads once per provider origin (S3 = moto signed, Azure = Azurite,
GCS = the GCS double, HTTP = nginx), to compare providers.

Each workload becomes ``<workload>@<provider>`` (``small@s3``, ...), with the same objects. Peers
run where they speak the origin's API (their ``PROVIDERS``): obstac (generic recipes) and raw
obstore everywhere, boto3 / s5cmd / rclone / s3fs on moto (signed) and nginx (unsigned), the
HTTP peers on nginx only; the sequential peers are left to scenario 1. Servers:
:mod:`benchmarks.provider_origins`.
"""

from __future__ import annotations

import dataclasses

from benchmarks.model import KIB, MIB, Mode, ObjectSpec, Provider, Scenario

PROVIDERS: tuple[Provider, ...] = ("s3", "azure", "gcs", "http")
"""The origins, in table order."""

SIZES: dict[Mode, tuple[tuple[str, int, int], ...]] = {
    # (workload, count, size): moto and the GCS double are slow Python servers, keep quick small.
    "smoke": (("small", 4, 256 * KIB),),
    "quick": (("small", 50, MIB),),
    "full": (("small", 200, MIB), ("large", 2, 128 * MIB)),
}

LEFT_OUT = frozenset({"requests-seq", "urllib-seq"})
"""Peers not run on scenario 6: sequential, already measured by scenario 1."""


def provider_scenarios(mode: Mode) -> list[Scenario]:
    """Every workload of the mode, once per provider (the objects are shared)."""
    built: list[Scenario] = []
    for workload, count, size in SIZES[mode]:
        objects = tuple(
            ObjectSpec(f"{mode}/providers/{workload}/f{i:04d}.bin", size) for i in range(count)
        )
        unit = f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"
        base = Scenario(workload, f"{count} x {unit}", "download", objects)
        built.extend(
            dataclasses.replace(
                base,
                name=f"{workload}@{provider}",
                title=f"{base.title} from {provider}",
                provider=provider,
            )
            for provider in PROVIDERS
        )
    return built
