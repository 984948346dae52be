"""A read-only double of the Google Cloud Storage XML API, for obstore's `GCSStore`.

The double answers ``GET`` and ``HEAD`` on ``/{bucket}/{object}`` with the headers obstore
reads from GCS (``ETag``, ``Last-Modified``, ``Content-Length``, ``x-goog-generation``,
``x-goog-stored-content-length``), byte ranges and conditional requests, and a GCS-style XML
``NoSuchKey`` error for missing objects.

obstore configuration the double needs (obstore 0.12.1), no credentials and no environment::

    GCSStore(
        bucket,
        base_url=double.url,               # "http://127.0.0.1:PORT", no trailing slash
        skip_signature=True,               # no OAuth token fetch, no Authorization header
        client_options={"allow_http": True},
    )

``skip_signature=True`` is enough: obstore then neither looks for credentials (no metadata
server, no ``GOOGLE_APPLICATION_CREDENTIALS``) nor signs. It requests
``{base_url}/{bucket}/{object}`` and percent-encodes every byte of the bucket and of the object
name outside ``[A-Za-z0-9]``, ``/`` ``-`` ``.`` ``_`` ``~`` included: ``dir/a-b.c.tif`` in
``my.bucket`` arrives as ``/my%2Ebucket/dir%2Fa%2Db%2Ec%2Etif``. The double percent-decodes the
whole path, so any name works. ``ObjectMeta.version`` comes from ``x-goog-generation``.
"""

from __future__ import annotations

import threading
import time
from xml.sax.saxutils import escape

from obstac.testing.http_origin import RecordedRequest, Response, _OriginServer


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

    def put(self, bucket: str, name: str, data: bytes) -> None:
        """Store an object; each put gets a new, larger ``x-goog-generation``.

        Args:
            bucket: The bucket name.
            name: The object name, raw and unencoded, e.g. ``"dir/a b.tif"``.
            data: The content.
        """
        headers = {
            "x-goog-generation": str(self._next_generation()),
            "x-goog-metageneration": "1",
            "x-goog-stored-content-length": str(len(data)),
            "x-goog-stored-content-encoding": "identity",
            "x-goog-storage-class": "STANDARD",
        }
        self._put_object(f"{bucket}/{name}", data, headers)

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

    def _next_generation(self) -> int:
        # GCS generations are microsecond timestamps; keep them strictly increasing.
        with self._generation_lock:
            self._last_generation = max(time.time_ns() // 1000, self._last_generation + 1)
            return self._last_generation
