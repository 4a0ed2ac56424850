"""Throwaway PostgreSQL databases on the local server, for fixtures of any scope."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "FLATEXPORT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def throwaway_database(prefix: str = "fx_test") -> Iterator[str]:
    """Creates a database with a unique name, yields its SQLAlchemy URL, drops it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def airflow_postgres_connection(url: str) -> str:
    """The AIRFLOW_CONN_<ID> value (JSON) of a `postgres` connection to the database at url."""
    import json

    parsed = sa.make_url(url)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": parsed.host,
            "port": parsed.port,
            "login": parsed.username,
            "password": parsed.password,
            "schema": parsed.database,
        }
    )
