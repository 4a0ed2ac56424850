"""Amazon S3 (and S3-compatible: MinIO, moto) destination.

Delivery, in order, so a consumer polling the bucket never mistakes a half-finished run
for a finished one:

1. hash the staged file once (full SHA-256 + the per-part digests multipart will need) and
   refuse to send it if it no longer matches the staged record;
2. ``HeadObject`` the key to learn whether this run replaces an earlier delivery, and if so
   delete the earlier ``<key>.manifest.json`` (best effort: it needs ``s3:DeleteObject``) so
   the old manifest never vouches for new, not-yet-verified data;
3. upload ``PREFIX/<staged.name>`` (one key per report and day, so a re-run overwrites it),
   single ``PutObject`` below the multipart threshold, multipart above it, always with
   ``ChecksumAlgorithm=SHA256``;
4. ``HeadObject(ChecksumMode=ENABLED)`` and compare size and SHA-256 (composite
   ``b64(sha256(part digests))-N`` for multipart, computed locally with the part size the
   transfer manager used);
5. only then upload the manifest; its presence means the delivery is complete.

Decisions worth knowing:

* Credentials come only from the Airflow Connection ``sub.conn_id`` (type ``aws``: login =
  access key id, password = secret key; extra: ``region_name``, ``endpoint_url``,
  ``aws_session_token``, ``role_arn`` [+ ``external_id``], ``addressing_style``). With no
  ``conn_id`` boto3's default chain is used (env, profile, instance role). ``role_arn`` is
  assumed once per destination with STS, without refresh: a delivery is far shorter than the
  one-hour session. With an ``endpoint_url`` path-style addressing is the default (MinIO).
* ACL: ``sub.extra["acl"]`` wins when present (``None``/``""`` = send no ACL). Otherwise
  ``bucket-owner-full-control`` is sent exactly when ``expected_bucket_owner`` is set, i.e.
  when the subscription says the bucket belongs to someone else; that is the cross-account
  case where, without it, the customer could not read objects we wrote to a bucket that still
  uses ACLs. Only the owner-facing canned ACLs are accepted (never public ones). Sending an
  ACL needs ``s3:PutObjectAcl`` as well as ``s3:PutObject``.
* SSE-KMS: ``sub.kms_key`` -> ``ServerSideEncryption=aws:kms`` + ``SSEKMSKeyId`` on the data
  file, the manifest and the probe. Multipart uploads need ``kms:GenerateDataKey`` and
  ``kms:Decrypt`` on the key.
* Retries: botocore ``standard`` mode set explicitly (the default is ``legacy``); it retries
  only throttling, 5xx and transient network errors. What still fails after that raises
  ``DeliveryError(retryable=True)``; everything a person must fix is ``retryable=False``.
* A checksum or size mismatch leaves the bad object in place and fails the delivery
  (``retryable=True``: a re-run overwrites the same key). Deleting it would need
  ``s3:DeleteObject``, which delivery identities often lack, and gains nothing: the earlier
  copy is already overwritten, and no manifest is written, so manifest-driven consumers
  never pick it up.
* Bucket names follow today's rules (``validate_bucket_name``); legacy us-east-1 names with
  capitals or underscores are rejected.
* A server that reports no SHA-256 for the object fails verification: a delivery we could
  not verify is not reported as delivered.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import ipaddress
import logging
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flatexport.destinations.base import Receipt
from flatexport.errors import DeliveryError, InputError
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MULTIPART_THRESHOLD = 64 * MIB
DEFAULT_PART_SIZE = 16 * MIB
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 120.0
MANIFEST_SUFFIX = ".manifest.json"
PROBE_PREFIX = ".flatexport-probe-"
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

# The IAM permission each S3 operation needs, so "access denied" can name it.
PERMISSION_FOR = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "HeadObject": "s3:GetObject",
    "GetObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
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


@dataclass(frozen=True)
class FileDigest:
    """One read of the file gives both what we compare with the staged record and what S3
    will report, so a large file is read once before upload rather than twice."""

    sha256_hex: str
    part_digests: tuple[bytes, ...]
    size: int

    def s3_checksum(self, multipart: bool) -> str:
        if not multipart:
            return hex_to_b64(self.sha256_hex)
        return composite_checksum(self.part_digests)


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


def digest_file(path: str | Path, part_size: int, block: int = MIB) -> FileDigest:
    """Hash the file whole and per ``part_size`` part, reading small blocks (parts can be GiBs)."""
    full = hashlib.sha256()
    parts: list[bytes] = []
    part = hashlib.sha256()
    in_part = 0
    size = 0
    with open(path, "rb") as fh:
        while True:
            data = fh.read(min(block, part_size - in_part))
            if not data:
                break
            full.update(data)
            part.update(data)
            in_part += len(data)
            size += len(data)
            if in_part == part_size:
                parts.append(part.digest())
                part, in_part = hashlib.sha256(), 0
    if in_part or not parts:
        parts.append(part.digest())
    return FileDigest(full.hexdigest(), tuple(parts), size)


def effective_part_size(part_size: int, file_size: int) -> int:
    """The part size s3transfer will really use (it grows parts to stay under 10,000)."""
    from s3transfer.utils import ChunksizeAdjuster

    return ChunksizeAdjuster().adjust_chunksize(part_size, file_size)


# --- Credentials and client --------------------------------------------------------------


@dataclass(frozen=True)
class AwsSettings:
    """What the connection says besides the keys; safe to log (holds no secret)."""

    conn_id: str | None
    region_name: str | None = None
    endpoint_url: str | None = None
    addressing_style: str | None = None
    role_arn: str | None = None
    external_id: str | None = None

    @property
    def identity(self) -> str:
        if self.conn_id is None:
            return "the default AWS credential chain"
        return f"connection {self.conn_id!r}"


@dataclass
class Credentials:
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.secret_access_key, self.session_token, self.access_key_id) if s)


def _service_option(extra: dict[str, Any], service: str, name: str) -> Any:
    """Per-service override as the Amazon provider writes it: ``service_config.<svc>.<name>``."""
    service_config = extra.get("service_config") or {}
    return (service_config.get(service) or {}).get(name) or extra.get(name)


def settings_from_connection(conn_id: str | None) -> tuple[AwsSettings, Credentials]:
    """Read the Airflow Connection once; the only place this module touches credentials."""
    if conn_id is None:
        return AwsSettings(conn_id=None), Credentials()
    from flatexport.connections import get_connection

    conn = get_connection(conn_id)
    conn_type = (conn.conn_type or "").lower()
    if conn_type not in ("aws", ""):
        raise DeliveryError(
            f"Airflow connection {conn_id!r} has type {conn_type!r}; an S3 destination needs 'aws'"
        )
    extra: dict[str, Any] = dict(conn.extra_dejson or {})
    if bool(conn.login) != bool(conn.password):
        raise DeliveryError(
            f"Airflow connection {conn_id!r} must set both login (access key id) and password "
            "(secret access key), or neither to use the default credential chain"
        )
    assume = extra.get("assume_role_kwargs") or {}
    settings = AwsSettings(
        conn_id=conn_id,
        region_name=extra.get("region_name") or extra.get("region"),
        endpoint_url=_service_option(extra, "s3", "endpoint_url"),
        addressing_style=_service_option(extra, "s3", "addressing_style"),
        role_arn=extra.get("role_arn"),
        external_id=extra.get("external_id") or assume.get("ExternalId"),
    )
    creds = Credentials(conn.login or None, conn.password or None, extra.get("aws_session_token"))
    return settings, creds


def client_config(
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    addressing_style: str | None = None,
) -> Any:
    """botocore Config with *standard* retries: only throttling, 5xx and network blips retry.

    ``max_attempts`` counts every attempt, the first included (as in ~/.aws/config);
    botocore's ``retries.max_attempts`` counts only the retries, hence the ``- 1``.
    """
    from botocore.config import Config

    if max_attempts < 1:
        raise DeliveryError(f"S3 max_attempts must be at least 1 (got {max_attempts})")
    s3_options = {"addressing_style": addressing_style} if addressing_style else None
    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts - 1},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        s3=s3_options,
    )


def make_session(settings: AwsSettings, creds: Credentials, config: Any) -> Any:
    """A boto3 Session for the connection, after assuming ``role_arn`` when one is set."""
    import boto3

    session = boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name=settings.region_name,
    )
    if not settings.role_arn:
        return session
    return _assume_role(session, settings, creds, config)


def _assume_role(session: Any, settings: AwsSettings, creds: Credentials, config: Any) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    sts = session.client("sts", endpoint_url=settings.endpoint_url, config=config)
    kwargs: dict[str, Any] = {"RoleArn": settings.role_arn, "RoleSessionName": "flatexport-delivery"}
    if settings.external_id:
        kwargs["ExternalId"] = settings.external_id
    try:
        assumed = sts.assume_role(**kwargs)["Credentials"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise DeliveryError(
            f"cannot assume role {settings.role_arn} with {settings.identity}: {code}"
        ) from exc
    except BotoCoreError as exc:
        raise DeliveryError(
            _scrub(f"cannot assume role {settings.role_arn}: {exc}", creds.secrets()), retryable=True
        ) from exc
    creds.access_key_id = assumed["AccessKeyId"]
    creds.secret_access_key = assumed["SecretAccessKey"]
    creds.session_token = assumed["SessionToken"]
    return boto3.Session(
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        region_name=settings.region_name,
    )


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


def _access_denied_message(op: _Op, operation: str) -> str:
    needed = PERMISSION_FOR.get(operation, "s3:PutObject")
    if needed == "s3:PutObject" and op.acl:
        needed = "s3:PutObject and s3:PutObjectAcl"
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
        return DeliveryError(f"S3 bucket {op.bucket!r} does not exist")
    if op.kms_key and _is_kms_error(code, message):
        return DeliveryError(_kms_message(op, code, message))
    if code in ACCESS_CODES or (status == 403 and code not in CREDENTIAL_CODES):
        return DeliveryError(_access_denied_message(op, operation))
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


# --- The destination ---------------------------------------------------------------------


class S3Destination:
    """Deliver staged files to ``s3://BUCKET/PREFIX`` with verified SHA-256 checksums."""

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
            raise DeliveryError(str(exc)) from exc
        if acl and acl not in ALLOWED_ACLS:
            raise DeliveryError(
                f"S3 ACL {acl!r} is not allowed for exports (use one of {', '.join(ALLOWED_ACLS)})"
            )
        if multipart_threshold < 5 * MIB or part_size < 5 * MIB:
            raise DeliveryError("S3 multipart threshold and part size must be at least 5 MiB")
        if max_attempts < 1:
            raise DeliveryError(f"S3 max_attempts must be at least 1 (got {max_attempts})")
        self.url = url
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
        self._settings: AwsSettings = AwsSettings(conn_id=conn_id)
        self._secrets: tuple[str, ...] = ()

    @classmethod
    def from_subscription(cls, sub: Subscription) -> S3Destination:
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
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        settings, creds = settings_from_connection(self.conn_id)
        self._settings = settings
        addressing = settings.addressing_style or ("path" if settings.endpoint_url else None)
        config = client_config(self.max_attempts, self.connect_timeout, self.read_timeout, addressing)
        base_secrets = creds.secrets()
        session = make_session(settings, creds, config)  # may swap in assumed-role keys
        self._secrets = tuple(dict.fromkeys(base_secrets + creds.secrets()))
        return session.client("s3", endpoint_url=settings.endpoint_url, config=config)

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
            preferred_transfer_client="classic",  # the CRT client picks its own part size
        )

    # -- S3 calls --------------------------------------------------------------------------

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

    def _delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key, **self._owner_args())

    def _put_small(self, key: str, body: bytes, content_type: str) -> None:
        args = self._write_args()
        args["ChecksumSHA256"] = hex_to_b64(hashlib.sha256(body).hexdigest())
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **args)

    def _upload_file(self, staged: StagedFile, key: str, digest: FileDigest, multipart: bool) -> None:
        args = self._write_args()
        args["ContentType"] = staged.content_type
        if staged.content_encoding:
            args["ContentEncoding"] = staged.content_encoding
        if not multipart:
            # S3 itself then rejects bytes that differ from the staged record (BadDigest).
            args["ChecksumSHA256"] = hex_to_b64(digest.sha256_hex)
        self.client.upload_file(
            str(staged.path), self.bucket, key, ExtraArgs=args, Config=self._transfer_config()
        )

    # -- verification ----------------------------------------------------------------------

    def _verify(self, key: str, size: int, expected: str) -> dict[str, Any]:
        head = self._head(key, checksums=True) or {}
        where = f"s3://{self.bucket}/{key}"
        got_size = int(head.get("ContentLength", -1))
        if got_size != size:
            raise DeliveryError(
                f"size mismatch for {where}: S3 reports {got_size} bytes, the staged file has {size} "
                "(the object was left in place; the delivery failed)",
                retryable=True,
            )
        got = head.get("ChecksumSHA256")
        if not same_checksum(got, expected):
            raise DeliveryError(
                f"checksum mismatch for {where}: S3 reports SHA-256 {got or 'nothing'}, expected {expected} "
                "(the object was left in place; the delivery failed)",
                retryable=True,
            )
        if self.kms_key and head.get("ServerSideEncryption") != "aws:kms":
            raise DeliveryError(
                f"{where} is not encrypted with SSE-KMS although kms_key is set "
                f"(S3 reports {head.get('ServerSideEncryption')!r})"
            )
        return head

    def _check_staged(self, staged: StagedFile, digest: FileDigest) -> None:
        if digest.sha256_hex != staged.sha256 or digest.size != staged.bytes:
            raise DeliveryError(
                f"staged file {staged.path} changed since it was staged: sha256 {digest.sha256_hex} "
                f"({digest.size} bytes) != recorded {staged.sha256} ({staged.bytes} bytes); re-run the export"
            )

    def _drop_stale_manifest(self, manifest_key: str) -> None:
        """Best effort: the old manifest must not vouch for data this run is replacing."""
        from botocore.exceptions import ClientError

        try:
            self._delete(manifest_key)
        except ClientError as exc:
            code = _client_error_parts(exc)[0]
            log.warning(
                "could not delete stale manifest s3://%s/%s before re-delivery (%s); "
                "it stays until the new manifest overwrites it",
                self.bucket,
                manifest_key,
                code,
            )

    # -- Destination protocol --------------------------------------------------------------

    def deliver(self, staged: StagedFile, manifest: Path | None = None) -> Receipt:
        key = join_key(self.prefix, staged.name)
        manifest_key = key + MANIFEST_SUFFIX
        try:
            size = Path(staged.path).stat().st_size
        except OSError as exc:
            raise DeliveryError(
                f"cannot read staged file {staged.path}: {exc.strerror}; re-run the export"
            ) from exc
        multipart = size >= self.multipart_threshold
        digest = digest_file(staged.path, effective_part_size(self.part_size, size))
        self._check_staged(staged, digest)
        expected = digest.s3_checksum(multipart)
        with self._errors(key):
            replaced = self._head(key) is not None
            if replaced:
                self._drop_stale_manifest(manifest_key)
            self._upload_file(staged, key, digest, multipart)
            head = self._verify(key, size, expected)
        if manifest is not None:
            self._deliver_manifest(Path(manifest), manifest_key)
        log.info(
            "delivered %s to s3://%s/%s (%d bytes, sha256 %s, %s%s)",
            staged.name,
            self.bucket,
            key,
            size,
            staged.sha256,
            f"multipart {len(digest.part_digests)} parts" if multipart else "single part",
            ", replaced" if replaced else "",
        )
        return Receipt(
            location=f"s3://{self.bucket}/{key}",
            bytes=int(head["ContentLength"]),
            checksum=f"sha256:{digest.sha256_hex}",
            replaced=replaced,
        )

    def _deliver_manifest(self, manifest: Path, manifest_key: str) -> None:
        try:
            body = manifest.read_bytes()
        except OSError as exc:
            raise DeliveryError(f"cannot read manifest {manifest}: {exc.strerror}") from exc
        with self._errors(manifest_key):
            self._put_small(manifest_key, body, "application/json")
            self._verify(manifest_key, len(body), hex_to_b64(hashlib.sha256(body).hexdigest()))

    def probe(self) -> str:
        key = join_key(self.prefix, f"{PROBE_PREFIX}{secrets.token_hex(8)}")
        body = b"flatexport probe: this object is deleted right after it is written\n"
        with self._errors(key):
            self._put_small(key, body, "text/plain")
        try:
            with self._errors(key):
                self._verify(key, len(body), hex_to_b64(hashlib.sha256(body).hexdigest()))
        except DeliveryError:
            self._delete_quietly(key)
            raise
        with self._errors(key):
            self._delete(key)
        return self._probe_summary()

    def _delete_quietly(self, key: str) -> None:
        """Tidy up after a failed probe without hiding the failure that matters."""
        with contextlib.suppress(Exception):
            self._delete(key)

    def _probe_summary(self) -> str:
        options = [f"SSE-KMS key {self.kms_key}"] if self.kms_key else []
        if self.acl:
            options.append(f"ACL {self.acl}")
        if self.expected_bucket_owner:
            options.append(f"expected owner {self.expected_bucket_owner}")
        suffix = f" with {', '.join(options)}" if options else ""
        where = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        return f"{where} is writable{suffix} (probe object written, verified and deleted)"


def _int_option(extra: dict[str, Any], name: str, default: int) -> int:
    value = extra.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise DeliveryError(f"subscription option {name}={value!r} must be a whole number")
    try:
        return int(value)
    except ValueError as exc:
        raise DeliveryError(f"subscription option {name}={value!r} must be a whole number") from exc
