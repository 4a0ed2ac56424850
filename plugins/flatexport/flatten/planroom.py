"""Planroom grain: the SQL already produced one row per output row (first access per
person and target, or one row per person and job), so flattening is only naming and
canonical formatting: plain fields and instants shown in the subscription's zone.

Keeping the first-access logic in SQL (GROUP BY ... MIN) means the database does the
heavy lifting, and DuckDB and PostgreSQL give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from flatexport.flatten import FlattenContext, column_values, register
from flatexport.flatten.activity import local_iso
from flatexport.specs import ColumnSpec

RowRule = Callable[[pd.DataFrame, ColumnSpec, FlattenContext], pd.Series]


def rule_field(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    return rows[col.rule["field"]]


def rule_local_time(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    return local_iso(rows[col.rule["field"]], ctx.window.timezone)


ROW_RULES: dict[str, RowRule] = {"field": rule_field, "local_time": rule_local_time}


def flatten_rows(rows: pd.DataFrame, ctx: FlattenContext, rules: dict[str, RowRule]) -> pd.DataFrame:
    """Apply one rule per spec column to rows that are already one per output row."""
    rows = rows.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for col in ctx.spec.columns:
        out[col.name] = column_values(col, ctx, rules, lambda rule, col=col: rule(rows, col, ctx), rows.index)
    return pd.DataFrame(out, index=rows.index)


@register("planroom")
def flatten_planroom(rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
    return flatten_rows(rows, ctx, ROW_RULES)
