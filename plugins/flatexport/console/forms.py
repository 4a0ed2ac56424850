"""The subscription form is the CLI's ``destinations add`` command, in HTML.

Its fields are read from the click command's options (name, help, flag or value), and
a submitted form is parsed by that same command, so an option added to the CLI (the
scope options each family declares, for instance) appears here with its help text, and
a bad value gets click's message or the action's, word for word.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from flatexport.errors import InputError
from flatexport.subscriptions import Subscription

# Nicer labels for a few options; any other option is labelled from its name.
LABELS = {
    "org_id": "Org",
    "url": "Destination",
    "conn_id": "Airflow connection",
    "kms_key": "KMS key",
    "fmt": "Format",
    "exclude_pii": "Exclude PII columns",
    "start_date": "First day",
    "disabled": "Save it switched off",
    "contact": "Customer contact",
}
# Input types other than text, so a browser helps before the server checks.
INPUT_TYPES = {"contact": "email"}
HELP = {
    "url": "file:///path, s3://bucket/prefix, gdrive://FOLDER_ID (a Drive folder link works too) "
    "or mailto:ADDR (an admin of the org)."
}
# Fields an edit keeps: a different org or report is a different subscription.
FIXED_ON_EDIT = ("org_id", "report", "disabled")
# Option name -> subscription field, where they differ.
FIELD_OF = {"url": "destination", "fmt": "format"}


def add_command() -> click.Command:
    from flatexport.control.cli import add

    return add


def _choices() -> dict[str, Callable[[], list[str]]]:
    from flatexport.formats import FORMATS
    from flatexport.specs import available_reports

    return {"report": available_reports, "fmt": lambda: list(FORMATS)}


@dataclass
class FormField:
    name: str
    option: str  # how the CLI spells it: --conn-id, or URL for the argument
    label: str
    help: str
    flag: bool = False
    required: bool = False
    choices: list[str] = field(default_factory=list)
    value: str = ""
    checked: bool = False
    input_type: str = "text"


def _long_option(param: click.Parameter) -> str:
    opts = [o for o in param.opts if o.startswith("--")]
    return opts[0] if opts else param.opts[0]


def form_fields(values: Mapping[str, Any], *, editing: bool = False) -> list[FormField]:
    """The add command's options as form fields, filled with ``values``."""
    choices = _choices()
    command = add_command()
    defaults = _defaults(command)
    fields = []
    for param in command.params:
        name = param.name or ""
        if editing and name in FIXED_ON_EDIT:
            continue
        is_argument = isinstance(param, click.Argument)
        flag = bool(getattr(param, "is_flag", False))
        default = None if param.required else defaults.get(name)
        raw = values.get(name, "" if flag or default is None else default)
        fields.append(
            FormField(
                name=name,
                option=name.upper() if is_argument else _long_option(param),
                label=LABELS.get(name, _long_option(param).lstrip("-").replace("-", " ").capitalize()),
                help=HELP.get(name, getattr(param, "help", None) or ""),
                flag=flag,
                required=bool(param.required),
                choices=choices[name]() if name in choices else [],
                value="" if flag else str(raw if raw is not None else ""),
                checked=flag and _truthy(raw),
                input_type=INPUT_TYPES.get(name, "text"),
            )
        )
    return fields


def _defaults(command: click.Command) -> dict[str, Any]:
    """Each option's default as click resolves it (None when it has none)."""
    required = [p for p in command.params if p.required]
    argv = [f"{_long_option(p)}=-" for p in required if isinstance(p, click.Option)]
    argv += ["--", *("-" for p in required if isinstance(p, click.Argument))]
    return dict(command.make_context(command.name or "add", argv).params)


def _scope_fields() -> dict[str, str]:
    """Option name -> scope field, for the options families declare (``company`` ->
    ``company_id``); none before families declared their scope options."""
    try:
        from flatexport.families import scope_options
    except ImportError:
        return {}
    return {option.param: option.field for option in scope_options()}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("on", "true", "1", "yes"))


def parse(form: Mapping[str, Any], fixed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run the submitted values through the CLI's own parser: the option values the
    CLI's add would receive, or an InputError with click's message."""
    command = add_command()
    values = {**form, **(fixed or {})}
    argv: list[str] = []
    positional: list[str] = []
    for param in command.params:
        raw = values.get(param.name or "")
        if isinstance(param, click.Argument):
            if isinstance(raw, str) and raw.strip():
                positional.append(raw.strip())
        elif getattr(param, "is_flag", False):
            if _truthy(raw):
                argv.append(_long_option(param))
        elif isinstance(raw, str) and raw.strip():
            argv.append(f"{_long_option(param)}={raw.strip()}")
    try:
        ctx = command.make_context(command.name or "add", [*argv, "--", *positional])
    except click.ClickException as exc:
        raise InputError(exc.format_message()) from None
    return dict(ctx.params)


def values_of(sub: Subscription) -> dict[str, Any]:
    """A subscription as the option values that would recreate it (to fill the edit form).

    Options named after a model field take its value; a scope option takes its field of
    the subscription's scope, when it has one (``--company`` → ``scope.company_id``).
    """
    dump = sub.model_dump()
    scope = dump.get("scope") or {}
    field_of = {**_scope_fields(), **FIELD_OF}
    values: dict[str, Any] = {}
    for param in add_command().params:
        name = param.name or ""
        key = field_of.get(name, name)
        if name == "disabled":
            values[name] = not sub.enabled
            continue
        value = dump[key] if key in dump else scope.get(key)
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        values[name] = value
    return values
