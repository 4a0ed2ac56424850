"""Re-delivery through Airflow's own REST API, as the user who asked.

One day is a manual DAG run of the subscription's family DAG; a range is an Airflow
backfill. Both carry the org in the run's conf (and a single day its ``ds``), so the
DAG knows whose files to make. The request carries the user's own JWT: Airflow checks
their permission again, records them as the run's triggering user in the audit log,
and the run shows in the grid like any other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from flatexport.errors import InputError, TransientError
from flatexport.subscriptions import Subscription

MAX_RANGE_DAYS = 366
TIMEOUT_S = 30.0


def run_conf(sub: Subscription, day: dt.date | None = None) -> dict[str, Any]:
    """The conf a re-delivery run carries: the org, and for a single day the day itself
    (a backfill's runs take their day from their data interval)."""
    from flatexport.airflow_support.run_day import DATE_PARAM, ORGS_PARAM

    conf: dict[str, Any] = {ORGS_PARAM: [sub.org_id]}
    if day is not None:
        conf[DATE_PARAM] = day.isoformat()
    return conf


@dataclass(frozen=True)
class Requested:
    """What was created in Airflow: the message for the user and where to watch it."""

    message: str
    link: str  # a path in Airflow's UI (the run, or the DAG's backfills)


def parse_range(day_from: str, day_to: str | None) -> tuple[dt.date, dt.date]:
    def day(value: str, label: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise InputError(f"{label} {value!r} is not a date (use YYYY-MM-DD)") from None

    start = day(day_from, "day")
    end = day(day_to, "to") if day_to and day_to.strip() else start
    if end < start:
        raise InputError(f"to {end} is before day {start}")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InputError(f"a range of at most {MAX_RANGE_DAYS} days, not {(end - start).days + 1}")
    if end >= dt.datetime.now(dt.UTC).date():
        raise InputError(f"{end} has not ended yet: re-deliver days up to yesterday (UTC)")
    return start, end


class AirflowApi:
    """A small client for the few endpoints re-delivery needs."""

    def __init__(self, base_url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v2",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=TIMEOUT_S,
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"cannot reach Airflow's API at {self._client.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise InputError(f"Airflow refused ({response.status_code}): {_detail(response)}")
        return response.json()

    def is_paused(self, dag_id: str) -> bool:
        return bool(self._call("GET", f"/dags/{quote(dag_id, safe='')}").get("is_paused"))

    def trigger(self, dag_id: str, conf: dict[str, Any], note: str) -> str:
        body = {"logical_date": None, "conf": conf, "note": note}
        return str(self._call("POST", f"/dags/{quote(dag_id, safe='')}/dagRuns", json=body)["dag_run_id"])

    def backfill(self, dag_id: str, start: dt.date, end: dt.date, conf: dict[str, Any]) -> int:
        body = {
            "dag_id": dag_id,
            "from_date": _midnight(start),
            "to_date": _midnight(end),
            "dag_run_conf": conf,
            "reprocess_behavior": "completed",  # re-run days that already ran: that is the point
            "max_active_runs": 3,
        }
        return int(self._call("POST", "/backfills", json=body)["id"])


def _midnight(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC).isoformat()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    if isinstance(detail, list):  # FastAPI validation errors
        detail = "; ".join(str(d.get("msg", d)) for d in detail if isinstance(d, dict)) or str(detail)
    text = str(detail or response.reason_phrase or "no detail")
    return " ".join(text.split())[:500]


def redeliver(
    api: AirflowApi, sub: Subscription, dag_id: str, start: dt.date, end: dt.date, user_name: str
) -> Requested:
    """Create the run (one day) or the backfill (a range) and say where to watch it."""
    paused = api.is_paused(dag_id)
    what = f"{sub.report} for {sub.org_id}"
    if start == end:
        note = (
            f"Re-delivery of {what}, {start} (subscription {sub.id}), asked for in the console by {user_name}"
        )
        run_id = api.trigger(dag_id, run_conf(sub, start), note)
        message = f"re-delivery of {start} requested: {dag_id} run {run_id}"
        link = f"/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    else:
        backfill_id = api.backfill(dag_id, start, end, run_conf(sub))
        message = f"re-delivery of {start} to {end} requested: {dag_id} backfill {backfill_id}"
        link = f"/dags/{quote(dag_id, safe='')}/backfills"
    if paused:
        message += f" (the DAG {dag_id} is paused: nothing runs until it is unpaused in Airflow)"
    return Requested(message, link)
