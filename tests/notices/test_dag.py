"""Through Airflow (dag.test(), the DAG's own deliver task): a customer's bucket that
refuses writes fails only its subscription's delivery, its contact gets one email, a
re-run the same day sends none, and a subscription without a contact tells nobody."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from flatexport.airflow_support.runner import run_dag_for_day
from flatexport.control.store import ControlStore
from flatexport.notices import notices_sent
from tests.notices.conftest import Inbox, body_text
from tests.notices.test_notices import deny_writes
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
pytestmark = pytest.mark.airflow


@pytest.fixture
def airflow_db() -> None:
    from flatexport.airflow_support.runner import ensure_metadata_db

    ensure_metadata_db()


def test_a_nightly_run_tells_the_contact_of_the_refusing_bucket_once(
    airflow_db: None,
    inbox: Inbox,
    bucket: str,
    s3_admin: Any,
    aws_conn,
    s3_subscription_env: tuple[ControlStore, str],
) -> None:
    store, conn_id = s3_subscription_env
    told = store.add_subscription(
        org_id="org_a",
        report="clickstream",
        destination=f"s3://{bucket}/daily",
        conn_id=conn_id,
        contact="data@org-a.test",
    )
    silent = store.add_subscription(
        org_id="org_b", report="clickstream", destination="s3://org-b-bucket-gone/daily", conn_id=conn_id
    )
    deny_writes(s3_admin, bucket)

    assert run_dag_for_day("clickstream_daily", DAY) == "failed"
    assert {(d.subscription_id, d.status) for d in store.deliveries()} == {
        (told.id, "failed"),
        (silent.id, "failed"),
    }
    [(recipients, raw)] = inbox.received
    assert recipients == ["data@org-a.test"]
    text = body_text(inbox.messages[0])
    assert f"for 2024-11-04 to s3://{bucket}/daily" in text and "Allow s3:PutObject" in text
    for value in ("org_a.example", "Baker St"):  # row values of the day's file
        assert value not in raw.decode("utf-8", "replace")

    assert run_dag_for_day("clickstream_daily", DAY) == "failed"  # the re-run, same day
    assert len(inbox.received) == 1
    assert [n["reason"] for n in notices_sent(store, told.id)] == ["access_denied"]
    assert notices_sent(store, silent.id) == []


@pytest.fixture
def s3_subscription_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_conn
) -> tuple[ControlStore, str]:
    """A control store and warehouse for the DAG, as the airflow tests set them up."""
    url = f"sqlite:///{tmp_path}/control.db"
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", url)
    monkeypatch.setenv("FLATEXPORT_TASK_RETRIES", "0")
    warehouse = f"duckdb:///{tmp_path}/warehouse.duckdb"
    load_events(
        warehouse,
        [
            ev(101, "2024-11-04T09:00:00", "session_start", org="org_a"),
            ev(
                101,
                "2024-11-04T09:01:00",
                "widget.address_submitted",  # its email is a column of the file (tests/airflow)
                {"address": "221B Baker St, Cambridge, MA 02139", "email": "voter@org_a.example"},
                org="org_a",
            ),
            ev(201, "2024-11-04T10:00:00", "session_start", org="org_b"),
        ],
    )
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", warehouse)
    store = ControlStore(url)
    yield store, aws_conn()
    store.dispose()
