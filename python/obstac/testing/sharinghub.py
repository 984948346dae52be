"""A double of a SharingHub server's download API, with object storage on a second origin.

SharingHub (csgroup-oss/sharinghub-server) serves GitLab repository files at
``/api/download/{project_path}/repository/{file_path}?ref={branch}`` and takes the GitLab token
from the ``X-Gitlab-Token`` header or a ``gitlab_token`` query parameter. `SharingHubDouble`
answers like it:

- no token: ``403`` with SharingHub's ``{"detail": "Missing token, ..."}``;
- a token it does not know: ``401`` (what GitLab answers SharingHub's proxied request with);
- a ``ref`` other than the file's branch, or an unknown file: ``404``;
- otherwise the file, with ``Range``, ``ETag`` and ``HEAD`` like a static host.

Files stored with `SharingHubDouble.put_redirected` live on :attr:`SharingHubDouble.storage`, a
second origin (another port) standing in for the object storage behind GitLab LFS: SharingHub
answers them with a ``302`` to a presigned-looking URL there. The storage origin records every
request, so a test can prove the token never reached it (:attr:`SharingHubDouble.token_leaked`).
`SharingHubDouble.alias` adds a same-origin ``302`` (a renamed file), `SharingHubDouble.loop`
a redirect loop.
"""

from __future__ import annotations

import hashlib
import json
from typing import Self
from urllib.parse import parse_qs, quote

from obstac.testing.http_origin import RangeHTTPServer, RecordedRequest, Response, _OriginServer

__all__ = ["DOWNLOAD_PREFIX", "TOKEN", "ObjectStorage", "SharingHubDouble"]

TOKEN = "glpat-sh4r1nghub-7Yq2xZ9w"
"""The GitLab token a `SharingHubDouble` accepts unless told otherwise."""

DOWNLOAD_PREFIX = "api/download/"
"""Where SharingHub's download API lives, relative to the server URL."""

_JSON = {"Content-Type": "application/json"}


class ObjectStorage(RangeHTTPServer):
    """The second origin: serves LFS objects by path, records whether a token reached it."""

    @property
    def token_leaked(self) -> bool:
        """Whether any request here carried ``X-Gitlab-Token`` or a ``gitlab_token`` query."""
        return any(
            "x-gitlab-token" in request.headers or "gitlab_token" in parse_qs(request.query)
            for request in self.requests
        )


class SharingHubDouble(_OriginServer):
    """A local stand-in for a SharingHub server's ``/api/download`` on 127.0.0.1.

    Example:
        ```py
        with SharingHubDouble() as hub:
            href = hub.put("space/ai-model", "models/model.onnx", b"...")
            recipe = obstac.recipes.sharinghub(TOKEN, base_url=hub.url)
            obstac.open_asset(href, recipe=recipe).read()
        ```
    """

    def __init__(self, *, tokens: tuple[str, ...] = (TOKEN,), port: int = 0) -> None:
        """Describe the double; nothing listens until ``start``.

        Args:
            tokens: The GitLab tokens accepted.
            port: The 127.0.0.1 port of the SharingHub origin; 0 picks a free one.
        """
        super().__init__(port)
        self.tokens = tokens
        self.storage = ObjectStorage()
        self._refs: dict[str, str] = {}
        self._redirects: dict[str, str] = {}

    def start(self) -> Self:
        """Start the SharingHub origin and the object storage origin.

        Returns:
            This double.
        """
        self.storage.start()
        try:
            return super().start()
        except BaseException:
            self.storage.stop()
            raise

    def stop(self) -> None:
        """Stop both origins. Safe to call twice."""
        super().stop()
        self.storage.stop()

    def href(self, project: str, file_path: str, ref: str = "main") -> str:
        """The download URL SharingHub's STAC API writes for a repository file.

        Args:
            project: The GitLab project path, e.g. ``"space-group/cloud-model"``.
            file_path: The file's path in the repository, e.g. ``"model/weights.onnx"``.
            ref: The branch or tag.

        Returns:
            ``{url}/api/download/{project}/repository/{file_path}?ref={ref}``.
        """
        return f"{self.url}/{quote(self._path(project, file_path))}?ref={quote(ref, safe='')}"

    def put(self, project: str, file_path: str, data: bytes, ref: str = "main") -> str:
        """Store a repository file that SharingHub serves itself.

        Args:
            project: The GitLab project path.
            file_path: The file's path in the repository.
            data: The content.
            ref: The branch the file is on.

        Returns:
            The file's download URL (see `href`).
        """
        path = self._path(project, file_path)
        self._put_object(path, data)
        self._redirects.pop(path, None)
        self._refs[path] = ref
        return self.href(project, file_path, ref)

    def put_redirected(self, project: str, file_path: str, data: bytes, ref: str = "main") -> str:
        """Store an LFS file: SharingHub redirects it (``302``) to the object storage origin.

        Args:
            project: The GitLab project path.
            file_path: The file's path in the repository.
            data: The content.
            ref: The branch the file is on.

        Returns:
            The file's download URL on SharingHub (see `href`).
        """
        path = self._path(project, file_path)
        oid = hashlib.sha256(data).hexdigest()
        self.storage.put(f"lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}", data)
        self._delete_object(path)
        self._refs[path] = ref
        self._redirects[path] = (
            f"{self.storage.url}/lfs/objects/{oid[:2]}/{oid[2:4]}/{oid}"
            "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-Signature=5e1f0c"
        )
        return self.href(project, file_path, ref)

    def alias(self, project: str, old_path: str, new_path: str, ref: str = "main") -> str:
        """Make ``old_path`` answer a same-origin ``302`` to ``new_path`` (a moved file).

        Args:
            project: The GitLab project path.
            old_path: The file path that redirects.
            new_path: The file path it redirects to (store it with `put`).
            ref: The branch.

        Returns:
            The download URL of ``old_path``.
        """
        path = self._path(project, old_path)
        self._delete_object(path)
        self._refs[path] = ref
        self._redirects[path] = self.href(project, new_path, ref)
        return self.href(project, old_path, ref)

    def loop(self, project: str, file_path: str, ref: str = "main") -> str:
        """Make ``file_path`` redirect to itself forever (a misconfigured server).

        Args:
            project: The GitLab project path.
            file_path: The file path.
            ref: The branch.

        Returns:
            The looping download URL.
        """
        return self.alias(project, file_path, file_path, ref)

    @property
    def token_leaked(self) -> bool:
        """Whether the token reached the object storage origin (it must not)."""
        return self.storage.token_leaked

    def handle(self, request: RecordedRequest) -> Response | None:
        """Check the token and the ref; redirect or let the file be served.

        Args:
            request: The request.

        Returns:
            A refusal, a redirect, or None to serve the file.
        """
        if not request.path.startswith(DOWNLOAD_PREFIX):
            return Response(404, _JSON, b'{"detail":"Not Found"}')
        query = parse_qs(request.query)
        token = request.headers.get("x-gitlab-token") or query.get("gitlab_token", [""])[0]
        if not token:
            detail = "Missing token, either use login, or pass it as header or query"
            return Response(403, _JSON, json.dumps({"detail": detail}).encode())
        if token not in self.tokens:
            detail = 'HTTP 401 | GET /api/v4/projects: {"message":"401 Unauthorized"}'
            return Response(401, _JSON, json.dumps({"detail": detail}).encode())
        ref = self._refs.get(request.path)
        if ref is None or query.get("ref") != [ref]:
            detail = 'HTTP 404 | GET /api/v4/projects: {"message":"404 File Not Found"}'
            return Response(404, _JSON, json.dumps({"detail": detail}).encode())
        location = self._redirects.get(request.path)
        if location is not None:
            return Response(302, {"Location": location})
        return None

    @staticmethod
    def _path(project: str, file_path: str) -> str:
        return f"{DOWNLOAD_PREFIX}{project.strip('/')}/repository/{file_path.lstrip('/')}"
