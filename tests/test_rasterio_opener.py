"""rasterio.open(href, opener=RasterioOpener()): pixels, requests and bytes at real servers."""

from __future__ import annotations

import subprocess
import sys
import uuid
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import RasterioDeprecationWarning, RasterioIOError
from rasterio.io import FilePath
from rasterio.windows import Window

import obstac
from obstac import StoreCache
from obstac.testing import RangeHTTPServer, RecordedRequest, Response
from tests._rasters import tiled_geotiff
from tests.conftest import Backend

SIDE = 1024
TILE = 256
KIB = 1024


@pytest.fixture(scope="module")
def cog() -> tuple[bytes, np.ndarray]:
    """A 1024 x 1024 uint16 GeoTIFF in 16 DEFLATE tiles of 256 px (~1.6 MB) and its pixels."""
    pixels = np.random.default_rng(5).integers(0, 1000, (1, SIDE, SIDE), dtype="uint16")
    return tiled_geotiff(pixels, tile=TILE, compress="deflate"), pixels


def _put_cog(origin: RangeHTTPServer, content: bytes) -> tuple[str, str]:
    path = f"cog-{uuid.uuid4().hex[:8]}/scene.tif"
    origin.put(path, content)
    return path, f"{origin.url}/{path}"


def _wire_bytes(origin: RangeHTTPServer, path: str, size: int) -> int:
    """Bytes the GETs of ``path`` asked for (their Range headers; a whole GET is ``size``)."""
    total = 0
    for request in origin.requests:
        if request.path != path or request.method != "GET":
            continue
        if request.range is None:
            total += size
            continue
        first, last = request.range.removeprefix("bytes=").split("-")
        total += int(last) - int(first) + 1
    return total


def _read_window(
    origin: RangeHTTPServer, cache: StoreCache, content: bytes, window: Window
) -> tuple[str, np.ndarray]:
    """Store the COG, read ``window`` of band 1 through a 16 KiB-buffer opener: (path, array)."""
    path, href = _put_cog(origin, content)
    opener = obstac.RasterioOpener(cache=cache, buffer_size=16 * KIB)
    with rasterio.open(href, opener=opener) as dataset:
        assert (dataset.crs.to_epsg(), dataset.shape) == (32633, (SIDE, SIDE))
        return path, dataset.read(1, window=window)


def test_a_window_costs_a_handful_of_requests_and_a_fraction_of_the_file(
    http_origin: RangeHTTPServer, store_cache: StoreCache, cog: tuple[bytes, np.ndarray]
) -> None:
    content, pixels = cog
    inside_one_tile = Window(300, 300, 128, 64)
    path, window = _read_window(http_origin, store_cache, content, inside_one_tile)
    assert np.array_equal(window, pixels[0, 300:364, 300:428])
    # One HEAD, one GET of the header, one of the tile; no probe for .aux.xml, .msk, ...
    assert [r.method for r in http_origin.requests if r.path == path] == ["HEAD", "GET", "GET"]
    folder = path.rsplit("/", 1)[0]
    assert {r.path for r in http_origin.requests if r.path.startswith(folder)} == {path}
    assert _wire_bytes(http_origin, path, len(content)) < len(content) // 8


def test_multi_range_reads_fetch_many_tiles_in_few_requests(
    http_origin: RangeHTTPServer, store_cache: StoreCache, cog: tuple[bytes, np.ndarray]
) -> None:
    # A 16 KiB buffer holds no tile, so without GDAL's multi-range hook each of the 9 tiles
    # under this window would cost its own GET (measured: 9 + header).
    content, pixels = cog
    path, window = _read_window(http_origin, store_cache, content, Window(200, 200, 600, 600))
    assert np.array_equal(window, pixels[0, 200:800, 200:800])
    tiles_read = 3 * 3
    gets = http_origin.count("GET", path)
    assert gets <= 3 < tiles_read


def test_opener_reads_s3_hrefs_with_the_recipe(
    s3_backend: Backend, store_cache: StoreCache, cog: tuple[bytes, np.ndarray]
) -> None:
    content, pixels = cog
    href = s3_backend.put("scene.tif", content)
    assert href.startswith("s3://")
    s3_backend.reset()
    opener = obstac.RasterioOpener(recipe=s3_backend.recipe, cache=store_cache)
    with rasterio.open(href, opener=opener) as dataset:
        full = dataset.read(1)
        corner = dataset.read(1, window=Window(768, 768, 256, 256))
    assert np.array_equal(full, pixels[0])
    assert np.array_equal(corner, pixels[0, 768:, 768:])
    assert s3_backend.gets() <= 4


def test_one_opener_serves_many_opens_and_caches_the_head(
    http_origin: RangeHTTPServer, store_cache: StoreCache, cog: tuple[bytes, np.ndarray]
) -> None:
    content, pixels = cog
    path, href = _put_cog(http_origin, content)
    opener = obstac.RasterioOpener(cache=store_cache)
    for _ in range(3):
        with rasterio.open(href, opener=opener) as dataset:
            assert np.array_equal(dataset.read(1, window=Window(0, 0, 10, 10)), pixels[0, :10, :10])
    assert http_origin.count("HEAD", path) == 1
    assert opener.ls(href.rsplit("/", 1)[0]) == ["scene.tif"]
    assert opener.isdir(href) is False
    assert opener.mtime(href) > 0
    with pytest.raises(PermissionError, match="read-only"):
        opener.rm(href)


def test_missing_href_is_a_rasterio_io_error_without_secrets(
    http_origin: RangeHTTPServer, store_cache: StoreCache
) -> None:
    secret = "s3cr3t-sig"
    href = f"{http_origin.url}/cog-missing/{uuid.uuid4().hex}.tif?sig={secret}"
    opener = obstac.RasterioOpener(cache=store_cache)
    assert opener.isfile(href) is False
    with pytest.raises(FileNotFoundError) as caught:
        opener.open(href)
    assert secret not in str(caught.value)
    assert secret not in repr(opener)
    with pytest.raises(RasterioIOError):
        rasterio.open(href, opener=opener)


class _RefusingOrigin(RangeHTTPServer):
    def handle(self, request: RecordedRequest) -> Response | None:
        del request
        return Response(403, body=b"denied")


def test_a_refused_read_shows_obstacs_message_through_rasterio(store_cache: StoreCache) -> None:
    secret = "s3cr3t-sig"
    with _RefusingOrigin() as origin:
        href = f"{origin.url}/cog-refused/scene.tif?sig={secret}"
        with pytest.raises(RasterioIOError) as caught:
            rasterio.open(href, opener=obstac.RasterioOpener(cache=store_cache))
    message = str(caught.value)
    assert "CredentialsError" in message
    assert "recipe 'http'" in message
    assert "headers=" in message
    assert secret not in message


def test_filepath_reads_through_the_file(
    http_origin: RangeHTTPServer, store_cache: StoreCache, cog: tuple[bytes, np.ndarray]
) -> None:
    # rasterio's FilePath reopens the file with f.fs.open(f.path, f.mode) for each GDAL handle.
    content, pixels = cog
    path, href = _put_cog(http_origin, content)
    reader = obstac.open_asset(href, cache=store_cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RasterioDeprecationWarning)  # FilePath: "use opener="
        with reader.open(buffer_size=64 * KIB) as f, rasterio.open(FilePath(f)) as dataset:
            window = dataset.read(1, window=Window(512, 512, 100, 100))
    assert np.array_equal(window, pixels[0, 512:612, 512:612])
    assert _wire_bytes(http_origin, path, len(content)) < len(content) // 2


def test_importing_obstac_leaves_rasterio_until_an_opener_is_made() -> None:
    code = (
        "import sys, obstac\n"
        "assert 'rasterio' not in sys.modules, 'import obstac imported rasterio'\n"
        "obstac.RasterioOpener()\n"
        "from rasterio.abc import MultiByteRangeResourceContainer as C\n"
        "assert isinstance(obstac.RasterioOpener(), C)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
