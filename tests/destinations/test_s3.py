"""S3 destination against moto's server over real HTTP (not the in-process mock), so the
endpoint, the Airflow connection, botocore's retries and checksums all run as in production."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flatexport.destinations import deliver, destination_for
from flatexport.destinations.s3 import (
    MIB,
    S3Transport,
    parse_s3_url,
    validate_bucket_name,
)
from flatexport.errors import DeliveryError, InputError
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.destinations.conftest import FaultProxy, Headers
from tests.support.moto_server import boto3_client, set_iam_enforcement

NAME = "clickstream_2024-11-04.csv"
CSV = b"event_id,user_id,event\n1,u1,page_view\n2,u2,click\n"


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def composite_sha256(data: bytes, part_size: int) -> str:
    """S3's composite checksum, computed here independently of the module under test."""
    parts = [data[i : i + part_size] for i in range(0, len(data), part_size)]
    joined = b"".join(hashlib.sha256(p).digest() for p in parts)
    return f"{b64_sha256(joined)}-{len(parts)}"


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def dest(bucket: str, conn_id: str | None, prefix: str = "exports/org_a", **kwargs: Any) -> S3Transport:
    url = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return S3Transport(url, conn_id=conn_id, **kwargs)


# --- deliveries that work -------------------------------------------------------------------


def test_small_upload_lands_with_bytes_content_type_and_verified_checksum(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    staged = make_staged(CSV)
    receipt = deliver(dest(bucket, aws_conn()), staged)

    key = f"exports/org_a/{NAME}"
    assert receipt.location == f"s3://{bucket}/{key}"
    assert receipt.bytes == len(CSV)
    assert receipt.checksum == f"sha256:{hashlib.sha256(CSV).hexdigest()}"
    assert receipt.replaced is False
    obj = s3_admin.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert obj["Body"].read() == CSV
    assert obj["ContentType"] == "text/csv"
    assert "ContentEncoding" not in obj
    assert obj["ChecksumSHA256"] == b64_sha256(CSV)
    assert keys(s3_admin, bucket) == [key]


def test_gzip_file_gets_content_encoding_and_no_prefix_means_bucket_root(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    data = gzip.compress(CSV)
    staged = make_staged(data, name="clickstream_2024-11-04.csv.gz", fmt="csv.gz")
    receipt = deliver(dest(bucket, aws_conn(), prefix=""), staged)

    assert receipt.location == f"s3://{bucket}/clickstream_2024-11-04.csv.gz"
    head = s3_admin.head_object(Bucket=bucket, Key="clickstream_2024-11-04.csv.gz")
    assert head["ContentType"] == "text/csv"
    assert head["ContentEncoding"] == "gzip"


def test_multipart_upload_lands_and_composite_checksum_is_verified(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
) -> None:
    data = os.urandom(12 * MIB + 12345)
    staged = make_staged(data)
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url), multipart_threshold=5 * MIB, part_size=5 * MIB)

    receipt = deliver(target, staged)

    key = f"exports/org_a/{NAME}"
    assert receipt.bytes == len(data)
    assert receipt.checksum == f"sha256:{hashlib.sha256(data).hexdigest()}"
    parts = fault_proxy.requests("PUT", key)
    assert len(parts) == 3 and all("partNumber=" in p.path for p in parts)
    assert all(p.headers.get("x-amz-sdk-checksum-algorithm") == "SHA256" for p in parts)
    obj = s3_admin.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert obj["ChecksumSHA256"] == composite_sha256(data, 5 * MIB)
    assert obj["Body"].read() == data


def test_rerun_replaces_the_same_key(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    target = dest(bucket, aws_conn())
    first = deliver(target, make_staged(CSV))
    rerun_data = CSV + b"3,u3,purchase\n"
    second = deliver(target, make_staged(rerun_data))

    assert first.replaced is False
    assert second.replaced is True
    assert second.location == first.location
    assert keys(s3_admin, bucket) == [f"exports/org_a/{NAME}"]
    body = s3_admin.get_object(Bucket=bucket, Key=f"exports/org_a/{NAME}")["Body"].read()
    assert body == rerun_data


def test_manifest_goes_up_after_the_verified_data_file_and_stale_one_is_removed_first(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    manifest = json.dumps({"file": NAME, "rows": 2}).encode()
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url))
    deliver(target, make_staged(CSV), manifest=manifest)
    fault_proxy.seen.clear()

    deliver(target, make_staged(CSV + b"3,u3,x\n"), manifest=manifest)

    key = f"/{bucket}/exports/org_a/{NAME}"
    order = [(s.method, s.path.split("?")[0]) for s in fault_proxy.seen]
    assert order == [
        ("GET", f"/{bucket}"),  # unfinished multipart uploads a killed attempt left?
        ("HEAD", key),  # did an earlier delivery exist?
        ("DELETE", key + ".manifest.json"),  # yes: its manifest must not vouch for new data
        ("PUT", key),
        ("HEAD", key),  # verify the data file
        ("PUT", key + ".manifest.json"),  # only then: the delivery is complete
        ("HEAD", key + ".manifest.json"),
    ]
    got = s3_admin.get_object(Bucket=bucket, Key=f"exports/org_a/{NAME}.manifest.json")
    assert json.loads(got["Body"].read()) == {"file": NAME, "rows": 2}
    assert got["ContentType"] == "application/json"


def test_sse_kms_key_is_applied_to_data_and_manifest(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    moto_endpoint: str,
    tmp_path: Path,
) -> None:
    key_arn = boto3_client("kms", moto_endpoint).create_key(Description="flatexport test")["KeyMetadata"][
        "Arn"
    ]
    manifest = b"{}"

    deliver(dest(bucket, aws_conn(), kms_key=key_arn), make_staged(CSV), manifest=manifest)

    for key in (f"exports/org_a/{NAME}", f"exports/org_a/{NAME}.manifest.json"):
        head = s3_admin.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == key_arn


def test_cross_account_options_are_sent_on_every_request(
    bucket: str, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], fault_proxy: FaultProxy
) -> None:
    sub = Subscription(
        id=1,
        org_id="org_a",
        report="clickstream",
        destination=f"s3://{bucket}/exports/org_a",
        conn_id=aws_conn(fault_proxy.endpoint_url),
        expected_bucket_owner="123456789012",  # moto's default account
    )
    target = destination_for(sub)
    assert isinstance(target, S3Transport)

    deliver(target, make_staged(CSV))

    assert fault_proxy.seen and all(
        s.headers.get("x-amz-expected-bucket-owner") == "123456789012" for s in fault_proxy.seen
    )
    (put,) = fault_proxy.requests("PUT")
    assert put.headers.get("x-amz-acl") == "bucket-owner-full-control"


def test_default_credential_chain_when_no_conn_id(
    bucket: str,
    s3_admin: Any,
    moto_endpoint: str,
    make_staged: Callable[..., StagedFile],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)

    receipt = deliver(dest(bucket, None), make_staged(CSV))

    assert receipt.location == f"s3://{bucket}/exports/org_a/{NAME}"
    assert keys(s3_admin, bucket) == [f"exports/org_a/{NAME}"]


def test_probe_writes_verifies_and_removes_its_object(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], fault_proxy: FaultProxy
) -> None:
    message = dest(bucket, aws_conn(fault_proxy.endpoint_url)).probe()

    assert message == f"s3://{bucket}/exports/org_a is writable (probe object written, verified and deleted)"
    (put,) = fault_proxy.requests("PUT")
    assert put.path.startswith(f"/{bucket}/exports/org_a/.flatexport-probe-")
    assert [s.method for s in fault_proxy.seen] == ["PUT", "HEAD", "DELETE"]
    assert keys(s3_admin, bucket) == []


# --- failures a person must fix -------------------------------------------------------------


def test_missing_bucket_is_named(
    aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    target = dest("no-such-bucket-here", aws_conn())
    with pytest.raises(DeliveryError) as deliver_err:
        deliver(target, make_staged(CSV))
    with pytest.raises(DeliveryError) as probe_err:
        target.probe()

    for err in (deliver_err.value, probe_err.value):
        assert str(err) == "S3 bucket 'no-such-bucket-here' does not exist"
        assert err.retryable is False


@pytest.fixture
def iam_user(moto_endpoint: str) -> Callable[[list[dict[str, Any]]], dict[str, str]]:
    """An IAM user with the given policy statements and an access key."""

    def make(statements: list[dict[str, Any]]) -> dict[str, str]:
        iam = boto3_client("iam", moto_endpoint)
        name = f"u-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"login": key["AccessKeyId"], "password": key["SecretAccessKey"], "name": name}

    return make


@pytest.fixture
def iam_enforced(moto_endpoint: str) -> Any:
    set_iam_enforcement(moto_endpoint, True)
    try:
        yield
    finally:
        set_iam_enforcement(moto_endpoint, False)


def test_access_denied_names_bucket_and_missing_permission_without_secrets(
    bucket: str,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    iam_user: Callable[..., dict[str, str]],
    moto_endpoint: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    read_only = iam_user(
        [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ]
    )
    conn_id = aws_conn(login=read_only["login"], password=read_only["password"])
    staged = make_staged(CSV)

    set_iam_enforcement(moto_endpoint, True)
    try:
        with pytest.raises(DeliveryError) as err:
            deliver(dest(bucket, conn_id), staged)
    finally:
        set_iam_enforcement(moto_endpoint, False)

    message = str(err.value)
    assert message.startswith(f"access denied to s3://{bucket}/exports/org_a/{NAME} (PutObject)")
    assert f"connection {conn_id!r} lacks s3:PutObject on bucket {bucket!r}" in message
    assert err.value.retryable is False
    for secret in (read_only["password"], read_only["login"]):
        assert secret not in message
        assert secret not in caplog.text


def test_rejected_credentials_are_reported_without_the_secret(
    bucket: str,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    iam_enforced: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cr3t-" + uuid.uuid4().hex
    conn_id = aws_conn(login="AKIAUNKNOWNKEY000000", password=secret)

    with pytest.raises(DeliveryError) as err:
        deliver(dest(bucket, conn_id), make_staged(CSV))

    assert str(err.value).startswith(
        f"S3 rejected the credentials of connection {conn_id!r} (InvalidAccessKeyId)"
    )
    assert secret not in str(err.value) and secret not in caplog.text
    assert "AKIAUNKNOWNKEY000000" not in str(err.value)


def test_role_arn_from_the_connection_is_assumed(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    iam_user: Callable[..., dict[str, str]],
    moto_endpoint: str,
) -> None:
    iam = boto3_client("iam", moto_endpoint)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role_name = f"writer-{uuid.uuid4().hex[:6]}"
    role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    write = {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}/*"]}
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="w",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [write]}),
    )
    only_assume = iam_user([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}])
    conn_id = aws_conn(
        login=only_assume["login"],
        password=only_assume["password"],
        role_arn=role_arn,
        # The provider reaches STS for assume-role only at service_config.sts.endpoint_url.
        service_config={"sts": {"endpoint_url": moto_endpoint}},
    )
    staged = make_staged(CSV)

    set_iam_enforcement(moto_endpoint, True)
    try:
        receipt = deliver(dest(bucket, conn_id), staged)  # the user alone may not write
    finally:
        set_iam_enforcement(moto_endpoint, False)

    assert receipt.location == f"s3://{bucket}/exports/org_a/{NAME}"
    assert keys(s3_admin, bucket) == [f"exports/org_a/{NAME}"]


def inject_on_put(code: str, status: int, times: int | None = None) -> Callable[[str, str], Any]:
    """Answer the first ``times`` PUTs (all when None) with an S3 error instead of moto."""
    left = [times]

    def inject(method: str, path: str) -> tuple[int, str] | None:
        if method != "PUT" or left[0] == 0:
            return None
        if left[0] is not None:
            left[0] -= 1
        return status, code

    return inject


@pytest.mark.parametrize(
    "code", ["KMS.DisabledException", "KMS.NotFoundException", "KMSInvalidStateException"]
)
def test_unusable_kms_key_is_named(
    code: str,
    bucket: str,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
) -> None:
    fault_proxy.inject = inject_on_put(code, 400)
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url), kms_key="alias/customer-exports")

    with pytest.raises(DeliveryError) as err:
        deliver(target, make_staged(CSV))

    assert str(err.value).startswith(
        f"KMS key 'alias/customer-exports' cannot be used for s3://{bucket}/exports/org_a/{NAME}: {code}"
    )
    assert err.value.retryable is False
    assert len(fault_proxy.requests("PUT")) == 1  # not retried


def test_kms_access_denied_is_a_kms_error(
    bucket: str, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], fault_proxy: FaultProxy
) -> None:
    denial = "User: arn:aws:iam::123456789012:user/x is not authorized to perform: kms:GenerateDataKey"
    fault_proxy.inject = lambda method, path: (403, "AccessDenied", denial) if method == "PUT" else None
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url), kms_key="alias/k")

    with pytest.raises(DeliveryError) as err:
        deliver(target, make_staged(CSV))

    assert str(err.value).startswith(f"KMS key 'alias/k' cannot be used for s3://{bucket}/")
    assert "not authorized to perform: kms:GenerateDataKey" in str(err.value)
    assert err.value.retryable is False


def test_invalid_bucket_name_is_refused_before_any_request(aws_conn: Callable[..., str]) -> None:
    with pytest.raises(DeliveryError, match="must not contain two adjacent dots"):
        S3Transport("s3://my..bucket/x", conn_id=aws_conn())


# --- integrity ------------------------------------------------------------------------------


def corrupt_checksum(method: str, path: str, headers: Headers) -> Headers:
    """What a storage fault looks like from outside: S3 reports a different SHA-256."""
    bad = b64_sha256(b"not the file")
    return [
        (name, bad + ("-" + value.split("-")[1] if "-" in value else ""))
        if name.lower() == "x-amz-checksum-sha256" and method == "HEAD"
        else (name, value)
        for name, value in headers
    ]


@pytest.mark.parametrize("size", [len(CSV), 6 * MIB], ids=["single-part", "multipart"])
def test_checksum_mismatch_fails_the_delivery_and_names_both_checksums(
    size: int,
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
    tmp_path: Path,
) -> None:
    data = CSV if size == len(CSV) else os.urandom(size)
    manifest = b"{}"
    fault_proxy.alter = corrupt_checksum
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url), multipart_threshold=5 * MIB, part_size=5 * MIB)

    with pytest.raises(DeliveryError) as err:
        deliver(target, make_staged(data), manifest=manifest)

    expected = b64_sha256(data) if size == len(CSV) else composite_sha256(data, 5 * MIB)
    message = str(err.value)
    assert message.startswith(f"checksum mismatch for s3://{bucket}/exports/org_a/{NAME}: ")
    assert b64_sha256(b"not the file") in message
    assert f"expected {expected}" in message
    assert err.value.retryable is True
    # The bad object stays (documented), but no manifest claims the delivery is complete.
    assert keys(s3_admin, bucket) == [f"exports/org_a/{NAME}"]


def test_missing_checksum_counts_as_unverified(
    bucket: str, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], fault_proxy: FaultProxy
) -> None:
    fault_proxy.alter = lambda method, path, headers: [
        (n, v) for n, v in headers if not n.lower().startswith("x-amz-checksum")
    ]
    with pytest.raises(DeliveryError, match="S3 reports SHA-256 nothing"):
        deliver(dest(bucket, aws_conn(fault_proxy.endpoint_url)), make_staged(CSV))


def test_staged_file_changed_since_staging_is_not_sent(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    staged = make_staged(CSV)
    Path(staged.path).write_bytes(CSV.replace(b"click", b"clack"))

    with pytest.raises(DeliveryError, match="changed since it was staged"):
        deliver(dest(bucket, aws_conn()), staged)
    assert keys(s3_admin, bucket) == []


def test_probe_reports_a_checksum_mismatch_and_cleans_up(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], fault_proxy: FaultProxy
) -> None:
    fault_proxy.alter = corrupt_checksum
    with pytest.raises(DeliveryError, match=r"checksum mismatch for s3://.*/\.flatexport-probe-"):
        dest(bucket, aws_conn(fault_proxy.endpoint_url)).probe()
    assert keys(s3_admin, bucket) == []


# --- retries --------------------------------------------------------------------------------


def test_retry_config_is_standard_with_timeouts(bucket: str, aws_conn: Callable[..., str]) -> None:
    target = dest(bucket, aws_conn(), max_attempts=4, connect_timeout=3, read_timeout=30)
    config = target.client.meta.config

    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.connect_timeout == 3
    assert config.read_timeout == 30


def test_throttling_is_retried_and_then_succeeds(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
) -> None:
    fault_proxy.inject = inject_on_put("SlowDown", 503, times=1)

    receipt = deliver(dest(bucket, aws_conn(fault_proxy.endpoint_url)), make_staged(CSV))

    assert [p.status for p in fault_proxy.requests("PUT")] == [503, 200]
    assert receipt.bytes == len(CSV)
    assert s3_admin.get_object(Bucket=bucket, Key=f"exports/org_a/{NAME}")["Body"].read() == CSV


def test_persistent_5xx_is_a_retryable_delivery_error(
    bucket: str, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], fault_proxy: FaultProxy
) -> None:
    fault_proxy.inject = inject_on_put("InternalError", 500)

    with pytest.raises(DeliveryError) as err:
        deliver(dest(bucket, aws_conn(fault_proxy.endpoint_url), max_attempts=2), make_staged(CSV))

    assert err.value.retryable is True
    assert str(err.value) == (
        f"S3 PutObject for s3://{bucket}/exports/org_a/{NAME} still failed after 2 attempts: "
        "InternalError (HTTP 500)"
    )
    assert len(fault_proxy.requests("PUT")) == 2


def test_access_denied_is_not_retried(
    bucket: str, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], fault_proxy: FaultProxy
) -> None:
    fault_proxy.inject = inject_on_put("AccessDenied", 403)

    with pytest.raises(DeliveryError, match="lacks s3:PutObject") as err:
        deliver(dest(bucket, aws_conn(fault_proxy.endpoint_url)), make_staged(CSV))

    assert err.value.retryable is False
    assert len(fault_proxy.requests("PUT")) == 1


def test_unreachable_endpoint_is_retryable(
    aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = dest("some-bucket", aws_conn(f"http://127.0.0.1:{port}"), max_attempts=1, connect_timeout=2)

    with pytest.raises(
        DeliveryError, match=r"cannot reach http://127\.0\.0\.1:\d+ for s3://some-bucket/"
    ) as err:
        deliver(target, make_staged(CSV))
    assert err.value.retryable is True


# --- subscription options -------------------------------------------------------------------


def sub(**kwargs: Any) -> Subscription:
    return Subscription(id=1, org_id="org_a", report="clickstream", destination="s3://bkt/p", **kwargs)


def test_acl_defaults_to_bucket_owner_full_control_only_for_cross_account() -> None:
    assert S3Transport.from_subscription(sub()).acl is None
    assert S3Transport.from_subscription(sub(expected_bucket_owner="111122223333")).acl == (
        "bucket-owner-full-control"
    )
    assert (
        S3Transport.from_subscription(sub(expected_bucket_owner="111122223333", extra={"acl": None})).acl
        is None
    )
    assert S3Transport.from_subscription(sub(extra={"acl": "bucket-owner-read"})).acl == "bucket-owner-read"


def test_bad_subscription_options_are_refused() -> None:
    with pytest.raises(DeliveryError, match="ACL 'public-read' is not allowed"):
        S3Transport.from_subscription(sub(extra={"acl": "public-read"}))
    with pytest.raises(DeliveryError, match="at least 5 MiB"):
        S3Transport.from_subscription(sub(extra={"multipart_threshold": 1024}))
    with pytest.raises(DeliveryError, match="max_attempts must be at least 1"):
        S3Transport.from_subscription(sub(extra={"max_attempts": 0}))
    with pytest.raises(DeliveryError, match="must be a whole number"):
        S3Transport.from_subscription(sub(extra={"max_attempts": "lots"}))
    assert S3Transport.from_subscription(
        sub(extra={"multipart_threshold": str(8 * MIB)})
    ).multipart_threshold == (8 * MIB)


def test_connection_of_the_wrong_type_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_S3_WRONG_TYPE", json.dumps({"conn_type": "postgres", "login": "x"}))
    target = S3Transport("s3://bkt/p", conn_id="s3_wrong_type")
    with pytest.raises(DeliveryError, match="has type 'postgres'; an S3 destination needs 'aws'"):
        _ = target.client


# --- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/exports/org_a/", ("bucket", "exports/org_a")),
        ("S3://bucket/a/b", ("bucket", "a/b")),
    ],
)
def test_parse_s3_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("gs://bucket/x", "not an S3 URL"),
        ("s3:///x", "has no bucket"),
        ("s3://key:secret@bucket/x", "no credentials"),
        ("s3://bucket/a//b", "empty folder"),
        ("s3://Bucket/x", "only lowercase letters"),
    ],
)
def test_parse_s3_url_rejects(url: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_s3_url(url)


@pytest.mark.parametrize("name", ["abc", "my-bucket.example", "a" * 63, "0bucket9", "xn-bucket"])
def test_valid_bucket_names(name: str) -> None:
    validate_bucket_name(name)


@pytest.mark.parametrize(
    "name, rule",
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("My-Bucket", "only lowercase letters, digits, dots and hyphens"),
        ("my_bucket", r"only lowercase letters.*found '_'"),
        ("-bucket", "start and end with a letter or digit"),
        ("bucket.", "start and end with a letter or digit"),
        ("my..bucket", "two adjacent dots"),
        ("192.168.5.4", "IP address"),
        ("xn--bucket", "must not start with 'xn--'"),
        ("bucket-s3alias", "must not end with '-s3alias'"),
        ("bucket--ol-s3", "must not end with '--ol-s3'"),
    ],
)
def test_invalid_bucket_names_name_the_rule(name: str, rule: str) -> None:
    with pytest.raises(InputError, match=rule):
        validate_bucket_name(name)


# --- leftovers, stale manifests and secrets (issue 9) ----------------------------------------


def test_a_failed_multipart_upload_is_aborted(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    fault_proxy: FaultProxy,
) -> None:
    def refuse_second_part(method: str, path: str) -> tuple[int, str] | None:
        return (403, "AccessDenied") if method == "PUT" and "partNumber=2" in path else None

    fault_proxy.inject = refuse_second_part
    target = dest(bucket, aws_conn(fault_proxy.endpoint_url), multipart_threshold=5 * MIB, part_size=5 * MIB)

    with pytest.raises(DeliveryError, match=r"access denied .* \(UploadPart\)"):
        deliver(target, make_staged(os.urandom(11 * MIB)))

    assert s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert fault_proxy.requests("DELETE", NAME)  # AbortMultipartUpload
    assert keys(s3_admin, bucket) == []


def test_unfinished_uploads_of_other_keys_are_left_alone(
    bucket: str, s3_admin: Any, aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile]
) -> None:
    ours = s3_admin.create_multipart_upload(Bucket=bucket, Key=f"exports/org_a/{NAME}")["UploadId"]
    theirs = s3_admin.create_multipart_upload(Bucket=bucket, Key=f"exports/org_a/{NAME}.bak")["UploadId"]

    deliver(dest(bucket, aws_conn()), make_staged(CSV))

    left = s3_admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    assert [(u["Key"], u["UploadId"]) for u in left] == [(f"exports/org_a/{NAME}.bak", theirs)]
    assert ours not in {u["UploadId"] for u in left}


def test_a_stale_manifest_that_cannot_be_removed_stops_the_delivery_before_the_data(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    iam_user: Callable[..., dict[str, str]],
    moto_endpoint: str,
) -> None:
    """Without s3:DeleteObject a first delivery works, but replacing one would leave the old
    manifest beside new data if the delivery failed half-way: it is refused up front."""
    writer = iam_user(
        [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/*"],
            }
        ]
    )
    conn_id = aws_conn(login=writer["login"], password=writer["password"])
    first, second = make_staged(CSV), make_staged(CSV + b"3,u3,x\n")

    set_iam_enforcement(moto_endpoint, True)
    try:
        deliver(dest(bucket, conn_id), first, manifest=b'{"n": 1}')  # nothing stale yet: fine
        with pytest.raises(DeliveryError) as err:
            deliver(dest(bucket, conn_id), second, manifest=b'{"n": 2}')
    finally:
        set_iam_enforcement(moto_endpoint, False)

    assert str(err.value).startswith(f"access denied to s3://{bucket}/exports/org_a/{NAME}.manifest.json")
    assert "lacks s3:DeleteObject" in str(err.value)
    key = f"exports/org_a/{NAME}"
    assert s3_admin.get_object(Bucket=bucket, Key=key)["Body"].read() == CSV  # untouched
    assert s3_admin.get_object(Bucket=bucket, Key=key + ".manifest.json")["Body"].read() == b'{"n": 1}'


def test_keys_in_the_connection_extra_work_as_for_the_provider(
    bucket: str,
    s3_admin: Any,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    iam_user: Callable[..., dict[str, str]],
    moto_endpoint: str,
) -> None:
    user = iam_user([{"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}/*"]}])
    conn_id = aws_conn(
        login="", password="", aws_access_key_id=user["login"], aws_secret_access_key=user["password"]
    )
    set_iam_enforcement(moto_endpoint, True)
    try:
        receipt = deliver(dest(bucket, conn_id), make_staged(CSV))
    finally:
        set_iam_enforcement(moto_endpoint, False)
    assert receipt.location == f"s3://{bucket}/exports/org_a/{NAME}"


def test_endpoint_url_credentials_are_masked_in_errors_and_logs(
    aws_conn: Callable[..., str], make_staged: Callable[..., StagedFile], caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import socket

    from airflow.sdk.log import redact

    caplog.set_level(logging.DEBUG)
    secret = "pw-" + uuid.uuid4().hex
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = dest("some-bucket", aws_conn(f"http://minio:{secret}@127.0.0.1:{port}"), max_attempts=1)

    with pytest.raises(DeliveryError) as err:
        deliver(target, make_staged(CSV))

    assert str(err.value).startswith(f"cannot reach http://minio:***@127.0.0.1:{port} for s3://some-bucket/")
    assert secret not in str(err.value)
    assert secret not in redact(f"anything Airflow logs about http://minio:{secret}@127.0.0.1")
    # botocore's own DEBUG records carry the raw endpoint (Airflow's masker, told above,
    # redacts them in task logs); no record of ours or of the provider may.
    leaking = {r.name for r in caplog.records if secret in r.getMessage()}
    assert all(name.startswith(("botocore", "urllib3")) for name in leaking), leaking


def test_a_delivery_through_an_endpoint_with_credentials_keeps_them_out_of_the_receipt(
    bucket: str,
    s3_admin: Any,
    moto_endpoint: str,
    aws_conn: Callable[..., str],
    make_staged: Callable[..., StagedFile],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging
    from dataclasses import asdict

    caplog.set_level(logging.INFO)
    secret = "pw-" + uuid.uuid4().hex
    endpoint = moto_endpoint.replace("http://", f"http://minio:{secret}@")
    target = dest(bucket, aws_conn(endpoint))

    receipt = deliver(target, make_staged(CSV), manifest=b"{}")

    assert secret not in json.dumps(asdict(receipt))
    assert secret not in target.summary()
    assert secret not in caplog.text
    assert keys(s3_admin, bucket) == [f"exports/org_a/{NAME}", f"exports/org_a/{NAME}.manifest.json"]
