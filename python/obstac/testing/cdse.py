"""A double of CDSE's key-creation endpoints that mints real IAM keys in a moto server.

Copernicus Data Space hands out S3 keys in two steps (shapes from CDSE's documentation; no
recorded response exists):

1. ``POST /auth/realms/CDSE/protocol/openid-connect/token`` on the identity host, form
   ``client_id=cdse-public&grant_type=password&username=...&password=...`` -> 200 JSON with
   ``access_token`` (Keycloak's token response), or 401 ``{"error": "invalid_grant", ...}``;
2. ``POST /api/user/credentials`` on the S3 keys manager with ``Authorization: Bearer <token>``
   -> 200 ``{"access_id": ..., "secret": ...}``; ``DELETE
   /api/user/credentials/access_id/{access_id}`` -> 204. The error body for a bad token is not
   documented; the double answers 401 ``{"detail": "Not authenticated"}``.

`CDSEDouble` serves both paths from one in-process origin on 127.0.0.1 (the machinery of
`RangeHTTPServer`, answering every request itself). Each key pair it hands
out is a real IAM access key of a user it creates in the given moto server, with read access
to the ``eodata`` bucket, so a store signed with it reads from moto with auth enforced: key
creation is proven end to end. Deleting the pair deletes the IAM key.

Example:
    ```py
    with MotoServer() as moto, CDSEDouble(moto) as double:
        moto.enforce_auth()  # before the double starts, or the IAM calls sign with test keys
        recipe = obstac.recipes.cdse(
            username=double.username,
            password=double.password,
            identity_url=double.token_url,
            keys_url=double.keys_url,
            endpoint=moto.url,
            key_propagation_delay=0,
        )
    ```
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs

from obstac.testing._lifecycle import Service
from obstac.testing.env import cleared_cloud_env
from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer
from obstac.testing.moto import ACCESS_KEY_ID, DEFAULT_REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from obstac.testing.moto import MotoServer

__all__ = ["CDSEDouble", "CDSERequest"]

TOKEN_PATH = "/auth/realms/CDSE/protocol/openid-connect/token"
"""The token endpoint's path on the identity host."""

KEYS_PATH = "/api/user/credentials"
"""The keys manager's path for creating (POST) and, under ``/access_id/{id}``, deleting keys."""

CLIENT_ID = "cdse-public"
"""The only OIDC client the double accepts, as CDSE's documentation uses."""

TOKEN_LIFETIME = 600
"""Seconds the double says an access token lives (CDSE's tokens live 10 minutes)."""


@dataclass(frozen=True)
class CDSERequest:
    """One request the double received.

    Attributes:
        method: The HTTP method.
        path: The request path, without the query.
        headers: The headers, names lower-cased.
        form: The decoded ``application/x-www-form-urlencoded`` body (empty otherwise). It
            holds the password of a token request: do not print it.
    """

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(repr=False)


class CDSEDouble(Service):
    """CDSE's OIDC token endpoint and S3 keys manager on 127.0.0.1, backed by moto's IAM."""

    def __init__(
        self,
        moto: MotoServer,
        *,
        username: str = "user@example.com",
        password: str | None = None,
        bucket: str = "eodata",
    ) -> None:
        """Describe the double; nothing runs until ``start``.

        Args:
            moto: The moto server whose IAM mints the keys (auth enforced or not). When auth
                is enforced, call ``enforce_auth`` before ``start``.
            username: The one account the token endpoint knows.
            password: Its password; a random one by default (read it from ``.password``).
            bucket: The bucket the minted keys may read.
        """
        self.moto = moto
        self.username = username
        self.password = password if password is not None else secrets.token_urlsafe(16)
        self.bucket = bucket
        self.iam_user = f"cdse-{uuid.uuid4().hex[:8]}"
        self._tokens: set[str] = set()
        self._keys: set[str] = set()
        self._handed_out: list[str] = []
        self._lock = threading.Lock()
        self._origin = _Origin(self)
        self._started = False
        self._iam_client: Any = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT``.

        Raises:
            RuntimeError: If the double is not started.
        """
        if not self._started:
            msg = "CDSEDouble is not started; call start() first"
            raise RuntimeError(msg)
        return self._origin.url

    @property
    def token_url(self) -> str:
        """The OIDC token endpoint: pass it as ``identity_url=``."""
        return self.url + TOKEN_PATH

    @property
    def keys_url(self) -> str:
        """The keys manager's credentials URL: pass it as ``keys_url=``."""
        return self.url + KEYS_PATH

    def start(self) -> Self:
        """Create the IAM user in moto, then serve from a background thread.

        Returns:
            This double.
        """
        if self._started:
            msg = "CDSEDouble is already started"
            raise RuntimeError(msg)
        # One client, built now: clearing the environment from a server thread later would race
        # with the test's own environment changes. boto3 clients are thread-safe.
        self._iam_client = iam = self._new_iam_client()
        iam.create_user(UserName=self.iam_user)
        read = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket", "s3:HeadObject"],
                    "Resource": [f"arn:aws:s3:::{self.bucket}", f"arn:aws:s3:::{self.bucket}/*"],
                }
            ],
        }
        iam.put_user_policy(
            UserName=self.iam_user, PolicyName="eodata-read", PolicyDocument=json.dumps(read)
        )
        self._origin.start()
        self._started = True
        return self

    def stop(self) -> None:
        """Stop serving. Safe to call twice."""
        self._origin.stop()
        self._started = False

    # -- state tests look at -----------------------------------------------------------------

    def issue_token(self) -> str:
        """A valid access token, as if the user had logged in elsewhere (for ``oidc_token=``)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens.add(token)
            self._handed_out.append(token)
        return token

    def revoke_tokens(self) -> None:
        """Make every token issued so far invalid (as an expiry would)."""
        with self._lock:
            self._tokens.clear()

    @property
    def active_keys(self) -> list[str]:
        """The access ids of the key pairs handed out and not deleted."""
        with self._lock:
            return sorted(self._keys)

    @property
    def handed_out(self) -> list[str]:
        """Every secret the double gave out: tokens, refresh tokens, key ids and secrets.

        Tests check that none of them shows up in a message, a log line or a repr.
        """
        with self._lock:
            return list(self._handed_out)

    @property
    def requests(self) -> list[CDSERequest]:
        """The requests received so far, oldest first."""
        return [_cdse_request(request) for request in self._origin.requests]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Count the requests received, optionally of one method and/or path prefix.

        Args:
            method: Count only this method.
            path: Count only requests whose path starts with this.

        Returns:
            The number of matching requests.
        """
        return sum(
            1
            for request in self.requests
            if (method is None or request.method == method.upper())
            and (path is None or request.path.startswith(path))
        )

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self._origin.clear_requests()

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, request: CDSERequest) -> Response:
        if request.method == "POST" and request.path == TOKEN_PATH:
            return self._token(request.form)
        if not request.path.startswith(KEYS_PATH):
            return _json(404, {"detail": "Not Found"})
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        with self._lock:
            valid = token in self._tokens
        if not valid:
            return _json(401, {"detail": "Not authenticated"})
        if request.method == "POST" and request.path == KEYS_PATH:
            return self._create_key()
        prefix = f"{KEYS_PATH}/access_id/"
        if request.method == "DELETE" and request.path.startswith(prefix):
            return self._delete_key(request.path[len(prefix) :])
        return _json(405, {"detail": "Method Not Allowed"})

    def _token(self, form: dict[str, str]) -> Response:
        if form.get("grant_type") != "password":
            return _json(
                400,
                {"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"},
            )
        if form.get("client_id") != CLIENT_ID:
            return _json(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client or Invalid client credentials",
                },
            )
        if form.get("username") != self.username or form.get("password") != self.password:
            return _json(
                401, {"error": "invalid_grant", "error_description": "Invalid user credentials"}
            )
        refresh_token = secrets.token_urlsafe(32)
        with self._lock:
            self._handed_out.append(refresh_token)
        return _json(
            200,
            {
                "access_token": self.issue_token(),
                "expires_in": TOKEN_LIFETIME,
                "refresh_expires_in": 3600,
                "refresh_token": refresh_token,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "session_state": str(uuid.uuid4()),
                "scope": "AUDIENCE_PUBLIC openid email profile user-context",
            },
        )

    def _create_key(self) -> Response:
        key = self._iam().create_access_key(UserName=self.iam_user)["AccessKey"]
        with self._lock:
            self._keys.add(key["AccessKeyId"])
            self._handed_out += [key["AccessKeyId"], key["SecretAccessKey"]]
        return _json(200, {"access_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]})

    def _delete_key(self, access_id: str) -> Response:
        with self._lock:
            known = access_id in self._keys
            self._keys.discard(access_id)
        if not known:
            return _json(404, {"detail": "Not Found"})
        self._iam().delete_access_key(UserName=self.iam_user, AccessKeyId=access_id)
        return _json(204)

    def _iam(self) -> Any:
        return self._iam_client

    def _new_iam_client(self) -> Any:  # boto3's IAM client (no IAM stubs are installed)
        import boto3

        keys = self.moto.keys
        with cleared_cloud_env():
            return boto3.client(
                "iam",
                endpoint_url=self.moto.url,
                region_name=DEFAULT_REGION,
                aws_access_key_id=keys.access_key_id if keys else ACCESS_KEY_ID,
                aws_secret_access_key=keys.secret_access_key if keys else SECRET_ACCESS_KEY,
            )


class _Origin(_OriginServer):
    """The double's HTTP side: records every request and answers it with `CDSEDouble._answer`."""

    def __init__(self, double: CDSEDouble) -> None:
        super().__init__()
        self._double = double

    def handle(self, request: RecordedRequest) -> Response:
        """Answer with the double (it serves no stored objects)."""
        return self._double._answer(_cdse_request(request))


def _cdse_request(request: RecordedRequest) -> CDSERequest:
    """The double's view of a request: raw path without the query, and the decoded form."""
    form: dict[str, str] = {}
    if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        fields = parse_qs(request.body.decode(), keep_blank_values=True)
        form = {name: values[0] for name, values in fields.items()}
    path = request.target.partition("?")[0]
    return CDSERequest(request.method, path, dict(request.headers), form)


def _json(status: int, body: dict[str, Any] | None = None) -> Response:
    """A JSON answer, or an empty one (e.g. the 204 of a deleted key)."""
    if body is None:
        return Response(status)
    return Response(status, {"Content-Type": "application/json"}, json.dumps(body).encode())
