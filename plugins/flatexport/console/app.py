"""The console's FastAPI app: server-rendered pages (Jinja2, autoescaped) and form posts.

Pages: orgs → an org's subscriptions and deliveries → one subscription (its fields,
actions and deliveries) → one delivery (its error and quality checks); and the whole
delivery log, filterable. Actions post a form (with the session's CSRF token), run
through ``flatexport.control.operations`` like the CLI, and redirect back with the CLI's
message (post/redirect/get). Handlers are plain functions: FastAPI runs them in its
thread pool, so the store's and the destinations' blocking calls never stall the
api-server's event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flatexport.console import forms, views
from flatexport.console.security import (
    CSRF_FIELD,
    Access,
    User,
    checked_form,
    csrf_token,
    dag_id_for,
    forbidden,
    user_token,
)
from flatexport.control import operations
from flatexport.control.models import STATUSES
from flatexport.errors import FlatexportError, InputError
from flatexport.notices import notices_sent

log = logging.getLogger(__name__)

SESSION_COOKIE = "flatexport_console"
SESSION_MAX_AGE_S = 12 * 3600
PAGE_SIZE = 200
# No script at all; styles only from the console itself; framed only by Airflow's UI.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'self'; base-uri 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("flatexport.console", "templates"),
    autoescape=True,  # every value, including messages that echo user input
    undefined=jinja2.StrictUndefined,
)
TEMPLATES.filters["text"] = views.text
TEMPLATES.filters["mask"] = views.mask
TEMPLATES.filters["size"] = views.size
TEMPLATES.filters["checks"] = views.checks

router = APIRouter()


@cache
def store() -> Any:
    """One store (and connection pool) per api-server process."""
    from flatexport.control.store import ControlStore

    return ControlStore()


def all_reports() -> list[str]:
    from flatexport.specs import available_reports

    return available_reports()


def get_access(user: User) -> Access:
    return Access(user)


AccessDep = Annotated[Access, Depends(get_access)]
Form = Annotated[FormData, Depends(checked_form)]


# -- rendering ------------------------------------------------------------------------------


def console_root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def airflow_root(request: Request) -> str:
    """Airflow's own root path (the console is mounted one level below it)."""
    from flatexport.console.plugin import URL_PREFIX

    return console_root(request).removesuffix(URL_PREFIX)


def render(
    request: Request, access: Access, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = TEMPLATES.get_template(template).render(
        root=console_root(request),
        airflow=airflow_root(request),
        user=access.name,
        csrf_field=CSRF_FIELD,
        csrf_value=csrf_token(request, access.name),
        flashes=request.session.pop("flash", []),
        access=access,
        statuses=STATUSES,
        **context,
    )
    return HTMLResponse(html, status_code)


def flash(
    request: Request, kind: str, message: str, link: str | None = None, extra: str | None = None
) -> None:
    """A message for the next page (kept in the signed session cookie, shown once)."""
    item = {"kind": kind, "message": " ".join(message.split()), "link": link, "extra": extra}
    request.session["flash"] = [*request.session.get("flash", []), item]  # assigned: marks it changed


def back_to(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(console_root(request) + path, status_code=status.HTTP_303_SEE_OTHER)


def _error_text(exc: Exception) -> str:
    """The user's words for a failure: ours as they are, anything else by its type only."""
    if isinstance(exc, FlatexportError):
        return " ".join(str(exc).split())
    log.exception("console action failed")
    return f"unexpected {type(exc).__name__}; the api-server log has the details"


# -- reading --------------------------------------------------------------------------------


def _readable_or_403(access: Access) -> list[str]:
    reports = access.readable(all_reports())
    if not reports:
        raise forbidden("read any report's subscriptions or deliveries")
    return reports


def _subscription(access: Access, sub_id: str) -> Any:
    try:
        sub = store().get(operations.parse_id(sub_id))
    except InputError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if not access.can_read(sub.report):
        raise forbidden(f"read {sub.report} subscriptions")
    return sub


def _date(value: str | None, label: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{label} {value!r} is not a date (use YYYY-MM-DD)") from None


@router.get("/", response_class=HTMLResponse)
def orgs(request: Request, access: AccessDep) -> HTMLResponse:
    reports = _readable_or_403(access)
    subs = [s for s in store().list() if s.report in reports]
    latest = store().latest_delivery_per_org(reports=reports)
    rows: dict[str, dict[str, Any]] = {}
    for sub in subs:
        row = rows.setdefault(sub.org_id, {"org": sub.org_id, "total": 0, "enabled": 0, "reports": set()})
        row["total"] += 1
        row["enabled"] += int(sub.enabled)
        row["reports"].add(sub.report)
    for org in latest:
        rows.setdefault(org, {"org": org, "total": 0, "enabled": 0, "reports": set()})
    table = [
        {**row, "reports": sorted(row["reports"]), "latest": latest.get(org)}
        for org, row in sorted(rows.items())
    ]
    return render(request, access, "orgs.html", orgs=table, can_add=access.can_change_any(reports))


@router.get("/org", response_class=HTMLResponse)
def org(request: Request, access: AccessDep, org: Annotated[str, Query(max_length=200)]) -> HTMLResponse:
    reports = _readable_or_403(access)
    subs = [s for s in store().list(org=org) if s.report in reports]
    deliveries = store().deliveries(org=org, reports=reports, newest_first=True, limit=50)
    return render(
        request,
        access,
        "org.html",
        org=org,
        subscriptions=[(s, views.subscription_row(s)) for s in subs],
        columns=views.SUBSCRIPTION_COLUMNS,
        deliveries=deliveries,
        restatement=views.restatement,
        can_add=access.can_change_any(reports),
    )


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries(
    request: Request,
    access: AccessDep,
    org: Annotated[str, Query(max_length=200)] = "",
    report: Annotated[str, Query(max_length=100)] = "",
    status_: Annotated[str, Query(alias="status", max_length=16)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> HTMLResponse:
    reports = _readable_or_403(access)
    filters = {"org": org, "report": report, "status": status_, "from": date_from, "to": date_to}
    error = None
    records: list[Any] = []
    try:
        start, end = _date(date_from, "from"), _date(date_to, "to")
        if start and end and start > end:
            raise InputError(f"from {start} is after to {end}")
        if status_ and status_ not in STATUSES:
            raise InputError(f"unknown status {status_!r} (one of {', '.join(STATUSES)})")
        records = store().deliveries(
            org=org or None,
            report=report or None,
            reports=reports,
            status=status_ or None,
            date_from=start,
            date_to=end,
            newest_first=True,
            limit=PAGE_SIZE + 1,
        )
    except InputError as exc:
        error = str(exc)
    return render(
        request,
        access,
        "deliveries.html",
        status_code=400 if error else 200,
        filters=filters,
        error=error,
        reports=reports,
        deliveries=records[:PAGE_SIZE],
        more=len(records) > PAGE_SIZE,
        page_size=PAGE_SIZE,
        restatement=views.restatement,
    )


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
def delivery(request: Request, access: AccessDep, delivery_id: str) -> HTMLResponse:
    _readable_or_403(access)
    try:
        record = store().delivery(operations.parse_id(delivery_id))
    except InputError as exc:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, str(exc).replace("subscription id", "delivery id")
        ) from None
    if not access.can_read(record.report):
        raise forbidden(f"read {record.report} deliveries")
    return render(
        request,
        access,
        "delivery.html",
        d=record,
        checks=views.checks(record),
        totals=views.quality_totals(record),
        restatement=views.restatement(record),
    )


@router.get("/subscriptions/new", response_class=HTMLResponse)
def new_subscription(
    request: Request, access: AccessDep, org: Annotated[str, Query(max_length=200)] = ""
) -> HTMLResponse:
    reports = _readable_or_403(access)
    if not access.can_change_any(reports):
        raise forbidden("change subscriptions")
    return render(
        request,
        access,
        "subscription_form.html",
        fields=forms.form_fields({"org_id": org}),
        sub=None,
        error=None,
    )


@router.get("/subscriptions/{sub_id}", response_class=HTMLResponse)
def subscription(request: Request, access: AccessDep, sub_id: str) -> HTMLResponse:
    sub = _subscription(access, sub_id)
    return render(
        request,
        access,
        "subscription.html",
        sub=sub,
        fields=views.subscription_fields(sub),
        notices=notices_sent(store(), sub.id)[:1] if sub.contact else [],
        deliveries=store().deliveries(subscription_id=sub.id, newest_first=True, limit=100),
        restatement=views.restatement,
        can_edit=access.can_edit(sub),
        can_redeliver=access.can_redeliver(sub),
        dag_id=dag_id_for(sub.report),
        yesterday=(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat(),
    )


@router.get("/subscriptions/{sub_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, access: AccessDep, sub_id: str) -> HTMLResponse:
    sub = _subscription(access, sub_id)
    if not access.can_edit(sub):
        raise forbidden(f"change {sub.report} subscriptions")
    fields = forms.form_fields(forms.values_of(sub), editing=True)
    return render(request, access, "subscription_form.html", fields=fields, sub=sub, error=None)


@router.get("/subscriptions/{sub_id}/remove", response_class=HTMLResponse)
def remove_form(request: Request, access: AccessDep, sub_id: str) -> HTMLResponse:
    sub = _subscription(access, sub_id)
    if not access.can_edit(sub):
        raise forbidden(f"change {sub.report} subscriptions")
    return render(request, access, "remove.html", sub=sub)


@router.get("/console.css")
def stylesheet(_user: User) -> Response:
    from importlib.resources import files

    css = files("flatexport.console").joinpath("templates/console.css").read_text(encoding="utf-8")
    return Response(css, media_type="text/css")


# -- changing -------------------------------------------------------------------------------


@router.post("/subscriptions")
def add(request: Request, access: AccessDep, form: Form) -> Response:
    values = {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}
    try:
        params = forms.parse(values)
        if not access.can_change(params["report"], params.get("conn_id")):
            raise forbidden(f"add {params['report']} subscriptions with this connection")
        outcome = operations.add_subscription(store(), **params)
    except FlatexportError as exc:
        fields = forms.form_fields(values)
        return render(
            request, access, "subscription_form.html", 400, fields=fields, sub=None, error=_error_text(exc)
        )
    flash(request, "ok", outcome.message)
    return back_to(request, f"/subscriptions/{outcome.subscription.id}")


@router.post("/subscriptions/{sub_id}/edit")
def edit(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    sub = _subscription(access, sub_id)
    values = {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}
    try:
        if not access.can_edit(sub):
            raise forbidden(f"change {sub.report} subscriptions")
        params = forms.parse(values, fixed={"org_id": sub.org_id, "report": sub.report})
        if not access.can_change(sub.report, params.get("conn_id")):
            raise forbidden(f"use the connection {params.get('conn_id')!r}")
        for fixed in forms.FIXED_ON_EDIT:
            params.pop(fixed, None)
        outcome = operations.edit_subscription(store(), sub.id, **params)
    except FlatexportError as exc:
        fields = forms.form_fields(values, editing=True)
        return render(
            request, access, "subscription_form.html", 400, fields=fields, sub=sub, error=_error_text(exc)
        )
    flash(request, "ok", outcome.message)
    return back_to(request, f"/subscriptions/{sub.id}")


def _change(request: Request, access: AccessDep, sub_id: str, action: Any) -> Response:
    sub = _subscription(access, sub_id)
    if not access.can_edit(sub):
        raise forbidden(f"change {sub.report} subscriptions")
    try:
        flash(request, "ok", action(sub).message)
    except Exception as exc:  # noqa: BLE001 - shown to the user in words, logged if unexpected
        flash(request, "error", f"error: {_error_text(exc)}")
    return back_to(request, f"/subscriptions/{sub.id}")


@router.post("/subscriptions/{sub_id}/enable")
def enable(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    return _change(request, access, sub_id, lambda sub: operations.set_enabled(store(), sub.id, True))


@router.post("/subscriptions/{sub_id}/disable")
def disable(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    return _change(request, access, sub_id, lambda sub: operations.set_enabled(store(), sub.id, False))


@router.post("/subscriptions/{sub_id}/remove")
def remove(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    sub = _subscription(access, sub_id)
    if not access.can_edit(sub):
        raise forbidden(f"change {sub.report} subscriptions")
    flash(request, "ok", operations.remove_subscription(store(), sub.id).message)
    return RedirectResponse(
        f"{console_root(request)}/org?{urlencode({'org': sub.org_id})}", status_code=status.HTTP_303_SEE_OTHER
    )


@router.post("/subscriptions/{sub_id}/test")
def test(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    sub = _subscription(access, sub_id)
    if not access.can_edit(sub):
        raise forbidden(f"test {sub.report} destinations")
    try:
        outcome = operations.probe_destination(store(), sub.id)
        flash(request, "ok", outcome.message, extra=_share(outcome.share_with))
    except Exception as exc:  # noqa: BLE001 - the exact cause, in words, is the point of this button
        flash(request, "error", f"error: {_error_text(exc)}", extra=_share(operations.share_address(sub)))
    return back_to(request, f"/subscriptions/{sub.id}")


def _share(address: str | None) -> str | None:
    return (
        f"Share the folder with {address} (Editor, or Content manager on a shared drive)."
        if address
        else None
    )


@router.post("/subscriptions/{sub_id}/redeliver")
def redeliver(request: Request, access: AccessDep, form: Form, sub_id: str) -> Response:
    from flatexport.console.redeliver import AirflowApi, parse_range
    from flatexport.console.redeliver import redeliver as request_run

    sub = _subscription(access, sub_id)
    if not access.can_redeliver(sub):
        raise forbidden(f"run the DAG of {sub.report}")
    dag_id = dag_id_for(sub.report)
    token = user_token(request)
    try:
        if dag_id is None:
            raise InputError(f"report {sub.report!r} has no spec, so no DAG delivers it")
        if not token:
            raise InputError("no Airflow token in this request: sign in again")
        start, end = parse_range(str(form.get("day") or ""), str(form.get("to") or ""))
        api = AirflowApi(_api_base(request), token)
        try:
            requested = request_run(api, sub, dag_id, start, end, access.name)
        finally:
            api.close()
    except Exception as exc:  # noqa: BLE001 - Airflow's refusal, in words
        flash(request, "error", f"error: {_error_text(exc)}")
    else:
        flash(request, "ok", requested.message, link=airflow_root(request) + requested.link)
    return back_to(request, f"/subscriptions/{sub.id}")


def _api_base(request: Request) -> str:
    """Where this api-server answers: [api] base_url when set, else the request's origin."""
    from airflow.configuration import conf

    configured = conf.get("api", "base_url", fallback="") or ""
    if configured.startswith(("http://", "https://")):
        return configured.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{airflow_root(request)}"


# -- the app --------------------------------------------------------------------------------


class SecurityHeaders:
    """Adds the CSP and friends to every response (pure ASGI: streams untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """401/403/404 as a page for browsers (with the way to sign in), JSON otherwise."""
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    if not _wants_html(request):
        return JSONResponse({"detail": detail}, exc.status_code, headers=getattr(exc, "headers", None))
    login = None
    if exc.status_code in (401, 403):
        from airflow.api_fastapi.app import get_auth_manager

        login = get_auth_manager().get_url_login(next_url=str(request.url))
    html = TEMPLATES.get_template("error.html").render(
        root=console_root(request), status=exc.status_code, detail=detail, login=login
    )
    return HTMLResponse(html, exc.status_code)


def _secret_key() -> str:
    from airflow.configuration import conf

    return conf.get("api", "secret_key")


def _secure_cookies() -> bool:
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="").startswith("https") or bool(
        conf.get("api", "ssl_cert", fallback="")
    )


def create_app() -> FastAPI:
    app = FastAPI(title="flatexport console", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_middleware(
        SessionMiddleware,
        secret_key=_secret_key(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="strict",
        https_only=_secure_cookies(),
    )
    app.add_middleware(SecurityHeaders)
    return app
