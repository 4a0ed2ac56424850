"""Run a family DAG for one report day in-process (demo, tests, `flatexport dag-test`)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

from flatexport.paths import PROJECT_ROOT


def dag_ids(dags_folder: Path | None = None) -> list[str]:
    """The DAG files' ids (one file per DAG, named after it)."""
    folder = dags_folder or PROJECT_ROOT / "dags"
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def load_dag(dag_id: str, dags_folder: Path | None = None):
    known = dag_ids(dags_folder)
    if dag_id not in known:  # never a path from an unchecked value
        from flatexport.errors import InputError

        raise InputError(f"unknown DAG {dag_id!r} (known: {', '.join(known) or 'none'})")
    path = (dags_folder or PROJECT_ROOT / "dags") / f"{dag_id}.py"
    spec = importlib.util.spec_from_file_location(f"flatexport_dag_{dag_id}", path)
    if spec is None or spec.loader is None or not path.exists():
        raise FileNotFoundError(f"no DAG file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def ensure_metadata_db() -> None:
    """dag.test() needs Airflow's metadata tables; create them on first use."""
    from airflow.utils.db import check_migrations, initdb

    try:
        check_migrations(timeout=0)
    except TimeoutError:
        initdb()


def run_dag_for_day(dag_id: str, ds: dt.date, dags_folder: Path | None = None, conf: dict | None = None):
    """Runs the DAG for report day ds in-process, as `airflow dags test DAG ds` does (the
    logical date is the day; see run_day.resolve_report_day); returns the run state."""
    dag = load_dag(dag_id, dags_folder)
    ensure_metadata_db()
    from flatexport import cli_logging

    cli_logging.reassert()
    logical_date = dt.datetime.combine(ds, dt.time(0), tzinfo=dt.UTC)
    dag_run = dag.test(logical_date=logical_date, run_conf=conf)
    return str(getattr(dag_run.state, "value", dag_run.state))
