"""What a recipe is: the object that knows one provider's auth and turns a Location into a store.

A recipe answers two questions for an asset: *can I serve it?* (:meth:`Recipe.handles`) and
*with which store, at which path?* (:meth:`Recipe.route`). The :class:`Route` it returns carries
a hashable store key and a builder, so :class:`obstac.stores.StoreCache` builds each store once,
plus the facts ``explain`` and error messages need: where the credential comes from and what to
set when it is refused. Routing never makes a request.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    from obstore.store import ObjectStore

    from obstac._assets import AssetInfo
    from obstac.hrefs import Location

StoreT = TypeVar("StoreT")

__all__ = [
    "ProviderRecipe",
    "Recipe",
    "Route",
    "env_source",
    "frozen_items",
    "html_login_check",
    "is_loopback",
    "make_store",
    "refuse_insecure_credentials",
    "require_bucket",
]

INSECURE_OPT_IN = "allow_insecure_credentials"
"""The recipe parameter that lets credentials go over plain http to a non-loopback host."""


@dataclass(frozen=True)
class Route:
    """How one asset is read: the store (by key and builder) and the path inside it.

    Attributes:
        recipe: Name of the recipe that made this route.
        store_key: Identifies the store in the cache; equal keys share one store.
        build: Builds the store when the cache has none for ``store_key``.
        path: The object's path inside the store.
        store_description: A one-line, secret-free description of the store (for ``explain``).
        credential_source: Where credentials come from, never their value
            (e.g. ``"anonymous"``, ``"parameter access_key_id"``, ``"env AWS_ACCESS_KEY_ID"``).
        credential_hint: What the user should set when the store refuses access.
        credentials_available: False when the recipe already knows it lacks what this asset
            needs (requester-pays with no AWS keys, CDSE with no S3 keys, ...). Selection then
            tries the asset's ``alternate`` hrefs before settling on this route.
        check_body: Called with the first bytes of every successful read; raises when they are
            not the asset (e.g. an HTML login page served with 200 in place of data).
        resolve: Called once, before the first read (in a worker thread from async code), to
            return the route to actually read. For recipes that must look before they leap,
            e.g. follow a redirect by hand so a token header never leaves its origin.
    """

    recipe: str
    store_key: tuple[Hashable, ...] = field(repr=False)
    build: Callable[[], ObjectStore] = field(repr=False, compare=False)
    path: str
    store_description: str
    credential_source: str
    credential_hint: str
    credentials_available: bool = True
    check_body: Callable[[bytes], None] | None = field(default=None, repr=False, compare=False)
    resolve: Callable[[], Route] | None = field(default=None, repr=False, compare=False)


@runtime_checkable
class Recipe(Protocol):
    """A provider's way to read its assets. Built by the functions in :mod:`obstac.recipes`."""

    @property
    def name(self) -> str:
        """Short name shown in messages, ``explain`` and the CLI's ``--recipe``."""
        ...

    def handles(self, location: Location, asset: AssetInfo) -> bool:
        """Whether this recipe can serve ``location`` (no request is made)."""
        ...

    def route(self, location: Location, asset: AssetInfo) -> Route:
        """The store and path to read ``location`` with (no request is made)."""
        ...


@runtime_checkable
class ProviderRecipe(Recipe, Protocol):
    """A recipe for one data provider, which obstac can pick by itself.

    ``handles`` says what the recipe *can* serve when a user passes it explicitly; ``claims``
    says what it should serve when nobody chose: its provider's hosts, buckets and item
    metadata.
    """

    def claims(self, location: Location, asset: AssetInfo) -> bool:
        """Whether this asset belongs to this provider (no request is made)."""
        ...


def env_source(*names: str) -> str | None:
    """The first of ``names`` set in the environment, as ``"env NAME"`` (never its value)."""
    for name in names:
        if os.environ.get(name):
            return f"env {name}"
    return None


def frozen_items(mapping: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent form of a small mapping, for store keys."""
    if not mapping:
        return ()
    return tuple(sorted((str(k), repr(v)) for k, v in mapping.items()))


def require_bucket(location: Location, recipe: str) -> str:
    """The location's bucket or container; a clear error when the href named none."""
    if not location.bucket:
        from obstac.errors import RecipeError

        raise RecipeError(
            f"{location.safe_href!r} names no bucket or container, which recipe {recipe!r} needs",
            href=location.href,
            recipe=recipe,
        )
    return location.bucket


_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<!--")


def html_login_check(recipe: str, href: str, hint: str) -> Callable[[bytes], None]:
    """A ``Route.check_body`` that refuses an HTML page served in place of the data.

    Portals that want a login often answer 200 with their login page; obstore takes that as the
    object's bytes. This check turns it into a :class:`~obstac.errors.CredentialsError`.
    """

    def check(prefix: bytes) -> None:
        if prefix.lstrip()[:64].lower().startswith(_HTML_MARKERS):
            from obstac.errors import CredentialsError

            raise CredentialsError(
                f"the server sent an HTML page (most likely a login page) instead of the data "
                f"for {href!r} (recipe {recipe!r}): {hint}",
                href=href,
                recipe=recipe,
            )

    return check


def make_store(
    store_type: Callable[..., StoreT],
    bucket: str,
    config: dict[str, object],
    *,
    user_config: Mapping[str, object] | None,
    client_options: Mapping[str, object] | None,
    endpoint: str | None,
    retry_config: Mapping[str, object] | None,
    credential_provider: object | None,
) -> StoreT:
    """Build an S3/Azure/GCS store the way every cloud recipe does.

    ``config`` is what the recipe derived; the user's ``config=`` is laid over it, and the
    client options over obstac's defaults (plain http allowed only for an ``http://`` endpoint).
    """
    from obstac import _defaults

    return store_type(
        bucket,
        config={**config, **(user_config or {})},
        client_options=_defaults.client_options(
            client_options,  # type: ignore[arg-type]
            allow_http=bool(endpoint and endpoint.startswith("http://")),
        ),
        retry_config=retry_config,
        credential_provider=credential_provider,
    )


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_insecure_credentials(
    url: str | None, *, recipe: str, href: str | None, allow: bool, what: str
) -> None:
    """Raise :class:`~obstac.errors.CredentialsError` if credentials would go over plain http.

    Plain ``http://`` is accepted for loopback hosts (local emulators) and when the user opted
    in with ``allow_insecure_credentials=True``. Called while routing, before any request.

    Args:
        url: The URL (endpoint, base URL or href) the credentials would be sent to.
        recipe: The recipe name, for the message.
        href: The asset href, for the error.
        allow: The recipe's ``allow_insecure_credentials``.
        what: The credentials, as the message names them (never their value).
    """
    from urllib.parse import urlsplit

    if allow or not url:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or is_loopback(parts.hostname):
        return
    from obstac._redact import redact_url
    from obstac.errors import CredentialsError

    raise CredentialsError(
        f"recipe {recipe!r} refuses to send {what} over plain http to {redact_url(url)!r}: "
        "anyone on the network could read them. Use an https:// URL, or, on a network you "
        f"trust, pass {INSECURE_OPT_IN}=True to the recipe (CLI: --allow-insecure-credentials)",
        href=href,
        recipe=recipe,
    )
