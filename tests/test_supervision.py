"""Licensure ledger, compliance, goals, competency reviews and continuing education on small
hand-built practices, against figures computed by hand for each shipped rule set.

Texas LPC Associate (22 TAC 681.92), clinician T, period July-September 2026, as_of 2026-10-01:

    month  direct (attended)        supervision                     counted (group <= individual)
    June   06-10 60 min -> 1 h      06-15 individual 4 h            (before the period)
    July   07-06, 07-07 120 min     07-08 individual 3 h,           3 + min(2, 3) = 5 >= 4: met
           -> 4 h                   07-09 group 2 h
    Aug    08-03 60 min -> 1 h      08-05 individual 1 h,           1 + min(4, 1) = 2 < 4: missed
           (08-04 no-show: none)    08-06 group 4 h
    Sept   none                     09-10 triadic 1 h               no direct hours: not assessed
    periods assessed 2, compliant 1; direct 6, individual 9 (triadic counts as individual),
    group 6, total 21. Pace: the 13 weeks from 07-02: direct 5, supervision 11 -> direct 5/13
    a week, total 16/13 a week. Remaining: total 2979 -> 2979 x 13/16 weeks; direct 1494 ->
    1494 x 13/5 weeks (the later); 18 months from 06-10 is earlier still.

California ASW -> LCSW, clinician K, period 2026-09-07 .. 2026-10-05 (four Monday weeks):

    week    direct   supervision                 units   needed (1, +1 above 10 h)   met
    08-31    4 h     triadic 1 h                  1       1  (before the period)      yes
    09-07   12 h     individual 1 h               1       2                           no
    09-14    8 h     group 2 h                    1       1                           yes
    09-21   11 h     individual 1 h + group 2 h   2       2                           yes
    09-28   10 h     none                         0       1  (10 is not above 10)     no
    assessed 4, compliant 2; direct 45, individual 3, group 4, total 52; supervised weeks 4
    (direct hours and some supervision). Pace: total 52/13, supervised weeks 4/13 a week.
    Remaining: total 2948 -> 737 weeks (the later); weeks 100 -> 325 weeks.

Virginia LPC residency, clinician V, carried-in experience since 2025-01-01 (1,900 direct,
1,000 other, 95 individual and 90 group supervision hours), records in September 2026: direct
2 + 1 h, individual 1 h, group 2 h. Totals: direct 1903, individual 96, group 92, total 3091.
No per-period rule. Pace (13 weeks): direct 3/13, supervision 3/13, individual 1/13, total
6/13. Remaining: total 309 -> 669.5 weeks (the latest), direct 97 -> 420.3, supervision 12 ->
52, individual 4 -> 52; 21 months from 2025-01-01 has passed. 669.5 weeks is after the
60-month limit (2030-01-01). Supervision is on the rule's pace: 188 >= 200 x 3091/3400.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import perfkit as pk
from perfkit import supervision as sv
from perfkit.config import ConfigError
from perfkit.demo import bundled_data_dir
from perfkit.prepared import Prepared
from perfkit.report.ledger_words import licensure_note, reasons_note
from perfkit.tables import development_tables

TZ = "America/Chicago"


def make_data(clinicians, appts=(), sup=(), goals=None, reviews=None, ce=None):
    clin = pd.DataFrame(clinicians, columns=["clinician_id", "name", "license_status",
                                             "license_type", "supervisor_id", "start_date",
                                             "end_date", "licensure_rule"])
    for c in ("start_date", "end_date"):
        clin[c] = pd.to_datetime(clin[c])
    a = pd.DataFrame(list(appts), columns=["clinician_id", "start", "duration_minutes",
                                           "status"])
    a["start"] = pd.to_datetime(a["start"]).dt.tz_localize(TZ) if len(a) else \
        pd.Series(dtype=f"datetime64[us, {TZ}]")
    s = pd.DataFrame(list(sup), columns=["supervisee_id", "supervisor_id", "date", "minutes",
                                         "format"])
    s["date"] = pd.to_datetime(s["date"])
    tables = {"clinicians": clin, "appointments": a, "supervision": s}
    for name, frame in (("goals", goals), ("reviews", reviews), ("ce", ce)):
        if frame is not None:
            tables[name] = frame
    return Prepared(tables, {}, {"timezone": TZ})


def cfg(start, end, **supervision):
    return pk.load_config(period_start=start, period_end=end, supervision=supervision)


def weeks_after(day: str, weeks: float) -> pd.Timestamp:
    return (pd.Timestamp(day) + pd.Timedelta(weeks=weeks)).normalize()


# --------------------------------------------------------------------------------------------
# Texas
# --------------------------------------------------------------------------------------------

TX_CLIN = [("T", "Tess", "pre-licensed", "LPC-Associate", "S", "2026-06-01", None,
            "tx_lpc_associate"),
           ("S", "Sam", "licensed", "LPC", None, "2020-01-01", None, None)]
TX_APPTS = [("T", "2026-06-10 10:00", 60, "attended"), ("T", "2026-07-06 10:00", 120, "attended"),
            ("T", "2026-07-07 10:00", 120, "attended"), ("T", "2026-08-03 10:00", 60, "attended"),
            ("T", "2026-08-04 10:00", 60, "no_show"), ("S", "2026-08-04 10:00", 60, "attended")]
TX_SUP = [("T", "S", "2026-06-15", 240, "individual"), ("T", "S", "2026-07-08", 180, "individual"),
          ("T", "S", "2026-07-09", 120, "group"), ("T", "S", "2026-08-05", 60, "individual"),
          ("T", "S", "2026-08-06", 240, "group"), ("T", "S", "2026-09-10", 60, "triadic")]


@pytest.fixture
def tx():
    return make_data(TX_CLIN, TX_APPTS, TX_SUP), cfg("2026-07-01", "2026-10-01")


def test_texas_monthly_compliance(tx):
    data, c = tx
    p = sv.supervision_periods(data, c).set_index("period_start")
    assert list(p.index.strftime("%Y-%m")) == ["2026-06", "2026-07", "2026-08", "2026-09"]
    assert p["period"].eq("month").all() and p["unit"].eq("hours").all()
    assert p.loc["2026-07-01", "counted"] == 5 and p.loc["2026-07-01", "compliant"]
    assert p.loc["2026-08-01", "counted"] == 2 and not p.loc["2026-08-01", "compliant"]
    assert not p.loc["2026-09-01", "assessed"]  # supervision but no client hours
    assert p["required"].eq(4).all()
    assert list(p["in_reporting_period"]) == [False, True, True, True]


def test_texas_ledger(tx):
    data, c = tx
    row = sv.ledger(data, c).set_index("clinician_id").loc["T"]
    assert row["direct_hours"] == 6
    assert row["supervision_hours_individual"] == 9 and row["supervision_hours_group"] == 6
    assert row["total_hours"] == 21
    assert (row["periods_assessed"], row["periods_compliant"]) == (2, 1)
    assert row["behind_on_supervision"]
    assert row["pace_direct_per_week"] == round(5 / 13, 2)
    assert row["pace_total_per_week"] == round(16 / 13, 2)
    assert row["projected_completion"] == weeks_after("2026-10-01", 1494 * 13 / 5)
    assert row["experience_since"] == pd.Timestamp("2026-06-10")
    assert row["group_share"] == round(6 / 15, 3)


def test_the_ledger_lists_only_pre_licensed_clinicians(tx):
    data, c = tx
    assert list(sv.ledger(data, c)["clinician_id"]) == ["T"]
    assert list(sv.ledger(data, c).columns[:8]) == sv.LEDGER_COLUMNS


# --------------------------------------------------------------------------------------------
# California
# --------------------------------------------------------------------------------------------

CA_CLIN = [("K", "Kim", "pre-licensed", "ASW", "S", "2026-08-31", None, "ca_asw_lcsw"),
           ("S", "Sam", "licensed", "LCSW", None, "2020-01-01", None, None)]
CA_APPTS = [("K", "2026-09-01 09:00", 240, "attended"),
            *[("K", f"2026-09-{d:02d} 09:00", 240, "attended") for d in (8, 9, 10)],
            ("K", "2026-09-15 09:00", 240, "attended"), ("K", "2026-09-16 09:00", 240, "attended"),
            ("K", "2026-09-22 09:00", 240, "attended"), ("K", "2026-09-23 09:00", 240, "attended"),
            ("K", "2026-09-24 09:00", 180, "attended"),
            ("K", "2026-09-29 09:00", 240, "attended"), ("K", "2026-09-30 09:00", 240, "attended"),
            ("K", "2026-10-01 09:00", 120, "attended")]
CA_SUP = [("K", "S", "2026-09-02", 60, "triadic"), ("K", "S", "2026-09-09", 60, "individual"),
          ("K", "S", "2026-09-17", 120, "group"), ("K", "S", "2026-09-22", 60, "individual"),
          ("K", "S", "2026-09-25", 120, "group")]


def test_california_weekly_units():
    data, c = make_data(CA_CLIN, CA_APPTS, CA_SUP), cfg("2026-09-07", "2026-10-05")
    p = sv.supervision_periods(data, c).set_index("period_start")
    assert list(p.index.strftime("%m-%d")) == ["08-31", "09-07", "09-14", "09-21", "09-28"]
    assert list(p["direct_hours"]) == [4, 12, 8, 11, 10]
    assert list(p["unit"].unique()) == ["units"]
    assert list(p["counted"]) == [1, 1, 1, 2, 0]
    assert list(p["required"]) == [1, 2, 1, 2, 1]
    assert list(p["compliant"]) == [True, False, True, True, False]
    row = sv.ledger(data, c).set_index("clinician_id").loc["K"]
    assert (row["periods_assessed"], row["periods_compliant"]) == (4, 2)
    assert row["direct_hours"] == 45 and row["total_hours"] == 52
    assert (row["supervision_hours_individual"], row["supervision_hours_group"]) == (3, 4)
    assert row["supervised_weeks"] == 4 and row["weeks_required"] == 104
    assert row["projected_completion"] == weeks_after("2026-10-05", 737)
    assert row["behind_on_supervision"]


# --------------------------------------------------------------------------------------------
# Virginia, with carried-in experience
# --------------------------------------------------------------------------------------------

VA_CLIN = [("V", "Val", "pre-licensed", "LPC-Resident", "S", "2025-01-01", None,
            "va_lpc_residency"),
           ("S", "Sam", "licensed", "LPC", None, "2020-01-01", None, None)]
VA_APPTS = [("V", "2026-09-01 09:00", 120, "attended"), ("V", "2026-09-02 09:00", 60, "attended")]
VA_SUP = [("V", "S", "2026-09-03", 60, "individual"), ("V", "S", "2026-09-04", 120, "group")]
CARRIED = {"V": {"since": "2025-01-01", "direct_hours": 1900, "other_hours": 1000,
                 "supervision_hours_individual": 95, "supervision_hours_group": 90}}


def test_virginia_cumulative_ledger_with_carried_in_hours():
    data = make_data(VA_CLIN, VA_APPTS, VA_SUP)
    c = cfg("2026-07-01", "2026-10-01", carried_in=CARRIED)
    assert sv.supervision_periods(data, c).empty  # the rule has no per-period minimum
    row = sv.ledger(data, c).set_index("clinician_id").loc["V"]
    assert row["direct_hours"] == 1903 and row["total_hours"] == 3091
    assert (row["supervision_hours_individual"], row["supervision_hours_group"]) == (96, 92)
    assert pd.isna(row["periods_assessed"]) and pd.isna(row["periods_compliant"])
    assert row["projected_completion"] == weeks_after("2026-10-01", 309 * 13 / 6)
    assert "after the 60-month limit" in reasons_note(row["reasons"])
    assert not row["behind_on_supervision"]
    assert row["months_so_far"] == 21.0


def test_virginia_supervision_behind_the_rules_pace():
    """Without the carried-in supervision: total 1903 + 3 + 1000 = 2906 hours, so the rule's pace
    needs 200 x 2906/3400 = 170.9 supervision hours; there are 3."""
    data = make_data(VA_CLIN, VA_APPTS, VA_SUP)
    carried = {"V": {**CARRIED["V"], "supervision_hours_individual": 0,
                     "supervision_hours_group": 0}}
    row = sv.ledger(data, cfg("2026-07-01", "2026-10-01", carried_in=carried)).iloc[0]
    assert row["behind_on_supervision"]
    assert "3 supervision hours where the rule's pace needs 171" in reasons_note(row["reasons"])


def test_no_pace_means_no_projection_and_rules_are_named():
    clin = [("X", "Xi", "pre-licensed", "ASW", "S", "2026-01-01", None, "ca_asw_lcsw"),
            ("Y", "Yu", "pre-licensed", "ASW", "S", "2026-01-01", None, "nv_made_up"),
            ("Z", "Zo", "pre-licensed", "ASW", "S", "2026-01-01", None, None)]
    led = sv.ledger(make_data(clin, [("X", "2026-01-05 09:00", 60, "attended")]),
                    cfg("2026-07-01", "2026-10-01")).set_index("clinician_id")
    assert pd.isna(led.loc["X", "projected_completion"])
    note = {c: reasons_note(led.loc[c, "reasons"]) for c in led.index}
    assert "no total hours, supervised weeks in the last 13 weeks" in note["X"]
    assert [r["code"] for r in json.loads(led.loc["X", "reasons"])] == ["no_recent_pace"]
    assert note["Y"].startswith("unknown licensure rule 'nv_made_up'")
    # Z has no rule on the roster: an ASW in the demo's states (CA among them) takes CA's
    assert led.loc["Z", "rule"] == "ca_asw_lcsw"
    assert note["Z"].startswith("licensure rule ca_asw_lcsw taken from the license "
                                           "type ASW and the state CA; ")


def test_a_default_licensure_rule_only_from_the_practices_own_state():
    """No licensure_rule on the roster: taken when the license type and the practice's state
    fit exactly one rule (LPC-Associate, written 'lpc associate', in TX: tx_lpc_associate);
    an ASW in Texas gets none (the ASW rule is California's), nor anyone in a practice whose
    state is not set; a rule on the roster is kept whatever the state."""
    clin = [("A", "a", "pre-licensed", "lpc associate", "S", "2026-01-01", None, None),
            ("B", "b", "pre-licensed", "ASW", "S", "2026-01-01", None, None),
            ("C", "c", "pre-licensed", "ASW", "S", "2026-01-01", None, "ca_asw_lcsw"),
            ("D", "d", "pre-licensed", None, "S", "2026-01-01", None, None),
            ("S", "s", "licensed", "LPC", None, "2020-01-01", None, None)]
    data = make_data(clin)
    rules = sv.load_rules(pk.load_config())
    tx = pk.load_config(state="TX")
    got = sv.licensure_rules_for(data.clinicians, tx, rules).set_index("clinician_id")
    assert list(got.index) == ["A", "B", "C", "D"]  # the licensed S has none to take
    assert got["licensure_rule"].to_dict() == {"A": "tx_lpc_associate", "B": "", "C":
                                               "ca_asw_lcsw", "D": ""}
    assert got["taken"].to_dict() == {"A": "default", "B": "none", "C": "roster", "D": "none"}
    said = got["reason"].map(licensure_note)
    assert said["B"] == ("no licensure rule set, and none is taken: no licensure rule of TX is "
                         "for the license type ASW")
    assert said["D"].endswith("the roster gives no license type to choose one by")
    assert json.loads(got.loc["A", "reason"]) == {
        "code": "rule_by_default", "rule": "tx_lpc_associate", "license_type": "lpc associate",
        "state": "TX"}
    assert got.loc["C", "reason"] == "" and said["C"] == ""
    unset = sv.licensure_rules_for(data.clinicians, pk.load_config(state=""), rules)
    assert unset.set_index("clinician_id")["licensure_rule"].to_dict() == {
        "A": "", "B": "", "C": "ca_asw_lcsw", "D": ""}
    assert licensure_note(unset.loc[0, "reason"]).endswith("the practice's state is not set "
                                                           "(state in the "
                                         "parameters)")
    led = sv.ledger(data, tx.with_period(pd.Timestamp("2026-07-01").date(),
                                         pd.Timestamp("2026-10-01").date()))
    assert led.set_index("clinician_id")["rule"].to_dict() == {
        "A": "tx_lpc_associate", "B": "", "C": "ca_asw_lcsw", "D": ""}


def test_a_ce_requirement_of_another_state_is_not_taken():
    """The shipped LCSW requirement is California's: an LCSW of a Texas practice gets no
    figures and the sentence why; the Texas LPC requirement applies there; a practice's own
    requirement without a state applies wherever it is set."""
    clin = [("L", "l", "licensed", "LCSW", None, "2020-01-01", None, None),
            ("P", "p", "licensed", "LPC", None, "2020-01-01", None, None)]
    data = make_data(clin)
    tx = pk.load_config(period_start="2026-07-01", period_end="2026-10-01", state="TX")
    t = sv.continuing_education(data, tx).set_index("clinician_id")
    assert pd.isna(t.loc["L", "required_hours"]) and t.loc["P", "required_hours"] == 24
    assert json.loads(t.loc["L", "reasons"]) == [{
        "code": "ce_requirement_of_another_state", "license_type": "LCSW", "state": "CA",
        "source": "California Business and Professions Code §4996.22",
        "practice_states": ["TX"]}]
    assert reasons_note(t.loc["L", "reasons"]) == (
        "the continuing-education requirement set for LCSW is CA's (California Business and "
        "Professions Code §4996.22) and the practice's state is TX: set your board's under "
        "supervision.ce_requirements")
    from perfkit.report.supervisor import ce_words
    assert ce_words(t.loc["L"]) == ("none for the practice's state: the requirement set for "
                                    "this licence is another state's board's")
    own = pk.load_config(period_start="2026-07-01", period_end="2026-10-01", state="TX",
                         supervision={"ce_requirements": {"LCSW": {
                             "hours": 30, "cycle_years": 2, "source": "our board"}}})
    t = sv.continuing_education(data, own).set_index("clinician_id")
    assert t.loc["L", "required_hours"] == 30 and pd.isna(t.loc["P", "required_hours"])


def test_a_practice_adds_its_own_rule(tmp_path):
    (tmp_path / "nv.yaml").write_text(
        "id: nv_made_up\nname: Test state\ncitation: a test\n"
        "requirements: {total_hours: 100}\ncompliance: {period: week, "
        "min_supervision_hours: 1}\n")
    c = pk.load_config(period_start="2026-07-01", period_end="2026-10-01",
                       supervision={"rules_dir": tmp_path})
    rules = sv.load_rules(c)
    assert {"tx_lpc_associate", "ca_asw_lcsw", "va_lpc_residency", "nv_made_up"} <= set(rules)
    (tmp_path / "bad.yaml").write_text("id: bad\nname: x\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        sv.load_rules(c)


def test_every_shipped_rule_cites_its_source():
    rules = sv.load_rules(pk.load_config())
    assert set(rules) == {"tx_lpc_associate", "ca_asw_lcsw", "va_lpc_residency"}
    assert rules["tx_lpc_associate"].requirements.total_hours == 3000
    assert rules["tx_lpc_associate"].compliance.max_group_share == 0.5
    assert rules["va_lpc_residency"].requirements.supervision_individual_hours == 100
    assert rules["ca_asw_lcsw"].compliance.extra_unit_above_direct_hours == 10
    assert all("http" in r.citation or "Code" in r.citation for r in rules.values())


# --------------------------------------------------------------------------------------------
# Goals, reviews, continuing education (as_of 2026-10-01)
# --------------------------------------------------------------------------------------------

D = pd.to_datetime


def test_goals_not_reviewed_within_the_window_are_listed():
    goals = pd.DataFrame({
        "clinician_id": ["A"] * 6, "goal_id": [f"G{i}" for i in range(1, 7)],
        "description": list("abcdef"),
        "set_on": D(["2026-01-01", "2026-05-01", "2026-01-01", "2026-08-01", "2026-11-01",
                     "2026-01-01"]),
        "target_date": D(["2026-09-01", "2027-01-01", None, None, None, None]),
        "status": ["open", "revised", "met", "open", "open", "open"],
        "reviewed_on": D(["2026-06-01", "2026-09-01", None, None, None, "2026-12-01"])})
    clin = [("A", "Al", "licensed", "LCSW", None, "2020-01-01", None, None)]
    g = sv.goals_status(make_data(clin, goals=goals), cfg("2026-07-01", "2026-10-01")) \
        .set_index("goal_id")
    assert list(g.index) == ["G1", "G2", "G3", "G4", "G6"]  # G5 is set after as_of
    assert list(g["days_since_review"]) == [122, 30, 273, 61, 273]
    assert list(g["review_overdue"]) == [True, False, False, False, True]
    assert list(g["past_target"]) == [True, False, False, False, False]


def test_competency_reviews_latest_change_and_overdue():
    rows = [("L1", "2025-03-01", "knowledge", 3), ("L1", "2026-03-01", "knowledge", 4),
            ("L1", "2025-03-01", "skills", 2), ("L1", "2026-11-01", "knowledge", 1),
            *[("L2", "2025-06-01", d, 4) for d in sv.DOMAINS]]
    reviews = pd.DataFrame(rows, columns=["clinician_id", "review_date", "domain", "rating"])
    reviews["review_date"] = D(reviews["review_date"])
    reviews["reviewer_id"] = "S"
    reviews["evidence"] = [f"observed {i}" for i in range(len(reviews))]
    clin = [("L1", "a", "licensed", "LCSW", None, "2020-01-01", None, None),
            ("L2", "b", "licensed", "LCSW", None, "2020-01-01", None, None),
            ("L3", "c", "licensed", "LCSW", None, "2026-01-01", None, None),
            ("L4", "d", "licensed", "LCSW", None, "2024-01-01", None, None),
            ("P", "e", "pre-licensed", "ASW", "L1", "2026-01-01", None, "ca_asw_lcsw")]
    r = sv.competency_reviews(make_data(clin, reviews=reviews), cfg("2026-07-01", "2026-10-01"))
    r = r.set_index(["clinician_id", "domain"])
    assert set(r.index.get_level_values(0)) == {"L1", "L2", "L3", "L4"}
    k = r.loc[("L1", "knowledge")]
    assert (k["rating"], k["previous_rating"], k["change"]) == (4, 3, 1)
    assert k["evidence"] == "observed 1"
    assert pd.isna(r.loc[("L1", "skills"), "previous_rating"])
    assert pd.isna(r.loc[("L1", "values"), "rating"])
    overdue = r.groupby(level=0)["review_overdue"].first()
    assert overdue.to_dict() == {"L1": False, "L2": True, "L3": False, "L4": True}


def test_continuing_education_in_the_current_cycle():
    clin = [("C", "c", "licensed", "LCSW", None, "2020-01-01", None, None),
            ("D", "d", "licensed", "LPC", None, "2020-01-01", None, None),
            ("E", "e", "licensed", "PsyD", None, "2020-01-01", None, None)]
    ce = pd.DataFrame({"clinician_id": ["C", "C", "C", "C", "D", "D"],
                       "completed_on": D(["2024-12-31", "2025-05-01", "2026-09-30", "2026-10-01",
                                          "2026-03-14", "2026-04-01"]),
                       "hours": [3, 10, 6, 5, 5, 24]})
    c = cfg("2026-07-01", "2026-10-01", ce_cycle_starts={"D": "2026-03-15"})
    t = sv.continuing_education(make_data(clin, ce=ce), c).set_index("clinician_id")
    assert t.loc["C", "hours"] == 16 and t.loc["C", "required_hours"] == 36
    assert t.loc["C", "cycle_start"] == pd.Timestamp("2025-01-01")
    assert t.loc["C", "cycle_end"] == pd.Timestamp("2027-01-01")
    assert t.loc["C", "expected_by_now"] == round(36 * 638 / 730, 1)
    assert t.loc["C", "behind_pace"] and t.loc["C", "due_soon"]  # 92 days left, 20 h to go
    assert t.loc["D", "cycle_start"] == pd.Timestamp("2026-03-15")
    assert t.loc["D", "hours"] == 24 and t.loc["D", "remaining_hours"] == 0
    assert not t.loc["D", "behind_pace"] and not t.loc["D", "due_soon"]
    assert pd.isna(t.loc["E", "required_hours"])
    assert reasons_note(t.loc["E", "reasons"]) == (
        "no continuing-education requirement set for 'PsyD'")
    assert json.loads(t.loc["C", "reasons"])[0]["code"] == "ce_requirement"


def test_supervisors_and_supervisees():
    data = make_data(TX_CLIN + [("U", "Uma", "pre-licensed", "LPC-Associate", "S", "2020-01-01",
                                 "2026-05-01", "tx_lpc_associate")])
    c = cfg("2026-07-01", "2026-10-01")
    assert sv.supervisors(data.clinicians, c) == ["S"]
    assert sv.supervisees(data.clinicians, c, "S") == ["T"]  # U left before the period
    pairs = sv.supervision_pairs(data.clinicians, c)
    assert pairs.to_dict("records") == [{"supervisor_id": "S", "clinician_id": "T"}]


def test_development_tables_on_the_demo_show_one_behind_and_others_on_track():
    data = pk.load_prepared()
    t = development_tables(data, pk.load_config())
    led = t["supervision_ledger"].set_index("clinician_id")
    behind = led.index[led["behind_on_supervision"].astype(bool)].tolist()
    truth = json.loads((bundled_data_dir() / "demo_truth.json").read_text())
    assert behind == [truth["behind_on_supervision"]]
    on_track = led[~led["behind_on_supervision"].astype(bool)]
    assert len(on_track) >= 1
    assert (on_track["periods_compliant"].dropna() == on_track["periods_assessed"].dropna()).all()


def test_a_practice_without_the_optional_tables_still_gets_its_ledger():
    """No supervision, goals, reviews or CE files: the ledger counts client hours, and the
    supervision it cannot see is unknown (empty, with a note), never zero or "behind"; every
    other table is empty with its columns."""
    clin = [("T", "Tess", "pre-licensed", "LPC-Associate", "S", "2026-06-01", None,
             "tx_lpc_associate"), ("S", "Sam", "licensed", "LPC", None, "2020-01-01", None, None)]
    data = make_data(clin, [("T", "2026-07-06 10:00", 120, "attended")])
    empty = data.tables["supervision"].iloc[0:0]
    del data.tables["supervision"]
    t = development_tables(data, cfg("2026-07-01", "2026-10-01"))
    row = t["supervision_ledger"].iloc[0]
    assert row["direct_hours"] == 2 and pd.isna(row["supervision_hours_individual"])
    assert pd.isna(row["periods_assessed"]) and pd.isna(row["periods_compliant"])
    assert pd.isna(row["behind_on_supervision"]) and pd.isna(row["total_hours"])
    assert reasons_note(row["reasons"]).startswith("no supervision records were provided")
    assert t["supervision_periods"].empty
    # a supervision table that was provided and holds no meeting: none, and behind
    data.tables["supervision"] = empty
    row = development_tables(data, cfg("2026-07-01", "2026-10-01"))["supervision_ledger"].iloc[0]
    assert (row["direct_hours"], row["supervision_hours_individual"]) == (2, 0)
    assert (row["periods_assessed"], row["periods_compliant"]) == (1, 0)
    assert row["behind_on_supervision"]
    assert t["goals"].empty and "review_overdue" in t["goals"]
    assert list(t["reviews"]["clinician_id"].unique()) == ["S"]  # licensed: never reviewed
    # no review records provided: whether a review is due is unknown, not "overdue"
    assert t["reviews"]["review_overdue"].isna().all()
    # no CE log provided: hours unknown (never "0 of 24"), with the reason
    assert set(t["ce"]["clinician_id"]) == {"S", "T"}
    s_ce = t["ce"].set_index("clinician_id").loc["S"]
    assert pd.isna(s_ce["hours"]) and pd.isna(s_ce["behind_pace"]) and s_ce["required_hours"] == 24
    assert json.loads(s_ce["reasons"]) == [{"code": "no_ce_records"}]
    assert reasons_note(s_ce["reasons"]) == "no continuing-education records were provided"
    # the same tables provided but empty: nothing recorded, so due and behind
    data.tables["reviews"] = pd.DataFrame({
        "clinician_id": pd.Series(dtype=str), "review_date": pd.Series(dtype="datetime64[us]"),
        "reviewer_id": pd.Series(dtype=str), "domain": pd.Series(dtype=str),
        "rating": pd.Series(dtype=float), "evidence": pd.Series(dtype=str)})
    data.tables["ce"] = pd.DataFrame({"clinician_id": pd.Series(dtype=str),
                                      "completed_on": pd.Series(dtype="datetime64[us]"),
                                      "hours": pd.Series(dtype=float)})
    t = development_tables(data, cfg("2026-07-01", "2026-10-01"))
    assert t["reviews"]["review_overdue"].all() and len(t["reviews"]) == 4  # since 2020
    s_ce = t["ce"].set_index("clinician_id").loc["S"]
    assert s_ce["hours"] == 0 and s_ce["remaining_hours"] == 24


def test_missing_rule_folders_are_said_not_skipped(tmp_path, monkeypatch):
    """A practice's rules_dir that is not a folder is a sentence; shipped rules missing from an
    installation stop the run instead of calling every associate's rule unknown."""
    c = pk.load_config(period_start="2026-07-01", period_end="2026-10-01",
                       supervision={"rules_dir": tmp_path / "nowhere"})
    with pytest.raises(ConfigError, match="nowhere is not a folder"):
        sv.load_rules(c)
    monkeypatch.setattr(sv, "shipped_rules_dir", lambda: tmp_path)
    with pytest.raises(RuntimeError, match="licensure rule files are missing"):
        sv.load_rules(pk.load_config())


def test_renewals_join_each_licence_to_its_latest_review_and_whether_one_is_due():
    """A: reviews of two domains, the latest 2026-06-01, one domain overdue; B: one review, none
    overdue; C: no review rows at all (both columns empty, not "none yet")."""
    ce = pd.DataFrame({"clinician_id": ["A", "B", "C"], "license_type": ["LPC", "LCSW", "LMFT"],
                       "hours": [10.0, 20.0, 5.0]})
    reviews = pd.DataFrame({
        "clinician_id": ["A", "A", "B"], "domain": ["skills", "values", "skills"],
        "last_review": pd.to_datetime(["2026-06-01", "2025-01-15", "2026-03-02"]),
        "review_overdue": [False, True, False]})
    r = sv.renewals(ce, reviews).set_index("clinician_id")
    assert r.loc["A", "last_competency_review"] == pd.Timestamp("2026-06-01")
    assert bool(r.loc["A", "competency_review_due"]) is True
    assert bool(r.loc["B", "competency_review_due"]) is False
    assert pd.isna(r.loc["C", "last_competency_review"])
    assert pd.isna(r.loc["C", "competency_review_due"])
    assert list(r["hours"]) == [10.0, 20.0, 5.0]  # the CE figures ride along unchanged


def test_consultation_and_mentoring_are_support_never_supervision_hours(tx):
    """Texas T (see the module docstring) also joins a peer consultation group on 07-15 (90 min)
    and 08-19 (90 min) and meets a mentor on 09-02 (60 min); S, licensed, joins the group on
    07-15 and nothing else. The ledger is unchanged (individual 9, group 6, total 21; July
    still met with 5, August still missed with 2). Support in the period: T consultation 2
    sessions 3 h, mentoring 1 session 1 h, latest 09-02, 3 months of the last six (from
    04-01) with some; S consultation 1 session 1.5 h."""
    data, c = tx
    extra = [("T", "S", "2026-07-15", 90, "consultation"), ("S", "T", "2026-07-15", 90,
             "consultation"), ("T", "S", "2026-08-19", 90, "consultation"),
             ("T", "X", "2026-09-02", 60, "mentoring")]
    data = make_data(TX_CLIN, TX_APPTS, TX_SUP + extra)
    row = sv.ledger(data, c).set_index("clinician_id").loc["T"]
    assert (row["supervision_hours_individual"], row["supervision_hours_group"]) == (9, 6)
    assert row["total_hours"] == 21
    p = sv.supervision_periods(data, c).set_index("period_start")
    assert (p.loc["2026-07-01", "counted"], p.loc["2026-08-01", "counted"]) == (5, 2)
    s = sv.support(data, c).set_index("clinician_id")
    assert s.loc["T", ["consultation_sessions", "consultation_hours", "mentoring_sessions",
                       "mentoring_hours"]].tolist() == [2, 3.0, 1, 1.0]
    assert s.loc["T", "last_support"] == pd.Timestamp("2026-09-02")
    assert s.loc["T", "support_months"] == 3
    assert s.loc["S", ["consultation_sessions", "consultation_hours", "mentoring_sessions"]
                 ].tolist() == [1, 1.5, 0]


def test_support_is_not_known_without_a_supervision_table(tx):
    data, c = tx
    del data.tables["supervision"]
    s = sv.support(data, c)
    assert s[["consultation_sessions", "last_support", "support_months"]].isna().all().all()


def test_consultation_labels_from_an_export_are_read():
    """Vendor-style labels ('Peer Consultation Group', 'Mentorship') are the two formats."""
    from perfkit import contract as C

    assert C.VOCABULARIES["format"][C.normalize_label("Peer Consultation Group")] == \
        "consultation"
    assert C.VOCABULARIES["format"][C.normalize_label("Mentorship")] == "mentoring"


def test_a_trickle_of_hours_gives_no_projection_not_a_crash():
    """One 1-minute session in the last 13 weeks: the pace puts completion tens of thousands
    of years away (past what a date can hold); the ledger says so instead of projecting."""
    clin = [("X", "Xi", "pre-licensed", "ASW", "S", "2026-08-03", None, "ca_asw_lcsw")]
    weekly = [("X", "S", d, 1, "individual")
              for d in pd.date_range("2026-08-06", "2026-09-30", freq="7D").strftime("%F")]
    led = sv.ledger(make_data(clin, [("X", "2026-08-05 09:00", 1, "attended")], weekly),
                    cfg("2026-07-01", "2026-10-01")).set_index("clinician_id")
    assert pd.isna(led.loc["X", "projected_completion"])
    assert "completion lies more than 100 years away: no projection" in reasons_note(
        led.loc["X", "reasons"])


def test_a_rule_and_a_ce_requirement_read_a_state_and_unknown_keys_alike():
    """One settings base and one state type: a licensure rule and a CE requirement cannot
    drift apart in how they read a state ("tx" is TX, "" none) or refuse a misspelt key."""
    from perfkit.standards import CERequirement, StateCode, StrictSettings

    assert issubclass(sv.LicensureRule, StrictSettings)
    assert issubclass(sv.Requirements, StrictSettings)
    assert issubclass(sv.Compliance, StrictSettings)
    for model in (sv.LicensureRule, CERequirement):
        assert list(model.model_fields["state"].metadata) == list(StateCode.__metadata__), model
    assert CERequirement(hours=1, cycle_years=2, state="tx").state == "TX"
    assert CERequirement(hours=1, cycle_years=2, state="").state is None
    with pytest.raises(ValueError, match="two-letter"):
        CERequirement(hours=1, cycle_years=2, state="Texas")
