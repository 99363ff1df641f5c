"""perfkit as a package: every import is declared, and a built wheel installed (not editable)
into a fresh virtual environment runs the demo end to end from a folder outside the checkout
(report notebooks, licensure rules, import profiles and demo data all come from the wheel)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "perfkit"


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"]
    return {re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in names}


def _imports(code: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _package_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the package and its notebooks, with where."""
    where: dict[str, set[str]] = {}
    sources = [(p.relative_to(ROOT), p.read_text()) for p in SRC.rglob("*.py")]
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = nbformat.read(nb, as_version=4).cells
        code = "\n".join(c.source for c in cells if c.cell_type == "code"
                         and not c.source.lstrip().startswith(("%", "!")))
        sources.append((nb.relative_to(ROOT), code))
    for path, code in sources:
        for name in _imports(code):
            where.setdefault(name, set()).add(str(path))
    return where


def test_every_import_is_a_declared_dependency():
    dists = importlib.metadata.packages_distributions()
    declared = _declared()
    missing = {}
    for module, files in _package_imports().items():
        if module in sys.stdlib_module_names or module in ("perfkit", "__future__"):
            continue
        owners = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not owners & declared:
            missing[module] = sorted(files)
    assert not missing, f"imported but not in pyproject dependencies: {missing}"


def _wheel(tmp_path: Path) -> Path:
    """Build from a clean copy: setuptools' build/ folder in a checkout can hold modules that
    no longer exist."""
    tree = tmp_path / "source"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    for part in ("src", "notebooks"):
        shutil.copytree(ROOT / part, tree / part, ignore=junk)
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, tree / f)
    out = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out),
                    str(tree)], check=True, capture_output=True, text=True)
    (wheel,) = out.glob("perfkit-*.whl")
    return wheel


@pytest.mark.slow
def test_every_folder_of_the_package_is_listed_for_the_wheel():
    """pyproject lists the package's folders by hand (the notebooks folder is mapped in), so a
    new subpackage (perfkit.ingest, perfkit.report.figures) left off the list would be missing
    from the wheel while the editable install hides it; the slow wheel test below would only
    catch it at run time."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(("perfkit",) + p.parent.relative_to(SRC).parts)
               for p in SRC.rglob("__init__.py")}
    assert folders - listed == set()
    assert "perfkit.report.figures" in folders


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    wheel = _wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"perfkit/{p.relative_to(SRC).as_posix()}" for p in SRC.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts}
    expected |= {f"perfkit/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert expected - names == set(), "files of the package missing from the wheel"
    assert not {n for n in names if n.endswith(("conftest.py", ".pyc"))}

    # A fresh environment holding only the wheel; its dependencies are the test environment's
    # (added as a plain path, so the test environment's editable perfkit is not visible).
    env_dir = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], check=True, capture_output=True, text=True)
    Path(site.stdout.strip(), "_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    str(wheel)], check=True)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PERFKIT_NOTEBOOKS", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"
    # nbconvert's templates are data files of the dependencies' environment
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    where = subprocess.run([str(py), "-c", "import perfkit; print(perfkit.__file__)"],
                           cwd=work, env=env, check=True, capture_output=True, text=True)
    assert Path(where.stdout.strip()).is_relative_to(env_dir)

    for args in (["demo", "--out", "data", "--clinicians", "4", "--months", "6"],
                 ["run", "--data", "data", "--workers", "2"]):
        proc = subprocess.run([str(env_dir / "bin" / "perfkit"), *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = [p for p in (work / "reports").iterdir() if p.is_dir()]
    manifest = json.loads((run / "manifest.json").read_text())
    failed = [o for o in manifest["outputs"] if o["status"] != "ok"]
    assert not failed
    assert (run / "practice.html").is_file()
    assert len(list((run / "clinicians").glob("*.html"))) == 4
    ledger = (run / "tables" / "supervision_ledger.csv").read_text()
    assert "unknown licensure rule" not in ledger
