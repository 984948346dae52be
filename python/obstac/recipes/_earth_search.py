"""Element 84 Earth Search: public AWS open-data buckets, some of them requester-pays.

Earth Search (``https://earth-search.aws.element84.com/v1``) catalogs data that lives in AWS
buckets of several owners:

- public buckets read unsigned, at no cost: ``sentinel-cogs``, ``e84-earth-search-*``,
  ``earthsearch-data``, ``copernicus-dem-*``, ...;
- requester-pays buckets, where AWS bills the reader's account for each request and byte:
  ``usgs-landsat`` (us-west-2), ``sentinel-s2-l2a`` / ``sentinel-s2-l1c`` / ``sentinel-s1-l1c``
  (eu-central-1), ``naip-*``. Those requests must be signed with the user's AWS credentials and
  carry ``x-amz-request-payer: requester``; unsigned ones are refused (obstore sends the header
  only on signed requests).

A bucket is requester-pays when it is one of those, when the asset or item says so
(``storage:requester_pays``, or the ``requester_pays`` of the ``storage:schemes`` it refers to),
or when the recipe is told so (``requester_pays=True``). Without AWS credentials such an asset
routes with ``credentials_available=False``, so selection reads a free ``alternate`` href when
the asset has one (USGS LandsatLook items pair every ``s3://usgs-landsat`` href with an https
one), and otherwise fails before sending a request, naming what to set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from obstac._redact import register_secret
from obstac.errors import CredentialsError
from obstac.hrefs import StoreKind
from obstac.recipes._base import Route, require_bucket
from obstac.recipes._s3 import S3Recipe, requester_pays_of, storage_region_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from obstore.store import ClientConfig, RetryConfig, S3CredentialProvider

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = [
    "BUCKET_REGIONS",
    "REQUESTER_PAYS_BUCKETS",
    "EarthSearchRecipe",
    "earth_search",
]

DEFAULT_REGION = "us-west-2"
"""Earth Search's own region: buckets not listed in :data:`BUCKET_REGIONS` are taken to be here."""

BUCKET_REGIONS: dict[str, str] = {
    "sentinel-cogs": "us-west-2",
    "sentinel-cogs-inventory": "us-west-2",
    "earthsearch-data": "us-west-2",
    "usgs-landsat": "us-west-2",
    "naip-analytic": "us-west-2",
    "naip-visualization": "us-west-2",
    "naip-source": "us-west-2",
    "sentinel-s2-l2a": "eu-central-1",
    "sentinel-s2-l1c": "eu-central-1",
    "sentinel-s1-l1c": "eu-central-1",
    "copernicus-dem-30m": "eu-central-1",
    "copernicus-dem-90m": "eu-central-1",
}
"""Region of each bucket Earth Search points at; ``e84-earth-search-*`` buckets are in
us-west-2. An href's host or ``storage:region`` wins over this table."""

REQUESTER_PAYS_BUCKETS = frozenset(
    {
        "usgs-landsat",
        "sentinel-s2-l2a",
        "sentinel-s2-l1c",
        "sentinel-s1-l1c",
        "naip-analytic",
        "naip-visualization",
        "naip-source",
    }
)
"""Buckets whose owner makes the reader pay, whatever the item's metadata says."""

_E84_PREFIX = "e84-earth-search-"
_CATALOG_HOSTS = frozenset({"earth-search.aws.element84.com"})
"""Hosts of the Earth Search API: its items' S3 assets are claimed whatever their bucket."""

_PAID_HINT = (
    "this asset is in a requester-pays bucket, so AWS bills your account for the transfer: "
    "pass access_key_id= and secret_access_key= (or credential_provider=) to "
    "obstac.recipes.earth_search(), or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and "
    "AWS_SESSION_TOKEN for temporary keys); pass requester_pays=False to never pay and read "
    "the asset's free alternate href instead"
)
_PUBLIC_HINT = (
    "Earth Search's public buckets are read unsigned, so a refusal means this object is not "
    "public: if its bucket is requester-pays, pass requester_pays=True to "
    "obstac.recipes.earth_search() with AWS credentials (access_key_id= / secret_access_key=, "
    "env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
)


@dataclass(frozen=True, eq=False, repr=False)
class EarthSearchRecipe:
    """Reads Earth Search's buckets: public ones unsigned, requester-pays ones signed.

    Built by :func:`earth_search`; see it for the meaning of each field.
    """

    requester_pays: bool | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    credential_provider: S3CredentialProvider | None = None
    endpoint: str | None = None
    region: str | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    name: str = "earth-search"
    _public: S3Recipe = field(init=False, repr=False)
    _paid: S3Recipe = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for secret in (self.access_key_id, self.secret_access_key, self.session_token):
            register_secret(secret)
        public = S3Recipe(
            anonymous=True,
            endpoint=self.endpoint,
            client_options=self.client_options,
            retry_config=self.retry_config,
            name=self.name,
        )
        paid = S3Recipe(
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            session_token=self.session_token,
            credential_provider=self.credential_provider,
            requester_pays=True,
            endpoint=self.endpoint,
            client_options=self.client_options,
            retry_config=self.retry_config,
            name=self.name,
        )
        object.__setattr__(self, "_public", public)
        object.__setattr__(self, "_paid", paid)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """Any S3 location (an S3 https URL parses to one)."""
        del asset
        return location.kind is StoreKind.S3

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """Earth Search's buckets, and the S3 assets of items served by the Earth Search API."""
        if location.kind is not StoreKind.S3 or not location.bucket:
            return False
        if is_earth_search_bucket(location.bucket):
            return True
        return (urlsplit(asset.base or "").hostname or "") in _CATALOG_HOSTS

    def is_requester_pays(self, location: Location, asset: AssetInfo) -> bool:
        """Whether reading this asset bills the reader: by bucket, by metadata, or by parameter."""
        return (
            self.requester_pays is True
            or (location.bucket or "") in REQUESTER_PAYS_BUCKETS
            or requester_pays_of(asset)
        )

    def region_for(self, location: Location, asset: AssetInfo) -> str:
        """The href's region, else the metadata's, else the bucket's, else the recipe's.

        The metadata is ``storage:region`` (storage extension v1) or the ``region`` of the
        ``storage:schemes`` entry the asset refers to (v2; pystac >= 1.12 migrates v1 items to
        v2 when it reads them).
        """
        bucket = location.bucket or ""
        known = BUCKET_REGIONS.get(bucket) or (
            DEFAULT_REGION if bucket.startswith(_E84_PREFIX) else None
        )
        region = location.region or storage_region_of(asset) or known or self.region
        return str(region or DEFAULT_REGION)

    def has_credentials(self) -> bool:
        """Whether AWS credentials are at hand to sign requester-pays requests."""
        return not self._paid.credential_source().startswith("anonymous")

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """A signed requester-pays store, or an unsigned one, for the bucket and its region."""
        require_bucket(location, self.name)
        located = dataclasses.replace(location, region=self.region_for(location, asset))
        pays = self.is_requester_pays(location, asset)
        if not pays:
            route = self._public.route(located, asset)
            return dataclasses.replace(
                route,
                store_key=(self, *route.store_key),
                credential_source="anonymous (unsigned requests; public bucket)",
                credential_hint=_PUBLIC_HINT,
                credentials_available=True,
            )
        if self.requester_pays is False:
            route = self._public.route(located, asset)
            refusal = (
                f"{location.safe_href!r} is in the requester-pays bucket {location.bucket!r} "
                f"and obstac.recipes.earth_search() was given requester_pays=False (never pay); "
                "read one of the asset's alternate hrefs, or pass requester_pays=None (the "
                "default) with AWS credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
            )
            source = "none: requester_pays=False refuses requester-pays buckets"
        elif not self.has_credentials():
            route = self._paid.route(located, asset)
            refusal = (
                f"{location.safe_href!r} is in the requester-pays bucket {location.bucket!r}, "
                f"which needs signed requests billed to an AWS account, and recipe "
                f"{self.name!r} has no AWS credentials: {_PAID_HINT}"
            )
            source = "none: requester-pays needs AWS credentials (AWS_ACCESS_KEY_ID)"
        else:
            route = self._paid.route(located, asset)
            return dataclasses.replace(
                route,
                store_key=(self, *route.store_key),
                credential_source=f"{route.credential_source} (requester pays)",
                credential_hint=_PAID_HINT,
                credentials_available=True,
            )
        return dataclasses.replace(
            route,
            store_key=(self, *route.store_key),
            credential_source=source,
            credential_hint=_PAID_HINT,
            credentials_available=False,
            resolve=_refuse(location, self.name, refusal),
        )

    def __repr__(self) -> str:
        credentials = self._paid.credential_source()
        return (
            f"EarthSearchRecipe(requester_pays={self.requester_pays!r}, "
            f"credentials={credentials!r}, endpoint={self.endpoint!r})"
        )


def is_earth_search_bucket(bucket: str) -> bool:
    """Whether Earth Search points at ``bucket`` (the listed buckets and ``e84-earth-search-*``)."""
    return bucket in BUCKET_REGIONS or bucket.startswith(_E84_PREFIX)


def _refuse(location: Location, recipe: str, message: str) -> Callable[[], Route]:
    """A ``Route.resolve`` that fails before any request: no request could succeed."""

    def resolve() -> Route:
        raise CredentialsError(message, href=location.href, recipe=recipe)

    return resolve


def earth_search(
    *,
    requester_pays: bool | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    credential_provider: S3CredentialProvider | None = None,
    endpoint: str | None = None,
    region: str | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
) -> EarthSearchRecipe:
    """A recipe for the buckets behind Element 84 Earth Search (and USGS LandsatLook's S3 hrefs).

    Public buckets (``sentinel-cogs``, ``e84-earth-search-*``, ...) are read with unsigned
    requests, even when AWS credentials are set. Requester-pays buckets (``usgs-landsat``,
    ``sentinel-s2-l2a``, ``sentinel-s2-l1c``, ... or any asset whose ``storage:requester_pays``
    or ``storage:schemes`` says so) are read with signed requests that carry
    ``x-amz-request-payer: requester``: AWS bills your account.

    Args:
        requester_pays: ``None`` (default): pay where the bucket or the metadata requires it,
            when AWS credentials are at hand. ``True``: treat every bucket as requester-pays.
            ``False``: never pay; requester-pays assets route as unreadable, so an asset's
            free ``alternate`` href is read instead.
        access_key_id: AWS access key billed for requester-pays reads (env
            ``AWS_ACCESS_KEY_ID``).
        secret_access_key: Its secret (env ``AWS_SECRET_ACCESS_KEY``).
        session_token: Session token of temporary keys (env ``AWS_SESSION_TOKEN``).
        credential_provider: An obstore credential provider for refreshing credentials (e.g.
            ``obstore.auth.boto3.Boto3CredentialProvider`` for profiles and SSO).
        endpoint: S3 endpoint in place of AWS, e.g. a local moto server for tests; hrefs keep
            their real form (``https://sentinel-cogs.s3.us-west-2.amazonaws.com/...``).
        region: Region for buckets this recipe does not know (default ``us-west-2``).
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
    """
    return EarthSearchRecipe(
        requester_pays=requester_pays,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        credential_provider=credential_provider,
        endpoint=endpoint,
        region=region,
        client_options=client_options,
        retry_config=retry_config,
    )
