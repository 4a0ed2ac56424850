"""Derive the quality checks from a report spec, never by hand per report.

A check has a stable name ("session_id unique", "ds equals run day", ...), a severity
and either GX expectations (row-level, run chunk by chunk) or a dataset-level kind the
validator computes itself across chunks (uniqueness, row count, column list).
Defaults for severities live here; a spec overrides them with
``severity: {<check name>: warn|error}`` (checked when the spec loads).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flatexport.errors import SpecError
from flatexport.families import family_of
from flatexport.formats import FileFormat, get_format
from flatexport.formula import NEEDS_GUARD
from flatexport.quality.results import Severity
from flatexport.specs import ColumnSpec, ReportSpec
from flatexport.subscriptions import Subscription

# Formats as delivered (CSV text; JSON Lines values are rendered the same way first).
# Non-capturing groups, and \Z rather than $ (which also matches before a final newline).
# Patterns pyarrow's RE2 can run (pandas falls back to Python's re, per cell, for \s or
# lookarounds): "any character" is (?s:.), not [\s\S]. The formula guard needs its lookahead.
INTEGER_RE = r"^-?[0-9]+\Z"
NUMBER_RE = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z"
_DAY = r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
DATE_RE = rf"^{_DAY}\Z"
_TIME = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
DATETIME_RE = rf"^{_DAY}T{_TIME}(?:Z|[+-][0-9]{{2}}:[0-9]{{2}})\Z"
ARRAY_RE = r"^\[(?s:.)*\]\Z"
OBJECT_RE = r"^\{(?s:.)*\}\Z"
BOOLEAN_VALUES = ["true", "false"]
# A text cell a spreadsheet would run as a formula: the writer's own predicate.
FORMULA_RE = NEEDS_GUARD.pattern

# Dataset-level kinds computed by the validator itself.
DATASET_KINDS = ("readable", "columns", "rows", "row_count", "tenant", "subscription", "unique")
# Spec expectations that only make sense over the whole file run through our own
# incremental uniqueness instead of per chunk.
UNIQUE_TYPES = {
    "expect_column_values_to_be_unique": "column",
    "expect_compound_columns_to_be_unique": "column_list",
    "expect_multicolumn_values_to_be_unique": "column_list",
}


@dataclass(frozen=True)
class GxExpectation:
    """One GX expectation by snake-case type and kwargs; built into a GX object lazily."""

    type: str
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class CheckDef:
    name: str
    severity: Severity
    kind: str  # "gx" or one of DATASET_KINDS
    column: str | None = None  # the spec column the check is about (None: table or several)
    columns: tuple[str, ...] = ()  # for "unique": the key columns
    expectations: tuple[GxExpectation, ...] = field(default_factory=tuple)


def expected_columns(
    spec: ReportSpec, subscription: Subscription, staged_columns: list[str] | None = None
) -> list[str]:
    """The columns the subscription's file should have, named as its format names them
    (CSV: the spec header; JSON Lines: the column name): its column choice, PII left out
    on request.

    A column whose names come from the data (the family's ``data_columns``) stands for
    the staged file's columns that no other spec column claims, in their place.
    """
    key = get_format(subscription.format).column_key
    chosen = spec.select(subscription.columns, subscription.exclude_pii)
    from_data = family_of(spec).data_columns(spec)
    if not staged_columns or not any(c.name in from_data for c in chosen):
        return [key(c) for c in chosen]
    fixed = {key(c) for c in chosen if c.name not in from_data}
    dynamic = [h for h in staged_columns if h not in fixed]
    out: list[str] = []
    for col in chosen:
        out.extend(dynamic if col.name in from_data else [key(col)])
    return out


def header_map(spec: ReportSpec) -> dict[str, ColumnSpec]:
    """Written header (or column name) -> column spec."""
    out: dict[str, ColumnSpec] = {}
    for col in spec.columns:
        out.setdefault(col.name, col)
        out[col.out_header] = col
    return out


def snake_to_class(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _type_checks(col: ColumnSpec, fmt: FileFormat) -> list[tuple[str, GxExpectation]]:
    c = col.name
    if col.type == "integer":
        return [
            (f"{c} is integer", GxExpectation("expect_column_values_to_match_regex", {"regex": INTEGER_RE}))
        ]
    if col.type == "number":
        return [
            (f"{c} is number", GxExpectation("expect_column_values_to_match_regex", {"regex": NUMBER_RE}))
        ]
    if col.type == "boolean":
        return [
            (
                f"{c} is boolean",
                GxExpectation("expect_column_values_to_be_in_set", {"value_set": BOOLEAN_VALUES}),
            )
        ]
    if col.type == "date":
        return [(f"{c} is date", GxExpectation("expect_column_values_to_match_regex", {"regex": DATE_RE}))]
    if col.type == "datetime":
        return [
            (
                f"{c} is datetime with offset",
                GxExpectation("expect_column_values_to_match_regex", {"regex": DATETIME_RE}),
            )
        ]
    if col.type == "array":
        return [
            (f"{c} is JSON array", GxExpectation("expect_column_values_to_match_regex", {"regex": ARRAY_RE})),
            (f"{c} is valid JSON", GxExpectation("expect_column_values_to_be_json_parseable", {})),
        ]
    if col.type == "object":
        return [
            (
                f"{c} is JSON object",
                GxExpectation("expect_column_values_to_match_regex", {"regex": OBJECT_RE}),
            ),
            (f"{c} is valid JSON", GxExpectation("expect_column_values_to_be_json_parseable", {})),
        ]
    # string: free text; where the format is opened in spreadsheets, formula-looking
    # cells must have been neutralised by the writer's own guard
    if not fmt.guards_formulas:
        return []
    return [
        (
            f"{c} formulas neutralised",
            GxExpectation("expect_column_values_to_not_match_regex", {"regex": FORMULA_RE}),
        )
    ]


def _spec_expectation_checks(spec: ReportSpec, present: set[str]) -> list[CheckDef]:
    out: list[CheckDef] = []
    if not spec.expectations:
        return out  # GX is imported only to resolve declared expectation classes
    import great_expectations as gx

    seen: dict[str, int] = {}
    for exp in spec.expectations:
        kwargs = dict(exp.kwargs)
        cols = [kwargs["column"]] if "column" in kwargs else list(kwargs.get("column_list") or [])
        if "column_A" in kwargs:
            cols = [kwargs["column_A"], kwargs["column_B"]]
        label = ",".join(cols) if cols else "table"
        base = f"{label} {exp.type}"
        seen[base] = seen.get(base, 0) + 1
        name = base if seen[base] == 1 else f"{base} #{seen[base]}"
        if any(c not in present for c in cols):
            continue  # the subscription left a column out: nothing to check
        if exp.type in UNIQUE_TYPES:
            out.append(
                CheckDef(
                    name,
                    exp.severity,
                    "unique",
                    column=cols[0] if len(cols) == 1 else None,
                    columns=tuple(cols),
                )
            )
            continue
        cls = getattr(gx.expectations, snake_to_class(exp.type), None)
        from great_expectations.expectations.expectation import (
            ColumnMapExpectation,
            ColumnPairMapExpectation,
            MulticolumnMapExpectation,
        )

        if cls is None:
            raise SpecError(f"report {spec.report}: unknown expectation type {exp.type!r}")
        if not issubclass(cls, ColumnMapExpectation | ColumnPairMapExpectation | MulticolumnMapExpectation):
            raise SpecError(
                f"report {spec.report}: expectation {exp.type!r} is not row-level; the gate checks files "
                "chunk by chunk, so only column-map expectations (and uniqueness) are supported"
            )
        out.append(
            CheckDef(
                name,
                exp.severity,
                "gx",
                column=cols[0] if len(cols) == 1 else None,
                expectations=(GxExpectation(exp.type, kwargs),),
            )
        )
    return out


def derive_checks(
    spec: ReportSpec, columns: list[str], ds: str, org_id: str, fmt: FileFormat | None = None
) -> list[CheckDef]:
    """All checks for one staged file whose header is ``columns`` (spec column names found
    in it get the column checks; missing ones are reported by "columns match spec")."""
    fmt = fmt or get_format("csv")
    by_header = header_map(spec)
    present_specs = [by_header[h] for h in dict.fromkeys(columns) if h in by_header]
    present = {c.name for c in present_specs}
    checks: list[CheckDef] = [
        CheckDef("file readable", "error", "readable"),
        CheckDef("columns match spec", "error", "columns"),
        CheckDef("rows have all columns", "error", "rows"),
        CheckDef("row count matches staged", "error", "row_count"),
        CheckDef("org matches subscription", "error", "tenant"),
        CheckDef("file matches subscription", "error", "subscription"),
    ]
    if spec.key and spec.key in present:
        checks.append(
            CheckDef(
                f"{spec.key} not null",
                "error",
                "gx",
                spec.key,
                expectations=(GxExpectation("expect_column_values_to_not_be_null", {}),),
            )
        )
        checks.append(CheckDef(f"{spec.key} unique", "error", "unique", spec.key, columns=(spec.key,)))
    if spec.ds_column and spec.ds_column in present:
        checks.append(
            CheckDef(
                f"{spec.ds_column} equals run day",
                "error",
                "gx",
                spec.ds_column,
                expectations=(
                    GxExpectation("expect_column_values_to_not_be_null", {}),
                    GxExpectation("expect_column_values_to_be_in_set", {"value_set": [ds]}),
                ),
            )
        )
    if spec.org_column and spec.org_column in present:
        checks.append(
            CheckDef(
                f"{spec.org_column} equals subscription org",
                "error",
                "gx",
                spec.org_column,
                expectations=(
                    GxExpectation("expect_column_values_to_not_be_null", {}),
                    GxExpectation("expect_column_values_to_be_in_set", {"value_set": [org_id]}),
                ),
            )
        )
    for col in present_specs:
        if col.inactive:
            checks.append(
                CheckDef(
                    f"{col.name} empty (inactive)",
                    "error",
                    "gx",
                    col.name,
                    expectations=(GxExpectation("expect_column_values_to_be_null", {}),),
                )
            )
            continue
        if col.name in (spec.ds_column, spec.org_column):
            continue  # the equality check above is stricter than a format check
        for name, exp in _type_checks(col, fmt):
            checks.append(CheckDef(name, "error", "gx", col.name, expectations=(exp,)))
        if col.values:
            checks.append(
                CheckDef(
                    f"{col.name} in value set",
                    "warn",
                    "gx",
                    col.name,
                    expectations=(
                        GxExpectation("expect_column_values_to_be_in_set", {"value_set": list(col.values)}),
                    ),
                )
            )
    checks.extend(_spec_expectation_checks(spec, present))
    overrides = spec.severity
    return [
        CheckDef(c.name, overrides.get(c.name, c.severity), c.kind, c.column, c.columns, c.expectations)
        for c in checks
    ]


def build_gx_suite(checks: list[CheckDef], name: str = "flatexport") -> Any:
    """The GX ExpectationSuite for the row-level checks; each expectation's meta names its check."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name)
    for check in checks:
        if check.kind != "gx":
            continue
        for i, exp in enumerate(check.expectations):
            cls = getattr(gx.expectations, snake_to_class(exp.type))
            kwargs = dict(exp.kwargs)
            if check.column and not any(k in kwargs for k in ("column", "column_list", "column_A")):
                kwargs["column"] = check.column
            suite.add_expectation(cls(**kwargs, meta={"check": check.name, "part": i}))
    return suite
