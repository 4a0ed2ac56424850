"""Run a report's SQL with bound parameters and stream the result as DataFrames.

Memory stays flat with the size of the day: rows arrive in fixed-size batches and are
regrouped so that no session (or other group) is ever split across two chunks.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from flatexport.errors import SourceError, SourceUnavailable, SpecError
from flatexport.paths import spill_dir
from flatexport.settings import get_settings
from flatexport.source import engine_for, is_duckdb, resolve_source_url, safe_url, sql_literal

if TYPE_CHECKING:
    from flatexport.families.base import Chunking

DEFAULT_BATCH_ROWS = 250_000
_DUCKDB_VECTOR = 2048  # rows per DuckDB vector; fetch_df_chunk counts in vectors


def read_sql_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(f"SQL file {path} does not exist") from exc


def _bindable(params: dict[str, Any]) -> dict[str, Any]:
    """Timestamps travel as aware UTC instants so neither database guesses a zone."""
    out = {}
    for key, value in params.items():
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        out[key] = value
    return out


def _configure_duckdb(conn: sa.Connection) -> None:
    """UTC sessions, and a memory cap so a large day's sort spills to disk instead of
    holding the whole day in RAM (the export's memory then stays flat as days grow).

    SET takes no bound parameters, so the values are validated (by the settings) before use.
    """
    limit = get_settings().duckdb_memory_limit
    spill = spill_dir()
    conn.exec_driver_sql("SET TimeZone='UTC'")
    conn.exec_driver_sql(f"SET memory_limit='{limit}'")
    conn.exec_driver_sql("SET temp_directory=" + sql_literal(str(spill)))


def _duckdb_batches(result: sa.CursorResult, batch_rows: int) -> Iterator[pd.DataFrame]:
    cursor = result.cursor
    vectors = max(1, batch_rows // _DUCKDB_VECTOR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DuckDB's own pandas calls emit pandas-3 deprecations
        while True:
            frame = cursor.fetch_df_chunk(vectors)
            if frame.empty:
                return
            yield frame


def _dbapi_batches(result: sa.CursorResult, batch_rows: int) -> Iterator[pd.DataFrame]:
    columns = list(result.keys())
    while rows := result.fetchmany(batch_rows):
        yield pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)


def iter_batches(
    sql: str,
    params: dict[str, Any],
    source_url: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> Iterator[pd.DataFrame]:
    """Yield the query's rows in batches; DuckDB hands over columnar chunks directly,
    other databases stream through a server-side cursor."""
    url = resolve_source_url(source_url)
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            if is_duckdb(engine):
                _configure_duckdb(conn)
                result = conn.execute(sa.text(sql), _bindable(params))
                yield from _duckdb_batches(result, batch_rows)
            else:
                result = conn.execution_options(stream_results=True, yield_per=batch_rows).execute(
                    sa.text(sql), _bindable(params)
                )
                yield from _dbapi_batches(result, batch_rows)
    except sa.exc.DBAPIError as exc:
        raise source_error(url, exc) from exc


def has_rows(sql_path: Path, params: dict[str, Any], source_url: str | None = None) -> bool:
    """Whether a check query (``org_exists.sql``, a scope check) returns any row."""
    return any(not b.empty for b in iter_batches(read_sql_file(sql_path), params, source_url))


def source_error(url: str, exc: sa.exc.DBAPIError) -> SourceError:
    """An outage (connection refused or dropped, server shutting down) is transient and
    retried; a refused query (missing table, bad SQL) is permanent."""
    detail = _one_line(exc.orig)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError) or exc.connection_invalidated:
        return SourceUnavailable(f"source {safe_url(url)} is unreachable: {detail}")
    if isinstance(exc, sa.exc.ProgrammingError):
        return SourceError(f"query failed on {safe_url(url)}: {detail}")
    return SourceError(f"source {safe_url(url)} failed: {detail}")


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def chunks(batches: Iterable[pd.DataFrame], chunking: Chunking) -> Iterator[pd.DataFrame]:
    """The batches re-cut as the report's family asks: whole groups, the whole window in
    one chunk, or as they come."""
    if chunking.whole_window:
        frames = list(batches)
        if frames:
            yield frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return
    if chunking.group_key:
        yield from whole_groups(batches, chunking.group_key)
        return
    yield from batches


def whole_groups(batches: Iterable[pd.DataFrame], key: str) -> Iterator[pd.DataFrame]:
    """Re-cut batches so each chunk holds only complete groups of ``key``.

    Relies on the query's ORDER BY keeping each group's rows contiguous: only the last
    group of a batch can continue in the next batch, so it is carried over.
    """
    carry: pd.DataFrame | None = None
    for batch in batches:
        if carry is not None:
            batch = pd.concat([carry, batch], ignore_index=True)
        last = batch[key].iloc[-1]
        tail = batch[key].to_numpy() == last
        cut = len(batch) - int(tail[::-1].argmin() if not tail.all() else len(batch))
        if cut == 0:
            carry = batch
            continue
        yield batch.iloc[:cut].reset_index(drop=True)
        carry = batch.iloc[cut:].reset_index(drop=True)
    if carry is not None and not carry.empty:
        yield carry
