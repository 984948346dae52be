"""The resume-state saver of a partial download: no save may outlive ``stop()``.

A save runs in a worker thread, which cancelling the saver's loop cannot stop. ``finish`` calls
``stop()`` and then deletes the state file: a save still running at that moment used to write
the file back after the deletion (a stale ``.obstac-partial.json`` beside a finished download,
seen as a flaky `test_killed_download_resumes_fetching_only_missing_bytes`). The job here is a
stand-in that only runs file work in a real thread pool, holding the save until released.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from obstac.transfer._job import Segment
from obstac.transfer._local import StateSaver, load_state

if TYPE_CHECKING:
    from obstac.transfer._job import Job


class _HeldSaves:
    """What StateSaver uses of a job: its object's identity and ``submit_io``, whose work
    waits in its thread until ``release`` is set."""

    size = 4
    etag = '"v1"'
    href = "http://127.0.0.1:9/x.bin"

    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor
        self.entered = threading.Event()
        self.release = threading.Event()

    def submit_io(self, function: Callable[..., None], *args: Any) -> asyncio.Future[None]:
        def held() -> None:
            self.entered.set()
            self.release.wait(10)
            function(*args)

        return asyncio.wrap_future(self.executor.submit(held))


def test_stop_returns_only_after_a_save_already_in_its_thread(tmp_path: Path) -> None:
    temp = tmp_path / ".x.bin.obstac-partial"
    state_path = tmp_path / ".x.bin.obstac-partial.json"
    temp.write_bytes(b"abcd")
    fd = os.open(temp, os.O_RDWR)
    executor = ThreadPoolExecutor(1)
    job = _HeldSaves(executor)

    async def finish_while_a_save_runs() -> None:
        saver = StateSaver(cast("Job", job), fd, state_path, [Segment(0, 4, written=4)])
        saver.poke()
        assert await asyncio.to_thread(job.entered.wait, 10)  # the save is in its thread
        threading.Timer(0.2, job.release.set).start()
        await saver.stop()
        assert load_state(state_path, temp) is not None  # the save ended inside stop()
        state_path.unlink()  # what finish() does next

    try:
        asyncio.run(finish_while_a_save_runs())
    finally:
        job.release.set()
        executor.shutdown(wait=True)  # every save that was started has now ended
        os.close(fd)
    assert not state_path.exists()
