"""E-mail transport (``mailto:ADDR``): the file goes to one admin of the org, by SMTP.

A mailbox is a store that can neither be read back nor have a message recalled, so it
declares so (:class:`Features`: no stat, no delete, the manifest travels inside the same
message) and the one delivery driver adapts; the steps map as follows:

``put``     re-reads the staged bytes once (SHA-256, gzip into a private temp file) and
            composes nothing yet: the write is *pending*;
(verify)    the driver compares that SHA-256 with the staged file's, so a file that
            changed between the driver's check and the read is never sent;
``commit``  sends the message: the gzipped file attached when it is at most the
            attachment limit (``FLATEXPORT_EMAIL_ATTACH_LIMIT_BYTES``, 10 MiB), otherwise
            a copy is uploaded to S3 (connection ``flatexport_email_links``, extra ``bucket``
            and ``prefix``), verified by S3's own SHA-256, and the mail carries a presigned
            GET link valid ``FLATEXPORT_EMAIL_LINK_EXPIRY_SECONDS`` (7 days). The link is
            never logged, stored, returned or put in XCom: only the message holds it;
``discard`` drops the pending temp file; nothing was sent.

The recipient is checked against the source at every send (:mod:`flatexport.recipients`):
an admin removed from the org receives nothing more. To is the address as the source
stores it; there is never a Cc or Bcc. Subject and body name the report, org, scope and
window (from the manifest), the row count, the file and its SHA-256; never a row value.

SMTP goes through Airflow's SMTP provider (``SmtpHook``) on connection ``flatexport_smtp``
(extra ``from_email``; ``FLATEXPORT_EMAIL_SMTP_CONN_ID`` or a subscription's conn_id name
another): SSL, STARTTLS or neither as the connection's ``disable_ssl`` / ``disable_tls`` say.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
import gzip
import hashlib
import json
import logging
import smtplib
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import IO, Any

from flatexport.destinations.base import (
    MANIFEST_SUFFIX,
    Features,
    HashChecksum,
    Payload,
    Stored,
    TransportBase,
)
from flatexport.errors import CustomerAction, DeliveryError, InputError
from flatexport.hashing import BLOCK
from flatexport.settings import get_settings
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

GZIP_TYPE = "application/gzip"
GZIP_MAGIC = b"\x1f\x8b"


def parse_mailto(url: str) -> str:
    """The one address of a ``mailto:ADDR`` destination (no query, no second address)."""
    from flatexport.recipients import check_address

    scheme, _, rest = url.partition(":")
    if scheme.lower() != "mailto" or not rest or any(c in rest for c in "?,;&"):
        raise DeliveryError(f"not an e-mail destination: {url!r} (expected mailto:name@example.org)")
    try:
        return check_address(rest.removeprefix("//"))
    except InputError as exc:
        raise DeliveryError(str(exc)) from None


def scope_text(scope: dict[str, Any] | None) -> str:
    """How a subject names a scope: ``all``, ``action 501``, ``contact list 351``."""
    if not scope:
        return "all"
    from flatexport.families import flag_of

    parts = []
    for field, value in scope.items():
        words = flag_of(field).lstrip("-").replace("-", " ")
        shown = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{words} {shown}")
    return ", ".join(parts)


def _utc(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _seconds(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class _Pending:
    """A composed-but-unsent delivery: the bytes to attach or link, and their facts."""

    staged_name: str  # the staged file's name, which the manifest is named after
    file: IO[bytes]  # what the recipient gets: the gzipped file
    name: str  # its name: <file>.gz (or the staged name when it is gzip already)
    size: int
    sha256: str  # of ``file``: what the body names
    manifest: bytes | None


class EmailTransport(TransportBase):
    """Sends one org's files to one of its admins."""

    store = "mailbox"
    features = Features(delete=False, stat=False, manifest="with_data")

    def __init__(
        self,
        address: str,
        *,
        org_id: str,
        report: str,
        scope: dict[str, Any] | None = None,
        request_id: str = "",
        smtp_conn_id: str | None = None,
        source_url: str | None = None,
    ) -> None:
        self.address = parse_mailto(f"mailto:{address}")
        self.url = f"mailto:{self.address}"
        self.org_id = org_id
        self.report = report
        self.scope = dict(scope or {})
        self.request_id = request_id or "adhoc"
        settings = get_settings()
        self.smtp_conn_id = smtp_conn_id or settings.email_smtp_conn_id
        self.links_conn_id = settings.email_links_conn_id
        self.attach_limit = settings.email_attach_limit_bytes
        self.link_expiry = settings.email_link_expiry_seconds
        self._source_url = source_url

    @classmethod
    def from_subscription(cls, sub: Subscription) -> EmailTransport:
        extra = sub.extra or {}
        return cls(
            parse_mailto(sub.destination),
            org_id=sub.org_id,
            report=sub.report,
            scope=sub.scope,
            # An on-demand request names itself; a nightly subscription's links live under it.
            request_id=str(extra.get("request_id") or f"subscription-{sub.id}"),
            smtp_conn_id=sub.conn_id,
        )

    # -- who may receive it ---------------------------------------------------------------

    def recipient(self) -> str:
        """The admin's address as stored; refused (not retried) for anyone else."""
        from flatexport.airflow_support.tasks import source_url_for_run
        from flatexport.recipients import admin_address

        try:
            return admin_address(self.org_id, self.address, self._source_url or source_url_for_run(None))
        except InputError as exc:
            fix = (
                f"Make {self.address} an admin of org {self.org_id} again, "
                "or have the subscription send to an admin's address."
            )
            raise DeliveryError(
                f"not sent: {exc}", customer_action=CustomerAction("recipient_refused", fix)
            ) from None

    # -- transport steps ------------------------------------------------------------------

    def checksum(self, size: int) -> HashChecksum:
        return HashChecksum("sha256", "SHA-256")

    # A mailbox cannot be asked what it holds: `find` never sees a file, so a dry run lists
    # every e-mailed day as a new message (the contract tests read this flag).
    can_look = False

    def find(self, name: str) -> Stored | None:
        return None  # a mailbox cannot be asked what it holds

    def delete(self, name: str) -> None:
        return None  # a sent message cannot be recalled; nothing of ours is left to remove

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored:
        self.recipient()  # fail before the work when the address may not receive this org's files
        raw_sha = hashlib.sha256()
        size = 0
        already = payload.name.endswith(".gz")
        out = tempfile.TemporaryFile(prefix="flatexport-mail-")  # noqa: SIM115 - closed by commit/discard
        try:
            sink: Any = out if already else _FixedGzip(out)
            with payload.open() as stream:
                while block := stream.read(BLOCK):
                    raw_sha.update(block)
                    size += len(block)
                    sink.write(block)
            if not already:
                sink.close()
            attached_sha = hashlib.sha256()
            out.seek(0)
            while block := out.read(BLOCK):
                attached_sha.update(block)
            attached_size = out.tell()
        except OSError as exc:
            out.close()
            raise DeliveryError(
                f"reading {payload.name} failed while composing the mail to {self.address}: "
                f"{exc.strerror or type(exc).__name__}",
                retryable=True,
            ) from None
        except BaseException:
            out.close()
            raise
        name = payload.name if already else payload.name + ".gz"
        manifest = next((a for a in payload.attachments if a.name.endswith(MANIFEST_SUFFIX)), None)
        pending = _Pending(
            payload.name,
            out,
            name,
            attached_size,
            attached_sha.hexdigest(),
            _read(manifest) if manifest else None,
        )
        return Stored(
            name=payload.name,
            location=f"{self.url}#{name}",
            size=size,
            checksum=raw_sha.hexdigest(),
            ref=pending,
            pending=True,
        )

    def commit(self, stored: Stored) -> Stored:
        pending: _Pending = stored.ref
        try:
            to = self.recipient()  # and again right before sending
            if pending.size <= self.attach_limit:
                link = None
            else:
                link = self._upload_copy(pending)
            self._send(self._message(to, pending, link), to)
        finally:
            pending.file.close()
        log.info(
            "mailed %s to %s (%s, %d bytes, sha256 %s)",
            pending.name,
            self.address,
            "attached" if pending.size <= self.attach_limit else "as a link",
            pending.size,
            pending.sha256,
        )
        return Stored(name=stored.name, location=stored.location, size=stored.size, checksum=stored.checksum)

    def discard(self, stored: Stored) -> None:
        if isinstance(stored.ref, _Pending):
            stored.ref.file.close()

    # -- the message ----------------------------------------------------------------------

    def _message(self, to: str, pending: _Pending, link: str | None) -> EmailMessage:
        facts = json.loads(pending.manifest) if pending.manifest else {}
        # Python folds a long header right after its colon, which some mail programs show as a
        # leading space; RFC 5322 allows 998 characters, and our subjects are far shorter.
        msg = EmailMessage(policy=email.policy.default.clone(max_line_length=998))
        msg["From"] = self._from_address()
        msg["To"] = to
        msg["Subject"] = self.subject(facts)
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(domain=msg["From"].rpartition("@")[2] or None)
        msg.set_content(self.body(facts, pending, link))
        if link is None:
            pending.file.seek(0)
            maintype, subtype = GZIP_TYPE.split("/")
            msg.add_attachment(pending.file.read(), maintype=maintype, subtype=subtype, filename=pending.name)
        if pending.manifest is not None:
            msg.add_attachment(
                pending.manifest,
                maintype="application",
                subtype="json",
                filename=pending.staged_name + MANIFEST_SUFFIX,
            )
        return msg

    def subject(self, facts: dict[str, Any]) -> str:
        report = facts.get("report", self.report)
        scope = scope_text(self.scope)
        return f"[flatexport] {report} for org {self.org_id}, {scope}, {_window_words(facts)}"

    def body(self, facts: dict[str, Any], pending: _Pending, link: str | None) -> str:
        window = facts.get("window") or {}
        start, end = _utc(window.get("start")), _utc(window.get("end"))
        if end is None:
            covers = "a test message: no report"
        elif start is None:
            covers = f"rows created before {end.isoformat()}"
        else:
            covers = f"rows of {start.isoformat()} to {end.isoformat()}"
        lines = [
            f"{facts.get('title') or self.report} ({facts.get('report', self.report)})",
            "",
            f"Org: {self.org_id}",
            f"Scope: {scope_text(self.scope)}",
            f"Covers: {covers}",
            f"Rows: {facts.get('rows', 0)}",
            f"File: {pending.name}",
            f"SHA-256: {pending.sha256}",
        ]
        if link is None:
            lines.append("Delivery: attached")
        else:
            expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=self.link_expiry)
            lines += [
                f"Delivery: too large to attach; download it (link valid until {expires.isoformat()}):",
                link,
            ]
        if pending.manifest is not None:
            lines += [
                "",
                f"The attached {pending.staged_name}{MANIFEST_SUFFIX} describes the file "
                f"inside {pending.name} (SHA-256 {facts.get('sha256', '')}).",
            ]
        return "\n".join(lines) + "\n"

    # -- SMTP -----------------------------------------------------------------------------

    def _from_address(self) -> str:
        conn = _smtp_connection(self.smtp_conn_id)
        sender = (conn.extra_dejson or {}).get("from_email")
        if not sender:
            raise DeliveryError(
                f"Airflow connection {self.smtp_conn_id!r} has no from_email in its extra "
                "(the address mails are sent from)"
            )
        return str(sender)

    @contextlib.contextmanager
    def _smtp(self):
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        _smtp_connection(self.smtp_conn_id)  # our message for a missing connection
        hook = SmtpHook(smtp_conn_id=self.smtp_conn_id)
        where = f"the SMTP server of connection {self.smtp_conn_id!r}"
        try:
            with hook as opened:
                # The hook logs in (SSL / STARTTLS / plain as the connection says) and
                # keeps the client; sending our own MIME message needs the client itself.
                yield opened._smtp_client
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where} refused its login ({exc.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{code}" for code, _ in exc.recipients.values())
            raise DeliveryError(f"{where} refused the recipient {self.address} ({codes})") from None
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryError(f"{where} refused the sender ({exc.smtp_code})") from None
        except smtplib.SMTPResponseException as exc:
            transient = 400 <= exc.smtp_code < 500
            raise DeliveryError(
                f"{where} answered {exc.smtp_code}: {_one_line(exc.smtp_error)}", retryable=transient
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = getattr(exc, "strerror", None) or _one_line(exc) or type(exc).__name__
            raise DeliveryError(f"cannot reach {where}: {reason}", retryable=True) from None

    def _send(self, msg: EmailMessage, to: str) -> None:
        with self._smtp() as client:
            client.send_message(msg, from_addr=msg["From"], to_addrs=[to])

    def probe(self) -> str:
        """Log in and ask the server to accept the recipient, then reset: nothing is sent."""
        to = self.recipient()
        sender = self._from_address()
        with self._smtp() as client:
            client.ehlo_or_helo_if_needed()  # sendmail does it itself; MAIL FROM alone does not
            for step, (code, answer) in (
                ("MAIL FROM", client.mail(sender)),
                ("RCPT TO", client.rcpt(to)),
            ):
                if code >= 400:
                    raise DeliveryError(
                        f"the SMTP server of connection {self.smtp_conn_id!r} refused {step} "
                        f"({code} {_one_line(answer)})"
                    )
            client.rset()
        return f"{self.url} is writable: the SMTP server accepts mail from {sender} to {to} (none was sent)"

    # -- the link form --------------------------------------------------------------------

    def _upload_copy(self, pending: _Pending) -> str:
        """Upload the gzipped copy, verify it by S3's SHA-256, and presign a GET for it."""
        from flatexport.connections import get_connection
        from flatexport.destinations.s3 import S3Transport

        extra = dict(get_connection(self.links_conn_id).extra_dejson or {})
        bucket = extra.get("bucket")
        if not bucket:
            raise DeliveryError(
                f"{pending.name} is {pending.size} bytes, over the {self.attach_limit}-byte attachment "
                f"limit, and Airflow connection {self.links_conn_id!r} names no bucket (extra 'bucket') "
                "for links"
            )
        parts = [str(extra.get("prefix") or "").strip("/"), self.org_id, self.request_id]
        s3 = S3Transport(f"s3://{bucket}/{'/'.join(p for p in parts if p)}", conn_id=self.links_conn_id)

        def reopen() -> IO[bytes]:
            pending.file.seek(0)
            return _Unclosed(pending.file)

        copy = Payload(pending.name, reopen, pending.size, pending.sha256, GZIP_TYPE)
        check = s3.checksum(pending.size)
        pending.file.seek(0)
        while block := pending.file.read(BLOCK):
            check.update(block)
        reported = s3.stat(s3.put(copy))
        if reported.size != pending.size or not check.matches(reported.checksum):
            raise DeliveryError(
                f"the copy of {pending.name} at {reported.location} does not match what was uploaded; "
                "nothing was sent",
                retryable=True,
            )
        with s3._errors(reported.ref):
            return _presigner(self.links_conn_id, s3.client).generate_presigned_url(
                "get_object",
                Params={"Bucket": s3.bucket, "Key": reported.ref},
                ExpiresIn=self.link_expiry,
            )


def _presigner(conn_id: str, client: Any) -> Any:
    """A client like ``client`` (same connection, endpoint, addressing) that signs with
    SigV4, so the link expires when the mail says (botocore's default presigner may use
    SigV2, which AWS is retiring and which does not bound the lifetime)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    return S3Hook(aws_conn_id=conn_id).get_client_type(
        config=client.meta.config.merge(Config(signature_version="s3v4"))
    )


def _window_words(facts: dict[str, Any]) -> str:
    """``as of 2024-11-05 00:00:00 UTC`` (a cutoff) or ``2024-11-04 06:00:00 to ... UTC`` (a day)."""
    window = facts.get("window") or {}
    start, end = _utc(window.get("start")), _utc(window.get("end"))
    if end is None:
        return "test message"
    if start is None:
        return f"as of {_seconds(end)} UTC"
    return f"{_seconds(start)} to {_seconds(end)} UTC"


def _smtp_connection(conn_id: str) -> Any:
    from flatexport.connections import get_connection

    conn = get_connection(conn_id)
    if (conn.conn_type or "").lower() not in ("smtp", "email", ""):
        raise DeliveryError(
            f"Airflow connection {conn_id!r} has type {conn.conn_type!r}; e-mail needs an 'smtp' connection"
        )
    return conn


def _read(payload: Payload) -> bytes:
    with payload.open() as stream:
        return stream.read()


def _one_line(value: object) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())


class _FixedGzip:
    """gzip as the engine writes it (no name or time in the header, level 6, fixed 1 MiB
    input blocks), so the same file always gives the same attachment bytes."""

    def __init__(self, out: IO[bytes]) -> None:
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6)
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= BLOCK:
            self._gzip.write(bytes(self._pending[:BLOCK]))
            del self._pending[:BLOCK]

    def close(self) -> None:
        if self._pending:
            self._gzip.write(bytes(self._pending))
            self._pending.clear()
        self._gzip.close()


class _Unclosed:
    """The pending temp file for one upload, which must not close it (the mail needs it)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def read(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def __enter__(self) -> _Unclosed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
