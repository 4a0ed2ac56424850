"""The folder transport on real file systems: the umask, full and read-only disks (a small
tmpfs mounted for the test), leftovers of killed copies, and file:// URL normalisation."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flatexport.destinations import deliver, destination_for
from flatexport.destinations.base import Stored
from flatexport.destinations.local import FolderTransport, folder_from_url, normalize_file_url
from flatexport.errors import DeliveryError
from flatexport.hashing import sha256_bytes
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

NAME = "clickstream_2024-11-04.csv"
MANIFEST = NAME + ".manifest.json"
PAGE = 4096


def manifest_for(staged: StagedFile) -> bytes:
    return json.dumps({"sha256": staged.sha256}).encode()


def assert_consistent(folder: Path) -> None:
    """No manifest beside data it does not describe."""
    if (folder / MANIFEST).exists():
        described = json.loads((folder / MANIFEST).read_text())["sha256"]
        assert described == sha256_bytes((folder / NAME).read_bytes())


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


# --- permissions -----------------------------------------------------------------------------


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_delivered_files_honour_the_umask(mask, umask, tmp_path, make_staged) -> None:
    umask(mask)
    staged = make_staged(b"a,b\n1,2\n", name=NAME)
    deliver(FolderTransport((tmp_path / "out").as_uri()), staged, manifest_for(staged))

    for name in (NAME, MANIFEST):
        assert stat.S_IMODE((tmp_path / "out" / name).stat().st_mode) == 0o666 & ~mask


# --- leftovers of killed copies --------------------------------------------------------------


def test_the_next_run_removes_its_own_part_files_and_only_those(tmp_path, make_staged) -> None:
    out = tmp_path / "out"
    out.mkdir()
    ours = [
        f".{NAME}.0123456789abcdef.part",  # this transport's temp names
        f".{MANIFEST}.fedcba9876543210.part",
        f".{NAME}.k2j_x9ab.part",  # the earlier mkstemp-based copy's
    ]
    theirs = [".other.csv.0123456789abcdef.part", f"{NAME}.part", f".{NAME}.customer-notes.part"]
    for name in ours + theirs:
        (out / name).write_bytes(b"half")

    staged = make_staged(b"a\n1\n", name=NAME)
    deliver(FolderTransport(out.as_uri()), staged, manifest_for(staged))

    assert sorted(p.name for p in out.iterdir()) == sorted([NAME, MANIFEST, *theirs])


# --- full and read-only disks ----------------------------------------------------------------


@dataclass
class SmallDisk:
    """A tmpfs of a few pages: writes beyond it fail with ENOSPC, as on a full disk."""

    path: Path

    def _mount(self, options: str) -> None:
        subprocess.run(["mount", "-o", options, str(self.path)], check=True, capture_output=True)

    def resize(self, pages: int) -> None:
        self._mount(f"remount,size={pages * PAGE}")

    def read_only(self, on: bool) -> None:
        self._mount("remount,ro" if on else "remount,rw")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={4 * PAGE},mode=0755", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def test_a_full_disk_while_writing_data_is_one_line_and_leaves_no_wrong_manifest(
    small_disk, make_staged
) -> None:
    out = small_disk.path / "out"
    old = make_staged(b"x" * 100, name=NAME)
    deliver(FolderTransport(out.as_uri()), old, manifest_for(old))
    new = make_staged(os.urandom(6 * PAGE), name=NAME)  # more than is left

    with pytest.raises(DeliveryError) as err:
        deliver(FolderTransport(out.as_uri()), new, manifest_for(new))

    assert str(err.value) == f"cannot write {out / NAME}: No space left on device"
    assert err.value.retryable is False
    assert (out / NAME).read_bytes() == b"x" * 100  # the old data is untouched...
    assert not (out / MANIFEST).exists()  # ...and no longer vouched for
    assert parts(out) == []
    small_disk.resize(16)  # someone frees space; the next run repairs the day
    deliver(FolderTransport(out.as_uri()), new, manifest_for(new))
    assert (out / NAME).read_bytes() == Path(new.path).read_bytes()
    assert_consistent(out)
    assert (out / MANIFEST).exists()


def test_a_full_disk_while_writing_the_manifest_leaves_data_without_one(small_disk, make_staged) -> None:
    out = small_disk.path / "out"
    staged = make_staged(os.urandom(4 * PAGE), name=NAME)  # fills the disk exactly

    with pytest.raises(DeliveryError) as err:
        deliver(FolderTransport(out.as_uri()), staged, manifest_for(staged))

    assert str(err.value) == f"cannot write {out / MANIFEST}: No space left on device"
    assert (out / NAME).read_bytes() == Path(staged.path).read_bytes()
    assert not (out / MANIFEST).exists()
    assert parts(out) == []
    small_disk.resize(8)
    deliver(FolderTransport(out.as_uri()), staged, manifest_for(staged))
    assert_consistent(out)
    assert (out / MANIFEST).exists()


def test_a_read_only_folder_refuses_before_anything_changes(small_disk, make_staged) -> None:
    out = small_disk.path / "out"
    old = make_staged(b"old\n", name=NAME)
    deliver(FolderTransport(out.as_uri()), old, manifest_for(old))
    small_disk.read_only(True)
    new = make_staged(b"new\n", name=NAME)

    with pytest.raises(DeliveryError) as err:
        deliver(FolderTransport(out.as_uri()), new, manifest_for(new))

    assert str(err.value) == f"cannot remove {out / MANIFEST}: Read-only file system"
    assert err.value.retryable is False
    assert (out / NAME).read_bytes() == b"old\n"
    assert_consistent(out)
    small_disk.read_only(False)
    deliver(FolderTransport(out.as_uri()), new, manifest_for(new))
    assert (out / NAME).read_bytes() == b"new\n"
    assert_consistent(out)


class GoesReadOnlyBeforeManifest:
    """The file system turns read-only between the verified data and its manifest."""

    def __init__(self, inner: FolderTransport, disk: SmallDisk) -> None:
        self.inner, self.disk = inner, disk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, payload: Any, previous: Stored | None = None) -> Stored:
        if payload.name == MANIFEST:
            self.disk.read_only(True)
        return self.inner.put(payload, previous)


def test_a_folder_turning_read_only_before_the_manifest_leaves_data_without_one(
    small_disk, make_staged
) -> None:
    out = small_disk.path / "out"
    old = make_staged(b"old\n", name=NAME)
    deliver(FolderTransport(out.as_uri()), old, manifest_for(old))
    new = make_staged(b"new\n", name=NAME)

    with pytest.raises(DeliveryError, match=f"^cannot write {out / MANIFEST}: Read-only file system$"):
        deliver(GoesReadOnlyBeforeManifest(FolderTransport(out.as_uri()), small_disk), new, manifest_for(new))

    assert (out / NAME).read_bytes() == b"new\n"
    assert not (out / MANIFEST).exists()
    small_disk.read_only(False)
    deliver(FolderTransport(out.as_uri()), new, manifest_for(new))
    assert_consistent(out)
    assert (out / MANIFEST).exists()


# --- file:// URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "folder"),
    [
        ("file:///srv/exports/acme", "/srv/exports/acme"),
        ("file:///srv/exports/acme/", "/srv/exports/acme"),
        ("file:///srv//exports///acme", "/srv/exports/acme"),
        ("file:///srv/exports/acme/../globex", "/srv/exports/globex"),
        ("file:///srv/exports/acme/%2e%2e/globex", "/srv/exports/globex"),
        ("file:///srv/exports/acme/%2E%2E/%2e%2e/%2e%2e/etc", "/etc"),
        ("file:///../../etc", "/etc"),
        ("file:///srv/exports/./acme", "/srv/exports/acme"),
        ("file://localhost/srv/a%20b", "/srv/a b"),
        ("FILE:///srv/x", "/srv/x"),
    ],
)
def test_file_urls_are_normalised_before_use(url: str, folder: str) -> None:
    assert folder_from_url(url) == Path(folder)
    assert ".." not in folder_from_url(url).parts
    assert folder_from_url(normalize_file_url(url)) == Path(folder)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file://relative/path", "not a local folder URL"),
        ("file:relative", "must name an absolute folder"),
        ("file:///srv/x%00y", "NUL byte"),
        ("file:///srv/x?y=1", "query or fragment"),
        ("s3://bucket/x", "not a local folder URL"),
    ],
)
def test_bad_file_urls_are_one_line_errors(url: str, message: str) -> None:
    with pytest.raises(DeliveryError, match=message):
        folder_from_url(url)


def test_a_dotted_url_delivers_into_the_folder_it_normalises_to_and_nowhere_else(
    tmp_path, make_staged
) -> None:
    base = tmp_path / "exports"
    (base / "acme").mkdir(parents=True)
    url = (base / "acme").as_uri() + "/%2e%2e/globex"
    staged = make_staged(b"a\n1\n", name=NAME)

    receipt = deliver(destination_for(Subscription(id=1, org_id="o", report="r", destination=url)), staged)

    assert receipt.location == (base / "globex" / NAME).as_uri()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        [str(Path(staged.path).relative_to(tmp_path)), f"exports/globex/{NAME}"]
    )
    assert list((base / "acme").iterdir()) == []


def test_the_root_folder_is_never_a_destination() -> None:
    with pytest.raises(DeliveryError, match="root folder"):
        FolderTransport("file:///%2e%2e")


# --- staged files addressed by URL --------------------------------------------------------------


def test_a_staged_file_named_by_url_is_read_through_airflow_object_storage(tmp_path, make_staged) -> None:
    """Staging may move off the worker's disk (ObjectStoragePath); the driver reads URLs."""
    local = make_staged(b"a,b\n1,2\n", name=NAME)
    staged = StagedFile(**{**local.to_xcom(), "path": Path(local.path).as_uri()})

    receipt = deliver(FolderTransport((tmp_path / "out").as_uri()), staged, manifest_for(staged))

    assert (tmp_path / "out" / NAME).read_bytes() == b"a,b\n1,2\n"
    assert receipt.checksum == f"sha256:{staged.sha256}"


def test_a_missing_staged_file_is_one_line(tmp_path, make_staged) -> None:
    staged = make_staged(b"x\n", name=NAME)
    Path(staged.path).unlink()
    with pytest.raises(DeliveryError) as err:
        deliver(FolderTransport((tmp_path / "out").as_uri()), staged)
    assert str(err.value) == (
        f"cannot read staged file {staged.path}: No such file or directory; re-run the export"
    )
