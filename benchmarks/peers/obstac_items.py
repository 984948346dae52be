"""obstac on the collection scenarios, through its user-facing call :func:`obstac.download_items`:
into a folder (``items``) or into an ``s3://`` URL with a destination recipe (``mirror``), with
its defaults (``fsync=False`` for folders, as for every other peer)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.collection import collection_root, item_dicts
from benchmarks.mirror import Destination, timed_mirror
from benchmarks.model import Measurement, Origin, Scenario
from benchmarks.peers._common import timed_download


def run_items(name: str, scenario: Scenario, origin: Origin) -> Measurement:
    """``download_items(items, folder)``; the items are built before the clock starts."""
    import pystac

    import obstac
    from obstac.transfer import TransferOptions

    items = pystac.ItemCollection(item_dicts(scenario, origin))

    def work(root: Path) -> None:
        obstac.download_items(
            items,
            root / collection_root(scenario),
            options=TransferOptions(fsync=False),
            on_error="raise",
        )

    return timed_download(name, scenario, "download_items() defaults, fsync=False", work)


def run_mirror(name: str, scenario: Scenario, origin: Origin) -> Measurement:
    """``download_items(items, "s3://bucket/prefix", dest_recipe=s3(endpoint=moto))``."""
    import pystac

    import obstac

    items = pystac.ItemCollection(item_dicts(scenario, origin))

    def work(destination: Destination) -> None:
        recipe = obstac.recipes.s3(
            endpoint=destination.endpoint,
            access_key_id=destination.access_key_id,
            secret_access_key=destination.secret_access_key,
            region=destination.region,
        )
        dest = f"s3://{destination.bucket}/{collection_root(scenario)}"
        obstac.download_items(items, dest, dest_recipe=recipe, on_error="raise")

    note = "download_items() to s3://, defaults"
    return timed_mirror(name, scenario, origin, note, work)
