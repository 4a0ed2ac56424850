"""The engine, the control plane, the CLI and the quality gate name no report family and
no report: everything that differs between reports is asked of the report's family
(``flatexport.families``), so a new family is a spec, its SQL and one module.

Identifiers, imported module paths and string literals are read from each module's
syntax tree; docstrings and comments (prose) are not.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flatexport.families import all_families, family_names
from flatexport.paths import PACKAGE_DIR
from flatexport.specs import available_reports

# Plug-ins and per-source sample generators are where family knowledge belongs.
NOT_ENGINE = ("families", "seed")
ENGINE_MODULES = sorted(
    p for p in PACKAGE_DIR.rglob("*.py") if p.relative_to(PACKAGE_DIR).parts[0] not in NOT_ENGINE
)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def forbidden_names() -> set[str]:
    names = set(available_reports()) | set(family_names()) | {f.dag_id for f in all_families()}
    return {n.lower() for n in names}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def names_in(source: str) -> set[str]:
    """Every identifier, attribute, argument, imported module part and word of a string
    literal (docstrings excepted) of a module, lower-cased."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.arg):
            words.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            words.add(node.name)
        elif isinstance(node, ast.alias):
            words.update(node.name.split("."))
            words.add(node.asname or "")
        elif isinstance(node, ast.ImportFrom) and node.module:
            words.update(node.module.split("."))
        elif isinstance(node, ast.keyword) and node.arg:
            words.add(node.arg)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            words.update(WORD.findall(node.value))
    return {w.lower() for w in words if w}


def test_the_scan_sees_what_it_must() -> None:
    """The scanner is not blind: it finds names in code and literals, never in prose."""
    found = names_in(
        '"""About clickstream."""\n'
        "# planroom in a comment\n"
        "from flatexport.families.activity import X\n"
        "def f(unique_users):\n"
        '    return g("--company for planroom_summary")\n'
    )
    assert {"activity", "unique_users", "planroom_summary"} <= found
    assert "clickstream" not in found and "planroom" not in found
    assert len(ENGINE_MODULES) > 30
    assert {"export.py", "cli.py", "store.py", "suite.py"} <= {p.name for p in ENGINE_MODULES}


@pytest.mark.parametrize("path", ENGINE_MODULES, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_engine_module_names_no_family_or_report(path: Path) -> None:
    named = names_in(path.read_text(encoding="utf-8")) & forbidden_names()
    assert named == set(), f"{path.relative_to(PACKAGE_DIR)} names {sorted(named)}: ask the family instead"
