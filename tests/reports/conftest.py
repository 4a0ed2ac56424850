"""Small seeded warehouses for the activity, unique users and planroom report tests.

Each warehouse is its own DuckDB file: the engine keeps read-only connections open, and
DuckDB refuses a second, writable connection to a file already open read-only.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from flatexport.export import run_export
from flatexport.seed.activity import seed_activity
from flatexport.seed.planroom import seed_planroom
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

ORGS = ["org_acme", "org_globex"]
DAYS = [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
DS = "2026-11-02"


def seed_all(url: str, events: int = 300) -> None:
    seed_activity(url, orgs=ORGS, days=DAYS, events_per_org_day=events, seed=11)
    seed_planroom(url, orgs=ORGS, days=DAYS, seed=11)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Both orgs, two days, every source table; shared read-only by the tests."""
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    url = f"duckdb:///{path}"
    seed_all(url)
    return url


Export = Callable[..., tuple[StagedFile, list[dict[str, str]], str]]


@pytest.fixture
def export(tmp_path: Path) -> Export:
    """run_export for one subscription; returns (staged file, rows as dicts by header, text)."""
    counter = iter(range(1_000_000))

    def run(report: str, url: str, ds: str = DS, org: str = "org_acme", **kw) -> tuple:
        n = next(counter)
        sub = Subscription(id=n, org_id=org, report=report, destination="file:///unused", **kw)
        staged = run_export(sub, ds, source_url=url, out_path=tmp_path / f"{report}_{n}.csv")
        text = Path(staged.path).read_text(encoding="utf-8")
        return staged, list(csv.DictReader(io.StringIO(text))), text

    return run
