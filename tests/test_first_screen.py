"""The owner's first screen: who might welcome support, and why, at 2, 8 and 200 clinicians
(issue 28, item 1).

The runs here are built by hand with planted flags, changes and teams; every count, name and
order below is worked out from what was planted, never read from perfkit's own output. One
end-to-end test renders a 2-clinician demo practice and looks for repeated sentences."""

from __future__ import annotations

import html
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import history as hi
from perfkit.cli import app
from perfkit.report import checkins, questions
from perfkit.report.metrics_table import operations_table
from perfkit.report.run_folder import RunFolder

from practice_data import metric_rows
from run_tables import run_tables

PERIOD = {"period_start": "2026-08-01", "period_end": "2026-11-01"}
NAMES = {"A": "Ann", "B": "Ben", "C": "Cat", "D": "Dan", "E": "Eve", "F": "Fay", "G": "Gus",
         "H": "Hal"}


def _metrics(rows: list[dict]) -> pd.DataFrame:
    return metric_rows(rows)


def _change(cid, flag, change, metric="", previous=np.nan, current=np.nan):
    return {"clinician_id": cid, "flag": flag, "change": change, "metric": metric,
            "previous": previous, "current": current,
            "previous_flag": change in (hi.STILL, hi.NO_LONGER),
            "current_flag": change in (hi.STILL, hi.NEWLY)}


def _history(ids: list[str]) -> pd.DataFrame:
    """The compared run (May to July, folder "before") and this one, for these clinicians."""
    return pd.DataFrame([
        {"clinician_id": c, "period_start": s, "period_end": e, "run_id": rid,
         "this_run": this, "compared_with": not this, "definitions_changed": False}
        for c in ids for s, e, rid, this in (("2026-05-01", "2026-08-01", "before", False),
                                             ("2026-08-01", "2026-11-01", "now", True))])


def _run(tmp_path, metrics, changes=None, *, names=None, teams=None):
    names = names or {c: NAMES.get(c, f"Clinician {c}") for c in metrics["clinician_id"]}
    clinicians = pd.DataFrame({"clinician_id": list(names), "name": list(names.values()),
                               "start_date": pd.NaT, "end_date": pd.NaT})
    if teams is not None:
        clinicians["team"] = [teams.get(c) for c in names]
    tables = {"clinician_metrics": metrics,
              "changes": pd.DataFrame(changes or [], columns=hi.CHANGE_COLUMNS)}
    if changes is not None:
        tables["history"] = _history(list(names))
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k", **PERIOD)
    empty_off = pd.DataFrame(columns=["clinician_id", "start_date", "end_date"])
    return RunFolder(tmp_path, cfg, {"provided": ["time_off"]},
                   run_tables(tables, cfg, clinicians=clinicians, time_off=empty_off))


def _planted(tmp_path, *, previous: bool = True, teams=None):
    """Ann: newly over capacity (112%, 96% then) and notes late in both runs. Ben: newly late
    notes. Cat: missed appointments high in both runs. Dan: low utilization cleared (62% then,
    81% now), nothing now. Eve: missed appointments rising for weeks (no flag). Fay and Hal:
    nothing. Gus: late notes in both runs."""
    m = _metrics([
        {"clinician_id": "A", "utilization": 1.12, "over_capacity": True,
         "notes_within_72h": 0.8, "flag_late_notes": True},
        {"clinician_id": "B", "notes_within_72h": 0.85, "flag_late_notes": True},
        {"clinician_id": "C", "non_attendance_rate": 0.14, "flag_high_non_attendance": True},
        {"clinician_id": "D", "utilization": 0.81},
        {"clinician_id": "E", "trend_non_attendance_rate": "growing"},
        {"clinician_id": "F"},
        {"clinician_id": "G", "notes_within_72h": 0.7, "flag_late_notes": True},
        {"clinician_id": "H"},
    ])
    changes = [_change("A", "over_capacity", hi.NEWLY, "utilization", 0.96, 1.12),
               _change("A", "flag_late_notes", hi.STILL, "notes_within_72h", 0.82, 0.8),
               _change("B", "flag_late_notes", hi.NEWLY, "notes_within_72h", 0.95, 0.85),
               _change("C", "flag_high_non_attendance", hi.STILL, "non_attendance_rate",
                       0.12, 0.14),
               _change("D", "flag_low_utilization", hi.NO_LONGER, "utilization", 0.62, 0.81),
               _change("G", "flag_late_notes", hi.STILL, "notes_within_72h", 0.75, 0.7)]
    return _run(tmp_path, m, changes if previous else None, teams=teams)


def _blocks(text: str) -> list[str]:
    return text.split("\n\n")


def test_the_first_screen_counts_and_names_the_planted_changes(tmp_path):
    run = _planted(tmp_path)
    text = str(checkins.first_screen(run))
    blocks = _blocks(text)
    assert blocks[0] == "Compared with the run for 01 May 2026 to 31 July 2026."
    # alike counts are ordered by their words: missed < notes < over
    assert blocks[1] == ("Of 8 clinicians: **3 newly flagged or worsening**, **2 still "
                         "flagged** and **1 improving** (a flag cleared, nothing new). New "
                         "reasons: missed appointments rising (1), notes running late (1), "
                         "over capacity (1).")
    assert blocks[2] == "**Who changed**:"
    assert blocks[3].split("\n") == [
        "- **Ann**: newly flagged: over capacity",  # two signals asked about: first
        "- **Ben**: newly flagged: notes running late",
        "- **Eve**: worsening: missed appointments rising",
        "- **Dan**: flag cleared: low utilization"]
    assert blocks[4] == ("**Standing patterns**, flagged in the previous run too: notes "
                         "running late (2), many missed appointments (1).")
    assert len(blocks) == 5  # nobody joined or left
    for quiet in ("Fay", "Hal", "Cat", "Gus"):  # standing patterns are counted, not named
        assert quiet not in text


def test_the_first_screens_counts_are_the_check_in_tables_rows(tmp_path):
    run = _planted(tmp_path)
    t = checkins.check_in_table(run).data
    assert list(t.columns) == ["Clinician", "Since the previous run", "Reasons"]
    assert t["Clinician"].tolist() == ["Ann", "Ben", "Eve", "Cat", "Gus", "Dan"]
    status = t.set_index("Clinician")["Since the previous run"]
    assert (status == "New or worsening").sum() == 3  # the first screen's 3
    assert (status == "Still flagged").sum() == 2
    assert (status == "Flag cleared").sum() == 1
    rows = t.set_index("Clinician")
    assert rows.loc["Ann", "Reasons"] == (
        "New: ▲ utilization 112% of the hours offered (96% then). Still: ▼ notes signed "
        "within 72 hours 80%.")
    assert rows.loc["Dan", "Reasons"] == "Cleared: low utilization (62% then, 81% now)."
    # a small practice prints its operations table and legend: the caption points there
    assert "thresholds are under the operations table)" in checkins.check_in_table(run).caption


def test_each_question_is_asked_once_with_the_reasons_that_raise_it(tmp_path):
    """Ann, Ben and Gus all have late notes: the question about notes is asked once, under
    its reason; Eve's rising missed appointments and Cat's high ones share one question."""
    run = _planted(tmp_path)
    said = str(checkins.check_in_questions(run))
    lines = said.split("\n\n")[1].split("\n")
    assert lines == [  # in the table's order: Ann's two questions first
        "- *notes running late*: Would protected documentation time or a simpler note "
        "template help?",
        "- *over capacity*: Is the capacity in the roster still right, or is the week fuller "
        "than planned?",
        "- *many missed appointments, missed appointments rising*: Are reminders, scheduling "
        "or client circumstances getting in the way?"]
    # the pack and the self-view ask the same questions, with the clinician's own figure
    assert questions.questions_for(run, "C") == [
        "14.0% of appointments were missed. Are reminders, scheduling or client "
        "circumstances getting in the way?"]
    # no one with a question: nothing said
    quiet = _run(tmp_path, _metrics([{"clinician_id": "A"}]), [])
    assert str(checkins.check_in_questions(quiet)) == ""


def test_without_an_earlier_run_it_says_so_once_and_counts_who_is_flagged_now(tmp_path):
    run = _planted(tmp_path, previous=False)
    blocks = _blocks(str(checkins.first_screen(run)))
    assert blocks[0] == ("There is no earlier run of this practice to compare with yet, so "
                         "this shows who is flagged now.")
    # Ann 2 reasons, Ben, Cat, Gus flagged; Eve's missed appointments rising; Dan unknown
    assert blocks[1] == ("**5 of 8 clinicians** might welcome a check-in. Reasons: notes "
                         "running late (3), many missed appointments (1), missed appointments "
                         "rising (1), over capacity (1).")
    assert blocks[2] == "**Who**:"
    assert [x.split("**")[1] for x in blocks[3].split("\n")] == ["Eve", "Ann", "Ben", "Cat",
                                                                 "Gus"]
    assert len(blocks) == 4 and "Standing patterns" not in str(checkins.first_screen(run))
    t = checkins.check_in_table(run).data
    assert list(t.columns) == ["Clinician", "Now", "Reasons"]
    assert len(t) == 5 and (t["Now"] == "Flagged").sum() == 4


def test_a_team_column_groups_the_table_when_the_roster_has_one(tmp_path):
    teams = {"A": "North", "B": "South", "C": "North", "D": "South", "E": None, "G": "North"}
    run = _planted(tmp_path, teams=teams)
    t = checkins.check_in_table(run).data
    assert list(t.columns) == ["Clinician", "Team", "Since the previous run", "Reasons"]
    # no team first (as "–"), then by team, then by name
    assert list(zip(t["Team"], t["Clinician"], strict=True)) == [
        ("–", "Eve"), ("North", "Ann"), ("North", "Cat"), ("North", "Gus"), ("South", "Ben"),
        ("South", "Dan")]
    assert "- **Ann** (North): newly flagged: over capacity" in str(checkins.first_screen(run))


def test_nothing_flagged_is_one_plain_sentence(tmp_path):
    run = _run(tmp_path, _metrics([{"clinician_id": "A"}, {"clinician_id": "B"}]), [])
    text = str(checkins.first_screen(run))
    assert _blocks(text)[1] == ("Of 2 clinicians, none is outside the practice's thresholds "
                                "or slipping, and no flag has cleared since then.")
    assert "0 " not in text and "Standing patterns" not in text
    assert str(checkins.check_in_table(run)) == "Nobody to list this period."  # said once, above


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.?!])\s+|\n+", text) if len(s.strip()) > 20]


def test_two_clinicians_flagged_repeat_no_sentence(tmp_path):
    """Both of a 2-clinician practice newly late with their notes: the first screen names
    them, the table gives the figures and the question; no sentence is said twice."""
    m = _metrics([{"clinician_id": "A", "notes_within_72h": 0.8, "flag_late_notes": True},
                  {"clinician_id": "B", "notes_within_72h": 0.7, "flag_late_notes": True}])
    changes = [_change("A", "flag_late_notes", hi.NEWLY, "notes_within_72h", 0.95, 0.8),
               _change("B", "flag_late_notes", hi.NEWLY, "notes_within_72h", 0.93, 0.7)]
    run = _run(tmp_path, m, changes)
    text = str(checkins.first_screen(run))
    assert "**2 newly flagged or worsening**, **0 still flagged** and" in text
    assert "New reasons: notes running late (2)." in text
    t = checkins.check_in_table(run).data
    said = (_sentences(text) + _sentences(" ".join(t["Reasons"]))
            + _sentences(str(checkins.check_in_questions(run))))
    assert str(checkins.check_in_questions(run)).count("Would protected documentation time") == 1
    assert len(said) == len(set(said)), Counter(said).most_common(2)


# -- 200 clinicians ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """200 clinicians: 30 newly over capacity (C000-C029), 12 newly late with notes (C030-
    C041), 20 late in both runs (C042-C061), 9 with low utilization cleared (C062-C070),
    the other 129 with nothing."""
    tmp = tmp_path_factory.mktemp("big")
    ids = [f"C{k:03d}" for k in range(200)]
    rows, changes = [], []
    for k, cid in enumerate(ids):
        row = {"clinician_id": cid}
        if k < 30:
            row |= {"utilization": 1.1, "over_capacity": True}
            changes.append(_change(cid, "over_capacity", hi.NEWLY, "utilization", 0.9, 1.1))
        elif k < 42:
            row |= {"notes_within_72h": 0.8, "flag_late_notes": True}
            changes.append(_change(cid, "flag_late_notes", hi.NEWLY, "notes_within_72h",
                                   0.95, 0.8))
        elif k < 62:
            row |= {"notes_within_72h": 0.8, "flag_late_notes": True}
            changes.append(_change(cid, "flag_late_notes", hi.STILL, "notes_within_72h",
                                   0.85, 0.8))
        elif k < 71:
            changes.append(_change(cid, "flag_low_utilization", hi.NO_LONGER, "utilization",
                                   0.6, 0.85))
        rows.append(row)
    return _run(tmp, _metrics(rows), changes, names={c: f"Clinician {c}" for c in ids})


def test_at_200_clinicians_the_first_screen_names_at_most_8(big):
    text = str(checkins.first_screen(big))
    assert _blocks(text)[1] == (
        "Of 200 clinicians: **42 newly flagged or worsening**, **20 still flagged** and **9 "
        "improving** (a flag cleared, nothing new). New reasons: over capacity (30), notes "
        "running late (12).")
    named = re.findall(r"\*\*Clinician C\d{3}\*\*", text)
    assert len(named) == 8
    assert "And 43 more: every one is in the check-in table below." in text  # 42 + 9 - 8
    assert text.count("\n- ") == 8
    assert ("**Standing patterns**, flagged in the previous run too: notes running late "
            "(20).") in text


def test_at_200_clinicians_the_check_ins_are_one_table(big):
    shown = checkins.check_in_table(big)
    t = shown.data
    assert len(t) == 42 + 20 + 9
    status = t["Since the previous run"].value_counts()
    assert status.to_dict() == {"New or worsening": 42, "Still flagged": 20, "Flag cleared": 9}
    page = shown.to_html()
    assert page.count("<table") == 1 and "<li>" not in page
    # the operations table's 62 flagged rows do not print, nor does its legend of thresholds:
    # the check-in table says where they are
    assert '<details open class="not-printed">' in operations_table(big).to_html()
    assert "thresholds are under the operations table, in the report on screen)" in page


# -- the rendered page of a 2-clinician practice ---------------------------------------------------

def _page_sentences(page: str) -> list[str]:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<img\b[^>]*>", " ", page)
    # every tag breaks a line: a list's "PHQ-9: <sentence>" and "GAD-7: <sentence>" repeat it
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    return [s.lstrip(":; ") for s in _sentences(text)]


@pytest.mark.end_to_end
@pytest.mark.slow
def test_a_two_clinician_practice_page_repeats_no_sentence(tmp_path):
    """The owner's page of a 2-clinician demo practice, compared with its previous quarter:
    the first screen is there and no sentence is said twice anywhere on the page."""
    data, before, now = tmp_path / "d", tmp_path / "before", tmp_path / "now"
    for args in (["demo", "--clinicians", "2", "--months", "12", "--out", str(data)],
                 ["run", "--data", str(data), "--out", str(before), "--tables-only",
                  "--period-start", "2026-05-01", "--period-end", "2026-08-01"],
                 ["run", "--data", str(data), "--out", str(now), "--role", "owner",
                  "--workers", "1", "--compare-to", str(before)]):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 0, res.output
    page = (now / "practice.html").read_text(encoding="utf-8")
    assert "Who might welcome support, and why" in page and "Compared with the run for" in page
    said = _page_sentences(page)
    repeated = [s for s, k in Counter(said).items() if k > 1]
    assert not repeated, repeated


def test_a_still_flagged_clinician_with_a_cleared_flag_is_counted_once_and_said(tmp_path):
    """Ann: notes late in both runs (still flagged) and missed appointments cleared: one
    clinician still flagged, "1 of them with another flag cleared", not improving; Ben: only
    a cleared flag, improving."""
    m = _metrics([{"clinician_id": "A", "notes_within_72h": 0.8, "flag_late_notes": True},
                  {"clinician_id": "B"}, {"clinician_id": "C"}])
    changes = [_change("A", "flag_late_notes", hi.STILL, "notes_within_72h", 0.85, 0.8),
               _change("A", "flag_high_non_attendance", hi.NO_LONGER, "non_attendance_rate",
                       0.12, 0.05),
               _change("B", "flag_high_non_attendance", hi.NO_LONGER, "non_attendance_rate",
                       0.11, 0.04)]
    text = str(checkins.first_screen(_run(tmp_path, m, changes)))
    assert ("Of 3 clinicians: **0 newly flagged or worsening**, **1 still flagged** (1 of them "
            "with another flag cleared) and **1 improving** (a flag cleared, nothing new).") \
        in text
