"""pytest fixtures for the local servers.

Load them from ``tests/conftest.py`` with ``pytest_plugins = ["obstac.testing.pytest_plugin"]``.

Servers are session-scoped: each starts once per test session (once per xdist worker) and
stops at its end. Tests share them, so a test uses its own bucket, container or path names.
Every test also runs with the ``AWS_*``, ``AZURE_*`` and ``GOOGLE_*`` variables removed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from obstac.testing.azurite import AzuriteServer
from obstac.testing.env import cloud_env_names
from obstac.testing.gcs import GCSDouble
from obstac.testing.http_origin import RangeHTTPServer
from obstac.testing.moto import MotoServer


@pytest.fixture(autouse=True)
def _no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove cloud credentials and settings from the environment for each test."""
    for name in cloud_env_names():
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's S3 server, running for the whole session."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    """Azurite's blob service, running for the whole session."""
    with AzuriteServer() as server:
        yield server


@pytest.fixture(scope="session")
def http_origin() -> Iterator[RangeHTTPServer]:
    """An in-process HTTP origin serving in-memory objects, running for the whole session."""
    with RangeHTTPServer() as server:
        yield server


@pytest.fixture(scope="session")
def gcs_double() -> Iterator[GCSDouble]:
    """The GCS XML-API read double, running for the whole session."""
    with GCSDouble() as server:
        yield server


@pytest.fixture(scope="session")
def moto_auth_server() -> Iterator[MotoServer]:
    """A second moto server that checks every signature (IAM keys in ``.keys``)."""
    with MotoServer() as server:
        server.enforce_auth()
        yield server
