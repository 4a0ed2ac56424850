from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from flatexport.export import run_export
from flatexport.subscriptions import Subscription
from tests.support.events import load_events


class Exported:
    def __init__(self, staged) -> None:
        self.staged = staged
        self.text = Path(staged.path).read_bytes().decode("utf-8") if staged.format == "csv" else ""
        self.rows = list(csv.DictReader(io.StringIO(self.text))) if self.text else []

    def by_session(self) -> dict[str, dict[str, str]]:
        return {r["session_id"]: r for r in self.rows}


@pytest.fixture
def export_events(tmp_path: Path, data_dir: Path):
    """Load events into a fresh DuckDB warehouse and export one org-day from it."""
    counter = iter(range(1_000_000))

    def run(events, ds="2024-11-04", org="org_a", timezone="UTC", url=None, **sub_options) -> Exported:
        n = next(counter)
        source = url or f"duckdb:///{tmp_path}/w{n}.duckdb"
        load_events(source, events)
        sub = Subscription(
            id=f"t{n}",
            org_id=org,
            report="clickstream",
            destination=f"file://{tmp_path}/out",
            timezone=timezone,
            **sub_options,
        )
        return Exported(run_export(sub, ds, source_url=source, out_path=tmp_path / f"out{n}.{sub.format}"))

    return run
