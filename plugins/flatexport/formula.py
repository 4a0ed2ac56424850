"""The spreadsheet formula guard: one predicate, used by the writer and by the gate.

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is run as a
formula by Excel, Sheets and LibreOffice (CSV injection). Such a cell is written with a
leading apostrophe, which spreadsheets show as text and never evaluate, unless the whole
cell is a plain number (``-1.5e3``) or a phone number (``+1 555 0100``,
``+(555) 010-0199``): those are data customers rely on and are never altered.

The writer calls :func:`guard`; the quality gate checks delivered cells with
:data:`NEEDS_GUARD` (a regular expression, so Great Expectations can evaluate it), and
:func:`needs_guard` is that same expression — so the two can never disagree again.
"""

from __future__ import annotations

import re

RISKY_FIRST = frozenset("=+-@\t\r")
PLAIN_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
PHONE = r"\+?\(?[0-9][0-9 ().-]{5,}[0-9]"
GUARD_PREFIX = "'"
# A cell that a spreadsheet would run, and that is neither a number nor a phone number.
NEEDS_GUARD = re.compile(rf"^(?!(?:{PLAIN_NUMBER}|{PHONE})\Z)[=+\-@\t\r]")

__all__ = ["GUARD_PREFIX", "NEEDS_GUARD", "RISKY_FIRST", "guard", "needs_guard"]


def needs_guard(cell: str) -> bool:
    """Whether a text cell must be neutralised before a spreadsheet opens it."""
    return bool(cell) and cell[0] in RISKY_FIRST and NEEDS_GUARD.match(cell) is not None


def guard(cell: str) -> str:
    """The cell as written to a spreadsheet-bound file."""
    return GUARD_PREFIX + cell if needs_guard(cell) else cell
