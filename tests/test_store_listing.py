"""Store destinations learn which copies exist from one listing per folder, not a HEAD each.

The destinations are real servers behind a counting proxy (moto for S3, Azurite for Azure);
the source is the local HTTP origin. Each test counts the requests the destination saw by kind:
a first copy into an empty folder sends no HEAD, a re-run HEADs only the objects the listing
shows, and the proof itself (source ETag, ``obstac_sha256``) is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import obstore
import pytest
from obstore.store import AzureStore, GCSStore, S3Store

import obstac
from obstac import StoreCache
from obstac.recipes import http, s3
from obstac.testing import AzuriteServer, CountingProxy, GCSDouble, MotoServer, RangeHTTPServer
from obstac.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME
from obstac.testing.gcs import static_token
from obstac.testing.http_origin import RecordedRequest
from obstac.testing.moto import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from obstac.testing.proxy import ProxiedRequest
from obstac.transfer import StoreTarget, TransferJob, TransferResult, transfer
from obstac.transfer._store_listing import LISTING_LIMIT
from tests.conftest import FAST_RETRY
from tests.test_download_items import _item

if TYPE_CHECKING:
    from obstore.store import AzureConfig

BUCKET = "obstac-listing"


@dataclass
class Dest:
    """A destination store on a real server that records the requests it gets."""

    name: str
    store: S3Store | AzureStore | GCSStore
    requests: Callable[[], Sequence[ProxiedRequest | RecordedRequest]]
    clear: Callable[[], None]

    def kinds(self) -> Counter[str]:
        """The requests the destination saw since the last ``clear``, by kind."""
        seen: Counter[str] = Counter()
        for request in self.requests():
            listing = "list-type=" in request.target or "comp=list" in request.target
            seen["LIST" if request.method == "GET" and listing else request.method] += 1
        return seen

    @classmethod
    def behind(cls, name: str, store: S3Store | AzureStore, proxy: CountingProxy) -> Dest:
        return cls(name, store, lambda: proxy.requests, proxy.clear)


@pytest.fixture(scope="module")
def s3_dest(moto_server: MotoServer, moto_proxy: CountingProxy) -> Dest:
    moto_server.create_bucket(BUCKET)
    store = S3Store(
        BUCKET,
        endpoint=moto_proxy.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        region="us-east-1",
        client_options={"allow_http": True},
    )
    return Dest.behind("s3", store, moto_proxy)


@pytest.fixture(scope="module")
def azure_dest(azurite_server: AzuriteServer, azurite_proxy: CountingProxy) -> Dest:
    azurite_server.create_container(BUCKET)
    return _azure_dest(azurite_proxy, {"account_key": ACCOUNT_KEY})


def _azure_dest(proxy: CountingProxy, credentials: AzureConfig) -> Dest:
    config: AzureConfig = {
        **credentials,
        "account_name": ACCOUNT_NAME,
        "endpoint": f"{proxy.url}/{ACCOUNT_NAME}",
    }
    store = AzureStore(BUCKET, config=config, client_options={"allow_http": True})
    return Dest.behind("azure", store, proxy)


@pytest.fixture(scope="module")
def gcs_dest(gcs_double: GCSDouble) -> Dest:
    store = GCSStore(
        BUCKET,
        base_url=gcs_double.url,
        credential_provider=static_token,
        client_options={"allow_http": True},
    )
    return Dest("gcs", store, lambda: gcs_double.requests, gcs_double.clear_requests)


@pytest.fixture(params=["s3", "azure", "gcs"])
def dest(request: pytest.FixtureRequest) -> Dest:
    fixture: Dest = request.getfixturevalue(f"{request.param}_dest")
    return fixture


def _jobs(
    origin: RangeHTTPServer, dest: Dest, sources: dict[str, str], sizes: dict[str, int]
) -> list[TransferJob]:
    """One job per source path, into the same path at the destination, with ``file:size``."""
    cache = StoreCache()
    return [
        TransferJob(
            id=path,
            source=obstac.open_asset(f"{origin.url}/{source}", cache=cache),
            target=StoreTarget(dest.store, path, f"{dest.name}://{BUCKET}/{path}"),
            expected_size=sizes[path],
        )
        for path, source in sources.items()
    ]


def _statuses(results: list[TransferResult]) -> dict[str, str]:
    return {result.job_id: result.status for result in results}


def test_first_copy_lists_the_folder_and_a_rerun_heads_only_what_it_lists(
    dest: Dest, http_origin: RangeHTTPServer
) -> None:
    run = uuid.uuid4().hex[:8]
    folder = f"copy-{run}"
    data = {f"{folder}/{name}.bin": f"{name} {run} ".encode() * 300 for name in "abcd"}
    sources = {path: f"src-{run}/{path}" for path in data}
    for path, body in data.items():
        http_origin.put(sources[path], body)
    sizes = {path: len(body) for path, body in data.items()}

    dest.clear()
    first = transfer(_jobs(http_origin, dest, sources, sizes))
    assert set(_statuses(first).values()) == {"downloaded"}, [r.error for r in first]
    assert dest.kinds() == {"LIST": 1, "PUT": 4}  # no HEAD: the listing showed nothing

    dest.clear()
    again = transfer(_jobs(http_origin, dest, sources, sizes))
    assert set(_statuses(again).values()) == {"skipped"}
    assert dest.kinds() == {"LIST": 1, "HEAD": 4}  # the record is in metadata: one HEAD each

    # a: new bytes of the same size (new ETag); b: a new size; c: replaced by someone else
    # (no obstac record); d: unchanged.
    a, b, c, d = sorted(data)
    http_origin.put(sources[a], data[a].upper())
    http_origin.put(sources[b], data[b] * 2)
    obstore.put(dest.store, c, b"x" * sizes[c])
    dest.clear()
    third = transfer(_jobs(http_origin, dest, sources, {**sizes, b: 2 * sizes[b]}))
    assert _statuses(third) == {a: "downloaded", b: "downloaded", c: "downloaded", d: "skipped"}
    assert dest.kinds() == {"LIST": 1, "HEAD": 3, "PUT": 3}  # b's listed size differs: no HEAD
    assert bytes(obstore.get(dest.store, a).bytes()) == data[a].upper()
    assert bytes(obstore.get(dest.store, c).bytes()) == data[c]

    # Bounds: one target in a folder, or targets at the store's root, are HEADed, not listed.
    roots = {f"root-{run}-{n}.bin": f"src-{run}/{d}" for n in range(2)}
    lone = {f"lone-{run}/only.bin": f"src-{run}/{d}"}
    dest.clear()
    transfer(_jobs(http_origin, dest, {**roots, **lone}, dict.fromkeys([*roots, *lone], sizes[d])))
    assert dest.kinds() == {"HEAD": 3, "PUT": 3}


def test_a_folder_larger_than_one_listing_page_falls_back_to_heads(
    s3_dest: Dest, http_origin: RangeHTTPServer
) -> None:
    run = uuid.uuid4().hex[:8]
    folder = f"big-{run}"
    body = f"payload {run}".encode() * 100
    http_origin.put(f"src-{run}/payload", body)
    sources = {f"{folder}/z-{n}.bin": f"src-{run}/payload" for n in range(2)}
    sizes = dict.fromkeys(sources, len(body))
    assert set(_statuses(transfer(_jobs(http_origin, s3_dest, sources, sizes))).values()) == {
        "downloaded"
    }

    async def fill() -> None:  # LISTING_LIMIT objects that sort before the copies
        limit = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with limit:
                await obstore.put_async(s3_dest.store, f"{folder}/a-{n:04d}", b"")

        await asyncio.gather(*(one(n) for n in range(LISTING_LIMIT)))

    asyncio.run(fill())
    s3_dest.clear()
    again = transfer(_jobs(http_origin, s3_dest, sources, sizes))
    # The first page does not reach the copies: they are HEADed (and skipped), never assumed
    # absent, and the listing stops after one page.
    assert set(_statuses(again).values()) == {"skipped"}
    assert s3_dest.kinds() == {"LIST": 1, "HEAD": 2}


def test_a_destination_that_may_not_be_listed_is_headed_as_before(
    azure_dest: Dest,
    azurite_server: AzuriteServer,
    azurite_proxy: CountingProxy,
    http_origin: RangeHTTPServer,
) -> None:
    run = uuid.uuid4().hex[:8]
    body = f"payload {run}".encode() * 100
    http_origin.put(f"src-{run}/payload", body)
    # Read, create and write, but not list: the listing is refused (403), HEADs answer.
    sas = azurite_server.container_sas(
        BUCKET, expiry=datetime.now(UTC) + timedelta(hours=1), permission="rcw"
    )
    dest = _azure_dest(azurite_proxy, {"sas_key": sas})
    sources = {f"nolist-{run}/{n}.bin": f"src-{run}/payload" for n in range(2)}
    sizes = dict.fromkeys(sources, len(body))

    dest.clear()
    first = transfer(_jobs(http_origin, dest, sources, sizes))
    assert set(_statuses(first).values()) == {"downloaded"}, [r.error for r in first]
    assert dest.kinds() == {"LIST": 1, "HEAD": 2, "PUT": 2}

    dest.clear()
    assert set(_statuses(transfer(_jobs(http_origin, dest, sources, sizes))).values()) == {
        "skipped"
    }
    assert dest.kinds() == {"LIST": 1, "HEAD": 2}


def test_download_items_lists_the_collection_folder_once_for_every_item(
    moto_server: MotoServer, moto_proxy: CountingProxy, http_origin: RangeHTTPServer
) -> None:
    run = uuid.uuid4().hex[:8]
    bucket = f"listing-items-{run}"
    moto_server.create_bucket(bucket)
    items = []
    for number in range(3):
        assets = {}
        for key in ("B01", "B02"):
            body = f"{key} of item {number} {run}".encode() * 200
            http_origin.put(f"items-{run}/{number}/{key}.tif", body)
            assets[key] = {
                "href": f"{http_origin.url}/items-{run}/{number}/{key}.tif",
                "file:size": len(body),
                "file:checksum": "1220" + hashlib.sha256(body).hexdigest(),
            }
        items.append(_item(f"item-{number}", assets))
    dest_recipe = s3(
        endpoint=moto_proxy.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=SECRET_ACCESS_KEY,
        retry_config=FAST_RETRY,
    )

    def kinds() -> Counter[str]:
        return Dest.behind("s3", S3Store(bucket), moto_proxy).kinds()

    def mirror() -> obstac.DownloadedItemCollection:
        return obstac.download_items(
            items, f"s3://{bucket}/mirror", recipe=http(), dest_recipe=dest_recipe
        )

    moto_proxy.clear()
    assert mirror().report.count("downloaded") == 6
    assert kinds() == {"LIST": 1, "PUT": 6 + 3}  # one listing of mirror/demo; 3 item JSONs

    moto_proxy.clear()
    assert mirror().report.count("skipped") == 6
    # Each copy proven by its recorded sha256 (one HEAD each); the item JSONs are rewritten.
    assert kinds() == {"LIST": 1, "HEAD": 6, "PUT": 3}
