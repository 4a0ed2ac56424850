"""Scope options on the command line, declared by the scope models (never listed here).

Every flag a report family's scope models declare (``--company``, ``--entries``, ...)
becomes an option of the commands that take a scope; which report accepts which is
decided when the command runs, by that report's scope model, so an option a report does
not take is refused with a message naming the report and what it takes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from flatexport.families import scope_options

F = TypeVar("F", bound=Callable[..., Any])


def with_scope_options(command: F) -> F:
    """Add one click option per scope flag (the value is checked later, per report)."""
    for opt in reversed(scope_options()):
        kind = click.INT if opt.value_type is int and not opt.many else click.STRING
        command = click.option(opt.flag, opt.param, type=kind, metavar=opt.metavar, help=opt.help)(command)
    return command


def pop_scope_options(params: dict[str, Any]) -> dict[str, Any]:
    """Take the scope options out of a command's keyword arguments (click param -> value)."""
    return {opt.param: params.pop(opt.param, None) for opt in scope_options()}
