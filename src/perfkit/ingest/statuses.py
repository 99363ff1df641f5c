"""Appointment statuses as an export gives them: late cancellations from a fee or from the
cancellation time, who cancelled, statuses left blank until attendance is marked, and the
words for what an export does not say."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from .bookkeeping import _TableResult
from .columns import ColumnMap, _export_instant
from .parse import _map_unique


def _late_cancel_from_fee(res: _TableResult) -> None:
    """A cancelled appointment with a fee charged is a late cancellation: exports such as
    TherapyNotes' record a late cancellation as "Canceled" plus a "Charge Fee" flag. Counted
    under ``adjustments`` (``late_cancel_from_fee``)."""
    status, fee = res.typed["status"], res.typed.get("fee_charged")
    if fee is None:
        return
    late = (status == "cancelled").to_numpy(dtype=bool, na_value=False) \
        & (fee == "yes").to_numpy(dtype=bool, na_value=False)
    res.typed["status"] = status.where(~late, "late_cancel")
    res.adjustments["late_cancel_from_fee"] = int((late & res.verdicts.ok).sum())


def _blank_status(res: _TableResult, cmap: ColumnMap) -> None:
    """An export that leaves the attendance empty until someone marks it (Owl Practice; the
    column map's ``status_blank_until_marked``, which the generic profile turns on): an empty
    status is an appointment booked and not marked yet (``scheduled``), not a missing value.
    Those before the export instant are counted by :func:`_not_yet_marked`; the others are
    upcoming (adjustments: ``status_empty_read_as_booked``). Elsewhere an empty status stays a
    ``missing_value``: the contract, SimplePractice and TherapyNotes always print one, so an
    empty cell there is a mistake to correct, never a guess."""
    if not cmap.status_blank_until_marked or res.file is None or res.shared:
        return
    blank = (res.raw["status"] == "").to_numpy().copy()
    if res.summary_rows is not None:  # a row of totals stays one
        blank &= ~res.summary_rows
    if res.repeated_headers is not None:
        blank &= ~res.repeated_headers
    res.raw.loc[blank, "status"] = "scheduled"
    res.typed["_status_blank"] = pd.Series(blank, index=res.raw.index)


def _left_out_statuses(res: _TableResult) -> None:
    """Rows whose status says they are no appointment of their own (``rescheduled``: moved to
    another time, where the export has a row for it) are left out with a reason of their own,
    never counted as cancellations."""
    status = res.typed["status"]
    res.verdicts.reject((status == "rescheduled").to_numpy(dtype=bool, na_value=False),
                        "rescheduled", "status")


def _cancelled_by(res: _TableResult) -> None:
    """Who cancelled ("Canceled By: Provider / Client"): a cancellation or late cancellation
    by the clinician's own side (provider, clinician, therapist, practitioner, counselor,
    practice; never staff, office or front desk, who often cancel for a client) becomes
    ``clinician_cancelled`` (adjustments: ``clinician_cancelled_from_cancelled_by``); by the
    client it stays as it is. A value that names neither (a person's name, "system") leaves
    the export's status as it is and is counted (``cancelled_by_not_recognised``): the status
    itself is known, so the row is kept, and the value is never quoted (it may be a name)."""
    who = res.typed.get("cancelled_by")
    if who is None or "cancelled_by" not in res.in_file:
        return
    side = _map_unique(who.fillna(""), lambda v: C.CANCELLED_BY_SYNONYMS.get(
        _cancelled_by_label(v)) if v else "")
    status = res.typed["status"]
    cancel = status.isin(["cancelled", "late_cancel"]).to_numpy(dtype=bool, na_value=False)
    clinician = cancel & (side == "clinician").to_numpy(dtype=bool, na_value=False)
    unknown = cancel & side.isna().to_numpy(dtype=bool)
    res.typed["status"] = status.where(~clinician, "clinician_cancelled")
    ok = res.verdicts.ok
    res.adjustments["clinician_cancelled_from_cancelled_by"] = int((clinician & ok).sum())
    res.adjustments["cancelled_by_not_recognised"] = int((unknown & ok).sum())


def _cancelled_by_label(value: str) -> str:
    """A "cancelled by" value as a key: "Canceled by: Provider", "Provider Cancelled",
    "Cancelled - Provider" and "provider" alike (words only, punctuation ignored)."""
    label = C.header_key(value)
    label = re.sub(r"^(?:cancell?ed|cancel|cancellation)(?: by)? ", "", label)
    return re.sub(r" (?:cancell?ed|cancel|cancellation)$", "", label)


def _late_cancel_from_cancellation_time(res: _TableResult, cfg: Config,
                                        cmap: ColumnMap) -> None:
    """A cancellation less than the practice's policy window before the start (parameter
    ``operations.late_cancel_window_hours``, default 24) is a late cancellation: exports such
    as Jane's record it as "Cancelled" with the time it was cancelled (adjustments:
    ``late_cancel_from_cancellation_time``). A start or a cancellation time with no time of
    day cannot be compared to the hour: the row keeps its status and is counted
    (``cancellation_time_without_time_of_day``); one that could not be read is empty
    (``cancellation_time_not_read``, see ``_cancellation_times``)."""
    when = res.typed.get("cancelled_at")
    if when is None or "cancelled_at" not in res.in_file:
        return
    status = res.typed["status"]
    cancelled = (status == "cancelled").to_numpy(dtype=bool, na_value=False) \
        & when.notna().to_numpy() & res.typed["start"].notna().to_numpy()
    day_only = res.typed["_cancelled_at_date_only"].to_numpy(dtype=bool) \
        | res.typed["start_date_only"].to_numpy(dtype=bool)
    ahead = (res.typed["start"] - when).dt.total_seconds().to_numpy(dtype=float,
                                                                      na_value=np.nan) / 3600
    late = cancelled & ~day_only & (ahead < cfg.operations.late_cancel_window_hours)
    res.typed["status"] = status.where(~late, "late_cancel")
    ok = res.verdicts.ok
    res.adjustments["late_cancel_from_cancellation_time"] = int((late & ok).sum())
    res.adjustments["cancellation_time_without_time_of_day"] = int(
        (cancelled & day_only & ok).sum())
    res.adjustments["cancellation_time_not_read"] = int(
        (res.typed["_cancelled_at_unread"].to_numpy(dtype=bool) & ok).sum())


def _not_yet_marked(res: _TableResult, cmap: ColumnMap, cfg: Config) -> None:
    """Appointments before the export instant (parameter ``exported_at``, else the column
    map's, else the period end) whose attendance is not marked: an empty status (with
    ``status_blank_until_marked``) or a booked one (Scheduled, Confirmed, Upcoming). They are
    kept as ``scheduled``, so they stay out of the rates (whose denominator is attended,
    no-show, late and other cancellations), and counted (adjustments: ``not_yet_marked``) so
    that validate and the practice report say so. Empty ones after that instant are upcoming
    bookings (``status_empty_read_as_booked``)."""
    when, _ = _export_instant(cmap, cfg)
    booked = (res.typed["status"] == "scheduled").to_numpy(dtype=bool, na_value=False)
    before = (res.typed["start"] < when).to_numpy(dtype=bool, na_value=False)
    lo, hi = _rates_span(cmap, cfg)  # only those the period's rates would count
    inside = ((res.typed["start"] >= lo) & (res.typed["start"] < hi)).to_numpy(
        dtype=bool, na_value=False)
    ok = res.verdicts.ok & ~(res.folded if res.folded is not None else False)
    res.adjustments["not_yet_marked"] = int((booked & inside & ok).sum())
    blank = res.typed.get("_status_blank")
    if blank is not None:
        res.adjustments["status_empty_read_as_booked"] = int(
            (blank.to_numpy(dtype=bool) & booked & ~before & ok).sum())


_NO_CANCELLED_BY = ("This export does not say who cancelled an appointment, so cancellations "
                    "by clinicians are not known.")
_NO_LATE_CANCEL = ("This export does not say which cancellations came late (it has no late "
                   "cancellation status, no time an appointment was cancelled and no late fee), "
                   "so late cancellations and missed appointments (no-shows and late "
                   "cancellations together) are not known; no-shows are counted.")
STATUS_CAVEATS = (_NO_CANCELLED_BY, _NO_LATE_CANCEL)


def _statuses_unsaid(res: _TableResult, cfg: Config, by_map: bool
                     ) -> list[tuple[list[str], str]]:
    """The figures an export read by the generic profile or a column map of the practice's own
    (``by_map``) cannot give, once every status is final: no row is ``clinician_cancelled``
    and there is no "cancelled by" column (Jane, Owl Practice, Tebra), so
    ``clinician_cancelled`` is not known rather than 0; no row is ``late_cancel`` and there
    is neither a cancellation time nor a fee column (Tebra), so ``late_cancel_rate`` and
    ``non_attendance_rate`` are not known rather than the no-shows alone. Returns (figures,
    the sentence the reports give) pairs. The contract format and the SimplePractice profile
    print both statuses, so an export of theirs that has none had none; the TherapyNotes
    profile lists what it lacks itself."""
    if res.file is None or not (cfg.source == "generic" or (cfg.source == "contract"
                                                             and by_map)):
        return []
    status = res.typed["status"]
    has = {c for c in res.in_file if c not in res.empty_columns}
    out = []
    if not (status == "clinician_cancelled").any() and "cancelled_by" not in has:
        out.append((["clinician_cancelled"], _NO_CANCELLED_BY))
    if not (status == "late_cancel").any() and not {"cancelled_at", "fee_charged"} & has:
        out.append((["late_cancel_rate", "non_attendance_rate"], _NO_LATE_CANCEL))
    return out


def _rates_span(cmap: ColumnMap, cfg: Config) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The time the period's missed-appointment rates cover: from the period start to the
    period end or the export instant, whichever comes first (local midnights)."""
    lo = pd.Timestamp(cfg.period_start).tz_localize(cfg.timezone)
    hi = pd.Timestamp(cfg.period_end).tz_localize(cfg.timezone)
    return lo, min(hi, _export_instant(cmap, cfg)[0])


def _not_yet_marked_span(cmap: ColumnMap, cfg: Config) -> dict:
    """The span :func:`not_yet_marked_words` names, as data-quality facts (ISO texts)."""
    lo, hi = _rates_span(cmap, cfg)
    end = pd.Timestamp(cfg.period_end).tz_localize(cfg.timezone)
    return {"from": lo.isoformat(), "to": hi.isoformat(), "export_first": bool(hi < end)}


def not_yet_marked_words(quality: dict) -> str | None:
    """The sentence validate and the practice report give about appointments of the period
    (up to the export instant) with no attendance marked (None: there are none)."""
    entry = (quality.get("tables") or {}).get("appointments") or {}
    n = entry.get("adjustments", {}).get("not_yet_marked", 0)
    if not n:
        return None
    span = entry.get("not_yet_marked_span")
    day = ""
    if span:
        lo, hi = pd.Timestamp(span["from"]), pd.Timestamp(span["to"])
        if span.get("export_first"):
            day = f" from {lo:%d %b %Y} to the export ({hi:%d %b %Y}" + (
                f", {hi:%H:%M}" if hi != hi.normalize() else "") + ")"
        else:
            day = f" in the period ({lo:%d %b %Y} to {hi - pd.Timedelta(days=1):%d %b %Y})"
    return (f"{n:,} appointment{'s' * (n != 1)}{day} {'are' if n != 1 else 'is'} not yet "
            "marked (attended, missed or cancelled): left out of the missed-appointment "
            f"rates until {'they are' if n != 1 else 'it is'} marked in the system and "
            "exported again.")
