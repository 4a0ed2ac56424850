"""The report-family protocol: every decision that differs between kinds of reports.

The engine runs every report through one path (spec -> extract -> flatten -> check ->
write -> deliver) and asks the report's family wherever reports differ: the typed
options of its specs, the scope a subscription may narrow it to, the window a day
covers, how extracted rows are cut into chunks, the extra bound query parameters, the
flattening rules, columns only the data can name, its docs page, its DAG and the scope
part of its file names. A new family is one module in this package that defines
``FAMILY`` (an instance of a :class:`ReportFamily` subclass); the engine, the control
plane, the CLI and the quality gate stay unchanged.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from flatexport.specs import ReportOptions
from flatexport.window import Window, day_window

if TYPE_CHECKING:
    import pandas as pd

    from flatexport.flatten import FlattenContext
    from flatexport.specs import ColumnSpec, ReportSpec

__all__ = [
    "Chunking",
    "NoScope",
    "ReportFamily",
    "ReportOptions",
    "Scope",
    "ScopeOption",
    "scope_field",
]


class Scope(BaseModel):
    """What part of an org's data a subscription (or a run) asks for; empty = all of it.

    One model per report (chosen by its family): a field a report does not take is
    refused (``extra="forbid"``), a field without default is required. Each field is
    declared with :func:`scope_field`, which also makes it a command-line option.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    def stored(self) -> dict[str, Any]:
        """The JSON kept in the subscription's ``scope`` column (unset fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class NoScope(Scope):
    """The whole org: the report takes no scope."""


def scope_field(option: str, *, help: str, metavar: str = "VALUE", default: Any = None) -> Any:
    """A scope field that is also the command-line option ``option`` (``--company``) of
    `flatexport run` and `flatexport destinations add`. ``default=...`` makes it required."""
    return Field(default=default, description=help, json_schema_extra={"option": option, "metavar": metavar})


@dataclass(frozen=True)
class ScopeOption:
    """One command-line option declared by a scope field."""

    flag: str  # "--company"
    field: str  # "company_id"
    help: str
    metavar: str
    value_type: type  # int or str: what one value is
    many: bool  # a list: comma-separated on the command line

    @classmethod
    def of(cls, name: str, info: Any) -> ScopeOption:
        extra = info.json_schema_extra or {}
        value_type, many = _value_type(info.annotation)
        return cls(
            str(extra["option"]), name, info.description or "", str(extra["metavar"]), value_type, many
        )

    @property
    def param(self) -> str:
        """The click parameter name: the flag without dashes ("--contact-list" -> contact_list)."""
        return self.flag.lstrip("-").replace("-", "_")

    def value(self, given: Any) -> Any:
        """A parsed command-line value as the scope field takes it."""
        if self.many and isinstance(given, str):
            return [v.strip() for v in given.split(",") if v.strip()]
        return given


def _value_type(annotation: Any) -> tuple[type, bool]:
    """(int or str, is a list) from a field annotation such as ``list[str] | None``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (str,)
        return (int if item is int else str), True
    return (int if annotation is int else str), False


#: Extracted columns that say when a source row happened, the most telling first
#: (see :meth:`ReportFamily.newest_event_column`).
EVENT_TIME_COLUMNS = ("event_time", "created_at", "first_time")


@dataclass(frozen=True)
class Chunking:
    """How the extracted rows are cut into the chunks a family's ``flatten`` receives.

    ``group_key``: rows arrive ordered so that each value's rows are contiguous, and no
    group is ever split across two chunks (a session). ``whole_window``: one chunk with
    every row of the window, for families whose columns depend on all of it. Neither:
    fixed-size batches, any row in any chunk.
    """

    group_key: str | None = None
    whole_window: bool = False

    @classmethod
    def batches(cls) -> Chunking:
        return cls()

    @classmethod
    def groups(cls, key: str) -> Chunking:
        return cls(group_key=key)

    @classmethod
    def whole(cls) -> Chunking:
        return cls(whole_window=True)


@runtime_checkable
class ReportFamily(Protocol):
    """What the engine asks a family. ``FAMILY`` of every module in this package
    implements it: its class subclasses this protocol explicitly, inherits the common
    answers (a plain day, no scope, rows in batches) and overrides what is its own. The
    contract tests check every family against this list."""

    name: str  # the module name, which a spec's ``family:`` names
    dag_id: str  # the nightly DAG that runs the family's reports
    options_model: type[ReportOptions] = ReportOptions  # typed ``options:`` of its specs
    scope_models: tuple[type[Scope], ...] = (NoScope,)  # every scope its reports use (CLI options)

    def scope_model(self, spec: ReportSpec) -> type[Scope]:
        """The scope a report takes (one of ``scope_models``)."""
        return self.scope_models[0]

    def window(self, spec: ReportSpec, ds: dt.date, timezone: str) -> Window:
        """The time a run for day ``ds`` covers, and how far the extract reaches beyond it."""
        return day_window(ds, timezone)

    def chunking(self, spec: ReportSpec) -> Chunking:
        """How extracted rows are grouped into chunks."""
        return Chunking.batches()

    def query_params(self, spec: ReportSpec, scope: Scope) -> Mapping[str, object]:
        """Bound parameters beyond ``org_id`` and the window's (from the scope)."""
        return {}

    def extracted_fields(self, spec: ReportSpec) -> set[str]:
        """The extracted columns the report's rules read (its SQL must select them)."""
        raise NotImplementedError

    def flatten(self, rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
        """One chunk of extracted rows -> output rows, one column per spec column."""
        raise NotImplementedError

    def data_columns(self, spec: ReportSpec) -> set[str]:
        """Spec columns that stand for columns only the data can name (written in their
        place); empty for most reports."""
        return set()

    def output_columns(
        self, spec: ReportSpec, chosen: list[ColumnSpec], first: pd.DataFrame | None
    ) -> list[ColumnSpec]:
        """The columns to write, given the first flattened chunk (None: no rows)."""
        return chosen

    def newest_event_column(self, spec: ReportSpec) -> str | None:
        """The extracted column whose newest value, with the extract's row count, is the
        source fingerprint of a window (late data: a delivered day whose fingerprint moved
        is restated). Default: the first usual event-time name the report's rules read;
        None: the row count alone."""
        fields = self.extracted_fields(spec)
        return next((c for c in EVENT_TIME_COLUMNS if c in fields), None)

    def docs_page(self, spec: ReportSpec) -> str | None:
        """A page printed before the data dictionary, or None."""
        return None

    def file_scope(self, spec: ReportSpec, scope: Scope) -> str:
        """The scope part of the file name ("action-12"), or "" for the whole org."""
        return ""

    def check_scope(self, spec: ReportSpec, scope: Scope, org_id: str, source_url: str | None) -> None:
        """Refuse (InputError) a scope the source does not know for this org."""
        return None

    def __repr__(self) -> str:
        return f"<family {self.name}>"
