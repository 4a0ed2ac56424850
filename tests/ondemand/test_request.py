"""`flatexport request`: checked before anything runs, then the admin's mailbox gets the
file. Runs here with --local (the Airflow paths are in test_dag.py and test_rest.py)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from flatexport.cli import main
from flatexport.control.store import ControlStore
from flatexport.errors import InputError
from flatexport.export import run_export_as_of
from flatexport.ondemand import validate_request
from flatexport.specs import load_spec
from flatexport.subscriptions import Subscription
from tests.ondemand.conftest import ACTIVITY_DAY, ADMIN, OTHER_ADMIN, VOLUNTEER

P2P_ACTION = 502  # o1's TextaList action
F2F_ACTION = 501
O2_ACTION = 551
O2_LIST = 351


def request(*args: str) -> Any:
    return CliRunner().invoke(main, ["request", *args, "--local"], catch_exceptions=False)


def raw(**kw: Any) -> dict[str, Any]:
    return {"report": "messages", "org_id": "o1", "requester_email": ADMIN, **kw}


# --- validation, in the contract's order ----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (raw(report="nope"), "unknown report 'nope'"),
        (raw(report="action_users"), "action_users needs --action"),
        (raw(report="users", action_id=P2P_ACTION), "users is an org-wide report; --action is not accepted"),
        (raw(requester_email="ada@"), "'ada@' is not an e-mail address"),
        (raw(requester_email=VOLUNTEER), f"{VOLUNTEER} is not an admin of org o1"),
        (raw(requester_email=OTHER_ADMIN), f"{OTHER_ADMIN} is not an admin of org o1"),
        (raw(requester_email="nobody@o1.example"), "nobody@o1.example is not an admin of org o1"),
        # a non-admin learns nothing about ids: the admin check comes before the scope's
        (raw(requester_email=VOLUNTEER, action_id=O2_ACTION), f"{VOLUNTEER} is not an admin of org o1"),
        (raw(action_id=O2_ACTION), f"unknown action {O2_ACTION} for org o1"),
        (raw(action_id=999_999), "unknown action 999999 for org o1"),
        (raw(report="contacts", contact_list_id=O2_LIST), f"unknown contact list {O2_LIST} for org o1"),
        (
            raw(report="action_contacts", action_id=F2F_ACTION),
            f"action_contacts needs a peer-to-peer (TextaList) action; action {F2F_ACTION} is TextaFriend",
        ),
        (raw(report="activity"), "activity covers one day at a time"),
        (raw(report="activity", date="2024-11-04", entries=["no.such"]), "unknown exporter entries: no.such"),
        (raw(org_id="o9"), "ada@o1.example is not an admin of org o9"),
        (raw(date="2999-01-01"), "has not ended yet"),
        (raw(format="pdf"), "pdf"),
        (raw(cc="someone@else.example"), "takes no cc"),
    ],
)
def test_a_refused_request_names_its_reason(source_url: str, given: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as err:
        validate_request(given, source_url=source_url)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_an_accepted_history_request_is_as_of_the_moment_it_was_accepted(source_url: str) -> None:
    now = dt.datetime(2024, 11, 6, 9, 30, 15, 999, tzinfo=dt.UTC)
    accepted = validate_request(
        raw(action_id=P2P_ACTION, requester_email=" ADA@O1.example "), source_url=source_url, now=now
    )
    assert accepted.cutoff == now.replace(microsecond=0)
    assert accepted.day is None and accepted.file_day == dt.date(2024, 11, 6)
    assert accepted.recipient == ADMIN  # the address as stored, never as typed
    assert accepted.scope == {"action_id": P2P_ACTION}
    sub = accepted.subscription()
    assert sub.destination == f"mailto:{ADMIN}" and sub.id == f"request-{accepted.request_id}"


# --- the command -------------------------------------------------------------------------------


def test_the_admin_gets_the_right_csv_and_the_log_records_it_like_a_nightly_delivery(
    env: dict[str, Any], mailbox, source_url: str, tmp_path: Path
) -> None:
    result = request("messages", "--org", "o1", "--action", str(P2P_ACTION), "--email", "Ada@O1.example")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith(
        f"sent: messages for org o1, action {P2P_ACTION}, as of "
    )

    (mail,) = mailbox.messages
    assert mail.rcpt_tos == [ADMIN]
    match = re.fullmatch(
        rf"\[flatexport\] messages for org o1, action {P2P_ACTION}, as of (\S+ \S+) UTC", mail.subject
    )
    assert match, mail.subject
    cutoff = dt.datetime.fromisoformat(match.group(1)).replace(tzinfo=dt.UTC)
    day = cutoff.date().isoformat()
    name = f"messages_action-{P2P_ACTION}_{day}.csv"
    files = mail.files()
    assert sorted(files) == [name, name + ".manifest.json"]

    # The same request made independently, as of the same cutoff: the same bytes.
    again = run_export_as_of(
        Subscription(
            id="x", org_id="o1", report="messages", destination="file:///x", scope={"action_id": 502}
        ),
        cutoff,
        source_url=source_url,
        out_path=tmp_path / "again.csv",
    )
    assert files[name] == Path(again.path).read_bytes()
    header = files[name].decode().splitlines()[0].split(",")
    assert header == [c.name for c in load_spec("messages").columns]
    manifest = json.loads(files[name + ".manifest.json"])
    assert manifest["sha256"] == hashlib.sha256(files[name]).hexdigest()
    assert manifest["window"] == {"start": None, "end": cutoff.isoformat()}

    (logged,) = ControlStore(env["control"]).deliveries()
    assert (logged.org_id, logged.report, logged.ds.isoformat(), logged.status) == (
        "o1",
        "messages",
        day,
        "delivered",
    )
    assert logged.destination == f"mailto:{ADMIN}"
    assert logged.file_name == name
    assert logged.subscription_id is None and logged.run_id.startswith("on_demand__")
    assert logged.sha256 == manifest["sha256"] and logged.rows == manifest["rows"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--org", "o1", "--email", ADMIN], "error: unknown report 'nope'"),
        (["messages", "--org", "o1", "--email", VOLUNTEER], f"error: {VOLUNTEER} is not an admin of org o1"),
        (["messages", "--org", "o1", "--email", "x@"], "error: 'x@' is not an e-mail address"),
        (
            ["messages", "--org", "o1", "--action", str(O2_ACTION), "--email", ADMIN],
            f"error: unknown action {O2_ACTION} for org o1",
        ),
    ],
)
def test_a_refused_request_is_one_line_and_nothing_is_sent_or_logged(
    env: dict[str, Any], mailbox, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["request", *args, "--local"])
    assert result.exit_code != 0
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith(message), result.stderr
    assert mailbox.messages == []
    assert ControlStore(env["control"]).deliveries() == []


def test_a_day_report_takes_its_day_and_entries(env: dict[str, Any], mailbox) -> None:
    result = request(
        "activity",
        "--org",
        "o1",
        "--date",
        ACTIVITY_DAY.isoformat(),
        "--entries",
        "content",
        "--format",
        "csv.gz",
        "--email",
        ADMIN,
    )
    assert result.exit_code == 0, result.output
    (mail,) = mailbox.messages
    assert mail.subject.startswith(
        "[flatexport] activity for org o1, entries content, 2024-11-04 00:00:00 to "
    )
    name = f"activity_{ACTIVITY_DAY}.csv.gz"
    attached = mail.attachments()
    assert sorted(attached) == [name, name + ".manifest.json"]  # already gzipped: attached as it is
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(attached[name]).decode())))
    assert rows, "the seeded day has content events"
    assert all(r["Category"].startswith("Content") for r in rows)  # only the content entries


def test_a_nightly_subscription_to_a_mailbox_delivers_any_report(env: dict[str, Any], mailbox) -> None:
    """mailto: is a destination like the others: added (admins only), run, logged."""
    from flatexport.control.operations import add_subscription

    store = ControlStore(env["control"])
    with pytest.raises(InputError, match=f"{VOLUNTEER} is not an admin of org o1"):
        add_subscription(store, "o1", "action_users", f"mailto:{VOLUNTEER}", action="502")
    add_subscription(store, "o1", "action_users", f"mailto:{ADMIN}", action="502")

    result = CliRunner().invoke(
        main, ["run", "action_users", "--org", "o1", "--action", "502", "--date", "2024-11-04"]
    )
    assert result.exit_code == 0, result.output

    (mail,) = mailbox.messages
    assert mail.subject == "[flatexport] action_users for org o1, action 502, as of 2024-11-05 00:00:00 UTC"
    assert sorted(mail.files()) == [
        "action_users_action-502_2024-11-04.csv",
        "action_users_action-502_2024-11-04.csv.manifest.json",
    ]
    (logged,) = store.deliveries()
    assert (logged.status, logged.subscription_id, logged.destination) == ("delivered", 1, f"mailto:{ADMIN}")
