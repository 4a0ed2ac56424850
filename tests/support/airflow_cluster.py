"""A real, throwaway Airflow deployment for tests: metadata on PostgreSQL, the API server
(execution API), the scheduler with the LocalExecutor and the DAG processor, each a
subprocess in its own process group, logging to files. Nothing leaks into the test
process: the configuration lives in the env dict handed to the children."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from flatexport.paths import PROJECT_ROOT

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
COMPONENTS = {
    "api-server": ["api-server"],  # port comes from AIRFLOW__API__PORT
    "scheduler": ["scheduler"],
    "dag-processor": ["dag-processor"],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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

    def start(self) -> None:
        for name, args in COMPONENTS.items():
            out = open(self.log_dir / f"{name}.log", "wb")
            self.procs[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=self.env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown reaches its children
            )
            out.close()

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


@contextmanager
def airflow_cluster(home: Path, metadata_url: str, extra_env: dict[str, str]) -> Iterator[AirflowCluster]:
    """Migrates the metadata DB, starts the components and yields once the API answers;
    always stops every process group on the way out."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    cluster = AirflowCluster(home, metadata_url, airflow_env(home, metadata_url, port, extra_env), port)
    try:
        cluster.cli("db", "migrate")
        cluster.start()
        cluster.wait_for_api()
        yield cluster
    finally:
        cluster.stop()


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
