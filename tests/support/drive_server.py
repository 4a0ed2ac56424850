"""A local stand-in for the Google Drive v3 files API and Google's OAuth token endpoint.

The real ``googleapiclient`` talks to it over HTTP, so tests exercise the same request
building, resumable chunking, retries and error payloads as production, without Google.
It implements only what flatexport uses, but with Drive's semantics where they matter:
``fields`` selection (md5Checksum must be asked for), shared-drive items hidden unless
``supportsAllDrives=true``, ``q`` escaping (a badly quoted name is a 400), 404 for folders
not shared with the caller, and the storage-quota refusal a service account gets in a
My Drive folder.

Knobs: ``fail_next(n, status)`` (429/5xx with Google's error bodies), ``wrong_md5``,
``add_folder(my_drive_owner=...)`` (service accounts get 403 storageQuotaExceeded there),
``add_folder(shared=False)`` / ``unshare()`` and unknown ids (404 File not found),
``can_add_children=False`` (403), ``delete_forbidden=True`` (only trashing works),
``deny_delegation`` (the token endpoint refuses a ``sub`` claim).

Typical use::

    server = DriveServer().start()
    folder = server.add_folder(name="exports")
    extra = server.connection_extra()            # keyfile_dict, token_uri, root_url
    ... deliver ...
    [f.name for f in server.files_in(folder)]
    server.stop()
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

FOLDER_MIME = "application/vnd.google-apps.folder"
GOOGLE_MIME_PREFIX = "application/vnd.google-apps."
FILE_DEFAULT_FIELDS = "kind,id,name,mimeType"
LIST_DEFAULT_FIELDS = f"kind,incompleteSearch,nextPageToken,files({FILE_DEFAULT_FIELDS})"
SA_QUOTA_MESSAGE = (
    "Service Accounts do not have storage quota. Leverage shared drives "
    "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
    "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead."
)
_ERRORS = {  # status -> (reason, message, domain) for injected failures
    429: ("rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"),
    500: ("backendError", "Internal Error", "global"),
    502: ("backendError", "Bad Gateway", "global"),
    503: ("backendError", "Service Unavailable", "global"),
}


@dataclass
class DriveFile:
    """One stored file or folder; folders carry the sharing knobs."""

    id: str
    name: str
    mime_type: str
    parents: list[str] = field(default_factory=list)
    content: bytes = b""
    drive_id: str | None = None
    trashed: bool = False
    version: int = 1
    # folder knobs
    shared_with: set[str] | None = None  # None: visible to every caller
    my_drive_owner: str | None = None  # folder in this user's My Drive (service accounts get no quota)
    can_add_children: bool = True
    delete_forbidden: bool = False  # children cannot be deleted permanently (shared-drive content manager)

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER_MIME

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content).hexdigest()

    def resource(self, wrong_md5: bool = False) -> dict[str, Any]:
        res: dict[str, Any] = {
            "kind": "drive#file",
            "id": self.id,
            "name": self.name,
            "mimeType": self.mime_type,
            "parents": list(self.parents),
            "trashed": self.trashed,
            "version": str(self.version),
            "capabilities": {"canAddChildren": self.is_folder and self.can_add_children},
        }
        if self.drive_id:
            res["driveId"] = self.drive_id
        if not self.mime_type.startswith(GOOGLE_MIME_PREFIX):  # Google Docs/Sheets have no md5 or size
            res["md5Checksum"] = "0" * 32 if wrong_md5 else self.md5
            res["size"] = str(len(self.content))
        return res


@dataclass
class Recorded:
    """One API request as the server saw it, for assertions."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0


@dataclass
class _Session:
    """A resumable upload in progress."""

    op: str  # create | update
    metadata: dict[str, Any]
    query: dict[str, str]
    identity: dict[str, Any]
    media_type: str
    file_id: str | None = None
    received: bytearray = field(default_factory=bytearray)


@dataclass
class _Failure:
    status: int
    method: str | None
    path_contains: str | None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


class ApiError(Exception):
    """Raised inside handlers; becomes a Google-shaped JSON error response."""

    def __init__(self, status: int, reason: str, message: str, domain: str = "global") -> None:
        super().__init__(message)
        self.status, self.reason, self.message, self.domain = status, reason, message, domain

    def body(self) -> dict[str, Any]:
        error = {"domain": self.domain, "reason": self.reason, "message": self.message}
        return {"error": {"code": self.status, "message": self.message, "errors": [error]}}


def not_found(file_id: str) -> ApiError:
    return ApiError(404, "notFound", f"File not found: {file_id}.")


def new_id(prefix: str = "1") -> str:
    return prefix + secrets.token_urlsafe(24).replace("=", "")[:32]


# --- service-account keys -------------------------------------------------------------


@cache
def _private_key_pem() -> str:
    """One RSA key per test session: generating keys is the slow part."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def service_account_info(token_uri: str, email: str = "exporter@flatexport-test.iam.gserviceaccount.com"):
    """A real-format service-account key whose token endpoint is the local server."""
    return {
        "type": "service_account",
        "project_id": "flatexport-test",
        "private_key_id": "0" * 40,
        "private_key": _private_key_pem(),
        "client_email": email,
        "client_id": "100000000000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


# --- helpers for q and fields ------------------------------------------------------------

_QUOTED = r"'((?:[^'\\]|\\.)*)'"
_TERMS = [
    ("name", re.compile(rf"name\s*=\s*{_QUOTED}")),
    ("parent", re.compile(rf"{_QUOTED}\s+in\s+parents")),
    ("trashed", re.compile(r"trashed\s*=\s*(true|false)")),
    ("mimeType", re.compile(rf"mimeType\s*=\s*{_QUOTED}")),
]
_AND = re.compile(r"\s+and\s+")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_q(q: str) -> list[tuple[str, str]]:
    """Parse the subset of Drive's query language flatexport uses; anything else is a 400."""
    terms, pos, q = [], 0, q.strip()
    while True:
        for kind, pattern in _TERMS:
            match = pattern.match(q, pos)
            if match:
                terms.append((kind, _unescape(match.group(1)) if kind != "trashed" else match.group(1)))
                pos = match.end()
                break
        else:
            raise ApiError(400, "invalid", "Invalid Value", "global")
        if pos == len(q):
            return terms
        joiner = _AND.match(q, pos)
        if not joiner:
            raise ApiError(400, "invalid", "Invalid Value", "global")
        pos = joiner.end()


def _split_fields(spec: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in spec:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [item for item in [*out, cur.strip()] if item]


def select_fields(resource: dict[str, Any], spec: str) -> dict[str, Any]:
    """Drive's partial responses: only the fields asked for (``a,b(c,d),e/f``)."""
    if spec.strip() == "*":
        return resource
    result: dict[str, Any] = {}
    for item in _split_fields(spec):
        if "(" in item:
            key, inner = item.split("(", 1)
            value = resource.get(key.strip())
            inner = inner[:-1]
            if isinstance(value, list):
                result[key.strip()] = [select_fields(v, inner) for v in value]
            elif isinstance(value, dict):
                result[key.strip()] = select_fields(value, inner)
        elif "/" in item:
            key, rest = item.split("/", 1)
            if isinstance(resource.get(key), dict):
                result.setdefault(key, {}).update(select_fields(resource[key], rest))
        elif item in resource:
            result[item] = resource[item]
    return result


def _jwt_claims(assertion: str) -> dict[str, Any]:
    payload = assertion.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- the server ------------------------------------------------------------------------


class DriveServer:
    """In-memory Drive v3 + OAuth token endpoint on 127.0.0.1, served from a thread."""

    def __init__(self, *, require_auth: bool = True) -> None:
        self.require_auth = require_auth
        self.files: dict[str, DriveFile] = {}
        self.requests: list[Recorded] = []
        self.token_requests: list[dict[str, Any]] = []
        self.tokens: dict[str, dict[str, Any]] = {}
        self.wrong_md5 = False  # report a wrong md5Checksum for uploaded files
        self.deny_delegation = False  # token endpoint refuses impersonation (sub claim)
        self._failures: list[_Failure] = []
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def reset(self) -> None:
        """Forget files, requests, tokens and knobs; lets one server (one port) serve many tests.

        A stable port keeps connection extras identical between tests, which matters because
        Airflow's secrets masker recompiles its pattern for every new secret value it sees.
        """
        with self._lock:
            self.files.clear()
            self.requests.clear()
            self.token_requests.clear()
            self.tokens.clear()
            self._failures.clear()
            self._sessions.clear()
            self.wrong_md5 = self.deny_delegation = False

    def start(self) -> DriveServer:
        handler = type("Handler", (_Handler,), {"drive": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="drive-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> DriveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def root_url(self) -> str:
        """What replaces https://www.googleapis.com/ in the discovery document."""
        return self.base_url + "/"

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    # setup
    def add_folder(
        self,
        folder_id: str | None = None,
        *,
        name: str = "exports",
        shared_drive: bool = True,
        my_drive_owner: str | None = None,
        shared: bool = True,
        can_add_children: bool = True,
        delete_forbidden: bool = False,
    ) -> str:
        """A folder in a shared drive (default), or in ``my_drive_owner``'s My Drive."""
        folder_id = folder_id or new_id("1F")
        in_drive = shared_drive and my_drive_owner is None
        with self._lock:
            self.files[folder_id] = DriveFile(
                id=folder_id,
                name=name,
                mime_type=FOLDER_MIME,
                drive_id=new_id("0A")[:19] if in_drive else None,
                shared_with=None if shared else set(),
                my_drive_owner=my_drive_owner,
                can_add_children=can_add_children,
                delete_forbidden=delete_forbidden,
            )
        return folder_id

    def add_file(self, folder_id: str, name: str, content: bytes = b"", mime_type: str = "text/csv") -> str:
        """Seed a file, e.g. a same-named duplicate someone uploaded by hand."""
        with self._lock:
            folder = self.files[folder_id]
            file = DriveFile(new_id(), name, mime_type, [folder_id], content, folder.drive_id)
            self.files[file.id] = file
        return file.id

    def fail_next(
        self,
        count: int = 1,
        status: int = 429,
        *,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching API requests (not token requests) with ``status``."""
        with self._lock:
            self._failures.extend(_Failure(status, method, path_contains) for _ in range(count))

    def unshare(self, folder_id: str) -> None:
        """The folder exists but is not shared with anyone: Drive answers 404 File not found."""
        with self._lock:
            self.files[folder_id].shared_with = set()

    def connection_extra(self, *, email: str = "exporter@flatexport-test.iam.gserviceaccount.com", **more):
        """A google_cloud_platform connection extra pointing the real client at this server."""
        key = service_account_info(self.token_uri, email)
        return {
            "keyfile_dict": json.dumps(key),
            "root_url": self.root_url,
            "token_uri": self.token_uri,
            **more,
        }

    def airflow_conn_json(self, **kwargs: Any) -> str:
        """Value for an AIRFLOW_CONN_<ID> environment variable."""
        return json.dumps({"conn_type": "google_cloud_platform", "extra": self.connection_extra(**kwargs)})

    # inspection
    def files_in(self, folder_id: str, *, include_trashed: bool = False) -> list[DriveFile]:
        with self._lock:
            return [
                f
                for f in self.files.values()
                if folder_id in f.parents and (include_trashed or not f.trashed)
            ]

    def file(self, file_id: str) -> DriveFile:
        return self.files[file_id]

    def api_requests(self, path_contains: str = "/drive/v3/files") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path_contains in r.path]

    # request handling (called from the handler thread)
    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes):
        """Route one request; returns (status, extra headers, JSON body or None)."""
        if path == "/token" and method == "POST":
            return self._token(body)
        record = Recorded(method, path, query, headers, body)
        with self._lock:
            self.requests.append(record)
            failure = next((f for f in self._failures if f.matches(method, path)), None)
            if failure is not None:
                self._failures.remove(failure)
        try:
            if failure is not None:
                reason, message, domain = _ERRORS.get(failure.status, ("backendError", "Error", "global"))
                raise ApiError(failure.status, reason, message, domain)
            identity = self._identity(headers)
            with self._lock:
                status, extra_headers, payload = self._route(method, path, query, headers, body, identity)
        except ApiError as exc:
            status, extra_headers, payload = exc.status, {}, exc.body()
        record.status = status
        return status, extra_headers, payload

    def _token(self, body: bytes):
        form = dict(parse_qsl(body.decode()))
        claims = _jwt_claims(form.get("assertion", "x.e30.x"))
        with self._lock:
            self.token_requests.append({"grant_type": form.get("grant_type"), **claims})
        if self.deny_delegation and claims.get("sub"):
            return 401, {}, {"error": "unauthorized_client", "error_description": "Client is unauthorized"}
        token = "ya29.local-" + secrets.token_hex(8)
        with self._lock:
            self.tokens[token] = {"email": claims.get("iss"), "subject": claims.get("sub")}
        return 200, {}, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _identity(self, headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if token in self.tokens:
            return self.tokens[token]
        if self.require_auth:
            raise ApiError(401, "authError", "Request had invalid authentication credentials.")
        return {"email": None, "subject": None}

    def _route(self, method, path, query, headers, body, identity):
        parts = path.strip("/").split("/")
        if parts[:3] == ["upload", "drive", "v3"] and parts[3:4] == ["files"]:
            file_id = parts[4] if len(parts) > 4 else None
            if "upload_id" in query and method == "PUT":
                return self._chunk(query["upload_id"], headers, body)
            return self._upload_start(method, file_id, query, headers, body, identity)
        if parts[:3] == ["drive", "v3", "files"]:
            file_id = parts[3] if len(parts) > 3 else None
            if file_id is None and method == "GET":
                return 200, {}, self._list(query, identity)
            if file_id is None and method == "POST":
                meta = json.loads(body or b"{}")
                return 200, {}, self._finish("create", meta, query, identity, b"", None)
            if file_id and method == "GET":
                return (
                    200,
                    {},
                    select_fields(
                        self._get(file_id, query, identity).resource(self.wrong_md5), self._fields(query)
                    ),
                )
            if file_id and method == "PATCH":
                meta = json.loads(body or b"{}")
                return 200, {}, self._finish("update", meta, query, identity, None, file_id)
            if file_id and method == "DELETE":
                return self._delete(file_id, query, identity)
        raise ApiError(404, "notFound", f"Not Found: {method} {path}")

    def _fields(self, query: dict[str, str], default: str = FILE_DEFAULT_FIELDS) -> str:
        return query.get("fields") or default

    def _visible(self, file: DriveFile, query: dict[str, str], identity: dict[str, Any]) -> bool:
        """Drive hides shared-drive items unless supportsAllDrives=true, and unshared folders."""
        if file.drive_id and query.get("supportsAllDrives") != "true":
            return False
        if file.is_folder:
            who = identity.get("subject") or identity.get("email")
            return file.shared_with is None or who in file.shared_with
        return all(self._visible(self.files[p], query, identity) for p in file.parents if p in self.files)

    def _get(self, file_id: str, query: dict[str, str], identity: dict[str, Any]) -> DriveFile:
        file = self.files.get(file_id)
        if file is None or not self._visible(file, query, identity):
            raise not_found(file_id)
        return file

    def _list(self, query: dict[str, str], identity: dict[str, Any]) -> dict[str, Any]:
        terms = parse_q(query.get("q", ""))
        all_drives = (
            query.get("includeItemsFromAllDrives") == "true" and query.get("supportsAllDrives") == "true"
        )
        matches = []
        for file in self.files.values():
            if file.drive_id and not all_drives:
                continue
            if not self._visible(file, query, identity) or not all(self._term(file, t) for t in terms):
                continue
            matches.append(file.resource(self.wrong_md5))
        start = int(query.get("pageToken") or 0)
        size = int(query.get("pageSize") or 100)
        page = {"kind": "drive#fileList", "incompleteSearch": False, "files": matches[start : start + size]}
        if start + size < len(matches):
            page["nextPageToken"] = str(start + size)
        return select_fields(page, query.get("fields") or LIST_DEFAULT_FIELDS)

    @staticmethod
    def _term(file: DriveFile, term: tuple[str, str]) -> bool:
        kind, value = term
        if kind == "name":
            return file.name == value
        if kind == "parent":
            return value in file.parents
        if kind == "trashed":
            return file.trashed == (value == "true")
        return file.mime_type == value

    def _delete(self, file_id: str, query: dict[str, str], identity: dict[str, Any]):
        file = self._get(file_id, query, identity)
        if any(self.files[p].delete_forbidden for p in file.parents if p in self.files):
            raise ApiError(
                403, "insufficientFilePermissions", "The user does not have sufficient permissions."
            )
        del self.files[file_id]
        return 204, {}, None

    def _check_parent(self, parent_id: str, query: dict[str, str], identity: dict[str, Any]) -> DriveFile:
        """Where Drive refuses a new file: unknown/unshared folder, read-only, SA in My Drive."""
        parent = self.files.get(parent_id)
        if parent is None or not parent.is_folder or not self._visible(parent, query, identity):
            raise not_found(parent_id)
        if not parent.can_add_children:
            raise ApiError(
                403,
                "insufficientFilePermissions",
                "The user does not have sufficient permissions for this file.",
            )
        if parent.my_drive_owner and not identity.get("subject"):
            raise ApiError(403, "storageQuotaExceeded", SA_QUOTA_MESSAGE, "usageLimits")
        return parent

    def _upload_start(self, method, file_id, query, headers, body, identity):
        upload_type = query.get("uploadType")
        op = "update" if file_id else "create"
        if (op == "create" and method != "POST") or (op == "update" and method != "PATCH"):
            raise ApiError(405, "methodNotAllowed", "Method not allowed")
        if upload_type == "multipart":
            meta, content, _media_type = _parse_multipart(headers, body)
            return 200, {}, self._finish(op, meta, query, identity, content, file_id)
        if upload_type == "media":
            return 200, {}, self._finish(op, {}, query, identity, body, file_id)
        if upload_type != "resumable":
            raise ApiError(400, "invalid", f"Invalid uploadType: {upload_type}")
        meta = json.loads(body or b"{}")
        if op == "create":
            for parent in meta.get("parents") or []:
                self._check_parent(parent, query, identity)
        else:
            self._get(file_id, query, identity)
        media_type = headers.get("x-upload-content-type", "application/octet-stream")
        upload_id = secrets.token_hex(12)
        self._sessions[upload_id] = _Session(op, meta, dict(query), identity, media_type, file_id)
        # Like Google, the session URI repeats the original parameters and adds upload_id.
        location = f"{self.base_url}/upload/drive/v3/files{'/' + file_id if file_id else ''}"
        return 200, {"Location": f"{location}?{urlencode({**query, 'upload_id': upload_id})}"}, None

    def _chunk(self, upload_id: str, headers: dict[str, str], body: bytes):
        """One PUT of a resumable session: 308 with Range until the last byte arrives."""
        session = self._sessions.get(upload_id)
        if session is None:
            raise ApiError(404, "notFound", "Upload session not found")
        content_range = headers.get("content-range")
        total: int | None
        if content_range is None:  # empty file: no range at all
            session.received.extend(body)
            total = len(session.received)
        else:
            match = re.fullmatch(r"bytes (\*|(\d+)-(\d+))/(\*|\d+)", content_range.strip())
            if not match:
                raise ApiError(400, "badContentRange", f"Bad Content-Range: {content_range}")
            total = None if match.group(4) == "*" else int(match.group(4))
            if match.group(1) != "*":
                start, end = int(match.group(2)), int(match.group(3))
                if end - start + 1 != len(body):
                    raise ApiError(400, "badContent", "Content-Range does not match the body length")
                if start == len(session.received):  # ignore chunks we already have
                    session.received.extend(body)
        if total is not None and len(session.received) == total:
            del self._sessions[upload_id]
            s = session
            return (
                200,
                {},
                self._finish(s.op, s.metadata, s.query, s.identity, bytes(s.received), s.file_id, s),
            )
        range_header = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
        return 308, range_header, None

    def _finish(self, op, meta, query, identity, content, file_id, session=None) -> dict[str, Any]:
        """Create or update a file from finished upload content; returns the selected fields."""
        media_type = session.media_type if session else "application/octet-stream"
        if op == "create":
            parents = meta.get("parents") or []
            drive_id = None
            for parent_id in parents:
                drive_id = self._check_parent(parent_id, query, identity).drive_id
            mime = meta.get("mimeType") or media_type
            file = DriveFile(
                new_id(), meta.get("name", "Untitled"), mime, list(parents), content or b"", drive_id
            )
            self.files[file.id] = file
        else:
            file = self._get(file_id, query, identity)
            if "name" in meta:
                file.name = meta["name"]
            if "mimeType" in meta:
                file.mime_type = meta["mimeType"]
            if "trashed" in meta:
                file.trashed = bool(meta["trashed"])
            if content is not None:
                file.content = content
                file.version += 1
        return select_fields(file.resource(self.wrong_md5), self._fields(query))


def _parse_multipart(headers: dict[str, str], body: bytes) -> tuple[dict[str, Any], bytes, str]:
    """uploadType=multipart: a JSON metadata part, then the media part."""
    raw = f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode() + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise ApiError(400, "badRequest", "multipart upload needs metadata and media parts")
    meta = json.loads(parts[0].get_payload(decode=True) or b"{}")
    return meta, parts[1].get_payload(decode=True) or b"", parts[1].get_content_type()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # httplib2 keeps connections alive; always send Content-Length
    timeout = 10  # a client that sends a short body (e.g. a badly retried chunk) fails instead of hanging
    drive: DriveServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if headers.get("x-http-method-override"):  # long GET turned into POST by the client
            query.update(parse_qsl(body.decode()))
            method, body = headers["x-http-method-override"], b""
        else:
            method = self.command
        status, extra, payload = self.drive.handle(method, parts.path, query, headers, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status, "Resume Incomplete" if status == 308 else None)
        for key, value in extra.items():
            self.send_header(key, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout); nothing to do
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve
