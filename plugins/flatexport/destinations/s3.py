"""Amazon S3 (and S3-compatible: MinIO, moto) transport.

The delivery sequence (staged-file check, stale manifest removal, verification, manifest
last) belongs to the driver; this module only talks to S3:

* ``put`` streams the payload with the transfer manager: one ``PutObject`` below the
  multipart threshold (carrying ``ChecksumSHA256``, so S3 itself refuses other bytes),
  multipart above it, always with ``ChecksumAlgorithm=SHA256``. One key per report and
  day, so a re-delivery overwrites it.
* ``stat`` is ``HeadObject(ChecksumMode=ENABLED)``; :class:`S3Checksum` computes the same
  value locally (``b64(sha256)`` or the multipart composite ``b64(sha256(part digests))-N``
  with the part size the transfer manager really uses).
* ``sweep`` aborts unfinished multipart uploads of the same key left by a killed attempt
  (a failed upload is aborted by the transfer manager itself); it needs
  ``s3:ListBucketMultipartUploads`` and ``s3:AbortMultipartUpload`` and is skipped, with a
  warning, without them. A bucket lifecycle rule (AbortIncompleteMultipartUpload) is the
  belt to these braces.
* ``delete`` removes the stale manifest before its data is replaced. Without
  ``s3:DeleteObject`` it still succeeds when the object is absent (first delivery), and
  otherwise fails before anything is replaced: an old manifest must never stay beside new data.

Decisions worth knowing:

* The client comes from the Airflow Amazon provider (``S3Hook``), so a Connection that
  works for the provider works here unchanged: login/password or extra keys,
  ``aws_session_token``, ``region_name``, ``endpoint_url`` (or ``service_config.s3.endpoint_url``),
  ``role_arn`` with ``assume_role_method`` / ``assume_role_kwargs`` (STS reached through
  ``service_config.sts.endpoint_url`` when set), ``profile_name``, ``config_kwargs``, ``verify``.
  With no ``conn_id`` boto3's default chain is used (env, profile, instance role).
  A ``conn_id`` that does not exist is an error here, never a silent fall back.
* Our botocore settings are merged over the connection's ``config_kwargs``: *standard*
  retries (only throttling, 5xx and network errors retry), connect/read timeouts, and
  path-style addressing when an ``endpoint_url`` is set (MinIO) unless the connection
  says otherwise. What still fails after that raises ``DeliveryError(retryable=True)``;
  everything a person must fix is ``retryable=False``; every message is one line.
* ACL: ``sub.extra["acl"]`` wins when present (``None``/``""`` = send no ACL). Otherwise
  ``bucket-owner-full-control`` is sent exactly when ``expected_bucket_owner`` is set (the
  cross-account case). Only owner-facing canned ACLs are accepted, never public ones.
* SSE-KMS: ``sub.kms_key`` -> ``ServerSideEncryption=aws:kms`` + ``SSEKMSKeyId`` on the data
  file, the manifest and the probe; ``stat`` refuses an object that is not encrypted so.
* A checksum or size mismatch leaves the bad object in place without a manifest and fails
  the delivery (``retryable=True``: a re-run overwrites the same key).
* An ``endpoint_url`` with ``user:password@`` is shown masked everywhere and its password
  is handed to Airflow's secrets masker.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from flatexport.connections import get_connection, hide_in_logs, mask_url, url_secrets
from flatexport.destinations.base import MANIFEST_SUFFIX, Features, Payload, Stored, TransportBase
from flatexport.errors import CustomerAction, DeliveryError, InputError
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 64 * MIB
DEFAULT_PART_SIZE = 16 * MIB
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0
UPLOAD_CONCURRENCY = 4  # parts in flight, each held in memory: 4 x 16 MiB by default
ALLOWED_ACLS = ("bucket-owner-full-control", "bucket-owner-read", "private")
CROSS_ACCOUNT_ACL = "bucket-owner-full-control"

RETRYABLE_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "BadDigest",
        "IncompleteBody",
    }
)
CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "InvalidClientTokenId",
    }
)
REGION_CODES = frozenset(
    {"PermanentRedirect", "301", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
)
KMS_STATE_CODES = frozenset({"KMSInvalidStateException", "KMSDisabledException", "KMSNotFoundException"})
ACCESS_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled", "Forbidden"})
# S3-compatible stores with quotas (MinIO, Ceph RGW): a person must free space or raise it.
STORAGE_FULL_CODES = frozenset({"QuotaExceeded", "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded"})

# The IAM permission each S3 operation needs, so "access denied" can name it.
PERMISSION_FOR = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
}


# --- URL and bucket-name rules (pure; the control-plane CLI calls these) -------------------


def validate_bucket_name(name: str) -> None:
    """Raise InputError naming the one S3 bucket-naming rule ``name`` breaks.

    Checking before any network call turns a cryptic InvalidBucketName (or a TLS error for
    dotted names) into a message the person typing the subscription can act on.
    """
    if not 3 <= len(name) <= 63:
        raise InputError(f"S3 bucket name {name!r} must be 3 to 63 characters long (it has {len(name)})")
    bad = sorted(set(re.sub(r"[a-z0-9.-]", "", name)))
    if bad:
        raise InputError(
            f"S3 bucket name {name!r} may contain only lowercase letters, digits, dots and hyphens "
            f"(found {''.join(bad)!r})"
        )
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise InputError(f"S3 bucket name {name!r} must start and end with a letter or digit")
    if ".." in name:
        raise InputError(f"S3 bucket name {name!r} must not contain two adjacent dots")
    if _is_ipv4(name):
        raise InputError(f"S3 bucket name {name!r} must not be formatted as an IP address")
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            raise InputError(f"S3 bucket name {name!r} must not start with {prefix!r}")
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            raise InputError(f"S3 bucket name {name!r} must not end with {suffix!r}")


def _is_ipv4(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


def parse_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://BUCKET/PREFIX`` into (bucket, prefix without surrounding slashes).

    The prefix is normalised so ``s3://b/x/`` and ``s3://b/x`` name the same folder and keys
    never get a leading or doubled slash.
    """
    parsed = urlparse(url)
    if parsed.scheme.lower() != "s3":
        raise InputError(f"not an S3 URL: {url!r} (expected s3://BUCKET/PREFIX)")
    if parsed.query or parsed.fragment or "@" in parsed.netloc:
        raise InputError(
            f"S3 URL {url!r} must be just s3://BUCKET/PREFIX (no credentials, query or fragment)"
        )
    bucket = parsed.netloc
    if not bucket:
        raise InputError(f"S3 URL {url!r} has no bucket (expected s3://BUCKET/PREFIX)")
    validate_bucket_name(bucket)
    prefix = parsed.path.strip("/")
    if "//" in prefix:
        raise InputError(f"S3 URL {url!r} has an empty folder in its prefix ('//')")
    return bucket, prefix


def join_key(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


# --- Checksums ---------------------------------------------------------------------------


def hex_to_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def composite_checksum(part_digests: tuple[bytes, ...] | list[bytes]) -> str:
    """S3's multipart SHA-256: the hash of the concatenated raw part hashes, then ``-N``."""
    combined = hashlib.sha256(b"".join(part_digests)).digest()
    return f"{base64.b64encode(combined).decode('ascii')}-{len(part_digests)}"


def same_checksum(reported: str | None, expected: str) -> bool:
    """Compare S3's checksum with ours, tolerating a missing ``-N`` part-count suffix.

    Real S3 reports composite checksums as ``<b64>-N``; some S3-compatible servers (moto's
    HeadObject among them) omit the suffix. The base64 value already hashes every part
    digest, so it alone proves the content; a suffix, when present, must still agree.
    """
    if not reported:
        return False
    got_value, _, got_parts = reported.partition("-")
    want_value, _, want_parts = expected.partition("-")
    return got_value == want_value and (not got_parts or got_parts == want_parts)


def effective_part_size(part_size: int, file_size: int) -> int:
    """The part size s3transfer will really use (it grows parts to stay under 10,000)."""
    from s3transfer.utils import ChunksizeAdjuster

    return ChunksizeAdjuster().adjust_chunksize(part_size, file_size)


class S3Checksum:
    """What S3 will report for a body: computed from the bytes the driver streams once.

    Single-part uploads: ``b64(sha256)``. Multipart: the hash of the concatenated raw part
    digests, ``-N``, with the part size the transfer manager really uses.
    """

    name = "s3-sha256"
    label = "SHA-256"

    def __init__(self, multipart: bool, part_size: int) -> None:
        self.multipart = multipart
        self.part_size = part_size
        self._full = hashlib.sha256()
        self._part = hashlib.sha256()
        self._in_part = 0
        self._parts: list[bytes] = []

    def update(self, block: bytes) -> None:
        self._full.update(block)
        if not self.multipart:
            return
        view = memoryview(block)
        while view:
            take = min(len(view), self.part_size - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self.part_size:
                self._parts.append(self._part.digest())
                self._part, self._in_part = hashlib.sha256(), 0

    def value(self) -> str:
        if not self.multipart:
            return base64.b64encode(self._full.digest()).decode("ascii")
        parts = list(self._parts)
        if self._in_part or not parts:
            parts.append(self._part.digest())
        return composite_checksum(parts)

    def matches(self, reported: str | None) -> bool:
        return same_checksum(reported, self.value())


# --- Connection and client ---------------------------------------------------------------


@dataclass(frozen=True)
class AwsSettings:
    """What messages may say about the connection; holds no secret (the endpoint is masked)."""

    conn_id: str | None
    region_name: str | None = None
    endpoint_url: str | None = None  # masked
    role_arn: str | None = None

    @property
    def identity(self) -> str:
        if self.conn_id is None:
            return "the default AWS credential chain"
        return f"connection {self.conn_id!r}"


def _service_option(extra: dict[str, Any], service: str, name: str) -> Any:
    """Per-service override as the Amazon provider writes it: ``service_config.<svc>.<name>``."""
    service_config = extra.get("service_config") or {}
    return (service_config.get(service) or {}).get(name) or extra.get(name)


def check_connection(conn_id: str) -> tuple[Any, tuple[str, ...]]:
    """The connection, refused early when it cannot be an S3 one; and its secret values."""
    conn = get_connection(conn_id)
    conn_type = (conn.conn_type or "").lower()
    if conn_type not in ("aws", ""):
        raise DeliveryError(
            f"Airflow connection {conn_id!r} has type {conn_type!r}; an S3 destination needs 'aws'"
        )
    if bool(conn.login) != bool(conn.password):
        raise DeliveryError(
            f"Airflow connection {conn_id!r} must set both login (access key id) and password "
            "(secret access key), or neither to use its extra or the default credential chain"
        )
    extra: dict[str, Any] = dict(conn.extra_dejson or {})
    endpoints = [extra.get("endpoint_url"), _service_option(extra, "s3", "endpoint_url")]
    secret_values = [
        conn.password,
        conn.login,
        extra.get("aws_secret_access_key"),
        extra.get("aws_session_token"),
    ]
    for endpoint in endpoints:
        secret_values.extend(url_secrets(endpoint))
    hide_in_logs(*(url_secrets(endpoints[0]) + url_secrets(endpoints[1])))
    return conn, tuple(dict.fromkeys(s for s in secret_values if s))


def client_config(
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    s3_options: dict[str, Any] | None = None,
) -> Any:
    """botocore Config with *standard* retries: only throttling, 5xx and network blips retry.

    ``max_attempts`` counts every attempt, the first included (as in ~/.aws/config);
    botocore's ``retries.max_attempts`` counts only the retries, hence the ``- 1``.
    """
    from botocore.config import Config

    if max_attempts < 1:
        raise DeliveryError(f"S3 max_attempts must be at least 1 (got {max_attempts})")
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts - 1},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3=s3_options or None,
    )


def make_client(
    conn_id: str | None, max_attempts: int, connect_timeout: float, read_timeout: float
) -> tuple[Any, AwsSettings, tuple[str, ...]]:
    """An S3 client built by the Amazon provider from the connection, with our retries and
    timeouts merged over the connection's own ``config_kwargs``."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.exceptions import BotoCoreError, ClientError

    extra: dict[str, Any] = {}
    secret_values: tuple[str, ...] = ()
    if conn_id is not None:
        conn, secret_values = check_connection(conn_id)
        extra = dict(conn.extra_dejson or {})
    hook = S3Hook(aws_conn_id=conn_id)
    wrapper = hook.conn_config
    endpoint_url = wrapper.get_service_endpoint_url("s3")
    settings = AwsSettings(
        conn_id=conn_id,
        region_name=wrapper.region_name,
        endpoint_url=mask_url(endpoint_url) or None,
        role_arn=wrapper.role_arn,
    )
    s3_options = dict(getattr(hook.config, "s3", None) or {})
    addressing = s3_options.get("addressing_style") or _service_option(extra, "s3", "addressing_style")
    if addressing or endpoint_url:
        s3_options["addressing_style"] = addressing or "path"  # MinIO and most S3-compatibles
    ours = client_config(max_attempts, connect_timeout, read_timeout, s3_options)
    try:
        client = hook.get_client_type(config=hook.config.merge(ours))
    except ClientError as exc:  # assuming role_arn failed
        code = exc.response.get("Error", {}).get("Code", "")
        raise DeliveryError(
            f"cannot assume role {settings.role_arn} with {settings.identity}: {code}"
        ) from None
    except BotoCoreError as exc:
        raise DeliveryError(
            _scrub(f"cannot create an S3 client with {settings.identity}: {exc}", secret_values),
            retryable=True,
        ) from None
    return client, settings, secret_values


def _scrub(text: str, secret_values: tuple[str, ...]) -> str:
    """Last line of defence: no server or library message may carry a key into a log."""
    for value in secret_values:
        if value:
            text = text.replace(value, "***")
    return text


# --- Error translation -------------------------------------------------------------------


@dataclass(frozen=True)
class _Op:
    """What was being attempted, so an error can say where and which permission is missing."""

    bucket: str
    key: str
    settings: AwsSettings
    kms_key: str | None
    acl: str | None
    expected_bucket_owner: str | None
    secrets: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def objects_arn(self) -> str:
        """The objects a grant must cover: everything under the key's folder."""
        folder = self.key.rsplit("/", 1)[0] + "/" if "/" in self.key else ""
        return f"arn:aws:s3:::{self.bucket}/{folder}*"


def _client_error_parts(exc: Any) -> tuple[str, str, int, str, int]:
    response = exc.response or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    return (
        str(error.get("Code") or ""),
        str(error.get("Message") or ""),
        int(meta.get("HTTPStatusCode") or 0),
        str(getattr(exc, "operation_name", "") or ""),
        int(meta.get("RetryAttempts") or 0),
    )


def _is_kms_error(code: str, message: str) -> bool:
    return code.startswith("KMS.") or code in KMS_STATE_CODES or "kms" in message.lower()


def _kms_message(op: _Op, code: str, message: str) -> str:
    detail = _scrub(message.splitlines()[0] if message else code, op.secrets)
    return (
        f"KMS key {op.kms_key!r} cannot be used for {op.where}: {code}: {detail} "
        f"({op.settings.identity} needs kms:GenerateDataKey and kms:Decrypt on an enabled key)"
    )


def _needed_permission(op: _Op, operation: str) -> str:
    needed = PERMISSION_FOR.get(operation, "s3:PutObject")
    if needed == "s3:PutObject" and op.acl:
        needed = "s3:PutObject and s3:PutObjectAcl"
    return needed


def _access_denied_action(op: _Op, operation: str) -> CustomerAction:
    """The grant, in the customer's terms: their bucket, the objects, who we are (a role
    ARN names an identity and holds no secret; a key id is never shown)."""
    role = op.settings.role_arn
    who = f"the role {role}" if role else "the AWS identity flatexport delivers with"
    owner = (
        f", and check that account {op.expected_bucket_owner} still owns the bucket"
        if op.expected_bucket_owner
        else ""
    )
    return CustomerAction(
        "access_denied",
        f"Allow {_needed_permission(op, operation)} on {op.objects_arn} for {who} in the bucket policy "
        f"of S3 bucket {op.bucket!r}{owner}.",
    )


def _access_denied_message(op: _Op, operation: str) -> str:
    needed = _needed_permission(op, operation)
    owner = (
        f", or bucket {op.bucket!r} is not owned by account {op.expected_bucket_owner}"
        if op.expected_bucket_owner
        else ""
    )
    return (
        f"access denied to {op.where} ({operation}): the identity of {op.settings.identity} lacks "
        f"{needed} on bucket {op.bucket!r}, or a bucket policy denies it{owner}"
    )


def translate_client_error(exc: Any, op: _Op) -> DeliveryError:
    """One actionable line per failure; ``retryable`` only where waiting can help."""
    code, message, status, operation, attempts = _client_error_parts(exc)
    if code == "NoSuchBucket":
        return DeliveryError(
            f"S3 bucket {op.bucket!r} does not exist",
            customer_action=CustomerAction(
                "bucket_missing",
                f"S3 bucket {op.bucket!r} no longer exists: create it again, or tell us which bucket to "
                "deliver to instead.",
            ),
        )
    if op.kms_key and _is_kms_error(code, message):
        return DeliveryError(_kms_message(op, code, message))
    if code in ACCESS_CODES or (status == 403 and code not in CREDENTIAL_CODES):
        return DeliveryError(
            _access_denied_message(op, operation), customer_action=_access_denied_action(op, operation)
        )
    if code in STORAGE_FULL_CODES:
        return DeliveryError(
            f"S3 bucket {op.bucket!r} is full or over its quota ({code}) while writing {op.where}",
            customer_action=CustomerAction(
                "storage_full", f"Free space in S3 bucket {op.bucket!r} or raise its storage quota."
            ),
        )
    if code == "InvalidBucketName":
        return DeliveryError(f"invalid S3 bucket name {op.bucket!r} (rejected by the server)")
    if code in CREDENTIAL_CODES:
        return DeliveryError(
            f"S3 rejected the credentials of {op.settings.identity} ({code}); "
            "check its login, password and aws_session_token"
        )
    if code in REGION_CODES or status == 301:
        region = op.settings.region_name or "the default region"
        return DeliveryError(
            f"S3 bucket {op.bucket!r} is not in {region}; "
            f"set region_name in the extra of {op.settings.identity}"
        )
    if code in ("NoSuchKey", "404") or status == 404:
        return DeliveryError(f"S3 object {op.where} was not found after upload ({operation})", retryable=True)
    if code in RETRYABLE_CODES or status >= 500:
        return DeliveryError(
            f"S3 {operation} for {op.where} still failed after {attempts + 1} attempts: "
            f"{code or 'error'} (HTTP {status})",
            retryable=True,
        )
    detail = _scrub(message.splitlines()[0] if message else "", op.secrets)
    return DeliveryError(f"S3 {operation} for {op.where} failed: {code} (HTTP {status}) {detail}".rstrip())


def translate_error(exc: BaseException, op: _Op) -> DeliveryError:
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
        exc = exc.__context__  # the transfer manager wraps the real S3 error
    if isinstance(exc, ClientError):
        return translate_client_error(exc, op)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return DeliveryError(
            f"no usable AWS credentials for {op.where}: set conn_id to an 'aws' Airflow connection "
            "(or configure the default credential chain)"
        )
    if isinstance(exc, ConnectionError | HTTPClientError):
        endpoint = op.settings.endpoint_url or "the S3 endpoint"
        return DeliveryError(
            _scrub(f"cannot reach {endpoint} for {op.where}: {type(exc).__name__}", op.secrets),
            retryable=True,
        )
    if isinstance(exc, BotoCoreError):
        return DeliveryError(_scrub(f"S3 request for {op.where} failed: {exc}", op.secrets))
    return DeliveryError(_scrub(f"S3 upload of {op.where} failed: {type(exc).__name__}: {exc}", op.secrets))


# --- The transport -----------------------------------------------------------------------


class S3Transport(TransportBase):
    """Writes to ``s3://BUCKET/PREFIX`` and reports S3's own SHA-256 of what it holds."""

    store = "S3"
    features = Features()

    def __init__(
        self,
        url: str,
        *,
        conn_id: str | None = None,
        kms_key: str | None = None,
        expected_bucket_owner: str | None = None,
        acl: str | None = None,
        multipart_threshold: int = DEFAULT_MULTIPART_THRESHOLD,
        part_size: int = DEFAULT_PART_SIZE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
    ) -> None:
        try:
            self.bucket, self.prefix = parse_s3_url(url)
        except InputError as exc:
            raise DeliveryError(str(exc)) from None
        if acl and acl not in ALLOWED_ACLS:
            raise DeliveryError(
                f"S3 ACL {acl!r} is not allowed for exports (use one of {', '.join(ALLOWED_ACLS)})"
            )
        if multipart_threshold < 5 * MIB or part_size < 5 * MIB:
            raise DeliveryError("S3 multipart threshold and part size must be at least 5 MiB")
        if max_attempts < 1:
            raise DeliveryError(f"S3 max_attempts must be at least 1 (got {max_attempts})")
        self.url = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.conn_id = conn_id
        self.kms_key = kms_key
        self.expected_bucket_owner = expected_bucket_owner
        self.acl = acl or None
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._client: Any = None
        self._settings = AwsSettings(conn_id=conn_id)
        self._secrets: tuple[str, ...] = ()

    @classmethod
    def from_subscription(cls, sub: Subscription) -> S3Transport:
        extra = sub.extra or {}
        acl = extra["acl"] if "acl" in extra else (CROSS_ACCOUNT_ACL if sub.expected_bucket_owner else None)
        return cls(
            sub.destination,
            conn_id=sub.conn_id,
            kms_key=sub.kms_key,
            expected_bucket_owner=sub.expected_bucket_owner,
            acl=acl,
            multipart_threshold=_int_option(extra, "multipart_threshold", DEFAULT_MULTIPART_THRESHOLD),
            part_size=_int_option(extra, "multipart_part_size", DEFAULT_PART_SIZE),
            max_attempts=_int_option(extra, "max_attempts", DEFAULT_MAX_ATTEMPTS),
        )

    # -- client ----------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """Built on first use so listing or validating subscriptions never needs credentials."""
        if self._client is None:
            self._client, self._settings, self._secrets = make_client(
                self.conn_id, self.max_attempts, self.connect_timeout, self.read_timeout
            )
        return self._client

    def _key(self, name: str) -> str:
        return join_key(self.prefix, name)

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _op(self, key: str) -> _Op:
        return _Op(
            self.bucket,
            key,
            self._settings,
            self.kms_key,
            self.acl,
            self.expected_bucket_owner,
            self._secrets,
        )

    @contextlib.contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (ClientError, BotoCoreError, Boto3Error) as exc:
            raise translate_error(exc, self._op(key)) from None

    # -- request arguments -----------------------------------------------------------------

    def _write_args(self) -> dict[str, Any]:
        """Options every write shares (data, manifest, probe), so the probe tests the real thing."""
        args: dict[str, Any] = {"ChecksumAlgorithm": "SHA256"}
        if self.kms_key:
            args["ServerSideEncryption"] = "aws:kms"
            args["SSEKMSKeyId"] = self.kms_key
        if self.acl:
            args["ACL"] = self.acl
        args.update(self._owner_args())
        return args

    def _owner_args(self) -> dict[str, Any]:
        return {"ExpectedBucketOwner": self.expected_bucket_owner} if self.expected_bucket_owner else {}

    def _transfer_config(self) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.part_size,
            max_concurrency=UPLOAD_CONCURRENCY,
            preferred_transfer_client="classic",  # the CRT client picks its own part size
        )

    def _head(self, key: str, *, checksums: bool = False) -> dict[str, Any] | None:
        """HeadObject, or None when the object is absent (404, or 403 without s3:ListBucket)."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key, **self._owner_args()}
        if checksums:
            kwargs["ChecksumMode"] = "ENABLED"
        try:
            return self.client.head_object(**kwargs)
        except ClientError as exc:
            code, _, status, _, _ = _client_error_parts(exc)
            if not checksums and (status in (403, 404) or code in ("404", "403", "NoSuchKey")):
                return None
            raise

    # -- transport -------------------------------------------------------------------------

    def checksum(self, size: int) -> S3Checksum:
        multipart = size >= self.multipart_threshold
        part_size = effective_part_size(self.part_size, size) if multipart else self.part_size
        return S3Checksum(multipart, part_size)

    def sweep(self, name: str) -> None:
        """Abort unfinished multipart uploads of this key or its manifest (a killed attempt's)."""
        from botocore.exceptions import ClientError

        key = self._key(name)
        ours = {key, key + MANIFEST_SUFFIX}
        with self._errors(key):
            try:
                listing = self.client.list_multipart_uploads(
                    Bucket=self.bucket, Prefix=key, **self._owner_args()
                )
                for upload in listing.get("Uploads") or []:
                    if upload.get("Key") not in ours:
                        continue
                    self.client.abort_multipart_upload(
                        Bucket=self.bucket,
                        Key=upload["Key"],
                        UploadId=upload["UploadId"],
                        **self._owner_args(),
                    )
                    log.info("aborted an unfinished multipart upload of %s", self._where(upload["Key"]))
            except ClientError as exc:
                code, _, status, _, _ = _client_error_parts(exc)
                if code in ACCESS_CODES or status == 403 or code in ("NotImplemented", "501"):
                    log.warning(
                        "cannot look for unfinished multipart uploads of %s (%s); a killed earlier "
                        "attempt's parts may remain until a lifecycle rule removes them",
                        self._where(key),
                        code or status,
                    )
                    return
                raise

    def find(self, name: str) -> Stored | None:
        key = self._key(name)
        with self._errors(key):
            head = self._head(key)
        if head is None:
            return None
        return Stored(name=name, location=self._where(key), size=int(head.get("ContentLength", 0)), ref=key)

    def delete(self, name: str) -> None:
        """Afterwards no object has this key; without s3:DeleteObject only an absent one passes."""
        from botocore.exceptions import ClientError

        key = self._key(name)
        with self._errors(key):
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key, **self._owner_args())
            except ClientError as exc:
                code, _, status, _, _ = _client_error_parts(exc)
                if not (code in ACCESS_CODES or status == 403) or not self._absent(key):
                    raise

    def _absent(self, key: str) -> bool:
        """True only when S3 says 404: a 403 on HEAD proves nothing."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key, **self._owner_args())
        except ClientError as exc:
            code, _, status, _, _ = _client_error_parts(exc)
            return status == 404 or code in ("404", "NoSuchKey")
        return False

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored:
        key = self._key(payload.name)
        args = self._write_args()
        args["ContentType"] = payload.content_type
        if payload.content_encoding:
            args["ContentEncoding"] = payload.content_encoding
        if payload.size < self.multipart_threshold:
            # S3 itself then refuses bytes that differ from the verified staged ones (BadDigest).
            args["ChecksumSHA256"] = hex_to_b64(payload.sha256)
        with self._errors(key):
            try:
                with payload.open() as stream:
                    self.client.upload_fileobj(
                        stream, self.bucket, key, ExtraArgs=args, Config=self._transfer_config()
                    )
            except OSError as exc:
                raise DeliveryError(
                    f"reading {payload.name} failed while uploading it to {self._where(key)}: "
                    f"{exc.strerror or type(exc).__name__}",
                    retryable=True,
                ) from None
        return Stored(name=payload.name, location=self._where(key), ref=key)

    def stat(self, stored: Stored) -> Stored:
        key = stored.ref
        with self._errors(key):
            head = self._head(key, checksums=True) or {}
        if self.kms_key and head.get("ServerSideEncryption") != "aws:kms":
            raise DeliveryError(
                f"{self._where(key)} is not encrypted with SSE-KMS although kms_key is set "
                f"(S3 reports {head.get('ServerSideEncryption')!r})"
            )
        return Stored(
            name=stored.name,
            location=stored.location,
            size=int(head.get("ContentLength", -1)),
            checksum=head.get("ChecksumSHA256"),
            ref=key,
        )

    def summary(self) -> str:
        options = [f"SSE-KMS key {self.kms_key}"] if self.kms_key else []
        if self.acl:
            options.append(f"ACL {self.acl}")
        if self.expected_bucket_owner:
            options.append(f"expected owner {self.expected_bucket_owner}")
        suffix = f" with {', '.join(options)}" if options else ""
        return f"{self.url} is writable{suffix} (probe object written, verified and deleted)"


def _int_option(extra: dict[str, Any], name: str, default: int) -> int:
    value = extra.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DeliveryError(f"subscription option {name}={value!r} must be a whole number")
    try:
        return int(value)
    except ValueError as exc:
        raise DeliveryError(f"subscription option {name}={value!r} must be a whole number") from exc
