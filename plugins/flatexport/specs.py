"""Report specs: one YAML per report says every output column, its type, definition,
PII flag and the rule that fills it.

Specs are data, so adding a column is a spec change and the data dictionary, the
quality suite and the writer all follow from the same file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flatexport.errors import InputError, SpecError
from flatexport.paths import include_dir

ColumnType = Literal["integer", "number", "string", "boolean", "date", "datetime", "array"]


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    header: str | None = None  # written header when it differs from name ("User ID")
    type: ColumnType
    definition: str
    section: str | None = None
    pii: bool = False
    inactive: bool = False
    engine: str | None = None  # engine-empty rule: empty when the session never used it
    values: list[str] | None = None  # allowed values, checked by the quality gate
    decision: str | None = None  # where contract and seed were silent: what we chose
    rule: dict[str, Any] = Field(default_factory=dict)

    @property
    def out_header(self) -> str:
        return self.header or self.name

    @property
    def rule_kind(self) -> str:
        return str(self.rule.get("kind", ""))


class Expectation(BaseModel):
    """An extra data-quality expectation declared by a report spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    severity: Literal["error", "warn"] = "error"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ReportSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    report: str
    title: str
    description: str
    family: str  # the DAG that runs it: clickstream_daily, activity_daily, ...
    source_document: str
    schema_version: int = 1
    file_stem: str
    sql: str  # path below include/sql
    flattener: str  # the rule set that turns extracted rows into output rows
    key: str | None = None  # unique per file
    org_column: str | None = None  # output column holding the org, if any
    ds_column: str | None = None
    order_by: list[str]
    engines: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    expectations: list[Expectation] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)  # report-specific data (e.g. a kind map)
    columns: list[ColumnSpec]

    @model_validator(mode="after")
    def _check(self) -> ReportSpec:
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate column names: {', '.join(dupes)}")
        for ref in [*self.order_by, *(x for x in [self.key, self.ds_column] if x)]:
            if ref not in names:
                raise ValueError(f"'{ref}' is not a column of the report")
        for col in self.columns:
            if col.engine and col.engine not in self.engines:
                raise ValueError(f"column {col.name}: engine '{col.engine}' is not in engines")
            if not col.inactive and not col.rule_kind:
                raise ValueError(f"column {col.name}: rule.kind is required")
        return self

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise InputError(f"report {self.report!r} has no column {name!r}")

    def select(self, columns: list[str] | None = None, exclude_pii: bool = False) -> list[ColumnSpec]:
        """The subscription's view: a subset in spec order, PII left out on request."""
        if columns:
            unknown = [c for c in columns if c not in self.column_names]
            if unknown:
                raise InputError(f"report {self.report!r} has no column(s): {', '.join(unknown)}")
        chosen = [c for c in self.columns if not columns or c.name in columns]
        if exclude_pii:
            chosen = [c for c in chosen if not c.pii]
        if not chosen:
            raise InputError(f"report {self.report!r}: the column selection leaves no columns")
        return chosen

    def sql_path(self) -> Path:
        return include_dir() / "sql" / self.sql

    def file_name(self, ds: str, fmt: str = "csv") -> str:
        return f"{self.file_stem}_{ds}.{fmt}"


def spec_dir() -> Path:
    return include_dir() / "report_specs"


def available_reports() -> list[str]:
    return sorted(p.stem for p in spec_dir().glob("*.yaml"))


def _format_validation(path: Path, err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        parts.append(f"{loc}: {e['msg']}")
    return f"{path}: " + "; ".join(parts)


@cache
def _load(path: Path) -> ReportSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return ReportSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(_format_validation(path, exc)) from exc


def load_spec(report: str) -> ReportSpec:
    path = spec_dir() / f"{report}.yaml"
    if not path.is_file():
        known = ", ".join(available_reports()) or "none"
        raise InputError(f"unknown report {report!r} (known: {known})")
    return _load(path)
