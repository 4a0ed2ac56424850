"""The ``on_demand_export`` DAG: one admin's request for one report, now, by e-mail.

No schedule. Each run is one request: its conf (or the trigger form, rendered from the
DAG's ``params``) names the report, the org, the scope, an optional day, the requester's
e-mail and the format. Two tasks:

``validate``  the same :func:`flatexport.ondemand.validate_request` the CLI runs before
              queueing (a REST call or a hand-filled form may carry anything); a refused
              request fails here, with the one-line reason, before any export; the moment
              it passes is the file's cutoff (history reports without a day);
``deliver``   export -> check -> deliver to ``mailto:<admin>`` through the one delivery
              driver, logged in the delivery log like a nightly delivery (see
              :mod:`flatexport.ondemand` for how a request without a subscription is recorded).

Export, check and delivery are one task so the staged file never has to travel between
workers; XCom carries only the validated request and the receipt's facts.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import DAG, Param, get_current_context, task

from flatexport.settings import lenient

DOC = __doc__


def request_params() -> dict[str, Param]:
    """The trigger form: one field per conf key; scope fields come from the families."""
    from flatexport.families import scope_options
    from flatexport.formats import FORMATS
    from flatexport.ondemand import DATE, EMAIL, FORMAT, ORG, REPORT
    from flatexport.specs import available_reports

    params: dict[str, Param] = {
        REPORT: Param(
            type="string", enum=available_reports(), title="Report", description="The report to export."
        ),
        ORG: Param(type="string", minLength=1, title="Organisation", description="The org (tenant) id."),
        EMAIL: Param(
            type="string",
            minLength=3,
            title="Requester e-mail",
            description="An admin of the org: the only recipient.",
        ),
    }
    for opt in scope_options():
        kind = "integer" if opt.value_type is int else "string"
        schema: dict[str, Any] = (
            {"type": ["null", "array"], "items": {"type": kind}} if opt.many else {"type": ["null", kind]}
        )
        params[opt.field] = Param(
            None,
            title=f"Scope: {opt.flag.lstrip('-')}",
            description=f"{opt.help} Leave empty when the report takes no {opt.flag}.",
            **schema,
        )
    params[DATE] = Param(
        None,
        type=["null", "string"],
        format="date",
        title="Day",
        description="Reports of one day: the day (required). History reports: empty for up to now.",
    )
    params[FORMAT] = Param("csv", type="string", enum=list(FORMATS), title="Format")
    return params


def build_on_demand_dag() -> DAG:
    with lenient():
        return _build()


def _build() -> DAG:
    from flatexport.airflow_support.dag_factory import _permanent_failures_fail_fast, default_args
    from flatexport.ondemand import DAG_ID

    with DAG(
        dag_id=DAG_ID,
        description="One report for one org now, e-mailed to the admin who asked",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=8,
        default_args=default_args(),
        params=request_params(),
        tags=["flatexport", "on-demand"],
        doc_md=DOC,
    ) as dag:

        @task(retries=0)
        @_permanent_failures_fail_fast
        def validate() -> dict[str, Any]:
            return validate_run(get_current_context())

        @task
        @_permanent_failures_fail_fast
        def deliver(request: dict[str, Any]) -> dict[str, Any]:
            return deliver_run(request, get_current_context())

        deliver(validate())
    return dag


def validate_run(context: dict[str, Any]) -> dict[str, Any]:
    """The run's request (its params: the form's fields merged with the conf), validated."""
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.ondemand import request_id_of_run, validate_request

    raw = dict(context["params"])
    request = validate_request(
        raw, source_url=source_url_for_run(), request_id=request_id_of_run(context["run_id"])
    )
    return request.to_xcom()


def deliver_run(request: dict[str, Any], context: dict[str, Any], store=None) -> dict[str, Any]:
    from flatexport.airflow_support.tasks import source_url_for_run
    from flatexport.ondemand import Request, run_request
    from flatexport.pipeline import control_store

    outcome = run_request(
        Request.from_xcom(request),
        store=store or control_store(),
        source_url=source_url_for_run(),
        run_id=context["run_id"],
    )
    staged, receipt = outcome["staged"], outcome["receipt"]
    return {
        "file": staged["name"],
        "rows": staged["rows"],
        "sha256": staged["sha256"],
        "location": receipt["location"],
    }
