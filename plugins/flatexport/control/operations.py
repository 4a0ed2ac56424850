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
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
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


_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value: str | int) -> int:
    """A subscription or delivery id: plain ASCII digits that fit the database's integer
    (``²`` is a digit to str.isdigit, and 30 digits overflow BIGINT)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 < value < 2**63:
            raise InputError(f"id {value} is out of range")
        return value
    text = str(value).strip()
    if not _ID.fullmatch(text) or int(text) == 0:
        raise InputError(f"subscription id must be a number, not {value!r}")
    return int(text)


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    from flatexport.window import FIRST_DAY, LAST_DAY, parse_ds

    try:
        day = dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{option} {value!r} is not a date (use YYYY-MM-DD, {FIRST_DAY} to {LAST_DAY})")
    return parse_ds(value)


def csv_list(value: str | None, option: str = "--columns") -> list[str] | None:
    """A comma-separated option; not given is None, but given and naming nothing (``""``,
    ``","``) is refused rather than read as "every column"."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise InputError(f"{option} {value!r} names nothing (leave the option out for all)")
    return items


def subscription_fields(org_id: str, report: str, url: str, fmt: str, opts: dict[str, Any]) -> dict[str, Any]:
    """Model fields from the options of ``destinations add``. The raw values are checked
    first, so a message names the option (``--start-date``), not a model field.

    ``scope`` (a stored scope mapping, as a subscriptions file writes it) may stand in for
    the scope options; both at once are refused."""
    from flatexport.cli_scope import pop_scope_options
    from flatexport.control.validation import check_format, normalize_destination
    from flatexport.families import parse_scope, scope_from_options
    from flatexport.orgs import check_org_id
    from flatexport.specs import load_spec
    from flatexport.subscriptions import check_contact, check_timezone

    opts = dict(opts)
    check_org_id(org_id)
    for name in ("conn_id", "kms_key", "expected_bucket_owner", "subject"):
        value = opts.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"--{name.replace('_', '-')} {value!r} is empty (leave the option out instead)")
    spec = load_spec(report)
    check_timezone(opts["timezone"])
    check_format(fmt)
    if "contact" in opts:
        opts["contact"] = check_contact(opts["contact"], "--contact")
    stored_scope = opts.pop("scope", None)
    given = pop_scope_options(opts)
    if stored_scope:
        if any(v is not None for v in given.values()):
            raise InputError("give the scope either as options or as 'scope', not both")
        scope = parse_scope(spec, stored_scope)
    else:
        scope = scope_from_options(spec, given)
    start_date = parse_date(opts.pop("start_date", None), "--start-date")
    disabled = opts.pop("disabled", False)
    columns = opts.get("columns")
    return {
        **opts,
        "org_id": org_id,
        "report": report,
        "destination": normalize_destination(url),
        "format": fmt,
        "columns": columns if isinstance(columns, list) else csv_list(columns),
        "scope": scope.stored(),
        "start_date": start_date,
        "enabled": not disabled,
    }


def _check_org_and_scope_in_source(sub: Subscription, source_url: str | None = None) -> None:
    """The org must be in the source the nightly run reads (a typo is not a quiet org),
    and an action, list or company must be the org's."""
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.export import check_org_and_scope
    from flatexport.families import parse_scope
    from flatexport.specs import load_spec

    spec = load_spec(sub.report)
    check_org_and_scope(spec, sub.org_id, parse_scope(spec, sub.scope), source_url_for_run(source_url))


def _check_recipient(sub: Subscription) -> None:
    """A mailto: destination must be an admin of the org (checked again at every send)."""
    if sub.scheme != "mailto":
        return
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.destinations.email import parse_mailto
    from flatexport.recipients import admin_address

    admin_address(sub.org_id, parse_mailto(sub.destination), source_url_for_run(None))


def _refuse_duplicate(
    store: ControlStore,
    sub: Subscription,
    *,
    other_than: int | None = None,
    pending: Iterable[Subscription] = (),
    allow_same: bool = False,
) -> Subscription | None:
    """The same (org, report, scope, destination) twice, or a destination that is another
    org's: a destination has one owner, so a file for org A never lands where org B's are."""
    from flatexport.control.validation import destinations_overlap

    for existing in [*store.list(), *pending]:
        if existing.id == other_than and other_than is not None:
            continue
        if not destinations_overlap(existing.destination, sub.destination):
            continue
        if existing.org_id != sub.org_id:
            raise InputError(
                f"destination {sub.destination} is already used by another org "
                f"(subscription {existing.id}); a destination belongs to one org"
            )
        if (
            existing.report == sub.report
            and existing.destination == sub.destination
            and (existing.scope or {}) == (sub.scope or {})
        ):
            if allow_same:
                return existing
            raise InputError(f"{describe(existing)} already exists")
    return None


def check_new_subscription(
    store: ControlStore,
    org_id: str,
    report: str,
    url: str,
    fmt: str = "csv",
    *,
    source_url: str | None = None,
    pending: Iterable[Subscription] = (),
    allow_same: bool = False,
    **opts: Any,
) -> Subscription:
    """Every check of ``destinations add``, nothing saved: the one path for the CLI, the
    console and ``import-subscriptions``. ``pending`` are subscriptions about to be saved
    with this one (a file's earlier entries), checked like saved ones. ``allow_same``
    returns an identical saved subscription instead of refusing it (a re-import)."""
    from flatexport.control.store import build_subscription
    from flatexport.control.validation import validate_subscription

    opts.setdefault("timezone", "UTC")
    sub = validate_subscription(build_subscription(subscription_fields(org_id, report, url, fmt, opts)))
    _check_org_and_scope_in_source(sub, source_url)
    _check_recipient(sub)
    same = _refuse_duplicate(store, sub, pending=pending, allow_same=allow_same)
    return same or sub


def add_subscription(
    store: ControlStore, org_id: str, report: str, url: str, fmt: str = "csv", **opts: Any
) -> Outcome:
    """``destinations add``: check report, columns, URL, connection, org and scope, then save."""
    sub = check_new_subscription(store, org_id, report, url, fmt, **opts)
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
    _check_org_and_scope_in_source(sub)
    _check_recipient(sub)
    _refuse_duplicate(store, sub, other_than=current.id)
    saved = store.update_subscription(sub)
    return Outcome(f"updated {describe(saved)}", saved)


# Keys a subscriptions file entry may have: the model's names for the options of
# ``destinations add`` (org_id, destination, format...), and their short forms.
_IMPORT_KEYS = {
    "org_id": "org_id",
    "org": "org_id",
    "report": "report",
    "destination": "url",
    "url": "url",
    "format": "fmt",
    "timezone": "timezone",
    "columns": "columns",
    "exclude_pii": "exclude_pii",
    "conn_id": "conn_id",
    "kms_key": "kms_key",
    "expected_bucket_owner": "expected_bucket_owner",
    "subject": "subject",
    "scope": "scope",
    "start_date": "start_date",
    "enabled": "enabled",
    "extra": "extra",
    "contact": "contact",
}


def _entries(path: Path) -> list[tuple[int, Any]]:
    """(line, entry) of each item of a subscriptions file (a YAML list, or a mapping with a
    ``subscriptions`` list); the line is where the entry starts, for messages."""
    import yaml

    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}:" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(f"{path}:{line} not valid YAML: {problem}") from None
    if isinstance(data, dict) and "subscriptions" in data:
        node = next(v for k, v in node.value if k.value == "subscriptions")
        data = data["subscriptions"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of subscriptions")
    return [(item.start_mark.line + 1, entry) for item, entry in zip(node.value, data, strict=True)]


def _add_options(entry: Any) -> dict[str, Any]:
    """A file entry as the arguments of :func:`check_new_subscription`."""
    if not isinstance(entry, dict):
        raise InputError("not a mapping (expected org_id, report, destination...)")
    unknown = sorted(str(k) for k in entry if k not in _IMPORT_KEYS)
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_IMPORT_KEYS))})")
    opts = {_IMPORT_KEYS[k]: v for k, v in entry.items()}
    for required in ("org_id", "report", "url"):
        if not isinstance(opts.get(required), str):
            raise InputError(f"{required.replace('url', 'destination')} is missing or not text")
    for text in ("fmt", "timezone", "conn_id", "kms_key", "expected_bucket_owner", "subject", "contact"):
        if opts.get(text) is not None and not isinstance(opts[text], str):
            raise InputError(f"{text.replace('fmt', 'format')} {opts[text]!r} is not text")
    columns = opts.get("columns")
    if isinstance(columns, list):
        if not columns or not all(isinstance(c, str) and c.strip() for c in columns):
            raise InputError(f"columns {columns!r} must be a non-empty list of column names")
    elif columns is not None and not isinstance(columns, str):
        raise InputError(f"columns {columns!r} must be a list or a comma-separated string")
    if "start_date" in opts and opts["start_date"] is not None:
        opts["start_date"] = str(opts["start_date"])
    if "enabled" in opts:
        if not isinstance(opts["enabled"], bool):
            raise InputError(f"enabled {opts['enabled']!r} must be true or false")
        opts["disabled"] = not opts.pop("enabled")
    for flag in ("exclude_pii",):
        if flag in opts and not isinstance(opts[flag], bool):
            raise InputError(f"{flag} {opts[flag]!r} must be true or false")
    for mapping in ("scope", "extra"):
        if opts.get(mapping) is not None and not isinstance(opts[mapping], dict):
            raise InputError(f"{mapping} must be a mapping")
    if opts.get("fmt") is None:
        opts.pop("fmt", None)
    if opts.get("timezone") is None:
        opts.pop("timezone", None)
    return opts


def import_subscriptions(
    store: ControlStore, path: str | Path, source_url: str | None = None
) -> list[Subscription]:
    """``import-subscriptions``: every entry of the file through the checks of ``destinations
    add``, then all of them saved together, or none. An entry identical to a saved
    subscription is kept as it is (a re-import adds nothing); returns the new ones."""
    path = Path(path)
    new: list[Subscription] = []
    for line, entry in _entries(path):
        try:
            opts = _add_options(entry)
            org_id, report, url = opts.pop("org_id"), opts.pop("report"), opts.pop("url")
            sub = check_new_subscription(
                store, org_id, report, url, source_url=source_url, pending=new, allow_same=True, **opts
            )
        except InputError as exc:
            raise InputError(f"{path}: line {line}: {exc}; nothing imported") from None
        if (isinstance(sub.id, int) and sub.id > 0) or sub in new:
            continue  # already saved (or earlier in the file), identical
        new.append(sub)
    return store.add_subscriptions(new) if new else []


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
