"""The one delivery sequence, for every destination.

1. re-read the staged file (one streaming pass) and refuse it unless it still has the
   SHA-256 and size recorded when it was staged; the same pass computes the checksum
   the store will report, so no file is read twice for hashing;
2. remove leftovers of killed earlier attempts that the transport owns (``.part``
   files, unfinished multipart uploads), note whether a copy exists already, and delete
   the stale manifest, so an old manifest never vouches for data being replaced;
3. write the data (atomically where the store allows: a folder writes aside and renames);
4. ask the store for the written object's size and checksum and compare; a mismatch
   fails the delivery (a pending write is discarded, a final one stays without manifest);
5. write the manifest the same way and verify it: its presence means the data beside it
   is complete and is what it describes;
6. return the :class:`Receipt`, which the pipeline records.

A failure between any two steps leaves either the old data without a manifest, or new
data without one, or new data with its own manifest; never a manifest beside data it
does not describe. Re-running the delivery repairs it.

Staged files are read only through an :data:`Opener`, opened once per step: a local path
today, an ``ObjectStoragePath`` (any fsspec store) when staging moves off the worker's disk.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import replace

from flatexport.connections import mask_url
from flatexport.destinations.base import (
    MANIFEST_SUFFIX,
    Checksum,
    Opener,
    Payload,
    Receipt,
    Stored,
    Transport,
    probe_name,
)
from flatexport.errors import DeliveryError
from flatexport.hashing import BLOCK, new_digest, sha256_bytes
from flatexport.staged import StagedFile

log = logging.getLogger(__name__)

MANIFEST_TYPE = "application/json"
PROBE_BODY = b"flatexport probe: this object is deleted right after it is written\n"


# --- the staged file -------------------------------------------------------------------


def staged_opener(path: str) -> Opener:
    """How to open a staged file: a local path, or a URL Airflow's object storage reads."""
    if "://" in path:

        def open_url():
            from airflow.sdk import ObjectStoragePath

            return ObjectStoragePath(path).open("rb")

        return open_url
    return lambda: open(path, "rb")  # noqa: SIM115 - the caller closes it


def check_file_name(name: str) -> str:
    """A delivered name is one plain file name: it can never point outside the destination.

    (A backslash is an ordinary character on POSIX, in S3 keys and in Drive names.)"""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or any(ord(c) < 32 or c == "\x7f" for c in name)
        or len(name.encode("utf-8")) > 255
    ):
        raise DeliveryError(f"refusing to deliver a file named {name!r}: not a plain file name")
    return name


def _verified_payload(staged: StagedFile, opener: Opener, check: Checksum) -> Payload:
    """Step 1: the staged bytes still are what was staged (and checked by the gate)."""
    sha = new_digest("sha256")
    size = 0
    where = mask_url(staged.path)
    try:
        with opener() as stream:
            while block := stream.read(BLOCK):
                sha.update(block)
                check.update(block)
                size += len(block)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DeliveryError(f"cannot read staged file {where}: {reason}; re-run the export") from None
    got = sha.hexdigest()
    if got != staged.sha256 or size != staged.bytes:
        raise DeliveryError(
            f"staged file {where} changed since it was staged (checksum mismatch: sha256 {got}, "
            f"{size} bytes; recorded {staged.sha256}, {staged.bytes} bytes); re-run the export"
        )
    return Payload(
        name=staged.name,
        open=opener,
        size=size,
        sha256=got,
        content_type=staged.content_type,
        content_encoding=staged.content_encoding,
    )


def _bytes_payload(name: str, body: bytes, content_type: str) -> Payload:
    return Payload(
        name=name,
        open=lambda: io.BytesIO(body),
        size=len(body),
        sha256=sha256_bytes(body),
        content_type=content_type,
    )


def _checksum_of(transport: Transport, body: bytes) -> Checksum:
    check = transport.checksum(len(body))
    check.update(body)
    return check


# --- writing and verifying one object --------------------------------------------------


def _verify(transport: Transport, payload: Payload, check: Checksum, reported: Stored) -> None:
    """Step 4: the store's own account of the object must match what was sent."""
    fate = (
        "the copy was discarded; nothing was replaced"
        if reported.pending
        else "it was left in place without a manifest; a re-run replaces it"
    )
    if reported.size is not None and reported.size != payload.size:
        raise DeliveryError(
            f"size mismatch for {reported.location}: {transport.store} reports {reported.size} bytes, "
            f"the staged file has {payload.size} ({fate})",
            retryable=True,
        )
    if not check.matches(reported.checksum):
        raise DeliveryError(
            f"checksum mismatch for {reported.location}: {transport.store} reports {check.label} "
            f"{reported.checksum or 'nothing'}, expected {check.value()}; the copy does not match "
            f"the staged file ({fate})",
            retryable=True,
        )


def _write(transport: Transport, payload: Payload, check: Checksum, previous: Stored | None) -> Stored:
    """put → stat → verify → commit; a pending write that fails is discarded."""
    stored = transport.put(payload, previous)
    try:
        reported = transport.stat(stored) if transport.features.stat else stored
        _verify(transport, payload, check, reported)
        return transport.commit(reported)
    except BaseException:
        if stored.pending:
            with contextlib.suppress(Exception):
                transport.discard(stored)
        raise


# --- the sequence -----------------------------------------------------------------------


def deliver(
    transport: Transport,
    staged: StagedFile,
    manifest: bytes | None = None,
    *,
    opener: Opener | None = None,
) -> Receipt:
    """Deliver ``staged`` (and its manifest) through ``transport``; see the module docstring.

    ``opener`` reads the staged bytes; by default the staged path (local or a URL).
    """
    name = check_file_name(staged.name)
    features = transport.features
    if features.manifest == "beside" and not features.delete:
        raise DeliveryError(
            f"{transport.store} cannot delete objects, so it cannot replace a manifest safely; "
            "its manifest must travel with the data"
        )
    check = transport.checksum(staged.bytes)
    data = _verified_payload(staged, opener or staged_opener(staged.path), check)
    manifest_name = name + MANIFEST_SUFFIX
    sidecar = _bytes_payload(manifest_name, manifest, MANIFEST_TYPE) if manifest is not None else None

    if features.manifest == "with_data":
        attachments = (sidecar,) if sidecar else ()
        stored = _write(transport, replace(data, attachments=attachments), check, None)
        # The manifest is a part of the same message: "<where>#<manifest name>".
        travelled = replace(
            stored, name=manifest_name, location=f"{stored.location.split('#')[0]}#{manifest_name}"
        )
        return _receipt(
            transport, data, check, stored, previous=None, manifest=travelled if sidecar else None
        )

    transport.sweep(name)
    previous = transport.find(name) if features.stat else None
    transport.delete(manifest_name)
    stored = _write(transport, data, check, previous)
    written_manifest = None
    if sidecar is not None:
        written_manifest = _write(transport, sidecar, _checksum_of(transport, manifest), None)
    return _receipt(transport, data, check, stored, previous, written_manifest)


def _receipt(
    transport: Transport,
    data: Payload,
    check: Checksum,
    stored: Stored,
    previous: Stored | None,
    manifest: Stored | None,
) -> Receipt:
    receipt = Receipt(
        location=stored.location,
        bytes=stored.size if stored.size is not None else data.size,
        checksum=f"sha256:{data.sha256}",
        verified=f"{check.name}:{stored.checksum or check.value()}",
        replaced=previous is not None,
        manifest=manifest.location if manifest is not None else None,
    )
    log.info(
        "delivered %s to %s (%d bytes, sha256 %s, %s verified%s)",
        data.name,
        receipt.location,
        receipt.bytes,
        data.sha256,
        check.label,
        ", replaced the earlier copy" if receipt.replaced else "",
    )
    return receipt


def roundtrip_probe(transport: Transport) -> str:
    """Write, verify and delete a small object with the delivery's own steps."""
    name = probe_name()
    payload = _bytes_payload(name, PROBE_BODY, "text/plain")
    stored = transport.put(payload, None)
    try:
        reported = transport.stat(stored) if transport.features.stat else stored
        _verify(transport, payload, _checksum_of(transport, PROBE_BODY), reported)
        transport.commit(reported)
    except BaseException:
        with contextlib.suppress(Exception):
            if stored.pending:
                transport.discard(stored)
            else:
                transport.delete(name)
        raise
    transport.delete(name)
    return transport.summary()  # type: ignore[attr-defined]
