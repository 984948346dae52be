"""Real local servers for testing, benchmarking and demonstrating obstac.

Everything here runs on 127.0.0.1 and needs no account and no network:

- `MotoServer`: moto's S3 server in a subprocess.
- `AzuriteServer`: Azurite's Azure Blob service in a subprocess.
- `GCSDouble`: an in-process double of the Google Cloud Storage XML API (reads; single-request
  writes with user metadata, and listings).
- `RangeHTTPServer`: an in-process HTTP/1.1 origin with byte ranges and ETags; subclass it and
  override `RangeHTTPServer.handle` for origins that misbehave on purpose.
- `ChaosOrigin`: an HTTP and S3-compatible origin that injects faults (errors, resets, stalls,
  short bodies, changed objects, ignored ranges, HTML pages) on a seeded plan, and counts them.
- `CountingProxy`: a TCP proxy that records the HTTP requests obstore sends to a server.
- `cleared_cloud_env`: removes ``AWS_*``, ``AZURE_*`` and ``GOOGLE_*`` variables for a block.

pytest users load the fixtures with ``pytest_plugins = ["obstac.testing.pytest_plugin"]``.
This subpackage needs the ``testing`` extra (moto, boto3, azure-storage-blob) and, for Azurite,
Node.js with the ``azurite`` npm package (``make install``).
"""

from obstac.testing._lifecycle import Service
from obstac.testing._ports import free_port, wait_for_port
from obstac.testing._process import ServerProcess
from obstac.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME, AzuriteServer, find_azurite
from obstac.testing.chaos import ChaosOrigin, Fault, InjectedFault
from obstac.testing.env import (
    CLOUD_ENV_PREFIXES,
    cleared_cloud_env,
    cloud_env_names,
    environ_without_cloud,
)
from obstac.testing.gcs import GCSDouble
from obstac.testing.http_origin import RangeHTTPServer, RecordedRequest, Response, StoredObject
from obstac.testing.latency_proxy import LatencyProxy
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY, AwsKeys, MotoServer
from obstac.testing.proxy import CountingProxy, ProxiedRequest
from obstac.testing.stac_api import StacAPIDouble

__all__ = [
    "ACCESS_KEY_ID",
    "ACCOUNT_KEY",
    "ACCOUNT_NAME",
    "CLOUD_ENV_PREFIXES",
    "SECRET_ACCESS_KEY",
    "AwsKeys",
    "AzuriteServer",
    "ChaosOrigin",
    "CountingProxy",
    "Fault",
    "GCSDouble",
    "InjectedFault",
    "LatencyProxy",
    "MotoServer",
    "ProxiedRequest",
    "RangeHTTPServer",
    "RecordedRequest",
    "Response",
    "ServerProcess",
    "Service",
    "StacAPIDouble",
    "StoredObject",
    "cleared_cloud_env",
    "cloud_env_names",
    "environ_without_cloud",
    "find_azurite",
    "free_port",
    "wait_for_port",
]
