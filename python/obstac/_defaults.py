"""obstore defaults obstac overrides, each with its number and why (see docs/defaults.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from obstore.store import ClientConfig

# obstore's default `timeout` (30 s) covers the whole request *including the body*: a 1 GiB GET
# at 25 MiB/s needs ~41 s and would be killed and retried forever. We bound the whole request
# generously and catch stalls with a per-read timeout instead.
REQUEST_TIMEOUT = "30min"
# A connection that delivers no byte for this long is stalled: abandon it and retry.
READ_TIMEOUT = "30s"
# obstore's default connect timeout (5 s) is kept; it is stated here so docs/defaults.md and the
# code agree.
CONNECT_TIMEOUT = "5s"


def client_options(user: ClientConfig | None = None, *, allow_http: bool = False) -> ClientConfig:
    """obstac's client defaults with the user's options laid over them (the user wins)."""
    merged: ClientConfig = {
        "timeout": REQUEST_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
        "connect_timeout": CONNECT_TIMEOUT,
    }
    if allow_http:
        merged["allow_http"] = True
    if user:
        merged.update(user)
    return merged


__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "REQUEST_TIMEOUT", "client_options"]
