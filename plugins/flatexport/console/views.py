"""How subscriptions and deliveries are shown: generic over their fields, so a field
added to the model (a scope, a contact, a restatement flag) appears without a change
here, and with a short list of what is never shown.

Nothing here renders data rows: the delivery log holds counts, names and a PII-free
quality summary, and of that summary only check names, severities and counts are
shown (never the offending rows' keys). Every URL has its user:password part masked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from flatexport.subscriptions import Subscription

# Columns of the subscriptions table, in order; "scope" is computed.
SUBSCRIPTION_COLUMNS = ("id", "report", "destination", "format", "timezone", "columns", "scope", "enabled")
# Fields that are a subscription's scope before the families' scope column exists.
_LEGACY_SCOPE = ("company_id", "entries")
# Quality-summary fields that may be shown: names and counts, never values.
CHECK_FIELDS = ("name", "severity", "success", "unexpected_count", "element_count", "note")

_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def mask(text: Any) -> str:
    """``scheme://user:secret@host`` → ``scheme://***@host`` anywhere in a text."""
    return _USERINFO.sub(r"\g<scheme>***@", "" if text is None else str(text))


def scope_of(sub: Subscription) -> dict[str, Any]:
    dump = sub.model_dump()
    if "scope" in dump:
        return dict(dump["scope"] or {})
    return {k: dump[k] for k in _LEGACY_SCOPE if dump.get(k) not in (None, [], "")}


def text(value: Any) -> str:
    """One value as a short text: lists comma-joined, dicts key=value, nothing as '-'."""
    if value is None or value == {} or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return mask(value)


def subscription_row(sub: Subscription) -> dict[str, str]:
    dump = sub.model_dump()
    dump["scope"] = scope_of(sub)
    return {col: text(dump.get(col)) for col in SUBSCRIPTION_COLUMNS}


def subscription_fields(sub: Subscription) -> list[tuple[str, str]]:
    """Every field of a subscription, as the CLI's ``show`` lists them."""
    dump = sub.model_dump()
    rows = [(key, text(value)) for key, value in dump.items() if key not in _LEGACY_SCOPE]
    if "scope" not in dump:
        rows.append(("scope", text(scope_of(sub))))
    return rows


def restatement(record: Any) -> str:
    """The restatement flag of a delivery: late data moved a delivered day's source and
    this attempt restates an earlier delivery (``restatement_of``, its id in the log)."""
    for f in dataclasses.fields(record):
        if f.name.startswith("restat"):
            value = getattr(record, f.name)
            if value in (None, False, ""):
                return ""
            return "yes" if value is True else f"restates #{value}"
    return ""


def checks(record: Any) -> list[dict[str, Any]]:
    """The quality checks of an attempt: names, severities, outcomes and counts only."""
    summary = record.quality if isinstance(record.quality, dict) else {}
    rows = []
    for check in summary.get("checks") or []:
        if isinstance(check, dict):
            rows.append({k: check.get(k) for k in CHECK_FIELDS})
    return rows


def quality_totals(record: Any) -> dict[str, Any]:
    summary = record.quality if isinstance(record.quality, dict) else {}
    return {k: summary.get(k) for k in ("passed", "errors", "warnings", "rows") if k in summary}


def size(value: int | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return str(value)  # pragma: no cover
