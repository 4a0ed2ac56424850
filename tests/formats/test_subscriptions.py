"""Subscriptions choose xlsx or parquet: the control database's format constraint is
widened by migration 0003, on an existing database as on a new one."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from flatexport.control.store import MIGRATIONS_DIR, ControlStore
from flatexport.errors import InputError


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("pg_database")
    return f"sqlite:///{tmp_path / 'control.db'}"


def _alembic(url: str, to: str, down: bool = False) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, to)
    finally:
        engine.dispose()


def _add(store: ControlStore, fmt: str = "csv", org: str = "acme"):
    return store.add_subscription(
        org_id=org, report="clickstream", destination=f"file:///srv/{org}", format=fmt
    )


def test_an_existing_database_gains_the_formats_and_keeps_rows_and_ids(db_url: str) -> None:
    _alembic(db_url, "0001")
    store = ControlStore(db_url)
    try:
        kept = _add(store, org="a")
        removed = _add(store, org="b")
        store.remove(removed.id)
        store.migrate()  # 0001 -> newest, as the next task after a deploy would
        assert store.get(kept.id) == kept
        [check] = sa.inspect(store.engine).get_check_constraints("subscriptions")
        assert check["name"] == "ck_subscriptions_format"  # the name the models declare
        for fmt in ("xlsx", "parquet"):
            new = _add(store, fmt, org=f"c{fmt}")
            assert store.get(new.id).format == fmt
            assert new.id > removed.id  # a removed subscription's id is never handed out again
        with pytest.raises(InputError, match="format"):
            _add(store, "xlsx.gz")
        with store.engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE subscriptions SET format = 'xml' WHERE id = :id"), {"id": kept.id})
    finally:
        store.dispose()


def test_downgrade_refuses_while_subscriptions_use_the_formats(db_url: str) -> None:
    store = ControlStore(db_url)
    try:
        _add(store, "parquet")
    finally:
        store.dispose()
    with pytest.raises(RuntimeError, match="use xlsx or parquet"):
        _alembic(db_url, "0001", down=True)


def test_downgrade_restores_the_old_constraint_and_keeps_rows(db_url: str) -> None:
    store = ControlStore(db_url)
    try:
        kept = _add(store, "csv.gz")
        store.dispose()
        _alembic(db_url, "0001", down=True)
        with store.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT format FROM subscriptions")).scalars().all() == ["csv.gz"]
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(
                    sa.text("UPDATE subscriptions SET format = 'xlsx' WHERE id = :id"), {"id": kept.id}
                )
    finally:
        store.dispose()
