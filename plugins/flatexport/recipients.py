"""Who may receive an org's files by e-mail: one of that org's admins, nobody else.

The rule lives here and only here; the on-demand request, ``destinations add mailto:``
and the email transport (before every send) all ask :func:`admin_address`. The source
(``org_users``, role ``admin``) is the authority, so an admin removed from the org stops
receiving files the next night. A refusal never says why (unknown address, volunteer,
another org's admin): the same words for all, so it reveals nothing about the org.
"""

from __future__ import annotations

import re

from flatexport.errors import InputError
from flatexport.extract import iter_batches, read_sql_file
from flatexport.settings import get_settings

# An addr-spec without comments, quotes or display names: what a person types. Domain
# labels may hold "_" (internal and test domains do), which stricter validators refuse.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")


def check_address(address: str) -> str:
    """``address`` trimmed, or InputError when it is not one plain e-mail address."""
    value = (address or "").strip()
    if len(value) > 254 or not _ADDRESS.fullmatch(value):
        raise InputError(f"{address!r} is not an e-mail address (expected one, such as name@example.org)")
    return value


def not_an_admin(address: str, org_id: str) -> InputError:
    return InputError(f"{address.strip()} is not an admin of org {org_id}")


def admin_address(org_id: str, address: str, source_url: str | None = None) -> str:
    """The admin's address as the source stores it (trimmed), when ``address`` (trimmed,
    case-insensitive) is an admin of ``org_id``; InputError otherwise."""
    wanted = check_address(address).lower()
    sql = read_sql_file(get_settings().include_dir / "sql" / "recipients" / "org_admin.sql")
    for batch in iter_batches(sql, {"org_id": org_id, "email": wanted}, source_url):
        if not batch.empty:
            return str(batch.iloc[0, 0]).strip()
    raise not_an_admin(address, org_id)
