"""The generic S3 recipe: any S3-compatible endpoint, signed, anonymous or requester-pays."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from obstore.store import S3Store

from obstac._redact import register_secret
from obstac.hrefs import StoreKind
from obstac.recipes._base import (
    Route,
    env_source,
    make_store,
    refuse_insecure_credentials,
    require_bucket,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config, S3CredentialProvider

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["S3Recipe", "requester_pays_of", "s3", "storage_region_of"]

DEFAULT_REGION = "us-east-1"
_HINT = (
    "pass access_key_id= and secret_access_key= to obstac.recipes.s3(), or set "
    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys); "
    "for a public bucket pass anonymous=True"
)


@dataclass(frozen=True, eq=False, repr=False)
class S3Recipe:
    """Reads ``s3://`` hrefs and S3 https URLs through obstore's ``S3Store``.

    Built by :func:`s3`; see it for the meaning of each field.
    """

    endpoint: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    anonymous: bool | None = None
    requester_pays: bool = False
    virtual_hosted_style: bool | None = None
    credential_provider: S3CredentialProvider | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    config: S3Config | None = None
    allow_insecure_credentials: bool = False
    name: str = "s3"

    def __post_init__(self) -> None:
        for secret in (self.secret_access_key, self.session_token):
            register_secret(secret)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """S3 locations only."""
        return location.kind is StoreKind.S3

    def region_for(self, location: Location, asset: AssetInfo) -> str:
        """The host's region, else ``storage:region``, else the recipe's, env, us-east-1."""
        region = location.region or storage_region_of(asset) or self.region
        return str(
            region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_REGION
        )

    def credential_source(self) -> str:
        """Where this recipe's credentials come from (never their value)."""
        if self.access_key_id:
            return "parameter access_key_id"
        if self.credential_provider is not None:
            return f"credential provider {type(self.credential_provider).__name__}"
        if self.anonymous:
            return "anonymous (unsigned requests)"
        return env_source("AWS_ACCESS_KEY_ID") or "anonymous (unsigned requests)"

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An ``S3Store`` for the location's bucket and region; the key as path."""
        bucket = require_bucket(location, self.name)
        region = self.region_for(location, asset)
        requester_pays = self.requester_pays or requester_pays_of(asset)
        source = self.credential_source()
        unsigned = source.startswith("anonymous")
        if not unsigned:
            refuse_insecure_credentials(
                self.endpoint,
                recipe=self.name,
                href=location.href,
                allow=self.allow_insecure_credentials,
                what=f"S3 credentials ({source})",
            )

        def build() -> S3Store:
            config: dict[str, Any] = {"region": region}
            if self.endpoint:
                config["endpoint"] = self.endpoint
            if self.virtual_hosted_style is not None:
                config["virtual_hosted_style_request"] = self.virtual_hosted_style
            if self.access_key_id:
                config["access_key_id"] = self.access_key_id
                config["secret_access_key"] = self.secret_access_key or ""
                if self.session_token:
                    config["session_token"] = self.session_token
            elif unsigned:
                config["skip_signature"] = True
            if requester_pays:
                config["request_payer"] = True
            return make_store(
                S3Store,
                bucket,
                config,
                user_config=self.config,
                client_options=self.client_options,
                endpoint=self.endpoint,
                retry_config=self.retry_config,
                credential_provider=self.credential_provider,
            )

        endpoint = self.endpoint or f"https://s3.{region}.amazonaws.com"
        return Route(
            recipe=self.name,
            store_key=(self, bucket, region, requester_pays),
            build=build,
            path=location.key,
            store_description=(
                f"S3Store(bucket={bucket!r}, region={region!r}, endpoint={endpoint!r}"
                + (", requester_pays=True" if requester_pays else "")
                + ")"
            ),
            credential_source=source,
            credential_hint=_HINT,
            # Requester-pays buckets refuse unsigned requests: someone must be billed.
            credentials_available=not (requester_pays and unsigned),
        )

    def __repr__(self) -> str:
        return (
            f"S3Recipe(endpoint={self.endpoint!r}, region={self.region!r}, "
            f"credentials={self.credential_source()!r}, requester_pays={self.requester_pays})"
        )


def _referenced_schemes(asset: AssetInfo) -> list[Mapping[str, Any]]:
    """The ``storage:schemes`` entries (storage extension v2) the asset refers to.

    pystac >= 1.12 migrates v1 items (``storage:region`` ...) to v2 when it reads them, so both
    forms reach recipes.
    """
    schemes = asset.fields.get("storage:schemes")
    if not isinstance(schemes, Mapping):
        return []
    refs = asset.fields.get("storage:refs")
    chosen = [schemes.get(ref) for ref in refs] if isinstance(refs, list) else schemes.values()
    return [scheme for scheme in chosen if isinstance(scheme, Mapping)]


def storage_region_of(asset: AssetInfo) -> str | None:
    """``storage:region`` (v1), else the region of the storage scheme the asset refers to (v2)."""
    region = asset.fields.get("storage:region")
    if isinstance(region, str) and region:
        return region
    for scheme in _referenced_schemes(asset):
        if isinstance(scheme.get("region"), str):
            return str(scheme["region"])
    return None


def requester_pays_of(asset: AssetInfo) -> bool:
    """Whether the asset or its item says its bucket is requester-pays.

    Reads ``storage:requester_pays`` (storage extension v1) and the ``requester_pays`` of the
    ``storage:schemes`` entries the asset refers to (v2).
    """
    if asset.fields.get("storage:requester_pays") is True:
        return True
    return any(scheme.get("requester_pays") is True for scheme in _referenced_schemes(asset))


def s3(
    *,
    endpoint: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    session_token: str | None = None,
    anonymous: bool | None = None,
    requester_pays: bool = False,
    virtual_hosted_style: bool | None = None,
    credential_provider: S3CredentialProvider | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    config: S3Config | None = None,
    allow_insecure_credentials: bool = False,
) -> S3Recipe:
    """A recipe for any S3-compatible store (AWS, MinIO, moto, Ceph, ...).

    Args:
        endpoint: Base URL of a non-AWS endpoint, e.g. ``"http://127.0.0.1:9000"``
            (env ``AWS_ENDPOINT_URL`` is also honoured by obstore).
        region: Region when neither the href's host nor ``storage:region`` names one
            (then ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, then ``us-east-1``).
        access_key_id: Access key (env ``AWS_ACCESS_KEY_ID``).
        secret_access_key: Secret key (env ``AWS_SECRET_ACCESS_KEY``).
        session_token: Session token of temporary credentials (env ``AWS_SESSION_TOKEN``).
        anonymous: ``True`` sends unsigned requests (public buckets). ``None`` (default) signs
            when keys are given or set in the environment and goes unsigned otherwise, so a
            machine with no AWS setup never waits on the instance-metadata service.
        requester_pays: Send ``x-amz-request-payer: requester`` (you pay for the transfer).
        virtual_hosted_style: Force virtual-hosted (``True``) or path-style (``False``) URLs.
        credential_provider: An obstore credential provider (e.g.
            ``obstore.auth.boto3.Boto3CredentialProvider``) for refreshing credentials.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration (obstore's default: 10 retries, 3 min).
        config: Any further ``S3Config`` keys, applied last.
        allow_insecure_credentials: Send credentials over plain ``http://`` to a host that is
            not this machine (loopback is always allowed). Off by default: anyone on the
            network could read them.
    """
    return S3Recipe(
        endpoint=endpoint,
        region=region,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        session_token=session_token,
        anonymous=anonymous,
        requester_pays=requester_pays,
        virtual_hosted_style=virtual_hosted_style,
        credential_provider=credential_provider,
        client_options=client_options,
        retry_config=retry_config,
        config=config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
