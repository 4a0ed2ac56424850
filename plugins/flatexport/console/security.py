"""Who is asking and what they may do, decided by Airflow's auth manager; and the
cross-site request forgery check every state-changing request passes.

Authentication is Airflow's own: ``get_user`` reads the JWT from the
``Authorization: Bearer`` header or the ``_token`` cookie the Airflow UI sets, and asks
the configured auth manager (Simple, FAB, Keycloak, ...) to turn it into a user; a
missing token is 401, an invalid one 403. Plugin endpoints are not protected by
Airflow, so every route of the console depends on it.

Authorisation maps the console onto the permissions Airflow already has, per family
DAG, so an Airflow admin grants it the way they grant everything else:

* reading a report's subscriptions and delivery log = reading the runs of its family
  DAG (``is_authorized_dag`` GET, entity RUN): the log is that DAG's run history;
* changing a subscription, or testing its destination (which writes to the customer's
  store) = editing that DAG (``is_authorized_dag`` PUT): it changes what the DAG
  delivers and where; and when the subscription names an Airflow connection, also
  being allowed to see that connection (``is_authorized_connection`` GET), so nobody
  routes a customer's data through credentials they may not see;
* re-delivering = creating a run of that DAG (``is_authorized_dag`` POST, entity RUN),
  which Airflow's API checks again because the run is created with the user's token.
"""

from __future__ import annotations

import hmac
import secrets
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import (
    ConnectionDetails,
    DagAccessEntity,
    DagDetails,
)
from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, HTTPException, Request, status
from starlette.datastructures import FormData

if TYPE_CHECKING:
    from flatexport.subscriptions import Subscription

CSRF_FIELD = "csrf_token"


# Airflow's own dependency: the same user resolution as the REST API and the UI.
User = Annotated[BaseUser, Depends(get_user)]


def user_token(request: Request) -> str | None:
    """The caller's JWT, to act on Airflow's API as that user."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN)


@cache
def dag_id_for(report: str) -> str | None:
    """The family DAG that delivers ``report`` (None when its spec cannot be read)."""
    from flatexport.errors import FlatexportError
    from flatexport.specs import load_spec

    try:
        spec = load_spec(report)
    except FlatexportError:
        return None
    try:
        from flatexport.families import family_of
    except ImportError:  # before report families were plug-ins, a spec's family was its DAG id
        return spec.family
    return family_of(spec).dag_id


class Access:
    """One user's permissions, asked of Airflow's auth manager and remembered for the
    request (a page asks about the same few DAGs many times)."""

    def __init__(self, user: BaseUser) -> None:
        self.user = user
        self._manager = get_auth_manager()
        self._answers: dict[tuple[Any, ...], bool] = {}

    @property
    def name(self) -> str:
        return str(self.user.get_name())

    def _dag(self, method: str, report: str, run: bool) -> bool:
        dag_id = dag_id_for(report)
        key = ("dag", method, dag_id, run)
        if key not in self._answers:
            # A report without a readable spec maps to no DAG: only a user allowed on
            # every DAG (details=None) may see or touch it.
            self._answers[key] = self._manager.is_authorized_dag(
                method=method,
                access_entity=DagAccessEntity.RUN if run else None,
                details=DagDetails(id=dag_id) if dag_id else None,
                user=self.user,
            )
        return self._answers[key]

    def _connection(self, conn_id: str) -> bool:
        key = ("connection", conn_id)
        if key not in self._answers:
            self._answers[key] = self._manager.is_authorized_connection(
                method="GET", details=ConnectionDetails(conn_id=conn_id), user=self.user
            )
        return self._answers[key]

    def can_read(self, report: str) -> bool:
        return self._dag("GET", report, run=True)

    def readable(self, reports: list[str]) -> list[str]:
        return [r for r in reports if self.can_read(r)]

    def can_change(self, report: str, conn_id: str | None = None) -> bool:
        return self._dag("PUT", report, run=False) and (not conn_id or self._connection(conn_id))

    def can_edit(self, sub: Subscription) -> bool:
        return self.can_change(sub.report, sub.conn_id)

    def can_redeliver(self, sub: Subscription) -> bool:
        return self._dag("POST", sub.report, run=True)

    def can_change_any(self, reports: list[str]) -> bool:
        return any(self._dag("PUT", r, run=False) for r in reports)


def forbidden(what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_403_FORBIDDEN, f"You may not {what}: ask an Airflow admin for the permission."
    )


# -- cross-site request forgery ------------------------------------------------------------


def csrf_token(request: Request, user_name: str) -> str:
    """The session's token for forms (synchroniser token pattern). The session cookie is
    signed, HttpOnly and SameSite=Strict; the token is bound to the user it was issued
    to, so a different login in the same browser gets a new one."""
    session = request.session
    if session.get("user") != user_name or not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
        session["user"] = user_name
    return session["csrf"]


async def checked_form(request: Request, user: User) -> FormData:
    """Every POST's form, once it passed the forgery check: a form token equal to the
    session's, for the same user, and no request a browser marks as cross-site. Runs
    after authentication, so an anonymous request gets 401 first."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site requests cannot change the console.")
    form = await request.form()
    given = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if (
        not isinstance(given, str)
        or not expected
        or request.session.get("user") != str(user.get_name())
        or not hmac.compare_digest(given.encode(), str(expected).encode())
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form has expired or did not come from the console: reload the page and try again.",
        )
    return form
