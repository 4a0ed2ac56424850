"""The delivery contract, for every destination: add a destination to ``TARGETS`` (one
factory below) and every test here covers it.

Each target is the real store: a folder on disk, S3 through moto's server over HTTP (via
a fault proxy), Drive through the local v3 server with the real Google client, a mailbox
behind a real SMTP server (aiosmtpd). A mailbox keeps every message and cannot recall
one: for it, "what the destination holds" is the latest message's files (gunzipped), a
re-delivery is a new message, and a failed delivery must send nothing at all. The code
under test is always built the production way, from a subscription (``destination_for``);
what is at the destination is read back independently of it. Faults are injected by
wrapping a transport, by the stores' own knobs, or by killing a delivering process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from flatexport.destinations import Transport, deliver, destination_for
from flatexport.destinations.base import MANIFEST_SUFFIX, Stored
from flatexport.errors import DeliveryError
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.destinations.conftest import FaultProxy, Headers
from tests.support.drive_server import DriveServer

NAME = "clickstream_2024-11-04.csv"
MANIFEST = NAME + MANIFEST_SUFFIX
MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rows(tag: str, count: int = 3) -> bytes:
    return b"event_id,user_id,event\n" + b"".join(f"{i},u{i},{tag}\n".encode() for i in range(count))


def manifest_for(staged: StagedFile) -> bytes:
    """What matters in a manifest for this contract: which bytes it vouches for."""
    return json.dumps({"file": staged.name, "sha256": staged.sha256, "bytes": staged.bytes}).encode()


# --- targets -------------------------------------------------------------------------------


@dataclass
class Target:
    """A destination under test and independent ways to look at what it holds."""

    kind: str
    sub: Subscription
    read: Callable[[str], bytes | None]  # the named object's bytes, None when absent
    names: Callable[[], list[str]]  # every object there, hidden ones included
    identity: Callable[[str], Any]  # what a re-delivery must keep: path, key, Drive file id
    leftovers: Callable[[], list[str]]  # half-finished writes: .part files, multipart uploads
    corrupt: Callable[[bool], None]  # on: the store holds/reports other bytes than were sent
    broken: Callable[[], tuple[Subscription, str]]  # a subscription probe must refuse, and why
    wrap: Callable[[Transport], Transport] = lambda t: t  # fault injection by wrapping
    in_flight: Callable[[], bool] = lambda: True  # a stalled upload is visibly under way
    sent: Callable[[], int] | None = None  # a mailbox: how many messages it has received

    @property
    def replaces(self) -> bool:
        """A store whose objects a re-delivery replaces (all but a mailbox)."""
        return self.sent is None

    def transport(self) -> Transport:
        return self.wrap(destination_for(self.sub))


def folder_target(tmp_path: Path, **_: Any) -> Target:
    out = tmp_path / "customer" / "exports"
    corrupting = [False]

    class Corrupting:
        """A disk that flips a byte of what was written (the transport must read it back)."""

        def __init__(self, inner: Transport) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def put(self, payload: Any, previous: Stored | None = None) -> Stored:
            stored = self.inner.put(payload, previous)
            if corrupting[0]:
                path = Path(stored.ref)
                data = bytearray(path.read_bytes())
                data[0] ^= 0xFF
                path.write_bytes(bytes(data))
            return stored

    def read(name: str) -> bytes | None:
        path = out / name
        return path.read_bytes() if path.is_file() else None

    def names() -> list[str]:
        return sorted(os.listdir(out)) if out.is_dir() else []

    def broken() -> tuple[Subscription, str]:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        return subscription((blocker / "sub").as_uri()), "cannot create folder"

    return Target(
        kind="folder",
        sub=subscription(out.as_uri()),
        read=read,
        names=names,
        identity=lambda name: str(out / name),
        leftovers=lambda: [n for n in names() if n.endswith(".part")],
        corrupt=lambda on: corrupting.__setitem__(0, on),
        broken=broken,
        wrap=lambda t: Corrupting(t),  # type: ignore[return-value]
    )


def s3_target(request: pytest.FixtureRequest, **_: Any) -> Target:
    bucket: str = request.getfixturevalue("bucket")
    admin: Any = request.getfixturevalue("s3_admin")
    proxy: FaultProxy = request.getfixturevalue("fault_proxy")
    conn_id = request.getfixturevalue("aws_conn")(proxy.endpoint_url)
    prefix = "exports/org_a"
    options = {"multipart_threshold": 5 * MIB, "multipart_part_size": 5 * MIB}

    def read(name: str) -> bytes | None:
        try:
            return admin.get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read()
        except admin.exceptions.NoSuchKey:
            return None

    def names() -> list[str]:
        listing = admin.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(o["Key"].removeprefix(prefix + "/") for o in listing)

    def leftovers() -> list[str]:
        return [u["Key"] for u in admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]

    def corrupt(on: bool) -> None:
        proxy.alter = corrupt_s3_checksum if on else None

    def broken() -> tuple[Subscription, str]:
        return subscription("s3://no-such-bucket-here/x", conn_id=conn_id), "bucket 'no-such-bucket-here'"

    return Target(
        kind="s3",
        sub=subscription(f"s3://{bucket}/{prefix}", conn_id=conn_id, extra=options),
        read=read,
        names=names,
        identity=lambda name: f"{prefix}/{name}",
        leftovers=leftovers,
        corrupt=corrupt,
        broken=broken,
        in_flight=lambda: bool(leftovers()),
    )


def corrupt_s3_checksum(method: str, path: str, headers: Headers) -> Headers:
    bad = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    return [
        (n, bad + ("-" + v.split("-")[1] if "-" in v else ""))
        if n.lower() == "x-amz-checksum-sha256"
        else (n, v)
        for n, v in headers
    ]


def drive_target(request: pytest.FixtureRequest, **_: Any) -> Target:
    drive: DriveServer = request.getfixturevalue("drive")
    conn_id = request.getfixturevalue("gcp_conn")()
    folder = drive.add_folder(name="acme exports")

    def live(name: str) -> list[Any]:
        return [f for f in drive.files_in(folder) if f.name == name]

    def read(name: str) -> bytes | None:
        found = live(name)
        assert len(found) <= 1, f"{len(found)} files named {name!r}: a duplicate"
        return found[0].content if found else None

    def broken() -> tuple[Subscription, str]:
        other = drive.add_folder(name="not ours")
        drive.unshare(other)
        return subscription(f"gdrive://{other}", conn_id=conn_id), "not shared with"

    def corrupt(on: bool) -> None:
        drive.wrong_md5 = on

    return Target(
        kind="gdrive",
        sub=subscription(f"gdrive://{folder}", conn_id=conn_id, extra={"chunksize": 256 * 1024}),
        read=read,
        names=lambda: sorted(f.name for f in drive.files_in(folder)),
        identity=lambda name: live(name)[0].id,
        leftovers=lambda: [],  # an unfinished resumable upload is never a file in the folder
        corrupt=corrupt,
        broken=broken,
        in_flight=lambda: bool(drive._sessions),
    )


def email_target(request: pytest.FixtureRequest, **_: Any) -> Target:
    from tests.destinations.conftest import ORG_A_ADMIN, ORG_A_VOLUNTEER

    box: Any = request.getfixturevalue("mailbox")
    conn_id = request.getfixturevalue("smtp_conn")()
    request.getfixturevalue("admin_source")
    corrupting = [False]

    class Corrupting:
        """A reader that hands the mail other bytes than the driver verified."""

        def __init__(self, inner: Transport) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def put(self, payload: Any, previous: Stored | None = None) -> Stored:
            if corrupting[0]:
                original = payload.open

                def flipped() -> Any:
                    with original() as stream:
                        data = bytearray(stream.read())
                    data[0] ^= 0xFF
                    return io.BytesIO(bytes(data))

                payload = replace(payload, open=flipped)
            return self.inner.put(payload, previous)

    def files() -> dict[str, bytes]:
        return box.latest.files() if box.latest else {}

    def broken() -> tuple[Subscription, str]:
        return subscription(f"mailto:{ORG_A_VOLUNTEER}", conn_id=conn_id), "is not an admin of org org_a"

    return Target(
        kind="email",
        sub=subscription(f"mailto:{ORG_A_ADMIN}", conn_id=conn_id),
        read=lambda name: files().get(name),
        names=lambda: sorted(files()),
        identity=lambda name: box.latest.rcpt_tos,  # the same admin, every time
        leftovers=lambda: [],  # nothing is left anywhere: the composed file is an unlinked temp file
        corrupt=lambda on: corrupting.__setitem__(0, on),
        broken=broken,
        wrap=lambda t: Corrupting(t),  # type: ignore[return-value]
        sent=lambda: len(box.messages),
    )


def subscription(destination: str, **kwargs: Any) -> Subscription:
    return Subscription(id=1, org_id="org_a", report="clickstream", destination=destination, **kwargs)


TARGETS: dict[str, Callable[..., Target]] = {
    "folder": folder_target,
    "s3": s3_target,
    "gdrive": drive_target,
    "email": email_target,
}


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    return TARGETS[request.param](request=request, tmp_path=tmp_path)


@pytest.fixture
def staged_as(make_staged: Callable[..., StagedFile]) -> Callable[[bytes], StagedFile]:
    return lambda data: make_staged(data, name=NAME)


def deliver_ok(target: Target, staged: StagedFile) -> Any:
    return deliver(target.transport(), staged, manifest_for(staged))


def assert_delivered(target: Target, data: bytes) -> None:
    """Exactly the data file and its manifest, the manifest describing that data."""
    assert target.names() == [NAME, MANIFEST]
    assert target.read(NAME) == data
    assert json.loads(target.read(MANIFEST) or b"{}")["sha256"] == sha256(data)
    assert target.leftovers() == []


def assert_consistent(target: Target) -> None:
    """The rule that must hold after any failure: no manifest beside data it does not describe."""
    manifest = target.read(MANIFEST)
    if manifest is None:
        return
    data = target.read(NAME)
    assert data is not None, "a manifest without its data file"
    assert json.loads(manifest)["sha256"] == sha256(data), "a manifest beside data it does not describe"


def assert_nothing_new(target: Target, sent_before: int) -> None:
    """After a failed delivery: no manifest vouches for anything (it went before the data
    was touched); a mailbox, which cannot take one back, received no message at all."""
    if target.replaces:
        assert target.read(MANIFEST) is None
    else:
        assert target.sent is not None and target.sent() == sent_before


# --- the contract ----------------------------------------------------------------------------


def test_delivers_verified_data_then_its_manifest(target: Target, staged_as) -> None:
    data = rows("first")
    receipt = deliver_ok(target, staged_as(data))

    assert_delivered(target, data)
    assert receipt.checksum == f"sha256:{sha256(data)}"
    assert receipt.bytes == len(data)
    assert receipt.replaced is False
    assert receipt.manifest is not None and receipt.manifest != receipt.location


def test_redelivery_replaces_the_same_object(target: Target, staged_as) -> None:
    first = deliver_ok(target, staged_as(rows("first")))
    identity = target.identity(NAME)
    second = deliver_ok(target, staged_as(rows("second", 5)))

    assert_delivered(target, rows("second", 5))
    assert target.identity(NAME) == identity  # same path, same key, same Drive file id, same admin
    assert second.location == first.location
    assert (first.replaced, second.replaced) == (False, target.replaces)
    if target.sent is not None:
        assert target.sent() == 2  # a mailbox gets a second message


def test_find_says_whether_a_file_is_there_and_changes_nothing(target: Target, staged_as) -> None:
    """`flatexport backfill --dry-run` asks each destination which files a backfill would
    replace through ``find``: a look that writes nothing, not even a missing folder."""
    assert target.transport().find(NAME) is None
    assert target.names() == []
    receipt = deliver_ok(target, staged_as(rows("first")))
    if not getattr(target.transport(), "can_look", True):
        return  # a sent message cannot be looked up: find must only never invent one

    found = target.transport().find(NAME)
    assert found is not None and found.name == NAME and found.location == receipt.location
    assert target.transport().find("clickstream_1999-01-01.csv") is None
    assert target.names() == [NAME, MANIFEST]


class InjectedFault(RuntimeError):
    pass


@dataclass
class Faulty:
    """A transport that raises before its ``fail_before``-th protocol call (0-based), or
    right after its ``fail_after``-th one returns: a failure between two steps."""

    inner: Transport
    fail_before: int | None = None
    fail_after: int | None = None
    calls: list[str] = field(default_factory=list)
    COUNTED = ("sweep", "find", "delete", "put", "stat", "commit")

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.inner, name)
        if name not in self.COUNTED:
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.fail_before == len(self.calls):
                raise InjectedFault(f"before {name}")
            result = value(*args, **kwargs)
            self.calls.append(name)
            if self.fail_after == len(self.calls):
                raise InjectedFault(f"after {name}")
            return result

        return call


def test_a_failure_between_any_two_steps_never_leaves_a_wrong_manifest(target: Target, staged_as) -> None:
    versions = [staged_as(rows("old")), staged_as(rows("new", 7))]
    transport = target.transport()
    deliver(transport, versions[0], manifest_for(versions[0]))
    recorder = Faulty(transport)
    deliver(recorder, versions[1], manifest_for(versions[1]))  # type: ignore[arg-type]
    steps = list(recorder.calls)
    if target.replaces:
        assert steps[0] == "sweep" and steps.count("put") == 2  # data, then manifest
    else:
        assert steps == ["put", "commit"]  # compose and verify, then send both files in one message

    faults = [{"fail_before": i} for i in range(len(steps))] + [{"fail_after": len(steps)}]
    for turn, fault in enumerate(faults):
        staged = versions[turn % 2]  # the other version is the one delivered now
        with pytest.raises(InjectedFault):
            deliver(Faulty(transport, **fault), staged, manifest_for(staged))  # type: ignore[arg-type]
        done = steps[: fault.get("fail_before", len(steps))]
        try:
            assert_consistent(target)
            assert target.leftovers() == []  # a write that failed verification or hand-over is dropped
        except AssertionError as exc:
            raise AssertionError(f"failure after {done or 'nothing'}: {exc}") from None
        deliver(transport, staged, manifest_for(staged))  # the next run repairs it
        assert_delivered(target, Path(staged.path).read_bytes())


def test_a_staged_file_that_changed_is_refused_before_anything_changes(target: Target, staged_as) -> None:
    deliver_ok(target, staged_as(rows("old")))
    staged = staged_as(rows("new"))
    Path(staged.path).write_bytes(rows("NEW"))  # same size, other bytes

    with pytest.raises(DeliveryError, match="changed since it was staged") as err:
        deliver_ok(target, staged)

    assert err.value.retryable is False
    assert_delivered(target, rows("old"))  # the earlier delivery is untouched, manifest and all


def test_a_stored_checksum_mismatch_is_refused_and_the_next_run_repairs(target: Target, staged_as) -> None:
    deliver_ok(target, staged_as(rows("old")))
    target.corrupt(True)
    before = target.sent() if target.sent else 0
    with pytest.raises(DeliveryError, match="checksum mismatch for ") as err:
        deliver_ok(target, staged_as(rows("new")))
    target.corrupt(False)

    assert err.value.retryable is True
    assert "\n" not in str(err.value)
    assert_consistent(target)
    assert_nothing_new(target, before)
    assert target.leftovers() == []
    deliver_ok(target, staged_as(rows("new")))
    assert_delivered(target, rows("new"))


def test_probe_succeeds_and_leaves_nothing_behind(target: Target) -> None:
    message = target.transport().probe()
    assert "writable" in message
    assert target.names() == []
    assert target.leftovers() == []


def test_probe_names_the_cause(target: Target) -> None:
    sub, cause = target.broken()
    with pytest.raises(DeliveryError, match=cause) as err:
        destination_for(sub).probe()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", "..", "", "x\x00.csv", "line\nbreak.csv"])
def test_a_name_can_never_point_outside_the_destination(target: Target, make_staged, tmp_path, name) -> None:
    staged = make_staged(rows("x"), name="safe.csv")
    staged = StagedFile(**{**staged.to_xcom(), "name": name})
    with pytest.raises(DeliveryError, match="not a plain file name"):
        deliver(target.transport(), staged, b"{}")
    assert target.names() == []
    assert not (tmp_path / "customer" / "escape.csv").exists()


def test_a_killed_delivery_leaves_nothing_of_it_after_the_next_run(
    target: Target, staged_as, tmp_path: Path
) -> None:
    """A worker SIGKILLed while sending the data: the next run removes what it left (a
    hidden .part file, an unfinished multipart upload) and delivers."""
    deliver_ok(target, staged_as(rows("old")))
    before = target.sent() if target.sent else 0
    data = os.urandom(6 * MIB + 4321)  # multipart on S3 (5 MiB parts)
    staged = staged_as(data)
    ready = tmp_path / "stalled"
    spec = {
        "subscription": target.sub.model_dump(mode="json"),
        "staged": staged.to_xcom(),
        "manifest": manifest_for(staged).decode(),
        "stall_at": 5 * MIB + MIB // 2,
        "ready": str(ready),
    }
    errors = tmp_path / "child.err"
    with open(errors, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.destinations.deliver_child", json.dumps(spec)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        wait_for(lambda: ready.exists() and target.in_flight(), child, errors, "the upload to stall")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    assert_nothing_new(target, before)
    if target.kind == "folder":
        assert target.leftovers(), "the killed copy should have left its .part file"
    if target.kind == "s3":
        assert target.leftovers() == [f"exports/org_a/{NAME}"]  # an unfinished multipart upload

    deliver_ok(target, staged)
    assert_delivered(target, data)


def wait_for(
    condition: Callable[[], bool], child: subprocess.Popen, errors: Path, what: str, timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if child.poll() is not None:
            tail = errors.read_text(errors="replace")[-3000:]
            pytest.fail(f"the delivering process ended (exit {child.returncode}) before {what}:\n{tail}")
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")
