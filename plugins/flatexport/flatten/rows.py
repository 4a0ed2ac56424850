"""Row grain: the SQL already produced one row per output row (a first access, a person
per job, a user), so flattening is naming and canonical formatting: plain fields, and
instants shown in the subscription's zone (by the column's ``datetime`` type).

Keeping the aggregation in SQL (GROUP BY ... MIN) means the database does the heavy
lifting, and DuckDB and PostgreSQL give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from flatexport.flatten import FlattenContext, column_values
from flatexport.specs import ColumnSpec, ReportSpec

RowRule = Callable[[pd.DataFrame, ColumnSpec, FlattenContext], pd.Series]


def rule_field(rows: pd.DataFrame, col: ColumnSpec, ctx: FlattenContext) -> pd.Series:
    """The extracted column ``rule.field`` as it is; ``local_time`` names the same rule for
    instants, which the ``datetime`` type shows in the subscription's zone."""
    return rows[col.rule["field"]]


ROW_RULES: dict[str, RowRule] = {"field": rule_field, "local_time": rule_field}


def row_fields(spec: ReportSpec, rules: dict[str, RowRule] = ROW_RULES) -> set[str]:
    """The extracted columns the row rules of ``spec`` read."""
    return {c.rule["field"] for c in spec.columns if not c.inactive and rules.get(c.rule_kind) is rule_field}


def flatten_rows(
    rows: pd.DataFrame, ctx: FlattenContext, rules: dict[str, RowRule] = ROW_RULES
) -> pd.DataFrame:
    """Apply one rule per spec column to rows that are already one per output row."""
    rows = rows.reset_index(drop=True)
    out: dict[str, pd.Series] = {}
    for col in ctx.spec.columns:
        out[col.name] = column_values(col, ctx, rules, lambda rule, col=col: rule(rows, col, ctx), rows.index)
    return pd.DataFrame(out, index=rows.index)
