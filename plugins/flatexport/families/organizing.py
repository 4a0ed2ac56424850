"""The organizing family: the fifteen exports of the organizing product (users, teams,
contacts, actions, messages, outreach reports and their tags and custom fields, video
stories), one query each (``include/sql/<report>/extract.sql``).

What sets them apart from the day-slice families:

* a file is the whole history of its scope up to a **cutoff** (00:00 of the day after
  the report day in the subscription's zone; an on-demand request's own moment), not one
  day's rows;
* a report is scoped to the **org**, one **action** (``--action``), optionally one action
  (``messages``) or one **contact list** (``--contact-list``), as its spec's ``scope``
  option says; the scope is checked against the org before anything runs, with the
  contract's words, and names the file (``_action-12_``, ``_list-7_``);
* some reports run on one **action type** only (spec option ``action_type``);
* tag and custom-field names come from the data: JSON cells name custom fields per file,
  and the pivot reports get one column per tag or custom field, so those reports are
  flattened as one chunk (the rules are in ``organizing_flatten`` and the pure functions
  in ``organizing_support``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ValidationInfo, model_validator

from flatexport.errors import InputError
from flatexport.families.base import Chunking, ReportFamily, ReportOptions, Scope, scope_field
from flatexport.window import Window, cutoff_window

if TYPE_CHECKING:
    import pandas as pd

    from flatexport.flatten import FlattenContext
    from flatexport.specs import ColumnSpec, ReportSpec

ActionType = Literal["TextaFriend", "TextaList", "VideoStory"]
ScopeKind = Literal["org", "action", "org_or_action", "contact_list"]


class OrganizingOptions(ReportOptions):
    # What one file is about: the whole org, one action (required), the org or one
    # action (optional --action), or one contact list.
    scope: ScopeKind = "org"
    # The only kind of action the report runs on (action_contacts: TextaList).
    action_type: ActionType | None = None


class _OrganizingScope(Scope):
    """A scope given exactly as the report needs, or the contract's refusal: one line
    naming the report and the option (``action_users needs --action``, ``users is an
    org-wide report; --action is not accepted``)."""

    what: ClassVar[str] = ""  # how a refusal describes the report

    @model_validator(mode="before")
    @classmethod
    def _as_the_report_needs(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, Mapping):
            return data
        from flatexport.families import flag_of

        spec = (info.context or {}).get("spec")
        report = spec.report if spec is not None else "this report"
        given = {k: v for k, v in data.items() if v is not None}
        for field in given:
            if field not in cls.model_fields:
                raise ValueError(f"{report} is {cls.what}; {flag_of(field)} is not accepted")
        for field, declared in cls.model_fields.items():
            if declared.is_required() and field not in given:
                raise ValueError(f"{report} needs {flag_of(field)}")
        return given


_ACTION_HELP = "One action of the org (action reports; optional for messages)."
_LIST_HELP = "One contact list of the org (the contacts report)."


class OrgScope(_OrganizingScope):
    what: ClassVar[str] = "an org-wide report"


class ActionScope(_OrganizingScope):
    what: ClassVar[str] = "a report on one action (--action)"
    action_id: int = scope_field("--action", help=_ACTION_HELP, metavar="ID", default=...)


class OrgOrActionScope(_OrganizingScope):
    what: ClassVar[str] = "a report on the org or one action (--action)"
    action_id: int | None = scope_field("--action", help=_ACTION_HELP, metavar="ID")


class ContactListScope(_OrganizingScope):
    what: ClassVar[str] = "a report on one contact list (--contact-list)"
    contact_list_id: int = scope_field("--contact-list", help=_LIST_HELP, metavar="ID", default=...)


SCOPES: dict[str, type[_OrganizingScope]] = {
    "org": OrgScope,
    "action": ActionScope,
    "org_or_action": OrgOrActionScope,
    "contact_list": ContactListScope,
}


class Organizing(ReportFamily):
    name = "organizing"
    dag_id = "organizing_daily"
    options_model = OrganizingOptions
    scope_models = tuple(SCOPES.values())

    def scope_model(self, spec: ReportSpec[OrganizingOptions]) -> type[Scope]:
        return SCOPES[spec.options.scope]

    def window(self, spec: ReportSpec, ds: dt.date, timezone: str) -> Window:
        """The whole history of the scope before 00:00 of the next day in the zone."""
        return cutoff_window(ds, timezone)

    def chunking(self, spec: ReportSpec) -> Chunking:
        from flatexport.families.organizing_flatten import needs_whole_file

        return Chunking.whole() if needs_whole_file(spec) else Chunking.batches()

    def query_params(self, spec: ReportSpec, scope: Scope) -> Mapping[str, object]:
        """Every query may bind both scope ids; the one a report does not use is NULL."""
        return {
            "action_id": getattr(scope, "action_id", None),
            "contact_list_id": getattr(scope, "contact_list_id", None),
        }

    def extracted_fields(self, spec: ReportSpec) -> set[str]:
        from flatexport.families.organizing_flatten import extracted_fields

        return extracted_fields(spec)

    def flatten(self, rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
        from flatexport.families.organizing_flatten import flatten_report

        return flatten_report(rows, ctx)

    def data_columns(self, spec: ReportSpec) -> set[str]:
        from flatexport.families.organizing_flatten import PIVOT_KINDS

        return {c.name for c in spec.columns if c.rule_kind in PIVOT_KINDS}

    def output_columns(
        self, spec: ReportSpec, chosen: list[ColumnSpec], first: pd.DataFrame | None
    ) -> list[ColumnSpec]:
        from flatexport.families.organizing_flatten import pivot_output_columns

        return pivot_output_columns(chosen, first)

    def docs_page(self, spec: ReportSpec[OrganizingOptions]) -> str | None:
        from flatexport.families.organizing_docs import render

        return render(spec)

    def file_scope(self, spec: ReportSpec, scope: Scope) -> str:
        if getattr(scope, "action_id", None) is not None:
            return f"action-{scope.action_id}"
        if getattr(scope, "contact_list_id", None) is not None:
            return f"list-{scope.contact_list_id}"
        return ""

    def check_scope(
        self, spec: ReportSpec[OrganizingOptions], scope: Scope, org_id: str, source_url: str | None
    ) -> None:
        """The action or list must be the org's (the same words when it is another org's
        or nobody's), and of the kind the report runs on."""
        from flatexport.extract import has_rows, iter_batches, read_sql_file
        from flatexport.families.organizing_support import action_type_refusal, unknown_scope

        action_id = getattr(scope, "action_id", None)
        if action_id is not None:
            sql = read_sql_file(spec.sql_dir() / "action_exists.sql")
            params: dict[str, object] = {"org_id": org_id, "action_id": action_id}
            found = [str(t) for batch in iter_batches(sql, params, source_url) for t in batch["action_type"]]
            if not found:
                raise InputError(unknown_scope("action", action_id, org_id))
            refusal = action_type_refusal(spec.report, spec.options.action_type, action_id, found[0])
            if refusal:
                raise InputError(refusal)
        list_id = getattr(scope, "contact_list_id", None)
        if list_id is not None:
            params = {"org_id": org_id, "contact_list_id": list_id}
            if not has_rows(spec.sql_dir() / "contact_list_exists.sql", params, source_url):
                raise InputError(unknown_scope("contact list", list_id, org_id))


FAMILY = Organizing()
