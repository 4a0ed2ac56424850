"""Migration 0006 on SQLite and PostgreSQL: existing subscriptions keep their ids and get
no contact; the notices table appears; both go away again on downgrade."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command

from flatexport.control.store import ControlStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'control.db'}"


def _at(store: ControlStore, revision: str, downgrade: bool = False) -> None:
    with store.engine.connect() as conn:
        cfg = store._alembic_config(conn)
        (command.downgrade if downgrade else command.upgrade)(cfg, revision)
        conn.commit()


def _columns(store: ControlStore, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(store.engine).get_columns(table)}


def test_0006_adds_the_contact_and_the_notices_table_and_takes_them_back(db_url: str) -> None:
    store = ControlStore(db_url)
    try:
        _at(store, "0003")
        with store.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO subscriptions (org_id, report, format, timezone, exclude_pii, destination, "
                    "scope, enabled, created_at, updated_at) VALUES ('acme', 'clickstream', 'csv', 'UTC', "
                    "false, 'file:///srv/acme', '{}', true, :now, :now)"
                ),
                {"now": dt.datetime(2026, 11, 1, tzinfo=dt.UTC)},
            )
        _at(store, "0006")
        [sub] = store.list()
        assert (sub.org_id, sub.contact) == ("acme", None)
        assert {"subscription_id", "day", "reason", "ds"} <= _columns(store, "notices")

        store.dispose()
        _at(store, "0003", downgrade=True)
        assert "contact" not in _columns(store, "subscriptions")
        assert "notices" not in sa.inspect(store.engine).get_table_names()
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, org_id FROM subscriptions")).all() == [(sub.id, "acme")]
    finally:
        store.dispose()
