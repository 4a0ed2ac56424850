"""Split a US address into the export's parts with usaddress (a CRF parser).

Anything the parser cannot tag unambiguously as a street address gives blank parts,
as the help page promises ("some addresses don't split correctly").
"""

from __future__ import annotations

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


@lru_cache(maxsize=262144)
def split_address(address: str) -> dict[str, str | None]:
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
