"""What customer success can do to a subscription, written once for the CLI and the
console: the same checks run in the same order and the same sentence comes back, so a
colleague who learned one never gets a different answer from the other.

Each action takes the store and the option values the CLI's ``destinations`` commands
take (raw strings, as typed), returns an :class:`Outcome` whose ``message`` is the line
the user sees, and raises a :class:`~flatexport.errors.FlatexportError` naming the
problem otherwise. Printing and HTTP stay with the callers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

if TYPE_CHECKING:
    from flatexport.control.store import ControlStore


@dataclass(frozen=True)
class Outcome:
    """The line a user sees after an action, and the subscription it acted on."""

    message: str
    subscription: Subscription
    share_with: str | None = None  # Drive: the address the folder must be shared with


def describe(sub: Subscription) -> str:
    return f"subscription {sub.id}: {sub.org_id} {sub.report} -> {sub.destination}"


def parse_id(value: str | int) -> int:
    if isinstance(value, int):
        return value
    if not value.strip().isdigit():
        raise InputError(f"subscription id must be a number, not {value!r}")
    return int(value)


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from exc


def csv_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def subscription_fields(org_id: str, report: str, url: str, fmt: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Model fields from the options of ``destinations add``. The raw values are checked
    first, so a message names the option (``--start-date``), not a model field."""
    from flatexport.cli_scope import pop_scope_options
    from flatexport.control.validation import check_format, normalize_destination
    from flatexport.families import scope_from_options
    from flatexport.specs import load_spec
    from flatexport.subscriptions import check_contact, check_timezone

    opts = dict(opts)
    spec = load_spec(report)
    check_timezone(opts["timezone"])
    check_format(fmt)
    if "contact" in opts:
        opts["contact"] = check_contact(opts["contact"], "--contact")
    scope = scope_from_options(spec, pop_scope_options(opts))
    start_date = parse_date(opts.pop("start_date", None), "--start-date")
    disabled = opts.pop("disabled", False)
    return {
        **opts,
        "org_id": org_id,
        "report": report,
        "destination": normalize_destination(url),
        "format": fmt,
        "columns": csv_list(opts.get("columns")),
        "scope": scope.stored(),
        "start_date": start_date,
        "enabled": not disabled,
    }


def _check_scope_in_source(sub: Subscription) -> None:
    """An action, list or company must be the org's, in the source the nightly run reads."""
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.export import check_scope
    from flatexport.families import parse_scope
    from flatexport.specs import load_spec

    spec = load_spec(sub.report)
    check_scope(spec, sub.org_id, parse_scope(spec, sub.scope), source_url_for_run(None))


def _check_recipient(sub: Subscription) -> None:
    """A mailto: destination must be an admin of the org (checked again at every send)."""
    if sub.scheme != "mailto":
        return
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.destinations.email import parse_mailto
    from flatexport.recipients import admin_address

    admin_address(sub.org_id, parse_mailto(sub.destination), source_url_for_run(None))


def _refuse_duplicate(store: ControlStore, sub: Subscription, *, other_than: int | None = None) -> None:
    existing = store.find(sub.org_id, sub.report, sub.destination, sub.scope)
    if existing is not None and existing.id != other_than:
        raise InputError(f"{describe(existing)} already exists")


def add_subscription(
    store: ControlStore, org_id: str, report: str, url: str, fmt: str = "csv", **opts: Any
) -> Outcome:
    """``destinations add``: check report, columns, URL and connection, then save."""
    from flatexport.control.store import build_subscription
    from flatexport.control.validation import validate_subscription

    opts.setdefault("timezone", "UTC")
    sub = validate_subscription(build_subscription(subscription_fields(org_id, report, url, fmt, opts)))
    _check_scope_in_source(sub)
    _check_recipient(sub)
    _refuse_duplicate(store, sub)
    saved = store.add_subscription(sub)
    state = "" if saved.enabled else " (disabled)"
    return Outcome(f"added {describe(saved)}{state}", saved)


def edit_subscription(
    store: ControlStore, sub_id: str | int, url: str, fmt: str = "csv", **opts: Any
) -> Outcome:
    """Change where and how a subscription delivers, with every check of ``add``.

    The org and report stay (a different org or report is a different subscription:
    add it, then remove this one), and so do the on/off switch and the id.
    """
    from flatexport.control.store import build_subscription
    from flatexport.control.validation import validate_subscription

    current = store.get(parse_id(sub_id))
    opts.setdefault("timezone", "UTC")
    opts.pop("disabled", None)
    fields = subscription_fields(current.org_id, current.report, url, fmt, opts)
    fields["enabled"] = current.enabled
    sub = validate_subscription(build_subscription({**current.model_dump(), **fields}, current.id))
    _check_scope_in_source(sub)
    _check_recipient(sub)
    _refuse_duplicate(store, sub, other_than=current.id)
    saved = store.update_subscription(sub)
    return Outcome(f"updated {describe(saved)}", saved)


def set_enabled(store: ControlStore, sub_id: str | int, enabled: bool) -> Outcome:
    sub = store.set_enabled(parse_id(sub_id), enabled)
    return Outcome(f"{'enabled' if enabled else 'disabled'} {describe(sub)}", sub)


def remove_subscription(store: ControlStore, sub_id: str | int) -> Outcome:
    """Delete a subscription; its delivery log stays as the audit trail."""
    sub = store.remove(parse_id(sub_id))
    return Outcome(f"removed {describe(sub)}", sub)


def probe_destination(store: ControlStore, sub_id: str | int) -> Outcome:
    """Write, verify and remove a probe at the destination; the destination's error
    (bucket missing, access denied, folder not shared with X, ...) propagates as is."""
    from flatexport.destinations import destination_for

    sub = store.get(parse_id(sub_id))
    destination = destination_for(sub)
    result = destination.probe()
    return Outcome(f"ok: {describe(sub)}: {result}", sub, share_with=_account(destination))


def share_address(sub: Subscription) -> str | None:
    """The identity a customer grants access to (Drive: the service account, or the
    impersonated user), when the destination has one and its connection can be read."""
    from flatexport.destinations import destination_for
    from flatexport.errors import FlatexportError

    try:
        return _account(destination_for(sub))
    except FlatexportError:
        return None


def _account(destination: Any) -> str | None:
    account = getattr(destination, "account", None)
    return str(account) if account else None
