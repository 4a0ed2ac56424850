"""Checks come from the spec: names, severities and overrides."""

from __future__ import annotations

import pytest

from flatexport.errors import SpecError
from flatexport.quality.suite import derive_checks, expected_columns
from flatexport.specs import Expectation, ReportSpec, load_spec, spec_dir

from .staging import DS, ORG, subscription


def by_name(spec: ReportSpec, columns: list[str] | None = None) -> dict[str, str]:
    return {c.name: c.severity for c in derive_checks(spec, columns or spec.column_names, DS, ORG)}


def test_checks_derived_from_clickstream(spec: ReportSpec) -> None:
    checks = by_name(spec)
    assert checks["columns match spec"] == "error"
    assert checks["session_id unique"] == "error"
    assert checks["session_id not null"] == "error"
    assert checks["ds equals run day"] == "error"
    assert checks["org matches subscription"] == "error"
    assert checks["opt_in is boolean"] == "error"
    assert checks["session_start is datetime with offset"] == "error"
    assert checks["election_center_tiles is JSON array"] == "error"
    assert checks["added_to_calendar empty (inactive)"] == "error"
    assert "added_to_calendar is boolean" not in checks  # inactive: only the emptiness check
    for col in ("device_type", "last_clicked", "are_you_registered"):
        assert checks[f"{col} in value set"] == "warn"
    assert not any(name.startswith("zipcode is") for name in checks)  # text stays text


def test_column_checks_follow_the_staged_header(spec: ReportSpec) -> None:
    cols = expected_columns(spec, subscription(exclude_pii=True))
    assert "email" not in cols and "session_id" in cols
    checks = by_name(spec, cols)
    assert "email formulas neutralised" not in checks
    assert "device_type in value set" in checks


def test_severity_override_from_the_spec(spec: ReportSpec, tmp_path, monkeypatch) -> None:
    strict = spec.model_copy(update={"severity": {"device_type in value set": "error"}})
    assert by_name(strict)["device_type in value set"] == "error"
    # An unknown severity is refused when the spec loads, naming the file and the field.
    include = tmp_path / "include"
    (include / "report_specs").mkdir(parents=True)
    raw = (spec_dir() / "clickstream.yaml").read_text(encoding="utf-8")
    bad = raw + "severity:\n  device_type in value set: fatal\n"
    (include / "report_specs" / "clickstream.yaml").write_text(bad, encoding="utf-8")
    monkeypatch.setenv("FLATEXPORT_INCLUDE_DIR", str(include))
    with pytest.raises(
        SpecError, match=r"clickstream\.yaml: severity\.device_type in value set: .*'error' or 'warn'"
    ):
        load_spec("clickstream")


def test_spec_expectations_become_named_checks(spec: ReportSpec) -> None:
    extra = [
        Expectation(
            type="expect_column_values_to_match_regex",
            severity="warn",
            kwargs={"column": "zipcode", "regex": r"^[0-9]{5}(-[0-9]{4})?$"},
        ),
        Expectation(type="expect_column_values_to_be_unique", kwargs={"column": "ballot_id"}),
    ]
    checks = by_name(spec.model_copy(update={"expectations": extra}))
    assert checks["zipcode expect_column_values_to_match_regex"] == "warn"
    assert checks["ballot_id expect_column_values_to_be_unique"] == "error"


def test_non_row_level_or_unknown_expectations_are_rejected(spec: ReportSpec) -> None:
    table = [Expectation(type="expect_table_row_count_to_be_between", kwargs={"min_value": 1})]
    with pytest.raises(SpecError, match="not row-level"):
        by_name(spec.model_copy(update={"expectations": table}))
    unknown = [Expectation(type="expect_column_values_to_be_pretty", kwargs={"column": "ds"})]
    with pytest.raises(SpecError, match="unknown expectation"):
        by_name(spec.model_copy(update={"expectations": unknown}))
