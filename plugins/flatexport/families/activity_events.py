"""Events grain of the activity family: one extracted event in, one output row out
(User Activity Exporter).

Category / Action / Label come from the kind map in the spec (``activity_map``).
The work is vectorised per *distinct* (kind, content type, question type, meeting type)
combination and per distinct label template, both of which are a few dozen per day,
so a 10-million-row day costs a handful of numpy passes, not a Python loop per row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from flatexport.families.activity import DISCRIMINATORS
from flatexport.families.activity_map import (
    KindMap,
    fill_template,
    kind_map,
    literal_fallback,
    source_column,
    template_parts,
)
from flatexport.flatten import FlattenContext, column_values
from flatexport.specs import ColumnSpec, ReportSpec


class Events:
    """A chunk of extracted events with its map rows resolved once per distinct combination."""

    def __init__(self, rows: pd.DataFrame, ctx: FlattenContext, kmap: KindMap) -> None:
        self.rows = rows.reset_index(drop=True)
        self.ctx = ctx
        self.kmap = kmap
        keys = pd.DataFrame(
            {"kind": self.rows["kind"]}
            | {name: self.rows[col] if col in self.rows else None for name, col in DISCRIMINATORS.items()}
        )
        keys = keys.astype(object).where(keys.notna(), "")
        self.codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
        resolved = [kmap.resolve(u[0], dict(zip(DISCRIMINATORS, u[1:], strict=True))) for u in uniques]
        counts = np.bincount(self.codes, minlength=len(uniques))
        for res, n in zip(resolved, counts, strict=True):
            if res.warning and n:
                ctx.warnings[res.warning] += int(n)
        self.kind = np.array([u[0] for u in uniques], dtype=object)
        self.category_tpl = np.array([r.row.category if r.row else "" for r in resolved], dtype=object)
        self.action = np.array([r.row.action if r.row else "" for r in resolved], dtype=object)
        self.label_tpl = np.array([r.row.label if r.row else "" for r in resolved], dtype=object)
        self.known = np.array([r.row is not None for r in resolved], dtype=bool)

    def filled(self, templates: np.ndarray, fallback: Callable[[str], str] | None = None) -> pd.Series:
        """Fill each distinct template on the rows that use it."""
        per_row = templates[self.codes]
        out = np.full(len(self.rows), "", dtype=object)
        for tpl in pd.unique(templates):
            at = np.flatnonzero(per_row == tpl)
            if not len(at):
                continue
            if "[" not in tpl:  # a literal: no per-row work
                value = "" if tpl.strip() == "N/A" else tpl
                out[at] = value
                continue
            values = fill_template(tpl, self.rows.iloc[at], self.kmap.placeholders)
            if fallback is not None:
                values = np.where(values == "", fallback(tpl), values)
            out[at] = values
        return pd.Series(out, index=self.rows.index, dtype=object).replace("", None)


def rule_field(ev: Events, col: ColumnSpec) -> pd.Series:
    return ev.rows[col.rule["field"]]


def rule_category(ev: Events, col: ColumnSpec) -> pd.Series:
    """The map's category; an unknown kind's raw kind, so it is never dropped silently."""
    known = ev.filled(ev.category_tpl, literal_fallback)
    raw = pd.Series(ev.kind[ev.codes], index=ev.rows.index, dtype=object)
    return known.where(ev.known[ev.codes], raw)


def rule_action(ev: Events, col: ColumnSpec) -> pd.Series:
    return pd.Series(ev.action[ev.codes], index=ev.rows.index, dtype=object).replace("", None)


def rule_label(ev: Events, col: ColumnSpec) -> pd.Series:
    return ev.filled(ev.label_tpl)


RULES: dict[str, Callable[[Events, ColumnSpec], pd.Series]] = {
    "field": rule_field,
    "category": rule_category,
    "action": rule_action,
    "label": rule_label,
    "local_time": rule_field,  # an instant: the datetime type shows it in the subscription's zone
}


def _count_unknown(rows: pd.DataFrame, kmap: KindMap, ctx: FlattenContext) -> None:
    counts = rows["kind"].value_counts()
    known = kmap.kinds
    for kind, n in counts.items():
        if kind not in known:
            ctx.warnings[f"unknown kind {kind}"] += int(n)


def extracted_fields(spec: ReportSpec) -> set[str]:
    """The extracted columns the rules of ``spec`` read: plain fields, the kind and what
    picks a map row, and every source of a placeholder its templates use."""
    fields = {"kind", *DISCRIMINATORS.values()}
    for col in spec.columns:
        if not col.inactive and RULES.get(col.rule_kind) is rule_field:
            fields.add(col.rule["field"])
    kmap = kind_map(spec)
    for row in kmap.rows:
        for template in (row.category, row.label):
            for _, part in template_parts(template):
                if part is not None:
                    fields.update(source_column(f) for f in kmap.placeholders[part].fields)
    return fields


def flatten_events(rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
    """One row per event, in extract order, restricted to the subscription's entries."""
    kmap = kind_map(ctx.spec)
    wanted = kmap.selected_kinds(ctx.scope.entries)
    if wanted is not None:
        _count_unknown(rows[~rows["kind"].isin(kmap.kinds)], kmap, ctx)
        rows = rows[rows["kind"].isin(wanted)]
    ev = Events(rows, ctx, kmap)  # counts unknown kinds it meets ("unknown kind <kind>")
    out: dict[str, pd.Series] = {}
    for col in ctx.spec.columns:
        out[col.name] = column_values(col, ctx, RULES, lambda rule, col=col: rule(ev, col), ev.rows.index)
    return pd.DataFrame(out, index=ev.rows.index).reset_index(drop=True)
