"""The transfer engine: concurrent, resumable, verified copies of objects to files or stores.

    from obstac.transfer import LocalTarget, TransferJob, transfer
    reader = obstac.open_asset(item.assets["B04"])
    [result] = transfer([TransferJob("B04", reader, LocalTarget(Path("data/B04.tif")))])

:func:`obstac.download_items` builds the jobs from STAC items; use this package directly to
move objects you already have readers for. See docs/transfer.md for the design and the
measurements behind every default.
"""

from obstac.transfer._checksums import ExpectedChecksum, multihash, parse_checksum
from obstac.transfer._engine import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_PARTS_PER_OBJECT,
    DEFAULT_MAX_RETRIES_PER_ASSET,
    DEFAULT_PART_SIZE,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_SINGLE_GET_THRESHOLD,
    DEFAULT_SINGLE_PUT_THRESHOLD,
    TransferJob,
    TransferOptions,
    TransferResult,
    transfer,
    transfer_async,
)
from obstac.transfer._errors import ChecksumMismatchError, SizeMismatchError, TransferError
from obstac.transfer._events import EventLog, EventSink, TransferEvent
from obstac.transfer._local import MANIFEST_NAME, LocalTarget
from obstac.transfer._scheduler import (
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_MAX_PER_HOST,
    DEFAULT_MAX_REQUESTS,
    Scheduler,
)
from obstac.transfer._store_dest import StoreTarget

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "DEFAULT_MAX_PARTS_PER_OBJECT",
    "DEFAULT_MAX_PER_HOST",
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_MAX_RETRIES_PER_ASSET",
    "DEFAULT_PART_SIZE",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_SINGLE_GET_THRESHOLD",
    "DEFAULT_SINGLE_PUT_THRESHOLD",
    "MANIFEST_NAME",
    "ChecksumMismatchError",
    "EventLog",
    "EventSink",
    "ExpectedChecksum",
    "LocalTarget",
    "Scheduler",
    "SizeMismatchError",
    "StoreTarget",
    "TransferError",
    "TransferEvent",
    "TransferJob",
    "TransferOptions",
    "TransferResult",
    "multihash",
    "parse_checksum",
    "transfer",
    "transfer_async",
]
