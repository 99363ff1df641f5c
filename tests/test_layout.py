"""The layout of the package (STYLE.md, "Layers a newcomer can find by name"): modules small
enough to read, and layers that import one way only. Each test stands alone."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def test_every_module_of_the_ingest_package_is_at_most_800_lines():
    modules = sorted((SRC / "perfkit" / "ingest").glob("*.py"))
    assert len(modules) > 5  # the package, not one file
    long = {p.name: n for p in modules
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800}
    assert long == {}


def test_the_ingest_package_has_no_import_cycle():
    """Every import of every module of perfkit/ingest/, those inside functions included,
    resolved (relative imports too) to the perfkit.ingest modules it names; the graph they make
    has no cycle."""
    package = "perfkit.ingest"
    folder = SRC / "perfkit" / "ingest"
    names = {("" if p.stem == "__init__" else p.stem): p for p in folder.glob("*.py")}
    full = {f"{package}.{n}" if n else package: p for n, p in names.items()}

    def imported(module: str, path: Path) -> set[str]:
        base = module if path.name == "__init__.py" else module.rpartition(".")[0]
        out = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = base.split(".")
                    root = ".".join(parts[:len(parts) - node.level + 1])
                    stem = f"{root}.{node.module}" if node.module else root
                else:
                    stem = node.module
                # ``from . import check`` names a module; ``from .check import x`` a name in one
                targets = [f"{stem}.{a.name}" if f"{stem}.{a.name}" in full else stem
                           for a in node.names]
            else:
                continue
            out |= {t for t in targets if t in full and t != module}
        return out

    graph = {m: imported(m, p) for m, p in full.items()}
    assert f"{package}.check" in graph[f"{package}.run"]  # the reader sees the imports
    assert f"{package}.run" in graph[package]

    def cycle(graph: dict[str, set[str]]) -> list[str] | None:
        state: dict[str, int] = {}  # 1: on the path being walked, 2: done

        def walk(m: str, path: list[str]) -> list[str] | None:
            state[m] = 1
            for d in sorted(graph.get(m, ())):
                if state.get(d) == 1:
                    return path[path.index(d):] + [d]
                if d not in state and (found := walk(d, path + [d])):
                    return found
            state[m] = 2
            return None

        for m in sorted(graph):
            if m not in state and (found := walk(m, [m])):
                return found
        return None

    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # it can fail
    assert cycle(graph) is None
