"""``obstac demo``: search a STAC API and download what it found, offline, in one command.

    python -m obstac.demo [--profile wan|lan] [--dest DIR] [--keep]

What it does, all on 127.0.0.1 and without an account or the internet:

1. starts the local servers of :mod:`obstac.testing`: an S3 origin (moto) holding an Earth
   Search-like ``sentinel-cogs`` bucket, an Azure origin (Azurite) holding a Planetary
   Computer-like ``sentinel2-l2`` container with its SAS token endpoint, an HTTP origin holding
   LandsatLook-like files, and a STAC API; each origin is reached through a
   :class:`~obstac.testing.latency_proxy.LatencyProxy` (profile ``wan``: 40 ms RTT, 25 MiB/s
   per connection, 200 MiB/s per origin; ``lan``: nothing added);
2. loads a small catalog shaped like the real items of those catalogs: 8 items of two
   collections (``sentinel-2-l2a`` on S3 and Azure, ``landsat-c2-l2`` on HTTP), 46 assets,
   about 160 MiB of synthetic COG-sized files made deterministically, each with ``file:size``
   and ``file:checksum``;
3. searches the API with pystac-client, page by page;
4. downloads every asset with :func:`obstac.download.download_items`, the real hrefs
   (``https://sentinel-cogs.s3.us-west-2.amazonaws.com/...``,
   ``https://sentinel2l2a01.blob.core.windows.net/...``) routed to the local origins by the
   recipes' endpoint parameters, with progress bars on stderr;
5. prints a summary on stdout (items, assets, bytes, seconds, MiB/s, requests, retries,
   verification) and stops everything it started, also on Ctrl-C.

Exit status: 0 when every asset is on disk and verified, 1 otherwise (or when a server cannot
start), 2 for bad usage, 130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from obstac.errors import ObstacError
from obstac.progress import ProgressBars

if TYPE_CHECKING:
    from obstore.store import RetryConfig

    from obstac.download import DownloadReport
    from obstac.testing._lifecycle import Service
    from obstac.testing.latency_proxy import LatencyProxy, ProfileName

__all__ = ["DemoSummary", "main", "synthetic_file"]

MIB = 1024 * 1024

PROG = "obstac demo"

S2_COLLECTION = "sentinel-2-l2a"
LANDSAT_COLLECTION = "landsat-c2-l2"

S3_BUCKET = "sentinel-cogs"
"""Earth Search's public Sentinel-2 COG bucket (us-west-2), recreated in moto."""

S3_REGION = "us-west-2"

AZURE_ACCOUNT = "sentinel2l2a01"
"""The Planetary Computer storage account of Sentinel-2 L2A; Azurite stands in for it."""

AZURE_CONTAINER = "sentinel2-l2"

SEARCH_PAGE_SIZE = 5
"""Items per search page: small, so the 8 items take two pages, as real searches do."""

DEMO_RETRY: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=15)}
"""obstore retries for the demo's recipes: a broken local server fails in seconds, not the
3 minutes obstore allows by default."""

TIFF_HEADER = b"II*\x00\x08\x00\x00\x00"
"""A little-endian TIFF header, so the synthetic COGs start like real ones."""

_START_WAIT_SECONDS = 90.0
"""How long stopping waits for a server still starting (Azurite and moto allow 60 s)."""

_ENV_PREFIXES_CLEARED = ("AWS_", "AZURE_", "GOOGLE_", "PC_SDK_")
"""Variables obstore or the recipes would read (real credentials, endpoints): the demo runs
without them, so it never signs with, or sends, a real credential to a local server."""


# -- the catalog -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _File:
    """One synthetic asset: where it is stored and how the item describes it."""

    key: str
    href: str
    size: int
    roles: tuple[str, ...]
    media_type: str
    title: str

    @functools.cached_property
    def data(self) -> bytes:
        """The content (made once, then kept until the run ends)."""
        return synthetic_file(self.href, self.size)


@dataclass(frozen=True)
class _Item:
    """One synthetic item and its files."""

    document: dict[str, Any]
    files: tuple[_File, ...]


COG = "image/tiff; application=geotiff; profile=cloud-optimized"


def synthetic_file(name: str, size: int) -> bytes:
    """Deterministic bytes standing in for a file: same ``name`` and ``size``, same bytes.

    ``.tif``/``.TIF`` names start with a TIFF header, as a COG does; the rest is pseudo-random
    (seeded by ``name``), so it does not compress and every file differs.

    Args:
        name: Any name, e.g. the file's href.
        size: Its size in bytes.

    Returns:
        The bytes.
    """
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    header = TIFF_HEADER if name.lower().endswith((".tif", ".tiff")) else b""
    header = header[:size]
    # Seeded on purpose: the same file every run; nothing here is secret.
    body = random.Random(seed).randbytes(size - len(header))  # noqa: S311
    return header + body


def file_fields(data: bytes) -> dict[str, Any]:
    """The STAC ``file`` extension fields of ``data``: its size and sha2-256 multihash.

    Args:
        data: The file's bytes.

    Returns:
        ``{"file:size": ..., "file:checksum": "1220<hex>"}``.
    """
    return {"file:size": len(data), "file:checksum": "1220" + hashlib.sha256(data).hexdigest()}


def _feature(
    item_id: str,
    collection: str,
    bbox: list[float],
    properties: dict[str, Any],
    files: Sequence[_File],
) -> _Item:
    west, south, east, north = bbox
    assets = {
        f.key: {
            "href": f.href,
            "type": f.media_type,
            "title": f.title,
            "roles": list(f.roles),
            **file_fields(f.data),
        }
        for f in files
    }
    document = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
        "id": item_id,
        "collection": collection,
        "bbox": bbox,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "properties": properties,
        "assets": assets,
        "links": [],
    }
    return _Item(document, tuple(files))


def _earth_search_items() -> list[_Item]:
    """Sentinel-2 L2A items as Earth Search lists them: COGs in the public S3 bucket."""
    scenes = [
        ("S2A", "13TDE", "2023-10-08T18:02:11.084000Z", [-106.18, 39.66, -104.88, 40.65]),
        ("S2B", "13TDE", "2023-10-13T18:02:09.911000Z", [-106.18, 39.66, -104.88, 40.65]),
        ("S2A", "13TDF", "2023-10-18T18:02:13.412000Z", [-106.20, 40.56, -104.88, 41.55]),
    ]
    layout = [
        ("blue", "B02.tif", 4 * MIB, ("data", "reflectance"), COG, "Blue (band 2) - 10m"),
        ("green", "B03.tif", 4 * MIB, ("data", "reflectance"), COG, "Green (band 3) - 10m"),
        ("red", "B04.tif", 4 * MIB, ("data", "reflectance"), COG, "Red (band 4) - 10m"),
        ("visual", "TCI.tif", 12 * MIB, ("visual",), COG, "True color image"),
        ("thumbnail", "thumbnail.jpg", 64 * 1024, ("thumbnail",), "image/jpeg", "Thumbnail"),
        (
            "granule_metadata",
            "granule_metadata.xml",
            24 * 1024,
            ("metadata",),
            "application/xml",
            "Granule metadata",
        ),
    ]
    items = []
    for satellite, tile, when, bbox in scenes:
        day = when[:10].replace("-", "")
        item_id = f"{satellite}_{tile}_{day}_0_L2A"
        zone, band, square = tile[:2], tile[2], tile[3:]
        base = (
            f"https://{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com/sentinel-s2-l2a-cogs/"
            f"{zone}/{band}/{square}/{when[:4]}/{int(when[5:7])}/{item_id}"
        )
        files = [_File(k, f"{base}/{name}", s, r, t, ti) for k, name, s, r, t, ti in layout]
        properties = {
            "datetime": when,
            "platform": f"sentinel-{satellite[1:].lower()}",
            "constellation": "sentinel-2",
            "instruments": ["msi"],
            "eo:cloud_cover": 0.4,
            "proj:epsg": 32600 + int(zone),
            "mgrs:utm_zone": int(zone),
            "mgrs:latitude_band": band,
            "mgrs:grid_square": square,
        }
        items.append(_feature(item_id, S2_COLLECTION, bbox, properties, files))
    return items


def _planetary_computer_items() -> list[_Item]:
    """Sentinel-2 L2A items as the Planetary Computer lists them: COGs in Azure Blob."""
    scenes = [
        ("S2B", "13TDE", "20231010T175319", "20231011T013447", "A034481"),
        ("S2A", "13TDE", "20231015T175441", "20231016T002210", "A043424"),
        ("S2B", "13TDF", "20231020T175511", "20231021T005836", "A034624"),
    ]
    layout = [
        ("B02", "IMG_DATA/R10m/{t}_{s}_B02_10m.tif", 3 * MIB, ("data",), COG, "Band 2 - Blue"),
        ("B03", "IMG_DATA/R10m/{t}_{s}_B03_10m.tif", 3 * MIB, ("data",), COG, "Band 3 - Green"),
        ("B04", "IMG_DATA/R10m/{t}_{s}_B04_10m.tif", 3 * MIB, ("data",), COG, "Band 4 - Red"),
        ("visual", "IMG_DATA/R10m/{t}_{s}_TCI_10m.tif", 10 * MIB, ("visual",), COG, "True color"),
        ("preview", "QI_DATA/{t}_{s}_PVI.tif", 96 * 1024, ("thumbnail",), COG, "Thumbnail"),
        (
            "granule-metadata",
            "MTD_TL.xml",
            32 * 1024,
            ("metadata",),
            "application/xml",
            "Granule metadata",
        ),
    ]
    items = []
    for satellite, tile, sensing, generated, orbit in scenes:
        item_id = f"{satellite}_MSIL2A_{sensing}_R141_T{tile}_{generated}"
        product = f"{satellite}_MSIL2A_{sensing}_N0509_R141_T{tile}_{generated}.SAFE"
        granule = f"GRANULE/L2A_T{tile}_{orbit}_{sensing}"
        date = f"{sensing[:4]}/{sensing[4:6]}/{sensing[6:8]}"
        base = (
            f"https://{AZURE_ACCOUNT}.blob.core.windows.net/{AZURE_CONTAINER}/"
            f"{tile[:2]}/{tile[2]}/{tile[3:]}/{date}/{product}/{granule}"
        )
        files = [
            _File(k, f"{base}/{path.format(t='T' + tile, s=sensing)}", s, r, t, ti)
            for k, path, s, r, t, ti in layout
        ]
        when = f"{sensing[:4]}-{sensing[4:6]}-{sensing[6:8]}T{sensing[9:11]}:{sensing[11:13]}:00Z"
        properties = {
            "datetime": when,
            "platform": f"Sentinel-{satellite[1:]}",
            "constellation": "Sentinel 2",
            "instruments": ["msi"],
            "eo:cloud_cover": 2.1,
            "s2:mgrs_tile": tile,
            "s2:product_uri": product,
            "sat:relative_orbit": 141,
        }
        bbox = (
            [-106.18, 39.66, -104.88, 40.65] if tile == "13TDE" else [-106.2, 40.56, -104.88, 41.55]
        )
        items.append(_feature(item_id, S2_COLLECTION, bbox, properties, files))
    return items


def _landsat_items(origin: str) -> list[_Item]:
    """Landsat Collection 2 Level-2 items as LandsatLook lists them: files on an https host."""
    scenes = [
        ("LC09_L2SP_033032_20231008_20231017_02_T1", "033", "032", "2023-10-08T17:36:25Z"),
        ("LC08_L2SP_034032_20231015_20231024_02_T1", "034", "032", "2023-10-15T17:42:03Z"),
    ]
    layout = [
        ("blue", "SR_B2.TIF", 5 * MIB, ("data", "reflectance"), COG, "Blue Band (B2)"),
        ("green", "SR_B3.TIF", 5 * MIB, ("data", "reflectance"), COG, "Green Band (B3)"),
        ("red", "SR_B4.TIF", 5 * MIB, ("data", "reflectance"), COG, "Red Band (B4)"),
        ("thumbnail", "thumb_small.jpeg", 48 * 1024, ("thumbnail",), "image/jpeg", "Thumbnail"),
        ("MTL.json", "MTL.json", 12 * 1024, ("metadata",), "application/json", "Metadata (json)"),
    ]
    items = []
    for product, path, row, when in scenes:
        base = (
            f"{origin}/data/collection02/level-2/standard/oli-tirs/{when[:4]}/{path}/{row}/"
            f"{product}"
        )
        files = [_File(k, f"{base}/{product}_{n}", s, r, t, ti) for k, n, s, r, t, ti in layout]
        properties = {
            "datetime": when,
            "platform": "LANDSAT_9" if product.startswith("LC09") else "LANDSAT_8",
            "instruments": ["OLI", "TIRS"],
            "eo:cloud_cover": 3.5,
            "landsat:wrs_path": path,
            "landsat:wrs_row": row,
        }
        bbox = [-105.6, 39.3, -102.8, 41.4]
        items.append(_feature(f"{product}_SR", LANDSAT_COLLECTION, bbox, properties, files))
    return items


# -- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSummary:
    """What the demo downloaded.

    Attributes:
        items: Items found by the search and downloaded.
        assets: Assets downloaded (or attempted).
        bytes: Bytes received from the origins.
        seconds: Wall time of the download (servers and catalog excluded).
        requests: GET/HEAD requests the transfer engine sent, retries included.
        retries: Requests that were retries.
        verified: Assets whose size and ``file:checksum`` were checked and matched.
        failed: Assets that failed.
        pages: Search pages the STAC API served.
        profile: The network profile, ``wan`` or ``lan``.
    """

    items: int
    assets: int
    bytes: int
    seconds: float
    requests: int
    retries: int
    verified: int
    failed: int
    pages: int
    profile: str

    @property
    def mib_per_second(self) -> float:
        """Download rate, MiB/s."""
        return self.bytes / MIB / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        """True when every asset arrived and was verified."""
        return self.failed == 0 and self.verified == self.assets

    def line(self) -> str:
        """The one-line summary printed last."""
        verdict = (
            f"all {self.verified} verified"
            if self.ok
            else f"{self.verified} verified, {self.failed} failed"
        )
        return (
            f"{PROG}: {self.items} items, {self.assets} assets, {self.bytes / MIB:.1f} MiB "
            f"in {self.seconds:.2f} s ({self.mib_per_second:.1f} MiB/s), "
            f"{self.requests} requests, {self.retries} retries, {verdict}"
        )


@dataclass
class _Origin:
    """A local origin behind its latency proxy, as the summary describes it."""

    label: str
    recipe: str
    proxy: LatencyProxy
    hosts: tuple[str, ...]
    assets: int = 0
    bytes: int = 0
    requests: int = 0


@dataclass
class _Run:
    """The servers and catalog of one demo run (filled in as they start)."""

    profile: ProfileName
    origins: list[_Origin] = field(default_factory=list)
    stac_url: str = ""
    sas_url: str = ""
    pages: Callable[[], int] = lambda: 0


@contextlib.contextmanager
def _demo_environment() -> Iterator[None]:
    """Remove the variables of :data:`_ENV_PREFIXES_CLEARED` for the block, then restore them."""
    saved = {
        name: value for name, value in os.environ.items() if name.startswith(_ENV_PREFIXES_CLEARED)
    }
    for name in saved:
        del os.environ[name]
    try:
        yield
    finally:
        for name in [n for n in os.environ if n.startswith(_ENV_PREFIXES_CLEARED)]:
            del os.environ[name]
        os.environ.update(saved)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt for the block, so cleanup runs as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Start local S3, Azure, HTTP and STAC API servers, search the STAC API with "
            "pystac-client and download every asset found with obstac. Offline; stops "
            "everything it started."
        ),
    )
    parser.add_argument(
        "--profile",
        choices=["wan", "lan"],
        default="wan",
        help="network between client and origins: wan = 40 ms RTT, 25 MiB/s per connection, "
        "200 MiB/s per origin (default); lan = no delay, no cap",
    )
    parser.add_argument(
        "--dest",
        type=Path,
        default=None,
        help="download here (kept); default: a temporary folder, removed at the end",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary download folder")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; see the module docstring.

    Args:
        argv: Command-line arguments without the program name; None reads ``sys.argv``.

    Returns:
        The exit status: 0 when every asset was downloaded and verified, 1 when not or when a
        server could not start, 2 for bad usage, 130 when interrupted.
    """
    try:
        args = _parse(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    # Status lines are never cut into lines of 80 when stderr is a pipe (tests, logs).
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    # Wide enough for the summary table when stdout is a pipe or a file (rich assumes 80).
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    dest: Path = (
        args.dest if args.dest is not None else Path(tempfile.mkdtemp(prefix="obstac-demo-"))
    )
    remove_dest = args.dest is None and not args.keep
    try:
        with _terminate_as_interrupt(), _demo_environment():
            summary = _run(cast("ProfileName", args.profile), dest, err, out)
    except KeyboardInterrupt:
        err.print(f"{PROG}: interrupted; every server it started is stopped")
        return 130
    except (RuntimeError, ObstacError) as error:  # says what failed and what to do
        err.print(f"{PROG}: {type(error).__name__}: {escape(str(error))}")
        return 1
    finally:
        if remove_dest:
            shutil.rmtree(dest, ignore_errors=True)
    if not remove_dest:
        out.print(f"files and item JSON are in {dest}")
    return 0 if summary.ok else 1


def _run(profile: ProfileName, dest: Path, err: Console, out: Console) -> DemoSummary:
    import pystac_client

    from obstac import recipes
    from obstac.download import DownloadError, download_items

    with contextlib.ExitStack() as stack:
        started = time.perf_counter()
        run, es_items, pc_items, ls_items = _start(profile, stack, err)
        items = es_items + pc_items + ls_items
        err.print(
            f"servers up and catalog loaded in {time.perf_counter() - started:.1f} s: "
            f"{len(items)} items, {sum(len(i.files) for i in items)} assets, "
            f"{sum(f.size for i in items for f in i.files) / MIB:.0f} MiB; "
            f"STAC API {run.stac_url}"
        )
        s3_origin, azure_origin, _ = run.origins
        earth_search = recipes.earth_search(endpoint=s3_origin.proxy.url, retry_config=DEMO_RETRY)
        planetary_computer = recipes.planetary_computer(
            sas_url=run.sas_url,
            blob_endpoint=f"{azure_origin.proxy.url}/devstoreaccount1",
            retry_config=DEMO_RETRY,
        )

        # The search: what a user types, against the local API.
        client = pystac_client.Client.open(run.stac_url)
        search = client.search(
            collections=[S2_COLLECTION, LANDSAT_COLLECTION],
            bbox=[-106.5, 39.0, -104.5, 41.0],
            datetime="2023-10-01/2023-10-31",
            limit=SEARCH_PAGE_SIZE,
        )
        found = list(search.items())
        pages = run.pages()
        err.print(f"search: {len(found)} items in {pages} pages from {run.stac_url}/search")

        with ProgressBars(err) as sink:
            began = time.perf_counter()
            try:
                downloaded = download_items(
                    found,
                    dest,
                    recipes=[earth_search, planetary_computer],
                    progress=sink,
                )
                report = downloaded.report
            except DownloadError as error:
                report = error.report
            seconds = time.perf_counter() - began
        summary = DemoSummary(
            items=len(found),
            assets=len(report.assets),
            bytes=report.bytes_transferred,
            seconds=seconds,
            requests=report.requests,
            retries=report.retries,
            verified=report.verified,
            failed=len(report.failures),
            pages=pages,
            profile=profile,
        )
        _print_summary(out, run, report, summary)
        for failure in report.failures:
            err.print(f"[red]failed[/red] {escape(failure.describe())}")
        return summary


def _print_summary(out: Console, run: _Run, report: DownloadReport, summary: DemoSummary) -> None:
    by_host = {host: origin for origin in run.origins for host in origin.hosts}
    for outcome in report.assets:
        host = urlsplit(outcome.result.href).netloc
        origin = by_host.get(host)
        if origin is not None:
            origin.assets += 1
            origin.bytes += outcome.result.bytes_transferred
            origin.requests += outcome.result.requests
    link = (
        "40 ms RTT, 25 MiB/s per connection, 200 MiB/s per origin"
        if run.profile == "wan"
        else "no delay, no cap"
    )
    out.print(f"{PROG}: downloaded through the {run.profile} profile ({link})", soft_wrap=True)
    table = Table()
    table.add_column("origin")
    table.add_column("recipe")
    table.add_column("assets", justify="right")
    table.add_column("MiB", justify="right")
    table.add_column("requests", justify="right")
    table.add_column("conns", justify="right")
    for origin in run.origins:
        table.add_row(
            origin.label,
            origin.recipe,
            str(origin.assets),
            f"{origin.bytes / MIB:.1f}",
            str(origin.requests),
            str(origin.proxy.connections),
        )
    out.print(table)
    out.print(summary.line(), soft_wrap=True)


# -- servers ---------------------------------------------------------------------------------


def _stop_once_started(server: Service, start: Future[Any]) -> None:
    """Stop ``server`` after its ``start`` (running in another thread) has returned or failed."""
    with contextlib.suppress(BaseException):
        start.result(timeout=_START_WAIT_SECONDS)
    server.stop()


def _start(
    profile: ProfileName, stack: contextlib.ExitStack, err: Console
) -> tuple[_Run, list[_Item], list[_Item], list[_Item]]:
    """Start every server (registered on ``stack`` for stopping) and load the catalog."""
    from obstac.testing import AzuriteServer, MotoServer, RangeHTTPServer
    from obstac.testing.latency_proxy import LatencyProxy
    from obstac.testing.planetary_computer import PlanetaryComputerDouble
    from obstac.testing.stac_api import StacAPIDouble

    run = _Run(profile)
    moto = MotoServer()
    azurite = AzuriteServer()
    err.print(
        f"{PROG}: starting local servers: S3 (moto) on 127.0.0.1:{moto.port}, "
        f"Azure Blob (Azurite) on 127.0.0.1:{azurite.port}, HTTP origin, STAC API"
    )
    # The two subprocesses start side by side. Each stop is registered before waiting, and
    # waits for its start to end first, so Ctrl-C during startup leaves no server behind.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="obstac-demo-start")
    starting = [(server, pool.submit(server.start)) for server in (moto, azurite)]
    for server, future in starting:
        stack.callback(_stop_once_started, server, future)
    pool.shutdown(wait=False)
    for _, future in starting:
        future.result()
    http_origin = stack.enter_context(RangeHTTPServer())
    pc = stack.enter_context(PlanetaryComputerDouble(azurite))
    run.sas_url = pc.sas_url
    api = stack.enter_context(StacAPIDouble())
    run.stac_url = api.url
    run.pages = lambda: api.pages_served

    s3_proxy = stack.enter_context(LatencyProxy.profile(profile, moto.port))
    azure_proxy = stack.enter_context(LatencyProxy.profile(profile, azurite.port))
    http_proxy = stack.enter_context(LatencyProxy.profile(profile, http_origin.port))
    run.origins = [
        _Origin(
            "S3 (moto)",
            "earth-search",
            s3_proxy,
            (f"{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com",),
        ),
        _Origin(
            "Azure (Azurite)",
            "planetary_computer",
            azure_proxy,
            (f"{AZURE_ACCOUNT}.blob.core.windows.net",),
        ),
        _Origin("HTTP", "http", http_proxy, (urlsplit(http_proxy.url).netloc,)),
    ]

    es_items = _earth_search_items()
    pc_items = _planetary_computer_items()
    ls_items = _landsat_items(http_proxy.url)

    moto.create_bucket(S3_BUCKET, region=S3_REGION)
    public_read = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{S3_BUCKET}/*"],
            }
        ],
    }
    moto.client(S3_REGION).put_bucket_policy(Bucket=S3_BUCKET, Policy=json.dumps(public_read))
    azurite.create_container(AZURE_CONTAINER)

    def put_s3(f: _File) -> None:
        # The object ACL too: moto refuses an anonymous HEAD that only the policy allows.
        moto.client(S3_REGION).put_object(
            Bucket=S3_BUCKET, Key=urlsplit(f.href).path.lstrip("/"), Body=f.data, ACL="public-read"
        )

    def put_azure(f: _File) -> None:
        path = urlsplit(f.href).path.lstrip("/")
        azurite.put(AZURE_CONTAINER, path.split("/", 1)[1], f.data)

    def put_http(f: _File) -> None:
        http_origin.put(urlsplit(f.href).path.lstrip("/"), f.data)

    uploads: list[tuple[Callable[[_File], None], _File]] = [
        *((put_s3, f) for item in es_items for f in item.files),
        *((put_azure, f) for item in pc_items for f in item.files),
        *((put_http, f) for item in ls_items for f in item.files),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for done in [pool.submit(put, f) for put, f in uploads]:
            done.result()
    # Interleave the providers, as a search over several collections returns them by date.
    items = sorted(
        es_items + pc_items + ls_items, key=lambda i: str(i.document["properties"]["datetime"])
    )
    api.set_items([item.document for item in items])
    return run, es_items, pc_items, ls_items


if __name__ == "__main__":
    sys.exit(main())
