"""Tell people a gate failed or warned: email over SMTP and a Slack-compatible webhook.

Alerts carry the org, report, day, check names and counts and a link to the run --
never data values, so they are safe to send to a shared channel. Credentials come from
Airflow Connections (flatexport.connections), never from the subscription.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from flatexport.connections import get_connection
from flatexport.errors import DeliveryError
from flatexport.quality.results import QualityReport

log = logging.getLogger(__name__)
TIMEOUT_S = 10


@dataclass(frozen=True)
class AlertEvent:
    org: str
    report: str
    ds: str
    severity: Literal["error", "warn"]
    failed: dict[str, int] = field(default_factory=dict)  # check name -> unexpected count
    run_url: str = ""
    summary: str = ""

    @classmethod
    def from_report(cls, report: QualityReport, run_url: str = "") -> AlertEvent:
        """An alert from a gate result: error when any error-level check failed, else warn."""
        return cls(
            org=report.org_id,
            report=report.report,
            ds=report.ds,
            severity="error" if report.errors else "warn",
            failed={c.name: int(c.unexpected_count) for c in report.failed},
            run_url=run_url,
            summary=report.summary_line(),
        )

    def subject(self) -> str:
        label = "FAILED" if self.severity == "error" else "warning"
        return f"[flatexport {label}] {self.report} for {self.org} on {self.ds}: {len(self.failed)} check(s)"

    def text(self) -> str:
        lines = [self.subject()]
        if self.summary:
            lines.append(self.summary)
        lines += [f"- {name}: {count} unexpected" for name, count in self.failed.items()]
        if self.run_url:
            lines.append(f"Run: {self.run_url}")
        return "\n".join(lines)


def _extra(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if extra is None:
        raw = getattr(conn, "extra", None) or "{}"
        extra = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return dict(extra or {})


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "on")


def send_email(event: AlertEvent, conn_id: str) -> list[str]:
    """Send the alert through the SMTP server of connection ``conn_id``; returns the recipients."""
    conn = get_connection(conn_id)
    extra = _extra(conn)
    to = [a.strip() for a in str(extra.get("to") or "").split(",") if a.strip()]
    if not to:
        raise DeliveryError(
            f"SMTP connection {conn_id!r} has no recipients (set extra 'to': 'a@x.org,b@y.org')"
        )
    sender = extra.get("from_email") or conn.login or "flatexport@localhost"
    msg = EmailMessage()
    msg["Subject"] = event.subject()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg.set_content(event.text())
    host = conn.host or "localhost"
    use_ssl = _flag(extra.get("ssl"))
    port = int(conn.port or (465 if use_ssl else 25))
    smtp_cls = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
    with smtp_cls(host, port, timeout=TIMEOUT_S) as smtp:
        if not use_ssl and _flag(extra.get("starttls")):
            smtp.starttls(context=ssl.create_default_context())
        if conn.login and conn.password:
            smtp.login(conn.login, conn.password)
        smtp.send_message(msg)
    return to


def webhook_url(conn: Any) -> str:
    """The full URL in conn.host or extra['webhook_url'], else schema://host:port + extra['endpoint']."""
    extra = _extra(conn)
    if extra.get("webhook_url"):
        return str(extra["webhook_url"])
    host = str(conn.host or "")
    if host.startswith(("http://", "https://")):
        return host
    if not host:
        raise DeliveryError(f"webhook connection {conn.conn_id!r} has no host or extra 'webhook_url'")
    scheme = conn.schema or "https"
    port = f":{conn.port}" if conn.port else ""
    endpoint = str(extra.get("endpoint") or "")
    if endpoint and not endpoint.startswith("/"):
        endpoint = "/" + endpoint
    return f"{scheme}://{host}{port}{endpoint}"


def send_webhook(event: AlertEvent, conn_id: str) -> int:
    """POST {"text": ...} (Slack-compatible) to the connection's URL; returns the HTTP status."""
    import http.client

    from flatexport.masking import mask_url, masked_in_text

    url = webhook_url(get_connection(conn_id))
    body = json.dumps({"text": event.text()}).encode("utf-8")
    try:
        req = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - URL from an operator's connection
            return int(resp.status)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # A webhook URL's path is its token (Slack's /services/T/B/<token>): never shown.
        reason = masked_in_text(f"{type(exc).__name__}: {exc}", url, hide_path=True)
        raise DeliveryError(f"webhook {mask_url(url, hide_path=True)} failed: {reason}") from None


def send_alert(event: AlertEvent, *, smtp_conn_id: str | None, webhook_conn_id: str | None) -> dict[str, str]:
    """Try every configured channel; raise DeliveryError naming the channels that failed.

    Returns {"email": "sent"|"skipped", "webhook": "sent"|"skipped"} when all went out.
    """
    outcome: dict[str, str] = {}
    failures: list[str] = []
    channels = (("email", smtp_conn_id, send_email), ("webhook", webhook_conn_id, send_webhook))
    for channel, conn_id, send in channels:
        if not conn_id:
            outcome[channel] = "skipped"
            continue
        try:
            send(event, conn_id)
        except (OSError, smtplib.SMTPException, DeliveryError, ValueError) as exc:
            outcome[channel] = "failed"
            failures.append(f"{channel} via {conn_id!r} ({type(exc).__name__}: {exc})")
        else:
            outcome[channel] = "sent"
    log.info("quality alert %s/%s/%s (%s): %s", event.org, event.report, event.ds, event.severity, outcome)
    if failures:
        raise DeliveryError("alert not sent: " + "; ".join(failures), retryable=True)
    return outcome
