"""Flattening: a chunk of extracted rows -> output rows, one column per spec column.

What the rules are belongs to each report family (``flatexport.families``); this package
holds what every family shares: the context a chunk is flattened in, running one spec
column's rule (:func:`column_values`), the canonical values per column type
(``coercion``) and the row grain, where the SQL already made one row per output row
(``rows``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from flatexport.errors import SpecError
from flatexport.specs import ColumnSpec, ReportSpec
from flatexport.subscriptions import Subscription
from flatexport.window import Window

if TYPE_CHECKING:
    from flatexport.families.base import Scope


@dataclass
class FlattenContext:
    spec: ReportSpec
    window: Window
    subscription: Subscription
    scope: Scope  # the subscription's scope, typed by the report's scope model
    warnings: Counter[str] = field(default_factory=Counter)


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
