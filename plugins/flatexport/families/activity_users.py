"""Users grain of the activity family: one row per active user, with one column per
dimension key.

The dimension keys are only known from the data, so the spec declares a single column
with ``rule.kind: expand`` and these rules replace it by the discovered columns. The
family asks for the whole window as one chunk, so the set of columns is final before
the header is written. Active users are few (at most one row per user), so one chunk
stays small.

The expanded columns travel in ``frame.attrs["expand"]`` ({spec column: [ColumnSpec]}),
from which :func:`expand_columns` (the family's ``output_columns``) reads them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from flatexport.errors import SpecError
from flatexport.flatten import FlattenContext
from flatexport.flatten.coercion import coerce
from flatexport.flatten.rows import ROW_RULES, RowRule, flatten_rows, row_fields
from flatexport.specs import ColumnSpec, ReportSpec

EXPAND = "expand"  # the rule kind of a column whose columns come from the data
EXPAND_ATTR = "expand"  # frame.attrs key: {spec column: [discovered ColumnSpec]}


def expand_columns(columns: list[ColumnSpec], frame: pd.DataFrame | None) -> list[ColumnSpec]:
    """The columns to write: each ``expand`` column replaced by what the first chunk
    discovered (nothing when there were no rows)."""
    found = frame.attrs.get(EXPAND_ATTR, {}) if frame is not None else {}
    out: list[ColumnSpec] = []
    for col in columns:
        out.extend(found.get(col.name, []) if col.rule_kind == EXPAND else [col])
    return out


def parse_objects(texts: pd.Series) -> list[dict[str, object]]:
    """JSON object text per row -> dicts ({} for NULL, invalid or non-object JSON)."""
    out: list[dict[str, object]] = []
    for text in texts.astype(object).where(texts.notna(), None):
        try:
            value = json.loads(text) if isinstance(text, str) else text
        except ValueError:
            value = None
        out.append(value if isinstance(value, dict) else {})
    return out


def cell_text(value: object) -> str | None:
    """Text as is; numbers, booleans, lists and objects as compact JSON; null -> empty."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def discovered_keys(objects: list[dict[str, object]]) -> list[str]:
    """Every key any row has, sorted by code point so the column order is stable."""
    return sorted({key for obj in objects for key in obj})


def expanded_column(col: ColumnSpec, key: str) -> ColumnSpec:
    """The output column for one discovered key: named under the spec column, headed by the key."""
    return ColumnSpec(
        name=f"{col.name}.{key}",
        header=key,
        type="string",
        definition=f"{col.name}: {key}",
        section=col.section,
        pii=col.pii,
        rule={"kind": "expanded", "field": col.rule.get("field", col.name), "key": key},
    )


Expanded = tuple[pd.Series, list[ColumnSpec], dict[str, pd.Series]]


def _compact(obj: dict[str, object]) -> str | None:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True) if obj else None


def expand(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> Expanded:
    """One expand column: (its compact JSON, the discovered columns, their values by name)."""
    field = col.rule.get("field")
    if not field:
        raise SpecError(f"column {col.name}: rule expand needs 'field'")
    objects = parse_objects(rows[field])
    whole = pd.Series([_compact(o) for o in objects], index=rows.index, dtype=object)
    specs = [expanded_column(col, key) for key in discovered_keys(objects)]
    values: dict[str, pd.Series] = {}
    for spec in specs:
        key = spec.rule["key"]
        raw = pd.Series(np.array([cell_text(o.get(key)) for o in objects], dtype=object), index=rows.index)
        values[spec.name] = coerce(raw, spec, ctx.window.timezone, ctx.warnings)
    return whole, specs, values


def _placeholder(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    return pd.Series([None] * len(rows), index=rows.index, dtype=object)


USER_RULES: dict[str, RowRule] = {**ROW_RULES, EXPAND: _placeholder}


def extracted_fields(spec: ReportSpec) -> set[str]:
    """The extracted columns the rules of ``spec`` read."""
    expands = {c.rule.get("field", c.name) for c in spec.columns if c.rule_kind == EXPAND and not c.inactive}
    return row_fields(spec) | expands


def flatten_users(rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
    """One row per active user; each ``expand`` column becomes one column per key."""
    out = flatten_rows(rows, ctx, USER_RULES)
    rows = rows.reset_index(drop=True)
    found: dict[str, list[ColumnSpec]] = {}
    for col in ctx.spec.columns:
        if col.rule_kind != EXPAND or col.inactive:
            continue
        whole, specs, values = expand(rows, col, ctx)
        out[col.name] = coerce(whole, col, ctx.window.timezone, ctx.warnings)
        for name, series in values.items():
            out[name] = series
        found[col.name] = specs
    out.attrs[EXPAND_ATTR] = found
    return out
