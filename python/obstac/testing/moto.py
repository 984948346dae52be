"""A local S3 (and STS) server: moto's standalone server in a subprocess.

Read it back with obstore, path-style, through the server's URL::

    S3Store(
        bucket,
        endpoint=moto.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
    )

moto accepts any credentials until :meth:`MotoServer.enforce_auth` is called; from then on
only the IAM keys it returns (or STS credentials derived from them) are accepted, and
``client()`` signs with them. Start a separate server for enforced auth: the switch is global.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Self, cast

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK, free_port
from obstac.testing._process import ServerProcess
from obstac.testing.env import cleared_cloud_env, environ_without_cloud

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.literals import BucketLocationConstraintType

ACCESS_KEY_ID = "testing"
"""The access key id tests sign with (moto's conventional test value; not a real key)."""

SECRET_ACCESS_KEY = "testing"
"""The secret access key tests sign with (moto's conventional test value; not a real key)."""

DEFAULT_REGION = "us-east-1"
"""The region buckets are created in unless a test asks for another."""

_STARTUP_TIMEOUT = 60.0
"""Seconds to wait for moto to listen: it starts in about 2 s, more on a loaded CI machine."""


_ALLOW_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)


@dataclass(frozen=True)
class AwsKeys:
    """An IAM user's long-term keys on a moto server with auth enforced.

    Attributes:
        access_key_id: The access key id.
        secret_access_key: The secret key (kept out of ``repr``).
        user_arn: The user's ARN (what a role's trust policy names).
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    user_arn: str


class MotoServer(Service):
    """moto's S3 server on a free 127.0.0.1 port.

    Example:
        ```py
        with MotoServer() as moto:
            moto.create_bucket("bucket")
            moto.put("bucket", "dir/a.tif", b"...")
        ```
    """

    def __init__(self, port: int | None = None) -> None:
        """Describe the server; nothing runs until ``start``.

        Args:
            port: The 127.0.0.1 port to listen on; None picks a free one.
        """
        chosen = port if port is not None else free_port()
        self._keys: AwsKeys | None = None
        self._process = ServerProcess(
            [sys.executable, "-m", "moto.server", "-H", LOOPBACK, "-p", str(chosen)],
            port=chosen,
            env=environ_without_cloud(),
            startup_timeout=_STARTUP_TIMEOUT,
            name="moto",
        )

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the server listens on."""
        return self._process.port

    @property
    def url(self) -> str:
        """The server's base URL, ``http://127.0.0.1:PORT``; the S3 endpoint."""
        return self._process.url

    def start(self) -> Self:
        """Start moto and wait until it listens.

        Returns:
            This server.

        Raises:
            RuntimeError: If moto does not start; the message quotes its log.
        """
        self._process.start()
        return self

    def stop(self) -> None:
        """Stop moto. Safe to call twice."""
        self._process.stop()

    @property
    def keys(self) -> AwsKeys | None:
        """The admin keys once :meth:`enforce_auth` ran, else None (any key is accepted)."""
        return self._keys

    def enforce_auth(self, user: str = "obstac-admin") -> AwsKeys:
        """Create an all-powerful IAM user, then make moto check every signature.

        After this, unsigned requests, unknown keys and wrong secrets are refused (moto answers
        403 for bad signatures and, for unsigned requests, 500). ``client()`` signs with the
        returned keys. moto still does not check STS expiry nor requester-pays: doubles that
        must prove those enforce them in front of moto.

        Returns:
            The user's keys.
        """
        if self._keys is not None:
            return self._keys
        import boto3

        with cleared_cloud_env():
            iam = boto3.client(
                "iam",
                endpoint_url=self.url,
                region_name=DEFAULT_REGION,
                aws_access_key_id=ACCESS_KEY_ID,
                aws_secret_access_key=SECRET_ACCESS_KEY,
            )
        created = iam.create_user(UserName=user)["User"]
        key = iam.create_access_key(UserName=user)["AccessKey"]
        policy = iam.create_policy(PolicyName=f"{user}-all", PolicyDocument=_ALLOW_ALL)
        iam.attach_user_policy(UserName=user, PolicyArn=policy["Policy"]["Arn"])
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        self._keys = AwsKeys(key["AccessKeyId"], key["SecretAccessKey"], created["Arn"])
        return self._keys

    def client(self, region: str = DEFAULT_REGION) -> S3Client:
        """Return a boto3 S3 client for this server, path-style, with the test credentials.

        The client is built with the cloud environment variables cleared, so it ignores
        ``AWS_PROFILE`` and friends.

        Args:
            region: The client's region.

        Returns:
            The client.
        """
        import boto3
        from botocore.config import Config

        # boto3 reads AWS_PROFILE, AWS_CONFIG_FILE, AWS_ENDPOINT_URL... when it builds a
        # client: build it without them, so a developer's settings never reach moto.
        with cleared_cloud_env():
            client: S3Client = boto3.client(
                "s3",
                endpoint_url=self.url,
                region_name=region,
                aws_access_key_id=self._keys.access_key_id if self._keys else ACCESS_KEY_ID,
                aws_secret_access_key=(
                    self._keys.secret_access_key if self._keys else SECRET_ACCESS_KEY
                ),
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
            )
        return client

    def create_bucket(self, name: str, region: str = DEFAULT_REGION) -> None:
        """Create a bucket.

        Args:
            name: The bucket name: at least 3 characters and a valid DNS name.
            region: The bucket's region; outside us-east-1 it is sent as LocationConstraint.
        """
        client = self.client(region)
        if region == DEFAULT_REGION:
            client.create_bucket(Bucket=name)
        else:
            client.create_bucket(
                Bucket=name,
                CreateBucketConfiguration={
                    "LocationConstraint": cast("BucketLocationConstraintType", region)
                },
            )

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Upload an object.

        Args:
            bucket: An existing bucket.
            key: The object key, raw and unencoded.
            data: The content.
        """
        self.client().put_object(Bucket=bucket, Key=key, Body=data)

    def reset(self) -> None:
        """Forget every bucket and object (moto's ``POST /moto-api/reset``)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
