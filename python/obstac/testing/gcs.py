"""A double of the Google Cloud Storage XML API, for obstore's `GCSStore`.

The double answers ``GET`` and ``HEAD`` on ``/{bucket}/{object}`` with the headers obstore
reads from GCS (``ETag``, ``Last-Modified``, ``Content-Length``, ``x-goog-generation``,
``x-goog-stored-content-length``), byte ranges and conditional requests, and a GCS-style XML
``NoSuchKey`` error for missing objects. Enough writing for a store-to-store destination: a
single-request ``PUT`` of an object (its ``x-goog-meta-*`` user metadata kept and sent back),
and ``GET /{bucket}?list-type=2`` listings (``prefix``, ``delimiter``, ``max-keys``, paging
by ``continuation-token``). No multipart uploads.

obstore configuration the double needs (obstore 0.12.1), no credentials and no environment::

    GCSStore(
        bucket,
        base_url=double.url,               # "http://127.0.0.1:PORT", no trailing slash
        skip_signature=True,               # no OAuth token fetch, no Authorization header
        client_options={"allow_http": True},
    )

``skip_signature=True`` is enough to read: obstore then neither looks for credentials (no
metadata server, no ``GOOGLE_APPLICATION_CREDENTIALS``) nor signs. To write, pass
``credential_provider=static_token`` instead (obstore 0.12.1 asks for a token before a PUT
even with ``skip_signature``; the double ignores it). It requests
``{base_url}/{bucket}/{object}`` and percent-encodes every byte of the bucket and of the object
name outside ``[A-Za-z0-9]``, ``/`` ``-`` ``.`` ``_`` ``~`` included: ``dir/a-b.c.tif`` in
``my.bucket`` arrives as ``/my%2Ebucket/dir%2Fa%2Db%2Ec%2Etif``. The double percent-decodes the
whole path, so any name works. ``ObjectMeta.version`` comes from ``x-goog-generation``.
"""

from __future__ import annotations

import email.utils
import threading
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from obstac.testing.http_origin import RecordedRequest, Response, StoredObject, _OriginServer

if TYPE_CHECKING:
    from obstore.store import GCSCredential

USER_METADATA_PREFIX = "x-goog-meta-"
"""Request and response headers that carry an object's user metadata."""

__all__ = ["GCSDouble", "static_token"]

LIST_PAGE = 1000
"""Objects per listing page, GCS's maximum (``max-keys`` may ask for fewer)."""


def static_token() -> GCSCredential:
    """A bearer token for ``GCSStore(credential_provider=...)``; the double accepts any."""
    return {"token": "obstac-test-token", "expires_at": None}


class GCSDouble(_OriginServer):
    """A local stand-in for GCS object reads on 127.0.0.1.

    Example:
        ```py
        with GCSDouble() as gcs:
            gcs.put("bucket", "dir/a b.tif", b"...")
            store = GCSStore(
                "bucket",
                base_url=gcs.url,
                skip_signature=True,
                client_options={"allow_http": True},
            )
            obstore.get(store, "dir/a b.tif").bytes()
        ```
    """

    def __init__(self, port: int = 0) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            port: The 127.0.0.1 port to bind; 0 picks a free one (kept across restarts).
        """
        super().__init__(port)
        self._generation_lock = threading.Lock()
        self._last_generation = 0

    def put(
        self, bucket: str, name: str, data: bytes, metadata: dict[str, str] | None = None
    ) -> StoredObject:
        """Store an object; each put gets a new, larger ``x-goog-generation``.

        Args:
            bucket: The bucket name.
            name: The object name, raw and unencoded, e.g. ``"dir/a b.tif"``.
            data: The content.
            metadata: User metadata, sent back as ``x-goog-meta-{key}`` headers.

        Returns:
            The stored object.
        """
        headers = {
            **{f"{USER_METADATA_PREFIX}{key}": value for key, value in (metadata or {}).items()},
            "x-goog-generation": str(self._next_generation()),
            "x-goog-metageneration": "1",
            "x-goog-stored-content-length": str(len(data)),
            "x-goog-stored-content-encoding": "identity",
            "x-goog-storage-class": "STANDARD",
        }
        return self._put_object(f"{bucket}/{name}", data, headers)

    def delete(self, bucket: str, name: str) -> None:
        """Remove an object, if present.

        Args:
            bucket: The bucket name.
            name: The object name given to `put`.
        """
        self._delete_object(f"{bucket}/{name}")

    def not_found(self, request: RecordedRequest) -> Response:
        """Answer a missing object the way GCS's XML API does.

        Args:
            request: The request.

        Returns:
            A 404 with an XML ``<Error><Code>NoSuchKey</Code>...`` body.
        """
        body = (
            "<?xml version='1.0' encoding='UTF-8'?>"
            "<Error><Code>NoSuchKey</Code>"
            "<Message>The specified key does not exist.</Message>"
            f"<Details>No such object: {escape(request.path)}</Details></Error>"
        ).encode()
        return Response(404, {"Content-Type": "application/xml; charset=UTF-8"}, body)

    def handle(self, request: RecordedRequest) -> Response | None:
        """Answer the writes and listings; reads go to the static-host answers.

        Args:
            request: The request.

        Returns:
            The answer to a PUT of an object or a listing, else None.
        """
        bucket, _, name = request.path.partition("/")
        if request.method == "PUT" and name and not request.query:
            prefix = len(USER_METADATA_PREFIX)
            metadata = {
                key[prefix:]: value
                for key, value in request.headers.items()
                if key.startswith(USER_METADATA_PREFIX)
            }
            stored = self.put(bucket, name, request.body, metadata)
            generation = stored.headers["x-goog-generation"]
            headers = {"ETag": stored.etag, "x-goog-generation": generation}
            return Response(200, headers)
        if request.method == "GET" and not name and "list-type=2" in request.query:
            return self._listing(bucket, parse_qs(request.query))
        return None

    def _listing(self, bucket: str, query: dict[str, list[str]]) -> Response:
        """One page of ``ListObjectsV2`` XML, the shape GCS's XML API answers with."""
        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [""])[0]
        after = query.get("continuation-token", query.get("start-after", [""]))[0]
        limit = min(int(query.get("max-keys", [str(LIST_PAGE)])[0]), LIST_PAGE)
        with self._objects_lock:
            names = sorted(
                (path.partition("/")[2], stored)
                for path, stored in self._objects.items()
                if path.startswith(f"{bucket}/{prefix}")
            )
        contents: list[str] = []
        prefixes: list[str] = []
        last = ""
        truncated = False
        for key, stored in names:
            if key <= after:
                continue
            rest = key[len(prefix) :]
            folder = delimiter and delimiter in rest
            common = prefix + rest.split(delimiter, 1)[0] + delimiter if folder else ""
            if folder and prefixes and prefixes[-1] == common:
                last = key  # one more object under a folder already listed
                continue
            if len(contents) + len(prefixes) == limit:
                truncated = True
                break
            if folder:
                prefixes.append(common)
            else:
                contents.append(_content(key, stored))
            last = key
        parts = [
            "<?xml version='1.0' encoding='UTF-8'?>",
            '<ListBucketResult xmlns="http://doc.s3.amazonaws.com/2006-03-01">',
            f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>",
            f"<KeyCount>{len(contents) + len(prefixes)}</KeyCount><MaxKeys>{limit}</MaxKeys>",
            f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>",
            *contents,
            *(f"<CommonPrefixes><Prefix>{escape(p)}</Prefix></CommonPrefixes>" for p in prefixes),
        ]
        if truncated:
            parts.append(f"<NextContinuationToken>{escape(last)}</NextContinuationToken>")
        parts.append("</ListBucketResult>")
        body = "".join(parts).encode()
        return Response(200, {"Content-Type": "application/xml; charset=UTF-8"}, body)

    def _next_generation(self) -> int:
        # GCS generations are microsecond timestamps; keep them strictly increasing.
        with self._generation_lock:
            self._last_generation = max(time.time_ns() // 1000, self._last_generation + 1)
            return self._last_generation


def _content(key: str, stored: StoredObject) -> str:
    modified = email.utils.parsedate_to_datetime(stored.last_modified)
    return (
        f"<Contents><Key>{escape(key)}</Key>"
        f"<Generation>{stored.headers.get('x-goog-generation', '1')}</Generation>"
        f"<LastModified>{modified.strftime('%Y-%m-%dT%H:%M:%S.000Z')}</LastModified>"
        f"<ETag>{escape(stored.etag)}</ETag><Size>{len(stored.data)}</Size></Contents>"
    )
