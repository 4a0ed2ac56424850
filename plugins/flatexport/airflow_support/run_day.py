"""Which day a DAG run exports, and which orgs: one rule for every way a run is made.

Airflow 3 gives runs different shapes: a scheduled or backfill run has a data interval
(the day); a manual run from the CLI or REST API without a logical date has neither a
logical date nor a data interval; the trigger dialog sends a logical date (default: now)
and Airflow infers the interval that *ends* before it, i.e. the previous day; and
`airflow dags test DAG D` uses D as the logical date. Reading `data_interval_start`
alone therefore fails (KeyError) or exports the day before the one asked for. This
module decides from the run's own recorded facts, so every task of the run, and every
retry or re-run of it, resolves the same day.

The DAG's trigger form has a `date` field (a date picker) and an `orgs` filter; both
arrive in the run's params. See :data:`PARAMS_DOC` for the user-facing wording.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flatexport.errors import InputError
from flatexport.window import as_utc, parse_ds

#: run types whose data interval is the day (`DagRunType` values)
INTERVAL_RUN_TYPES = frozenset({"scheduled", "backfill"})

DATE_PARAM = "date"
ORGS_PARAM = "orgs"
LEGACY_DATE_KEY = "ds"  # conf key of runs triggered before the date field existed

DATE_HELP = (
    "The day to export. Leave it empty for the most recent complete day (UTC), or for "
    "the Logical Date's day when that day has already ended."
)
ORGS_HELP = "Only these organisations' subscriptions, one org id per line. Empty: every org."


def most_recent_complete_day(at: dt.datetime) -> dt.date:
    """The last UTC day that had ended at `at`."""
    return as_utc(at).date() - dt.timedelta(days=1)


def resolve_report_day(
    *,
    picked: str | dt.date | None,
    run_type: str | None,
    logical_date: dt.datetime | None,
    data_interval_start: dt.datetime | None,
    run_after: dt.datetime | None,
) -> dt.date:
    """The report day of a run, from what Airflow recorded about it.

    1. A day picked in the trigger form (or named in the conf) wins.
    2. A scheduled or backfill run exports its data interval's day.
    3. A manual run with a logical date whose day had ended when the run was made
       exports that day (the dialog's Logical Date, `airflow dags test DAG D`).
    4. Otherwise (no logical date, or one inside the current day such as the dialog's
       default "now"): the most recent complete day when the run was made.
    """
    made_at = as_utc(run_after) or dt.datetime.now(dt.UTC)
    if picked not in (None, ""):
        day = parse_ds(picked if isinstance(picked, dt.date) else str(picked))
        if day > made_at.date():
            raise InputError(f"report day {day} is in the future (the run was made on {made_at.date()} UTC)")
        return day
    start = as_utc(data_interval_start)
    if run_type in INTERVAL_RUN_TYPES and start is not None:
        return start.date()
    logical = as_utc(logical_date)
    if logical is not None and logical.date() < made_at.date():
        return logical.date()
    return most_recent_complete_day(made_at)


def _value(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    return getattr(value, "value", value)  # enums (DagRunType) to their string


def report_day(context: Mapping[str, Any]) -> dt.date:
    """The report day of the running task's DAG run (see :func:`resolve_report_day`)."""
    params = context.get("params") or {}
    dag_run = context.get("dag_run")
    conf = _value(dag_run, "conf") or {}
    picked = params.get(DATE_PARAM) or conf.get(DATE_PARAM) or conf.get(LEGACY_DATE_KEY)
    return resolve_report_day(
        picked=picked,
        run_type=_value(dag_run, "run_type"),
        logical_date=_value(dag_run, "logical_date") or context.get("logical_date"),
        data_interval_start=_value(dag_run, "data_interval_start") or context.get("data_interval_start"),
        run_after=_value(dag_run, "run_after"),
    )


def run_type(context: Mapping[str, Any]) -> str | None:
    """The run's type ("scheduled", "manual", "backfill", ...)."""
    return _value(context.get("dag_run"), "run_type")


def org_filter(context: Mapping[str, Any]) -> list[str]:
    """The orgs the run is limited to (empty: every org), from the form or the conf."""
    params = context.get("params") or {}
    conf = _value(context.get("dag_run"), "conf") or {}
    raw = params.get(ORGS_PARAM) or conf.get(ORGS_PARAM) or []
    if isinstance(raw, str):
        raw = raw.replace(",", "\n").splitlines()
    return sorted({str(org).strip() for org in raw if str(org).strip()})


def check_orgs_known(wanted: Iterable[str], found: Iterable[str], reports: Iterable[str]) -> None:
    """A filter naming an org without an enabled subscription is a typo, not a quiet no-op."""
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise InputError(
            f"no enabled {', '.join(reports)} subscription for org(s) {', '.join(missing)} "
            "(check the orgs filter of the run)"
        )


def subscription_label(sub: Mapping[str, Any]) -> str:
    """How a mapped subscription group is named in Airflow's grid: `org / report → destination`.

    The destination is a location (bucket/prefix, Drive folder id, folder), never a
    credential: those live in the Airflow connection the subscription names.
    """
    destination = _without_userinfo(str(sub.get("destination", "?")))
    return f"{sub.get('org_id', '?')} / {sub.get('report', '?')} → {destination}"


def _without_userinfo(location: str) -> str:
    """Drops a `user:password@` part, should a location ever carry one."""
    parts = urlsplit(location)
    if "@" not in parts.netloc:
        return location
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))
