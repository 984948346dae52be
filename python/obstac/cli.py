"""The ``obstac`` command: a thin shell over :func:`obstac.download.download_items`,
:func:`obstac.open_asset` and :func:`obstac.recipes.explain`.

::

    stac-client search URL -c sentinel-2-l2a --max-items 10 | obstac download -o data/
    obstac read s3://bucket/scene.tif --range 0-16383 > header.bin
    obstac info items.ndjson --head --dest data/

Subcommands: ``download``, ``read``, ``info``, ``demo``, ``bench``. Messages go to stderr and
pass through obstac's redaction (:mod:`obstac._redact`), so no secret is ever printed; stdout
carries only the command's output (item JSON, bytes, or the info table).

Exit codes:

- ``0``: success; for ``download``, every selected asset is on disk and verified.
- ``1``: something failed at run time (an asset that could not be downloaded or verified, a
  read refused by the store, an asset ``info`` could not route or HEAD).
- ``2``: bad usage or unreadable input: an unknown flag, input that is not a STAC Item,
  ItemCollection or NDJSON, a recipe that cannot serve the href, an invalid range.
- ``130``: interrupted (Ctrl-C); running ``download`` again resumes.

A reader of stdout that goes away (``obstac read ... | head``) ends the command quietly, with 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import io
import json
import logging
import os
import re
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from stat import S_ISREG
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn, Protocol, cast
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

import obstac
from obstac import recipes as recipe_factories
from obstac._items import DownloadInputError, iter_item_batches
from obstac._redact import redact, redact_url, register_secret
from obstac.errors import (
    InvalidRangeError,
    ObstacError,
    RecipeError,
    UnsupportedHrefError,
)

if TYPE_CHECKING:
    import pystac
    from obstore import ObjectMeta

    from obstac.download import AssetOutcome, DownloadOptions, DownloadReport
    from obstac.recipes import Recipe
    from obstac.transfer import TransferEvent

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "RECIPE_NAMES",
    "main",
]

EXIT_OK = 0
"""Everything asked for was done (for ``download``: every asset on disk and verified)."""
EXIT_FAILED = 1
"""Something failed at run time: an asset, a read, a HEAD."""
EXIT_USAGE = 2
"""Bad usage or unreadable input (argparse uses 2 for usage errors too)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT, as shells report it)."""

READ_CHUNK = 8 * 1024 * 1024
"""Bytes per ranged GET when ``obstac read`` streams a whole object: the engine's part size,
so memory stays at one chunk whatever the object's size."""

HEAD_CONCURRENCY = 16
"""HEAD requests ``obstac info --head`` sends at once."""

MAX_BARS = 8
"""Per-asset progress bars shown at once; further assets in flight wait hidden, counted in the
overall bar, and appear as others finish."""

PROG = "obstac"

_log = logging.getLogger("obstac.cli")


class UsageError(Exception):
    """A command line that cannot work as given; exits with :data:`EXIT_USAGE`."""


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
_RECIPES: dict[str, _RecipeSpec] = {
    "s3": _RecipeSpec(
        recipe_factories.s3,
        {
            "endpoint": "endpoint",
            "region": "region",
            "requester_pays": "requester_pays",
            "anonymous": "anonymous",
            **_RETRIES,
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
        },
        "Azure Blob Storage (env AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_KEY, ...)",
    ),
    "gcs": _RecipeSpec(
        recipe_factories.gcs,
        {"endpoint": "endpoint", "anonymous": "anonymous", **_RETRIES},
        "Google Cloud Storage (env GOOGLE_SERVICE_ACCOUNT, GOOGLE_BEARER_TOKEN, ...)",
    ),
    "http": _RecipeSpec(
        recipe_factories.http,
        {"headers": "headers", **_RETRIES},
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
        {"base_url": "base_url", **_RETRIES},
        "DLR EOC downloads (env DLR_USERNAME/DLR_PASSWORD or netrc)",
    ),
    "usgs-astrogeology": _RecipeSpec(
        recipe_factories.usgs_astrogeology,
        {"endpoint": "endpoint", **_RETRIES},
        "USGS Astrogeology public buckets (no credentials)",
    ),
    "sharinghub": _RecipeSpec(
        recipe_factories.sharinghub,
        {"base_url": "base_url", **_RETRIES},
        "SharingHub (env SHARINGHUB_TOKEN, SHARINGHUB_URL)",
    ),
}

RECIPE_NAMES: tuple[str, ...] = tuple(_RECIPES)
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
}

_SENSITIVE_HEADER = re.compile(r"(?i)(authorization|token|key|secret|cookie|password)")


def _recipe_name(text: str) -> str:
    name = text.strip().lower().replace("_", "-")
    if name not in _RECIPES:
        raise argparse.ArgumentTypeError(
            f"unknown recipe {text!r}; choose one of: {', '.join(RECIPE_NAMES)}"
        )
    return name


def _header(text: str) -> tuple[str, str]:
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _recipe_from_args(args: argparse.Namespace) -> Recipe | None:
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
            takers = [n for n, spec in _RECIPES.items() if next(iter(given)) in spec.options]
            raise UsageError(
                f"{flag} configures a recipe: add --recipe NAME ({', '.join(takers)} take it)"
            )
        return None
    spec = _RECIPES[name]
    kwargs: dict[str, Any] = {}
    for dest, value in given.items():
        parameter = spec.options.get(dest)
        if parameter is None:
            takers = [n for n, other in _RECIPES.items() if dest in other.options]
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


# -- reading items ---------------------------------------------------------------------------


@dataclass
class _ItemSource:
    """Items read lazily, the first batch already read so that bad input fails before work."""

    label: str
    first: list[pystac.Item]
    rest: Iterator[list[pystac.Item]]

    def __iter__(self) -> Iterator[pystac.Item]:
        yield from self.first
        self.first = []
        for batch in self.rest:
            yield from batch


def _open_items(source: str | None) -> _ItemSource:
    """The items of a file, or of stdin when ``source`` is None or ``-``.

    Raises:
        UsageError: stdin is a terminal (nothing piped in).
        DownloadInputError: The input is not JSON/NDJSON of STAC Items (exit code 2).
    """
    if source in (None, "-"):
        stream: IO[str] | None = sys.stdin
        if stream is None or stream.isatty():
            raise UsageError(
                "no input: pipe in an Item, an ItemCollection or NDJSON (e.g. 'stac-client "
                "search URL ... | obstac download -o DIR') or name a file"
            )
        label = "stdin"
        batches = iter_item_batches(_stdin_documents(stream))
    else:
        path = Path(source)
        if not path.is_file():
            raise DownloadInputError(
                f"{source}: no such file"
                if not path.exists()
                else f"{source}: not a file; name an Item, ItemCollection or NDJSON file"
            )
        label = source
        batches = iter_item_batches(path)
    try:
        first = next(batches, [])
    except (TypeError, UnicodeDecodeError) as error:
        raise DownloadInputError(f"{label}: {error}") from None
    return _ItemSource(label, first, batches)


def _stdin_documents(stream: IO[str]) -> Iterator[Any]:
    """JSON documents from stdin: NDJSON (one per line, read as they come), or one document
    spread over several lines (a pretty-printed Item or ItemCollection)."""
    buffer = getattr(stream, "buffer", None)
    lines: Iterator[str] = (
        iter(io.TextIOWrapper(buffer, encoding="utf-8-sig")) if buffer is not None else iter(stream)
    )
    seen = False
    number = 0
    try:
        for line in lines:
            number += 1
            if not line.strip():
                continue
            try:
                document = json.loads(line)
            except json.JSONDecodeError as error:
                if seen:
                    raise DownloadInputError(
                        f"stdin, line {number}: not JSON ({error.msg}: column {error.colno}); "
                        "NDJSON needs one complete Item per line"
                    ) from None
                whole = line + "".join(lines)
                try:
                    document = json.loads(whole)
                except json.JSONDecodeError as error:
                    raise DownloadInputError(
                        f"stdin is not JSON nor NDJSON ({error.msg}: line "
                        f"{number + error.lineno - 1}, column {error.colno}; truncated?): "
                        "expected an Item, an ItemCollection or one Item per line"
                    ) from None
                seen = True
                yield from _documents_in(document, "stdin")
                return
            seen = True
            yield from _documents_in(document, f"stdin, line {number}")
    except UnicodeDecodeError as error:
        raise DownloadInputError(f"stdin is not UTF-8 text: {error.reason}") from None
    if not seen:
        raise DownloadInputError(
            "stdin is empty: expected an Item, an ItemCollection or NDJSON (did the command "
            "before the pipe fail?)"
        )


def _documents_in(document: Any, where: str) -> Iterator[Mapping[str, Any]]:
    if isinstance(document, dict):
        yield document
    elif isinstance(document, list) and all(isinstance(d, dict) for d in document):
        yield from document
    else:
        raise DownloadInputError(
            f"{where}: a JSON {type(document).__name__} is not a STAC Item nor an ItemCollection"
        )


# -- small formatting helpers ----------------------------------------------------------------


def _size(value: float | None) -> str:
    if value is None:
        return "?"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"  # pragma: no cover - the loop returns


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _shorten(text: str, width: int = 40) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2) :]


def _stderr_console(**options: Any) -> Console:
    console = Console(stderr=True, highlight=False, **options)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=True, highlight=False, width=120, **options)
    return console


def _say(message: str) -> None:
    """One redacted line on stderr."""
    sys.stderr.write(redact(message) + "\n")
    sys.stderr.flush()


# -- progress --------------------------------------------------------------------------------


class _Reporter(Protocol):
    """What ``download`` tells about its progress and its end."""

    def __call__(self, event: TransferEvent) -> None: ...

    def start(self, dest: str) -> None: ...

    def stop(self) -> None: ...

    def finish(self, result: _Result) -> None: ...


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
class _Result:
    report: DownloadReport
    items: int
    problems: tuple[_Problem, ...]
    exit_code: int
    dest: str

    @staticmethod
    def of(report: DownloadReport, items: int, dest: str) -> _Result:
        problems = tuple(_problem(outcome) for outcome in report.assets if _is_problem(outcome))
        return _Result(report, items, problems, EXIT_FAILED if problems else EXIT_OK, dest)


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


def _summary_line(result: _Result) -> str:
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
        f"{_size(report.bytes_transferred)} in {report.seconds:.2f} s ({_size(rate)}/s), "
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

    def finish(self, result: _Result) -> None:
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
        self.console = _stderr_console()
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
        self.console = _stderr_console()
        self._stream = sys.stderr

    def _line(self, text: str) -> None:
        self._stream.write(redact(text) + "\n")
        self._stream.flush()

    def __call__(self, event: TransferEvent) -> None:
        if event.kind == "done":
            self._line(f"{PROG}: done   {event.job_id} {_size(event.bytes)} -> {event.target}")
        elif event.kind == "skip":
            self._line(
                f"{PROG}: skip   {event.job_id} {_size(event.bytes)} (already at "
                f"{event.target}, proven identical)"
            )
        elif event.kind == "retry":
            self._line(f"{PROG}: retry  {event.job_id} attempt {event.attempt}: {event.message}")
        elif event.kind == "fail":
            self._line(f"{PROG}: FAILED {event.job_id}: {event.message}")

    def start(self, dest: str) -> None:
        self._line(f"{PROG}: downloading to {dest}")

    def stop(self) -> None:
        return None


class _RateColumn(ProgressColumn):
    """Transfer rate in binary units (MiB/s), as the byte counts beside it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = "?" if speed is None else f"{_size(speed)}/s"
        return Text(shown, style="progress.data.speed")


@dataclass
class _BarState:
    task: TaskID | None
    total: int | None
    received: int = 0


class _RichProgress(_HumanEnd):
    """Progress for a terminal: one overall bar (bytes, rate, ETA) and a bar per asset in
    flight (at most :data:`MAX_BARS` shown), driven by the transfer events."""

    def __init__(self) -> None:
        self.console = _stderr_console()
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            _RateColumn(),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=10,
        )
        self._overall = self._progress.add_task("all assets", total=None)
        self._jobs: dict[str, _BarState] = {}
        self._hidden: list[str] = []
        self._known_total = 0
        self._started = 0
        self._finished = 0
        self._failed = 0

    def start(self, dest: str) -> None:
        self._progress.start()

    def stop(self) -> None:
        self._progress.stop()

    def _describe_overall(self) -> None:
        failed = f", {self._failed} failed" if self._failed else ""
        self._progress.update(
            self._overall,
            description=f"all: {self._finished}/{self._started} assets{failed}",
            total=self._known_total or None,
        )

    def _learn_total(self, state: _BarState, total: int | None) -> None:
        if total is not None and state.total is None:
            state.total = total
            self._known_total += total
            if state.task is not None:
                self._progress.update(state.task, total=total)

    def __call__(self, event: TransferEvent) -> None:
        kind = event.kind
        if kind == "start":
            self._on_start(event)
        elif kind == "bytes":
            state = self._jobs.get(event.job_id)
            if state is None:
                return
            self._learn_total(state, event.total)
            state.received += event.bytes
            if state.task is not None:
                self._progress.update(state.task, advance=event.bytes)
            self._progress.update(self._overall, advance=event.bytes)
        elif kind in ("done", "skip"):
            state = self._jobs.pop(event.job_id, None) or _BarState(None, None)
            self._learn_total(state, event.total if event.total is not None else event.bytes)
            # Count the whole object as done (a resumed or skipped one brings bytes it did not
            # receive now), so the overall bar ends full.
            remaining = max(0, (state.total or 0) - state.received)
            self._progress.update(self._overall, advance=remaining)
            self._finished += 1
            self._drop(event.job_id, state)
        elif kind == "retry":
            self._progress.console.print(
                Text(f"retry {event.job_id} (attempt {event.attempt}): {redact(event.message)}")
            )
        elif kind == "fail":
            state = self._jobs.pop(event.job_id, None) or _BarState(None, None)
            if state.total is not None:
                # What will not come leaves the overall total, so the ETA stays honest.
                self._known_total -= state.total - state.received
            self._failed += 1
            self._finished += 1
            self._progress.console.print(
                Text(f"failed {event.job_id}: {redact(event.message)}", style="red")
            )
            self._drop(event.job_id, state)
        self._describe_overall()

    def _on_start(self, event: TransferEvent) -> None:
        if event.job_id in self._jobs:
            return
        self._started += 1
        visible = sum(1 for state in self._jobs.values() if state.task is not None)
        state = _BarState(None, event.total)
        if event.total is not None:
            self._known_total += event.total
        if visible < MAX_BARS:
            state.task = self._progress.add_task(_shorten(event.job_id), total=event.total)
        else:
            self._hidden.append(event.job_id)
        self._jobs[event.job_id] = state

    def _drop(self, job_id: str, state: _BarState) -> None:
        if state.task is not None:
            self._progress.remove_task(state.task)
        elif job_id in self._hidden:
            self._hidden.remove(job_id)
        while self._hidden:
            waiting = self._hidden.pop(0)
            shown = self._jobs.get(waiting)
            if shown is None:
                continue
            shown.task = self._progress.add_task(
                _shorten(waiting), total=shown.total, completed=shown.received
            )
            break


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

    def finish(self, result: _Result) -> None:
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


def _reporter(args: argparse.Namespace) -> _Reporter:
    if args.json:
        return _JsonEvents()
    if args.quiet:
        return _Quiet()
    if _stderr_console().is_terminal:
        return _RichProgress()
    return _PlainLines()


# -- download --------------------------------------------------------------------------------


def _cmd_download(args: argparse.Namespace) -> int:
    from obstac.download import DownloadError, download_items

    recipe = _recipe_from_args(args)
    if args.output_json not in (None, "-") and not Path(args.output_json).parent.is_dir():
        raise UsageError(f"--output-json {args.output_json}: its folder does not exist")
    source = _open_items(args.input)
    reporter = _reporter(args)
    options: DownloadOptions = {
        "layout": args.layout,
        "overwrite": args.overwrite,
        "on_error": args.on_error,
        "keep_signed_hrefs": args.keep_signed_hrefs,
        "progress": reporter,
    }
    if recipe is not None:
        # Tried first for every asset it can serve; the others get the automatic choice, so
        # one --recipe does not break an item's thumbnail on another host.
        options["recipes"] = [recipe]
    if args.include:
        options["include"] = args.include
    if args.exclude:
        options["exclude"] = args.exclude
    if args.role:
        options["roles"] = args.role
    if args.concurrency is not None:
        options["concurrency"] = args.concurrency
    dest_recipe = _dest_recipe(args.dest, args.dest_endpoint, recipe)
    if dest_recipe is not None:
        options["dest_recipe"] = dest_recipe
    reporter.start(args.dest)
    try:
        try:
            collection = download_items(source, args.dest, **options)
        except DownloadError as error:
            collection = error.items
    finally:
        reporter.stop()
    result = _Result.of(collection.report, len(collection.items), args.dest)
    _write_json(collection.to_dict(), args.output_json)
    reporter.finish(result)
    return result.exit_code


_DEST_FACTORIES: dict[str, Callable[..., Recipe]] = {
    "s3": recipe_factories.s3,
    "az": recipe_factories.azure,
    "azure": recipe_factories.azure,
    "abfs": recipe_factories.azure,
    "abfss": recipe_factories.azure,
    "gs": recipe_factories.gcs,
}


def _dest_recipe(dest: str, endpoint: str | None, recipe: Recipe | None) -> Recipe | None:
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


def _write_json(document: Mapping[str, Any], output: str | None) -> None:
    """The item collection as one compact line (as stac-client prints it), to stdout or a file."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"
    if output in (None, "-"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _atomic_write(Path(output), text.encode())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, data: bytes | Iterable[bytes]) -> None:
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


# -- read ------------------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class _Range:
    """A byte range as the command line gives it, HTTP-style: ``START-END`` (END included),
    ``START-`` (to the end) or ``-N`` (the last N bytes)."""

    start: int
    end: int | None  # exclusive, as obstac's readers take it

    def __str__(self) -> str:
        if self.start < 0:
            return f"-{-self.start}"
        return f"{self.start}-" if self.end is None else f"{self.start}-{self.end - 1}"


def _ranges(text: str) -> list[_Range]:
    found: list[_Range] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None or not (match.group(1) or match.group(2)):
            raise argparse.ArgumentTypeError(
                f"invalid range {part!r}: use START-END (END included, as in HTTP and curl -r), "
                "START- (to the end) or -N (the last N bytes)"
            )
        first, last = match.group(1), match.group(2)
        if not first:
            count = int(last)
            if count < 1:
                raise argparse.ArgumentTypeError(f"invalid range {part!r}: -N needs N >= 1")
            found.append(_Range(-count, None))
        elif not last:
            found.append(_Range(int(first), None))
        else:
            start, end = int(first), int(last)
            if end < start:
                raise argparse.ArgumentTypeError(
                    f"invalid range {part!r}: END ({end}) is before START ({start})"
                )
            found.append(_Range(start, end + 1))
    return found


def _cmd_read(args: argparse.Namespace) -> int:
    recipe = _recipe_from_args(args)
    reader = obstac.open_asset(args.href, recipe=recipe)
    ranges = [r for group in args.range or [] for r in group]
    if ranges:
        chunks: Iterable[bytes] = _read_ranges(reader, ranges)
    else:
        chunks = _read_whole(reader)
    if args.output in (None, "-"):
        _stream_to_stdout(chunks)
    else:
        _atomic_write(Path(args.output), chunks)
    return EXIT_OK


def _read_ranges(reader: obstac.AssetReader, ranges: Sequence[_Range]) -> list[bytes]:
    """Each range's bytes in the order given; closed ranges go to obstore together
    (``read_ranges``, which merges nearby ones into fewer requests)."""
    closed = [(i, r) for i, r in enumerate(ranges) if r.end is not None and r.start >= 0]
    results: dict[int, bytes] = {}
    if len(closed) > 1:
        chunks = reader.read_ranges(
            [r.start for _, r in closed], [cast("int", r.end) for _, r in closed]
        )
        for (index, _), chunk in zip(closed, chunks, strict=True):
            results[index] = bytes(chunk)
    for index, wanted in enumerate(ranges):
        if index not in results:
            results[index] = bytes(reader.read_range(wanted.start, wanted.end))
    return [results[index] for index in range(len(ranges))]


def _read_whole(reader: obstac.AssetReader) -> Iterator[bytes]:
    """The object in :data:`READ_CHUNK` ranged GETs, so memory stays at one chunk."""
    position = 0
    while True:
        try:
            chunk = reader.read_range(position, position + READ_CHUNK)
        except InvalidRangeError:
            return  # the previous chunk ended exactly at the end (or the object is empty)
        data = bytes(chunk)
        if data:
            yield data
        if len(data) < READ_CHUNK:
            return
        position += len(data)


def _stream_to_stdout(chunks: Iterable[bytes]) -> None:
    out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
    terminal = sys.stdout.isatty()
    for chunk in chunks:
        if terminal and b"\0" in chunk:
            raise UsageError(
                "binary output not written to a terminal: redirect it (> FILE), pipe it, or "
                "pass -o FILE"
            )
        if out is None:  # a text stdout (tests): show the bytes as Latin-1
            sys.stdout.write(chunk.decode("latin-1"))
        else:
            out.write(chunk)
    if out is not None:
        out.flush()


# -- info ------------------------------------------------------------------------------------


def _looks_like_stac(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            head = file.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError:
        return False
    return head[:1] in (b"{", b"[")


@dataclass
class _Row:
    """One asset, as ``info`` describes it."""

    item: str | None
    collection: str | None
    asset: str | None
    roles: list[str]
    href: str
    kind: str | None = None
    recipe: str | None = None
    store: str | None = None
    path: str | None = None
    credential_source: str | None = None
    size: int | None = None
    size_source: str | None = None
    etag: str | None = None
    target: str | None = None
    action: str | None = None
    reason: str | None = None
    error: str | None = None
    checksum: str | None = field(default=None, repr=False)
    reader: obstac.AssetReader | None = field(default=None, repr=False)

    def document(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "collection": self.collection,
            "asset": self.asset,
            "roles": self.roles,
            "href": self.href,
            "kind": self.kind,
            "recipe": self.recipe,
            "store": self.store,
            "path": self.path,
            "credential_source": self.credential_source,
            "size": self.size,
            "size_source": self.size_source,
            "etag": self.etag,
            "target": self.target,
            "action": self.action,
            "reason": self.reason,
            "error": self.error,
        }


def _cmd_info(args: argparse.Namespace) -> int:
    from obstac.download import DEFAULT_LAYOUT

    recipe = _recipe_from_args(args)
    source: str | None = args.source
    if source is not None and _is_href(source):
        rows = [_href_row(source, recipe, args.dest)]
    else:
        layout = args.layout if args.layout is not None else DEFAULT_LAYOUT
        recipes = [recipe] if recipe is not None else []
        rows = list(_item_rows(_open_items(source), recipes, args, layout))
    if args.head:
        asyncio.run(_head_all(rows))
    if args.dest is not None:
        for row in rows:
            _plan(row, args.dest)
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps(_redacted(row.document()), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    else:
        _print_info(rows, head=args.head, dest=args.dest)
    return EXIT_FAILED if any(row.error for row in rows) else EXIT_OK


def _is_href(source: str) -> bool:
    """Whether ``info``'s argument is one asset href rather than a file of items.

    URLs are hrefs; a local file is items when it starts like JSON, else it is a data file.
    """
    if source == "-":
        return False
    scheme = urlsplit(source).scheme
    if len(scheme) > 1 and scheme != "file":
        return True
    path = Path(source[len("file://") :] if scheme == "file" else source)
    if path.is_dir():
        raise UsageError(f"{source} is a folder; name an Item file, NDJSON, or an href")
    if not path.exists():
        raise DownloadInputError(f"{source}: no such file")
    return not _looks_like_stac(path)


def _redacted(document: dict[str, Any]) -> dict[str, Any]:
    return {
        key: redact(value) if isinstance(value, str) else value for key, value in document.items()
    }


def _explain_into(row: _Row, asset: Any, recipes: Sequence[Recipe]) -> None:
    try:
        explanation = recipe_factories.explain(asset, recipes=recipes)
        row.reader = obstac.open_asset(asset, recipes=recipes)
    except ObstacError as error:
        row.error = f"{type(error).__name__}: {error}"
        return
    row.href = explanation.href
    row.kind = explanation.kind
    row.recipe = explanation.recipe
    row.store = explanation.store
    row.path = explanation.path
    row.credential_source = explanation.credential_source


def _href_row(href: str, recipe: Recipe | None, dest: str | None) -> _Row:
    row = _Row(item=None, collection=None, asset=None, roles=[], href=redact_url(href))
    try:
        explanation = recipe_factories.explain(href, recipe=recipe)
        row.reader = obstac.open_asset(href, recipe=recipe)
    except (RecipeError, UnsupportedHrefError):
        raise
    except ObstacError as error:
        row.error = f"{type(error).__name__}: {error}"
        return row
    row.href = explanation.href
    row.kind = explanation.kind
    row.recipe = explanation.recipe
    row.store = explanation.store
    row.path = explanation.path
    row.credential_source = explanation.credential_source
    if dest is not None:
        from obstac.download import file_name

        row.target = str(Path(dest) / file_name(href, "asset"))
    return row


def _selected(item: pystac.Item, args: argparse.Namespace) -> list[tuple[str, pystac.Asset, str]]:
    """The assets ``--include/--exclude/--role`` select, with their absolute hrefs."""
    from obstac.hrefs import resolve_href

    include = set(args.include) if args.include else None
    exclude = set(args.exclude or ())
    roles = set(args.role) if args.role else None
    base = item.get_self_href()
    chosen: list[tuple[str, pystac.Asset, str]] = []
    for key, asset in item.assets.items():
        if (include is not None and key not in include) or key in exclude:
            continue
        if roles is not None and not roles.intersection(asset.roles or ()):
            continue
        try:
            href = resolve_href(asset.href, base)
        except UnsupportedHrefError:
            href = asset.href
        chosen.append((key, asset, href))
    return chosen


def _item_rows(
    items: Iterable[pystac.Item],
    recipes: Sequence[Recipe],
    args: argparse.Namespace,
    layout_template: str,
) -> Iterator[_Row]:
    from obstac.download import _json_name, _Layout, file_name, unique_names

    layout = _Layout.parse(layout_template)
    for item in items:
        chosen = _selected(item, args)
        names = unique_names(
            [(key, file_name(href, key)) for key, _, href in chosen], {_json_name(item)}
        )
        folder: str | None = None
        layout_error: str | None = None
        if args.dest is not None:
            try:
                folder = layout.render(item)
            except DownloadInputError as error:
                layout_error = str(error)
        for key, asset, href in chosen:
            row = _Row(
                item=item.id,
                collection=item.collection_id,
                asset=key,
                roles=list(asset.roles or []),
                href=redact_url(href),
            )
            size = asset.extra_fields.get("file:size")
            if isinstance(size, int) and not isinstance(size, bool):
                row.size, row.size_source = size, "file:size"
            checksum = asset.extra_fields.get("file:checksum")
            row.checksum = checksum if isinstance(checksum, str) else None
            _explain_into(row, asset, recipes)
            if folder is not None:
                row.target = str(Path(args.dest) / folder / names[key])
            elif layout_error is not None:
                row.action, row.reason = "error", layout_error
            yield row


async def _head_all(rows: Sequence[_Row]) -> None:
    slots = asyncio.Semaphore(HEAD_CONCURRENCY)

    async def head(row: _Row) -> None:
        if row.reader is None:
            return
        async with slots:
            try:
                meta: ObjectMeta = await row.reader.head_async()
            except ObstacError as error:
                row.error = f"{type(error).__name__}: {error}"
                return
        row.size, row.size_source = meta["size"], "HEAD"
        row.etag = meta.get("e_tag")

    await asyncio.gather(*(head(row) for row in rows))


def _plan(row: _Row, dest: str) -> None:
    """What ``download -o dest`` would do with this asset's file, judged from the disk (and
    the HEAD answer, when ``--head`` got one), as the transfer engine judges it."""
    if row.action is not None or row.target is None:
        return
    scheme = urlsplit(dest).scheme
    if len(scheme) > 1 and scheme != "file":
        row.action, row.reason = "download", "store destination: checked when downloading"
        return
    target = Path(row.target).absolute()
    try:
        stat = target.stat()
    except FileNotFoundError:
        row.action, row.reason = _plan_missing(target)
        return
    except OSError as error:
        row.action, row.reason = "error", f"cannot look at {target}: {error.strerror}"
        return
    if not S_ISREG(stat.st_mode):
        row.action, row.reason = "error", "exists and is not a regular file"
        return
    row.action, row.reason = _plan_existing(row, target, stat)


def _plan_missing(target: Path) -> tuple[str, str]:
    from obstac.transfer._local import load_state, partial_paths

    temp, state_path = partial_paths(target)
    state = load_state(state_path, temp)
    if state is not None:
        return "resume", f"{_size(state.done_bytes)} of {_size(state.size)} already on disk"
    return "download", "not on disk"


def _plan_existing(row: _Row, target: Path, stat: os.stat_result) -> tuple[str, str]:
    from obstac.transfer._checksums import file_digests, parse_checksum
    from obstac.transfer._local import load_manifest

    if row.size is not None and stat.st_size != row.size:  # file:size, or the HEAD's answer
        return "download", f"on disk with {stat.st_size} bytes, the asset has {row.size}"
    if row.checksum:
        expected = parse_checksum(row.checksum)
        if expected.verifiable:
            verdict = expected.check(file_digests(target, expected.candidates))
            if verdict is True:
                return "skip", "on disk, file:checksum matches"
            if verdict is False:
                return "download", "on disk, but file:checksum differs"
    entry = load_manifest(target.parent).get(target.name)
    if entry is not None and entry.describes(stat) and entry.etag:
        if row.etag is None:
            return (
                "skip?",
                "on disk; skipped if its ETag is unchanged (one HEAD; --head checks now)",
            )
        if row.etag == entry.etag:
            return "skip", "on disk, ETag unchanged"
        return "download", "on disk, but the object changed (ETag)"
    return "download", "on disk but unproven (no file:checksum nor recorded ETag): fetched again"


def _print_info(rows: Sequence[_Row], *, head: bool, dest: str | None) -> None:
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=160)
    table = Table(title=f"{len(rows)} asset(s)", title_justify="left")
    columns = ["item", "asset", "roles", "recipe", "store", "credentials", "size"]
    if dest is not None:
        columns.append(f"download to {dest}")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        if row.size is None:
            size = "-" if head else "? (--head)"
        else:
            size = _size(row.size) + ("" if row.size_source == "HEAD" else f" ({row.size_source})")
        store = row.store or ""
        if row.path:
            store = f"{store} {row.path}"
        cells = [
            Text(redact(row.item or "-")),
            Text(redact(row.asset or "-")),
            Text(", ".join(row.roles) or "-"),
            Text(row.recipe or "-"),
            Text(redact(store)) if not row.error else Text(redact(row.error), style="red"),
            Text(redact(row.credential_source or "-")),
            Text(size),
        ]
        if dest is not None:
            cells.append(Text(f"{row.action or '-'}: {row.reason or ''}".rstrip(": ")))
        table.add_row(*cells)
    console.print(table)


# -- demo and bench --------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module("obstac.demo")
    except ModuleNotFoundError as error:
        if error.name != "obstac.demo":
            raise
        _say(
            f"{PROG} demo: the demo is not part of this installation (module obstac.demo is "
            "missing); from a clone of the repository, run 'make demo'"
        )
        return EXIT_USAGE
    run = cast("Callable[[list[str] | None], int]", module.main)
    return int(run(list(args.arguments)))


def _cmd_bench(args: argparse.Namespace) -> int:
    _say("not yet: the benchmark suite lands with its issue")
    return EXIT_USAGE


# -- the parser ------------------------------------------------------------------------------


_PASS_THROUGH = frozenset({"demo", "bench"})
"""Commands whose arguments, options included, go to their own parser untouched."""


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions as usual, but keeps texts with line breaks (examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse, with its error messages redacted (a flag's value may be a secret)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(
            EXIT_USAGE,
            f"{self.prog}: error: {redact(message)}\n(run '{self.prog} --help' for the options)\n",
        )


class _VersionAction(argparse.Action):
    """``--version``: one unwrapped line on stdout (argparse's own action wraps at 80)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> NoReturn:
        sys.stdout.write(_versions() + "\n")
        sys.stdout.flush()
        parser.exit(EXIT_OK)


def _versions() -> str:
    parts = []
    for name in ("obstore", "pystac", "pystac-client"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} ?")
    python = ".".join(str(n) for n in sys.version_info[:3])
    return f"{PROG} {obstac.__version__} ({', '.join(parts)}, Python {python})"


def _recipes_epilog() -> str:
    width = max(len(name) for name in _RECIPES)
    lines = [f"  {name:<{width}}  {spec.summary}" for name, spec in _RECIPES.items()]
    return "Recipes (--recipe NAME; credentials from their environment variables):\n" + "\n".join(
        lines
    )


def _add_recipe_options(parser: argparse.ArgumentParser, *, scope: str) -> None:
    group = parser.add_argument_group(
        "recipe",
        "Without --recipe, obstac picks one per asset from its href and metadata. "
        f"--recipe NAME {scope}. Credentials come from the recipe's environment variables "
        "(listed below), so they stay out of shell history; --header is for http tokens.",
    )
    group.add_argument(
        "--recipe",
        metavar="NAME",
        type=_recipe_name,
        help=f"one of: {', '.join(RECIPE_NAMES)}",
    )
    group.add_argument(
        "--endpoint",
        "--s3-endpoint",
        dest="endpoint",
        metavar="URL",
        help="store endpoint in place of the provider's (a MinIO, moto or Azurite URL); "
        "s3, azure, gcs, earth-search, cdse, usgs-astrogeology, earthdata (S3), "
        "planetary-computer (blob endpoint)",
    )
    group.add_argument("--region", help="S3 region (s3, earth-search)")
    group.add_argument(
        "--requester-pays",
        action="store_true",
        help="pay for requester-pays buckets (s3, earth-search, cdse); needs AWS keys",
    )
    group.add_argument(
        "--anonymous",
        action="store_true",
        help="send unsigned requests, even with credentials set (s3, azure, gcs)",
    )
    group.add_argument(
        "--header",
        dest="headers",
        metavar="'NAME: VALUE'",
        action="append",
        type=_header,
        help="HTTP header for every request (http; repeatable); values of Authorization, "
        "*token*, *key* headers are redacted everywhere",
    )
    group.add_argument("--account-name", help="Azure storage account for az:// hrefs (azure)")
    group.add_argument("--sas-url", metavar="URL", help="SAS token API (planetary-computer)")
    group.add_argument("--base-url", metavar="URL", help="download server (dlr, sharinghub)")
    group.add_argument("--edl-host", metavar="HOST", help="Earthdata Login host (earthdata)")
    group.add_argument(
        "--credentials-url", metavar="URL", help="/s3credentials endpoint (earthdata)"
    )
    group.add_argument(
        "--retries",
        type=_count,
        metavar="N",
        help="obstore retries per request (every recipe but local; obstore's default is 10)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("asset selection")
    group.add_argument(
        "--include",
        metavar="KEY",
        action="append",
        help="only this asset key (repeatable)",
    )
    group.add_argument(
        "--exclude", metavar="KEY", action="append", help="not this asset key (repeatable)"
    )
    group.add_argument(
        "--role",
        metavar="ROLE",
        action="append",
        help="only assets with this role, e.g. data (repeatable: any of them)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``obstac`` argument parser (also used to render the docs of the flags)."""
    from obstac.download import DEFAULT_LAYOUT
    from obstac.transfer import DEFAULT_MAX_REQUESTS

    parser = _Parser(
        prog=PROG,
        description="Get the bytes behind STAC assets: download items, read byte ranges, "
        "explain which recipe and credentials each asset uses.",
        epilog="Exit codes: 0 success; 1 an asset, read or HEAD failed; 2 bad usage or input; "
        "130 interrupted. Run 'obstac COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version",
        action=_VersionAction,
        nargs=0,
        help="show the versions of obstac, obstore, pystac, pystac-client and Python, and exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    download = commands.add_parser(
        "download",
        help="download the assets of STAC items (from a file or stdin) to a folder or store",
        description="Download the selected assets of every item to DEST/<layout>/, write each "
        "item's JSON beside its assets (hrefs made relative, originals kept as 'alternate'), "
        "and print the updated ItemCollection as one JSON line on stdout. Files already there "
        "are skipped when proven identical (file:size and file:checksum, or the recorded "
        "ETag); partial files are resumed.",
        epilog="Examples:\n"
        "  stac-client search URL -c COLLECTION --max-items 10 | obstac download -o data/\n"
        "  rustac search URL --max-items 100 items.ndjson && obstac download items.ndjson "
        "-o data/ --role data\n"
        "  obstac download item.json -o s3://bucket/mirror --json 2> events.ndjson\n\n"
        "Exit code: 0 only when every selected asset is on disk and verified;\n"
        "1 when any failed (a table of failures goes to stderr); 2 for bad usage or input.\n\n"
        + _recipes_epilog(),
        formatter_class=_Formatter,
    )
    download.add_argument(
        "input",
        nargs="?",
        metavar="INPUT",
        help="an Item or ItemCollection JSON file, or NDJSON (one Item per line); '-' or "
        "nothing reads stdin",
    )
    download.add_argument(
        "-o",
        "--dest",
        required=True,
        metavar="DEST",
        help="a folder, or a store URL to mirror into (s3://bucket/prefix, az://..., gs://...)",
    )
    _add_filters(download)
    download.add_argument(
        "--layout",
        default=DEFAULT_LAYOUT,
        metavar="TEMPLATE",
        help="folder of each item under DEST (default %(default)r; fields: {id}, "
        "{collection}, {year}, {month}, {day}, {date}, any item property; '' for DEST itself)",
    )
    download.add_argument(
        "--dest-endpoint",
        metavar="URL",
        help="endpoint of the store DEST names (a MinIO, moto or Azurite URL), credentials "
        "from that store's environment variables; by default a --recipe that can serve DEST "
        "writes to it, else obstac chooses from DEST",
    )
    download.add_argument(
        "--overwrite", action="store_true", help="download even files proven identical"
    )
    download.add_argument(
        "--concurrency",
        type=_positive_int,
        metavar="N",
        help=f"requests in flight at once (default {DEFAULT_MAX_REQUESTS}, measured: "
        "fewer leave a fast link idle on many small files)",
    )
    download.add_argument(
        "--on-error",
        choices=("continue", "raise"),
        default="continue",
        help="continue (default): download all that can be; raise: stop at the first failure",
    )
    download.add_argument(
        "--keep-signed-hrefs",
        action="store_true",
        help="keep SAS tokens and presigned signatures in the written hrefs (default: removed)",
    )
    download.add_argument(
        "--output-json",
        metavar="FILE",
        help="write the updated ItemCollection to FILE instead of stdout",
    )
    output = download.add_mutually_exclusive_group()
    output.add_argument(
        "-q", "--quiet", action="store_true", help="no progress; failures are still reported"
    )
    output.add_argument(
        "--json",
        action="store_true",
        help="progress as one JSON event per line on stderr, ending with a 'summary' event",
    )
    _add_recipe_options(
        download,
        scope="reads every asset that recipe can serve; the others still get the automatic "
        "choice (an item's thumbnail on another host keeps working)",
    )
    download.set_defaults(handler=_cmd_download)

    read = commands.add_parser(
        "read",
        help="write an asset's bytes, or byte ranges of it, to stdout or a file",
        description="Read one href (s3://, az://, gs://, https://, a local path...) and write "
        "its bytes to stdout or -o FILE. Several ranges are read together (obstore merges "
        "nearby ones into one request) and written one after the other.",
        epilog="Examples:\n"
        "  obstac read s3://bucket/scene.tif --range 0-16383 | xxd | head\n"
        "  obstac read https://host/a.tif --range 0-99 --range -1024 -o parts.bin\n\n"
        + _recipes_epilog(),
        formatter_class=_Formatter,
    )
    read.add_argument("href", metavar="HREF", help="the asset href or a local path")
    read.add_argument(
        "--range",
        action="append",
        type=_ranges,
        metavar="START-END",
        help="bytes START to END included (as HTTP and curl -r count), START- to the end, or "
        "-N the last N; repeatable, or comma-separated",
    )
    read.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    _add_recipe_options(read, scope="must serve HREF")
    read.set_defaults(handler=_cmd_read)

    info = commands.add_parser(
        "info",
        help="explain, without downloading, how each asset would be read",
        description="For each asset: item, key, roles, the recipe obstac picks, the store, where "
        "the credential comes from (never its value), the size (file:size, or one HEAD each "
        "with --head), and with --dest what 'download -o DEST' would do with its file.",
        epilog="Examples:\n"
        "  stac-client search URL --max-items 5 | obstac info\n"
        "  obstac info items.ndjson --head --dest data/ --json\n"
        "  obstac info s3://bucket/scene.tif --head\n\n" + _recipes_epilog(),
        formatter_class=_Formatter,
    )
    info.add_argument(
        "source",
        nargs="?",
        metavar="INPUT|-|HREF",
        help="an Item/ItemCollection/NDJSON file, '-' or nothing for stdin, or one asset href",
    )
    info.add_argument("--head", action="store_true", help="one HEAD per asset for size and ETag")
    info.add_argument(
        "--dest",
        metavar="DIR",
        help="say what a download to DIR would skip, resume or fetch",
    )
    info.add_argument(
        "--layout",
        metavar="TEMPLATE",
        help=f"the download's --layout, for --dest (default {DEFAULT_LAYOUT!r})",
    )
    info.add_argument("--json", action="store_true", help="one JSON object per asset on stdout")
    _add_filters(info)
    _add_recipe_options(
        info, scope="is tried first for every asset it can serve, as 'download' does"
    )
    info.set_defaults(handler=_cmd_info)

    demo = commands.add_parser(
        "demo",
        help="run the whole job offline against bundled local servers ('obstac demo --help')",
        add_help=False,
    )
    demo.add_argument("arguments", nargs=argparse.REMAINDER)
    demo.set_defaults(handler=_cmd_demo)

    bench = commands.add_parser(
        "bench", help="the benchmark scenarios (not yet available)", add_help=False
    )
    bench.add_argument("arguments", nargs=argparse.REMAINDER)
    bench.set_defaults(handler=_cmd_bench)
    return parser


# -- entry point -----------------------------------------------------------------------------


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(  # noqa: N802 - logging.Formatter's name
        self,
        ei: tuple[type[BaseException], BaseException, TracebackType | None]
        | tuple[None, None, None],
    ) -> str:
        return redact(super().formatException(ei))


def _setup_logging() -> None:
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def _report_error(
    error: BaseException, *, command: str | None, json_errors: bool, exit_code: int
) -> int:
    kind = type(error).__name__
    message = redact(str(error)) or kind
    if json_errors:
        _say(
            json.dumps(
                {"event": "error", "error": kind, "message": message, "exit_code": exit_code},
                ensure_ascii=False,
            )
        )
        return exit_code
    where = f"{PROG} {command}" if command else PROG
    if isinstance(error, UsageError):
        _say(f"{where}: error: {message}\n(run '{where} --help' for the options)")
    else:
        _say(f"{where}: {kind}: {message}")
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``obstac`` command line; return its exit code.

    Args:
        argv: The arguments after the program name (default: ``sys.argv[1:]``).
    """
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = parser.parse_known_args(arguments)
        if args.command in _PASS_THROUGH:
            # Hand the command's own arguments over exactly as typed, in their order.
            args.arguments = arguments[arguments.index(args.command) + 1 :]
        elif extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    _setup_logging()
    command: str | None = args.command
    json_errors = bool(getattr(args, "json", False))
    handler = cast("Callable[[argparse.Namespace], int]", args.handler)
    try:
        return handler(args)
    except UsageError as error:
        return _report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_USAGE)
    except (DownloadInputError, UnsupportedHrefError, RecipeError, InvalidRangeError) as error:
        return _report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_USAGE)
    except ObstacError as error:
        return _report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_FAILED)
    except KeyboardInterrupt:
        _say(f"{PROG}: interrupted; run the same command again to resume")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (obstac read ... | head): stop quietly.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as error:
        if os.environ.get("OBSTAC_DEBUG"):
            _say(traceback.format_exc())
        code = _report_error(error, command=command, json_errors=json_errors, exit_code=EXIT_FAILED)
        if not json_errors and not os.environ.get("OBSTAC_DEBUG"):
            _say(f"{PROG}: this is a bug in obstac; set OBSTAC_DEBUG=1 for a (redacted) traceback")
        return code


if __name__ == "__main__":
    sys.exit(main())
