"""Start moto's S3/IAM/KMS/STS server on loopback for tests that need real HTTP.

moto's in-process ``mock_aws`` patches botocore, so it cannot see what an endpoint URL,
a proxy or an Airflow connection does; a server on a real socket can. Port 0 lets the OS
pick a free port, so parallel sessions never collide. No pytest here: a DAG test or a
demo script can reuse it.
"""

from __future__ import annotations

import json
from typing import Any

MOTO_REGION = "us-east-1"
MOTO_KEY = "testing"


def start_moto_server() -> tuple[Any, str]:
    """Start a ThreadedMotoServer on 127.0.0.1 and return (server, endpoint_url); call server.stop()."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def aws_connection_json(
    endpoint_url: str,
    *,
    login: str = MOTO_KEY,
    password: str = MOTO_KEY,
    region_name: str = MOTO_REGION,
    **extra: Any,
) -> str:
    """The value for an ``AIRFLOW_CONN_<ID>`` variable pointing an 'aws' connection at moto."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": login,
            "password": password,
            "extra": {"endpoint_url": endpoint_url, "region_name": region_name, **extra},
        }
    )


def boto3_client(service: str, endpoint_url: str, **kwargs: Any) -> Any:
    """A boto3 client for arranging moto state (buckets, users, keys) outside the code under test."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=MOTO_REGION,
        aws_access_key_id=kwargs.pop("aws_access_key_id", MOTO_KEY),
        aws_secret_access_key=kwargs.pop("aws_secret_access_key", MOTO_KEY),
        **kwargs,
    )


def set_iam_enforcement(endpoint_url: str, enabled: bool) -> None:
    """Turn moto's IAM checks on (every request signed and authorised) or off (the default).

    It is a process-wide moto setting: turn it off again in a ``finally``.
    """
    import urllib.request

    count = b"0" if enabled else b"inf"
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/reset-auth",
        data=count,
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would hide the number from moto
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        response.read()
