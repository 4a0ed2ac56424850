"""Full and read-only disks at every step, on real file systems: a small tmpfs mounted
for the test (root only; skipped where mounting is not allowed) holds the staging
folder, the data folder or the customer's folder, and is filled up or remounted
read-only. Each fault must end the run with one line naming the place and the reason
(no traceback), leave no manifest beside data it does not describe, and the next run,
once the disk is fixed, must repair the day.

Faults tried here: staging full, staging read-only, data folder read-only, destination
full while the data is written, destination full while the manifest is written,
destination read-only. (Killed runs: test_attempts; concurrent runs: test_locks.)
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flatexport.hashing import sha256_file
from tests.staging.conftest import DAY, NAME, Env, staged_attempts

pytestmark = pytest.mark.slow
PAGE = 4096
MANIFEST = NAME + ".manifest.json"


@pytest.fixture
def control_url(tmp_path: Path) -> str:
    """SQLite is enough here: the faults are the disks'."""
    return f"sqlite:///{tmp_path}/control.db"


class Disk:
    """A tmpfs of a few pages, and the ways it goes wrong."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / ".filler"

    def _mount(self, *options: str) -> None:
        subprocess.run(["mount", "-o", ",".join(["remount", *options]), str(self.path)], check=True)

    def fill(self, leave_pages: int = 0) -> None:
        """Write until the disk is full, then give back ``leave_pages`` pages."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            block = b"\0" * PAGE
            while True:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
            size = os.fstat(fd).st_size // PAGE * PAGE
            os.ftruncate(fd, max(0, size - leave_pages * PAGE))
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self) -> None:
        self._mount("ro")

    def writable(self) -> None:
        self._mount("rw")


@contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Disk]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): needs root")
    try:
        yield Disk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _one_error_line(result: subprocess.CompletedProcess, *parts: str) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for part in parts:
        assert part in errors[0], errors[0]
    return errors[0]


def _consistent(folder: Path) -> None:
    """Never a manifest beside data it does not describe."""
    manifest = folder / MANIFEST
    if manifest.exists():
        assert json.loads(manifest.read_text())["sha256"] == sha256_file(folder / NAME)
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")] if folder.exists() else True


def _repaired(env: Env, dest: Path) -> None:
    result = env.run_day()
    assert result.returncode == 0, result.stderr
    assert (dest / NAME).exists() and (dest / MANIFEST).exists()
    _consistent(dest)
    assert env.deliveries()[-1][1] == "delivered"


@pytest.mark.parametrize(
    "fault, reason", [("full", "No space left on device"), ("read-only", "Read-only file system")]
)
def test_a_full_or_read_only_staging_disk(env: Env, tmp_path: Path, fault: str, reason: str):
    dest = tmp_path / "dest"
    with small_disk(tmp_path / "staging-disk") as disk:
        env.vars["FLATEXPORT_STAGING_DIR"] = str(disk.path)
        sub_id = env.add(dest)
        if fault == "full":
            disk.fill()
        else:
            disk.read_only()

        line = _one_error_line(env.run_day(), str(disk.path), reason)
        assert not dest.exists()
        (failed,) = env.store.deliveries()
        assert (failed.subscription_id, failed.status) == (sub_id, "failed")
        assert reason in (failed.error or "") and failed.error in line
        assert not list(disk.path.rglob("*.part"))  # nothing half-written stays staged

        if fault == "full":
            disk.free()
        else:
            disk.writable()
        _repaired(env, dest)
        assert staged_attempts(disk.path) == []


def test_a_read_only_data_folder(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The data folder holds staging by default (FLATEXPORT_STAGING_DIR unset)."""
    dest = tmp_path / "dest"
    with small_disk(tmp_path / "data-disk") as disk:
        env.vars["FLATEXPORT_DATA_DIR"] = str(disk.path)
        env.vars.pop("FLATEXPORT_STAGING_DIR")
        monkeypatch.delenv("FLATEXPORT_STAGING_DIR")
        (disk.path / "staging").mkdir()
        env.add(dest)
        disk.read_only()
        _one_error_line(env.run_day(), str(disk.path / "staging"), "Read-only file system")
        assert not dest.exists()
        disk.writable()
        _repaired(env, dest)


def test_a_full_destination_while_the_data_is_written(env: Env, tmp_path: Path):
    with small_disk(tmp_path / "customer") as disk:
        dest = disk.path / "exports"
        env.add(dest)
        dest.mkdir()
        disk.fill()
        _one_error_line(env.run_day(), f"cannot write {dest / NAME}", "No space left on device")
        assert sorted(p.name for p in dest.iterdir()) == []  # no data, no manifest, no .part
        (kept,) = staged_attempts(tmp_path / "staging")  # the failed attempt's copy, for a look
        assert (kept / NAME).stat().st_mode & 0o777 == 0o600
        disk.free()
        _repaired(env, dest)


def test_a_full_destination_while_the_manifest_is_written(env: Env, tmp_path: Path, warehouse: str):
    from flatexport.pipeline import export_step
    from flatexport.subscriptions import Subscription

    probe = Subscription(id=1, org_id="org_a", report="clickstream", destination="file:///unused")
    data_pages = -(-export_step(probe, DAY, warehouse).bytes // PAGE)
    with small_disk(tmp_path / "customer") as disk:
        dest = disk.path / "exports"
        env.add(dest)
        dest.mkdir()
        disk.fill(leave_pages=data_pages)  # room for the data, none for its manifest
        _one_error_line(env.run_day(), f"cannot write {dest / MANIFEST}", "No space left on device")
        assert sorted(p.name for p in dest.iterdir()) == [NAME]  # verified data, no manifest
        _consistent(dest)
        disk.free()
        _repaired(env, dest)


def test_a_read_only_destination_keeps_the_last_good_delivery(env: Env, tmp_path: Path):
    with small_disk(tmp_path / "customer") as disk:
        dest = disk.path / "exports"
        env.add(dest)
        assert env.run_day().returncode == 0
        before = {p.name: p.read_bytes() for p in dest.iterdir()}
        disk.read_only()
        _one_error_line(env.run_day(), str(dest), "Read-only file system")
        assert {p.name: p.read_bytes() for p in dest.iterdir()} == before  # untouched, consistent
        _consistent(dest)
        disk.writable()
        _repaired(env, dest)
