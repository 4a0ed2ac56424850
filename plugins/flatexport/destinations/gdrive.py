"""Google Drive transport: gdrive://FOLDER_ID, written by a service account.

Credentials come from the Airflow Google provider (``GoogleBaseHook``) reading the
Connection the subscription names, so a ``google_cloud_platform`` Connection that works
for the provider works here unchanged (keyfile_dict, key_path, key_secret_name,
credential_config_file, impersonation_chain, Application Default Credentials, ...). The
scope defaults to Drive (the connection's ``scope`` field wins). ``sub.subject`` adds
domain-wide delegation: the service account impersonates that Workspace user.
``root_url`` in the extra re-roots every call (tests, proxies).

Design choices, each for a failure seen in the wild:

* Files keep their type (text/csv stays text/csv): no Google mimeType is ever set, so
  Drive never converts an export into a Sheet that customers' scripts cannot download.
* A re-delivery updates the one existing file of the same name (same file id) instead
  of adding a second "report (1).csv"; two or more same-named files are an error,
  because picking one would be a guess.
* Uploads are resumable and chunked, streamed from the payload's opener; a file appears
  only when its last chunk arrives, so a killed upload leaves nothing in the folder.
  Every call passes ``num_retries`` (the connection's, default 5), so throttling (429)
  and 5xx are retried by the client.
* ``stat`` asks Drive for the file's md5Checksum and size by id; the driver compares them.
* Google's errors become one-line DeliveryErrors that say what to do (share the folder
  with this address, use a shared drive, ...), and never contain key material.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, urlparse

import google.auth.exceptions
import httplib2
from googleapiclient import discovery_cache
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaIoBaseUpload

from flatexport import connections
from flatexport.destinations.base import Features, HashChecksum, Payload, Stored, TransportBase
from flatexport.errors import CustomerAction, DeliveryError, InputError
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


def upload_mimetype(payload: Payload) -> str:
    """What Drive should store: text/csv for CSV, application/gzip for compressed files."""
    return "application/gzip" if payload.content_encoding == "gzip" else payload.content_type


# --- credentials and client ------------------------------------------------------------


@dataclass(frozen=True)
class DriveConnection:
    """What the provider made of the connection: credentials and our few extras."""

    credentials: Any
    account: str  # the address Drive sees, for messages
    root_url: str | None
    num_retries: int


def _drive_hook_class() -> type:
    from airflow.providers.google.common.hooks.base_google import GoogleBaseHook, get_field

    class DriveCredentialsHook(GoogleBaseHook):
        """The provider's connection handling, with Drive's scope unless the connection names one."""

        @property
        def scopes(self) -> list[str]:
            scope = get_field(self.extras, "scope")
            return [s.strip() for s in scope.split(",") if s.strip()] if scope else [DRIVE_SCOPE]

    return DriveCredentialsHook


def connection_credentials(conn_id: str, subject: str | None = None) -> DriveConnection:
    """Credentials for ``conn_id`` through the Google provider; errors never echo key material."""
    from airflow.providers.google.common.hooks.base_google import get_field

    conn = connections.get_connection(conn_id)
    conn_type = getattr(conn, "conn_type", None)
    if conn_type and conn_type not in CONN_TYPES:
        raise DeliveryError(
            f"connection {conn_id!r} has type {conn_type!r}; Google Drive needs a google_cloud_platform one"
        )
    try:
        hook = _drive_hook_class()(gcp_conn_id=conn_id)
        credentials = hook.get_credentials()
        num_retries = hook.num_retries
    except google.auth.exceptions.DefaultCredentialsError:
        raise DeliveryError(
            f"connection {conn_id!r} holds no service-account key (set keyfile_dict or key_path in its "
            "extra) and no Application Default Credentials were found"
        ) from None
    except OSError as exc:
        raise DeliveryError(
            f"connection {conn_id!r}: cannot read its key_path: {exc.strerror or type(exc).__name__}"
        ) from None
    except Exception as exc:  # the provider's AirflowException, or google.auth's ValueError/KeyError
        if "Invalid key JSON" in str(exc):
            raise DeliveryError(f"connection {conn_id!r}: keyfile_dict is not valid JSON") from None
        raise DeliveryError(
            f"connection {conn_id!r}: the service-account key is incomplete or malformed "
            f"({type(exc).__name__}; needs client_email, private_key and token_uri)"
        ) from None
    if subject:
        if not hasattr(credentials, "with_subject"):
            raise DeliveryError(
                f"connection {conn_id!r}: impersonating {subject} (domain-wide delegation) needs a "
                "service-account key in the connection"
            )
        credentials = credentials.with_subject(subject)
    account = subject or getattr(credentials, "service_account_email", None) or f"connection {conn_id!r}"
    return DriveConnection(credentials, account, get_field(hook.extras, "root_url"), num_retries)


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


class _RetryableUpload(MediaIoBaseUpload):
    """A resumable upload from a stream whose chunks the client can retry correctly.

    With a stream the client sends each chunk as a slice of the stream; when it retries a
    chunk after a 429/5xx it re-sends that already-consumed slice, i.e. an empty body, and
    the request hangs. Reporting no stream makes it read each chunk as bytes (seek + read)
    instead, which it can send again unchanged. Only one chunk is in memory at a time.
    """

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


# --- the transport ---------------------------------------------------------------------


class DriveTransport(TransportBase):
    """Writes into one Drive folder; reports Drive's MD5 of what it holds."""

    store = "Google Drive"
    features = Features()

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
        self._folder: Folder | None = None

    @classmethod
    def from_subscription(cls, sub: Subscription, **options: Any) -> DriveTransport:
        """Credentials from ``sub.conn_id``; ``sub.subject`` turns on domain-wide delegation."""
        folder_id = parse_gdrive_url(sub.destination)
        if not sub.conn_id:
            raise InputError(
                f"subscription {sub.id}: a gdrive:// destination needs conn_id "
                "(an Airflow google_cloud_platform connection with a service-account key)"
            )
        conn = connection_credentials(sub.conn_id, sub.subject)
        if "chunksize" in sub.extra:
            options.setdefault("chunksize", _chunksize(sub.extra["chunksize"]))
        options.setdefault("num_retries", conn.num_retries)
        return cls(
            folder_id,
            build_drive(conn.credentials, conn.root_url),
            account=conn.account,
            impersonating=bool(sub.subject),
            **options,
        )

    # -- transport -------------------------------------------------------------------------

    def checksum(self, size: int) -> HashChecksum:
        return HashChecksum("md5", "MD5")

    def find(self, name: str) -> Stored | None:
        """The one non-trashed file of that name; several are an error (no guessing)."""
        folder = self.folder()
        found = self._list(folder, name)
        if len(found) > 1:
            ids = ", ".join(f["id"] for f in found)
            raise DeliveryError(
                f"Drive folder {folder.name!r} ({folder.id}) holds several files named {name!r} "
                f"(ids {ids}); delete or rename the extras, flatexport will not guess which to replace"
            )
        return self._stored(folder, found[0]) if found else None

    def delete(self, name: str) -> None:
        """Remove every file of that name (a stale manifest); trash where deleting is refused."""
        folder = self.folder()
        for file in self._list(folder, name):
            self._remove(folder, file["id"], f"removing {name!r}")

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored:
        """Update ``previous`` (same file id) or create the file; streamed in resumable chunks."""
        folder = self.folder()
        mimetype = upload_mimetype(payload)
        with payload.open() as stream, self._errors(f"uploading {payload.name!r}", folder.id):
            media = _RetryableUpload(stream, mimetype=mimetype, chunksize=self.chunksize, resumable=True)
            if previous is not None:
                request = self.service.files().update(
                    fileId=previous.ref,
                    body={"mimeType": mimetype},
                    media_body=media,
                    supportsAllDrives=True,
                    fields=FILE_FIELDS,
                )
            else:
                request = self.service.files().create(
                    body={"name": payload.name, "parents": [folder.id], "mimeType": mimetype},
                    media_body=media,
                    supportsAllDrives=True,
                    fields=FILE_FIELDS,
                )
            file = self._upload(request)
        return self._stored(folder, file)

    def stat(self, stored: Stored) -> Stored:
        folder = self.folder()
        with self._errors(f"checking {stored.name!r}", folder.id):
            file = self._execute(
                self.service.files().get(fileId=stored.ref, fields=FILE_FIELDS, supportsAllDrives=True)
            )
        return self._stored(folder, file)

    def summary(self) -> str:
        folder = self.folder()
        return f"Drive folder {folder.name} ({folder.id}) is writable by {self.account}"

    # -- steps -----------------------------------------------------------------------------

    def folder(self) -> Folder:
        """Fetch the folder first: a clear 'not shared with X' beats a later cryptic failure."""
        if self._folder is not None:
            return self._folder
        with self._errors("reading the folder", self.folder_id):
            meta = self._execute(
                self.service.files().get(fileId=self.folder_id, fields=FOLDER_FIELDS, supportsAllDrives=True)
            )
        if meta.get("mimeType") == SHORTCUT_MIME:
            raise DeliveryError(f"gdrive://{self.folder_id} is a shortcut; use its target folder's id")
        if meta.get("mimeType") != FOLDER_MIME:
            raise DeliveryError(f"gdrive://{self.folder_id} is a file, not a folder (use the folder's id)")
        if not (meta.get("capabilities") or {}).get("canAddChildren", True):
            raise self._permission_error(meta.get("name") or self.folder_id)
        self._folder = Folder(id=meta["id"], name=meta.get("name", ""), drive_id=meta.get("driveId"))
        return self._folder

    def _stored(self, folder: Folder, file: dict[str, Any]) -> Stored:
        size = file.get("size")
        return Stored(
            name=file.get("name", ""),
            location=f"gdrive://{folder.id}/{file['id']}",
            size=int(size) if size is not None else None,
            checksum=file.get("md5Checksum"),
            ref=file["id"],
        )

    def _list(self, folder: Folder, name: str) -> list[dict[str, Any]]:
        """Every non-trashed file called exactly ``name`` in the folder."""
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
                        fields="nextPageToken,incompleteSearch,files(id,name,mimeType,md5Checksum,size)",
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
                if not token:
                    break
        if not found and page.get("incompleteSearch"):
            raise DeliveryError(
                f"Drive could not search folder {folder.name!r} completely for {name!r}; "
                "not uploading to avoid a duplicate",
                retryable=True,
            )
        return found

    def _remove(self, folder: Folder, file_id: str, action: str) -> None:
        """Delete; shared-drive content managers may only trash, so fall back to that."""
        with self._errors(action, folder.id):
            try:
                self._execute(self.service.files().delete(fileId=file_id, supportsAllDrives=True))
            except HttpError as exc:
                if exc.resp.status == 404:
                    return  # already gone
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
                "share it with that address",
                customer_action=CustomerAction(
                    "folder_unshared",
                    f"Share Google Drive folder {folder_id} with {self.account} as Editor (Content manager "
                    "on a shared drive), or tell us the new folder if it was moved or deleted.",
                ),
            )
        if reason == "storageQuotaExceeded" and "service account" in message.lower():
            return DeliveryError(
                f"service account {self.account} cannot own files in Drive folder {folder_id}, which is in "
                "a My Drive (service accounts have no storage quota): use a folder in a shared drive "
                "(add the service account as Content manager), or impersonate a Workspace user with "
                "domain-wide delegation (set the subscription's subject, --subject)"
            )
        if reason == "storageQuotaExceeded":
            return DeliveryError(
                f"the Drive storage quota for folder {folder_id} is used up while {action}",
                customer_action=CustomerAction(
                    "storage_full",
                    f"Free space in the Google Drive that holds folder {folder_id}, "
                    "or raise its storage quota.",
                ),
            )
        if status == 429 or status >= 500 or reason in RETRYABLE_403:
            what = f"{status} {reason}" if reason else str(status)
            return DeliveryError(
                f"Google Drive kept answering {what} while {action} (after {self.num_retries} retries); "
                "try again later",
                retryable=True,
            )
        if status == 403 and reason in PERMISSION_403:
            return self._permission_error(folder_id)
        if status == 401:
            return DeliveryError(f"Google Drive rejected the credentials of {self.account} while {action}")
        return DeliveryError(f"Google Drive refused {action}: {status} {reason} {message}".strip())

    def _permission_error(self, folder: str) -> DeliveryError:
        return DeliveryError(
            f"{self.account} can see Drive folder {folder} but may not add files to it; "
            "give that address Editor (or Content manager on a shared drive) access",
            customer_action=CustomerAction(
                "folder_unshared",
                f"Give {self.account} Editor access (Content manager on a shared drive) to Google Drive "
                f"folder {folder}.",
            ),
        )
