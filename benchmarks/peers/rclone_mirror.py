"""rclone on the ``mirror`` scenario: one ``rclone copy`` from the origin (``:s3:`` on the S3
stand-in, through the link) to the destination bucket (moto, direct), objects named by
``--files-from`` (the stand-in cannot list), 64 transfers and checkers, upload settings at
rclone's defaults (one PUT below 200 MiB)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.mirror import Destination, timed_mirror
from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._cli import executable, run_tool
from benchmarks.peers._common import CONCURRENCY, out_dir


def named_objects(listing: Path) -> list[str]:
    """The flags of every rclone copy here: copy the objects named in ``listing`` (the S3
    stand-in cannot list), without listing the destination, 64 transfers and checkers."""
    files = ["--files-from", str(listing), "--no-traverse"]
    return [*files, "--transfers", str(CONCURRENCY), "--checkers", str(CONCURRENCY)]


def run_mirror(name: str, scenario: Scenario, origin: Origin) -> Measurement:
    """Copy every object with one ``rclone copy`` between two on-the-fly S3 remotes."""
    tool = executable("rclone")
    assert tool is not None
    listing = out_dir() / "files.txt"
    listing.write_text("".join(f"{obj.key}\n" for obj in scenario.objects))
    source = f":s3,provider=Other,endpoint='{origin.url}',force_path_style=true:{origin.bucket}"

    def work(destination: Destination) -> None:
        target = (
            f":s3,provider=Other,endpoint='{destination.endpoint}',force_path_style=true,"
            f"access_key_id={destination.access_key_id},"
            f"secret_access_key={destination.secret_access_key},"
            f"region={destination.region}:{destination.bucket}"
        )
        run_tool(
            [
                tool,
                "copy",
                source,
                target,
                "--config",
                "/dev/null",
                *named_objects(listing),
            ]
        )

    note = f"rclone copy :s3: -> :s3:, {CONCURRENCY} transfers"
    return timed_mirror(name, scenario, origin, note, work)
