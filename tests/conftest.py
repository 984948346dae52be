"""Shared test wiring: the real local servers, and one `Backend` per store kind over them.

Every backend is a real server on 127.0.0.1: moto (S3) and Azurite (Azure) behind a counting
proxy so tests can assert how many requests obstore sent, the GCS read double and the HTTP
range origin (which count their own requests).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from obstac import StoreCache
from obstac.recipes import Recipe, azure, gcs, http, s3
from obstac.testing import (
    AzuriteServer,
    CountingProxy,
    GCSDouble,
    MotoServer,
    RangeHTTPServer,
)
from obstac.testing.azurite import ACCOUNT_KEY as AZURITE_KEY
from obstac.testing.azurite import ACCOUNT_NAME as AZURITE_ACCOUNT
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from obstore.store import RetryConfig

pytest_plugins = ["obstac.testing.pytest_plugin"]

# Tests that expect a failure should not sit in obstore's default 10 retries.
FAST_RETRY: RetryConfig = {"max_retries": 1, "retry_timeout": timedelta(seconds=5)}


@dataclass
class Backend:
    """One store kind on a real local server, as the reading tests need it.

    Attributes:
        name: ``s3``, ``azure``, ``gcs`` or ``http``.
        recipe: A recipe pointed at the local server.
        put: Stores bytes under a fresh name and returns an href a user would have for it.
        gets: How many GET requests reached the server since the last ``reset``.
        reset: Forgets the recorded requests.
    """

    name: str
    recipe: Recipe
    put: Callable[[str, bytes], str]
    gets: Callable[[], int]
    reset: Callable[[], None]


@pytest.fixture(scope="session")
def moto_proxy(moto_server: MotoServer) -> Iterator[CountingProxy]:
    with CountingProxy(moto_server.port) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def azurite_proxy(azurite_server: AzuriteServer) -> Iterator[CountingProxy]:
    with CountingProxy(azurite_server.port) as proxy:
        yield proxy


def _unique(name: str) -> str:
    return f"t-{uuid.uuid4().hex[:8]}/{name}"


@pytest.fixture(scope="session")
def s3_backend(moto_server: MotoServer, moto_proxy: CountingProxy) -> Backend:
    bucket = "obstac-read"
    moto_server.create_bucket(bucket)

    def put(name: str, data: bytes) -> str:
        key = _unique(name)
        moto_server.put(bucket, key, data)
        return f"s3://{bucket}/{key}"

    recipe = s3(
        endpoint=moto_proxy.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        retry_config=FAST_RETRY,
    )
    return Backend("s3", recipe, put, lambda: moto_proxy.count("GET"), moto_proxy.clear)


@pytest.fixture(scope="session")
def azure_backend(azurite_server: AzuriteServer, azurite_proxy: CountingProxy) -> Backend:
    container = "obstac-read"
    azurite_server.create_container(container)

    def put(name: str, data: bytes) -> str:
        blob = _unique(name)
        azurite_server.put(container, blob, data)
        # The href a user sees; the recipe's endpoint sends it to Azurite.
        return f"https://{AZURITE_ACCOUNT}.blob.core.windows.net/{container}/{blob}"

    recipe = azure(
        account_key=AZURITE_KEY,
        endpoint=f"{azurite_proxy.url}/{{account}}",
        retry_config=FAST_RETRY,
    )
    return Backend("azure", recipe, put, lambda: azurite_proxy.count("GET"), azurite_proxy.clear)


@pytest.fixture(scope="session")
def gcs_backend(gcs_double: GCSDouble) -> Backend:
    bucket = "obstac-read"

    def put(name: str, data: bytes) -> str:
        blob = _unique(name)
        gcs_double.put(bucket, blob, data)
        return f"gs://{bucket}/{blob}"

    recipe = gcs(endpoint=gcs_double.url, retry_config=FAST_RETRY)
    return Backend("gcs", recipe, put, lambda: gcs_double.count("GET"), gcs_double.clear_requests)


@pytest.fixture(scope="session")
def http_backend(http_origin: RangeHTTPServer) -> Backend:
    def put(name: str, data: bytes) -> str:
        path = _unique(name)
        http_origin.put(path, data)
        return f"{http_origin.url}/{path}"

    recipe = http(retry_config=FAST_RETRY)
    return Backend(
        "http", recipe, put, lambda: http_origin.count("GET"), http_origin.clear_requests
    )


BACKENDS = ["s3", "azure", "gcs", "http"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each test using this runs once per store kind, on its real local server."""
    chosen: Backend = request.getfixturevalue(f"{request.param}_backend")
    chosen.reset()
    return chosen


@pytest.fixture
def store_cache() -> StoreCache:
    """A cache private to one test, so request counts do not depend on test order."""
    return StoreCache()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the reports tests attach with ``record_property("obstac_report", text)`` (the
    chaos soak's table of faults injected vs survived), with or without ``-s`` or xdist."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.getreports(outcome):
            for name, value in getattr(report, "user_properties", ()):
                if name == "obstac_report":
                    terminalreporter.write_sep("-", f"report of {report.nodeid}")
                    terminalreporter.write_line(str(value))
