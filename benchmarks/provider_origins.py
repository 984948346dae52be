"""The servers behind scenario 6 (:mod:`benchmarks.providers`), one per provider.

One origin per provider, all from :mod:`obstac.testing`, all on 127.0.0.1, each reached through
the same link (:class:`benchmarks.network.Link`) as every other scenario:

- ``s3``: :class:`obstac.testing.MotoServer`; peers sign with moto's test keys (moto accepts
  any signature until ``enforce_auth``, which is not called: the server's cost stays serving).
- ``azure``: :class:`obstac.testing.AzuriteServer` (``$OBSTAC_AZURITE`` or ``.tools/``); peers
  sign with Azurite's public account key.
- ``gcs``: :class:`obstac.testing.GCSDouble` (XML API reads), unsigned. It runs in the harness
  process, on the GIL the proxies use.
- ``http``: the run's own origin (nginx, or RangeHTTPServer without it).

Each is also a path for :func:`benchmarks.runner.run_suite`: ``name``, ``s3``, ``provider``,
``port`` and ``add(scenario)`` (uploads the objects once; scenarios sharing keys share them).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Self

from benchmarks.model import Provider, Scenario
from benchmarks.origins import BUCKET
from benchmarks.scenarios import payloads
from obstac.testing import AzuriteServer, GCSDouble, MotoServer, Service

if TYPE_CHECKING:
    from benchmarks.runner import OriginServer


class _ProviderOrigin(Service):
    """A server from :mod:`obstac.testing` holding the objects in bucket ``bench``."""

    name: str
    s3 = False
    provider: Provider

    def __init__(self, server: MotoServer | AzuriteServer | GCSDouble) -> None:
        self._server = server
        self._loaded: set[str] = set()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._server.port

    def start(self) -> Self:
        """Start the server and create the bucket."""
        self._server.start()
        self._create_bucket()
        return self

    def stop(self) -> None:
        """Stop the server (its data goes with it)."""
        self._server.stop()

    def add(self, scenario: Scenario) -> None:
        """Upload the scenario's objects not uploaded yet (8 at a time)."""
        todo = [(o.key, data) for o, data in payloads(scenario) if o.key not in self._loaded]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._upload_all(), todo))
        self._loaded.update(key for key, _ in todo)

    def _create_bucket(self) -> None:
        """Create bucket ``bench`` (nothing to do when the server has no buckets to create)."""

    def _upload_all(self) -> Callable[[tuple[str, bytes]], object]:
        """A thread-safe ``(key, data) -> upload``."""
        raise NotImplementedError


class MotoOrigin(_ProviderOrigin):
    """moto's S3 server; a context manager."""

    name = "moto"
    s3 = True
    provider: Provider = "s3"

    def __init__(self) -> None:
        """Describe the server; nothing runs until ``start``."""
        self._moto = MotoServer()
        super().__init__(self._moto)

    def _create_bucket(self) -> None:
        self._moto.create_bucket(BUCKET)

    def _upload_all(self) -> Callable[[tuple[str, bytes]], object]:
        client = self._moto.client()
        return lambda kv: client.put_object(Bucket=BUCKET, Key=kv[0], Body=kv[1])


class AzuriteOrigin(_ProviderOrigin):
    """Azurite's blob service; a context manager."""

    name = "Azurite"
    provider: Provider = "azure"

    def __init__(self) -> None:
        """Describe the server; nothing runs until ``start``."""
        self._azurite = AzuriteServer()
        super().__init__(self._azurite)

    def _create_bucket(self) -> None:
        self._azurite.create_container(BUCKET)

    def _upload_all(self) -> Callable[[tuple[str, bytes]], object]:
        container = self._azurite.service_client().get_container_client(BUCKET)
        return lambda kv: container.upload_blob(kv[0], kv[1], overwrite=True)


class GCSOrigin(_ProviderOrigin):
    """The GCS double, in this process; a context manager."""

    name = "GCSDouble"
    provider: Provider = "gcs"

    def __init__(self) -> None:
        """Describe the double; nothing listens until ``start``."""
        self._double = GCSDouble()
        super().__init__(self._double)

    def _upload_all(self) -> Callable[[tuple[str, bytes]], object]:
        return lambda kv: self._double.put(BUCKET, kv[0], kv[1])


_SERVERS: dict[Provider, Callable[[], MotoOrigin | AzuriteOrigin | GCSOrigin]] = {
    "s3": MotoOrigin,
    "azure": AzuriteOrigin,
    "gcs": GCSOrigin,
}


def server_for(provider: Provider, default: OriginServer) -> AbstractContextManager[OriginServer]:
    """A provider's origin (started on entry); ``http`` is ``default`` (nginx, or
    RangeHTTPServer without it)."""
    if provider == "http":
        return nullcontext(default)
    return _SERVERS[provider]()


def speaks(module: object, origin_provider: Provider) -> bool:
    """Whether a peer module speaks an origin's API (its ``PROVIDERS``; default HTTP only)."""
    declared: frozenset[str] = getattr(module, "PROVIDERS", frozenset({"http"}))
    return origin_provider in declared
