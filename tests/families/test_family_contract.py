"""Every family module implements the family protocol, so the engine can ask it anything.

Parametrised over the discovered families: a new family module is covered by adding it.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

from flatexport.families import family_names, get_family, scope_options
from flatexport.families.base import ReportFamily, Scope
from flatexport.paths import PROJECT_ROOT
from flatexport.specs import ReportOptions, available_reports, load_spec

PROTOCOL_METHODS = [
    name
    for name, member in vars(ReportFamily).items()
    if inspect.isfunction(member) and not name.startswith("_")
]


def reports_of(name: str) -> list[str]:
    return [r for r in available_reports() if load_spec(r).family == name]


def test_families_are_the_modules_that_define_family() -> None:
    assert set(family_names()) >= {"clickstream", "activity", "planroom"}
    # helper modules of a family are not families, and are not imported to find out
    assert not {"base", "activity_map", "activity_docs", "clickstream_sessions"} & set(family_names())
    assert {load_spec(r).family for r in available_reports()} <= set(family_names())
    assert len({get_family(n).dag_id for n in family_names()}) == len(family_names())
    assert PROTOCOL_METHODS and "flatten" in PROTOCOL_METHODS and "check_scope" in PROTOCOL_METHODS


@pytest.mark.parametrize("name", family_names())
def test_family_module_implements_the_protocol(name: str) -> None:
    module = importlib.import_module(f"flatexport.families.{name}")
    family = module.FAMILY
    assert isinstance(family, ReportFamily)
    assert family.name == name
    assert reports_of(name), f"no report spec names family {name!r}"
    for method in PROTOCOL_METHODS:
        want = list(inspect.signature(getattr(ReportFamily, method)).parameters)[1:]
        got = list(inspect.signature(getattr(family, method)).parameters)
        assert got == want, f"{name}.{method}{tuple(got)} differs from the protocol's {tuple(want)}"
    assert issubclass(family.options_model, ReportOptions)
    assert family.scope_models and all(issubclass(m, Scope) for m in family.scope_models)


@pytest.mark.parametrize("name", family_names())
def test_family_has_its_one_line_dag_file(name: str) -> None:
    family = get_family(name)
    dag_file = PROJECT_ROOT / "dags" / f"{family.dag_id}.py"
    code = [line for line in dag_file.read_text(encoding="utf-8").splitlines() if line.startswith("dag =")]
    assert code == [f'dag = build_family_dag("{name}")']


@pytest.mark.parametrize("name", family_names())
def test_every_scope_field_is_a_command_line_option(name: str) -> None:
    flags = {o.field: o.flag for o in scope_options()}
    for model in get_family(name).scope_models:
        for field, info in model.model_fields.items():
            assert field in flags, f"{model.__name__}.{field} is not declared with scope_field()"
            assert info.description, f"{model.__name__}.{field} has no help text"


@pytest.mark.parametrize("name", family_names())
def test_reports_of_the_family_answer_every_question(name: str) -> None:
    """Each report's spec gets a scope model of the family, a window containing the day
    (or a cutoff at its end: the whole history before the next day's midnight, never cut
    into time slices), and a consistent chunking; a report whose columns come from the
    data is never cut into time slices (its header must be known from the whole window)."""
    import datetime as dt

    family = get_family(name)
    for report in reports_of(name):
        spec = load_spec(report)
        assert isinstance(spec.options, family.options_model)
        model = family.scope_model(spec)
        assert model in family.scope_models
        window = family.window(spec, dt.date(2024, 11, 3), "America/Chicago")
        assert window.ds == dt.date(2024, 11, 3) and window.timezone == "America/Chicago"
        if window.is_cutoff:
            assert window.end == dt.datetime(2024, 11, 4, 6, tzinfo=dt.UTC)  # 00:00 CST of D+1
            assert not spec.options.sliceable, f"{report}: a cutoff has no start to slice"
        else:
            assert window.extract_start <= window.start < window.end <= window.extract_end
        chunking = family.chunking(spec)
        assert not (chunking.whole_window and chunking.group_key)
        data_columns = family.data_columns(spec)
        assert data_columns <= set(spec.column_names)
        assert not (data_columns and spec.options.sliceable), report
        if data_columns:
            assert chunking.whole_window, f"{report}: data-dependent columns need the whole window"
