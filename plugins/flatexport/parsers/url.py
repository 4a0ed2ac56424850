"""Query parameters (utm_*) from page URLs, decoded, cached per distinct URL."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit


@lru_cache(maxsize=262144)
def query_params(url: str) -> dict[str, str]:
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        params.setdefault(key, value.strip())
    return params
