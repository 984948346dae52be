"""Raw obstore store-to-store, the floor of the ``mirror`` scenario, written by hand.

64 objects in flight; an object up to 8 MiB is read whole (``get_async``) and written with one
``put_async``; a larger one is streamed from its GET into ``put_async`` (a multipart upload of
8 MiB parts). No verification, no resume, no metadata: what obstac adds on top of this is its
overhead.
"""

from __future__ import annotations

import asyncio

from benchmarks.mirror import Destination, timed_mirror
from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import CONCURRENCY, PART_SIZE


def run_mirror(name: str, scenario: Scenario, origin: Origin) -> Measurement:
    """Copy every object from the origin (through the link) into the destination bucket."""
    import obstore
    from obstore.store import HTTPStore

    source = HTTPStore.from_url(
        f"{origin.url}/{origin.bucket}", client_options={"allow_http": True, "timeout": "300s"}
    )

    async def copy_all(destination: Destination) -> None:
        target = destination.store()
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(key: str, size: int) -> None:
            async with limit:
                result = await obstore.get_async(source, key)
                if size <= PART_SIZE:
                    await obstore.put_async(target, key, await result.bytes_async())
                else:
                    await obstore.put_async(target, key, result, chunk_size=PART_SIZE)

        await asyncio.gather(*(one(obj.key, obj.size) for obj in scenario.objects))

    note = f"get_async -> put_async, {CONCURRENCY} in flight, multipart above {PART_SIZE >> 20} MiB"
    return timed_mirror(name, scenario, origin, note, lambda d: asyncio.run(copy_all(d)))
