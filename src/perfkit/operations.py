"""Operational metrics per clinician (DATA_CONTRACT section 3).

Every definition lives in exactly one function here. Each function works on *buckets*: the
caller labels appointments with a ``bucket`` (the reporting period, or a week) by
:func:`assign_buckets`, and the function returns one row per ``(clinician_id, bucket)``. The
period table (:func:`clinician_metrics`) and the weekly series (:func:`weekly_metrics`) are the
same definitions applied to different buckets, so a metric can never mean two things.

Times are compared in the practice time zone: a bucket runs from local midnight of its first day
to local midnight after its last day. ``as_of`` is the end of the reporting period.

The tables built on these metrics about the staff themselves (workload signals, new hires' ramp,
starters and leavers) are in :mod:`perfkit.workforce`; the practice's and each team's pooled
figures and the spread over the clinicians in :mod:`perfkit.practice_summary`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import coverage as cov
from .config import Config
from .contract import LAG_FIGURES, NOT_KNOWN, NOTE_STATUS, SIGNING_TIMES
from .registry import DISPLAY_DIGITS

__all__ = [
    "Window",
    "period_window",
    "week_edges",
    "assign_buckets",
    "available_capacity",
    "sessions_attended",
    "clinician_time",
    "utilization",
    "attendance_rates",
    "note_timeliness",
    "unsigned_overdue",
    "notes_open",
    "documentation",
    "active_clients",
    "new_clients",
    "retention",
    "median_sessions_per_client",
    "goal_attainment",
    "caseload",
    "clinicians_in_period",
    "clinician_metrics",
    "weekly_metrics",
    "flags",
    "as_displayed",
    "beyond",
    "unsigned_share",
    "weekly_caseload",
    "CONTRACT_COLUMNS",
    "WEEKLY_COLUMNS",
]

KEY = ["clinician_id", "bucket"]
WEEKDAYS_PER_WEEK = 5  # DATA_CONTRACT: capacity / 5 for each weekday, Monday to Friday
HOUR = pd.Timedelta(hours=1)

CONTRACT_COLUMNS = [
    "clinician_id", "sessions_attended", "hours_attended", "available_hours", "utilization",
    "no_show_rate", "late_cancel_rate", "non_attendance_rate", "notes_due", "notes_within_24h",
    "notes_within_72h", "median_note_lag_hours", "unsigned_overdue_7d", "active_clients",
    "new_clients", "retained_8plus_rate", "early_dropout_rate", "median_sessions_per_client",
]
EXTRA_COLUMNS = [
    "notes_open_72h", "documentation_source", "hours_estimated", "hours_default",
    "past_appointments",
    "clinician_cancelled",
    "available_days", "weekly_session_goal", "goal_attainment", "caseload", "retention_cohort",
    "new_clients_limited", "appointments_in_export",
]
WEEKLY_COLUMNS = [
    "sessions_attended", "hours_attended", "available_hours", "utilization", "no_show_rate",
    "late_cancel_rate", "non_attendance_rate", "notes_due", "notes_within_24h",
    "notes_within_72h", "median_note_lag_hours", "active_clients", "new_clients", "caseload",
]


# --------------------------------------------------------------------------------------------
# Windows and buckets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Bucket edges (local midnights, time-zone aware) and the as-of instant."""

    edges: pd.DatetimeIndex  # n + 1 edges for n buckets
    labels: pd.Index  # the first local date of each bucket
    as_of: pd.Timestamp

    @property
    def start(self) -> pd.Timestamp:
        return self.edges[0]

    @property
    def end(self) -> pd.Timestamp:
        return self.edges[-1]


def _midnight(day: dt.date, tz: str) -> pd.Timestamp:
    return pd.Timestamp(day).tz_localize(tz)


def period_window(cfg: Config) -> Window:
    """The reporting period ``[period_start, period_end)`` as one bucket, as of period_end."""
    edges = pd.DatetimeIndex([_midnight(cfg.period_start, cfg.timezone),
                              _midnight(cfg.period_end, cfg.timezone)])
    return Window(edges, pd.Index([pd.Timestamp(cfg.period_start)]), edges[-1])


def week_edges(cfg: Config, first_day: dt.date | None = None) -> Window:
    """Whole weeks (Monday to Sunday) ending on or before ``as_of``.

    At most ``trends.weeks`` weeks, and none starting before ``first_day`` (the first day the
    data cover), so weeks without data are not counted as weeks without work.
    """
    as_of = cfg.as_of
    last = as_of - dt.timedelta(days=as_of.weekday())  # the Monday on or before as_of
    first = last - dt.timedelta(weeks=cfg.trends.weeks)
    if first_day is not None:
        first = max(first, first_day + dt.timedelta(days=(7 - first_day.weekday()) % 7))
    mondays = [first + dt.timedelta(weeks=k) for k in range(max((last - first).days // 7, 0) + 1)]
    edges = pd.DatetimeIndex([_midnight(d, cfg.timezone) for d in mondays])
    labels = pd.Index([pd.Timestamp(d) for d in mondays[:-1]])
    return Window(edges, labels, _midnight(as_of, cfg.timezone))


def assign_buckets(frame: pd.DataFrame, window: Window, column: str = "start") -> pd.DataFrame:
    """Rows whose ``column`` falls inside the window, labelled with their bucket."""
    if len(window.edges) < 2 or frame.empty:
        return frame.iloc[0:0].assign(bucket=pd.Series(dtype="datetime64[us]"))
    t = frame[column].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()  # datetime64
    edges = window.edges.tz_convert("UTC").tz_localize(None).to_numpy()
    pos = np.searchsorted(edges, t, side="right") - 1
    inside = (pos >= 0) & (pos < len(edges) - 1) & ~pd.isna(t)
    out = frame.loc[inside].copy()
    out["bucket"] = window.labels.to_numpy()[pos[inside]]
    return out


def _grouped(frame: pd.DataFrame) -> pd.core.groupby.DataFrameGroupBy:
    return frame.groupby(KEY, sort=True, observed=True)


def _ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


# --------------------------------------------------------------------------------------------
# Capacity and sessions
# --------------------------------------------------------------------------------------------


def available_capacity(clinicians: pd.DataFrame, time_off: pd.DataFrame,
                       window: Window) -> pd.DataFrame:
    """Available weekdays and hours per clinician and bucket.

    Notes
    -----
    Available hours = ``weekly_capacity_hours`` / 5 for each weekday (Monday to Friday) of the
    bucket on which the clinician was employed (``start_date`` .. ``end_date``, inclusive) and
    not on time off (``time_off`` rows, inclusive of both ends; weekend days inside a time-off
    block cost nothing). DATA_CONTRACT section 3, "utilization"; the capacity-based denominator
    of the Dataplayer definition (docs/references.md [Dataplayer]).
    """
    first = window.start.tz_localize(None).normalize()
    last = window.end.tz_localize(None).normalize()
    days = pd.date_range(first, last - pd.Timedelta(days=1), freq="D").to_numpy()
    label_days = window.labels.to_numpy().astype("datetime64[D]")
    bucket_of_day = np.searchsorted(label_days, days.astype("datetime64[D]"), side="right") - 1
    weekday = pd.DatetimeIndex(days).day_of_week.to_numpy() < WEEKDAYS_PER_WEEK
    ids = clinicians["clinician_id"].to_numpy(dtype=object)
    start = clinicians["start_date"].to_numpy(dtype="datetime64[D]")
    end = clinicians["end_date"].to_numpy(dtype="datetime64[D]")
    d = days.astype("datetime64[D]")
    employed = (d[None, :] >= start[:, None]) & ((d[None, :] <= end[:, None])
                                                  | np.isnat(end)[:, None])
    off = np.zeros_like(employed)
    if len(time_off):
        row_of = {c: i for i, c in enumerate(ids)}
        for cid, a, b in zip(time_off["clinician_id"], time_off["start_date"],
                             time_off["end_date"], strict=True):
            i = row_of.get(cid)
            if i is None:
                continue
            lo = np.searchsorted(d, np.datetime64(a, "D"), side="left")
            hi = np.searchsorted(d, np.datetime64(b, "D"), side="right")
            off[i, lo:hi] = True
    avail = employed & ~off & weekday[None, :]
    n_buckets = len(window.labels)
    onehot = np.zeros((len(d), n_buckets))
    onehot[np.arange(len(d)), bucket_of_day] = 1.0
    avail_days = avail.astype(float) @ onehot  # clinicians x buckets
    cap = clinicians["weekly_capacity_hours"].to_numpy(dtype=float)
    out = pd.DataFrame({
        "clinician_id": np.repeat(ids, n_buckets),
        "bucket": np.tile(window.labels.to_numpy(), len(ids)),
        "available_days": avail_days.ravel(),
        "available_hours": (avail_days * (cap / WEEKDAYS_PER_WEEK)[:, None]).ravel(),
    })
    return out.set_index(KEY)


def clinician_time(att: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Attended rows as the clinician's time: a group session (``group``; one row per client)
    becomes one row per slot (``by`` and start) at its longest recorded length. Columns:
    ``by``, ``start``, ``duration_minutes`` (and ``duration_estimated`` and
    ``duration_default`` when known)."""
    cols = [*by, "start", "duration_minutes"] + [
        c for c in ("duration_estimated", "duration_default") if c in att]
    if "group" not in att or not att["group"].any():
        return att[cols]
    grouped = att["group"].to_numpy(dtype=bool)
    slots = att[grouped].sort_values("duration_minutes").groupby(
        [*by, "start"], observed=True, as_index=False).last()
    return pd.concat([att.loc[~grouped, cols], slots[cols]], ignore_index=True)


def sessions_attended(appts: pd.DataFrame) -> pd.DataFrame:
    """Attended sessions and their hours per clinician and bucket.

    Notes
    -----
    ``sessions_attended`` counts attended sessions; ``hours_attended`` sums their
    ``duration_minutes`` / 60; ``hours_estimated`` is the part of it that rests on estimated
    lengths (the export gave no duration or end time: billing codes' usual lengths, minutes
    written in a treatment name, or the default session length), and ``hours_default`` the
    part of that at the default session length. DATA_CONTRACT section 3,
    "utilization" numerator. A group session (``group``: CPT 90853 or the export's group
    column) is one row per client; the clinician's time counts once per slot (clinician and
    start), at its longest recorded length, and so does the session. Attendance itself (the
    rates, active clients) stays per client.
    """
    att = clinician_time(appts[appts["status"] == "attended"], KEY)
    minutes = att["duration_minutes"].astype(float)
    estimated = att["duration_estimated"].to_numpy(dtype=bool) if "duration_estimated" in att \
        else np.zeros(len(att), dtype=bool)
    default = att["duration_default"].to_numpy(dtype=bool) if "duration_default" in att \
        else np.zeros(len(att), dtype=bool)
    g = _grouped(att.assign(hours=minutes / 60, estimated_hours=np.where(estimated,
                                                                        minutes / 60, 0.0),
                            default_hours=np.where(default, minutes / 60, 0.0)))
    return pd.DataFrame({"sessions_attended": g.size(), "hours_attended": g["hours"].sum(),
                         "hours_estimated": g["estimated_hours"].sum(),
                         "hours_default": g["default_hours"].sum()})


def utilization(hours_attended: pd.Series, available_hours: pd.Series) -> pd.Series:
    """Attended hours / available hours; empty where nothing was available.

    Notes
    -----
    DATA_CONTRACT section 3. A flag below 70% and a review band to 80% follow the Dataplayer
    "golden ratio" of 70-80% (docs/references.md [Dataplayer]).
    """
    h, a = hours_attended.align(available_hours, join="outer", fill_value=0.0)
    return pd.Series(_ratio(h, a), index=h.index, name="utilization")


def attendance_rates(appts: pd.DataFrame) -> pd.DataFrame:
    """No-show, late-cancel and non-attendance rates per clinician and bucket.

    Notes
    -----
    Denominator: past appointments = attended + no_show + late_cancel + cancelled (``scheduled``
    ones have not happened). ``non_attendance_rate`` = no-show rate + late-cancel rate.
    Appointments the clinician cancelled are left out of the denominator (the client was not
    expected) and counted on their own as ``clinician_cancelled``.
    DATA_CONTRACT section 3; alert at 10% (docs/references.md [NonAttendance]).
    """
    past = appts[appts["status"] != "scheduled"]
    counts = past.groupby(KEY + ["status"], observed=True).size().unstack("status",
                                                                          fill_value=0)
    for status in ("attended", "no_show", "late_cancel", "cancelled"):
        if status not in counts:
            counts[status] = 0
    total = counts[["attended", "no_show", "late_cancel", "cancelled"]].sum(axis=1)
    out = pd.DataFrame({
        "past_appointments": total,
        "no_show_rate": _ratio(counts["no_show"], total),
        "late_cancel_rate": _ratio(counts["late_cancel"], total),
        "clinician_cancelled": counts["clinician_cancelled"]
        if "clinician_cancelled" in counts else 0,
    }, index=counts.index)
    out["non_attendance_rate"] = out["no_show_rate"] + out["late_cancel_rate"]
    out.index.names = KEY
    return out


# what documentation figures rest on: SIGNING_TIMES, NOTE_STATUS or NOT_KNOWN, and the figures
# that need signing times (LAG_FIGURES): values of the output contract (perfkit.contract)


def documentation(data, as_of: pd.Timestamp) -> dict:
    """What a snapshot's notes rest on (``documentation`` in data_quality.json): signing times
    and/or note statuses, and the export instant the statuses describe."""
    doc = dict(getattr(data, "quality", {}).get("documentation") or {})
    notes = data.notes
    doc.setdefault("signing_times", "signed_at" in notes)
    # ingest's own answer (it also knows whether any note row was usable); older snapshots
    # have none: statuses or signing times then mean it is known
    doc.setdefault("known", bool(doc["signing_times"] or doc.get("note_status", True)))
    doc["exported_at"] = pd.Timestamp(doc["exported_at"]).tz_convert(as_of.tz) \
        if doc.get("exported_at") else as_of
    return doc


def _attended_with_notes(appts: pd.DataFrame, notes: pd.DataFrame, as_of: pd.Timestamp,
                         doc: dict | None = None) -> pd.DataFrame:
    """Attended appointments with their note: whether it is signed, its lag, and which source
    the clinician's documentation figures rest on.

    A note is matched on its appointment and clinician when it names one (notes taken from the
    appointments file, co-therapy), else on the appointment. A clinician's figures rest on
    signing times when the export has them for every signed note, else on note statuses: then a
    note counts as signed at the export instant ``exported_at``, and no lag is known.
    A session known only by its day (``start_date_only``) ends, for notes, at the end of that
    day, and its lag counts whole days."""
    doc = doc or {"signing_times": True, "exported_at": as_of}
    att = appts.loc[appts["status"] == "attended",
                    ["clinician_id", "bucket", "client_id", "appointment_id", "start", "end"]
                    + (["start_date_only"] if "start_date_only" in appts else [])]
    cols = ["appointment_id", "signed_at", "status"]
    notes = notes.assign(**{c: None for c in ("status", "clinician_id", "signed_at")
                            if c not in notes})
    own = notes["clinician_id"].notna()
    by_id = notes.loc[~own, cols].drop_duplicates("appointment_id")
    att = att.merge(by_id, on="appointment_id", how="left")
    if own.any():
        pair = notes.loc[own, cols + ["clinician_id"]]
        att = att.merge(pair, on=["appointment_id", "clinician_id"], how="left",
                        suffixes=("", "_own"))
        for c in ("signed_at", "status"):
            att[c] = att[c + "_own"].where(att[c + "_own"].notna(), att[c])
        att = att.drop(columns=["signed_at_own", "status_own"])
    signed_at = pd.to_datetime(att["signed_at"])
    if signed_at.dt.tz is None and len(signed_at):
        signed_at = signed_at.dt.tz_localize(as_of.tz)
    att["signed_at"] = signed_at
    status_signed = (att["status"] == "signed").to_numpy(dtype=bool)
    untimed = status_signed & att["signed_at"].isna().to_numpy()
    by_status = set(att.loc[untimed, "clinician_id"]) if doc.get("signing_times", True) \
        else set(att["clinician_id"])
    att["source"] = np.where(att["clinician_id"].isin(by_status), NOTE_STATUS, SIGNING_TIMES)
    if not doc.get("known", True):
        att["source"] = NOT_KNOWN
    on_status = att["source"].to_numpy() != SIGNING_TIMES
    # a note signed after as_of was not signed as of then; a status tells the export instant
    att["signed"] = np.where(on_status, status_signed | att["signed_at"].notna().to_numpy(),
                             (att["signed_at"].notna() & (att["signed_at"] <= as_of))
                             .to_numpy())
    att["ref_instant"] = pd.Series(as_of, index=att.index).where(~on_status,
                                                                 doc["exported_at"])
    day_only = att["start_date_only"].to_numpy(dtype=bool) if "start_date_only" in att \
        else np.zeros(len(att), dtype=bool)
    att["ref_end"] = att["end"].where(~day_only, att["start"] + pd.Timedelta(days=1))
    days = (att["signed_at"].dt.tz_localize(None).dt.normalize()
            - att["start"].dt.tz_localize(None).dt.normalize()).dt.days * 24.0
    lag = (att["signed_at"] - att["end"]) / HOUR
    att["lag_hours"] = np.where(day_only, days, lag)
    att.loc[on_status, "lag_hours"] = np.nan
    return att


def note_timeliness(appts: pd.DataFrame, notes: pd.DataFrame, as_of: pd.Timestamp,
                    cfg: Config, doc: dict | None = None, att=None) -> pd.DataFrame:
    """Notes due, shares signed within 24 and 72 hours, the median lag, and the source.

    Notes
    -----
    Note lag = ``signed_at`` - (start + duration), in hours, for attended appointments (whole
    days x 24 for a session known only by its day). ``notes_due`` = attended appointments that
    ended at least 72 hours before ``as_of`` (the 72-hour censoring rule: a note cannot be late
    before its deadline has passed). ``notes_within_24h`` / ``notes_within_72h`` = share of
    notes due signed within 24 / 72 hours; an unsigned note counts as not within.
    ``median_note_lag_hours`` is over the signed notes due. A signature after ``as_of`` counts
    as unsigned as of then. With note statuses only, the three lag figures are empty ("this
    export has no signing times"), never zero; ``documentation_source`` says which.
    DATA_CONTRACT section 3; the 24 h / 72 h standards: docs/references.md [NoteTimeliness].
    """
    ops = cfg.operations
    if att is None:
        att = _attended_with_notes(appts, notes, as_of, doc)
    due = att[att["ref_end"] <= as_of - ops.note_standard_hours * HOUR]
    due = due.assign(
        in_best=due["signed"] & (due["lag_hours"] <= ops.note_best_hours),
        in_standard=due["signed"] & (due["lag_hours"] <= ops.note_standard_hours),
        signed_lag=due["lag_hours"].where(due["signed"]),
        on_status=due["source"] != SIGNING_TIMES,
    )
    g = _grouped(due)
    n = g.size()
    out = pd.DataFrame({
        "notes_due": n,
        "notes_within_24h": _ratio(g["in_best"].sum(), n),
        "notes_within_72h": _ratio(g["in_standard"].sum(), n),
        "median_note_lag_hours": g["signed_lag"].median(),
    })
    no_times = g["on_status"].any()
    out.loc[no_times[no_times].index, list(LAG_FIGURES)] = np.nan
    source = _grouped(att)["source"].first()
    out = out.join(source.rename("documentation_source"), how="outer")
    return out


def _open_notes(appts, notes, as_of, cfg, doc, hours: float, name: str,
                att=None) -> pd.Series:
    if att is None:
        att = _attended_with_notes(appts, notes, as_of, doc)
    late = att[(att["ref_end"] < att["ref_instant"] - pd.Timedelta(hours=hours))
               & ~att["signed"]]
    return _grouped(late).size().rename(name)


def unsigned_overdue(appts: pd.DataFrame, notes: pd.DataFrame, as_of: pd.Timestamp,
                     cfg: Config, doc: dict | None = None, att=None) -> pd.Series:
    """Attended appointments that ended over 7 days before ``as_of`` with no signed note; with
    note statuses only, over 7 days before the export instant with no signed note at the
    export.

    Notes
    -----
    DATA_CONTRACT section 3, ``unsigned_overdue_7d``; 7 days is the escalation point of
    docs/references.md [NoteTimeliness] (``operations.note_overdue_days``).
    """
    return _open_notes(appts, notes, as_of, cfg, doc, cfg.operations.note_overdue_days * 24,
                       "unsigned_overdue_7d", att)


def notes_open(appts: pd.DataFrame, notes: pd.DataFrame, as_of: pd.Timestamp, cfg: Config,
               doc: dict | None = None, att=None) -> pd.Series:
    """``notes_open_72h``: attended appointments that ended more than 72 hours before ``as_of``
    (with note statuses only: before the export instant) without a signed note."""
    return _open_notes(appts, notes, as_of, cfg, doc, cfg.operations.note_standard_hours,
                       "notes_open_72h", att)


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------


def active_clients(appts: pd.DataFrame) -> pd.Series:
    """Distinct clients with an attended appointment in the bucket (DATA_CONTRACT section 3)."""
    att = appts[appts["status"] == "attended"]
    return _grouped(att)["client_id"].nunique().rename("active_clients")


def _first_attended(all_appts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    att = all_appts[(all_appts["status"] == "attended") & (all_appts["start"] < as_of)]
    return (att.groupby(["clinician_id", "client_id"], sort=False, observed=True)["start"]
            .min().rename("first_start").reset_index())


def _sessions_by_client(all_appts: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Attended sessions per (clinician, client) from the first through ``as_of``."""
    att = all_appts[(all_appts["status"] == "attended") & (all_appts["start"] < as_of)]
    if att.empty:  # an empty Arrow-string group index cannot be joined on (pandas 3)
        index = pd.MultiIndex.from_arrays([pd.Index([], dtype=object)] * 2,
                                          names=["clinician_id", "client_id"])
        return pd.Series([], index=index, dtype="int64", name="n")
    return att.groupby(["clinician_id", "client_id"], observed=True).size().rename("n")


def new_clients(all_appts: pd.DataFrame, window: Window) -> pd.Series:
    """Clients whose first attended appointment with this clinician ever falls in the bucket.

    Notes
    -----
    "Ever" is every appointment in the data, also from before the period (DATA_CONTRACT
    section 3). A client new to one clinician can be known to another.
    """
    first = _first_attended(all_appts, window.as_of)
    first = assign_buckets(first, window, "first_start")
    return _grouped(first).size().rename("new_clients")


def retention(all_appts: pd.DataFrame, window: Window, cfg: Config) -> pd.DataFrame:
    """Retention cohort, share retained for 8+ sessions and share who dropped out early.

    Notes
    -----
    Cohort = new clients of the bucket whose first attended session is at least
    ``cohort_weeks`` (8) weeks before ``as_of`` (later starters have not had time to reach 8
    sessions). ``retained_8plus_rate`` = share of the cohort with at least ``retained_sessions``
    (8) attended sessions with this clinician by ``as_of``. ``early_dropout_rate`` = share with
    fewer than ``dropout_sessions`` (4) attended sessions and no attended or scheduled
    appointment with this clinician from ``dropout_window_days`` (30) days before ``as_of`` to
    30 days after it. Both rates are empty when the cohort is smaller than
    ``outcomes.min_episodes`` (as an outcome rate is: a rate of two clients says more about
    them than about the work). DATA_CONTRACT section 3; PracticeVital's 8 / 4 defaults
    (docs/references.md [PracticeVital]).
    """
    ops = cfg.operations
    as_of = window.as_of
    first = assign_buckets(_first_attended(all_appts, as_of), window, "first_start")
    cohort = first[first["first_start"] <= as_of - pd.Timedelta(weeks=ops.cohort_weeks)]
    pair = ["clinician_id", "client_id"]
    n_sessions = _sessions_by_client(all_appts, as_of)
    lo = as_of - pd.Timedelta(days=ops.dropout_window_days)
    hi = as_of + pd.Timedelta(days=ops.dropout_window_days)
    near = all_appts[all_appts["status"].isin(["attended", "scheduled"])
                     & (all_appts["start"] >= lo) & (all_appts["start"] < hi)]
    recent = near.groupby(pair, observed=True).size().rename("recent")
    cohort = cohort.join(n_sessions, on=pair).join(recent, on=pair)
    cohort["n"] = cohort["n"].fillna(0)
    cohort["retained"] = cohort["n"] >= ops.retained_sessions
    cohort["dropout"] = (cohort["n"] < ops.dropout_sessions) & cohort["recent"].isna()
    g = _grouped(cohort)
    size = g.size()
    shown = size >= cfg.outcomes.min_episodes  # a smaller cohort's rates are left empty
    return pd.DataFrame({
        "retention_cohort": size,
        "retained_8plus_rate": np.where(shown, _ratio(g["retained"].sum(), size), np.nan),
        "early_dropout_rate": np.where(shown, _ratio(g["dropout"].sum(), size), np.nan),
    })


def median_sessions_per_client(all_appts: pd.DataFrame, appts: pd.DataFrame,
                               as_of: pd.Timestamp) -> pd.Series:
    """Median attended sessions per active client, counted over the whole episode.

    Notes
    -----
    The data contract names this column without defining it. perfkit takes each client active
    in the bucket and counts their attended sessions with this clinician from the first one
    through ``as_of``; the median is over those clients. Episodes still running are counted so
    far, so the figure rises with longer periods. Flückiger et al. 2020 report a median of about
    8 sessions across naturalistic samples (docs/references.md [Flueckiger2020]).
    """
    pair = ["clinician_id", "client_id"]
    n_sessions = _sessions_by_client(all_appts, as_of)
    active = appts.loc[appts["status"] == "attended", KEY + ["client_id"]].drop_duplicates()
    active = active.join(n_sessions, on=pair)
    return _grouped(active)["n"].median().rename("median_sessions_per_client")


def goal_attainment(sessions: pd.Series, available_days: pd.Series,
                    clinicians: pd.DataFrame) -> pd.Series:
    """Attended sessions / the session goal for the days the clinician was available.

    Notes
    -----
    Goal for a bucket = ``weekly_session_goal`` / 5 per available weekday (the same leave-aware
    days as capacity), so time off lowers the goal rather than the attainment. The goal-based
    denominator is PracticeVital's (docs/references.md [PracticeVital]). Empty when the
    clinician has no goal.
    """
    goal = clinicians.set_index("clinician_id")["weekly_session_goal"].astype(float)
    s, days = sessions.align(available_days, join="right", fill_value=0)
    expected = days * goal.reindex(days.index.get_level_values(0)).to_numpy() / WEEKDAYS_PER_WEEK
    return pd.Series(_ratio(s, expected), index=s.index, name="goal_attainment")


def caseload(all_appts: pd.DataFrame, as_of: pd.Timestamp, cfg: Config) -> pd.Series:
    """Distinct clients with an attended session in the ``caseload_weeks`` (4) weeks before
    ``as_of``.

    Notes
    -----
    docs/references.md [Caseload] ("Caseload": active clients with a session in the last N
    weeks); N is a perfkit choice, set in parameters.
    """
    lo = as_of - pd.Timedelta(weeks=cfg.operations.caseload_weeks)
    att = all_appts[(all_appts["status"] == "attended") & (all_appts["start"] >= lo)
                    & (all_appts["start"] < as_of)]
    return att.groupby("clinician_id", observed=True)["client_id"].nunique().rename("caseload")


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def clinicians_in_period(clinicians: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Clinicians employed on at least one day of the period."""
    start, end = pd.Timestamp(cfg.period_start), pd.Timestamp(cfg.period_end)
    employed = (clinicians["start_date"] < end) & (clinicians["end_date"].isna()
                                                   | (clinicians["end_date"] >= start))
    return clinicians[employed]


def _bucket_table(data, cfg: Config, window: Window, clinicians: pd.DataFrame,
                  extra: bool) -> pd.DataFrame:
    appts_all = data.appointments
    appts = assign_buckets(appts_all, window)
    doc = documentation(data, window.as_of)
    att = _attended_with_notes(appts, data.notes, window.as_of, doc)  # once for three figures
    cap = available_capacity(clinicians, data.time_off, window)
    parts = [
        cap,
        sessions_attended(appts),
        attendance_rates(appts),
        note_timeliness(appts, data.notes, window.as_of, cfg, doc, att),
        unsigned_overdue(appts, data.notes, window.as_of, cfg, doc, att).to_frame(),
        notes_open(appts, data.notes, window.as_of, cfg, doc, att).to_frame(),
        active_clients(appts).to_frame(),
        new_clients(appts_all, window).to_frame(),
    ]
    if extra:
        parts += [retention(appts_all, window, cfg),
                  median_sessions_per_client(appts_all, appts, window.as_of).to_frame()]
    table = pd.concat(parts, axis=1, join="outer")
    table = table[table.index.get_level_values("clinician_id").isin(clinicians["clinician_id"])]
    counts = ["sessions_attended", "notes_due", "unsigned_overdue_7d", "notes_open_72h",
              "active_clients",
              "new_clients", "past_appointments", "clinician_cancelled"] \
        + (["retention_cohort"] if extra else [])
    for col in counts + ["hours_attended", "hours_estimated", "hours_default",
                         "available_hours", "available_days"]:
        table[col] = table[col].fillna(0)
    for col in counts:
        table[col] = table[col].astype("int64")
    table["documentation_source"] = table["documentation_source"].fillna(
        SIGNING_TIMES if doc.get("signing_times", True) else NOTE_STATUS)
    if not doc.get("known", True):  # the figures are blanked as unavailable (_unavailable)
        table["documentation_source"] = NOT_KNOWN
    table["utilization"] = utilization(table["hours_attended"], table["available_hours"])
    if extra:
        table["goal_attainment"] = goal_attainment(table["sessions_attended"],
                                                   table["available_days"], clinicians)
    return table


def clinician_metrics(data, cfg: Config) -> pd.DataFrame:
    """One row per clinician employed in the period: DATA_CONTRACT's fixed columns first.

    Parameters
    ----------
    data : Prepared
        The prepared snapshot (``perfkit.load_prepared``).
    cfg : Config
        Parameters: period, time zone and thresholds.
    """
    clinicians = clinicians_in_period(data.clinicians, cfg)
    window = period_window(cfg)
    table = _bucket_table(data, cfg, window, clinicians, extra=True)
    table = table.reset_index().drop(columns="bucket").set_index("clinician_id")
    table = table.reindex(clinicians["clinician_id"])
    table["weekly_session_goal"] = clinicians.set_index("clinician_id")["weekly_session_goal"]
    table["caseload"] = caseload(data.appointments, window.as_of, cfg).reindex(table.index) \
        .fillna(0).astype("int64")
    # new clients, retention and early dropout resting on less history than they need
    table["new_clients_limited"] = cov.new_clients_limited(
        clinicians, cov.coverage_of(data), cfg).reindex(table.index.astype(str)).to_numpy()
    rows = data.appointments["clinician_id"].value_counts()
    table["appointments_in_export"] = rows.reindex(table.index).fillna(0).astype("int64")
    if len(data.appointments):  # a rostered clinician the export never names: not 0% busy
        none = table["appointments_in_export"] == 0
        table.loc[none, ["utilization", "goal_attainment"]] = np.nan
    table = table.reset_index()
    return _unavailable(table[CONTRACT_COLUMNS + EXTRA_COLUMNS], data)


def weekly_caseload(appts: pd.DataFrame, weekly: pd.DataFrame, cfg: Config) -> pd.Series:
    """The caseload (:func:`caseload`) at the end of each week of ``weekly``, indexed by
    ``(clinician_id, week_start)``."""
    parts = []
    for week in sorted(pd.to_datetime(weekly["week_start"]).unique()):
        end = _midnight((pd.Timestamp(week) + pd.Timedelta(days=7)).date(), cfg.timezone)
        c = caseload(appts, end, cfg)
        parts.append(pd.DataFrame({"clinician_id": c.index.astype(str), "week_start": week,
                                   "caseload": c.to_numpy()}))
    if not parts:
        index = pd.MultiIndex.from_arrays([[], []], names=["clinician_id", "week_start"])
        return pd.Series([], index=index, dtype=float, name="caseload")
    out = pd.concat(parts).set_index(["clinician_id", "week_start"])["caseload"]
    keys = pd.MultiIndex.from_arrays([weekly["clinician_id"].astype(str),
                                      pd.to_datetime(weekly["week_start"])])
    return out.reindex(keys).fillna(0)


def _unavailable(table: pd.DataFrame, data) -> pd.DataFrame:
    """Blank the figures the export cannot give (an import profile's ``unavailable``): a
    billing export that lists only sessions held has no no-show rate, not a rate of zero."""
    gone = [c for c in ((getattr(data, "quality", {}) or {}).get("source") or {})
            .get("unavailable", []) if c in table]
    if gone:
        table = table.copy()
        table[gone] = np.nan
    return table


def weekly_metrics(data, cfg: Config) -> pd.DataFrame:
    """The weekly series behind the trends: one row per clinician and employed week.

    Weeks run Monday to Sunday and end on or before ``as_of``; at most ``trends.weeks`` of them,
    none before the first week the data cover. Notes still inside their 72-hour window at
    ``as_of`` are not yet due, so the last few days' documentation is not counted as late.
    """
    appts = data.appointments
    covered = cov.coverage_of(data)
    first_day = cov.first_date(covered, "appointments") or cfg.period_start
    window = week_edges(cfg, first_day)
    clinicians = data.clinicians
    if len(window.labels) == 0:
        return pd.DataFrame(columns=["clinician_id", "week_start"] + WEEKLY_COLUMNS)
    table = _bucket_table(data, cfg, window, clinicians, extra=False)
    table = table[table["available_days"] > 0]  # weeks the clinician was employed and working
    table = table.reset_index().rename(columns={"bucket": "week_start"})
    # Who is new cannot be told in the first weeks of the data: clients already in treatment
    # look new. Those weeks get no new_clients value (one retention cohort length).
    known = pd.Timestamp(first_day) + pd.Timedelta(weeks=cfg.operations.cohort_weeks)
    table["new_clients"] = table["new_clients"].astype(float).where(table["week_start"] >= known)
    # Weeks that ended before the notes begin (a notes export shorter than the appointments')
    # have sessions but no notes: their documentation is unknown, not unsigned.
    notes_from = cov.first_date(covered, "notes")
    if notes_from is not None:
        ended = table["week_start"] + pd.Timedelta(weeks=1) <= pd.Timestamp(notes_from)
        table.loc[ended, list(LAG_FIGURES)] = np.nan
    table["caseload"] = weekly_caseload(appts, table, cfg).to_numpy()
    return _unavailable(table[["clinician_id", "week_start"] + WEEKLY_COLUMNS].sort_values(
        ["clinician_id", "week_start"], ignore_index=True), data)


# A threshold is compared with the value AS DISPLAYED (perfkit.registry.DISPLAY_DIGITS, the
# digits the reports write each rate with), so a utilization shown as "70%" is not below 70%.


def as_displayed(values, metric: str) -> pd.Series:
    """A rate as the reader sees it: its percentage rounded to the digits the reports show it
    with (:data:`perfkit.registry.DISPLAY_DIGITS`; a count: itself), back as a share; empty
    stays empty. Every threshold comparison of a flag, a band or a shading goes through
    :func:`beyond`, which reads this."""
    v = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else \
        values.astype(float)
    digits = DISPLAY_DIGITS.get(metric)
    if digits is None:
        return v
    # the string the reports print, read back: exactly the number the reader sees
    return v.map(lambda x: np.nan if pd.isna(x) else float(f"{100 * x:.{digits}f}") / 100)


def beyond(values, metric: str, threshold: float, side: str) -> pd.Series:
    """Whether each value, as displayed (:func:`as_displayed`), is past ``threshold``:
    ``side`` is ``"below"`` (<), ``"above"`` (>) or ``"at or above"`` (>=). Both sides are
    compared in percentage points rounded to 9 places, so 0.07 and 7% are one number. Empty
    values are never past a threshold."""
    shown = as_displayed(values, metric)
    scale = 100 if metric in DISPLAY_DIGITS else 1
    a, t = (shown * scale).round(9), round(threshold * scale, 9)
    out = {"below": a < t, "above": a > t, "at or above": a >= t}[side]
    return out.fillna(False).astype(bool) & shown.notna()


def unsigned_share(metrics: pd.DataFrame) -> pd.Series:
    """``unsigned_overdue_share``: the notes unsigned past ``note_overdue_days`` over the
    notes due (attended sessions) in the period; empty without notes due or when the count is
    not known."""
    due = metrics["notes_due"].astype(float) if "notes_due" in metrics else \
        pd.Series(np.nan, index=metrics.index)
    return pd.Series(_ratio(metrics["unsigned_overdue_7d"].astype(float), due),
                     index=metrics.index)


def flags(metrics: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """Threshold flags per clinician (True = worth a conversation), from parameters. Every
    comparison is with the value as displayed (:func:`beyond`).

    - ``flag_low_utilization``: utilization below ``utilization_alert`` (70%);
      ``utilization_band`` is ``low`` / ``review`` (below ``utilization_review``, 80%: the
      reports' "watch", not a flag) / ``ok``;
    - ``flag_high_non_attendance``: non-attendance at or above ``non_attendance_alert`` (10%);
    - ``flag_late_notes``: notes within 72 h below ``notes_within_72h_alert`` (90%);
    - ``flag_unsigned_overdue``: a backlog relative to volume: at least
      ``unsigned_overdue_min_notes`` (3) notes unsigned more than ``note_overdue_days`` (7)
      days AND at least ``unsigned_overdue_share`` (2%) of the notes due
      (``unsigned_overdue_share``, a column after the flags). One open note in a busy period is
      not a flag.

    A metric with no data (empty) raises no flag.
    """
    ops = cfg.operations
    u = metrics["utilization"]
    low = beyond(u, "utilization", ops.utilization_alert, "below")
    review = beyond(u, "utilization", ops.utilization_review, "below")
    band = np.select([low.to_numpy(), review.to_numpy(), u.notna().to_numpy()],
                     ["low", "review", "ok"], default="")
    share = unsigned_share(metrics)
    count = metrics["unsigned_overdue_7d"].astype(float)
    out = pd.DataFrame({
        "clinician_id": metrics["clinician_id"],
        "utilization_band": band,
        "flag_low_utilization": low.to_numpy(),
        "flag_high_non_attendance": beyond(metrics["non_attendance_rate"],
                                           "non_attendance_rate", ops.non_attendance_alert,
                                           "at or above").to_numpy(),
        "flag_late_notes": beyond(metrics["notes_within_72h"], "notes_within_72h",
                                  ops.notes_within_72h_alert, "below").to_numpy(),
        "flag_unsigned_overdue": (
            beyond(count, "unsigned_overdue_7d", ops.unsigned_overdue_min_notes, "at or above")
            & beyond(share, "unsigned_overdue_share", ops.unsigned_overdue_share,
                     "at or above")).to_numpy(),
        "unsigned_overdue_share": share.to_numpy(),
    }, index=metrics.index)
    return out
