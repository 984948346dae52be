"""Keep a developer's cloud credentials out of tests.

obstore reads ``AWS_*``, ``AZURE_*`` and ``GOOGLE_*`` variables when it builds a store, so a
test run on a machine with real credentials could sign requests for, or even reach, a real
account. Tests run with those variables removed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

CLOUD_ENV_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_")
"""Prefixes of the environment variables obstore's S3, Azure and GCS stores read."""


def cloud_env_names() -> list[str]:
    """Return the names of the environment variables set now that start with a cloud prefix.

    Returns:
        The names, sorted.
    """
    return sorted(name for name in os.environ if name.startswith(CLOUD_ENV_PREFIXES))


def environ_without_cloud() -> dict[str, str]:
    """Return a copy of the environment without cloud variables, for server subprocesses.

    Returns:
        The environment, minus every ``AWS_*``, ``AZURE_*`` and ``GOOGLE_*`` variable.
    """
    return {
        name: value for name, value in os.environ.items() if not name.startswith(CLOUD_ENV_PREFIXES)
    }


@contextmanager
def cleared_cloud_env() -> Iterator[None]:
    """Remove every ``AWS_*``, ``AZURE_*`` and ``GOOGLE_*`` variable for the block's duration.

    On exit the removed variables come back with their values, and any cloud variable the
    block set is removed again.

    Yields:
        Nothing.
    """
    saved = {name: os.environ.pop(name) for name in cloud_env_names()}
    try:
        yield
    finally:
        for name in cloud_env_names():
            del os.environ[name]
        os.environ.update(saved)
