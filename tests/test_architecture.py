"""The floors of the code hold: what may import what, and how big a module may grow.

Read ARCHITECTURE.md for the why. These tests parse the source (no imports run), so they
also see imports hidden inside functions: an import moved into a function to dodge a
cycle is still an arrow.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each app and the apps it may import. Anything not listed is off limits.
ALLOWED: dict[str, set[str]] = {
    "crm": set(),
    "leads": {"crm"},
    "sla": {"crm", "leads"},
    "opportunities": {"crm", "leads"},
    "imports": {"crm", "leads"},
    "capture": {"crm", "leads"},
    "reports": {"crm", "leads", "sla", "opportunities"},
    "workspace": {"crm", "leads", "sla", "opportunities", "reports", "imports", "capture"},
    "demo": {"crm", "leads", "sla", "opportunities", "reports", "imports", "capture"},
}
# Modules an app keeps to itself: its interface layers. Another app reaches the same
# thing through services, selectors, access helpers or models.
PRIVATE_PARTS = ("api", "views", "templatetags")
# The ground floor's shared plumbing every app's API is built on (errors, ETags, pages).
SHARED_PLUMBING = ("crm.api",)
MAX_MODULE_LINES = 600


def _modules(app: str) -> list[Path]:
    return [p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, at any depth of the file, resolved to absolute names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = (
        _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else (_module_name(path))
    )
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append(module)
            # `from leads import services` imports the module leads.services.
            found.extend(
                f"{module}.{alias.name}"
                for alias in node.names
                if _is_module(f"{module}.{alias.name}")
            )
    return found


def _app_arrows() -> dict[str, set[tuple[str, str]]]:
    """app -> {(file, imported module)} for imports of the other apps."""
    arrows: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for app in ALLOWED:
        for path in _modules(app):
            for module in _imports(path):
                target = module.split(".")[0]
                if target in ALLOWED and target != app:
                    arrows[app].add((str(path.relative_to(ROOT)), module))
    return arrows


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_an_app_imports_only_the_floors_below_it(app):
    arrows = _app_arrows()[app]
    wrong = sorted(
        f"{file} imports {module}"
        for file, module in arrows
        if module.split(".")[0] not in ALLOWED[app]
    )
    assert wrong == [], f"{app} reaches above its floor:\n" + "\n".join(wrong)


def test_no_two_apps_import_each_other():
    arrows = _app_arrows()
    pairs = {(app, module.split(".")[0]) for app, found in arrows.items() for _f, module in found}
    circles = sorted(f"{a} <-> {b}" for a, b in pairs if (b, a) in pairs and a < b)
    assert circles == []


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_no_app_reaches_into_another_apps_interface_layer(app):
    wrong = sorted(
        f"{file} imports {module}"
        for file, module in _app_arrows()[app]
        if len(module.split(".")) > 1
        and module.split(".")[1] in PRIVATE_PARTS
        and not module.startswith(SHARED_PLUMBING)
    )
    assert wrong == [], "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return components


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_no_import_circle_inside_an_app(app):
    modules = {_module_name(p): p for p in _modules(app)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        # A package's __init__ importing its own submodules to re-export them is not a
        # dependency of those submodules on each other; count real module-to-module arrows.
        graph[name] = {m for m in _imports(path) if m in modules and m != name}
        if path.name == "__init__.py":
            graph[name] = {m for m in graph[name] if not m.startswith(f"{name}.")}
    assert _cycles(graph) == []


def test_no_product_module_over_the_size_limit():
    too_long = sorted(
        f"{path.relative_to(ROOT)}: {lines} lines"
        for app in ALLOWED
        for path in _modules(app)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    )
    assert too_long == []
