"""Report specs: one YAML per report says every output column, its type, definition,
PII flag and the rule that fills it.

Specs are data, so adding a column is a spec change and the data dictionary, the
quality suite and the writer all follow from the same file.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from flatexport.errors import InputError, SpecError
from flatexport.paths import include_dir

# array / object: a JSON cell (compact text in CSV, a native list / object in JSON Lines)
ColumnType = Literal["integer", "number", "string", "boolean", "date", "datetime", "array", "object"]
Severity = Literal["error", "warn"]


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
    severity: Severity = "error"
    kwargs: dict[str, Any] = Field(default_factory=dict)


class ReportOptions(BaseModel):
    """The ``options:`` of a spec, typed by its family (which extends this model), so a
    misspelt option fails when the spec loads, naming the file and the field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Rows are keyed by time in the window: the file may be exported in parallel time
    # slices (FLATEXPORT_EXPORT_WORKERS) and joined in order, giving the same bytes.
    sliceable: bool = False


OptionsT = TypeVar("OptionsT", bound=ReportOptions)


class ReportSpec(BaseModel, Generic[OptionsT]):
    model_config = ConfigDict(extra="forbid", frozen=True)

    report: str
    title: str
    description: str
    family: str  # the family module that runs it (flatexport.families.<family>)
    source_document: str
    schema_version: int = 1
    file_stem: str
    sql: str  # path below include/sql
    key: str | None = None  # unique per file
    org_column: str | None = None  # output column holding the org, if any
    ds_column: str | None = None
    order_by: list[str]
    engines: list[str] = Field(default_factory=list)
    decisions: list[str] = Field(default_factory=list)
    expectations: list[Expectation] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)  # check name -> overriding severity
    volume: dict[str, Any] = Field(default_factory=dict)  # row-volume tolerance (VolumeTolerance fields)
    options: OptionsT  # typed by the family: see load_spec
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
        from flatexport.quality.volume import VolumeTolerance

        try:
            VolumeTolerance(**self.volume)
        except TypeError as exc:
            raise ValueError(f"volume: {exc}") from None
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

    def sql_dir(self) -> Path:
        """``include/sql/<report>/``: the report's queries (extract, org check, scope checks)."""
        return include_dir() / "sql" / self.report


def file_name(spec: ReportSpec, ds: str | dt.date, fmt: str = "csv", scope: Any = None) -> str:
    """The delivered file's name, the one rule: ``<stem>[_<scope part>]_<day>.<extension>``
    (``messages_action-12_2024-11-04.csv``); the scope part comes from the report's family.
    ``scope`` is a subscription's scope (validated here) or a Scope model; ``ds`` may be a
    placeholder such as ``<YYYY-MM-DD>`` (the docs)."""
    from flatexport.families import family_of, parse_scope
    from flatexport.families.base import Scope
    from flatexport.formats import get_format

    typed = scope if isinstance(scope, Scope) else parse_scope(spec, scope)
    part = family_of(spec).file_scope(spec, typed)
    day = ds.isoformat() if isinstance(ds, dt.date) else ds
    stem = f"{spec.file_stem}_{part}" if part else spec.file_stem
    return f"{stem}_{day}.{get_format(fmt).extension}"


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
    """Validate a spec with its family's options model (``ReportSpec[Options]``), so the
    options are checked and typed in the same pass as the rest of the spec."""
    from flatexport.families import get_family

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of spec fields")
    if not isinstance(raw.get("family"), str):
        raise SpecError(f"{path}: family: required (the family module that runs the report)")
    try:
        family = get_family(raw["family"])
    except SpecError as exc:
        raise SpecError(f"{path}: family: {exc}") from None
    try:
        spec = ReportSpec[family.options_model].model_validate({"options": {}, **raw})
    except ValidationError as exc:
        raise SpecError(_format_validation(path, exc)) from exc
    if spec.report != path.stem:
        raise SpecError(f"{path}: report: {spec.report!r} must match the file name ({path.stem!r})")
    return spec


def load_spec(report: str) -> ReportSpec:
    if not isinstance(report, str) or report not in available_reports():  # never a path from input
        known = ", ".join(available_reports()) or "none"
        raise InputError(f"unknown report {report!r} (known: {known})")
    path = spec_dir() / f"{report}.yaml"
    if not path.is_file():
        known = ", ".join(available_reports()) or "none"
        raise InputError(f"unknown report {report!r} (known: {known})")
    return _load(path)
