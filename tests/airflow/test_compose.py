"""docker-compose.yaml and the Dockerfile, checked without a container engine: the
production topology is complete, runs the commands and settings the native cluster test
(test_cluster_celery.py) runs, and the image ships the runtime lock only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from flatexport.paths import PROJECT_ROOT
from tests.support.airflow_cluster import COMPONENTS, celery_env, celery_worker_command

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker-1": "celery worker",
    "airflow-worker-2": "celery worker",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())


def _lock(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", path.read_text(), re.M)
    return {name.split("[")[0].lower(): version for name, version in pins}


def _names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[<>=~! ]", line)[0].lower())
    return names


def test_every_component_of_the_production_shape_is_there(compose):
    services = compose["services"]
    assert {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["command"] == command, name
        assert (service["image"], service["build"]) == ("flatexport:latest", "."), name
        assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-init"]["command"] == "db migrate"


def test_compose_runs_what_the_native_cluster_test_runs(compose):
    commands = set(AIRFLOW_SERVICES.values())
    for args in COMPONENTS.values():
        assert " ".join(args) in commands
    assert " ".join(celery_worker_command(["q"])[:2]) in commands

    metadata = "postgresql+psycopg://airflow:airflow@postgres:5432/airflow"
    test_env = celery_env(metadata, "ns")
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        for key in ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__RESULT_BACKEND"):
            assert env[key] == test_env[key], (name, key)
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
        # the async metadata driver: psycopg 3, the same database as the sync one
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] == env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == metadata
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["FLATEXPORT_CONTROL_DB_URL"].startswith("postgresql+psycopg://")
    for worker in ("airflow-worker-1", "airflow-worker-2"):
        assert compose["services"][worker]["environment"]["FLATEXPORT_STAGING_DIR"]


def test_the_control_database_is_created_beside_the_metadata_database(compose):
    control = compose["services"]["airflow-scheduler"]["environment"]["FLATEXPORT_CONTROL_DB_URL"]
    database = control.rsplit("/", 1)[1]
    init = next(v for v in compose["services"]["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v)
    script = PROJECT_ROOT / init.split(":")[0]
    assert f"CREATE DATABASE {database}" in script.read_text()


def test_the_image_is_the_pinned_airflow_with_the_runtime_lock_and_no_test_tools():
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    runtime = _lock(PROJECT_ROOT / "requirements.txt")
    base = re.search(r"^FROM apache/airflow:(\S+)-python3\.11$", dockerfile, re.M)
    assert base and base.group(1) == runtime["apache-airflow"]
    installs = [line for line in dockerfile.splitlines() if line.startswith(("RUN", "COPY"))]
    assert any("-r /opt/flatexport/requirements.txt" in line for line in installs)
    assert not any("requirements-dev" in line for line in installs)
    dev_only = _names(PROJECT_ROOT / "requirements-dev.in") - _names(PROJECT_ROOT / "requirements.in")
    assert dev_only >= {"pytest", "ruff", "moto", "aiosmtpd"}
    assert not dev_only & set(runtime), dev_only & set(runtime)
    assert "apache-airflow-providers-celery" in runtime
    # the dev lock pins every runtime package at the runtime version
    dev = _lock(PROJECT_ROOT / "requirements-dev.txt")
    assert {name: dev.get(name) for name in runtime} == runtime
