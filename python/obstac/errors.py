"""The errors obstac raises, each naming the href (secrets redacted), the recipe, and what to do.

```
ObstacError
├── UnsupportedHrefError  (also ValueError)        an href obstac cannot place in any store
├── RecipeError           (also ValueError)        a recipe cannot serve an href as configured
├── InvalidRangeError     (also ValueError)        a byte range outside the object
├── AssetNotFoundError    (also FileNotFoundError) the object is not there
├── CredentialsError      (also PermissionError)   the store refused the credentials at hand
└── RemoteError                                    any other failure of the store or network
```

Catch ``ObstacError`` for everything, or the built-in base to treat obstac like any file API.
"""

from __future__ import annotations

import re

from obstac._redact import redact, redact_url

__all__ = [
    "AssetNotFoundError",
    "CredentialsError",
    "InvalidRangeError",
    "ObstacError",
    "RecipeError",
    "RemoteError",
    "UnsupportedHrefError",
    "is_range_refusal",
    "status_of",
    "translate_store_error",
]


class ObstacError(Exception):
    """Base of every error obstac raises.

    Attributes:
        href: The href involved, with credentials redacted (``None`` when no href applies).
        recipe: The name of the recipe that served the href, when one was chosen.
    """

    def __init__(self, message: str, *, href: str | None = None, recipe: str | None = None):
        self.href = redact_url(href) if href is not None else None
        self.recipe = recipe
        super().__init__(redact(message))


class UnsupportedHrefError(ObstacError, ValueError):
    """The href has a form obstac cannot map to a store (the message names the form)."""


class RecipeError(ObstacError, ValueError):
    """A recipe cannot serve this href as configured (for example ``az://`` with no account)."""


class InvalidRangeError(ObstacError, ValueError):
    """A requested byte range is empty, negative or starts past the end of the object."""


class AssetNotFoundError(ObstacError, FileNotFoundError):
    """The object behind the href does not exist (HTTP 404 or a missing local file)."""


class CredentialsError(ObstacError, PermissionError):
    """The store refused the request: credentials are missing, wrong or expired.

    The message names the recipe and the parameter or environment variable to set.
    """


class RemoteError(ObstacError):
    """The store or the network failed in a way that is neither auth nor not-found.

    Attributes:
        status: The HTTP status code when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        href: str | None = None,
        recipe: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message, href=href, recipe=recipe)
        self.status = status


_STATUS = re.compile(r"(?:status code: |status: )(\d{3})")
_MAX_DETAIL = 300


def status_of(error: BaseException | str) -> int | None:
    """The HTTP status code an obstore error message reports, if any."""
    match = _STATUS.search(str(error))
    return int(match.group(1)) if match else None


def is_range_refusal(error: BaseException) -> bool:
    """Whether obstore failed because the server would not serve the byte range asked for.

    obstore reports a 416 as a status error for S3 and Azure, but as "non-partial response"
    (a 200 to a ranged GET) or ``NotSupportedError`` for HTTP and GCS. A caller may then read
    without a range, or check the range against the object's size.

    Args:
        error: What obstore (or an obstac read) raised.

    Returns:
        True when the range was refused, False for any other failure.
    """
    from obstore.exceptions import NotSupportedError

    return (
        isinstance(error, NotSupportedError)
        or "non-partial response" in str(error)
        or status_of(error) == 416
    )


def _detail(error: BaseException) -> str:
    """The first line of an obstore error, redacted and short enough to read."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    first = redact(first)
    return first if len(first) <= _MAX_DETAIL else first[:_MAX_DETAIL] + "..."


def translate_store_error(
    error: BaseException, *, href: str, recipe: str, credential_hint: str
) -> ObstacError:
    """Turn an obstore (or OS) exception into the matching :class:`ObstacError`.

    Args:
        error: What obstore raised.
        href: The href being read (it is redacted before it is shown).
        recipe: The recipe name, shown so the user knows which configuration to change.
        credential_hint: What to provide when access is refused, e.g. "pass account_key= to
            obstac.recipes.azure() or set AZURE_STORAGE_ACCOUNT_KEY".
    """
    from obstore import exceptions as obs_errors

    shown = redact_url(href)
    detail = _detail(error)
    status = status_of(error)
    if isinstance(error, ObstacError):
        return error
    if isinstance(error, FileNotFoundError) or status == 404:
        return AssetNotFoundError(
            f"no object at {shown} (recipe {recipe!r}): {detail}", href=href, recipe=recipe
        )
    auth_error = (obs_errors.PermissionDeniedError, obs_errors.UnauthenticatedError)
    # S3 answers an expired session token with 400 ExpiredToken: an auth failure all the same.
    expired = "ExpiredToken" in str(error)
    if isinstance(error, auth_error) or status in (401, 403) or expired:
        return CredentialsError(
            f"access to {shown} was refused (recipe {recipe!r}, HTTP {status or 'auth'}): "
            f"{credential_hint}. Server said: {detail}",
            href=href,
            recipe=recipe,
        )
    if status == 416:
        return InvalidRangeError(
            f"the range requested from {shown} is not satisfiable (recipe {recipe!r}): {detail}",
            href=href,
            recipe=recipe,
        )
    return RemoteError(
        f"reading {shown} failed (recipe {recipe!r}): {detail}",
        href=href,
        recipe=recipe,
        status=status,
    )
