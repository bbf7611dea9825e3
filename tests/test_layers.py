"""The package layout holds: imports run one way, down the layers, and never in a circle. An
AST walk of crawler/ (every import, also those inside functions and under TYPE_CHECKING); no
module is left out of the layers, and none is over MAX_LINES without a reason at its top."""

from __future__ import annotations

import ast
from pathlib import Path

CRAWLER = Path(__file__).resolve().parent.parent / "crawler"
MAX_LINES = 400

# The layers, top to bottom. A module may import its own layer and the layers below it. A name
# is a module or a package (all of its modules); the longest name that matches a module wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("faces", ("crawler", "crawler.__main__", "crawler.cli", "crawler.api", "crawler.service")),
    ("app", ("crawler.app", "crawler.watch", "crawler.cluster.worker",
             "crawler.cluster.status")),
    ("engine", ("crawler.engine",)),
    ("stages", ("crawler.fetch", "crawler.frontier", "crawler.parse", "crawler.render",
                "crawler.notify",
                "crawler.extract",
                "crawler.jobs", "crawler.sinks", "crawler.archive", "crawler.cluster")),
    ("leaves", ("crawler.settings", "crawler.records", "crawler.errors", "crawler.urls",
                "crawler.version", "crawler.util")),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(CRAWLER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(CRAWLER.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The crawler modules `name` imports (a `from package import module` names the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [t if t in MODULES else node.module for t in targets]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("crawler") and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> int:
    """The index of the layer a module belongs to (0 is the top)."""
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


GRAPH = {name: imports_of(name) for name in MODULES}


def test_every_module_is_in_a_layer() -> None:
    assert [name for name in MODULES if layer_of(name) < 0] == []


def test_imports_never_run_up_the_layers() -> None:
    upward = [f"{name} ({LAYERS[layer_of(name)][0]}) imports {target} "
              f"({LAYERS[layer_of(target)][0]})"
              for name, targets in GRAPH.items() for target in sorted(targets)
              if layer_of(target) < layer_of(name)]
    assert upward == []


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    assert circles(GRAPH) == []


def test_the_circle_check_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_the_limit_without_a_reason() -> None:
    """A module over MAX_LINES says why at its top: its docstring has a line starting with
    "Over 400 lines:"."""
    long = [f"{name}: {len(path.read_text().splitlines())} lines"
            for name, path in MODULES.items()
            if len(path.read_text().splitlines()) > MAX_LINES
            and "Over 400 lines:" not in (ast.get_docstring(ast.parse(path.read_text())) or "")]
    assert long == []
