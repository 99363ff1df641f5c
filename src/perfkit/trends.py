"""Trend labels from the weekly series, by statistical-process-control rules.

A clinician's weekly series of a metric is read as an XmR (individuals and moving range) chart
(Wheeler; NHS "Making Data Count"), against a **baseline**: the weeks before the latest
``trends.recent_weeks`` (6), at most ``trends.baseline_weeks`` (26) of them. The baseline's
centre line is its mean and its natural process limits are the centre +/- 2.66 times its mean
moving range; moving ranges above 3.268 times the mean are left out of that mean once (Wheeler's
screen, so one holiday week does not widen the limits) and the centre is the mean of the
baseline weeks within the limits. A series that has changed is therefore read against where it
was, not against an average that already contains the change. Four rules, each reaching the
**latest** week, so the label says where the clinician is now:

- *beyond the limits*: the latest ``trends.beyond_points`` (2) weeks all beyond the same
  baseline limit;
- *level*: the mean of the recent weeks beyond the limits for a mean of that many weeks,
  centre +/- 2.66 x mean moving range / sqrt(weeks) (a single unusual week, below, left out);
- *shift*: ``trends.shift_run`` (7) or more points in a row on one side of the baseline centre;
- *trend*: ``trends.trend_run`` (6) or more rises in a row, or falls in a row (a point equal
  to the one before ends the run).

A single week beyond the limits with no other week beyond the same limit within
``trends.recent_weeks`` weeks either side is an *unusual week* (a holiday, a week of leave not
recorded as time off): it is not a label and it is left out of the
recent mean and of the averages the sentence beside a trend gives. Rules pointing in opposite
directions are settled by the direction of the sentence's change (below), else ``stable``.

**Short series.** ``trends.min_weeks`` (12) or more weekly points use the rules above. From
``trends.short_min_weeks`` (6) up to 11 points the least-squares slope over those weeks names a
direction when it is worth more than ``trends.short_band`` (5%) of the series' mean per quarter
(13 weeks; a tool choice, not from a source: docs/references.md [SPC]) *and* is at least
``trends.short_t`` (2.5) standard errors from zero; otherwise the label is ``not enough data``
(too few weeks to call a series steady). Fewer than 6 points: ``not enough data``.

**The sentence and the label agree.** The reports say each series as "from X to Y over the last
12 weeks": :class:`Reading`'s ``start`` and ``end``, averages of ``trends.words_end_weeks`` (6,
at most half the weeks) weeks at each end of the last ``trends.words_weeks`` (12), unusual weeks
left out. The label is built from the same X and Y: when Y - X is larger than the margin
(``trends.margin_points``, 15 percentage points, for shares; ``trends.margin_share``, 30% of the
larger end but at least ``trends.margin_count`` (2), for counts and hours) the label is that
direction whatever the rules say; a rule's label needs Y - X to go its way and to be at least
``trends.min_change`` (half) of the margin, else the series reads ``stable`` (``not enough
data`` when short). So "no clear change" (the words for ``stable``) never stands beside a
change larger than the margin, and "rising" never beside a fall.

Rising is ``growing``; falling is ``declining`` (the labels are :mod:`perfkit.contract`'s). The
labels describe the number; :data:`TREND_CONCERN` says, per metric, which direction is a
concern (from each metric's direction in :mod:`perfkit.registry`, which lists the metrics with
a weekly series, :data:`TREND_METRICS`). Defaults, sources and the measured false-alarm
rates: docs/references.md [SPC], docs/data_contract.md ("Weekly series and trend labels"),
benchmarks/trend_false_alarms.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import registry
from .config import Config, TrendConfig
from .contract import DECLINING, GROWING, NOT_ENOUGH, STABLE
from .registry import TREND_CONCERN, TREND_METRICS

__all__ = ["xmr_limits", "baseline_limits", "read_series", "spc_label", "trend_labels",
           "margin", "Reading", "BASES", "TREND_METRICS", "TREND_CONCERN", "PERCENT_METRICS",
           "trend_readings", "READING_COLUMNS",
           "NOT_ENOUGH", "GROWING", "DECLINING", "STABLE"]

# shares (0-1, said as percentages): the margin is in percentage points; the others are counts
# or hours, and the margin is a share of the larger end (at least trends.margin_count)
PERCENT_METRICS = frozenset(m for m in TREND_METRICS if registry.metric(m).unit == "share")

BASES = {"beyond_limits": "the latest weeks beyond the limits of the weeks before",
         "level": "the recent weeks' average against the weeks before",
         "shift": "a run of weeks on one side of the earlier average",
         "trend": "a run of rises or falls", "change": "the change between the sentence's ends",
         "slope": "the slope of a short series", "none": "no rule", "too_few": "too few weeks"}

_SIDE = {1: GROWING, -1: DECLINING}
_QUARTER = 13


@dataclass(frozen=True)
class Reading:
    """One weekly series read: its label, the rule behind it (a key of :data:`BASES`), the
    sentence's two ends (``start`` and ``end``: averages of ``end_weeks`` weeks at each end of
    the last ``weeks``, ``left_out`` unusual weeks not counted) and the baseline limits."""

    label: str
    basis: str
    start: float
    end: float
    weeks: int
    end_weeks: int
    left_out: int
    limits: tuple[float, float, float]


def xmr_limits(values) -> tuple[float, float, float]:
    """Centre line and natural process limits (lower, centre, upper) of an XmR chart of all the
    values given (no screen)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return (np.nan, np.nan, np.nan)
    centre = x.mean()
    mr = np.abs(np.diff(x)).mean()
    return (centre - 2.66 * mr, centre, centre + 2.66 * mr)


def _screened(base: np.ndarray) -> tuple[float, float]:
    """Centre and mean moving range of a baseline: moving ranges above 3.268 x their mean left
    out once (Wheeler's upper range limit), the centre the mean of the points within the
    limits that gives."""
    if len(base) < 2:
        return (float(base.mean()) if len(base) else np.nan), np.nan
    mr = np.abs(np.diff(base))
    mrbar = mr.mean()
    keep = mr <= 3.268 * mrbar
    if keep.any() and mr[keep].mean() > 0:  # never screened down to no variation at all
        mrbar = mr[keep].mean()
    centre = base.mean()
    inside = np.abs(base - centre) <= 2.66 * mrbar
    if inside.sum() >= 2:
        centre = base[inside].mean()
    return float(centre), float(mrbar)


def _params(params: TrendConfig | None, overrides: dict) -> TrendConfig:
    if params is None:
        return TrendConfig(**overrides)
    return params.model_copy(update=overrides) if overrides else params


def _baseline(x: np.ndarray, p: TrendConfig) -> tuple[np.ndarray, int]:
    """The baseline weeks of the finite series ``x`` and the number of recent weeks after it:
    the whole series when it is shorter than ``min_weeks``."""
    n = len(x)
    if n < p.min_weeks:
        return x, 0
    k = min(p.recent_weeks, n // 2)
    return x[max(0, n - k - p.baseline_weeks):n - k], k


def baseline_limits(values, params: TrendConfig | None = None,
                    **overrides) -> tuple[float, float, float]:
    """Lower limit, centre and upper limit of the baseline the labels read a series against
    (NaN when there are fewer than two weeks)."""
    p = _params(params, overrides)
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    centre, mrbar = _screened(_baseline(x, p)[0])
    if not np.isfinite(mrbar):
        return (np.nan, np.nan, np.nan)
    return (centre - 2.66 * mrbar, centre, centre + 2.66 * mrbar)


def _unusual(x: np.ndarray, lo: float, hi: float, near: int) -> np.ndarray:
    """Weeks beyond the limits with no other week beyond the same limit within ``near`` weeks
    either side: a lone week (a holiday), not a pattern."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or len(x) == 0:
        return np.zeros(len(x), dtype=bool)
    side = np.where(x > hi, 1, np.where(x < lo, -1, 0))
    out = np.zeros(len(x), dtype=bool)
    for i in np.flatnonzero(side):
        around = np.r_[side[max(0, i - near):i], side[i + 1:i + 1 + near]]
        out[i] = not (around == side[i]).any()
    return out


def margin(start: float, end: float, percent: bool, p: TrendConfig) -> float:
    """The largest change between the sentence's ends that may still read ``stable``."""
    if percent:
        return p.margin_points
    return max(p.margin_share * max(abs(start), abs(end)), p.margin_count)


def _trailing_run(signs: np.ndarray) -> tuple[int, int]:
    """Length and sign of the run of equal non-zero signs that ends at the last element."""
    if len(signs) == 0 or signs[-1] == 0:
        return 0, 0
    last = signs[-1]
    n = 0
    for s in signs[::-1]:
        if s != last:
            break
        n += 1
    return n, int(last)


def _slope_direction(x: np.ndarray, keep: np.ndarray, p: TrendConfig) -> int:
    t = np.arange(len(x), dtype=float)[keep]
    y = x[keep]
    if len(y) < 3:
        return 0
    tc = t - t.mean()
    sxx = (tc ** 2).sum()
    slope = (tc * (y - y.mean())).sum() / sxx
    resid = y - y.mean() - slope * tc
    se = np.sqrt((resid ** 2).sum() / (len(y) - 2) / sxx)
    tstat = abs(slope) / se if se > 0 else (np.inf if slope != 0 else 0.0)
    worth = abs(slope) * _QUARTER > p.short_band * abs(y.mean())
    return int(np.sign(slope)) if worth and tstat >= p.short_t else 0


def read_series(values, params: TrendConfig | None = None, *, percent: bool = True,
                **overrides) -> Reading:
    """Read one weekly series (missing weeks, NaN, are skipped): label, basis, the sentence's
    ends and the baseline limits. ``params`` are the ``trends`` parameters (defaults when
    None; keyword ``overrides`` replace single ones); ``percent`` says the values are shares
    (the margin is then in percentage points)."""
    p = _params(params, overrides)
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    base, k = _baseline(x, p)
    centre, mrbar = _screened(base)
    lo, hi = (centre - 2.66 * mrbar, centre + 2.66 * mrbar) if np.isfinite(mrbar) \
        else (np.nan, np.nan)
    odd = _unusual(x, lo, hi, p.recent_weeks)

    # the sentence's ends, unusual weeks left out (all of an end when every week is unusual)
    w = min(p.words_weeks, n)
    e = max(1, min(p.words_end_weeks, w // 2))
    win, win_odd = x[n - w:], odd[n - w:]

    def avg(vals, bad):
        return float(vals[~bad].mean()) if (~bad).any() else float(vals.mean())

    if w:
        first, last = slice(0, e), slice(w - e, w)
        start, end = avg(win[first], win_odd[first]), avg(win[last], win_odd[last])
        left_out = int(win_odd[first].sum() if (~win_odd[first]).any() else 0) + int(
            win_odd[last].sum() if (~win_odd[last]).any() else 0)
    else:
        start = end = np.nan
        left_out = 0

    def reading(label, basis):
        return Reading(label, basis, start, end, w, e, left_out, (lo, centre, hi))

    if n < p.short_min_weeks:
        return reading(NOT_ENOUGH, "too_few")
    quiet = NOT_ENOUGH if n < p.min_weeks else STABLE
    fired: dict[str, int] = {}
    if n < p.min_weeks:
        d = _slope_direction(x, ~odd, p)
        if d:
            fired["slope"] = d
    else:
        tail = x[-p.beyond_points:]
        if len(tail) == p.beyond_points and np.isfinite(mrbar):
            if (tail > hi).all():
                fired["beyond_limits"] = 1
            elif (tail < lo).all():
                fired["beyond_limits"] = -1
        recent = x[n - k:][~odd[n - k:]]
        if len(recent) and np.isfinite(mrbar):
            half = 2.66 * mrbar / np.sqrt(len(recent))
            if recent.mean() > centre + half:
                fired["level"] = 1
            elif recent.mean() < centre - half:
                fired["level"] = -1
        side_n, side = _trailing_run(np.sign(x - centre))
        if side_n >= p.shift_run:
            fired["shift"] = side
        step_n, step = _trailing_run(np.sign(np.diff(x)))
        if step_n >= p.trend_run:
            fired["trend"] = step

    change = end - start
    said = int(np.sign(change)) if np.isfinite(change) else 0
    if said and abs(change) > margin(start, end, percent, p):
        agree = [b for b, d in fired.items() if d == said]
        return reading(_SIDE[said], agree[0] if agree else "change")
    directions = set(fired.values())
    if len(directions) > 1:  # opposite rules: the sentence's direction settles it
        directions = {said} if said else set()
    if not directions:
        return reading(quiet, "none")
    d = directions.pop()
    # a rule's direction must be the sentence's, and the change worth saying: a rule against
    # (or without) the sentence's change, or a change under min_change of the margin, reads
    # quiet, so the label never contradicts the words beside it
    if said != d or abs(change) < p.min_change * margin(start, end, percent, p):
        return reading(quiet, "none")
    return reading(_SIDE[d], next(b for b, v in fired.items() if v == d))


def spc_label(values, *, shift_run: int = 7, trend_run: int = 6, min_points: int = 12,
              percent: bool = True, **overrides) -> str:
    """Label one weekly series ``growing``, ``declining``, ``stable`` or ``not enough data``
    (:func:`read_series`'s label with the default parameters, the ones named replaced)."""
    return read_series(values, percent=percent, shift_run=shift_run, trend_run=trend_run,
                       min_weeks=min_points, **overrides).label


def trend_labels(weekly: pd.DataFrame, cfg: Config,
                 metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per clinician with a ``trend_<metric>`` column per metric (the label) and a
    ``basis_<metric>`` column (the rule behind it, a key of :data:`BASES`)."""
    metrics = metrics or TREND_METRICS
    rows = []
    for cid, series in weekly.sort_values("week_start").groupby("clinician_id", sort=True):
        row = {"clinician_id": cid}
        for m in metrics:
            r = read_series(series[m].to_numpy(dtype=float), cfg.trends,
                            percent=m in PERCENT_METRICS)
            row[f"trend_{m}"] = r.label
            row[f"basis_{m}"] = r.basis
        rows.append(row)
    return pd.DataFrame(rows, columns=["clinician_id"] + [f"trend_{m}" for m in metrics]
                        + [f"basis_{m}" for m in metrics])


READING_COLUMNS = ["clinician_id", "metric", "label", "basis", "start", "end", "weeks",
                   "end_weeks", "left_out", "limit_low", "centre", "limit_high"]


def trend_readings(weekly: pd.DataFrame, cfg: Config,
                   metrics: list[str] | None = None) -> pd.DataFrame:
    """``tables/trend_readings.csv``: every weekly series of :func:`trend_labels` read whole
    (:func:`read_series`, the same reading the label comes from), one row per clinician and
    metric: the label and its basis, the sentence's two ends (``start`` and ``end``, averages
    of ``end_weeks`` weeks at each end of the last ``weeks``, ``left_out`` unusual weeks not
    counted) and the baseline's natural process limits (``limit_low``, ``centre``,
    ``limit_high``), which a clinician's weekly figure draws around the series."""
    metrics = metrics or TREND_METRICS
    rows = []
    for cid, series in weekly.sort_values("week_start").groupby("clinician_id", sort=True):
        for m in metrics:
            r = read_series(series[m].to_numpy(dtype=float), cfg.trends,
                            percent=m in PERCENT_METRICS)
            lo, centre, hi = r.limits
            rows.append({"clinician_id": cid, "metric": m, "label": r.label, "basis": r.basis,
                         "start": r.start, "end": r.end, "weeks": r.weeks,
                         "end_weeks": r.end_weeks, "left_out": r.left_out, "limit_low": lo,
                         "centre": centre, "limit_high": hi})
    return pd.DataFrame(rows, columns=READING_COLUMNS)
