"""Parse any STAC asset href into a typed :class:`Location`: which store kind, bucket, key.

Forms understood (``parse_href`` docstring lists them with examples):

- object-store URIs: ``s3://`` (and ``s3a://``, ``s3n://``), ``gs://`` / ``gcs://``, ``az://`` /
  ``azure://``, ``abfs[s]://container@account.dfs.core.windows.net/path`` and the Planetary
  Computer form ``abfs://container/path`` whose account comes from ``table:storage_options`` /
  ``xarray:storage_options``;
- ``file://`` URLs and plain local paths;
- https URLs of the clouds: virtual-hosted, legacy dashed and path-style S3 hosts (region read
  from the host), ``*.blob.core.windows.net`` (a query there is a SAS token: a credential, kept
  apart from the key), ``storage.googleapis.com``;
- any other http(s) URL (its query is part of the resource and is kept);
- relative hrefs, resolved against the item's self link.

Keys of object-store URIs (``s3://b/a%20b``) are taken literally, as the AWS CLI and gsutil do;
keys of https URLs are percent-decoded, since that is what the server stores.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from obstac._redact import redact_url
from obstac.errors import UnsupportedHrefError

__all__ = ["Location", "StoreKind", "parse_href", "resolve_href"]


class StoreKind(StrEnum):
    """The kind of store an href lives in."""

    S3 = "s3"
    GCS = "gcs"
    AZURE = "azure"
    HTTP = "http"
    FILE = "file"


@dataclass(frozen=True)
class Location:
    """Where an asset's bytes are: the store kind, the bucket/container/origin, and the key.

    Attributes:
        kind: Which store kind serves it.
        key: The object key (S3/GCS/Azure), the URL path without leading slash (HTTP), or the
            absolute filesystem path (file). Always decoded, never percent-encoded.
        bucket: The S3/GCS bucket or Azure container (``None`` for HTTP and files).
        region: The S3 region when the href names it (host or ``storage:region``).
        account: The Azure storage account, when known.
        origin: For HTTP, ``scheme://host[:port]``; for cloud https URLs, the host's origin.
        query: For HTTP, the raw query string (part of the resource; kept).
        href: The absolute href as given. It may carry credentials, so it is left out of
            ``repr``; use :attr:`safe_href` to show it.
        sas_token: For Azure blob URLs, a SAS query that came with the href (a credential).
        userinfo: ``user:password`` from an http(s) URL (a credential).
    """

    kind: StoreKind
    key: str
    bucket: str | None = None
    region: str | None = None
    account: str | None = None
    origin: str | None = None
    query: str = field(default="", repr=False)
    href: str = field(default="", repr=False)
    sas_token: str | None = field(default=None, repr=False)
    userinfo: str | None = field(default=None, repr=False)

    @property
    def safe_href(self) -> str:
        """The href with any credential it carries redacted, fit for messages and logs."""
        return redact_url(self.href)

    @property
    def name(self) -> str:
        """The file name at the end of the key (``""`` when the key ends with ``/``)."""
        return PurePosixPath(self.key).name if self.key else ""

    def __repr__(self) -> str:
        parts = [f"kind={self.kind.value!r}"]
        for attr in ("bucket", "account", "region", "origin"):
            value = getattr(self, attr)
            if value is not None:
                parts.append(f"{attr}={value!r}")
        parts.append(f"key={self.key!r}")
        parts.append(f"href={self.safe_href!r}")
        return f"Location({', '.join(parts)})"


_S3_URI_SCHEMES = {"s3", "s3a", "s3n"}
_GCS_URI_SCHEMES = {"gs", "gcs"}
_AZ_URI_SCHEMES = {"az", "azure"}
_ABFS_SCHEMES = {"abfs", "abfss"}
_HTTP_SCHEMES = {"http", "https"}

# bucket.s3.amazonaws.com, bucket.s3.us-west-2.amazonaws.com, bucket.s3-us-west-2.amazonaws.com,
# bucket.s3.dualstack.us-west-2.amazonaws.com, and the .com.cn partition.
_S3_VHOST = re.compile(
    r"^(?P<bucket>.+)\.s3(?:[.-](?:dualstack\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?"
    r"\.amazonaws\.com(?:\.cn)?$"
)
# s3.amazonaws.com/bucket/key, s3.us-west-2.amazonaws.com/bucket/key, s3-us-west-2...
_S3_PATH_HOST = re.compile(
    r"^s3(?:[.-](?:dualstack\.)?(?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?\.amazonaws\.com(?:\.cn)?$"
)
_AZURE_HOST = re.compile(r"^(?P<account>[a-z0-9]+)\.(?:blob|dfs)\.core\.windows\.net$")
_GCS_PATH_HOSTS = {"storage.googleapis.com", "storage.cloud.google.com"}
_GCS_VHOST = re.compile(r"^(?P<bucket>.+)\.storage\.googleapis\.com$")
# Presigned S3/GCS URLs carry their credential in the query: they are read as plain HTTP.
_PRESIGNED = re.compile(r"(?i)(^|&)(x-amz-signature|x-goog-signature|signature)=")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_STORAGE_OPTION_KEYS = ("table:storage_options", "xarray:storage_options")


def resolve_href(href: str, base: str | None) -> str:
    """Make ``href`` absolute against ``base`` (usually the item's self link).

    Works for any base scheme (``https://``, ``s3://``, ``file://``, plain paths), not only the
    ones :func:`urllib.parse.urljoin` knows. An href that is already absolute is returned as is.

    Raises:
        UnsupportedHrefError: ``href`` is relative and there is no base to resolve it against.
    """
    if _is_absolute(href):
        return href
    if not base:
        raise UnsupportedHrefError(
            f"relative href {href!r} needs the item's self link to resolve against; "
            "call item.set_self_href(...) or pass an absolute href",
            href=href,
        )
    base_parts = urlsplit(base)
    if base_parts.scheme and base_parts.netloc:
        rel_path, _, rel_query = href.partition("?")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_parts.path), rel_path))
        if rel_path.endswith("/") and not joined.endswith("/"):
            joined += "/"
        url = f"{base_parts.scheme}://{base_parts.netloc}{joined}"
        return f"{url}?{rel_query}" if rel_query else url
    if base_parts.scheme == "file":
        base = base_parts.path
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), href))


def _is_absolute(href: str) -> bool:
    if href.startswith("/") or _WINDOWS_DRIVE.match(href):
        return True
    scheme = urlsplit(href).scheme
    return bool(scheme) and len(scheme) > 1


def parse_href(
    href: str,
    *,
    base: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Location:
    """Parse an asset href into a :class:`Location`.

    Args:
        href: The asset href, absolute or relative.
        base: The href relative ones resolve against (the item's self link).
        storage_options: The asset's ``table:storage_options`` / ``xarray:storage_options``;
            ``account_name`` there gives the account of ``abfs://container/path`` hrefs.

    Examples:
        ``s3://sentinel-cogs/a/B04.tif`` -> S3, bucket ``sentinel-cogs``, key ``a/B04.tif``;
        ``https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B04.tif`` -> the same, region
        ``us-west-2``; ``https://acct.blob.core.windows.net/cont/x.tif?sv=..&sig=..`` -> Azure,
        account ``acct``, container ``cont``, key ``x.tif``, SAS token kept apart.

    Raises:
        UnsupportedHrefError: The href is empty, has an unknown scheme, or lacks a bucket or
            container the form requires. The message names the form.
    """
    if not isinstance(href, str) or not href.strip():
        raise UnsupportedHrefError(f"empty href {href!r}: an asset needs an href to read")
    href = href.strip()
    href = resolve_href(href, base)
    if href.startswith("/") or _WINDOWS_DRIVE.match(href):
        return Location(kind=StoreKind.FILE, key=href, href=href)
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in _S3_URI_SCHEMES:
        bucket, key = _bucket_and_key(href, parts.netloc, parts.path, "s3://bucket/key")
        return Location(kind=StoreKind.S3, bucket=bucket, key=key, href=href)
    if scheme in _GCS_URI_SCHEMES:
        bucket, key = _bucket_and_key(href, parts.netloc, parts.path, "gs://bucket/key")
        return Location(kind=StoreKind.GCS, bucket=bucket, key=key, href=href)
    if scheme in _AZ_URI_SCHEMES:
        container, key = _bucket_and_key(href, parts.netloc, parts.path, "az://container/path")
        return Location(
            kind=StoreKind.AZURE,
            bucket=container,
            key=key,
            account=_account_from_options(storage_options),
            href=href,
        )
    if scheme in _ABFS_SCHEMES:
        return _parse_abfs(href, parts.netloc, parts.path, storage_options)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UnsupportedHrefError(
                f"file URL {redact_url(href)!r} names host {parts.netloc!r}; only local files "
                "(file:///path) can be read",
                href=href,
            )
        return Location(kind=StoreKind.FILE, key=unquote(parts.path), href=href)
    if scheme in _HTTP_SCHEMES:
        return _parse_http(href)
    raise UnsupportedHrefError(
        f"href {redact_url(href)!r} has scheme {scheme + '://' if scheme else '(none)'} that "
        "obstac cannot read; supported: s3://, gs://, az://, abfs[s]://, file://, http(s)://, "
        "local paths and relative hrefs",
        href=href,
    )


def _bucket_and_key(href: str, netloc: str, path: str, form: str) -> tuple[str, str]:
    if not netloc:
        raise UnsupportedHrefError(
            f"href {redact_url(href)!r} has no bucket/container; expected the form {form}",
            href=href,
        )
    return netloc, path.lstrip("/")


def _account_from_options(storage_options: Mapping[str, Any] | None) -> str | None:
    if not storage_options:
        return None
    account = storage_options.get("account_name")
    return str(account) if account else None


def storage_options_of(fields: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``table:`` or ``xarray:storage_options`` mapping of an asset or item, if any."""
    for key in _STORAGE_OPTION_KEYS:
        options = fields.get(key)
        if isinstance(options, Mapping):
            return options
    return None


def _parse_abfs(
    href: str, netloc: str, path: str, storage_options: Mapping[str, Any] | None
) -> Location:
    key = path.lstrip("/")
    if "@" in netloc:
        container, _, host = netloc.partition("@")
        match = _AZURE_HOST.match(host.lower())
        if not match or not container:
            raise UnsupportedHrefError(
                f"href {redact_url(href)!r}: expected "
                "abfs[s]://container@account.dfs.core.windows.net/path",
                href=href,
            )
        return Location(
            kind=StoreKind.AZURE,
            bucket=container,
            key=key,
            account=match.group("account"),
            href=href,
        )
    if not netloc:
        raise UnsupportedHrefError(
            f"href {redact_url(href)!r} has no container; expected abfs://container/path",
            href=href,
        )
    return Location(
        kind=StoreKind.AZURE,
        bucket=netloc,
        key=key,
        account=_account_from_options(storage_options),
        href=href,
    )


def _parse_http(href: str) -> Location:
    parts = urlsplit(href)
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsupportedHrefError(f"URL {redact_url(href)!r} has no host", href=href)
    origin = f"{parts.scheme.lower()}://{host}" + (f":{parts.port}" if parts.port else "")
    path = unquote(parts.path)
    userinfo = _userinfo(parts.netloc)
    presigned = bool(_PRESIGNED.search(parts.query))

    if not presigned and not userinfo:
        cloud = _parse_cloud_https(href, host, origin, path, parts.query)
        if cloud is not None:
            return cloud
    return Location(
        kind=StoreKind.HTTP,
        key=path.lstrip("/"),
        origin=origin,
        query=parts.query,
        href=href,
        userinfo=userinfo,
    )


def _userinfo(netloc: str) -> str | None:
    if "@" not in netloc:
        return None
    return unquote(netloc.rpartition("@")[0])


def _parse_cloud_https(href: str, host: str, origin: str, path: str, query: str) -> Location | None:
    if match := _S3_VHOST.match(host):
        return Location(
            kind=StoreKind.S3,
            bucket=match.group("bucket"),
            key=path.lstrip("/"),
            region=match.group("region"),
            origin=origin,
            href=href,
        )
    if match := _S3_PATH_HOST.match(host):
        bucket, _, key = path.lstrip("/").partition("/")
        if not bucket:
            return None
        return Location(
            kind=StoreKind.S3,
            bucket=bucket,
            key=key,
            region=match.group("region"),
            origin=origin,
            href=href,
        )
    if match := _AZURE_HOST.match(host):
        container, _, key = path.lstrip("/").partition("/")
        if not container:
            return None
        return Location(
            kind=StoreKind.AZURE,
            bucket=container,
            key=key,
            account=match.group("account"),
            origin=origin,
            href=href,
            sas_token=query or None,
        )
    if host in _GCS_PATH_HOSTS:
        bucket, _, key = path.lstrip("/").partition("/")
        if not bucket:
            return None
        return Location(kind=StoreKind.GCS, bucket=bucket, key=key, origin=origin, href=href)
    if match := _GCS_VHOST.match(host):
        return Location(
            kind=StoreKind.GCS,
            bucket=match.group("bucket"),
            key=path.lstrip("/"),
            origin=origin,
            href=href,
        )
    return None
