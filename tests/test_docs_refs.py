"""Every Sphinx cross-reference in perfkit's docstrings and comments (``:func:``, ``:class:``,
``:meth:``, ``:attr:``, ``:data:``, ``:mod:``) names an object that exists: a reference to a
function renamed or moved fails here, naming the file and the reference."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "perfkit"
ROLE = re.compile(r":(func|class|meth|attr|data|mod|exc):`~?(\.?[A-Za-z_][\w.]*)(?:\(\))?`")
# a name of perfkit's written as code (``perfkit.report.format.table``) is a reference too
CODE = re.compile(r"``(perfkit\.[A-Za-z_][\w.]*)(?:\(\))?``")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolves(target: str, here: str, is_package: bool = False) -> bool:
    """Whether ``target`` names an object: as written (``perfkit.x.y``), or relative to the
    module it is written in (``flat``, ``GrowthFit.reml_loglik``), or to its package."""
    package = here if is_package or "." not in here else here.rsplit(".", 1)[0]
    if target.startswith("."):  # relative to the package (``:mod:`.format```)
        candidates = [package + target]
    else:
        candidates = [target, f"{here}.{target}", f"{package}.{target}"]
    for name in candidates:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr) if not isinstance(obj, type) or hasattr(
                        obj, attr) else _field(obj, attr)
            except AttributeError:
                break
            return True
    return False


def _field(cls: type, attr: str):
    """A dataclass field without a class-level default is still the class's attribute."""
    fields = getattr(cls, "__dataclass_fields__", {})
    if attr in fields:
        return fields[attr]
    raise AttributeError(attr)


def broken_references() -> list[str]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        here = _module_name(path)
        text = path.read_text(encoding="utf-8")
        found = ROLE.findall(text) + [("code", t) for t in CODE.findall(text)]
        for role, target in found:
            if not _resolves(target, here, path.name == "__init__.py"):
                out.append(f"{path.relative_to(SRC.parent)}: :{role}:`{target}`")
    return out


def test_the_pattern_finds_references():
    text = (SRC / "hostile_text.py").read_text(encoding="utf-8")
    assert len(ROLE.findall(text)) >= 10


def test_a_missing_object_is_reported():
    assert not _resolves("perfkit.hostile_text.no_such_function", "perfkit.hostile_text")
    assert _resolves("flat", "perfkit.hostile_text")
    assert _resolves("perfkit.nested", "perfkit.models")


def test_every_reference_resolves():
    broken = broken_references()
    assert not broken, "references to objects that do not exist:\n" + "\n".join(broken)
