"""A local double of the Planetary Computer SAS token endpoint, issuing real Azurite SAS tokens.

The real endpoint answers ``GET {sas_url}/{account}/{container}`` (``sas_url`` defaults to
``https://planetarycomputer.microsoft.com/api/sas/v1/token``) with::

    {"msft:expiry": "2024-05-14T19:00:49Z", "token": "st=...&se=...&sp=rl&sv=...&sr=c&sig=..."}

`PlanetaryComputerDouble` answers the same request with a container SAS that Azurite signed
with its account key, so a store using the token really reads from Azurite, and Azurite really
refuses it once its ``se`` has passed: refresh is proven, not assumed. Every storage account
maps to Azurite's single account ``devstoreaccount1``; point the recipe's ``blob_endpoint`` at
Azurite so real-looking hrefs (``https://sentinel2l2a01.blob.core.windows.net/...``) land there.

Two lifetimes can differ on purpose. ``token_lifetime`` is when the SAS itself stops working
(its ``se``; Azure writes it in whole seconds, so the token lives between ``token_lifetime - 1
s`` and ``token_lifetime``). ``reported_lifetime`` is what ``msft:expiry`` says, which clients
use to decide when to fetch again. obstore refetches a credential when fewer than 300 s of its
reported validity remain, so a double reporting ``token_lifetime + 298 s`` makes obstore fetch
a new token ``token_lifetime - 2 s`` after each one, about 2 s before the SAS dies (measured:
with 5 s tokens, fetches at 0, 3.0 and 6.0 s of an 8 s read loop, no failed read); reporting an
hour makes a client keep a dead token, which Azurite then refuses.

Example:
    ```py
    with AzuriteServer() as azurite, PlanetaryComputerDouble(azurite) as pc:
        azurite.create_container("sentinel2-l2")
        azurite.put("sentinel2-l2", "a/B04.tif", b"...")
        recipe = obstac.recipes.planetary_computer(
            sas_url=pc.sas_url, blob_endpoint=azurite.endpoint
        )
        href = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/a/B04.tif"
        obstac.open_asset(href, recipe=recipe).read()
        assert pc.count_tokens() == 1
    ```
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer

if TYPE_CHECKING:
    from obstac.testing.azurite import AzuriteServer

__all__ = ["SAS_PATH", "IssuedToken", "PlanetaryComputerDouble"]

SAS_PATH = "api/sas/v1/token"
"""The token endpoint's path on the double, as on planetarycomputer.microsoft.com."""

SUBSCRIPTION_KEY_HEADER = "ocp-apim-subscription-key"
"""The header carrying a Planetary Computer subscription key (lower-cased)."""

_INVALID_KEY_BODY = {
    "statusCode": 401,
    "message": (
        "Access denied due to invalid subscription key. Make sure to provide a valid key for "
        "an active subscription."
    ),
}
"""What Azure API Management (in front of the real endpoint) answers for a bad key."""


@dataclass(frozen=True)
class IssuedToken:
    """One SAS token the double handed out.

    Attributes:
        account: The storage account asked for (any name; Azurite serves them all).
        container: The container the SAS is for.
        token: The SAS query string (a credential: tests use it only to look for leaks).
        expires: When Azurite stops accepting it (its ``se``).
        reported_expiry: The ``msft:expiry`` sent with it.
    """

    account: str
    container: str
    token: str = field(repr=False)
    expires: datetime
    reported_expiry: datetime


class PlanetaryComputerDouble(_OriginServer):
    """The Planetary Computer SAS token endpoint on 127.0.0.1, backed by an `AzuriteServer`.

    Every request is recorded (see ``requests`` and ``count``); `count_tokens` counts token
    requests, refused ones included, and `issued` lists the tokens handed out.
    """

    def __init__(
        self,
        azurite: AzuriteServer,
        *,
        token_lifetime: timedelta = timedelta(hours=1),
        reported_lifetime: timedelta | None = None,
        subscription_key: str | None = None,
        port: int = 0,
    ) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            azurite: The Azurite server whose account key signs the tokens.
            token_lifetime: How long each SAS really works (its ``se``).
            reported_lifetime: How long ``msft:expiry`` says it works; default
                ``token_lifetime``.
            subscription_key: When set, requests without this ``Ocp-Apim-Subscription-Key``
                header get 401, as the real endpoint does for an invalid key.
            port: The 127.0.0.1 port to bind; 0 picks a free one.
        """
        super().__init__(port)
        self._azurite = azurite
        self._token_lifetime = token_lifetime
        self._reported_lifetime = reported_lifetime or token_lifetime
        self._subscription_key = subscription_key
        self._issued: list[IssuedToken] = []
        self._issued_lock = threading.Lock()

    @property
    def sas_url(self) -> str:
        """The token endpoint's base URL, ``http://127.0.0.1:PORT/api/sas/v1/token``."""
        return f"{self.url}/{SAS_PATH}"

    @property
    def issued(self) -> list[IssuedToken]:
        """The tokens handed out so far, oldest first."""
        with self._issued_lock:
            return list(self._issued)

    def count_tokens(self, account: str | None = None, container: str | None = None) -> int:
        """Count token requests (answered or refused), optionally for one account/container.

        Args:
            account: Count only requests for this storage account.
            container: Count only requests for this container.

        Returns:
            The number of matching token requests.
        """
        count = 0
        for request in self.requests:
            target = _token_target(request)
            if target is None:
                continue
            if (account is None or target[0] == account) and (
                container is None or target[1] == container
            ):
                count += 1
        return count

    def clear_requests(self) -> None:
        """Forget the recorded requests and the issued tokens."""
        super().clear_requests()
        with self._issued_lock:
            self._issued.clear()

    def handle(self, request: RecordedRequest) -> Response:
        """Answer ``GET /api/sas/v1/token/{account}/{container}``; 404 for anything else."""
        target = _token_target(request)
        if target is None or request.method != "GET":
            return _json(404, {"statusCode": 404, "message": "Resource not found"})
        if self._subscription_key is not None and (
            request.headers.get(SUBSCRIPTION_KEY_HEADER) != self._subscription_key
        ):
            return _json(401, _INVALID_KEY_BODY)
        account, container = target
        now = datetime.now(UTC)
        expires = now + self._token_lifetime
        reported = now + self._reported_lifetime
        token = self._azurite.container_sas(container, expiry=expires)
        with self._issued_lock:
            self._issued.append(IssuedToken(account, container, token, expires, reported))
        body = {"msft:expiry": reported.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token}
        return _json(200, body)


def _token_target(request: RecordedRequest) -> tuple[str, str] | None:
    """``(account, container)`` of a token request's path, else None."""
    rest = request.path.removeprefix(SAS_PATH + "/")
    if rest == request.path:
        return None
    account, _, container = rest.partition("/")
    if not account or not container or "/" in container:
        return None
    return account, container


def _json(status: int, body: object) -> Response:
    return Response(status, {"Content-Type": "application/json"}, json.dumps(body).encode())
