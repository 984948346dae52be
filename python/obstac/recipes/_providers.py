"""The provider recipes obstac may pick by itself, in the order it asks them.

Each entry builds a provider recipe from the environment alone. The list is rebuilt only when
one of the environment variables the providers read changes, so stores (and their connections
and credentials) are reused across calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache

from obstac.recipes._base import ProviderRecipe
from obstac.recipes._cdse import cdse
from obstac.recipes._dlr import dlr
from obstac.recipes._earth_search import earth_search
from obstac.recipes._earthdata import earthdata
from obstac.recipes._planetary_computer import planetary_computer
from obstac.recipes._sharinghub import sharinghub
from obstac.recipes._usgs_astrogeology import usgs_astrogeology

__all__ = ["PROVIDER_ENV_VARS", "PROVIDER_FACTORIES", "default_providers"]

PROVIDER_FACTORIES: tuple[Callable[[], ProviderRecipe], ...] = (
    planetary_computer,
    cdse,
    earthdata,
    usgs_astrogeology,
    earth_search,
    dlr,
    sharinghub,
)
"""Factories of the providers, most specific first (a provider owning a host before one that
only recognises metadata)."""

PROVIDER_ENV_VARS: tuple[str, ...] = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "HOME",
    "NETRC",
    "DLR_USERNAME",
    "DLR_PASSWORD",
    "SHARINGHUB_TOKEN",
    "CI_JOB_TOKEN",
    "SHARINGHUB_URL",
    "CDSE_S3_ACCESS_KEY",
    "CDSE_S3_SECRET_KEY",
    "CDSE_USERNAME",
    "CDSE_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PC_SDK_SUBSCRIPTION_KEY",
    "PC_SDK_SAS_URL",
    "EARTHDATA_TOKEN",
    "EARTHDATA_USERNAME",
    "EARTHDATA_PASSWORD",
    "EARTHDATA_HOST",
)
"""Every environment variable a provider factory reads; a change rebuilds the providers."""


def default_providers() -> tuple[ProviderRecipe, ...]:
    """The provider recipes as the current environment configures them."""
    return _providers(tuple(os.environ.get(name) for name in PROVIDER_ENV_VARS))


@lru_cache(maxsize=4)
def _providers(env: tuple[str | None, ...]) -> tuple[ProviderRecipe, ...]:
    del env  # only the cache key: the factories read the environment themselves
    return tuple(factory() for factory in PROVIDER_FACTORIES)
