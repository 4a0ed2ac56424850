"""Build one DAG per report family: the family (``flatexport.families``) gives the DAG id,
and its reports are the specs that name it.

Shape: list the enabled subscriptions at run time (never at parse time, so a new
customer needs no deploy), then a mapped task group per subscription:
wait for the day to close -> export (stage) -> check -> deliver. Because each group
instance depends only on its own upstream, one customer's failure fails only that
customer's tasks; everyone else still gets their file.

Beside it, late data: ``find_late_data`` re-reads the source fingerprint of the days
delivered within FLATEXPORT_RESTATEMENT_LOOKBACK_DAYS before the run's day, and a mapped
``restate`` task delivers each day that moved again, as a restatement of the earlier
delivery (backfill runs skip this: they re-deliver their own days).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task, task_group
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException
from airflow.timetables.interval import CronDataIntervalTimetable

from flatexport.airflow_support import run_day, tasks
from flatexport.errors import is_retryable
from flatexport.families import get_family
from flatexport.settings import lenient, settings_or_defaults
from flatexport.specs import available_reports, load_spec


def default_args() -> dict[str, Any]:
    """Retries cover transient failures only (source or control-store outages, throttling,
    5xx that outlived the clients' own retries); permanent ones fail at once."""
    return {
        "owner": "flatexport",
        "retries": settings_or_defaults().task_retries,
        "retry_delay": dt.timedelta(seconds=settings_or_defaults().task_retry_delay_seconds),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(minutes=30),
    }


def run_params() -> dict[str, Param]:
    """The trigger form: a date picker and an org filter (both optional; see run_day)."""
    return {
        run_day.DATE_PARAM: Param(
            None, type=["null", "string"], format="date", title="Report day", description=run_day.DATE_HELP
        ),
        run_day.ORGS_PARAM: Param(
            None,
            type=["null", "array"],
            items={"type": "string"},
            title="Organisations",
            description=run_day.ORGS_HELP,
        ),
    }


#: Each mapped subscription group is labelled `org / report → destination` in the grid: every
#: task of the group puts the label into its context first thing (Airflow's TaskFlow way),
#: and the template reads it back when the task ends, whatever its outcome.
LABEL_KEY = "flatexport_label"
SUBSCRIPTION_LABEL = "{{ " + LABEL_KEY + " | default('') }}"


def labelled_context(sub: dict[str, Any]) -> dict[str, Any]:
    """The running task's context, with its subscription's label for the grid."""
    context = get_current_context()
    context[LABEL_KEY] = run_day.subscription_label(sub)
    return context


def family_reports(family: str) -> list[str]:
    """The reports whose spec names ``family``."""
    return [r for r in available_reports() if load_spec(r).family == family]


def _permanent_failures_fail_fast(fn):
    """Permanent errors (failed checks, refused destinations, bad settings) fail the task
    without retrying; transient ones propagate so Airflow retries them with back-off."""

    @functools.wraps(fn)  # keeps the signature, so TaskFlow passes only the declared arguments
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if not is_retryable(exc):
                raise AirflowFailException(str(exc)) from exc
            raise

    return wrapper


def build_family_dag(family: str, schedule_cron: str = "0 0 * * *") -> DAG:
    """The DAG of the family named ``family`` (its module name); a bad FLATEXPORT_* value
    never stops it from parsing (its tasks then fail with the message naming the value)."""
    with lenient():
        return _build_family_dag(family, schedule_cron)


def _build_family_dag(family: str, schedule_cron: str) -> DAG:
    reports = family_reports(family)
    if not reports:
        raise ValueError(f"no report spec has family {family!r}")
    titles = ", ".join(load_spec(r).title for r in reports)

    with DAG(
        dag_id=get_family(family).dag_id,
        description=f"Nightly {titles} exports to every enabled subscription",
        schedule=CronDataIntervalTimetable(schedule_cron, timezone="UTC"),
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=3,
        default_args=default_args(),
        params=run_params(),
        tags=["flatexport", *reports],
        doc_md=__doc__,
    ) as dag:

        @task(retries=2)
        @_permanent_failures_fail_fast
        def list_subscriptions() -> list[dict[str, Any]]:
            return tasks.list_subscriptions(reports, get_current_context())

        @task_group(group_id="subscription", default_args={"map_index_template": SUBSCRIPTION_LABEL})
        def per_subscription(sub: dict[str, Any]) -> None:
            @task.sensor(poke_interval=600, timeout=36 * 3600, mode="reschedule")
            def wait_for_day_to_close(sub: dict[str, Any]) -> PokeReturnValue:
                ctx = labelled_context(sub)
                closes = tasks.window_closes_at(sub, tasks.report_day(ctx))
                return PokeReturnValue(is_done=dt.datetime.now(dt.UTC) >= closes)

            @task
            @_permanent_failures_fail_fast
            def export(sub: dict[str, Any]) -> dict[str, Any]:
                return tasks.export(sub, labelled_context(sub))

            @task(retries=0)
            @_permanent_failures_fail_fast
            def check(exported: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
                return tasks.check(exported, sub, labelled_context(sub))

            @task
            @_permanent_failures_fail_fast
            def deliver(checked: dict[str, Any], sub: dict[str, Any]) -> dict[str, Any]:
                return tasks.deliver(checked, sub, labelled_context(sub))

            exported = export(sub)
            wait_for_day_to_close(sub) >> exported
            deliver(check(exported, sub), sub)

        per_subscription.expand(sub=list_subscriptions())

        @task(retries=2)
        @_permanent_failures_fail_fast
        def find_late_data() -> list[dict[str, Any]]:
            return late_data_for_run(reports, get_current_context())

        @task(map_index_template=SUBSCRIPTION_LABEL)
        @_permanent_failures_fail_fast
        def restate(item: dict[str, Any]) -> dict[str, Any]:
            context = get_current_context()
            context[LABEL_KEY] = f"{run_day.subscription_label(item['sub'])} · {item['ds']} (restated)"
            return restate_for_run(item, context)

        restate.expand(item=find_late_data())

        @task(retries=1)
        def cleanup_staging() -> dict[str, int]:
            """Beside the run, never after it (a leaf that always succeeded would hide failed
            deliveries): dead attempts abandoned, expired staged folders removed."""
            return tasks.cleanup_staging()

        cleanup_staging()
    return dag


def late_data_for_run(reports: list[str], context: dict[str, Any]) -> list[dict[str, Any]]:
    """The delivered days before the run's day whose source moved (see flatexport.restatement);
    limited to the run's orgs; none for a backfill run, which re-delivers its own days."""
    from flatexport.pipeline import control_store, subscriptions_for
    from flatexport.restatement import changed_days

    if run_day.run_type(context) == "backfill":
        return []
    day = tasks.report_day(context)
    subs = subscriptions_for(reports, day)
    if orgs := run_day.org_filter(context):
        subs = [s for s in subs if s.org_id in orgs]
    return changed_days(control_store(), subs, day, source_url=tasks.source_url_for_run())


def restate_for_run(item: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    from flatexport.pipeline import control_store
    from flatexport.restatement import restate

    return restate(item, context["run_id"], control_store(), source_url=tasks.source_url_for_run())
