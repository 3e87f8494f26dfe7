"""Dependencies point down: the layer order of ``docs/architecture.md``, read from the imports.

Every module under ``src/toolwise`` is parsed (not imported) and each of its imports of
another toolwise module — at the top, inside a function, or under ``TYPE_CHECKING`` — is an
edge. A module may use its own layer and the layers below; an edge that points up, or a cycle
between packages, fails here with the file and line that made it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import toolwise

SRC = Path(toolwise.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "models", "_deprecations", "_checks", "_lazy"),
    ("storage", "recording", "_summary", "_process"),
    ("learning",),
    ("advice", "improve", "pools"),
    ("_runtime", "_write_path", "_learners", "_calls", "_settings"),
    ("integrations",),
    ("_facade", "_adoption", "_self_improvement"),
    ("__init__", "cli", "service"),
)
"""Bottom first. A unit is a top-level module or package of ``toolwise``."""

LAYER_OF = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}

FRAMEWORKS = ("langchain", "langchain_core", "langgraph")


@dataclass(frozen=True)
class Edge:
    """``source`` (a module) imports ``target`` (a module) at ``where``."""

    source: str
    target: str
    where: str

    @property
    def units(self) -> tuple[str, str]:
        return _unit(self.source), _unit(self.target)


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """``toolwise.storage.spool`` -> ``storage``; ``toolwise`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (SRC / relative).with_suffix(".py").exists() or (SRC / relative).is_dir()


def _targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level or node.module is None:
        raise AssertionError("toolwise uses absolute imports only")
    for alias in node.names:  # `from toolwise import _process` imports a module
        submodule = f"{node.module}.{alias.name}"
        yield submodule if _exists(submodule) else node.module


def _imports() -> list[tuple[str, str, str]]:
    """(module, imported module, file:line) for every import in the package."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                where = f"{path.relative_to(SRC.parent)}:{node.lineno}"
                found.extend((module, target, where) for target in _targets(node))
    return found


IMPORTS = _imports()
EDGES = [
    Edge(source, target, where)
    for source, target, where in IMPORTS
    if target == "toolwise" or target.startswith("toolwise.")
]


def test_every_unit_has_a_layer() -> None:
    """A new top-level module or package must be placed in LAYERS (and in the docs)."""
    units = {_unit(_module_name(path)) for path in SRC.rglob("*.py")}
    assert units - set(LAYER_OF) == set()


def test_no_import_points_up() -> None:
    upward = [
        f"{edge.where}: {edge.source} ({LAYER_OF[edge.units[0]]}) imports "
        f"{edge.target} ({LAYER_OF[edge.units[1]]})"
        for edge in EDGES
        if LAYER_OF[edge.units[1]] > LAYER_OF[edge.units[0]]
    ]
    assert upward == []


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (as a path that ends where it started), or ``[]``."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for edge in EDGES:
        source, target = edge.units
        if source != target:
            graph.setdefault(source, set()).add(target)
    assert _cycle(graph) == []


def test_no_cycle_between_the_framework_adapters() -> None:
    """LangChain agents run on LangGraph: ``langchain/`` may use ``langgraph/``, not back."""
    back = [
        edge.where
        for edge in EDGES
        if edge.source.startswith("toolwise.integrations.langgraph")
        and edge.target.startswith("toolwise.integrations.langchain")
    ]
    assert back == []


@pytest.mark.parametrize("layer", ["recording", "storage", "learning", "models", "errors"])
def test_lower_layers_import_no_agent_framework(layer: str) -> None:
    """The record path, the store and the learner work without LangChain or LangGraph."""
    framework = [
        f"{where}: {target}"
        for source, target, where in IMPORTS
        if _unit(source) == layer and target.split(".")[0] in FRAMEWORKS
    ]
    assert framework == []


def test_no_consumer_takes_the_facade() -> None:
    """Only the front door and the command line import ``Toolwise``'s modules."""
    facade = ("toolwise._facade", "toolwise._adoption", "toolwise._self_improvement")
    users = sorted({_unit(e.source) for e in EDGES if e.target in facade})
    assert set(users) <= {"__init__", "cli", "_facade"}


def test_no_module_reaches_into_another_ones_private_names() -> None:
    """``from toolwise.x import _name`` couples to an implementation detail."""
    private = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("toolwise")
                and any(
                    alias.name.startswith("_")
                    and not _exists(f"{node.module}.{alias.name}")
                    and alias.name != "__version__"
                    for alias in node.names
                )
            ):
                private.append(f"{path.relative_to(SRC.parent)}:{node.lineno}")
    assert private == []
