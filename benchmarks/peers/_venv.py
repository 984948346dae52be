"""The second venv, for peers whose pins clash with ``.venv`` (s3fs: its aiobotocore pins a
botocore older than the boto3 that moto and the tests need).

``make bench`` creates it at ``.venv-peers/`` in the clone and installs obstac (the worker
imports :mod:`benchmarks` helpers that import :mod:`obstac.testing`) and
``benchmarks/requirements-peers.txt`` into it, never into ``.venv``. A peer that lives there
defines ``interpreter()`` (this module's :func:`interpreter`); the runner starts its worker
with that Python instead of its own.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

ENV_VAR = "OBSTAC_BENCH_PEERS_VENV"
"""Overrides where the peers' venv is (default ``.venv-peers/`` in the clone)."""

REQUIREMENTS = "benchmarks/requirements-peers.txt"
"""What ``make bench`` installs into it, besides obstac."""

_CLONE = Path(__file__).resolve().parents[2]


def venv() -> Path:
    """The peers' venv: ``$OBSTAC_BENCH_PEERS_VENV``, else ``.venv-peers/`` in the clone.

    Absolute (the workers run in the clone) but not resolved: its ``bin/python`` is a link out
    of the venv, and only the link's own path makes that Python use the venv.
    """
    return Path(os.environ.get(ENV_VAR) or _CLONE / ".venv-peers").absolute()


def interpreter() -> Path:
    """The venv's Python (it may not exist: see :func:`missing`)."""
    return venv() / "bin" / "python"


def missing(*modules: str) -> str | None:
    """Why a peer living in the venv cannot run: no venv, or some of ``modules`` not importable
    there.

    Checked by running the venv's Python once per (venv, modules) and process.
    """
    return _missing(str(interpreter()), modules)


@functools.cache
def _missing(python: str, modules: tuple[str, ...]) -> str | None:
    where = Path(python).parents[1]
    fix = f"`make bench` creates it and installs obstac and {REQUIREMENTS}; ${ENV_VAR} moves it"
    if not Path(python).exists():
        return f"no peers' venv at {where} ({fix})"
    probe = (
        "import importlib.util, sys; "
        f"print(' '.join(m for m in {modules!r} if importlib.util.find_spec(m) is None))"
    )
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)  # noqa: S603 - our own probe
    absent = done.stdout.split() if done.returncode == 0 else list(modules)
    if absent:
        return f"{', '.join(absent)} not installed in the peers' venv at {where} ({fix})"
    return None
