"""How ``download`` reports: progress (rich bars on a terminal, plain lines in logs, JSON
events with ``--json``), its summary and its table of failures; and files written whole."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

from obstac._redact import redact, redact_url
from obstac.cli._errors import EXIT_FAILED, EXIT_OK, PROG, UsageError
from obstac.progress import ProgressBars, ProgressLines, format_size

if TYPE_CHECKING:
    from obstac.download import AssetOutcome, DownloadReport
    from obstac.transfer import TransferEvent

__all__ = ["Reporter", "Result", "atomic_write", "make_reporter", "stderr_console"]


def stderr_console(**options: Any) -> Console:
    console = Console(stderr=True, highlight=False, **options)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=True, highlight=False, width=120, **options)
    return console


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# -- progress --------------------------------------------------------------------------------


class Reporter(Protocol):
    """What ``download`` tells about its progress and its end."""

    def __call__(self, event: TransferEvent) -> None: ...

    def start(self, dest: str) -> None: ...

    def stop(self) -> None: ...

    def finish(self, result: Result) -> None: ...


@dataclass(frozen=True)
class _Problem:
    """An asset that keeps ``download`` from exiting 0: failed, or on disk but not verified."""

    item: str
    asset: str
    href: str
    target: str
    error: str
    message: str


@dataclass(frozen=True)
class Result:
    report: DownloadReport
    items: int
    problems: tuple[_Problem, ...]
    exit_code: int
    dest: str

    @staticmethod
    def of(report: DownloadReport, items: int, dest: str) -> Result:
        problems = tuple(_problem(outcome) for outcome in report.assets if _is_problem(outcome))
        return Result(report, items, problems, EXIT_FAILED if problems else EXIT_OK, dest)


def _is_problem(outcome: AssetOutcome) -> bool:
    return outcome.status == "failed" or not outcome.result.verified


def _problem(outcome: AssetOutcome) -> _Problem:
    result = outcome.result
    if outcome.error is not None:
        kind, message = type(outcome.error).__name__, str(outcome.error)
    else:
        kind = "NotVerified"
        message = (
            f"{outcome.status} but not verified: its file:checksum could not be interpreted, "
            "so the bytes were only checked against the size"
        )
    return _Problem(
        item=outcome.item_id,
        asset=outcome.asset_key,
        href=redact_url(result.href),
        target=result.target,
        error=kind,
        message=redact(message),
    )


def _summary_line(result: Result) -> str:
    report = result.report
    seconds = max(report.seconds, 1e-9)
    rate = report.bytes_transferred / seconds
    counts = ", ".join(
        f"{report.count(status)} {status}"
        for status in ("downloaded", "resumed", "skipped", "failed")
    )
    unverified = sum(1 for p in result.problems if p.error == "NotVerified")
    extra = f", {unverified} not verified" if unverified else ""
    return (
        f"{_plural(len(report.assets), 'asset')} of {_plural(result.items, 'item')}: "
        f"{counts}{extra}; "
        f"{format_size(report.bytes_transferred)} in {report.seconds:.2f} s "
        f"({format_size(rate)}/s), "
        f"{report.requests} requests, {report.retries} retries"
    )


def _failure_table(problems: Sequence[_Problem]) -> Table:
    table = Table(
        title=f"{len(problems)} asset(s) not downloaded and verified", title_justify="left"
    )
    for column in ("item", "asset", "error", "reason"):
        table.add_column(column, overflow="fold")
    for problem in problems:
        table.add_row(
            Text(problem.item),
            Text(problem.asset),
            Text(problem.error, style="red"),
            Text(problem.message),
        )
    return table


class _HumanEnd:
    """The end of a download for people: summary line, then the table of failures."""

    console: Console
    quiet: bool = False

    def finish(self, result: Result) -> None:
        if not self.quiet:
            self.console.print(Text(f"{PROG}: {_summary_line(result)}"), soft_wrap=True)
        if result.problems:
            unverified = any(problem.error == "NotVerified" for problem in result.problems)
            what = "failed or could not be verified" if unverified else "failed"
            self.console.print(_failure_table(result.problems))
            self.console.print(
                Text(
                    f"{PROG}: {len(result.problems)} of {len(result.report.assets)} assets "
                    f"{what}; run the same command again to fetch only what is missing "
                    f"(files already under {result.dest} are skipped once proven identical)"
                ),
                soft_wrap=True,
            )


class _Quiet(_HumanEnd):
    """No progress; failures are still reported."""

    def __init__(self) -> None:
        self.console = stderr_console()
        self.quiet = True

    def __call__(self, event: TransferEvent) -> None:
        return None

    def start(self, dest: str) -> None:
        return None

    def stop(self) -> None:
        return None


class _PlainLines(_HumanEnd):
    """Progress for logs and pipes: one line per finished, skipped, retried or failed asset."""

    def __init__(self) -> None:
        self.console = stderr_console()
        self._lines = ProgressLines(sys.stderr, prefix=PROG)

    def __call__(self, event: TransferEvent) -> None:
        self._lines(event)

    def start(self, dest: str) -> None:
        self._lines.note(f"downloading to {dest}")

    def stop(self) -> None:
        return None


class _RichProgress(_HumanEnd):
    """Progress for a terminal: :class:`obstac.progress.ProgressBars` on stderr."""

    def __init__(self) -> None:
        self.console = stderr_console()
        self._bars = ProgressBars(self.console)

    def __call__(self, event: TransferEvent) -> None:
        self._bars(event)

    def start(self, dest: str) -> None:
        self._bars.start()

    def stop(self) -> None:
        self._bars.stop()


class _JsonEvents:
    """Progress for machines: one JSON object per line on stderr, secrets redacted.

    Each transfer event becomes ``{"event": kind, "job", "href", "target", "bytes", "total",
    "attempt", "message", "time"}``; the run ends with ``{"event": "summary", ...}``.
    """

    def __init__(self) -> None:
        self._stream = sys.stderr
        self._started = time.monotonic()

    def _write(self, document: Mapping[str, Any]) -> None:
        self._stream.write(json.dumps(document, ensure_ascii=False) + "\n")
        self._stream.flush()

    def __call__(self, event: TransferEvent) -> None:
        self._write(
            {
                "event": event.kind,
                "job": redact(event.job_id),
                "href": redact_url(event.href),
                "target": redact(event.target),
                "bytes": event.bytes,
                "total": event.total,
                "attempt": event.attempt,
                "message": redact(event.message),
                "time": round(time.monotonic() - self._started, 3),
            }
        )

    def start(self, dest: str) -> None:
        return None

    def stop(self) -> None:
        return None

    def finish(self, result: Result) -> None:
        report = result.report
        self._write(
            {
                "event": "summary",
                "ok": result.exit_code == EXIT_OK,
                "exit_code": result.exit_code,
                "items": result.items,
                "assets": len(report.assets),
                **{
                    status: report.count(status)
                    for status in ("downloaded", "resumed", "skipped", "failed")
                },
                "not_verified": sum(1 for p in result.problems if p.error == "NotVerified"),
                "bytes": report.bytes_transferred,
                "requests": report.requests,
                "retries": report.retries,
                "seconds": round(report.seconds, 3),
                "failures": [
                    {
                        "item": p.item,
                        "asset": p.asset,
                        "href": p.href,
                        "target": p.target,
                        "error": p.error,
                        "message": p.message,
                    }
                    for p in result.problems
                ],
            }
        )


def make_reporter(args: argparse.Namespace) -> Reporter:
    if args.json:
        return _JsonEvents()
    if args.quiet:
        return _Quiet()
    if stderr_console().is_terminal:
        return _RichProgress()
    return _PlainLines()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write ``path`` whole or not at all (a temporary file beside it, then a rename)."""
    directory = path.parent if str(path.parent) else Path()
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as file:
            if isinstance(data, bytes):
                file.write(data)
            else:
                for chunk in data:
                    file.write(chunk)
            os.fchmod(file.fileno(), 0o666 & ~_umask())  # mkstemp made it 0600
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
