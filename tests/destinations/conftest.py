"""Fixtures for destination tests: one moto server per session, buckets and Airflow
connections per test, and a fault-injecting proxy for what moto will not do by itself
(corrupt checksums, throttle, refuse a KMS key)."""

from __future__ import annotations

import os

# No test may wait for a GCE metadata server when a connection has no key (google-auth
# reads this once, at import).
os.environ.setdefault("NO_GCE_CHECK", "true")

import http.client  # noqa: E402
import json  # noqa: E402
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from flatexport.hashing import sha256_file
from flatexport.staged import StagedFile
from tests.support.drive_server import DriveServer
from tests.support.moto_server import aws_connection_json, boto3_client, start_moto_server

# --- moto, buckets, connections -----------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_admin(moto_endpoint: str) -> Any:
    """A client for arranging and inspecting state, independent of the code under test."""
    return boto3_client("s3", moto_endpoint)


@pytest.fixture
def bucket(s3_admin: Any) -> str:
    name = f"fx-{uuid.uuid4().hex[:12]}"
    s3_admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def aws_conn(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> Callable[..., str]:
    """Define an 'aws' Airflow connection as an env variable; returns its conn_id.

    Each call gets a fresh id so no connection cache can hand a test another test's settings.
    """

    def make(endpoint_url: str | None = None, **kwargs: Any) -> str:
        conn_id = f"s3_test_{uuid.uuid4().hex[:8]}"
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", aws_connection_json(endpoint_url or moto_endpoint, **kwargs)
        )
        return conn_id

    return make


# --- the local Drive v3 server -------------------------------------------------------------


@pytest.fixture(scope="session")
def drive_server() -> Iterator[DriveServer]:
    server = DriveServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def drive(drive_server: DriveServer) -> DriveServer:
    """The session's server, emptied: each test starts with no files, requests or failures."""
    drive_server.reset()
    return drive_server


@pytest.fixture
def gcp_conn(monkeypatch: pytest.MonkeyPatch, drive: DriveServer) -> Callable[..., str]:
    """Define a google_cloud_platform connection as an env variable; returns a fresh conn_id."""

    def make(extra: dict[str, Any] | None = None, conn_type: str = "google_cloud_platform") -> str:
        conn_id = f"gdrive_test_{uuid.uuid4().hex[:8]}"
        value = {"conn_type": conn_type, "extra": drive.connection_extra() if extra is None else extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(value))
        return conn_id

    return make


# --- staged files -----------------------------------------------------------------------------


@pytest.fixture
def make_staged(tmp_path: Path) -> Callable[..., StagedFile]:
    def make(data: bytes, name: str = "clickstream_2024-11-04.csv", fmt: str = "csv") -> StagedFile:
        path = tmp_path / f"{uuid.uuid4().hex[:6]}-{name}"
        path.write_bytes(data)
        return StagedFile(
            path=str(path),
            name=name,
            report="clickstream",
            org_id="org_a",
            ds="2024-11-04",
            format=fmt,
            rows=max(data.count(b"\n") - 1, 0),
            sha256=sha256_file(path),
            bytes=len(data),
        )

    return make


# --- fault-injecting proxy ----------------------------------------------------------------

Headers = list[tuple[str, str]]
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te", "upgrade"}


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class FaultProxy:
    """A loopback HTTP proxy in front of moto.

    ``inject(method, path)`` may return (status, error code[, message]) to answer instead of moto;
    ``alter(method, path, headers)`` may rewrite moto's response headers. Every request is
    recorded in order, so tests can assert ordering and retry counts.
    """

    upstream: str
    inject: Callable[[str, str], tuple[Any, ...] | None] | None = None
    alter: Callable[[str, str, Headers], Headers] | None = None
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        handler = type("Handler", (_ProxyHandler,), {"proxy": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def requests(self, method: str | None = None, path_contains: str = "") -> list[Seen]:
        with self.lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and path_contains in s.path.split("?")[0]
            ]


def error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>"
    ).encode()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # needed for botocore's Expect: 100-continue
    proxy: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        with self.proxy.lock:
            self.proxy.seen.append(record)
        injected = self.proxy.inject(self.command, self.path) if self.proxy.inject else None
        if injected:
            status, code = injected[:2]
            message = injected[2] if len(injected) > 2 else f"injected by the test proxy ({code})"
            headers: Headers = [("Content-Type", "application/xml")]
            data = error_xml(code, message)
        else:
            status, headers, data = self._forward(body)
        if self.proxy.alter:
            headers = self.proxy.alter(self.command, self.path, headers)
        record.status = status
        self._reply(status, headers, data)

    def _forward(self, body: bytes) -> tuple[int, Headers, bytes]:
        upstream = urlparse(self.proxy.upstream)
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.endheaders(body or None)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheaders(), data
        finally:
            conn.close()

    def _reply(self, status: int, headers: Headers, data: bytes) -> None:
        self.send_response(status)
        length = None
        for name, value in headers:
            lower = name.lower()
            if lower == "content-length":
                length = value
            elif lower not in HOP_BY_HOP and lower not in ("server", "date"):
                self.send_header(name, value)
        is_head = self.command == "HEAD"
        self.send_header("Content-Length", str(length if is_head and length is not None else len(data)))
        self.end_headers()
        if not is_head:
            self.wfile.write(data)


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream=moto_endpoint)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


# --- e-mail: a real SMTP server, its connection, and who may receive org_a's files ----------

ORG_A_ADMIN = "ada.admin@org-a.example"
ORG_A_VOLUNTEER = "val.volunteer@org-a.example"
ORG_B_ADMIN = "bob.admin@org-b.example"


@pytest.fixture
def mailbox() -> Iterator[Any]:
    """aiosmtpd on loopback, keeping every message it receives."""
    from tests.support.smtp_server import Mailbox, start_smtp_server

    box = Mailbox()
    controller, box.port = start_smtp_server(box)  # type: ignore[attr-defined]
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_conn(monkeypatch: pytest.MonkeyPatch, mailbox: Any) -> Callable[..., str]:
    """An 'smtp' Airflow connection to the mailbox's server; returns a fresh conn_id."""
    from tests.support.smtp_server import smtp_connection_json

    def make(port: int | None = None, **extra: Any) -> str:
        conn_id = f"smtp_test_{uuid.uuid4().hex[:8]}"
        value = smtp_connection_json(port or mailbox.port, **extra)
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
        return conn_id

    return make


@pytest.fixture
def admin_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A source whose org_users say who administers org_a and org_b (the only table the
    recipient rule reads; actions, empty, is there for the org check at add), as
    FLATEXPORT_SOURCE_URL."""
    import duckdb

    from flatexport.seed.organizing_schema import ORGANIZING_DDL

    path = tmp_path / "admins.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(ORGANIZING_DDL["org_users"])
        con.execute(ORGANIZING_DDL["actions"])
        for uid, org, email, role in [
            (1, "org_a", f" {ORG_A_ADMIN.upper()} ", "admin"),  # stored with spaces and in capitals
            (2, "org_a", ORG_A_VOLUNTEER, "volunteer"),
            (3, "org_b", ORG_B_ADMIN, "admin"),
        ]:
            con.execute(
                "INSERT INTO org_users (id, org_id, email, role, created_at) VALUES (?, ?, ?, ?, now())",
                [uid, org, email, role],
            )
    url = f"duckdb:///{path}"
    monkeypatch.setenv("FLATEXPORT_SOURCE_URL", url)
    return url
