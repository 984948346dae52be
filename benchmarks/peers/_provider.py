"""How a peer addresses an origin of each provider (:data:`benchmarks.model.Provider`).

obstac goes through its generic recipes (``obstac.recipes.s3/azure/gcs/http``) with the
endpoint set to the link; raw obstore builds the matching store by hand; the S3 command-line
peers sign with moto's test keys on the ``s3`` provider and go unsigned on nginx.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from benchmarks.model import Origin
from obstac.testing.azurite import ACCOUNT_KEY, ACCOUNT_NAME
from obstac.testing.moto import ACCESS_KEY_ID, DEFAULT_REGION, SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from obstore.store import AzureStore, ClientConfig, GCSStore, HTTPStore, S3Store

    from obstac import AssetReader
    from obstac.recipes import Recipe

ALL = frozenset({"http", "s3", "azure", "gcs"})
"""``PROVIDERS`` of a peer that speaks every origin (obstac, raw obstore)."""

S3_AND_HTTP = frozenset({"http", "s3"})
"""``PROVIDERS`` of the S3 peers: nginx as an unsigned S3 stand-in, and moto signed."""

_CLIENT: ClientConfig = {"allow_http": True, "timeout": "300s"}


def s3_keys(origin: Origin) -> tuple[str, str] | None:
    """The keys S3 peers sign with: moto's test keys on ``s3``, None (unsigned) on nginx."""
    return (ACCESS_KEY_ID, SECRET_ACCESS_KEY) if origin.provider == "s3" else None


def s3_env(origin: Origin, prefix: str) -> dict[str, str]:
    """Environment variables carrying :func:`s3_keys` to a tool (``AWS_``, ``RCLONE_S3_``)."""
    keys = s3_keys(origin)
    if keys is None:
        return {}
    return {f"{prefix}ACCESS_KEY_ID": keys[0], f"{prefix}SECRET_ACCESS_KEY": keys[1]}


def obstac_recipe(origin: Origin) -> tuple[Recipe, Callable[[str], str]]:
    """The recipe obstac peers read ``origin`` with, and ``key -> href`` for its objects."""
    from obstac import recipes

    bucket = origin.bucket
    if origin.provider == "s3":
        recipe: Recipe = recipes.s3(
            endpoint=origin.url,
            region=DEFAULT_REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
        )
        scheme = "s3"
    elif origin.provider == "azure":
        recipe = recipes.azure(
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            endpoint=f"{origin.url}/{ACCOUNT_NAME}",
        )
        scheme = "az"
    elif origin.provider == "gcs":
        recipe = recipes.gcs(endpoint=origin.url, anonymous=True)
        scheme = "gs"
    else:
        return recipes.http(), origin.href
    return recipe, lambda key: f"{scheme}://{bucket}/{key}"


def obstac_opener(origin: Origin) -> Callable[[str], AssetReader]:
    """``key -> obstac.open_asset(href, recipe=...)``, one recipe (so one store) for all keys."""
    import obstac

    recipe, href_of = obstac_recipe(origin)
    return lambda key: obstac.open_asset(href_of(key), recipe=recipe)


def obstore_store(origin: Origin) -> S3Store | AzureStore | GCSStore | HTTPStore:
    """The obstore store a careful user would build by hand for the origin's bucket."""
    from obstore.store import AzureStore, GCSStore, HTTPStore, S3Store

    if origin.provider == "s3":
        return S3Store(
            origin.bucket,
            endpoint=origin.url,
            region=DEFAULT_REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            client_options=_CLIENT,
        )
    if origin.provider == "azure":
        return AzureStore(
            origin.bucket,
            account_name=ACCOUNT_NAME,
            account_key=ACCOUNT_KEY,
            endpoint=f"{origin.url}/{ACCOUNT_NAME}",
            client_options=_CLIENT,
        )
    if origin.provider == "gcs":
        return GCSStore(
            origin.bucket, base_url=origin.url, skip_signature=True, client_options=_CLIENT
        )
    return HTTPStore.from_url(f"{origin.url}/{origin.bucket}", client_options=_CLIENT)
