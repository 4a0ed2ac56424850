"""Local folder transport (demo, tests, mounted shares): write aside, verify, rename.

* Writes go to a hidden ``.<name>.<token>.part`` file in the same folder, are flushed to
  disk, read back for the driver's checksum comparison, and only then renamed over the
  name: readers never see a half-written file, and a copy that does not verify never
  takes the old one's place. ``sweep`` removes ``.part`` files of the same name that a
  killed attempt left behind (and only those: the pattern is ours).
* Two deliveries of the same name at the same time are not this module's to arbitrate
  (one run per delivery is held upstream); if they happened, one's sweep could remove the
  other's ``.part`` and that one fails with a clear error, never a mixed file.
* Files are created with mode 0666 minus the process umask, like any other program's
  files, so the customer's group or share settings apply.
* A full or read-only disk is one line naming the file and the reason, never a traceback.
* ``file://`` URLs are normalised before use (percent-escapes, ``.`` and ``..``, repeated
  slashes), and a delivered name is always one plain file name, so nothing is ever
  written outside the folder the normalised URL names.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import secrets
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from flatexport.destinations.base import (
    MANIFEST_SUFFIX,
    HashChecksum,
    Payload,
    Stored,
    TransportBase,
)
from flatexport.errors import CustomerAction, DeliveryError
from flatexport.hashing import BLOCK, stream_digests

# errno values a person must fix; anything else (EIO, ESTALE on NFS...) may pass on retry.
PERMANENT_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.EEXIST,
    }
)


def folder_from_url(url: str) -> Path:
    """The absolute, normalised folder a ``file:///path`` URL names.

    ``%2e%2e`` and ``..`` are resolved here, before anything uses the path, so
    ``file:///srv/exports/a/%2e%2e/b`` is ``/srv/exports/b`` for validation and delivery
    alike. NUL bytes, relative paths and hosts other than localhost are refused.
    """
    try:
        parsed = urlsplit(url)
    except ValueError:
        raise DeliveryError(f"not a local folder URL: {url!r} (expected file:///absolute/path)") from None
    if parsed.scheme.lower() != "file" or parsed.netloc.lower() not in ("", "localhost"):
        raise DeliveryError(f"not a local folder URL: {url!r} (expected file:///absolute/path)")
    if parsed.query or parsed.fragment:
        raise DeliveryError(f"local folder URL {url!r} must not have a query or fragment")
    raw = unquote(parsed.path)
    if "\x00" in raw:
        raise DeliveryError(f"local folder URL {url!r} contains a NUL byte")
    if not raw.startswith("/"):
        raise DeliveryError(f"local folder URL {url!r} must name an absolute folder (file:///path)")
    path = "/" + posixpath.normpath(raw).lstrip("/")  # '//x' and '/../x' both become '/x'
    return Path(path)


def normalize_file_url(url: str) -> str:
    """One spelling per folder: ``file:///srv/x/../y//`` and ``file:///srv/%79`` are ``file:///srv/y``."""
    return "file://" + quote(str(folder_from_url(url)))


# errno values that mean the folder's owner took our write access away (a mounted share).
DENIED_ERRNOS = frozenset({errno.EACCES, errno.EPERM})


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


class FolderTransport(TransportBase):
    """Delivers into one local (or mounted) folder."""

    store = "folder"

    def __init__(self, url: str) -> None:
        self.folder = folder_from_url(url)
        if self.folder == Path("/"):
            raise DeliveryError(f"refusing to deliver into the root folder / ({url!r})")
        self.url = self.folder.as_uri()
        self._ready = False

    # helpers
    def _error(self, action: str, path: Path, exc: OSError) -> DeliveryError:
        return DeliveryError(
            f"cannot {action} {path}: {_reason(exc)}",
            retryable=exc.errno not in PERMANENT_ERRNOS,
            customer_action=self._denied(exc),
        )

    def _denied(self, exc: OSError) -> CustomerAction | None:
        if exc.errno not in DENIED_ERRNOS:
            return None
        return CustomerAction(
            "permission_denied", f"Let flatexport create and replace files in folder {self.folder} again."
        )

    def _ensure_folder(self) -> None:
        if self._ready:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(
                f"cannot create folder {self.folder}: {_reason(exc)}", customer_action=self._denied(exc)
            ) from None
        if not self.folder.is_dir():
            raise DeliveryError(f"cannot deliver into {self.folder}: it is not a folder")
        self._ready = True

    def _part_pattern(self, name: str) -> re.Pattern[str]:
        """Temp files of this name and of its manifest: ours are .<name>.<16 hex>.part; before
        this transport, mkstemp's .<name>.<8 chars>.part."""
        names = "|".join(re.escape(n) for n in (name, name + MANIFEST_SUFFIX))
        return re.compile(rf"\.(?:{names})\.(?:[0-9a-f]{{16}}|[a-z0-9_]{{8}})\.part")

    def _fsync_folder(self) -> None:
        try:
            fd = os.open(self.folder, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass  # some file systems cannot sync a directory; the rename is still atomic
        finally:
            os.close(fd)

    def _stored(self, name: str, path: Path, *, pending: bool = False, **facts) -> Stored:
        return Stored(name=name, location=(self.folder / name).as_uri(), ref=path, pending=pending, **facts)

    # transport
    def checksum(self, size: int) -> HashChecksum:
        return HashChecksum("sha256", "SHA-256")

    def sweep(self, name: str) -> None:
        self._ensure_folder()
        pattern = self._part_pattern(name)
        try:
            leftovers = [e.name for e in os.scandir(self.folder) if pattern.fullmatch(e.name)]
        except OSError as exc:
            raise self._error("list", self.folder, exc) from None
        for leftover in leftovers:
            try:
                (self.folder / leftover).unlink(missing_ok=True)
            except OSError as exc:
                raise self._error("remove the leftover", self.folder / leftover, exc) from None

    def find(self, name: str) -> Stored | None:
        # Only looks: a dry run asks every destination and must leave no folder behind.
        path = self.folder / name
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._error("read", path, exc) from None
        if not path.is_file():
            raise DeliveryError(f"cannot deliver {name!r} into {self.folder}: a folder of that name is there")
        return self._stored(name, path, size=st.st_size)

    def delete(self, name: str) -> None:
        self._ensure_folder()
        path = self.folder / name
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise self._error("remove", path, exc) from None
        self._fsync_folder()

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored:
        self._ensure_folder()
        part = self.folder / f".{payload.name}.{secrets.token_hex(8)}.part"
        try:
            # 0o666 & ~umask, like any program's files (mkstemp would force 0600).
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            raise self._error("write", self.folder / payload.name, exc) from None
        try:
            with os.fdopen(fd, "wb") as out, payload.open() as stream:
                while block := stream.read(BLOCK):
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise self._error("write", self.folder / payload.name, exc) from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return self._stored(payload.name, part, pending=True)

    def stat(self, stored: Stored) -> Stored:
        """Read the written bytes back: the folder's own account of what it holds."""
        path = Path(stored.ref)
        try:
            with open(path, "rb") as fh:
                digests, size = stream_digests(fh, ("sha256",))
        except OSError as exc:
            raise self._error("read back", path, exc) from None
        return Stored(
            name=stored.name,
            location=stored.location,
            size=size,
            checksum=digests["sha256"],
            ref=stored.ref,
            pending=stored.pending,
        )

    def commit(self, stored: Stored) -> Stored:
        if not stored.pending:
            return stored
        dest = self.folder / stored.name
        try:
            os.replace(stored.ref, dest)
        except OSError as exc:
            raise self._error("write", dest, exc) from None
        self._fsync_folder()
        return Stored(
            name=stored.name,
            location=dest.as_uri(),
            size=stored.size,
            checksum=stored.checksum,
            ref=dest,
        )

    def discard(self, stored: Stored) -> None:
        if stored.pending:
            Path(stored.ref).unlink(missing_ok=True)

    def summary(self) -> str:
        return f"folder {self.folder} is writable"
