"""boto3 ``download_file`` from a thread pool of 32 (s3transfer splits objects over 8 MiB into
ranged parts with its own 10 threads each), path-style: unsigned against the S3 stand-in
(nginx), signed with moto's test keys against moto."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import local_path, timed_download
from benchmarks.peers._provider import S3_AND_HTTP, s3_keys

NAME = "boto3-threads"
KINDS = frozenset({"download"})
NEEDS_S3 = True
IMPORTS: tuple[str, ...] = ("boto3", "botocore.config")
PROVIDERS = S3_AND_HTTP
THREADS = 32
"""Objects downloaded at once."""


def missing() -> str | None:
    """Why the peer cannot run, or None."""
    return None if find_spec("boto3") else "boto3 is not installed"


def run(scenario: Scenario, origin: Origin) -> Measurement:
    """``download_file`` each object from a thread pool."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    keys = s3_keys(origin)
    signing: dict[str, Any] = {"signature_version": UNSIGNED} if keys is None else {}
    client = boto3.client(
        "s3",
        endpoint_url=origin.url,
        region_name="us-east-1",
        aws_access_key_id=keys[0] if keys else None,
        aws_secret_access_key=keys[1] if keys else None,
        config=Config(
            **signing,
            s3={"addressing_style": "path"},
            max_pool_connections=THREADS * 10,
            response_checksum_validation="when_required",
        ),
    )

    def work(root: Path) -> None:
        def one(key: str) -> None:
            client.download_file(origin.bucket, key, str(local_path(root, key)))

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(one, [obj.key for obj in scenario.objects]))

    note = f"download_file, {THREADS} threads, {'signed' if keys else 'unsigned'}"
    return timed_download(NAME, scenario, note, work)
