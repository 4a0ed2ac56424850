"""Addresses split in the process pool get exactly the parts the in-process parser gives."""

from __future__ import annotations

import pytest

from flatexport.parsers import address


def test_pool_parts_are_the_parsers_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(address, "POOL_MIN", 1)
    monkeypatch.setattr(address.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(address, "_KNOWN", {})
    addresses = [
        "221B Baker St, Springfield, IL 62704",
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
        "not an address at all",
        "PO Box 12, Anytown, NY 10001",
    ]
    pooled = address.split_addresses(addresses)
    assert set(address._KNOWN) == set(addresses)  # computed by the pool, not in-process
    assert pooled == [address._split(a) for a in addresses]
