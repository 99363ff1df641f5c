"""Shared fixtures: a tiny, valid practice folder built by hand, which tests then spoil; the
bundled demo's quarter run once for the whole test run, with every report."""

from __future__ import annotations

import fcntl
import os
import shutil
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


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_quarters(tmp_path_factory) -> Path:
    """The bundled demo as ``make demo`` runs it, once for the whole test run: the quarter
    before (tables only), then the demo quarter with every report, in one reports folder, with
    ``parameters/practice.yaml``. Returns the demo quarter's run folder.

    Read it, never write into it: every module that asks for it sees the same folder. Under
    ``make test``'s two processes it is built by whichever asks first, under a lock, in the
    folder both processes' temporary folders sit in; the other waits and reuses it."""
    from perfkit.config import load_config
    from perfkit.demo import bundled_data_dir
    from perfkit.pipeline import run_period

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the run's processes (pytest-xdist's own layout)
    home = root / "demo-quarters"
    out = home / "reports" / "2026-11-01"
    with open(root / "demo-quarters.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (home / "complete").is_file():
            shutil.rmtree(home, ignore_errors=True)
            params = ROOT / "parameters" / "practice.yaml"
            key = home / "demo.key"
            before = load_config(params, pseudonym_key_file=key, period_start="2026-05-01",
                                 period_end="2026-08-01")
            run_period(bundled_data_dir(), before, out=home / "reports" / "2026-08-01",
                       tables_only=True)
            manifest = run_period(bundled_data_dir(), load_config(params, pseudonym_key_file=key),
                                  out=out, workers=2, progress=False)
            failed = [o for o in manifest["outputs"] if o["status"] != "ok"]
            assert not failed, failed
            (home / "complete").touch()
    return out
