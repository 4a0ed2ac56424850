"""Split a US address into the export's parts with usaddress (a CRF parser).

Anything the parser cannot tag unambiguously as a street address gives blank parts,
as the help page promises ("some addresses don't split correctly").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import usaddress

PARTS = ("street_number", "street", "city", "state", "zipcode")
_STREET_LABELS = (
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
)
_EMPTY: dict[str, str | None] = dict.fromkeys(PARTS)


_KNOWN_MAX = 262144
_KNOWN: dict[str, dict[str, str | None]] = {}  # parts the pool computed


@lru_cache(maxsize=_KNOWN_MAX)
def split_address(address: str) -> dict[str, str | None]:
    return _split(address)


def _split(address: str) -> dict[str, str | None]:
    try:
        tagged, kind = usaddress.tag(address)
    except usaddress.RepeatedLabelError:
        return _EMPTY
    if kind != "Street Address":
        return _EMPTY

    def clean(value: str | None) -> str | None:
        value = (value or "").strip().strip(",").strip()
        return value or None

    street = " ".join(tagged[label] for label in _STREET_LABELS if tagged.get(label))
    return {
        "street_number": clean(tagged.get("AddressNumber")),
        "street": clean(street),
        "city": clean(tagged.get("PlaceName")),
        "state": clean(tagged.get("StateName")),
        "zipcode": clean(tagged.get("ZipCode")),
    }


# Parsing is ~85 µs of one core per address and a large day has ~250k distinct ones (a
# chunk of 250k events, ~10k): past this many distinct addresses not yet parsed, they are
# split in a process pool sized to the cores (the same function, so the same parts).
POOL_MIN = 4096
_POOL = None


def split_addresses(addresses: Sequence[str]) -> list[dict[str, str | None]]:
    """The parts of each address (distinct strings, in order), parsed once per string."""
    todo = [a for a in addresses if a not in _KNOWN]
    workers = min(os.cpu_count() or 1, 8)
    if len(todo) >= POOL_MIN and workers > 1:
        for address, parts in zip(todo, _pool(workers).map(_split, todo, chunksize=2048), strict=True):
            _remember(address, parts)
    return [_KNOWN.get(a) or split_address(a) for a in addresses]


def _remember(address: str, parts: dict[str, str | None]) -> None:
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN[address] = parts


def _pool(workers: int):
    """One pool per process, started on first need (spawned: no inherited locks or
    connections) and reused by later chunks and subscriptions."""
    global _POOL
    if _POOL is None:
        import atexit
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        atexit.register(_POOL.shutdown, wait=False, cancel_futures=True)
    return _POOL
