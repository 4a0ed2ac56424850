"""Google Drive destination against a local Drive v3 server, through the real googleapiclient.

The connection holds a real-format service-account key whose token_uri points at the local
server, so the production credential path (JWT grant, bearer token) runs too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from flatexport.destinations import deliver, destination_for
from flatexport.destinations.gdrive import (
    DriveTransport,
    escape_query_value,
    parse_gdrive_url,
    validate_folder_id,
)
from flatexport.errors import DeliveryError, InputError
from flatexport.subscriptions import Subscription
from tests.support.drive_server import DriveServer, service_account_info

SA_EMAIL = "exporter@flatexport-test.iam.gserviceaccount.com"
CHUNK = 256 * 1024
FOLDER_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345"


@pytest.fixture
def destination(gcp_conn: Callable[..., str]) -> Callable[..., DriveTransport]:
    """A DriveTransport built the production way, from a subscription; retries do not sleep."""

    def make(folder: str, *, subject: str | None = None, conn_id: str | None = None, **options: Any):
        sub = subscription(folder, conn_id or gcp_conn(), subject=subject)
        return DriveTransport.from_subscription(sub, sleep=lambda _seconds: None, **options)

    return make


def subscription(folder: str, conn_id: str | None, **kwargs: Any) -> Subscription:
    return Subscription(
        id=7,
        org_id="org_a",
        report="clickstream",
        destination=f"gdrive://{folder}",
        conn_id=conn_id,
        extra={"chunksize": CHUNK},
        **kwargs,
    )


def csv_bytes(rows: int = 3, tag: str = "a") -> bytes:
    return b"user_id,event\n" + b"".join(f"u{i},{tag}\n".encode() for i in range(rows))


def upload_starts(drive: DriveServer) -> list[Any]:
    """The requests that open an upload session (create or update), in order."""
    return [r for r in drive.api_requests("/upload/") if r.method in ("POST", "PATCH")]


# --- delivery ----------------------------------------------------------------------------


def test_upload_lands_with_right_bytes_as_text_csv(drive, destination, make_staged, tmp_path):
    folder = drive.add_folder(name="acme exports")
    data = csv_bytes()
    staged = make_staged(data)
    manifest = b'{"rows": 3}'

    receipt = deliver(destination(folder), staged, manifest)

    files = {f.name: f for f in drive.files_in(folder)}
    assert set(files) == {staged.name, f"{staged.name}.manifest.json"}
    landed = files[staged.name]
    assert landed.content == data
    assert landed.mime_type == "text/csv"  # not converted to a Google Sheet
    assert files[f"{staged.name}.manifest.json"].content == b'{"rows": 3}'
    assert receipt.location == f"gdrive://{folder}/{landed.id}"
    assert receipt.bytes == len(data)
    assert receipt.checksum == f"sha256:{hashlib.sha256(data).hexdigest()}"  # the staged record's
    assert receipt.verified == f"md5:{hashlib.md5(data).hexdigest()}"  # what Drive reported
    assert receipt.manifest == f"gdrive://{folder}/{files[f'{staged.name}.manifest.json'].id}"
    assert receipt.replaced is False
    names = [json.loads(r.body)["name"] for r in upload_starts(drive)]
    assert names == [staged.name, f"{staged.name}.manifest.json"]  # data first, then manifest


def test_every_call_supports_all_drives_and_metadata_is_never_a_google_type(drive, destination, make_staged):
    folder = drive.add_folder()
    deliver(destination(folder), make_staged(csv_bytes()))

    calls = drive.api_requests("/drive/v3/files")
    assert calls and all(r.query.get("supportsAllDrives") == "true" for r in calls)
    lists = [r for r in calls if r.method == "GET" and r.path.endswith("/files")]
    assert lists and all(r.query.get("includeItemsFromAllDrives") == "true" for r in lists)
    for start in upload_starts(drive):
        assert json.loads(start.body)["mimeType"] == "text/csv"
        assert start.query["uploadType"] == "resumable"


def test_multi_chunk_resumable_upload(drive, destination, make_staged):
    folder = drive.add_folder()
    data = os.urandom(700 * 1024)  # 256 KiB chunks: 3 PUTs
    receipt = deliver(destination(folder), make_staged(data))

    [landed] = drive.files_in(folder)
    assert landed.content == data
    puts = [r.headers["content-range"] for r in drive.api_requests("/upload/") if r.method == "PUT"]
    assert puts == [
        f"bytes 0-{CHUNK - 1}/{len(data)}",
        f"bytes {CHUNK}-{2 * CHUNK - 1}/{len(data)}",
        f"bytes {2 * CHUNK}-{len(data) - 1}/{len(data)}",
    ]
    assert receipt.bytes == len(data)


def test_rerun_same_day_updates_the_one_file(drive, destination, make_staged):
    folder = drive.add_folder()
    dest = destination(folder)
    first = deliver(dest, make_staged(csv_bytes(tag="first")))
    second = deliver(dest, make_staged(csv_bytes(tag="second")))

    [landed] = drive.files_in(folder)
    assert landed.content == csv_bytes(tag="second")
    assert landed.mime_type == "text/csv"
    assert (first.replaced, second.replaced) == (False, True)
    assert first.location == second.location
    assert [r.method for r in upload_starts(drive)] == ["POST", "PATCH"]


def test_name_with_quote_and_backslash_is_found_again(drive, destination, make_staged):
    folder = drive.add_folder()
    name = "o'brien \\ weekly's.csv"
    dest = destination(folder)
    deliver(dest, make_staged(csv_bytes(tag="1"), name=name))
    receipt = deliver(dest, make_staged(csv_bytes(tag="2"), name=name))

    assert [f.name for f in drive.files_in(folder)] == [name]
    assert receipt.replaced is True
    queries = [r.query["q"] for r in drive.api_requests("/drive/v3/files") if "q" in r.query]
    assert f"name = '{escape_query_value(name)}'" in queries[0]


def test_two_same_named_files_are_a_loud_error(drive, destination, make_staged):
    folder = drive.add_folder(name="shared exports")
    staged = make_staged(csv_bytes())
    ids = [drive.add_file(folder, staged.name, b"old"), drive.add_file(folder, staged.name, b"older")]

    with pytest.raises(DeliveryError) as err:
        deliver(destination(folder), staged)

    message = str(err.value)
    assert "several files named" in message and all(i in message for i in ids)
    assert not upload_starts(drive)  # nothing replaced on a guess
    assert sorted(f.content for f in drive.files_in(folder)) == [b"old", b"older"]


def test_compressed_and_jsonl_files_keep_their_types(drive, destination, make_staged):
    folder = drive.add_folder()
    dest = destination(folder)
    deliver(dest, make_staged(b"\x1f\x8b fake gzip", name="c.csv.gz", fmt="csv.gz"))
    deliver(dest, make_staged(b'{"a": 1}\n', name="c.jsonl", fmt="jsonl"))

    types = {f.name: f.mime_type for f in drive.files_in(folder)}
    assert types == {"c.csv.gz": "application/gzip", "c.jsonl": "application/x-ndjson"}


@pytest.mark.parametrize(
    ("status", "method", "path"),
    [
        (429, None, None),  # the very first call (folder lookup)
        (429, "GET", "/drive/v3/files"),
        (500, "POST", "/upload/"),  # opening the upload session
        (503, "PUT", "/upload/"),  # a chunk: the client must re-send the same bytes
    ],
)
def test_throttling_and_server_errors_are_retried(drive, destination, make_staged, status, method, path):
    folder = drive.add_folder()
    data = os.urandom(600 * 1024)
    drive.fail_next(1, status, method=method, path_contains=path)

    receipt = deliver(destination(folder), make_staged(data))

    assert [r.status for r in drive.requests].count(status) == 1
    [landed] = drive.files_in(folder)
    assert landed.content == data
    assert receipt.verified == f"md5:{hashlib.md5(data).hexdigest()}"


def test_retries_exhausted_is_a_retryable_error(drive, destination, make_staged):
    folder = drive.add_folder()
    drive.fail_next(10, 503)
    with pytest.raises(DeliveryError) as err:
        deliver(destination(folder, num_retries=2), make_staged(csv_bytes()))
    assert err.value.retryable is True
    assert "503" in str(err.value) and "try again later" in str(err.value)


def test_wrong_md5_from_drive_is_a_delivery_error(drive, destination, make_staged):
    folder = drive.add_folder()
    drive.wrong_md5 = True
    with pytest.raises(DeliveryError, match="does not match the staged file"):
        deliver(destination(folder), make_staged(csv_bytes()))


# --- errors people must act on -------------------------------------------------------------


def assert_one_line_without_secrets(err: DeliveryError) -> None:
    text = str(err)
    assert "\n" not in text
    assert "PRIVATE KEY" not in text and "ya29." not in text
    assert err.__cause__ is None and err.__suppress_context__  # no googleapiclient traceback chain


def test_service_account_into_my_drive_folder_says_use_shared_drive_or_impersonation(
    drive, destination, make_staged
):
    folder = drive.add_folder(my_drive_owner="alice@example.com")
    with pytest.raises(DeliveryError) as err:
        deliver(destination(folder), make_staged(csv_bytes()))

    message = str(err.value)
    assert "shared drive" in message and "--subject" in message and "domain-wide delegation" in message
    assert SA_EMAIL in message
    assert err.value.retryable is False
    assert_one_line_without_secrets(err.value)


def test_impersonation_writes_into_my_drive(drive, destination, make_staged):
    folder = drive.add_folder(my_drive_owner="alice@example.com")
    deliver(destination(folder, subject="alice@example.com"), make_staged(csv_bytes()))

    assert len(drive.files_in(folder)) == 1
    assert {t.get("sub") for t in drive.token_requests} == {"alice@example.com"}
    assert {t.get("iss") for t in drive.token_requests} == {SA_EMAIL}


def test_refused_delegation_is_explained(drive, destination, make_staged):
    folder = drive.add_folder()
    drive.deny_delegation = True
    with pytest.raises(DeliveryError, match="refused an access token for alice@example.com") as err:
        deliver(destination(folder, subject="alice@example.com"), make_staged(csv_bytes()))
    assert_one_line_without_secrets(err.value)


@pytest.mark.parametrize("case", ["not_shared", "missing"])
def test_folder_not_shared_or_missing_prints_the_service_account(drive, destination, make_staged, case):
    folder = drive.add_folder() if case == "not_shared" else FOLDER_ID
    if case == "not_shared":
        drive.unshare(folder)
    with pytest.raises(DeliveryError) as err:
        deliver(destination(folder), make_staged(csv_bytes()))

    assert str(err.value) == (
        f"Drive folder {folder} not found, or not shared with {SA_EMAIL}; share it with that address"
    )
    assert_one_line_without_secrets(err.value)


def test_read_only_folder_asks_for_editor_access(drive, destination, make_staged):
    folder = drive.add_folder(can_add_children=False)
    with pytest.raises(DeliveryError, match=f"{SA_EMAIL} can see Drive folder .* but may not add files"):
        deliver(destination(folder), make_staged(csv_bytes()))


def test_a_file_id_instead_of_a_folder_is_refused(drive, destination, make_staged):
    folder = drive.add_folder()
    file_id = drive.add_file(folder, "report.csv", b"x")
    with pytest.raises(DeliveryError, match="is a file, not a folder"):
        deliver(destination(file_id), make_staged(csv_bytes()))


# --- probe ---------------------------------------------------------------------------------


def test_probe_writes_and_removes_a_file(drive, destination):
    folder = drive.add_folder(name="acme exports")
    message = destination(folder).probe()

    assert message == f"Drive folder acme exports ({folder}) is writable by {SA_EMAIL}"
    assert drive.files_in(folder, include_trashed=True) == []
    assert [r.method for r in drive.api_requests("/drive/v3/files/")][-1] == "DELETE"


def test_probe_trashes_when_delete_is_not_allowed(drive, destination):
    folder = drive.add_folder(delete_forbidden=True)
    destination(folder).probe()
    assert drive.files_in(folder) == []
    assert [f.trashed for f in drive.files_in(folder, include_trashed=True)] == [True]


def test_probe_on_unshared_folder_names_the_service_account(drive, destination):
    folder = drive.add_folder()
    drive.unshare(folder)
    with pytest.raises(DeliveryError, match=f"not shared with {SA_EMAIL}; share it"):
        destination(folder).probe()


def test_probe_into_my_drive_reports_the_quota_problem(drive, destination):
    folder = drive.add_folder(my_drive_owner="alice@example.com")
    with pytest.raises(DeliveryError, match="use a folder in a shared drive"):
        destination(folder).probe()


# --- construction and credentials ------------------------------------------------------------


def test_destination_for_builds_a_drive_destination(drive, gcp_conn):
    folder = drive.add_folder()
    dest = destination_for(subscription(folder, gcp_conn()))
    assert isinstance(dest, DriveTransport)
    assert dest.url == f"gdrive://{folder}" and dest.chunksize == CHUNK


def test_key_path_and_prefixed_extra_keys(drive, destination, gcp_conn, tmp_path):
    key = tmp_path / "key.json"
    key.write_text(json.dumps(service_account_info(drive.token_uri)))
    prefix = "extra__google_cloud_platform__"
    conn_id = gcp_conn({f"{prefix}key_path": str(key), f"{prefix}root_url": drive.root_url})
    folder = drive.add_folder(name="f")
    assert destination(folder, conn_id=conn_id).probe().startswith("Drive folder f")
    assert drive.token_requests  # the key file's own token endpoint was used


def test_connection_without_key_is_refused_without_echoing_it(drive, gcp_conn):
    conn_id = gcp_conn({"keyfile_dict": '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY'})
    with pytest.raises(DeliveryError) as err:
        DriveTransport.from_subscription(subscription(drive.add_folder(), conn_id))
    assert "not valid JSON" in str(err.value) and "PRIVATE" not in str(err.value)

    with pytest.raises(DeliveryError, match="holds no service-account key"):
        DriveTransport.from_subscription(subscription(drive.add_folder(), gcp_conn({"root_url": "x"})))

    with pytest.raises(DeliveryError, match="google_cloud_platform"):
        DriveTransport.from_subscription(subscription(drive.add_folder(), gcp_conn(conn_type="aws")))


def test_missing_conn_id_and_unknown_connection(drive):
    with pytest.raises(InputError, match="needs conn_id"):
        DriveTransport.from_subscription(subscription(FOLDER_ID, None))
    with pytest.raises(DeliveryError, match="is not defined"):
        DriveTransport.from_subscription(subscription(FOLDER_ID, "no_such_gdrive_conn"))


def test_chunk_size_must_be_a_multiple_of_256k():
    with pytest.raises(InputError, match="256 KiB"):
        DriveTransport(FOLDER_ID, service=None, account=SA_EMAIL, chunksize=1000 * 1000)


# --- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "good",
    [
        FOLDER_ID,
        "0AExampleSharedDrv",  # shared-drive root ids are short
        "1a-b_c" + "x" * 38,
    ],
)
def test_validate_folder_id_accepts_drive_ids(good):
    assert validate_folder_id(good) == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "root",
        "abc",
        "has space in it 123456",
        "folder/with/slashes12345",
        "https://drive.google.com/drive/folders/" + FOLDER_ID,
        FOLDER_ID + "?usp=sharing",
        "x" * 500,
    ],
)
def test_validate_folder_id_rejects_obviously_wrong_values(bad):
    with pytest.raises(InputError, match="not a Google Drive folder id"):
        validate_folder_id(bad)


@pytest.mark.parametrize(
    "url",
    [
        f"gdrive://{FOLDER_ID}",
        f"gdrive://{FOLDER_ID}/",
        f"https://drive.google.com/drive/folders/{FOLDER_ID}",
        f"https://drive.google.com/drive/u/0/folders/{FOLDER_ID}?usp=sharing",
        f"https://drive.google.com/open?id={FOLDER_ID}",
        f"gdrive://https://drive.google.com/drive/folders/{FOLDER_ID}",
        FOLDER_ID,
    ],
)
def test_parse_gdrive_url_extracts_the_folder_id(url):
    assert parse_gdrive_url(url) == FOLDER_ID


@pytest.mark.parametrize(
    "url",
    ["s3://bucket/x", "https://example.com/folders/" + FOLDER_ID, "https://drive.google.com/drive/my-drive"],
)
def test_parse_gdrive_url_rejects_other_urls(url):
    with pytest.raises(InputError):
        parse_gdrive_url(url)


def test_escape_query_value():
    assert escape_query_value("it's a\\b") == "it\\'s a\\\\b"
