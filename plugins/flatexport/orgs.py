"""What an org id may be: the one pattern, checked wherever an org id comes in.

An org id names a tenant in every query (a bound parameter) and a folder of the staging
area (``<staging>/<report>/<org>/...``), so it must never be able to climb out of that
folder or hide in a log line: letters, digits, ``_`` and ``-``, starting with a letter
or digit, at most 64 characters. The CLI, ``import-subscriptions``, the console (through
``control.operations``) and the subscription model all call :func:`check_org_id`.
"""

from __future__ import annotations

import re

from flatexport.errors import InputError

ORG_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
_ORG_ID = re.compile(ORG_ID_PATTERN)


def is_org_id(value: object) -> bool:
    return isinstance(value, str) and _ORG_ID.fullmatch(value) is not None


def check_org_id(value: object, what: str = "org id") -> str:
    """``value`` when it is a valid org id; else an InputError naming it."""
    if not is_org_id(value):
        raise InputError(
            f"invalid {what} {value!r}: use letters, digits, '_' and '-' "
            "(starting with a letter or digit, at most 64 characters)"
        )
    return value  # type: ignore[return-value]
