"""The routing package's layout holds: rooms in the order data flows, no import cycle, no private name
shared between modules, no import hidden inside a function (read from the source, no import needed)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

ROUTING = ROOT / "pipelines" / "routing"
# Each room may import the rooms before it, never one after it (see pipelines/routing/__init__.py).
ROOMS = ["language", "roster", "tables", "pools", "frame", "ruleset", "engine", "stages", "day2"]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROUTING.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def imports(tree: ast.Module) -> list[tuple[ast.stmt, str, list[str]]]:
    """Every import statement: (node, module imported from, names imported)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node, node.module, [alias.name for alias in node.names]))
    return out


def targets(module: str, names: list[str]) -> set[str]:
    """The routing modules an import statement reads names from (``from pkg import mod`` reads pkg.mod, not pkg)."""
    submodules = {f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES}
    found = submodules | ({module} if module in MODULES and len(submodules) < max(len(names), 1) else set())
    return {t for t in found if t.startswith("pipelines.routing.")}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 or (len(parts) == 3 and parts[2] in ROOMS) else None


GRAPH = {name: set().union(*[targets(m, names) for _, m, names in imports(tree)] or [set()]) - {name}
         for name, tree in TREES.items()}


def test_every_module_lives_in_a_room():
    loose = [m for m in MODULES if m != "pipelines.routing" and room(m) not in ROOMS]
    assert loose == []


@pytest.mark.parametrize("name", [r for r in ROOMS])
def test_a_room_imports_only_the_rooms_before_it(name):
    allowed = set(ROOMS[:ROOMS.index(name) + 1])
    wrong = sorted((m, t) for m in MODULES if room(m) == name for t in GRAPH[m] if room(t) not in allowed)
    assert wrong == [], f"{name}/ may import {sorted(allowed)}"


def test_no_import_cycle_between_modules():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for nxt in sorted(GRAPH[module]):
            if state.get(nxt) == 1:
                return path + [module, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [module])):
                return cycle
        state[module] = 2
        return None

    for module in sorted(MODULES):
        if module not in state:
            cycle = visit(module, [])
            assert cycle is None, " -> ".join(cycle)


def test_no_import_inside_a_function():
    """Imports of the project sit at the top of a module: none hides a cycle inside a function."""
    hidden = []
    for name, tree in TREES.items():
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [(name, fn.name, m) for node, m, _ in imports(fn) if m.startswith("pipelines")]
    assert hidden == []


def test_no_private_name_is_used_outside_its_module():
    shared = []
    for name, tree in TREES.items():
        aliases = set()
        for node, module, names in imports(tree):
            if module.startswith("pipelines"):
                shared += [(name, f"{module}.{n}") for n in names if n.startswith("_") and not n.startswith("__")]
                aliases |= {a.asname or a.name.split(".")[-1] for a in node.names}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                shared.append((name, f"{node.value.id}.{node.attr}"))
    assert shared == []


def test_every_room_says_what_it_is_for_and_what_it_may_import():
    for name in ROOMS:
        doc = ast.get_docstring(TREES[f"pipelines.routing.{name}"]) or ""
        assert "May import" in doc, f"pipelines/routing/{name}/__init__.py"
