"""The house's arrows point one way: no import cycle in the Python packages or the Rust glue.

Every import counts, those deferred inside functions and under ``if TYPE_CHECKING:``
included. The rules checked:

* no cycle among the modules of `quanta_ref`, `quanta_fast`, `quanta_cli` and
  `quanta_report`;
* the reference never imports the accelerator or the command line (backends plug into it
  through the entry-point group ``quanta.backends``, see `quanta_ref.backends`);
* the contract, `quanta_ref.api`, imports only the domain's nouns and the result analysis;
  the reference reaches the presentation (`quanta_report`) only inside the `plot` and
  `report` methods of its three results (`BacktestResult`, `OptimizeResult`,
  `WalkForwardResult`), so that ``import quanta_ref`` never loads it (nor plotly);
* the presentation reads results: it imports neither the accelerator, the command line,
  nor the engine's modules beyond the nouns, the analysis and the metrics;
* no cycle among the files of the PyO3 glue crate (``use crate::...``), nor of the core.

Run this file alone to check a restructuring: ``python -m pytest tests/test_import_graph.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("quanta_ref", "quanta_fast", "quanta_cli", "quanta_report")
#: What the contract may import: data, settings, errors, events, orders, and the reading of a
#: finished result as frames and statistics (which itself imports no engine module).
CONTRACT_IMPORTS = {
    "quanta_ref.analysis",
    "quanta_ref.bars",
    "quanta_ref.config",
    "quanta_ref.errors",
    "quanta_ref.events",
    "quanta_ref.orders",
}
#: What the presentation may import of the other packages: it reads finished results.
REPORT_IMPORTS = {
    "quanta_ref.analysis",
    "quanta_ref.errors",
    "quanta_ref.metrics",
}


def module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    return {name: imports_of(name, path, known) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
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

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_python_packages_have_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_reference_never_imports_the_accelerator_or_the_command_line() -> None:
    for name, targets in import_graph().items():
        if name.split(".")[0] == "quanta_ref":
            outside = sorted(
                t for t in targets if t.split(".")[0] not in ("quanta_ref", "quanta_report")
            )
            assert outside == [], f"{name} imports {outside}"


def test_the_contract_imports_only_the_domain_nouns() -> None:
    assert import_graph()["quanta_ref.api"] - {"quanta_report"} <= CONTRACT_IMPORTS


def module_level_imports(path: Path) -> set[str]:
    """Top-level names imported by a file outside any function or class (what runs when
    the module is imported)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


#: The modules of the results that have `plot` and `report` methods.
RESULT_MODULES = {"quanta_ref.api", "quanta_ref.grid", "quanta_ref.walkforward"}


def test_the_reference_reaches_the_presentation_only_inside_the_result_methods() -> None:
    files = module_files()
    for name, targets in import_graph().items():
        if name.split(".")[0] != "quanta_ref":
            continue
        assert "quanta_report" not in module_level_imports(files[name]), name
        if name not in RESULT_MODULES:
            assert not any(t.split(".")[0] == "quanta_report" for t in targets), name
    for name, path in files.items():
        if name.split(".")[0] in ("quanta_ref", "quanta_report"):
            assert "plotly" not in module_level_imports(path), name


def test_the_presentation_reads_results_only() -> None:
    for name, targets in import_graph().items():
        if name.split(".")[0] == "quanta_report":
            outside = {t for t in targets if t.split(".")[0] != "quanta_report"}
            assert outside <= REPORT_IMPORTS, f"{name} imports {sorted(outside)}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def rust_graph(crate: str) -> dict[str, set[str]]:
    """File -> files of one crate it names with ``crate::module`` (module files only)."""
    source = ROOT / "rust" / crate / "src"
    files = {path.stem: path for path in source.glob("*.rs") if path.stem not in ("lib", "main")}
    graph = {}
    for stem, path in files.items():
        text = path.read_text(encoding="utf-8")
        named = set(re.findall(r"\bcrate::(\w+)", text))
        for group in re.findall(r"\bcrate::\{([^}]*)\}", text):
            named.update(re.findall(r"^\s*(\w+)", part)[0] for part in group.split(",") if part)
        graph[stem] = {other for other in named if other in files and other != stem}
    return graph


def test_the_rust_crates_have_no_file_cycle() -> None:
    for crate in ("quanta-core", "quanta-py"):
        assert cycles(rust_graph(crate)) == [], crate
