"""The console over HTTP against a real api-server: every route needs an Airflow user,
changes need the permission and the session's CSRF token, messages are the CLI's,
nothing secret or row-level is rendered, and re-delivery goes through Airflow's API."""

from __future__ import annotations

import datetime as dt
import html
import re

import httpx
import pytest
from click.testing import CliRunner
from fastapi.routing import APIRoute

from flatexport.console.app import create_app
from flatexport.control.cli import destinations
from tests.console.conftest import (
    DAY,
    DRIVE_CONN,
    S3_CONN,
    SPARE_ORGS,
    Console,
    add_form,
    flashes,
    form_token,
    session_token,
)
from tests.support.moto_server import aws_connection_json

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


_SPARE = iter(SPARE_ORGS)


def unique_org() -> str:
    """An org no other test of the session uses, and one the console's source knows."""
    return next(_SPARE)


def routes() -> list[tuple[str, str]]:
    """Every (method, path) the console app serves, path parameters filled in."""
    found = []
    for route in create_app().routes:
        if isinstance(route, APIRoute):
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            found += [(method, path) for method in sorted(route.methods)]
    return found


def test_the_plugin_is_registered_once_and_mounted(console: Console) -> None:
    with httpx.Client(
        base_url=console.base, headers={"Authorization": f"Bearer {console.token('cs')}"}
    ) as api:
        plugins = api.get("/api/v2/plugins").json()["plugins"]
        errors = api.get("/api/v2/plugins/importErrors").json()
    [plugin] = [p for p in plugins if p["name"] == "flatexport_console"]
    assert [a["url_prefix"] for a in plugin["fastapi_apps"]] == ["/flatexport"]
    assert [(v["url_route"], v["href"]) for v in plugin["external_views"]] == [("flatexport", "flatexport/")]
    assert errors["total_entries"] == 0, errors


def test_every_route_refuses_a_request_without_an_airflow_user(console: Console) -> None:
    served = routes()
    assert {("GET", "/"), ("POST", "/subscriptions"), ("POST", "/subscriptions/1/redeliver")} <= set(served)
    anonymous = console.client(None)
    forged = httpx.Client(base_url=console.url, cookies={"_token": "not.a.jwt"}, timeout=30)
    for method, path in served:
        for client, expected in ((anonymous, {401}), (forged, {401, 403})):
            response = client.request(method, path, data={"csrf_token": "x"} if method == "POST" else None)
            assert response.status_code in expected, (method, path, response.status_code, response.text[:200])
            assert "org_" not in response.text  # nothing of the store leaks into the refusal
    page = anonymous.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 401 and 'id="login"' in page.text  # a browser is offered the way in


def test_a_viewer_sees_but_cannot_change_anything(console: Console) -> None:
    cs, viewer = console.client("cs"), console.client("viewer")
    org = unique_org()
    added = cs.post(
        "/subscriptions",
        data={
            **add_form(org, "file:///srv/exports/v", disabled="on"),
            "csrf_token": form_token(cs, "/subscriptions/new"),
        },
    )
    sub_id = added.headers["location"].rsplit("/", 1)[1]
    before = console.store().get(int(sub_id))

    for path in ("/", f"/org?org={org}", f"/subscriptions/{sub_id}", "/deliveries"):
        page = viewer.get(path)
        assert page.status_code == 200, path
        assert 'method="post"' not in page.text, path  # no button that would change anything
    assert org in viewer.get("/").text
    for path in ("/subscriptions/new", f"/subscriptions/{sub_id}/edit", f"/subscriptions/{sub_id}/remove"):
        assert viewer.get(path).status_code == 403, path

    token = session_token(viewer)  # a valid token of the viewer's own session: only permission stops it
    for path, data in [
        ("/subscriptions", add_form(org, "file:///srv/exports/v2")),
        (f"/subscriptions/{sub_id}/edit", {"url": "file:///srv/exports/elsewhere"}),
        (f"/subscriptions/{sub_id}/enable", {}),
        (f"/subscriptions/{sub_id}/disable", {}),
        (f"/subscriptions/{sub_id}/test", {}),
        (f"/subscriptions/{sub_id}/redeliver", {"day": DAY.isoformat()}),
        (f"/subscriptions/{sub_id}/remove", {}),
    ]:
        response = viewer.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, (path, response.text[:300])
    assert console.store().get(int(sub_id)) == before
    assert [s.id for s in console.store().list(org=org)] == [int(sub_id)]


def test_a_connection_is_only_used_by_who_may_see_it(console: Console) -> None:
    """Role user may edit DAGs but not see connections: file:// yes, an S3 connection no."""
    dagops = console.client("dagops")
    org = unique_org()
    token = form_token(dagops, "/subscriptions/new")
    refused = dagops.post(
        "/subscriptions", data={**add_form(org, "s3://some-bucket/x", conn_id=S3_CONN), "csrf_token": token}
    )
    assert refused.status_code == 403
    allowed = dagops.post(
        "/subscriptions",
        data={**add_form(org, "file:///srv/exports/dagops", disabled="on"), "csrf_token": token},
    )
    assert flashes(dagops, allowed) == [
        f"added subscription {console.store().list(org=org)[0].id}: {org} clickstream -> "
        "file:///srv/exports/dagops (disabled)"
    ]


def test_changes_need_the_sessions_csrf_token(console: Console) -> None:
    cs, other = console.client("cs"), console.client("cs")
    org = unique_org()
    form = add_form(org, "file:///srv/exports/csrf", disabled="on")
    stolen = form_token(other, "/subscriptions/new")  # another session's token
    token = form_token(cs, "/subscriptions/new")
    for data, headers in [
        (form, {}),
        ({**form, "csrf_token": ""}, {}),
        ({**form, "csrf_token": stolen}, {}),
        ({**form, "csrf_token": token}, {"Sec-Fetch-Site": "cross-site"}),
    ]:
        response = cs.post("/subscriptions", data=data, headers=headers)
        assert response.status_code == 403, response.text[:300]
    assert console.store().list(org=org) == []
    assert cs.post("/subscriptions", data={**form, "csrf_token": token}).status_code == 303

    cookie = next(
        c for c in cs.get("/").headers.get_list("set-cookie") if c.startswith("flatexport_console=")
    )
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


FILE_URL = "file:///srv/exports/messages"


def form_fields_for(cli_options: list[str]) -> dict[str, str]:
    """The form fields a CLI invocation's options fill (the form is made of those options)."""
    name_of = {opt: p.name for p in destinations.commands["add"].params for opt in p.opts}
    return {name_of[o]: v for o, v in zip(cli_options[::2], cli_options[1::2], strict=True)}


@pytest.mark.parametrize(
    ("url", "cli_options"),
    [
        (FILE_URL, ["--timezone", "Mars/<b>Base</b>"]),
        (FILE_URL, ["--columns", "session_id,<script>x</script>"]),
        (FILE_URL, ["--format", "xml"]),
        (FILE_URL, ["--start-date", "tomorrow"]),
        (FILE_URL, ["--company", "abc"]),
        (FILE_URL, ["--kms-key", "arn:aws:kms:x"]),
        ("ftp://host/<i>x</i>", []),
        ("s3://Bad_Bucket/x", ["--conn-id", S3_CONN]),
        ("s3://good-bucket/x", ["--conn-id", "no_such_conn"]),
    ],
)
def test_a_refused_subscription_gets_the_clis_message_escaped(
    console: Console, url: str, cli_options: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = unique_org()
    cs = console.client("cs")
    form = {
        **add_form(org, url),
        **form_fields_for(cli_options),
        "csrf_token": form_token(cs, "/subscriptions/new"),
    }
    page = cs.post("/subscriptions", data=form)
    assert page.status_code == 400
    shown = re.search(r'id="form-error">(.*?)</div>', page.text, re.S).group(1)
    assert not re.search(r"<(b|i|script)>", shown)  # input echoed back is escaped
    assert console.store().list(org=org) == []

    # The CLI, given the same values, says the same thing (click's usage errors included).
    monkeypatch.setenv(f"AIRFLOW_CONN_{S3_CONN.upper()}", aws_connection_json(console.moto))
    monkeypatch.setenv("FLATEXPORT_CONTROL_DB_URL", console.control_url)
    cli = CliRunner().invoke(
        destinations, ["add", "--org", org, "--report", "clickstream", url, *cli_options]
    )
    assert cli.exit_code != 0
    [said] = [line for line in cli.stderr.splitlines() if line.lower().startswith("error: ")]
    assert html.unescape(shown).strip() == "error: " + said.split(": ", 1)[1]


def test_edit_keeps_the_subscription_and_checks_like_add(console: Console) -> None:
    cs = console.client("cs")
    org = unique_org()
    token = form_token(cs, "/subscriptions/new")
    added = cs.post(
        "/subscriptions",
        data={
            **add_form(org, "file:///srv/exports/e1", disabled="on", columns="session_id,ds"),
            "csrf_token": token,
        },
    )
    sub_id = int(added.headers["location"].rsplit("/", 1)[1])
    form = cs.get(f"/subscriptions/{sub_id}/edit").text
    assert 'value="session_id,ds"' in form and 'name="org_id"' not in form  # prefilled; org is fixed

    refused = cs.post(
        f"/subscriptions/{sub_id}/edit",
        data={"url": "file:///srv/exports/e2", "fmt": "csv", "timezone": "Nowhere/Zone", "csrf_token": token},
    )
    assert refused.status_code == 400 and "unknown time zone &#39;Nowhere/Zone&#39;" in refused.text
    changed = cs.post(
        f"/subscriptions/{sub_id}/edit",
        data={
            "url": "file:///srv/exports/e2",
            "fmt": "jsonl",
            "timezone": "America/Chicago",
            "csrf_token": token,
        },
    )
    assert flashes(cs, changed) == [
        f"updated subscription {sub_id}: {org} clickstream -> file:///srv/exports/e2"
    ]
    sub = console.store().get(sub_id)
    assert (sub.org_id, sub.enabled, sub.format, sub.timezone, sub.columns) == (
        org,
        False,
        "jsonl",
        "America/Chicago",
        None,
    )

    enabled = cs.post(f"/subscriptions/{sub_id}/enable", data={"csrf_token": token})
    assert flashes(cs, enabled) == [
        f"enabled subscription {sub_id}: {org} clickstream -> file:///srv/exports/e2"
    ]
    disabled = cs.post(f"/subscriptions/{sub_id}/disable", data={"csrf_token": token})
    assert flashes(cs, disabled)[0].startswith(f"disabled subscription {sub_id}")
    removed = cs.post(f"/subscriptions/{sub_id}/remove", data={"csrf_token": token})
    assert flashes(cs, removed) == [
        f"removed subscription {sub_id}: {org} clickstream -> file:///srv/exports/e2"
    ]
    assert cs.get(f"/subscriptions/{sub_id}").status_code == 404


def test_delivery_log_filters_newest_first_and_hides_values(console: Console) -> None:
    store, cs = console.store(), console.client("cs")
    org = unique_org()
    sub = store.add_subscription(
        org_id=org, report="clickstream", destination="file:///srv/exports/log", enabled=False
    )
    ids = {}
    for day in (1, 2, 3):
        ids[day] = store.start_delivery(
            "scheduled__x", sub, dt.date(2024, 10, day), f"clickstream_2024-10-0{day}.csv"
        )
    store.finish_delivery(ids[1], "delivered", rows=10, bytes=2048)
    store.finish_delivery(
        ids[2], "failed", error="cannot write to s3://AKIAEXAMPLE:wJalrSecret@bucket/x: denied"
    )
    store.finish_delivery(
        ids[3],
        "blocked",
        rows=7,
        error="1 error-level checks failed: unique_key",
        quality={
            "passed": False,
            "errors": 1,
            "warnings": 0,
            "rows": 7,
            "checks": [
                {
                    "name": "unique_key",
                    "severity": "error",
                    "success": False,
                    "unexpected_count": 2,
                    "element_count": 7,
                    "keys": ["SESSION-KEY-4711"],
                    "details": {"sample": "x@y.z"},
                },
                {
                    "name": "row_count",
                    "severity": "warn",
                    "success": True,
                    "unexpected_count": 0,
                    "element_count": 7,
                },
            ],
        },
    )

    # Late data: a restatement of day 1, delivered again after its source moved.
    restated = store.start_delivery("scheduled__y", sub, dt.date(2024, 10, 1), "clickstream_2024-10-01.csv")
    store.record_source(restated, 12, None, restatement_of=ids[1])
    store.finish_delivery(restated, "delivered", rows=11, bytes=2100)

    page = cs.get(f"/deliveries?org={org}").text
    assert [int(i) for i in re.findall(r'data-delivery="(\d+)"', page)] == [ids[3], ids[2], restated, ids[1]]
    assert page.count("restates #") == 1 and f"restates #{ids[1]}</td>" in page
    assert "wJalrSecret" not in page and "s3://***@bucket/x" in page
    failed = cs.get(f"/deliveries?org={org}&status=failed").text
    assert re.findall(r'data-delivery="(\d+)"', failed) == [str(ids[2])]
    ranged = cs.get(f"/deliveries?org={org}&from=2024-10-02&to=2024-10-02&report=clickstream").text
    assert re.findall(r'data-delivery="(\d+)"', ranged) == [str(ids[2])]
    bad = cs.get(f"/deliveries?org={org}&from=2024-13-01")
    assert bad.status_code == 400 and "from &#39;2024-13-01&#39; is not a date" in bad.text

    checks = cs.get(f"/deliveries/{ids[3]}").text
    assert re.findall(r'data-check="([^"]+)"', checks) == ["unique_key", "row_count"]
    assert "FAILED" in checks and ">2<" in checks and ">7<" in checks
    assert "SESSION-KEY-4711" not in checks and "x@y.z" not in checks  # never a row's value
    assert "wJalrSecret" not in cs.get(f"/deliveries/{ids[2]}").text


def test_a_range_is_an_airflow_backfill_for_that_org(console: Console) -> None:
    cs = console.client("cs")
    org = unique_org()
    token = form_token(cs, "/subscriptions/new")
    added = cs.post(
        "/subscriptions",
        data={**add_form(org, "file:///srv/exports/range", disabled="on"), "csrf_token": token},
    )
    sub_id = added.headers["location"].rsplit("/", 1)[1]
    for data, message in [
        ({"day": "2024-11-05", "to": "2024-11-01"}, "error: to 2024-11-01 is before day 2024-11-05"),
        ({"day": "11/04/2024"}, "error: day '11/04/2024' is not a date (use YYYY-MM-DD)"),
        ({"day": "2999-01-01"}, "error: 2999-01-01 has not ended yet"),
    ]:
        response = cs.post(f"/subscriptions/{sub_id}/redeliver", data={**data, "csrf_token": token})
        assert flashes(cs, response)[-1].startswith(message)

    response = cs.post(
        f"/subscriptions/{sub_id}/redeliver",
        data={"day": "2024-10-01", "to": "2024-10-03", "csrf_token": token},
    )
    message = flashes(cs, response)[-1]
    backfill_id = int(re.search(r"backfill (\d+)", message).group(1))
    assert message.startswith("re-delivery of 2024-10-01 to 2024-10-03 requested: clickstream_daily backfill")

    with httpx.Client(
        base_url=f"{console.base}/api/v2",
        headers={"Authorization": f"Bearer {console.token('cs')}"},
        timeout=30,
    ) as api:
        try:
            backfill = api.get(f"/backfills/{backfill_id}").json()
            assert (backfill["dag_id"], backfill["dag_run_conf"]) == ("clickstream_daily", {"orgs": [org]})
            assert (backfill["from_date"][:10], backfill["to_date"][:10]) == ("2024-10-01", "2024-10-03")
            runs = api.get("/dags/clickstream_daily/dagRuns", params={"run_type": "backfill"}).json()[
                "dag_runs"
            ]
            days = sorted(r["logical_date"][:10] for r in runs if r.get("conf") == {"orgs": [org]})
            assert days == ["2024-10-01", "2024-10-02", "2024-10-03"]
        finally:
            api.put(f"/backfills/{backfill_id}/cancel")


def test_testing_a_drive_folder_says_which_address_to_share_it_with(console: Console) -> None:
    account = "exporter@flatexport-test.iam.gserviceaccount.com"
    folder = console.drive.add_folder(name="Acme exports")
    cs = console.client("cs")
    token = form_token(cs, "/subscriptions/new")
    org = unique_org()
    added = cs.post(
        "/subscriptions",
        data={
            **add_form(
                org,
                f"https://drive.google.com/drive/folders/{folder}?usp=sharing",
                conn_id=DRIVE_CONN,
                disabled="on",
            ),
            "csrf_token": token,
        },
    )
    sub_id = added.headers["location"].rsplit("/", 1)[1]
    assert console.store().get(int(sub_id)).destination == f"gdrive://{folder}"  # the pasted link, normalised

    def test_result() -> tuple[str, str]:
        response = cs.post(f"/subscriptions/{sub_id}/test", data={"csrf_token": token})
        page = cs.get(response.headers["location"].removeprefix("/flatexport")).text
        message = re.findall(r'<span class="message">(.*?)</span>', page, re.S)[-1]
        extra = re.findall(r'<div class="extra">(.*?)</div>', page, re.S)[-1]
        assert "PRIVATE KEY" not in page
        return html.unescape(message), html.unescape(extra)

    message, share = test_result()
    assert message.endswith(f"Drive folder Acme exports ({folder}) is writable by {account}")
    assert share.startswith(f"Share the folder with {account}")
    assert console.drive.files_in(folder) == []  # the probe is gone

    console.drive.unshare(folder)
    message, share = test_result()
    assert message.startswith(f"error: Drive folder {folder} not found, or not shared with {account}")
    assert share.startswith(f"Share the folder with {account}")
