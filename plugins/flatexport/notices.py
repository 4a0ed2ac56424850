"""Failure notices to the customer's own contact, when a delivery fails on their side.

A bucket policy tightened, a Drive folder unshared, a quota used up: only the customer
can fix these, and until they do every nightly delivery fails. When the transport knew
the cause (:func:`flatexport.errors.customer_action`) and the subscription names a
``contact``, that address gets one email saying what failed (report, day, destination)
and what to change. Failures on our side (source down, a bug, throttling) tell nobody
outside: they are ours to fix.

Rules, each for a reason:

* **At most one a day per subscription.** A notice is claimed in the ``notices`` table
  (unique per subscription and UTC day) *before* it is sent, so retries and parallel
  tasks cannot send a second one; a send that fails releases the claim, so a later
  failure that day may try again.
* **Nothing from the data, nothing secret.** The email is built only from the
  subscription (org, report, masked destination), the day and the transport's fix-it
  sentence, never from the error message, a row or a connection.
* **Never in the way.** Sending goes through the Airflow SMTP provider's ``SmtpHook``
  with the connection named by ``FLATEXPORT_NOTICE_SMTP_CONN_ID``; any problem is logged
  and the delivery's own failure is what the caller sees.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from flatexport.connections import mask_url
from flatexport.control.models import NoticeRow
from flatexport.errors import CustomerAction, customer_action
from flatexport.settings import get_settings

log = logging.getLogger(__name__)

# What went wrong, in the customer's words, per CUSTOMER_CAUSES kind.
CAUSE_TEXT = {
    "access_denied": "the bucket refused our write (its policy or our access changed)",
    "bucket_missing": "the bucket does not exist any more",
    "folder_unshared": "the folder is no longer shared with us for writing, or was moved or deleted",
    "storage_full": "the storage is full or over its quota",
    "permission_denied": "the folder no longer lets us write",
    "recipient_refused": "the address is no longer an admin of the organisation (only admins get its files)",
}


@dataclass(frozen=True)
class Notice:
    """One email to a subscription's contact; every field is safe to show them."""

    to: str
    subscription_id: int
    org_id: str
    report: str
    ds: dt.date
    destination: str  # masked
    action: CustomerAction

    def subject(self) -> str:
        return f"Action needed: we could not deliver your {self.report} report for {self.ds.isoformat()}"

    def lines(self) -> list[str]:
        cause = CAUSE_TEXT.get(self.action.cause, "the destination refused the file")
        return [
            "Hello,",
            f"We could not deliver the {self.report} report for {self.ds.isoformat()} to "
            f"{self.destination}: {cause}.",
            f"What to fix: {self.action.fix}",
            "Once it is fixed, the next nightly delivery goes through; reply to this email if you "
            f"also need {self.ds.isoformat()} delivered again.",
            f"You receive this because {self.to} is the contact for subscription {self.subscription_id} "
            f"of {self.org_id}. We send at most one such notice a day per subscription.",
        ]

    def html(self) -> str:
        return "\n".join(f"<p>{html.escape(line)}</p>" for line in self.lines())


def notify_failure(store: Any, delivery_id: int | None, exc: BaseException) -> bool:
    """Tell the subscription's contact about a customer-side failure of this delivery.

    Called where the failure is recorded (:func:`flatexport.pipeline.outcome_recorded`);
    returns whether a notice went out and never raises.
    """
    try:
        return _notify(store, delivery_id, exc)
    except Exception as problem:  # noqa: BLE001 - a notice must never hide the delivery's outcome
        detail = " ".join(str(problem).split())[:300]
        log.error(
            "failure notice for delivery %s not sent: %s: %s", delivery_id, type(problem).__name__, detail
        )
        return False


def _notify(store: Any, delivery_id: int | None, exc: BaseException) -> bool:
    action = customer_action(exc)
    if action is None or store is None or delivery_id is None:
        return False
    record = store.delivery(delivery_id)
    if record.subscription_id is None:
        return False  # an ad-hoc run: nobody subscribed
    sub = store.get(record.subscription_id)
    if not sub.contact:
        return False
    conn_id = get_settings().notice_smtp_conn_id
    if not conn_id:
        log.warning(
            "subscription %s failed on the customer's side (%s) and has a contact, but "
            "FLATEXPORT_NOTICE_SMTP_CONN_ID is not set: no notice sent",
            sub.id,
            action.cause,
        )
        return False
    notice = Notice(
        to=sub.contact,
        subscription_id=int(sub.id),
        org_id=sub.org_id,
        report=sub.report,
        ds=record.ds,
        destination=mask_url(sub.destination),
        action=action,
    )
    claim = _claim(store.engine, notice, delivery_id)
    if claim is None:
        log.info("subscription %s: its contact was already told today; no second notice", sub.id)
        return False
    try:
        send(notice, conn_id)
    except BaseException:
        _release(store.engine, claim)
        raise
    log.info("failure notice (%s) sent to the contact of subscription %s", action.cause, sub.id)
    return True


def _claim(engine: sa.Engine, notice: Notice, delivery_id: int) -> int | None:
    """Record today's notice; None when this subscription already has one today."""
    row = NoticeRow(
        subscription_id=notice.subscription_id,
        day=dt.datetime.now(dt.UTC).date(),
        reason=notice.action.cause,
        ds=notice.ds,
        delivery_id=delivery_id,
    )
    try:
        with Session(engine) as session, session.begin():
            session.add(row)
            session.flush()
            return row.id
    except sa.exc.IntegrityError:
        return None


def _release(engine: sa.Engine, claim: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(sa.delete(NoticeRow).where(NoticeRow.id == claim))


def send(notice: Notice, conn_id: str) -> None:
    """Send through the Airflow SMTP provider; the connection supplies host, login and
    ``from_email`` (its extra), so no address or secret of ours lives in code."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        hook.send_email_smtp(to=notice.to, subject=notice.subject(), html_content=notice.html())


def notices_sent(store: Any, subscription_id: int) -> list[dict[str, Any]]:
    """The notices a subscription's contact received, newest first (for the console and tests)."""
    store.migrate()
    query = (
        sa.select(NoticeRow)
        .where(NoticeRow.subscription_id == subscription_id)
        .order_by(NoticeRow.day.desc(), NoticeRow.id.desc())
    )
    with Session(store.engine) as session:
        return [
            {"day": r.day, "reason": r.reason, "ds": r.ds, "delivery_id": r.delivery_id}
            for r in session.scalars(query)
        ]
