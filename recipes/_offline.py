"""Local stand-ins for the catalogs of the recipe scripts, used by their ``--offline`` mode.

Each function here is a context manager that starts the doubles of one provider (from
:mod:`obstac.testing`), stores one or two items' worth of small synthetic files in them, serves
those items from a local STAC API, and yields a :class:`Local`: the STAC API's URL and the
keyword arguments that point the provider's recipe at the doubles. The script then runs the
same search -> read -> download code as against the real service::

    with _offline.earth_search() as local:
        recipe = obstac.recipes.earth_search(**local.recipe_options)
        run(local.stac_url, recipe)

Items keep the shape of the real ones (ids, asset keys, roles, href forms such as
``https://sentinel-cogs.s3.us-west-2.amazonaws.com/...``); where a provider's hrefs name a host
that cannot be redirected (plain https servers: DLR, SharingHub, a NASA DAAC) they name the
double instead. Everything stops when the block ends. While it runs, the variables that would
send a real credential to a double (``AWS_*``, ``PC_SDK_*``, ``EARTHDATA_*``, ...) are unset.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from obstac.demo import file_fields, synthetic_file
from obstac.testing import AzuriteServer, MotoServer
from obstac.testing.cdse import CDSEDouble
from obstac.testing.dlr import PASSWORD as DLR_PASSWORD
from obstac.testing.dlr import USERNAME as DLR_USERNAME
from obstac.testing.dlr import DLRDouble
from obstac.testing.earthdata import EarthdataDoubles
from obstac.testing.planetary_computer import PlanetaryComputerDouble
from obstac.testing.sharinghub import TOKEN as SHARINGHUB_TOKEN
from obstac.testing.sharinghub import SharingHubDouble
from obstac.testing.stac_api import StacAPIDouble

__all__ = [
    "Local",
    "cdse",
    "dlr_enmap",
    "earth_search",
    "nasa_emit",
    "planetary_computer",
    "sharinghub",
    "usgs_astrogeology",
]

KIB = 1024
MIB = 1024 * KIB

_ENV_PREFIXES = (
    "AWS_",
    "AZURE_",
    "GOOGLE_",
    "PC_SDK_",
    "EARTHDATA_",
    "CDSE_",
    "DLR_",
    "SHARINGHUB_",
)
_ENV_NAMES = ("CI_JOB_TOKEN", "NETRC")

_COG = "image/tiff; application=geotiff; profile=cloud-optimized"

_MEDIA_TYPES = {".tif": _COG, ".md": "text/markdown", ".onnx": "application/octet-stream"}

_MAGIC = {
    ".tif": b"II*\x00\x08\x00\x00\x00",
    ".jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n",
    ".nc": b"\x89HDF\r\n\x1a\n",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".jpg": b"\xff\xd8\xff\xe0",
    ".jpeg": b"\xff\xd8\xff\xe0",
}
"""File signatures, so a header read of a synthetic file looks like the real format."""


@dataclass(frozen=True)
class Local:
    """The local stand-in of one catalog.

    Attributes:
        stac_url: The local STAC API's landing page, for ``pystac_client.Client.open``.
        recipe_options: Keyword arguments for the provider's recipe factory that point it at
            the doubles (endpoints, and the doubles' test credentials).
        items: The STAC items the API serves.
    """

    stac_url: str
    recipe_options: Mapping[str, Any] = field(repr=False)
    items: Sequence[Mapping[str, Any]] = field(repr=False)


@dataclass(frozen=True)
class _Asset:
    key: str
    href: str
    size: int
    roles: tuple[str, ...]
    media_type: str
    source: str = ""
    """What the bytes are made from (default: the href); a double's path when the href
    carries the double's port, which changes from run to run."""

    @property
    def data(self) -> bytes:
        return content(self.source or self.href, self.size)


def content(name: str, size: int) -> bytes:
    """Deterministic bytes for a file, starting with its format's signature.

    Args:
        name: The file's href or path; its suffix picks the signature (``.tif``, ``.nc``...).
        size: Its size in bytes.

    Returns:
        The bytes.
    """
    suffix = os.path.splitext(name.split("?", 1)[0])[1].lower()
    magic = _MAGIC.get(suffix, b"")[:size]
    return magic + synthetic_file(name, size)[len(magic) :]


def _item(
    item_id: str,
    collection: str,
    datetime: str,
    bbox: list[float],
    assets: Sequence[_Asset],
    *,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    west, south, east, north = bbox
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
        "id": item_id,
        "collection": collection,
        "bbox": bbox,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": datetime, **(properties or {})},
        "assets": {
            a.key: {
                "href": a.href,
                "type": a.media_type,
                "roles": list(a.roles),
                **file_fields(a.data),
            }
            for a in assets
        },
        "links": [],
    }


@contextlib.contextmanager
def _isolated_env() -> Iterator[None]:
    """Unset credential variables for the block (a real key must never reach a double)."""
    saved = {
        name: value
        for name, value in os.environ.items()
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES
    }
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.contextmanager
def _catalog(items: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    with StacAPIDouble(items) as api:
        yield api.url


def _public_bucket(moto: MotoServer, bucket: str, region: str) -> None:
    moto.create_bucket(bucket, region=region)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
    moto.client(region).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _put_public(moto: MotoServer, bucket: str, region: str, key: str, data: bytes) -> None:
    # The object ACL as well as the bucket policy: moto refuses an anonymous HEAD that only
    # the policy allows (real S3 allows it: s3:GetObject covers HEAD).
    moto.client(region).put_object(Bucket=bucket, Key=key, Body=data, ACL="public-read")


def _s3_key(href: str) -> str:
    """The object key of an ``s3://bucket/key`` or virtual-hosted ``https://...`` href."""
    rest = href.split("://", 1)[1]
    return rest.split("/", 1)[1]


# -- providers -------------------------------------------------------------------------------


@contextlib.contextmanager
def earth_search() -> Iterator[Local]:
    """Earth Search: Sentinel-2 L2A COGs in the public ``sentinel-cogs`` bucket (moto)."""
    items, files = [], []
    for satellite, day in (("S2A", "20231008"), ("S2B", "20231013")):
        item_id = f"{satellite}_13TDE_{day}_0_L2A"
        base = (
            "https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/"
            f"13/T/DE/2023/10/{item_id}"
        )
        assets = [
            _Asset("red", f"{base}/B04.tif", 3 * MIB, ("data", "reflectance"), _COG),
            _Asset("thumbnail", f"{base}/thumbnail.jpg", 40 * KIB, ("thumbnail",), "image/jpeg"),
            _Asset(
                "granule_metadata",
                f"{base}/granule_metadata.xml",
                20 * KIB,
                ("metadata",),
                "application/xml",
            ),
        ]
        when = f"{day[:4]}-{day[4:6]}-{day[6:]}T18:02:11Z"
        props = {"platform": f"sentinel-{satellite[1:].lower()}", "eo:cloud_cover": 0.1}
        items.append(
            _item(
                item_id,
                "sentinel-2-l2a",
                when,
                [-106.2, 39.7, -104.9, 40.6],
                assets,
                properties=props,
            )
        )
        files += assets
    with _isolated_env(), MotoServer() as moto:
        _public_bucket(moto, "sentinel-cogs", "us-west-2")
        for f in files:
            _put_public(moto, "sentinel-cogs", "us-west-2", _s3_key(f.href), f.data)
        with _catalog(items) as stac_url:
            yield Local(stac_url, {"endpoint": moto.url}, items)


@contextlib.contextmanager
def usgs_astrogeology() -> Iterator[Local]:
    """USGS Astrogeology: a Mars CTX DTM in the public ``asc-mars`` bucket (moto)."""
    pair = "F21_044106_1800_XN_00N220W__K01_053679_1800_XI_00N220W"
    base = f"https://asc-mars.s3-us-west-2.amazonaws.com/ctx_dtms/{pair}/{pair}"
    assets = [
        _Asset("dem", f"{base}_DEM.tif", 3 * MIB, ("data",), _COG),
        _Asset("thumbnail", f"{base}_DEM.jpg", 30 * KIB, ("thumbnail",), "image/jpeg"),
        _Asset("fgdc_metadata", f"{base}_DEM.xml", 12 * KIB, ("metadata",), "application/xml"),
    ]
    item = _item(
        f"{pair}_DEM",
        "mro_ctx_controlled_usgs_dtms",
        "2015-06-01T00:00:00Z",
        [139.5, -0.4, 140.2, 0.4],
        assets,
        properties={"ssys:targets": ["Mars"], "platform": "MRO"},
    )
    with _isolated_env(), MotoServer() as moto:
        _public_bucket(moto, "asc-mars", "us-west-2")
        for f in assets:
            _put_public(moto, "asc-mars", "us-west-2", _s3_key(f.href), f.data)
        with _catalog([item]) as stac_url:
            yield Local(stac_url, {"endpoint": moto.url}, [item])


@contextlib.contextmanager
def planetary_computer() -> Iterator[Local]:
    """Planetary Computer: Sentinel-2 L2A COGs in Azure Blob (Azurite), SAS tokens from a double."""
    sensing, product = (
        "20231010T175319",
        "S2B_MSIL2A_20231010T175319_N0509_R141_T13TDE_20231011T013447.SAFE",
    )
    base = (
        "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/13/T/DE/2023/10/10/"
        f"{product}/GRANULE/L2A_T13TDE_A034481_{sensing}"
    )
    assets = [
        _Asset(
            "B04", f"{base}/IMG_DATA/R10m/T13TDE_{sensing}_B04_10m.tif", 3 * MIB, ("data",), _COG
        ),
        _Asset(
            "preview", f"{base}/QI_DATA/T13TDE_{sensing}_PVI.tif", 60 * KIB, ("thumbnail",), _COG
        ),
        _Asset(
            "granule-metadata", f"{base}/MTD_TL.xml", 24 * KIB, ("metadata",), "application/xml"
        ),
    ]
    item = _item(
        "S2B_MSIL2A_20231010T175319_R141_T13TDE_20231011T013447",
        "sentinel-2-l2a",
        "2023-10-10T17:53:19Z",
        [-106.2, 39.7, -104.9, 40.6],
        assets,
        properties={"platform": "Sentinel-2B", "s2:mgrs_tile": "13TDE", "eo:cloud_cover": 2.0},
    )
    with _isolated_env(), AzuriteServer() as azurite, PlanetaryComputerDouble(azurite) as pc:
        azurite.create_container("sentinel2-l2")
        prefix = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/"
        for f in assets:
            azurite.put("sentinel2-l2", f.href.removeprefix(prefix), f.data)
        options = {"sas_url": pc.sas_url, "blob_endpoint": azurite.endpoint}
        with _catalog([item]) as stac_url:
            yield Local(stac_url, options, [item])


@contextlib.contextmanager
def cdse() -> Iterator[Local]:
    """CDSE: Sentinel-2 L2A JPEG 2000 files in ``s3://eodata`` (moto with IAM enforced).

    The recipe gets the double's account (user name and password), so it creates a temporary
    S3 key pair through the double's token and keys endpoints, as with a real CDSE account.
    """
    product = "S2A_MSIL2A_20220217T183431_N0510_R027_T13VEK_20240516T022440"
    safe = f"s3://eodata/Sentinel-2/MSI/L2A_N0500/2022/02/17/{product}.SAFE"
    granule = f"{safe}/GRANULE/L2A_T13VEK_A034773_20220217T183428"
    assets = [
        _Asset(
            "B04_60m",
            f"{granule}/IMG_DATA/R60m/T13VEK_20220217T183431_B04_60m.jp2",
            2 * MIB,
            ("data", "reflectance"),
            "image/jp2",
        ),
        _Asset(
            "product_metadata", f"{safe}/MTD_MSIL2A.xml", 40 * KIB, ("metadata",), "application/xml"
        ),
        _Asset(
            "granule_metadata", f"{granule}/MTD_TL.xml", 24 * KIB, ("metadata",), "application/xml"
        ),
    ]
    item = _item(
        product,
        "sentinel-2-l2a",
        "2022-02-17T18:34:31.024000Z",
        [-106.5, 57.6, -104.6, 58.6],
        assets,
        properties={"platform": "sentinel-2a", "eo:cloud_cover": 12.5},
    )
    with _isolated_env(), MotoServer() as moto:
        moto.enforce_auth()  # before the double starts: it signs IAM calls with these keys
        moto.create_bucket("eodata")
        for f in assets:
            moto.put("eodata", _s3_key(f.href), f.data)
        with CDSEDouble(moto) as double, _catalog([item]) as stac_url:
            options = {
                "username": double.username,
                "password": double.password,
                "identity_url": double.token_url,
                "keys_url": double.keys_url,
                "endpoint": moto.url,
                "key_propagation_delay": 0.0,
            }
            yield Local(stac_url, options, [item])


@contextlib.contextmanager
def nasa_emit() -> Iterator[Local]:
    """NASA EMIT (LP DAAC): netCDF granules behind Earthdata Login, a DAAC and S3.

    The items' hrefs name the DAAC double (out of region: https with the EDL token, redirected
    to a presigned URL); ``recipe_options`` also maps them to ``s3://lp-prod-protected`` so
    ``in_region=True`` reads them from moto with ``/s3credentials`` credentials.
    """
    granule = "EMIT_L2A_RFL_001_20230316T045133_2307503_006"
    bucket, folder = "lp-prod-protected", f"EMITL2ARFL.001/{granule}"
    files = [
        ("RFL", f"{granule}.nc", 3 * MIB, ("data",), "application/x-netcdf"),
        (
            "RFLUNCERT",
            f"{granule.replace('RFL', 'RFLUNCERT')}.nc",
            MIB,
            ("data",),
            "application/x-netcdf",
        ),
        ("browse", f"{granule}.png", 50 * KIB, ("browse",), "image/png"),
    ]
    with _isolated_env(), MotoServer() as moto, EarthdataDoubles(moto) as nasa:
        user = nasa.add_user("emit-user", "offline-edl-password")
        assets = [
            _Asset(key, nasa.https_url(bucket, f"{folder}/{name}"), size, roles, media)
            for key, name, size, roles, media in files
        ]
        for f in assets:
            nasa.put(bucket, f"{folder}/{f.href.rsplit('/', 1)[1]}", f.data)
        item = _item(
            granule,
            "EMITL2ARFL_001",
            "2023-03-16T04:51:33Z",
            [128.8, -23.2, 129.7, -22.3],
            assets,
            properties={"platform": "ISS", "instruments": ["EMIT"]},
        )
        options = {
            "token": user.token,
            "edl_host": nasa.edl_url,
            "s3_endpoint": nasa.s3_endpoint,
            "bucket_credentials": {bucket: nasa.credentials_url},
            "https_to_s3": {f"{nasa.daac.url}/{bucket}/": f"s3://{bucket}/"},
        }
        with _catalog([item]) as stac_url:
            yield Local(stac_url, options, [item])


@contextlib.contextmanager
def dlr_enmap() -> Iterator[Local]:
    """DLR EOC: an EnMAP L2A product on a download server that wants an EOC login."""
    product = "ENMAP01-____L2A-DT0000004950_20221103T162438Z_001_V010110_20221118T145147Z"
    folder = f"ENMAP/files/L2A/2022/11/03/{product}"
    files = [
        ("image", f"{product}-SPECTRAL_IMAGE.TIF", 3 * MIB, ("data",), _COG),
        ("metadata", f"{product}-METADATA.XML", 30 * KIB, ("metadata",), "application/xml"),
        ("quicklook", f"{product}-QL_VNIR.TIF", 80 * KIB, ("overview",), _COG),
    ]
    with _isolated_env(), DLRDouble(mode="sso") as server:
        assets = []
        for key, name, size, roles, media in files:
            href = server.put(f"{folder}/{name}", content(name, size))
            assets.append(_Asset(key, href, size, roles, media, source=name))
        item = _item(
            product,
            "ENMAP_HSI_L2A",
            "2022-11-03T16:24:38Z",
            [-97.9, 30.1, -97.5, 30.4],
            assets,
            properties={"platform": "EnMAP", "instruments": ["HSI"]},
        )
        options = {"username": DLR_USERNAME, "password": DLR_PASSWORD, "base_url": server.url}
        with _catalog([item]) as stac_url:
            yield Local(stac_url, options, [item])


@contextlib.contextmanager
def sharinghub() -> Iterator[Local]:
    """SharingHub: an AI model's repository files, the weights in LFS object storage."""
    project = "space-applications/cloud-segmentation"
    files = [
        ("model", "model/cloud-unet.onnx", 3 * MIB, ("data", "ml-model:inference-runtime"), True),
        ("sample", "data/sample-scene.tif", 200 * KIB, ("data",), False),
        ("readme", "README.md", 4 * KIB, ("metadata",), False),
    ]
    with _isolated_env(), SharingHubDouble() as hub:
        assets = []
        for key, path, size, roles, in_lfs in files:
            put = hub.put_redirected if in_lfs else hub.put
            href = put(project, path, content(path, size))
            media = _MEDIA_TYPES.get(os.path.splitext(path)[1], "application/octet-stream")
            assets.append(_Asset(key, href, size, roles, media, source=path))
        item = _item(
            project,
            "ai-model",
            "2024-05-02T09:00:00Z",
            [-180.0, -90.0, 180.0, 90.0],
            assets,
            properties={"sharinghub:name": "cloud-segmentation"},
        )
        options = {"token": SHARINGHUB_TOKEN, "base_url": hub.url}
        with _catalog([item]) as stac_url:
            yield Local(stac_url, options, [item])
