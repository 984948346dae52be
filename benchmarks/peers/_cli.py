"""Finding and running the command-line peers (installed as PyPI wheels into the venv)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def executable(name: str) -> str | None:
    """The peer's executable: next to this Python (the venv), else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def run_tool(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run a peer tool (``env`` added to this process's environment); raise when it fails.

    Raises:
        RuntimeError: The tool exited non-zero.
    """
    full_env = {**os.environ, **env} if env else None
    done = subprocess.run(argv, capture_output=True, text=True, env=full_env, check=False)  # noqa: S603 - fixed argv
    if done.returncode != 0:
        msg = f"{Path(argv[0]).name} exited {done.returncode}: {done.stderr[-800:]}"
        raise RuntimeError(msg)
