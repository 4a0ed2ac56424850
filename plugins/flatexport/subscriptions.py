"""A subscription: which org gets which report, how it is shaped, and where it goes.

Nothing secret lives here: ``conn_id`` names an Airflow Connection that holds the
credentials, so a subscription can be listed, logged and passed through XCom safely.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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
    # The part of the org's data it asks for, as the report's scope model allows ({} =
    # all of it); validated and normalised below, stored as JSON.
    scope: dict[str, Any] = Field(default_factory=dict)
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
        from flatexport.orgs import check_org_id

        try:
            return check_org_id(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _scope(self) -> Subscription:
        """The scope, checked by the report's scope model. A subscription of a report
        without a spec keeps its scope as stored (refused later by the report check), so
        removing a spec never makes the control store unreadable."""
        from flatexport.specs import available_reports, load_spec

        if self.report in available_reports():
            from flatexport.families import parse_scope

            spec = load_spec(self.report)
            try:
                stored = parse_scope(spec, self.scope).stored()
            except InputError as exc:
                raise ValueError(str(exc)) from None
            self.scope = stored
        return self

    @property
    def scheme(self) -> str:
        return self.destination.split("://", 1)[0].lower()
