"""Connections: the types our destinations need are offered by Airflow's UI (the providers
register them), and URLs from connections are masked before anyone sees them."""

from __future__ import annotations

import pytest

from flatexport.connections import mask_url, url_secrets


def test_the_connection_types_our_destinations_use_can_be_created_in_the_ui() -> None:
    """What the UI's "Add connection" form is built from (GET /ui/connections/hook_meta)."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    meta = {m.connection_type: m for m in HookMetaService.hook_meta_data()}

    assert meta["aws"].hook_name == "Amazon Web Services"
    assert meta["google_cloud_platform"].hook_name == "Google Cloud"
    google_fields = set(meta["google_cloud_platform"].extra_fields or {})
    assert {"keyfile_dict", "key_path", "impersonation_chain", "scope"} <= google_fields


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://minio:s3cr3t@10.0.0.5:9000", "http://minio:***@10.0.0.5:9000"),
        ("https://user:p%40ss@host/path?x=1", "https://user:***@host/path?x=1"),
        ("http://:onlypass@host", "http://:***@host"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://u:pw@[::1]:9000/", "http://u:***@[::1]:9000/"),
        ("http://host:9000", "http://host:9000"),
        ("http://user@host", "http://user@host"),
        ("", ""),
        (None, ""),
    ],
)
def test_urls_are_shown_without_their_password(url: str | None, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_url_that_does_not_parse_but_may_hold_a_credential_is_hidden_whole() -> None:
    assert mask_url("http://user:pw@[bad") == "***"
    assert url_secrets("http://minio:s3cr3t@10.0.0.5:9000") == ("s3cr3t",)
    assert url_secrets("http://10.0.0.5:9000") == ()
