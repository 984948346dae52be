"""The generic Google Cloud Storage recipe: service account, bearer token, or anonymous."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from obstore.store import GCSStore

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
    from obstore.store import ClientConfig, GCSConfig, GCSCredentialProvider, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["GCSRecipe", "gcs"]

_HINT = (
    "pass service_account_path= or bearer_token= to obstac.recipes.gcs(), or set "
    "GOOGLE_APPLICATION_CREDENTIALS / GOOGLE_SERVICE_ACCOUNT; for a public bucket pass "
    "anonymous=True"
)
_DEFAULT_ENDPOINT = "https://storage.googleapis.com"


@dataclass(frozen=True, eq=False, repr=False)
class GCSRecipe:
    """Reads ``gs://`` hrefs and ``storage.googleapis.com`` URLs through ``GCSStore``.

    Built by :func:`gcs`; see it for the meaning of each field.
    """

    endpoint: str | None = None
    service_account_path: str | None = None
    service_account_key: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    anonymous: bool | None = None
    credential_provider: GCSCredentialProvider | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    config: GCSConfig | None = None
    allow_insecure_credentials: bool = False
    name: str = "gcs"

    def __post_init__(self) -> None:
        for secret in (self.service_account_key, self.bearer_token):
            register_secret(secret)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """GCS locations only."""
        return location.kind is StoreKind.GCS

    def credential_source(self) -> str:
        """Where this recipe's credentials come from (never their value)."""
        if self.service_account_path:
            return "parameter service_account_path"
        if self.service_account_key:
            return "parameter service_account_key"
        if self.bearer_token:
            return "parameter bearer_token"
        if self.credential_provider is not None:
            return f"credential provider {type(self.credential_provider).__name__}"
        if self.anonymous:
            return "anonymous (unsigned requests)"
        return (
            env_source(
                "GOOGLE_SERVICE_ACCOUNT",
                "GOOGLE_SERVICE_ACCOUNT_PATH",
                "GOOGLE_SERVICE_ACCOUNT_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_BEARER_TOKEN",
            )
            or "anonymous (unsigned requests)"
        )

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """A ``GCSStore`` for the location's bucket; the object name as path."""
        bucket = require_bucket(location, self.name)
        source = self.credential_source()
        endpoint = self.endpoint or _DEFAULT_ENDPOINT
        if not source.startswith("anonymous"):
            refuse_insecure_credentials(
                endpoint,
                recipe=self.name,
                href=location.href,
                allow=self.allow_insecure_credentials,
                what=f"GCS credentials ({source})",
            )

        def build() -> GCSStore:
            config: dict[str, Any] = {}
            if self.endpoint:
                config["base_url"] = self.endpoint
            if self.service_account_path:
                config["service_account"] = self.service_account_path
            elif self.service_account_key:
                config["service_account_key"] = self.service_account_key
            elif self.bearer_token:
                config["bearer_token"] = self.bearer_token
            elif source.startswith("anonymous"):
                config["skip_signature"] = True
            return make_store(
                GCSStore,
                bucket,
                config,
                user_config=self.config,
                client_options=self.client_options,
                endpoint=endpoint,
                retry_config=self.retry_config,
                credential_provider=self.credential_provider,
            )

        return Route(
            recipe=self.name,
            store_key=(self, bucket),
            build=build,
            path=location.key,
            store_description=f"GCSStore(bucket={bucket!r}, endpoint={endpoint!r})",
            credential_source=source,
            credential_hint=_HINT,
        )

    def __repr__(self) -> str:
        return f"GCSRecipe(endpoint={self.endpoint!r}, credentials={self.credential_source()!r})"


def gcs(
    *,
    endpoint: str | None = None,
    service_account_path: str | None = None,
    service_account_key: str | None = None,
    bearer_token: str | None = None,
    anonymous: bool | None = None,
    credential_provider: GCSCredentialProvider | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    config: GCSConfig | None = None,
    allow_insecure_credentials: bool = False,
) -> GCSRecipe:
    """A recipe for Google Cloud Storage (XML API).

    Args:
        endpoint: Base URL other than ``https://storage.googleapis.com`` (an emulator, or
            ``obstac.testing.GCSDouble``); env ``GOOGLE_BASE_URL``.
        service_account_path: Path of a service account JSON file (env
            ``GOOGLE_SERVICE_ACCOUNT`` / ``GOOGLE_APPLICATION_CREDENTIALS``).
        service_account_key: The service account JSON itself (env ``GOOGLE_SERVICE_ACCOUNT_KEY``).
        bearer_token: A static OAuth bearer token (env ``GOOGLE_BEARER_TOKEN``).
        anonymous: ``True`` sends unsigned requests (public buckets). ``None`` signs when a
            credential is given or set in the environment, unsigned otherwise.
        credential_provider: An obstore GCS credential provider for refreshing tokens.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration.
        config: Any further ``GCSConfig`` keys, applied last.
        allow_insecure_credentials: Send credentials over plain ``http://`` to a host that is
            not this machine (loopback is always allowed). Off by default: anyone on the
            network could read them.
    """
    return GCSRecipe(
        endpoint=endpoint,
        service_account_path=service_account_path,
        service_account_key=service_account_key,
        bearer_token=bearer_token,
        anonymous=anonymous,
        credential_provider=credential_provider,
        client_options=client_options,
        retry_config=retry_config,
        config=config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
