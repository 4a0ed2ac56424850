"""`quality ORG REPORT DATE` reads the sidecars of the staged files."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from flatexport.quality.cli import quality, staged_files
from flatexport.quality.results import CheckResult, QualityReport
from flatexport.quality.validate import write_outputs
from flatexport.specs import ReportSpec

from .staging import DS, ORG, clean_rows, write_staged


def _staged_with_result(tmp_path: Path, spec: ReportSpec, *checks: CheckResult):
    staged = write_staged(tmp_path, spec, clean_rows(spec, 2))
    report = QualityReport("clickstream", ORG, DS, staged.name, 2, list(checks))
    write_outputs(report, staged.path)
    return staged


def run(tmp_path: Path, org: str = ORG, day: str = DS):
    return CliRunner().invoke(quality, [org, "clickstream", day, "--staging-dir", str(tmp_path / "staging")])


def test_staged_files_follow_the_layout(spec: ReportSpec, tmp_path: Path) -> None:
    staged = _staged_with_result(tmp_path, spec, CheckResult("a", "error", True, 0, 2))
    assert staged_files(tmp_path / "staging", ORG, "clickstream", DS) == [Path(staged.path)]


def test_passing_day_exits_0(spec: ReportSpec, tmp_path: Path) -> None:
    _staged_with_result(
        tmp_path,
        spec,
        CheckResult("session_id unique", "error", True, 0, 2),
        CheckResult("device_type in value set", "warn", False, 1, 2),
    )
    result = run(tmp_path)
    assert result.exit_code == 0, result.output
    assert "ok   error session_id unique  (0/2)" in result.output
    assert "WARN warn  device_type in value set  (1/2)" in result.output


def test_failed_error_check_exits_1(spec: ReportSpec, tmp_path: Path) -> None:
    _staged_with_result(tmp_path, spec, CheckResult("ds equals run day", "error", False, 2, 2))
    result = run(tmp_path)
    assert result.exit_code == 1 and "FAIL error ds equals run day  (2/2)" in result.output


def test_unchecked_file_exits_1_and_nothing_staged_exits_2(spec: ReportSpec, tmp_path: Path) -> None:
    write_staged(tmp_path, spec, clean_rows(spec, 1))
    result = run(tmp_path)
    assert result.exit_code == 1 and "not checked yet" in result.output
    assert run(tmp_path, org="org-nobody").exit_code == 2
    assert run(tmp_path, day="2024-13-01").exit_code == 2  # click usage error: bad date
