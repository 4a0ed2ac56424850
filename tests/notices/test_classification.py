"""Whose move is it? For every destination scheme, a failure only the customer can fix
(their bucket, their folder's sharing, their quota or permissions) carries the fix in
words and reaches their contact; one that is ours (an outage, throttling, a clash we
must look at) carries none and tells nobody. A new scheme must add its cases here."""

from __future__ import annotations

import datetime as dt
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flatexport.control.store import ControlStore
from flatexport.destinations import SCHEMES
from flatexport.errors import CUSTOMER_CAUSES, CustomerAction, DeliveryError, customer_action, is_retryable
from flatexport.notices import CAUSE_TEXT, notices_sent
from tests.notices.conftest import Inbox, body_text, free_port
from tests.notices.test_notices import deliver_and_fail, deny_writes, staged_for
from tests.support.drive_server import DriveServer
from tests.support.moto_server import aws_connection_json

CONTACT = "it@customer.test"


@dataclass
class Env:
    """What a case may use to break a destination: moto, the Drive server, connections."""

    tmp_path: Path
    bucket: str
    s3_admin: Any
    aws_conn: Callable[..., str]
    drive: DriveServer
    gcp_conn: Callable[..., str]
    monkeypatch: pytest.MonkeyPatch


# Each case: (scheme, cause or None for ours, a function giving the subscription's fields
# with the destination broken in that way, a fragment the fix must contain).
Case = tuple[str, str | None, Callable[[Env], dict[str, Any]], str]


def _s3(env: Env, **fields: Any) -> dict[str, Any]:
    return {"destination": f"s3://{env.bucket}/exports/org_a", "conn_id": env.aws_conn(), **fields}


def _s3_denied(env: Env) -> dict[str, Any]:
    deny_writes(env.s3_admin, env.bucket)
    return _s3(env)


def _s3_unreachable(env: Env) -> dict[str, Any]:
    return _s3(
        env,
        conn_id=env.aws_conn(
            f"http://127.0.0.1:{free_port()}", config_kwargs={"retries": {"max_attempts": 1}}
        ),
    )


def _drive(env: Env, folder: str, **extra: Any) -> dict[str, Any]:
    return {
        "destination": f"gdrive://{folder}",
        "conn_id": env.gcp_conn(env.drive.connection_extra(num_retries=0, **extra)),
    }


def _drive_unshared(env: Env) -> dict[str, Any]:
    folder = env.drive.add_folder()
    env.drive.unshare(folder)
    return _drive(env, folder)


def _drive_read_only(env: Env) -> dict[str, Any]:
    return _drive(env, env.drive.add_folder(can_add_children=False))


def _drive_down(env: Env) -> dict[str, Any]:
    folder = env.drive.add_folder()
    env.drive.fail_next(20, status=503)
    return _drive(env, folder)


def _mailto(env: Env, address: str, port: int) -> dict[str, Any]:
    """org_a's admins in the source; an SMTP connection to ``port``."""
    import duckdb

    from flatexport.seed.organizing_schema import ORGANIZING_DDL
    from tests.support.smtp_server import smtp_connection_json

    path = env.tmp_path / "admins.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(ORGANIZING_DDL["org_users"])
        con.execute(
            "INSERT INTO org_users (id, org_id, email, role, created_at) VALUES "
            "(1, 'org_a', 'admin@org-a.test', 'admin', now()), "
            "(2, 'org_a', 'vol@org-a.test', 'volunteer', now())"
        )
    env.monkeypatch.setenv("FLATEXPORT_SOURCE_URL", f"duckdb:///{path}")
    env.monkeypatch.setenv("AIRFLOW_CONN_MAILTO_CASE", smtp_connection_json(port))
    return {"destination": f"mailto:{address}", "conn_id": "mailto_case"}


def _mailto_not_an_admin(env: Env) -> dict[str, Any]:
    return _mailto(env, "vol@org-a.test", free_port())  # refused before any SMTP


def _mailto_relay_down(env: Env) -> dict[str, Any]:
    return _mailto(env, "admin@org-a.test", free_port())  # our relay: nothing listens


def _folder_not_ours(env: Env) -> dict[str, Any]:
    """A folder the OS will not let us create in: /sys refuses everyone, root included."""
    return {"destination": "file:///sys/flatexport-notice-test/org_a"}


def _folder_clash(env: Env) -> dict[str, Any]:
    out = env.tmp_path / "out"
    (out / f"clickstream_{dt.date(2024, 11, 4)}.csv").mkdir(parents=True)  # a folder where the file goes
    return {"destination": out.as_uri()}


CASES: list[Case] = [
    ("s3", "access_denied", _s3_denied, "Allow s3:PutObject on arn:aws:s3:::{bucket}/exports/org_a/*"),
    (
        "s3",
        "bucket_missing",
        lambda env: _s3(env, destination="s3://bucket-gone-away/x"),
        "'bucket-gone-away' no longer exists",
    ),
    ("s3", None, _s3_unreachable, ""),
    ("gdrive", "folder_unshared", _drive_unshared, "Share Google Drive folder"),
    ("gdrive", "folder_unshared", _drive_read_only, "Editor access"),
    ("gdrive", None, _drive_down, ""),
    ("file", "permission_denied", _folder_not_ours, "folder /sys/flatexport-notice-test/org_a"),
    ("file", None, _folder_clash, ""),
    ("mailto", "recipient_refused", _mailto_not_an_admin, "Make vol@org-a.test an admin of org org_a again"),
    ("mailto", None, _mailto_relay_down, ""),
]


def test_every_scheme_has_a_failure_of_each_side() -> None:
    sides = {(scheme, cause is None) for scheme, cause, _, _ in CASES}
    assert sides == {(scheme, ours) for scheme in SCHEMES for ours in (True, False)}


@pytest.mark.parametrize(("scheme", "cause", "broken", "fix"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_the_contact_hears_only_about_what_they_can_fix(
    scheme: str,
    cause: str | None,
    broken: Callable[[Env], dict[str, Any]],
    fix: str,
    store: ControlStore,
    inbox: Inbox,
    tmp_path: Path,
    bucket: str,
    s3_admin: Any,
    aws_conn,
    drive: DriveServer,
    gcp_conn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if scheme == "file" and cause == "permission_denied":
        try:
            os.mkdir("/sys/flatexport-notice-test")
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM):
                pytest.skip(f"/sys answers {exc.strerror} here, not a permission error")
    env = Env(tmp_path, bucket, s3_admin, aws_conn, drive, gcp_conn, monkeypatch)
    sub = store.add_subscription(org_id="org_a", report="clickstream", contact=CONTACT, **broken(env))
    assert sub.scheme == scheme

    error = deliver_and_fail(store, sub, staged_for(sub, tmp_path))

    assert isinstance(error, DeliveryError)
    action = customer_action(error)
    if cause is None:
        assert action is None, action
        assert inbox.received == [] and notices_sent(store, sub.id) == []
        return
    assert action == CustomerAction(cause, action.fix) and not is_retryable(error)
    assert fix.format(bucket=bucket) in action.fix
    [message] = inbox.messages
    assert fix.format(bucket=bucket).replace("'", "&#x27;") in body_text(message)
    assert [n["reason"] for n in notices_sent(store, sub.id)] == [cause]


def test_customer_action_is_the_one_place_that_decides() -> None:
    fix = CustomerAction("storage_full", "Free space in S3 bucket 'b'.")
    assert customer_action(DeliveryError("full", customer_action=fix)) == fix
    assert customer_action(DeliveryError("full, but try again", retryable=True, customer_action=fix)) is None
    assert customer_action(DeliveryError("ours")) is None
    assert customer_action(OSError("disk")) is None
    assert set(CUSTOMER_CAUSES) == {
        "access_denied",
        "bucket_missing",
        "folder_unshared",
        "storage_full",
        "permission_denied",
        "recipient_refused",
    }
    assert set(CAUSE_TEXT) == set(CUSTOMER_CAUSES)  # every cause can be put in the customer's words
    with pytest.raises(ValueError, match="unknown customer-side cause"):
        CustomerAction("our_bug", "Nothing to do.")


def test_a_storage_quota_from_an_s3_compatible_store_is_the_customers(
    store: ControlStore,
    inbox: Inbox,
    tmp_path: Path,
    bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    moto_endpoint: str,
) -> None:
    """MinIO answers a full bucket with 507 XMinioStorageFull: not a 5xx to retry, a quota to raise."""
    from tests.destinations.conftest import FaultProxy

    proxy = FaultProxy(upstream=moto_endpoint)
    proxy.inject = lambda method, path: (
        (507, "XMinioStorageFull") if method == "PUT" and "clickstream" in path else None
    )
    proxy.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_MINIO_FULL", aws_connection_json(proxy.endpoint_url))
        sub = store.add_subscription(
            org_id="org_a",
            report="clickstream",
            destination=f"s3://{bucket}/x",
            conn_id="minio_full",
            contact=CONTACT,
        )
        error = deliver_and_fail(store, sub, staged_for(sub, tmp_path))
    finally:
        proxy.stop()
    assert customer_action(error).cause == "storage_full" and not is_retryable(error)
    assert "raise its storage quota" in body_text(inbox.messages[0])
