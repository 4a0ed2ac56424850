"""What a destination is to the delivery driver: a thin transport over one store.

The driver (:mod:`flatexport.destinations.driver`) owns the delivery sequence for every
destination; a transport only knows how to talk to its store:

=========== ===================================================================
``find``    the object a name refers to now, or None (is this a re-delivery?)
``delete``  make sure no object has that name afterwards (the stale manifest)
``put``     write one payload, streamed from its opener; replaces ``previous``
``stat``    what the store reports for a written object: size and checksum
``commit``  publish a pending write (a folder renames its ``.part`` file)
``discard`` drop a pending write that failed verification
``sweep``   remove what killed earlier deliveries of a name (and its manifest) left
``probe``   write, verify and delete a small object (default: the driver's round trip)
=========== ===================================================================

``features`` says what the store cannot do, so a mailbox (cannot stat or delete; the
manifest travels inside the same message) goes through the same driver, the same
checksum comparison and the same receipt as a bucket.

Checksums: ``checksum(size)`` returns a fresh :class:`Checksum` computing, from the
bytes the driver streams, exactly the value the store will report (a folder: SHA-256;
Drive: MD5; S3: its SHA-256 or multipart composite). The driver computes it in the same
single read that re-checks the staged file, and compares it with ``stat``'s answer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, Protocol

from flatexport.hashing import new_digest

Opener = Callable[[], BinaryIO]
"""Opens a fresh binary stream at byte 0 (a local file, an ObjectStoragePath, bytes);
the caller closes it. Transports read payloads only through it."""

PROBE_PREFIX = ".flatexport-probe-"
MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class Features:
    """What a store can do; the driver skips or reshapes the steps a store lacks."""

    delete: bool = True  # can remove objects: stale manifests, its own leftovers
    stat: bool = True  # can report a written object's size and checksum afterwards
    # "beside": the manifest is its own object, written after the verified data;
    # "with_data": it travels inside the same put (an email carries both attachments).
    manifest: Literal["beside", "with_data"] = "beside"


@dataclass(frozen=True)
class Payload:
    """One object to write: its name at the destination and how to read its bytes."""

    name: str
    open: Opener
    size: int
    sha256: str  # hex, verified by the driver before the payload reaches a transport
    content_type: str
    content_encoding: str | None = None
    # Objects that travel with this one (Features.manifest == "with_data").
    attachments: tuple[Payload, ...] = ()


@dataclass(frozen=True)
class Stored:
    """An object as the store reports it.

    ``ref`` is the transport's own handle (an S3 key, a Drive file id, a file path);
    ``pending`` marks a write that is not yet visible under its name.
    """

    name: str
    location: str  # URL shown to people and kept in receipts: no secrets
    size: int | None = None
    checksum: str | None = None  # in the algorithm of the transport's Checksum
    ref: Any = None
    pending: bool = False


@dataclass(frozen=True)
class Receipt:
    """Proof of one delivery, recorded by the pipeline."""

    location: str  # the delivered data file: s3://b/k, gdrive://folder/fileId, file:///...
    bytes: int
    checksum: str  # "sha256:<hex>" of the delivered bytes: the staged record, the manifest's
    verified: str  # what the destination reported and the driver compared ("md5:<hex>", ...)
    replaced: bool = False  # an earlier copy under the same name was replaced
    manifest: str | None = None  # location of the manifest written beside it


class Checksum(Protocol):
    """A running digest with the store's name for it (``"md5"``, ``"s3-sha256"``...)."""

    name: str
    label: str  # how messages name it: "SHA-256", "MD5"

    def update(self, block: bytes) -> None: ...

    def value(self) -> str: ...

    def matches(self, reported: str | None) -> bool: ...


@dataclass
class HashChecksum:
    """A plain hashlib digest reported as lowercase hex (folders: sha256, Drive: md5)."""

    name: str
    label: str
    _digest: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._digest = new_digest(self.name)

    def update(self, block: bytes) -> None:
        self._digest.update(block)

    def value(self) -> str:
        return self._digest.hexdigest()

    def matches(self, reported: str | None) -> bool:
        return bool(reported) and str(reported).lower() == self.value()


class Transport(Protocol):
    """A store the driver can deliver to; see the module docstring for each step."""

    url: str  # the destination, display-safe
    store: str  # how messages name the store: "S3", "Google Drive", "folder"
    features: Features

    def checksum(self, size: int) -> Checksum: ...

    def sweep(self, name: str) -> None: ...

    def find(self, name: str) -> Stored | None: ...

    def delete(self, name: str) -> None: ...

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored: ...

    def stat(self, stored: Stored) -> Stored: ...

    def commit(self, stored: Stored) -> Stored: ...

    def discard(self, stored: Stored) -> None: ...

    def probe(self) -> str: ...


class TransportBase:
    """Defaults for stores whose writes are final at once and leave nothing behind."""

    url: str
    store: str
    features = Features()

    def sweep(self, name: str) -> None:
        return None

    def commit(self, stored: Stored) -> Stored:
        return stored

    def discard(self, stored: Stored) -> None:
        return None

    def summary(self) -> str:
        """The one line ``probe`` prints on success."""
        return f"{self.url} is writable"

    def probe(self) -> str:
        """Write, verify and delete a small probe object through the driver's own steps."""
        from flatexport.destinations.driver import roundtrip_probe

        return roundtrip_probe(self)  # type: ignore[arg-type]


def probe_name() -> str:
    return f"{PROBE_PREFIX}{secrets.token_hex(8)}"
