"""Which warehouse to read: a SQLAlchemy URL, the environment, or the embedded DuckDB.

The URL never carries into logs as given: passwords are masked by SQLAlchemy's
``render_as_string(hide_password=True)`` wherever a source is named in a message.
"""

from __future__ import annotations

import os
from functools import lru_cache

import sqlalchemy as sa

from flatexport.errors import SourceError
from flatexport.paths import default_warehouse_path
from flatexport.settings import get_settings

ENV_VAR = "FLATEXPORT_SOURCE_URL"


def resolve_source_url(url: str | None = None) -> str:
    """--source, else FLATEXPORT_SOURCE_URL, else the embedded sample warehouse."""
    return url or get_settings().source_url or f"duckdb:///{default_warehouse_path()}"


def safe_url(url: str) -> str:
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparseable URL>"


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the installed psycopg 3 driver for them."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise SourceError(
            f"invalid source URL {url!r}: expected e.g. duckdb:///path or postgresql://..."
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    url = normalise_url(url)
    if url.startswith("duckdb:"):
        path = sa.make_url(url).database
        if path and path != ":memory:" and not os.path.exists(path):
            raise SourceError(
                f"source {safe_url(url)} does not exist "
                "(run `flatexport seed` to create the sample warehouse)"
            )
        # Read-only so nightly exports never block or alter the warehouse.
        # NullPool: no connection outlives a query, so a later re-seed can take the write lock.
        return sa.create_engine(url, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
    return sa.create_engine(url, pool_pre_ping=True)


def is_duckdb(engine: sa.Engine) -> bool:
    return engine.dialect.name == "duckdb"


def sql_literal(value: str) -> str:
    """A quoted SQL string literal, for the few statements that take no bound parameters
    (DuckDB's SET and COPY ... TO); used only with our own settings and paths."""
    return "'" + value.replace("'", "''") + "'"
