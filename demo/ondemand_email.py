"""The demo's on-demand request, delivered by e-mail.

A local SMTP server (aiosmtpd) stands in for the mail relay and files what it receives in
a Maildir (data/mailbox); the `flatexport_smtp` connection points at it for this one
command. The request is the one an org admin would make: the messages of one of the
org's peer-to-peer actions, now, to the admin's own address. Prints where the mail landed
and what it carries.
"""

from __future__ import annotations

import csv
import email
import email.policy
import gzip
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from flatexport.paths import data_dir
from flatexport.source import resolve_source_url

ORG = "org_acme"


class Sink(Mailbox):
    """A Maildir that remembers the path of each message it files."""

    def __init__(self, folder: Path) -> None:
        super().__init__(str(folder))
        self.folder = folder
        self.delivered: list[Path] = []

    def handle_message(self, message) -> None:  # type: ignore[override]
        key = self.mailbox.add(message)
        self.delivered.append(self.folder / "new" / key)


def request_of(warehouse: str) -> tuple[str, int]:
    """The org's first admin and its first peer-to-peer action, from the sample warehouse."""
    with duckdb.connect(warehouse, read_only=True) as con:
        (admin,) = con.execute(
            "SELECT trim(email) FROM org_users WHERE org_id = ? AND role = 'admin' ORDER BY id LIMIT 1", [ORG]
        ).fetchone()
        (action,) = con.execute(
            "SELECT id FROM actions WHERE org_id = ? AND action_type = 'TextaList' ORDER BY id LIMIT 1", [ORG]
        ).fetchone()
    return admin, action


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    warehouse = resolve_source_url(None).removeprefix("duckdb:///")
    admin, action = request_of(warehouse)
    sink = Sink(data_dir() / "mailbox")
    port = free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()
    try:
        smtp = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"from_email": "exports@flatexport.example", "disable_ssl": True, "disable_tls": True},
        }
        env = {**os.environ, "AIRFLOW_CONN_FLATEXPORT_SMTP": json.dumps(smtp)}
        command = [
            "flatexport",
            "request",
            "messages",
            "--org",
            ORG,
            "--action",
            str(action),
            "--email",
            admin,
        ]
        print("$ " + " ".join(command) + " --local")
        done = subprocess.run(
            [str(Path(sys.executable).with_name("flatexport")), *command[1:], "--local"],
            env=env,
            capture_output=True,
            text=True,
        )
        print((done.stdout.strip().splitlines() or [""])[-1])
        if done.returncode != 0:
            print(done.stderr.strip()[-2000:], file=sys.stderr)
            return done.returncode
    finally:
        server.stop()

    for path in sink.delivered:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print(f"\nMail for {message['To']} landed in {path}")
        print(f"  Subject: {message['Subject']}")
        for part in message.iter_attachments():
            data = part.get_payload(decode=True)
            shown = f"{len(data)} bytes"
            if part.get_filename().endswith(".gz"):
                text = gzip.decompress(data).decode("utf-8")
                shown += f", {len(list(csv.reader(io.StringIO(text, newline='')))) - 1} rows after gunzip"
            print(f"  attached: {part.get_filename()} ({shown})")
    return 0 if sink.delivered else 1


if __name__ == "__main__":
    sys.exit(main())
