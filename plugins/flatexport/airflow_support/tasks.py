"""Task bodies for the family DAGs. Each takes and returns small dicts (subscription,
staged-file facts, delivery-log id), so XCom never carries data or credentials. The
run's day and org filter come from :mod:`flatexport.airflow_support.run_day`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

from flatexport.airflow_support.run_day import check_orgs_known, org_filter, report_day
from flatexport.settings import get_settings
from flatexport.specs import file_name, load_spec
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)


def late_event_grace() -> dt.timedelta:
    """Extra wait after a window (and its session look-ahead) closes, for late events."""
    return dt.timedelta(minutes=get_settings().late_event_grace_minutes)


def list_subscriptions(reports: list[str], context: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's subscriptions: every enabled one of these reports for the day, or only
    those of the orgs named in the run's `orgs` filter."""
    from flatexport.pipeline import subscriptions_for

    ds = report_day(context)
    subs = subscriptions_for(reports, ds)
    if orgs := org_filter(context):
        subs = [s for s in subs if s.org_id in orgs]
        check_orgs_known(orgs, {s.org_id for s in subs}, reports)
    log.info("%d enabled subscription(s) for %s on %s", len(subs), ", ".join(reports), ds)
    return [s.model_dump(mode="json") for s in subs]


def window_closes_at(sub: dict[str, Any], ds: dt.date) -> dt.datetime:
    from flatexport.export import report_window

    subscription = Subscription.model_validate(sub)
    window = report_window(load_spec(subscription.report), subscription, ds)
    return window.extract_end + late_event_grace()


def export(sub: dict[str, Any], context: dict[str, Any], store=None) -> dict[str, Any]:
    """Start the attempt (closing earlier ones of this delivery that died: a killed
    worker's try) and stage the file in the attempt's own folder, which every worker reads."""
    from flatexport.control.store import process_owner
    from flatexport.pipeline import control_store, export_step, outcome_recorded
    from flatexport.restatement import record_fingerprint

    store = store or control_store()
    subscription = Subscription.model_validate(sub)
    ds = report_day(context)
    spec = load_spec(subscription.report)
    owner = process_owner("task")
    with store.delivery_lock(subscription.id, ds, owner=owner, wait=lock_wait()):
        attempt = store.start_delivery(
            context["run_id"],
            subscription,
            ds,
            file_name(spec, ds, subscription.format, subscription.scope),
            owner=owner,
        )
        with outcome_recorded(store, attempt), store.heartbeating(attempt):
            source_url = source_url_for_run()
            # read before the export: a row landing during it moves the fingerprint (late data)
            record_fingerprint(store, attempt, subscription, ds, source_url)
            staged = export_step(subscription, ds, source_url=source_url, attempt=attempt)
        store.beat(attempt, staged_path=staged.path)
    return {"staged": staged.to_xcom(), "attempt": attempt}


def check(
    exported: dict[str, Any], sub: dict[str, Any], context: dict[str, Any], store=None
) -> dict[str, Any]:
    from flatexport.pipeline import check_step, control_store, outcome_recorded

    store = store or control_store()
    subscription = Subscription.model_validate(sub)
    staged = StagedFile.from_xcom(exported["staged"])
    with outcome_recorded(store, exported["attempt"], staged), store.heartbeating(exported["attempt"]):
        quality = check_step(subscription, staged, store, run_url=run_link(context))
    return {**exported, "quality": quality}


def deliver(
    checked: dict[str, Any], sub: dict[str, Any], context: dict[str, Any], store=None
) -> dict[str, Any]:
    """Deliver under the subscription's day lock: two runs never write one destination
    file at once."""
    from flatexport.control.store import process_owner
    from flatexport.pipeline import control_store, deliver_step, outcome_recorded, staged_facts

    store = store or control_store()
    subscription = Subscription.model_validate(sub)
    staged = StagedFile.from_xcom(checked["staged"])
    quality = checked.get("quality")
    ds = dt.date.fromisoformat(staged.ds)
    attempt = checked["attempt"]
    with store.delivery_lock(subscription.id, ds, owner=process_owner("task"), wait=lock_wait()):
        with outcome_recorded(store, attempt, staged, quality), store.heartbeating(attempt):
            receipt = deliver_step(subscription, staged, quality)
        store.finish_delivery(attempt, "delivered", **staged_facts(staged), quality=quality)
    return {"location": receipt["location"], "rows": staged.rows, "sha256": staged.sha256}


def lock_wait() -> float:
    """Airflow steps wait for another run of the same delivery at least a few minutes
    (FLATEXPORT_LOCK_WAIT_SECONDS if longer); past that the step fails and is retried."""
    return max(300.0, float(get_settings().lock_wait_seconds))


def cleanup_staging() -> dict[str, int]:
    """The retention sweep: attempts whose process died are marked abandoned, and staged
    folders older than FLATEXPORT_STAGING_RETENTION_DAYS are removed."""
    from flatexport import staging
    from flatexport.pipeline import control_store

    abandoned = control_store().abandon_stale_attempts()
    removed = staging.cleanup()
    return {"abandoned": len(abandoned), "removed": len(removed)}


def source_url_for_run(explicit: str | None = None) -> str | None:
    """The source a run reads, the same for the DAG's tasks and `flatexport run`: an explicit
    URL (the CLI's --source), else the `flatexport_source` Airflow connection when Airflow
    has it; None leaves FLATEXPORT_SOURCE_URL, then the embedded warehouse, to
    source.resolve_source_url."""
    return explicit or source_url_from_connection()


def source_url_from_connection() -> str | None:
    """Production reads the warehouse named by the `flatexport_source` Airflow connection
    (its URI), when defined; otherwise FLATEXPORT_SOURCE_URL or the embedded warehouse."""
    conn_id = get_settings().source_conn_id
    from flatexport.connections import connection_exists, get_connection

    if not connection_exists(conn_id):
        return None
    return get_connection(conn_id).get_uri()


def run_link(context: dict[str, Any]) -> str:
    base = os.environ.get("AIRFLOW__API__BASE_URL", "http://localhost:8080").rstrip("/")
    dag_run = context.get("dag_run")
    dag_id = getattr(dag_run, "dag_id", "") or ""
    return f"{base}/dags/{dag_id}/runs/{context.get('run_id', '')}"
