"""plait's subpackages import each other without cycles (issue 24, item 6).

Every ``import`` in plait's source counts, also those inside functions (a lazy import still ties
two packages together): the graph of "subpackage A imports subpackage B" must be acyclic, so each
package can be read, tested and loaded without the ones above it. Lazy re-exports by name
(``__getattr__`` + ``importlib``, e.g. ``plait.utils.ColBERTCollator``) are the sanctioned way
for a lower package to offer a higher one's name.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import plait

ROOT = Path(plait.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the plait modules ``path`` imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return {name for name in found if name == "plait" or name.startswith("plait.")}


def _subpackage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def package_graph() -> dict[str, dict[str, list[str]]]:
    """``{A: {B: [files of A importing B]}}`` between plait's subpackages (top-level modules too)."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        source = _subpackage(_module_name(path))
        if source is None:
            continue
        for name in _imports(path):
            target = _subpackage(name)
            if target is not None and target != source:
                graph.setdefault(source, {}).setdefault(target, []).append(
                    str(path.relative_to(ROOT))
                )
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle ``[a, b, ..., a]`` of the graph, or ``None`` (depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one_and_only_one() -> None:
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) is None
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]


def test_subpackages_import_each_other_without_cycles() -> None:
    graph = package_graph()
    assert {"indexes", "models", "training", "kernels"} <= set(graph) | {
        t for targets in graph.values() for t in targets
    }
    cycle = find_cycle(graph)
    if cycle:
        steps = [
            f"{a} -> {b} ({', '.join(graph[a][b][:3])})"
            for a, b in zip(cycle, cycle[1:], strict=False)
        ]
        raise AssertionError("import cycle between plait's subpackages:\n  " + "\n  ".join(steps))


@pytest.mark.slow  # a child process; the import graph above is checked without one
def test_low_level_packages_load_without_the_trainer_or_torch() -> None:
    code = (
        "import sys\n"
        "import plait.indexes, plait.utils, plait.kernels\n"
        "assert 'torch' not in sys.modules, 'opening an index must not load torch'\n"
        "import plait.scores, plait.models\n"
        "bad = [m for m in sys.modules if m.startswith(('plait.training', 'plait.losses'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
