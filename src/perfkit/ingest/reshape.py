"""Reshaping EHR rows into the contract: add-on codes folded into their session, session
lengths from durations or services (and the repeated hour of a clock change), session flags,
generated stable ids, clinicians' names resolved to ids, and clinicians inferred from the
appointments."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from ..hostile_text import csv_guarded
from .bookkeeping import _echo, _TableResult
from .columns import ColumnMap
from .parse import _isin, _map_unique, _utc_naive


def _yes(res: _TableResult, column: str) -> np.ndarray:
    values = res.typed.get(column)
    if values is None:
        return np.zeros(len(res.raw), dtype=bool)
    return (values == "yes").to_numpy(dtype=bool, na_value=False)


def _session_key(res: _TableResult) -> pd.Series:
    """Clinician, client and start of each row: the identity of a session in an export
    without appointment ids."""
    start = res.typed["start"]
    when = _utc_naive(start).astype("datetime64[s]").astype(str)
    when = np.where(start.isna().to_numpy(), res.raw["start"].to_numpy(dtype=object), when)
    return (res.raw["clinician_id"].astype(str) + "\x1f" + res.raw["client_id"].astype(str)
            + "\x1f" + pd.Series(when, index=res.raw.index).astype(str))


def _fold_add_ons(res: _TableResult) -> None:
    """An add-on billing line (interactive complexity 90785, crisis minutes 90840, ...) is part
    of the session of the same clinician, client and start: its minutes join that session's
    estimated length and the line itself is folded into it (counted as accepted under
    ``adjustments``: ``add_on_lines_folded``). One with no such session is rejected."""
    t, v = res.typed, res.verdicts
    add_on = t["_svc_add_on_only"].to_numpy(dtype=bool) & v.ok
    res.folded = np.zeros(len(add_on), dtype=bool)
    if not add_on.any():
        return
    key = _session_key(res)
    hosts = ~t["_svc_add_on_only"].to_numpy(dtype=bool) & v.ok
    host_pos = pd.Series(np.flatnonzero(hosts), index=key[hosts].to_numpy()
                         ).groupby(level=0).first()
    pos = host_pos.reindex(key[add_on].to_numpy()).to_numpy()
    found = ~np.isnan(pos)
    rows = np.flatnonzero(add_on)
    orphan = np.zeros(len(add_on), dtype=bool)
    orphan[rows[~found]] = True
    v.reject(orphan, "add_on_without_session", "service")
    minutes = t["_svc_add_on_minutes"].to_numpy(dtype=float).copy()
    np.add.at(minutes, pos[found].astype(int), minutes[rows[found]])
    t["_svc_add_on_minutes"] = pd.Series(minutes, index=res.raw.index)
    res.folded[rows[found]] = True
    res.fold_host = np.full(len(add_on), -1)
    res.fold_host[rows[found]] = pos[found].astype(int)
    res.adjustments["add_on_lines_folded"] = int(found.sum())


def _drop_folds_of_rejected(res: _TableResult) -> None:
    """An add-on line whose session was rejected later (no length, say) goes with it."""
    if res.fold_host is None:
        return
    lines = np.flatnonzero(res.folded)
    gone = lines[~res.verdicts.ok[res.fold_host[lines]]]
    if len(gone):
        mask = np.zeros(len(res.folded), dtype=bool)
        mask[gone] = True
        res.folded[gone] = False
        res.verdicts.reject(mask, "appointment_rejected", "service",
                            "the session this add-on line belongs to was itself rejected")
        res.adjustments["add_on_lines_folded"] -= len(gone)


def _durations(res: _TableResult, cfg: Config | None = None,
               cmap: ColumnMap | None = None) -> None:
    """Each appointment's length: the export's duration, else its end time, else the minutes
    its treatment name states (``service_text: free``), else its billing code's usual length
    (times its units for a per-unit code; add-on minutes join either), all but the first two
    flagged as estimated. An attended session needs one; with the column map's
    ``session_length: default`` one with none takes ``services.default_session_minutes``
    (estimated, and flagged ``duration_default``) instead of being rejected. A cancelled or
    missed one needs none."""
    t, v = res.typed, res.verdicts
    given = t["duration_minutes"].to_numpy(dtype=float)
    _repeated_hour(res)
    start, end = t["start"], t["end"]
    from_end = ((end - start).dt.total_seconds() / 60).to_numpy(dtype=float, na_value=np.nan)
    has_end = ~np.isnan(from_end) & np.isnan(given)
    # only a session whose length is needed (attended) is rejected for its end; another one
    # (cancelled, missed) drops an end it cannot have and is counted (end_not_used)
    needs = (t["status"] == "attended").to_numpy(dtype=bool, na_value=False)
    longest = C.TABLES["appointments"].column("duration_minutes").hi
    wrong = has_end & ((from_end <= 0) | (from_end > longest))
    v.reject(needs & has_end & (from_end <= 0), "end_before_start_time", "end",
             "end is not after start")
    v.reject(needs & has_end & (from_end > longest), "out_of_range", "end",
             f"end lies more than {longest:g} minutes after start")
    dropped = wrong & ~needs
    if dropped.any():
        t["end"] = end.where(~dropped)
        has_end = has_end & ~dropped
        from_end = np.where(dropped, np.nan, from_end)
        for mask in ("_end_from_range", "_end_time_of_day"):  # counted as not used instead
            if mask in t:
                t[mask] = t[mask] & ~dropped
    units = t["units"].to_numpy(dtype=float)
    per_unit = t["_svc_per_unit"].to_numpy(dtype=bool)
    add_on = t["_svc_add_on_minutes"].to_numpy(dtype=float)
    written = t["_svc_text_minutes"].to_numpy(dtype=float) if "_svc_text_minutes" in t \
        else np.full(len(given), np.nan)
    code = t["_svc_minutes"].to_numpy(dtype=float) * np.where(
        per_unit & ~np.isnan(units), units, 1.0) + add_on
    code = np.where(~np.isnan(written), written + add_on, code)
    code = np.where(code > 0, np.round(code), np.nan)
    minutes = np.where(~np.isnan(given), given, np.where(has_end, np.round(from_end), code))
    attended = (t["status"] == "attended").to_numpy(dtype=bool, na_value=False)
    if res.folded is not None:
        attended = attended & ~res.folded  # an add-on line lends its minutes to its session
    default = np.zeros(len(given), dtype=bool)
    if cmap is not None and cmap.session_length == "default" and cfg is not None:
        default = attended & np.isnan(minutes)
        minutes = np.where(default, float(cfg.services.default_session_minutes), minutes)
    estimated = np.isnan(given) & ~has_end & (~np.isnan(code) | default)
    v.reject(attended & np.isnan(minutes), "missing_duration", "duration_minutes",
             "an attended session needs duration_minutes, an end time or a billing code with "
             "a usual length (services.codes in the parameters); session_length: default in "
             "the column map gives it services.default_session_minutes instead")
    t["duration_minutes"] = pd.Series(minutes, index=res.raw.index)
    t["duration_estimated"] = pd.Series(estimated, index=res.raw.index)
    t["duration_default"] = pd.Series(default, index=res.raw.index)
    ok = v.ok & ~(res.folded if res.folded is not None else False)
    from_text = estimated & ~default & ~np.isnan(written)
    res.adjustments["duration_from_end"] = int((has_end & ok).sum())
    res.adjustments["duration_from_code"] = int((estimated & ~default & ~from_text & ok).sum())
    res.adjustments["duration_from_service_name"] = int((from_text & ok).sum())
    res.adjustments["duration_default"] = int((default & ok).sum())
    for key, mask in (("duration_from_text", "_duration_from_text"),
                      ("duration_unreadable_set_aside", "_duration_set_aside")):
        if mask in t:  # _check_duration
            res.adjustments[key] = int((t[mask].to_numpy(dtype=bool) & ok).sum())
    if "_svc_from_text" in t:
        res.adjustments["service_from_name"] = int(
            (t["_svc_from_text"].to_numpy(dtype=bool) & ok).sum())
    res.adjustments["start_date_only"] = int((t["start_date_only"].to_numpy() & ok).sum())
    res.adjustments["end_not_used"] = int((dropped & ok).sum())
    shifted = t["_start_second_occurrence"].to_numpy(dtype=bool)
    if (shifted & ok).any():  # the first-occurrence count leaves them out
        key = "start_ambiguous_local_time_first_occurrence"
        first = t["_start_ambiguous"].to_numpy(dtype=bool) & ~shifted & ok
        res.adjustments[key] = int(first.sum())
        res.adjustments["start_repeated_hour_from_end"] = int((shifted & ok).sum())


def _repeated_hour(res: _TableResult) -> None:
    """On the night the clocks go back, a start or end in the repeated hour is read as its
    first occurrence; where the session has an end, the readings of start and end that give
    the shortest positive length are taken instead: "1:30 AM - 2:20 AM" is 50 minutes (the
    start in the second 1 o'clock hour), not 110, as a clinician reading the wall clock
    counts it. The start read as the second occurrence is counted
    (``start_repeated_hour_from_end``)."""
    t = res.typed
    start, end = t["start"], t["end"]
    none = pd.Series(False, index=res.raw.index)
    amb_start = t.get("_start_ambiguous", none).to_numpy(dtype=bool)
    amb_end = t.get("_end_ambiguous", none).to_numpy(dtype=bool) & end.notna().to_numpy()
    shifted = np.zeros(len(start), dtype=bool)
    rows = np.flatnonzero((amb_start | amb_end) & start.notna().to_numpy())
    if len(rows):
        tz = start.dt.tz
        new_start, new_end = start.copy(), end.copy()

        def second(x: pd.Timestamp) -> pd.Timestamp:
            return x.tz_localize(None).tz_localize(tz, ambiguous=False)

        for i in rows:
            s0, e0 = start.iloc[i], end.iloc[i]
            if pd.isna(e0):
                continue
            starts = [s0, second(s0)] if amb_start[i] else [s0]
            ends = [e0, second(e0)] if amb_end[i] else [e0]
            pairs = [(e - s, k, j) for k, s in enumerate(starts) for j, e in enumerate(ends)
                     if e > s]
            if not pairs:
                continue
            _, k, j = min(pairs)  # the shortest; first occurrences on a tie
            new_start.iloc[i], new_end.iloc[i] = starts[k], ends[j]
            shifted[i] = k == 1
        t["start"], t["end"] = new_start, new_end
    t["_start_second_occurrence"] = pd.Series(shifted, index=res.raw.index)


def _session_flags(res: _TableResult) -> None:
    """Telehealth and group sessions: from the billing code (a telehealth modifier, a group
    code) or the export's own yes/no column."""
    t = res.typed
    for flag in ("telehealth", "group"):
        t[flag] = pd.Series(t[f"_svc_{flag}"].to_numpy(dtype=bool) | _yes(res, flag),
                            index=res.raw.index)


def _generate_ids(res: _TableResult, key: bytes) -> None:
    """An appointment id for each row without one, stable across reruns and later exports of
    the same appointments: a keyed hash of clinician, client, start and the occurrence number
    among rows that share all three (a cancelled and a rebooked appointment in one slot).
    Keyed with the pseudonym key, so an id reveals nothing about the client."""
    import hashlib
    import hmac

    raw = res.raw
    need = (raw["appointment_id"] == "").to_numpy()
    if not need.any():
        return
    session = _session_key(res)
    occurrence = session.groupby(session, sort=False).cumcount().astype(str)
    text = (session + "\x1f" + occurrence)[need]
    ids = _map_unique(text, lambda s: "gen-" + hmac.new(
        key, b"appointment\x00" + s.encode("utf-8"), hashlib.sha256).hexdigest()[:16])
    raw.loc[need, "appointment_id"] = ids
    res.typed["appointment_id"] = raw["appointment_id"].where(raw["appointment_id"] != "", None)
    res.adjustments["appointment_id_generated"] = int((need & res.verdicts.ok).sum())


def _name_key(name: str) -> str:
    """A clinician's name as comparable text: case and spacing folded, credentials after a
    comma dropped ("Jane Smith, LCSW"), and "Smith, Jane" read as "jane smith"."""
    text = re.sub(r"\s+", " ", str(name)).strip()
    text = text[1:] if csv_guarded(text) else text  # a starter roster's '=name
    parts = [p.strip() for p in text.split(",")]
    while len(parts) > 1 and sum(ch.isupper() for ch in parts[-1]) >= 2 \
            and " " not in parts[-1]:
        parts.pop()  # a credential: LCSW, LPC-A, PhD
    if len(parts) == 2 and parts[1]:
        parts = [parts[1], parts[0]]
    return " ".join(p for p in parts if p).casefold()


def _resolve_names(res: _TableResult, column: str, roster: pd.DataFrame) -> None:
    """Clinicians given by name (exports name clinicians, not ids): a value that is no
    clinician_id but matches one roster ``name`` (case, spacing and credentials ignored)
    becomes that clinician's id (``adjustments``: ``<column>_from_name``). A name shared by
    two clinicians on the roster is rejected."""
    values = res.raw[column]
    ids = pd.Index(roster["clinician_id"].to_numpy(dtype=object), dtype=object)
    candidates = (values != "").to_numpy() & ~_isin(values, ids)
    if not candidates.any() or roster.empty:
        return
    keys = roster["name"].map(_name_key)
    counts = keys.value_counts()
    lookup = dict(zip(keys, roster["clinician_id"], strict=True))
    found = _map_unique(values[candidates], _name_key)  # a name repeats on many rows
    ambiguous = np.zeros(len(values), dtype=bool)
    ambiguous[np.flatnonzero(candidates)] = found.map(counts).fillna(0).to_numpy() > 1
    res.verdicts.reject(ambiguous, "ambiguous_clinician_name", column,
                        _echo(values, column, "matches more than one clinician's name on the "
                                              "roster; use clinician ids"))
    mapped = _map_unique(found, lambda k: lookup.get(k) if counts.get(k, 0) == 1 else None)
    hit = mapped.notna()
    rows = mapped.index[hit]
    res.raw.loc[rows, column] = mapped[hit].to_numpy()
    if column in res.typed:
        res.typed[column] = res.raw[column].where(res.raw[column] != "", None)
    n = int((res.verdicts.ok[np.flatnonzero(candidates)[hit.to_numpy()]]).sum())
    if n:
        res.adjustments[f"{column}_from_name"] = n


def _infer_clinicians(res: _TableResult, appts: pd.DataFrame) -> None:
    """Fill an empty assessment clinician_id with the clinician who saw the client last on or
    before that date (DATA_CONTRACT section 1, assessments)."""
    t, v = res.typed, res.verdicts
    need = (res.raw["clinician_id"] == "").to_numpy() & v.ok
    inferred = np.zeros(len(need), dtype=bool)
    if need.any():
        seen = appts.loc[appts["status"] == "attended", ["client_id", "clinician_id", "start"]]
        right = pd.DataFrame({
            "client_id": seen["client_id"].to_numpy(dtype=object),
            "day": seen["start"].dt.tz_localize(None).dt.normalize().to_numpy(),
            "start": seen["start"].dt.tz_localize(None).to_numpy(),
            "who": seen["clinician_id"].to_numpy(),
        }).sort_values(["day", "start"], kind="stable")
        idx = np.flatnonzero(need)
        left = pd.DataFrame({
            "pos": idx,
            "client_id": t["client_id"].to_numpy(dtype=object)[idx],
            "day": t["administered_at"].iloc[idx].dt.tz_localize(None).dt.normalize()
                   .to_numpy(),
        }).sort_values("day", kind="stable")
        left["day"] = left["day"].astype(right["day"].dtype)
        for frame in (left, right):  # an empty column would otherwise stay object
            frame["client_id"] = frame["client_id"].astype(str)
        merged = pd.merge_asof(left, right[["client_id", "day", "who"]], on="day",
                               by="client_id", direction="backward")
        found = merged["who"].notna().to_numpy()
        pos = merged["pos"].to_numpy()
        who = t["clinician_id"].to_numpy(dtype=object).copy()
        who[pos[found]] = merged["who"].to_numpy()[found]
        t["clinician_id"] = pd.Series(who, index=res.raw.index)
        missing = np.zeros(len(need), dtype=bool)
        missing[pos[~found]] = True
        v.reject(missing, "no_clinician_for_assessment", "clinician_id")
        inferred[pos[found]] = True
        inferred &= v.ok
    t["clinician_inferred"] = pd.Series(inferred, index=res.raw.index)
    res.adjustments["clinician_inferred"] = int(inferred.sum())
