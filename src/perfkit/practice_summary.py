"""The practice as a whole, from its clinicians' rows of ``clinician_metrics``
(:mod:`perfkit.operations`), one table each:

- :func:`practice_summary`: the practice's period in one row (``tables/practice_summary.csv``),
  its rates pooled by :func:`pooled_rates` (ratios of sums, so each hour, appointment or note
  weighs the same, not each clinician);
- :func:`team_rates`: the same pooled rates per team (``tables/team_rates.csv``), the teams
  named by :func:`team_names` (as the roster table and the reports name them);
- :func:`metric_spread`: the spread of each metric over the clinicians
  (``tables/metric_spread.csv``), the anonymous comparison of a clinician's self-view.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import coverage as cov
from .config import Config
from .contract import NOTE_STATUS
from .operations import _ratio, assign_buckets, period_window

__all__ = ["practice_summary", "pooled_rates", "metric_spread", "team_names", "team_rates",
           "PRACTICE_COLUMNS", "SPREAD_METRICS", "TEAM_RATE_COLUMNS", "hours_shares"]


PRACTICE_COLUMNS = [
    "period_start", "period_end", "clinicians", "sessions_attended", "hours_attended",
    "hours_estimated", "hours_default", "available_hours", "utilization",
    "past_appointments", "missed_appointments", "non_attendance_rate", "clinician_cancelled",
    "notes_due",
    "notes_due_with_signing_times", "notes_within_72h", "notes_open_72h",
    "unsigned_overdue_7d", "clinicians_on_note_status", "clients_seen", "new_clients",
    "new_clients_limited", "hours_estimated_share", "hours_default_share",
    "hours_from_codes_share",
]


def hours_shares(hours, estimated, default) -> dict:
    """Which share of the attended ``hours`` is estimated (``hours_estimated_share``), and of
    it how much at the default session length (``hours_default_share``: the export gave no
    length at all) and how much from billing codes or service names
    (``hours_from_codes_share``, 0 when none). All empty when no hour is estimated."""
    none = {"hours_estimated_share": np.nan, "hours_default_share": np.nan,
            "hours_from_codes_share": np.nan}
    if not hours or pd.isna(hours) or not estimated or pd.isna(estimated):
        return none
    default = 0.0 if pd.isna(default) else float(default)
    return {"hours_estimated_share": estimated / hours, "hours_default_share": default / hours,
            "hours_from_codes_share": (estimated - default) / hours
            if estimated - default > 1e-9 else 0.0}


def _count(metrics: pd.DataFrame, col: str):
    """A count summed over the clinicians; empty when no clinician's is known (an export
    that cannot give it), never 0."""
    total = metrics[col].sum(min_count=1) if col in metrics else np.nan
    return int(total) if pd.notna(total) else np.nan


def pooled_rates(metrics: pd.DataFrame) -> dict:
    """The rates of a group of clinicians (the practice, or a team) from their rows of
    ``clinician_metrics``: ratios of sums, so each hour, appointment or note weighs the same,
    not each clinician. ``utilization`` = attended hours / available hours of the clinicians
    the export names (hours offered by a clinician it never names are not idle hours);
    ``non_attendance_rate`` = missed / past appointments (missed: each clinician's rate times
    their past appointments); ``notes_within_72h`` over the notes of clinicians with signing
    times only (empty when none has them). Empty (NaN) where a denominator is 0 or unknown.
    :func:`practice_summary` and the owner's team summary both use this."""
    hours = metrics["hours_attended"].sum() if "hours_attended" in metrics else np.nan
    named = metrics["appointments_in_export"].gt(0) if "appointments_in_export" in metrics \
        else pd.Series(True, index=metrics.index)
    avail = metrics.loc[named, "available_hours"].sum()
    past = metrics["past_appointments"].sum() if "past_appointments" in metrics else np.nan
    missed = (metrics["non_attendance_rate"] * metrics["past_appointments"]).sum(min_count=1) \
        if "past_appointments" in metrics else np.nan
    timed = metrics["notes_within_72h"].notna()
    due_timed = metrics.loc[timed, "notes_due"].sum()
    within = (metrics.loc[timed, "notes_within_72h"] * metrics.loc[timed, "notes_due"]).sum()
    return {
        "hours_attended": hours, "available_hours": avail,
        "utilization": float(_ratio(hours, avail)),
        "past_appointments": past, "missed_appointments": missed,
        "non_attendance_rate": float(_ratio(missed, past)) if pd.notna(missed) else np.nan,
        "notes_due_with_signing_times": due_timed,
        "notes_within_72h": float(_ratio(within, due_timed)) if timed.any() else np.nan,
    }


def practice_summary(data, cfg: Config, metrics: pd.DataFrame) -> pd.DataFrame:
    """The practice's period in one row (``tables/practice_summary.csv``).

    Counts are sums over the clinicians of ``metrics`` (those employed in the period); rates
    are ratios of those sums, so each appointment or note weighs the same, not each clinician.
    Clients are counted once across clinicians: ``clients_seen`` is the distinct clients with
    an attended appointment in the period, ``new_clients`` those whose first attended
    appointment at the practice (with any of these clinicians, ever) falls in the period. (A
    client seen by two clinicians is one client here, and two in the clinicians' own rows.)
    ``notes_within_72h`` rests on the notes of clinicians with signing times only
    (``notes_due_with_signing_times``); it is empty when no clinician has them.
    """
    window = period_window(cfg)
    ids = metrics["clinician_id"]
    appts = data.appointments[data.appointments["clinician_id"].isin(ids)]
    att = appts[(appts["status"] == "attended") & (appts["start"] < window.as_of)]
    seen = assign_buckets(att, window)["client_id"].nunique()
    first = att.groupby("client_id", observed=True)["start"].min()
    new = int(((first >= window.start) & (first < window.end)).sum())

    def total(col):
        return metrics[col].sum() if col in metrics else np.nan

    r = pooled_rates(metrics)
    missed = r["missed_appointments"]
    row = {
        "period_start": cfg.period_start, "period_end": cfg.period_end,
        "clinicians": len(metrics), "sessions_attended": int(total("sessions_attended")),
        "hours_attended": r["hours_attended"], "hours_estimated": total("hours_estimated"),
        "hours_default": total("hours_default"),
        "available_hours": r["available_hours"], "utilization": r["utilization"],
        "past_appointments": int(r["past_appointments"]),
        "missed_appointments": round(missed) if pd.notna(missed) else np.nan,
        "non_attendance_rate": r["non_attendance_rate"],
        "clinician_cancelled": metrics["clinician_cancelled"].sum(min_count=1)
        if len(metrics) else 0,  # empty when the export cannot say it (not 0)
        "notes_due": int(total("notes_due")),
        "notes_due_with_signing_times": int(r["notes_due_with_signing_times"]),
        "notes_within_72h": r["notes_within_72h"],
        "notes_open_72h": _count(metrics, "notes_open_72h"),
        "unsigned_overdue_7d": _count(metrics, "unsigned_overdue_7d"),
        "clinicians_on_note_status": int((metrics["documentation_source"]
                                          == NOTE_STATUS).sum()),
        "clients_seen": int(seen), "new_clients": new,
        "new_clients_limited": bool(cov.new_clients_limited(
            data.clinicians[data.clinicians["clinician_id"].isin(ids)], cov.coverage_of(data),
            cfg).any()),
    }
    row.update(hours_shares(row["hours_attended"], row["hours_estimated"],
                            row["hours_default"]))
    return pd.DataFrame([row], columns=PRACTICE_COLUMNS)


SPREAD_METRICS = ["utilization", "non_attendance_rate", "notes_within_72h",
                  "median_note_lag_hours", "notes_open_72h", "active_clients", "new_clients",
                  "retained_8plus_rate"]


def metric_spread(metrics: pd.DataFrame) -> pd.DataFrame:
    """The spread of each metric over the practice's clinicians (``tables/metric_spread.csv``):
    ``metric, clinicians`` (with a value), ``median, q25, q75`` (pandas' linear
    interpolation), the anonymous comparison a clinician's self-view shows. A clinician the
    export never names (``appointments_in_export`` 0) is not in it: their figures are not
    known, not zero."""
    if "appointments_in_export" in metrics:
        metrics = metrics[metrics["appointments_in_export"].ne(0)]
    rows = []
    for m in SPREAD_METRICS:
        v = metrics[m].dropna().astype(float) if m in metrics else pd.Series(dtype=float)
        rows.append({"metric": m, "clinicians": len(v), "median": v.median(),
                     "q25": v.quantile(.25), "q75": v.quantile(.75)})
    return pd.DataFrame(rows, columns=["metric", "clinicians", "median", "q25", "q75"])


def team_names(clinicians: pd.DataFrame) -> pd.Series:
    """Each rostered clinician's team (the roster's optional ``team`` column, a team, site or
    location), indexed by id: runs of spaces folded to one, "" for none (an empty cell, or a
    roster with no team column). Teams written with other case or spacing are one team, named
    in its most frequent spelling (the first in sorted order on a tie)."""
    ids = clinicians["clinician_id"].astype(str)
    if "team" not in clinicians:
        return pd.Series("", index=ids, dtype=object)
    written = [" ".join(t.split()) if isinstance(t, str) else "" for t in clinicians["team"]]
    spellings: dict[str, dict[str, int]] = {}
    for t in written:
        if t:
            spellings.setdefault(t.casefold(), {}).setdefault(t, 0)
            spellings[t.casefold()][t] += 1
    shown = {k: sorted(v, key=lambda s: (-v[s], s))[0] for k, v in spellings.items()}
    return pd.Series([shown[t.casefold()] if t else "" for t in written], index=ids,
                     dtype=object)


TEAM_RATE_COLUMNS = ["team", "whole", "clinicians", "utilization", "non_attendance_rate",
                     "notes_within_72h"]


def team_rates(metrics: pd.DataFrame, teams: pd.Series) -> pd.DataFrame:
    """``tables/team_rates.csv``: the pooled rates (:func:`pooled_rates`, ratios of sums) of
    each team's clinicians of the period (``teams``: :func:`team_names`), in name order (case
    folded), then the clinicians with no team (``team`` empty) when any, then the whole
    practice (``whole``)."""
    team = metrics["clinician_id"].astype(str).map(lambda c: teams.get(c, ""))
    names = sorted({t for t in team if t}, key=lambda t: (t.casefold(), t))
    parts = [(t, team == t) for t in names]
    if (team == "").any():
        parts.append(("", team == ""))
    parts.append((None, pd.Series(True, index=metrics.index)))
    rows = []
    for name, mine in parts:
        g = metrics[mine.to_numpy()]
        r = pooled_rates(g)
        rows.append({"team": name or "", "whole": name is None, "clinicians": len(g),
                     "utilization": r["utilization"],
                     "non_attendance_rate": r["non_attendance_rate"],
                     "notes_within_72h": r["notes_within_72h"]})
    return pd.DataFrame(rows, columns=TEAM_RATE_COLUMNS)
