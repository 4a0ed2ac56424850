from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.drive_server import DriveServer
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Airflow's metadata tables, created once per test session in its own AIRFLOW_HOME."""
    from flatexport.airflow_support.runner import ensure_metadata_db

    ensure_metadata_db()


@pytest.fixture
def control_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path}/control.db"
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", url)
    monkeypatch.setenv("FLATEXPORT_TASK_RETRIES", "0")
    return url


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    server, endpoint = start_moto_server()
    yield endpoint
    server.stop()


@pytest.fixture
def s3_conn(moto: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AIRFLOW_CONN_CUSTOMER_S3", aws_connection_json(moto))
    return boto3_client("s3", moto)


@pytest.fixture(scope="module")
def drive_server() -> Iterator[DriveServer]:
    server = DriveServer().start()
    yield server
    server.stop()


@pytest.fixture
def drive(drive_server: DriveServer, monkeypatch: pytest.MonkeyPatch) -> DriveServer:
    drive_server.reset()
    monkeypatch.setenv("AIRFLOW_CONN_CUSTOMER_DRIVE", drive_server.airflow_conn_json())
    return drive_server
