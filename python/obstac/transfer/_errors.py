"""The errors of the transfer engine, under :class:`obstac.errors.ObstacError`.

```
ObstacError
└── TransferError                   a transfer failed (the message says where and what to do)
    ├── ChecksumMismatchError       the bytes do not match ``file:checksum``
    └── SizeMismatchError           the object's size is not ``file:size``, or it came short
```

Failures of the store or network keep their :mod:`obstac.errors` class (``RemoteError``,
``CredentialsError``, ``AssetNotFoundError``...); these classes cover what only a transfer can
get wrong: verification, the destination, an object that changed while it was read.
"""

from __future__ import annotations

from obstac.errors import ObstacError

__all__ = ["ChecksumMismatchError", "SizeMismatchError", "TransferError"]


class TransferError(ObstacError):
    """A transfer failed: the destination could not be written, the object changed while it
    was read, retries ran out or the time budget of the asset was spent.

    Attributes:
        target: The destination (local path or store URL), when one applies.
    """

    def __init__(
        self,
        message: str,
        *,
        href: str | None = None,
        recipe: str | None = None,
        target: str | None = None,
    ):
        super().__init__(message, href=href, recipe=recipe)
        self.target = target


class ChecksumMismatchError(TransferError):
    """The bytes received do not match the asset's ``file:checksum``; nothing was kept.

    Attributes:
        expected: The ``file:checksum`` value the asset declares.
        actual: The multihash (hex) of what was received, same algorithm.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: str,
        actual: str,
        href: str | None = None,
        recipe: str | None = None,
        target: str | None = None,
    ):
        super().__init__(message, href=href, recipe=recipe, target=target)
        self.expected = expected
        self.actual = actual


class SizeMismatchError(TransferError):
    """The object's size differs from ``file:size``, or fewer bytes arrived than announced.

    Attributes:
        expected: The size that was expected.
        actual: The size the server reported or the bytes that arrived.
    """

    def __init__(
        self,
        message: str,
        *,
        expected: int,
        actual: int,
        href: str | None = None,
        recipe: str | None = None,
        target: str | None = None,
    ):
        super().__init__(message, href=href, recipe=recipe, target=target)
        self.expected = expected
        self.actual = actual
