"""The local servers in obstac.testing, proven through real obstore clients."""

from __future__ import annotations

import http.client
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import obstore
import pytest
from obstore.exceptions import (
    GenericError,
    NotModifiedError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
)
from obstore.store import AzureStore, GCSStore, HTTPStore, S3Store

import obstac.testing
from obstac.testing import (
    ACCESS_KEY_ID,
    ACCOUNT_KEY,
    ACCOUNT_NAME,
    SECRET_ACCESS_KEY,
    AzuriteServer,
    CountingProxy,
    GCSDouble,
    MotoServer,
    RangeHTTPServer,
    RecordedRequest,
    Response,
    ServerProcess,
    cleared_cloud_env,
    free_port,
    wait_for_port,
)
from obstac.testing.gcs import static_token

if TYPE_CHECKING:
    from obstore.store import AzureConfig, RetryConfig

NO_RETRIES: RetryConfig = {"max_retries": 0}

# 600 KiB of non-repeating-looking bytes: more than two 256 KiB write chunks.
DATA = bytes((i * 7 + i // 256) % 256 for i in range(600 * 1024))


def _http_store(origin: RangeHTTPServer) -> HTTPStore:
    return HTTPStore.from_url(
        origin.url, client_options={"allow_http": True}, retry_config=NO_RETRIES
    )


def _gcs_store(gcs: GCSDouble, bucket: str) -> GCSStore:
    return GCSStore(
        bucket,
        base_url=gcs.url,
        skip_signature=True,
        client_options={"allow_http": True},
        retry_config=NO_RETRIES,
    )


def _etag(origin: RangeHTTPServer, path: str) -> str:
    stored = origin.object_at(path)
    assert stored is not None
    return stored.etag


# -- package -------------------------------------------------------------------------------


def test_all_is_sorted_and_importable() -> None:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    names = obstac.testing.__all__
    constants = [name for name in names if name.isupper()]
    others = [name for name in names if not name.isupper()]
    assert names == sorted(constants) + sorted(others, key=lambda name: (name[0].islower(), name))
    for name in names:
        assert getattr(obstac.testing, name) is not None


# -- ports, processes, env ------------------------------------------------------------------


def test_wait_for_port_names_port_and_timeout_when_nothing_listens() -> None:
    port = free_port()
    with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{port} within 0\.2 s"):
        wait_for_port(port, timeout=0.2)


def test_server_process_quotes_its_log_when_it_exits_early() -> None:
    argv = [sys.executable, "-c", "import sys; print('marker-42', flush=True); sys.exit(3)"]
    server = ServerProcess(argv, port=free_port(), name="doomed")
    with pytest.raises(RuntimeError, match="exited with code 3") as caught:
        server.start()
    assert "marker-42" in str(caught.value)
    assert not server.running


def test_server_process_serves_then_stops() -> None:
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(port)]
    with ServerProcess(argv, port=port) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("HEAD", "/")
        assert connection.getresponse().status == 200
        connection.close()
        log_path = server.log_path
    assert not server.running
    assert log_path is not None
    assert not log_path.exists()


def test_cleared_cloud_env_removes_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "outer")
    monkeypatch.setenv("OBSTAC_UNRELATED", "kept")
    with cleared_cloud_env():
        assert "AWS_ACCESS_KEY_ID" not in os.environ
        assert os.environ["OBSTAC_UNRELATED"] == "kept"
        os.environ["GOOGLE_BUCKET"] = "set-inside"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "outer"
    assert "GOOGLE_BUCKET" not in os.environ


# -- RangeHTTPServer ------------------------------------------------------------------------


def test_http_origin_serves_whole_ranges_suffix_and_offset(http_origin: RangeHTTPServer) -> None:
    path = "ranges/a b+c.bin"
    http_origin.put(path, DATA)
    store = _http_store(http_origin)

    assert bytes(obstore.get(store, path).bytes()) == DATA
    assert bytes(obstore.get_range(store, path, start=10, end=300_000)) == DATA[10:300_000]
    suffix = obstore.get(store, path, options={"range": {"suffix": 10}})
    assert bytes(suffix.bytes()) == DATA[-10:]
    offset = obstore.get(store, path, options={"range": {"offset": 5}})
    assert bytes(offset.bytes()) == DATA[5:]
    meta = obstore.head(store, path)
    assert meta["size"] == len(DATA)
    assert meta["e_tag"] == _etag(http_origin, path)

    ranges = [r.range for r in http_origin.requests if r.path == path and r.method == "GET"]
    assert ranges == [None, "bytes=10-299999", "bytes=-10", "bytes=5-"]
    assert http_origin.count("HEAD", path) == 1


def test_http_origin_records_raw_target_and_decoded_path(http_origin: RangeHTTPServer) -> None:
    path = "record/ü €.bin"
    http_origin.put(path, b"0123456789")
    obstore.get_range(_http_store(http_origin), path, start=2, end=4)

    (request,) = [r for r in http_origin.requests if r.path == path]
    assert request == RecordedRequest(
        method="GET",
        target="/record/%C3%BC%20%E2%82%AC.bin",
        path=path,
        query="",
        headers=request.headers,
        range="bytes=2-3",
    )
    assert request.headers["host"] == f"127.0.0.1:{http_origin.port}"
    assert all(name == name.lower() for name in request.headers)


def test_http_origin_answers_416_past_the_end(http_origin: RangeHTTPServer) -> None:
    http_origin.put("short.bin", b"0123456789")
    with pytest.raises(GenericError, match="416"):
        obstore.get_range(_http_store(http_origin), "short.bin", start=20, end=30)
    assert http_origin.count("GET", "short.bin") == 1


def test_http_origin_missing_object_is_file_not_found(http_origin: RangeHTTPServer) -> None:
    with pytest.raises(FileNotFoundError):
        obstore.get(_http_store(http_origin), "no/such.bin")
    http_origin.put("deleted.bin", b"x")
    http_origin.delete("deleted.bin")
    with pytest.raises(FileNotFoundError):
        obstore.head(_http_store(http_origin), "deleted.bin")


def test_http_origin_honours_conditional_requests(http_origin: RangeHTTPServer) -> None:
    http_origin.put("etag.bin", b"abcdef")
    store = _http_store(http_origin)
    etag = obstore.head(store, "etag.bin")["e_tag"]
    assert etag is not None

    matched = obstore.get(store, "etag.bin", options={"if_match": etag})
    assert bytes(matched.bytes()) == b"abcdef"
    with pytest.raises(NotModifiedError):
        obstore.get(store, "etag.bin", options={"if_none_match": etag})
    with pytest.raises(PreconditionError):
        obstore.get(store, "etag.bin", options={"if_match": '"other"'})
    tomorrow, yesterday = datetime.now(UTC) + timedelta(days=1), datetime.now(UTC) - timedelta(1)
    with pytest.raises(NotModifiedError):
        obstore.get(store, "etag.bin", options={"if_modified_since": tomorrow})
    with pytest.raises(PreconditionError):
        obstore.get(store, "etag.bin", options={"if_unmodified_since": yesterday})
    fresh = obstore.get(store, "etag.bin", options={"if_modified_since": yesterday})
    assert bytes(fresh.bytes()) == b"abcdef"
    assert http_origin.count("GET", "etag.bin") == 6


def _raw_get(origin: RangeHTTPServer, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", origin.port, timeout=5)
    try:
        connection.request("GET", f"/{path}", headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_http_origin_sends_whole_body_for_multi_range_and_stale_if_range(
    http_origin: RangeHTTPServer,
) -> None:
    http_origin.put("multi.bin", b"0123456789")
    assert _raw_get(http_origin, "multi.bin", {"Range": "bytes=0-1,4-5"}) == (200, b"0123456789")
    stale = {"Range": "bytes=0-1", "If-Range": '"stale"'}
    assert _raw_get(http_origin, "multi.bin", stale) == (200, b"0123456789")
    fresh = {"Range": "bytes=0-1", "If-Range": _etag(http_origin, "multi.bin")}
    assert _raw_get(http_origin, "multi.bin", fresh) == (206, b"01")
    assert _raw_get(http_origin, "multi.bin", {"Range": "bytes=-0"})[0] == 416


class _TokenOrigin(RangeHTTPServer):
    """Serves objects only to requests carrying the right bearer token."""

    def handle(self, request: RecordedRequest) -> Response | None:
        if request.headers.get("authorization") == "Bearer letmein":
            return None
        return Response(401, {"WWW-Authenticate": "Bearer"}, b"token required")


def test_http_origin_subclass_answers_through_handle() -> None:
    with _TokenOrigin() as origin:
        origin.put("secret.bin", b"secret")
        with pytest.raises(UnauthenticatedError):
            obstore.get(_http_store(origin), "secret.bin")
        authorised = HTTPStore.from_url(
            origin.url,
            client_options={
                "allow_http": True,
                "default_headers": {"authorization": "Bearer letmein"},
            },
            retry_config=NO_RETRIES,
        )
        assert bytes(obstore.get(authorised, "secret.bin").bytes()) == b"secret"
        assert origin.count("GET") == 2


def test_http_origin_stop_closes_keep_alive_connections() -> None:
    origin = RangeHTTPServer().start()
    origin.put("a.bin", b"abc")
    store = _http_store(origin)
    assert bytes(obstore.get(store, "a.bin").bytes()) == b"abc"
    origin.stop()
    with pytest.raises(GenericError):
        obstore.get(store, "a.bin")
    origin.start()  # same port again
    try:
        assert bytes(obstore.get(store, "a.bin").bytes()) == b"abc"
    finally:
        origin.stop()


# -- GCSDouble ------------------------------------------------------------------------------

GCS_BUCKET = "obstac-test.bucket_1"
GCS_NAMES = [
    "dir/a-b.c.tif",
    "with space/file name.tif",
    "unicode/ünï©ødé 日本.tif",
    "tilde~/a+b.tif",
    "percent/100%25 of %.tif",
]


@pytest.mark.parametrize("name", GCS_NAMES)
def test_gcs_double_serves_tricky_names_to_gcsstore(gcs_double: GCSDouble, name: str) -> None:
    data = DATA[:1000] + name.encode()
    gcs_double.put(GCS_BUCKET, name, data)
    store = _gcs_store(gcs_double, GCS_BUCKET)

    assert bytes(obstore.get(store, name).bytes()) == data
    assert bytes(obstore.get_range(store, name, start=3, end=40)) == data[3:40]
    parts = obstore.get_ranges(store, name, starts=[0, 500], ends=[4, 510])
    assert [bytes(part) for part in parts] == [data[0:4], data[500:510]]
    suffix = obstore.get(store, name, options={"range": {"suffix": 10}})
    assert bytes(suffix.bytes()) == data[-10:]
    offset = obstore.get(store, name, options={"range": {"offset": 5}})
    assert bytes(offset.bytes()) == data[5:]
    meta = obstore.head(store, name)
    assert meta["size"] == len(data)
    assert meta["version"] is not None
    assert int(meta["version"]) > 0

    seen = [r for r in gcs_double.requests if r.path == f"{GCS_BUCKET}/{name}"]
    assert [r.method for r in seen] == ["GET"] * 5 + ["HEAD"]
    # obstore percent-encodes "/", "-", "." and "~" inside names; the double decoded them.
    for request in seen:
        encoded_name = request.target.split("/", 2)[2]
        assert "/" not in encoded_name
        assert "." not in encoded_name


def test_gcs_double_generation_grows_with_each_put(gcs_double: GCSDouble) -> None:
    store = _gcs_store(gcs_double, "generations")
    gcs_double.put("generations", "a.bin", b"one")
    first = obstore.head(store, "a.bin")["version"]
    gcs_double.put("generations", "a.bin", b"two!")
    second = obstore.head(store, "a.bin")
    assert first is not None
    assert second["version"] is not None
    assert int(second["version"]) > int(first)
    assert second["size"] == 4


def test_gcs_double_missing_object_is_file_not_found(gcs_double: GCSDouble) -> None:
    store = _gcs_store(gcs_double, GCS_BUCKET)
    with pytest.raises(FileNotFoundError, match="NoSuchKey"):
        obstore.get(store, "missing/object.tif")
    gcs_double.put(GCS_BUCKET, "gone.tif", b"x")
    gcs_double.delete(GCS_BUCKET, "gone.tif")
    with pytest.raises(FileNotFoundError):
        obstore.head(store, "gone.tif")


def test_gcs_double_takes_puts_with_metadata_and_lists_by_pages(gcs_double: GCSDouble) -> None:
    store = GCSStore(
        "writes",
        base_url=gcs_double.url,
        credential_provider=static_token,
        client_options={"allow_http": True},
        retry_config=NO_RETRIES,
    )
    obstore.put(store, "f/a b.bin", b"hello", attributes={"obstac_sha256": "1220ab"})
    head = obstore.get(store, "f/a b.bin", options={"head": True})
    assert (head.attributes["obstac_sha256"], head.meta["size"]) == ("1220ab", 5)
    gcs_double.put("writes", "f/sub/c.bin", b"x")
    listed = obstore.list_with_delimiter(store, "f")
    assert listed["common_prefixes"] == ["f/sub"]
    assert [meta["path"] for meta in listed["objects"]] == ["f/a b.bin"]
    for number in range(1001):
        gcs_double.put("writes", f"g/{number:04d}", b"")
    gcs_double.clear_requests()
    assert sum(len(chunk) for chunk in obstore.list(store, "g", chunk_size=500)) == 1001
    assert [r.target for r in gcs_double.requests] == [
        "/writes?list-type=2&prefix=g%2F",
        "/writes?list-type=2&prefix=g%2F&continuation-token=g%2F0999",
    ]


# -- CountingProxy in front of moto ---------------------------------------------------------


@pytest.fixture(scope="module")
def s3_bucket(moto_server: MotoServer) -> str:
    moto_server.create_bucket("obstac-proxy-test")
    moto_server.put("obstac-proxy-test", "dir/a b+c.tif", DATA)
    return "obstac-proxy-test"


@pytest.fixture
def moto_proxy(moto_server: MotoServer) -> Iterator[CountingProxy]:
    with CountingProxy(moto_server.port) as proxy:
        yield proxy


def _s3_store(proxy: CountingProxy, bucket: str) -> S3Store:
    return S3Store(
        bucket,
        endpoint=proxy.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
        retry_config=NO_RETRIES,
    )


def test_proxy_counts_obstore_s3_gets(s3_bucket: str, moto_proxy: CountingProxy) -> None:
    store = _s3_store(moto_proxy, s3_bucket)
    key = "dir/a b+c.tif"

    assert bytes(obstore.get(store, key).bytes()) == DATA
    assert moto_proxy.count("GET") == 1
    assert bytes(obstore.get_range(store, key, start=5, end=100)) == DATA[5:100]
    assert obstore.head(store, key)["size"] == len(DATA)

    assert moto_proxy.count() == 3
    assert moto_proxy.count("get") == 2
    assert moto_proxy.count("HEAD") == 1
    assert [r.range for r in moto_proxy.requests] == [None, "bytes=5-99", None]
    assert {r.target for r in moto_proxy.requests} == {f"/{s3_bucket}/dir/a%20b%2Bc.tif"}
    assert moto_proxy.requests[0].headers["authorization"].startswith("AWS4-HMAC-SHA256")
    moto_proxy.clear()
    assert moto_proxy.count() == 0


def test_proxy_skips_request_bodies(s3_bucket: str, moto_proxy: CountingProxy) -> None:
    # The body looks like a request line: the parser must skip it by Content-Length.
    body = b"GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n" * 2000
    store = _s3_store(moto_proxy, s3_bucket)
    obstore.put(store, "uploaded.bin", body)
    assert bytes(obstore.get(store, "uploaded.bin").bytes()) == body

    assert [(r.method, r.target) for r in moto_proxy.requests] == [
        ("PUT", f"/{s3_bucket}/uploaded.bin"),
        ("GET", f"/{s3_bucket}/uploaded.bin"),
    ]


def test_proxy_stops_parsing_a_chunked_connection(http_origin: RangeHTTPServer) -> None:
    http_origin.put("chunked.bin", b"ok")
    with CountingProxy(http_origin.port) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        connection.request("PUT", "/chunked.bin", body=iter([b"GET /x HTTP/1.1\r\n\r\n"]))
        response = connection.getresponse()
        response.read()
        assert response.status == 405
        connection.close()
        assert [(r.method, r.target) for r in proxy.requests] == [("PUT", "/chunked.bin")]
        assert proxy.requests[0].headers["transfer-encoding"] == "chunked"


def test_proxy_closes_client_when_target_is_down() -> None:
    with CountingProxy(free_port()) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(1) == b""
        assert proxy.count() == 0


def test_moto_server_reset_forgets_buckets() -> None:
    with MotoServer() as moto:
        moto.create_bucket("obstac-reset-test")
        moto.create_bucket("obstac-eu-test", region="eu-west-1")
        location = moto.client().get_bucket_location(Bucket="obstac-eu-test")
        assert location["LocationConstraint"] == "eu-west-1"
        assert len(moto.client().list_buckets()["Buckets"]) == 2
        moto.reset()
        assert moto.client().list_buckets()["Buckets"] == []


# -- Azurite --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def azure_containers(azurite_server: AzuriteServer) -> tuple[str, str]:
    azurite_server.create_container("private-data")
    azurite_server.create_container("public-data", public=True)
    azurite_server.put("private-data", "dir/a b.tif", DATA)
    azurite_server.put("public-data", "open/ü.tif", b"public bytes")
    return "private-data", "public-data"


def _azure_store(
    endpoint: str,
    container: str,
    *,
    account_key: str | None = None,
    sas_key: str | None = None,
    skip_signature: bool = False,
) -> AzureStore:
    config: AzureConfig = {"skip_signature": skip_signature}
    if account_key is not None:
        config["account_key"] = account_key
    if sas_key is not None:
        config["sas_key"] = sas_key
    return AzureStore(
        container_name=container,
        account_name=ACCOUNT_NAME,
        endpoint=endpoint,
        config=config,
        client_options={"allow_http": True},
        retry_config=NO_RETRIES,
    )


def test_azurite_serves_obstore_with_account_key(
    azurite_server: AzuriteServer, azure_containers: tuple[str, str]
) -> None:
    private, _ = azure_containers
    with CountingProxy(azurite_server.port) as proxy:
        endpoint = f"{proxy.url}/{ACCOUNT_NAME}"
        store = _azure_store(endpoint, private, account_key=ACCOUNT_KEY)
        assert bytes(obstore.get(store, "dir/a b.tif").bytes()) == DATA
        assert bytes(obstore.get_range(store, "dir/a b.tif", start=7, end=70)) == DATA[7:70]
        assert obstore.head(store, "dir/a b.tif")["size"] == len(DATA)
        assert proxy.count("GET") == 2
        assert proxy.count("HEAD") == 1
        assert proxy.requests[1].range == "bytes=7-69"
        assert proxy.requests[0].target == f"/{ACCOUNT_NAME}/{private}/dir/a%20b.tif"


def test_azurite_serves_obstore_with_container_sas(
    azurite_server: AzuriteServer, azure_containers: tuple[str, str]
) -> None:
    private, _ = azure_containers
    sas = azurite_server.container_sas(private, expiry=datetime.now(UTC) + timedelta(hours=1))
    assert not sas.startswith("?")
    assert "sig=" in sas
    store = _azure_store(azurite_server.endpoint, private, sas_key=sas)
    assert bytes(obstore.get_range(store, "dir/a b.tif", start=0, end=16)) == DATA[:16]

    expired = azurite_server.container_sas(private, expiry=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(PermissionDeniedError):
        obstore.get(_azure_store(azurite_server.endpoint, private, sas_key=expired), "dir/a b.tif")


def test_azurite_public_container_reads_without_signature(
    azurite_server: AzuriteServer, azure_containers: tuple[str, str]
) -> None:
    private, public = azure_containers
    anonymous = _azure_store(azurite_server.endpoint, public, skip_signature=True)
    assert bytes(obstore.get(anonymous, "open/ü.tif").bytes()) == b"public bytes"
    with pytest.raises(PermissionDeniedError):
        obstore.get(
            _azure_store(azurite_server.endpoint, private, skip_signature=True), "dir/a b.tif"
        )


def test_azurite_missing_executable_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBSTAC_AZURITE", "/nonexistent/azurite-blob")
    with pytest.raises(RuntimeError, match="OBSTAC_AZURITE"):
        AzuriteServer().start()


def test_plugin_runs_each_test_without_cloud_env() -> None:
    # Run the suite with e.g. AWS_PROFILE=x GOOGLE_BUCKET=y set to see this fixture at work.
    assert [name for name in os.environ if name.startswith(("AWS_", "AZURE_", "GOOGLE_"))] == []
