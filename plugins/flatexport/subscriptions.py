"""A subscription: which org gets which report, how it is shaped, and where it goes.

Nothing secret lives here: ``conn_id`` names an Airflow Connection that holds the
credentials, so a subscription can be listed, logged and passed through XCom safely.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from flatexport.errors import InputError
from flatexport.formats import FORMATS, get_format

__all__ = ["FORMATS", "Subscription", "check_timezone"]


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as America/Chicago)") from exc
    return name


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | str
    org_id: str
    report: str
    destination: str  # file:///path, s3://bucket/prefix, gdrive://FOLDER_ID
    format: str = "csv"
    timezone: str = "UTC"
    columns: list[str] | None = None
    exclude_pii: bool = False
    conn_id: str | None = None  # Airflow Connection holding the credentials
    kms_key: str | None = None  # S3 SSE-KMS key
    expected_bucket_owner: str | None = None  # S3 account id, when known
    subject: str | None = None  # Drive: domain-wide delegation user to impersonate
    company_id: int | None = None  # planroom: only this company's jobs
    entries: list[str] | None = None  # activity: exporter entries ("section.name") to include
    enabled: bool = True
    start_date: dt.date | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        return get_format(value).name

    @field_validator("org_id")
    @classmethod
    def _org(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("org_id must not be empty")
        return value

    @property
    def scheme(self) -> str:
        return self.destination.split("://", 1)[0].lower()
