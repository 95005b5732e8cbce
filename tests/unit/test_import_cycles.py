"""No import cycle among the project's modules, counting the imports inside functions too.

A circle behind a function-level import (``pipelines.submit`` and ``pipelines.vertex``, the
development server and its REST half, before issue 18) still makes two modules one unit that
neither can be read, tested or moved without. So the graph here, read with ``ast`` (nothing is
imported), has an edge for every import statement wherever it stands: ``import a.b`` and
``from a import b`` lead to the module ``a.b`` if there is one, else to ``a``.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "components", "demo_data", "pipelines", "serving")


def _modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _targets(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that ``name``'s import statements name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            for alias in node.names:
                targets.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {target for target in targets if target in modules and target != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in import order, the first repeated), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path, stack = [start], {start}, [(start, iter(sorted(graph[start])))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
            elif child in on_path:
                return path[path.index(child) :] + [child]
            elif child not in done:
                stack.append((child, iter(sorted(graph[child]))))
                path.append(child)
                on_path.add(child)
    return None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_projects_modules():
    modules = _modules()
    graph = {name: _targets(name, path, modules) for name, path in modules.items()}
    assert {"cli.main", "pipelines.package", "serving.dev_server.rest"} <= set(graph)
    assert "serving.dev_server.launcher" in graph["cli.serving"]  # imported inside a function
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
