"""Where the project's files live, so the CLI, the DAGs and the tests agree."""

from __future__ import annotations

from pathlib import Path

from flatexport.settings import PROJECT_ROOT, get_settings

PACKAGE_DIR = Path(__file__).resolve().parent

__all__ = ["PACKAGE_DIR", "PROJECT_ROOT", "data_dir", "default_warehouse_path", "include_dir", "staging_dir"]


def include_dir() -> Path:
    """The include/ folder (specs and SQL); FLATEXPORT_INCLUDE_DIR for installed deployments."""
    return get_settings().include_dir


def data_dir() -> Path:
    """Writable folder for the embedded warehouse, the control DB and staged files."""
    path = get_settings().data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir() -> Path:
    """Staged files wait here between export, checks and delivery (never in XCom)."""
    path = get_settings().staging_root
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"
