"""Changes since earlier runs (perfkit.history) on hand-made run folders."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import history as hi
from perfkit.config import ConfigError


def fake_run(folder, start, end, rows, parameters=None):
    """A run folder as perfkit writes one: manifest.json and tables/clinician_metrics.csv."""
    (folder / "tables").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"period": {"start": start, "end": end}, "parameters": parameters or {}}))
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
    from perfkit.report import RunData, changes_section

    history = pd.DataFrame({
        "period_start": ["2026-07-01", "2026-08-01"], "period_end": ["2026-08-01", "2026-09-01"],
        "this_run": [False, True], "compared_with": [True, False],
        "clinician_id": ["A", "A"], "definitions_changed": [True, False]})
    changes = pd.DataFrame(columns=hi.CHANGE_COLUMNS)
    clinicians = pd.DataFrame({"clinician_id": ["A"], "name": ["Ann"],
                               "start_date": [pd.NaT], "end_date": [pd.NaT]})
    run = RunData(tmp_path, pk.load_config(pseudonym_key_file=tmp_path / "k"), {},
                  {"history": history, "changes": changes}, _data={"clinicians": clinicians})
    said = str(changes_section(run))
    assert "That run defined the metrics differently" in said
    run.tables["history"] = history.assign(definitions_changed=False)
    assert "defined the metrics differently" not in str(changes_section(run))


def test_the_period_before_is_as_long():
    """A quarter of whole months: the quarter before; any other span: as many days before."""
    d = dt.date
    assert hi.previous_period(d(2026, 8, 1), d(2026, 11, 1)) == (d(2026, 5, 1), d(2026, 8, 1))
    assert hi.previous_period(d(2026, 1, 1), d(2026, 2, 1)) == (d(2025, 12, 1), d(2026, 1, 1))
    assert hi.previous_period(d(2026, 8, 15), d(2026, 9, 15)) == (d(2026, 7, 15),
                                                                   d(2026, 8, 15))
