"""Changes since earlier runs (perfkit.history) on hand-made run folders."""

from __future__ import annotations

import datetime as dt
import json
import os

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import history as hi
from perfkit.config import ConfigError
from perfkit.io import read_table

from run_tables import run_tables


def fake_run(folder, start, end, rows, parameters=None, practice="Demo Practice"):
    """A run folder as perfkit writes one: manifest.json (its parameters name the practice,
    by default the default practice) and tables/clinician_metrics.csv."""
    (folder / "tables").mkdir(parents=True)
    parameters = {**({"practice_name": practice} if practice is not None else {}),
                  **(parameters or {})}
    (folder / "manifest.json").write_text(json.dumps(
        {"period": {"start": start, "end": end}, "parameters": parameters}))
    pd.DataFrame(rows).to_csv(folder / "tables" / "clinician_metrics.csv", index=False)
    return folder


def metrics(**flags):
    """Rows for A, B (and C when given): utilization and the low-utilization flag."""
    return [{"clinician_id": cid, "utilization": u, "flag_low_utilization": f}
            for cid, (u, f) in flags.items()]


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(period_start=dt.date(2026, 8, 1), period_end=dt.date(2026, 11, 1),
                          pseudonym_key_file=tmp_path / "k")


def test_changes_against_the_latest_earlier_period(tmp_path, cfg):
    """Two earlier quarters next to this run; the latest (May-July) is compared with. A was
    flagged then and is not now (no longer flagged); B newly; C still; D is new this run (no
    previous, no change)."""
    reports = tmp_path / "reports"
    fake_run(reports / "2026-05-01", "2026-02-01", "2026-05-01",
             metrics(A=(0.5, True), B=(0.5, True), C=(0.5, True)))
    fake_run(reports / "2026-08-01", "2026-05-01", "2026-08-01",
             metrics(A=(0.6, True), B=(0.8, False), C=(0.6, True)))
    (reports / ".2026-11-01.staging").mkdir()  # a staging leftover is not a run
    (reports / "notes").mkdir()  # nor is any other folder
    runs = hi.earlier_runs(reports / "2026-11-01", cfg)
    assert [r.period_end for r in runs] == [dt.date(2026, 5, 1), dt.date(2026, 8, 1)]
    prev = hi.previous_run(runs)
    current = pd.DataFrame(metrics(A=(0.75, False), B=(0.65, True), C=(0.55, True),
                                   D=(0.5, True)))
    c = hi.change_table(current, prev).set_index("clinician_id")
    assert list(c.columns) == hi.CHANGE_COLUMNS[1:]
    assert c.loc["A", "change"] == "no longer flagged"
    assert (c.loc["A", "previous"], c.loc["A", "current"]) == (0.6, 0.75)
    assert c.loc["B", "change"] == "newly flagged" and c.loc["C", "change"] == "still flagged"
    assert c.loc["D", "change"] == "" and pd.isna(c.loc["D", "previous_flag"])
    h = hi.history_table(current, cfg, runs, prev)
    assert list(h.groupby("period_end", sort=True).size()) == [3, 3, 4]
    assert h.loc[h["compared_with"], "period_end"].unique().tolist() == [dt.date(2026, 8, 1)]
    assert h.loc[h["this_run"], "clinician_id"].tolist() == ["A", "B", "C", "D"]


def test_compare_to_names_the_run_and_a_wrong_one_is_one_sentence(tmp_path, cfg):
    old = fake_run(tmp_path / "elsewhere" / "q1", "2026-01-01", "2026-04-01",
                   metrics(A=(0.9, False)), parameters={"operations": {"x": 1}})
    fake_run(tmp_path / "reports" / "q2", "2026-05-01", "2026-08-01", metrics(A=(0.5, True)))
    runs = hi.earlier_runs(tmp_path / "reports" / "now", cfg, old)
    prev = hi.previous_run(runs, old)
    assert prev.period_end == dt.date(2026, 4, 1)
    c = hi.change_table(pd.DataFrame(metrics(A=(0.5, True))), prev)
    assert c.loc[0, "change"] == "newly flagged"
    h = hi.history_table(pd.DataFrame(metrics(A=(0.5, True))), cfg, runs, prev)
    changed = h.set_index("period_end")["definitions_changed"]
    assert changed[dt.date(2026, 4, 1)] and not changed[dt.date(2026, 8, 1)]
    with pytest.raises(ConfigError, match="is not a run folder"):
        hi.earlier_runs(tmp_path / "reports" / "now", cfg, tmp_path / "missing")
    later = fake_run(tmp_path / "later", "2026-08-01", "2026-11-01", metrics(A=(0.5, True)))
    with pytest.raises(ConfigError, match="does not end before this period"):
        hi.earlier_runs(tmp_path / "reports" / "now", cfg, later)


def test_no_earlier_run_gives_no_changes(tmp_path, cfg):
    current = pd.DataFrame(metrics(A=(0.5, True)))
    assert hi.earlier_runs(tmp_path / "reports" / "now", cfg) == []
    c = hi.change_table(current, None)
    assert c["change"].eq("").all() and c["previous"].isna().all()
    assert np.isnan(c.loc[0, "previous"])


def test_the_change_section_says_when_the_previous_run_defined_metrics_differently(tmp_path):
    from perfkit.report import RunFolder, first_screen

    history = pd.DataFrame({
        "period_start": ["2026-07-01", "2026-08-01"], "period_end": ["2026-08-01", "2026-09-01"],
        "this_run": [False, True], "compared_with": [True, False],
        "clinician_id": ["A", "A"], "definitions_changed": [True, False]})
    changes = pd.DataFrame(columns=hi.CHANGE_COLUMNS)
    clinicians = pd.DataFrame({"clinician_id": ["A"], "name": ["Ann"],
                               "start_date": [pd.NaT], "end_date": [pd.NaT]})
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    run = RunFolder(tmp_path, cfg, {},
                  run_tables({"history": history, "changes": changes,
                              "clinician_metrics": pd.DataFrame({"clinician_id": ["A"]})},
                             cfg, clinicians=clinicians))
    said = str(first_screen(run))
    assert "That run defined the metrics differently" in said
    run.tables["history"] = history.assign(definitions_changed=False)
    assert "defined the metrics differently" not in str(first_screen(run))


def test_the_period_before_is_as_long():
    """A quarter of whole months: the quarter before; any other span: as many days before."""
    d = dt.date
    assert hi.previous_period(d(2026, 8, 1), d(2026, 11, 1)) == (d(2026, 5, 1), d(2026, 8, 1))
    assert hi.previous_period(d(2026, 1, 1), d(2026, 2, 1)) == (d(2025, 12, 1), d(2026, 1, 1))
    assert hi.previous_period(d(2026, 8, 15), d(2026, 9, 15)) == (d(2026, 7, 15),
                                                                   d(2026, 8, 15))


def test_a_run_compares_only_with_earlier_runs_of_its_own_practice(tmp_path, cfg, caplog):
    """One reports folder, the same clinician ids: "Other Practice"'s July run (the latest
    earlier one) is left out and said once; this practice's May run, its name written with
    other case and spacing, is the one compared with."""
    reports = tmp_path / "reports"
    fake_run(reports / "2026-08-01", "2026-05-01", "2026-08-01", metrics(A=(0.5, True)),
             practice="  demo   PRACTICE ")
    fake_run(reports / "other-2026-10-01", "2026-07-01", "2026-10-01",
             metrics(A=(0.9, False), Z=(0.4, True)), practice="Other Practice")
    with caplog.at_level("WARNING", logger="perfkit.history"):
        runs = hi.earlier_runs(reports / "2026-11-01", cfg)
    assert [r.folder.name for r in runs] == ["2026-08-01"]
    [said] = [r.getMessage() for r in caplog.records]
    assert "other-2026-10-01" in said and '"Other Practice"' in said
    assert "previous_practice_names" in said and "2026-08-01 " not in said
    prev = hi.previous_run(runs)
    current = pd.DataFrame(metrics(A=(0.6, False)))
    assert hi.change_table(current, prev).loc[0, "change"] == "no longer flagged"
    h = hi.history_table(current, cfg, runs, prev, "2026-11-01")
    assert h["run_id"].tolist() == ["2026-08-01", "2026-11-01"]
    assert h.loc[h["compared_with"], "run_id"].tolist() == ["2026-08-01"]
    assert "Z" not in set(h["clinician_id"])
    h = hi.history_table(current, cfg, runs, prev, "007")  # a folder name is text, read back
    h.to_csv(tmp_path / "history.csv", index=False)
    assert read_table(tmp_path / "history.csv")["run_id"].tolist() == ["2026-08-01", "007"]


def test_a_renamed_practice_keeps_its_history(tmp_path):
    """The run under the old name is compared with once the old name is listed; before, it
    is not. A run that records no practice name never is."""
    reports = tmp_path / "reports"
    fake_run(reports / "2026-08-01", "2026-05-01", "2026-08-01", metrics(A=(0.5, True)),
             practice="Bright Path Counselling")
    fake_run(reports / "2026-07-01", "2026-04-01", "2026-07-01", metrics(A=(0.5, True)),
             practice=None)
    period = {"period_start": dt.date(2026, 8, 1), "period_end": dt.date(2026, 11, 1),
              "pseudonym_key_file": tmp_path / "k", "practice_name": "Bright Path Therapy"}
    assert hi.earlier_runs(reports / "2026-11-01", pk.load_config(**period)) == []
    renamed = pk.load_config(**period, previous_practice_names=["bright path  counselling"])
    assert [r.folder.name for r in hi.earlier_runs(reports / "2026-11-01", renamed)] == \
        ["2026-08-01"]
    one = pk.load_config(**period, previous_practice_names="Bright Path Counselling")
    assert one.previous_practice_names == ["Bright Path Counselling"]
    for bad in ([""], ["  "], [None], [3]):
        with pytest.raises(ConfigError, match="previous_practice_names"):
            pk.load_config(**period, previous_practice_names=bad)
    with pytest.raises(ConfigError, match="practice's name is empty"):
        pk.load_config(practice_name=" ")


def test_two_runs_of_one_period_compare_with_the_one_written_last(tmp_path, cfg):
    reports = tmp_path / "reports"
    for name, created, u in (("b-first", "2026-08-02T10:00:00+00:00", 0.5),
                             ("a-again", "2026-08-03T09:00:00+00:00", 0.7)):
        folder = fake_run(reports / name, "2026-05-01", "2026-08-01", metrics(A=(u, True)))
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "created": created}))
    assert hi.previous_run(hi.earlier_runs(reports / "now", cfg)).folder.name == "a-again"


def test_compare_to_another_practice_is_one_sentence(tmp_path, cfg):
    other = fake_run(tmp_path / "other" / "q3", "2026-05-01", "2026-08-01",
                     metrics(A=(0.5, True)), practice="Other Practice")
    with pytest.raises(ConfigError) as caught:
        hi.earlier_runs(tmp_path / "reports" / "now", cfg, other)
    said = str(caught.value)
    assert said.count(". ") == 0 and "\n" not in said
    assert said.startswith(f"--compare-to {other} is a run of \"Other Practice\", not of "
                           "\"Demo Practice\"")
    assert "previous_practice_names" in said
    nameless = fake_run(tmp_path / "other" / "q2", "2026-02-01", "2026-05-01",
                        metrics(A=(0.5, True)), practice=None)
    with pytest.raises(ConfigError, match="records no practice name"):
        hi.earlier_runs(tmp_path / "reports" / "now", cfg, nameless)
    renamed = cfg.model_copy(update={"previous_practice_names": ["OTHER practice"]})
    runs = hi.earlier_runs(tmp_path / "reports" / "now", renamed, other)
    assert hi.previous_run(runs, other).folder == other


def test_compare_to_another_practice_through_the_cli_is_exit_2(practice, tmp_path):
    from typer.testing import CliRunner

    from perfkit.cli import app

    other = fake_run(tmp_path / "other" / "q3", "2026-05-01", "2026-08-01",
                     metrics(A=(0.5, True)), practice="Other Practice")
    res = CliRunner().invoke(app, ["run", "--data", str(practice), "--out",
                                   str(tmp_path / "reports" / "q4"), "--tables-only",
                                   "--compare-to", str(other)])
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines() == [
        f'perfkit: --compare-to {other} is a run of "Other Practice", not of "Demo Practice": '
        "a run compares only with earlier runs of its own practice (if the practice was called "
        '"Other Practice" before, add that name to previous_practice_names in the parameters)']
    assert not (tmp_path / "reports" / "q4").exists()


def test_the_key_check_reads_only_this_practices_runs(tmp_path, cfg):
    """Another practice's later run (another key) beside this practice's run does not stand
    for this practice's key."""
    from perfkit.pipeline import previous_key_fingerprint

    reports = tmp_path / "reports"
    for name, practice, fp, written in (("mine", "Demo Practice", "aaaa", 1_000),
                                        ("theirs", "Other", "bbbb", 2_000)):
        folder = fake_run(reports / name, "2026-05-01", "2026-08-01", metrics(A=(0.5, True)),
                          practice=practice)
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps(
            {**manifest, "pseudonym_key": {"fingerprint": fp}}))
        os.utime(folder / "manifest.json", (written, written))
    assert previous_key_fingerprint(reports / "now", cfg) == ("aaaa", reports / "mine")
    assert previous_key_fingerprint(reports / "now")[0] == "bbbb"  # any practice: the latest


def _history_run(tmp_path, history):
    from perfkit.report import RunFolder

    clinicians = pd.DataFrame({"clinician_id": ["A"], "name": ["Ann"],
                               "start_date": [pd.NaT], "end_date": [pd.NaT]})
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    return RunFolder(tmp_path, cfg, {},
                   run_tables({"history": history,
                               "changes": pd.DataFrame(columns=hi.CHANGE_COLUMNS),
                               "clinician_metrics": pd.DataFrame({"clinician_id": ["A"]})},
                              cfg, clinicians=clinicians))


def test_the_reports_name_the_run_compared_with(tmp_path):
    """Three runs of Ann: February to April (folder q1), May to July (folder 2026-08-01,
    marked compared_with), then this one. The change section and Ann's side-by-side periods
    name May to July (one run of that period: by its period alone), never the February run
    and never a folder's name."""
    from perfkit.report import first_screen, own_history_table

    history = pd.DataFrame({
        "period_start": ["2026-02-01", "2026-05-01", "2026-08-01"],
        "period_end": ["2026-05-01", "2026-08-01", "2026-11-01"],
        "run_id": ["q1", "2026-08-01", "2026-11-01"], "this_run": [False, False, True],
        "compared_with": [False, True, False], "clinician_id": ["A", "A", "A"],
        "definitions_changed": [False, False, False],
        **{k: [1, 2, 3] for k in hi.HISTORY_METRICS}})
    run = _history_run(tmp_path, history)
    said = str(first_screen(run))
    assert said.startswith("Compared with the run for 01 May 2026 to 31 July 2026.")
    t = own_history_table(run, "A")
    assert t.caption == ("Oldest first; the last column is this period, compared with the run "
                         "for 01 May 2026 to 31 July 2026.")
    assert list(t.data.columns) == ["Figure", "Feb 2026 to Apr 2026", "May 2026 to Jul 2026",
                                    "Aug 2026 to Oct 2026"]
    # a history.csv written before runs were named: the period alone
    run = _history_run(tmp_path, history.drop(columns="run_id"))
    assert str(first_screen(run)).startswith(
        "Compared with the run for 01 May 2026 to 31 July 2026.")
    # no run compared with: said so, no caption naming one
    run = _history_run(tmp_path, history.assign(compared_with=False))
    assert str(first_screen(run)).startswith("There is no earlier run of this practice")
    assert own_history_table(run, "A").caption == "Oldest first; the last column is this period."


def test_two_runs_of_one_period_are_two_columns(tmp_path):
    from perfkit.report import own_history_table

    history = pd.DataFrame({
        "period_start": ["2026-05-01", "2026-05-01", "2026-08-01"],
        "period_end": ["2026-08-01", "2026-08-01", "2026-11-01"],
        "run_id": ["q2", "q2-again", "q3"],
        "run_created": ["2026-08-02", "2026-08-09", "2026-11-02"], "this_run": [False, False, True],
        "compared_with": [False, True, False], "clinician_id": ["A", "A", "A"],
        "definitions_changed": [False, False, False],
        **{k: [0.5, 0.5, 0.5] for k in hi.HISTORY_METRICS}, "sessions_attended": [10, 12, 14]})
    t = own_history_table(_history_run(tmp_path, history), "A")
    # told apart by the day each was written, never by a folder's name
    assert t.caption == ("Oldest first; the last column is this period, compared with the run "
                         "for 01 May 2026 to 31 July 2026 (written 09 Aug 2026).")
    t = t.data.set_index("Figure")
    assert t.loc["Sessions attended"].tolist() == ["10", "12", "14"]
    assert list(t.columns) == ["May 2026 to Jul 2026, written 02 Aug 2026",
                               "May 2026 to Jul 2026, written 09 Aug 2026",
                               "Aug 2026 to Oct 2026"]
    # written the same day, or with no day recorded: by their order
    for created in (["2026-08-02", "2026-08-02", "2026-11-02"], [None, None, None]):
        t = own_history_table(_history_run(tmp_path, history.assign(run_created=created)), "A")
        assert list(t.data.columns)[1:] == ["May 2026 to Jul 2026, run 1 of 2",
                                            "May 2026 to Jul 2026, run 2 of 2",
                                            "Aug 2026 to Oct 2026"]
