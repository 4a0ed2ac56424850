"""Credentials come only from Airflow Connections (metastore, env or secrets backend).

Wrapping the lookup keeps Airflow out of the destination modules' imports and gives
one clear error when a subscription names a connection that does not exist. URLs taken
from a connection (an S3 ``endpoint_url`` may carry ``user:password@``) are masked here
before anything prints, logs or stores them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from flatexport import masking
from flatexport.errors import DeliveryError

MASK = masking.MASK


def get_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from flatexport import cli_logging

    cli_logging.reassert()  # importing Airflow pointed the root logger at stdout
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as exc:
        raise DeliveryError(
            f"Airflow connection {conn_id!r} is not defined (add it with `airflow connections add` "
            f"or an AIRFLOW_CONN_{conn_id.upper()} variable)"
        ) from exc


def connection_exists(conn_id: str) -> bool:
    try:
        get_connection(conn_id)
    except DeliveryError:
        return False
    return True


def mask_url(url: str | None) -> str:
    """``url`` with its password and secret query values hidden (see flatexport.masking)."""
    return masking.mask_url(url)


def url_secrets(url: str | None) -> tuple[str, ...]:
    """The secret parts of a URL, for scrubbing messages and log masking."""
    return masking.url_secrets(url)


def hide_in_logs(*secrets: str | None) -> None:
    """Tell Airflow's secrets masker about values it cannot know are secret (for example
    the password inside an ``endpoint_url``), so task logs redact them too."""
    values = [s for s in secrets if s]
    if not values:
        return
    with contextlib.suppress(Exception):  # outside Airflow's logging setup there is nothing to tell
        from airflow.sdk.log import mask_secret

        for value in values:
            mask_secret(value)
