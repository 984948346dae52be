"""Run a coroutine from sync code, also from inside a running event loop (Jupyter).

One daemon thread owns one long-lived event loop (the *portal*). Sync wrappers submit their
coroutine to it and block until it finishes, so:

- they work whether or not the calling thread runs an event loop (no ``nest_asyncio``);
- every sync call shares one loop, so a :class:`~obstac.transfer.Scheduler` passed between
  sync calls keeps its limits, and obstore's connection pools stay warm;
- Ctrl-C in the calling thread cancels the coroutine and waits for its cleanup (temporary
  files closed, resume state saved) before ``KeyboardInterrupt`` propagates.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["portal_loop", "run_sync"]

T = TypeVar("T")

_CANCEL_GRACE_SECONDS = 30.0
"""How long Ctrl-C waits for a cancelled transfer to close its files before giving up."""

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def portal_loop() -> asyncio.AbstractEventLoop:
    """The portal's event loop, started on first use in a daemon thread."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=serve, name="obstac-portal", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on the portal loop and return its result (or raise its exception).

    Safe to call from any thread, including one running an event loop; not from the portal
    loop itself (a coroutine there must ``await`` the async API instead).

    Raises:
        RuntimeError: When called from the portal's own thread.
    """
    loop = portal_loop()
    if threading.current_thread() is _thread:
        coroutine.close()
        raise RuntimeError(
            "obstac's sync API was called from its own event-loop thread (e.g. inside an "
            "event callback); use the _async function there"
        )
    finished = threading.Event()

    async def guarded() -> T:
        try:
            return await coroutine
        finally:
            finished.set()

    future = asyncio.run_coroutine_threadsafe(guarded(), loop)
    try:
        return future.result()
    except BaseException:
        # KeyboardInterrupt (or any interruption of the waiting thread): cancel the work and
        # let it clean up before the interruption propagates.
        if not future.done():
            future.cancel()
            finished.wait(_CANCEL_GRACE_SECONDS)
        raise
