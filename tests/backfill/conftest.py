"""Backfills and late data reuse the Airflow fixtures (metadata DB, control DB)."""

from tests.airflow.conftest import airflow_db, control_db  # noqa: F401 - fixtures by name
