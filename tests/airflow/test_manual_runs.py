"""Manual runs the Airflow way, through dag.test(): which day a run exports for every
shape of run Airflow 3 makes, the trigger form's org filter, and the grid's labels.
The same runs under the real scheduler and API server are in test_scheduler.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flatexport.airflow_support.run_day import resolve_report_day, subscription_label
from flatexport.airflow_support.runner import ensure_metadata_db, load_dag
from flatexport.control.store import ControlStore
from flatexport.errors import InputError
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
DAG_ID = "clickstream_daily"
MADE = dt.datetime(2024, 11, 20, 9, 30, tzinfo=dt.UTC)  # when a run was made
# A zone where the most recent complete UTC day has also ended, with its 90-minute session
# reach, at any time of day: a conf-less run's day never has to wait for its window.
EARLY_ZONE = "Pacific/Kiritimati"


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("picked", "run_type", "logical", "interval_start", "expected"),
    [
        # scheduled and backfill runs: their data interval's day
        (None, "scheduled", _at(DAY), _at(DAY), DAY),
        (None, "backfill", _at(DAY), _at(DAY), DAY),
        # CLI/REST trigger without a logical date: no interval; the most recent complete day
        (None, "manual", None, None, dt.date(2024, 11, 19)),
        # the dialog's default logical date is "now": the day is not over, so the last one that is
        (None, "manual", MADE - dt.timedelta(minutes=1), _at(dt.date(2024, 11, 19)), dt.date(2024, 11, 19)),
        # a Logical Date picked in the dialog (Airflow infers the interval of the day before)
        (None, "manual", _at(DAY), _at(DAY - dt.timedelta(days=1)), DAY),
        (None, "manual", _at(DAY, 15), _at(DAY - dt.timedelta(days=1)), DAY),
        # the form's date field wins over everything
        ("2024-11-02", "manual", _at(DAY), _at(DAY), dt.date(2024, 11, 2)),
        ("2024-11-02", "scheduled", _at(DAY), _at(DAY), dt.date(2024, 11, 2)),
        # an asset-triggered run: no logical date either
        (None, "asset_triggered", None, None, dt.date(2024, 11, 19)),
    ],
)
def test_the_report_day_of_every_shape_of_run(picked, run_type, logical, interval_start, expected):
    day = resolve_report_day(
        picked=picked,
        run_type=run_type,
        logical_date=logical,
        data_interval_start=interval_start,
        run_after=MADE,
    )
    assert day == expected


def test_a_picked_day_in_the_future_or_not_a_date_is_refused_in_words():
    with pytest.raises(InputError, match="2024-11-21 is in the future"):
        resolve_report_day(
            picked="2024-11-21",
            run_type="manual",
            logical_date=None,
            data_interval_start=None,
            run_after=MADE,
        )
    with pytest.raises(InputError, match="invalid date '11/04/2024'"):
        resolve_report_day(
            picked="11/04/2024",
            run_type="manual",
            logical_date=None,
            data_interval_start=None,
            run_after=MADE,
        )


def test_the_label_names_org_report_and_destination_never_credentials():
    sub = {"org_id": "org_a", "report": "clickstream", "destination": "s3://acme/daily"}
    assert subscription_label(sub) == "org_a / clickstream → s3://acme/daily"
    leaky = {**sub, "destination": "https://user:secret@files.example/x"}
    assert "secret" not in subscription_label(leaky) and "files.example/x" in subscription_label(leaky)


def test_the_trigger_form_has_a_date_picker_and_an_org_filter():
    """The UI renders a date picker for a string param of format "date"; null keeps it optional."""
    dag = load_dag(DAG_ID)
    schema = {name: param.schema for name, param in dag.params.items()}
    assert schema["date"]["type"] == ["null", "string"] and schema["date"]["format"] == "date"
    assert schema["orgs"]["type"] == ["null", "array"] and schema["orgs"]["items"] == {"type": "string"}
    assert dag.params["date"] is None and dag.params["orgs"] is None  # scheduled runs: all orgs, their day


# -- through Airflow (dag.test) -------------------------------------------------------------


@pytest.fixture
def two_orgs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dt.date]:
    """org_a and org_b have sessions on DAY and on the most recent complete day."""
    recent = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    events = []
    for day in (DAY, recent):
        for n, org in enumerate(("org_a", "org_b")):
            # 05:00 UTC is inside the day in UTC and in EARLY_ZONE (UTC+14) alike
            events.append(ev(day.toordinal() * 10 + n, f"{day}T05:00:00", "session_start", org=org))
    url = load_events(f"duckdb:///{tmp_path}/warehouse.duckdb", events)
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    monkeypatch.setenv("FLATEXPORT_LATE_EVENT_GRACE_MINUTES", "0")
    return {"picked": DAY, "recent": recent}


def _test_run(conf: dict | None = None, logical_date: dt.datetime | None = None):
    ensure_metadata_db()
    return load_dag(DAG_ID).test(logical_date=logical_date, run_conf=conf)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.airflow
def test_a_run_without_a_date_exports_the_most_recent_complete_day_and_labels_the_grid(
    airflow_db, control_db, two_orgs, tmp_path
):
    out = tmp_path / "org_a"
    ControlStore(control_db).add_subscription(
        org_id="org_a", report="clickstream", destination=out.as_uri(), timezone=EARLY_ZONE
    )
    dag_run = _test_run(logical_date=None)  # `airflow dags trigger DAG`: no logical date, no conf
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS")
    recent = two_orgs["recent"]
    assert _files(out) == [f"clickstream_{recent}.csv", f"clickstream_{recent}.csv.manifest.json"]

    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        labels = {
            (ti.task_id, ti.rendered_map_index)
            for ti in session.scalars(
                select(TaskInstance).where(
                    TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == dag_run.run_id
                )
            )
            if ti.map_index >= 0
        }
    label = f"org_a / clickstream → {out.as_uri()}"
    assert labels == {
        (task, label)
        for task in (
            "subscription.wait_for_day_to_close",
            "subscription.export",
            "subscription.check",
            "subscription.deliver",
        )
    }


@pytest.mark.airflow
def test_a_picked_date_and_org_filter_export_that_day_for_those_orgs_only(
    airflow_db, control_db, two_orgs, tmp_path
):
    store = ControlStore(control_db)
    for org in ("org_a", "org_b"):
        store.add_subscription(org_id=org, report="clickstream", destination=(tmp_path / org).as_uri())
    dag_run = _test_run(conf={"date": DAY.isoformat(), "orgs": ["org_b"]})
    assert str(dag_run.state) in ("success", "DagRunState.SUCCESS")
    assert _files(tmp_path / "org_a") == []
    assert _files(tmp_path / "org_b") == [f"clickstream_{DAY}.csv", f"clickstream_{DAY}.csv.manifest.json"]
    assert [(d.org_id, d.ds, d.status) for d in store.deliveries()] == [("org_b", DAY, "delivered")]


@pytest.mark.airflow
def test_an_org_filter_naming_an_unknown_org_fails_at_once_in_words(
    airflow_db, control_db, two_orgs, tmp_path
):
    ControlStore(control_db).add_subscription(
        org_id="org_a", report="clickstream", destination=(tmp_path / "a").as_uri()
    )
    dag_run = _test_run(conf={"date": DAY.isoformat(), "orgs": ["org_a", "org_typo"]})
    assert "failed" in str(dag_run.state).lower()
    (ti,) = [t for t in dag_run.get_task_instances() if t.task_id == "list_subscriptions"]
    assert str(ti.state).endswith("failed") and ti.try_number == 1  # not retried
    assert _files(tmp_path / "a") == []
