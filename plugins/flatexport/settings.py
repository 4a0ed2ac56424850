"""Every ``FLATEXPORT_*`` setting in one typed model, validated in one place.

The environment is read each time :func:`get_settings` is called (it is cheap), so a
test or a task that changes a variable sees the change; a bad value raises one
:class:`ConfigError` naming the variable and the value, never a pydantic traceback.

DAG files must never fail to parse because of a setting: DAG construction runs inside
:func:`lenient`, where a bad value is logged and its default used (the other settings
keep their values), and the same bad value then fails the tasks with the clear message.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flatexport.errors import ConfigError

ENV_PREFIX = "FLATEXPORT_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
# The conventional mount for customer shares on our workers; with the data folder's
# deliveries/ (the demo's), the default FLATEXPORT_LOCAL_ROOTS.
DEFAULT_EXPORTS_ROOT = "/srv/exports"
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    """flatexport's settings; each field is the variable ``FLATEXPORT_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True, frozen=True
    )

    data_dir: Path = Field(PROJECT_ROOT / "data", description="Warehouse, control DB and staging.")
    include_dir: Path = Field(PROJECT_ROOT / "include", description="Report specs and SQL.")
    staging_dir: Path | None = Field(None, description="Staged files (default: <data_dir>/staging).")
    staging_url: str | None = Field(
        None, description="Staging every worker reaches (s3://bucket/prefix, any fsspec URL)."
    )
    staging_conn_id: str | None = Field(None, description="Airflow connection of FLATEXPORT_STAGING_URL.")
    staging_retention_days: int = Field(
        7, ge=0, le=3650, description="Days a failed attempt's staged files are kept for inspection."
    )
    attempt_heartbeat_timeout_seconds: int = Field(
        900, ge=10, le=7 * 24 * 3600, description="A started attempt silent this long is abandoned."
    )
    lock_wait_seconds: int = Field(
        0, ge=0, le=24 * 3600, description="How long a run waits for another run of the same delivery."
    )
    source_url: str | None = Field(None, description="SQLAlchemy URL of the source warehouse.")
    source_conn_id: str = Field("flatexport_source", description="Airflow connection of the source.")
    control_db_url: str | None = Field(None, description="SQLAlchemy URL of the control database.")
    duckdb_memory_limit: str = Field("512MB", description="DuckDB memory cap per process.")
    export_workers: int = Field(1, ge=1, le=64, description="Processes exporting one file.")
    checks_in_export: bool = Field(
        True,
        description="Tally the quality checks as the file is written (faster; the export's peak "
        "grows by about 0.6 GB at 1M sessions); false: the check step reads the file back.",
    )
    task_retries: int = Field(3, ge=0, le=20, description="Airflow retries for transient failures.")
    task_retry_delay_seconds: int = Field(
        120, ge=0, le=3600, description="First retry's delay; doubles with each retry."
    )
    late_event_grace_minutes: int = Field(30, ge=0, le=7 * 24 * 60, description="Wait after a window.")
    restatement_lookback_days: int = Field(
        3, ge=0, le=90, description="Days before the run's day re-checked for late data (0: off)."
    )
    alert_smtp_conn_id: str | None = Field(None, description="smtp connection for quality alerts.")
    alert_webhook_conn_id: str | None = Field(None, description="http connection for alert webhooks.")
    local_roots: str | None = Field(
        None,
        description="Folders file:// destinations must lie under, separated by ':' "
        "(default: <data_dir>/deliveries and /srv/exports).",
    )

    @field_validator("local_roots")
    @classmethod
    def _roots(cls, value: str | None) -> str | None:
        if value is None:
            return None
        roots = [r for r in value.split(os.pathsep) if r.strip()]
        if not roots:
            raise ValueError("names no folder")
        for root in roots:
            if "\x00" in root or not root.startswith("/") or posixpath.normpath(root) == "/":
                raise ValueError(f"{root!r} is not an absolute folder other than /")
        return value

    email_smtp_conn_id: str = Field("flatexport_smtp", description="smtp connection for mailto: deliveries.")
    email_links_conn_id: str = Field(
        "flatexport_email_links", description="aws connection (extra bucket, prefix) for e-mailed links."
    )
    email_attach_limit_bytes: int = Field(
        10 * 1024 * 1024, ge=0, description="Largest gzipped file attached; beyond, a link is sent."
    )
    email_link_expiry_seconds: int = Field(
        7 * 24 * 3600, ge=60, le=7 * 24 * 3600, description="E-mailed link lifetime (S3 max: 7 days)."
    )
    notice_smtp_conn_id: str | None = Field(
        None, description="smtp connection for failure notices to a subscription's contact."
    )

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _memory(cls, value: str) -> str:
        value = value.strip()
        if not _MEMORY.match(value):
            raise ValueError("not a size such as 1GB or 512MB")
        return value

    @field_validator("staging_url")
    @classmethod
    def _staging_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if "://" not in value or value.startswith("://"):
            raise ValueError("not a URL such as s3://bucket/prefix or file:///srv/staging")
        return value.rstrip("/")

    @property
    def staging_root(self) -> Path:
        return self.staging_dir or self.data_dir / "staging"

    @property
    def local_root_folders(self) -> tuple[Path, ...]:
        """The folders file:// destinations may name (or lie under), normalised."""
        if self.local_roots is None:
            raw = [str(self.data_dir / "deliveries"), DEFAULT_EXPORTS_ROOT]
        else:
            raw = [r.strip() for r in self.local_roots.split(os.pathsep) if r.strip()]
        return tuple(Path(posixpath.normpath(os.path.abspath(r))) for r in raw)


def _message(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        name = f"{ENV_PREFIX}{field.upper()}"
        value = e.get("input")
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{name}={value!r}: {msg}")
    return "invalid setting " + "; ".join(parts)


_LENIENT: ContextVar[bool] = ContextVar("flatexport_lenient_settings", default=False)


def get_settings() -> Settings:
    """The current settings, read from the environment; ConfigError names a bad value
    (inside :func:`lenient`, the bad value's default is used instead, and logged)."""
    try:
        return Settings()
    except ValidationError as exc:
        if not _LENIENT.get():
            raise ConfigError(_message(exc)) from None
        log.error("%s; using the default until it is fixed", _message(exc))
        bad = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        return Settings(**{name: Settings.model_fields[name].default for name in bad})


@contextmanager
def lenient() -> Iterator[None]:
    """Settings errors are logged, not raised, inside this block (DAG parsing)."""
    token = _LENIENT.set(True)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def settings_or_defaults() -> Settings:
    """The settings, with the default for any invalid value (logged): for DAG parsing."""
    with lenient():
        return get_settings()
