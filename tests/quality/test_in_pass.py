"""The checks taken in the export's pass are the gate's checks: same counts, samples and
keys as reading the staged file back, for every report; the gate trusts their sidecar
only for the exact bytes and checks it describes, and a failure still blocks delivery.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from flatexport import staging
from flatexport.errors import QualityError
from flatexport.export import run_export
from flatexport.hashing import sha256_file
from flatexport.pipeline import check_step, deliver_step, export_step
from flatexport.quality.in_pass import SIDECAR, PassChecks, pass_report, sidecar_bytes
from flatexport.quality.results import QualityReport
from flatexport.quality.validate import html_path, summary_path, validate_staged
from flatexport.seed.warehouse import DEMO_DAYS, sample_scope, seed_all
from flatexport.specs import Expectation, ReportSpec, available_reports, load_spec, spec_dir
from flatexport.subscriptions import Subscription

DAY = DEMO_DAYS[2]
ORG = "org_acme"
# Small against the sample day, so the gate's chunks cut across the writer's batches.
CHUNK = 64


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('sample') / 'warehouse.duckdb'}"
    seed_all(url, sessions_per_org_day=150, activity_events=300, seed=7)
    return url


def everything(report: QualityReport) -> tuple[dict[str, Any], list[tuple[str, list[str], list[str]]]]:
    summary = report.to_summary()
    summary.pop("elapsed_s")
    return summary, [(c.name, c.samples, c.keys) for c in report.checks]


def failing(spec: ReportSpec) -> ReportSpec:
    """The spec plus expectations the sample day fails in part: offending counts, samples
    (a non-PII column) and keys, and duplicates of a column that is not the key."""
    first = next((c for c in spec.columns if not c.pii), spec.columns[0])
    even = {"column": first.name, "regex": "[02468]$"}
    extra = [Expectation(type="expect_column_values_to_match_regex", kwargs=even)]
    for other in spec.columns:
        if other.name not in (first.name, spec.key):
            unique = "expect_column_values_to_be_unique"
            extra.append(Expectation(type=unique, severity="warn", kwargs={"column": other.name}))
            break
    return spec.model_copy(update={"expectations": [*spec.expectations, *extra]})


def subscription(report: str, fmt: str = "csv", destination: str = "file:///unused") -> Subscription:
    return Subscription(
        id=1,
        org_id=ORG,
        report=report,
        destination=destination,
        format=fmt,
        scope=sample_scope(report, ORG),
    )


def export_checked(spec: ReportSpec, sub: Subscription, url: str, out: Path) -> tuple[Any, PassChecks]:
    in_pass = PassChecks(spec, sub, DAY.isoformat(), chunksize=CHUNK)
    staged = run_export(sub, DAY, source_url=url, out_path=out, batch_rows=50, in_pass=in_pass)
    return staged, in_pass


@pytest.mark.parametrize("report", available_reports())
def test_checks_in_the_export_pass_equal_reading_the_file_back(
    report: str, sample_warehouse: str, tmp_path: Path
) -> None:
    spec = failing(load_spec(report))
    sub = subscription(report)
    staged, in_pass = export_checked(spec, sub, sample_warehouse, tmp_path / "out.csv")
    assert staged.rows > 0
    tallies = in_pass.finish(staged)
    assert tallies is not None, in_pass.reason
    in_export = pass_report(spec, staged, sub, sidecar_bytes(tallies))
    re_read = validate_staged(spec, staged, sub, chunksize=CHUNK, write_files=False)
    assert in_export is not None
    assert everything(in_export) == everything(re_read)
    assert in_export.failed  # the added expectations found something to compare


def test_a_gzipped_csv_is_checked_in_the_pass_too(sample_warehouse: str, tmp_path: Path) -> None:
    spec = failing(load_spec("clickstream"))
    sub = subscription("clickstream", "csv.gz")
    staged, in_pass = export_checked(spec, sub, sample_warehouse, tmp_path / "out.csv.gz")
    tallies = in_pass.finish(staged)
    assert tallies is not None, in_pass.reason
    in_export = pass_report(spec, staged, sub, sidecar_bytes(tallies))
    assert in_export is not None
    re_read = validate_staged(spec, staged, sub, chunksize=CHUNK, write_files=False)
    assert everything(in_export) == everything(re_read)


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx", "parquet"])
def test_formats_whose_cells_are_not_handed_on_leave_the_checks_to_the_gate(
    fmt: str, sample_warehouse: str, tmp_path: Path
) -> None:
    spec = load_spec("clickstream")
    sub = subscription("clickstream", fmt)
    staged, in_pass = export_checked(spec, sub, sample_warehouse, tmp_path / f"o.{fmt}")
    assert in_pass.finish(staged) is None
    assert in_pass.reason == f"the {fmt} writer does not hand on its cells"


def test_a_sliced_export_leaves_the_checks_to_the_gate(
    sample_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLATEXPORT_EXPORT_WORKERS", "2")
    spec = load_spec("clickstream")
    staged, in_pass = export_checked(spec, subscription("clickstream"), sample_warehouse, tmp_path / "o.csv")
    assert in_pass.finish(staged) is None and in_pass.reason == "a sliced export"


# -- through the pipeline's steps, staged in a local folder ---------------------------------


@pytest.fixture
def local_staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLATEXPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLATEXPORT_STAGING_DIR", str(tmp_path / "staging"))
    monkeypatch.delenv("FLATEXPORT_STAGING_URL", raising=False)
    monkeypatch.delenv("FLATEXPORT_EXPORT_WORKERS", raising=False)
    return tmp_path / "staging"


def _sidecar(staged: Any) -> dict[str, Any]:
    return json.loads(Path(staged.path + SIDECAR).read_bytes())


def _rewrite_sidecar(staged: Any, data: dict[str, Any]) -> None:
    Path(staged.path + SIDECAR).write_bytes(sidecar_bytes(data))


def test_the_check_step_takes_the_export_sidecar_and_agrees_with_the_re_read(
    local_staging: Path, sample_warehouse: str, tmp_path: Path
) -> None:
    sub = subscription("clickstream", destination=(tmp_path / "dest").as_uri())
    staged = export_step(sub, DAY, sample_warehouse, attempt=1)
    side = _sidecar(staged)
    assert side["describes"]["sha256"] == staged.sha256 and side["rows"] == staged.rows
    quality = check_step(sub, staged)
    re_read = validate_staged(load_spec("clickstream"), staged, sub, write_files=False).to_summary()
    for summary in (quality, re_read):
        summary.pop("elapsed_s")
    assert quality == re_read and quality["passed"]
    assert summary_path(staged.path).exists() and not html_path(staged.path).exists()  # no page: all passed
    deliver_step(sub, staged, quality)
    assert (tmp_path / "dest" / staged.name).exists()


def test_with_checks_in_export_off_the_check_step_reads_the_file_back_to_the_same_verdict(
    local_staging: Path, sample_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The memory-saving setting: no sidecar, and the check step's re-read gives the verdict
    the export's own tallies give."""
    sub = subscription("clickstream", destination=(tmp_path / "dest").as_uri())
    in_pass = check_step(sub, export_step(sub, DAY, sample_warehouse, attempt=1))
    monkeypatch.setenv("FLATEXPORT_CHECKS_IN_EXPORT", "false")
    staged = export_step(sub, DAY, sample_warehouse, attempt=2)
    assert not Path(staged.path + SIDECAR).exists()
    re_read = check_step(sub, staged)
    for summary in (in_pass, re_read):
        summary.pop("elapsed_s")
    assert re_read == in_pass and re_read["passed"]


def test_a_sidecar_that_describes_other_bytes_is_ignored_and_the_file_re_read(
    local_staging: Path, sample_warehouse: str, tmp_path: Path
) -> None:
    sub = subscription("clickstream", destination=(tmp_path / "dest").as_uri())
    staged = export_step(sub, DAY, sample_warehouse, attempt=1)
    side = _sidecar(staged)
    # The sidecar now claims a duplicate key; as long as it names these bytes, the gate
    # believes it (it is the export's own tally) ...
    side["tallies"]["session_id unique"]["unexpected"] = 1
    _rewrite_sidecar(staged, side)
    with pytest.raises(QualityError, match="session_id unique"):
        check_step(sub, staged)
    # ... but naming other bytes, it is ignored and the file (clean) is read back.
    side["describes"]["sha256"] = "0" * 64
    _rewrite_sidecar(staged, side)
    assert check_step(sub, staged)["passed"]


def test_a_file_replaced_after_its_export_is_judged_on_its_own_bytes(
    local_staging: Path, sample_warehouse: str, tmp_path: Path
) -> None:
    """Another file in the staged place (and a record naming it): the old sidecar says
    clean, the new bytes repeat a session, and the re-read finds it."""
    sub = subscription("clickstream", destination=(tmp_path / "dest").as_uri())
    staged = export_step(sub, DAY, sample_warehouse, attempt=1)
    path = Path(staged.path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([*lines, lines[1]]), encoding="utf-8")
    replaced = dataclasses.replace(
        staged, rows=staged.rows + 1, sha256=sha256_file(path), bytes=path.stat().st_size
    )
    with pytest.raises(QualityError, match="session_id unique"):
        check_step(sub, replaced)
    assert not (tmp_path / "dest").exists()


@pytest.fixture
def strict_clickstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """clickstream with one more error-level expectation, in an include dir of its own."""
    include = tmp_path / "include"
    (include / "report_specs").mkdir(parents=True)
    (include / "sql").symlink_to(spec_dir().parent / "sql")
    text = (spec_dir() / "clickstream.yaml").read_text(encoding="utf-8")
    text += (
        "expectations:\n"
        "  - type: expect_column_values_to_match_regex\n"
        "    kwargs: {column: device_type, regex: '^desktop$'}\n"
    )
    (include / "report_specs" / "clickstream.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("FLATEXPORT_INCLUDE_DIR", str(include))


def test_a_check_failed_in_the_export_pass_blocks_the_delivery(
    local_staging: Path, strict_clickstream: None, sample_warehouse: str, tmp_path: Path
) -> None:
    sub = subscription("clickstream", destination=(tmp_path / "dest").as_uri())
    staged = export_step(sub, DAY, sample_warehouse, attempt=1)
    spec = load_spec("clickstream")
    from_sidecar = pass_report(spec, staged, sub, staging.read_sidecar(staged, SIDECAR))
    assert from_sidecar is not None and from_sidecar.errors == 1
    name = "device_type expect_column_values_to_match_regex"
    with pytest.raises(QualityError, match=name):
        check_step(sub, staged)
    summary = json.loads(summary_path(staged.path).read_text())
    assert [c["name"] for c in summary["checks"] if not c["success"]] == [name]
    assert html_path(staged.path).exists()  # the operator page, now that there is a failure
    assert not (tmp_path / "dest").exists()
