"""Local doubles of NASA Earthdata: Earthdata Login, a DAAC's TEA endpoint, STS, presigned S3.

What the real system does, and what each double reproduces (all on 127.0.0.1):

- **Earthdata Login (EDL)**, `EarthdataLoginDouble`: ``GET /oauth/authorize`` answers a request
  with valid HTTP basic auth by redirecting to the client's ``redirect_uri`` with a one-time
  ``code``, and a request without credentials with its HTML login page (200), as
  urs.earthdata.nasa.gov does. ``POST /api/users/find_or_create_token`` (basic auth) answers
  ``{"access_token", "token_type", "expiration_date"}``, the user-token API earthaccess uses.
  Its URL uses the host name ``localhost``, not ``127.0.0.1``: clients send EDL basic auth only
  to the EDL host, and cookies set by the DAAC must belong to another host.
- **A DAAC's Thin Egress App (TEA)**, `EarthdataDaacDouble`: ``GET /s3credentials`` answers
  ``{"accessKeyId", "secretAccessKey", "sessionToken", "expiration"}`` (``expiration`` as
  Python's ``str(datetime)``, ``"2019-02-27 23:26:56+00:00"``) to a valid
  ``Authorization: Bearer <EDL token>`` or a valid session cookie; anything else is redirected
  (302) to EDL's ``/oauth/authorize``, whose code comes back to ``/login``, which sets the
  ``asf-urs`` session cookie and redirects (301) to the page first asked for. Data paths
  (``/{bucket}/{key}``) are authorised the same way and answered with a 303 redirect to a
  presigned URL on another origin, as TEA does.
- **STS**, `StsCredentialIssuer`: the credentials are real ``AssumeRole`` credentials from a
  moto server with auth enforced; an `ExpiryGate` in front of moto kills them after
  ``enforced_lifetime`` seconds, whatever ``expiration`` they were reported with.
- **Presigned S3 URLs**, `SignedURLOrigin`: serves objects only to URLs it signed.

`EarthdataDoubles` starts them together around a moto server::

    with MotoServer() as moto, EarthdataDoubles(moto) as nasa:
        alice = nasa.add_user("alice", "correct horse")
        nasa.put("lp-prod-protected", "HLS/B04.tif", b"...")
        recipe = obstac.recipes.earthdata(
            token=alice.token,
            in_region=True,
            credentials_url=nasa.credentials_url,
            s3_endpoint=nasa.s3_endpoint,
            edl_host=nasa.edl_url,
        )
        obstac.open_asset("s3://lp-prod-protected/HLS/B04.tif", recipe=recipe).read()
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, quote, urlencode

from obstac.testing._lifecycle import Service
from obstac.testing.env import cleared_cloud_env
from obstac.testing.expiry_gate import ExpiryGate
from obstac.testing.http_origin import RangeHTTPServer, RecordedRequest, Response, _OriginServer

if TYPE_CHECKING:
    from obstac.testing.moto import AwsKeys, MotoServer

__all__ = [
    "EDL_HOSTNAME",
    "EarthdataDaacDouble",
    "EarthdataDoubles",
    "EarthdataLoginDouble",
    "EarthdataUser",
    "SignedURLOrigin",
    "StsCredentialIssuer",
]

EDL_HOSTNAME = "localhost"
"""The host name the EDL double is reached by (the DAAC double is reached by ``127.0.0.1``)."""

REGION = "us-west-2"
"""The region of NASA's Earthdata Cloud buckets, used for the doubles' buckets too."""

SESSION_COOKIE = "asf-urs"
"""The name of TEA's session cookie."""

_LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Earthdata Login</title></head>"
    b"<body><form action='/login' method='post'><input name='username'>"
    b"<input name='password' type='password'></form></body></html>\n"
)
_DAAC_CLIENT_ID = "obstac-daac-double"
_SESSION_LIFETIME = 3600.0
"""Seconds a DAAC session cookie stays valid (TEA's JWT cookie lives about as long)."""
_STS_DURATION = 900
"""``DurationSeconds`` asked of moto's AssumeRole (AWS's minimum; moto never enforces it)."""


@dataclass(frozen=True)
class EarthdataUser:
    """An EDL account of the double.

    Attributes:
        username: The EDL user name.
        password: The password (kept out of ``repr``).
        token: The user's EDL bearer token (kept out of ``repr``).
    """

    username: str
    password: str = field(repr=False)
    token: str = field(repr=False)


def _basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """The ``(user, password)`` of an ``Authorization: Basic`` header, if well formed."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _bearer_token(headers: dict[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _query(request: RecordedRequest) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.query).items()}


def _html(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(status, {"Content-Type": "text/html; charset=utf-8", **(headers or {})}, body)


class EarthdataLoginDouble(_OriginServer):
    """Earthdata Login: OAuth ``authorize`` with basic auth, user tokens, token checks.

    The DAAC double checks tokens and redeems codes by calling this object directly, the way
    a DAAC asks EDL server to server.
    """

    def __init__(self, port: int = 0) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            port: The 127.0.0.1 port to bind; 0 picks a free one.
        """
        super().__init__(port)
        self._lock = threading.Lock()
        self._users: dict[str, EarthdataUser] = {}
        self._token_owners: dict[str, str] = {}
        self._codes: dict[str, str] = {}

    @property
    def url(self) -> str:
        """The base URL, ``http://localhost:PORT`` (a host name, not the IP: see the module)."""
        return f"http://{EDL_HOSTNAME}:{self.port}"

    @property
    def hostname(self) -> str:
        """The host name clients compare redirect targets with before sending basic auth."""
        return EDL_HOSTNAME

    def add_user(self, username: str, password: str) -> EarthdataUser:
        """Create an account (or return the existing one) with a fresh bearer token.

        Args:
            username: The user name.
            password: The password.

        Returns:
            The account, its token included.
        """
        with self._lock:
            existing = self._users.get(username)
            if existing is not None and existing.password == password:
                return existing
            user = EarthdataUser(username, password, f"edl-{secrets.token_urlsafe(24)}")
            self._users[username] = user
            self._token_owners[user.token] = username
            return user

    def user_for_token(self, token: str) -> str | None:
        """The user a bearer token belongs to, or None for an unknown token."""
        with self._lock:
            return self._token_owners.get(token)

    def redeem_code(self, code: str) -> str | None:
        """The user an authorization code was issued to; a code works once."""
        with self._lock:
            return self._codes.pop(code, None)

    def _check_password(self, headers: dict[str, str]) -> EarthdataUser | None:
        credentials = _basic_credentials(headers)
        if credentials is None:
            return None
        with self._lock:
            user = self._users.get(credentials[0])
        if user is None or not hmac.compare_digest(user.password, credentials[1]):
            return None
        return user

    def handle(self, request: RecordedRequest) -> Response | None:
        """Answer EDL's endpoints; anything else is 404."""
        if request.path == "oauth/authorize" and request.method == "GET":
            return self._authorize(request)
        if request.path == "api/users/find_or_create_token" and request.method == "POST":
            return self._find_or_create_token(request)
        return Response(404, {"Content-Type": "text/plain"}, b"not an EDL endpoint\n")

    def _authorize(self, request: RecordedRequest) -> Response:
        query = _query(request)
        redirect_uri = query.get("redirect_uri")
        if not redirect_uri or query.get("response_type") != "code":
            return Response(400, {"Content-Type": "text/plain"}, b"invalid OAuth request\n")
        if "authorization" not in request.headers:
            return _html(200, _LOGIN_PAGE)  # what a browser without a session sees
        user = self._check_password(request.headers)
        if user is None:
            return _html(401, b"<html><body>Invalid user credentials</body></html>\n")
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = user.username
        target = f"{redirect_uri}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        return Response(302, {"Location": target})

    def _find_or_create_token(self, request: RecordedRequest) -> Response:
        user = self._check_password(request.headers)
        if user is None:
            body = {"error": "invalid_credentials", "error_description": "Invalid credentials"}
            return Response(401, {"Content-Type": "application/json"}, json.dumps(body).encode())
        expires = datetime.now(UTC) + timedelta(days=60)
        body = {
            "access_token": user.token,
            "token_type": "Bearer",
            "expiration_date": f"{expires.month}/{expires.day}/{expires.year}",
        }
        return Response(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


class StsCredentialIssuer:
    """Temporary credentials from moto's STS ``AssumeRole``, killed on time by an `ExpiryGate`.

    Attributes:
        reported_lifetime: Seconds until the ``expiration`` the DAAC reports (TEA: 3600).
        enforced_lifetime: Seconds until the gate refuses the credentials; None: the reported
            lifetime. A reported lifetime longer than the enforced one lets a test see whether
            a client refreshes in time (obstore refreshes when < 300 s remain).
        issued: Every credential handed out, as the DAAC's JSON, oldest first.
    """

    def __init__(self, moto: MotoServer, gate: ExpiryGate, keys: AwsKeys) -> None:
        """Create the role users' credentials are issued for.

        Args:
            moto: A moto server with auth enforced.
            gate: The gate in front of it that enforces expiry.
            keys: The moto user allowed to assume the role.
        """
        import boto3

        self.reported_lifetime = 3600.0
        self.enforced_lifetime: float | None = None
        self.issued: list[dict[str, str]] = []
        self._gate = gate
        self._lock = threading.Lock()
        options: dict[str, Any] = {
            "endpoint_url": moto.url,
            "aws_access_key_id": keys.access_key_id,
            "aws_secret_access_key": keys.secret_access_key,
        }
        with cleared_cloud_env():
            iam = boto3.client("iam", region_name="us-east-1", **options)
            self._sts = boto3.client("sts", region_name=REGION, **options)
        name = f"obstac-earthdata-{uuid.uuid4().hex[:8]}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": keys.user_arn}, "Action": "sts:AssumeRole"}
            ],
        }
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        read = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
        }
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(read))
        self._role_arn = role["Role"]["Arn"]

    def issue(self, username: str) -> dict[str, str]:
        """Assume the role for ``username`` and return the DAAC's JSON answer."""
        session_name = f"{username}@obstac"[:64]  # TEA: "{user_id}@{app_name}"
        with self._lock:
            answer = self._sts.assume_role(
                RoleArn=self._role_arn, RoleSessionName=session_name, DurationSeconds=_STS_DURATION
            )["Credentials"]
            now = time.time()
            enforced = self.enforced_lifetime
            self._gate.register(
                answer["SessionToken"],
                now + (enforced if enforced is not None else self.reported_lifetime),
            )
            expiration = datetime.fromtimestamp(now + self.reported_lifetime, UTC)
            credentials = {
                "accessKeyId": answer["AccessKeyId"],
                "secretAccessKey": answer["SecretAccessKey"],
                "sessionToken": answer["SessionToken"],
                "expiration": str(expiration.replace(microsecond=0)),
            }
            self.issued.append(credentials)
            return credentials

    def set_lifetimes(self, reported: float = 3600.0, enforced: float | None = None) -> None:
        """Set the lifetimes of the credentials issued from now on.

        Args:
            reported: Seconds until the reported ``expiration``.
            enforced: Seconds until the gate kills them; None: the reported lifetime.
        """
        with self._lock:
            self.reported_lifetime = reported
            self.enforced_lifetime = enforced


class SignedURLOrigin(RangeHTTPServer):
    """Objects served only through URLs this origin signed, like presigned S3 URLs."""

    def __init__(self, port: int = 0) -> None:
        """Describe the origin; nothing listens until ``start``.

        Args:
            port: The 127.0.0.1 port to bind; 0 picks a free one.
        """
        super().__init__(port)
        self._key = secrets.token_bytes(32)

    def _signature(self, path: str, expires: str) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def signed_url(self, path: str, lifetime: float = 3600.0) -> str:
        """A URL that serves ``path`` for ``lifetime`` seconds.

        Args:
            path: The object path, as given to ``put``.
            lifetime: Seconds the URL works.

        Returns:
            The URL, with ``X-Amz-Expires`` and ``X-Amz-Signature`` query parameters.
        """
        expires = str(int(time.time() + lifetime))
        query = urlencode(
            {"X-Amz-Expires": expires, "X-Amz-Signature": self._signature(path, expires)}
        )
        return f"{self.url}/{quote(path)}?{query}"

    def handle(self, request: RecordedRequest) -> Response | None:
        """Refuse requests whose signature is missing, wrong or expired (403, S3-style)."""
        query = _query(request)
        expires = query.get("X-Amz-Expires", "")
        signature = query.get("X-Amz-Signature", "")
        valid = (
            expires.isdigit()
            and int(expires) > time.time()
            and hmac.compare_digest(signature, self._signature(request.path, expires))
        )
        if valid:
            return None
        body = b"<Error><Code>AccessDenied</Code><Message>Request has expired or is not signed"
        return Response(403, {"Content-Type": "application/xml"}, body + b"</Message></Error>")


class EarthdataDaacDouble(_OriginServer):
    """A DAAC's Thin Egress App: ``/s3credentials``, ``/login`` and data paths.

    Attributes:
        client_id: The OAuth client id this DAAC sends to EDL.
    """

    def __init__(
        self,
        edl: EarthdataLoginDouble,
        issuer: StsCredentialIssuer,
        data: SignedURLOrigin,
        port: int = 0,
    ) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            edl: The EDL double users log in with.
            issuer: Where ``/s3credentials`` gets its temporary credentials.
            data: The origin data requests are redirected to with a presigned URL.
            port: The 127.0.0.1 port to bind; 0 picks a free one.
        """
        super().__init__(port)
        self.client_id = _DAAC_CLIENT_ID
        self._edl = edl
        self._issuer = issuer
        self._data = data
        self._lock = threading.Lock()
        self._sessions: dict[str, tuple[str, float]] = {}

    @property
    def credentials_url(self) -> str:
        """The ``/s3credentials`` endpoint's URL."""
        return f"{self.url}/s3credentials"

    def handle(self, request: RecordedRequest) -> Response | None:
        """Answer TEA's endpoints and data paths."""
        if request.method not in ("GET", "HEAD"):
            return Response(405, {"Allow": "GET, HEAD"})
        if request.path == "login":
            return self._login(request)
        user = self._user(request)
        if user is None:
            return self._to_edl(request)
        if request.path == "s3credentials":
            body = json.dumps(self._issuer.issue(user)).encode()
            return Response(200, {"Content-Type": "application/json"}, body)
        if self._data.object_at(request.path) is None:
            return _html(404, b"<html><body>File not found</body></html>\n")
        return Response(303, {"Location": self._data.signed_url(request.path)})

    def _user(self, request: RecordedRequest) -> str | None:
        """The user a session cookie or a bearer token names (TEA accepts both)."""
        session = _cookie(request.headers, SESSION_COOKIE)
        if session is not None:
            with self._lock:
                entry = self._sessions.get(session)
            if entry is not None and entry[1] > time.time():
                return entry[0]
        token = _bearer_token(request.headers)
        return self._edl.user_for_token(token) if token is not None else None

    def _to_edl(self, request: RecordedRequest) -> Response:
        query = urlencode(
            {
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": f"{self.url}/login",
                "state": request.target,
            }
        )
        return Response(302, {"Location": f"{self._edl.url}/oauth/authorize?{query}"})

    def _login(self, request: RecordedRequest) -> Response:
        query = _query(request)
        user = self._edl.redeem_code(query.get("code", ""))
        if user is None:
            return _html(401, b"<html><body>Could not log in</body></html>\n")
        session = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[session] = (user, time.time() + _SESSION_LIFETIME)
        state = query.get("state") or "/"
        headers = {
            "Location": f"{self.url}{state if state.startswith('/') else '/'}",
            "Set-Cookie": f"{SESSION_COOKIE}={session}; Path=/; HttpOnly",
        }
        return Response(301, headers)


def _cookie(headers: dict[str, str], name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    try:
        cookies = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = cookies.get(name)
    return morsel.value if morsel is not None else None


class EarthdataDoubles(Service):
    """EDL, a DAAC, STS behind an expiry gate and a presigned-URL origin, around one moto.

    Objects put with `put` can be read in region (``s3://bucket/key`` through ``s3_endpoint``
    with credentials from ``credentials_url``) and out of region (`https_url`, with an EDL
    bearer token).
    """

    def __init__(self, moto: MotoServer) -> None:
        """Describe the doubles; nothing runs until ``start``.

        Args:
            moto: A started moto server; its auth is enforced on ``start`` (a global switch).
        """
        self._moto = moto
        self.edl = EarthdataLoginDouble()
        self.gate = ExpiryGate(moto.port)
        self.data = SignedURLOrigin()
        self._issuer: StsCredentialIssuer | None = None
        self._daac: EarthdataDaacDouble | None = None
        self._buckets: set[str] = set()

    @property
    def issuer(self) -> StsCredentialIssuer:
        """The STS issuer (set its lifetimes to test refresh)."""
        if self._issuer is None:
            raise RuntimeError("EarthdataDoubles is not started; call start() first")
        return self._issuer

    @property
    def daac(self) -> EarthdataDaacDouble:
        """The DAAC double."""
        if self._daac is None:
            raise RuntimeError("EarthdataDoubles is not started; call start() first")
        return self._daac

    @property
    def credentials_url(self) -> str:
        """The DAAC's ``/s3credentials`` URL (pass it as ``credentials_url=``)."""
        return self.daac.credentials_url

    @property
    def s3_endpoint(self) -> str:
        """The S3 endpoint to read through (the expiry gate in front of moto)."""
        return self.gate.url

    @property
    def edl_url(self) -> str:
        """EDL's base URL (pass it as ``edl_host=``)."""
        return self.edl.url

    def start(self) -> Self:
        """Enforce moto's auth, create the STS role, start the servers."""
        keys = self._moto.enforce_auth()
        self.edl.start()
        self.gate.start()
        self.data.start()
        self._issuer = StsCredentialIssuer(self._moto, self.gate, keys)
        self._daac = EarthdataDaacDouble(self.edl, self._issuer, self.data).start()
        return self

    def stop(self) -> None:
        """Stop the servers (moto is left running). Safe to call twice."""
        for server in (self._daac, self.data, self.gate, self.edl):
            if server is not None:
                server.stop()

    def add_user(self, username: str, password: str) -> EarthdataUser:
        """Create an EDL account; see `EarthdataLoginDouble.add_user`."""
        return self.edl.add_user(username, password)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object in moto (in-region path) and behind the DAAC (https path).

        Args:
            bucket: The bucket, created in us-west-2 on first use.
            key: The object key.
            data: The content.
        """
        if bucket not in self._buckets:
            from botocore.exceptions import ClientError

            try:
                self._moto.create_bucket(bucket, region=REGION)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                    raise
            self._buckets.add(bucket)
        self._moto.put(bucket, key, data)
        self.data.put(f"{bucket}/{key}", data)

    def https_url(self, bucket: str, key: str) -> str:
        """The DAAC URL of an object, as CMR lists it (``https://<daac>/<bucket>/<key>``)."""
        return f"{self.daac.url}/{bucket}/{quote(key)}"
