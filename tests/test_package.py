"""The package's names (issue 31): ``import perfkit.X as m`` gives the module X for every module
of perfkit, and no name the package exports hides a module of the same name;
``perfkit.ingest(folder, config)``, the documented call, still works."""

from __future__ import annotations

import inspect
import pkgutil
import sys
import types

import pandas as pd
import pytest

import perfkit
import perfkit as pk
import perfkit.ingest as ingest_module

PACKAGES = ["perfkit", "perfkit.ingest", "perfkit.report", "perfkit.profiles"]


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        pkg = __import__(package, fromlist=["_"])
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]
    return sorted(names)


def test_the_walk_finds_the_modules_that_matter():
    found = _modules()
    # the check below can only fail if it sees them: ingest was the module a function hid
    for name in ("perfkit.ingest", "perfkit.models", "perfkit.prepared",
                 "perfkit.report.run_folder", "perfkit.report.research", "perfkit.explore"):
        assert name in found


@pytest.mark.parametrize("name", _modules())
def test_import_as_gives_the_module(name):
    namespace: dict = {}
    exec(f"import {name} as m", namespace)  # the statement itself: it reads the attribute
    m = namespace["m"]
    assert isinstance(m, types.ModuleType), f"import {name} as m gave {type(m).__name__}"
    assert m.__name__ == name
    assert m is sys.modules[name]
    parent, _, child = name.rpartition(".")
    assert getattr(sys.modules[parent], child) is m  # `from parent import child` too


@pytest.mark.parametrize("package", ["perfkit", "perfkit.ingest", "perfkit.report"])
def test_no_exported_name_hides_a_module(package):
    pkg = __import__(package, fromlist=["_"])
    modules = {m.name for m in pkgutil.iter_modules(pkg.__path__)}
    for name in pkg.__all__:
        if name in modules:
            assert getattr(pkg, name) is sys.modules[f"{package}.{name}"], name


def test_the_ingest_module_is_the_package_attribute_and_still_callable(practice, cfg):
    from perfkit import ingest

    assert ingest is ingest_module is pk.ingest
    assert ingest_module.IngestError is pk.IngestError
    by_package = pk.ingest(practice, cfg)
    by_function = ingest_module.ingest(practice, cfg)
    for name in ("clinicians", "appointments", "notes", "assessments"):
        pd.testing.assert_frame_equal(by_package[name], by_function[name])
    assert len(by_package["appointments"]) == 3  # the hand-built practice's three rows
    params = list(inspect.signature(pk.ingest).parameters)
    assert params[:2] == ["data_dir", "config"]


def test_calling_the_module_calls_the_function_it_holds_now(monkeypatch):
    monkeypatch.setattr(ingest_module, "ingest", lambda *a, **k: ("patched", a, k))
    assert perfkit.ingest("folder", "cfg", key=1) == ("patched", ("folder", "cfg"), {"key": 1})
