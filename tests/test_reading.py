"""open_asset on every backend (moto S3, Azurite, GCS double, HTTP origin): bytes and requests."""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import replace

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

import obstac
from obstac import StoreCache
from obstac._assets import AssetInfo
from obstac.errors import CredentialsError, is_range_refusal
from obstac.hrefs import Location
from obstac.recipes import Route, http
from obstac.recipes._base import html_login_check
from obstac.testing import RangeHTTPServer
from tests._rasters import tiled_geotiff
from tests.conftest import FAST_RETRY, Backend

MIB = 1024 * 1024


def _payload(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


def test_whole_read_is_one_get(backend: Backend, store_cache: StoreCache) -> None:
    data = _payload(300_000)
    href = backend.put("whole.bin", data)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    backend.reset()
    assert bytes(reader.read()) == data
    assert backend.gets() == 1


def test_single_range_suffix_and_open_ended(backend: Backend, store_cache: StoreCache) -> None:
    data = _payload(100_000)
    href = backend.put("ranges.bin", data)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    backend.reset()
    assert bytes(reader.read_range(10, 1010)) == data[10:1010]
    assert bytes(reader.read_range(-100)) == data[-100:]
    assert bytes(reader.read_range(99_000)) == data[99_000:]
    assert backend.gets() == 3


def test_scattered_ranges_are_coalesced(backend: Backend, store_cache: StoreCache) -> None:
    # 100 ranges of 1-4 KiB in 3 clusters, the clusters 2 MiB apart, no two ranges of a cluster
    # more than 64 KiB apart: read_ranges merges those, so 3 requests must carry all 100.
    data = _payload(5 * MIB)
    href = backend.put("tiles.bin", data)
    rng = random.Random(3)
    starts: list[int] = []
    for cluster_start in (0, 2 * MIB + 100, 4 * MIB + 200):
        starts += sorted(rng.sample(range(cluster_start, cluster_start + 400_000), 34))
    starts = starts[:100]
    rng.shuffle(starts)
    ends = [start + rng.randint(1024, 4096) for start in starts]
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    backend.reset()
    chunks = reader.read_ranges(starts, ends)
    assert [bytes(c) for c in chunks] == [data[s:e] for s, e in zip(starts, ends, strict=True)]
    assert backend.gets() == 3


def test_file_seek_and_read(backend: Backend, store_cache: StoreCache) -> None:
    data = _payload(3 * MIB + 17)
    href = backend.put("file.bin", data)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    with reader.open(buffer_size=64 * 1024) as f:
        assert f.seekable()
        assert f.size == len(data)
        f.seek(1000)
        assert f.read(50) == data[1000:1050]
        assert f.tell() == 1050
        f.seek(-10, io.SEEK_END)
        assert f.read() == data[-10:]
        f.seek(2 * MIB)
        buffer = bytearray(4096)
        assert f.readinto(buffer) == 4096
        assert bytes(buffer) == data[2 * MIB : 2 * MIB + 4096]
        f.seek(5, io.SEEK_SET)
        f.seek(5, io.SEEK_CUR)
        assert f.read(3) == data[10:13]
    assert f.closed


def _geotiff() -> tuple[bytes, np.ndarray]:
    array = np.arange(512 * 512, dtype="uint16").reshape(1, 512, 512)
    return tiled_geotiff(array), array


def test_rasterio_opens_the_file(backend: Backend, store_cache: StoreCache) -> None:
    content, array = _geotiff()
    href = backend.put("scene.tif", content)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    with reader.open() as f, rasterio.open(f) as dataset:
        assert dataset.crs.to_epsg() == 32633
        window = dataset.read(1, window=Window(300, 200, 64, 32))
    assert np.array_equal(window, array[0, 200:232, 300:364])


def test_async_twins_return_the_same_bytes(backend: Backend, store_cache: StoreCache) -> None:
    data = _payload(200_000)
    href = backend.put("async.bin", data)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)

    async def main() -> None:
        assert bytes(await reader.read_async()) == data
        assert bytes(await reader.read_range_async(5, 500)) == data[5:500]
        assert bytes(await reader.read_range_async(-7)) == data[-7:]
        assert bytes(await reader.read_range_async(199_990)) == data[199_990:]
        ranges = await reader.read_ranges_async([0, 1000], [10, 1010])
        assert [bytes(r) for r in ranges] == [data[:10], data[1000:1010]]
        assert await reader.size_async() == len(data)

    asyncio.run(main())


def test_sync_api_works_inside_a_running_loop(backend: Backend, store_cache: StoreCache) -> None:
    # A notebook cell runs inside an event loop: the sync API must not need one of its own.
    data = _payload(50_000)
    href = backend.put("notebook.bin", data)

    async def cell() -> bytes:
        reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
        assert reader.size == len(data)
        with reader.open() as f:
            f.seek(100)
            assert f.read(10) == data[100:110]
        return bytes(reader.read())

    assert asyncio.run(cell()) == data


def test_size_is_one_head_then_cached(backend: Backend, store_cache: StoreCache) -> None:
    data = _payload(12_345)
    href = backend.put("size.bin", data)
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    assert reader.size == 12_345
    assert reader.size == 12_345
    assert reader.head()["size"] == 12_345
    assert reader.head()["e_tag"]


def test_missing_object_is_file_not_found(backend: Backend, store_cache: StoreCache) -> None:
    href = backend.put("present.bin", b"x").replace("present.bin", "absent.bin")
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    with pytest.raises(obstac.AssetNotFoundError) as caught:
        reader.read()
    assert isinstance(caught.value, FileNotFoundError)
    assert "absent.bin" in str(caught.value)
    assert f"recipe {backend.recipe.name!r}" in str(caught.value)
    with pytest.raises(FileNotFoundError):
        reader.read_range(0, 10)


def test_range_past_the_end_is_invalid_range(backend: Backend, store_cache: StoreCache) -> None:
    href = backend.put("short.bin", _payload(1000))
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    with pytest.raises(obstac.InvalidRangeError) as caught:
        reader.read_range(5000, 6000)
    assert "short.bin" in str(caught.value)
    with pytest.raises(obstac.InvalidRangeError):
        reader.read_range(5000)


@pytest.mark.parametrize(("start", "end"), [(10, 10), (10, 5), (-5, 10)])
def test_reversed_or_empty_range_fails_before_any_request(
    backend: Backend, store_cache: StoreCache, start: int, end: int
) -> None:
    href = backend.put("r.bin", b"0123456789")
    reader = obstac.open_asset(href, recipe=backend.recipe, cache=store_cache)
    backend.reset()
    with pytest.raises(obstac.InvalidRangeError, match="0 <= start < end"):
        reader.read_range(start, end)
    with pytest.raises(obstac.InvalidRangeError):
        reader.read_ranges([0, start], [1, end])
    with pytest.raises(obstac.InvalidRangeError, match="pair up"):
        reader.read_ranges([0, 1], [1])
    assert backend.gets() == 0


def test_readers_share_one_store_per_bucket(backend: Backend, store_cache: StoreCache) -> None:
    first = obstac.open_asset(backend.put("a.bin", b"a"), recipe=backend.recipe, cache=store_cache)
    second = obstac.open_asset(backend.put("b.bin", b"b"), recipe=backend.recipe, cache=store_cache)
    assert first.store is second.store
    assert len(store_cache) == 1
    assert (bytes(first.read()), bytes(second.read())) == (b"a", b"b")


class _LookingRecipe:
    """An HTTP recipe whose routes refuse HTML bodies and resolve (counted) before reading."""

    name = "looking"

    def __init__(self) -> None:
        self.inner = http(retry_config=FAST_RETRY)
        self.resolves = 0

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        return self.inner.handles(location, asset)

    def route(self, location: Location, asset: AssetInfo) -> Route:
        planned = replace(
            self.inner.route(location, asset),
            recipe=self.name,
            credential_hint="planned hint",
            check_body=html_login_check(self.name, location.href, "log in first"),
        )

        def resolve() -> Route:
            self.resolves += 1
            return replace(planned, credential_hint="resolved hint")

        return replace(planned, resolve=resolve)


def test_public_hooks_resolve_once_and_check_bodies(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    path = "hooks/login-page.tif"
    http_origin.put(path, b"\n <!DOCTYPE html><html><body>Sign in</body></html>")
    recipe = _LookingRecipe()
    reader = obstac.open_asset(f"{http_origin.url}/{path}", recipe=recipe, cache=store_cache)

    assert (reader.credential_hint, recipe.resolves) == ("planned hint", 0)
    reader.resolve()
    reader.resolve()
    asyncio.run(reader.resolve_async())
    assert (reader.credential_hint, recipe.resolves) == ("resolved hint", 1)

    reader.check_body(b"II*\x00" + bytes(1000))  # a TIFF header passes
    with pytest.raises(CredentialsError, match="HTML page"):
        reader.check_body(b"<html>" + bytes(1000))
    assert http_origin.count(path=path) == 0  # neither resolving nor checking sent a request
    with pytest.raises(CredentialsError, match="log in first"):
        reader.read()
    assert (http_origin.count("GET", path), recipe.resolves) == (1, 1)


def test_is_range_refusal_recognises_416_only() -> None:
    assert is_range_refusal(RuntimeError("Generic error: status code: 416 Range Not Satisfiable"))
    assert is_range_refusal(RuntimeError("Generic HTTP error: non-partial response"))
    assert not is_range_refusal(RuntimeError("status code: 404 Not Found"))
