"""Alerts against a real local SMTP server and a real local HTTP endpoint; no PII leaves."""

from __future__ import annotations

import email
import json
import logging
import socket
import threading
from collections.abc import Iterator
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from flatexport.errors import DeliveryError
from flatexport.quality.alerts import AlertEvent, send_alert, webhook_url
from flatexport.quality.validate import html_path, summary_path, validate_staged
from flatexport.specs import Expectation, ReportSpec

from .staging import DS, ORG, clean_rows, subscription, write_staged


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"from_email": "gate@flatexport.test", "to": "ops@flatexport.test, data@flatexport.test"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_QA_SMTP", json.dumps(conn))
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server hook name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "json": json.loads(body)})
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks/quality"
    monkeypatch.setenv("AIRFLOW_CONN_QA_HOOK", json.dumps({"conn_type": "http", "host": url}))
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()


def _message_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=policy.default)
    return f"{msg['Subject']}\n{msg['To']}\n{msg.get_body().get_content()}"


def test_alert_goes_out_by_email_and_webhook(smtp: _Inbox, hook: list[dict]) -> None:
    event = AlertEvent(
        org=ORG,
        report="clickstream",
        ds=DS,
        severity="error",
        failed={"session_id unique": 3},
        run_url="http://airflow.test/run/1",
        summary="clickstream org-42 2024-11-04: 1 error(s)",
    )
    outcome = send_alert(event, smtp_conn_id="qa_smtp", webhook_conn_id="qa_hook")
    assert outcome == {"email": "sent", "webhook": "sent"}
    text = _message_text(smtp.messages[0])
    assert "[flatexport FAILED] clickstream for org-42 on 2024-11-04" in text
    assert "session_id unique: 3 unexpected" in text and "http://airflow.test/run/1" in text
    assert "ops@flatexport.test" in text
    assert hook[0]["path"] == "/hooks/quality"
    assert "session_id unique: 3" in hook[0]["json"]["text"]


def test_a_failing_channel_is_reported_after_the_others_were_tried(smtp: _Inbox, monkeypatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    monkeypatch.setenv("AIRFLOW_CONN_QA_DEAD", json.dumps({"conn_type": "http", "host": dead}))
    event = AlertEvent(org=ORG, report="clickstream", ds=DS, severity="warn", failed={"x": 1})
    with pytest.raises(DeliveryError, match="webhook via 'qa_dead'"):
        send_alert(event, smtp_conn_id="qa_smtp", webhook_conn_id="qa_dead")
    assert len(smtp.messages) == 1  # email still went out


def test_webhook_url_from_parts() -> None:
    class Conn:
        conn_id, host, schema, port = "c", "hooks.example.net", "https", 8443
        extra_dejson = {"endpoint": "services/T0/B0"}

    assert webhook_url(Conn()) == "https://hooks.example.net:8443/services/T0/B0"


def test_failed_email_check_leaks_no_address(
    spec: ReportSpec, tmp_path: Path, smtp: _Inbox, hook: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rule = Expectation(
        type="expect_column_values_to_match_regex",
        severity="error",
        kwargs={"column": "email", "regex": r"^[^@]+@flatexport\.test\Z"},
    )
    strict = spec.model_copy(update={"expectations": [rule]})
    rows = clean_rows(spec, 3)
    rows[0]["email"] = "alice@example.com"
    rows[1]["device_type"] = "alice@example.com"  # a PII value in a non-PII column still is not listed
    staged = write_staged(tmp_path, strict, rows)
    report = validate_staged(strict, staged, subscription())
    check = report.check("email expect_column_values_to_match_regex")
    assert not check.success and check.unexpected_count == 3 and check.severity == "error"
    assert check.samples == []  # PII column: no samples kept at all
    send_alert(
        AlertEvent.from_report(report, run_url="http://airflow.test/run/2"),
        smtp_conn_id="qa_smtp",
        webhook_conn_id="qa_hook",
    )

    places = {
        "summary": json.dumps(report.to_summary()),
        "summary file": summary_path(staged.path).read_text(),
        "email": _message_text(smtp.messages[0]),
        "webhook": json.dumps(hook[0]["json"]),
        "logs": caplog.text,
    }
    assert "email expect_column_values_to_match_regex: 3 unexpected" in places["email"]
    for where, text in places.items():
        assert "alice" not in text, where
        assert "alice@example.com" not in text, where
    page = html_path(staged.path).read_text()
    assert "alice1@example.com" not in page and "alice2@example.com" not in page  # the email column
