"""The ingest of a whole data folder (:func:`ingest`): every table loaded and checked in order,
reshaped, joined and typed, with the accounting ``rows_in == rows_accepted + rows_rejected``
asserted for every table before anything is returned."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from ..coverage import coverage_facts
from ..pseudonym import PseudonymKey, load_key, pseudonym_map
from .bookkeeping import Ingested, _TableResult
from .check import _check_assessments, _check_clinicians, _generic_checks, _ids, _reference
from .columns import ColumnMap, export_folder
from .errors import IngestError
from .load import _empty_table, _load_table
from .notes import (
    _EMPTY_NOTE_COLUMN,
    _NO_DOCUMENTATION,
    _NO_NOTES,
    _TEXT_NOTE_COLUMN,
    _documentation,
    _join_notes,
    _scheduled_after_export,
    _share_rows,
    _signed_before_start,
)
from .quality import _clinicians_left_out, _input_rows, _unused_files
from .reshape import (
    _drop_folds_of_rejected,
    _durations,
    _fold_add_ons,
    _generate_ids,
    _infer_clinicians,
    _resolve_names,
    _session_flags,
)
from .statuses import (
    _blank_status,
    _cancelled_by,
    _late_cancel_from_cancellation_time,
    _late_cancel_from_fee,
    _left_out_statuses,
    _not_yet_marked,
    _not_yet_marked_span,
    _statuses_unsaid,
    not_yet_marked_words,
)
from .times import _count_times
from .workbook import _sheet_words

log = logging.getLogger("perfkit.ingest")  # the logger's name before the split


OUTPUT_COLUMNS = {
    "clinicians": ["clinician_id", "name", "license_status", "license_type", "supervisor_id",
                   "start_date", "end_date", "weekly_capacity_hours", "weekly_session_goal",
                   "licensure_rule", "team", "email"],
    "appointments": ["appointment_id", "clinician_id", "client_id", "start", "end",
                     "duration_minutes", "status", "service", "service_code",
                     "duration_estimated", "duration_default", "start_date_only", "telehealth",
                     "group"],
    "notes": ["appointment_id", "clinician_id", "signed_at", "status"],
    "assessments": ["client_id", "clinician_id", "clinician_inferred", "instrument",
                    "administered_at", "total_score", "prorated", "items_answered",
                    "item9_followup"],
    "time_off": ["clinician_id", "start_date", "end_date"],
    "supervision": ["supervisee_id", "supervisor_id", "date", "minutes", "format"],
    "goals": ["clinician_id", "goal_id", "description", "set_on", "target_date", "status",
              "reviewed_on"],
    "reviews": ["clinician_id", "review_date", "reviewer_id", "domain", "rating", "evidence"],
    "ce": ["clinician_id", "completed_on", "title", "hours"],
}


def _accepted_frame(res: _TableResult) -> pd.DataFrame:
    ok = res.verdicts.ok
    if res.folded is not None:
        ok = ok & ~res.folded
    cols = list(OUTPUT_COLUMNS[res.name])
    if res.name == "assessments":
        cols += sorted((c for c in res.typed if c.startswith("item_")),
                       key=lambda c: int(c.split("_")[1]))
    data = {}
    for c in cols:
        if c == "end":
            continue
        series = res.typed[c]
        data[c] = series[ok].reset_index(drop=True) if isinstance(series, pd.Series) \
            else pd.Series(np.asarray(series)[ok])
    frame = pd.DataFrame(data)
    frame.insert(0, "source_row", np.flatnonzero(ok) + 1 + res.title_rows)
    if res.name == "appointments":  # a missed appointment may have no length
        frame["duration_minutes"] = frame["duration_minutes"].astype("Int64")
        frame.insert(frame.columns.get_loc("start") + 1, "end",
                     frame["start"] + pd.to_timedelta(
                         frame["duration_minutes"].astype(float), unit="m"))
        for col in ("duration_estimated", "duration_default", "start_date_only", "telehealth",
                    "group"):
            frame[col] = frame[col].astype(bool)
    return _typed(frame, res.name)


def _typed(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    spec = C.TABLES[table]
    for col in spec.columns:
        if col.name not in frame or frame[col.name].dtype == bool:
            continue
        if col.kind == "int":
            frame[col.name] = frame[col.name].astype("Int64") if not col.required \
                else frame[col.name].astype("int64")
        elif col.kind in ("id", "text", "enum"):
            frame[col.name] = frame[col.name].astype("str").where(frame[col.name].notna(), None)
    return frame


def ingest(data_dir: str | Path, config: Config, *, column_map: str | Path | None = None,
           key_file: str | Path | None = None, key: PseudonymKey | None = None) -> Ingested:
    """Read, check and type a practice data folder.

    Parameters
    ----------
    data_dir : path-like
        Folder with ``clinicians``, ``appointments``, ``notes`` and any of the optional tables
        (``assessments`` among them), as CSV, Parquet or Excel (DATA_CONTRACT section 1).
    config : Config
        Practice parameters; the time zone and the instrument registry are used here.
    column_map : path-like, optional
        Column-map YAML for exports with other headers or labels; defaults to
        ``config.column_map``.
    key_file : path-like, optional
        Pseudonym key file; defaults to ``config.pseudonym_key_file`` (created on first use).
    key : PseudonymKey, optional
        A key already loaded (the pipeline checks it against earlier runs first).

    Returns
    -------
    Ingested
        Accepted rows as typed frames (client ids replaced by keyed pseudonyms, non-contract
        columns dropped), one rejects row per rejected input row, and the data-quality summary.

    Raises
    ------
    IngestError
        When the folder, a required file or a required column is missing or unreadable.
    """
    folder, cmap = export_folder(data_dir, config, column_map)
    results, provided = _load_tables(folder, config, cmap)
    if key is None:
        key = load_key(key_file or config.pseudonym_key_file)

    clin = results["clinicians"]
    _check_clinicians(clin)
    roster = _Roster(clin)
    appts, notes, assess = results["appointments"], results["notes"], results["assessments"]
    joined = _check_appointments(appts, notes, roster, config, cmap, key.key)
    _notes_in_appointments(results, joined, config, cmap)
    _pseudonymize_clients([appts, assess], key.key)
    appt_ok, appt_rej = _ids(appts, "appointment_id", skip=appts.folded)
    appt_frame = _accepted_frame(appts)

    _reference(notes, "appointment_id", appt_ok, appt_rej, "unknown_appointment",
               "appointment_rejected", "appointment")
    roster.clinician_ref(notes)
    notes.verdicts.reject(_signed_before_start(notes, appt_frame), "signed_before_session",
                          "signed_at")
    _check_assessments(assess, config)
    roster.clinician_ref(assess)
    _infer_clinicians(assess, appt_frame)
    _check_other_tables(results, roster)

    tables: dict[str, pd.DataFrame] = {}
    reject_parts = []
    quality: dict = {"time_zone": config.timezone, "tables": {}}
    for name, res in results.items():
        tables[name] = appt_frame if name == "appointments" else _accepted_frame(res)
        if not provided[name]:
            quality["tables"][name] = {"present": False}
            continue
        entry, rejected = _table_quality(res, tables[name], roster, cmap, config)
        reject_parts.append(rejected)
        quality["tables"][name] = entry
    quality["unused_files"], quality["other_files"] = _unused_files(folder, results)
    quality["clinicians_left_out"] = _clinicians_left_out(results, clin)
    quality["documentation"] = _documentation(notes, cmap, config)
    # where each table's data begin, and what that limits
    quality["coverage"] = coverage_facts(tables, quality["tables"], config)
    by_map = (column_map if column_map is not None else config.column_map) is not None
    quality["source"] = _source(quality, notes, appts, cmap, config, by_map)
    rejects = pd.concat(reject_parts, ignore_index=True) if reject_parts else pd.DataFrame(
        columns=["table", "file", "row", "column", "reason", "detail"])
    present = [e for e in quality["tables"].values() if e.get("present")]
    quality["rows_in"] = sum(e["rows_in"] for e in present)
    quality["rows_accepted"] = sum(e["rows_accepted"] for e in present)
    quality["rows_rejected"] = sum(e["rows_rejected"] for e in present)
    quality["input_rows"] = _input_rows(quality["tables"], rejects)
    log.info("ingested %s: %d rows in, %d accepted, %d rejected", folder.name,
             quality["rows_in"], quality["rows_accepted"], quality["rows_rejected"])
    return Ingested(tables, rejects, quality, config, key)


def _load_tables(folder: Path, config: Config, cmap: ColumnMap
                 ) -> tuple[dict[str, _TableResult], dict[str, bool]]:
    """Every table of the contract loaded from the folder and given its generic checks (an
    optional table not provided is typed, empty, and said so: ``provided``)."""
    results: dict[str, _TableResult] = {}
    provided: dict[str, bool] = {}
    read: dict[Path, tuple] = {}
    for name, spec in C.TABLES.items():
        res = _load_table(folder, spec, cmap, read)
        provided[name] = res is not None
        if res is None:  # an optional table not provided: typed, empty, and said so
            res = _empty_table(spec)
        res.joined = name in cmap.join and res.file is not None and not res.shared
        if name == "appointments":
            _blank_status(res, cmap)
        if not res.shared and not res.joined:  # joined notes are checked once matched
            _generic_checks(res, spec, config, cmap)
        results[name] = res
    appts = results["appointments"]
    for res in results.values():  # a column another table of the same file reads is not dropped
        used = set().union(*(r.used_headers for r in results.values() if r.file == res.file))
        res.dropped_columns = [c for c in res.dropped_columns if c not in used]
    for name, res in results.items():
        if res.shared and res.file != appts.file:
            raise IngestError(f"{res.file} is named for both {name} and another table; only "
                              "notes and assessments can come from the appointments file")
    return results, provided


class _Roster:
    """The clinicians table as the other tables refer to it: its accepted and rejected ids,
    and the names of every listed clinician (matched against every one, so that an
    appointment of a clinician whose roster row was rejected says so, clinician_rejected, not
    "unknown"); and what a starter roster still lacks (perfkit init), per column, whatever
    else is wrong (``empty``)."""

    def __init__(self, clin: _TableResult):
        self.ok, self.rejected = _ids(clin, "clinician_id")
        listed = (clin.raw["clinician_id"] != "") & (clin.raw["name"] != "")
        listed &= ~clin.raw["clinician_id"].duplicated(keep=False)
        self.names = pd.DataFrame({"clinician_id": clin.raw["clinician_id"][listed],
                                   "name": clin.raw["name"][listed]})
        self.empty = {c.name: int((clin.raw[c.name] == "").sum())
                      for c in C.TABLES["clinicians"].columns if c.required}

    def clinician_ref(self, res: _TableResult, column="clinician_id",
                      reason="unknown_clinician") -> None:
        """A table's clinician column, given by id or by name, checked against the roster."""
        _resolve_names(res, column, self.names)
        _reference(res, column, self.ok, self.rejected, reason, "clinician_rejected",
                   "clinician")


def _check_appointments(appts: _TableResult, notes: _TableResult, roster: _Roster,
                        config: Config, cmap: ColumnMap, key: bytes) -> np.ndarray | None:
    """The appointments' own rules and reshaping, in order; the notes of a separate report
    matched to them (the column map's ``join``), or None."""
    _left_out_statuses(appts)
    roster.clinician_ref(appts)
    joined = _join_notes(notes, appts, config, cmap, roster.names) if notes.joined else None
    _scheduled_after_export(appts, cmap, config)
    _cancelled_by(appts)
    _late_cancel_from_fee(appts)
    _late_cancel_from_cancellation_time(appts, config, cmap)
    _fold_add_ons(appts)
    _durations(appts, config, cmap)
    _count_times(appts)
    _session_flags(appts)
    _drop_folds_of_rejected(appts)
    _generate_ids(appts, key)
    _not_yet_marked(appts, cmap, config)
    return joined


def _notes_in_appointments(results: dict[str, _TableResult], joined: np.ndarray | None,
                           config: Config, cmap: ColumnMap) -> None:
    """Notes matched to the appointments take each its appointment's id and clinician, and
    notes or assessments read from the appointments' own file take their rows; both are then
    checked."""
    appts = results["appointments"]
    if joined is not None:  # each matched row takes its appointment's id and clinician
        notes_raw, got = results["notes"].raw, joined >= 0
        for col in ("appointment_id", "clinician_id"):
            values = notes_raw[col].to_numpy(dtype=object).copy()
            values[got] = appts.raw[col].to_numpy(dtype=object)[joined[got]]
            notes_raw[col] = values
        _generic_checks(results["notes"], C.TABLES["notes"], config, cmap)
    for name in ("notes", "assessments"):
        if results[name].shared:
            _share_rows(results[name], appts)
            _generic_checks(results[name], C.TABLES[name], config, cmap)


def _check_other_tables(results: dict[str, _TableResult], roster: _Roster) -> None:
    """The optional tables but assessments: their clinicians (a supervision's supervisee and
    supervisor), and time off that ends before it starts."""
    for name in C.OPTIONAL_TABLES:
        res = results[name]
        if name == "assessments":
            continue
        if name == "supervision":
            roster.clinician_ref(res, "supervisee_id")
            roster.clinician_ref(res, "supervisor_id", "unknown_supervisor")
        else:
            roster.clinician_ref(res)
        if name == "time_off":
            res.verdicts.reject((res.typed["end_date"] < res.typed["start_date"]).to_numpy(),
                                "end_before_start", "end_date")


def _table_quality(res: _TableResult, accepted: pd.DataFrame, roster: _Roster,
                   cmap: ColumnMap, config: Config) -> tuple[dict, pd.DataFrame]:
    """A provided table's entry in the data-quality summary and its rejected rows, once its
    row accounting is checked (``accepted``: its typed frame)."""
    name = res.name
    v = res.verdicts
    bad = ~v.ok
    rejected = pd.DataFrame({
        "table": name, "file": res.file, "row": np.flatnonzero(bad) + 1 + res.title_rows,
        "column": v.column[bad], "reason": v.reason[bad], "detail": v.detail[bad],
    })
    reasons = pd.Series(v.reason[bad]).value_counts().sort_index()
    entry = {
        "present": True,
        "file": res.file,
        "rows_in": len(res.raw),
        "rows_accepted": int(v.ok.sum()),
        "rows_rejected": int(bad.sum()),
        "reasons": {str(k): int(c) for k, c in reasons.items()},
        "dropped_columns": res.dropped_columns,
        "empty_columns": res.empty_columns,
        "adjustments": {k: c for k, c in res.adjustments.items() if c},
    }
    if res.not_statuses:  # a free-text column the map read as note statuses
        entry["not_statuses"] = res.not_statuses
    if res.columns_chosen:  # two headers read as one column: the one used, the others
        entry["columns_chosen"] = res.columns_chosen
    if name == "appointments" and entry["adjustments"].get("not_yet_marked"):
        entry["not_yet_marked_span"] = _not_yet_marked_span(cmap, config)
    if res.found_by_headers:  # no file was named for the table
        entry["found_by_headers"] = True
    if res.sheet is not None:  # which sheet of a workbook: named, or by position
        entry["sheet"] = {**{k: v for k, v in res.sheet.items() if k != "name"},
                          "words": _sheet_words(res.sheet)}  # its own name: not copied
    if name == "clinicians":
        entry["empty_required"] = {c: n for c, n in roster.empty.items() if n}
        entry["invalid_email_rows"] = res.invalid_email_rows
    folded = int((res.folded & v.ok).sum()) if res.folded is not None else 0
    if entry["rows_in"] != entry["rows_accepted"] + entry["rows_rejected"] or \
            entry["rows_accepted"] != len(accepted) + folded:
        raise AssertionError(f"row accounting failed for {name}")  # a perfkit bug
    return entry, rejected


def _source(quality: dict, notes: _TableResult, appts: _TableResult, cmap: ColumnMap,
            config: Config, by_map: bool) -> dict:
    """What the export is and what it cannot give: the profile, its caveats (said in every
    report's export notes) and the figures unavailable, with what the notes and statuses
    leave unsaid (not known, never 0) and the appointments not yet marked."""
    source = {"profile": config.source, "caveats": list(cmap.caveats),
              "unavailable": list(cmap.unavailable)}
    if not quality["documentation"]["known"]:  # said once, in every report's export notes
        source["caveats"].append(
            (_NO_DOCUMENTATION if notes.verdicts.ok.any() else _NO_NOTES).format(
                file=notes.file, why=_EMPTY_NOTE_COLUMN if set(notes.empty_columns)
                & {"status", "signed_at"} else _TEXT_NOTE_COLUMN if notes.not_statuses
                else ""))
        source["unavailable"] += [c for c in C.DOCUMENTATION_FIGURES
                                  if c not in source["unavailable"]]
    for figures, words in _statuses_unsaid(appts, config, by_map):  # not known, never 0
        if not set(figures) <= set(source["unavailable"]):
            source["caveats"].append(words)
            source["unavailable"] += [c for c in figures if c not in source["unavailable"]]
    unmarked = not_yet_marked_words(quality)  # said in the practice report's export notes
    if unmarked:
        source["caveats"].append(unmarked)
    return source


def _pseudonymize_clients(results: list[_TableResult], key: bytes) -> None:
    col = "client_id"
    all_ids = pd.concat([r.raw[col] for r in results], ignore_index=True)
    mapping, collided = pseudonym_map(all_ids[all_ids != ""], key)
    for res in results:
        raw = res.raw[col]
        res.typed[col] = raw.map(mapping).where(raw != "", None)
        if collided:
            res.verdicts.reject(raw.isin(collided).to_numpy(), "pseudonym_collision", col)
