"""A real, throwaway Airflow deployment for tests: metadata on PostgreSQL, the API server
(execution API), the scheduler and the DAG processor, each a subprocess in its own
process group, logging to files. Nothing leaks into the test process: the configuration
lives in the env dicts handed to the children.

Two shapes: the LocalExecutor (tasks run under the scheduler), or the production shape of
docker-compose.yaml: the CeleryExecutor with a Redis broker and Celery workers, each
worker its own "machine" (its own staging folder and host name). A test's Celery
messages live under their own Redis key prefix and queue, removed afterwards, so runs in
parallel never see each other's tasks."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

from flatexport.paths import PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = {
    "api-server": ["api-server"],  # port comes from AIRFLOW__API__PORT
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
}
REDIS_URL = os.environ.get("FLATEXPORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WORKER_NAME_VAR = "FLATEXPORT_TEST_WORKER_NAME"


def celery_worker_command(queues: list[str], name: str = "worker", concurrency: int = 1) -> list[str]:
    """`airflow celery worker` as docker-compose.yaml runs it, on the test's own queues,
    with a Celery node name of its own (containers get one from their host name).
    --skip-serve-logs: several workers share this machine's log-server port; the test
    reads task logs from files."""
    return [
        "celery",
        "worker",
        "--concurrency",
        str(concurrency),
        "--queues",
        ",".join(queues),
        "--celery-hostname",
        f"{name}-{queues[0]}@%h",
        "--skip-serve-logs",
    ]


def queue_name(namespace: str, queue: str) -> str:
    """A test's Celery queue: "default" is the namespace itself (Airflow's default queue)."""
    return namespace if queue == "default" else f"{namespace}-{queue}"


def worker_hostname() -> str:
    """[core] hostname_callable of a test worker: its own name, as a separate machine
    would have, so task instances show which worker ran them."""
    return os.environ[WORKER_NAME_VAR]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def celery_env(metadata_url: str, namespace: str) -> dict[str, str]:
    """The CeleryExecutor on the local Redis, confined to `namespace`: its key prefix and
    its queue. Results go to the metadata database, as in docker-compose.yaml."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata_url}",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{namespace}:",
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "3600",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": namespace,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        # A killed worker's task is noticed within seconds, not the default 5 minutes.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "120",
        "PYTHONPATH": str(PROJECT_ROOT),  # the workers' hostname_callable lives in tests/support
    }


def drop_redis_namespace(namespace: str) -> int:
    """Deletes every Redis key of a test's Celery namespace; how many there were."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*", count=500))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()


def airflow_env(home: Path, metadata_url: str, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The children's environment: this process's, minus any Airflow settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "FLATEXPORT_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            # Airflow would derive postgresql+asyncpg (not installed); psycopg 3 is async too.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "flatexport-test-jwt-secret-0123456789abcdef",
            "AIRFLOW__API__SECRET_KEY": "flatexport-test-secret-key",
            # Quick: tight scheduler loop, parse once right away, no cron-scheduled runs
            # (only the run the test triggers).
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "60",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "300",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "bundles"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


class AirflowCluster:
    def __init__(self, home: Path, metadata_url: str, env: dict[str, str], port: int) -> None:
        self.home = home
        self.env = env
        self.port = port
        self.engine = sa.create_engine(metadata_url, poolclass=sa.pool.NullPool)
        self.procs: dict[str, subprocess.Popen] = {}
        self.components: dict[str, tuple[list[str], dict[str, str]]] = {
            name: (args, {}) for name, args in COMPONENTS.items()
        }
        self.log_dir = home / "component-logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    # -- processes ---------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 180) -> str:
        """Runs one `airflow` command to completion; its output, or AssertionError with it."""
        done = subprocess.run(
            [AIRFLOW, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def cli_all(self, *commands: list[str], timeout: float = 180) -> None:
        """Runs independent `airflow` commands at once (each pays Airflow's import time)."""
        with ThreadPoolExecutor(len(commands)) as pool:
            for future in [pool.submit(self.cli, *command, timeout=timeout) for command in commands]:
                future.result()

    def add_worker(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """A Celery worker to start with the others: its command and its own settings."""
        self.components[name] = (args, {WORKER_NAME_VAR: name, **env})

    def start(self) -> None:
        for name, (args, env) in self.components.items():
            if WORKER_NAME_VAR in env:
                env = {"AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname", **env}
            out = open(self.log_dir / f"{name}.log", "wb")
            # an `airflow` subcommand, or a whole command line (a worker wrapped in unshare)
            command = args if Path(args[0]).is_absolute() else [AIRFLOW, *args]
            self.procs[name] = subprocess.Popen(
                command,
                env={**self.env, **env},
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown reaches its children
            )
            out.close()

    def kill(self, name: str) -> None:
        """SIGKILL a component and everything it started (a machine lost mid-task): its
        process group and every descendant, found before the kill, since Airflow's task
        supervisor puts a task in a process group of its own, out of the worker's."""
        proc = self.procs.pop(name)
        try:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        _signal_group(proc, signal.SIGKILL)
        for child in descendants:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait(timeout=10)
        psutil.wait_procs(descendants, timeout=10)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM every process group, then SIGKILL whatever is left after `grace` seconds."""
        for proc in self.procs.values():
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # also reaps children that outlived their leader
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
                pass
        self.engine.dispose()

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {proc.returncode}\n{self.diagnostics()}")

    # -- waiting -----------------------------------------------------------------------------

    def wait_for_api(self, timeout: float = 120) -> None:
        url = f"http://127.0.0.1:{self.port}/api/v2/monitor/health"
        self._until(lambda: _answers(url), timeout, f"the API server never answered {url}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the DAG processor has serialized the DAG; fails at once on an import error."""

        def parsed() -> bool:
            with self.engine.connect() as conn:
                errors = conn.execute(sa.text("SELECT filename, stacktrace FROM import_error")).all()
                if errors:
                    raise AssertionError(f"DAG import errors: {errors}")
                found = conn.execute(
                    sa.text("SELECT 1 FROM serialized_dag WHERE dag_id = :d"), {"d": dag_id}
                ).first()
            return found is not None

        self._until(parsed, timeout, f"{dag_id} was never parsed")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self._until(finished, timeout, f"{dag_id} run {run_id} did not finish")

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                {"d": dag_id, "r": run_id},
            ).scalar()

    def run_facts(self, dag_id: str, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            run = (
                conn.execute(
                    sa.text(
                        "SELECT state, run_type, data_interval_start, data_interval_end FROM dag_run "
                        "WHERE dag_id = :d AND run_id = :r"
                    ),
                    {"d": dag_id, "r": run_id},
                )
                .mappings()
                .one()
            )
            tis = conn.execute(
                sa.text(
                    "SELECT task_id, map_index, state, try_number FROM task_instance "
                    "WHERE dag_id = :d AND run_id = :r ORDER BY task_id, map_index"
                ),
                {"d": dag_id, "r": run_id},
            ).all()
        return {**run, "tasks": [tuple(t) for t in tis]}

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run: task, map index, state, try, host, label."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT task_id, map_index, state, try_number, hostname, rendered_map_index "
                    "FROM task_instance WHERE dag_id = :d AND run_id = :r ORDER BY task_id, map_index"
                ),
                {"d": dag_id, "r": run_id},
            )
            return [dict(row._mapping) for row in rows]

    def wait_for(self, probe, timeout: float, message: str):
        """Until probe() returns something truthy (checking every component is alive)."""
        return self._until(probe, timeout, message)

    def _until(self, probe, timeout: float, message: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            result = probe()
            if result:
                return result
            time.sleep(0.5)
        raise AssertionError(f"{message} within {timeout:.0f}s\n{self.diagnostics()}")

    # -- diagnostics -------------------------------------------------------------------------

    def diagnostics(self, tail: int = 6000) -> str:
        """The end of every component log and every task log, for a failing test's report."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"===== {path.name} =====\n{path.read_text(errors='replace')[-tail:]}")
        for path in sorted((self.home / "logs").rglob("*.log")):
            if "dag_id=" in str(path):
                parts.append(f"===== task log {path.relative_to(self.home)} =====")
                parts.append(path.read_text(errors="replace")[-tail:])
        return "\n".join(parts)


@dataclass(frozen=True)
class Worker:
    """A Celery worker of a test cluster: its own settings, the queues it consumes
    ("default" and names the DAG's tasks are routed to, see `local_settings`), and
    optionally a disk of its own: `disk` is mounted at `mount_at` in a private mount
    namespace, so every worker sees the same path with different contents, as separate
    machines do (needs root, or CAP_SYS_ADMIN, as on CI)."""

    env: dict[str, str]
    queues: tuple[str, ...] = ("default",)
    disk: Path | None = None
    mount_at: Path | None = None

    def command(self, args: list[str]) -> list[str]:
        if self.disk is None or self.mount_at is None:
            return args
        self.disk.mkdir(parents=True, exist_ok=True)
        self.mount_at.mkdir(parents=True, exist_ok=True)
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        unshare = shutil.which("unshare") or "/usr/bin/unshare"
        return [unshare, "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                str(self.disk), str(self.mount_at), AIRFLOW, *args]  # fmt: skip


@contextmanager
def airflow_cluster(
    home: Path,
    metadata_url: str,
    extra_env: dict[str, str],
    workers: dict[str, Worker] | None = None,
    local_settings: str | None = None,
) -> Iterator[AirflowCluster]:
    """Migrates the metadata DB, starts the components and yields once the API answers;
    always stops every process group on the way out.

    With `workers`, the cluster runs the CeleryExecutor and starts one Celery worker per
    entry; otherwise the LocalExecutor. `local_settings` becomes the deployment's
    airflow_local_settings.py (cluster policies, e.g. routing tasks to queues).
    """
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    if local_settings:
        (home / "config").mkdir(exist_ok=True)
        (home / "config" / "airflow_local_settings.py").write_text(local_settings)
    namespace = f"fx-test-{uuid.uuid4().hex[:12]}"
    env = airflow_env(home, metadata_url, port, extra_env)
    if workers:
        env.update(celery_env(metadata_url, namespace))
    cluster = AirflowCluster(home, metadata_url, env, port)
    for name, worker in (workers or {}).items():
        queues = [queue_name(namespace, q) for q in worker.queues]
        cluster.add_worker(name, worker.command(celery_worker_command(queues, name)), worker.env)
    try:
        cluster.cli("db", "migrate")
        cluster.start()
        cluster.wait_for_api()
        yield cluster
    finally:
        cluster.stop()
        if workers:
            drop_redis_namespace(namespace)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the leader's pid
    except (ProcessLookupError, PermissionError):
        pass
