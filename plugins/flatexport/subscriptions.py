"""A subscription: which org gets which report, how it is shaped, and where it goes.

Nothing secret lives here: ``conn_id`` names an Airflow Connection that holds the
credentials, so a subscription can be listed, logged and passed through XCom safely.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flatexport.errors import InputError
from flatexport.formats import FORMATS, get_format

__all__ = ["FORMATS", "Subscription", "check_contact", "check_timezone"]

# One plain address: no display name, list or line break can ride along into a header.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
MAX_CONTACT = 254  # the longest address SMTP carries


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"unknown time zone {name!r} (use an IANA name such as America/Chicago)") from exc
    return name


def check_contact(value: str | None, label: str | None = None) -> str | None:
    """The customer's contact for failure notices: one email address, or None for none.

    Empty means none (a cleared form field sends ""); anything else, spaces included,
    must be one plain address.
    ``label`` names the field in the message (``--contact``); the model's own message
    gets its field name from pydantic.
    """
    if value is None or value == "":
        return None
    address = value.strip()
    if len(address) > MAX_CONTACT or not _EMAIL.fullmatch(address):
        problem = f"{value!r} is not one email address (such as data-team@customer.com)"
        raise InputError(f"{label} {problem}" if label else problem)
    return address


class Subscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int | str
    org_id: str
    report: str
    destination: str  # file:///path, s3://bucket/prefix, gdrive://FOLDER_ID, mailto:ADDR
    format: str = "csv"
    timezone: str = "UTC"
    columns: list[str] | None = None
    exclude_pii: bool = False
    conn_id: str | None = None  # Airflow Connection holding the credentials
    kms_key: str | None = None  # S3 SSE-KMS key
    expected_bucket_owner: str | None = None  # S3 account id, when known
    subject: str | None = None  # Drive: domain-wide delegation user to impersonate
    # The customer's own address, told when a delivery fails for a reason on their side.
    contact: str | None = None
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

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str | None) -> str | None:
        try:
            return check_contact(value)
        except InputError as exc:
            raise ValueError(str(exc)) from None

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
        if self.destination[:7].lower() == "mailto:":
            return "mailto"
        return self.destination.split("://", 1)[0].lower()
