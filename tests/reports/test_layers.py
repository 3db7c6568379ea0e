"""The reports app reads in one direction: models <- cohorts <- rollups <- selectors <-
tables <- pages <- views. No module imports one above it, and none hides an import inside
a function to dodge a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import reports

ROOT = Path(reports.__file__).parent
# Module name prefix -> floor; a module may import its own floor or lower ones.
FLOORS = {
    "reports.models": 0,
    "reports.filters": 0,
    "reports.aggregates": 0,
    "reports.formatting": 0,
    "reports.dimensions": 0,
    "reports.apps": 0,
    "reports.cohorts": 1,
    "reports.rollups": 2,
    "reports.selectors": 3,
    "reports.tables": 4,
    "reports.services": 4,
    "reports.rules": 4,
    "reports.pages": 5,
    "reports.feedback": 5,
    "reports.drill": 5,
    "reports.forms": 5,
    "reports.views": 6,
    "reports.urls": 6,
    "reports.admin": 6,
    "reports.tasks": 6,
    "reports.api": 6,
    "reports.management": 6,
    "reports.templatetags": 6,
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = ["reports", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _floor(module: str) -> int:
    prefix = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len)
    return FLOORS[prefix]


def _imports(path: Path, modules: set[str]) -> list[tuple[str, bool]]:
    """(imported app module, inside a function?) for every import of `path`."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module:
                names = [f"{child.module}.{alias.name}" for alias in child.names]
                targets = [n for n in names if n in modules] or [child.module]
                found.extend((t, nested) for t in targets if t in modules)
            elif isinstance(child, ast.Import):
                found.extend((a.name, nested) for a in child.names if a.name in modules)
            visit(child, nested)

    visit(ast.parse(path.read_text()), False)
    return found


def test_every_module_has_a_floor():
    assert all(_floor(module) >= 0 for module in _modules() if module != "reports")


def test_imports_point_down_and_sit_at_the_top():
    modules = _modules()
    upward, hidden = [], []
    for module, path in modules.items():
        if module == "reports":
            continue
        for target, in_function in _imports(path, set(modules)):
            if target != "reports" and _floor(target) > _floor(module):
                upward.append(f"{module} -> {target}")
            if in_function:
                hidden.append(f"{module} -> {target}")
    assert upward == []
    assert hidden == []


def test_no_import_cycle_inside_the_app():
    modules = _modules()
    graph = {m: {t for t, _ in _imports(p, set(modules)) if t != m} for m, p in modules.items()}
    # Depth-first search for a back edge.
    state: dict[str, str] = {}
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []
