"""Checks a subscription must pass before it is saved, so a typo is caught by the person
typing it and not by the nightly run at 3 a.m.

Cloud-specific URL rules live with their destinations (``flatexport.destinations.s3``
and ``.gdrive``); they are imported only for their scheme, so validating a file://
subscription never imports boto3 or the Google client.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
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
    """One spelling per destination, before it is compared or stored: the scheme and an
    S3 bucket in lower case; repeated and trailing slashes, percent-escapes, ``.`` and
    ``..`` resolved; a pasted Drive folder link (https://drive.google.com/drive/folders/ID)
    is gdrive://ID. So ``file:///x`` and ``file:///x/`` are one destination, with one owner."""
    if not isinstance(url, str) or not url.strip():
        raise InputError(
            "the destination URL is empty (use file:///path, s3://bucket/prefix or gdrive://FOLDER_ID)"
        )
    text = url.strip()
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise InputError(f"destination URL {text!r} contains a control character")
    if text[:7].lower() == "mailto:":
        return "mailto:" + text[7:].strip()
    scheme, sep, rest = text.partition("://")
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
    if scheme == "s3" and sep:
        return _normalize_s3(text, rest)
    if scheme == "file" and sep:
        from flatexport.destinations.local import normalize_file_url

        return _call(normalize_file_url, "file://" + rest)
    return text


def _normalize_s3(text: str, rest: str) -> str:
    from urllib.parse import unquote

    bucket, _, path = rest.partition("/")
    if "@" in bucket or "?" in rest or "#" in rest:
        raise InputError(
            f"S3 URL {text!r} must be just s3://BUCKET/PREFIX (no credentials, query or fragment)"
        )
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not segments:
                raise InputError(f"S3 URL {text!r} climbs above its bucket ('..')")
            segments.pop()
            continue
        segments.append(segment)
    try:
        from flatexport.destinations.s3 import validate_bucket_name
    except ImportError:
        bucket = bucket.lower()
    else:
        try:
            validate_bucket_name(bucket.lower())
        except InputError:
            _call(validate_bucket_name, bucket)  # the message names the bucket as typed
            raise
        bucket = bucket.lower()
    prefix = "/".join(segments)
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


def destinations_overlap(a: str, b: str) -> bool:
    """Whether two (normalised) destinations can hold each other's files: the same one,
    or, for folders and S3 prefixes, one inside the other."""
    if a == b:
        return True
    sa_, _, ra = a.partition("://")
    sb, _, rb = b.partition("://")
    if sa_.lower() != sb.lower() or sa_.lower() not in ("file", "s3"):
        return False
    pa, pb = ra.rstrip("/") + "/", rb.rstrip("/") + "/"
    return pa.startswith(pb) or pb.startswith(pa)


def local_roots() -> tuple[Path, ...]:
    """FLATEXPORT_LOCAL_ROOTS, symlinks resolved."""
    from flatexport.settings import get_settings

    return tuple(Path(os.path.realpath(r)) for r in get_settings().local_root_folders)


def check_local_root(folder: Path, url: str) -> None:
    """A file:// destination must be one of FLATEXPORT_LOCAL_ROOTS or lie under one
    (symlinks resolved), so a subscription can never write into /etc or a colleague's home."""
    real = Path(os.path.realpath(folder))
    roots = local_roots()
    if any(real == root or root in real.parents for root in roots):
        return
    allowed = ", ".join(str(r) for r in roots)
    raise InputError(
        f"file destination {url!r} is outside the allowed folders ({allowed}); "
        "set FLATEXPORT_LOCAL_ROOTS to allow another"
    )


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
    check_local_root(folder, sub.destination)


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
    try:
        from flatexport.destinations.s3 import S3Transport
    except ImportError:  # a trimmed installation (tests stub the module): nothing more to check
        return
    # The transport's own option checks (ACL: never a public one; multipart sizes...),
    # without connecting: what the nightly run would refuse is refused now.
    _call(S3Transport.from_subscription, sub)


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


# The Airflow connection types each kind of destination can use ("" = untyped, e.g. an
# AIRFLOW_CONN_ URI without a type, which the provider hooks accept).
CONNECTION_TYPES = {"s3": ("aws", ""), "gdrive": ("google_cloud_platform", "")}


def check_connection(sub: Subscription) -> None:
    """The named Airflow connection must exist and be of a type the destination can use
    (an smtp connection cannot hold S3 credentials); looked up, never printed."""
    if not sub.conn_id:
        return
    from flatexport.connections import get_connection
    from flatexport.errors import DeliveryError

    try:
        conn = get_connection(sub.conn_id)
    except DeliveryError as exc:
        raise InputError(str(exc)) from None
    wanted = CONNECTION_TYPES.get(sub.scheme)
    conn_type = (getattr(conn, "conn_type", None) or "").lower()
    if wanted is not None and conn_type not in wanted:
        raise InputError(
            f"Airflow connection {sub.conn_id!r} has type {conn_type!r}; "
            f"a {sub.scheme}:// destination needs {wanted[0]!r}"
        )
    if sub.scheme == "s3":
        from flatexport.destinations.s3 import check_connection as check_s3_connection

        _call(check_s3_connection, sub.conn_id)


def validate_subscription(sub: Subscription, *, check_conn: bool = True) -> Subscription:
    """Every check, cheapest and most local first; raises InputError naming the problem."""
    check_timezone(sub.timezone)
    check_format(sub.format)
    check_report_and_columns(sub)
    check_destination(sub)
    if check_conn:
        check_connection(sub)
    return sub
