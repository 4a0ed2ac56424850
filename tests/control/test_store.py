"""The control store on SQLite and PostgreSQL: schema from migrations, subscriptions,
the delivery log and the queries the DAGs rely on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from flatexport.control.models import Base
from flatexport.control.store import ControlStore, ControlStoreError, default_url
from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

D = dt.date


def _sub(store: ControlStore, **fields) -> Subscription:
    base = {"org_id": "acme", "report": "clickstream", "destination": "file:///srv/out/acme"}
    return store.add_subscription(**{**base, **fields})


# -- schema -----------------------------------------------------------------------------


def test_migrate_from_empty_creates_tables_and_index(store: ControlStore) -> None:
    store.migrate()
    insp = sa.inspect(store.engine)
    assert {"subscriptions", "deliveries", "alembic_version"} <= set(insp.get_table_names())
    indexes = {tuple(ix["column_names"]) for ix in insp.get_indexes("deliveries")}
    assert ("org_id", "report", "ds") in indexes
    assert store.current_revision() == _newest_revision()


def _newest_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from flatexport.control.store import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def test_migrate_twice_is_a_no_op_and_keeps_data(store: ControlStore) -> None:
    sub = _sub(store)  # migrates lazily
    store.migrate()
    ControlStore(str(store.url.render_as_string(hide_password=False))).migrate()  # a second process
    assert store.get(sub.id) == sub
    assert store.current_revision() == _newest_revision()


def test_models_match_the_migration(store: ControlStore) -> None:
    """Autogenerate must find nothing to do: the models and 0001 describe one schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    store.migrate()
    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_default_url_uses_env_then_data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_url() == f"sqlite:///{data_dir / 'control.db'}"
    store = ControlStore()
    _sub(store)
    assert (data_dir / "control.db").is_file()
    store.dispose()
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", "sqlite:////tmp/elsewhere.db")
    assert default_url() == "sqlite:////tmp/elsewhere.db"


def test_unreachable_database_error_hides_password() -> None:
    store = ControlStore("postgresql+psycopg://fx:s3cr3t-pw@127.0.0.1:1/nope")
    with pytest.raises(ControlStoreError) as err:
        store.list()
    assert "s3cr3t-pw" not in str(err.value)
    assert "127.0.0.1" in str(err.value)


# -- subscriptions ----------------------------------------------------------------------


def test_subscription_round_trip(store: ControlStore) -> None:
    added = _sub(
        store,
        report="planroom_activity",
        format="jsonl.gz",
        timezone="America/Chicago",
        columns=["event_id", "page_url"],
        exclude_pii=True,
        conn_id="acme_s3",
        kms_key="arn:aws:kms:us-east-1:111122223333:key/abc",
        expected_bucket_owner="111122223333",
        subject="ops@acme.example",
        scope={"company_id": 42},
        enabled=False,
        start_date=D(2024, 11, 1),
        extra={"note": "pilot"},
    )
    assert isinstance(added.id, int)
    got = store.get(added.id)
    assert got == added
    assert got.columns == ["event_id", "page_url"]
    assert got.scope == {"company_id": 42}
    assert got.start_date == D(2024, 11, 1)
    assert got.enabled is False and got.exclude_pii is True
    assert got.extra == {"note": "pilot"}
    entries = _sub(
        store, report="activity", destination="file:///srv/act", scope={"entries": ["content", "feed.posted"]}
    )
    assert store.get(entries.id).scope == {"entries": ["content", "feed.posted"]}
    plain = store.get(_sub(store, destination="file:///srv/other").id)
    assert plain.columns is None and plain.scope == {} and plain.format == "csv"


def test_scope_is_checked_by_the_report_scope_model(store: ControlStore) -> None:
    """A scope field the report does not take, or a bad value, is refused before saving."""
    with pytest.raises(InputError, match=r"report 'clickstream' takes no company_id \(--company\)"):
        _sub(store, scope={"company_id": 42})
    with pytest.raises(InputError, match=r"company_id \(--company\): Input should be a valid integer"):
        _sub(store, report="planroom_summary", scope={"company_id": "acme"})
    with pytest.raises(InputError, match="unknown exporter entries: nosuch.kind"):
        _sub(store, report="activity", scope={"entries": ["nosuch.kind"]})
    assert store.list() == []
    # an unset field is not stored: the owner's planroom subscription has an empty scope
    assert _sub(store, report="planroom_summary", scope={"company_id": None}).scope == {}


def test_add_accepts_a_model_and_ignores_its_id(store: ControlStore) -> None:
    model = Subscription(id="draft", org_id="beta", report="activity", destination="file:///x")
    saved = store.add_subscription(model)
    assert saved.id != "draft" and store.get(saved.id).org_id == "beta"


def test_add_rejects_invalid_fields(store: ControlStore) -> None:
    with pytest.raises(InputError, match="unknown time zone 'Mars/Base'"):
        _sub(store, timezone="Mars/Base")
    with pytest.raises(InputError, match="format"):
        _sub(store, format="xml")
    assert store.list() == []


def test_get_missing_names_the_id(store: ControlStore) -> None:
    with pytest.raises(InputError, match=r"^no subscription 42$"):
        store.get(42)


def test_list_filters(store: ControlStore) -> None:
    a = _sub(store)
    b = _sub(store, report="activity")
    c = _sub(store, org_id="beta", enabled=False)
    assert [s.id for s in store.list()] == [a.id, b.id, c.id]
    assert [s.id for s in store.list(org="acme")] == [a.id, b.id]
    assert [s.id for s in store.list(report="clickstream")] == [a.id, c.id]
    assert [s.id for s in store.list(enabled_only=True)] == [a.id, b.id]
    assert store.list(org="acme", report="activity") == [b]


def test_enabled_for_honours_enabled_and_start_date(store: ControlStore) -> None:
    always = _sub(store)
    later = _sub(store, org_id="b", start_date=D(2024, 11, 5))
    _sub(store, org_id="c", enabled=False)
    _sub(store, org_id="d", report="activity")
    assert [s.id for s in store.enabled_for("clickstream", D(2024, 11, 4))] == [always.id]
    assert [s.id for s in store.enabled_for("clickstream", D(2024, 11, 5))] == [always.id, later.id]
    store.set_enabled(always.id, False)
    assert [s.id for s in store.enabled_for("clickstream", D(2024, 11, 6))] == [later.id]


def test_set_enabled_and_remove(store: ControlStore) -> None:
    sub = _sub(store)
    assert store.set_enabled(sub.id, False).enabled is False
    assert store.get(sub.id).enabled is False
    assert store.set_enabled(sub.id, True).enabled is True
    store.remove(sub.id)
    with pytest.raises(InputError, match=f"no subscription {sub.id}"):
        store.get(sub.id)
    with pytest.raises(InputError, match="no subscription"):
        store.remove(sub.id)
    with pytest.raises(InputError, match="no subscription 999"):
        store.set_enabled(999, True)


def test_ids_are_not_reused_after_remove(store: ControlStore) -> None:
    """A removed subscription's delivery log must never be read as a new one's."""
    first = _sub(store)
    store.remove(first.id)
    assert _sub(store).id != first.id


def test_find(store: ControlStore) -> None:
    sub = _sub(store)
    assert store.find("acme", "clickstream", "file:///srv/out/acme") == sub
    assert store.find("acme", "clickstream", "file:///srv/out/other") is None


def test_import_yaml_is_idempotent(store: ControlStore, tmp_path: Path) -> None:
    path = tmp_path / "subs.yaml"
    path.write_text(
        """
- org: acme
  report: clickstream
  destination: file:///srv/out/acme
  timezone: America/Chicago
- org_id: beta
  report: clickstream
  destination: file:///srv/out/beta
  columns: [event_id, page_url]
  start_date: 2024-11-01
""",
        encoding="utf-8",
    )
    added = store.import_yaml(path)
    assert [(s.org_id, s.timezone) for s in added] == [("acme", "America/Chicago"), ("beta", "UTC")]
    assert store.get(added[1].id).start_date == D(2024, 11, 1)
    assert store.import_yaml(path) == []
    assert len(store.list()) == 2
    path.write_text(
        path.read_text() + "- {org: beta, report: activity, destination: file:///srv/out/beta}\n",
        encoding="utf-8",
    )
    assert [s.report for s in store.import_yaml(path)] == ["activity"]
    assert len(store.list()) == 3


def test_import_yaml_errors_name_file_and_entry(store: ControlStore, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- {org: a, report: r, destination: file:///x}\n- {org: b, report: r}\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match=r"bad\.yaml: entry 2: .*destination"):
        store.import_yaml(path)
    assert store.list() == []  # nothing saved from a file with an error
    path.write_text("org: a\n", encoding="utf-8")
    with pytest.raises(InputError, match="expected a list"):
        store.import_yaml(path)


def test_import_yaml_validate_checks_spec_columns(
    store: ControlStore, tmp_path: Path, include_dir: Path
) -> None:
    path = tmp_path / "subs.yaml"
    path.write_text(
        "- {org: a, report: clickstream, destination: file:///x, columns: [event_id, nope]}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="entry 1: report 'clickstream' has no column"):
        store.import_yaml(path, validate=True)


# -- delivery log -----------------------------------------------------------------------


def _attempt(
    store: ControlStore, sub: Subscription, ds: dt.date, status: str, rows: int | None = None
) -> int:
    delivery_id = store.start_delivery("scheduled__x", sub, ds, f"clickstream_{ds}.csv")
    store.finish_delivery(delivery_id, status, rows=rows)
    return delivery_id


def test_delivery_start_and_finish(store: ControlStore) -> None:
    sub = _sub(store)
    delivery_id = store.start_delivery(
        "manual__2024-11-05", sub, D(2024, 11, 4), "clickstream_2024-11-04.csv"
    )
    [started] = store.deliveries()
    assert started.id == delivery_id and started.status == "started" and started.finished_at is None
    assert started.started_at.tzinfo is not None
    assert (started.subscription_id, started.org_id, started.destination) == (sub.id, "acme", sub.destination)
    assert not store.is_delivered(sub.id, D(2024, 11, 4))

    store.finish_delivery(
        delivery_id,
        "delivered",
        rows=120,
        sha256="ab" * 32,
        bytes=4096,
        quality={"checks": 7, "warnings": {"unknown_event": 2}, "day": D(2024, 11, 4)},
    )
    [done] = store.deliveries()
    assert (done.status, done.rows, done.sha256, done.bytes) == ("delivered", 120, "ab" * 32, 4096)
    assert done.quality == {"checks": 7, "warnings": {"unknown_event": 2}, "day": "2024-11-04"}
    assert done.finished_at is not None and done.finished_at >= done.started_at
    assert store.is_delivered(sub.id, D(2024, 11, 4))
    assert not store.is_delivered(sub.id, D(2024, 11, 5))
    assert done.to_dict()["file_name"] == "clickstream_2024-11-04.csv"


def test_finish_delivery_rejects_bad_status_and_id(store: ControlStore) -> None:
    delivery_id = store.start_delivery("r", _sub(store), D(2024, 11, 4), "f.csv")
    with pytest.raises(InputError, match="status must be one of"):
        store.finish_delivery(delivery_id, "started")
    with pytest.raises(InputError, match="no delivery 999"):
        store.finish_delivery(999, "failed", error="x")


def test_failed_delivery_keeps_error(store: ControlStore) -> None:
    sub = _sub(store)
    delivery_id = store.start_delivery("r", sub, D(2024, 11, 4), "f.csv")
    store.finish_delivery(delivery_id, "failed", error="bucket 'x' does not exist")
    [rec] = store.deliveries()
    assert (rec.status, rec.error) == ("failed", "bucket 'x' does not exist")
    assert not store.is_delivered(sub.id, D(2024, 11, 4))


def test_deliveries_filters(store: ControlStore) -> None:
    a = _sub(store)
    b = _sub(store, org_id="beta", report="activity")
    for day in (3, 4, 5):
        _attempt(store, a, D(2024, 11, day), "delivered", rows=day)
    _attempt(store, b, D(2024, 11, 4), "blocked")
    assert [r.ds.day for r in store.deliveries(org="acme")] == [3, 4, 5]
    assert [r.org_id for r in store.deliveries(report="activity")] == ["beta"]
    in_range = store.deliveries(date_from=D(2024, 11, 4), date_to=D(2024, 11, 4))
    assert sorted(r.org_id for r in in_range) == ["acme", "beta"]
    assert [r.ds.day for r in store.deliveries(org="acme", date_from=D(2024, 11, 5))] == [5]
    assert [r.ds.day for r in store.deliveries(org="acme", date_to=D(2024, 11, 3))] == [3]


def test_recent_row_counts_uses_latest_delivered_attempt_per_day(store: ControlStore) -> None:
    sub = _sub(store)
    other = _sub(store, org_id="beta")
    _attempt(store, sub, D(2024, 10, 27), "delivered", rows=1)  # before the window
    _attempt(store, sub, D(2024, 10, 28), "delivered", rows=100)  # first day of the window
    _attempt(store, sub, D(2024, 10, 30), "delivered", rows=50)
    _attempt(store, sub, D(2024, 10, 30), "delivered", rows=55)  # re-run replaced the file
    _attempt(store, sub, D(2024, 10, 30), "failed")  # a later failure does not count
    _attempt(store, sub, D(2024, 11, 1), "blocked", rows=5)  # quality blocked: not delivered
    store.start_delivery("r", sub, D(2024, 11, 2), "f.csv")  # still running
    _attempt(store, sub, D(2024, 11, 3), "delivered", rows=70)
    _attempt(store, sub, D(2024, 11, 4), "delivered", rows=999)  # the day being checked
    _attempt(store, other, D(2024, 11, 3), "delivered", rows=7)  # another org
    got = store.recent_row_counts("acme", "clickstream", before=D(2024, 11, 4), days=7)
    assert got == [(D(2024, 10, 28), 100), (D(2024, 10, 30), 55), (D(2024, 11, 3), 70)]
    assert store.recent_row_counts("acme", "activity", before=D(2024, 11, 4), days=7) == []
    assert store.recent_row_counts("acme", "clickstream", before=D(2024, 11, 4), days=1) == [
        (D(2024, 11, 3), 70)
    ]


def test_adhoc_subscription_is_logged_without_id(store: ControlStore) -> None:
    adhoc = Subscription(id="adhoc", org_id="acme", report="clickstream", destination="file:///tmp/x")
    delivery_id = store.start_delivery("manual", adhoc, D(2024, 11, 4), "f.csv")
    store.finish_delivery(delivery_id, "delivered", rows=3)
    assert store.deliveries()[0].subscription_id is None
    assert not store.is_delivered("adhoc", D(2024, 11, 4))
    assert store.recent_row_counts("acme", "clickstream", D(2024, 11, 5), 3) == [(D(2024, 11, 4), 3)]


def test_removing_a_subscription_keeps_its_log(store: ControlStore) -> None:
    sub = _sub(store)
    _attempt(store, sub, D(2024, 11, 4), "delivered", rows=3)
    store.remove(sub.id)
    [rec] = store.deliveries()
    assert rec.subscription_id == sub.id and rec.status == "delivered"


@pytest.mark.slow
def test_concurrent_first_use_migrates_once(db_url: str) -> None:
    """Parallel Airflow tasks (processes) may all call migrate() on an empty database at once."""
    import subprocess
    import sys

    code = (
        "import sys; from flatexport.control.store import ControlStore; ControlStore(sys.argv[1]).migrate()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    store = ControlStore(db_url)
    try:
        assert store.current_revision() == _newest_revision()
        assert _sub(store).id == 1
    finally:
        store.dispose()


def test_threads_share_one_migration(db_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [ControlStore(db_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(stores)) as pool:
            list(pool.map(lambda s: s.migrate(), stores))
        assert all(s.current_revision() == _newest_revision() for s in stores)
    finally:
        for s in stores:
            s.dispose()
