"""Report families: the modules of this package that define ``FAMILY``.

A module is found by reading it, not importing it: discovery stays cheap (DAG parsing
lists the families), and a helper module of a family (its rules, its docs page) is only
imported when its family uses it. A report spec names its family (``family: planroom``);
everything the engine asks about the report goes through that family
(:class:`flatexport.families.base.ReportFamily`).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from flatexport.errors import InputError, SpecError
from flatexport.families.base import ReportFamily, Scope, ScopeOption

if TYPE_CHECKING:
    from flatexport.specs import ReportSpec

__all__ = [
    "all_families",
    "family_names",
    "family_of",
    "flag_of",
    "get_family",
    "parse_scope",
    "scope_from_options",
    "scope_options",
]

_HERE = Path(__file__).resolve().parent
_NOT_FAMILIES = {"__init__", "base"}


def _defines_family(path: Path) -> bool:
    """Whether the module assigns ``FAMILY`` at its top level."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "FAMILY" for t in targets):
            return True
    return False


@cache
def family_names() -> tuple[str, ...]:
    """Every family, by module name, sorted."""
    return tuple(
        sorted(p.stem for p in _HERE.glob("*.py") if p.stem not in _NOT_FAMILIES and _defines_family(p))
    )


@cache
def get_family(name: str) -> ReportFamily:
    if name not in family_names():
        raise SpecError(f"unknown report family {name!r} (known: {', '.join(family_names())})")
    family = importlib.import_module(f"{__name__}.{name}").FAMILY
    if family.name != name:
        raise SpecError(f"{__name__}.{name}: FAMILY.name is {family.name!r}, expected {name!r}")
    return family


def all_families() -> list[ReportFamily]:
    return [get_family(n) for n in family_names()]


def family_of(spec: ReportSpec) -> ReportFamily:
    return get_family(spec.family)


# -- scope -----------------------------------------------------------------------------


@cache
def scope_options() -> tuple[ScopeOption, ...]:
    """Every scope field of every family, once per command-line flag. A flag means one
    field of one type everywhere, so `--company 42` reads the same for every report."""
    found: dict[str, ScopeOption] = {}
    for family in all_families():
        for model in family.scope_models:
            for name, info in model.model_fields.items():
                opt = ScopeOption.of(name, info)
                seen = found.setdefault(opt.flag, opt)
                if (seen.field, seen.value_type, seen.many) != (opt.field, opt.value_type, opt.many):
                    raise SpecError(
                        f"scope option {opt.flag} is declared as {seen.field} and as {opt.field} "
                        f"({family.name}.{model.__name__}); one flag must mean one field"
                    )
    return tuple(found.values())


def _flag(field: str) -> str:
    return next((f" ({o.flag})" for o in scope_options() if o.field == field), "")


def flag_of(field: str) -> str:
    """The command-line option of a scope field ("action_id" -> "--action"), or the field."""
    return next((o.flag for o in scope_options() if o.field == field), field)


def _scope_errors(spec: ReportSpec, model: type[Scope], exc: ValidationError) -> str:
    """One message for a refused scope. A scope model that words its own refusal (a model
    validator raising ValueError, so the error belongs to no one field) is quoted as is;
    otherwise the message names the report, the field and its option."""
    takes = ", ".join(f"{f}{_flag(f)}" for f in model.model_fields) or "no scope"
    parts = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "scope"
        if not err["loc"] and err["type"] == "value_error":
            parts.append(str(err["msg"]).removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            parts.append(f"report {spec.report!r} takes no {field}{_flag(field)} (it takes {takes})")
        elif err["type"] == "missing":
            parts.append(f"report {spec.report!r} needs {field}{_flag(field)}")
        else:
            parts.append(f"{field}{_flag(field)}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def parse_scope(spec: ReportSpec, raw: Mapping[str, Any] | None) -> Scope:
    """A subscription's (or a run's) scope, validated by the report's scope model, as an
    InputError naming the report, the field and its command-line option."""
    model = family_of(spec).scope_model(spec)
    try:
        return model.model_validate(dict(raw or {}), context={"spec": spec})
    except ValidationError as exc:
        raise InputError(_scope_errors(spec, model, exc)) from None


def scope_from_options(spec: ReportSpec, given: Mapping[str, Any]) -> Scope:
    """The scope from parsed command-line options (click parameter -> value; None = not
    given). An option the report does not take is refused, never ignored."""
    raw = {o.field: o.value(given[o.param]) for o in scope_options() if given.get(o.param) is not None}
    return parse_scope(spec, raw)
