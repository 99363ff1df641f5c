"""What a run folder guarantees: it is one complete run or the previous complete run; one run
at a time writes it; a killed run leaves no process behind; outputs a new run does not produce
do not survive beside it; a folder that is not a run is never replaced."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from perfkit.demo import DemoSettings, write_demo

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("rf") / "data",
                      DemoSettings(n_clinicians=6, months=4))


def _env(tmp: Path) -> dict:
    return {**os.environ, "PERFKIT_PSEUDONYM_KEY_FILE": str(tmp / "k.key"),
            "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}


def _cmd(data: Path, out: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "perfkit.cli", "run", "--data", str(data), "--out", str(out),
            "--workers", "2", *map(str, extra)]


def _run(data, out, tmp, *extra) -> subprocess.CompletedProcess:
    return subprocess.run(_cmd(data, out, *extra), capture_output=True, text=True,
                          env=_env(tmp), timeout=600)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_a_rerun_replaces_the_folder_whole(data, tmp_path):
    out = tmp_path / "reports" / "2026-11-01"
    first = _run(data, out, tmp_path)
    assert first.returncode == 0, first.stderr
    assert (out / "index.html").is_file() and list((out / "clinicians").glob("*.html"))
    # --tables-only: the reports of the earlier run do not survive beside the new tables
    second = _run(data, out, tmp_path, "--tables-only")
    assert second.returncode == 0, second.stderr
    files = _files(out)
    assert not [f for f in files if f.endswith((".html", ".ipynb"))], files
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reports"].startswith("skipped")
    assert {o["path"] for o in manifest["outputs"]} == files - {"manifest.json"}
    # nothing of the staging is left beside the run
    assert sorted(p.name for p in out.parent.iterdir()) == [".2026-11-01.lock", "2026-11-01"]


def test_a_clinician_no_longer_in_the_data_loses_their_report(data, tmp_path):
    out = tmp_path / "run"
    assert _run(data, out, tmp_path, "--role", "clinician").returncode == 0
    assert (out / "clinicians" / "C06.html").is_file()
    fewer = tmp_path / "fewer"
    fewer.mkdir()
    for p in data.glob("*.csv"):
        (fewer / p.name).write_bytes(p.read_bytes())
    roster = (fewer / "clinicians.csv").read_text().splitlines()
    (fewer / "clinicians.csv").write_text("\n".join(r for r in roster if not r.startswith("C06"))
                                          + "\n")
    # C06's rows are still in the export: the run stops on them unless told to leave them out
    stopped = _run(fewer, out, tmp_path, "--role", "clinician")
    assert stopped.returncode == 2 and "'C06'" in stopped.stderr, stopped.stderr
    assert (out / "clinicians" / "C06.html").is_file()  # the earlier run is untouched
    res = _run(fewer, out, tmp_path, "--role", "clinician", "--skip-unknown-clinicians")
    assert res.returncode == 0, res.stderr
    assert not (out / "clinicians" / "C06.html").exists()
    assert (out / "clinicians" / "C05.html").is_file()


def test_one_run_at_a_time(data, tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen(_cmd(data, out), env=_env(tmp_path), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = tmp_path / ".run.lock"
    deadline = time.monotonic() + 120
    while not (lock.is_file() and f"process {first.pid}" in lock.read_text()):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.05)
    second = _run(data, out, tmp_path)
    assert second.returncode == 2, second.stderr
    assert second.stderr.startswith(f"perfkit: another perfkit run (process {first.pid}, "
                                    "started ")
    assert "Traceback" not in second.stderr
    assert first.wait(timeout=600) == 0, first.stderr.read()
    manifest = json.loads((out / "manifest.json").read_text())
    assert all(o["status"] == "ok" for o in manifest["outputs"])
    assert {o["path"] for o in manifest["outputs"]} | {"manifest.json"} <= _files(out)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_killed_run_leaves_the_previous_run_and_no_process(data, tmp_path):
    out = tmp_path / "run"
    assert _run(data, out, tmp_path, "--role", "owner").returncode == 0
    before = {f: (out / f).read_bytes() for f in _files(out)}
    proc = subprocess.Popen(_cmd(data, out), env=_env(tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    staging = tmp_path / ".run.staging"
    deadline = time.monotonic() + 180
    kernels = []
    while not kernels:  # wait until the report workers and their kernels are busy
        assert time.monotonic() < deadline and proc.poll() is None
        kernels = [p for p in _descendants(proc.pid)
                   if "ipykernel" in " ".join(p.cmdline())]
        time.sleep(0.1)
    time.sleep(1.0)
    family = _descendants(proc.pid)
    assert len(family) >= 3  # two workers and at least one kernel
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(family, timeout=20)
    assert not alive, [p.cmdline() for p in alive]
    # the folder is still the previous complete run, byte for byte
    assert {f: (out / f).read_bytes() for f in _files(out)} == before
    assert not list((tmp_path / "runtime").glob("kernel-*.json"))  # no kernel files elsewhere
    # the next run clears what the killed one left and completes
    res = _run(data, out, tmp_path, "--tables-only")
    assert res.returncode == 0, res.stderr
    assert not staging.exists()
    assert json.loads((out / "manifest.json").read_text())["reports"].startswith("skipped")


def test_a_folder_that_is_not_a_run_is_never_replaced(data, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    res = _run(data, out, tmp_path, "--tables-only")
    assert res.returncode == 2 and "holds files that are not a perfkit run" in res.stderr
    assert (out / "thesis.docx").read_text() == "years of work"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.docx"]


def test_unwritable_places_are_one_sentence(data, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out in (blocker / "run", Path("/proc/perfkit-run")):
        res = _run(data, out, tmp_path, "--tables-only")
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith("perfkit: cannot ") and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
    env = {**_env(tmp_path), "PERFKIT_PSEUDONYM_KEY_FILE": "/proc/perfkit.key"}
    res = subprocess.run(_cmd(data, tmp_path / "run", "--tables-only"), capture_output=True,
                         text=True, env=env, timeout=600)
    assert res.returncode == 2 and "pseudonym key /proc/perfkit.key cannot be read or " \
        "created" in res.stderr and "Traceback" not in res.stderr
