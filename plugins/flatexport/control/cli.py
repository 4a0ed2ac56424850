"""Customer-success commands for subscriptions and the delivery log.

``destinations`` (a group) and ``deliveries`` (a command) are added to the main
``flatexport`` CLI with ``main.add_command``. Every failure is one line on stderr,
``error: ...``, and a non-zero exit, so the commands are safe to script.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, TypeVar

import click

from flatexport import cli_logging, masking
from flatexport.cli_scope import with_scope_options
from flatexport.control import operations
from flatexport.errors import ConfigError, FlatexportError, InputError
from flatexport.formats import FORMATS
from flatexport.orgs import check_org_id

F = TypeVar("F", bound=Callable[..., Any])


class PathParam(click.Path):
    """click.Path that refuses a NUL byte (the OS would raise ValueError) and an empty
    value (which would mean the current folder) as bad values."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | bytes) and ("\x00" in str(value)):
            self.fail(f"{str(value)!r} contains a NUL byte", param, ctx)
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r} is empty (name a path, or leave the option out)", param, ctx)
        return super().convert(value, param, ctx)


class CliError(click.ClickException):
    """A user-facing failure printed as ``error: message`` (click's default is ``Error:``).

    Exit 1: a run (export, check, delivery, a store or source outage) failed."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class UsageCliError(CliError):
    """Exit 2, like click's own usage errors: a value the user gave is not acceptable."""

    exit_code = 2


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def checked(check: Callable[[str], Any]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback from one of the engine's checks (parse_ds, check_org_id, ...): an
    option left out stays unset; a value given is checked, and a refusal is a usage error
    (exit 2) naming the value, so every command refuses the same value in the same words."""

    def callback(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except InputError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _argv_secrets() -> tuple[str, ...]:
    """Secrets the user typed (``--source postgresql://u:PW@...?password=...``) or set
    (FLATEXPORT_SOURCE_URL, FLATEXPORT_CONTROL_DB_URL): never echoed back in an error."""
    values = [
        *sys.argv[1:],
        os.environ.get("FLATEXPORT_SOURCE_URL"),
        os.environ.get("FLATEXPORT_CONTROL_DB_URL"),
    ]
    found: list[str] = []
    for value in values:
        if value and "://" in value:
            found.extend(masking.url_secrets(value))
    return tuple(found)


def cli_error(exc: BaseException) -> CliError:
    """The one mapping from a failure to what the CLI prints and its exit status: a bad
    value (InputError, ConfigError) is a usage error (2); anything else of ours a failed
    run (1); a file the command could not read or write is named with the reason (1).
    The line never holds a secret from the command line or the environment."""
    if isinstance(exc, InputError | ConfigError):
        cls: type[CliError] = UsageCliError
        text = str(exc)
    elif isinstance(exc, FlatexportError):
        cls, text = CliError, str(exc)
    elif isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        cls, text = CliError, f"cannot access{where}: {exc.strerror or type(exc).__name__}"
    else:  # pragma: no cover - only the exceptions above are passed in
        cls, text = CliError, f"{type(exc).__name__}: {exc}"
    return cls(masking.scrub(one_line(text), _argv_secrets()))


def handle_errors(func: F) -> F:
    """Turn flatexport's errors into CliError, so no traceback reaches the user."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (FlatexportError, OSError) as exc:
            raise cli_error(exc) from None

    return wrapper  # type: ignore[return-value]


class _Boundary:
    """The CLI's error boundary, for every command under it (ours, and those added from
    the subsystems: seed, quality, destinations...), and for a sub-CLI run on its own:
    our errors and file-system errors become one ``error: ...`` line, exit 2 for a bad
    value, 1 for a failed run."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (FlatexportError, OSError) as exc:
            raise cli_error(exc) from None

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """As click's, but every error is one line, ``error: ...`` (click's usage errors
        too, without the usage banner), with click's exit status (2 usage, 1 failure);
        logs go to stderr while the command runs (flatexport.cli_logging)."""
        if not cli_logging.configured():
            cli_logging.configure(False)  # the group's callback may turn on -v
        try:
            return self._main(*args, standalone_mode=standalone_mode, **kwargs)
        finally:
            cli_logging.configure(None)

    def _main(self, *args: Any, standalone_mode: bool, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare command: its help, not an error
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            message = exc.format_message()
            if not isinstance(exc, CliError):
                message = masking.scrub(one_line(message), _argv_secrets())
            click.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


class BoundaryGroup(_Boundary, click.Group):
    """A click group behind the error boundary (see _Boundary)."""


class BoundaryCommand(_Boundary, click.Command):
    """A click command behind the error boundary when run on its own (see _Boundary)."""


def _store() -> Any:
    """The store named by FLATEXPORT_CONTROL_DB_URL (or the data folder's SQLite file)."""
    from flatexport.control.store import ControlStore

    return ControlStore()


def _date(value: str | None, option: str) -> dt.date | None:
    return operations.parse_date(value, option)


def _id(value: str) -> int:
    return operations.parse_id(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table (no extra dependency, copy-pastes into tickets)."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


_org = checked(check_org_id)  # --org: the one org id pattern (flatexport.orgs)


def _report(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """--report as a filter: a report flatexport has (a typo is not "nothing found")."""
    from flatexport.specs import available_reports

    if value is not None and value not in available_reports():
        raise click.BadParameter(f"unknown report {value!r} (known: {', '.join(available_reports())})")
    return value


@click.group("destinations", cls=BoundaryGroup)
def destinations() -> None:
    """Manage where each org's reports are delivered."""


@destinations.command("add")
@click.option("--org", "org_id", required=True, help="Customer org id (checked by the add itself).")
@click.option("--report", required=True, help="Report name (a spec in include/report_specs).")
@click.argument("url")
@click.option("--conn-id", help="Airflow connection with the credentials (required for gdrive://).")
@click.option("--kms-key", help="S3 SSE-KMS key ARN.")
@click.option("--expected-bucket-owner", help="12-digit AWS account that must own the bucket.")
@click.option("--subject", help="Drive: user to impersonate (domain-wide delegation).")
@click.option(
    "--contact",
    help="The customer's email address, told when a delivery fails for a reason on their side "
    "(bucket policy, unshared folder, quota); at most one notice a day.",
)
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of the org's day.")
@click.option("--format", "fmt", default="csv", show_default=True, help=f"One of: {', '.join(FORMATS)}.")
@click.option("--columns", help="Comma-separated subset of the report's columns.")
@click.option("--exclude-pii", is_flag=True, help="Leave out columns the spec marks as PII.")
@with_scope_options
@click.option("--start-date", help="First day (YYYY-MM-DD) to deliver.")
@click.option("--disabled", is_flag=True, help="Save it switched off.")
@handle_errors
def add(org_id: str, report: str, url: str, fmt: str, **opts: Any) -> None:
    """Add a subscription after checking report, columns, scope (against the source the
    nightly run reads: an action or list of another org is refused), URL and connection."""
    click.echo(operations.add_subscription(_store(), org_id, report, url, fmt, **opts).message)


# Options ``edit`` does not take: a different org or report is a different subscription,
# and switching on or off has its own commands.
_KEPT_ON_EDIT = ("org_id", "report", "disabled")


def _edit_params() -> list[click.Parameter]:
    """``add``'s options, each optional and defaulting to the subscription's own value."""
    params: list[click.Parameter] = [click.Argument(["sub_id"], metavar="ID")]
    for param in add.params:
        if param.name in _KEPT_ON_EDIT:
            continue
        if isinstance(param, click.Argument):
            params.append(click.Option(["--url", "url"], help="The new destination URL."))
            continue
        long = next(o for o in param.opts if o.startswith("--"))
        help_text = getattr(param, "help", None)
        if getattr(param, "is_flag", False):
            params.append(click.Option([f"{long}/--no-{long[2:]}", param.name], default=None, help=help_text))
        else:
            params.append(click.Option([long, param.name], default=None, help=help_text))
    return params


@handle_errors
def _edit(sub_id: str, **given: Any) -> None:
    """Change a subscription; every option left out keeps its value (--contact '' removes
    the contact). Checked exactly as add checks a new one, as the console's edit is."""
    from flatexport.console import forms

    store = _store()
    current = store.get(_id(sub_id))
    values = forms.values_of(current)
    values.update({name: value for name, value in given.items() if value is not None})
    form = {k: v if isinstance(v, bool) else ("" if v is None else str(v)) for k, v in values.items()}
    params = forms.parse(form, fixed={"org_id": current.org_id, "report": current.report})
    for kept in _KEPT_ON_EDIT:
        params.pop(kept, None)
    click.echo(operations.edit_subscription(store, current.id, **params).message)


destinations.add_command(
    click.Command(
        "edit", callback=_edit, params=_edit_params(), help=_edit.__doc__, short_help="Change a subscription."
    )
)


@destinations.command("list")
@click.option("--org", callback=_org, help="Only this org.")
@click.option("--report", callback=_report, help="Only this report.")
@handle_errors
def list_(org: str | None, report: str | None) -> None:
    """List subscriptions."""
    subs = _store().list(org=org, report=report)
    if not subs:
        click.echo("no subscriptions")
        return
    rows = [
        (
            s.id,
            s.org_id,
            s.report,
            s.format,
            s.timezone,
            "yes" if s.enabled else "no",
            s.start_date,
            s.destination,
        )
        for s in subs
    ]
    click.echo(table(("id", "org", "report", "format", "timezone", "enabled", "start", "destination"), rows))


@destinations.command("show")
@click.argument("sub_id", metavar="ID")
@handle_errors
def show(sub_id: str) -> None:
    """Show every field of one subscription."""
    sub = _store().get(_id(sub_id))
    for key, value in sub.model_dump().items():
        click.echo(f"{key}: {_shown(value)}")


def _shown(value: Any) -> str:
    """A field as one line: lists comma-joined, mappings as key=value pairs, "-" if unset."""
    if value is None or value == {} or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{k}={_shown(v)}" for k, v in value.items())
    return str(value)


@destinations.command("test")
@click.argument("sub_id", metavar="ID")
@handle_errors
def test(sub_id: str) -> None:
    """Write and remove a probe file at the destination (checks credentials and access)."""
    click.echo(operations.probe_destination(_store(), sub_id).message)


@destinations.command("enable")
@click.argument("sub_id", metavar="ID")
@handle_errors
def enable(sub_id: str) -> None:
    """Switch a subscription on (from the next run)."""
    click.echo(operations.set_enabled(_store(), sub_id, True).message)


@destinations.command("disable")
@click.argument("sub_id", metavar="ID")
@handle_errors
def disable(sub_id: str) -> None:
    """Switch a subscription off without losing its settings."""
    click.echo(operations.set_enabled(_store(), sub_id, False).message)


@destinations.command("remove")
@click.argument("sub_id", metavar="ID")
@handle_errors
def remove(sub_id: str) -> None:
    """Delete a subscription (its delivery log stays)."""
    click.echo(operations.remove_subscription(_store(), sub_id).message)


def _short(text: str | None, width: int = 60) -> str:
    text = one_line(text or "")
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command("deliveries", cls=BoundaryCommand)
@click.option("--org", callback=_org, help="Only this org.")
@click.option("--report", callback=_report, help="Only this report.")
@click.option("--from", "date_from", help="First ds (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Last ds (YYYY-MM-DD), inclusive.")
@handle_errors
def deliveries(org: str | None, report: str | None, date_from: str | None, date_to: str | None) -> None:
    """Show the delivery log: what went where, when, and how it ended."""
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    if start and end and start > end:
        raise InputError(f"--from {start} is after --to {end}")
    records = _store().deliveries(org=org, report=report, date_from=start, date_to=end)
    if not records:
        click.echo("no deliveries")
        return
    rows = [
        (
            r.ds,
            r.org_id,
            r.report,
            r.subscription_id,
            r.status,
            r.rows,
            r.bytes,
            r.file_name,
            r.destination,
            r.finished_at.strftime("%Y-%m-%d %H:%M:%SZ") if r.finished_at else "",
            _short(r.error),
        )
        for r in records
    ]
    headers = (
        "ds",
        "org",
        "report",
        "sub",
        "status",
        "rows",
        "bytes",
        "file",
        "destination",
        "finished",
        "error",
    )
    click.echo(table(headers, rows))
