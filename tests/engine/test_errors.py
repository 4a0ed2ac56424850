"""Errors by class: outages retry with back-off, everything a person must fix fails at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from airflow.sdk.exceptions import AirflowFailException

from flatexport.airflow_support.dag_factory import _permanent_failures_fail_fast
from flatexport.control.store import ControlStore
from flatexport.errors import (
    ConfigError,
    ControlStoreError,
    ControlStoreUnavailable,
    DeliveryError,
    InputError,
    QualityError,
    SourceError,
    SourceUnavailable,
    SpecError,
    is_retryable,
)
from flatexport.extract import iter_batches

CLOSED_PORT_PG = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"


def _drain(url: str, sql: str = "SELECT 1") -> None:
    for _ in iter_batches(sql, {}, url):
        pass


def test_an_unreachable_source_is_transient() -> None:
    with pytest.raises(SourceUnavailable) as err:
        _drain(CLOSED_PORT_PG)
    assert is_retryable(err.value)
    assert "unreachable" in str(err.value) and "nowhere" in str(err.value)


def test_a_refused_query_is_permanent(tmp_path) -> None:
    import duckdb

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(SourceError) as err:
        _drain(f"duckdb:///{path}", "SELECT * FROM no_such_table")
    assert not isinstance(err.value, SourceUnavailable)
    assert not is_retryable(err.value)


def test_an_unreachable_control_store_is_transient() -> None:
    with pytest.raises(ControlStoreUnavailable) as err:
        ControlStore(CLOSED_PORT_PG).list()
    assert is_retryable(err.value)


@pytest.mark.postgres
def test_a_refused_control_statement_is_permanent(pg_database: str) -> None:
    store = ControlStore(pg_database)
    store.list()  # migrates
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE deliveries"))
    with pytest.raises(ControlStoreError) as err:
        store.deliveries()
    assert not isinstance(err.value, ControlStoreUnavailable)
    assert not is_retryable(err.value)
    store.dispose()


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ConfigError("FLATEXPORT_X='y': bad"), False),
        (SpecError("spec.yaml: columns.0.type: bad"), False),
        (InputError("unknown org 'x'"), False),
        (QualityError("1 error-level checks failed"), False),
        (DeliveryError("S3 bucket 'b' does not exist"), False),
        (DeliveryError("S3 PutObject still failed after 5 attempts: SlowDown", retryable=True), True),
        (SourceUnavailable("source down"), True),
        (ControlStoreUnavailable("control down"), True),
        (OSError("connection reset"), True),
    ],
)
def test_each_class_decides_whether_to_retry(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_the_dag_fails_permanent_errors_at_once_and_lets_transient_ones_retry() -> None:
    def failing(exc: Exception):
        @_permanent_failures_fail_fast
        def task() -> None:
            raise exc

        return task

    with pytest.raises(AirflowFailException, match="does not exist"):
        failing(DeliveryError("S3 bucket 'b' does not exist"))()
    with pytest.raises(SourceUnavailable):  # not AirflowFailException: Airflow retries it
        failing(SourceUnavailable("source down"))()
    with pytest.raises(ControlStoreUnavailable):
        failing(ControlStoreUnavailable("control down"))()
