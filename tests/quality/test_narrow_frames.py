"""Each expectation over only the columns it reads gives the results of the whole frame.

The narrow path is the gate's default because it is several times cheaper; these tests
hold it to the reference (the whole suite over the whole chunk) on a seeded day and on a
day with every kind of failure, split into chunks, down to samples and listed keys.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from flatexport.export import run_export
from flatexport.quality.results import QualityReport
from flatexport.quality.validate import validate_staged
from flatexport.seed.clickstream import seed_warehouse
from flatexport.specs import Expectation, ReportSpec
from flatexport.subscriptions import Subscription

from .staging import clean_rows, subscription, write_staged

DAY = dt.date(2024, 11, 4)


def everything(report: QualityReport) -> tuple[dict[str, Any], list[tuple[str, list[str], list[str]]]]:
    summary = report.to_summary()
    summary.pop("elapsed_s")
    return summary, [(c.name, c.samples, c.keys) for c in report.checks]


def test_seeded_day_gives_the_same_results(spec: ReportSpec, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    seed_warehouse(url, ["org_acme"], [DAY], 300, seed=7)
    sub = Subscription(id=1, org_id="org_acme", report="clickstream", destination="file:///unused")
    staged = run_export(sub, DAY, source_url=url, out_path=tmp_path / "out.csv")
    assert staged.rows > 100
    for chunksize in (10_000, 97):
        narrow = validate_staged(spec, staged, sub, chunksize=chunksize, write_files=False)
        whole = validate_staged(spec, staged, sub, chunksize=chunksize, write_files=False, narrow=False)
        assert everything(narrow) == everything(whole)
        assert narrow.check("session_id not null").element_count == staged.rows


# Spec expectations over two or more columns, and one whose row condition names another
# column (it runs over the whole frame).
SPEC_EXPECTATIONS = [
    Expectation(
        type="expect_column_pair_values_to_be_equal", kwargs={"column_A": "ds", "column_B": "polling_date"}
    ),
    Expectation(
        type="expect_select_column_values_to_be_unique_within_record",
        severity="warn",
        kwargs={"column_list": ["polling_date", "date_of_birth"]},
    ),
    Expectation(
        type="expect_column_values_to_match_regex",
        kwargs={
            "column": "zipcode",
            "regex": "^9",
            "row_condition": 'device_type=="mobile"',
            "condition_parser": "pandas",
        },
    ),
]


@pytest.mark.parametrize("chunksize", [2, 100])
def test_failures_give_the_same_counts_samples_and_keys(
    spec: ReportSpec, tmp_path: Path, chunksize: int
) -> None:
    spec = spec.model_copy(update={"expectations": SPEC_EXPECTATIONS})
    rows = clean_rows(spec, 9)
    rows[0]["session_id"] = ""  # null key
    rows[1]["ds"] = "2024-11-03"
    rows[2]["opt_in"] = "yes"
    rows[3]["added_to_calendar"] = "true"
    rows[4]["device_type"] = "tablet"
    rows[5]["device_type"] = "watch"
    rows[5]["n_positions_viewed"] = "three"
    rows[6]["session_start"] = "2024-11-04 09:00"
    rows[7]["election_center_tiles"] = "[not json"
    rows[8]["utm_source"] = "=cmd()"
    staged = write_staged(tmp_path, spec, rows)
    narrow = validate_staged(spec, staged, subscription(), chunksize=chunksize, write_files=False)
    whole = validate_staged(
        spec, staged, subscription(), chunksize=chunksize, write_files=False, narrow=False
    )
    assert len(narrow.failed) >= 11
    assert narrow.check("ds,polling_date expect_column_pair_values_to_be_equal").unexpected_count == 9
    assert (
        narrow.check("zipcode expect_column_values_to_match_regex").unexpected_count == 3
    )  # mobile rows only
    assert narrow.check("device_type in value set").samples == ["tablet", "watch"]
    assert everything(narrow) == everything(whole)
