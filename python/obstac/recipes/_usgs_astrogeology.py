"""USGS Astrogeology: planetary analysis-ready data in public, unsigned S3 buckets in us-west-2.

The Astrogeology Science Center publishes its STAC catalogs and data (CTX and HiRISE DTMs,
Moon and Mars mosaics, ...) in the ``astrogeo-ard`` bucket and the ``asc-*`` buckets
(``asc-mars``, ``asc-moon``, ``asc-pds-services``, ...). Items point at them with ``s3://``
URIs or with https URLs in both the dashed legacy form
(``https://asc-mars.s3-us-west-2.amazonaws.com/...``) and the dotted one
(``https://asc-mars.s3.us-west-2.amazonaws.com/...``). Every one is read unsigned: the buckets
are public, and a developer's AWS keys are never sent to them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from obstac.hrefs import StoreKind
from obstac.recipes._base import Route, require_bucket
from obstac.recipes._s3 import S3Recipe

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["ASTROGEOLOGY_BUCKETS", "UsgsAstrogeologyRecipe", "usgs_astrogeology"]

REGION = "us-west-2"
"""The region of every Astrogeology bucket."""

ASTROGEOLOGY_BUCKETS = frozenset({"astrogeo-ard"})
"""Buckets claimed by name; any bucket named ``asc-*`` is claimed too."""

_BUCKET_PREFIX = "asc-"
_CATALOG_HOSTS = frozenset({"stac.astrogeology.usgs.gov"})
"""Hosts of the Astrogeology STAC API: their items' S3 assets are claimed whatever the bucket."""

_HINT = (
    "USGS Astrogeology buckets are public and obstac.recipes.usgs_astrogeology() reads them "
    "unsigned, so a refusal means this object is not public: check the href, or read a private "
    "bucket with obstac.recipes.s3(access_key_id=..., secret_access_key=...) (env "
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
)


@dataclass(frozen=True, eq=False, repr=False)
class UsgsAstrogeologyRecipe:
    """Reads USGS Astrogeology buckets unsigned. Built by :func:`usgs_astrogeology`."""

    endpoint: str | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    name: str = "usgs-astrogeology"
    _s3: S3Recipe = field(init=False, repr=False)

    def __post_init__(self) -> None:
        s3 = S3Recipe(
            endpoint=self.endpoint,
            region=REGION,
            anonymous=True,
            client_options=self.client_options,
            retry_config=self.retry_config,
            name=self.name,
        )
        object.__setattr__(self, "_s3", s3)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """Any S3 location (the recipe reads it unsigned, in us-west-2 unless the href says)."""
        del asset
        return location.kind is StoreKind.S3

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """``astrogeo-ard`` and ``asc-*`` buckets, and S3 assets of the Astrogeology STAC API."""
        if location.kind is not StoreKind.S3 or not location.bucket:
            return False
        if location.region not in (None, REGION):
            return False  # a bucket of that name elsewhere is someone else's
        bucket = location.bucket
        if bucket in ASTROGEOLOGY_BUCKETS or bucket.startswith(_BUCKET_PREFIX):
            return True
        return (urlsplit(asset.base or "").hostname or "") in _CATALOG_HOSTS

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An unsigned ``S3Store`` for the bucket, in the href's region or us-west-2."""
        require_bucket(location, self.name)
        region = location.region or REGION
        # The region is fixed by the provider: storage:region and AWS_REGION do not apply.
        route = self._s3.route(dataclasses.replace(location, region=region), asset)
        return dataclasses.replace(
            route,
            store_key=(self, *route.store_key),
            credential_source="anonymous (unsigned requests; public buckets)",
            credential_hint=_HINT,
            credentials_available=True,
        )

    def __repr__(self) -> str:
        return f"UsgsAstrogeologyRecipe(endpoint={self.endpoint!r}, region={REGION!r})"


def usgs_astrogeology(
    *,
    endpoint: str | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
) -> UsgsAstrogeologyRecipe:
    """A recipe for the USGS Astrogeology buckets (``astrogeo-ard``, ``asc-mars``, ...).

    Requests are unsigned: the buckets are public, so no AWS account is needed and none is used
    even when ``AWS_ACCESS_KEY_ID`` is set.

    Args:
        endpoint: S3 endpoint in place of AWS, e.g. a local moto server for tests
            (``"http://127.0.0.1:5000"``); hrefs keep their real form.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
    """
    return UsgsAstrogeologyRecipe(
        endpoint=endpoint, client_options=client_options, retry_config=retry_config
    )
