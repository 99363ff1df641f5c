"""Measurement-based-care outcomes against hand-computed values and published worked examples.

Period 2026-10-01 .. 2026-11-01 (America/Chicago). Clinician X's episodes:

    PHQ-9 (caseness >= 10, reliable change 6, lower is better)
    e1  09-01: 18 -> 10-10: 8    improvement 10: reliable improvement; caseness first, not last:
                                 recovery, reliable recovery; response 10/18 >= 50%; no remission
                                 (starts before the period, counts: it has a score inside)
    e2  10-05 09:00: 12 -> 10-05 16:00: 4   same day: not paired
    e3  10-02: 9 -> 10-20: 16    worsening 7: reliable deterioration; not at caseness first
    e4  08-01: 15 -> 09-15: 10   no score in the period: not counted
    e5  10-01: 10 -> 10-29: 4    improvement 6 (exactly the reliable change): reliable
                                 improvement; recovery; reliable recovery; response 60%;
                                 remission (4 < 5)
    -> episodes 4, paired 3, completeness 3/4, caseness (paired) 2,
       reliable improvement 2/3, deterioration 1/3, recovery 2/2, reliable recovery 2/2,
       response 2/2, remission 1/2

    ORS (caseness < 25, reliable change 5, HIGHER is better)
    o1  20 -> 26   improvement 6: reliable improvement; caseness first, not last: recovery, RR
    o2  30 -> 24   improvement -6: reliable deterioration; not at caseness first
    o3  24 -> 28   improvement 4: not reliable; caseness first, not last: recovery, not RR
    -> episodes 3, paired 3, caseness 2, RI 1/3, RD 1/3, recovery 2/2, reliable recovery 1/2
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import outcomes as oc

TZ = "America/Chicago"


def frame(rows):
    a = pd.DataFrame(rows, columns=["client_id", "clinician_id", "instrument", "administered_at",
                                    "total_score", "item_9"][:len(rows[0])])
    a["administered_at"] = pd.to_datetime(a["administered_at"]).dt.tz_localize(TZ)
    a["total_score"] = a["total_score"].astype(float)
    if "item_9" not in a:
        a["item_9"] = np.nan
    return a


ROWS = [
    ("e1", "X", "PHQ-9", "2026-09-01 10:00", 18), ("e1", "X", "PHQ-9", "2026-10-10 10:00", 8),
    ("e2", "X", "PHQ-9", "2026-10-05 09:00", 12), ("e2", "X", "PHQ-9", "2026-10-05 16:00", 4),
    ("e3", "X", "PHQ-9", "2026-10-02 10:00", 9), ("e3", "X", "PHQ-9", "2026-10-20 10:00", 16),
    ("e4", "X", "PHQ-9", "2026-08-01 10:00", 15), ("e4", "X", "PHQ-9", "2026-09-15 10:00", 10),
    ("e5", "X", "PHQ-9", "2026-10-01 00:00", 10), ("e5", "X", "PHQ-9", "2026-10-29 10:00", 4),
    ("e5", "X", "PHQ-9", "2026-11-01 00:00", 20),  # at as_of: not before it, so not used
    ("o1", "X", "ORS", "2026-09-20 10:00", 20), ("o1", "X", "ORS", "2026-10-20 10:00", 26),
    ("o2", "X", "ORS", "2026-09-20 10:00", 30), ("o2", "X", "ORS", "2026-10-20 10:00", 24),
    ("o3", "X", "ORS", "2026-09-20 10:00", 24), ("o3", "X", "ORS", "2026-10-20 10:00", 28),
]


@pytest.fixture
def cfg1(tmp_path):
    return pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                          outcomes={"min_episodes": 1}, pseudonym_key_file=tmp_path / "k")


@pytest.fixture
def table(cfg1):
    return oc.outcomes_by_clinician(frame(ROWS), cfg1).set_index("instrument")


def test_phq9_classifications_by_hand(table):
    r = table.loc["PHQ-9"]
    assert (r.episodes, r.paired_episodes, r.caseness_episodes) == (4, 3, 2)
    assert r.paired_completeness == 0.75
    assert r.reliable_improvement_rate == pytest.approx(2 / 3)
    assert r.reliable_deterioration_rate == pytest.approx(1 / 3)
    assert (r.recovery_rate, r.reliable_recovery_rate) == (1.0, 1.0)
    assert (r.response_rate, r.remission_rate) == (1.0, 0.5)
    assert not r.suppressed


def test_ors_direction_is_reversed(table):
    r = table.loc["ORS"]
    assert (r.episodes, r.paired_episodes, r.caseness_episodes) == (3, 3, 2)
    assert r.reliable_improvement_rate == pytest.approx(1 / 3)
    assert r.reliable_deterioration_rate == pytest.approx(1 / 3)
    assert r.recovery_rate == 1.0 and r.reliable_recovery_rate == 0.5
    assert np.isnan(r.response_rate) and np.isnan(r.remission_rate)  # not defined for the ORS


def test_contract_columns_first(cfg1):
    got = oc.outcomes_by_clinician(frame(ROWS), cfg1)
    assert list(got.columns[:11]) == oc.CONTRACT_COLUMNS


def test_episode_rules(cfg1):
    eps = oc.episodes(frame(ROWS), cfg1).set_index("client_id")
    assert not eps.loc["e2", "paired"]                       # same local day
    assert not eps.loc["e4", "in_period"]                    # nothing inside the period
    assert eps.loc["e1", "in_period"]                        # started before, counts
    assert eps.loc["e5", "last_score"] == 4                  # the as_of score is excluded
    assert eps.loc["e5", "n_scores"] == 2


def test_suppression_leaves_rates_empty_not_zero(tmp_path):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         pseudonym_key_file=tmp_path / "k")  # min_episodes 10
    r = oc.outcomes_by_clinician(frame(ROWS), cfg).set_index("instrument").loc["PHQ-9"]
    assert r.suppressed and r.episodes == 4
    assert np.isnan(r.reliable_improvement_rate) and np.isnan(r.reliable_improvement_rate_ci_low)
    assert "fewer than 10 episodes" in r.suppression_note
    path = tmp_path / "o.csv"
    oc.outcomes_by_clinician(frame(ROWS), cfg).to_csv(path, index=False)
    text = path.read_text().splitlines()[1]
    assert ",," in text  # empty cells, not zeros


def test_suppression_threshold_is_per_denominator(tmp_path):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         outcomes={"min_episodes": 3}, pseudonym_key_file=tmp_path / "k")
    r = oc.outcomes_by_clinician(frame(ROWS), cfg).set_index("instrument").loc["PHQ-9"]
    assert r.reliable_improvement_rate == pytest.approx(2 / 3)   # 3 paired: shown
    assert np.isnan(r.recovery_rate)                              # 2 at caseness: suppressed
    assert r.suppressed and "recovery" in r.suppression_note


def test_wilson_interval_matches_the_formula():
    # 8 of 10: centre (0.8 + z^2/20) / (1 + z^2/10), half-width z sqrt(.016 + z^2/400) / (...)
    lo, hi = oc.wilson_interval([8], [10])
    assert (lo[0], hi[0]) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    lo, hi = oc.wilson_interval([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_jacobson_truax_worked_example():
    # SD 5, reliability 0.80: SE = 5 sqrt(.2) = 2.236, S_diff = 3.162, 1.96 S_diff = 6.198
    assert oc.reliable_change_index(5, 0.80) == pytest.approx(6.198, abs=1e-3)
    assert oc.reliable_change_statistic(20, 13, 5, 0.80) == pytest.approx(-7 / 3.1623, abs=1e-3)
    with pytest.raises(ValueError):
        oc.reliable_change_index(5, 1.0)


def test_funnel_limits_approach_the_normal_limits():
    lo, hi = oc.funnel_limits(0.5, [10000], 0.95)
    half = 1.959964 * np.sqrt(0.25 / 10000)
    assert lo[0] == pytest.approx(0.5 - half, abs=2e-4)
    assert hi[0] == pytest.approx(0.5 + half, abs=2e-4)
    lo, hi = oc.funnel_limits(0.4, [10, 40, 160], 0.998)
    assert (np.diff(hi) < 0).all() and (np.diff(lo) > 0).all()   # the funnel narrows
    assert (lo <= 0.4).all() and (hi >= 0.4).all()


# Spiegelhalter's (2005) interpolated exact binomial limits computed in R 4 with R's own
# qbinom and pbinom (an independent implementation of the published formula):
#   lim <- function(p0, n, level) sapply(c((1 - level) / 2, 1 - (1 - level) / 2), function(q) {
#     r <- qbinom(q, n, p0)
#     a <- (pbinom(r, n, p0) - q) / (pbinom(r, n, p0) - pbinom(r - 1, n, p0)); (r - a) / n })
R_FUNNEL = [((0.4, 20, 0.95), (0.1629160232, 0.5944065367)),
            ((0.4, 20, 0.998), (0.0577078954, 0.7236202280)),
            ((0.55, 37, 0.95), (0.3751133206, 0.6962050146)),
            ((0.55, 37, 0.998), (0.2813507499, 0.7816107670)),
            ((0.3, 150, 0.998), (0.1852258846, 0.4158725616))]


@pytest.mark.parametrize(("case", "expected"), R_FUNNEL)
def test_funnel_limits_equal_r(case, expected):
    p0, n, level = case
    lo, hi = oc.funnel_limits(p0, [n], level)
    assert (lo[0], hi[0]) == pytest.approx(expected, abs=1e-9)


def test_nhs_combined_definition(cfg1):
    rows = [
        ("a", "X", "PHQ-9", "2026-10-01 10:00", 12), ("a", "X", "PHQ-9", "2026-10-20 10:00", 8),
        ("a", "X", "GAD-7", "2026-10-01 10:00", 9), ("a", "X", "GAD-7", "2026-10-20 10:00", 3),
        ("b", "X", "PHQ-9", "2026-10-01 10:00", 15), ("b", "X", "PHQ-9", "2026-10-20 10:00", 5),
        ("b", "X", "GAD-7", "2026-10-01 10:00", 6), ("b", "X", "GAD-7", "2026-10-20 10:00", 11),
    ]
    eps = oc.classify(oc.episodes(frame(rows), cfg1), cfg1)
    comb = oc.nhs_combined(eps, cfg1).set_index("client_id")
    # a: PHQ 12->8 not reliable, GAD 9->3 reliable; caseness at start; neither at the end
    assert comb.loc["a", ["reliable_improvement", "recovery", "reliable_recovery"]].all()
    # b: PHQ reliably better but GAD reliably worse: deterioration, no improvement; GAD 11 >= 8
    assert comb.loc["b", "reliable_deterioration"] and not comb.loc["b", "reliable_improvement"]
    assert not comb.loc["b", "recovery"]
    prac = oc.outcomes_practice(frame(rows), cfg1).set_index("instrument")
    row = prac.loc["PHQ-9 + GAD-7 (NHS Talking Therapies)"]
    assert (row.episodes, row.recovery_rate, row.national_recovery_rate) == (2, 0.5, 0.5)


def test_not_on_track_against_a_known_curve(tmp_path):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         outcomes={"curve_min_episodes": 5}, pseudonym_key_file=tmp_path / "k")
    rows = []
    start = pd.Timestamp("2026-09-07 10:00")
    for i in range(30):
        intake = 14 + (i % 7)
        for w in range(7):
            wobble = 0.5 if (i + w) % 2 else -0.5
            rows.append((f"c{i}", "X", "PHQ-9", str(start + pd.Timedelta(weeks=w)),
                         round(max(intake - 1.5 * w + wobble, 0))))
    rows += [("stuck", "X", "PHQ-9", str(start + pd.Timedelta(weeks=w)), 18) for w in range(7)]
    rows += [("worse", "X", "PHQ-9", str(start), 10),
             ("worse", "X", "PHQ-9", str(start + pd.Timedelta(weeks=6)), 17)]
    a = frame(rows)
    flagged = oc.not_on_track(a, cfg).set_index("client_id")
    assert flagged.loc["stuck", "reason"] == "behind the expected curve"
    assert flagged.loc["stuck", "expected"] == pytest.approx(18 - 9, abs=1.0)
    assert "reliable deterioration" in flagged.loc["worse", "reason"]
    assert len(flagged) <= 6  # most on-track clients are not flagged


def _simulated(seed: int, clients: int) -> pd.DataFrame:
    """Later scores fall as intake - 3 log(1 + week) with normal noise (sd 2), 8 weekly."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(clients):
        intake = rng.uniform(12, 24)
        start = pd.Timestamp("2026-08-03 10:00") + pd.Timedelta(days=int(rng.integers(0, 40)))
        for w in range(9):
            score = intake if w == 0 else intake - 3 * np.log1p(w) + rng.normal(0, 2)
            rows.append((f"s{seed}-{i}", "X", "PHQ-9", str(start + pd.Timedelta(weeks=w)),
                         score))
    return frame(rows)


def test_the_not_on_track_band_carries_to_new_clients(tmp_path):
    """On the scores it was fitted to, the band holds back 10% by construction; the test is
    whether the curve and band carry to *new* clients from the same process: fitted on 200
    simulated clients, the band should put about 10% of 200 other clients' later scores beyond
    it (1,600 scores: binomial standard error 0.75 points, so 7-13% is four of them). A curve
    predicted on the wrong time scale or a band on the wrong side fails this."""
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         pseudonym_key_file=tmp_path / "k")
    curve = oc.expected_curves(_simulated(1, 200), cfg)["PHQ-9"]
    new = _simulated(2, 200)
    new["intake"] = new.groupby("client_id")["total_score"].transform("first")
    first = new.groupby("client_id")["administered_at"].transform("first")
    new["week"] = (new["administered_at"] - first) / pd.Timedelta(weeks=1)
    later = new[new["week"] > 0]
    limit = curve["fit"].predict(later[["intake", "week"]]).to_numpy() + curve["band"]
    share = float(np.mean(later["total_score"].to_numpy() > limit))
    assert len(later) == 1600
    assert 0.07 <= share <= 0.13
    # the band itself: the 90% quantile of normal noise with sd 2 is 2.56
    assert curve["band"] == pytest.approx(2 * 1.2816, abs=0.3)


def test_item9_flags_list_levels_and_escalation(cfg1):
    rows = [("p", "X", "PHQ-9", "2026-10-02 10:00", 12, 0), ("p", "X", "PHQ-9",
                                                             "2026-10-09 10:00", 14, 2),
            ("q", "Y", "PHQ-9", "2026-10-03 10:00", 9, 1),
            ("q", "Y", "PHQ-9", "2026-09-03 10:00", 9, 3)]  # before the period
    got = oc.item9_flags(frame(rows), cfg1)
    assert got[["clinician_id", "client_id", "response", "escalate"]].values.tolist() == [
        ["X", "p", 2, True], ["Y", "q", 1, False]]
    assert got.response_words.tolist() == ["more than half the days", "several days"]
    assert got.date.tolist() == [dt.date(2026, 10, 9), dt.date(2026, 10, 3)]


def test_alliance_flags(cfg1):
    rows = [("s", "X", "SRS", "2026-10-01 10:00", 38), ("s", "X", "SRS", "2026-10-08 10:00",
                                                        37.5),
            ("s", "X", "SRS", "2026-10-15 10:00", 36.4), ("s", "X", "SRS", "2026-10-22 10:00",
                                                          35.9)]
    got = oc.alliance_flags(frame(rows), cfg1)
    assert got.srs.tolist() == [36.4, 35.9]
    assert got.reason.tolist() == ["1+ points lower than last time", "below 36"]


def test_severity_bands():
    cfg = pk.load_config()
    s = oc.severity(pd.Series([0, 4, 5, 14, 15, 20, 27]), cfg.instruments["PHQ-9"])
    assert s.tolist() == ["minimal", "minimal", "mild", "moderate", "moderately severe",
                          "severe", "severe"]
    assert oc.severity(pd.Series([40]), cfg.instruments["PCL-5"]).tolist() == [""]
