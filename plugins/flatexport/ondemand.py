"""On-demand requests: an org's admin asks for one report now and gets it by e-mail.

One request = report, org, scope (as the report's family models it: ``action_id``,
``contact_list_id``, ``company_id``, ``entries``...), optional day, requester e-mail and
format. :func:`validate_request` is the one place that decides whether a request may
run; the CLI calls it before queueing anything and the ``on_demand_export`` DAG calls it
again on the run's conf (a REST call can carry anything). The order is the contract's:
known report; scope given as the report needs it; day and format; e-mail well formed;
requester an admin of the org (before any scope look-up, so a non-admin learns nothing
about ids); the org and its scope in the source.

What a request covers:

* a report that is the history of its scope (organizing): everything created before the
  moment the request is accepted (UTC, whole second), the file named after that UTC
  date; with a day, everything before the end of that day, as the nightly run;
* a report of one day (clickstream, activity, planroom): the day given (required).

How it is recorded: a request has no subscription, so it runs as an *ad-hoc
subscription* that is never stored: id ``request-<request id>``, destination
``mailto:<the admin's address as stored>``, ``extra.request_id``. The delivery log
records it like a nightly delivery (org, report, day, destination, file, rows, SHA-256,
status, error), with run id ``on_demand__<request id>`` and no subscription id, through
the same export -> check -> deliver steps and the same ``outcome_recorded``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

DAG_ID = "on_demand_export"
RUN_PREFIX = "on_demand__"
# The conf keys besides the scope fields (which come from the families' scope models).
REPORT, ORG, EMAIL, DATE, FORMAT = "report", "org_id", "requester_email", "date", "format"


def scope_fields() -> list[str]:
    """Every scope field any report takes; each is a conf key (null when unused)."""
    from flatexport.families import scope_options

    return [o.field for o in scope_options()]


@dataclass(frozen=True)
class Request:
    """A validated request: safe to queue, run and log."""

    report: str
    org_id: str
    recipient: str  # the admin's address as the source stores it (trimmed): the To
    scope: dict[str, Any] = field(default_factory=dict)
    day: dt.date | None = None  # a day report's day, or the day a history file cuts off after
    cutoff: dt.datetime | None = None  # a history report without a day: the moment accepted
    format: str = "csv"
    request_id: str = ""

    @property
    def file_day(self) -> dt.date:
        """The ``<D>`` of the file name."""
        if self.day is not None:
            return self.day
        assert self.cutoff is not None
        return self.cutoff.date()

    def subscription(self) -> Subscription:
        """The ad-hoc, never stored subscription the request runs as."""
        return Subscription(
            id=f"request-{self.request_id}",
            org_id=self.org_id,
            report=self.report,
            destination=f"mailto:{self.recipient}",
            format=self.format,
            scope=self.scope,
            extra={"request_id": self.request_id},
        )

    def to_conf(self) -> dict[str, Any]:
        """The request as a run's conf (the contract's keys; unused scope keys null)."""
        conf: dict[str, Any] = dict.fromkeys(scope_fields())
        conf.update(self.scope)
        conf.update(
            {
                REPORT: self.report,
                ORG: self.org_id,
                EMAIL: self.recipient,
                DATE: self.day.isoformat() if self.day else None,
                FORMAT: self.format,
            }
        )
        return conf

    def to_xcom(self) -> dict[str, Any]:
        return {
            **self.to_conf(),
            "scope": self.scope,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "request_id": self.request_id,
        }

    @classmethod
    def from_xcom(cls, data: Mapping[str, Any]) -> Request:
        return cls(
            report=data[REPORT],
            org_id=data[ORG],
            recipient=data[EMAIL],
            scope=dict(data.get("scope") or {}),
            day=dt.date.fromisoformat(data[DATE]) if data.get(DATE) else None,
            cutoff=dt.datetime.fromisoformat(data["cutoff"]) if data.get("cutoff") else None,
            format=data.get(FORMAT) or "csv",
            request_id=data["request_id"],
        )

    def describe(self) -> str:
        from flatexport.destinations.email import scope_text

        when = f"day {self.day}" if self.day else f"as of {self.cutoff:%Y-%m-%d %H:%M:%S} UTC"
        return f"{self.report} for org {self.org_id}, {scope_text(self.scope)}, {when}, to {self.recipient}"


def new_request_id(now: dt.datetime | None = None) -> str:
    moment = now or dt.datetime.now(dt.UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def request_id_of_run(run_id: str) -> str:
    """A DAG run id as a request id: safe in an S3 key and a file path."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", run_id).strip("-") or "run"


def _text(raw: Mapping[str, Any], key: str, what: str) -> str:
    value = raw.get(key)
    if value is None or not str(value).strip():
        raise InputError(f"an on-demand request needs {what} ({key})")
    return str(value).strip()


def _day(value: Any) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"date {value!r} is not a day (use YYYY-MM-DD)") from None


def validate_request(
    raw: Mapping[str, Any],
    *,
    source_url: str | None = None,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> Request:
    """The request ``raw`` (conf keys: report, org_id, requester_email, date, format and
    the scope fields) checked in the contract's order; InputError with one line otherwise.
    Nothing is exported, queued or sent here."""
    from flatexport.export import check_org_and_scope
    from flatexport.families import family_of, parse_scope
    from flatexport.formats import get_format
    from flatexport.recipients import admin_address, check_address
    from flatexport.specs import available_reports, load_spec

    known = set(scope_fields()) | {REPORT, ORG, EMAIL, DATE, FORMAT}
    unknown = sorted(k for k in raw if k not in known)
    if unknown:
        raise InputError(f"an on-demand request takes no {', '.join(unknown)}")
    report = _text(raw, REPORT, "a report")
    if report not in available_reports():
        raise InputError(f"unknown report {report!r} (known: {', '.join(available_reports())})")
    spec = load_spec(report)
    org_id = _text(raw, ORG, "an org")
    scope = parse_scope(spec, {k: raw[k] for k in scope_fields() if raw.get(k) not in (None, "", [])})
    day = _day(raw.get(DATE))
    fmt = get_format(str(raw.get(FORMAT) or "csv")).name
    address = check_address(_text(raw, EMAIL, "the requester's e-mail"))
    recipient = admin_address(org_id, address, source_url)

    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    history = family_of(spec).window(spec, moment.date(), "UTC").is_cutoff
    if day is None and not history:
        raise InputError(f"{report} covers one day at a time: name the day (--date YYYY-MM-DD)")
    if day is not None and day >= moment.date():
        raise InputError(f"day {day} has not ended yet (UTC); leave the day out for {report} as of now")
    check_org_and_scope(spec, org_id, scope, source_url)
    return Request(
        report=report,
        org_id=org_id,
        recipient=recipient,
        scope=scope.stored(),
        day=day,
        cutoff=None if day is not None else moment,
        format=fmt,
        request_id=request_id or new_request_id(moment),
    )


def run_request(request: Request, *, store=None, source_url: str | None = None, run_id: str | None = None):
    """Export, check and deliver one accepted request, logged like a nightly delivery;
    returns the same outcome record as ``pipeline.run_subscription``."""
    from flatexport.pipeline import check_step, deliver_step, export_step, outcome_recorded, staged_facts
    from flatexport.specs import file_name, load_spec

    sub = request.subscription()
    name = file_name(load_spec(sub.report), request.file_day, sub.format, sub.scope)
    attempt = (
        store.start_delivery(run_id or RUN_PREFIX + request.request_id, sub, request.file_day, name)
        if store
        else None
    )
    with outcome_recorded(store, attempt):
        # a request is its own delivery (its own ad-hoc subscription), so no lock is shared
        staged = export_step(
            sub, request.file_day, source_url, attempt=attempt or request.request_id, cutoff=request.cutoff
        )
    with outcome_recorded(store, attempt, staged):
        quality = check_step(sub, staged, store)
    with outcome_recorded(store, attempt, staged, quality):
        receipt = deliver_step(sub, staged, quality)
    if store is not None:
        store.finish_delivery(attempt, "delivered", **staged_facts(staged), quality=quality)
    return {"staged": staged.to_xcom(), "receipt": receipt, "quality": quality}


def queue_request(request: Request) -> str:
    """Trigger ``on_demand_export`` with the request's conf through Airflow's own client
    (the one `airflow dags trigger` uses); returns the DAG run id."""
    import getpass

    try:
        from airflow.api.client import get_current_api_client
        from airflow.exceptions import DagNotFound

        client = get_current_api_client()
        result = client.trigger_dag(
            dag_id=DAG_ID,
            run_id=RUN_PREFIX + request.request_id,
            conf=request.to_conf(),
            triggering_user_name=getpass.getuser(),
        )
    except DagNotFound:
        raise InputError(
            f"Airflow does not know the DAG {DAG_ID} yet (is its dag-processor running?); "
            "run the request here with --local"
        ) from None
    except Exception as exc:  # no metadata database, a refused connection...
        detail = " ".join(str(exc).split("[SQL:")[0].split())[:200]  # never the statement
        raise InputError(
            f"cannot queue the request in Airflow ({type(exc).__name__}: {detail}); run it here with --local"
        ) from None
    return str((result or {}).get("dag_run_id") or RUN_PREFIX + request.request_id)
