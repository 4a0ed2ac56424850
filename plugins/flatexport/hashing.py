"""File checksums, computed one way everywhere: while writing, before delivery, after it.

A staged file's SHA-256 is taken from the bytes as they are written (:class:`HashingWriter`),
checked again before a destination receives it (:func:`file_digests`), and compared with
what the destination reports. Destinations that report another algorithm (Drive: MD5)
ask for it in the same single read of the file.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

BLOCK = 1 << 20

__all__ = ["BLOCK", "HashingWriter", "file_digests", "md5_file", "new_digest", "sha256_bytes", "sha256_file"]


def new_digest(algorithm: str) -> hashlib._Hash:
    """A fresh hash object; MD5 only ever verifies a transfer, never secures anything."""
    if algorithm == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(algorithm)


def stream_digests(stream: BinaryIO, algorithms: Iterable[str] = ("sha256",)) -> tuple[dict[str, str], int]:
    """Hex digests of everything left in ``stream`` and its size, in one pass."""
    digests = {a: new_digest(a) for a in algorithms}
    size = 0
    while block := stream.read(BLOCK):
        size += len(block)
        for d in digests.values():
            d.update(block)
    return {a: d.hexdigest() for a, d in digests.items()}, size


def file_digests(path: str | Path, algorithms: Iterable[str] = ("sha256",)) -> tuple[dict[str, str], int]:
    """Hex digests of a file for each algorithm, and its size, reading it once."""
    with open(path, "rb") as fh:
        return stream_digests(fh, algorithms)


def sha256_file(path: str | Path) -> str:
    return file_digests(path, ("sha256",))[0]["sha256"]


def md5_file(path: str | Path) -> str:
    return file_digests(path, ("md5",))[0]["md5"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HashingWriter(io.RawIOBase):
    """Counts and hashes (SHA-256) bytes on their way to ``raw``."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data)
        self.digest.update(view)
        self.size += len(view)
        self.raw.write(view)
        return len(view)

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()
