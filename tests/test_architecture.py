"""The house rules of the package (issue 32, docs/architecture.md), read from the source with
``ast`` (every import statement: at module level, inside functions, under ``if``; relative
imports resolved against the module's own package), nothing imported or run:

- presentation (``perfkit/report/``) reads a run's tables and run facts and imports no compute
  module (a failure names the module, the line and the import);
- no import cycle anywhere in perfkit, imports inside functions counted (a lazy import still
  ties two modules together);
- no module much over 800 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import perfkit

PACKAGE = Path(perfkit.__file__).parent
REPORT = PACKAGE / "report"
LONGEST = 850  # "about 800 lines": past this a module is split by what it holds

# what a report module may import from perfkit: the report package itself, the metric
# registry, the data contract (the values the tables carry), the parameters, reading files
# and escaping text
ALLOWED = ("perfkit.report", "perfkit.registry", "perfkit.contract", "perfkit.config",
           "perfkit.io", "perfkit.hostile_text")


def imported(source: str, module: str, *, package: bool = False) -> list[tuple[int, str]]:
    """Every perfkit module ``source`` imports, as (line, absolute dotted name). ``module`` is
    the source's own dotted name (``package``: it is a package's ``__init__``), against which
    a relative import is resolved; ``from . import x`` names ``<package>.x``."""
    here = module.split(".") if package else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            if node.module is None or stem in ("perfkit",):  # from . import x: x is a module
                found += [(node.lineno, f"{stem}.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, stem))
    return sorted((line, name) for line, name in found
                  if name == "perfkit" or name.startswith("perfkit."))


def outside(source: str, module: str, *, package: bool = False) -> list[str]:
    """The imports of ``source`` that break the rule, as "module line N imports name"."""
    return [f"{module} line {line} imports {name}"
            for line, name in imported(source, module, package=package)
            if not any(name == a or name.startswith(a + ".") for a in ALLOWED)]


def report_modules(root: Path = REPORT) -> list[tuple[str, Path, bool]]:
    """(dotted name, path, is a package) of every module under ``root``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(REPORT.parent.parent).with_suffix("").parts
        package = parts[-1] == "__init__"
        out.append((".".join(parts[:-1] if package else parts), path, package))
    return out


def test_the_walk_finds_the_report_modules():
    names = [m for m, _, _ in report_modules()]
    for name in ("perfkit.report", "perfkit.report.run_folder", "perfkit.report.practice",
                 "perfkit.report.research"):
        assert name in names
    assert any(n.startswith("perfkit.report.figures") for n in names)


@pytest.mark.parametrize("module, path, package", report_modules(),
                         ids=[m for m, _, _ in report_modules()])
def test_presentation_imports_no_compute_module(module, path, package):
    assert outside(path.read_text(encoding="utf-8"), module, package=package) == []


def test_the_check_names_a_compute_import_wherever_it_is():
    source = "\n".join([
        "from __future__ import annotations",
        "import numpy as np",
        "from .. import operations as op",          # line 3: relative, a module
        "from ..hostile_text import md",                  # allowed
        "from .format import pct",                  # the report's own
        "def f():",
        "    from ..models import Z95",             # line 7: inside a function
        "    import perfkit.trends",                # line 8: absolute
        "if True:",
        "    from perfkit.contract import NOT_KNOWN",  # allowed
        "    from ..outcomes import funnel_limits",  # line 11: perfkit.outcomes
        "from perfkit import registry, tables",     # line 12: registry allowed, tables not
    ])
    assert outside(source, "perfkit.report.practice") == [
        "perfkit.report.practice line 3 imports perfkit.operations",
        "perfkit.report.practice line 7 imports perfkit.models",
        "perfkit.report.practice line 8 imports perfkit.trends",
        "perfkit.report.practice line 11 imports perfkit.outcomes",
        "perfkit.report.practice line 12 imports perfkit.tables",
    ]


def test_relative_imports_resolve_from_a_package_and_from_a_module_in_it():
    # report/figures/__init__.py: "." is perfkit.report.figures; ".." is perfkit.report
    assert imported("from ..run_folder import RunFolder\nfrom . import style",
                    "perfkit.report.figures", package=True) == [(1, "perfkit.report.run_folder"),
                                      (2, "perfkit.report.figures.style")]
    # report/figures/style.py: ".." is perfkit.report, "..." is perfkit
    assert outside("from ...operations import LAG_FIGURES\nfrom ..format import pct",
                   "perfkit.report.figures.style") == [
        "perfkit.report.figures.style line 1 imports perfkit.operations"]


def import_graph(modules: list[tuple[str, str, bool]]) -> dict[str, set[str]]:
    """Which of ``modules`` (dotted name, source, is a package) each imports. An imported
    name that is no module (``from . import x``, x a function of the package) counts as its
    package. A package's ``__init__`` importing its own submodules, and a submodule importing
    its package, are left out: Python runs the package first either way."""
    known = {m for m, _, _ in modules}
    graph = {}
    for module, source, package in modules:
        targets = set()
        for _, name in imported(source, module, package=package):
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not (name.startswith(module + ".")
                                                 or module.startswith(name + ".")):
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The sets of modules that import one another (strongly connected components of more
    than one module, Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_check_finds_a_cycle_through_an_import_inside_a_function():
    modules = [("perfkit.a", "from .b import f\n", False),
               ("perfkit.b", "def g():\n    from . import c\n", False),
               ("perfkit.c", "from perfkit.a import x\nfrom perfkit import d\n", False),
               ("perfkit.d", "", False)]
    graph = import_graph(modules)
    assert graph == {"perfkit.a": {"perfkit.b"}, "perfkit.b": {"perfkit.c"},
                     "perfkit.c": {"perfkit.a", "perfkit.d"}, "perfkit.d": set()}
    assert cycles(graph) == [["perfkit.a", "perfkit.b", "perfkit.c"]]
    modules[2] = ("perfkit.c", "from perfkit import d\n", False)
    assert cycles(import_graph(modules)) == []


def test_perfkit_has_no_import_cycle():
    modules = [(m, p.read_text(encoding="utf-8"), package)
               for m, p, package in report_modules(PACKAGE)]
    assert len(modules) > 30  # the whole package, not one folder
    found = cycles(import_graph(modules))
    assert found == [], "modules that import one another: " + "; ".join(
        " <-> ".join(c) for c in found)


@pytest.mark.parametrize("module, path, package", report_modules(PACKAGE),
                         ids=[m for m, _, _ in report_modules(PACKAGE)])
def test_no_module_is_much_over_800_lines(module, path, package):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST, f"{module} has {lines} lines: split it by what it holds"
