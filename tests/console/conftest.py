"""One real Airflow for the console's tests: the api-server (with the console plugin,
loaded from the package's entry point), the scheduler and the DAG processor on a
throwaway PostgreSQL metadata database, SimpleAuthManager with a customer-success user
(role op) and a read-only one (role viewer), a SQLite control store, a DuckDB
warehouse with one org's events, moto's S3 server and the local Drive v3 server, both
over HTTP. Started once for the
session (it takes ~30 s) and always stopped, with the browser, at the end. Tests add their
subscriptions for their own orgs, switched off unless a DAG run is the point, so the
one DAG run of the browser test delivers only what it means to.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from flatexport.control.store import ControlStore
from tests.conftest import PG_ADMIN_URL
from tests.support.airflow_cluster import AirflowCluster, airflow_cluster
from tests.support.drive_server import DriveServer
from tests.support.events import ev, load_events
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

DAY = dt.date(2024, 11, 4)

# Orgs the warehouse knows besides org_a and org_b, one per test that adds a subscription
# (tests/console/test_http.py's unique_org): adding one for an unknown org is refused.
SPARE_ORGS = tuple(f"org_spare{i:02d}" for i in range(60))
ORG = "org_a"
# Airflow's SimpleAuthManager roles: op may do everything the console offers; user may
# change subscriptions without a connection and re-deliver; viewer may only look.
USERS = {
    "cs": ("op", "cs-password-1"),
    "dagops": ("user", "dagops-password-1"),
    "viewer": ("viewer", "viewer-password-1"),
}
S3_CONN = "customer_s3"
DRIVE_CONN = "customer_drive"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass
class Console:
    cluster: AirflowCluster
    base: str  # http://127.0.0.1:PORT
    control_url: str
    moto: str
    drive: DriveServer

    @property
    def url(self) -> str:
        return f"{self.base}/flatexport"

    def store(self) -> ControlStore:
        return ControlStore(self.control_url)

    def token(self, user: str) -> str:
        password = USERS[user][1]
        response = httpx.post(
            f"{self.base}/auth/token", json={"username": user, "password": password}, timeout=30
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def client(self, user: str | None) -> httpx.Client:
        """An HTTP client signed in as ``user`` the way the browser is (the _token cookie)."""
        cookies = {"_token": self.token(user)} if user else {}
        return httpx.Client(base_url=self.url, cookies=cookies, timeout=60, follow_redirects=False)

    def s3(self) -> Any:
        return boto3_client("s3", self.moto)


@pytest.fixture(scope="session")
def metadata_db() -> Iterator[str]:
    """A PostgreSQL database for Airflow's metadata, for the whole session."""
    name = f"fx_console_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory, metadata_db: str) -> Iterator[Console]:
    root = tmp_path_factory.mktemp("console")
    warehouse = load_events(
        f"duckdb:///{root}/warehouse.duckdb",
        [
            ev(101, "2024-11-04T09:00:00", "session_start"),
            ev(101, "2024-11-04T09:01:00", "tile_click", {"tile": "Pledge to vote"}),
            ev(102, "2024-11-04T13:00:00", "session_start"),
            ev(201, "2024-11-04T10:00:00", "session_start", org="org_b"),
            # orgs the tests add subscriptions for: an org must be in the source (issue 9)
            *(
                ev(300 + i, "2024-11-04T12:00:00", "session_start", org=org)
                for i, org in enumerate(SPARE_ORGS)
            ),
        ],
    )
    passwords = root / "passwords.json"
    passwords.write_text(json.dumps({name: pw for name, (_, pw) in USERS.items()}))
    control_url = f"sqlite:///{root}/control.db"
    ControlStore(control_url).migrate()
    server, moto = start_moto_server()
    drive = DriveServer().start()
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{n}:{r}" for n, (r, _) in USERS.items()),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW_CONN_" + S3_CONN.upper(): aws_connection_json(moto),
        "AIRFLOW_CONN_" + DRIVE_CONN.upper(): drive.airflow_conn_json(),
        "FLATEXPORT_DATA_DIR": str(root / "data"),
        "FLATEXPORT_SOURCE_URL": warehouse,
        "FLATEXPORT_CONTROL_DB_URL": control_url,
        "FLATEXPORT_TASK_RETRIES": "0",
    }
    try:
        with airflow_cluster(root / "airflow", metadata_db, env) as cluster:
            yield Console(cluster, f"http://127.0.0.1:{cluster.port}", control_url, moto, drive)
    finally:
        drive.stop()
        server.stop()


# -- the browser ----------------------------------------------------------------------------


def browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    return f"{', '.join(missing)} not installed (make browser)" if missing else None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Debian Chromium through chromedriver, with a fresh profile; always quit."""
    reason = browser_missing()
    if reason:
        if os.environ.get("FLATEXPORT_TEST_BROWSER") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=False)


# -- HTTP helpers ---------------------------------------------------------------------------

_TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of a form on ``path`` (as the browser would submit it)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = _TOKEN_FIELD.search(page.text)
    assert match, f"no form with a CSRF token on {path}"
    return match.group(1)


def session_token(client: httpx.Client) -> str:
    """The CSRF token of the client's own console session, read from its cookie (signed,
    not encrypted): what a user without any form on their pages could still send."""
    client.get("/")
    payload = client.cookies["flatexport_console"].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["csrf"]


def flashes(client: httpx.Client, response: httpx.Response) -> list[str]:
    """Follow a post/redirect/get and return the messages the next page shows."""
    assert response.status_code == 303, (response.status_code, response.text[:500])
    page = client.get(response.headers["location"].removeprefix("/flatexport"))
    return [html.unescape(m) for m in re.findall(r'<span class="message">(.*?)</span>', page.text, re.S)]


def add_form(org: str, url: str, **fields: str) -> dict[str, str]:
    return {"org_id": org, "report": "clickstream", "url": url, "fmt": "csv", "timezone": "UTC", **fields}
