"""Notes joined to their appointments (by clinician, client and start, lending service and
units), notes signed before their session, rows shared with the appointments, and what the
notes say about documentation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from .bookkeeping import _TableResult
from .check import _check_number
from .columns import ColumnMap, _export_instant
from .load import _FROM_OWNER, _key_part
from .parse import _column_format, _parse_datetime, _utc_naive
from .reshape import _resolve_names
from .services import _services


def _signed_before_start(notes: _TableResult, appts: pd.DataFrame) -> np.ndarray:
    appts = appts.drop_duplicates("appointment_id")  # co-therapy rows share their start
    ids = pd.Index(appts["appointment_id"].to_numpy(dtype=object), dtype=object)
    pos = ids.get_indexer(notes.raw["appointment_id"].to_numpy(dtype=object))
    has = pos >= 0
    early = np.zeros(len(pos), dtype=bool)
    early[has] = _utc_naive(notes.typed["signed_at"])[has] < _utc_naive(appts["start"])[pos[has]]
    return early


def _share_rows(res: _TableResult, appts: _TableResult) -> None:
    """Notes or assessments read from the appointments file: each row takes its appointment's
    id (generated or not), clinician and client, and an assessment its start as the day it was
    taken, unless the column map names other columns. A row of an add-on line (folded into
    its session), or an assessments row with no instrument and no score, holds nothing for
    this table (``not_in_table``)."""
    raw = res.raw
    for col, source in _FROM_OWNER.items():
        if col in raw.columns and col not in res.in_file:
            raw[col] = appts.raw[source].to_numpy()
            if col == "client_id":
                res.in_file.add(col)
    nothing = appts.folded.copy() if appts.folded is not None else np.zeros(len(raw), bool)
    if res.name == "assessments":
        items = [c for c in raw.columns if C.item_columns([c])]
        empty = (raw["instrument"] == "") & (raw["total_score"] == "")
        for c in items:
            empty &= raw[c] == ""
        nothing |= empty.to_numpy()
    for other in (res.summary_rows, res.repeated_headers):  # their own reasons come first
        if other is not None:
            nothing &= ~other
    if appts.excluded is not None:  # the owner's rows of another kind are not this table's
        res.excluded = appts.excluded & ~nothing
    res.verdicts.reject(nothing, "not_in_table", "",
                        f"the row holds no {res.name} values (a file shared with "
                        "appointments)")


def _join_notes(notes: _TableResult, appts: _TableResult, cfg: Config, cmap: ColumnMap,
                roster: pd.DataFrame) -> np.ndarray:
    """Match a separate notes report to the appointments by clinician, client and start (the
    column map's ``join``; SimplePractice's appointment status report beside its attendance
    report): on the same day, and to the minute where both give a time; each row matches at
    most one appointment. The appointment takes the columns the join lends (billing code,
    units) where it has none of its own. Returns each notes row's appointment row (-1: none;
    such a row is rejected as ``no_appointment_row``)."""
    _resolve_names(notes, "clinician_id", roster)
    text, fmt = _column_format(notes.raw["start"], cmap, "notes",
                               C.TABLES["notes"].column("start"), notes.file)
    n_start, _, _, _, n_day_only = _parse_datetime(text, cfg.timezone, fmt)
    a_start = appts.typed["start"]
    a_day_only = appts.typed["start_date_only"].to_numpy(dtype=bool)

    def keys(raw, start, day_only, rows):
        local = start.dt.tz_localize(None)
        return pd.DataFrame({
            "pos": np.flatnonzero(rows),
            "clin": raw["clinician_id"].to_numpy(dtype=object)[rows],
            "client": _key_part(raw["client_id"].astype(str)).to_numpy(dtype=object)[rows],
            "day": local.dt.normalize().to_numpy()[rows],
            "minute": local.dt.floor("min").to_numpy()[rows],
            "timed": ~np.asarray(day_only, dtype=bool)[rows]})

    live = notes.verdicts.ok & n_start.notna().to_numpy()
    for other in (notes.summary_rows, notes.repeated_headers, notes.excluded):
        if other is not None:
            live &= ~other
    left = keys(notes.raw, n_start, n_day_only, live)
    # rejected appointments match too (their notes then say appointment_rejected), but an
    # accepted one is preferred
    right = keys(appts.raw, a_start, a_day_only, a_start.notna().to_numpy())
    right["ok"] = appts.verdicts.ok[right["pos"].to_numpy()]
    pairs = left.merge(right, on=["clin", "client", "day"], suffixes=("", "_a"))
    pairs = pairs[~(pairs["timed"] & pairs["timed_a"]) | (pairs["minute"] == pairs["minute_a"])]
    pairs = pairs.sort_values(["ok", "pos", "pos_a"], ascending=[False, True, True],
                              kind="stable")
    # one to one, in file order: two sessions of a client on one day (a date-only report)
    # take the two rows in turn
    rounds = []
    while not pairs.empty:
        taken = pairs.drop_duplicates("pos").drop_duplicates("pos_a")
        rounds.append(taken)
        pairs = pairs[~pairs["pos"].isin(taken["pos"]) & ~pairs["pos_a"].isin(taken["pos_a"])]
    pairs = pd.concat(rounds) if rounds else pairs
    match = np.full(len(notes.raw), -1)
    match[pairs["pos"].to_numpy()] = pairs["pos_a"].to_numpy()
    notes.verdicts.reject(live & (match < 0), "no_appointment_row", "start",
                          "no appointment of the same clinician, client and time in the "
                          "appointments report")
    lend = cmap.join["notes"].get("lend", [])
    got = match >= 0
    for col in lend:
        mine = appts.raw[col].to_numpy(dtype=object).copy()
        theirs = notes.raw[col].to_numpy(dtype=object)[got]
        target = match[got]
        fill = mine[target] == ""
        mine[target[fill]] = theirs[fill]
        appts.raw[col] = mine
    if "service" in lend:
        _services(appts, appts.raw["service"], cfg,
                  cmap.values.get("appointments", {}).get("service", {}),
                  cmap.service_text == "free")
    if "units" in lend:
        _check_number(appts, C.TABLES["appointments"].column("units"), appts.raw["units"])
    return match


def _scheduled_after_export(appts: _TableResult, cmap: ColumnMap, cfg: Config) -> None:
    """An export that marks every appointment "Show" until someone changes it (SimplePractice)
    has no attended sessions after its own instant: those are appointments still booked
    (``scheduled_after_export`` in the column map; adjustments: ``scheduled_after_export``)."""
    if not cmap.scheduled_after_export:
        return
    when, _ = _export_instant(cmap, cfg)
    status = appts.typed["status"]
    later = (status == "attended").to_numpy(dtype=bool, na_value=False) & \
        (appts.typed["start"] > when).to_numpy(dtype=bool, na_value=False)
    appts.typed["status"] = status.where(~later, "scheduled")
    appts.adjustments["scheduled_after_export"] = int((later & appts.verdicts.ok).sum())


_NO_DOCUMENTATION = ("The notes in {file} give neither a note status nor a signing time{why}, "
                     "so which notes are signed, and how quickly, is not known from this "
                     "export.")
_EMPTY_NOTE_COLUMN = " (its note column is empty in every row, which counts as not given)"
_TEXT_NOTE_COLUMN = " (its note column holds text, not note statuses)"


_NO_NOTES = ("{file} has no usable note rows, so which notes are signed, and how quickly, is "
             "not known from this export.")


def _documentation(notes: _TableResult, cmap: ColumnMap, cfg: Config) -> dict:
    """What the notes rest on: signing times, note statuses, or both, and the instant the
    export was taken (parameter ``exported_at``, else the column map's, else the period end):
    a note status describes that instant."""
    when, source = _export_instant(cmap, cfg)
    times, status = "signed_at" in notes.in_file, "status" in notes.in_file
    rows = bool(notes.verdicts.ok.any())  # a notes file with no usable row answers nothing
    return {"signing_times": times, "note_status": status, "known": (times or status) and rows,
            "exported_at": when.isoformat(), "exported_at_source": source}
