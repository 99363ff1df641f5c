"""Notebooks are committed clean: no outputs, a tagged parameters cell, literal parameters."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
    assert "papermill" not in nb.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_parameters_cell_holds_literals_with_comments(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, path.name
    for line in tagged[0].source.splitlines():
        if not line.strip():
            continue
        assert "#" in line, f"{path.name}: parameter without a comment: {line}"
        node = ast.parse(line.split("  #")[0]).body[0]
        assert isinstance(node, ast.AnnAssign), f"{path.name}: give the parameter a type: {line}"
        assert isinstance(node.value, ast.Constant), f"{path.name}: not a literal: {line}"
