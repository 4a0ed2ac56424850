"""Flatteners turn a chunk of extracted rows into output rows, driven by a report spec.

A flattener is chosen by the spec's ``flattener`` name; the rules it applies are chosen
per column by ``rule.kind``. Adding a report means a spec, a SQL file and, only for a
new grain, a new flattener — the export, checks and delivery stay the same.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from flatexport.errors import SpecError
from flatexport.specs import ColumnSpec, ReportSpec
from flatexport.subscriptions import Subscription
from flatexport.window import Window


@dataclass
class FlattenContext:
    spec: ReportSpec
    window: Window
    subscription: Subscription
    warnings: Counter[str] = field(default_factory=Counter)


FlattenFn = Callable[[pd.DataFrame, FlattenContext], pd.DataFrame]


@dataclass(frozen=True)
class Flattener:
    name: str
    fn: FlattenFn
    group_key: str | None  # extracted column whose groups must never be split across chunks


_REGISTRY: dict[str, Flattener] = {}


def column_values(
    col: ColumnSpec,
    ctx: FlattenContext,
    rules: Mapping[str, Callable[..., pd.Series]],
    call: Callable[[Callable[..., pd.Series]], pd.Series],
    index: pd.Index,
) -> pd.Series:
    """One spec column's canonical values: its rule (looked up by ``rule.kind`` and run by
    ``call``), coerced to the column type; inactive columns are empty. A misnamed rule or
    a column the extract lacks is a spec error naming what to fix, not a KeyError."""
    from flatexport.flatten.coercion import coerce, empty_series

    if col.inactive:
        return empty_series(index, col.type)
    try:
        rule = rules[col.rule_kind]
    except KeyError:
        raise SpecError(f"column {col.name}: unknown rule kind {col.rule_kind!r}") from None
    try:
        raw = call(rule)
    except KeyError as exc:
        raise SpecError(
            f"column {col.name}: the extract has no column {exc.args[0]!r}; add it to {ctx.spec.sql}"
        ) from None
    return coerce(raw, col, ctx.window.timezone, ctx.warnings)


# A flattener whose columns are only known from the data (rule kind ``expand``) lists,
# per such spec column, the ColumnSpecs that replace it in ``frame.attrs[EXPAND_ATTR]``.
EXPAND_ATTR = "expand"


def expand_columns(columns: list[ColumnSpec], frame: pd.DataFrame | None) -> list[ColumnSpec]:
    """The columns to write: each ``expand`` column replaced by what its flattener
    discovered (nothing when there were no rows)."""
    found = frame.attrs.get(EXPAND_ATTR, {}) if frame is not None else {}
    out: list[ColumnSpec] = []
    for col in columns:
        out.extend(found.get(col.name, []) if col.rule_kind == "expand" else [col])
    return out


def register(name: str, group_key: str | None = None) -> Callable[[FlattenFn], FlattenFn]:
    def wrap(fn: FlattenFn) -> FlattenFn:
        _REGISTRY[name] = Flattener(name, fn, group_key)
        return fn

    return wrap


def get_flattener(spec: ReportSpec) -> Flattener:
    _load_builtin()
    try:
        return _REGISTRY[spec.flattener]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise SpecError(
            f"report {spec.report}: unknown flattener {spec.flattener!r} (known: {known})"
        ) from None


def _load_builtin() -> None:
    # Imported for their @register side effect; kept lazy so importing the package is cheap.
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_") and mod.name != "coercion":
            importlib.import_module(f"{__name__}.{mod.name}")
