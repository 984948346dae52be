"""Scenarios 4 and 5: a STAC item collection, downloaded (``items``) or mirrored (``mirror``).

Each item is shaped like an Earth Search ``sentinel-2-c1-l2a`` item (see
``/work/shared/fixtures/items/earth-search__sentinel-2-c1-l2a__1.json``): a Feature with a
collection, a datetime, a few Cloud-Optimized GeoTIFF bands and a JPEG thumbnail, each asset with
``type``, ``roles``, ``title``, ``file:size`` and ``file:checksum`` (sha2-256 multihash), as
Earth Search publishes them. Asset hrefs point at the bench origin through the link
(:meth:`benchmarks.model.Origin.href`), so every asset crosses the simulated WAN.

Sizes vary per item (seeded, +-25 % around each band's size) so the workload mixes sizes as a real
collection does. Objects live at ``{mode}/{scenario}/{collection}/{item id}/{file}``: that is
``dest/{collection}/{id}/{file}`` for obstac's default layout (``dest = {mode}/{scenario}``)
and ``dir/{id}/{file}`` for stac-asset's (``dir = {mode}/{scenario}/{collection}``), so every
peer's output is checked by the same key-to-path rule.

The payload of both scenarios is the assets' bytes. The items themselves are handed to the
peers in memory (as a STAC API search would have returned them): fetching them is not timed,
and the item JSON files the STAC-aware peers write beside the assets are not counted.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Literal

from benchmarks.model import KIB, MIB, AssetSpec, ItemSpec, Mode, ObjectSpec, Origin, Scenario

COLLECTION = "sentinel-2-c1-l2a"
"""The collection every item belongs to (one search of one collection)."""

SEED = "collection"
"""Seeds the per-item size jitter (payload bytes are seeded by :mod:`benchmarks.scenarios`)."""

COG = "image/tiff; application=geotiff; profile=cloud-optimized"


@dataclass(frozen=True)
class AssetTemplate:
    """One asset every item has: its key, file name, typical size and STAC fields."""

    name: str
    file: str
    size: int
    media_type: str
    roles: tuple[str, ...]
    title: str


_RED = AssetTemplate("red", "B04.tif", 2 * MIB, COG, ("data", "reflectance"), "Red - 10m")
_NIR = AssetTemplate("nir", "B08.tif", MIB, COG, ("data", "reflectance"), "NIR 1 - 10m")
_SCL = AssetTemplate("scl", "SCL.tif", 512 * KIB, COG, ("data",), "Scene classification map")
_THUMB = AssetTemplate("thumbnail", "L2A_PVI.jpg", 256 * KIB, "image/jpeg", ("thumbnail",), "Thumb")

QUICK_ASSETS = (_RED, _NIR, _SCL, _THUMB)
"""Four assets of 256 KiB-2 MiB (about 3.75 MiB an item): the bands a user selects most."""

FULL_ASSETS = (
    AssetTemplate("red", "B04.tif", 4 * MIB, COG, ("data", "reflectance"), "Red - 10m"),
    AssetTemplate("nir", "B08.tif", 4 * MIB, COG, ("data", "reflectance"), "NIR 1 - 10m"),
    AssetTemplate("visual", "TCI.tif", 12 * MIB, COG, ("visual",), "True color image"),
    AssetTemplate("swir16", "B11.tif", MIB, COG, ("data", "reflectance"), "SWIR 1.6um - 20m"),
    _SCL,
    _THUMB,
)
"""Six assets of 256 KiB-12 MiB (about 22 MiB an item); ``visual`` is above obstac's 8 MiB part
size, so it is fetched in parts and, when mirrored, uploaded with one PUT (below obstac's
64 MiB ``single_put_threshold``; raw obstore's peer uploads it as multipart)."""

SMOKE_ASSETS = (
    AssetTemplate("red", "B04.tif", 96 * KIB, COG, ("data", "reflectance"), "Red - 10m"),
    AssetTemplate("scl", "SCL.tif", 32 * KIB, COG, ("data",), "Scene classification map"),
    AssetTemplate("thumbnail", "L2A_PVI.jpg", 8 * KIB, "image/jpeg", ("thumbnail",), "Thumb"),
)

CollectionName = Literal["items", "mirror"]

SIZES: dict[Mode, dict[CollectionName, tuple[int, tuple[AssetTemplate, ...]]]] = {
    # scenario: (items, assets of each item)
    "smoke": {"items": (6, SMOKE_ASSETS), "mirror": (4, SMOKE_ASSETS)},
    "quick": {"items": (100, QUICK_ASSETS), "mirror": (50, QUICK_ASSETS)},
    "full": {"items": (100, FULL_ASSETS), "mirror": (50, FULL_ASSETS)},
}
"""Quick: 100 items x 4 assets (~375 MiB, 400 GETs) to disk; 50 x 4 (~190 MiB) into moto.
Full: the same counts with 6 assets up to 12 MiB (~2.1 GiB and ~1.1 GiB). Quick stays small
because the sequential peers pay two RTTs per asset (a new connection each): 400 assets cost
them ~50 s under ``wan`` where obstac needs ~2 s, and ``make bench`` must stay under 5 min."""

Payload = Callable[[str, int, int], bytes]
"""``payload(scenario name, object index, size)``: the object's bytes (seeded)."""


def collection_scenario(mode: Mode, name: CollectionName, payload: Payload) -> Scenario:
    """The ``items`` or ``mirror`` scenario of a mode (checksums computed from the payloads)."""
    count, templates = SIZES[mode][name]
    rng = random.Random(f"{SEED}:{mode}:{name}")  # noqa: S311 - a reproducible layout
    start = datetime(2025, 7, 1, 10, 30, tzinfo=UTC)
    objects: list[ObjectSpec] = []
    items: list[ItemSpec] = []
    for number in range(count):
        when = start + timedelta(days=number // 4, hours=number % 4)
        item_id = f"S2B_T32TNS_{when:%Y%m%dT%H%M%S}_L2A"
        assets = []
        for template in templates:
            size = max(1, round(template.size * rng.uniform(0.75, 1.25)))
            key = f"{mode}/{name}/{COLLECTION}/{item_id}/{template.file}"
            checksum = "1220" + hashlib.sha256(payload(name, len(objects), size)).hexdigest()
            objects.append(ObjectSpec(key, size))
            assets.append(AssetSpec(template.name, key, size, checksum))
        items.append(ItemSpec(item_id, COLLECTION, when.isoformat(), tuple(assets)))
    total = sum(o.size for o in objects)
    what = "downloaded" if name == "items" else "mirrored into S3"
    title = (
        f"{count} items x {len(templates)} assets ({_size(min(t.size for t in templates))}-"
        f"{_size(max(t.size for t in templates))}, {total / MIB:.{0 if total > 10 * MIB else 1}f} "
        f"MiB) {what}"
    )
    return Scenario(name, title, name, tuple(objects), items=tuple(items))


def _size(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def collection_root(scenario: Scenario) -> str:
    """The key prefix above the collection folders: ``{mode}/{scenario}``."""
    return str(PurePosixPath(scenario.objects[0].key).parents[2])


def item_dicts(scenario: Scenario, origin: Origin) -> list[dict[str, Any]]:
    """The scenario's items as STAC Item dicts, their asset hrefs on ``origin``."""
    templates = {t.name: t for t in (*FULL_ASSETS, *QUICK_ASSETS, *SMOKE_ASSETS)}
    stac_root = f"{origin.url}/stac"
    documents = []
    for index, item in enumerate(scenario.items):
        lon, lat = 9.0 + (index % 10) * 0.1, 45.0 + (index // 10) * 0.1
        box = [lon, lat, lon + 0.09, lat + 0.09]
        assets = {}
        for asset in item.assets:
            template = templates[asset.name]
            assets[asset.name] = {
                "href": origin.href(asset.key),
                "type": template.media_type,
                "title": template.title,
                "roles": list(template.roles),
                "file:size": asset.size,
                "file:checksum": asset.checksum,
            }
        documents.append(
            {
                "type": "Feature",
                "stac_version": "1.0.0",
                "stac_extensions": ["https://stac-extensions.github.io/file/v2.1.0/schema.json"],
                "id": item.id,
                "collection": item.collection,
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [box[0], box[1]],
                            [box[2], box[1]],
                            [box[2], box[3]],
                            [box[0], box[3]],
                            [box[0], box[1]],
                        ]
                    ],
                },
                "bbox": box,
                "properties": {
                    "datetime": item.datetime.replace("+00:00", "Z"),
                    "platform": "sentinel-2b",
                    "constellation": "sentinel-2",
                    "eo:cloud_cover": round(10 + index % 70 * 1.1, 2),
                },
                "links": [
                    {
                        "rel": "self",
                        "type": "application/geo+json",
                        "href": f"{stac_root}/collections/{item.collection}/items/{item.id}",
                    },
                    {
                        "rel": "collection",
                        "type": "application/json",
                        "href": f"{stac_root}/collections/{item.collection}",
                    },
                ],
                "assets": assets,
            }
        )
    return documents
