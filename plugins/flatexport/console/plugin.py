"""The console as an Airflow 3 plugin: a FastAPI app the api-server mounts under
``/flatexport`` and an entry in Airflow's navigation that shows it inside the UI.

Airflow finds it through the ``airflow.plugins`` entry point in pyproject.toml (the
installed package, not the plugins folder, whose loader would import every file of
our tree as a top-level module). Every Airflow process loads plugins, so importing
this module stays cheap: the app is built only when the api-server asks for it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/flatexport"
NAV_ROUTE = "flatexport"


@cache
def _fastapi_apps() -> list[dict[str, Any]]:
    from flatexport.console.app import create_app

    return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "flatexport console"}]


class FlatexportConsolePlugin(AirflowPlugin):
    name = "flatexport_console"
    # A relative href: the UI resolves it against its base URL, so a root path set in
    # [api] base_url is honoured; url_route shows the page inside Airflow's frame.
    external_views = [
        {
            "name": "Customers",
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": NAV_ROUTE,
            "destination": "nav",
        }
    ]

    @property  # type: ignore[override]
    def fastapi_apps(self) -> list[dict[str, Any]]:
        return _fastapi_apps()
