"""Operational metrics and the workforce tables built on them (perfkit.operations,
perfkit.workforce) on small hand-built practices, against values computed by hand.

Main scenario: period Mon 2026-10-05 .. Mon 2026-10-19 (two weeks, ten weekdays), practice time
zone America/Chicago, as_of = 2026-10-19 00:00 local.

Clinician A, 20 h/week (part time: 4 h per weekday), weekly goal 15 sessions:

    appt  client  start (local)       min  status       note signed         lag
    A0    x       Mon 09-28 10:00      60  attended     -                   (before period)
    A1    x       Mon 10-05 10:00      60  attended     10-05 21:00         10 h
    A2    x       Mon 10-12 10:00      50  attended     10-15 10:50         72 h (exactly)
    A3    y       Tue 10-06 09:00      60  no_show
    A4    y       Wed 10-07 09:00      60  late_cancel
    A5    z       Thu 10-08 09:00      60  cancelled
    A6    z       Fri 10-16 15:00      60  attended     unsigned            (ends 56 h before as_of)
    A7    w       Fri 10-09 14:00      60  attended     unsigned            (ends 9 days before)
    A8    x       Mon 10-19 00:30      60  scheduled                        (after as_of)
    A9    v       10-05T04:30Z         30  attended     = Sun 10-04 23:30 local: before the period
    A10   v       10-19T04:30Z         30  attended     = Sun 10-18 23:30 local: inside the period

By hand for A:
    available hours  10 weekdays x 4 h = 40
    sessions         A1 A2 A6 A7 A10 = 5; hours (60+50+60+60+30)/60 = 4.333..
    utilization      4.333.. / 40 = 0.108333..
    past appts       A1 A2 A3 A4 A5 A6 A7 A10 = 8; no-show 1/8, late cancel 1/8, non-att 2/8
    notes due        ended by 10-16 00:00: A1 A2 A7 = 3 (A6, A10 still inside 72 h)
    within 24 h      A1 -> 1/3; within 72 h A1 A2 -> 2/3; median lag of signed due = (10+72)/2
    unsigned > 7 d   A7 -> 1
    active clients   x z w v = 4; new clients z w = 2 (x seen 09-28, v seen 10-04)
    sessions/client  x 3, z 1, w 1, v 2 -> median 1.5
    goal attainment  5 / (15/5 x 10) = 1/6
    caseload (4 wk)  x z w v = 4

Clinician B, 30 h/week, left Fri 10-09: 5 weekdays x 6 h = 30 h; one 60-minute session.
Clinician C, 25 h/week, time off Fri 10-09 .. Mon 10-12 (spans a weekend: 2 weekdays lost):
8 x 5 h = 40 h; one 90-minute session.
Clinician D left 09-30 and E starts 11-01: neither is in the period's table.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit import practice_summary as ps
from perfkit import workforce as wf
from perfkit.prepared import Prepared

TZ = "America/Chicago"


def local(text):
    return pd.Timestamp(text).tz_localize(TZ) if "Z" not in text else \
        pd.Timestamp(text).tz_convert(TZ)


def make_data(clinicians, appts, notes=(), time_off=()):
    clin = pd.DataFrame(clinicians, columns=["clinician_id", "start_date", "end_date",
                                             "weekly_capacity_hours", "weekly_session_goal"])
    for c in ("start_date", "end_date"):
        clin[c] = pd.to_datetime(clin[c])
    clin["weekly_session_goal"] = clin["weekly_session_goal"].astype("Int64")
    a = pd.DataFrame(appts, columns=["appointment_id", "clinician_id", "client_id", "start",
                                     "duration_minutes", "status"])
    a["start"] = pd.to_datetime([local(t) for t in a["start"]]).tz_convert(TZ) if len(a) \
        else pd.Series(dtype=f"datetime64[us, {TZ}]")
    a["end"] = a["start"] + pd.to_timedelta(a["duration_minutes"], unit="m")
    n = pd.DataFrame({
        "appointment_id": [a_id for a_id, _ in notes],
        "signed_at": pd.Series([local(t) if t else pd.NaT for _, t in notes],
                               dtype=f"datetime64[us, {TZ}]"),
    })
    off = pd.DataFrame(list(time_off), columns=["clinician_id", "start_date", "end_date"])
    for c in ("start_date", "end_date"):
        off[c] = pd.to_datetime(off[c])
    return Prepared({"clinicians": clin, "appointments": a, "notes": n, "time_off": off},
                    {}, {"timezone": TZ})


CLINICIANS = [
    ("A", "2020-01-01", None, 20.0, 15),
    ("B", "2020-01-01", "2026-10-09", 30.0, None),
    ("C", "2020-01-01", None, 25.0, None),
    ("D", "2020-01-01", "2026-09-30", 30.0, None),
    ("E", "2026-11-01", None, 30.0, None),
]
APPTS = [
    ("A0", "A", "x", "2026-09-28 10:00", 60, "attended"),
    ("A1", "A", "x", "2026-10-05 10:00", 60, "attended"),
    ("A2", "A", "x", "2026-10-12 10:00", 50, "attended"),
    ("A3", "A", "y", "2026-10-06 09:00", 60, "no_show"),
    ("A4", "A", "y", "2026-10-07 09:00", 60, "late_cancel"),
    ("A5", "A", "z", "2026-10-08 09:00", 60, "cancelled"),
    ("A6", "A", "z", "2026-10-16 15:00", 60, "attended"),
    ("A7", "A", "w", "2026-10-09 14:00", 60, "attended"),
    ("A8", "A", "x", "2026-10-19 00:30", 60, "scheduled"),
    ("A9", "A", "v", "2026-10-05T04:30:00Z", 30, "attended"),
    ("A10", "A", "v", "2026-10-19T04:30:00Z", 30, "attended"),
    ("B1", "B", "b", "2026-10-06 10:00", 60, "attended"),
    ("C1", "C", "c", "2026-10-13 10:00", 90, "attended"),
]
NOTES = [("A0", "2026-09-28 12:00"), ("A1", "2026-10-05 21:00"), ("A2", "2026-10-15 10:50"),
         ("A6", ""), ("A7", ""), ("B1", "2026-10-06 12:00"), ("C1", "2026-10-13 12:00")]
TIME_OFF = [("C", "2026-10-09", "2026-10-12")]


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 10, 19),
                          pseudonym_key_file=tmp_path / "k")


@pytest.fixture
def data():
    return make_data(CLINICIANS, APPTS, NOTES, TIME_OFF)


@pytest.fixture
def table(data, cfg):
    return op.clinician_metrics(data, cfg).set_index("clinician_id")


def test_contract_columns_come_first(data, cfg):
    got = op.clinician_metrics(data, cfg)
    assert list(got.columns[:18]) == op.CONTRACT_COLUMNS


def test_only_clinicians_employed_in_the_period(table):
    assert list(table.index) == ["A", "B", "C"]


def test_capacity_part_time_left_mid_period_and_time_off_over_a_weekend(table):
    assert table.loc["A", "available_hours"] == 40.0      # part time: 4 h x 10 weekdays
    assert table.loc["B", "available_hours"] == 30.0      # left Friday 10-09: 5 days x 6 h
    assert table.loc["C", "available_hours"] == 40.0      # Fri-Mon off: 8 days x 5 h
    assert table.loc["C", "available_days"] == 8


def test_sessions_and_utilization(table):
    a = table.loc["A"]
    assert a.sessions_attended == 5
    assert a.hours_attended == pytest.approx(260 / 60)
    assert a.utilization == pytest.approx(260 / 60 / 40)
    assert table.loc["B", "utilization"] == pytest.approx(1 / 30)
    assert table.loc["C", "utilization"] == pytest.approx(1.5 / 40)


def test_attendance_rates(table):
    a = table.loc["A"]
    assert a.past_appointments == 8
    assert (a.no_show_rate, a.late_cancel_rate, a.non_attendance_rate) == (0.125, 0.125, 0.25)
    assert table.loc["B", "non_attendance_rate"] == 0.0


def test_clinician_cancellations_are_counted_and_left_out_of_the_rates(data, cfg):
    """Two appointments A cancelled: the client was not expected, so A's rates keep their
    denominator of 8 past appointments (1 no-show / 8, 1 late cancel / 8)."""
    extra = pd.DataFrame([("A11", "A", "u", "2026-10-13 11:00", 60, "clinician_cancelled"),
                          ("A12", "A", "u", "2026-10-14 11:00", 60, "clinician_cancelled")],
                         columns=["appointment_id", "clinician_id", "client_id", "start",
                                  "duration_minutes", "status"])
    extra["start"] = pd.to_datetime([local(t) for t in extra["start"]]).tz_convert(TZ)
    extra["end"] = extra["start"] + pd.to_timedelta(extra["duration_minutes"], unit="m")
    data.tables["appointments"] = pd.concat([data.appointments, extra], ignore_index=True)
    a = op.clinician_metrics(data, cfg).set_index("clinician_id").loc["A"]
    assert (a.past_appointments, a.clinician_cancelled) == (8, 2)
    assert (a.no_show_rate, a.late_cancel_rate, a.non_attendance_rate) == (0.125, 0.125, 0.25)
    assert a.sessions_attended == 5


def test_notes_with_72_hour_censoring_and_unsigned_notes(table):
    a = table.loc["A"]
    assert a.notes_due == 3
    assert a.notes_within_24h == pytest.approx(1 / 3)
    assert a.notes_within_72h == pytest.approx(2 / 3)
    assert a.median_note_lag_hours == pytest.approx(41.0)
    assert a.unsigned_overdue_7d == 1


def test_a_note_signed_after_as_of_was_unsigned_then(data, cfg):
    data.notes.loc[data.notes.appointment_id == "A7", "signed_at"] = local("2026-10-20 09:00")
    a = op.clinician_metrics(data, cfg).set_index("clinician_id").loc["A"]
    assert a.unsigned_overdue_7d == 1 and a.notes_within_72h == pytest.approx(2 / 3)


def test_clients(table):
    a = table.loc["A"]
    assert (a.active_clients, a.new_clients) == (4, 2)
    assert a.median_sessions_per_client == 1.5
    assert a.caseload == 4
    assert a.goal_attainment == pytest.approx(5 / 30)
    assert np.isnan(table.loc["B", "goal_attainment"])  # no goal set


def test_period_boundaries_are_local_midnights(data, cfg):
    appts = op.assign_buckets(data.appointments, op.period_window(cfg))
    assert "A9" not in set(appts.appointment_id)   # Sun 23:30 local before the period
    assert "A10" in set(appts.appointment_id)      # Sun 23:30 local on the last day
    assert "A8" not in set(appts.appointment_id)   # 00:30 on period_end
    la = pk.load_config(timezone="America/Los_Angeles", period_start=dt.date(2026, 10, 5),
                        period_end=dt.date(2026, 10, 19))
    # 10-05T04:30Z is 21:30 on 10-04 in Los Angeles, still outside; 10-19T04:30Z is 21:30 on
    # 10-18 there, inside; an appointment at 10-19T06:30Z would be inside LA's period only
    edges = op.period_window(la).edges
    assert str(edges[0]) == "2026-10-05 00:00:00-07:00"


def test_retention_cohort_and_early_dropout(tmp_path):
    """as_of 10-19; cohort = new since 06-01 with a first session on or before 08-24."""
    appts = []
    weekly = pd.date_range("2026-07-01 10:00", periods=8, freq="7D")
    appts += [(f"r1-{i}", "A", "r1", str(t), 60, "attended") for i, t in enumerate(weekly)]
    appts += [(f"r2-{i}", "A", "r2", str(t), 60, "attended") for i, t in enumerate(weekly[:3])]
    appts += [(f"r3-{i}", "A", "r3", str(t), 60, "attended") for i, t in enumerate(weekly[:3])]
    appts += [("r3-x", "A", "r3", "2026-11-02 10:00", 60, "scheduled")]  # within 30 days after
    appts += [(f"r4-{i}", "A", "r4", str(t), 60, "attended")
              for i, t in enumerate(pd.date_range("2026-09-01 10:00", periods=2, freq="7D"))]
    appts += [(f"r5-{i}", "A", "r5", str(t), 60, "attended") for i, t in enumerate(weekly[:5])]
    appts += [("r6-0", "A", "r6", "2026-08-24 00:00", 60, "attended")]  # exactly 8 weeks
    appts += [("r7-0", "A", "r7", "2026-09-25 10:00", 60, "attended")]  # seen 24 days ago
    data = make_data([("A", "2020-01-01", None, 20.0, None)], appts)
    cfg = pk.load_config(period_start=dt.date(2026, 6, 1), period_end=dt.date(2026, 10, 19),
                         pseudonym_key_file=tmp_path / "k", outcomes={"min_episodes": 5})
    a = op.clinician_metrics(data, cfg).set_index("clinician_id").loc["A"]
    # cohort r1 r2 r3 r5 r6 (r4, r7 too recent); retained r1; dropped out r2 and r6
    assert a.retention_cohort == 5
    assert a.retained_8plus_rate == pytest.approx(1 / 5)
    assert a.early_dropout_rate == pytest.approx(2 / 5)
    # a cohort below outcomes.min_episodes: its rates are empty in the table (the reports
    # say "hidden: fewer than 6 clients"), its size is kept
    six = pk.load_config(period_start=dt.date(2026, 6, 1), period_end=dt.date(2026, 10, 19),
                         pseudonym_key_file=tmp_path / "k", outcomes={"min_episodes": 6})
    b = op.clinician_metrics(data, six).set_index("clinician_id").loc["A"]
    assert b.retention_cohort == 5
    assert np.isnan(b.retained_8plus_rate) and np.isnan(b.early_dropout_rate)


def test_no_cohort_gives_empty_rates_not_zero(table):
    assert table.loc["A", "retention_cohort"] == 0
    assert np.isnan(table.loc["A", "retained_8plus_rate"])
    assert np.isnan(table.loc["A", "early_dropout_rate"])


def test_weekly_series_uses_the_same_definitions(data, tmp_path):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 10, 19),
                         trends={"weeks": 2}, pseudonym_key_file=tmp_path / "k")
    w = op.weekly_metrics(data, cfg).set_index(["clinician_id", "week_start"])
    a1, a2 = w.loc[("A", pd.Timestamp("2026-10-05"))], w.loc[("A", pd.Timestamp("2026-10-12"))]
    assert (a1.sessions_attended, a1.available_hours) == (2, 20.0)   # A1, A7
    assert a1.utilization == pytest.approx(2 / 20)
    assert a2.sessions_attended == 3                                 # A2, A6, A10
    assert a2.utilization == pytest.approx((50 + 60 + 30) / 60 / 20)
    assert a2.notes_due == 1 and a2.notes_within_72h == 1.0         # A2 only: A6, A10 not due
    assert ("B", pd.Timestamp("2026-10-12")) not in w.index         # B had left
    assert w.loc[("C", pd.Timestamp("2026-10-05")), "available_hours"] == 20.0  # Fri off
    # the first weeks of the data cannot tell who is new
    assert w["new_clients"].isna().all()


def test_weeks_before_the_data_are_not_weeks_without_work(data, tmp_path):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 10, 19),
                         pseudonym_key_file=tmp_path / "k")
    w = op.weekly_metrics(data, cfg)
    assert w.week_start.min() == pd.Timestamp("2026-09-28")  # first data week, not 52 weeks ago


def test_practice_summary_counts_a_client_of_two_clinicians_once(cfg):
    """Client x also sees C in the period. By hand: clients seen x z w v (A), b (B), c x (C):
    6 distinct where the clinicians' rows add to 7; new to the practice z w b c = 4 (x was
    seen 09-28, v on Sun 10-04 local) where the rows add to 5 (x is new to C). Sessions 5+1+2,
    hours 4.333+1+2.5 over 40+30+40 available; 2 of 11 past appointments missed; notes due
    A1 A2 A7 B1 C1 C2 = 6, five signed within 72 h; A7 unsigned over 7 days."""
    data = make_data(CLINICIANS, APPTS + [("C2", "C", "x", "2026-10-14 10:00", 60, "attended")],
                     NOTES + [("C2", "2026-10-14 12:00")], TIME_OFF)
    m = op.clinician_metrics(data, cfg)
    assert m["active_clients"].sum() == 7 and m["new_clients"].sum() == 5
    s = ps.practice_summary(data, cfg, m).iloc[0]
    assert (s["clinicians"], s["clients_seen"], s["new_clients"]) == (3, 6, 4)
    assert s["sessions_attended"] == 8
    assert s["utilization"] == pytest.approx((260 / 60 + 1 + 2.5) / 110)
    assert (s["past_appointments"], s["missed_appointments"]) == (11, 2)
    assert s["non_attendance_rate"] == pytest.approx(2 / 11)
    assert (s["notes_due"], s["notes_due_with_signing_times"]) == (6, 6)
    assert s["notes_within_72h"] == pytest.approx(5 / 6)
    assert (s["unsigned_overdue_7d"], s["clinicians_on_note_status"]) == (1, 0)


def test_practice_notes_rate_rests_only_on_clinicians_with_signing_times(data, cfg):
    """B's figures rest on note statuses: the practice rate is A's and C's notes alone,
    (2 + 1) of (3 + 1), not B's note counted as late."""
    m = op.clinician_metrics(data, cfg)
    b = m["clinician_id"] == "B"
    m.loc[b, "notes_within_72h"] = np.nan
    m.loc[b, "documentation_source"] = op.NOTE_STATUS
    s = ps.practice_summary(data, cfg, m).iloc[0]
    assert s["notes_due_with_signing_times"] == 4
    assert s["notes_within_72h"] == pytest.approx(3 / 4)
    assert s["clinicians_on_note_status"] == 1


def test_metric_spread_by_hand(table):
    """Utilization A 4.333/40, B 1/30, C 1.5/40; sorted, the quartiles interpolate linearly
    between neighbours (positions 0.5 and 1.5)."""
    s = ps.metric_spread(table.reset_index()).set_index("metric")
    u = sorted([260 / 60 / 40, 1 / 30, 1.5 / 40])
    assert s.loc["utilization", "clinicians"] == 3
    assert s.loc["utilization", "median"] == pytest.approx(u[1])
    assert s.loc["utilization", "q25"] == pytest.approx((u[0] + u[1]) / 2)
    assert s.loc["utilization", "q75"] == pytest.approx((u[1] + u[2]) / 2)


def test_workforce_by_hand(tmp_path):
    """Period October 2026. A since 2015, E since 2024; B leaves 10-15; C starts 10-10; D
    worked 03-01 to 05-31. At the start A B E (3); C joined, B left; at the end A C E (3).
    Twelve months from 2025-11-01: leavers B and D; headcount on the first of each month 3 3 3 3
    (Nov-Feb), 4 4 4 (Mar-May, with D), 3 3 3 3 3 (Jun-Oct): mean 39/12 = 3.25, turnover
    2/3.25. Tenure at 11-01 of A, C, E: 11.8, 0.06, 2.83 years: median E's 1035 days."""
    clin = pd.DataFrame({
        "clinician_id": list("ABCDE"),
        "start_date": pd.to_datetime(["2015-01-01", "2020-06-15", "2026-10-10", "2026-03-01",
                                      "2024-01-01"]),
        "end_date": pd.to_datetime([None, "2026-10-15", None, "2026-05-31", None])})
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         pseudonym_key_file=tmp_path / "k")
    w = wf.workforce(clin, cfg).iloc[0]
    assert (w["clinicians_at_start"], w["starters"], w["leavers"], w["clinicians_at_end"]) \
        == (3, 1, 1, 3)
    assert (w["leavers_12m"], w["average_headcount_12m"]) == (2, 3.25)
    assert w["turnover_12m"] == pytest.approx(2 / 3.25)
    assert w["median_tenure_years"] == pytest.approx(1035 / 365.25)


@pytest.mark.parametrize(("series", "weeks"), [
    ([3, 4, 4, 5, 6], 4),          # rose in 3 of the last 4 steps, never fell
    ([5, 5, 5], 0),                # flat
    ([1, 2, 2, 2, 2, 2, 2, 2], 0),  # rose once, then held: not growing
    ([6, 5, 5, 6], 2),             # since the fall: held, rose (1 of 2)
    ([1, 2, 3, 2], 0),             # fell last week
])
def test_caseload_growing_weeks(series, weeks):
    assert wf._growing_weeks(np.array(series)) == weeks


def test_workload_signals_by_hand(tmp_path):
    """as_of 2026-10-19; six months back is 2026-04-19.

    A: goal 5, utilization 1.05 (over 100%); the last six weeks' sessions 6 6 6 6 5 7 against
       5 x 1.2 = 6: five weeks over; time off 04-15..04-22 has 4 days (04-19..04-22) inside the
       window, 03-01..03-10 none; one new client each week (caseload of two weeks: 1 then 2 2 2
       ...: held, not growing).
    B: no goal (weeks over goal empty); utilization exactly 1.0 is not over; no time off, but
       employed only since 06-01: not prompted.
    C: goal 10; sessions 12 11 12 11 12 11: three weeks at 12 (not four); no time off in six
       months and employed for years: prompted. One, two, three, four new clients in the last
       four weeks: with a two-week caseload, 0 0 1 3 5 7 at the ends of its six weeks, which
       never fell over 5 weeks and rose in 4 of them: growing for 5 weeks."""
    cfg = pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 10, 19),
                         operations={"caseload_weeks": 2}, workload={"caseload_growing_weeks": 3},
                         pseudonym_key_file=tmp_path / "k")
    weeks = pd.date_range("2026-08-24", periods=8, freq="W-MON")
    appts = [(f"a{k}", "A", f"x{k}", f"{w.date()} 10:00", 50, "attended")
             for k, w in enumerate(weeks)]
    for k, w in enumerate(weeks[4:]):  # C sees k + 1 different clients in each of four weeks
        appts += [(f"c{k}{j}", "C", f"y{k}{j}", f"{w.date()} 1{j}:00", 50, "attended")
                  for j in range(k + 1)]
    data = make_data([("A", "2020-01-01", None, 10.0, 5), ("B", "2026-06-01", None, 10.0, None),
                      ("C", "2019-01-01", None, 20.0, 10)], appts, (),
                     [("A", "2026-03-01", "2026-03-10"), ("A", "2026-04-15", "2026-04-22")])
    metrics = pd.DataFrame({"clinician_id": ["A", "B", "C"], "utilization": [1.05, 1.0, 0.8]})
    weekly = pd.DataFrame({
        "clinician_id": ["A"] * 8 + ["C"] * 6,
        "week_start": list(weeks) + list(weeks[2:]),
        "sessions_attended": [9, 9, 6, 6, 6, 6, 5, 7] + [12, 11, 12, 11, 12, 11]})
    weekly["caseload"] = op.weekly_caseload(data.appointments, weekly, cfg).to_numpy()
    w = wf.workload(data, cfg, metrics, weekly).set_index("clinician_id")
    assert list(w["over_capacity"]) == [True, False, False]
    assert w.loc["A", "weeks_over_goal"] == 5 and w.loc["A", "flag_over_goal"]
    assert np.isnan(w.loc["B", "weeks_over_goal"]) and not w.loc["B", "flag_over_goal"]
    assert w.loc["C", "weeks_over_goal"] == 3 and not w.loc["C", "flag_over_goal"]
    assert list(w["days_off_recent"]) == [4, 0, 0]
    assert list(w["flag_no_time_off"]) == [False, False, True]
    assert w.loc["A", "caseload_growing_weeks"] == 0
    assert w.loc["C", "caseload_growing_weeks"] == 5 and w.loc["C", "flag_caseload_growing"]


def test_a_new_hires_ramp_is_not_a_growing_caseload(tmp_path):
    """C of the test above, hired on 2026-09-07 (the Monday of the first of its six weeks),
    with ramp.weeks = 4: only the weeks from 10-05 count. Its caseloads at the ends of those
    two weeks are 5 and 7 (one rise): growing for 1 week, not 5, and not flagged. Hired four
    weeks earlier (08-10), every week counts again: 5 weeks."""
    weeks = pd.date_range("2026-09-07", periods=6, freq="W-MON")
    appts = []
    for k, w in enumerate(weeks[2:]):
        appts += [(f"c{k}{j}", "C", f"y{k}{j}", f"{w.date()} 1{j}:00", 50, "attended")
                  for j in range(k + 1)]
    weekly = pd.DataFrame({"clinician_id": "C", "week_start": weeks,
                           "sessions_attended": [12, 11, 12, 11, 12, 11]})
    metrics = pd.DataFrame({"clinician_id": ["C"], "utilization": [0.8]})
    found = []
    for hired in ("2026-09-07", "2026-08-10"):
        cfg = pk.load_config(period_start=dt.date(2026, 10, 5),
                             period_end=dt.date(2026, 10, 19), operations={"caseload_weeks": 2},
                             workload={"caseload_growing_weeks": 3}, ramp={"weeks": 4},
                             pseudonym_key_file=tmp_path / "k")
        data = make_data([("C", hired, None, 20.0, 10)], appts, (), [])
        wk = weekly.assign(caseload=op.weekly_caseload(data.appointments, weekly, cfg)
                           .to_numpy())
        assert list(wk["caseload"]) == [0, 0, 1, 3, 5, 7]
        w = wf.workload(data, cfg, metrics, wk).iloc[0]
        found.append((w["caseload_growing_weeks"], w["flag_caseload_growing"]))
    assert found == [(1, False), (5, True)]


def test_no_time_off_table_means_no_time_off_prompt(data, cfg):
    del data.tables["time_off"]
    data.meta["provided"] = ["clinicians", "appointments", "notes"]
    m = op.clinician_metrics(data, cfg)
    w = wf.workload(data, cfg, m, op.weekly_metrics(data, cfg))
    assert w["days_off_recent"].isna().all() and not w["flag_no_time_off"].any()


def test_workload_with_no_clinicians_or_weeks(data, cfg):
    """A roster with nobody in the period: an empty table with every column, not an error."""
    m = op.clinician_metrics(data, cfg).iloc[0:0]
    w = wf.workload(data, cfg, m, op.weekly_metrics(data, cfg).iloc[0:0])
    assert list(w.columns) == wf.WORKLOAD_COLUMNS and w.empty


def test_new_hire_ramp_against_earlier_hires(tmp_path):
    """Four hires a week or more apart, all within the weekly series. Utilization in their first
    four weeks: A 20 40 60 80%, B 10 30 50 70%, C 30 50 70 90%, D 10 20 30 40%. D's practice
    ramp is the median of A, B, C at each week (A's values: 20 40 60 80%); D's four weeks sum
    to 1.0 against 2.0: half the practice's pace, so "more slowly". C has only two earlier hires
    (fewer than three): no practice ramp yet; so has A (none)."""
    cfg = pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 11, 2),
                         pseudonym_key_file=tmp_path / "k")
    starts = {"A": "2026-09-01", "B": "2026-09-08", "C": "2026-09-15", "D": "2026-10-06"}
    util = {"A": [.2, .4, .6, .8], "B": [.1, .3, .5, .7], "C": [.3, .5, .7, .9],
            "D": [.1, .2, .3, .4]}
    data = make_data([(c, s, None, 20.0, None) for c, s in starts.items()], [])
    rows = [{"clinician_id": c, "utilization": u,
             "week_start": wf._monday(starts[c]) + pd.Timedelta(weeks=k)}
            for c, us in util.items() for k, u in enumerate(us)]
    r = wf.ramp(data, cfg, pd.DataFrame(rows).assign(caseload=0))
    d = r[r["clinician_id"] == "D"]
    assert list(d["week"]) == [0, 1, 2, 3]
    assert list(d["practice_utilization"]) == pytest.approx([.2, .4, .6, .8])
    assert list(d["hires_compared"]) == [3, 3, 3, 3] and d["ramp"].eq("more slowly").all()
    assert r.loc[r["clinician_id"] == "C", "ramp"].eq("no practice ramp yet").all()
    assert r.loc[r["clinician_id"] == "C", "practice_utilization"].isna().all()
    assert set(r["clinician_id"]) == set("ABCD")


def test_a_ramp_is_compared_as_its_words_show_it(tmp_path):
    """The ramp words show the hire's and the earlier hires' mean utilization in whole
    percentages. D averages 39.96% (shown as 40%) against the earlier hires' 50%: 40 / 50 is
    exactly the 0.8 of ramp.slower, so "as expected", not "more slowly" (the unrounded ratio,
    0.7992, would have said so). At 39.4% (shown as 39%) it is "more slowly"."""
    cfg = pk.load_config(period_start=dt.date(2026, 10, 5), period_end=dt.date(2026, 11, 2),
                         pseudonym_key_file=tmp_path / "k")
    starts = {"A": "2026-09-01", "B": "2026-09-08", "C": "2026-09-15", "D": "2026-10-06"}
    data = make_data([(c, s, None, 20.0, None) for c, s in starts.items()], [])

    def status(d_mean):
        util = {"A": [.5] * 4, "B": [.5] * 4, "C": [.5] * 4, "D": [d_mean] * 4}
        rows = [{"clinician_id": c, "utilization": u,
                 "week_start": wf._monday(starts[c]) + pd.Timedelta(weeks=k)}
                for c, us in util.items() for k, u in enumerate(us)]
        r = wf.ramp(data, cfg, pd.DataFrame(rows).assign(caseload=0))
        return r.loc[r["clinician_id"] == "D", "ramp"].iloc[0]

    assert status(0.3996) == "as expected"
    assert status(0.394) == "more slowly"
