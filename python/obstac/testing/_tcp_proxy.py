"""The machinery every TCP proxy in obstac.testing shares: its own event loop in a thread,
a listening socket on 127.0.0.1, one connection to the target per client, clean shutdown.

A subclass says only what happens to the bytes: :meth:`TCPProxy._pipes` returns the two
forwarding tasks of a connection, and :meth:`TCPProxy._before_connect` may delay it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from abc import abstractmethod
from typing import Self

from obstac.testing._lifecycle import Service
from obstac.testing._ports import LOOPBACK

_STOP_TIMEOUT = 10.0
"""Seconds ``stop`` waits for open connections to close."""


LISTEN_BACKLOG = 1024
"""Connections the kernel completes before the proxy's loop accepts them. asyncio's default
(100) dropped SYNs when a peer opened a few hundred connections at once on a busy machine
(each drop costs the client a 1 s retransmit: 359 listen overflows in 7 benchmark runs)."""


class TCPProxy(Service):
    """A TCP proxy on a free 127.0.0.1 port forwarding to ``target_host:target_port``."""

    def __init__(self, target_port: int, target_host: str = LOOPBACK) -> None:
        """Describe the proxy; nothing listens until ``start``.

        Args:
            target_port: The port of the server to forward to.
            target_host: The host of the server to forward to.
        """
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pipe_tasks: set[asyncio.Future[None]] = set()
        self._closing = False
        self._port: int | None = None
        self._connections_opened = 0

    @property
    def port(self) -> int:
        """The 127.0.0.1 port the proxy listens on.

        Raises:
            RuntimeError: If the proxy is not started.
        """
        if self._port is None:
            msg = f"{type(self).__name__} is not started; call start() first"
            raise RuntimeError(msg)
        return self._port

    @property
    def url(self) -> str:
        """The proxy's base URL, ``http://127.0.0.1:PORT``: use it in place of the server's."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def connections(self) -> int:
        """How many client connections the proxy has accepted."""
        with self._lock:
            return self._connections_opened

    def start(self) -> Self:
        """Listen on a free port and start forwarding.

        Returns:
            This proxy.

        Raises:
            RuntimeError: If it is already started.
        """
        if self._loop is not None:
            msg = f"{type(self).__name__} is already started on port {self._port}"
            raise RuntimeError(msg)
        loop = asyncio.new_event_loop()
        self._closing = False
        listening = asyncio.start_server(self._on_client, LOOPBACK, 0, backlog=LISTEN_BACKLOG)
        self._server = loop.run_until_complete(listening)
        self._port = self._server.sockets[0].getsockname()[1]
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"{type(self).__name__}:{self._port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close every open connection, end the loop. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
        self._loop, self._thread, self._server, self._port = None, None, None, None

    async def _before_connect(self) -> None:
        """Runs before the proxy connects to the target (e.g. to model a handshake)."""

    @abstractmethod
    def _pipes(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        server_reader: asyncio.StreamReader,
        server_writer: asyncio.StreamWriter,
    ) -> set[asyncio.Future[None]]:
        """The two tasks forwarding one connection's bytes, client->server and back."""

    async def _close(self) -> None:
        # Cancel the pipes, not the connection tasks: asyncio (3.11) logs an error for a
        # cancelled client_connected_cb task. Each connection then closes its own sockets.
        self._closing = True
        if self._server is not None:
            self._server.close()
        for pipe in list(self._pipe_tasks):
            pipe.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on_client(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        with self._lock:
            self._connections_opened += 1
        try:
            await self._forward(client_reader, client_writer)
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _forward(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        try:
            await self._before_connect()
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except (OSError, asyncio.CancelledError):
            await close_writer(client_writer)  # the client sees the target refuse
            return
        if self._closing:
            await close_writer(server_writer)
            await close_writer(client_writer)
            return
        pipes = self._pipes(client_reader, client_writer, server_reader, server_writer)
        self._pipe_tasks |= pipes
        try:
            # Both directions end at EOF; a reset on either side ends the connection.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._pipe_tasks -= pipes
            await close_writer(server_writer)
            await close_writer(client_writer)


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close one side of a connection, ignoring a peer that is already gone."""
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
