"""``--recipe NAME`` and the recipe flags, mapped to the factories of :mod:`obstac.recipes`;
and the recipe that writes to a store URL ``-o DEST``."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from obstac import recipes as recipe_factories
from obstac._redact import redact, register_secret
from obstac.cli._errors import UsageError
from obstac.errors import ObstacError

if TYPE_CHECKING:
    from obstac.recipes import Recipe

__all__ = [
    "RECIPES",
    "RECIPE_NAMES",
    "header",
    "recipe_for_dest",
    "recipe_from_args",
    "recipe_name",
    "recipes_epilog",
]


# -- recipes from flags ----------------------------------------------------------------------


@dataclass(frozen=True)
class _RecipeSpec:
    """How ``--recipe NAME`` builds its recipe: the factory and which flags it takes.

    ``options`` maps a flag's argparse destination to the factory's parameter.
    """

    factory: Callable[..., Recipe]
    options: Mapping[str, str]
    summary: str


_RETRIES = {"retries": "retry_config"}
_INSECURE = {"allow_insecure_credentials": "allow_insecure_credentials"}
RECIPES: dict[str, _RecipeSpec] = {
    "s3": _RecipeSpec(
        recipe_factories.s3,
        {
            "endpoint": "endpoint",
            "region": "region",
            "requester_pays": "requester_pays",
            "anonymous": "anonymous",
            **_RETRIES,
            **_INSECURE,
        },
        "any S3-compatible store (env AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)",
    ),
    "azure": _RecipeSpec(
        recipe_factories.azure,
        {
            "endpoint": "endpoint",
            "account_name": "account_name",
            "anonymous": "anonymous",
            **_RETRIES,
            **_INSECURE,
        },
        "Azure Blob Storage (env AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY, ...)",
    ),
    "gcs": _RecipeSpec(
        recipe_factories.gcs,
        {"endpoint": "endpoint", "anonymous": "anonymous", **_RETRIES, **_INSECURE},
        "Google Cloud Storage (env GOOGLE_SERVICE_ACCOUNT, GOOGLE_BEARER_TOKEN, ...)",
    ),
    "http": _RecipeSpec(
        recipe_factories.http,
        {"headers": "headers", **_RETRIES, **_INSECURE},
        "plain http(s) URLs, with --header for tokens",
    ),
    "local": _RecipeSpec(recipe_factories.local, {}, "local files and file:// URLs"),
    "planetary-computer": _RecipeSpec(
        recipe_factories.planetary_computer,
        {"endpoint": "blob_endpoint", "sas_url": "sas_url", **_RETRIES},
        "Microsoft Planetary Computer (env PC_SDK_SUBSCRIPTION_KEY, PC_SDK_SAS_URL)",
    ),
    "earth-search": _RecipeSpec(
        recipe_factories.earth_search,
        {
            "endpoint": "endpoint",
            "region": "region",
            "requester_pays": "requester_pays",
            **_RETRIES,
        },
        "Element 84 Earth Search buckets (AWS keys for requester-pays buckets)",
    ),
    "cdse": _RecipeSpec(
        recipe_factories.cdse,
        {"endpoint": "endpoint", "requester_pays": "requester_pays", **_RETRIES},
        "Copernicus Data Space (env CDSE_S3_ACCESS_KEY/CDSE_S3_SECRET_KEY or CDSE_USERNAME/"
        "CDSE_PASSWORD)",
    ),
    "earthdata": _RecipeSpec(
        recipe_factories.earthdata,
        {
            "endpoint": "s3_endpoint",
            "edl_host": "edl_host",
            "credentials_url": "credentials_url",
            **_RETRIES,
        },
        "NASA Earthdata (env EARTHDATA_TOKEN, or EARTHDATA_USERNAME/EARTHDATA_PASSWORD, or netrc)",
    ),
    "dlr": _RecipeSpec(
        recipe_factories.dlr,
        {"base_url": "base_url", **_RETRIES, **_INSECURE},
        "DLR EOC downloads (env DLR_USERNAME/DLR_PASSWORD or netrc)",
    ),
    "usgs-astrogeology": _RecipeSpec(
        recipe_factories.usgs_astrogeology,
        {"endpoint": "endpoint", **_RETRIES},
        "USGS Astrogeology public buckets (no credentials)",
    ),
    "sharinghub": _RecipeSpec(
        recipe_factories.sharinghub,
        {"base_url": "base_url", **_RETRIES, **_INSECURE},
        "SharingHub (env SHARINGHUB_TOKEN, SHARINGHUB_URL)",
    ),
}

RECIPE_NAMES: tuple[str, ...] = tuple(RECIPES)
"""The names ``--recipe`` accepts (``_`` may be written for ``-``)."""

# argparse destination -> the flag a user typed, for messages.
_RECIPE_FLAGS = {
    "endpoint": "--endpoint",
    "region": "--region",
    "requester_pays": "--requester-pays",
    "anonymous": "--anonymous",
    "headers": "--header",
    "account_name": "--account-name",
    "sas_url": "--sas-url",
    "base_url": "--base-url",
    "edl_host": "--edl-host",
    "credentials_url": "--credentials-url",
    "retries": "--retries",
    "allow_insecure_credentials": "--allow-insecure-credentials",
}

_SENSITIVE_HEADER = re.compile(r"(?i)(authorization|token|key|secret|cookie|password)")


def recipe_name(text: str) -> str:
    name = text.strip().lower().replace("_", "-")
    if name not in RECIPES:
        raise argparse.ArgumentTypeError(
            f"unknown recipe {text!r}; choose one of: {', '.join(RECIPE_NAMES)}"
        )
    return name


def header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
        # The value may be a secret: never echo it.
        shown = name.strip() if colon else "<value hidden>"
        raise argparse.ArgumentTypeError(
            f"expected 'Name: value', e.g. --header 'Authorization: Bearer TOKEN' (got {shown!r})"
        )
    name, value = name.strip(), value.strip()
    if _SENSITIVE_HEADER.search(name):
        register_secret(value)
        scheme, _, token = value.partition(" ")
        if token.strip() and scheme.lower() in ("bearer", "basic", "token"):
            register_secret(token.strip())
    return name, value


def recipe_from_args(args: argparse.Namespace) -> Recipe | None:
    """The recipe ``--recipe NAME`` and its option flags describe, or None.

    Raises:
        UsageError: An option flag without ``--recipe``, or one the recipe does not take.
    """
    given = {
        dest: value
        for dest in _RECIPE_FLAGS
        # Set flags only: 0 (--retries 0) is set, False (a store_true flag not given) is not.
        if (value := getattr(args, dest, None)) is not None and value is not False
    }
    name: str | None = getattr(args, "recipe", None)
    if name is None:
        if given:
            flag = _RECIPE_FLAGS[next(iter(given))]
            takers = [n for n, spec in RECIPES.items() if next(iter(given)) in spec.options]
            raise UsageError(
                f"{flag} configures a recipe: add --recipe NAME ({', '.join(takers)} take it)"
            )
        return None
    spec = RECIPES[name]
    kwargs: dict[str, Any] = {}
    for dest, value in given.items():
        parameter = spec.options.get(dest)
        if parameter is None:
            takers = [n for n, other in RECIPES.items() if dest in other.options]
            raise UsageError(
                f"{_RECIPE_FLAGS[dest]} does not apply to --recipe {name}; it applies to: "
                f"{', '.join(takers) or 'no recipe'}"
            )
        if dest == "headers":
            kwargs[parameter] = dict(value)
        elif dest == "retries":
            kwargs[parameter] = {"max_retries": value}
        else:
            kwargs[parameter] = value
    try:
        return spec.factory(**kwargs)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--recipe {name}: {redact(str(error))}") from None


def recipes_epilog() -> str:
    width = max(len(name) for name in RECIPES)
    lines = [f"  {name:<{width}}  {spec.summary}" for name, spec in RECIPES.items()]
    return "Recipes (--recipe NAME; credentials from their environment variables):\n" + "\n".join(
        lines
    )


_DEST_FACTORIES: dict[str, Callable[..., Recipe]] = {
    "s3": recipe_factories.s3,
    "az": recipe_factories.azure,
    "azure": recipe_factories.azure,
    "abfs": recipe_factories.azure,
    "abfss": recipe_factories.azure,
    "gs": recipe_factories.gcs,
}


def recipe_for_dest(dest: str, endpoint: str | None, recipe: Recipe | None) -> Recipe | None:
    """The recipe that writes to a store URL ``dest``.

    ``--dest-endpoint`` builds the generic recipe of the URL's scheme with that endpoint (and
    the scheme's usual environment variables for credentials); else a ``--recipe`` that can
    serve ``dest`` writes too (``--recipe s3 --s3-endpoint URL -o s3://bucket/prefix``); else
    obstac chooses from the URL.
    """
    scheme = urlsplit(dest).scheme.lower()
    if endpoint is not None:
        factory = _DEST_FACTORIES.get(scheme)
        if factory is None:
            raise UsageError(
                f"--dest-endpoint is for store URLs ({', '.join(sorted(_DEST_FACTORIES))}://...), "
                f"and -o {dest!r} is not one"
            )
        return factory(endpoint=endpoint)
    if recipe is None or len(scheme) < 2 or scheme == "file":
        return None
    try:
        recipe_factories.explain(dest, recipe=recipe)
    except ObstacError:
        return None
    return recipe
