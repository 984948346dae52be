"""Reading a host's login from a netrc file, the way curl, requests and earthaccess do."""

from __future__ import annotations

import logging
import netrc
import os
from pathlib import Path

from obstac._redact import register_secret
from obstac.errors import RecipeError

__all__ = ["default_netrc", "netrc_login"]

logger = logging.getLogger(__name__)


def default_netrc() -> Path:
    """The netrc file: env ``NETRC``, else ``~/.netrc`` (``~/_netrc`` on Windows)."""
    named = os.environ.get("NETRC")
    if named:
        return Path(named).expanduser()
    return Path.home() / ("_netrc" if os.name == "nt" else ".netrc")


def netrc_login(
    host: str, path: Path | None = None, *, recipe: str, explicit: bool = False
) -> tuple[str, str] | None:
    """``(login, password)`` of ``host`` in a netrc file (a ``default`` entry counts), or None.

    The password is registered as a secret. A missing file, entry, login or password is None; so
    is a file that cannot be read, with a warning naming the file and line, never its content.

    Args:
        host: The ``machine`` to look up.
        path: The netrc file; default :func:`default_netrc`.
        recipe: The recipe asking, for messages.
        explicit: The user named ``path`` (``netrc=``): a missing or unreadable file is then a
            :class:`~obstac.errors.RecipeError` instead of None.
    """
    file = path.expanduser() if path is not None else default_netrc()
    if not file.is_file():
        if explicit:
            raise RecipeError(
                f"netrc file {str(file)!r} (passed as netrc=) does not exist", recipe=recipe
            )
        return None
    try:
        entry = netrc.netrc(os.fspath(file)).authenticators(host)
    except (netrc.NetrcParseError, OSError) as error:
        line = getattr(error, "lineno", None)
        where = f" at line {line}" if line else ""
        if explicit:
            raise RecipeError(
                f"netrc file {str(file)!r} (passed as netrc=) cannot be read{where}", recipe=recipe
            ) from None
        logger.warning("%s: ignoring netrc file %s: cannot be read%s", recipe, file, where)
        return None
    if entry is None:
        return None
    login, _, password = entry
    if not login or not password:
        return None
    register_secret(password)
    return login, password
