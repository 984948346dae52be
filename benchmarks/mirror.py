"""Scenario 5's destination: an S3 store (moto, :class:`obstac.testing.MotoServer`) on 127.0.0.1.

The objects come from the origin through the link (the WAN); the destination is reached
directly, not through the link, as a mirror job running next to its bucket would. The harness
starts one moto per ``mirror`` scenario (:func:`sink_for`) and gives each run an empty bucket
(:meth:`MirrorSink.fresh`; moto is reset first, so earlier runs' copies do not pile up in its
memory). Each object lands at ``{bucket}/{key}``, its key at the origin.

After a peer's timed copy, :func:`timed_mirror` lists the bucket and checks that every object
arrived with its size: a peer that exits 0 without copying is a failed run. Requests and wire
bytes in the table are the source side (GETs and HEADs through the link); the PUTs to moto are
not counted there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from benchmarks.collection import collection_root
from benchmarks.model import Measurement, Origin, Scenario
from obstac.testing import MotoServer, Service
from obstac.testing.moto import ACCESS_KEY_ID, DEFAULT_REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from obstore.store import S3Store


class MirrorSink(Service):
    """moto on a free 127.0.0.1 port, one empty bucket per run; a context manager."""

    def __init__(self) -> None:
        """Describe the server; nothing runs until ``start``."""
        self._moto = MotoServer()
        self._runs = 0

    def start(self) -> Self:
        """Start moto (about 2 s)."""
        self._moto.start()
        return self

    def stop(self) -> None:
        """Stop moto."""
        self._moto.stop()

    def fresh(self) -> str:
        """An empty bucket for the next run, as ``http://127.0.0.1:PORT/BUCKET``."""
        self._moto.reset()
        self._runs += 1
        bucket = f"mirror-{self._runs:03d}"
        self._moto.create_bucket(bucket)
        return f"{self._moto.url}/{bucket}"


@contextmanager
def sink_for(scenario: Scenario) -> Iterator[MirrorSink | None]:
    """A running :class:`MirrorSink` for a ``mirror`` scenario, None for the others."""
    if scenario.kind != "mirror":
        yield None
        return
    with MirrorSink() as sink:
        yield sink


@dataclass(frozen=True)
class Destination:
    """The bucket a run mirrors into, from :attr:`benchmarks.model.Origin.mirror_to`.

    Attributes:
        endpoint: moto's URL, ``http://127.0.0.1:PORT``.
        bucket: The run's bucket.
    """

    endpoint: str
    bucket: str

    access_key_id = ACCESS_KEY_ID
    secret_access_key = SECRET_ACCESS_KEY
    region = DEFAULT_REGION

    @classmethod
    def of(cls, origin: Origin) -> Destination:
        """The destination the harness gave this run.

        Raises:
            RuntimeError: The origin names none (the scenario is not a mirror).
        """
        if origin.mirror_to is None:
            msg = "no mirror destination: run mirror scenarios through benchmarks.runner"
            raise RuntimeError(msg)
        parts = urlsplit(origin.mirror_to)
        return cls(f"{parts.scheme}://{parts.netloc}", parts.path.strip("/"))

    def store(self) -> S3Store:
        """An obstore store on the bucket, signed with moto's test keys."""
        from obstore.store import S3Store

        return S3Store(
            self.bucket,
            endpoint=self.endpoint,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            region=self.region,
            client_options={"allow_http": True, "timeout": "300s"},
        )


def bytes_in_store(scenario: Scenario, destination: Destination) -> tuple[int, int]:
    """Bytes of the scenario's objects found in the bucket, and the objects listed there.

    Raises:
        RuntimeError: An object is missing or has the wrong size (the peer did not deliver).
    """
    import obstore

    listed: dict[str, int] = {}
    for batch in obstore.list(destination.store(), prefix=collection_root(scenario)):
        listed.update((meta["path"], meta["size"]) for meta in batch)
    total = 0
    for obj in scenario.objects:
        size = listed.get(obj.key, -1)
        if size != obj.size:
            msg = f"{obj.key}: expected {obj.size} bytes in s3://{destination.bucket}, found {size}"
            raise RuntimeError(msg)
        total += size
    return total, len(listed)


def timed_mirror(
    name: str,
    scenario: Scenario,
    origin: Origin,
    note: str,
    work: Callable[[Destination], None],
) -> Measurement:
    """Run ``work(destination)``, time it, then list the bucket and check every object."""
    destination = Destination.of(origin)
    started = time.perf_counter()
    work(destination)
    seconds = time.perf_counter() - started
    total, listed = bytes_in_store(scenario, destination)
    return Measurement(name, scenario.name, seconds, total, note, extra={"objects_listed": listed})
