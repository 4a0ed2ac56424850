"""Secrets planted in every URL a user or operator gives (the source's ``?password=``,
the control database's password, an S3 endpoint's ``user:password@``, a webhook's token)
never come back: not on stdout or stderr (logs, with -v), not in the control database,
not in a delivered file or manifest, not in an alert's failure message or log; for
deliveries that pass and deliveries that fail, run through the installed command."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from flatexport.errors import DeliveryError
from tests.hardening.conftest import DAY
from tests.support.databases import throwaway_database
from tests.support.events import ev, load_events
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

SECRETS = {
    "source": "SrcQuerySecret41",
    "source_netloc": "SrcNetlocSecret42",
    "control": "CtrlDbSecret43",
    "endpoint": "EndpointSecret44",
    "aws_key": "AwsSecretKey45",
    "webhook": "HookToken46",
}


def with_password(url: str, password: str) -> str:
    return sa.make_url(url).set(password=password).render_as_string(hide_password=False)


def dump_database(url: str) -> str:
    """Every table's every row, as text."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(
                repr(row) for table in meta.sorted_tables for row in conn.execute(sa.select(table))
            )
    finally:
        engine.dispose()


def assert_no_secret(where: str, text: str) -> None:
    for name, secret in SECRETS.items():
        assert secret not in text, f"the {name} secret is in {where}:\n{text[:3000]}"


@pytest.mark.postgres
def test_secrets_never_printed_logged_or_stored(pg_database: str, tmp_path: Path) -> None:
    load_events(
        pg_database,
        [
            ev(1, f"{DAY}T10:00:00", "session_start", org="org_a"),
            ev(2, f"{DAY}T11:00:00", "session_start", org="org_b"),
        ],
    )
    source = f"{pg_database}?password={SECRETS['source']}"  # trust auth: any password works
    server, endpoint = start_moto_server()
    roots = tmp_path / "deliveries"
    roots.mkdir()
    with throwaway_database("fx_secrets") as control_plain:
        control = with_password(control_plain, SECRETS["control"])
        host = endpoint.removeprefix("http://")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FLATEXPORT_")},
            "FLATEXPORT_DATA_DIR": str(tmp_path / "data"),
            "FLATEXPORT_SOURCE_URL": source,
            "FLATEXPORT_CONTROL_DB_URL": control,
            "FLATEXPORT_LOCAL_ROOTS": str(roots),
            "AIRFLOW_CONN_CUSTOMER_S3": aws_connection_json(
                f"http://minio:{SECRETS['endpoint']}@{host}", password=SECRETS["aws_key"]
            ),
        }
        s3 = boto3_client("s3", endpoint)
        s3.create_bucket(Bucket="org-a-exports")
        exe = str(Path(sys.executable).with_name("flatexport"))
        outputs: list[str] = []

        def flatexport(*argv: str) -> subprocess.CompletedProcess[str]:
            done = subprocess.run([exe, "-v", *argv], capture_output=True, text=True, env=env, timeout=300)
            outputs.append(f"{done.stdout}\n{done.stderr}")
            return done

        try:
            for org, url, conn in (
                ("org_a", (roots / "a").as_uri(), None),
                ("org_a", "s3://org-a-exports/daily", "customer_s3"),
                ("org_b", "s3://org-b-missing-bucket/daily", "customer_s3"),
            ):
                extra = ["--conn-id", conn] if conn else []
                added = flatexport(
                    "destinations", "add", "--org", org, "--report", "clickstream", *extra, url
                )
                assert added.returncode == 0, added.stderr
            passing = flatexport("run", "clickstream", "--date", DAY, "--org", "org_a")
            assert passing.returncode == 0, passing.stderr
            assert passing.stdout.count("rows=1") == 2
            failing = flatexport("run", "clickstream", "--date", DAY, "--org", "org_b")
            assert failing.returncode == 1 and "org-b-missing-bucket" in failing.stderr
            unreachable = flatexport(
                "run",
                "clickstream",
                "--date",
                DAY,
                "--org",
                "org_a",
                "--to",
                str(roots / "x"),
                "--source",
                f"postgresql://u:{SECRETS['source_netloc']}@127.0.0.1:1/db?password={SECRETS['source']}",
            )
            assert unreachable.returncode == 1 and "127.0.0.1:1" in unreachable.stderr
            bad_control = dict(
                env,
                FLATEXPORT_CONTROL_DB_URL=with_password("postgresql://u@127.0.0.1:1/x", SECRETS["control"]),
            )
            done = subprocess.run(
                [exe, "destinations", "list"], capture_output=True, text=True, env=bad_control, timeout=120
            )
            outputs.append(done.stdout + done.stderr)
            assert done.returncode == 1 and "127.0.0.1:1" in done.stderr
            listing = flatexport("deliveries")
            assert "failed" in listing.stdout and "delivered" in listing.stdout

            for text in outputs:
                assert_no_secret("the command's output", text)
            assert "INFO" in passing.stderr and "INFO" not in passing.stdout  # logs on stderr, with -v
            assert_no_secret("the control database", dump_database(control_plain))
            for path in roots.rglob("*"):
                if path.is_file():
                    assert_no_secret(str(path), path.read_text(encoding="utf-8", errors="replace"))
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="org-a-exports").get("Contents", [])]
            assert any(k.endswith(".manifest.json") for k in keys)
            for key in keys:
                body = (
                    s3.get_object(Bucket="org-a-exports", Key=key)["Body"].read().decode("utf-8", "replace")
                )
                assert_no_secret(f"s3 object {key}", body)
        finally:
            server.stop()


def test_a_malformed_webhook_url_never_shows_its_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from flatexport.quality.alerts import AlertEvent, send_alert

    for url in (
        f"htps://hooks.example/services/T0/B0/{SECRETS['webhook']}",
        f"https://hooks.example:notaport/services/{SECRETS['webhook']}",
        f"http://127.0.0.1:1/services/T0/B0/{SECRETS['webhook']}",
        f"https://hooks.example/x?token={SECRETS['webhook']}",
    ):
        monkeypatch.setenv(
            "AIRFLOW_CONN_QA_HOOK", json.dumps({"conn_type": "http", "extra": {"webhook_url": url}})
        )
        event = AlertEvent(org="org_a", report="clickstream", ds=DAY, severity="error", summary="x")
        with caplog.at_level(logging.INFO), pytest.raises(DeliveryError) as err:
            send_alert(event, smtp_conn_id=None, webhook_conn_id="qa_hook")
        assert "webhook" in str(err.value)
        assert_no_secret("the alert failure", str(err.value))
        assert_no_secret("the alert log", caplog.text)
