"""Where the project's files live, so the CLI, the DAGs and the tests agree."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from flatexport.settings import PROJECT_ROOT, get_settings

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = [
    "PACKAGE_DIR",
    "PROJECT_ROOT",
    "data_dir",
    "default_warehouse_path",
    "include_dir",
    "spill_dir",
    "staging_dir",
]


def include_dir() -> Path:
    """The include/ folder (specs and SQL); FLATEXPORT_INCLUDE_DIR for installed deployments."""
    return get_settings().include_dir


def data_dir() -> Path:
    """Writable folder for the embedded warehouse, the control DB and staged files."""
    path = get_settings().data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir() -> Path:
    """The local staging folder (see flatexport.staging for where staged files live)."""
    path = get_settings().staging_root
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from flatexport.staging import os_error

        raise os_error("create the staging folder", str(path), exc) from None
    return path


def spill_dir() -> Path:
    """Where DuckDB spills a large sort: beside local staging, or, when that disk cannot
    take it (read-only, full of inodes), the system's temporary folder. Spilling is an
    optimisation; a disk that cannot take it must not stop a run before it starts."""
    for base in (get_settings().staging_root, Path(tempfile.gettempdir()) / "flatexport"):
        path = base / "duckdb-spill"
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError as exc:
            log.warning("DuckDB cannot spill to %s: %s", path, exc.strerror or exc)
    return Path(tempfile.gettempdir())


def default_warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"
