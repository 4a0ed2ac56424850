"""The driver with a store that can neither look up nor delete what it wrote and carries
the manifest inside the same put: the shape of the coming mailbox transport (issue 10).
It must go through the same steps, the same checksum comparison and the same receipt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from flatexport.destinations import Features, Payload, Stored, deliver
from flatexport.destinations.base import HashChecksum, TransportBase
from flatexport.errors import DeliveryError

NAME = "messages_2024-11-04.csv"


@dataclass
class Outbox(TransportBase):
    """Sends one message per delivery (data + attachments) and keeps it, as an SMTP server
    would; reports the SHA-256 of the bytes it sent, since it cannot read them back."""

    garble: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)
    url: str = "mailto:admin@acme.example"
    store: str = "mailbox"
    features: Features = Features(delete=False, stat=False, manifest="with_data")

    def checksum(self, size: int) -> HashChecksum:
        return HashChecksum("sha256", "SHA-256")

    def put(self, payload: Payload, previous: Stored | None = None) -> Stored:
        sent = HashChecksum("sha256", "SHA-256")
        with payload.open() as stream:
            body = stream.read()
        if self.garble:
            body = body.replace(b"1", b"7")
        sent.update(body)
        attachments = {}
        for extra in payload.attachments:
            with extra.open() as stream:
                attachments[extra.name] = stream.read()
        self.sent.append({"name": payload.name, "body": body, "attachments": attachments})
        return Stored(
            name=payload.name, location=f"{self.url}#{payload.name}", size=len(body), checksum=sent.value()
        )

    def find(self, name: str) -> Stored | None:
        raise AssertionError("a mailbox cannot be searched")

    def delete(self, name: str) -> None:
        raise AssertionError("a sent message cannot be deleted")

    def stat(self, stored: Stored) -> Stored:
        raise AssertionError("a sent message cannot be read back")


def test_data_and_manifest_travel_together_and_are_verified(make_staged) -> None:
    data = b"id,body\n1,hello\n"
    staged = make_staged(data, name=NAME)
    outbox = Outbox()

    receipt = deliver(outbox, staged, b'{"rows": 1}')  # type: ignore[arg-type]

    [message] = outbox.sent
    assert message == {"name": NAME, "body": data, "attachments": {f"{NAME}.manifest.json": b'{"rows": 1}'}}
    assert receipt.checksum == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert receipt.verified == receipt.checksum  # what was sent, compared by the driver
    assert receipt.location == f"mailto:admin@acme.example#{NAME}"
    assert receipt.manifest == f"mailto:admin@acme.example#{NAME}.manifest.json"  # a part of the same mail
    assert receipt.replaced is False


def test_bytes_that_changed_on_the_way_out_fail_the_delivery(make_staged) -> None:
    staged = make_staged(b"id\n1\n", name=NAME)
    with pytest.raises(DeliveryError, match="checksum mismatch for mailto:admin@acme.example#") as err:
        deliver(Outbox(garble=True), staged, b"{}")  # type: ignore[arg-type]
    assert err.value.retryable is True


def test_a_changed_staged_file_is_never_sent(make_staged) -> None:
    staged = make_staged(b"id\n1\n", name=NAME)
    Path(staged.path).write_bytes(b"id\n2\n")
    outbox = Outbox()
    with pytest.raises(DeliveryError, match="changed since it was staged"):
        deliver(outbox, staged, b"{}")  # type: ignore[arg-type]
    assert outbox.sent == []


def test_a_store_that_cannot_delete_may_not_keep_manifests_beside_data(make_staged) -> None:
    outbox = Outbox(features=Features(delete=False, stat=False, manifest="beside"))
    with pytest.raises(DeliveryError, match="cannot replace a manifest safely"):
        deliver(outbox, make_staged(b"id\n1\n", name=NAME), json.dumps({}).encode())  # type: ignore[arg-type]
    assert outbox.sent == []
