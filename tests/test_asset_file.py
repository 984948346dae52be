"""AssetReader.open(): the read-ahead buffer, io semantics and requests counted at the origin."""

from __future__ import annotations

import io
import random
import uuid

import pytest

import obstac
from obstac import StoreCache
from obstac.testing import RangeHTTPServer

KIB = 1024


def _put(origin: RangeHTTPServer, size: int) -> tuple[str, str, bytes]:
    """Store ``size`` random bytes under a fresh path; return (path, href, data)."""
    data = random.Random(size).randbytes(size)
    path = f"file-{uuid.uuid4().hex[:8]}/data.bin"
    origin.put(path, data)
    return path, f"{origin.url}/{path}", data


def _ranges(origin: RangeHTTPServer, path: str) -> list[str | None]:
    return [r.range for r in origin.requests if r.path == path and r.method == "GET"]


def test_seek_to_the_current_position_costs_no_request(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    # GDAL seeks before every read, mostly to where it already is: 32 reads of 16 KiB, each
    # after seek(tell()), fit one 1 MiB buffer, so one GET serves them all.
    path, href, data = _put(http_origin, 2 * 1024 * KIB)
    with obstac.open_asset(href, cache=store_cache).open() as f:
        chunks = []
        for _ in range(32):
            f.seek(f.tell())
            chunks.append(f.read(16 * KIB))
    assert b"".join(chunks) == data[: 512 * KIB]
    assert _ranges(http_origin, path) == ["bytes=0-1048575"]


def test_seeks_inside_the_buffer_and_to_its_edge_cost_no_request(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    path, href, data = _put(http_origin, 300 * KIB)
    with obstac.open_asset(href, cache=store_cache).open(buffer_size=64 * KIB) as f:
        f.seek(1000)
        assert f.read(10) == data[1000:1010]
        assert f.buffered == (1000, 1000 + 64 * KIB)
        f.seek(-500, io.SEEK_CUR)  # before the buffer: refill from here
        assert f.read(100) == data[510:610]
        f.seek(30 * KIB)
        assert f.read(4 * KIB) == data[30 * KIB : 34 * KIB]
        f.seek(510)
        assert f.read(1) == data[510:511]
        f.seek(510 + 64 * KIB)  # the buffer's end: seeking there is free
        assert _ranges(http_origin, path) == ["bytes=1000-66535", "bytes=510-66045"]
        # A read across the edge takes the buffer's tail, then refills from its end.
        f.seek(510 + 64 * KIB - 10)
        assert f.read(20) == data[510 + 64 * KIB - 10 : 510 + 64 * KIB + 10]
    assert _ranges(http_origin, path)[2:] == [f"bytes={510 + 64 * KIB}-{510 + 128 * KIB - 1}"]


def test_a_read_larger_than_the_buffer_is_one_get_and_keeps_the_buffer(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    path, href, data = _put(http_origin, 1024 * KIB)
    with obstac.open_asset(href, cache=store_cache).open(buffer_size=64 * KIB) as f:
        assert f.read(10) == data[:10]
        f.seek(100 * KIB)
        target = bytearray(200 * KIB)
        assert f.readinto(target) == 200 * KIB
        assert bytes(target) == data[100 * KIB : 300 * KIB]
        assert f.buffered == (0, 64 * KIB)
        f.seek(5)
        assert f.read(5) == data[5:10]
    assert _ranges(http_origin, path) == [
        f"bytes=0-{64 * KIB - 1}",
        f"bytes={100 * KIB}-{300 * KIB - 1}",
    ]


def test_file_follows_io_semantics_at_the_ends(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    path, href, data = _put(http_origin, 5000)
    reader = obstac.open_asset(href, cache=store_cache)
    with reader.open(buffer_size=1024) as f:
        assert (f.mode, f.readable(), f.seekable(), f.size) == ("rb", True, True, 5000)
        assert f.seek(0, io.SEEK_END) == 5000
        assert f.read() == b""
        assert f.seek(100, io.SEEK_CUR) == 5100  # past the end is allowed, as for files
        assert f.read(10) == b""
        assert f.readinto(bytearray(10)) == 0
        with pytest.raises(ValueError, match="negative seek position -1"):
            f.seek(-5001, io.SEEK_END)
        with pytest.raises(ValueError, match="whence"):
            f.seek(0, 3)
        assert f.tell() == 5100
        f.seek(-10, io.SEEK_END)
        assert f.read(100) == data[-10:]
        f.seek(4000)
        assert f.readall() == data[4000:]
    assert f.closed
    with pytest.raises(ValueError, match="closed file"):
        f.read(1)
    assert len(_ranges(http_origin, path)) == 2  # only the two reads that had bytes to give


def test_name_and_repr_never_show_a_secret(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    secret = "s3cr3t-sig"
    _, href, data = _put(http_origin, 1000)
    signed = f"{href}?sig={secret}&se=2030-01-01"
    with obstac.open_asset(signed, cache=store_cache).open() as f:
        assert f.read(3) == data[:3]
        shown = f"{f.name} {f.path} {f!r} {f.fs.open(f.path)!r}"
    assert href in shown
    assert secret not in shown
