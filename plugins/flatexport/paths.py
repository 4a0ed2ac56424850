"""Where the project's files live, so the CLI, the DAGs and the tests agree."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent.parent


def include_dir() -> Path:
    """The include/ folder (specs and SQL); overridable for installed deployments."""
    return Path(os.environ.get("FLATEXPORT_INCLUDE_DIR", PROJECT_ROOT / "include"))


def data_dir() -> Path:
    """Writable folder for the embedded warehouse, the control DB and staged files."""
    path = Path(os.environ.get("FLATEXPORT_DATA_DIR", PROJECT_ROOT / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def staging_dir() -> Path:
    """Staged files wait here between export, checks and delivery (never in XCom)."""
    path = Path(os.environ.get("FLATEXPORT_STAGING_DIR", data_dir() / "staging"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"
