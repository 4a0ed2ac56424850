"""Every report in every format passes the quality gate on the sample warehouse.

Parametrised over the report specs and the format registry, so a new report or format
is covered by adding it. This is the test that JSON Lines files used to fail ("columns
match spec" against CSV headers; "formulas neutralised" on unguarded cells).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flatexport.export import run_export
from flatexport.formats import FORMATS, get_format
from flatexport.quality.results import gate
from flatexport.quality.validate import validate_staged
from flatexport.seed.warehouse import DEMO_DAYS, sample_scope, seed_all
from flatexport.specs import available_reports, load_spec
from flatexport.subscriptions import Subscription

DAY = DEMO_DAYS[2]


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('sample') / 'warehouse.duckdb'}"
    seed_all(url, sessions_per_org_day=150, activity_events=300, seed=7)
    return url


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("report", available_reports())
def test_sample_day_passes_the_gate(report: str, fmt: str, sample_warehouse: str, tmp_path: Path) -> None:
    sub = Subscription(
        id=1,
        org_id="org_acme",
        report=report,
        destination="file:///unused",
        format=fmt,
        scope=sample_scope(report, "org_acme"),
    )
    staged = run_export(sub, DAY, source_url=sample_warehouse, out_path=tmp_path / f"out.{fmt}")
    assert staged.rows > 0
    result = validate_staged(load_spec(report), staged, sub, write_files=False)
    assert [c.name for c in result.failed] == []
    gate(result)
    assert staged.columns[0] == get_format(fmt).column_key(load_spec(report).columns[0])
