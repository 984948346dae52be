"""Progress of downloads for people: transfer event sinks for a terminal and for logs.

::

    from obstac.progress import ProgressBars
    with ProgressBars() as bars:
        obstac.download_items(items, "data/", progress=bars)

:class:`ProgressBars` draws rich progress bars on a terminal: one overall bar (bytes, rate,
ETA) and one per asset in flight. :class:`ProgressLines` writes one plain line per finished,
skipped, retried or failed asset, for logs and pipes. Both take the
:class:`~obstac.transfer.TransferEvent` s of :mod:`obstac.transfer` (any
:class:`~obstac.transfer.EventSink` works as ``progress=``) and redact every message.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING

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
from rich.text import Text

from obstac._redact import redact

if TYPE_CHECKING:
    from obstac.transfer import TransferEvent

__all__ = ["MAX_BARS", "ProgressBars", "ProgressLines", "format_size"]

MAX_BARS = 8
"""Per-asset progress bars shown at once; further assets in flight wait hidden, counted in the
overall bar, and appear as others finish."""


def format_size(value: float | None) -> str:
    """A byte count in binary units: ``"512 B"``, ``"1.5 MiB"``; ``"?"`` for None."""
    if value is None:
        return "?"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"  # pragma: no cover - the loop returns


def _shorten(text: str, width: int = 40) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2) :]


class _RateColumn(ProgressColumn):
    """Transfer rate in binary units (MiB/s), as the byte counts beside it."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        shown = "?" if speed is None else f"{format_size(speed)}/s"
        return Text(shown, style="progress.data.speed")


@dataclass
class _BarState:
    task: TaskID | None
    total: int | None
    received: int = 0


class ProgressBars:
    """A transfer event sink drawing rich progress bars: one overall bar (bytes, rate, ETA) and
    one per asset in flight (at most ``max_bars`` shown; the others wait hidden, counted in the
    overall bar).

    Totals are learnt from the events (``file:size`` or the first response), so the overall
    bar needs no size up front; an asset that fails leaves the total, so the ETA stays honest.
    Safe to call from the transfer's event loop thread.

    Example:
        ```py
        with ProgressBars(Console(stderr=True)) as bars:
            obstac.download_items(items, "data/", progress=bars)
        ```

    Attributes:
        console: The console drawn on.
        started: Assets started.
        finished: Assets done, skipped or failed.
        failed: Assets failed.
        retries: Requests retried.
    """

    def __init__(self, console: Console | None = None, *, max_bars: int = MAX_BARS) -> None:
        """Make the bars; :meth:`start` (or ``with``) shows them.

        Args:
            console: Where to draw (default: a console on stderr).
            max_bars: Per-asset bars shown at once.
        """
        self.console = console if console is not None else Console(stderr=True, highlight=False)
        self._max_bars = max_bars
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
        self._lock = threading.Lock()
        self.started = 0
        self.finished = 0
        self.failed = 0
        self.retries = 0

    def start(self) -> None:
        """Show the bars (a live display, refreshed 10 times a second)."""
        self._progress.start()

    def stop(self) -> None:
        """Draw the bars a last time and stop refreshing them."""
        self._progress.stop()

    def __enter__(self) -> ProgressBars:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def __call__(self, event: TransferEvent) -> None:
        """Update the bars for one event."""
        with self._lock:
            self._on_event(event)

    def _on_event(self, event: TransferEvent) -> None:
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
            self.finished += 1
            self._drop(event.job_id, state)
        elif kind == "retry":
            self.retries += 1
            self._progress.console.print(
                Text(f"retry {event.job_id} (attempt {event.attempt}): {redact(event.message)}")
            )
        elif kind == "fail":
            state = self._jobs.pop(event.job_id, None) or _BarState(None, None)
            if state.total is not None:
                # What will not come leaves the overall total, so the ETA stays honest.
                self._known_total -= state.total - state.received
            self.failed += 1
            self.finished += 1
            self._progress.console.print(
                Text(f"failed {event.job_id}: {redact(event.message)}", style="red")
            )
            self._drop(event.job_id, state)
        self._describe_overall()

    def _describe_overall(self) -> None:
        failed = f", {self.failed} failed" if self.failed else ""
        self._progress.update(
            self._overall,
            description=f"all: {self.finished}/{self.started} assets{failed}",
            total=self._known_total or None,
        )

    def _learn_total(self, state: _BarState, total: int | None) -> None:
        if total is not None and state.total is None:
            state.total = total
            self._known_total += total
            if state.task is not None:
                self._progress.update(state.task, total=total)

    def _on_start(self, event: TransferEvent) -> None:
        if event.job_id in self._jobs:
            return
        self.started += 1
        visible = sum(1 for state in self._jobs.values() if state.task is not None)
        state = _BarState(None, event.total)
        if event.total is not None:
            self._known_total += event.total
        if visible < self._max_bars:
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


class ProgressLines:
    """A transfer event sink for logs and pipes: one redacted line per finished, skipped,
    retried or failed asset (nothing per chunk of bytes).

    Example:
        ```py
        obstac.download_items(items, "data/", progress=ProgressLines(prefix="sync"))
        # sync: done   sentinel-2-l2a/S2B_.../B04 12.3 MiB -> data/.../B04.tif
        ```
    """

    def __init__(self, stream: IO[str] | None = None, *, prefix: str = "obstac") -> None:
        """Write to ``stream`` (default: stderr at the time of each line), each line starting
        with ``prefix:``."""
        self._stream = stream
        self._prefix = prefix

    def note(self, text: str) -> None:
        """Write one line, ``prefix: text``, secrets redacted."""
        stream = self._stream if self._stream is not None else sys.stderr
        stream.write(redact(f"{self._prefix}: {text}") + "\n")
        stream.flush()

    def __call__(self, event: TransferEvent) -> None:
        """Write the line of one event, if it has one."""
        if event.kind == "done":
            self.note(f"done   {event.job_id} {format_size(event.bytes)} -> {event.target}")
        elif event.kind == "skip":
            self.note(
                f"skip   {event.job_id} {format_size(event.bytes)} (already at "
                f"{event.target}, proven identical)"
            )
        elif event.kind == "retry":
            self.note(f"retry  {event.job_id} attempt {event.attempt}: {event.message}")
        elif event.kind == "fail":
            self.note(f"FAILED {event.job_id}: {event.message}")
