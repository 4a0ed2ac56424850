"""The one way a URL is shown: with every secret in it hidden.

A URL can carry a credential in three places: the password of ``user:password@``, a
query parameter (``?password=``, ``?token=``, ``?X-Amz-Signature=``...), and, for
webhooks, the path itself (Slack's ``/services/T/B/<token>``). Every URL that is
logged, printed, put in an error message or saved (delivery log, receipts) goes through
:func:`mask_url` first; :func:`url_secrets` lists the hidden values so a message that
may quote a URL we did not format (a driver's error) can be scrubbed with :func:`scrub`.

SQLAlchemy URL objects are rendered by SQLAlchemy itself
(``render_as_string(hide_password=True)``), after their secret query values are hidden.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

# Query parameter names whose values are credentials (libpq's password, OAuth tokens,
# presigned-URL signatures, API keys). Matched case-insensitively, as a whole name or
# as its last word (``X-Amz-Signature``, ``access_token``).
_SECRET_PARAM = re.compile(
    r"(?:^|[_.-])(pass(word)?|passwd|pwd|secret|token|key|apikey|signature|sig|credential|auth)$",
    re.IGNORECASE,
)


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_PARAM.search(name))


def _mask_query(query: str) -> str:
    if not query:
        return query
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(is_secret_param(k) for k, _ in pairs):
        return query
    return urlencode([(k, MASK if is_secret_param(k) else v) for k, v in pairs], safe="*/:")


def mask_url(url: Any, *, hide_path: bool = False) -> str:
    """``url`` as it may be shown: password, secret query values (and the path, for
    webhook URLs whose path is the token) replaced by ``***``.

    Anything that does not parse as a URL is hidden whole when it could hold a
    credential (an ``@`` or a ``=``), else returned as it is.
    """
    if url is None or url == "":
        return ""
    if not isinstance(url, str):
        return _mask_sqlalchemy(url)
    try:
        parts = urlsplit(url)
        password = parts.password
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK if (hide_path or "@" in url or "=" in url) else url
    netloc = parts.netloc
    if password is not None:
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
        netloc = f"{parts.username or ''}:{MASK}@{host}" + (f":{port}" if port is not None else "")
    path = parts.path
    if hide_path and path not in ("", "/"):
        path = "/" + MASK
    query = _mask_query(parts.query)
    if (netloc, path, query) == (parts.netloc, parts.path, parts.query):
        return url  # nothing secret: exactly as given
    return urlunsplit(parts._replace(netloc=netloc, path=path, query=query))


def _mask_sqlalchemy(url: Any) -> str:
    """A ``sqlalchemy.URL``: its secret query values hidden, then SQLAlchemy's own rendering."""
    query = {k: (MASK if is_secret_param(k) else v) for k, v in dict(url.query).items()}
    return url.set(query=query).render_as_string(hide_password=True)


def url_secrets(url: Any, *, hide_path: bool = False) -> tuple[str, ...]:
    """The secret parts of a URL (password, secret query values, the path when it is the
    token), for scrubbing messages and for Airflow's log masker."""
    if not url:
        return ()
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        parts = urlsplit(text)
        password = parts.password
        _ = parts.port
    except ValueError:
        return (text,) if (hide_path or "@" in text or "=" in text) else ()
    found = [password] if password else []
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if is_secret_param(k) and v]
    if hide_path and parts.path not in ("", "/"):
        found.append(parts.path.lstrip("/"))
    return tuple(dict.fromkeys(found))


def scrub(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """``text`` with every secret value replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def masked_in_text(text: str, url: Any, *, hide_path: bool = False) -> str:
    """A message that may quote ``url`` (a driver's error): the URL and its secrets hidden."""
    raw = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if raw:
        text = text.replace(raw, mask_url(url, hide_path=hide_path))
    return scrub(text, url_secrets(url, hide_path=hide_path))
