"""Every FLATEXPORT_* setting is read and validated in one place, with a clear error."""

from __future__ import annotations

import pytest

from flatexport.errors import ConfigError
from flatexport.settings import get_settings, settings_or_defaults


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("FLATEXPORT_EXPORT_WORKERS", "two", "valid integer"),
        ("FLATEXPORT_EXPORT_WORKERS", "0", "greater than or equal to 1"),
        ("FLATEXPORT_TASK_RETRIES", "-1", "greater than or equal to 0"),
        ("FLATEXPORT_LATE_EVENT_GRACE_MINUTES", "soon", "valid integer"),
        ("FLATEXPORT_DUCKDB_MEMORY_LIMIT", "lots", "not a size"),
    ],
)
def test_a_bad_value_names_the_variable_and_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, complaint: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as err:
        get_settings()
    message = str(err.value)
    assert f"{variable}={value!r}" in message and complaint in message
    assert "\n" not in message


def test_values_are_typed_and_empty_means_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLATEXPORT_EXPORT_WORKERS", "2")
    monkeypatch.setenv("FLATEXPORT_DUCKDB_MEMORY_LIMIT", " 1GB ")
    monkeypatch.setenv("FLATEXPORT_TASK_RETRIES", "")
    settings = get_settings()
    assert settings.export_workers == 2
    assert settings.duckdb_memory_limit == "1GB"
    assert settings.task_retries == 3


def test_dag_parsing_survives_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """DAG files read settings at import; a typo there must not take the DAGs away."""
    monkeypatch.setenv("FLATEXPORT_TASK_RETRIES", "many")
    assert settings_or_defaults().task_retries == 3
    from flatexport.airflow_support.dag_factory import build_family_dag

    dag = build_family_dag("clickstream")
    assert dag.default_args["retries"] == 3
