"""Flags with meaning and check-ins in order of need (issue 26, items 2 and 3).

Every frame here is built by hand with planted flags; the expected states, marks, counts and
order are worked out from the planted values, never read from perfkit's own output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import history as hi
from perfkit import operations as op
from perfkit.report import checkins, questions
from perfkit.report.format import pct
from perfkit.report.metrics_table import operations_table
from perfkit.report.run_folder import RunFolder

from practice_data import metric_rows
from run_tables import run_tables

PERIOD = {"period_start": "2026-08-01", "period_end": "2026-11-01"}


def _config(tmp_path, **kw):
    return pk.load_config(pseudonym_key_file=tmp_path / "k", **PERIOD, **kw)


# -- the note-backlog rule and the comparison as displayed ------------------------------------


def test_a_backlog_is_relative_to_volume():
    """1 open note of 200 due is not a backlog; 5 of 40 (12.5%) is. The rule needs both at
    least 3 notes and at least 2% of the notes due (the defaults)."""
    m = pd.DataFrame({"clinician_id": list("abcdefg"),
                      "utilization": [0.9] * 7, "non_attendance_rate": [0.0] * 7,
                      "notes_within_72h": [1.0] * 7,
                      "unsigned_overdue_7d": [1, 5, 3, 2, 4, 0, 3],
                      "notes_due": [200, 40, 200, 10, 200, 0, 0]})
    f = op.flags(m, pk.load_config()).set_index("clinician_id")
    # 1/200: one note; 5/40: both; 3/200 = 1.5% < 2%; 2/10: two notes; 4/200 = 2.0%: both;
    # nothing due: no share, no flag
    assert f.flag_unsigned_overdue.tolist() == [False, True, False, False, True, False, False]
    assert f.unsigned_overdue_share.tolist()[:5] == pytest.approx([0.005, 0.125, 0.015, 0.2,
                                                                   0.02])
    assert np.isnan(f.unsigned_overdue_share.iloc[5])
    looser = pk.load_config(operations={"unsigned_overdue_min_notes": 1,
                                        "unsigned_overdue_share": 0.0})
    assert op.flags(m, looser).flag_unsigned_overdue.tolist() == [True] * 5 + [False, False]


def test_thresholds_are_compared_with_the_value_as_displayed():
    """A utilization shown as 70% is not below 70%, one shown as 69% is; 79% is watch, 80% is
    not; missed appointments shown as 10.0% are at the alert, 9.9% are not; notes within 72 h
    shown as 90% are not late."""
    m = pd.DataFrame({"clinician_id": list("abcd"),
                      "utilization": [0.6951, 0.6949, 0.7949, 0.7951],
                      "non_attendance_rate": [0.09951, 0.09949, 0.1, np.nan],
                      "notes_within_72h": [0.8951, 0.8949, 0.9, np.nan],
                      "unsigned_overdue_7d": [0, 0, 0, 0], "notes_due": [10] * 4})
    f = op.flags(m, pk.load_config()).set_index("clinician_id")
    assert [pct(v) for v in m.utilization] == ["70%", "69%", "79%", "80%"]
    assert f.flag_low_utilization.tolist() == [False, True, False, False]
    assert f.utilization_band.tolist() == ["review", "low", "review", "ok"]
    assert [pct(v, 1) for v in m.non_attendance_rate[:3]] == ["10.0%", "9.9%",
                                                                       "10.0%"]
    assert f.flag_high_non_attendance.tolist() == [True, False, True, False]
    assert f.flag_late_notes.tolist() == [False, True, False, False]
    # over capacity: 100.4% shows as 100%, not above 100%; 100.6% shows as 101%
    assert op.beyond(pd.Series([1.004, 1.006, np.nan]), "utilization", 1.0,
                     "above").tolist() == [False, True, False]
    # a count is its own display
    assert op.beyond(pd.Series([2, 3]), "unsigned_overdue_7d", 3,
                     "at or above").tolist() == [False, True]


# -- the operations table: marks, legend, shading ---------------------------------------------

def _metrics(rows: list[dict]) -> pd.DataFrame:
    return metric_rows(rows)


def _run(tmp_path, metrics, *, changes=None, ramp=None, time_off=None, **cfg):
    names = {"A": "Ann", "B": "Ben", "C": "Cat", "D": "Dan", "E": "Eve", "F": "Fay",
             "G": "Gus", "H": "Hal"}
    clinicians = pd.DataFrame({"clinician_id": list(names), "name": list(names.values()),
                               "start_date": pd.NaT, "end_date": pd.NaT})
    time_off = time_off if time_off is not None else pd.DataFrame(
        columns=["clinician_id", "start_date", "end_date"])
    tables = {"clinician_metrics": metrics,
              "changes": changes if changes is not None else
              pd.DataFrame(columns=hi.CHANGE_COLUMNS)}
    if ramp is not None:
        tables["ramp"] = ramp
    config = _config(tmp_path, **cfg)
    return RunFolder(tmp_path, config, {"provided": ["time_off"]},
                   run_tables(tables, config, clinicians=clinicians, time_off=time_off))


def test_flags_carry_a_mark_and_a_legend_from_the_parameters(tmp_path):
    m = _metrics([
        {"clinician_id": "A", "utilization": 0.62, "utilization_band": "low",
         "flag_low_utilization": True},
        {"clinician_id": "B", "utilization": 0.74, "utilization_band": "review",
         "non_attendance_rate": 0.14, "flag_high_non_attendance": True},
        {"clinician_id": "C", "notes_within_72h": 0.85, "flag_late_notes": True,
         "unsigned_overdue_7d": 5, "flag_unsigned_overdue": True},
        {"clinician_id": "D", "utilization": 1.12, "over_capacity": True},
    ])
    t = operations_table(_run(tmp_path, m, operations={"utilization_alert": 0.65,
                                                          "utilization_review": 0.75}))
    shown = t.data.set_index("Clinician")
    assert shown.loc["Ann", "Utilization"] == "▼ low 62%"
    assert shown.loc["Ben", "Utilization"] == "● watch 74%"
    assert shown.loc["Ben", "Missed appointments"] == "▲ high 14.0%"
    assert shown.loc["Cat", "Notes within 72 h"] == "▼ low 85%"
    assert shown.loc["Cat", "Notes unsigned > 7 days"] == "▲ high 5"
    assert shown.loc["Dan", "Utilization"] == "▲ high 112%"
    assert shown.loc["Ann", "Missed appointments"] == "5.0%"  # within: no mark
    legend = t.caption
    # the thresholds are the parameters', not 70% and 80%
    assert "● watch: utilization from 65% to below 75%" in legend
    assert "utilization below 65% or above 100% of the hours offered" in legend
    assert "missed appointments at or above 10.0%" in legend
    assert "3 or more and at least 2.0% of the notes due" in legend
    html = t.to_html()

    def shaded(colour):  # the cells of the style rule with this colour
        rule = next(r for r in html.split("}") if colour in r)
        return sorted(x.split("_", 2)[2] for x in rule.split("{")[0].replace(",", " ").split()
                      if x.startswith("#T_"))

    # colour repeats the mark; flagged cells differ from watch cells, unflagged have none
    col = {c: f"col{k}" for k, c in enumerate(t.data.columns)}
    assert shaded("#fbd5b5") == sorted([
        f"row0_{col['Utilization']}", f"row1_{col['Missed appointments']}",
        f"row2_{col['Notes within 72 h']}", f"row2_{col['Notes unsigned > 7 days']}",
        f"row3_{col['Utilization']}"])
    assert shaded("#fff3c4") == [f"row1_{col['Utilization']}"]


# -- check-ins in order of need ---------------------------------------------------------------

def _planted(tmp_path, *, previous: bool = True, **cfg):
    """Ann: newly flagged on utilization, late notes standing. Ben: missed appointments
    standing. Cat: a ramping new hire, low utilization (context). Dan: 14 days of leave,
    a new note backlog and falling notes (context). Eve: late notes planted on documentation
    that is not known (no prompt). Fay: utilization 74%, watch only. Gus: low utilization on
    no appointments in the export (no prompt). Hal: missed appointments rising for weeks."""
    m = _metrics([
        {"clinician_id": "A", "utilization": 0.62, "flag_low_utilization": True,
         "notes_within_72h": 0.8, "flag_late_notes": True},
        {"clinician_id": "B", "non_attendance_rate": 0.14, "flag_high_non_attendance": True},
        {"clinician_id": "C", "utilization": 0.4, "flag_low_utilization": True},
        {"clinician_id": "D", "unsigned_overdue_7d": 6, "unsigned_overdue_share": 0.06,
         "flag_unsigned_overdue": True, "trend_notes_within_72h": "declining"},
        {"clinician_id": "E", "documentation_source": op.NOT_KNOWN, "flag_late_notes": True,
         "notes_within_72h": np.nan},
        {"clinician_id": "F", "utilization": 0.74, "utilization_band": "review"},
        {"clinician_id": "G", "appointments_in_export": 0, "utilization": np.nan,
         "flag_low_utilization": True},
        {"clinician_id": "H", "trend_non_attendance_rate": "growing"},
    ])
    changes = pd.DataFrame([
        {"clinician_id": c, "flag": f, "change": ch, "metric": "", "previous": np.nan,
         "current": np.nan, "previous_flag": ch == hi.STILL, "current_flag": True}
        for c, f, ch in [("A", "flag_low_utilization", hi.NEWLY),
                         ("A", "flag_late_notes", hi.STILL),
                         ("B", "flag_high_non_attendance", hi.STILL),
                         ("C", "flag_low_utilization", hi.NEWLY),
                         ("D", "flag_unsigned_overdue", hi.NEWLY),
                         ("E", "flag_late_notes", hi.NEWLY),
                         ("G", "flag_low_utilization", hi.NEWLY)]],
        columns=hi.CHANGE_COLUMNS) if previous else None
    ramp = pd.DataFrame({"clinician_id": ["C", "C"], "start_date": ["2026-07-06"] * 2,
                         "week": [0, 1], "week_start": ["2026-07-06", "2026-07-13"],
                         "utilization": [0.3, 0.4], "caseload": [3, 5],
                         "practice_utilization": [0.35, 0.45], "practice_caseload": [4, 6],
                         "hires_compared": [3, 3], "ramp": ["as expected"] * 2})
    time_off = pd.DataFrame({"clinician_id": ["D", "A"],
                             "start_date": pd.to_datetime(["2026-10-05", "2026-09-01"]),
                             "end_date": pd.to_datetime(["2026-10-18", "2026-09-02"])})
    return _run(tmp_path, m, changes=changes, ramp=ramp, time_off=time_off, **cfg)


def test_check_ins_come_in_order_of_need_each_clinician_once(tmp_path):
    run = _planted(tmp_path)
    ins = questions.check_ins(run)
    assert ins["name"].tolist() == ["Ann", "Hal", "Ben", "Cat", "Dan"]
    assert ins["group"].tolist() == ["changed", "changed", "standing", "context", "context"]
    ann = ins.iloc[0]
    assert ann["new"] == ["flag_low_utilization"] and ann["standing"] == ["flag_late_notes"]
    assert ins.iloc[1]["worsening"] == ["trend_non_attendance_rate"]
    # context, not a question
    assert ins.iloc[3]["prompts"] == [] and ins.iloc[4]["prompts"] == []
    assert ins.iloc[3]["ramp"].startswith("started on 06 Jul 2026")
    assert ins.iloc[4]["leave_days"] == 14
    assert sorted(ins.iloc[4]["explained"]) == ["flag_unsigned_overdue",
                                                "trend_notes_within_72h"]
    # the check-in table: each clinician once, in the same order, with all their reasons
    run.tables["history"] = pd.DataFrame({
        "clinician_id": "A", "period_start": ["2026-05-01", "2026-08-01"],
        "period_end": ["2026-08-01", "2026-11-01"], "this_run": [False, True],
        "compared_with": [True, False], "definitions_changed": False})
    t = checkins.check_in_table(run).data.set_index("Clinician")
    assert t.index.tolist() == ["Ann", "Hal", "Ben", "Cat", "Dan"]
    for absent in ("Eve", "Fay", "Gus"):
        assert absent not in t.index
    assert t.loc["Ann", "Reasons"] == (
        "New: ▼ utilization 62%. Still: ▼ notes signed within 72 hours 80%.")
    asked = str(checkins.check_in_questions(run))  # Ann's two questions and Hal's, each once
    assert asked.count("?") == 3 and asked.count("- *") == 3
    assert t.loc["Hal", "Reasons"] == "Worsening for several weeks: ↑ missed appointments rising."
    assert t.loc["Dan", "Reasons"].startswith(
        "Context: 14 days of recorded time off in the period, which explains ▲ 6 notes")
    assert t.loc["Dan", "Reasons"].endswith(
        "which explains ▲ 6 notes unsigned for more than 7 days; ↓ notes slipping later.")
    assert "notes running late" in asked and "backlog" not in asked  # Dan's: context
    assert t["Since the previous run"].tolist() == ["New or worsening", "New or worsening",
                                                    "Still flagged", "Context", "Context"]
    # the first screen counts the same rows: 2 new or worsening, 1 still, 2 context
    first = str(checkins.first_screen(run))
    assert ("Of 8 clinicians: **2 newly flagged or worsening**, **1 still flagged** and **0 "
            "improving** (a flag cleared, nothing new). New reasons: low utilization (1), "
            "missed appointments rising (1).") in first
    assert ("The data explain a flag of 2 clinicians (a new hire's first weeks, or recorded "
            "time off): context, not a question.") in first


def test_one_clinician_s_check_in_row_is_their_row_of_the_whole_list(tmp_path):
    """A page about one clinician words only their row (``only``): the same row, prompts and
    context as the owner's whole list gives them, and nothing for a clinician not on it."""
    run = _planted(tmp_path)
    whole = questions.check_ins(run).set_index("clinician_id")
    for cid in "ABCDEFGHZ":
        one = questions.check_ins(run, only=cid)
        if cid not in whole.index:
            assert one.empty and list(one.columns) == ["clinician_id", *whole.columns]
            assert questions.questions_for(run, cid) == []
            continue
        assert len(one) == 1
        mine = one.set_index("clinician_id").loc[cid]
        for col in whole.columns:
            if col == "row":
                assert mine[col].equals(whole.loc[cid, col])
            else:
                assert mine[col] == whole.loc[cid, col], col
        assert questions.questions_for(run, cid, you=True) == questions.questions_for(
            run, cid, you=True, ins=questions.check_ins(run))
    assert questions.check_ins(run, only="C").iloc[0]["ramp"].startswith("started on")
    assert questions.questions_for(run, "A")  # Ann is asked about: the test compares words


def test_without_an_earlier_run_flags_are_flagged_not_new(tmp_path):
    ins = questions.check_ins(_planted(tmp_path, previous=False))
    assert ins.set_index("name")["group"].to_dict() == {
        "Hal": "changed", "Ann": "flagged", "Ben": "flagged", "Cat": "context",
        "Dan": "context"}
    run = _planted(tmp_path, previous=False)
    assert "**3 of 8 clinicians** might welcome a check-in. Reasons: " in str(
        checkins.first_screen(run))


def test_no_prompt_from_a_figure_the_export_cannot_support(tmp_path):
    run = _planted(tmp_path)
    assert questions.check_in_reasons(run, "E") == []
    assert questions.check_in_reasons(run, "G", you=True) == []
    assert questions.check_in_reasons(run, "F") == []  # watch is not a check-in
    # the self-view entry point still asks its reader, about every supported flag
    mine = questions.check_in_reasons(run, "A", you=True)
    assert len(mine) == 2 and mine[0].startswith("Your utilization is 62%")
    assert mine[1].startswith("80% of your notes were signed within 72 hours")  # as shown


def test_a_short_leave_is_no_context(tmp_path):
    """Ann's 2 days off are below leave_context_days (10): no context; at 2 they are; at 15
    Dan's 14 are not either (the days ``check_ins`` gives where time off explains a flag)."""
    def leave(run):
        t = run.table("check_ins")
        return {c: d for c, d in zip(t["clinician_id"], t["leave_days"], strict=True) if d}

    assert leave(_planted(tmp_path)) == {"D": 14}
    run = _planted(tmp_path, operations={"leave_context_days": 2})
    assert leave(run) == {"D": 14, "A": 2}
    run = _planted(tmp_path, operations={"leave_context_days": 15})
    assert leave(run) == {}


def test_the_changes_show_values_as_the_tables_do(tmp_path):
    """Missed appointments show one decimal in the operations table; the check-in table says
    them the same way (14.2%, 9.5% then), not rounded to 14% and 10%."""
    history = pd.DataFrame({
        "period_start": ["2026-05-01", "2026-08-01"], "period_end": ["2026-08-01", "2026-11-01"],
        "run_id": ["before", "now"], "this_run": [False, True], "compared_with": [True, False],
        "clinician_id": ["B", "B"], "definitions_changed": [False, False],
        **{k: [1, 2] for k in hi.HISTORY_METRICS}})
    changes = pd.DataFrame([{"clinician_id": "B", "metric": "non_attendance_rate",
                             "previous": 0.095, "current": 0.142, "previous_flag": False,
                             "current_flag": True, "change": hi.NEWLY,
                             "flag": "flag_high_non_attendance"}], columns=hi.CHANGE_COLUMNS)
    run = _run(tmp_path, _metrics([{"clinician_id": "B", "non_attendance_rate": 0.142,
                                    "flag_high_non_attendance": True}]), changes=changes)
    run.tables["history"] = history
    said = checkins.check_in_table(run).data.set_index("Clinician").loc["Ben", "Reasons"]
    assert said == "New: ▲ missed appointments 14.2% (9.5% then)."


def test_what_context_explains_is_not_asked_and_what_it_does_not_is(tmp_path):
    """Ivy is on 14 days of leave with a note backlog (explained by the leave) and a falling
    utilization (not explained: utilization already leaves days off out of the hours offered).
    The question about utilization stays, the backlog is not asked about, and the clinician's
    own page and the pack ask exactly what the owner's list asks."""
    m = _metrics([{"clinician_id": "I", "unsigned_overdue_7d": 6, "unsigned_overdue_share": 0.06,
                   "flag_unsigned_overdue": True, "utilization": 0.55,
                   "flag_low_utilization": True, "trend_utilization": "declining"}])
    time_off = pd.DataFrame({"clinician_id": ["I"],
                             "start_date": pd.to_datetime(["2026-10-05"]),
                             "end_date": pd.to_datetime(["2026-10-18"])})
    run = _run(tmp_path, m, time_off=time_off)
    ins = questions.check_ins(run)
    assert ins["explained"].tolist() == [["flag_unsigned_overdue"]]
    asked = ins.iloc[0]["prompts"]
    assert len(asked) == 1 and asked[0].startswith("Utilization is 55% and has been falling")
    assert questions.questions_for(run, "I", ins=ins) == asked
    mine = questions.questions_for(run, "I", you=True)
    assert len(mine) == 1 and mine[0].startswith("Your utilization is 55% and has been falling")
    assert not any("unsigned" in q for q in asked + mine)
    assert questions.questions_for(run, "nobody") == []
