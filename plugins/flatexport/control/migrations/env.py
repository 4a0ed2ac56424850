"""Alembic environment for the control database, driven from ``ControlStore.migrate``.

The store hands over an open connection (``config.attributes["connection"]``) so the
migration runs with the store's engine settings; a URL in the config is the fallback
for running ``alembic`` by hand. On PostgreSQL an advisory lock serialises concurrent
upgrades (several Airflow tasks may call ``migrate()`` at the same moment).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from flatexport.control.models import Base

PG_LOCK_ID = 0x666C6578  # "flex": any constant shared by all flatexport processes

config = context.config
target_metadata = Base.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_ID})
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
