"""Shared fixtures: a tiny, valid practice folder built by hand, which tests then spoil."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfkit as pk

from practice_data import APPOINTMENTS, ASSESSMENTS, CLINICIANS, NOTES, write_table


@pytest.fixture
def practice(tmp_path: Path) -> Path:
    """A valid practice folder with the four required tables."""
    folder = tmp_path / "practice"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    write_table(folder, "appointments", APPOINTMENTS)
    write_table(folder, "notes", NOTES)
    write_table(folder, "assessments", ASSESSMENTS)
    return folder


@pytest.fixture
def cfg(tmp_path: Path) -> pk.Config:
    return pk.load_config(pseudonym_key_file=tmp_path / "keys" / "test.key")


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the bundled-demo cache and any default key out of the user's home, for module-
    and session-scoped fixtures too."""
    cache = tmp_path_factory.getbasetemp() / "perfkit-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PERFKIT_CACHE", str(cache))
        mp.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(cache / "default.key"))
        yield


# `make test` runs the suite in two processes (pytest-xdist, --dist loadgroup). A module's
# tests share its module-scoped fixtures (a demo practice, a rendered run) and a notebook's cells
# share one kernel, so each file's tests go to one process, as a group, and its fixtures are
# built once. A module marked ``spread`` has independent tests with a cheap fixture (the sparse
# variants, each a whole run): its tests are dealt out one by one to whichever process is free.
@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("spread") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
