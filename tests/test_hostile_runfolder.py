"""Hostile input around a run folder (issue 29: items 1, 2, 5, 9 and 10): a user's folder with
run-like names, a link where the lock goes, validate --out on shared or finished folders, a run
folder that is a link, a crash between the two renames of the swap, and a run whose reports
all failed. Each ends in one sentence or the right result, and loses nothing."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import pipeline
from perfkit.cli import app
from perfkit.demo import DemoSettings, write_demo

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_demo(tmp_path_factory.mktemp("hrf") / "data",
                      DemoSettings(n_clinicians=6, months=4))


@pytest.fixture
def key(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "keys" / "k.key"
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(path))
    return path


def cli(*args) -> tuple[int, list[str]]:
    """Exit code and the lines perfkit wrote to stderr."""
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res.exit_code, res.stderr.strip().splitlines()


def run(data, out, *extra) -> tuple[int, list[str]]:
    return cli("run", "--data", data, "--out", out, "--tables-only", *extra)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}


# ---- 1. --out replaces only a folder whose manifest.json proves it a perfkit run ----------

def test_a_folder_with_run_like_names_but_no_manifest_is_never_replaced(data, key, tmp_path):
    out = tmp_path / "mine"
    (out / "notebooks").mkdir(parents=True)
    (out / "tables").mkdir()
    (out / "notebooks" / "thesis.ipynb").write_text("years of work")
    (out / "tables" / "budget.xlsx").write_bytes(b"PK\x03\x04 budget")
    before = tree(out)
    code, err = run(data, out)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"perfkit: {out} holds files that are not a perfkit run")
    assert tree(out) == before
    # refused before the lock: nothing is left beside it either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.parametrize("manifest", [
    "not json at all {",
    "[]",
    json.dumps({"outputs": [], "note": "my own manifest"}),
    json.dumps({"perfkit_version": "0.1.0", "run_folder": "x", "created": "x",
                "period": "2026", "parameters": {}, "outputs": []}),
])
def test_a_manifest_that_is_not_perfkits_proves_nothing(data, key, tmp_path, manifest):
    out = tmp_path / "mine"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "budget.csv").write_text("a,b\n1,2\n")
    (out / "manifest.json").write_text(manifest)
    before = tree(out)
    code, err = run(data, out)
    assert code == 2 and len(err) == 1 and "not a perfkit run" in err[0], err
    assert tree(out) == before


def test_a_manifest_that_is_a_link_proves_nothing(data, key, tmp_path):
    good = tmp_path / "good"
    assert run(data, good)[0] == 0
    out = tmp_path / "mine"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "budget.csv").write_text("a,b\n1,2\n")
    (out / "manifest.json").symlink_to(good / "manifest.json")
    code, err = run(data, out)
    assert code == 2 and "not a perfkit run" in err[0], err
    assert (out / "tables" / "budget.csv").read_text() == "a,b\n1,2\n"


def test_an_empty_or_new_folder_is_used_and_a_run_is_replaced(data, key, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run(data, empty)[0] == 0 and pipeline.is_run_folder(empty)
    assert run(data, tmp_path / "new" / "run")[0] == 0
    assert pipeline.is_run_folder(tmp_path / "new" / "run")
    first = json.loads((empty / "manifest.json").read_text())["created"]
    assert run(data, empty)[0] == 0  # a perfkit run is replaced whole
    assert sorted(p.name for p in empty.iterdir()) == ["data_quality.json", "manifest.json",
                                                       "prepared", "rejects.csv", "tables"]
    assert json.loads((empty / "manifest.json").read_text())["created"] >= first


# ---- 2. the lock file never follows a link ------------------------------------------------

def test_a_link_where_the_lock_goes_is_never_followed(data, key, tmp_path):
    precious = tmp_path / "precious.key"
    precious.write_bytes(b"the pseudonym key: 0123456789abcdef")
    (tmp_path / ".run.lock").symlink_to(precious)
    code, err = run(data, tmp_path / "run")
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"perfkit: {tmp_path / '.run.lock'} is a link, not perfkit's lock")
    assert precious.read_bytes() == b"the pseudonym key: 0123456789abcdef"
    assert not (tmp_path / "run").exists()


def test_a_second_name_of_another_file_where_the_lock_goes_is_never_written(data, key,
                                                                             tmp_path):
    precious = tmp_path / "precious.key"
    precious.write_bytes(b"secret")
    os.link(precious, tmp_path / ".run.lock")
    code, err = run(data, tmp_path / "run")
    assert code == 2 and len(err) == 1 and "is not perfkit's lock file" in err[0], err
    assert precious.read_bytes() == b"secret"


# ---- 5. validate --out: a fresh folder, the run's lock and staging, no chmod ---------------

def test_validate_keeps_an_existing_shared_folders_permissions(data, key, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    code, err = cli("validate", data, "--out", shared)
    assert code == 0, err
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert sorted(p.name for p in shared.iterdir()) == ["data_quality.json", "prepared",
                                                        "rejects.csv", "validate.json"]
    inside = [p for p in shared.rglob("*")]
    assert inside and all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
                          for p in inside)
    assert json.loads((shared / "validate.json").read_text())["kind"] == "validate"
    # an earlier validate's folder is written again, and still keeps its permissions
    (shared / "rejects.csv").write_text("stale")
    assert cli("validate", data, "--out", shared)[0] == 0
    assert (shared / "rejects.csv").read_text() != "stale"
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == [".shared.lock", "keys", "shared"]


def test_validate_never_writes_into_a_finished_run(data, key, tmp_path):
    out = tmp_path / "run"
    assert run(data, out)[0] == 0
    before = tree(out)
    code, err = cli("validate", data, "--out", out)
    assert code == 2 and len(err) == 1, err
    assert err[0] == (f"perfkit: {out} is a perfkit run: validate --out writes only into a "
                      "new or empty folder (or one an earlier validate --out wrote), so choose "
                      "another --out")
    assert tree(out) == before


def test_validate_refuses_a_folder_of_other_files(data, key, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    out.chmod(0o755)
    (out / "notes.txt").write_text("mine")
    code, err = cli("validate", data, "--out", out)
    assert code == 2 and len(err) == 1 and "perfkit validate did not write" in err[0], err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_validate_takes_the_runs_lock(data, key, tmp_path):
    out = tmp_path / "v"
    fd = os.open(tmp_path / ".v.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"process 1, started now")
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, err = cli("validate", data, "--out", out)
    finally:
        os.close(fd)
    assert code == 2 and err == [f"perfkit: another perfkit run (process 1, started now) is "
                                 f"writing {out}: wait for it to finish, or choose another "
                                 "--out"], err
    assert not out.exists()


# ---- 9. a run folder that is a link is followed: the data stay where it points -------------

def test_a_run_folder_that_is_a_link_is_followed(data, key, tmp_path):
    mounted = tmp_path / "mounted"
    (mounted / "2026-11-01").mkdir(parents=True)
    local = tmp_path / "reports"
    local.mkdir()
    link = local / "2026-11-01"
    link.symlink_to(mounted / "2026-11-01")
    for _ in range(2):  # a new run, then one that replaces it
        code, err = run(data, link)
        assert code == 0, err
        assert link.is_symlink() and os.readlink(link) == str(mounted / "2026-11-01")
        assert pipeline.is_run_folder(mounted / "2026-11-01")
    # the lock and the staging were beside the target; nothing landed on the local disk
    assert sorted(p.name for p in local.iterdir()) == ["2026-11-01"]
    assert sorted(p.name for p in mounted.iterdir()) == [".2026-11-01.lock", "2026-11-01"]
    manifest = json.loads((mounted / "2026-11-01" / "manifest.json").read_text())
    assert manifest["run_folder"] == str(mounted / "2026-11-01")


def test_a_link_that_loops_is_one_sentence(data, key, tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    code, err = run(data, loop)
    assert code == 2 and len(err) == 1 and "is a link that leads nowhere" in err[0], err
    assert loop.is_symlink()


# ---- 10. an atomic swap, flushed; a crash between two renames hides nothing ----------------

def test_the_swap_exchanges_two_folders_in_one_step(tmp_path):
    if pipeline._renameat2() is None:
        pytest.skip("no renameat2 on this system")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "new").write_text("new run")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "old").write_text("old run")
    assert pipeline._exchange(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["new"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["old"]


def _config(key: Path, start: str, end: str):
    import datetime as dt

    return pk.load_config(pseudonym_key_file=key).with_period(dt.date.fromisoformat(start),
                                                              dt.date.fromisoformat(end))


def test_every_file_is_flushed_before_the_swap_and_the_folder_after(data, key, tmp_path,
                                                                    monkeypatch):
    synced = []
    real = os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    reports = tmp_path / "reports"
    pipeline.run_period(data, _config(key, "2026-10-01", "2026-11-01"), out=reports / "r",
                      tables_only=True)
    staging = str(reports / ".r.staging")
    assert f"{staging}/manifest.json" in synced and f"{staging}/tables" in synced
    assert f"{staging}/tables/clinician_metrics.csv" in synced
    assert str(reports) in synced[synced.index(f"{staging}/manifest.json"):]


def test_a_crash_between_the_two_renames_hides_no_run(data, key, tmp_path, monkeypatch):
    """Where the system cannot exchange two folders, the swap is two renames: a crash after
    the first leaves the previous run hidden as .<name>.previous. The next period's run puts it
    back and compares with it; so does the next run of the same period."""
    reports = tmp_path / "reports"
    october = reports / "2026-10-01"
    pipeline.run_period(data, _config(key, "2026-09-01", "2026-10-01"), out=october,
                      tables_only=True)
    before = tree(october)

    class Crash(Exception):
        pass

    real = os.rename

    def rename(src, dst, *a, **kw):
        if Path(src).name == ".2026-10-01.staging":
            raise Crash("power cut")
        return real(src, dst, *a, **kw)

    with monkeypatch.context() as m, pytest.raises(Crash):
        m.setattr(pipeline, "_exchange", lambda a, b: False)
        m.setattr(os, "rename", rename)
        pipeline.run_period(data, _config(key, "2026-09-01", "2026-10-01"), out=october,
                          tables_only=True)
    assert not october.exists() and tree(reports / ".2026-10-01.previous") == before
    pipeline.run_period(data, _config(key, "2026-10-01", "2026-11-01"),
                      out=reports / "2026-11-01", tables_only=True)
    assert tree(october) == before  # put back, as it was
    history = pd.read_csv(reports / "2026-11-01" / "tables" / "history.csv")
    assert history.loc[history["compared_with"], "period_end"].unique().tolist() == [
        "2026-10-01"]
    assert sorted(p.name for p in reports.iterdir() if not p.name.endswith(".lock")) == [
        "2026-10-01", "2026-11-01"]


# ---- 10. a run whose reports all failed keeps the previous run -----------------------------

def _rendered(status_of):
    """A stand-in for render.render_reports: one result per report, status from
    ``status_of(role, id)``, no kernel started."""
    def render_reports(folder, clinicians, *, supervisors=(), roles=(), **kw):
        jobs = [("owner", None)] * ("owner" in roles) + [("clinician", c) for c, _ in clinicians]
        return [{"path": f"{role}-{cid}.html", "role": role, "id": cid,
                 "notebook": f"{role}-{cid}.ipynb", "status": status_of(role, cid),
                 "message": "DeadWorker: the worker died\nwith more lines"}
                for role, cid in jobs]
    return render_reports


def test_a_run_whose_reports_all_failed_keeps_the_previous_run(data, key, tmp_path,
                                                              monkeypatch):
    out = tmp_path / "run"
    assert run(data, out)[0] == 0
    before = tree(out)
    monkeypatch.setattr("perfkit.render.render_reports", _rendered(lambda r, c: "failed"))
    code, err = cli("run", "--data", data, "--out", out, "--role", "owner", "--role",
                    "clinician")
    assert code == 1 and len(err) == 1, err
    assert err[0].startswith("perfkit: all ") and err[0].endswith(
        f"reports of this run failed (the first: DeadWorker: the worker died), so {out} keeps "
        "the previous run as it was")
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "keys", "run"]
    # one report that rendered is a run worth putting in place (its failures listed)
    monkeypatch.setattr("perfkit.render.render_reports",
                        _rendered(lambda r, c: "ok" if r == "owner" else "failed"))
    code, err = cli("run", "--data", data, "--out", out, "--role", "owner", "--role",
                    "clinician")
    assert code == 1 and any(e.startswith("  failed: clinician-") for e in err), err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["reports"] == "rendered"


# ---- review of issue 29: a record that is a bomb, a pipe or a link ---------------------------

DEEP = "[" * 200_000 + "]" * 200_000  # json.loads: RecursionError


@pytest.fixture
def hang_guard():
    """A test that would hang (opening a pipe blocks) fails after 60 seconds instead: a timer
    interrupts this thread (a signal sent to the process may reach another thread)."""
    import signal
    import threading

    class Hung(Exception):  # not an OSError: no manifest reader's except clause takes it
        pass

    def stop(*_):
        raise Hung("the run hung reading a neighbour's file")

    old = signal.signal(signal.SIGALRM, stop)
    done, me = threading.Event(), threading.get_ident()

    def interrupt():  # every second after the first minute, until the test ends
        if not done.wait(60):
            while not done.wait(1):
                signal.pthread_kill(me, signal.SIGALRM)

    timer = threading.Thread(target=interrupt, daemon=True)
    timer.start()
    try:
        yield
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # one still on its way does nothing
        done.set()
        timer.join()
        signal.signal(signal.SIGALRM, old)


def test_one_reader_for_records_refuses_what_is_no_record(tmp_path, hang_guard):
    from perfkit.io import read_record

    (tmp_path / "deep.json").write_text(DEEP)
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    (tmp_path / "big.json").write_text(json.dumps({"a": "x" * 100}))
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "good.json").write_text('{"a": 1}')
    for name in ("deep", "latin1", "pipe", "zero", "missing"):
        assert read_record(tmp_path / f"{name}.json") is None, name
    assert read_record(tmp_path / "big.json", limit=50) is None
    assert read_record(tmp_path / "good.json") == {"a": 1}


def test_a_manifest_nested_too_deep_is_one_sentence(data, key, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "manifest.json").write_text(DEEP)
    for args in (("run", "--data", data, "--out", out, "--tables-only"),
                 ("validate", data, "--out", out)):
        code, err = cli(*args)
        assert code == 2 and len(err) == 1 and "'manifest.json'" in err[0], err
    assert [p.name for p in out.iterdir()] == ["manifest.json"]


def _neighbour(data, key, reports: Path) -> Path:
    """An earlier period's run (tables only) in reports/2026-10-01."""
    old = reports / "2026-10-01"
    pipeline.run_period(data, _config(key, "2026-09-01", "2026-10-01"), out=old,
                      tables_only=True)
    return old


@pytest.mark.parametrize("damage", ["deep manifest", "manifest pipe", "manifest to /dev/zero",
                                    "metrics pipe", "metrics to /dev/zero"])
def test_a_neighbour_that_is_a_bomb_or_a_pipe_is_skipped(data, key, tmp_path, damage,
                                                          hang_guard):
    """A neighbouring run folder whose manifest.json or clinician_metrics.csv is a bomb, a
    named pipe or a link to /dev/zero: the next run neither crashes nor hangs; the neighbour is
    skipped (not a run), or left out of the comparison and counted (a damaged table)."""
    reports = tmp_path / "reports"
    old = _neighbour(data, key, reports)
    what, kind = damage.split(" ", 1)
    path = old / ("manifest.json" if what == "manifest" else "tables/clinician_metrics.csv")
    if what == "deep":
        path = old / "manifest.json"
        path.write_text(DEEP)
    else:
        path.unlink()
        if kind == "pipe":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
    code, err = run(data, reports / "2026-11-01")
    assert code == 0, err
    snapshot = json.loads((reports / "2026-11-01" / "prepared" / "snapshot.json").read_text())
    assert snapshot.get("earlier_runs_left_out", 0) == (1 if what == "metrics" else 0)
    history = pd.read_csv(reports / "2026-11-01" / "tables" / "history.csv")
    assert history["this_run"].all()  # nothing read from the neighbour
    # the key check of a later run reads the neighbour's manifest alike: skipped, no crash
    shutil.rmtree(reports / "2026-11-01")
    found = pipeline.previous_key_fingerprint(reports / "2026-12-01")
    assert (found is None) if what != "metrics" else (found[1] == old)


# ---- review of issue 29: a user's file inside a run's subfolder ------------------------------

def test_a_users_file_inside_a_runs_subfolder_is_never_deleted(data, key, tmp_path):
    out = tmp_path / "run1"
    assert run(data, out)[0] == 0
    (out / "tables" / "my_analysis.xlsx").write_bytes(b"user work")
    code, err = run(data, out)
    assert code == 2 and err == [
        f"perfkit: {out} is a perfkit run, but 1 file in it was not written by the run (the "
        "first: 'tables/my_analysis.xlsx'): a run replaces its folder whole, so move it out of "
        "the folder first, or choose another --out"], err
    assert (out / "tables" / "my_analysis.xlsx").read_bytes() == b"user work"
    (out / "prepared" / "notes.txt").write_text("mine")
    (out / "notebooks").mkdir()
    (out / "notebooks" / "copy.ipynb").write_text("{}")
    code, err = run(data, out)
    assert code == 2 and len(err) == 1 and "but 3 files in it were not written" in err[0], err
    assert "(the first: 'notebooks/copy.ipynb')" in err[0]
    assert not pipeline.is_run_folder(out)
    for name in ("tables/my_analysis.xlsx", "prepared/notes.txt", "notebooks/copy.ipynb"):
        (out / name).unlink()
    assert pipeline.is_run_folder(out) and run(data, out)[0] == 0  # the run's own: replaced


def test_a_manifest_that_lists_a_users_file_outside_the_runs_entries_proves_nothing(
        data, key, tmp_path):
    out = tmp_path / "run1"
    assert run(data, out)[0] == 0
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["outputs"].append({"path": "thesis.docx", "status": "ok", "message": ""})
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "thesis.docx").write_text("years of work")
    assert run(data, out)[0] == 2 and (out / "thesis.docx").read_text() == "years of work"


def test_a_users_file_inside_a_validate_folder_is_never_deleted(data, key, tmp_path):
    out = tmp_path / "checked"
    assert cli("validate", data, "--out", out)[0] == 0
    (out / "prepared" / "mine.xlsx").write_text("mine")
    code, err = cli("validate", data, "--out", out)
    assert code == 2 and len(err) == 1 and "perfkit validate did not write (such as " \
        "'prepared/mine.xlsx')" in err[0], err
    assert (out / "prepared" / "mine.xlsx").read_text() == "mine"


# ---- review of issue 29: folders beside the run that perfkit never made ----------------------

def test_folders_named_like_perfkits_leftovers_are_left_alone(data, key, tmp_path):
    reports = tmp_path / "reports"
    out = reports / "run"
    for name in (".settings.previous", ".run.previous"):
        (reports / name).mkdir(parents=True)
        (reports / name / "x.txt").write_text("private")
    code, err = run(data, out)  # a new run: .run.previous is not a run, so not put in place
    assert code == 0, err
    assert code == 0 and run(data, out)[0] == 0  # and a rerun: nothing removed
    assert sorted(p.name for p in reports.iterdir()) == [".run.lock", ".run.previous",
                                                         ".settings.previous", "run"]
    for name in (".settings.previous", ".run.previous"):
        assert (reports / name / "x.txt").read_text() == "private"
    # a folder where the staging goes, not perfkit's: one sentence, kept
    (reports / ".run.staging").mkdir()
    (reports / ".run.staging" / "y.txt").write_text("mine too")
    code, err = run(data, out)
    assert code == 2 and len(err) == 1 and "is in the way of the run" in err[0], err
    assert (reports / ".run.staging" / "y.txt").read_text() == "mine too"


def test_a_killed_runs_staging_and_hidden_previous_run_are_cleared(data, key, tmp_path):
    reports = tmp_path / "reports"
    out = reports / "run"
    assert run(data, out)[0] == 0
    pipeline._make_staging(reports / ".run.staging")  # a run killed while writing
    (reports / ".run.staging" / "tables").mkdir()
    (reports / ".run.staging" / "tables" / "half.csv").write_text("a,b\n")
    os.rename(out, reports / ".run.previous")  # killed between two renames
    assert run(data, out)[0] == 0
    assert sorted(p.name for p in reports.iterdir()) == [".run.lock", "run"]
