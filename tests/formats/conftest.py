"""Fixtures for the typed-format tests: the sample warehouse, and small typed frames."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from flatexport.export import run_export
from flatexport.seed.warehouse import DEMO_DAYS, seed_all
from flatexport.specs import ColumnSpec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from flatexport.write import FileInfo, ReportWriter

DAY = DEMO_DAYS[2]
ZONE = "America/Chicago"


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('sample') / 'warehouse.duckdb'}"
    seed_all(url, sessions_per_org_day=150, activity_events=300, seed=7)
    return url


def export(
    url: str, report: str, fmt: str, out: Path, timezone: str = ZONE, day: dt.date = DAY, **sub: object
) -> StagedFile:
    subscription = Subscription(
        id=1,
        org_id="org_acme",
        report=report,
        destination="file:///unused",
        format=fmt,
        timezone=timezone,
        **sub,  # type: ignore[arg-type]
    )
    return run_export(subscription, day, source_url=url, out_path=out)


def col(name: str, type_: str, header: str | None = None) -> ColumnSpec:
    return ColumnSpec(name=name, header=header, type=type_, definition=name, rule={"kind": "field"})  # type: ignore[arg-type]


# One column of each spec type, as a report spec declares them.
COLUMNS = [
    col("session_id", "integer", "Session ID"),
    col("zipcode", "string", "Zip"),
    col("phone", "string", "Phone"),
    col("note", "string", "Note"),
    col("started", "datetime", "Session Start"),
    col("day", "date", "Day"),
    col("converted", "boolean", "Converted"),
    col("score", "number", "Score"),
    col("tiles", "array", "Tiles"),
]


def typed_frame() -> pd.DataFrame:
    """Canonical values (as the flatteners hand them to the writer), edge cases included."""
    return pd.DataFrame(
        {
            "session_id": pd.array([1, 2, 3, 12345678901234567, None], dtype="Int64"),
            "zipcode": ["02139", "00907", None, "", "06103"],
            "phone": ["+1 555 0100", "0044 20 7946 0000", None, None, None],
            "note": ['=HYPERLINK("http://x","y")', "+SUM(A1)", "-2+3", "@cmd", "a\x01_x0041_b\ttab"],
            "started": [
                "2024-11-03T01:30:00-05:00",  # the first 01:30 of the night clocks go back
                "2024-11-03T01:30:00-06:00",  # the second
                "2024-11-04T09:15:00-06:00",
                "2024-11-04T15:15:00+00:00",  # another offset: shown in the subscription's zone
                None,
            ],
            "day": ["2024-11-04", "1899-12-31", None, "2024-02-29", "2024-11-04"],
            "converted": pd.array([True, False, None, True, False], dtype="boolean"),
            "score": [1.5, None, float("inf"), 0.0, -2.25],
            "tiles": ['["vote","register"]', None, '["a,b","c\\"d"]', None, '["x"]'],
        }
    )


def write_file(
    path: Path,
    fmt: str,
    frames: list[pd.DataFrame],
    columns: list[ColumnSpec] | None = None,
    *,
    timezone: str = ZONE,
    sheet_rows: int | None = None,
) -> tuple[int, str, int, dict]:
    writer = ReportWriter(
        path,
        fmt,
        columns or COLUMNS,
        info=FileInfo(title="sessions", timezone=timezone, day=dt.date(2024, 11, 4)),
        sheet_rows=sheet_rows,
    )
    for frame in frames:
        writer.write(frame)
    rows, sha, size = writer.close()
    return rows, sha, size, writer.details
