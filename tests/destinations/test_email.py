"""The e-mail destination beyond the shared contract: what the admin receives.

A real SMTP server (aiosmtpd) receives every mail; the link form uploads to moto's S3
server over HTTP and the test downloads the link with a plain HTTP client. What the
tests compare is what a person has: the attachment gunzipped, the file behind the link.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import logging
import ssl
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from flatexport.control.operations import add_subscription
from flatexport.control.store import ControlStore
from flatexport.destinations import deliver, destination_for
from flatexport.errors import DeliveryError, FlatexportError
from flatexport.manifest import manifest_bytes
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription
from tests.destinations.conftest import ORG_A_ADMIN, ORG_A_VOLUNTEER, ORG_B_ADMIN
from tests.support.moto_server import aws_connection_json
from tests.support.smtp_server import Mailbox, free_port, smtp_connection_json, start_smtp_server

CUTOFF = "2024-11-05T09:30:15+00:00"
SECRET_CELL = "=HYPERLINK(secret-row-value)"
FILE = "messages_action-501_2024-11-05.csv"


def csv_rows(count: int = 3) -> bytes:
    head = b"message_id,body\n"
    return head + b"".join(f'{i},"{SECRET_CELL} {i}"\n'.encode() for i in range(count))


@pytest.fixture
def staged(tmp_path: Path):
    def make(data: bytes, name: str = FILE) -> StagedFile:
        path = tmp_path / name
        path.write_bytes(data)
        return StagedFile(
            path=str(path),
            name=name,
            report="messages",
            org_id="org_a",
            ds="2024-11-05",
            format="csv",
            rows=data.count(b"\n") - 1,
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
            window_start="",  # a cutoff: everything created before window_end
            window_end=CUTOFF,
            subscription_id=7,
        )

    return make


@pytest.fixture
def mail_sub(smtp_conn, admin_source):
    def make(address: str = ORG_A_ADMIN, conn_id: str | None = None, **kwargs: Any) -> Subscription:
        return Subscription(
            id=7,
            org_id="org_a",
            report="messages",
            destination=f"mailto:{address}",
            conn_id=conn_id or smtp_conn(),
            scope={"action_id": 501},
            **kwargs,
        )

    return make


def send(sub: Subscription, staged: StagedFile):
    return deliver(destination_for(sub), staged, manifest_bytes(staged))


# --- the attachment form -----------------------------------------------------------------


def test_the_admin_receives_the_gzipped_file_which_decompresses_to_the_staged_bytes(
    mailbox: Mailbox, mail_sub, staged
) -> None:
    data = csv_rows()
    file = staged(data)
    receipt = send(mail_sub(ORG_A_ADMIN.title()), file)  # any case, as typed

    (mail,) = mailbox.messages
    attachments = mail.attachments()
    assert sorted(attachments) == [FILE + ".gz", FILE + ".manifest.json"]
    part = next(p for p in mail.message.iter_attachments() if p.get_filename() == FILE + ".gz")
    assert part.get_content_type() == "application/gzip"
    assert gzip.decompress(attachments[FILE + ".gz"]) == data
    manifest = json.loads(attachments[FILE + ".manifest.json"])
    assert manifest["sha256"] == file.sha256 == receipt.checksum.removeprefix("sha256:")
    assert receipt.verified == f"sha256:{file.sha256}"
    assert receipt.location == f"mailto:{ORG_A_ADMIN.title()}#{FILE}.gz"

    # To is the address as the source stores it (trimmed); nobody else receives it.
    assert mail.rcpt_tos == [ORG_A_ADMIN.upper()]
    assert mail.message["To"] == ORG_A_ADMIN.upper()
    assert mail.message["Cc"] is None and mail.message["Bcc"] is None
    assert mail.mail_from == "exports@flatexport.example"


def test_subject_and_body_name_report_org_scope_and_window_and_no_row_values(
    mailbox: Mailbox, mail_sub, staged
) -> None:
    data = csv_rows(5)
    send(mail_sub(), staged(data))

    mail = mailbox.latest
    assert mail is not None
    assert mail.subject == "[flatexport] messages for org org_a, action 501, as of 2024-11-05 09:30:15 UTC"
    gz_sha = hashlib.sha256(mail.attachments()[FILE + ".gz"]).hexdigest()
    body = mail.body
    for expected in (
        "Messages",  # the report's title
        "Org: org_a",
        "Scope: action 501",
        f"rows created before {CUTOFF}",
        "Rows: 5",
        f"File: {FILE}.gz",
        f"SHA-256: {gz_sha}",
        "attached",
    ):
        assert expected in body
    assert "secret-row-value" not in body and "secret-row-value" not in mail.subject


def test_the_same_file_gives_the_same_attachment_bytes(mailbox: Mailbox, mail_sub, staged) -> None:
    sub = mail_sub()
    send(sub, staged(csv_rows(50)))
    send(sub, staged(csv_rows(50)))
    first, second = (m.attachments()[FILE + ".gz"] for m in mailbox.messages)
    assert first == second


def test_a_file_staged_gzipped_is_attached_as_it_is(mailbox: Mailbox, mail_sub, staged) -> None:
    data = gzip.compress(csv_rows(), mtime=0)
    send(mail_sub(), staged(data, name=FILE + ".gz"))
    assert mailbox.latest is not None
    assert mailbox.latest.attachments()[FILE + ".gz"] == data


# --- the link form -------------------------------------------------------------------------


@pytest.fixture
def links(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, bucket: str) -> dict[str, str]:
    """Files over the limit go to ``bucket`` under ``mail-links`` (connection extra)."""
    conn_id = "flatexport_email_links_test"
    value = aws_connection_json(moto_endpoint, bucket=bucket, prefix="mail-links")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
    monkeypatch.setenv("FLATEXPORT_EMAIL_LINKS_CONN_ID", conn_id)
    monkeypatch.setenv("FLATEXPORT_EMAIL_ATTACH_LIMIT_BYTES", "2000")
    return {"bucket": bucket, "conn_id": conn_id}


def test_a_file_over_the_limit_is_linked_and_the_link_downloads_the_same_bytes(
    mailbox: Mailbox, mail_sub, staged, links, s3_admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    data = csv_rows(20_000)  # gzipped, still well over 2000 bytes
    caplog.set_level(logging.DEBUG)
    receipt = send(mail_sub(extra={"request_id": "req-42"}), staged(data))

    mail = mailbox.latest
    assert mail is not None
    assert sorted(mail.attachments()) == [FILE + ".manifest.json"]  # no data attached
    link = next(line for line in mail.body.splitlines() if line.startswith("http"))
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == ["604800"]  # 7 days
    key = f"mail-links/org_a/req-42/{FILE}.gz"
    assert urlsplit(link).path.endswith(key)
    with urllib.request.urlopen(link, timeout=30) as response:  # noqa: S310 - moto on loopback
        downloaded = response.read()
    assert gzip.decompress(downloaded) == data
    assert f"SHA-256: {hashlib.sha256(downloaded).hexdigest()}" in mail.body
    assert s3_admin.head_object(Bucket=links["bucket"], Key=key)["ContentLength"] == len(downloaded)
    assert "valid until" in mail.body

    # The link lives in the mail only: not in the receipt, not in any log line.
    assert "X-Amz" not in json.dumps(receipt.__dict__)
    # (The SMTP server and moto, standing in for the relay and S3, log what they receive.)
    ours = [r for r in caplog.records if not r.name.startswith(("mail.log", "werkzeug"))]
    assert not [r.name for r in ours if "X-Amz-Signature" in r.getMessage()]


def test_a_linked_file_without_a_links_bucket_is_refused_and_nothing_is_sent(
    mailbox: Mailbox, mail_sub, staged, monkeypatch: pytest.MonkeyPatch, moto_endpoint: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NO_BUCKET_LINKS", aws_connection_json(moto_endpoint))
    monkeypatch.setenv("FLATEXPORT_EMAIL_LINKS_CONN_ID", "no_bucket_links")
    monkeypatch.setenv("FLATEXPORT_EMAIL_ATTACH_LIMIT_BYTES", "10")
    with pytest.raises(DeliveryError, match="names no bucket"):
        send(mail_sub(), staged(csv_rows(50)))
    assert mailbox.messages == []


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [ORG_A_VOLUNTEER, ORG_B_ADMIN, "nobody@org-a.example"],
    ids=["volunteer", "other-org", "unknown"],
)
def test_only_an_admin_of_the_org_receives_anything(mailbox: Mailbox, mail_sub, staged, address) -> None:
    with pytest.raises(DeliveryError) as err:
        send(mail_sub(address), staged(csv_rows()))
    assert str(err.value) == f"not sent: {address} is not an admin of org org_a"  # same words for all
    assert err.value.retryable is False
    assert mailbox.messages == []


@pytest.mark.parametrize("url", ["mailto:", "mailto:not-an-address", "mailto:a@b.example,c@d.example"])
def test_a_malformed_mailto_is_refused(url: str, smtp_conn, admin_source) -> None:
    sub = Subscription(id=1, org_id="org_a", report="messages", destination=url, conn_id=smtp_conn())
    with pytest.raises(DeliveryError, match="e-mail"):
        destination_for(sub)


def test_an_unreachable_server_is_a_retryable_one_line_error(mail_sub, staged, smtp_conn) -> None:
    conn_id = smtp_conn(port=free_port())  # nothing listens there
    with pytest.raises(DeliveryError, match="cannot reach the SMTP server of connection") as err:
        send(mail_sub(conn_id=conn_id), staged(csv_rows()))
    assert err.value.retryable is True
    assert "\n" not in str(err.value)


def test_a_connection_without_from_email_is_named(mailbox: Mailbox, mail_sub, staged, smtp_conn) -> None:
    conn_id = smtp_conn(from_email="")
    with pytest.raises(DeliveryError, match=f"{conn_id}' has no from_email"):
        send(mail_sub(conn_id=conn_id), staged(csv_rows()))
    assert mailbox.messages == []


def test_destinations_add_refuses_a_recipient_who_is_not_an_admin(tmp_path: Path, admin_source) -> None:
    store = ControlStore(f"sqlite:///{tmp_path / 'control.db'}")
    try:
        with pytest.raises(FlatexportError, match=f"{ORG_A_VOLUNTEER} is not an admin of org org_a"):
            add_subscription(store, "org_a", "users", f"mailto:{ORG_A_VOLUNTEER}")
        with pytest.raises(FlatexportError, match="is not an e-mail address"):
            add_subscription(store, "org_a", "users", "mailto:someone")
        assert store.list() == []
        added = add_subscription(store, "org_a", "users", f"mailto:{ORG_A_ADMIN}")
        assert added.subscription.destination == f"mailto:{ORG_A_ADMIN}"
    finally:
        store.dispose()


# --- TLS as the connection says -------------------------------------------------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_starttls_when_the_connection_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, admin_source, staged
) -> None:
    """A server that requires STARTTLS, with a certificate the client verifies."""
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box = Mailbox()
    controller, port = start_smtp_server(box, tls_context=server_tls, require_starttls=True)
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this server's certificate
        plain = "plain_smtp_test"
        monkeypatch.setenv(f"AIRFLOW_CONN_{plain.upper()}", smtp_connection_json(port))
        tls = "starttls_smtp_test"
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{tls.upper()}",
            smtp_connection_json(port, disable_tls=False, ssl_context="default"),
        )
        sub = Subscription(
            id=7,
            org_id="org_a",
            report="messages",
            destination=f"mailto:{ORG_A_ADMIN}",
            scope={"action_id": 501},
        )

        with pytest.raises(DeliveryError, match="SMTP server of connection 'plain_smtp_test'"):
            send(sub.model_copy(update={"conn_id": plain}), staged(csv_rows()))
        assert box.messages == []

        send(sub.model_copy(update={"conn_id": tls}), staged(csv_rows()))
        assert len(box.messages) == 1
    finally:
        controller.stop()
