"""Exit codes, usage errors, and how the ``obstac`` command reports an error or a log line:
on stderr, through obstac's redaction, so no secret is ever printed."""

from __future__ import annotations

import json
import logging
import sys
from types import TracebackType

from obstac._redact import redact

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "UsageError",
    "report_error",
    "say",
    "setup_logging",
]


EXIT_OK = 0
"""Everything asked for was done (for ``download``: every asset on disk and verified)."""
EXIT_FAILED = 1
"""Something failed at run time: an asset, a read, a HEAD."""
EXIT_USAGE = 2
"""Bad usage or unreadable input (argparse uses 2 for usage errors too)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""

PROG = "obstac"


class UsageError(Exception):
    """A command line that cannot work as given; exits with :data:`EXIT_USAGE`."""


def say(message: str) -> None:
    """One redacted line on stderr."""
    sys.stderr.write(redact(message) + "\n")
    sys.stderr.flush()


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(  # noqa: N802 - logging.Formatter's name
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        return redact(super().formatException(ei))


def setup_logging() -> None:
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def report_error(
    error: BaseException, *, command: str | None, json_errors: bool, exit_code: int
) -> int:
    kind = type(error).__name__
    message = redact(str(error)) or kind
    if json_errors:
        say(
            json.dumps(
                {"event": "error", "error": kind, "message": message, "exit_code": exit_code},
                ensure_ascii=False,
            )
        )
        return exit_code
    where = f"{PROG} {command}" if command else PROG
    if isinstance(error, UsageError):
        say(f"{where}: error: {message}\n(run '{where} --help' for the options)")
    else:
        say(f"{where}: {kind}: {message}")
    return exit_code
