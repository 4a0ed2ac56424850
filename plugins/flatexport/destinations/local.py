"""Local folder destination (demo, tests, and mounted shares): atomic temp + rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from flatexport.destinations.base import Receipt
from flatexport.errors import DeliveryError
from flatexport.hashing import sha256_file
from flatexport.staged import StagedFile


def folder_from_url(url: str) -> Path:
    parsed = urlparse(url)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        raise DeliveryError(f"not a local folder URL: {url!r} (expected file:///absolute/path)")
    return Path(unquote(parsed.path))


def atomic_copy(src: Path, dest: Path, expected_sha256: str | None = None) -> None:
    """Copy, verify, then rename in the same folder: readers never see a half-written
    file, and a copy that does not match the staged checksum never takes the old one's place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        if expected_sha256 is not None:
            got = sha256_file(tmp)
            if got != expected_sha256:
                raise DeliveryError(f"checksum mismatch writing {dest}: {got} != {expected_sha256}")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class LocalFolderDestination:
    def __init__(self, url: str) -> None:
        self.url = url
        self.folder = folder_from_url(url)

    def _ensure_folder(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeliveryError(f"cannot create folder {self.folder}: {exc.strerror}") from exc

    def deliver(self, staged: StagedFile, manifest: Path | None = None) -> Receipt:
        self._ensure_folder()
        dest = self.folder / staged.name
        replaced = dest.exists()
        try:
            atomic_copy(Path(staged.path), dest, expected_sha256=staged.sha256)
        except OSError as exc:
            raise DeliveryError(f"cannot write {dest}: {exc.strerror}") from exc
        got = staged.sha256
        if manifest is not None:
            atomic_copy(manifest, self.folder / f"{staged.name}.manifest.json")
        return Receipt(
            location=dest.as_uri(), bytes=staged.bytes, checksum=f"sha256:{got}", replaced=replaced
        )

    def probe(self) -> str:
        self._ensure_folder()
        probe = self.folder / ".flatexport-probe"
        try:
            probe.write_bytes(b"flatexport probe\n")
            probe.unlink()
        except OSError as exc:
            raise DeliveryError(f"cannot write to {self.folder}: {exc.strerror}") from exc
        return f"folder {self.folder} is writable"
