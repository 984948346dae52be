"""A local Azure Blob Storage server: Azurite's blob service in a subprocess.

Azurite comes from npm (``make install`` puts it in ``.tools/``). Read it back with obstore
through the account's endpoint::

    AzureStore(
        container_name=container,
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,  # or sas_key=azurite.container_sas(...), or skip_signature=True
        endpoint=azurite.endpoint,  # "http://127.0.0.1:PORT/devstoreaccount1"
        client_options={"allow_http": True},
    )
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Self

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK, free_port
from obstac.testing._process import ServerProcess
from obstac.testing.env import environ_without_cloud

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient

ACCOUNT_NAME = "devstoreaccount1"
"""Azurite's built-in storage account."""

ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
"""Azurite's built-in account key: public, documented by Microsoft, valid only for Azurite."""

AZURITE_ENV = "OBSTAC_AZURITE"
"""Environment variable naming the ``azurite-blob`` executable, if not the one in ``.tools/``."""

_STARTUP_TIMEOUT = 60.0
"""Seconds to wait for Azurite to listen: it starts in about 2 s, more on a loaded CI machine."""


def find_azurite() -> str:
    """Locate the ``azurite-blob`` executable.

    Looks at ``$OBSTAC_AZURITE``, then ``<repo>/.tools/node_modules/.bin/azurite-blob`` (the
    repo is the nearest folder above this file holding a ``pyproject.toml``), then ``PATH``.

    Returns:
        The executable's path.

    Raises:
        RuntimeError: If ``$OBSTAC_AZURITE`` is not an executable, or if none is found; the
            message says how to install it.
    """
    configured = os.environ.get(AZURITE_ENV)
    if configured:
        found = shutil.which(configured)
        if found is None:
            msg = f"{AZURITE_ENV}={configured!r} is not an executable; point it at azurite-blob"
            raise RuntimeError(msg)
        return found
    for folder in Path(__file__).resolve().parents:
        if (folder / "pyproject.toml").is_file():
            candidate = folder / ".tools" / "node_modules" / ".bin" / "azurite-blob"
            if candidate.exists():
                return str(candidate)
            break
    found = shutil.which("azurite-blob")
    if found is not None:
        return found
    msg = (
        "azurite-blob not found: run `make install` (puts Azurite in .tools/), or "
        f"`npm install azurite`, or set {AZURITE_ENV} to the azurite-blob executable"
    )
    raise RuntimeError(msg)


class AzuriteServer(Service):
    """Azurite's blob service on a free 127.0.0.1 port, storing into a fresh temporary folder.

    Example:
        ```py
        with AzuriteServer() as azurite:
            azurite.create_container("data")
            azurite.put("data", "dir/a.tif", b"...")
        ```
    """

    def __init__(self, port: int | None = None, executable: str | None = None) -> None:
        """Describe the server; nothing runs until ``start``.

        Args:
            port: The 127.0.0.1 port to listen on; None picks a free one.
            executable: The ``azurite-blob`` executable; None uses `find_azurite`.
        """
        self._port = port if port is not None else free_port()
        self._executable = executable
        self._location: str | None = None
        self._process: ServerProcess | None = None

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the blob service listens on."""
        return self._port

    @property
    def endpoint(self) -> str:
        """The account's blob endpoint, ``http://127.0.0.1:PORT/devstoreaccount1``."""
        return f"http://{LOOPBACK}:{self._port}/{ACCOUNT_NAME}"

    @property
    def connection_string(self) -> str:
        """An Azure SDK connection string for the account at this endpoint."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
            f"AccountKey={ACCOUNT_KEY};BlobEndpoint={self.endpoint};"
        )

    def start(self) -> Self:
        """Start Azurite and wait until it listens.

        Returns:
            This server.

        Raises:
            RuntimeError: If it is already started, if ``azurite-blob`` is not installed, or
                if Azurite does not start (the message quotes its log).
        """
        if self._process is not None:
            msg = f"Azurite is already started on port {self._port}"
            raise RuntimeError(msg)
        executable = self._executable or find_azurite()
        location = tempfile.mkdtemp(prefix="obstac-azurite-")
        process = ServerProcess(
            [
                executable,
                *("--blobHost", LOOPBACK, "--blobPort", str(self._port)),
                "--loose",
                "--skipApiVersionCheck",
                *("--location", location),
                "--silent",
            ],
            port=self._port,
            env=environ_without_cloud(),
            startup_timeout=_STARTUP_TIMEOUT,
            name="azurite",
        )
        try:
            process.start()
        except BaseException:
            shutil.rmtree(location, ignore_errors=True)
            raise
        self._process, self._location = process, location
        return self

    def stop(self) -> None:
        """Stop Azurite and delete its data folder. Safe to call twice."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self._location is not None:
            shutil.rmtree(self._location, ignore_errors=True)
            self._location = None

    def service_client(self) -> BlobServiceClient:
        """Return an Azure SDK client for the account, authorised with the account key.

        Returns:
            The client.
        """
        from azure.storage.blob import BlobServiceClient

        client: BlobServiceClient = BlobServiceClient.from_connection_string(self.connection_string)
        return client

    def create_container(self, name: str, public: bool = False) -> None:
        """Create a container.

        Args:
            name: The container name (3-63 lower-case letters, digits and dashes).
            public: Allow anonymous reads of its blobs (blob-level public access).
        """
        with self.service_client() as service:
            service.create_container(name, public_access="blob" if public else None)

    def put(self, container: str, name: str, data: bytes) -> None:
        """Upload a block blob, replacing any blob of that name.

        Args:
            container: An existing container.
            name: The blob name, raw and unencoded.
            data: The content.
        """
        with self.service_client() as service:
            service.get_blob_client(container, name).upload_blob(data, overwrite=True)

    def container_sas(self, container: str, *, expiry: datetime, permission: str = "rl") -> str:
        """Sign a shared access signature for a container with the account key.

        Args:
            container: The container.
            expiry: When the signature stops working (timezone-aware).
            permission: The permissions, e.g. ``"rl"`` for read and list.

        Returns:
            The SAS query string, without a leading ``?``.
        """
        from azure.storage.blob import generate_container_sas

        sas: str = generate_container_sas(
            ACCOUNT_NAME,
            container,
            account_key=ACCOUNT_KEY,
            permission=permission,
            expiry=expiry,
        )
        return sas.removeprefix("?")
