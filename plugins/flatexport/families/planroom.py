"""The planroom family: who first accessed which file, section or job (detailed and
summary), as a snapshot up to the end of the report day.

The SQL computes the first accesses; flattening is the row grain. A planroom's customer
company receives only its own jobs (``--company``); without it, the planroom owner
receives every job of the org.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from flatexport.errors import InputError
from flatexport.families.base import ReportFamily, Scope, scope_field

if TYPE_CHECKING:
    import pandas as pd

    from flatexport.flatten import FlattenContext
    from flatexport.specs import ReportSpec


class CompanyScope(Scope):
    company_id: int | None = scope_field(
        "--company",
        help="Only this customer company's jobs (default: every job, for the planroom owner).",
        metavar="ID",
    )


class Planroom(ReportFamily):
    name = "planroom"
    dag_id = "planroom_daily"
    scope_models = (CompanyScope,)

    def query_params(self, spec: ReportSpec, scope: CompanyScope) -> Mapping[str, object]:
        return {"company_id": scope.company_id}

    def extracted_fields(self, spec: ReportSpec) -> set[str]:
        from flatexport.flatten.rows import row_fields

        return row_fields(spec)

    def flatten(self, rows: pd.DataFrame, ctx: FlattenContext) -> pd.DataFrame:
        from flatexport.flatten.rows import flatten_rows

        return flatten_rows(rows, ctx)

    def check_scope(self, spec: ReportSpec, scope: CompanyScope, org_id: str, source_url: str | None) -> None:
        """A company must be one of this org's planroom companies (never another org's)."""
        if scope.company_id is None:
            return
        from flatexport.extract import has_rows

        found = has_rows(
            spec.sql_dir() / "company_exists.sql",
            {"org_id": org_id, "company_id": scope.company_id},
            source_url,
        )
        if not found:
            raise InputError(f"company {scope.company_id} is not a planroom company of org {org_id!r}")


FAMILY = Planroom()
