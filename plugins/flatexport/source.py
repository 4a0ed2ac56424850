"""Which warehouse to read: a SQLAlchemy URL, the environment, or the embedded DuckDB.

The URL never carries into logs as given: passwords and secret query values are masked
by :func:`flatexport.masking.mask_url` wherever a source is named in a message.
"""

from __future__ import annotations

import os
from functools import lru_cache

import sqlalchemy as sa

from flatexport.errors import InputError, SourceError
from flatexport.masking import mask_url
from flatexport.paths import default_warehouse_path
from flatexport.settings import get_settings

ENV_VAR = "FLATEXPORT_SOURCE_URL"
# The dialects a source may be (and a URL must name one: ``--source foo`` is refused
# here, with one line, not by SQLAlchemy's plugin loader with a traceback).
_DIALECTS = ("duckdb", "postgresql", "postgres")


def resolve_source_url(url: str | None = None) -> str:
    """--source, else FLATEXPORT_SOURCE_URL, else the embedded sample warehouse."""
    return url or get_settings().source_url or f"duckdb:///{default_warehouse_path()}"


class SourceURLError(SourceError, InputError):
    """The source URL itself is wrong (not a URL, an unsupported database, not a DuckDB
    file): a value to fix, so the CLI treats it as a usage error."""


# DuckDB database files carry this magic at byte 8 (the header's storage format tag).
_DUCKDB_MAGIC = b"DUCK"


def check_duckdb_file(path: str) -> None:
    """A DuckDB source must be a DuckDB file: anything else (SQLite, Parquet, text) would
    make DuckDB reach for an extension to read it; refused by its header instead."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(12)
    except OSError as exc:
        raise SourceURLError(f"source {path}: cannot read it: {exc.strerror or type(exc).__name__}") from None
    if header[8:12] != _DUCKDB_MAGIC:
        raise SourceURLError(
            f"source {path} is not a DuckDB database (its header is not DuckDB's); "
            "point --source or FLATEXPORT_SOURCE_URL at a .duckdb file or a PostgreSQL URL"
        )


def safe_url(url: str) -> str:
    """The URL as it may be shown: password and secret query values (``?password=``) hidden."""
    return mask_url(url)


def source_option(_ctx: object, _param: object, value: str | None) -> str | None:
    """Click callback for ``--source``: given means checked now (an empty or malformed URL
    is a usage error naming it), not silently replaced by the default source."""
    if value is None:
        return None
    import click

    try:
        normalise_url(value)
    except SourceURLError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the installed psycopg 3 driver for them."""
    if not url or not url.strip() or "\x00" in url:
        raise SourceURLError(
            f"invalid source URL {safe_url(url)!r}: expected e.g. duckdb:///path or postgresql://..."
        )
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:
        raise SourceURLError(
            f"invalid source URL {safe_url(url)!r}: expected e.g. duckdb:///path or postgresql://..."
        ) from exc
    if parsed.drivername.split("+", 1)[0] not in _DIALECTS:
        raise SourceURLError(
            f"unsupported source URL {safe_url(url)!r}: use duckdb:///path or postgresql://..."
        )
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
        if path and path != ":memory:":
            check_duckdb_file(path)
        # Read-only so nightly exports never block or alter the warehouse.
        # NullPool: no connection outlives a query, so a later re-seed can take the write lock.
        return sa.create_engine(url, connect_args=duckdb_connect_args(), poolclass=sa.pool.NullPool)
    return sa.create_engine(url, pool_pre_ping=True)


def duckdb_connect_args(*, read_only: bool = True) -> dict[str, object]:
    """How every source DuckDB is opened: read-only, and never installing or loading an
    extension on its own. A file with a foreign header (SQLite, a Parquet file renamed)
    would otherwise make DuckDB download the matching extension from the internet."""
    return {
        "read_only": read_only,
        "config": {"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    }


def is_duckdb(engine: sa.Engine) -> bool:
    return engine.dialect.name == "duckdb"


def sql_literal(value: str) -> str:
    """A quoted SQL string literal, for the few statements that take no bound parameters
    (DuckDB's SET and COPY ... TO); used only with our own settings and paths."""
    return "'" + value.replace("'", "''") + "'"
