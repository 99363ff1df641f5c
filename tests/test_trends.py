"""SPC trend labels and threshold flags: hand-made series, and the demo's planted slip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit.operations import flags
from perfkit.trends import spc_label, trend_labels, xmr_limits

NOISE = [4, 5, 6] * 4  # mean 5, no run on one side longer than 2, ends above the mean


def test_xmr_limits_by_hand():
    lo, centre, hi = xmr_limits([1, 2, 3, np.nan])
    assert centre == 2 and lo == pytest.approx(2 - 2.66) and hi == pytest.approx(2 + 2.66)


def test_not_enough_data_below_twelve_points():
    assert spc_label(NOISE[:11]) == "not enough data"
    assert spc_label(NOISE[:11] + [np.nan]) == "not enough data"
    assert spc_label(NOISE) == "stable"


def test_shift_of_seven_below_the_centre_line_is_declining():
    series = NOISE + [3, 3.5, 3, 3.5, 3, 3.5, 3]          # 7 below the mean (about 4.6)
    assert spc_label(series) == "declining"
    assert spc_label(series[:-1]) == "stable"              # only 6 below


def test_shift_above_is_growing():
    assert spc_label(NOISE + [7, 7.5, 7, 7.5, 7, 7.5, 7]) == "growing"


def test_six_rises_in_a_row_is_growing_five_is_not():
    six = NOISE + [4.1, 4.2, 4.3, 4.4, 4.5, 4.6, 4.7]    # 7 points, 6 rises, below the mean
    assert spc_label(six) == "growing"                     # the trend wins over the shift
    assert spc_label(six[:-1]) == "stable"                 # 5 rises, 6 points below
    falls = NOISE + [6.0, 5.9, 5.8, 5.7, 5.6, 5.5, 5.4]
    assert spc_label(falls) == "declining"


def test_a_repeated_value_ends_a_trend_and_the_run_must_reach_the_last_week():
    flat = NOISE + [5.1, 5.2, 5.3, 5.3, 5.4, 5.5, 5.6]   # 6 above the mean: no shift either
    assert spc_label(flat) == "stable"
    old_signal = [3, 3, 3, 3, 3, 3, 3, 3] + NOISE
    assert spc_label(old_signal) == "stable"


def test_rule_lengths_come_from_parameters():
    series = NOISE + [3, 3.5, 3, 3.5, 3]
    assert spc_label(series, shift_run=5) == "declining"
    assert spc_label(series, shift_run=7) == "stable"


def test_flags_against_parameters(tmp_path):
    m = pd.DataFrame({"clinician_id": ["a", "b", "c", "d"],
                      "utilization": [0.69, 0.75, 0.85, np.nan],
                      "non_attendance_rate": [0.10, 0.099, np.nan, 0.2],
                      "notes_within_72h": [0.95, 0.89, 0.90, np.nan],
                      "unsigned_overdue_7d": [0, 3, 2, 0], "notes_due": [50, 50, 50, 0]})
    f = flags(m, pk.load_config()).set_index("clinician_id")
    assert f.utilization_band.tolist() == ["low", "review", "ok", ""]
    assert f.flag_low_utilization.tolist() == [True, False, False, False]
    assert f.flag_high_non_attendance.tolist() == [True, False, False, True]
    assert f.flag_late_notes.tolist() == [False, True, False, False]
    # a backlog needs 3 notes and 2% of notes due: 3 of 50 is one, 2 of 50 is not
    assert f.flag_unsigned_overdue.tolist() == [False, True, False, False]
    strict = pk.load_config(operations={"utilization_alert": 0.8, "utilization_review": 0.9})
    assert flags(m, strict).flag_low_utilization.tolist() == [True, True, False, False]


@pytest.fixture(scope="module")
def demo_labels():
    cfg = pk.load_config()
    data = pk.load_prepared()
    return trend_labels(op.weekly_metrics(data, cfg), cfg).set_index("clinician_id")


def test_planted_slipping_clinician_is_declining(demo_labels):
    c04 = demo_labels.loc["C04"]
    assert c04.trend_utilization == "declining"
    assert c04.trend_notes_within_72h == "declining"
    assert c04.trend_median_note_lag_hours == "growing"


def test_steady_clinicians_are_not_declining(demo_labels):
    for cid in ("C01", "C02"):
        assert demo_labels.loc[cid, "trend_utilization"] != "declining"
        assert demo_labels.loc[cid, "trend_notes_within_72h"] != "declining"
