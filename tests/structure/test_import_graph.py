"""No module of reval imports another that imports it back (issue 14).

The graph is read from the source with ``ast``: every module-level import, where importing
``a.b.c`` also runs the packages ``a`` and ``a.b`` (their ``__init__`` is a node too). Imports
under ``if TYPE_CHECKING:`` count: a cycle hidden from the interpreter is still one for a
reader. Imports inside functions are left out: they are how a command or a provider type loads
its heavy implementation only when used (start-up time), and run after every module is loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "replicate_eval"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports at module level, in if/try blocks (``if TYPE_CHECKING:`` too), not in functions."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            pending.extend([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            pending.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                pending.extend(handler.body)


def with_packages(name: str, known: dict[str, Path]) -> set[str]:
    """``a.b.c`` and the packages importing it runs first: ``a``, ``a.b``."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known.keys()


def resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges: set[str] = set()
        for node in module_level_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    edges |= with_packages(alias.name, known)
                continue
            target = resolve(name, node, path.name == "__init__.py")
            edges |= with_packages(target, known)
            for alias in node.names:  # `from pkg import submodule`
                edges |= {f"{target}.{alias.name}"} & known.keys()
        # A package's own modules always see its __init__ run first: not an edge of theirs.
        graph[name] = {edge for edge in edges if edge != name and not name.startswith(edge + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in sorted(graph.get(node, ())):
            if edge not in index:
                visit(edge)
                low[node] = min(low[node], low[edge])
            elif edge in on_stack:
                low[node] = min(low[node], index[edge])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycles_are_found(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_the_graph_sees_packages_and_type_checking_but_not_function_bodies() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from replicate_eval.config import load\n"
        "if TYPE_CHECKING:\n    from replicate_eval import api\n"
        "def later():\n    import replicate_eval.cli\n"
    )
    tree = ast.parse(source)
    imported = {
        node.module for node in module_level_imports(tree) if isinstance(node, ast.ImportFrom)
    }
    assert imported == {"typing", "replicate_eval.config", "replicate_eval"}
    load = import_graph()["replicate_eval.config.load"]
    # `from replicate_eval.judging.settings import X` runs the package replicate_eval.judging first.
    assert {"replicate_eval.judging", "replicate_eval.judging.settings"} <= load
    assert "replicate_eval.config" not in load  # its own package is not an edge
