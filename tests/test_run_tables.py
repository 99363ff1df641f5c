"""The run tables the reports draw and word from (issue 32: presentation reads only tables),
worked out by hand: the ramp summary, leave days, clients' scores over time and their typical
course, item 9 coverage, and the trend readings beside the labels they explain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import outcomes as oc
from perfkit import workforce as wf
from perfkit.trends import trend_labels, trend_readings

TZ = "America/New_York"


def test_the_ramp_summary_means_the_weeks_both_have():
    # H1: weeks 0-2, the practice ramp only in weeks 1 and 2: 0.5 and 0.6 (mean 55%) against
    # 0.4 and 0.5 (45%), the fewest earlier hires 3; H2: no practice ramp: every week (20%)
    ramp = pd.DataFrame({
        "clinician_id": ["H1"] * 3 + ["H2"] * 2, "week": [0, 1, 2, 0, 1],
        "utilization": [0.2, 0.5, 0.6, 0.1, 0.3],
        "practice_utilization": [np.nan, 0.4, 0.5, np.nan, np.nan],
        "hires_compared": [2, 4, 3, 1, 1],
        "ramp": ["faster"] * 3 + ["no practice ramp yet"] * 2,
        "start_date": pd.to_datetime(["2026-02-02"] * 3 + ["2026-01-31"] * 2)})
    # ramping: started after period_start less ramp.weeks (26): 1 Aug - 182 days = 31 Jan;
    # H1 (2 Feb) is still ramping, H2 (31 Jan, the day itself) is not
    cfg = pk.load_config(period_start="2026-08-01", period_end="2026-11-01")
    s = wf.ramp_summary(ramp, cfg).set_index("clinician_id")
    assert s["ramping"].tolist() == [True, False]
    assert s.loc["H1", ["ramp", "weeks", "compared", "hires_compared"]].tolist() == [
        "faster", 2, True, 3]
    assert s.loc["H1", "utilization"] == pytest.approx(0.55)
    assert s.loc["H1", "practice_utilization"] == pytest.approx(0.45)
    assert s.loc["H2", ["weeks", "compared", "hires_compared"]].tolist() == [2, False, 0]
    assert s.loc["H2", "utilization"] == pytest.approx(0.2)
    assert np.isnan(s.loc["H2", "practice_utilization"])


def test_leave_days_count_overlapping_records_once_within_the_period():
    cfg = pk.load_config(period_start="2026-08-01", period_end="2026-11-01")
    off = pd.DataFrame({"clinician_id": ["A", "A", "B", "C"],
                        "start_date": pd.to_datetime(["2026-07-25", "2026-08-03",
                                                      "2026-09-01", "2026-10-30"]),
                        "end_date": pd.to_datetime(["2026-08-05", "2026-08-12",
                                                    "2026-09-02", "2026-11-20"])})
    # A: 1-12 Aug (the days before the period left out, 3-5 Aug once) = 12; B: 2 days; C: 30
    # and 31 Oct = 2; leave_context_days 10 keeps A alone
    days = wf.leave_days(off, cfg)
    assert days.to_dict("list") == {"clinician_id": ["A"], "leave_days": [12]}
    low = pk.load_config(period_start="2026-08-01", period_end="2026-11-01",
                         operations={"leave_context_days": 2})
    assert dict(zip(*wf.leave_days(off, low).to_dict("list").values(), strict=True)) == {
        "A": 12, "B": 2, "C": 2}


def _scores(rows):
    t = pd.DataFrame(rows, columns=["clinician_id", "client_id", "instrument", "at", "score"])
    return pd.DataFrame({"clinician_id": t["clinician_id"], "client_id": t["client_id"],
                         "instrument": t["instrument"],
                         "administered_at": pd.to_datetime(t["at"]).dt.tz_localize(TZ),
                         "total_score": t["score"].astype(float)})


def test_weeks_count_from_each_clients_first_score_with_that_clinician():
    cfg = pk.load_config(period_start="2026-08-01", period_end="2026-11-01", timezone=TZ)
    a = _scores([("A", "x", "PHQ-9", "2026-09-08", 14), ("A", "x", "PHQ-9", "2026-09-01", 18),
                 ("A", "y", "PHQ-9", "2026-09-15", 10), ("A", "y", "PHQ-9", "2026-09-25", 8),
                 ("B", "x", "PHQ-9", "2026-09-22", 12),  # x again, with B: week 0
                 ("A", "x", "PHQ-9", "2026-11-02", 5)])  # after period_end: not shown
    t = oc.score_trajectories(a, cfg)
    assert t[["clinician_id", "client_id", "week", "total_score"]].values.tolist() == [
        ["A", "x", 0.0, 18.0], ["A", "x", 1.0, 14.0], ["A", "y", 0.0, 10.0],
        ["A", "y", pytest.approx(10 / 7), 8.0], ["B", "x", 0.0, 12.0]]
    # the explorer's weeks: from 8 Sep, x's first score shown is its week 0
    part = oc.score_trajectories(a, cfg, start="2026-09-08", end="2026-09-20")
    assert part[["client_id", "week"]].values.tolist() == [["x", 0.0], ["y", 0.0]]


def test_the_typical_course_needs_five_scores_in_a_week():
    t = pd.DataFrame({"clinician_id": "A", "instrument": "PHQ-9",
                      "client_id": [f"c{k}" for k in range(14)],
                      "week": [0, 0, 0, 0, 0, 1, 1, 1, 1, 2.4, 1.6, 2, 2, 2.2],
                      "total_score": [10, 11, 12, 13, 14, 9, 9, 9, 9, 6, 7, 8, 9, 10]})
    # week 0: 10..14 (median 12); week 1: four scores (left out); week 2: 2.4, 1.6, 2, 2 and
    # 2.2 rounded, five scores 6..10 (median 8)
    c = oc.typical_course(t)
    assert c[["week", "median_score", "scores"]].values.tolist() == [[0, 12, 5], [2, 8, 5]]


def test_item9_coverage_says_whether_any_phq9_carries_item_9():
    a = pd.DataFrame({"clinician_id": ["A", "A", "B", "C"],
                      "instrument": ["PHQ-9", "PHQ-9", "PHQ-9", "GAD-7"],
                      "item_9": [np.nan, 0.0, np.nan, 1.0]})
    c = oc.item9_coverage(a)
    assert c.to_dict("list") == {"clinician_id": ["A", "B"], "item9_in_export": [True, False]}


def test_trend_readings_are_the_readings_behind_the_labels():
    rng = np.random.default_rng(3)
    weeks = pd.date_range("2026-01-05", periods=30, freq="7D")
    weekly = pd.DataFrame({
        "clinician_id": np.repeat(["A", "B"], 30), "week_start": np.tile(weeks, 2),
        **{m: rng.uniform(0.5, 0.9, 60) for m in ["utilization", "non_attendance_rate"]}})
    weekly.loc[weekly["clinician_id"] == "B", "utilization"] -= np.r_[[0] * 20, [0.4] * 10]
    cfg = pk.load_config()
    metrics = ["utilization", "non_attendance_rate"]
    r = trend_readings(weekly, cfg, metrics)
    labels = trend_labels(weekly, cfg, metrics).set_index("clinician_id")
    assert len(r) == 4
    for row in r.itertuples():
        assert row.label == labels.loc[row.clinician_id, f"trend_{row.metric}"]
        assert row.limit_low <= row.centre <= row.limit_high
    b = r[(r["clinician_id"] == "B") & (r["metric"] == "utilization")].iloc[0]
    # the last weeks average about 0.7 - 0.4 = 0.3, below where the sentence starts
    assert b["label"] == "declining" and b["end"] < 0.4 and b["end"] < b["start"]
