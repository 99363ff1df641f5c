"""Measurement-based-care outcomes (DATA_CONTRACT section 3, "Outcome episode").

An *episode* is one client, one clinician, one instrument: every score of that triple before
``as_of`` (also from before the period). It counts for the period when it has a score inside
the period. Its first and last scores are the earliest and latest; it is *paired* when they fall
on different days (practice-local dates). Each paired episode is classified by the instrument's
caseness cut-off and reliable-change value from the parameters.

Every rate comes with a Wilson interval and is suppressed (left empty, with the reason) when its
denominator is below ``outcomes.min_episodes``. Clinicians are compared only through funnel
plots (each rate against its number of episodes, with control limits around the practice rate),
never by ranking.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from .config import Config, InstrumentConfig
from .contract import ITEM9_WORDS, TYPICAL_MIN_SCORES

__all__ = [
    "SIGNALS",
    "EFFECT_SIDES",
    "effect_sides",
    "outcome_instruments",
    "severity",
    "episodes",
    "classify",
    "classified_episodes",
    "RATES",
    "outcome_rates",
    "outcomes_by_clinician",
    "outcomes_practice",
    "nhs_combined",
    "reliable_change_index",
    "reliable_change_statistic",
    "wilson_interval",
    "funnel_limits",
    "funnel_points",
    "expected_curves",
    "not_on_track",
    "item9_flags",
    "ITEM9_FLAG_COLUMNS",
    "alliance_flags",
    "CONTRACT_COLUMNS",
    "funnel_lines",
    "score_trajectories",
    "typical_course",
    "item9_coverage",
]

EPISODE = ["client_id", "clinician_id", "instrument"]

CONTRACT_COLUMNS = [
    "clinician_id", "instrument", "episodes", "paired_episodes", "paired_completeness",
    "caseness_episodes", "reliable_improvement_rate", "reliable_deterioration_rate",
    "recovery_rate", "reliable_recovery_rate", "suppressed",
]

# rate name -> (numerator flag, denominator flag)
RATES = {
    "paired_completeness": ("paired", "episode"),
    "reliable_improvement_rate": ("reliable_improvement", "paired"),
    "reliable_deterioration_rate": ("reliable_deterioration", "paired"),
    "recovery_rate": ("recovery", "caseness_paired"),
    "reliable_recovery_rate": ("reliable_recovery", "caseness_paired"),
    "response_rate": ("response", "response_eligible"),
    "remission_rate": ("remission", "remission_eligible"),
}

# ITEM9_WORDS (item 9 answers in words) is perfkit.contract's


def outcome_instruments(cfg: Config) -> dict[str, InstrumentConfig]:
    """The instruments that measure outcomes (all but the SRS, which measures the alliance)."""
    return {k: v for k, v in cfg.instruments.items() if v.outcome}


def severity(scores: pd.Series, inst: InstrumentConfig) -> pd.Series:
    """Severity label of each score from the instrument's published bands (empty if none)."""
    if not inst.severity_bands:
        return pd.Series("", index=scores.index)
    lows = [lo for lo, _ in inst.severity_bands]
    labels = np.array([lab for _, lab in inst.severity_bands], dtype=object)
    pos = np.searchsorted(lows, scores.to_numpy(dtype=float), side="right") - 1
    return pd.Series(np.where(pos >= 0, labels[np.clip(pos, 0, None)], ""), index=scores.index)


def _window(cfg: Config) -> tuple[pd.Timestamp, pd.Timestamp]:
    tz = cfg.timezone
    return (pd.Timestamp(cfg.period_start).tz_localize(tz),
            pd.Timestamp(cfg.period_end).tz_localize(tz))


def episodes(assessments: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """One row per client, clinician and outcome instrument with a score before ``as_of``.

    Columns: first_at, first_score, last_at, last_score, n_scores, paired (first and last on
    different local days), in_period (a score inside the period).
    """
    start, as_of = _window(cfg)
    a = assessments[(assessments["administered_at"] < as_of)
                    & assessments["instrument"].isin(list(outcome_instruments(cfg)))]
    a = a.sort_values("administered_at", kind="stable")
    g = a.groupby(EPISODE, sort=True, observed=True)
    out = pd.DataFrame({
        "first_at": g["administered_at"].first(),
        "first_score": g["total_score"].first(),
        "last_at": g["administered_at"].last(),
        "last_score": g["total_score"].last(),
        "n_scores": g.size(),
        "in_period": g["administered_at"].max() >= start,
    }).reset_index()
    out["paired"] = out["first_at"].dt.normalize() != out["last_at"].dt.normalize()
    return out


def classify(eps: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Add caseness, change and the classifications to each episode (DATA_CONTRACT section 3).

    Notes
    -----
    ``improvement`` is the change in the better direction (first - last for lower-is-better,
    last - first for the ORS). Reliable improvement / deterioration: improvement of at least the
    reliable-change value in the better / worse direction, on paired episodes. At caseness:
    score >= caseness (lower-is-better) or score < caseness (ORS). Recovery: at caseness first
    and not last, among paired episodes at caseness first; reliable recovery: recovery and
    reliable improvement (docs/references.md [NHSTT]). Response: a
    reduction of at least ``response_reduction`` (50%) of the first score, and remission: a last
    score below ``remission_below`` (PHQ-9 and GAD-7: 5); both among paired episodes at
    caseness first (docs/references.md [Kaiser2020]).
    """
    out = eps.copy()
    cols = {k: np.zeros(len(out), dtype=bool) for k in (
        "caseness_first", "caseness_last", "reliable_improvement", "reliable_deterioration",
        "response_eligible", "response", "remission_eligible", "remission")}
    improvement = np.full(len(out), np.nan)
    for name, inst in outcome_instruments(cfg).items():
        rows = (out["instrument"] == name).to_numpy()
        first = out["first_score"].to_numpy(dtype=float)
        last = out["last_score"].to_numpy(dtype=float)
        if inst.better == "lower":
            imp = first - last
            case_f, case_l = first >= inst.caseness, last >= inst.caseness
        else:
            imp = last - first
            case_f, case_l = first < inst.caseness, last < inst.caseness
        improvement[rows] = imp[rows]
        cols["caseness_first"][rows] = case_f[rows]
        cols["caseness_last"][rows] = case_l[rows]
        if inst.reliable_change is not None:
            cols["reliable_improvement"][rows] = (imp >= inst.reliable_change)[rows]
            cols["reliable_deterioration"][rows] = (-imp >= inst.reliable_change)[rows]
        if inst.better == "lower":
            eligible = case_f & (first > 0)
            cols["response_eligible"][rows] = eligible[rows]
            with np.errstate(invalid="ignore", divide="ignore"):
                cols["response"][rows] = (eligible & (imp / np.where(first > 0, first, 1)
                                                      >= cfg.outcomes.response_reduction))[rows]
        if inst.remission_below is not None:
            cols["remission_eligible"][rows] = case_f[rows]
            cols["remission"][rows] = (case_f & (last < inst.remission_below))[rows]
    paired = out["paired"].to_numpy(dtype=bool)
    out["improvement"] = improvement
    for k, v in cols.items():
        out[k] = v & paired if k not in ("caseness_first", "caseness_last") else v
    out["episode"] = True
    out["caseness_paired"] = paired & out["caseness_first"].to_numpy()
    out["recovery"] = out["caseness_paired"] & ~out["caseness_last"]
    out["reliable_recovery"] = out["recovery"] & out["reliable_improvement"]
    return out


def wilson_interval(count, nobs, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for proportions (statsmodels' ``proportion_confint``)."""
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    safe = np.where(nobs > 0, nobs, 1)
    lo, hi = proportion_confint(count, safe, alpha=1 - level, method="wilson")
    return np.where(nobs > 0, lo, np.nan), np.where(nobs > 0, hi, np.nan)


def outcome_rates(classified: pd.DataFrame, by: list[str], cfg: Config) -> pd.DataFrame:
    """Counts, rates, Wilson intervals and suppression for each group of episodes.

    A rate whose denominator is below ``outcomes.min_episodes`` is empty (so are its interval
    bounds); ``suppressed`` is True when any rate of the row is, and ``suppression_note`` says
    which and why.
    """
    flags = sorted({f for pair in RATES.values() for f in pair})
    g = classified.groupby(by, sort=True, observed=True)[flags].sum()
    out = pd.DataFrame(index=g.index)
    out["episodes"] = g["episode"].astype("int64")
    out["paired_episodes"] = g["paired"].astype("int64")
    out["caseness_episodes"] = g["caseness_paired"].astype("int64")
    min_n = cfg.outcomes.min_episodes
    notes = [[] for _ in range(len(out))]
    for rate, (num, den) in RATES.items():
        n = g[den].to_numpy(dtype=float)
        k = g[num].to_numpy(dtype=float)
        lo, hi = wilson_interval(k, n, cfg.outcomes.confidence)
        value = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        small = n < min_n
        applicable = g[den].to_numpy() > 0
        for i in np.flatnonzero(small & applicable):
            notes[i].append(rate.removesuffix("_rate"))
        out[rate] = np.where(small, np.nan, value)
        out[f"{rate}_ci_low"] = np.where(small, np.nan, lo)
        out[f"{rate}_ci_high"] = np.where(small, np.nan, hi)
    out["suppressed"] = [bool(n) for n in notes]
    out["suppression_note"] = [
        f"fewer than {min_n} episodes for: {', '.join(n)}" if n else "" for n in notes]
    return out.reset_index()


def classified_episodes(assessments: pd.DataFrame, cfg: Config,
                        classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every episode before ``as_of``, classified. The table functions below accept these
    precomputed (``classified=``) so a run classifies the episodes once, not once per table."""
    return classified if classified is not None else classify(episodes(assessments, cfg), cfg)


def _period_episodes(assessments: pd.DataFrame, cfg: Config,
                     classified: pd.DataFrame | None = None) -> pd.DataFrame:
    eps = classified_episodes(assessments, cfg, classified)
    return eps[eps["in_period"]]


def outcomes_by_clinician(assessments: pd.DataFrame, cfg: Config,
                          alerts: pd.DataFrame | None = None, *,
                          classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """``tables/outcomes_by_clinician.csv``: DATA_CONTRACT's fixed columns first, then the
    intervals, response and remission, and the count of clients not on track. An owner's
    table: no item 9 counts (those belong to the clinician and their supervisor only,
    :func:`item9_flags`)."""
    rates = outcome_rates(_period_episodes(assessments, cfg, classified),
                          ["clinician_id", "instrument"], cfg)
    rates["not_on_track"] = 0
    if alerts is not None and len(alerts):
        n = alerts.groupby(["clinician_id", "instrument"]).size().rename("n")
        rates["not_on_track"] = rates.join(n, on=["clinician_id", "instrument"])["n"] \
            .fillna(0).astype("int64")
    rest = [c for c in rates.columns if c not in CONTRACT_COLUMNS]
    return rates[CONTRACT_COLUMNS + rest]


def nhs_combined(classified: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Episodes on the NHS Talking Therapies combined definition (PHQ-9 with GAD-7).

    Notes
    -----
    One row per client and clinician with a paired PHQ-9 and a paired GAD-7 episode. At
    caseness at the start when at caseness on either; recovered when at caseness at the start
    and on neither at the end. Reliable improvement: at least one measure reliably improved and
    neither reliably deteriorated; reliable deterioration: either did (the CORC formulation,
    docs/references.md [NHSTT]). Reliable recovery: recovered and reliably
    improved.
    """
    key = ["client_id", "clinician_id"]
    cols = ["paired", "caseness_first", "caseness_last", "reliable_improvement",
            "reliable_deterioration"]
    phq = classified[classified["instrument"] == "PHQ-9"].set_index(key)[cols + ["in_period"]]
    gad = classified[classified["instrument"] == "GAD-7"].set_index(key)[cols]
    both = phq.add_suffix("_phq").join(gad.add_suffix("_gad"), how="inner")
    out = pd.DataFrame(index=both.index)
    out["instrument"] = "PHQ-9 + GAD-7 (NHS Talking Therapies)"
    out["in_period"] = both["in_period_phq"]
    out["episode"] = True
    out["paired"] = both["paired_phq"] & both["paired_gad"]
    start_case = both["caseness_first_phq"] | both["caseness_first_gad"]
    end_case = both["caseness_last_phq"] | both["caseness_last_gad"]
    det = both["reliable_deterioration_phq"] | both["reliable_deterioration_gad"]
    imp = (both["reliable_improvement_phq"] | both["reliable_improvement_gad"]) & ~det
    out["caseness_paired"] = out["paired"] & start_case
    out["reliable_improvement"] = out["paired"] & imp
    out["reliable_deterioration"] = out["paired"] & det
    out["recovery"] = out["caseness_paired"] & ~end_case
    out["reliable_recovery"] = out["recovery"] & out["reliable_improvement"]
    for k in ("response", "response_eligible", "remission", "remission_eligible"):
        out[k] = False
    return out.reset_index()


def outcomes_practice(assessments: pd.DataFrame, cfg: Config, *,
                      classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """``tables/outcomes_practice.csv``: the same KPIs for the whole practice, per instrument
    and on the NHS Talking Therapies combined definition, with the national recovery rate as
    context (not a target for individuals)."""
    eps = classified_episodes(assessments, cfg, classified)
    per = eps[eps["in_period"]]
    combined = nhs_combined(eps, cfg)
    combined = combined[combined["in_period"]]
    rows = pd.concat([outcome_rates(per, ["instrument"], cfg),
                      outcome_rates(combined, ["instrument"], cfg)], ignore_index=True)
    rows["clinicians"] = [per.loc[per.instrument == i, "clinician_id"].nunique()
                          if i in set(per.instrument) else
                          combined["clinician_id"].nunique() for i in rows["instrument"]]
    rows["national_recovery_rate"] = np.where(
        rows["instrument"].str.startswith("PHQ-9 + GAD-7"), cfg.outcomes.national_recovery_rate,
        np.nan)
    return rows


# --------------------------------------------------------------------------------------------
# Reliable change (Jacobson & Truax 1991)
# --------------------------------------------------------------------------------------------


def reliable_change_index(sd: float, reliability: float, z: float = 1.96) -> float:
    """Smallest reliable change in raw points: ``z * S_diff``.

    Notes
    -----
    Standard error of measurement ``SE = sd * sqrt(1 - r)``; standard error of the difference
    ``S_diff = sqrt(2 * SE**2)`` (Jacobson & Truax 1991, with the sqrt(2) of Christensen &
    Mendoza 1986). Use the baseline (clinical) SD and a test-retest or internal-consistency
    reliability. Worked example: SD 5, r 0.80 gives SE 2.24, S_diff 3.16 and 6.2 points.
    """
    if not 0 <= reliability < 1:
        raise ValueError("reliability must be at least 0 and below 1")
    if sd <= 0:
        raise ValueError("sd must be positive")
    return float(z * np.sqrt(2.0) * sd * np.sqrt(1.0 - reliability))


def reliable_change_statistic(pre, post, sd: float, reliability: float):
    """Jacobson-Truax RC = (post - pre) / S_diff; |RC| > 1.96 is reliable at p < .05."""
    s_diff = np.sqrt(2.0) * sd * np.sqrt(1.0 - reliability)
    return (np.asarray(post, dtype=float) - np.asarray(pre, dtype=float)) / s_diff


# --------------------------------------------------------------------------------------------
# Funnel plots (Spiegelhalter 2005)
# --------------------------------------------------------------------------------------------


def funnel_limits(p0: float, n, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper control limits for a proportion with ``n`` cases around ``p0``.

    Notes
    -----
    Exact binomial limits with the interpolation of Spiegelhalter (2005, Stat Med 24:1185,
    appendix): for tail probability ``q``, ``r`` is the ``q`` quantile of Binomial(n, p0),
    ``alpha = (F(r) - q) / (F(r) - F(r - 1))`` and the limit is ``(r - alpha) / n``. For large
    ``n`` this approaches ``p0 +/- z * sqrt(p0 (1 - p0) / n)``.
    """
    n = np.asarray(n, dtype=float)
    out = []
    for q in ((1 - level) / 2, 1 - (1 - level) / 2):
        r = stats.binom.ppf(q, n, p0)
        f_r = stats.binom.cdf(r, n, p0)
        f_r1 = stats.binom.cdf(r - 1, n, p0)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(f_r > f_r1, (f_r - q) / (f_r - f_r1), 0.0)
            limit = np.where(n > 0, (r - alpha) / np.where(n > 0, n, 1), np.nan)
        out.append(np.clip(limit, 0, 1))
    return out[0], out[1]


# The funnel's signal codes: where a clinician's rate lies against the control limits
SIGNALS = ("within", "above_inner", "above_outer", "below_inner", "below_outer", "too_few")

EFFECT_SIDES = ("better", "worse", "within")


def effect_sides(effects: pd.DataFrame, better: str = "lower") -> pd.DataFrame:
    """``effects`` with ``side``, where a clinician's 95% interval lies against zero (the
    practice average), read with the instrument's direction (``better``: ``lower`` or
    ``higher`` scores are better): ``better`` (wholly on the improving side: scores fell
    faster than the practice's where lower is better), ``worse`` (wholly on the other),
    ``within`` (it includes zero); empty without an estimate."""
    if effects.empty and "effect" not in effects:
        return effects
    below, above = effects["ci_high"] < 0, effects["ci_low"] > 0
    side = np.where(below | above, np.where(below == (better == "lower"), "better", "worse"),
                    "within")
    return effects.assign(side=np.where(effects["effect"].isna(), None, side))


def funnel_points(assessments: pd.DataFrame, cfg: Config, *,
                  classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each clinician's reliable-improvement rate against their paired episodes, with the
    practice rate and the control limits at that volume (Spiegelhalter 2005).

    This replaces any ranking: a point inside the limits is consistent with the practice rate
    given how few episodes it rests on. The practice rate uses every paired episode; a
    clinician with fewer than ``min_episodes`` paired episodes gets no point (the same
    suppression as the outcome tables). ``signal`` is a code (:data:`SIGNALS`): ``within``,
    ``above_inner`` / ``below_inner`` (outside the inner limits, ``funnel_levels[0]``, 95%),
    ``above_outer`` / ``below_outer`` (outside the outer ones, 99.8%) or ``too_few`` (no
    point); :mod:`perfkit.report.outcome_words` words it.
    """
    eps = _period_episodes(assessments, cfg, classified)
    g = eps.groupby(["instrument", "clinician_id"], observed=True)[
        ["paired", "reliable_improvement"]].sum().reset_index()
    cols = ["instrument", "clinician_id", "paired_episodes", "reliable_improvement_rate",
            "practice_rate", "lower_95", "upper_95", "lower_998", "upper_998", "signal"]
    rows = []
    lvl95, lvl998 = cfg.outcomes.funnel_levels
    for inst, grp in g.groupby("instrument", sort=True):
        n = grp["paired"].to_numpy(dtype=float)
        k = grp["reliable_improvement"].to_numpy(dtype=float)
        if n.sum() == 0:
            continue
        p0 = k.sum() / n.sum()
        shown = n >= cfg.outcomes.min_episodes
        rate = np.where(shown, k / np.where(n > 0, n, 1), np.nan)
        l1, u1 = funnel_limits(p0, n, lvl95)
        l2, u2 = funnel_limits(p0, n, lvl998)
        signal = np.select([rate > u2, rate > u1, rate < l2, rate < l1],
                           ["above_outer", "above_inner", "below_outer", "below_inner"],
                           default="within")
        signal = np.where(shown, signal, "too_few")
        rows.append(pd.DataFrame({
            "instrument": inst, "clinician_id": grp["clinician_id"].to_numpy(),
            "paired_episodes": n.astype(int), "reliable_improvement_rate": rate,
            "practice_rate": p0, "lower_95": l1, "upper_95": u1, "lower_998": l2,
            "upper_998": u2, "signal": signal,
        }))
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


# --------------------------------------------------------------------------------------------
# Not on track: expected-recovery curves from the practice's own data
# --------------------------------------------------------------------------------------------


def _scores_with_intake(assessments: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    _, as_of = _window(cfg)
    a = assessments[(assessments["administered_at"] < as_of)
                    & assessments["instrument"].isin(list(outcome_instruments(cfg)))]
    a = a.sort_values("administered_at", kind="stable")
    g = a.groupby(EPISODE, observed=True)
    a = a.assign(intake=g["total_score"].transform("first"),
                 first_at=g["administered_at"].transform("first"))
    a["week"] = (a["administered_at"] - a["first_at"]) / pd.Timedelta(weeks=1)
    return a


def expected_curves(assessments: pd.DataFrame, cfg: Config) -> dict[str, dict]:
    """Fit, per instrument, the expected score by week given the intake score.

    Notes
    -----
    Ordinary least squares (statsmodels) on every later score of every episode before
    ``as_of``: ``score ~ intake * log1p(week)``, so the expected score starts at the intake
    score's level and bends toward a plateau, faster or slower by intake severity. The band is
    the ``not_on_track_quantile`` (90%) quantile of the residuals (the 10% quantile for the
    ORS, where higher is better): a later score beyond it is worse than nine in ten of the
    practice's own scores at that intake and week. Proprietary systems (OQ-Analyst, PCOMS) give
    such curves only for their own instruments; this gives them for PHQ-9, GAD-7, PCL-5 and ORS
    from the practice's data. The curve includes each clinician's own clients.
    """
    a = _scores_with_intake(assessments, cfg)
    later = a[a["week"] > 0]
    curves = {}
    for name, inst in outcome_instruments(cfg).items():
        d = later[later["instrument"] == name]
        if d.groupby(["client_id", "clinician_id"]).ngroups < cfg.outcomes.curve_min_episodes:
            continue
        fit = smf.ols("total_score ~ intake * np.log1p(week)", data=d).fit()
        q = cfg.outcomes.not_on_track_quantile
        resid = fit.resid.to_numpy()
        band = float(np.quantile(resid, q if inst.better == "lower" else 1 - q))
        curves[name] = {"fit": fit, "band": band, "better": inst.better, "n_scores": len(d),
                        "assessment_alert_rate": float(np.mean(resid > band)
                                                       if inst.better == "lower"
                                                       else np.mean(resid < band))}
    return curves


def not_on_track(assessments: pd.DataFrame, cfg: Config,
                 curves: dict[str, dict] | None = None, *,
                 classified: pd.DataFrame | None = None) -> pd.DataFrame:
    """Episodes of the period whose latest score is off track.

    An episode is listed when its latest score lies beyond the expected-recovery band for its
    intake score and week (above it, or below it for the ORS), or when it shows reliable
    deterioration. Only paired episodes with a score inside the period are considered.
    """
    curves = expected_curves(assessments, cfg) if curves is None else curves
    eps = classified_episodes(assessments, cfg, classified)
    eps = eps[eps["in_period"] & eps["paired"]].copy()
    eps["week"] = (eps["last_at"] - eps["first_at"]) / pd.Timedelta(weeks=1)
    eps["expected"] = np.nan
    eps["band_limit"] = np.nan
    for name, c in curves.items():
        rows = eps["instrument"] == name
        if not rows.any():
            continue
        pred = c["fit"].predict(pd.DataFrame({"intake": eps.loc[rows, "first_score"],
                                              "week": eps.loc[rows, "week"]}))
        eps.loc[rows, "expected"] = pred.to_numpy()
        eps.loc[rows, "band_limit"] = pred.to_numpy() + c["band"]
    lower_better = eps["instrument"].map(
        {k: v.better == "lower" for k, v in cfg.instruments.items()}).astype(bool)
    beyond = np.where(lower_better, eps["last_score"] > eps["band_limit"],
                      eps["last_score"] < eps["band_limit"])
    beyond &= eps["band_limit"].notna().to_numpy()
    det = eps["reliable_deterioration"].to_numpy()
    eps["reason"] = np.select([beyond & det, beyond, det],
                              ["behind the expected curve; reliable deterioration",
                               "behind the expected curve", "reliable deterioration"],
                              default="")
    out = eps[eps["reason"] != ""]
    cols = ["clinician_id", "client_id", "instrument", "first_at", "first_score", "last_at",
            "last_score", "week", "expected", "band_limit", "reason"]
    out = out[cols].sort_values(["clinician_id", "instrument", "last_at"], ignore_index=True)
    out["first_at"] = out["first_at"].dt.date
    out["last_at"] = out["last_at"].dt.date
    return out


ITEM9_FLAG_COLUMNS = ["clinician_id", "client_id", "date", "response", "response_words",
                      "escalate", "session_start", "session_start_from", "followup"]


def item9_flags(assessments: pd.DataFrame, cfg: Config,
                appointments: pd.DataFrame | None = None) -> pd.DataFrame:
    """PHQ-9 administrations in the period with item 9 above 0, for the treating clinician:
    one row per administration, with what the clinician needs to find the session in the EHR.

    Columns: ``clinician_id, client_id, date`` (local), ``response`` (1-3),
    ``response_words``, ``escalate``, ``session_start`` (local ``YYYY-MM-DD HH:MM``, or the
    date alone when no time is known), ``session_start_from`` (``appointment``: the start of
    that client's appointment with that clinician on that local day, an attended one first,
    then the nearest in time; ``administered_at``: the score's own time, when it is not
    midnight; ``date only``), ``followup`` (``yes``/``no`` from the export's optional
    ``item9_followup`` column, or ``unclear`` when its value could not be read; empty when
    the export has no such column, so follow-up is not known).

    Notes
    -----
    Any non-zero response to item 9 ("thoughts that you would be better off dead, or of hurting
    yourself") calls for a same-day review; ``escalate`` marks responses at or above
    ``item9_escalate_at`` (more than half the days). Item 9 misses most later suicides (71.6%
    answered "not at all" in Louzon et al. 2016), so it must never be the only risk screen
    (docs/references.md [PHQ9item9]). The rows belong to the treating clinician and their
    supervisor only: practice-level outputs carry none of them, not even counts per clinician.
    """
    start, as_of = _window(cfg)
    if "item_9" not in assessments:
        return pd.DataFrame(columns=ITEM9_FLAG_COLUMNS)
    a = assessments[(assessments["instrument"] == "PHQ-9")
                    & (assessments["administered_at"] >= start)
                    & (assessments["administered_at"] < as_of)
                    & (assessments["item_9"] > 0)]
    at = a["administered_at"].dt.tz_convert(cfg.timezone)
    out = pd.DataFrame({
        "clinician_id": a["clinician_id"].to_numpy(),
        "client_id": a["client_id"].to_numpy(),
        "date": at.dt.date.to_numpy(),
        "response": a["item_9"].astype(int).to_numpy(),
    })
    out["response_words"] = out["response"].map(ITEM9_WORDS)
    out["escalate"] = out["response"] >= cfg.outcomes.item9_escalate_at
    session = _session_starts(a, at, appointments, cfg)
    timed = (at.dt.hour + at.dt.minute + at.dt.second > 0).to_numpy()
    own = at.dt.strftime("%Y-%m-%d %H:%M").to_numpy()
    out["session_start"] = np.where(session.notna(), session.fillna(""),
                                    np.where(timed, own, at.dt.strftime("%Y-%m-%d")))
    out["session_start_from"] = np.where(session.notna(), "appointment",
                                         np.where(timed, "administered_at", "date only"))
    # the export gives follow-up when the column holds a value anywhere (a column present but
    # empty throughout is not provided); then an empty cell is "not recorded"
    if "item9_followup" in assessments and assessments["item9_followup"].notna().any():
        out["followup"] = a["item9_followup"].fillna("no").to_numpy()  # yes, no or unclear
    else:  # the export has no follow-up column: not known, never "no"
        out["followup"] = None
    return out.sort_values(["clinician_id", "session_start"], ignore_index=True,
                           kind="stable")[ITEM9_FLAG_COLUMNS]


def _session_starts(a: pd.DataFrame, at: pd.Series, appointments: pd.DataFrame | None,
                    cfg: Config) -> pd.Series:
    """For each administration of ``a`` (in order; ``at``: its local times), the local start
    (``YYYY-MM-DD HH:MM``) of the same client's appointment with the same clinician on the same
    local day: an attended one first, then the one nearest the administration's time, then the
    earliest; missing when there is none (appointments with a date only do not count: they
    have no time)."""
    none = pd.Series([None] * len(a), dtype=object)
    if appointments is None or appointments.empty or a.empty:
        return none
    ap = appointments
    if "start_date_only" in ap:
        ap = ap[~ap["start_date_only"].astype(bool)]
    # only the flagged clients' appointments are converted (the same matches, less work)
    ap = ap.loc[ap["client_id"].isin(a["client_id"]),
                ["clinician_id", "client_id", "start", "status"]].copy()
    ap["start"] = ap["start"].dt.tz_convert(cfg.timezone)
    ap["day"] = ap["start"].dt.date
    at = at.reset_index(drop=True)
    left = pd.DataFrame({"row": np.arange(len(a)), "clinician_id": a["clinician_id"].to_numpy(),
                         "client_id": a["client_id"].to_numpy(), "at": at, "day": at.dt.date})
    m = left.merge(ap, on=["clinician_id", "client_id", "day"], how="inner")
    if m.empty:
        return none
    m["_other"] = m["status"] != "attended"
    m["_gap"] = (m["start"] - m["at"]).abs()
    best = m.sort_values(["row", "_other", "_gap", "start"], kind="stable") \
        .drop_duplicates("row").set_index("row")["start"]
    none.iloc[best.index.to_numpy()] = best.dt.strftime("%Y-%m-%d %H:%M").to_numpy()
    return none


def alliance_flags(assessments: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """SRS administrations in the period below the alliance cut-off (36), or at least
    ``srs_drop_points`` (1) below the client's previous SRS with the same clinician (PCOMS and
    OpenFIT's alerts; docs/references.md [Duncan2003])."""
    start, as_of = _window(cfg)
    inst = cfg.instruments["SRS"]
    a = assessments[(assessments["instrument"] == "SRS") & (assessments["administered_at"] < as_of)]
    a = a.sort_values("administered_at", kind="stable")
    prev = a.groupby(["client_id", "clinician_id"])["total_score"].shift()
    a = a.assign(previous=prev)
    a = a[a["administered_at"] >= start]
    low = a["total_score"] < inst.caseness
    drop = a["total_score"] <= a["previous"] - cfg.outcomes.srs_drop_points
    out = a[low | drop]
    return pd.DataFrame({
        "clinician_id": out["clinician_id"].to_numpy(), "client_id": out["client_id"].to_numpy(),
        "date": out["administered_at"].dt.date.to_numpy(), "srs": out["total_score"].to_numpy(),
        "previous": out["previous"].to_numpy(),
        "reason": np.where(low[low | drop], f"below {inst.caseness:g}",
                           f"{cfg.outcomes.srs_drop_points:g}+ points lower than last time"),
    })


# --------------------------------------------------------------------------------------------
# What the outcome figures draw (tables the reports read: funnel_lines, trajectories,
# trajectory_medians, item9_coverage)
# --------------------------------------------------------------------------------------------

FUNNEL_LINE_COLUMNS = ["instrument", "level", "paired_episodes", "lower", "upper"]


def funnel_lines(funnel: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """``tables/funnel_lines.csv``: the funnel figure's control limits (:func:`funnel_limits`)
    around each instrument's practice rate (``funnel.practice_rate``), at each level of
    ``outcomes.funnel_levels``, for every number of clients from 5 to the figure's right edge
    (15% past the most clients a clinician has, at least 20). One row per instrument, level
    and number of clients."""
    parts = []
    for inst, f in funnel.groupby("instrument", sort=False):
        if f.empty:
            continue
        p0 = float(f["practice_rate"].iloc[0])
        nmax = max(int(f["paired_episodes"].max() * 1.15), 20)
        grid = np.arange(5, nmax + 1)
        for level in cfg.outcomes.funnel_levels:
            lo, hi = funnel_limits(p0, grid, level)
            parts.append(pd.DataFrame({"instrument": inst, "level": level,
                                       "paired_episodes": grid, "lower": lo, "upper": hi}))
    return pd.concat(parts, ignore_index=True)[FUNNEL_LINE_COLUMNS] if parts else \
        pd.DataFrame(columns=FUNNEL_LINE_COLUMNS)


TRAJECTORY_COLUMNS = ["clinician_id", "instrument", "client_id", "week", "total_score"]
TYPICAL_COLUMNS = ["clinician_id", "instrument", "week", "median_score", "scores"]


def score_trajectories(assessments: pd.DataFrame, cfg: Config, *, start=None, end=None
                       ) -> pd.DataFrame:
    """``tables/trajectories.csv``: each clinician's clients' scores over time, one row per
    score before ``period_end`` (``start`` and ``end``, dates both included, keep only the
    scores between them: the explorer's weeks), oldest first: the client (pseudonymous), the
    weeks since the client's first score with that clinician on that instrument (among those
    kept) and the score. Client rows: the run record's, never the owner's."""
    if assessments.empty:
        return pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    tz = cfg.timezone
    as_of = pd.Timestamp(cfg.period_end).tz_localize(tz)
    if end is not None:
        as_of = min(as_of, pd.Timestamp(end).tz_localize(tz) + pd.Timedelta(days=1))
    a = assessments[assessments["administered_at"] < as_of]
    if start is not None:
        a = a[a["administered_at"] >= pd.Timestamp(start).tz_localize(tz)]
    parts = []
    for (cid, inst), g in a.groupby(["clinician_id", "instrument"], sort=True):
        g = g.sort_values("administered_at")
        first = g.groupby("client_id")["administered_at"].transform("first")
        parts.append(pd.DataFrame({
            "clinician_id": cid, "instrument": inst, "client_id": g["client_id"].to_numpy(),
            "week": ((g["administered_at"] - first) / pd.Timedelta(weeks=1)).to_numpy(),
            "total_score": g["total_score"].to_numpy()}))
    return pd.concat(parts, ignore_index=True)[TRAJECTORY_COLUMNS] if parts else \
        pd.DataFrame(columns=TRAJECTORY_COLUMNS)


def typical_course(trajectories: pd.DataFrame) -> pd.DataFrame:
    """``tables/trajectory_medians.csv``: each clinician's clients' typical course on each
    instrument, from :func:`score_trajectories`: the median score of each whole week since the
    clients' first scores (weeks rounded), only where at least
    :data:`perfkit.contract.TYPICAL_MIN_SCORES` (5) scores fall in the week (``scores``: how
    many)."""
    if trajectories.empty:
        return pd.DataFrame(columns=TYPICAL_COLUMNS)
    t = trajectories.assign(week=trajectories["week"].astype(float).round())
    by = t.groupby(["clinician_id", "instrument", "week"], sort=True)["total_score"]
    out = pd.DataFrame({"median_score": by.median(), "scores": by.size()}).reset_index()
    return out[out["scores"] >= TYPICAL_MIN_SCORES][TYPICAL_COLUMNS].reset_index(drop=True)


def item9_coverage(assessments: pd.DataFrame) -> pd.DataFrame:
    """``tables/item9_coverage.csv``: for each clinician with PHQ-9 scores, whether the export
    gives an item 9 answer on any of them (``item9_in_export``): an export of totals only does
    not, and then "no answer above zero" is a claim the reports cannot make."""
    a = assessments[assessments["instrument"] == "PHQ-9"] if len(assessments) else assessments
    if a.empty:
        return pd.DataFrame(columns=["clinician_id", "item9_in_export"])
    given = a["item_9"].notna() if "item_9" in a else pd.Series(False, index=a.index)
    out = given.groupby(a["clinician_id"].astype(str)).any()
    return pd.DataFrame({"clinician_id": out.index, "item9_in_export": out.to_numpy()})
