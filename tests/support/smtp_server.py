"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests and
the demo: the code under test talks SMTP to it exactly as to a production relay.

``Mailbox`` keeps every message in memory (and, given a folder, in a Maildir too, so a
person can open the mail the demo delivered). No pytest here.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import mailbox
import socket
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    def attachments(self) -> dict[str, bytes]:
        """File name -> the attachment's bytes, as a mail program saves them."""
        return {
            part.get_filename(): part.get_payload(decode=True) for part in self.message.iter_attachments()
        }

    def files(self) -> dict[str, bytes]:
        """What the recipient has after gunzip: ``x.csv.gz`` as ``x.csv``, decompressed."""
        out = {}
        for name, data in self.attachments().items():
            if name.endswith(".gz"):
                out[name.removesuffix(".gz")] = gzip.decompress(data)
            else:
                out[name] = data
        return out


class Mailbox:
    """aiosmtpd handler: accepts every message and keeps it."""

    def __init__(self, maildir: Path | None = None) -> None:
        self.messages: list[Mail] = []
        self.maildir = mailbox.Maildir(maildir, create=True) if maildir else None
        self.paths: list[Path] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.messages.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        if self.maildir is not None:
            key = self.maildir.add(raw)
            self.paths.append(Path(self.maildir._path) / "new" / key)  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"

    @property
    def latest(self) -> Mail | None:
        return self.messages[-1] if self.messages else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp_server(handler: Mailbox, **kwargs: Any) -> tuple[Any, int]:
    """Start aiosmtpd on 127.0.0.1 and return (controller, port); call controller.stop()."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


def smtp_connection_json(port: int, from_email: str = "exports@flatexport.example", **extra: Any) -> str:
    """An ``AIRFLOW_CONN_<ID>`` value for the local server: plain SMTP (no SSL, no STARTTLS)."""
    import json

    options = {"from_email": from_email, "disable_ssl": True, "disable_tls": True, "timeout": 10, **extra}
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": options})
