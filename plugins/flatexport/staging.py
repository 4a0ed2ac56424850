"""Staged files: where they live, and the one way they are written, read and removed.

Nothing assumes that two tasks share a disk: an export on one worker, its check on a
second and its delivery on a third all reach the staged file through here.

* The staging root is an Airflow :class:`ObjectStoragePath`, configured once:
  ``FLATEXPORT_STAGING_URL`` (with ``FLATEXPORT_STAGING_CONN_ID``, an Airflow connection)
  for a place every worker reaches (``s3://bucket/prefix``, any fsspec URL), else the
  local folder ``FLATEXPORT_STAGING_DIR`` (default ``<data_dir>/staging``).
* Every attempt stages into its own folder,
  ``<root>/<report>/<org>/<ds>/<subscription>/attempt-<id>/<file>``, so two runs of one
  delivery never share a staged file; every part of that path is checked first.
* An export writes into a local file (in the staging folder itself when it is local, in
  a scratch folder otherwise) and :func:`publish` streams it up; nothing is held whole in
  memory.
* Readers (the quality gate, the delivery) get the bytes only through
  :func:`verified_local`, which checks SHA-256 and size against the staged record first.
* A verified delivery removes its attempt's folder (:func:`discard`); a failed one keeps it
  (files 0600) for inspection until :func:`cleanup` after
  ``FLATEXPORT_STAGING_RETENTION_DAYS``.

A full or read-only disk, or an unreachable store, is one :class:`StagingError` naming
the place and the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flatexport.connections import mask_url
from flatexport.errors import InputError, StagingError
from flatexport.hashing import BLOCK, new_digest
from flatexport.settings import get_settings
from flatexport.staged import StagedFile

log = logging.getLogger(__name__)

ATTEMPT_PREFIX = "attempt-"
# report / org / ds / subscription / attempt-<id>: the folder one attempt owns
ATTEMPT_DEPTH = 5
# one folder or file name: no separator, no control character, not hidden, not . or ..
_SEGMENT = re.compile(r"^[^./\\\x00-\x1f\x7f][^/\\\x00-\x1f\x7f]{0,199}$")
# OS errors a person or another run can clear, so another attempt may help
_RETRYABLE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.ETIMEDOUT, errno.ECONNRESET}

__all__ = [
    "Slot",
    "attempt_slot",
    "cleanup",
    "discard",
    "is_local",
    "open_stream",
    "publish",
    "read_sidecar",
    "remove_sidecar",
    "save_sidecar",
    "staging_root",
    "verified_local",
    "write_sidecar",
]


# --- where ------------------------------------------------------------------------------


def staging_root() -> Any:
    """The staging root as an ObjectStoragePath (a ``file://`` one for the local folder)."""
    from airflow.sdk import ObjectStoragePath

    settings = get_settings()
    if settings.staging_url:
        return ObjectStoragePath(settings.staging_url, conn_id=settings.staging_conn_id)
    root = settings.staging_root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error("create the staging folder", str(root), exc) from None
    return ObjectStoragePath(root.resolve().as_uri())


def is_local(location: str) -> bool:
    """A plain path or a ``file://`` URL: readable in place on this machine."""
    return "://" not in location or location.startswith("file://")


def local_path(location: str) -> Path:
    if location.startswith("file://"):
        return Path(unquote(urlsplit(location).path))
    return Path(location)


def staged_object(location: str) -> Any:
    """The ObjectStoragePath of a staged location; a remote one carries its connection id
    in the URL (``s3://conn@bucket/key``, as ObjectStoragePath writes it)."""
    from airflow.sdk import ObjectStoragePath

    if is_local(location):
        return ObjectStoragePath(local_path(location).resolve().as_uri())
    return ObjectStoragePath(location)


def segment(value: Any, what: str) -> str:
    """One folder name of a staging path: never empty, ``..``, a slash or a control
    character, so no value can put a staged file outside its attempt's folder."""
    text = str(value)
    if not _SEGMENT.match(text):
        raise InputError(f"refusing to stage a file for {what} {text!r}: not a plain name")
    return text


@dataclass(frozen=True)
class Slot:
    """Where one attempt stages its file: ``local`` is where the export writes; for a
    remote root, ``remote`` is where :func:`publish` streams it to."""

    local: Path
    remote: Any = None  # ObjectStoragePath of the staged file, or None for local staging
    scratch: Path | None = None  # the local scratch folder a remote attempt writes into

    @property
    def location(self) -> str:
        return str(self.remote) if self.remote is not None else str(self.local)


def attempt_slot(
    report: str, org_id: str, ds: dt.date, subscription_id: Any, attempt: Any, name: str
) -> Slot:
    """The attempt's own folder and file (created with mode 0700 when local)."""
    parts = [
        segment(report, "report"),
        segment(org_id, "org"),
        segment(ds.isoformat(), "day"),
        segment(subscription_id, "subscription"),
        ATTEMPT_PREFIX + segment(attempt, "attempt"),
    ]
    file = segment(name, "file name")
    root = staging_root()
    if root.protocol in ("file", "local", ""):
        folder = local_path(str(root)).joinpath(*parts)
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise os_error("create the staging folder", str(folder), exc) from None
        return Slot(local=folder / file)
    scratch = _scratch_folder()
    return Slot(local=scratch / file, remote=root.joinpath(*parts, file), scratch=scratch)


def _scratch_folder() -> Path:
    """A private local folder an export writes into before the upload (removed after)."""
    base = get_settings().data_dir / "scratch"
    try:
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="stage-", dir=base))
    except OSError as exc:
        raise os_error("create a scratch folder", str(base), exc) from None


def release_scratch(slot: Slot) -> None:
    if slot.scratch is not None:
        shutil.rmtree(slot.scratch, ignore_errors=True)


def prune_attempt(slot: Slot) -> None:
    """An attempt that staged nothing leaves no empty folder behind."""
    if slot.remote is None:
        with contextlib.suppress(OSError):
            slot.local.parent.rmdir()


# --- writing ----------------------------------------------------------------------------


def publish(slot: Slot, staged: StagedFile) -> StagedFile:
    """Make the exported file the attempt's staged file: 0600 in place when local, else
    streamed to the remote root (and its size checked there). Returns the record with
    the location every worker reads."""
    if slot.remote is None:
        try:
            os.chmod(slot.local, 0o600)
        except OSError as exc:
            raise os_error("protect the staged file", str(slot.local), exc) from None
        return staged
    target = slot.remote
    where = mask_url(str(target))
    try:
        with open(slot.local, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, BLOCK)
        size = target.stat().get("size")
    except OSError as exc:
        raise os_error("upload the staged file to", where, exc) from None
    finally:
        release_scratch(slot)
    if size is not None and int(size) != staged.bytes:
        raise StagingError(
            f"staged file {where} has {size} bytes in staging, {staged.bytes} were written; "
            "re-run the export",
            retryable=True,
        )
    log.info("staged %s (%d bytes)", where, staged.bytes)
    return dataclasses.replace(staged, path=str(target))


def save_sidecar(staged: StagedFile, suffix: str, local_file: Path) -> None:
    """Keep a file that describes the staged one (the gate's PII-free summary, its page)
    beside it, wherever staging is. A local staging's sidecar is already in place."""
    if is_local(staged.path):
        return
    target = staged_object(staged.path + suffix)
    try:
        with open(local_file, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, BLOCK)
    except OSError as exc:
        log.warning(
            "could not keep %s beside the staged file: %s", suffix, exc.strerror or type(exc).__name__
        )


def write_sidecar(staged: StagedFile, suffix: str, data: bytes) -> bool:
    """Put ``data`` beside the staged file (0600 when local, replacing any earlier one
    whole); False, logged, when it cannot be kept. For files that only save work later
    (the export's check tallies): a reader that finds none does the work itself."""
    try:
        if is_local(staged.path):
            target = local_path(staged.path + suffix)
            part = target.with_name(f".{target.name}.part")
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(part, target)
        else:
            with staged_object(staged.path + suffix).open("wb") as fh:
                fh.write(data)
    except OSError as exc:
        log.warning(
            "could not keep %s beside the staged file: %s", suffix, exc.strerror or type(exc).__name__
        )
        return False
    return True


def remove_sidecar(staged: StagedFile, suffix: str) -> None:
    """Drop a sidecar that no longer describes the staged file (missing is fine)."""
    try:
        staged_object(staged.path + suffix).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove %s beside the staged file: %s", suffix, exc.strerror or exc)


def read_sidecar(staged: StagedFile, suffix: str) -> bytes | None:
    try:
        obj = staged_object(staged.path + suffix)
        return obj.read_bytes() if obj.exists() else None
    except OSError:
        return None


# --- reading ----------------------------------------------------------------------------


def open_stream(location: str) -> Any:
    """A binary stream of a staged location (no check: see :func:`verified_local`)."""
    if is_local(location):
        return open(local_path(location), "rb")  # noqa: SIM115 - the caller closes it
    return staged_object(location).open("rb")


@contextlib.contextmanager
def verified_local(staged: StagedFile) -> Iterator[Path]:
    """A local file holding exactly the staged bytes: SHA-256 and size are checked against
    the record before anyone reads them. A local staged file is checked in place; a
    remote one is streamed into a private scratch file (hashed on the way), removed after."""
    where = mask_url(staged.path)
    sha = new_digest("sha256")
    size = 0
    scratch: Path | None = None
    try:
        if is_local(staged.path):
            path = local_path(staged.path)
            with open(path, "rb") as src:
                while block := src.read(BLOCK):
                    sha.update(block)
                    size += len(block)
        else:
            scratch = _scratch_folder()
            path = scratch / Path(staged.name).name
            with staged_object(staged.path).open("rb") as src, open(path, "wb") as dst:
                os.chmod(path, 0o600)
                while block := src.read(BLOCK):
                    sha.update(block)
                    size += len(block)
                    dst.write(block)
    except FileNotFoundError:
        _drop(scratch)
        raise StagingError(f"staged file {where} is gone; re-run the export") from None
    except OSError as exc:
        _drop(scratch)
        raise os_error("read the staged file", where, exc) from None
    got = sha.hexdigest()
    if got != staged.sha256 or size != staged.bytes:
        _drop(scratch)
        raise StagingError(
            f"staged file {where} changed since it was staged (checksum mismatch: sha256 {got}, "
            f"{size} bytes; recorded {staged.sha256}, {staged.bytes} bytes); re-run the export"
        )
    try:
        yield path
    finally:
        _drop(scratch)


def _drop(scratch: Path | None) -> None:
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


# --- removing ---------------------------------------------------------------------------


def attempt_folder(location: str) -> str | None:
    """The attempt folder holding a staged file, if it is one (never anything wider)."""
    parent = location.rsplit("/", 1)[0] if "/" in location else ""
    return parent if parent.rsplit("/", 1)[-1].startswith(ATTEMPT_PREFIX) else None


def discard(staged: StagedFile) -> None:
    """After a verified delivery: the attempt's staged copy (full PII, perhaps) is removed
    with its sidecars. A failure to remove is logged; cleanup gets it later."""
    folder = attempt_folder(staged.path)
    try:
        if folder is None:
            staged_object(staged.path).unlink(missing_ok=True)
        elif is_local(folder):
            shutil.rmtree(local_path(folder))
        else:
            obj = staged_object(folder)
            obj.fs.rm(obj.path, recursive=True)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("staged copy %s not removed (%s); cleanup removes it later", mask_url(staged.path), exc)


def cleanup(retention_days: int | None = None, now: dt.datetime | None = None) -> list[str]:
    """Remove attempt folders whose newest file is older than the retention (failed
    attempts kept for inspection, and those of killed workers); returns what was removed."""
    days = get_settings().staging_retention_days if retention_days is None else retention_days
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    root = staging_root()
    fs, base = root.fs, root.path.rstrip("/")
    try:
        found = fs.find(base, detail=True) if fs.exists(base) else {}
    except OSError as exc:
        raise os_error("list the staging folder", mask_url(str(root)), exc) from None
    newest: dict[str, dt.datetime] = {}
    for key, info in found.items():
        rel = key[len(base) :].strip("/").split("/")
        if len(rel) <= ATTEMPT_DEPTH or not rel[ATTEMPT_DEPTH - 1].startswith(ATTEMPT_PREFIX):
            continue
        folder = base + "/" + "/".join(rel[:ATTEMPT_DEPTH])
        when = _modified(info)
        if folder not in newest or when > newest[folder]:
            newest[folder] = when
    removed = []
    for folder, when in sorted(newest.items()):
        if when >= cutoff:
            continue
        try:
            fs.rm(folder, recursive=True)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("staged attempt %s not removed: %s", folder, exc)
            continue
        removed.append(folder)
        if root.protocol in ("file", "local", ""):
            _prune_empty(Path(folder).parent, Path(base))
    log.info("staging cleanup: %d attempt folder(s) older than %d day(s) removed", len(removed), days)
    return removed


def _modified(info: dict[str, Any]) -> dt.datetime:
    value = info.get("mtime", info.get("LastModified", info.get("created")))
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return dt.datetime.now(dt.UTC)  # unknown: treat as new, never delete by mistake


def _prune_empty(folder: Path, base: Path) -> None:
    while folder != base and base in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def duckdb_io_reason(exc: BaseException) -> str | None:
    """DuckDB writes the CSV chunks itself and reports a full or read-only disk as its own
    IOException; its OS reason (the message's last part), or None for anything else."""
    kind = type(exc)
    if "duckdb" not in kind.__module__ or kind.__name__ != "IOException":
        return None
    text = (str(exc).strip().splitlines() or [kind.__name__])[0]
    return text.rsplit(": ", 1)[-1]


def os_error(action: str, where: str, exc: OSError) -> StagingError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    retryable = exc.errno in _RETRYABLE_ERRNOS
    return StagingError(f"cannot {action} {where}: {reason}", retryable=retryable)
