"""Checks a subscription must pass before it is saved, so a typo is caught by the person
typing it and not by the nightly run at 3 a.m.

Cloud-specific URL rules live with their destinations (``flatexport.destinations.s3``
and ``.gdrive``); they are imported only for their scheme, so validating a file://
subscription never imports boto3 or the Google client.
"""

from __future__ import annotations

import re
from typing import Any

from flatexport.errors import FlatexportError, InputError
from flatexport.formats import get_format
from flatexport.subscriptions import Subscription, check_timezone

SCHEMES = ("file", "s3", "gdrive", "mailto")
_ACCOUNT = re.compile(r"\d{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# Options that only one kind of destination understands.
_SCHEME_OPTIONS = {
    "kms_key": ("--kms-key", "s3"),
    "expected_bucket_owner": ("--expected-bucket-owner", "s3"),
    "subject": ("--subject", "gdrive"),
}


def check_format(fmt: str) -> str:
    return get_format(fmt).name


def check_report_and_columns(sub: Subscription) -> None:
    """The report must have a spec and the column selection must name its columns (the
    scope was checked by the report's scope model when the subscription was built)."""
    from flatexport.specs import load_spec

    spec = load_spec(sub.report)
    spec.select(sub.columns, exclude_pii=sub.exclude_pii)


def _call(func: Any, *args: Any) -> Any:
    """Run another module's validator and report any complaint as an InputError."""
    try:
        return func(*args)
    except InputError:
        raise
    except (FlatexportError, ValueError) as exc:
        raise InputError(str(exc)) from exc


def _bucket_of(parsed: Any) -> str:
    if isinstance(parsed, tuple | list):
        return str(parsed[0])
    return str(getattr(parsed, "bucket", parsed))


def _folder_of(parsed: Any) -> str:
    if isinstance(parsed, tuple | list):
        return str(parsed[0])
    return str(getattr(parsed, "folder_id", parsed))


def normalize_destination(url: str) -> str:
    """One spelling per destination, so duplicates are caught and a pasted Drive folder
    link (https://drive.google.com/drive/folders/ID) becomes gdrive://ID."""
    text = url.strip()
    if text[:7].lower() == "mailto:":
        return "mailto:" + text[7:].strip()
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    host = rest.split("/", 1)[0].lower()
    if scheme == "gdrive" or (
        scheme in ("http", "https") and host in ("drive.google.com", "docs.google.com")
    ):
        try:
            from flatexport.destinations.gdrive import parse_gdrive_url
        except ImportError:
            return text
        return f"gdrive://{_folder_of(_call(parse_gdrive_url, text))}"
    if scheme == "s3":
        try:
            from flatexport.destinations.s3 import parse_s3_url
        except ImportError:
            return text
        parsed = _call(parse_s3_url, text)
        if isinstance(parsed, tuple | list) and len(parsed) == 2:
            bucket, prefix = parsed
            return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return text


def check_destination(sub: Subscription) -> None:
    """The URL's scheme and form, and the options that go with that scheme."""
    scheme = sub.scheme if "://" in sub.destination or sub.scheme == "mailto" else ""
    if scheme not in SCHEMES:
        raise InputError(
            f"unsupported destination {sub.destination!r} "
            "(use file:///path, s3://bucket/prefix, gdrive://FOLDER_ID or mailto:ADDR)"
        )
    for field, (option, wants) in _SCHEME_OPTIONS.items():
        if getattr(sub, field) and scheme != wants:
            raise InputError(f"{option} applies to {wants}:// destinations only")
    if scheme == "file":
        _check_file(sub)
    elif scheme == "s3":
        _check_s3(sub)
    elif scheme == "mailto":
        from flatexport.destinations.email import parse_mailto

        _call(parse_mailto, sub.destination)  # the recipient is checked against the source at add
    else:
        _check_gdrive(sub)


def _check_file(sub: Subscription) -> None:
    from flatexport.destinations.local import folder_from_url

    folder = _call(folder_from_url, sub.destination)
    if not folder.is_absolute() or str(folder) == "/":
        raise InputError(f"file destination {sub.destination!r} must name an absolute folder (file:///path)")
    if sub.conn_id:
        raise InputError("--conn-id is not used by file:// destinations")


def _check_s3(sub: Subscription) -> None:
    try:
        from flatexport.destinations.s3 import parse_s3_url, validate_bucket_name
    except ImportError as exc:
        raise InputError(f"s3:// destinations are not available in this installation: {exc}") from exc
    bucket = _bucket_of(_call(parse_s3_url, sub.destination))
    _call(validate_bucket_name, bucket)
    if sub.expected_bucket_owner and not _ACCOUNT.fullmatch(sub.expected_bucket_owner):
        raise InputError(
            f"expected bucket owner {sub.expected_bucket_owner!r} is not a 12-digit AWS account id"
        )


def _check_gdrive(sub: Subscription) -> None:
    try:
        from flatexport.destinations.gdrive import parse_gdrive_url, validate_folder_id
    except ImportError as exc:
        raise InputError(f"gdrive:// destinations are not available in this installation: {exc}") from exc
    folder_id = _folder_of(_call(parse_gdrive_url, sub.destination))
    _call(validate_folder_id, folder_id)
    if not sub.conn_id:
        raise InputError(
            "gdrive:// destinations need --conn-id (an Airflow connection with the service account)"
        )
    if sub.subject and not _EMAIL.fullmatch(sub.subject):
        raise InputError(f"subject {sub.subject!r} is not an email address")


def check_connection(sub: Subscription) -> None:
    """The named Airflow connection must exist (looked up, never printed)."""
    if not sub.conn_id:
        return
    from flatexport.connections import connection_exists

    if not connection_exists(sub.conn_id):
        raise InputError(
            f"Airflow connection {sub.conn_id!r} is not defined (add it with `airflow connections add` "
            f"or an AIRFLOW_CONN_{sub.conn_id.upper()} variable)"
        )


def validate_subscription(sub: Subscription, *, check_conn: bool = True) -> Subscription:
    """Every check, cheapest and most local first; raises InputError naming the problem."""
    check_timezone(sub.timezone)
    check_format(sub.format)
    check_report_and_columns(sub)
    check_destination(sub)
    if check_conn:
        check_connection(sub)
    return sub
