"""The contract every destination keeps: deliver a staged file idempotently, verify it,
and probe whether the destination works at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flatexport.staged import StagedFile


@dataclass(frozen=True)
class Receipt:
    """Proof of one delivery: where it landed and the checksum the destination reported."""

    location: str  # URL of the delivered object (s3://b/k, gdrive://folder/fileId, file:///...)
    bytes: int
    checksum: str  # what was verified: "sha256:<hex>" or "md5:<hex>"
    replaced: bool = False  # an earlier copy of the same file was overwritten/updated


class Destination(Protocol):
    url: str

    def deliver(self, staged: StagedFile, manifest: Path | None = None) -> Receipt:
        """Put the data file (then its manifest) at the destination under ``staged.name``.

        A re-run replaces the earlier file; a checksum mismatch raises DeliveryError.
        """
        ...

    def probe(self) -> str:
        """Write and remove a small probe file; return a one-line success description.

        Raises DeliveryError naming the exact problem (bucket missing, access denied, ...).
        """
        ...
