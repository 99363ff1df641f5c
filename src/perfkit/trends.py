"""Trend labels from the weekly series, by statistical-process-control rules.

A clinician's weekly series of a metric is read as an XmR (individuals and moving range) chart:
the centre line is the mean of the weekly points, the natural process limits are the centre
line +/- 2.66 times the mean moving range (Wheeler; NHS "Making Data Count"). Two run rules give
the label, and they must hold at the **latest** week, so the label says where the clinician is
now:

- a *shift*: ``trends.shift_run`` (7) or more points in a row on one side of the centre line;
- a *trend*: ``trends.trend_run`` (6) or more rises in a row, or falls in a row (a run of 6
  rises spans 7 points); a point equal to the one before ends the run.

Rising (or above the line) is ``growing``; falling (or below) is ``declining``; when both rules
fire in opposite directions the trend (the direction of recent change) wins; otherwise
``stable``. Fewer than ``trends.min_weeks`` (12) weekly points gives ``not enough data``. The
labels describe the number, not a judgement: a growing non-attendance rate is a worry, a growing
utilization is not. A single week beyond the limits is not a label (one holiday week would
otherwise read as a decline); the limits are returned for charts. Defaults and sources:
docs/references.md [SPC].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Config

__all__ = ["xmr_limits", "spc_label", "trend_labels", "TREND_METRICS",
           "NOT_ENOUGH", "GROWING", "DECLINING", "STABLE"]

GROWING, DECLINING, STABLE, NOT_ENOUGH = "growing", "declining", "stable", "not enough data"

TREND_METRICS = ["utilization", "sessions_attended", "non_attendance_rate", "no_show_rate",
                 "late_cancel_rate", "notes_within_24h", "notes_within_72h",
                 "median_note_lag_hours", "active_clients", "new_clients"]


def xmr_limits(values) -> tuple[float, float, float]:
    """Centre line and natural process limits (lower, centre, upper) of an XmR chart."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return (np.nan, np.nan, np.nan)
    centre = x.mean()
    mr = np.abs(np.diff(x)).mean()
    return (centre - 2.66 * mr, centre, centre + 2.66 * mr)


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


def spc_label(values, *, shift_run: int = 7, trend_run: int = 6, min_points: int = 12) -> str:
    """Label one weekly series ``growing``, ``declining``, ``stable`` or ``not enough data``.

    Missing weeks (NaN) are skipped: the rules read the weeks that have a value.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < min_points:
        return NOT_ENOUGH
    centre = x.mean()
    side_n, side = _trailing_run(np.sign(x - centre))
    step_n, step = _trailing_run(np.sign(np.diff(x)))
    shift = side if side_n >= shift_run else 0
    trend = step if step_n >= trend_run else 0
    direction = trend or shift
    return {1: GROWING, -1: DECLINING}.get(direction, STABLE)


def trend_labels(weekly: pd.DataFrame, cfg: Config,
                 metrics: list[str] | None = None) -> pd.DataFrame:
    """One row per clinician with a ``trend_<metric>`` column per metric."""
    metrics = metrics or TREND_METRICS
    t = cfg.trends
    rows = []
    for cid, series in weekly.sort_values("week_start").groupby("clinician_id", sort=True):
        row = {"clinician_id": cid}
        for m in metrics:
            row[f"trend_{m}"] = spc_label(series[m].to_numpy(dtype=float),
                                          shift_run=t.shift_run, trend_run=t.trend_run,
                                          min_points=t.min_weeks)
        rows.append(row)
    return pd.DataFrame(rows, columns=["clinician_id"] + [f"trend_{m}" for m in metrics])
