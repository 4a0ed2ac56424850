"""Failure notices end to end: a real S3 (moto's server) refuses a delivery, the pipeline
records it where the DAG tasks and the CLI do, and a real SMTP server receives what the
customer's contact reads: once a day, only for failures on their side, never a row
value or a secret."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from flatexport.control.store import ControlStore
from flatexport.errors import DeliveryError, FlatexportError, customer_action
from flatexport.hashing import sha256_file
from flatexport.notices import notices_sent
from flatexport.pipeline import deliver_step, export_step, outcome_recorded
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.notices.conftest import SENDER, Inbox, body_text, free_port, smtp_connection

DS = dt.date(2024, 11, 4)
CONTACT = "data-team@customer.test"
# A real key pair would do the same: the point is that neither ever reaches the email.
ACCESS_KEY, SECRET_KEY = "AKIANOTICETEST000001", "notice/secret+never-shown"
# Row values of the staged file, none of which may leave in a notice.
ROWS = [("sess-7f3a9", "ada.lovelace@voters.example", "Pledge to vote"), ("sess-c01d2", "", "Donate")]


def staged_for(sub: Subscription, tmp_path: Path) -> StagedFile:
    path = tmp_path / f"clickstream_{DS}-{sub.id}.csv"
    lines = ["session_id,email,tile"] + [",".join(r) for r in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return StagedFile(
        path=str(path),
        name=f"clickstream_{DS}.csv",
        report="clickstream",
        org_id=sub.org_id,
        ds=DS.isoformat(),
        format="csv",
        rows=len(ROWS),
        sha256=sha256_file(path),
        bytes=path.stat().st_size,
        columns=["session_id", "email", "tile"],
        subscription_id=sub.id,
    )


def deny_writes(s3_admin: Any, bucket: str) -> None:
    """What a customer's security team does: a bucket policy that refuses every PutObject."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3_admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def s3_subscription(store: ControlStore, bucket: str, conn_id: str, **fields: Any) -> Subscription:
    return store.add_subscription(
        org_id="org_a",
        report="clickstream",
        destination=f"s3://{bucket}/exports/org_a",
        conn_id=conn_id,
        **fields,
    )


def deliver_and_fail(store: ControlStore, sub: Subscription, staged: StagedFile) -> FlatexportError:
    """One delivery attempt as the DAG's deliver task makes it: logged, then recorded."""
    attempt = store.start_delivery(f"scheduled__{DS}", sub, DS, staged.name)
    with pytest.raises(FlatexportError) as err, outcome_recorded(store, attempt, staged):
        deliver_step(sub, staged)
    assert store.delivery(attempt).status == "failed"
    return err.value


def test_a_bucket_policy_that_denies_writes_tells_the_contact_what_to_fix_once_a_day(
    store: ControlStore, bucket: str, s3_admin: Any, aws_conn, inbox: Inbox, tmp_path: Path
) -> None:
    sub = s3_subscription(store, bucket, aws_conn(login=ACCESS_KEY, password=SECRET_KEY), contact=CONTACT)
    staged = staged_for(sub, tmp_path)
    deny_writes(s3_admin, bucket)

    error = deliver_and_fail(store, sub, staged)
    assert isinstance(error, DeliveryError) and customer_action(error).cause == "access_denied"

    [(recipients, raw)] = inbox.received
    assert recipients == [CONTACT]
    [message] = inbox.messages
    assert (message["To"], message["From"]) == (CONTACT, SENDER)
    assert message["Subject"] == f"Action needed: we could not deliver your clickstream report for {DS}"
    text = body_text(message)
    assert f"to s3://{bucket}/exports/org_a: the bucket refused our write" in text
    assert (
        f"What to fix: Allow s3:PutObject on arn:aws:s3:::{bucket}/exports/org_a/* for the AWS identity "
        f"flatexport delivers with in the bucket policy of S3 bucket &#x27;{bucket}&#x27;." in text
    )
    assert f"subscription {sub.id} of org_a" in text
    everything = raw.decode("utf-8", "replace")
    for never in (ACCESS_KEY, SECRET_KEY, sub.conn_id, *(value for row in ROWS for value in row if value)):
        assert never not in everything, never
    assert [(n["reason"], n["ds"]) for n in notices_sent(store, sub.id)] == [("access_denied", DS)]

    # The nightly retry (or a re-delivery) fails again the same day: no second email.
    deliver_and_fail(store, sub, staged)
    assert len(inbox.received) == 1
    assert len(notices_sent(store, sub.id)) == 1
    assert [d.status for d in store.deliveries(subscription_id=sub.id)] == ["failed", "failed"]


def test_a_failure_on_our_side_tells_the_customer_nothing(
    store: ControlStore, bucket: str, aws_conn, inbox: Inbox
) -> None:
    sub = s3_subscription(store, bucket, aws_conn(), contact=CONTACT)
    attempt = store.start_delivery(f"scheduled__{DS}", sub, DS, "clickstream.csv")
    down = f"postgresql+psycopg://flatexport@127.0.0.1:{free_port()}/warehouse"

    with pytest.raises(FlatexportError) as err, outcome_recorded(store, attempt):
        export_step(sub, DS, source_url=down)

    assert customer_action(err.value) is None
    assert store.delivery(attempt).status == "failed"
    assert inbox.received == [] and notices_sent(store, sub.id) == []


def test_a_subscription_without_a_contact_gets_no_notice(
    store: ControlStore, aws_conn, inbox: Inbox, tmp_path: Path
) -> None:
    sub = s3_subscription(store, "bucket-that-was-deleted", aws_conn())
    error = deliver_and_fail(store, sub, staged_for(sub, tmp_path))

    assert customer_action(error).cause == "bucket_missing"
    assert inbox.received == [] and notices_sent(store, sub.id) == []


def test_a_notice_that_cannot_be_sent_is_logged_and_the_delivery_error_stays(
    store: ControlStore,
    aws_conn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SMTP down: the caller still sees the delivery's own error, and no notice is counted,
    so a later failure that day, with the server back, tells the contact."""
    sub = s3_subscription(store, "bucket-that-was-deleted", aws_conn(), contact=CONTACT)
    staged = staged_for(sub, tmp_path)
    dead_port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_NOTICE_DOWN", smtp_connection(dead_port))
    monkeypatch.setenv("FLATEXPORT_NOTICE_SMTP_CONN_ID", "notice_down")

    with caplog.at_level(logging.ERROR, logger="flatexport.notices"):
        error = deliver_and_fail(store, sub, staged)
    assert str(error) == "S3 bucket 'bucket-that-was-deleted' does not exist"
    assert "failure notice for delivery" in caplog.text and "not sent" in caplog.text
    assert notices_sent(store, sub.id) == []

    from aiosmtpd.controller import Controller

    box = Inbox(port=dead_port)
    controller = Controller(box, hostname="127.0.0.1", port=dead_port)
    controller.start()
    try:
        deliver_and_fail(store, sub, staged)
    finally:
        controller.stop()
    assert len(box.received) == 1
    assert "S3 bucket &#x27;bucket-that-was-deleted&#x27; no longer exists" in body_text(box.messages[0])
    assert [n["reason"] for n in notices_sent(store, sub.id)] == ["bucket_missing"]
