"""The reader's frame (issue 26, item 4), on small hand-built run tables: whom a self-view points
to, what is going well, a new hire's ramp in place of the practice median, an associate's
supervision shortfall in their own questions and as the owner's content-free compliance line,
and the supervision pack asking what the owner's check-in list asks, from the same flags."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
import perfkit.report as r
from perfkit.report.questions import new_hire
from perfkit.report.run_folder import RunFolder
from perfkit.tables import roster

from run_tables import derived

NAMES = {"L1": "Lena Licensed", "L2": "Lou Level", "A1": "Ava Associate", "A2": "Abe Ontrack",
         "A3": "Ada Partial", "H1": "Hal Hire", "H2": "Hana Slow", "S1": "Sam Senior"}
SECRET = "SECRET-SUPERVISION-NOTE"
CLIENT = "CL-4242"

# one row per clinician: utilization, missed, notes within 72 h, unsigned > 7 days, flags
METRICS = {  # cid: (util, missed, notes72, unsigned, low_util, late, unsigned_flag)
    "L1": (0.85, 0.03, 0.98, 0, False, False, False),  # well inside: notes and missed
    "L2": (0.80, 0.08, 0.92, 0, False, False, False),  # inside, but not well inside
    "A1": (0.82, 0.07, 0.93, 4, False, False, True),  # the planted flag: 4 notes overdue
    "A2": (0.80, 0.08, 0.91, 0, False, False, False),
    "A3": (0.80, 0.08, 0.91, 0, False, False, False),
    "H1": (0.50, 0.08, 0.92, 0, True, False, False),  # low, as earlier hires were
    "H2": (0.30, 0.08, 0.92, 0, True, False, False),  # low, below earlier hires
    "S1": (0.80, 0.08, 0.92, 0, False, False, False),
}


def metrics() -> pd.DataFrame:
    rows = []
    for cid, (u, m, n, o, low, late, over) in METRICS.items():
        rows.append({"clinician_id": cid, "utilization": u, "non_attendance_rate": m,
                     "notes_within_72h": n, "unsigned_overdue_7d": o,
                     "flag_low_utilization": low, "flag_high_non_attendance": False,
                     "flag_late_notes": late, "flag_unsigned_overdue": over,
                     "trend_utilization": "stable", "trend_notes_within_72h": "stable",
                     "trend_non_attendance_rate": "stable", "over_capacity": False,
                     "flag_over_goal": False, "flag_no_time_off": False,
                     "flag_caseload_growing": cid in ("H1", "H2"), "weeks_over_goal": 0,
                     "caseload_growing_weeks": 10 if cid in ("H1", "H2") else 0,
                     "caseload": 20, "active_clients": 25, "new_clients": 5,
                     "retained_8plus_rate": 0.4, "median_note_lag_hours": 12.0,
                     "notes_open_72h": 0, "appointments_in_export": 100})
    return pd.DataFrame(rows)


def ledger_row(cid, **kw) -> dict:
    row = {"clinician_id": cid, "rule": "ca_asw_lcsw", "rule_name": "California ASW to LCSW",
           "rule_citation": "B&P Code", "compliance_period": "week",
           "direct_hours": 1000.0, "supervision_hours_individual": 60.0,
           "supervision_hours_group": 40.0, "periods_assessed": 12, "periods_compliant": 12,
           "total_hours": 1500.0, "total_required": 3000.0, "supervision_required": 100.0,
           "behind_on_supervision": False, "history_complete": True,
           # the ledger's reasons (words in the supervision pack only), with a secret in them
           "reasons": json.dumps([{"code": "unknown_rule", "rule": SECRET, "known": []}]),
           "records_since": "2025-01-01", "ledger_status": "on track",
           "experience_since": "2025-01-01"}
    row.update(kw)
    return row


def ramp(cid, hire, earlier, status) -> pd.DataFrame:
    weeks = np.arange(len(hire))
    return pd.DataFrame({"clinician_id": cid, "start_date": pd.Timestamp("2026-07-06"),
                         "week": weeks, "utilization": hire,
                         "practice_utilization": earlier, "hires_compared": 6,
                         "ramp": status})


def build(tmp_path, m: pd.DataFrame | None = None) -> RunFolder:
    spread = pd.DataFrame({"metric": ["utilization", "non_attendance_rate", "notes_within_72h"],
                           "median": [0.81, 0.08, 0.92], "q25": [0.8, 0.07, 0.91],
                           "q75": [0.85, 0.08, 0.98], "clinicians": [8, 8, 8]})
    tables = {
        "clinician_metrics": metrics() if m is None else m,
        "metric_spread": spread,
        "not_on_track": pd.DataFrame({"clinician_id": ["A1"], "client_id": [CLIENT]}),
        "supervisors": pd.DataFrame({"supervisor_id": ["S1", "S1", "S1"],
                                     "clinician_id": ["A1", "A2", "A3"]}),
        "supervision_ledger": pd.DataFrame([
            # behind: no week of 12 met the rule, and 25 + 5 hours of supervision where
            # the rule's pace needs 100 * 1500 / 3000 = 50 by now: 20 hours short
            ledger_row("A1", periods_compliant=0, supervision_hours_individual=25.0,
                       supervision_hours_group=5.0, behind_on_supervision=True,
                       ledger_status="behind"),
            ledger_row("A2"),
            ledger_row("A3", history_complete=False, ledger_status="incomplete history",
                       records_since="2025-11-04")]),
        # H1: 0.4, 0.5, 0.6 (mean 50%) against 0.45, 0.5, 0.55 (mean 50%): as expected;
        # H2: 0.2, 0.3, 0.4 (mean 30%) against the same (50%): more slowly
        "ramp": pd.concat([ramp("H1", [0.4, 0.5, 0.6], [0.45, 0.5, 0.55], "as expected"),
                           ramp("H2", [0.2, 0.3, 0.4], [0.45, 0.5, 0.55], "more slowly")],
                          ignore_index=True),
        "goals": pd.DataFrame({"clinician_id": ["A1"], "description": [SECRET],
                               "review_overdue": [False]}),
    }
    cfg = pk.load_config()
    return RunFolder(tmp_path, cfg, {}, derived(tables, cfg), _names=dict(NAMES))


def self_view_words(run: RunFolder, cid: str) -> str:
    return "\n".join(str(x) for x in (
        r.clinician_title(run, cid), r.going_well(run, cid), r.own_ramp_text(run, cid),
        r.questions_to_explore(run, cid)))


@pytest.mark.parametrize("cid", ["L1", "L2", "H1", "H2", "S1"])
def test_a_licensed_clinician_without_a_supervisor_is_never_sent_to_one(tmp_path, cid):
    said = self_view_words(build(tmp_path), cid)
    assert "supervisor" not in said.lower()
    assert "in supervision" not in said.lower()
    assert "a peer consultation group or the clinical director" in said


def test_a_supervised_associate_is_pointed_to_their_supervisor(tmp_path):
    said = str(r.questions_to_explore(build(tmp_path), "A1"))
    assert "explore with your supervisor" in said
    assert "talk through with your supervisor" in said  # A1 has a client off track


def test_an_associate_behind_the_rule_finds_the_shortfall_in_their_questions(tmp_path):
    said = str(r.questions_to_explore(build(tmp_path), "A1"))
    assert "behind your licensure rule" in said
    assert "12 of 12 weeks" in said
    assert "30 hours of supervision where the rule's pace needs 50 by now (20 hours short)" \
        in said
    for cid in ("A2", "A3", "L1"):  # on track, incomplete history, licensed: no shortfall
        assert "licensure rule" not in str(r.questions_to_explore(build(tmp_path), cid))


def test_the_owner_gets_one_content_free_compliance_line_per_associate(tmp_path):
    run = build(tmp_path)
    said = str(r.associates_compliance(run))
    lines = [x for x in said.splitlines() if x.startswith("- ")]
    assert len(lines) == 3  # A1, A2, A3: the licensed clinicians have no ledger
    by = {cid: next(x for x in lines if NAMES[cid] in x) for cid in ("A1", "A2", "A3")}
    assert "behind its rule" in by["A1"] and "12 of 12 weeks" in by["A1"] \
        and "20 hours short" in by["A1"]
    assert by["A2"].endswith(": on track.")
    assert "incomplete history" in by["A3"] and "behind" not in by["A3"]
    # hours and the rule only: no supervision notes, goals or clients
    assert SECRET not in said and CLIENT not in said and "B&P Code" not in said
    assert "off their expected course" not in said


def test_no_associate_is_said_plainly(tmp_path):
    run = build(tmp_path)
    del run.tables["supervision_ledger"]
    assert "No associate" in str(r.associates_compliance(run))


def owner_says(run: RunFolder) -> str:
    """The owner's check-in table and the questions under it, as one text."""
    t = r.check_in_table(run)
    return str(t) if isinstance(t, str) else " ".join(
        t.data["Reasons"].tolist() + [str(r.check_in_questions(run))])


def test_pack_and_owner_agree_on_a_planted_flag_and_follow_its_column(tmp_path):
    run = build(tmp_path)
    asked = "4 notes have been unsigned for more than 7 days"
    owner, pack = owner_says(run), str(r.supervision_questions(run, ["A1", "A2"]))
    assert asked in pack and "4 notes unsigned for more than 7 days" in owner
    assert "Is there a backlog they would like help with?" in owner
    assert "Nothing is flagged" not in pack
    assert f"{NAMES['A1']}: 4 notes" in pack and NAMES["A2"] not in pack  # A2 has no flag
    # the flag's column switched off: both pages drop it together
    m = metrics()
    m.loc[m.clinician_id == "A1", "flag_unsigned_overdue"] = False
    run = build(tmp_path, m)
    owner, pack = owner_says(run), str(r.supervision_questions(run, ["A1", "A2"]))
    assert "notes unsigned" not in owner and asked not in pack
    # a workload flag switched on for A2: both pages ask about it
    m.loc[m.clinician_id == "A2", "flag_no_time_off"] = True
    run = build(tmp_path, m)
    owner, pack = owner_says(run), str(r.supervision_questions(run, ["A2"]))
    assert "no time off recorded" in owner and "no time off is recorded" in pack
    assert "Is a break planned?" in owner
    assert "Nothing is flagged" not in pack


def test_a_supervisee_with_no_flag_leaves_the_pack_saying_so(tmp_path):
    run = build(tmp_path)
    assert "Nothing is flagged" in str(r.supervision_questions(run, ["A2"]))


def test_a_new_hire_sees_their_ramp_not_the_median_and_no_caseload_question(tmp_path):
    run = build(tmp_path)
    ramp_said = str(r.own_ramp_text(run, "H1"))
    assert "averaged 50% over 3 of your first 26 weeks (50% in this period)" in ramp_said
    assert "earlier hires averaged 50% in the same weeks" in ramp_said
    assert "as the practice's earlier hires did" in ramp_said
    qs = str(r.questions_to_explore(run, "H1"))
    assert "caseload what you want" not in qs and "Is the caseload" not in qs
    assert "Utilization is" not in qs and "Your utilization is" not in qs
    # the self-view's table: no practice median beside a new hire's utilization
    t = r.own_metrics_table(run, "H1").data
    util = t[t["Figure"] == "Utilization"].iloc[0]
    assert util["You"] == "50%" and "first weeks" in util["Practice median"]
    assert "81%" not in util.to_string()
    # someone who is not a new hire keeps the median, and gets no ramp words
    t = r.own_metrics_table(run, "L1").data
    assert t.loc[t["Figure"] == "Utilization", "Practice median"].iloc[0] == "81%"
    assert str(r.own_ramp_text(run, "L1")) == ""


def test_a_slow_new_hire_is_asked_about_their_first_weeks(tmp_path):
    run = build(tmp_path)
    qs = str(r.questions_to_explore(run, "H2"))
    assert "filling more slowly than earlier hires' did (30% against 50%)" in qs
    assert "Is the caseload what you want" not in qs and "caseload has grown" not in qs
    assert "more slowly than the practice's earlier hires did" in str(r.own_ramp_text(run, "H2"))
    # the owner's page knows they are ramping: the low figure is context, not a question
    owner = owner_says(run)
    assert "Utilization is 30%" not in owner
    assert "which explains ▼ utilization 30%" in owner


def test_going_well_gives_reasons_from_the_data(tmp_path):
    said = str(r.going_well(build(tmp_path), "L1"))
    assert "98% of your notes were signed within 72 hours" in said
    assert "standard of 90%" in said
    # the alert level as the legend and the threshold column write it (one decimal)
    assert "3.0% of your appointments were missed" in said and "alert level of 10.0%" in said
    for other in ("Lou", "Ava", "81%"):  # no one else's figures, no practice median
        assert other not in said


def test_going_well_says_plainly_when_nothing_qualifies(tmp_path):
    said = str(r.going_well(build(tmp_path), "L2"))  # 92% notes, 8% missed: inside, not well
    assert said.startswith("Nothing in this period's figures stands out")
    assert "- " not in said


def test_going_well_counts_a_lifted_flag_and_a_better_figure_than_before(tmp_path):
    run = build(tmp_path)
    run.tables["changes"] = pd.DataFrame({
        "clinician_id": ["L2"], "metric": ["unsigned_overdue_7d"], "previous": [3],
        "current": [0], "previous_flag": [True], "current_flag": [False],
        "change": ["no longer flagged"], "flag": ["flag_unsigned_overdue"]})
    base = {"clinician_id": "L2", "run_id": "q", "definitions_changed": False,
            "sessions_attended": 100, "utilization": 0.8, "unsigned_overdue_7d": 0,
            "active_clients": 20, "caseload": 20}
    run.tables["history"] = pd.DataFrame([
        {**base, "period_start": "2026-05-01", "period_end": "2026-08-01", "this_run": False,
         "compared_with": True, "notes_within_72h": 0.85, "non_attendance_rate": 0.081},
        {**base, "period_start": "2026-08-01", "period_end": "2026-11-01", "this_run": True,
         "compared_with": False, "notes_within_72h": 0.92, "non_attendance_rate": 0.08}])
    said = str(r.going_well(run, "L2"))
    assert ("The flag for notes unsigned for more than 7 days (at least 3, and at least 2.0% "
            "of notes due) has lifted: 3 notes in") in said
    assert "More of your notes were signed within 72 hours: 92% now, 85% in" in said
    assert "Fewer of your appointments were missed" not in said  # 8.1% to 8.0%: not clearly
    # on other definitions the earlier run is not like for like: no "better than before"
    run.tables["history"]["definitions_changed"] = True
    assert "More of your notes" not in str(r.going_well(run, "L2"))


def test_a_new_hires_figures_leave_the_practice_spread_of_utilization_out(tmp_path):
    run = build(tmp_path)
    hire, other = r.distribution_figure(run, "H1"), r.distribution_figure(run, "L1")
    assert len(hire.axes) == 2 and "utilization" not in hire.alt.lower()
    assert len(other.axes) == 3 and "utilization 85%" in other.alt.lower()
    # their own ramp figure: them alone, as "You", with the earlier hires' median
    fig = r.ramp_figure(run, only="H1")
    assert [ax.get_title(loc="left").split("\n")[0] for ax in fig.axes] == ["You"]
    assert "Hal" not in fig.alt and "Hana" not in fig.alt
    assert "50% on average over 3 weeks (earlier hires 50% in the same weeks)" in fig.alt
    assert str(r.ramp_figure(run, only="L1")) == ""


def test_a_ramping_hire_is_context_on_every_page_not_a_question(tmp_path):
    """H2 ramps more slowly (30% against 50%), with low utilization and a growing caseload:
    the owner's list gives it as context, and neither the pack nor H2's own page asks about
    the caseload; a hire past the first ramp weeks is not 'in their first weeks'."""
    run = build(tmp_path)
    pack = str(r.supervision_questions(run, ["H2"]))
    assert "Utilization is" not in pack and "caseload" not in pack
    # the supervisor is asked what the hire is asked: how to help the first weeks fill
    assert ("Hana Slow: Their first weeks are filling more slowly than earlier hires' did "
            "(30% against 50%). What would help them") in pack
    assert "filling more slowly" not in str(r.supervision_questions(run, ["H1"]))
    own = str(r.questions_to_explore(run, "H2"))
    assert "Is the caseload what you want" not in own and "caseload has grown" not in own
    # the same hire, started a year before the period: past ramp.weeks (26), no ramp frame
    run.tables["ramp"] = run.tables["ramp"].assign(start_date=pd.Timestamp("2025-07-07"))
    run.tables.update(derived(run.tables, run.config))
    assert new_hire(run, "H2") is None
    assert "Utilization is 30%" in str(r.supervision_questions(run, ["H2"]))


def test_item9_answers_come_escalations_first_then_oldest_first():
    """One row per answer (a client answering twice is listed twice): those to escalate
    first, then the others, each group from the oldest; the escalation level is the table's."""
    from perfkit.report.run_folder import item9_rows

    rows = [("X", "2026-10-10", 1, False), ("Y", "2026-09-01", 3, True),
            ("Z", "2026-10-20", 2, True), ("W", "2026-10-25", 1, False),
            ("X", "2026-08-10", 1, False), ("Z", "2026-08-20", 1, False)]
    t = pd.DataFrame(rows, columns=["client_id", "date", "response", "escalate"])
    t["response_words"] = t["response"].map({1: "several days", 2: "more than half the days",
                                             3: "nearly every day"})
    t = t.assign(clinician_id="C1", session_start=t["date"], session_start_from="date only")
    out, followup = item9_rows(t)
    assert out["Client"].tolist() == ["Y", "Z", "X", "Z", "X", "W"]
    assert out["Session"].tolist() == [
        "01 Sep 2026 (no time in the export)", "20 Oct 2026 (no time in the export)",
        "10 Aug 2026 (no time in the export)", "20 Aug 2026 (no time in the export)",
        "10 Oct 2026 (no time in the export)", "25 Oct 2026 (no time in the export)"]
    assert out["Escalate"].tolist() == ["Yes", "Yes", "No", "No", "No", "No"]
    assert not followup


def test_a_large_practice_lists_the_associates_behind_their_rule(tmp_path):
    """Above report.large_practice: a table of the associates behind their rule (or not
    known), the others counted (on track, or an incomplete history with no shortfall), every
    associate in the table that opens below; still hours and the rule only."""
    from bs4 import BeautifulSoup

    from perfkit.config import ReportConfig

    run = build(tmp_path)
    run.config = run.config.model_copy(update={"report": ReportConfig(large_practice=2)})
    run.tables["roster"] = roster(pd.DataFrame({"clinician_id": list(NAMES),  # no team column
                                                "name": list(NAMES.values())}))
    shown = r.associates_compliance(run)
    soup = BeautifulSoup(shown.to_html(), "html.parser")
    short = next(tb for tb in soup.find_all("table") if tb.find_parent("details") is None)
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in short.tbody.find_all("tr")]
    assert [row[0] for row in rows] == [NAMES["A1"]] and "behind its rule" in rows[0][2]
    text = soup.get_text(" ")
    assert "1 associate has something to look at" in text
    assert "the other 2 are on track, or show no shortfall in the records there are" in text
    assert len(soup.find("details").tbody.find_all("tr")) == 3
    assert SECRET not in text and CLIENT not in text and "B&P Code" not in text


def test_the_spread_of_other_clinicians_never_holds_the_reader(tmp_path):
    """The self-view's spread: grey dots for the other clinicians only (one fewer than the
    practice), the reader once, as "you"; the words' range is the others' range."""
    run = build(tmp_path)
    m = run.table("clinician_metrics")
    fig = r.distribution_figure(run, "L1")
    ax = fig.axes[0]  # utilization
    grey, you = ax.collections[0], ax.collections[1]
    others = m.loc[m["clinician_id"] != "L1", "utilization"].to_numpy(dtype=float)
    assert len(grey.get_offsets()) == len(m) - 1
    assert sorted(grey.get_offsets()[:, 0]) == sorted(others)
    assert list(you.get_offsets()[:, 0]) == list(
        m.loc[m["clinician_id"] == "L1", "utilization"])
    low, high = r.format.pct(others.min()), r.format.pct(others.max())
    assert f"(the other clinicians from {low} to {high})" in fig.alt
