"""Loopback TCP ports: pick a free one, wait for one to accept connections."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"
"""The only address the local test servers bind."""

_POLL_INTERVAL = 0.05
"""Seconds between connection attempts while waiting for a port: short, so tests start fast."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks the port (bind to port 0); the socket is closed before returning, so a
    subprocess can bind it. Another process could take it in between; that race is accepted.

    Returns:
        The port number.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = LOOPBACK) -> bool:
    """Tell whether something accepts TCP connections on ``host:port`` right now.

    Args:
        port: The TCP port.
        host: The host to connect to.

    Returns:
        True if a connection succeeded within 0.5 s.
    """
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 30.0, host: str = LOOPBACK) -> None:
    """Block until ``host:port`` accepts TCP connections.

    Args:
        port: The TCP port.
        timeout: Seconds to wait before giving up.
        host: The host to connect to.

    Raises:
        RuntimeError: If the port did not open within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        if port_is_open(port, host):
            return
        if time.monotonic() >= deadline:
            msg = f"nothing accepted connections on {host}:{port} within {timeout:g} s"
            raise RuntimeError(msg)
        time.sleep(_POLL_INTERVAL)
