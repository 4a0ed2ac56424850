"""What every report must satisfy, parametrised over the report specs (a new report is
covered by adding its spec and SQL): the spec loads with its family's typed options, its
SQL selects every extracted field its rules read and takes only bound parameters, the
tenant is bound everywhere, and its docs page renders. That every report in every format
passes the quality gate on the sample warehouse is tests/engine/test_report_formats_gate.py.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from flatexport.docs import example_scope, render_for
from flatexport.export import query_params, report_window
from flatexport.extract import read_sql_file
from flatexport.families import family_of
from flatexport.seed.schema import SOURCE_TABLES, strip_comments, tables_read_by
from flatexport.seed.warehouse import DEMO_DAYS, sample_scope, seed_all
from flatexport.source import engine_for
from flatexport.specs import available_reports, file_name, load_spec
from flatexport.subscriptions import Subscription

REPORTS = available_reports()
# :name, not PostgreSQL's ::type casts
BIND = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@pytest.fixture(scope="module")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb:///{tmp_path_factory.mktemp('contract') / 'warehouse.duckdb'}"
    seed_all(url, sessions_per_org_day=40, activity_events=150, seed=5)
    return url


def subscription(report: str) -> Subscription:
    """A subscription of the sample org, with a scope that has rows when the report needs one."""
    return Subscription(
        id=1,
        org_id="org_acme",
        report=report,
        destination="file:///unused",
        scope=sample_scope(report, "org_acme"),
    )


def binds(sql: str) -> set[str]:
    return set(BIND.findall(strip_comments(sql)))


def engine_params(report: str) -> dict[str, object]:
    spec, sub = load_spec(report), subscription(report)
    return query_params(spec, sub, report_window(spec, sub, DEMO_DAYS[1]))


@pytest.mark.parametrize("report", REPORTS)
def test_spec_loads_with_its_family_options(report: str) -> None:
    spec = load_spec(report)
    family = family_of(spec)
    assert spec.report == report
    assert isinstance(spec.options, family.options_model)
    assert family.scope_model(spec) in family.scope_models
    scope = subscription(report).scope
    part = family.file_scope(spec, family.scope_model(spec).model_validate(scope))
    name = file_name(spec, DEMO_DAYS[1], "csv.gz", scope)
    stem = f"{spec.file_stem}_{part}" if part else spec.file_stem
    assert name == f"{stem}_{DEMO_DAYS[1].isoformat()}.csv.gz"


@pytest.mark.parametrize("report", REPORTS)
def test_sql_selects_every_field_the_rules_read(report: str, sample_warehouse: str) -> None:
    spec = load_spec(report)
    needed = family_of(spec).extracted_fields(spec)
    assert needed, f"{report}: its family names no extracted field"
    with engine_for(sample_warehouse).connect() as conn:
        selected = set(conn.execute(sa.text(read_sql_file(spec.sql_path())), engine_params(report)).keys())
    assert needed - selected == set(), f"{spec.sql} does not select {sorted(needed - selected)}"


@pytest.mark.parametrize("report", REPORTS)
def test_queries_bind_the_tenant_and_format_nothing(report: str) -> None:
    """Every query of the report (extract, org check, scope checks) filters by the bound
    :org_id, binds only what the engine and the family supply, and formats nothing in."""
    spec = load_spec(report)
    files = sorted(spec.sql_dir().glob("*.sql"))
    assert spec.sql_path() in files and spec.sql_dir() / "org_exists.sql" in files
    scope_fields = {f for m in family_of(spec).scope_models for f in m.model_fields}
    supplied = set(engine_params(report)) | scope_fields
    for path in files:
        sql = strip_comments(read_sql_file(path))
        assert "org_id" in binds(sql), f"{path.name} is not filtered by :org_id"
        assert binds(sql) <= supplied, (
            f"{path.name} binds {sorted(binds(sql) - supplied)}, which nothing supplies"
        )
        assert not re.search(r"\{[^}]*\}|%\(|%s", sql), f"{path.name} has a format placeholder"
    assert binds(read_sql_file(spec.sql_dir() / "org_exists.sql")) == {"org_id"}


@pytest.mark.parametrize("report", REPORTS)
def test_docs_render(report: str) -> None:
    spec = load_spec(report)
    page = render_for(report)
    assert page.startswith("# ")
    for col in spec.columns:
        assert f"| `{col.out_header}` |" in page, col.name
    assert f"`{file_name(spec, '<YYYY-MM-DD>', 'csv', example_scope(spec))}`" in page
    tables = tables_read_by(read_sql_file(spec.sql_path()))
    assert tables, f"{spec.sql} reads no declared source table"
    assert "## Source tables" in page
    for table in tables:
        assert table.ddl in page


def test_source_tables_are_what_the_sample_warehouse_has(sample_warehouse: str) -> None:
    """The one declaration of the source tables is what the generators create."""
    with engine_for(sample_warehouse).connect() as conn:
        for table in SOURCE_TABLES.values():
            columns = conn.execute(sa.text(f"SELECT * FROM {table.name} LIMIT 0")).keys()  # noqa: S608
            assert list(columns) == list(table.columns), table.name
            json_types = conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = :t AND data_type = 'JSON'"
                ),
                {"t": table.name},
            ).scalars()
            assert sorted(json_types) == sorted(table.json_columns), table.name


@pytest.mark.parametrize("report", REPORTS)
def test_source_fingerprint_is_the_extracts_row_count_and_newest_event(
    report: str, sample_warehouse: str
) -> None:
    """Late data is found by this fingerprint (flatexport.fingerprint): every report has one,
    derived from its own extract and its family's event-time column."""
    from flatexport.fingerprint import source_fingerprint

    spec = load_spec(report)
    column = family_of(spec).newest_event_column(spec)
    with engine_for(sample_warehouse).connect() as conn:
        result = conn.execute(sa.text(read_sql_file(spec.sql_path())), engine_params(report))
        rows = [r._mapping for r in result]
    found = source_fingerprint(subscription(report), DEMO_DAYS[1], sample_warehouse)
    assert found.rows == len(rows) > 0
    if column is None:
        assert found.newest is None
    else:
        assert column in family_of(spec).extracted_fields(spec)
        newest = max(r[column] for r in rows if r[column] is not None)
        assert found.newest is not None and found.newest.replace(tzinfo=None) == newest.replace(tzinfo=None)
