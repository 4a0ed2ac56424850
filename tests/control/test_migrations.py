"""Migrations carry real subscriptions over, on SQLite and PostgreSQL: a control database
made by 0001 (scope in ``company_id`` / ``entries`` columns) upgrades to one ``scope``."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command

from flatexport.control.store import ControlStore

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

# The subscriptions table as revision 0001 created it (the columns these tests fill).
SUBS_0001 = sa.table(
    "subscriptions",
    sa.column("id", sa.Integer()),
    sa.column("org_id", sa.String()),
    sa.column("report", sa.String()),
    sa.column("format", sa.String()),
    sa.column("timezone", sa.String()),
    sa.column("exclude_pii", sa.Boolean()),
    sa.column("destination", sa.Text()),
    sa.column("company_id", sa.BigInteger()),
    sa.column("entries", sa.JSON()),
    sa.column("enabled", sa.Boolean()),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def _newest_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from flatexport.control.store import MIGRATIONS_DIR

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _row(org: str, report: str, **fields: object) -> dict[str, object]:
    base = {
        "org_id": org,
        "report": report,
        "format": "csv",
        "timezone": "UTC",
        "exclude_pii": False,
        "destination": f"file:///srv/{org}/{report}",
        "company_id": None,
        "entries": None,
        "enabled": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    return {**base, **fields}


def _at(store: ControlStore, revision: str, downgrade: bool = False) -> None:
    with store.engine.connect() as conn:
        cfg = store._alembic_config(conn)
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)
        conn.commit()


def test_a_0001_database_upgrades_with_each_scope_filled(db_url: str) -> None:
    store = ControlStore(db_url)
    try:
        _at(store, "0001")
        rows = [
            _row("acme", "clickstream"),
            _row("acme", "planroom_activity", company_id=101),
            _row("beta", "activity", entries=["content", "feed.posted"]),
            _row("beta", "planroom_summary"),
        ]
        with store.engine.begin() as conn:
            conn.execute(sa.insert(SUBS_0001), rows)

        store.migrate()
        assert store.current_revision() == _newest_revision()
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("subscriptions")}
        assert "scope" in columns and not {"company_id", "entries"} & columns
        got = {(s.org_id, s.report): s.scope for s in store.list()}
        assert got == {
            ("acme", "clickstream"): {},
            ("acme", "planroom_activity"): {"company_id": 101},
            ("beta", "activity"): {"entries": ["content", "feed.posted"]},
            ("beta", "planroom_summary"): {},
        }
        # ids are still never reused (SQLite keeps AUTOINCREMENT through the migration)
        last = max(s.id for s in store.list())
        store.remove(last)
        new = store.add_subscription(org_id="gamma", report="clickstream", destination="file:///srv/g")
        assert new.id > last

        # and back: the scope returns to its columns
        store.dispose()
        _at(store, "0001", downgrade=True)
        with store.engine.connect() as conn:
            back = conn.execute(
                sa.select(SUBS_0001.c.report, SUBS_0001.c.company_id, SUBS_0001.c.entries).order_by(
                    SUBS_0001.c.id
                )
            ).all()
        assert [(r, c, e) for r, c, e in back if c is not None or e is not None] == [
            ("planroom_activity", 101, None),
            ("activity", None, ["content", "feed.posted"]),
        ]
    finally:
        store.dispose()
