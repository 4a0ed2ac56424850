"""clickstream_daily on the production topology of docker-compose.yaml, natively: the API
server, scheduler and DAG processor on a PostgreSQL metadata database, the CeleryExecutor
on the local Redis, and two Celery workers that share nothing but the network: each has
its own disk mounted at the staging path (a private mount namespace: same path, other
contents, as on separate machines) and its own host name.
The warehouse is PostgreSQL, reached through the `flatexport_source` Airflow connection;
customers' buckets are S3 (moto's server over HTTP, versioned, so a second upload of a
file would show as a second version).

Which worker runs a task is up to Celery, and a run can by chance keep each
subscription's steps on one worker. To make the hand-off between machines certain, a
cluster policy (airflow_local_settings.py, as a deployment would route work) puts
exports on an `export` queue and checks and deliveries on a `deliver` queue; worker-1
consumes only exports, worker-2 everything. So a file exported on worker-1 is always
checked and delivered on worker-2, and worker-2 can take over worker-1's exports.

One deployment serves the whole module (starting it is most of the cost): first a day
for three orgs, then a day during which worker-1 is SIGKILLed in the middle of an export.

Staging is S3 (a bucket on the same moto server, FLATEXPORT_STAGING_URL with its own
Airflow connection): a file exported on worker-1 is checked and delivered on worker-2
from there, and its staged copy is removed once the delivery is verified. The attempt a
killed worker leaves `started` is closed as `abandoned` by the retry that replaces it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from flatexport.control.store import ControlStore
from tests.support.airflow_cluster import AirflowCluster, Worker, airflow_cluster
from tests.support.databases import airflow_postgres_connection, throwaway_database
from tests.support.events import ev, load_events
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]

DAG_ID = "clickstream_daily"
ORGS = ["org_a", "org_b", "org_c"]
DAY = dt.date(2024, 11, 4)  # the plain day
KILL_DAY = dt.date(2024, 11, 5)  # the day a worker dies
WORKERS = ("worker-1", "worker-2")
# An upper bound, not a measure: a run takes 2-7 minutes on a busy 2-core machine.
RUN_TIMEOUT = 900
ROUTING = """
import os

STEP_QUEUES = {
    "subscription.export": "export",
    "subscription.check": "deliver",
    "subscription.deliver": "deliver",
}


def task_policy(task):
    if task.task_id in STEP_QUEUES:
        task.queue = os.environ["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] + "-" + STEP_QUEUES[task.task_id]
"""
STAGING_BUCKET = "fx-staging"


def _bucket(org: str) -> str:
    return f"{org.replace('_', '-')}-exports"


@dataclass
class Deployment:
    cluster: AirflowCluster
    control_url: str
    source_url: str
    s3: Any
    subscriptions: dict[str, int] = field(default_factory=dict)  # org -> subscription id
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # cached run outcomes

    def trigger(self, run_id: str, day: dt.date) -> None:
        self.cluster.cli(
            "dags", "trigger", DAG_ID, "--run-id", run_id, "--conf", json.dumps({"date": str(day)})
        )

    def outcome(self, run_id: str, state: str) -> dict[str, Any]:
        tis = self.cluster.task_instances(DAG_ID, run_id)
        for ti in tis:
            where = f"try {ti['try_number']} on {ti['hostname']}"
            print(f"  {ti['task_id']}[{ti['map_index']}] {ti['state']} {where}")
        report = self.cluster.diagnostics() if state != "success" else ""
        return {"state": state, "tis": tis, "report": report}

    def versions(self, day: dt.date) -> dict[str, list[str]]:
        """Every version and delete marker of every object of the day, per org."""
        found: dict[str, list[str]] = {}
        for org in ORGS:
            listing = self.s3.list_object_versions(Bucket=_bucket(org), Prefix=f"daily/clickstream_{day}")
            found[org] = sorted(
                [v["Key"] for v in listing.get("Versions", [])]
                + [f"deleted:{m['Key']}" for m in listing.get("DeleteMarkers", [])]
            )
        return found

    def staged_objects(self, day: dt.date) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix="staging/clickstream/")
        return sorted(o["Key"] for o in listing.get("Contents", []) if f"/{day}/" in o["Key"])

    def deliveries(self, day: dt.date) -> list[tuple[str, str]]:
        return sorted(
            (d.org_id, d.status) for d in ControlStore(self.control_url).deliveries() if d.ds == day
        )


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("celery-cluster")
    moto, endpoint = start_moto_server()
    try:
        with (
            throwaway_database("fx_airflow") as metadata,
            throwaway_database("fx_control") as control,
            throwaway_database("fx_source") as source,
        ):
            events = []
            for day in (DAY, KILL_DAY):
                for n, org in enumerate(ORGS):
                    sid = day.toordinal() * 100 + n * 10
                    events += [
                        ev(sid + 1, f"{day}T09:00:00", "session_start", org=org),
                        ev(sid + 1, f"{day}T09:01:00", "tile_click", {"tile": "Pledge to vote"}, org=org),
                        ev(sid + 2, f"{day}T18:00:00", "session_start", org=org),
                    ]
            load_events(source, events)
            s3 = boto3_client("s3", endpoint)
            store = ControlStore(control)
            subscriptions = {}
            s3.create_bucket(Bucket=STAGING_BUCKET)
            for org in ORGS:
                s3.create_bucket(Bucket=_bucket(org))
                s3.put_bucket_versioning(Bucket=_bucket(org), VersioningConfiguration={"Status": "Enabled"})
                sub = store.add_subscription(
                    org_id=org,
                    report="clickstream",
                    destination=f"s3://{_bucket(org)}/daily",
                    conn_id="customer_s3",
                )
                subscriptions[org] = sub.id
            store.dispose()
            env = {
                "FLATEXPORT_DATA_DIR": str(tmp / "data"),
                "FLATEXPORT_CONTROL_DB_URL": control,
                "AIRFLOW_CONN_FLATEXPORT_SOURCE": airflow_postgres_connection(source),
                "AIRFLOW_CONN_CUSTOMER_S3": aws_connection_json(endpoint),
                # staging every worker reaches; each worker's local staging disk stays its own
                "FLATEXPORT_STAGING_URL": f"s3://{STAGING_BUCKET}/staging",
                "FLATEXPORT_STAGING_CONN_ID": "staging_s3",
                "AIRFLOW_CONN_STAGING_S3": aws_connection_json(endpoint),
                "FLATEXPORT_TASK_RETRIES": "1",  # a killed worker's task gets one more try
                "FLATEXPORT_TASK_RETRY_DELAY_SECONDS": "1",
                "FLATEXPORT_LATE_EVENT_GRACE_MINUTES": "0",
                # No late-data look-back: the kill run holds the warehouse locked, and the
                # look-back's fingerprint query of the day before would hold worker-2's one
                # slot for as long, so no export would ever start (tested in tests/backfill).
                "FLATEXPORT_RESTATEMENT_LOOKBACK_DAYS": "0",
            }
            queues = {"worker-1": ("export",), "worker-2": ("default", "export", "deliver")}
            staging = tmp / "staging"  # the same path on every worker, a different disk behind it
            workers = {
                name: Worker(
                    {"FLATEXPORT_STAGING_DIR": str(staging)}, queues[name], tmp / f"{name}-disk", staging
                )
                for name in WORKERS
            }
            started = time.monotonic()
            with airflow_cluster(
                tmp / "airflow", metadata, env, workers=workers, local_settings=ROUTING
            ) as cluster:
                cluster.wait_for_dag(DAG_ID)
                cluster.cli("dags", "unpause", DAG_ID)
                print(f"celery cluster up and parsed in {time.monotonic() - started:.0f}s")
                yield Deployment(cluster, control, source, s3, subscriptions)
    finally:
        moto.stop()


# -- a day for five orgs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def day_run(deployment: Deployment) -> dict[str, Any]:
    if "day" not in deployment.runs:
        started = time.monotonic()
        deployment.trigger("day_run", DAY)
        state = deployment.cluster.wait_for_run(DAG_ID, "day_run", timeout=RUN_TIMEOUT)
        print(f"day run {state} in {time.monotonic() - started:.0f}s")
        deployment.runs["day"] = deployment.outcome("day_run", state)
    return deployment.runs["day"]


def test_the_day_runs_on_both_workers_through_the_broker(day_run):
    """The topology works: tasks reach both workers through Redis, each export runs, and
    some subscription's file is exported on one machine and checked on the other."""
    hosts = {ti["hostname"] for ti in day_run["tis"] if ti["hostname"]}
    assert hosts == set(WORKERS), day_run["report"]
    on = {(ti["task_id"], ti["map_index"]): ti["hostname"] for ti in day_run["tis"]}
    assert any(
        on[("subscription.export", i)] == "worker-1" and on.get(("subscription.check", i)) == "worker-2"
        for i in range(len(ORGS))
    )
    exports = [ti for ti in day_run["tis"] if ti["task_id"] == "subscription.export"]
    assert [ti["state"] for ti in exports] == ["success"] * len(ORGS), day_run["report"]
    labels = {ti["rendered_map_index"] for ti in exports}
    assert labels == {f"{org} / clickstream → s3://{_bucket(org)}/daily" for org in ORGS}


def test_the_day_is_delivered_for_every_org_whichever_worker_runs_each_step(deployment, day_run):
    assert day_run["state"] == "success", day_run["report"]
    name = f"daily/clickstream_{DAY}.csv"
    assert deployment.versions(DAY) == {org: [name, name + ".manifest.json"] for org in ORGS}
    body = deployment.s3.get_object(Bucket=_bucket("org_c"), Key=name)["Body"].read().decode()
    assert body.count("\n") == 3 and "Pledge to vote" in body  # header + org_c's two sessions
    assert deployment.deliveries(DAY) == [(org, "delivered") for org in ORGS]
    # every staged copy was removed once its delivery was verified
    assert deployment.staged_objects(DAY) == []


# -- a worker dies mid-export ----------------------------------------------------------------


@pytest.fixture(scope="module")
def kill_run(deployment: Deployment) -> dict[str, Any]:
    """Holds every export in its query (an exclusive lock on the source table, as a slow
    warehouse would), SIGKILLs worker-1 while it runs one, then lets the warehouse go."""
    if "kill" in deployment.runs:
        return deployment.runs["kill"]
    cluster = deployment.cluster
    engine = sa.create_engine(deployment.source_url, poolclass=sa.pool.NullPool)
    watcher = sa.create_engine(
        deployment.source_url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    control = sa.create_engine(deployment.control_url, poolclass=sa.pool.NullPool)
    conn = engine.connect()
    started = time.monotonic()
    try:
        conn.execute(sa.text("LOCK TABLE clickstream_events IN ACCESS EXCLUSIVE MODE"))
        deployment.trigger("kill_run", KILL_DAY)

        def export_in_its_query_on_worker_1() -> dict[str, Any] | None:
            """worker-1's running export, once every running export waits on the lock:
            past its start (the delivery log has its attempt), inside the warehouse query."""
            running = [
                ti
                for ti in cluster.task_instances(DAG_ID, "kill_run")
                if ti["task_id"] == "subscription.export" and ti["state"] == "running"
            ]
            victim = next((ti for ti in running if ti["hostname"] == "worker-1"), None)
            if victim is None:
                return None
            with control.connect() as log:
                started = log.execute(
                    sa.text(
                        "SELECT count(*) FROM deliveries "
                        "WHERE org_id = :org AND ds = :ds AND status = 'started'"
                    ),
                    {"org": ORGS[victim["map_index"]], "ds": KILL_DAY},
                ).scalar()
            if not started:  # still starting up: a kill now would leave no attempt to close
                return None
            with watcher.connect() as watch:
                waiting = watch.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar()
            return victim if waiting >= len(running) else None

        victim = cluster.wait_for(export_in_its_query_on_worker_1, 900, "worker-1 never ran an export")
        cluster.kill("worker-1")
        print(f"killed worker-1 running export {victim['map_index']} at {time.monotonic() - started:.0f}s")
    finally:
        conn.rollback()  # the warehouse answers again
        conn.close()
        engine.dispose()
        watcher.dispose()
        control.dispose()
    state = cluster.wait_for_run(DAG_ID, "kill_run", timeout=RUN_TIMEOUT)
    print(f"kill run {state} in {time.monotonic() - started:.0f}s")
    deployment.runs["kill"] = {**deployment.outcome("kill_run", state), "victim": victim}
    return deployment.runs["kill"]


def test_a_worker_killed_mid_export_is_retried_on_the_other_and_every_file_lands_once(deployment, kill_run):
    assert kill_run["state"] == "success", kill_run["report"]
    victim = kill_run["victim"]
    (retried,) = [
        ti
        for ti in kill_run["tis"]
        if ti["task_id"] == "subscription.export" and ti["map_index"] == victim["map_index"]
    ]
    assert (retried["state"], retried["try_number"], retried["hostname"]) == ("success", 2, "worker-2")
    name = f"daily/clickstream_{KILL_DAY}.csv"
    # one version each: no file reached a customer twice, no manifest was rewritten
    assert deployment.versions(KILL_DAY) == {org: [name, name + ".manifest.json"] for org in ORGS}


def test_the_delivery_log_shows_one_delivery_per_org_and_the_killed_attempt_closed(deployment, kill_run):
    log = ControlStore(deployment.control_url).deliveries()
    day = [d for d in log if d.ds == KILL_DAY]
    assert sorted((d.org_id, d.status) for d in day if d.status == "delivered") == [
        (org, "delivered") for org in ORGS
    ]
    assert all(d.status != "started" for d in day), [(d.org_id, d.status) for d in day]
    abandoned = [d for d in day if d.status == "abandoned"]  # the killed worker's attempt
    assert len(abandoned) == 1, [(d.id, d.org_id, d.status, d.error) for d in day]
    (killed,) = abandoned
    assert killed.org_id == ORGS[kill_run["victim"]["map_index"]]
    assert "later try of run kill_run" in (killed.error or "")
    # delivered attempts' staged copies are gone; the killed one's (if it staged at all
    # before it died) waits for the retention cleanup
    leftovers = deployment.staged_objects(KILL_DAY)
    assert all(f"/attempt-{killed.id}/" in key for key in leftovers), leftovers
