"""The gate over real staged files: clean days pass, each corruption fails the right check."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from flatexport.errors import QualityError
from flatexport.quality.results import CheckResult, QualityReport, gate
from flatexport.quality.validate import html_path, summary_path, validate_staged
from flatexport.specs import ReportSpec

from .staging import DS, clean_rows, failed_names, subscription, to_native, write_staged

CORRUPTIONS = {
    "session_id unique": "error",
    "ds equals run day": "error",
    "opt_in is boolean": "error",
    "added_to_calendar empty (inactive)": "error",
    "device_type in value set": "warn",
}


def corrupt_rows(spec: ReportSpec) -> list[dict[str, str]]:
    rows = clean_rows(spec, 5)
    rows[0]["session_id"] = rows[1]["session_id"]  # duplicate key
    rows[1]["ds"] = "2024-11-03"  # another day
    rows[2]["opt_in"] = "yes"  # not a boolean
    rows[3]["added_to_calendar"] = "true"  # inactive column filled
    rows[4]["device_type"] = "tablet"  # outside the value set
    return rows


@pytest.fixture(scope="module")
def clean(spec: ReportSpec, tmp_path_factory: pytest.TempPathFactory) -> QualityReport:
    staged = write_staged(tmp_path_factory.mktemp("clean"), spec, clean_rows(spec))
    return validate_staged(spec, staged, subscription())


@pytest.fixture(scope="module")
def corrupt_staged(spec: ReportSpec, tmp_path_factory: pytest.TempPathFactory):
    return write_staged(tmp_path_factory.mktemp("corrupt"), spec, corrupt_rows(spec))


@pytest.fixture(scope="module")
def corrupt(spec: ReportSpec, corrupt_staged) -> QualityReport:
    return validate_staged(spec, corrupt_staged, subscription())


def test_clean_day_passes(clean: QualityReport) -> None:
    assert failed_names(clean) == {}
    assert clean.passed and clean.errors == 0 and clean.warnings == 0 and clean.rows == 4
    assert clean.check("session_id unique").element_count == 4
    assert clean.elapsed_s > 0
    gate(clean)  # does not raise


def test_each_corruption_fails_its_check_with_its_severity(corrupt: QualityReport) -> None:
    assert failed_names(corrupt) == CORRUPTIONS
    for name in CORRUPTIONS:
        assert corrupt.check(name).unexpected_count == 1
    assert corrupt.errors == 4 and corrupt.warnings == 1 and not corrupt.passed
    assert corrupt.check("session_id unique").keys == ["1001"]
    assert corrupt.check("opt_in is boolean").keys == ["1002"]  # non-PII key of the offending row


@pytest.mark.parametrize("chunksize", [1, 2, 3])
def test_the_offending_rows_keys_are_right_in_every_chunk(
    spec: ReportSpec, corrupt_staged, chunksize: int
) -> None:
    """Offending rows in a later chunk are listed by their own keys (GX reports the
    rows' positions in the chunk it is given; the key is looked up there)."""
    report = validate_staged(spec, corrupt_staged, subscription(), chunksize=chunksize, write_files=False)
    assert report.check("opt_in is boolean").keys == ["1002"]
    assert report.check("device_type in value set").keys == ["1004"]
    assert report.check("session_id unique").keys == ["1001"]


def test_gate_raises_for_errors_only(corrupt: QualityReport) -> None:
    with pytest.raises(QualityError, match=r"^4 error-level checks failed: .*session_id unique"):
        gate(corrupt)
    warning = CheckResult("x in value set", "warn", False, 1, 1)
    gate(QualityReport("clickstream", "o", DS, "f.csv", 1, [warning]))


def test_chunked_validation_equals_one_chunk(spec: ReportSpec, corrupt_staged, corrupt: QualityReport):
    chunked = validate_staged(spec, corrupt_staged, subscription(), chunksize=2, write_files=False)
    one, many = corrupt.to_summary(), chunked.to_summary()
    one.pop("elapsed_s"), many.pop("elapsed_s")
    assert many == one


def test_summary_is_json_and_counts_only(corrupt: QualityReport, corrupt_staged) -> None:
    summary = corrupt.to_summary()
    text = json.dumps(summary)
    assert "tablet" not in text and "yes" not in text and "@example.com" not in text
    assert json.loads(summary_path(corrupt_staged.path).read_text()) == summary
    assert set(summary["checks"][0]) <= {
        "name",
        "severity",
        "success",
        "unexpected_count",
        "element_count",
        "keys",
        "details",
        "note",
    }


def test_html_page_is_private_and_free_of_pii(corrupt: QualityReport, corrupt_staged) -> None:
    page = html_path(corrupt_staged.path)
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    body = page.read_text()
    assert "device_type in value set" in body and "tablet" in body  # non-PII sample shown
    for pii in ("@example.com", "Alice", "Baker", "+1 555 0100"):
        assert pii not in body


def test_wrong_org_is_an_error(spec: ReportSpec, tmp_path: Path) -> None:
    staged = write_staged(tmp_path, spec, clean_rows(spec, 2), org_id="org-99")
    report = validate_staged(spec, staged, subscription(), write_files=False)
    assert failed_names(report) == {"org matches subscription": "error"}


@pytest.mark.parametrize("change", ["missing", "reordered"])
def test_missing_or_reordered_columns_are_errors(spec: ReportSpec, tmp_path: Path, change: str) -> None:
    cols = list(spec.column_names)
    if change == "missing":
        cols.remove("locale")
    else:
        cols[0], cols[1] = cols[1], cols[0]
    staged = write_staged(tmp_path, spec, clean_rows(spec, 2), columns=cols)
    report = validate_staged(spec, staged, subscription(), write_files=False)
    assert failed_names(report) == {"columns match spec": "error"}
    details = report.check("columns match spec").details
    assert details == (
        {"missing": ["locale"], "staged_columns_differ": True}
        if change == "missing"
        else {"out_of_order": 2, "staged_columns_differ": True}
    )


def test_pii_columns_in_a_pii_free_subscription_are_an_error(spec: ReportSpec, tmp_path: Path) -> None:
    staged = write_staged(tmp_path, spec, clean_rows(spec, 2))
    report = validate_staged(spec, staged, subscription(exclude_pii=True), write_files=False)
    assert "columns match spec" in failed_names(report)
    assert "email" in report.check("columns match spec").details["unexpected"]


def test_short_rows_and_row_count(spec: ReportSpec, tmp_path: Path) -> None:
    staged = write_staged(tmp_path, spec, clean_rows(spec, 3), staged_rows=5)
    lines = Path(staged.path).read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:10])  # a truncated row
    Path(staged.path).write_text("\n".join(lines) + "\n")
    report = validate_staged(spec, staged, subscription(), write_files=False)
    assert report.check("rows have all columns").unexpected_count == 1
    assert not report.check("row count matches staged").success


@pytest.mark.parametrize("fmt", ["csv.gz", "jsonl"])
def test_gzip_and_jsonl_clean_days_pass(spec: ReportSpec, tmp_path: Path, fmt: str) -> None:
    rows = clean_rows(spec, 3)
    data = [to_native(spec, r) for r in rows] if fmt.startswith("jsonl") else rows
    staged = write_staged(tmp_path, spec, data, fmt=fmt)
    report = validate_staged(spec, staged, subscription(format=fmt), write_files=False)
    assert failed_names(report) == {} and report.rows == 3


def test_jsonl_gz_corruptions_are_caught(spec: ReportSpec, tmp_path: Path) -> None:
    data = [to_native(spec, r) for r in corrupt_rows(spec)]
    staged = write_staged(tmp_path, spec, data, fmt="jsonl.gz")
    report = validate_staged(spec, staged, subscription(format="jsonl.gz"), write_files=False)
    assert failed_names(report) == CORRUPTIONS


def test_volume_collapse_is_flagged_in_the_report(spec: ReportSpec, tmp_path: Path) -> None:
    staged = write_staged(tmp_path, spec, [])
    history = [(f"2024-10-{d:02d}", 5000 + d) for d in range(20, 31)]
    report = validate_staged(spec, staged, subscription(), history=history, write_files=False)
    assert failed_names(report) == {"row volume within tolerance": "warn"}
    assert report.passed  # a warning never blocks
