"""The workforce tables: who might be stretched, how new hires ramp up, who stays.

Built from the operational metrics (:mod:`perfkit.operations`: the period table, the weekly
series and its caseload, and the thresholds compared as displayed), one table each:

- :func:`workload`: signals that a clinician might be stretched (over capacity, weeks over the
  session goal, no recent time off, a caseload still growing), columns of
  ``tables/clinician_metrics.csv``;
- :func:`ramp`: new hires' first weeks against the practice's own ramp (``tables/ramp.csv``),
  and :func:`ramp_summary`, one row per hire (``tables/ramp_summary.csv``);
- :func:`leave_days`: days of recorded time off in the period (``tables/leave_days.csv``);
- :func:`workforce`: starters, leavers, turnover and tenure in one row
  (``tables/workforce.csv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import Config
from .operations import as_displayed, beyond

__all__ = ["workload", "ramp", "ramp_summary", "leave_days", "workforce", "WORKLOAD_COLUMNS",
           "RAMP_COLUMNS", "RAMP_SUMMARY_COLUMNS", "WORKFORCE_COLUMNS"]

WORKLOAD_COLUMNS = ["clinician_id", "over_capacity", "weeks_over_goal", "flag_over_goal",
                    "days_off_recent", "flag_no_time_off", "caseload_growing_weeks",
                    "flag_caseload_growing"]


def _growing_weeks(values: np.ndarray) -> int:
    """Weeks of the latest run in which the caseload never fell from one week to the next,
    counted only when it rose in at least half of them (a caseload that rose once and then
    held is not growing)."""
    steps = np.diff(np.asarray(values, dtype=float))
    run = 0
    while run < len(steps) and steps[len(steps) - 1 - run] >= 0:
        run += 1
    rises = int((steps[len(steps) - run:] > 0).sum()) if run else 0
    return run if run and 2 * rises >= run else 0


def workload(data, cfg: Config, metrics: pd.DataFrame, weekly: pd.DataFrame) -> pd.DataFrame:
    """Signals that a clinician might be stretched (parameters ``workload``; a prompt for a
    supportive conversation, never a score): one row per clinician of ``metrics``.

    - ``over_capacity``: utilization above ``over_capacity`` (100%) of the hours offered;
    - ``weeks_over_goal``: of the last ``over_goal_window`` (6) employed weeks, those with
      attended sessions at or above the weekly session goal times 1 + ``over_goal_margin``
      (20%); empty without a goal. ``flag_over_goal``: at least ``over_goal_weeks`` (4);
    - ``days_off_recent``: calendar days of recorded time off in the ``time_off_months`` (6)
      before as_of; empty when the practice provided no time_off table. ``flag_no_time_off``:
      none, for a clinician employed all that time;
    - ``caseload_growing_weeks``: weeks of the latest run in which the weekly caseload
      (``weekly``'s ``caseload``: clients seen in the ``caseload_weeks`` before each week's
      end) never fell, when it rose in at least half of them; a new hire's first
      ``ramp.weeks`` (26) weeks are not counted: a growing caseload is what a ramp is, and
      ``ramp.csv`` follows it. ``flag_caseload_growing``: at least ``caseload_growing_weeks``
      (8).
    """
    w = cfg.workload
    ids = metrics["clinician_id"].astype(str)
    out = pd.DataFrame({"clinician_id": ids.to_numpy()})
    out["over_capacity"] = beyond(metrics["utilization"], "utilization", w.over_capacity,
                                  "above").to_numpy()
    goal = data.clinicians.set_index(data.clinicians["clinician_id"].astype(str))[
        "weekly_session_goal"].astype(float)
    wk = weekly.assign(clinician_id=weekly["clinician_id"].astype(str),
                       week_start=pd.to_datetime(weekly["week_start"]))
    wk = wk.sort_values(["clinician_id", "week_start"])
    last = wk.groupby("clinician_id").tail(w.over_goal_window)
    target = goal.reindex(last["clinician_id"]).to_numpy(dtype=float) * (1 + w.over_goal_margin)
    over = last["sessions_attended"].astype(float) >= target
    counted = over.groupby(last["clinician_id"]).sum()
    has_goal = goal.reindex(ids).notna().to_numpy()
    out["weeks_over_goal"] = np.where(has_goal, counted.reindex(ids).fillna(0).to_numpy(),
                                      np.nan)
    out["flag_over_goal"] = out["weeks_over_goal"] >= w.over_goal_weeks
    as_of = pd.Timestamp(cfg.as_of)
    since = as_of - pd.DateOffset(months=w.time_off_months)
    started = data.clinicians.set_index(data.clinicians["clinician_id"].astype(str))[
        "start_date"]
    if data.provided("time_off"):
        off = data.time_off
        days = {}
        for cid, g in off.groupby(off["clinician_id"].astype(str)):
            covered = set()
            for a, b in zip(g["start_date"], g["end_date"], strict=True):
                lo, hi = max(pd.Timestamp(a), since), min(pd.Timestamp(b), as_of - pd.Timedelta(
                    days=1))
                if lo <= hi:
                    covered |= set(pd.date_range(lo, hi))
            days[cid] = len(covered)
        out["days_off_recent"] = pd.Series(days, dtype=float).reindex(ids).fillna(0).to_numpy()
        long_enough = (started.reindex(ids) <= since).to_numpy()
        out["flag_no_time_off"] = long_enough & (out["days_off_recent"] == 0)
    else:
        out["days_off_recent"] = np.nan
        out["flag_no_time_off"] = False
    settle = pd.Timedelta(weeks=cfg.ramp.weeks)
    growing = {}
    for cid, g in wk.groupby("clinician_id"):
        hired = started.get(cid)
        if hired is not None and not pd.isna(hired):  # no start date: every week counts
            g = g[g["week_start"] >= _monday(hired) + settle]
        growing[cid] = _growing_weeks(g["caseload"].to_numpy(dtype=float))
    out["caseload_growing_weeks"] = pd.Series(growing, dtype=float).reindex(ids).fillna(0) \
        .astype(int).to_numpy()
    out["flag_caseload_growing"] = out["caseload_growing_weeks"] >= w.caseload_growing_weeks
    return out[WORKLOAD_COLUMNS]


RAMP_COLUMNS = ["clinician_id", "start_date", "week", "week_start", "utilization", "caseload",
                "practice_utilization", "practice_caseload", "hires_compared", "ramp"]


def _monday(day) -> pd.Timestamp:
    day = pd.Timestamp(day).normalize()
    return day - pd.Timedelta(days=day.weekday())


def ramp(data, cfg: Config, weekly: pd.DataFrame) -> pd.DataFrame:
    """New hires' first weeks against the practice's own ramp (``tables/ramp.csv``).

    One row per week of each clinician who started in the ``ramp.recent_months`` (12) before
    ``period_end``, for the first ``ramp.weeks`` (26) weeks (week 0 is the week of the start
    date): utilization and caseload that week (``weekly``'s columns), and the practice's ramp
    at that week: the median over earlier hires (clinicians who started before this one,
    within the weekly series, so their own first weeks are in the data), when at least
    ``ramp.min_hires`` (3) have that week (``hires_compared`` says how many). ``ramp`` (one
    value per hire) compares the hire's mean utilization with the practice ramp's over the
    weeks both have, each as displayed (whole percentages,
    :func:`perfkit.operations.as_displayed`: the ramp words show them): ``more slowly`` below
    ``ramp.slower`` (0.8) of it, ``faster`` above ``ramp.faster`` (1.2), ``as expected``
    between, or ``no practice ramp yet`` when too few earlier hires have data.
    """
    rc = cfg.ramp
    c = data.clinicians.assign(clinician_id=data.clinicians["clinician_id"].astype(str))
    wk = weekly.assign(clinician_id=weekly["clinician_id"].astype(str),
                       week_start=pd.to_datetime(weekly["week_start"]))
    if wk.empty:
        return pd.DataFrame(columns=RAMP_COLUMNS)
    first_week = wk["week_start"].min()
    start = c.set_index("clinician_id")["start_date"]
    wk["week"] = ((wk["week_start"] - wk["clinician_id"].map(start).map(_monday))
                  / pd.Timedelta(weeks=1)).round().astype(int)
    wk = wk[(wk["week"] >= 0) & (wk["week"] < rc.weeks)]
    observed = c[c["start_date"].map(_monday) >= first_week]  # their first weeks are in data
    recent = c[(c["start_date"] >= pd.Timestamp(cfg.period_end)
                - pd.DateOffset(months=rc.recent_months))
               & (c["start_date"] < pd.Timestamp(cfg.period_end))]
    parts = []
    for hire in recent.sort_values(["start_date", "clinician_id"]).itertuples():
        mine = wk[wk["clinician_id"] == hire.clinician_id].sort_values("week")
        if mine.empty:
            continue
        earlier = observed.loc[observed["start_date"] < hire.start_date, "clinician_id"]
        others = wk[wk["clinician_id"].isin(earlier)].groupby("week")
        n = others.size().reindex(mine["week"]).fillna(0).astype(int).to_numpy()
        util = others["utilization"].median().reindex(mine["week"]).to_numpy()
        load = others["caseload"].median().reindex(mine["week"]).to_numpy()
        enough = n >= rc.min_hires
        util, load = np.where(enough, util, np.nan), np.where(enough, load, np.nan)
        both = enough & mine["utilization"].notna().to_numpy()
        # the means the ramp words show (ramp_summary), compared as displayed (beyond)
        shown = as_displayed([mine["utilization"].to_numpy()[both].mean() if both.any()
                              else np.nan, np.nanmean(util[both]) if both.any() else np.nan],
                             "utilization").to_numpy()
        if both.any() and shown[1] > 0:
            ratio = round(shown[0] / shown[1], 9)  # 40% / 50% is 0.8, not 0.8000000000000002
            status = ("more slowly" if ratio < rc.slower else "faster" if ratio > rc.faster
                      else "as expected")
        else:
            status = "no practice ramp yet"
        parts.append(pd.DataFrame({
            "clinician_id": hire.clinician_id, "start_date": hire.start_date,
            "week": mine["week"].to_numpy(), "week_start": mine["week_start"].to_numpy(),
            "utilization": mine["utilization"].to_numpy(), "caseload": mine["caseload"].to_numpy(),
            "practice_utilization": util, "practice_caseload": load, "hires_compared": n,
            "ramp": status}))
    return pd.concat(parts, ignore_index=True)[RAMP_COLUMNS] if parts else \
        pd.DataFrame(columns=RAMP_COLUMNS)


RAMP_SUMMARY_COLUMNS = ["clinician_id", "ramp", "weeks", "compared", "utilization",
                        "practice_utilization", "hires_compared", "ramping"]


def ramp_summary(ramp_weeks: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """``tables/ramp_summary.csv``: :func:`ramp` (``ramp.csv``) one row per new hire, in its
    order: the status, the weeks it rests on (those with a practice ramp, else every week
    followed), whether the hire is ``compared`` with earlier hires at all, the hire's and the
    earlier hires' mean utilization over those weeks, ``hires_compared`` (the fewest
    earlier hires over the weeks compared; 0 with none) and ``ramping`` (yes: the hire is
    still in their first ``ramp.weeks`` weeks when the period begins, started after
    ``period_start`` less ``ramp.weeks``: the one definition of "new hire" every page uses,
    the check-in list's context, the pack, the self-view and its figures; ``ramp.csv`` itself
    follows everyone who started in the last ``ramp.recent_months``). The ramp figure and the
    ramp words both read it, so they give the same numbers."""
    since = pd.Timestamp(cfg.period_start) - pd.Timedelta(weeks=cfg.ramp.weeks)
    rows = []
    for cid, h in ramp_weeks.groupby("clinician_id", sort=False):
        start = h["start_date"].iloc[0] if "start_date" in h else None
        both = h.dropna(subset=["utilization", "practice_utilization"])
        basis = both if len(both) else h.dropna(subset=["utilization"])
        compared = h[h["practice_utilization"].notna()]
        rows.append({"clinician_id": cid, "ramp": h["ramp"].iloc[0], "weeks": len(basis),
                     "compared": bool(len(both)), "utilization": basis["utilization"].mean(),
                     "practice_utilization": both["practice_utilization"].mean(),
                     "hires_compared": int(compared["hires_compared"].min())
                     if len(compared) else 0,
                     "ramping": bool(pd.notna(start) and pd.Timestamp(start) > since)})
    return pd.DataFrame(rows, columns=RAMP_SUMMARY_COLUMNS)


def leave_days(time_off: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """``tables/leave_days.csv``: calendar days of recorded time off in the period, per
    clinician, where at least ``operations.leave_context_days`` (the check-in list gives them
    as context for a flag). Days of overlapping records count once."""
    lo = pd.Timestamp(cfg.period_start)
    hi = pd.Timestamp(cfg.period_end) - pd.Timedelta(days=1)
    days: dict[str, set] = {}
    for cid, a, b in zip(time_off.get("clinician_id", []), time_off.get("start_date", []),
                         time_off.get("end_date", []), strict=True):
        if pd.isna(a) or pd.isna(b):
            continue
        a, b = max(pd.Timestamp(a), lo), min(pd.Timestamp(b), hi)
        if a <= b:
            days.setdefault(str(cid), set()).update(pd.date_range(a, b))
    need = cfg.operations.leave_context_days
    kept = {c: len(d) for c, d in days.items() if len(d) >= need}
    return pd.DataFrame({"clinician_id": list(kept), "leave_days": list(kept.values())},
                        columns=["clinician_id", "leave_days"])


WORKFORCE_COLUMNS = [
    "period_start", "period_end", "clinicians_at_start", "starters", "leavers",
    "clinicians_at_end", "leavers_12m", "average_headcount_12m", "turnover_12m",
    "median_tenure_years",
]


def _employed_on(clinicians: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Employed on ``day``: started on or before it, and no end date or an end date (the last
    day worked) on or after it."""
    return (clinicians["start_date"] <= day) & (clinicians["end_date"].isna()
                                                | (clinicians["end_date"] >= day))


def workforce(clinicians: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Staff retention in one row (``tables/workforce.csv``); no individual is named.

    ``clinicians_at_start`` were employed on the period's first day and had started before it;
    ``starters`` started in the period and ``leavers`` had their last day in it;
    ``clinicians_at_end`` started before the period ended and were still employed after it, so
    at_end = at_start + starters - leavers. ``turnover_12m`` is the leavers of the twelve
    months ending with the period over the average headcount on the first day of each of
    those months (the separations rate of the US Bureau of Labor Statistics' JOLTS:
    separations / average employment; docs/references.md [JOLTS]). ``median_tenure_years``:
    the median time since the start date of the clinicians at the end, in years of 365.25
    days. Empty where nobody is counted.
    """
    c = clinicians
    start, end = pd.Timestamp(cfg.period_start), pd.Timestamp(cfg.period_end)
    ended_in = c["end_date"].notna() & (c["end_date"] >= start) & (c["end_date"] < end)
    at_start = (c["start_date"] < start) & (c["end_date"].isna() | (c["end_date"] >= start))
    at_end = (c["start_date"] < end) & (c["end_date"].isna() | (c["end_date"] >= end))
    year_ago = end - pd.DateOffset(months=12)
    months = pd.date_range(year_ago, periods=12, freq="MS") if year_ago.day == 1 else \
        pd.date_range(year_ago + pd.offsets.MonthBegin(1), periods=12, freq="MS")
    headcount = float(np.mean([_employed_on(c, m).sum() for m in months]))
    left_12m = int((c["end_date"].notna() & (c["end_date"] >= year_ago)
                    & (c["end_date"] < end)).sum())
    tenure = (end - c.loc[at_end, "start_date"]).dt.days / 365.25
    row = {"period_start": cfg.period_start, "period_end": cfg.period_end,
           "clinicians_at_start": int(at_start.sum()),
           "starters": int(((c["start_date"] >= start) & (c["start_date"] < end)).sum()),
           "leavers": int(ended_in.sum()), "clinicians_at_end": int(at_end.sum()),
           "leavers_12m": left_12m, "average_headcount_12m": round(headcount, 3),
           "turnover_12m": left_12m / headcount if headcount else np.nan,
           "median_tenure_years": float(tenure.median()) if len(tenure) else np.nan}
    return pd.DataFrame([row], columns=WORKFORCE_COLUMNS)
