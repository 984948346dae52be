"""What the chaos tests share: readers of a `ChaosOrigin` over HTTP or S3, and small options.

The same origin serves ``{origin.url}/bucket/key`` to obstore's HTTPStore and ``s3://bucket/key``
to an unsigned S3Store pointed at it, so every fault is exercised through both clients.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import obstac
from obstac import StoreCache
from obstac.recipes import http, s3
from obstac.testing import ChaosOrigin
from obstac.transfer import LocalTarget, TransferJob, TransferOptions

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac.recipes import Recipe

Client = Literal["http", "s3"]
CLIENTS: tuple[Client, ...] = ("http", "s3")

BUCKET = "chaos"

READ_TIMEOUT = "200ms"
"""obstore's read timeout in these tests: a connection silent this long is abandoned. The
origin's stalls last longer (``stall_seconds``)."""

OBSTORE_RETRIES: RetryConfig = {"max_retries": 1, "retry_timeout": timedelta(seconds=5)}
"""obstore retries once inside each engine attempt: a fault met twice reaches the engine."""

PART = 16 * 1024
OPTIONS = TransferOptions(
    part_size=PART,
    single_get_threshold=PART,
    chunk_size=4 * 1024,
    retry_backoff=0.02,
    max_attempts=4,
)
"""16 KiB parts, 4 KiB chunks, quick engine retries."""


def payload(size: int, seed: object) -> bytes:
    """Seeded random bytes, so a failure replays."""
    return random.Random(str(seed)).randbytes(size)


def chaos_recipe(
    origin: ChaosOrigin,
    client: Client,
    *,
    retry: RetryConfig = OBSTORE_RETRIES,
    read_timeout: str = READ_TIMEOUT,
) -> Recipe:
    """The recipe reading ``origin`` through ``client`` (make one per test: each recipe
    builds its own store, a few milliseconds each)."""
    client_options: ClientConfig = {"read_timeout": read_timeout}
    if client == "http":
        return http(retry_config=retry, client_options=client_options)
    return s3(endpoint=origin.url, retry_config=retry, client_options=client_options)


def chaos_job(
    origin: ChaosOrigin,
    key: str,
    target: Path,
    client: Client,
    *,
    media_type: str | None = "image/tiff",
    retry: RetryConfig = OBSTORE_RETRIES,
    recipe: Recipe | None = None,
    cache: StoreCache | None = None,
    **fields: object,
) -> TransferJob:
    """A job reading ``BUCKET/key`` from ``origin`` through ``client`` into ``target``."""
    href = f"{origin.url}/{BUCKET}/{key}" if client == "http" else f"s3://{BUCKET}/{key}"
    asset: dict[str, object] = {"href": href}
    if media_type is not None:
        asset["type"] = media_type
    chosen = recipe or chaos_recipe(origin, client, retry=retry)
    reader = obstac.open_asset(
        asset, recipe=chosen, cache=cache if cache is not None else StoreCache()
    )
    return TransferJob(id=key, source=reader, target=LocalTarget(target), **fields)  # type: ignore[arg-type]


def names(folder: Path) -> list[str]:
    """The names in ``folder``, sorted (hidden partial files included)."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []
