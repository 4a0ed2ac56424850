"""On-demand requests end to end: the hand-built organizing rows of the organizing tests
(org o1 with admin ada@o1.example and volunteer vic@o1.example, org o2 with admin
olga@o2.example) plus a little activity, in one DuckDB source; a real SMTP server
(aiosmtpd); a fresh control store and data folder per test."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from flatexport.seed.activity import seed_activity
from flatexport.seed.organizing import frames_from_rows, load_organizing
from tests.destinations.conftest import mailbox, smtp_conn  # noqa: F401 - fixtures used here
from tests.reports.organizing.data import ROWS

ADMIN = "ada@o1.example"
VOLUNTEER = "vic@o1.example"
OTHER_ADMIN = "olga@o2.example"
ACTIVITY_DAY = dt.date(2024, 11, 4)


@pytest.fixture(scope="session")
def source_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('ondemand') / 'warehouse.duckdb'}"
    load_organizing(url, frames_from_rows(ROWS))
    seed_activity(url, orgs=["o1", "o2"], days=[ACTIVITY_DAY], events_per_org_day=120, seed=5)
    return url


@pytest.fixture
def env(
    source_url: str,
    smtp_conn,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """What a deployment configures: the source, the control store, the SMTP connection."""
    conn_id = smtp_conn()
    control = f"sqlite:///{tmp_path / 'control.db'}"
    values = {
        "FLATEXPORT_SOURCE_URL": source_url,
        "FLATEXPORT_CONTROL_DB_URL": control,
        "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
        "FLATEXPORT_EMAIL_SMTP_CONN_ID": conn_id,
        "FLATEXPORT_TASK_RETRIES": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {"control": control, "smtp_conn_id": conn_id, **values}
