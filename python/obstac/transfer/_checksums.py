"""``file:checksum`` values: parse them, hash bytes with the right algorithm, compare.

The STAC file extension stores a checksum as a hex-encoded *multihash*: a varint algorithm
code, a varint digest length, then the digest. Real catalogs use:

| prefix   | algorithm  | seen in |
|----------|------------|---------|
| ``1220`` | sha2-256   | Earth Search (sentinel-2-c1-l2a) |
| ``1340`` | sha2-512   | |
| ``1620`` | sha3-256   | CDSE |
| ``1440`` | sha3-512   | |
| ``d50110`` | md5      | CDSE |
| ``1114`` | sha1       | |
| ``b22020`` | blake2b-256 | |

plus bare 32-hex MD5 digests (no multihash header). Some CDSE values say md5 but carry 32
bytes (``d50120...``): no md5 is 32 bytes long, so such a value is checked against every
supported 32-byte algorithm and counts as verified only if one matches; if none does, the
value cannot be interpreted and the asset is reported unverified rather than failed.

obstac records what it wrote as a sha2-256 multihash (:func:`multihash`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "ALGORITHMS",
    "RECORDED_ALGORITHM",
    "ExpectedChecksum",
    "Hashers",
    "file_digests",
    "multihash",
    "parse_checksum",
]


class _Hash(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def digest(self) -> bytes: ...


@dataclass(frozen=True)
class _Algorithm:
    name: str
    code: int
    size: int
    new: Callable[[], _Hash]


def _blake2b_256() -> _Hash:
    return hashlib.blake2b(digest_size=32)


def _md5() -> _Hash:
    return hashlib.md5(usedforsecurity=False)


def _sha1() -> _Hash:
    return hashlib.sha1(usedforsecurity=False)


ALGORITHMS: Mapping[str, _Algorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        _Algorithm("sha2-256", 0x12, 32, hashlib.sha256),
        _Algorithm("sha2-512", 0x13, 64, hashlib.sha512),
        _Algorithm("sha3-256", 0x16, 32, hashlib.sha3_256),
        _Algorithm("sha3-512", 0x14, 64, hashlib.sha3_512),
        _Algorithm("md5", 0xD5, 16, _md5),
        _Algorithm("sha1", 0x11, 20, _sha1),
        _Algorithm("blake2b-256", 0xB220, 32, _blake2b_256),
    )
}
"""The algorithms obstac can verify, by multihash name."""

_BY_CODE = {algorithm.code: algorithm for algorithm in ALGORITHMS.values()}

RECORDED_ALGORITHM = "sha2-256"
"""What obstac computes for every file it writes and records as ``file:checksum``."""

_HASH_BLOCK = 1024 * 1024
"""Bytes read per step when hashing a file: large enough that hashlib releases the GIL and
the per-call cost vanishes, small enough to stay out of the memory budget."""


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """Decode an unsigned LEB128 varint at ``position``; return (value, next position)."""
    value = shift = 0
    while position < len(data):
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            break
    raise ValueError("truncated or oversized varint")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def multihash(algorithm: str, digest: bytes) -> str:
    """The hex multihash of ``digest`` made with ``algorithm`` (a name from :data:`ALGORITHMS`)."""
    spec = ALGORITHMS[algorithm]
    return (_encode_varint(spec.code) + _encode_varint(len(digest)) + digest).hex()


@dataclass(frozen=True)
class ExpectedChecksum:
    """A parsed ``file:checksum``.

    Attributes:
        value: The value as the asset gave it.
        digest: The digest it carries.
        candidates: The algorithms that may have produced it: one for a well-formed value,
            several when the header contradicts the digest length (see the module docstring),
            none when it cannot be interpreted.
        bare: The value is a bare hex digest, not a multihash.
    """

    value: str
    digest: bytes
    candidates: tuple[str, ...]
    bare: bool = False

    @property
    def exact(self) -> bool:
        """Whether the algorithm is known for sure (a mismatch is then an error)."""
        return len(self.candidates) == 1

    @property
    def verifiable(self) -> bool:
        """Whether any algorithm obstac supports may have produced it."""
        return bool(self.candidates)

    def check(self, digests: Mapping[str, bytes]) -> bool | None:
        """Compare with computed digests: True (match), False (mismatch), None (undecidable).

        A value whose algorithm is not certain is never a mismatch: no candidate matching
        means obstac cannot tell what the value is, so the result is None.
        """
        computed = [digests[name] for name in self.candidates if name in digests]
        if not computed:
            return None
        if any(digest == self.digest for digest in computed):
            return True
        return False if self.exact else None

    def actual(self, digests: Mapping[str, bytes]) -> str:
        """The computed value in this checksum's form, to show next to :attr:`value`."""
        name = self.candidates[0]
        return digests[name].hex() if self.bare else multihash(name, digests[name])


_HEX = frozenset("0123456789abcdef")


def parse_checksum(value: str) -> ExpectedChecksum:
    """Parse a ``file:checksum`` value (hex multihash, or a bare 32-hex MD5).

    Never raises: a value that cannot be interpreted gets no candidate algorithm, and the
    transfer reports the asset as not verified instead of failing it.
    """
    text = value.strip().lower()
    if not text or len(text) % 2 or not set(text) <= _HEX:
        return ExpectedChecksum(value, b"", ())
    raw = bytes.fromhex(text)
    try:
        code, position = _varint(raw, 0)
        length, position = _varint(raw, position)
    except ValueError:
        code, length, position = -1, -1, 0
    digest = raw[position:]
    algorithm = _BY_CODE.get(code)
    if algorithm is not None and length == len(digest):
        if algorithm.size == length:
            return ExpectedChecksum(value, digest, (algorithm.name,))
        # A known code with the digest length of another algorithm (CDSE's "md5" of 32 bytes).
        same_size = tuple(a.name for a in ALGORITHMS.values() if a.size == length)
        return ExpectedChecksum(value, digest, same_size)
    if len(raw) == 16:
        return ExpectedChecksum(value, raw, ("md5",), bare=True)
    if len(raw) == 32:
        return ExpectedChecksum(value, raw, ("sha2-256",), bare=True)
    return ExpectedChecksum(value, b"", ())


class Hashers:
    """Several hashes of one byte stream, fed in order."""

    def __init__(self, algorithms: Iterable[str]) -> None:
        self._hashes = {name: ALGORITHMS[name].new() for name in dict.fromkeys(algorithms)}
        self._buffer: bytearray | None = None

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The algorithm names being computed."""
        return tuple(self._hashes)

    def update(self, data: bytes | memoryview) -> None:
        """Feed the next bytes (hashlib releases the GIL on large buffers)."""
        for hash_ in self._hashes.values():
            hash_.update(data)

    def digests(self) -> dict[str, bytes]:
        """The digests so far, by algorithm name."""
        return {name: hash_.digest() for name, hash_ in self._hashes.items()}

    def update_from_file(self, fd: int, start: int, end: int) -> None:
        """Feed bytes ``[start, end)`` of an open file (blocking: call it in a worker thread).

        Reads into one reused buffer: a fresh multi-MiB ``bytes`` per block would leave
        freed blocks in the allocator's per-thread arenas and grow the process's RSS.
        """
        if self._buffer is None:
            self._buffer = bytearray(_HASH_BLOCK)
        view = memoryview(self._buffer)
        position = start
        while position < end:
            count = os.preadv(fd, [view[: min(_HASH_BLOCK, end - position)]], position)
            if not count:
                raise OSError(f"file ended at byte {position} while hashing up to {end}")
            self.update(view[:count])
            position += count


def file_digests(path: str | os.PathLike[str], algorithms: Iterable[str]) -> dict[str, bytes]:
    """Hash a whole file with each algorithm (blocking: call it in a worker thread)."""
    hashers = Hashers(algorithms)
    fd = os.open(path, os.O_RDONLY)
    try:
        hashers.update_from_file(fd, 0, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    return hashers.digests()
