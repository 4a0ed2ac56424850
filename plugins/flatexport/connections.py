"""Credentials come only from Airflow Connections (metastore, env or secrets backend).

Wrapping the lookup keeps Airflow out of the destination modules' imports and gives
one clear error when a subscription names a connection that does not exist.
"""

from __future__ import annotations

from typing import Any

from flatexport.errors import DeliveryError


def get_connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

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
