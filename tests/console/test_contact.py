"""The console shows and edits a subscription's contact through the CLI's own checks,
and tells customer success when the contact was last sent a failure notice."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from sqlalchemy.orm import Session

from flatexport.control.models import NoticeRow
from tests.console.conftest import SPARE_ORGS, Console, add_form, flashes, form_token, session_token

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


def test_the_contact_is_added_shown_edited_and_cleared(console: Console) -> None:
    cs, org = console.client("cs"), SPARE_ORGS[-1]  # an org the source knows (checked at add)
    token = form_token(cs, "/subscriptions/new")
    new_form = cs.get("/subscriptions/new").text
    assert re.search(r'<input type="email" name="contact" id="f-contact" value=""', new_form)

    refused = cs.post(
        "/subscriptions",
        data={**add_form(org, "file:///srv/exports/c1", contact="data@acme"), "csrf_token": token},
    )
    assert refused.status_code == 400
    assert "error: --contact &#39;data@acme&#39; is not one email address" in refused.text
    assert console.store().list(org=org) == []

    added = cs.post(
        "/subscriptions",
        data={**add_form(org, "file:///srv/exports/c1", contact="data@acme.test"), "csrf_token": token},
    )
    sub_id = int(added.headers["location"].rsplit("/", 1)[1])
    assert console.store().get(sub_id).contact == "data@acme.test"
    page = cs.get(f"/subscriptions/{sub_id}").text
    assert '<dd data-field="contact">data@acme.test</dd>' in page
    assert "data@acme.test gets an email saying what to fix, at most one a day" in page
    assert "None sent yet." in page

    with Session(console.store().engine) as session, session.begin():
        session.add(
            NoticeRow(
                subscription_id=sub_id,
                day=dt.date(2024, 11, 5),
                reason="access_denied",
                ds=dt.date(2024, 11, 4),
            )
        )
    assert "Last sent 2024-11-05: access denied, for 2024-11-04." in cs.get(f"/subscriptions/{sub_id}").text

    edit_form = cs.get(f"/subscriptions/{sub_id}/edit").text
    assert 'name="contact" id="f-contact" value="data@acme.test"' in edit_form
    edit = {"url": "file:///srv/exports/c1", "fmt": "csv", "timezone": "UTC", "csrf_token": token}
    changed = cs.post(f"/subscriptions/{sub_id}/edit", data={**edit, "contact": "ops@acme.test"})
    assert flashes(cs, changed) == [
        f"updated subscription {sub_id}: {org} clickstream -> file:///srv/exports/c1"
    ]
    assert console.store().get(sub_id).contact == "ops@acme.test"

    cleared = cs.post(f"/subscriptions/{sub_id}/edit", data={**edit, "contact": ""})
    assert cleared.status_code == 303
    assert console.store().get(sub_id).contact is None
    page = cs.get(f"/subscriptions/{sub_id}").text
    assert '<dd data-field="contact">-</dd>' in page and 'id="notices"' not in page


def test_a_viewer_sees_the_contact_but_cannot_change_it(console: Console) -> None:
    org = f"org_{uuid.uuid4().hex[:8]}"
    sub = console.store().add_subscription(
        org_id=org,
        report="clickstream",
        destination="file:///srv/exports/v1",
        contact="data@acme.test",
        enabled=False,
    )
    viewer = console.client("viewer")
    assert '<dd data-field="contact">data@acme.test</dd>' in viewer.get(f"/subscriptions/{sub.id}").text
    token = session_token(viewer)  # the viewer's own valid token: only the permission stops it
    refused = viewer.post(
        f"/subscriptions/{sub.id}/edit",
        data={"url": "file:///srv/exports/v1", "contact": "evil@attacker.test", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert console.store().get(sub.id).contact == "data@acme.test"
