"""The layering the folders show: every import points down the table in the README, no
module imports itself back through others, and the package never imports the harnesses in
`bench/`."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.core.config import ROOT

PACKAGE = ROOT / "assistant"
#: Lower first. A module may import its own layer and the layers before it.
LAYERS = ("core", "knowledge", "understanding", "deciding", "handoff", "service", "web",
          "inbox", "tooling", "cli")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself (its version)
        return 0
    return LAYERS.index(parts[1])


def _imports(path: Path) -> set[str]:
    """Every assistant module imported anywhere in the file (lazy imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("assistant"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if (PACKAGE.parent / (full.replace(".", "/") + ".py")).exists()
                          or (PACKAGE.parent / full.replace(".", "/")).is_dir() else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("assistant")}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}


def test_every_module_is_in_a_layer():
    assert all(_layer(m) >= 0 for m in _graph())


def test_no_import_points_up():
    upward = sorted(f"{m} -> {i}" for m, deps in _graph().items() for i in deps
                    if _layer(i) > _layer(m))
    assert upward == []


def test_the_runtime_never_imports_the_tooling():
    runtime = [m for m in _graph() if _layer(m) < LAYERS.index("tooling")]
    graph = _graph()
    assert sorted(f"{m} -> {i}" for m in runtime for i in graph[m]
                  if i.startswith("assistant.tooling")) == []


def test_the_package_never_imports_the_harnesses():
    """`bench/` measures the package from outside: the package must run without it."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found += [f"{_module(path)} -> {n}" for n in names
                      if n == "bench" or n.startswith("bench.")]
    assert found == []


def test_no_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for nxt in sorted(graph[m]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]) if nxt in path
                              else f"{m} -> {nxt}")
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []
