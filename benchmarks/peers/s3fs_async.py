"""s3fs (fsspec over aiobotocore), run from the peers' venv (``.venv-peers``,
:mod:`benchmarks.peers._venv`): its aiobotocore pins a botocore older than ``.venv``'s boto3.

Downloads: one ``fs.get(remote_paths, local_paths)``; ranges: one ``fs.cat_ranges(paths,
starts, ends)``, one GET per range (no merging). fsspec runs either as coroutines, at most
``batch_size`` at once: here :data:`~benchmarks.peers._common.CONCURRENCY` (64, as the other
concurrent peers; fsspec's default for ``get`` is an eighth of the open-files limit), and
aiobotocore's connection pool is raised to match (``max_pool_connections``: its default 10
would hold any batch to 10 connections). ``get`` keeps s3fs's own defaults per object: one GET,
or, above ``default_block_size`` (50 MiB), that GET closed once it gave the length and the
object fetched as 50 MiB ranged GETs, ``max_concurrency`` (10) at a time. Path-style; unsigned
(``anon=True``) on the S3 stand-in (nginx), signed with moto's test keys on moto; responses'
checksums validated only when required, as the boto3 peer. The client is built before the
clock starts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers import _venv
from benchmarks.peers._common import CONCURRENCY, check_ranges, local_path, timed_download
from benchmarks.peers._provider import S3_AND_HTTP, s3_keys
from obstac.testing.moto import DEFAULT_REGION

NAME = "s3fs"
KINDS = frozenset({"download", "ranges"})
NEEDS_S3 = True
IMPORTS: tuple[str, ...] = ("s3fs",)
PROVIDERS = S3_AND_HTTP


def interpreter() -> Path:
    """The peers' venv's Python: s3fs is not installed in ``.venv``."""
    return _venv.interpreter()


def missing() -> str | None:
    """Why the peer cannot run (no peers' venv, or s3fs or obstac not in it), or None."""
    return _venv.missing("s3fs", "obstac")


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``get`` every object, or ``cat_ranges`` every range, in one call (see the module)."""
    import s3fs

    keys = s3_keys(origin)
    signing: dict[str, Any] = {"anon": True}
    if keys is not None:
        signing = {"key": keys[0], "secret": keys[1]}
    fs = s3fs.S3FileSystem(
        **signing,
        client_kwargs={"endpoint_url": origin.url, "region_name": DEFAULT_REGION},
        config_kwargs={
            "s3": {"addressing_style": "path"},
            "max_pool_connections": CONCURRENCY,
            "response_checksum_validation": "when_required",
        },
        skip_instance_cache=True,
    )
    fs.connect()  # the aiobotocore client, before the clock
    how = f"batch_size {CONCURRENCY}, {CONCURRENCY} connections, {'signed' if keys else 'anon'}"

    if scenario.kind == "ranges":
        paths = [f"{origin.bucket}/{r.key}" for r in scenario.ranges]
        starts = [r.start for r in scenario.ranges]
        ends = [r.end for r in scenario.ranges]
        started = time.perf_counter()
        chunks = fs.cat_ranges(paths, starts, ends, batch_size=CONCURRENCY, on_error="raise")
        seconds = time.perf_counter() - started
        total = check_ranges(scenario, [len(c) for c in chunks])
        return Measurement(NAME, scenario.name, seconds, total, f"cat_ranges, {how}")

    def work(root: Path) -> None:
        remote = [f"{origin.bucket}/{obj.key}" for obj in scenario.objects]
        local = [str(local_path(root, obj.key)) for obj in scenario.objects]
        fs.get(remote, local, batch_size=CONCURRENCY)

    return timed_download(NAME, scenario, f"get, {how}", work)
