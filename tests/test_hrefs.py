"""Every href form parses to the right Location; every real href in the shared fixtures parses."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from obstac import Location, StoreKind, UnsupportedHrefError, parse_href
from obstac.hrefs import resolve_href
from obstac.recipes import explain
from tests._fixtures import iter_fixture_assets

# (href, base, storage_options, expected Location fields)
CASES: list[tuple[str, str | None, dict[str, Any] | None, dict[str, Any]]] = [
    # object-store URIs: keys are literal, as the AWS CLI and gsutil take them
    ("s3://sentinel-cogs/a/B04.tif", None, None,
     {"kind": StoreKind.S3, "bucket": "sentinel-cogs", "key": "a/B04.tif", "region": None}),
    ("s3://b/p%20q.tif", None, None, {"kind": StoreKind.S3, "bucket": "b", "key": "p%20q.tif"}),
    ("s3a://b/k", None, None, {"kind": StoreKind.S3, "bucket": "b", "key": "k"}),
    ("gs://gcp-public-data-landsat/LC08/x.TIF", None, None,
     {"kind": StoreKind.GCS, "bucket": "gcp-public-data-landsat", "key": "LC08/x.TIF"}),
    ("gcs://b/k", None, None, {"kind": StoreKind.GCS, "bucket": "b", "key": "k"}),
    ("az://cont/dir/x.tif", None, None,
     {"kind": StoreKind.AZURE, "bucket": "cont", "key": "dir/x.tif", "account": None}),
    ("az://cont/x.tif", None, {"account_name": "acct"},
     {"kind": StoreKind.AZURE, "bucket": "cont", "key": "x.tif", "account": "acct"}),
    ("abfs://cont@acct.dfs.core.windows.net/p/q.zarr", None, None,
     {"kind": StoreKind.AZURE, "bucket": "cont", "key": "p/q.zarr", "account": "acct"}),
    ("abfss://cont@acct.dfs.core.windows.net/p", None, None,
     {"kind": StoreKind.AZURE, "bucket": "cont", "key": "p", "account": "acct"}),
    # the Planetary Computer form: the account comes from table:/xarray:storage_options
    ("abfs://daymet-zarr/daily/hi.zarr", None, {"account_name": "daymeteuwest"},
     {"kind": StoreKind.AZURE, "bucket": "daymet-zarr", "key": "daily/hi.zarr",
      "account": "daymeteuwest"}),
    # local files
    ("file:///tmp/a%20b.tif", None, None, {"kind": StoreKind.FILE, "key": "/tmp/a b.tif"}),
    ("file://localhost/tmp/x", None, None, {"kind": StoreKind.FILE, "key": "/tmp/x"}),
    ("/data/x.tif", None, None, {"kind": StoreKind.FILE, "key": "/data/x.tif"}),
    # S3 https forms, region from the host
    ("https://sentinel-cogs.s3.us-west-2.amazonaws.com/a/B04.tif", None, None,
     {"kind": StoreKind.S3, "bucket": "sentinel-cogs", "key": "a/B04.tif",
      "region": "us-west-2"}),
    ("https://asc-mars.s3-us-west-2.amazonaws.com/ctx/x.tif", None, None,
     {"kind": StoreKind.S3, "bucket": "asc-mars", "key": "ctx/x.tif", "region": "us-west-2"}),
    ("https://my.dotted.bucket.s3.eu-central-1.amazonaws.com/k", None, None,
     {"kind": StoreKind.S3, "bucket": "my.dotted.bucket", "key": "k", "region": "eu-central-1"}),
    ("https://b.s3.amazonaws.com/k", None, None,
     {"kind": StoreKind.S3, "bucket": "b", "key": "k", "region": None}),
    ("https://b.s3.dualstack.ap-southeast-2.amazonaws.com/k", None, None,
     {"kind": StoreKind.S3, "bucket": "b", "key": "k", "region": "ap-southeast-2"}),
    ("https://s3.us-gov-west-1.amazonaws.com/bkt/a/b.tif", None, None,
     {"kind": StoreKind.S3, "bucket": "bkt", "key": "a/b.tif", "region": "us-gov-west-1"}),
    ("https://s3-eu-west-1.amazonaws.com/bkt/k", None, None,
     {"kind": StoreKind.S3, "bucket": "bkt", "key": "k", "region": "eu-west-1"}),
    ("https://s3.amazonaws.com/bkt/k%20x", None, None,
     {"kind": StoreKind.S3, "bucket": "bkt", "key": "k x", "region": None}),
    # a presigned S3 URL is read as plain HTTP: its query is the credential
    ("https://b.s3.us-west-2.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=x", None, None,
     {"kind": StoreKind.HTTP, "key": "k", "origin": "https://b.s3.us-west-2.amazonaws.com"}),
    # S3 website endpoints are not the S3 API
    ("https://b.s3-website-us-east-1.amazonaws.com/k", None, None,
     {"kind": StoreKind.HTTP, "key": "k"}),
    # Azure blob URLs: a query there is a SAS credential, not part of the key
    ("https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/10/S/x.tif", None, None,
     {"kind": StoreKind.AZURE, "account": "sentinel2l2a01", "bucket": "sentinel2-l2",
      "key": "10/S/x.tif", "sas_token": None}),
    ("https://acct.blob.core.windows.net/cont/a%20b.tif?st=1&se=2&sp=rl&sig=abc%3D", None, None,
     {"kind": StoreKind.AZURE, "account": "acct", "bucket": "cont", "key": "a b.tif",
      "sas_token": "st=1&se=2&sp=rl&sig=abc%3D"}),
    # GCS https forms
    ("https://storage.googleapis.com/gcp-public-data-landsat/LC08/01/x.TIF", None, None,
     {"kind": StoreKind.GCS, "bucket": "gcp-public-data-landsat", "key": "LC08/01/x.TIF"}),
    ("https://bkt.storage.googleapis.com/a%2Bb.tif", None, None,
     {"kind": StoreKind.GCS, "bucket": "bkt", "key": "a+b.tif"}),
    # any other http(s) URL: query kept, path decoded, port kept, userinfo set apart
    ("https://landsatlook.usgs.gov/data/x.TIF", None, None,
     {"kind": StoreKind.HTTP, "origin": "https://landsatlook.usgs.gov", "key": "data/x.TIF",
      "query": ""}),
    ("http://127.0.0.1:8080/a%20b/c.tif?ref=main&x=1", None, None,
     {"kind": StoreKind.HTTP, "origin": "http://127.0.0.1:8080", "key": "a b/c.tif",
      "query": "ref=main&x=1"}),
    ("https://user:pa%40ss@example.com/f", None, None,
     {"kind": StoreKind.HTTP, "origin": "https://example.com", "key": "f",
      "userinfo": "user:pa@ss"}),
    ("HTTPS://Example.COM/F.tif", None, None,
     {"kind": StoreKind.HTTP, "origin": "https://example.com", "key": "F.tif"}),
    # relative hrefs, against the item's self link, for any base scheme
    ("./B04.tif", "https://example.com/items/x/item.json", None,
     {"kind": StoreKind.HTTP, "key": "items/x/B04.tif", "origin": "https://example.com"}),
    ("../shared/B04.tif", "https://example.com/items/x/item.json", None,
     {"kind": StoreKind.HTTP, "key": "items/shared/B04.tif"}),
    ("B04.tif", "s3://bkt/items/x/item.json", None,
     {"kind": StoreKind.S3, "bucket": "bkt", "key": "items/x/B04.tif"}),
    ("./B04.tif", "/data/items/x/item.json", None,
     {"kind": StoreKind.FILE, "key": "/data/items/x/B04.tif"}),
    ("./B04.tif", "file:///data/items/x/item.json", None,
     {"kind": StoreKind.FILE, "key": "/data/items/x/B04.tif"}),
    ("B04.tif?ref=v1", "https://h.example/p/item.json", None,
     {"kind": StoreKind.HTTP, "key": "p/B04.tif", "query": "ref=v1"}),
    ("./x.tif", "https://sentinel-cogs.s3.us-west-2.amazonaws.com/items/i.json", None,
     {"kind": StoreKind.S3, "bucket": "sentinel-cogs", "key": "items/x.tif",
      "region": "us-west-2"}),
]  # fmt: skip


@pytest.mark.parametrize(("href", "base", "options", "expected"), CASES)
def test_href_form_parses_to_location(
    href: str, base: str | None, options: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    location = parse_href(href, base=base, storage_options=options)
    for field, value in expected.items():
        assert getattr(location, field) == value, f"{field} of {href!r}"


@pytest.mark.parametrize(
    ("href", "names"),
    [
        ("", "empty href"),
        ("   ", "empty href"),
        ("ftp://host/x.tif", "ftp://"),
        ("ipfs://Qm123/x", "ipfs://"),
        ("s3:///key-without-bucket", "s3://bucket/key"),
        ("abfs:///x", "abfs://container/path"),
        ("abfs://c@not-azure.example.com/x", "abfs[s]://container@account"),
        ("file://otherhost/x", "only local files"),
        ("relative/x.tif", "self link"),
    ],
)
def test_bad_href_names_its_form(href: str, names: str) -> None:
    with pytest.raises(UnsupportedHrefError, match=None) as caught:
        parse_href(href)
    assert names in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_secret_in_href_stays_out_of_error_and_repr() -> None:
    with pytest.raises(UnsupportedHrefError) as caught:
        parse_href("ftp://alice:hunter22@host/x?token=s3cr3tvalue")
    assert "hunter22" not in str(caught.value)
    assert "s3cr3tvalue" not in str(caught.value)
    location = parse_href("https://acct.blob.core.windows.net/c/x.tif?sv=1&sig=SIGVALUE123")
    assert "SIGVALUE123" not in repr(location)
    assert "SIGVALUE123" in (location.sas_token or "")


def test_resolve_keeps_absolute_hrefs() -> None:
    assert resolve_href("s3://b/k", "https://x/y.json") == "s3://b/k"
    assert resolve_href("./a/../b.tif", "https://x/c/item.json") == "https://x/c/b.tif"


def _kind_expected_from_host(href: str) -> StoreKind | None:
    if href.startswith("s3://") or ".amazonaws.com/" in href:
        return StoreKind.S3
    if href.startswith("abfs://") or ".blob.core.windows.net/" in href:
        return StoreKind.AZURE
    if "storage.googleapis.com/" in href:
        return StoreKind.GCS
    if href.startswith("http"):
        return StoreKind.HTTP
    return None


# Counted once from ../shared/fixtures/items (assets plus their `alternate` hrefs). A change in
# the shared fixtures changes these numbers, and this test says so instead of passing silently.
FIXTURE_HREF_COUNTS = {
    StoreKind.S3: 293,
    StoreKind.AZURE: 203,
    StoreKind.GCS: 4,
    StoreKind.HTTP: 151,
}


def test_every_real_fixture_href_parses_and_routes() -> None:
    counts: Counter[StoreKind] = Counter()
    for fixture in iter_fixture_assets():
        location = parse_href(
            fixture.href, base=fixture.base, storage_options=fixture.storage_options
        )
        expected = _kind_expected_from_host(fixture.href)
        assert location.kind == expected, f"{fixture.source}: {fixture.href}"
        if location.kind is StoreKind.AZURE:
            assert location.account, f"{fixture.source}: no account for {fixture.href}"
        if location.kind in (StoreKind.S3, StoreKind.GCS, StoreKind.AZURE):
            assert location.bucket, f"{fixture.source}: no bucket in {fixture.href}"
            assert location.key, f"{fixture.source}: no key in {fixture.href}"
        fields = {k: v for k, v in fixture.fields.items() if k != "alternate"}
        explanation = explain({"href": fixture.href, **fields})
        assert explanation.kind == location.kind.value
        counts[location.kind] += 1
    assert dict(counts) == FIXTURE_HREF_COUNTS, dict(counts)


def test_location_name_is_the_file_name() -> None:
    assert parse_href("s3://b/a/b/c.tif").name == "c.tif"
    assert isinstance(parse_href("s3://b/a"), Location)
