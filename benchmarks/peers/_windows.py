"""The decoding peers of the ``cog`` scenario: rasterio windowed reads from a thread pool.

:data:`THREADS` threads take the scenario's windows from one queue; each thread opens a file the
first time it needs it and keeps that dataset for the rest of the run (one dataset per file and
thread: GDAL datasets must not be shared between threads), and closes its datasets when the
queue is empty, inside the timed part. Opening a dataset reads the file's header, so header
reads are timed, as they are for the byte-range peers. After the clock stops, each window's
pixels are checked against the ``crc32`` the scenario recorded when it wrote the file: a wrong
pixel fails the run.
"""

from __future__ import annotations

import queue
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from benchmarks.model import Measurement, Scenario, WindowSpec

THREADS = 16
"""Threads reading windows at once (each has one window, so ~1-4 tile requests, in flight)."""


def timed_windows(
    name: str, scenario: Scenario, note: str, open_dataset: Callable[[str], Any]
) -> Measurement:
    """Read and decode every window through ``open_dataset(key)``; time it; check the pixels.

    ``bytes`` of the result is the scenario's payload (the tiles the windows need), so MiB/s
    compares with the byte-range peers; ``extra.decoded_bytes`` is the pixels' size.

    Raises:
        RuntimeError: A window's pixels differ from the file's.
    """
    from rasterio.windows import Window

    work: queue.SimpleQueue[tuple[int, WindowSpec]] = queue.SimpleQueue()
    for number, spec in enumerate(scenario.windows):
        work.put((number, spec))
    pixels: list[Any] = [None] * len(scenario.windows)
    opened: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        datasets: dict[str, Any] = {}
        try:
            while not errors:
                try:
                    number, spec = work.get_nowait()
                except queue.Empty:
                    return
                dataset = datasets.get(spec.key)
                if dataset is None:
                    dataset = datasets[spec.key] = open_dataset(spec.key)
                window = Window(spec.col_off, spec.row_off, spec.width, spec.height)
                pixels[number] = dataset.read(1, window=window)
        except BaseException as error:  # reported by the main thread, which fails the run
            errors.append(error)
        finally:
            # Closed by the thread that opened them: rasterio's Python openers keep their
            # registrations per thread (a ContextVar).
            for dataset in datasets.values():
                dataset.close()
            opened.append(len(datasets))

    started = time.perf_counter()
    threads = [threading.Thread(target=reader) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    seconds = time.perf_counter() - started
    for spec, block in zip(scenario.windows, pixels, strict=True):
        if zlib.crc32(block.tobytes()) != spec.crc32:
            msg = f"{spec.key} window at ({spec.col_off}, {spec.row_off}): pixels differ"
            raise RuntimeError(msg)
    decoded = sum(block.nbytes for block in pixels)
    note = f"{note}; {THREADS} threads, one dataset per file and thread, pixels crc32-checked"
    extra = {"decoded_bytes": decoded, "datasets_opened": sum(opened)}
    return Measurement(name, scenario.name, seconds, scenario.payload_bytes, note, extra=extra)
