"""A small warehouse, a control store (SQLite or PostgreSQL) and the `flatexport` command
as a real process, for the staged file's and the attempt's lifecycle tests."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from flatexport.control.store import ControlStore
from flatexport.formats import get_format
from flatexport.specs import load_spec
from tests.support.events import ev, load_events

DAY = dt.date(2024, 11, 4)
ORG = "org_a"
NAME = f"clickstream_{DAY}.csv"


def events() -> list[dict]:
    found = []
    for n in range(1, 41):
        found += [
            ev(n, f"{DAY}T09:{n % 60:02d}:00", "session_start", org=ORG),
            ev(n, f"{DAY}T09:{n % 60:02d}:30", "tile_click", {"tile": f"Pledge to vote #{n}"}, org=ORG),
        ]
    return found


def pii_headers() -> set[str]:
    spec = load_spec("clickstream")
    key = get_format("csv").column_key
    return {key(c) for c in spec.select(None, False)} - {key(c) for c in spec.select(None, True)}


def header(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


@dataclass
class Env:
    """One deployment: where its data, staging and control store are."""

    tmp: Path
    source: str
    control: str
    vars: dict[str, str]

    @property
    def store(self) -> ControlStore:
        return ControlStore(self.control)

    def add(self, dest: Path, **fields) -> int:
        store = self.store
        try:
            return store.add_subscription(
                org_id=ORG, report="clickstream", destination=dest.as_uri(), **fields
            ).id
        finally:
            store.dispose()

    def cli(self, *args: str, extra: dict[str, str] | None = None, timeout: float = 300):
        return subprocess.run(
            [sys.executable, "-m", "flatexport.cli", *args],
            env={**os.environ, **self.vars, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str, extra: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "flatexport.cli", *args],
            env={**os.environ, **self.vars, **(extra or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run_day(self, extra: dict[str, str] | None = None):
        return self.cli("run", "clickstream", "--date", str(DAY), "--org", ORG, extra=extra)

    def deliveries(self) -> list[tuple[int | None, str]]:
        store = self.store
        try:
            return [(d.subscription_id, d.status) for d in store.deliveries()]
        finally:
            store.dispose()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    return load_events(f"duckdb:///{tmp_path_factory.mktemp('wh') / 'w.duckdb'}", events())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/control.db"
    else:
        yield request.getfixturevalue("pg_database")


@pytest.fixture
def env(tmp_path: Path, warehouse: str, control_url: str, monkeypatch: pytest.MonkeyPatch) -> Env:
    values = {
        "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
        "FLATEXPORT_STAGING_DIR": str(tmp_path / "staging"),
        "FLATEXPORT_CONTROL_DB_URL": control_url,
        "FLATEXPORT_SOURCE_URL": warehouse,
        "FLATEXPORT_LATE_EVENT_GRACE_MINUTES": "0",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLATEXPORT_STAGING_URL", raising=False)
    return Env(tmp_path, warehouse, control_url, values)


def staged_attempts(root: Path) -> list[Path]:
    """Every attempt folder under a local staging root."""
    return sorted(p for p in root.glob("clickstream/*/*/*/attempt-*") if p.is_dir())
