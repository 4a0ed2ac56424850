"""The formula guard is one predicate: what the writer leaves alone, the gate accepts."""

from __future__ import annotations

import re

import pytest

from flatexport.formula import NEEDS_GUARD, guard, needs_guard
from flatexport.quality.suite import FORMULA_RE

# Data customers rely on: numbers and phone numbers are never altered.
UNTOUCHED = [
    "+(555) 010-0199",
    "-1.5e3",
    "+1 555 0100",
    "+15551230001",
    "-42",
    "+.5",
    "1e-3",
    "(555) 010-0199",
    "plain text",
    "",
    "a=b",
]
# Cells a spreadsheet would run: always neutralised.
GUARDED = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\tindented",
    "\rcarriage",
    "=1+1",
    "+",
    "-",
    "- bullet point",
    "+1 555 0100 ext. 4",
]


@pytest.mark.parametrize("cell", UNTOUCHED)
def test_numbers_phones_and_text_are_written_unchanged(cell: str) -> None:
    assert not needs_guard(cell)
    assert guard(cell) == cell


@pytest.mark.parametrize("cell", GUARDED)
def test_formula_cells_get_the_apostrophe(cell: str) -> None:
    assert needs_guard(cell)
    assert guard(cell) == "'" + cell


@pytest.mark.parametrize("cell", UNTOUCHED + GUARDED)
def test_the_gate_accepts_exactly_what_the_writer_writes(cell: str) -> None:
    """The gate's expectation (a regex GX evaluates) is the writer's predicate: a written
    cell never fails "formulas neutralised", and an unguarded risky cell always does."""
    gate = re.compile(FORMULA_RE)
    assert gate.match(guard(cell)) is None
    assert (gate.match(cell) is not None) == needs_guard(cell)
    assert FORMULA_RE == NEEDS_GUARD.pattern
