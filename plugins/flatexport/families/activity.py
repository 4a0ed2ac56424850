"""The activity family: what users did on the platform, from ``activity_events``.

Two grains share the source: ``events`` (User Activity Exporter: one row per event,
Category / Action / Label from the kind map in the spec) and ``users`` (Unique Users:
one row per user active in the window, with one column per dimension key the data has,
so the whole window is one chunk and the columns are final before the header is
written). A report with a kind map may be narrowed to some exporter entries.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from flatexport.errors import InputError
from flatexport.families.base import Chunking, NoScope, ReportFamily, ReportOptions, Scope, scope_field

if TYPE_CHECKING:
    import pandas as pd

    from flatexport.flatten import FlattenContext
    from flatexport.specs import ColumnSpec, ReportSpec

NOT_APPLICABLE = "N/A"
PLACEHOLDER = re.compile(r"\[[^\]]+\]")
# Discriminator name in a map row's `when` -> the extracted column it is read from.
DISCRIMINATORS: dict[str, str] = {
    "content_type": "content_type",
    "question_type": "p_question_type",
    "meeting_type": "p_meeting_type",
}
Discriminator = Literal["content_type", "question_type", "meeting_type"]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Placeholder(_Data):
    """Where a bracketed template part's value comes from, and how several join."""

    fields: list[str] = Field(min_length=1)
    sep: str = " "

    @field_validator("fields")
    @classmethod
    def _sources(cls, fields: list[str]) -> list[str]:
        for f in fields:
            if not re.fullmatch(r"payload\.[a-z_]+|content\.(name|slug|type)", f):
                raise ValueError(f"{f!r}: expected payload.<key> or content.<name|slug|type>")
        return fields


class KindEntry(_Data):
    """One row of the reference's tables."""

    kind: str
    name: str
    definition: str = ""
    category: str
    action: str
    label: str = ""
    when: dict[Discriminator, str] = Field(default_factory=dict)  # picks the row among a kind's
    continued: bool = False  # shares the name of the row above (the guide leaves it blank)
    decision: str | None = None


class KindSection(_Data):
    title: str
    section: str
    intro: list[str] = Field(default_factory=list)
    entries: list[KindEntry] = Field(min_length=1)


class ActivityOptions(ReportOptions):
    grain: Literal["events", "users"] = "events"
    # The exporter's kind map (events grain): the reference's tables, section by section.
    sections: list[KindSection] = Field(default_factory=list)
    # Bracketed template parts -> their sources.
    placeholders: dict[str, Placeholder] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> ActivityOptions:
        if self.grain == "events" and not self.sections:
            raise ValueError("the events grain needs sections (the kind map)")
        for section in self.sections:
            for entry in section.entries:
                for text in (entry.category, entry.label):
                    for part in PLACEHOLDER.findall(text):
                        if part not in self.placeholders:
                            raise ValueError(f"{entry.kind}: placeholder {part} is not in placeholders")
        return self


class EntriesScope(Scope):
    entries: list[str] | None = scope_field(
        "--entries",
        help="Only these exporter entries: kinds (content.viewed) or whole sections (feed), comma-separated.",
        metavar="ENTRY,...",
    )
    # The guide's "download one for individual content pages": the activity on one page.
    content_id: int | None = scope_field(
        "--content",
        help="Only the activity on this content page (its content id): the per-page report.",
        metavar="ID",
    )

    @field_validator("entries")
    @classmethod
    def _known(cls, entries: list[str] | None, info: ValidationInfo) -> list[str] | None:
        spec = (info.context or {}).get("spec")
        if entries is not None and spec is not None:
            from flatexport.families.activity_map import kind_map

            try:
                kind_map(spec).selected_kinds(entries)
            except InputError as exc:
                raise ValueError(str(exc)) from None
        return entries


class Activity(ReportFamily):
    name = "activity"
    dag_id = "activity_daily"
    options_model = ActivityOptions
    scope_models = (NoScope, EntriesScope)

    def scope_model(self, spec: ReportSpec[ActivityOptions]) -> type[Scope]:
        return EntriesScope if spec.options.sections else NoScope

    def query_params(self, spec: ReportSpec[ActivityOptions], scope: Scope) -> dict[str, object]:
        if not spec.options.sections:
            return {}
        return {"content_id": getattr(scope, "content_id", None)}

    def file_scope(self, spec: ReportSpec, scope: Scope) -> str:
        content_id = getattr(scope, "content_id", None)
        return f"content-{content_id}" if content_id is not None else ""

    def check_scope(self, spec: ReportSpec, scope: Scope, org_id: str, source_url: str | None) -> None:
        """A content page must be one of this org's (another org's reads as unknown)."""
        content_id = getattr(scope, "content_id", None)
        if content_id is None:
            return
        from flatexport.extract import has_rows

        if not has_rows(
            spec.sql_dir() / "content_exists.sql", {"org_id": org_id, "content_id": content_id}, source_url
        ):
            raise InputError(f"unknown content {content_id} for org {org_id}")

    def chunking(self, spec: ReportSpec[ActivityOptions]) -> Chunking:
        return Chunking.whole() if spec.options.grain == "users" else Chunking.batches()

    def extracted_fields(self, spec: ReportSpec[ActivityOptions]) -> set[str]:
        if spec.options.grain == "users":
            from flatexport.families.activity_users import extracted_fields

            return extracted_fields(spec)
        from flatexport.families.activity_events import extracted_fields

        return extracted_fields(spec)

    def flatten(self, rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
        if ctx.spec.options.grain == "users":
            from flatexport.families.activity_users import flatten_users

            return flatten_users(rows, ctx)
        from flatexport.families.activity_events import flatten_events

        return flatten_events(rows, ctx)

    def data_columns(self, spec: ReportSpec) -> set[str]:
        from flatexport.families.activity_users import EXPAND

        return {c.name for c in spec.columns if c.rule_kind == EXPAND}

    def output_columns(
        self, spec: ReportSpec, chosen: list[ColumnSpec], first: pd.DataFrame | None
    ) -> list[ColumnSpec]:
        if not self.data_columns(spec):
            return chosen
        from flatexport.families.activity_users import expand_columns

        return expand_columns(chosen, first)

    def docs_page(self, spec: ReportSpec[ActivityOptions]) -> str | None:
        if not spec.options.sections:
            return None
        from flatexport.families.activity_docs import render

        return render(spec)


FAMILY = Activity()
