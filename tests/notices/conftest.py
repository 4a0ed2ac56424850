"""Fixtures for failure notices: a real SMTP server (aiosmtpd) behind an Airflow ``smtp``
connection named by FLATEXPORT_NOTICE_SMTP_CONN_ID, a SQLite control store, and the
destination tests' moto server and local Drive server, all over real sockets."""

from __future__ import annotations

import email
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from flatexport.control.store import ControlStore

# The destination tests' servers and connections, shared rather than copied.
from tests.destinations.conftest import (  # noqa: F401 - pytest fixtures
    aws_conn,
    bucket,
    drive,
    drive_server,
    gcp_conn,
    moto_endpoint,
    s3_admin,
)

NOTICE_CONN = "notice_smtp"
SENDER = "exports@flatexport.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Inbox:
    """What the SMTP server received: envelope recipients and the parsed messages."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(raw, policy=policy.default) for _, raw in self.received]


def body_text(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html", "plain")).get_content()


def smtp_connection(port: int) -> str:
    """An Airflow ``smtp`` connection to a plain local server (no TLS), as the provider reads it."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"from_email": SENDER, "disable_tls": True, "disable_ssl": True, "retry_limit": 0},
        }
    )


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    box = Inbox(port=free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    monkeypatch.setenv(f"AIRFLOW_CONN_{NOTICE_CONN.upper()}", smtp_connection(box.port))
    monkeypatch.setenv("FLATEXPORT_NOTICE_SMTP_CONN_ID", NOTICE_CONN)
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ControlStore]:
    db = ControlStore(f"sqlite:///{tmp_path / f'control-{uuid.uuid4().hex[:6]}.db'}")
    yield db
    db.dispose()
