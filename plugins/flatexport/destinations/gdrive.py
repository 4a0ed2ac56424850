"""Google Drive destination: gdrive://FOLDER_ID, written by a service account.

Credentials come only from the Airflow Connection the subscription names (conn_type
google_cloud_platform, service-account key in its extra), optionally impersonating a
Workspace user through domain-wide delegation (``subject``).

Design choices, each for a failure seen in the wild:

* Files keep their type (text/csv stays text/csv): no Google mimeType is ever set, so
  Drive never converts an export into a Sheet that customers' scripts cannot download.
* Re-runs update the one existing file of the same name instead of adding a second
  "report (1).csv"; two or more same-named files are an error, because picking one
  would be a guess.
* Uploads are resumable and chunked, and every call passes ``num_retries`` (the
  client's default is 0), so throttling (429) and 5xx are retried by the client.
* Drive reports md5Checksum and size for binary files; both are checked.
* Google's errors become one-line DeliveryErrors that say what to do (share the folder
  with this address, use a shared drive, ...), and never contain key material.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import google.auth.exceptions
import httplib2
from google.oauth2 import service_account
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaFileUpload, MediaIoBaseUpload

from flatexport import connections
from flatexport.destinations.base import Receipt
from flatexport.errors import DeliveryError, InputError
from flatexport.staged import StagedFile
from flatexport.subscriptions import Subscription

log = logging.getLogger(__name__)

DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
FOLDER_MIME = "application/vnd.google-apps.folder"
SHORTCUT_MIME = "application/vnd.google-apps.shortcut"
CHUNK_QUANTUM = 256 * 1024  # Drive rejects non-final chunks that are not a multiple of this
DEFAULT_CHUNKSIZE = 8 * 1024 * 1024
DEFAULT_NUM_RETRIES = 5
FILE_FIELDS = "id,name,md5Checksum,size"
FOLDER_FIELDS = "id,name,mimeType,driveId,capabilities/canAddChildren"
CONN_TYPES = ("google_cloud_platform", "gcp")
EXTRA_PREFIX = "extra__google_cloud_platform__"
RETRYABLE_403 = ("rateLimitExceeded", "userRateLimitExceeded", "dailyLimitExceeded")
PERMISSION_403 = ("insufficientPermissions", "insufficientFilePermissions", "forbidden", "cannotAddParent")

_FOLDER_ID = re.compile(r"[A-Za-z0-9_-]{10,200}")
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com")


# --- folder ids and URLs -----------------------------------------------------------------


def validate_folder_id(folder_id: str) -> str:
    """Accept anything shaped like a Drive id; reject URLs, paths and typos early.

    Drive ids are URL-safe base64-ish ([A-Za-z0-9_-]); folders are usually 33 characters,
    shared-drive roots 19 ("0A..."). The bounds are loose on purpose: Google does not
    document the length, only the alphabet.
    """
    if not isinstance(folder_id, str) or not _FOLDER_ID.fullmatch(folder_id):
        raise InputError(
            f"not a Google Drive folder id: {folder_id!r} (expected letters, digits, '-' and '_', "
            "e.g. the part after /folders/ in the folder's URL)"
        )
    return folder_id


def parse_gdrive_url(url: str) -> str:
    """The folder id in gdrive://ID, a pasted drive.google.com folder URL, or a bare id."""
    text = url.strip()
    parsed = urlparse(text)
    scheme = parsed.scheme.lower()
    if scheme == "gdrive":
        rest = text.split("://", 1)[1]
        if rest.lower().startswith(("http://", "https://")):  # gdrive://<pasted web URL>
            return parse_gdrive_url(rest)
        return validate_folder_id(rest.strip("/"))
    if scheme in ("http", "https"):
        return validate_folder_id(_id_from_web_url(parsed.netloc.lower(), parsed.path, parsed.query, text))
    if not scheme:
        return validate_folder_id(text)
    raise InputError(f"not a Google Drive folder URL: {url!r} (use gdrive://FOLDER_ID)")


def _id_from_web_url(host: str, path: str, query: str, original: str) -> str:
    """/drive/folders/ID, /drive/u/0/folders/ID, /open?id=ID (the forms the Drive UI shares)."""
    if host not in _DRIVE_HOSTS:
        raise InputError(f"not a Google Drive URL: {original!r} (expected https://drive.google.com/...)")
    segments = [s for s in path.split("/") if s]
    if "folders" in segments and segments.index("folders") + 1 < len(segments):
        return segments[segments.index("folders") + 1]
    ids = parse_qs(query).get("id")
    if ids:
        return ids[0]
    raise InputError(f"no folder id in {original!r} (open the folder in Drive and copy its URL)")


def escape_query_value(value: str) -> str:
    """Drive's q language quotes strings with '...'; backslash and quote need a backslash."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def md5_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def upload_mimetype(staged: StagedFile) -> str:
    """What Drive should store: text/csv for CSV, application/gzip for compressed files."""
    return "application/gzip" if staged.content_encoding == "gzip" else staged.content_type


# --- credentials and client ------------------------------------------------------------


def connection_extra(conn: Any) -> dict[str, Any]:
    """The extra with the provider's ``extra__google_cloud_platform__`` prefixes removed."""
    extra = dict(getattr(conn, "extra_dejson", None) or {})
    for key in [k for k in extra if k.startswith(EXTRA_PREFIX)]:
        extra.setdefault(key[len(EXTRA_PREFIX) :], extra[key])
        del extra[key]
    return {k: v for k, v in extra.items() if v not in (None, "")}


def service_account_key(extra: dict[str, Any], conn_id: str) -> dict[str, Any]:
    """The key JSON from keyfile_dict (dict or JSON text) or key_path; errors never echo it."""
    if "keyfile_dict" in extra:
        raw = extra["keyfile_dict"]
        try:
            info = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (ValueError, TypeError):
            raise DeliveryError(f"connection {conn_id!r}: keyfile_dict is not valid JSON") from None
    elif "key_path" in extra:
        try:
            info = json.loads(Path(extra["key_path"]).read_text())
        except OSError as exc:
            raise DeliveryError(
                f"connection {conn_id!r}: cannot read key_path {extra['key_path']}: {exc.strerror}"
            ) from None
        except ValueError:
            raise DeliveryError(f"connection {conn_id!r}: key_path {extra['key_path']} is not JSON") from None
    else:
        raise DeliveryError(
            f"connection {conn_id!r} holds no service-account key (set keyfile_dict or key_path in its extra)"
        )
    if not isinstance(info, dict) or info.get("type") != "service_account":
        kind = info.get("type") if isinstance(info, dict) else type(info).__name__
        raise DeliveryError(f"connection {conn_id!r}: the key is not a service-account key (type {kind!r})")
    if extra.get("token_uri"):
        info = {**info, "token_uri": extra["token_uri"]}
    return info


def credentials_from_connection(conn_id: str, subject: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Service-account credentials (impersonating ``subject`` if given) and the connection extra."""
    conn = connections.get_connection(conn_id)
    conn_type = getattr(conn, "conn_type", None)
    if conn_type and conn_type not in CONN_TYPES:
        raise DeliveryError(
            f"connection {conn_id!r} has type {conn_type!r}; Google Drive needs a google_cloud_platform one"
        )
    extra = connection_extra(conn)
    info = service_account_key(extra, conn_id)
    try:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=[DRIVE_SCOPE])
    except (ValueError, KeyError, TypeError):
        raise DeliveryError(
            f"connection {conn_id!r}: the service-account key is incomplete or malformed "
            "(needs client_email, private_key and token_uri)"
        ) from None
    if subject:
        credentials = credentials.with_subject(subject)
    return credentials, extra


@cache
def _packaged_discovery() -> str:
    """Drive v3's discovery document as shipped with googleapiclient: no network fetch."""
    doc = discovery_cache.get_static_doc("drive", "v3")
    if doc is None:  # pragma: no cover - broken install
        raise DeliveryError("googleapiclient has no packaged Drive v3 discovery document")
    return doc


def discovery_document(root_url: str | None = None) -> dict[str, Any]:
    """The Drive v3 document, optionally re-rooted (tests, proxies).

    The client derives both the API base (rootUrl + servicePath) and the upload endpoint
    (rootUrl + "upload/" + servicePath) from rootUrl, so changing it moves every call.
    """
    doc = json.loads(_packaged_discovery())
    if root_url:
        root = root_url.rstrip("/") + "/"
        doc["rootUrl"] = doc["mtlsRootUrl"] = root
        doc["baseUrl"] = root + doc["servicePath"]
    return doc


def build_drive(credentials: Any, root_url: str | None = None) -> Any:
    return build_from_document(discovery_document(root_url), credentials=credentials)


class _RetryableFileUpload(MediaFileUpload):
    """A resumable file upload whose chunks the client can retry correctly.

    With a stream the client sends each chunk as a slice of the file; when it retries a
    chunk after a 429/5xx it re-sends that already-consumed slice, i.e. an empty body, and
    the request hangs. Reporting no stream makes it read each chunk as bytes instead,
    which it can send again unchanged.
    """

    def has_stream(self) -> bool:
        return False


class _RetryableBytesUpload(MediaIoBaseUpload):
    """Same fix for small in-memory uploads (the probe file)."""

    def has_stream(self) -> bool:
        return False


def _chunksize(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError(f"Drive chunksize must be a number of bytes, not {value!r}") from None


# --- errors --------------------------------------------------------------------------------


def error_reason(exc: Any) -> tuple[str, str]:
    """(reason, message) from a Google JSON error payload; ('', '') if there is none."""
    try:
        error = json.loads(exc.content.decode("utf-8"))["error"]
        first = (error.get("errors") or [{}])[0]
        return str(first.get("reason", "")), " ".join(str(error.get("message", "")).split())
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return "", ""


@dataclass(frozen=True)
class Folder:
    id: str
    name: str
    drive_id: str | None


# --- the destination -------------------------------------------------------------------


class DriveDestination:
    """Delivers staged files into one Drive folder, idempotently and verified."""

    def __init__(
        self,
        folder_id: str,
        service: Any,
        *,
        account: str,
        impersonating: bool = False,
        chunksize: int = DEFAULT_CHUNKSIZE,
        num_retries: int = DEFAULT_NUM_RETRIES,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        """``service`` is a built Drive v3 client; ``account`` the address Drive sees (for messages).

        ``sleep`` replaces the client's back-off sleep (tests make retries instant).
        """
        if chunksize <= 0 or chunksize % CHUNK_QUANTUM:
            raise InputError(f"Drive chunk size must be a positive multiple of 256 KiB, not {chunksize}")
        self.folder_id = validate_folder_id(folder_id)
        self.url = f"gdrive://{self.folder_id}"
        self.service = service
        self.account = account
        self.impersonating = impersonating
        self.chunksize = chunksize
        self.num_retries = num_retries
        self._sleep = sleep

    @classmethod
    def from_subscription(cls, sub: Subscription, **options: Any) -> DriveDestination:
        """Credentials from ``sub.conn_id``; ``sub.subject`` turns on domain-wide delegation."""
        folder_id = parse_gdrive_url(sub.destination)
        if not sub.conn_id:
            raise InputError(
                f"subscription {sub.id}: a gdrive:// destination needs conn_id "
                "(an Airflow google_cloud_platform connection with a service-account key)"
            )
        credentials, extra = credentials_from_connection(sub.conn_id, sub.subject)
        if "chunksize" in sub.extra:
            options.setdefault("chunksize", _chunksize(sub.extra["chunksize"]))
        return cls(
            folder_id,
            build_drive(credentials, extra.get("root_url")),
            account=sub.subject or credentials.service_account_email,
            impersonating=bool(sub.subject),
            **options,
        )

    # public API
    def deliver(self, staged: StagedFile, manifest: Path | None = None) -> Receipt:
        folder = self._folder()
        try:
            md5 = md5_file(staged.path)
        except OSError as exc:
            raise DeliveryError(f"cannot read staged file {staged.path}: {exc.strerror}") from None
        file, replaced = self._put(folder, staged.name, upload_mimetype(staged), Path(staged.path))
        self._verify(folder, staged.name, file, md5, staged.bytes)
        if manifest is not None:
            name = f"{staged.name}.manifest.json"
            meta, _ = self._put(folder, name, "application/json", Path(manifest))
            self._verify(folder, name, meta, md5_file(manifest), Path(manifest).stat().st_size)
        log.info(
            "delivered %s to Drive folder %s as file %s (%s)",
            staged.name,
            folder.id,
            file["id"],
            "replaced the earlier copy" if replaced else "new file",
        )
        return Receipt(
            location=f"gdrive://{folder.id}/{file['id']}",
            bytes=int(file["size"]),
            checksum=f"md5:{md5}",
            replaced=replaced,
        )

    def probe(self) -> str:
        folder = self._folder()
        name = f".flatexport-probe-{uuid.uuid4().hex[:12]}.txt"
        media = _RetryableBytesUpload(
            io.BytesIO(b"flatexport probe\n"), mimetype="text/plain", chunksize=CHUNK_QUANTUM, resumable=True
        )
        body = {"name": name, "parents": [folder.id], "mimeType": "text/plain"}
        with self._errors(f"writing a probe file to Drive folder {folder.name!r}", folder.id):
            request = self.service.files().create(
                body=body, media_body=media, supportsAllDrives=True, fields=FILE_FIELDS
            )
            created = self._upload(request)
        self._remove(folder, created["id"])
        return f"Drive folder {folder.name} ({folder.id}) is writable by {self.account}"

    # steps
    def _folder(self) -> Folder:
        """Fetch the folder first: a clear 'not shared with X' beats a later cryptic failure."""
        with self._errors("reading the folder", self.folder_id):
            meta = self._execute(
                self.service.files().get(fileId=self.folder_id, fields=FOLDER_FIELDS, supportsAllDrives=True)
            )
        if meta.get("mimeType") == SHORTCUT_MIME:
            raise DeliveryError(f"gdrive://{self.folder_id} is a shortcut; use its target folder's id")
        if meta.get("mimeType") != FOLDER_MIME:
            raise DeliveryError(f"gdrive://{self.folder_id} is a file, not a folder (use the folder's id)")
        if not (meta.get("capabilities") or {}).get("canAddChildren", True):
            raise DeliveryError(self._permission_message(meta.get("name") or self.folder_id))
        return Folder(id=meta["id"], name=meta.get("name", ""), drive_id=meta.get("driveId"))

    def _find(self, folder: Folder, name: str) -> list[dict[str, Any]]:
        """Every non-trashed file called exactly ``name`` in the folder (stops once two are seen)."""
        q = f"name = '{escape_query_value(name)}' and '{folder.id}' in parents and trashed = false"
        scope = (
            {"corpora": "drive", "driveId": folder.drive_id} if folder.drive_id else {"corpora": "allDrives"}
        )
        found: list[dict[str, Any]] = []
        token = None
        with self._errors(f"looking for {name!r}", folder.id):
            while True:
                page = self._execute(
                    self.service.files().list(
                        q=q,
                        fields="nextPageToken,incompleteSearch,files(id,name,mimeType)",
                        supportsAllDrives=True,
                        includeItemsFromAllDrives=True,
                        spaces="drive",
                        pageSize=10,
                        pageToken=token,
                        **scope,
                    )
                )
                found += [f for f in page.get("files", []) if f.get("name") == name]
                token = page.get("nextPageToken")
                if len(found) > 1 or not token:
                    break
        if not found and page.get("incompleteSearch"):
            raise DeliveryError(
                f"Drive could not search folder {folder.name!r} completely for {name!r}; "
                "not uploading to avoid a duplicate",
                retryable=True,
            )
        return found

    def _put(self, folder: Folder, name: str, mimetype: str, path: Path) -> tuple[dict[str, Any], bool]:
        """Update the one same-named file, or create it; returns (file resource, replaced)."""
        existing = self._find(folder, name)
        if len(existing) > 1:
            ids = ", ".join(f["id"] for f in existing)
            raise DeliveryError(
                f"Drive folder {folder.name!r} ({folder.id}) holds several files named {name!r} "
                f"(ids {ids}); delete or rename the extras, flatexport will not guess which to replace"
            )
        media = _RetryableFileUpload(str(path), mimetype=mimetype, chunksize=self.chunksize, resumable=True)
        with self._errors(f"uploading {name!r}", folder.id):
            if existing:
                request = self.service.files().update(
                    fileId=existing[0]["id"],
                    body={"mimeType": mimetype},
                    media_body=media,
                    supportsAllDrives=True,
                    fields=FILE_FIELDS,
                )
            else:
                request = self.service.files().create(
                    body={"name": name, "parents": [folder.id], "mimeType": mimetype},
                    media_body=media,
                    supportsAllDrives=True,
                    fields=FILE_FIELDS,
                )
            return self._upload(request), bool(existing)

    def _verify(self, folder: Folder, name: str, file: dict[str, Any], md5: str, size: int) -> None:
        got_md5, got_size = file.get("md5Checksum"), file.get("size")
        if got_md5 == md5 and got_size is not None and int(got_size) == size:
            return
        raise DeliveryError(
            f"Drive copy of {name!r} in folder {folder.name!r} does not match the staged file "
            f"(md5 {got_md5} vs {md5}, size {got_size} vs {size}); file id {file.get('id')}",
            retryable=True,
        )

    def _remove(self, folder: Folder, file_id: str) -> None:
        """Delete the probe; shared-drive content managers may only trash, so fall back to that."""
        with self._errors("removing the probe file", folder.id):
            try:
                self._execute(self.service.files().delete(fileId=file_id, supportsAllDrives=True))
            except HttpError as exc:
                if exc.resp.status != 403:
                    raise
                self._execute(
                    self.service.files().update(
                        fileId=file_id, body={"trashed": True}, supportsAllDrives=True
                    )
                )

    # plumbing
    def _prepare(self, request: Any) -> Any:
        if self._sleep is not None:
            request._sleep = self._sleep  # the client's documented test stub for back-off
        return request

    def _execute(self, request: Any) -> Any:
        return self._prepare(request).execute(num_retries=self.num_retries)

    def _upload(self, request: Any) -> dict[str, Any]:
        """Send a resumable upload chunk by chunk; the client retries each chunk itself."""
        self._prepare(request)
        response = None
        while response is None:
            status, response = request.next_chunk(num_retries=self.num_retries)
            if status is not None:
                log.debug("uploaded %d of %s bytes", status.resumable_progress, status.total_size)
        return response

    @contextmanager
    def _errors(self, action: str, folder_id: str) -> Iterator[None]:
        """Translate client, auth and transport failures into one-line DeliveryErrors."""
        try:
            yield
        except HttpError as exc:
            raise self._http_error(exc, action, folder_id) from None
        except google.auth.exceptions.RefreshError as exc:
            detail = (str(exc.args[0]) if exc.args else "refused").splitlines()[0][:200]
            how = " through domain-wide delegation" if self.impersonating else ""
            raise DeliveryError(f"Google refused an access token for {self.account}{how}: {detail}") from None
        except google.auth.exceptions.TransportError as exc:
            raise DeliveryError(
                f"cannot reach Google's token endpoint while {action}: {exc}", retryable=True
            ) from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise DeliveryError(f"cannot reach Google Drive while {action}: {exc}", retryable=True) from None

    def _http_error(self, exc: Any, action: str, folder_id: str) -> DeliveryError:
        status = exc.resp.status
        reason, message = error_reason(exc)
        if status == 404 and folder_id not in message and "File not found" in message:
            return DeliveryError(f"a Drive file vanished while {action} ({message})", retryable=True)
        if status == 404:
            return DeliveryError(
                f"Drive folder {folder_id} not found, or not shared with {self.account}; "
                "share it with that address"
            )
        if reason == "storageQuotaExceeded" and "service account" in message.lower():
            return DeliveryError(
                f"service account {self.account} cannot own files in Drive folder {folder_id}, which is in "
                "a My Drive (service accounts have no storage quota): use a folder in a shared drive "
                "(add the service account as Content manager), or impersonate a Workspace user with "
                "domain-wide delegation (set the subscription's subject, --subject)"
            )
        if reason == "storageQuotaExceeded":
            return DeliveryError(f"the Drive storage quota for folder {folder_id} is used up while {action}")
        if status == 429 or status >= 500 or reason in RETRYABLE_403:
            what = f"{status} {reason}" if reason else str(status)
            return DeliveryError(
                f"Google Drive kept answering {what} while {action} (after {self.num_retries} retries); "
                "try again later",
                retryable=True,
            )
        if status == 403 and reason in PERMISSION_403:
            return DeliveryError(self._permission_message(folder_id))
        if status == 401:
            return DeliveryError(f"Google Drive rejected the credentials of {self.account} while {action}")
        return DeliveryError(f"Google Drive refused {action}: {status} {reason} {message}".strip())

    def _permission_message(self, folder: str) -> str:
        return (
            f"{self.account} can see Drive folder {folder} but may not add files to it; "
            "give that address Editor (or Content manager on a shared drive) access"
        )
