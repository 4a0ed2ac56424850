"""The on_demand_export DAG through dag.test(): its trigger form, a request delivered to
the admin's mailbox and logged, and a refused conf that fails before any export."""

from __future__ import annotations

from typing import Any

import pytest

from flatexport.airflow_support.runner import ensure_metadata_db, load_dag
from flatexport.control.store import ControlStore
from flatexport.families import scope_options
from tests.ondemand.conftest import ADMIN, VOLUNTEER

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def dag() -> Any:
    ensure_metadata_db()
    return load_dag("on_demand_export")


def conf(**kw: Any) -> dict[str, Any]:
    """The contract's conf: unused scope keys null."""
    return {
        "report": "messages",
        "org_id": "o1",
        "action_id": 502,
        "contact_list_id": None,
        "requester_email": ADMIN,
        **kw,
    }


def states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def test_the_trigger_form_has_a_field_for_every_part_of_a_request(dag: Any) -> None:
    fields = set(dag.params.keys())
    assert {"report", "org_id", "requester_email", "date", "format"} <= fields
    assert {o.field for o in scope_options()} <= fields  # action_id, contact_list_id, company_id, entries
    assert dag.timetable.can_be_scheduled is False
    assert {t.task_id for t in dag.tasks} == {"validate", "deliver"}


def test_a_request_run_by_airflow_reaches_the_admin_and_the_log(
    dag: Any, env: dict[str, Any], mailbox
) -> None:
    run = dag.test(run_conf=conf(requester_email="ADA@o1.example"))

    assert states(run) == {"validate": "success", "deliver": "success"}
    (mail,) = mailbox.messages
    assert mail.rcpt_tos == [ADMIN]
    assert mail.subject.startswith("[flatexport] messages for org o1, action 502, as of ")
    (logged,) = ControlStore(env["control"]).deliveries()
    assert logged.run_id == run.run_id and logged.status == "delivered"
    assert logged.destination == f"mailto:{ADMIN}"


def test_a_refused_conf_fails_validation_and_nothing_runs(dag: Any, env: dict[str, Any], mailbox) -> None:
    run = dag.test(run_conf=conf(requester_email=VOLUNTEER, action_id=551))

    assert states(run) == {"validate": "failed", "deliver": "upstream_failed"}
    assert mailbox.messages == []
    assert ControlStore(env["control"]).deliveries() == []
