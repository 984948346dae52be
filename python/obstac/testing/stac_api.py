"""A small STAC API on 127.0.0.1: landing page, conformance, and paged ``/search``.

`StacAPIDouble` is what pystac-client (and its ``stac-client search`` command) needs to run a
real search, with GET and POST, the ``limit`` parameter, ``next`` links carrying a token and
``numberMatched``. The only filters are ``collections`` and ``ids`` (``stac-client search -c
... --ids ...``); every other parameter is ignored and the items come in the order they were
added. It counts the pages it served, so a
test can prove that a consumer streams a search page by page instead of draining it first::

    with StacAPIDouble(items) as api:
        search = pystac_client.Client.open(api.url).search(limit=10)
        first = next(search.items())
        assert api.pages_served == 1
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer

__all__ = ["StacAPIDouble"]

DEFAULT_LIMIT = 10
"""Items per page when a search gives no ``limit`` (STAC APIs commonly default to 10)."""

MAX_LIMIT = 1000
"""The largest page the double serves, whatever ``limit`` asks for."""

_CONFORMS_TO = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/conf/1.0/core",
    "http://www.opengis.net/spec/ogcapi-features-1/conf/1.0/geojson",
]


class StacAPIDouble(_OriginServer):
    """A STAC API serving a fixed list of items through ``/search``, page by page.

    Attributes:
        pages_served: How many ``/search`` pages were answered since the last
            :meth:`clear_requests` (each page is one request).
        items_served: How many items those pages held in total.
    """

    def __init__(self, items: Iterable[Mapping[str, Any]] = (), *, port: int = 0) -> None:
        """Describe the API; nothing listens until ``start``.

        Args:
            items: The STAC Item dicts every search returns, in order.
            port: The 127.0.0.1 port to bind; 0 picks a free one.
        """
        super().__init__(port)
        self._items = [dict(item) for item in items]
        self._lock = threading.Lock()
        self.pages_served = 0
        self.items_served = 0

    def set_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace the items searches return."""
        with self._lock:
            self._items = [dict(item) for item in items]

    def clear_requests(self) -> None:
        """Reset :attr:`pages_served` and :attr:`items_served`, and forget the requests."""
        super().clear_requests()
        with self._lock:
            self.pages_served = 0
            self.items_served = 0

    # -- answers -----------------------------------------------------------------------------

    def _landing(self) -> dict[str, Any]:
        root = self.url
        return {
            "type": "Catalog",
            "stac_version": "1.0.0",
            "id": "obstac-stac-api-double",
            "description": "A local STAC API for tests (obstac.testing.StacAPIDouble)",
            "conformsTo": _CONFORMS_TO,
            "links": [
                {"rel": "self", "href": root, "type": "application/json"},
                {"rel": "root", "href": root, "type": "application/json"},
                {"rel": "conformance", "href": f"{root}/conformance"},
                {
                    "rel": "search",
                    "href": f"{root}/search",
                    "type": "application/geo+json",
                    "method": "GET",
                },
                {
                    "rel": "search",
                    "href": f"{root}/search",
                    "type": "application/geo+json",
                    "method": "POST",
                },
            ],
        }

    def _search(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        limit = min(max(int(params.get("limit") or DEFAULT_LIMIT), 1), MAX_LIMIT)
        offset = max(int(params.get("token") or 0), 0)
        collections = _names(params.get("collections"))
        ids = _names(params.get("ids"))
        with self._lock:
            matched = [
                item
                for item in self._items
                if (collections is None or item.get("collection") in collections)
                and (ids is None or item.get("id") in ids)
            ]
            page = matched[offset : offset + limit]
            more = offset + limit < len(matched)
            self.pages_served += 1
            self.items_served += len(page)
        links: list[dict[str, Any]] = [{"rel": "root", "href": self.url}]
        if more:
            following = {**params, "token": str(offset + limit)}
            if method == "POST":
                links.append(
                    {
                        "rel": "next",
                        "href": f"{self.url}/search",
                        "method": "POST",
                        "body": following,
                        "type": "application/geo+json",
                    }
                )
            else:
                links.append(
                    {
                        "rel": "next",
                        "href": f"{self.url}/search?{urlencode(following, doseq=True)}",
                        "type": "application/geo+json",
                    }
                )
        return {
            "type": "FeatureCollection",
            "features": [json.loads(json.dumps(item)) for item in page],
            "links": links,
            "numberMatched": len(matched),
            "numberReturned": len(page),
        }

    def handle(self, request: RecordedRequest) -> Response:
        """Answer every request with JSON: the landing page, conformance, ``/search``, or 404."""
        status, document = self._answer(request.method, request.target, request.body)
        content_type = "application/geo+json" if "features" in document else "application/json"
        return Response(status, {"Content-Type": content_type}, json.dumps(document).encode())

    def _answer(self, method: str, target: str, body: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        if method == "GET" and path == "":
            return 200, self._landing()
        if method == "GET" and path == "/conformance":
            return 200, {"conformsTo": _CONFORMS_TO}
        if path == "/search" and method in ("GET", "POST"):
            if method == "POST":
                params = json.loads(body or b"{}")
                if not isinstance(params, dict):
                    return 400, {"code": "BadRequest", "description": "body must be an object"}
            else:
                params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            try:
                return 200, self._search(method, params)
            except ValueError as error:
                return 400, {"code": "BadRequest", "description": str(error)}
        return 404, {"code": "NotFound", "description": f"{method} {parts.path}"}


def _names(value: object) -> frozenset[str] | None:
    """A ``collections``/``ids`` filter: a list (POST) or a comma-separated string (GET)."""
    if value is None or value in ("", []):
        return None
    if isinstance(value, str):
        return frozenset(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return frozenset(str(part) for part in value)
    raise ValueError(f"expected a list or a comma-separated string, got {value!r}")
