"""The generic Azure Blob recipe: account key, SAS token, bearer token, or anonymous."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from obstore.store import AzureStore

from obstac._redact import register_secret
from obstac.errors import RecipeError
from obstac.hrefs import StoreKind
from obstac.recipes._base import (
    Route,
    env_source,
    make_store,
    refuse_insecure_credentials,
    require_bucket,
)

if TYPE_CHECKING:
    from obstore.store import AzureConfig, AzureCredentialProvider, ClientConfig, RetryConfig

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

__all__ = ["AzureRecipe", "azure"]

_HINT = (
    "pass account_key= or sas_token= to obstac.recipes.azure(), or set "
    "AZURE_STORAGE_ACCOUNT_KEY / AZURE_STORAGE_SAS_KEY; for Planetary Computer assets use "
    "obstac.recipes.planetary_computer()"
)


@dataclass(frozen=True, eq=False, repr=False)
class AzureRecipe:
    """Reads ``az://``, ``abfs[s]://`` and ``*.blob.core.windows.net`` hrefs via ``AzureStore``.

    Built by :func:`azure`; see it for the meaning of each field.
    """

    account_name: str | None = None
    account_key: str | None = field(default=None, repr=False)
    sas_token: str | None = field(default=None, repr=False)
    bearer_token: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    anonymous: bool | None = None
    credential_provider: AzureCredentialProvider | None = None
    client_options: ClientConfig | None = None
    retry_config: RetryConfig | None = None
    config: AzureConfig | None = None
    allow_insecure_credentials: bool = False
    name: str = "azure"

    def __post_init__(self) -> None:
        for secret in (self.account_key, self.sas_token, self.bearer_token):
            register_secret(secret)

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """Azure locations only."""
        return location.kind is StoreKind.AZURE

    def account_for(self, location: Location) -> str:
        """The href's account, else the recipe's, else ``AZURE_STORAGE_ACCOUNT_NAME``."""
        account = (
            location.account
            or self.account_name
            or os.environ.get("AZURE_STORAGE_ACCOUNT_NAME")
            or os.environ.get("AZURE_STORAGE_ACCOUNT")
        )
        if not account:
            raise RecipeError(
                f"{location.safe_href!r} does not name its storage account: pass "
                "account_name= to obstac.recipes.azure(), set AZURE_STORAGE_ACCOUNT_NAME, or "
                "give the asset table:storage_options / xarray:storage_options with "
                "account_name",
                href=location.href,
                recipe=self.name,
            )
        return account

    def credential_source(self, location: Location | None = None) -> str:
        """Where this recipe's credentials come from for ``location`` (never their value)."""
        if location is not None and location.sas_token:
            return "SAS token in the href"
        if self.sas_token:
            return "parameter sas_token"
        if self.account_key:
            return "parameter account_key"
        if self.bearer_token:
            return "parameter bearer_token"
        if self.credential_provider is not None:
            return f"credential provider {type(self.credential_provider).__name__}"
        if self.anonymous:
            return "anonymous (unsigned requests)"
        return (
            env_source(
                "AZURE_STORAGE_ACCOUNT_KEY",
                "AZURE_STORAGE_SAS_KEY",
                "AZURE_STORAGE_TOKEN",
                "AZURE_CLIENT_ID",
            )
            or "anonymous (unsigned requests)"
        )

    def endpoint_for(self, account: str) -> str:
        """The blob endpoint URL; ``{account}`` in the recipe's endpoint is filled in."""
        if self.endpoint:
            return self.endpoint.replace("{account}", account)
        return f"https://{account}.blob.core.windows.net"

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """An ``AzureStore`` for the location's account and container; the key as path."""
        container = require_bucket(location, self.name)
        account = self.account_for(location)
        source = self.credential_source(location)
        sas = location.sas_token or self.sas_token
        endpoint = self.endpoint_for(account)
        if sas or not source.startswith("anonymous"):
            refuse_insecure_credentials(
                endpoint,
                recipe=self.name,
                href=location.href,
                allow=self.allow_insecure_credentials,
                what="a SAS token" if sas else f"Azure credentials ({source})",
            )

        def build() -> AzureStore:
            config: dict[str, Any] = {"account_name": account}
            if self.endpoint:
                config["endpoint"] = endpoint
            if sas:
                config["sas_key"] = sas
            elif self.account_key:
                config["account_key"] = self.account_key
            elif self.bearer_token:
                config["token"] = self.bearer_token
            elif source.startswith("anonymous"):
                config["skip_signature"] = True
            return make_store(
                AzureStore,
                container,
                config,
                user_config=self.config,
                client_options=self.client_options,
                endpoint=endpoint,
                retry_config=self.retry_config,
                credential_provider=self.credential_provider,
            )

        return Route(
            recipe=self.name,
            store_key=(self, account, container, sas),
            build=build,
            path=location.key,
            store_description=(
                f"AzureStore(account={account!r}, container={container!r}, endpoint={endpoint!r})"
            ),
            credential_source=source,
            credential_hint=_HINT,
        )

    def __repr__(self) -> str:
        return (
            f"AzureRecipe(account_name={self.account_name!r}, endpoint={self.endpoint!r}, "
            f"credentials={self.credential_source()!r})"
        )


def azure(
    *,
    account_name: str | None = None,
    account_key: str | None = None,
    sas_token: str | None = None,
    bearer_token: str | None = None,
    endpoint: str | None = None,
    anonymous: bool | None = None,
    credential_provider: AzureCredentialProvider | None = None,
    client_options: ClientConfig | None = None,
    retry_config: RetryConfig | None = None,
    config: AzureConfig | None = None,
    allow_insecure_credentials: bool = False,
) -> AzureRecipe:
    """A recipe for Azure Blob Storage (and Azurite).

    Args:
        account_name: Account for hrefs that do not name one (``az://container/path``);
            env ``AZURE_STORAGE_ACCOUNT_NAME``.
        account_key: Shared key (env ``AZURE_STORAGE_ACCOUNT_KEY``).
        sas_token: A SAS query string without ``?`` (env ``AZURE_STORAGE_SAS_KEY``). A SAS
            query already on an href is used for that href and wins.
        bearer_token: An OAuth bearer token (env ``AZURE_STORAGE_TOKEN``).
        endpoint: Blob endpoint for emulators or sovereign clouds, e.g.
            ``"http://127.0.0.1:10000/devstoreaccount1"``; ``{account}`` is replaced by the
            account name.
        anonymous: ``True`` sends unsigned requests (public containers). ``None`` signs when
            a credential is given or set in the environment, unsigned otherwise.
        credential_provider: An obstore Azure credential provider for refreshing tokens.
        client_options: obstore client options laid over obstac's defaults.
        retry_config: obstore retry configuration.
        config: Any further ``AzureConfig`` keys, applied last.
        allow_insecure_credentials: Send credentials over plain ``http://`` to a host that is
            not this machine (loopback is always allowed). Off by default: anyone on the
            network could read them.
    """
    return AzureRecipe(
        account_name=account_name,
        account_key=account_key,
        sas_token=sas_token,
        bearer_token=bearer_token,
        endpoint=endpoint,
        anonymous=anonymous,
        credential_provider=credential_provider,
        client_options=client_options,
        retry_config=retry_config,
        config=config,
        allow_insecure_credentials=allow_insecure_credentials,
    )
