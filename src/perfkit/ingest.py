"""Validated ingest of a practice data folder (DATA_CONTRACT section 1).

Every input row ends in exactly one place: accepted into the typed tables, or rejected with one
reason (the first check it fails, in a fixed order). ``rows_in == rows_accepted +
rows_rejected`` holds for every table and is asserted before anything is written.

Check order for a row: exact duplicate, required value missing, conflicting duplicate id,
unreadable or out-of-range values (column by column, in contract order), then the table's own
rules and references to other tables (clinicians first, then appointments, notes, assessments
and the optional tables).

A file that cannot be used at all raises :class:`IngestError` with one sentence naming the file
and the column; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import logging
import multiprocessing
import re
import struct
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv
import yaml
from python_calamine import CalamineError

from . import contract as C
from .config import Config, yaml_problem
from .coverage import coverage_facts
from .pseudonym import PseudonymKey, load_key, pseudonym_map
from .safety import csv_guarded, csv_safe, is_email_address

__all__ = ["IngestError", "ColumnMap", "Ingested", "ingest", "load_column_map"]

log = logging.getLogger(__name__)

# A UTC offset ends a value only after a time of day: "2026-03-02" ends in "-02" and
# "03-02-2026" in "-2026", and neither is an offset (read as one, a date from a workbook or a
# US form became UTC midnight, the evening before in the practice's time zone).
_OFFSET_RE = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
# A whole ISO 8601 date, or a date-time whose date part is taken: nothing may follow it
# ("2022-07-15 and some text" is not a date).
_DATE_RE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                      r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?\s*$")


class IngestError(Exception):
    """A file that cannot be used at all. The message is one sentence for a practice manager."""


# --------------------------------------------------------------------------------------------
# Column map
# --------------------------------------------------------------------------------------------


@dataclass
class ColumnMap:
    """How an EHR export's files, headers and labels map onto the contract.

    YAML form (every part optional)::

        files:        {appointments: "Appointment Report.csv"}
        sheets:       {appointments: "Billing Transactions"}   # for an .xlsx workbook
        columns:      {appointments: {"Appt ID": appointment_id, "Provider ID": clinician_id,
                                      "Start Time": ignore}}
                      # headers matched ignoring case, spacing and punctuation; "ignore"
                      # (or nothing) leaves a header unread
        values:       {appointments: {status: {"Checked Out": attended}}}
        datetime_format: "%m/%d/%Y %I:%M %p"   # when times are not ISO 8601
        date_format: "%m/%d/%Y"
        formats:      {appointments: {start: "%m/%d/%Y %I:%M %p"}, ce: "%m/%d/%Y"}
                      # per table (every date column) or per column; without any format,
                      # each column's format is detected (ISO 8601, US forms, Excel serials)
        client_key:   ["First Name", "Last Name", "Date of Birth"]
                      # or per table; export headers whose values together name a client
                      # (hashed into the keyed pseudonym as they are read, never stored)
        exported_at:  "2026-11-03 09:00"   # when the export was taken (note statuses)
        status_blank_until_marked: true   # an empty status: attendance not marked yet
        service_text: free      # service cells may be treatment names ("Individual Therapy
                                # 50 min"); default "codes": contract words or billing codes
        session_length: default # an attended session with no length at all takes
                                # services.default_session_minutes (estimated); default
                                # "required": it is rejected as missing_duration
    """

    files: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, str] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    datetime_format: str | None = None
    date_format: str | None = None
    formats: dict[str, dict[str, str]] = field(default_factory=dict)  # per table and column
    client_key: dict[str, list[str]] = field(default_factory=dict)  # per table ("*": all)
    exported_at: str | None = None
    rows: dict[str, dict] = field(default_factory=dict)  # per table: {column, keep}
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)  # absent columns' value
    describe: dict[str, str] = field(default_factory=dict)  # which report a table comes from
    caveats: list[str] = field(default_factory=list)  # what the export cannot give (reports)
    unavailable: list[str] = field(default_factory=list)  # metrics this export cannot give
    join: dict[str, dict] = field(default_factory=dict)  # notes matched to appointments
    scheduled_after_export: bool = False  # "attended" after the export instant is booked
    detect: list[str] = field(default_factory=list)  # tables whose file is known by content
    status_blank_until_marked: bool = False  # an empty status: booked, not yet marked
    service_text: str = "codes"  # "free": treatment names are read (_read_service)
    session_length: str = "required"  # "default": services.default_session_minutes

    def client_key_for(self, table: str) -> list[str]:
        return self.client_key.get(table) or self.client_key.get("*") or []

    def format_for(self, table: str, column: str, kind: str) -> str | None:
        """The export's own format for a date column: per column, else per table (``"*"``),
        else the map's global one; None means detect it from the values."""
        own = self.formats.get(table, {})
        return own.get(column) or own.get("*") or (
            self.datetime_format if kind == "datetime" else self.date_format)


_IGNORE = ("", "ignore", "none", "null", "-")  # a header mapped to one of these is not read


def _target(value) -> str:
    """A column map's target for a header: a contract column, or "" when the header is to be
    ignored (``ignore``, or nothing: ``{"Start Time": ignore}``, ``{"Start Time": null}``)."""
    text = "" if value is None else str(value).strip()
    return "" if text.lower() in _IGNORE else text


def _read_map(path: Path) -> dict:
    if not path.is_file():
        raise IngestError(f"column map {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise IngestError(f"column map {path} is not valid YAML{yaml_problem(exc)}") from None
    if not isinstance(raw, dict):
        raise IngestError(f"column map {path} must hold a mapping of sections (files, columns, "
                          "values, datetime_format, date_format)")
    return raw


def _merge_maps(base: dict, own: dict) -> dict:
    """A practice's column map over a profile: entries per table (and per column) replace the
    profile's; lists and single settings replace them whole."""
    out = dict(base)
    for section, value in own.items():
        old = out.get(section)
        if isinstance(old, dict) and isinstance(value, dict):
            merged = dict(old)
            for k, v in value.items():
                # the practice's own entries first: where two headers of a file read as one
                # column, the first entry wins (_load_table)
                merged[k] = {**v, **{a: b for a, b in merged[k].items() if a not in v}} \
                    if isinstance(merged.get(k), dict) and isinstance(v, dict) else v
            out[section] = merged
        else:
            out[section] = value
    return out


def load_column_map(path: str | Path | None, source: str | None = None) -> ColumnMap:
    """Read a column-map YAML file over an import profile (``source``, see
    :mod:`perfkit.profiles`); neither gives the identity map."""
    from .profiles import profile_map

    raw = profile_map(source) if source else {}
    if path is not None:
        raw = _merge_maps(raw, _read_map(Path(path)))
    if not raw:
        return ColumnMap()
    path = Path(path) if path is not None else f"of the {source} profile"
    for section in ("files", "sheets", "columns", "values"):
        value = raw.get(section)
        flat = section in ("files", "sheets")
        if value is not None and not (isinstance(value, dict) and all(
                (isinstance(v, str) if flat else isinstance(v, dict)) or v is None
                for v in value.values())):
            raise IngestError(f"column map {path}: '{section}' must map table names to "
                              + {"files": "file names", "sheets": "sheet names"}.get(
                                  section, "mappings"))
    for section in ("columns", "values"):
        for table, cols in (raw.get(section) or {}).items():
            if section == "values" and any(not isinstance(v, dict | None)
                                           for v in (cols or {}).values()):
                raise IngestError(f"column map {path}: 'values' of {table} must map each "
                                  "column to its labels")
    allowed = {"files", "sheets", "columns", "values", "datetime_format", "date_format",
               "formats", "client_key", "exported_at", "rows", "defaults", "describe",
               "caveats", "unavailable", "join", "scheduled_after_export", "detect",
               "status_blank_until_marked", "service_text", "session_length"}
    unknown = set(raw) - allowed
    if unknown:
        raise IngestError(f"column map {path}: unknown section {sorted(unknown)[0]!r} "
                          f"(allowed: {', '.join(sorted(allowed))})")
    formats = raw.get("formats") or {}
    if not isinstance(formats, dict) or not all(
            isinstance(v, str) or (isinstance(v, dict) and all(isinstance(f, str)
                                                               for f in v.values()))
            for v in formats.values()):
        raise IngestError(f"column map {path}: 'formats' must map each table to a format or to "
                          "formats per column")
    key = raw.get("client_key") or {}
    if isinstance(key, list):
        key = {"*": key}
    if not isinstance(key, dict) or not all(
            isinstance(v, list) and v and all(isinstance(c, str) for c in v)
            for v in key.values()):
        raise IngestError(f"column map {path}: 'client_key' must list the export's column "
                          "names that together name a client (or such a list per table)")
    for table in key:
        if table != "*" and (table not in C.TABLES
                             or "client_id" not in C.TABLES[table].column_names):
            raise IngestError(f"column map {path}: 'client_key' names {table!r}, which has "
                              "no client_id")
    exported = raw.get("exported_at")
    if exported is not None and not isinstance(exported, str | dt.datetime | dt.date):
        raise IngestError(f"column map {path}: 'exported_at' must be a date and time such as "
                          "2026-11-03 09:00")
    rows = raw.get("rows") or {}
    if not isinstance(rows, dict) or not all(
            isinstance(r, dict) and isinstance(r.get("column"), str)
            and isinstance(r.get("keep"), list) and set(r) <= {"column", "keep"}
            for r in rows.values()):
        raise IngestError(f"column map {path}: 'rows' must give, per table, a column and the "
                          "values to keep, such as {appointments: {column: Type, keep: "
                          "[Appointment]}}")
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict) or not all(isinstance(d, dict)
                                                 for d in defaults.values()):
        raise IngestError(f"column map {path}: 'defaults' must map each table to values for "
                          "columns the export does not have")
    caveats = raw.get("caveats") or []
    if not isinstance(caveats, list) or not all(isinstance(c, str) for c in caveats):
        raise IngestError(f"column map {path}: 'caveats' must be a list of sentences")
    join = raw.get("join") or {}
    if not isinstance(join, dict) or set(join) - {"notes"} or not all(
            isinstance(j, dict) and set(j) <= {"lend"}
            and set(j.get("lend") or []) <= {"service", "units"} for j in join.values()):
        raise IngestError(f"column map {path}: 'join' can match notes to appointments, "
                          "lending service and units: {notes: {lend: [service, units]}}")
    detect = raw.get("detect") or []
    if not isinstance(detect, list) or not all(t in C.TABLES for t in detect):
        raise IngestError(f"column map {path}: 'detect' must list tables whose file is found "
                          "by its headers, such as [appointments]")
    for setting, choices in (("service_text", ("codes", "free")),
                             ("session_length", ("required", "default"))):
        if raw.get(setting) is not None and raw[setting] not in choices:
            raise IngestError(f"column map {path}: '{setting}' must be {choices[0]} or "
                              f"{choices[1]}, not {str(raw[setting])[:40]!r}")
    unavailable = raw.get("unavailable") or []
    if not isinstance(unavailable, list) or not all(isinstance(c, str) for c in unavailable):
        raise IngestError(f"column map {path}: 'unavailable' must list metric names")
    for section in ("files", "sheets", "columns", "values", "formats", "rows", "defaults",
                    "describe"):
        for table in raw.get(section) or {}:
            if table not in C.TABLES:
                raise IngestError(f"column map {path}: unknown table {table!r} in '{section}'")
    cmap = ColumnMap(
        files={t: str(f) for t, f in (raw.get("files") or {}).items()},
        sheets={t: str(f) for t, f in (raw.get("sheets") or {}).items() if f is not None},
        columns={t: {_norm_header(k): _target(v) for k, v in (m or {}).items()}
                 for t, m in (raw.get("columns") or {}).items()},
        values={t: {col: {C.normalize_label(k): str(v) for k, v in (labels or {}).items()}
                     for col, labels in (cols or {}).items()}
                for t, cols in (raw.get("values") or {}).items()},
        datetime_format=raw.get("datetime_format"),
        date_format=raw.get("date_format"),
        formats={t: ({"*": f} if isinstance(f, str) else dict(f)) for t, f in formats.items()},
        client_key={t: [_norm_header(c) for c in cols] for t, cols in key.items()},
        exported_at=None if exported is None else str(exported),
        rows={t: {"column": C.header_key(r["column"]), "keep": {C.normalize_label(v)
                                                               for v in r["keep"]}}
              for t, r in rows.items()},
        defaults={t: {str(c): str(v) for c, v in d.items()} for t, d in defaults.items()},
        describe={t: str(d) for t, d in (raw.get("describe") or {}).items()},
        caveats=list(caveats),
        unavailable=list(unavailable),
        join=join,
        scheduled_after_export=bool(raw.get("scheduled_after_export", False)),
        detect=list(detect),
        status_blank_until_marked=bool(raw.get("status_blank_until_marked", False)),
        service_text=raw.get("service_text") or "codes",
        session_length=raw.get("session_length") or "required",
    )
    for table, cols in cmap.defaults.items():
        for col in cols:
            if col not in C.TABLES[table].column_names:
                raise IngestError(f"column map {path}: 'defaults' names {table}.{col}, which "
                                  f"is not a column of {table}")
    for table, cols in cmap.formats.items():
        dated = [c.name for c in C.TABLES[table].columns if c.kind in ("date", "datetime")]
        for col in cols:
            if col != "*" and col not in dated:
                raise IngestError(f"column map {path}: 'formats' names {table}.{col}, which is "
                                  f"not a date column of {table} ({', '.join(dated)})")
    for table, cols in cmap.values.items():
        spec = C.TABLES[table]
        for col in cols:
            if col not in spec.column_names:
                raise IngestError(f"column map {path}: 'values' names {table}.{col}, which is "
                                  f"not a column of {table}")
            if spec.column(col).kind != "enum":
                labelled = [c.name for c in spec.columns if c.kind == "enum"]
                raise IngestError(f"column map {path}: 'values' can relabel only "
                                  f"{', '.join(labelled) or 'no column'} in {table}, "
                                  f"not {col}")
    for table, mapping in cmap.columns.items():
        allowed_cols = set(C.TABLES[table].column_names)
        for target in mapping.values():
            if target and target not in allowed_cols and not (C.TABLES[table].items
                                                   and C.item_columns([target])):
                raise IngestError(f"column map {path}: {table} has no contract column "
                                  f"{target!r}")
    return cmap


# --------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------


def _norm_header(name: str) -> str:
    return str(name).strip().lower()


def _map_headers(headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """The file's headers that a column map names, with the contract column each reads as (""
    for a header to ignore). A map entry binds the header written as it is (case and outer
    spaces aside) when the file has one, and only otherwise the headers with its words
    (``C.header_key``: spacing and punctuation ignored), so an entry for ``Client #`` never
    takes a ``Client`` column beside it."""
    out: dict[str, str] = {}
    by_words: dict[str, str] = {}
    for key, target in mapping.items():
        if key in headers:
            out[key] = target
        else:
            by_words.setdefault(C.header_key(key), target)
    for h in headers:
        if h and h not in out and C.header_key(h) in by_words:
            out[h] = by_words[C.header_key(h)]
    return out


def _map_rank(header: str, mapping: dict[str, str]) -> int:
    """Where the map entry that reads a header stands in the map (the practice's own entries
    first, then the profile's, in its order); headers read otherwise come last."""
    for i, key in enumerate(mapping):
        if key == header or C.header_key(key) == C.header_key(header):
            return i
    return len(mapping)


def _header_synonyms(headers: list[str], rename: dict[str, str], table: str) -> dict[str, str]:
    """The column map's renames, plus a contract column's own name written another way
    (``Clinician ID``, ``Item 3``), plus the contract's header synonyms (``HEADER_SYNONYMS``)
    for a column the file does not name otherwise: one is used only when no header is the
    contract's name itself, the column map names none, and exactly one header matches."""
    out = dict(rename)
    spec = C.TABLES[table]
    own = {C.header_key(c): c for c in spec.column_names}
    for h in headers:
        if not h or h in out or h in spec.column_names:
            continue
        key = C.header_key(h)
        col = own.get(key)
        if col is None and spec.items:
            m = re.fullmatch(r"item (\d{1,3})", key)
            col = f"item_{int(m.group(1))}" if m else None
        if col is not None and col not in headers and col not in out.values():
            out[h] = col
    for col, words in C.HEADER_SYNONYMS.get(table, {}).items():
        if col in headers or col in out.values():
            continue
        keys = {C.header_key(w) for w in words}
        hits = [h for h in headers if h and h not in out and C.header_key(h) in keys]
        if len(hits) == 1:
            out[hits[0]] = col
    return out


def _looks_like(spec: C.Table, headers: list[str], cmap: ColumnMap) -> bool:
    """Whether a file's headers (normalised) carry every column the table needs, read through
    the column map (a profile) and the contract's own names and synonyms."""
    rename = _header_synonyms(headers, _map_headers(headers, cmap.columns.get(spec.name, {})),
                              spec.name)
    have = {rename.get(h, h) for h in headers}
    key = cmap.client_key_for(spec.name)
    if key and all(c in headers for c in _key_columns(key, headers)):
        have.add("client_id")  # clients named by their name (and birth date)
    return all(c in have for c in spec.file_columns)


def _detect_file(folder: Path, table: str, cmap: ColumnMap, read: dict) -> Path:
    """The table's file when no file name says it: the folder's only spreadsheet or CSV that
    is not a contract table's own file, or else the one whose headers are the table's (an
    appointment report: clinician, client, date and status). Files read to tell are kept in
    ``read`` (under ``("peek", path)``) so that none is read twice."""
    spec = C.TABLES[table]
    own = {f"{t}{ext}" for t in C.TABLES for ext in READABLE}
    candidates = sorted(
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$"))
        and p.suffix.lower() in READABLE and p.name.lower() not in own)
    what = f"{table.rstrip('s')} report"  # "appointment report"
    if not candidates:
        raise IngestError(f"no spreadsheet or CSV file besides the contract tables is in "
                          f"{folder}: add the {what}" + _download_hint(cmap, table))
    if len(candidates) == 1:  # the folder's only one: read as the table (a missing column
        read[("found", table)] = candidates[0]  # is then named by _load_table)
        return candidates[0]
    fitting, unreadable = [], 0
    for p in candidates:
        if ("peek", p) not in read:
            try:
                read[("peek", p)] = (*_read(p, cmap.sheets.get(table), _Headers(table, cmap)),
                                     set())
            except IngestError:  # an empty or broken file beside the report is not it
                unreadable += 1
                continue
        headers = [_norm_header(h) for h in read[("peek", p)][0].columns]
        if _looks_like(spec, headers, cmap):
            fitting.append(p)
    if len(fitting) > 1:  # never named: a file's name may be a client's
        raise IngestError(f"{folder} holds {len(fitting)} files that look like {what}s: keep "
                          "the one to use there (or name it in a column map: files: "
                          f"{{{table}: ...}})")
    if not fitting:
        n = len(candidates)
        broken = f" ({unreadable} could not be read)" if unreadable else ""
        raise IngestError(
            f"none of the {n} spreadsheet or CSV files{broken} in {folder} has the "
            f"columns of {'an' if what[0] in 'aeiou' else 'a'} {what} (a clinician, a "
            "client, a date and a status on each row); name the file in a column map "
            "(files:) and its headers (columns:)")
    read[("found", table)] = fitting[0]
    return fitting[0]


def _download_hint(cmap: ColumnMap, table: str) -> str:
    """Which report to download for a table, when the column map (a profile) says."""
    what = cmap.describe.get(table)
    return f": download {what}" if what else ""


def _find_file(folder: Path, table: str, cmap: ColumnMap,
               read: dict | None = None) -> Path | None:
    if table in cmap.files:
        name = cmap.files[table]
        if any(ch in name for ch in "*?["):  # a pattern: exports carry dates in their names
            import fnmatch

            found = sorted(p for p in folder.iterdir() if p.is_file()
                           and fnmatch.fnmatch(p.name.lower(), name.lower()))
            if len(found) > 1:
                raise IngestError(f"{folder} holds {len(found)} files matching {name!r} "
                                  f"({found[0].name}, {found[1].name}): keep the one to use")
            if found:
                return found[0]
            if table in cmap.detect:  # any name: the report is known by its headers
                return _detect_file(folder, table, cmap, {} if read is None else read)
            same = [t for t in cmap.detect if cmap.files.get(t) == name]
            if same and read is not None:  # the table comes from a report found by content
                owner = read.get(("found", same[0]))
                if owner is not None:
                    return owner
            raise IngestError(f"no file matching {name!r} (the {table} table) is in {folder}"
                              + _download_hint(cmap, table))
        path = folder / name
        if not path.is_file():
            raise IngestError(f"{name} (the {table} table named in the column map) "
                              f"is not in {folder}" + _download_hint(cmap, table))
        return path
    matches = [p for p in folder.iterdir()
               if p.is_file() and p.name.lower() in {f"{table}{ext}" for ext in READABLE}]
    if len(matches) > 1:
        raise IngestError(f"{folder} holds both {matches[0].name} and {matches[1].name}: keep one")
    return matches[0] if matches else None


def _float_text(v) -> str:
    if pd.isna(v):
        return ""
    v = float(v)
    return str(int(v)) if np.isfinite(v) and v.is_integer() else repr(v)


def _not_whole(x: np.ndarray) -> np.ndarray:
    """Floats that are present but no whole number (such a value cannot be an id)."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(x) & ~(np.isfinite(x) & (x % 1 == 0))


def _fractional(col: pd.Series) -> np.ndarray | None:
    """Rows of a float column that hold no whole number; None for other columns."""
    if not pd.api.types.is_float_dtype(col):
        return None
    return _not_whole(col.to_numpy(dtype=float, na_value=np.nan))


def _to_text(col: pd.Series) -> pd.Series:
    """A typed Parquet column as the text a CSV would hold, so both take one parsing path.

    A whole number stored as a float is written without its ``.0`` (``100042.0`` is
    ``100042``): Parquet writers store an integer column with gaps as floats, and an id must
    read the same whichever table it comes from."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(col):
        out = col.map(lambda v: "" if pd.isna(v) else v.isoformat())
    elif pd.api.types.is_float_dtype(col):
        out = col.map(_float_text)
    else:
        out = col.map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v))
                      else str(v))
    return out.astype(str)


# What perfkit reads from one file (README, "Using your own data"; docs/data_contract.md):
# an export of the contract's tables has tens of columns and short values, so a file past
# these is refused with a sentence before it can take minutes or all the memory.
MAX_COLUMNS = 1_000
MAX_VALUE_CHARS = 1_000_000  # characters in one CSV value
MAX_CSV_ROW_BYTES = 64 << 20  # one CSV row (a block of the CSV reader)
MAX_SHEET_CELLS = 5_000_000  # rows x columns of a worksheet, from A1 (a grid in memory)
# An .xlsx workbook is a zip of XML parts, measured before python-calamine opens it. The
# TherapyNotes export of the 200-clinician benchmark practice (231,599 rows x 12 columns)
# unpacks to 140 MB, nearly all of it its sheet, packed 12 to 1.
MAX_WORKBOOK_PART_BYTES = 1_500_000_000  # one part unpacked (a sheet, the shared strings)
MAX_WORKBOOK_BYTES = 2_000_000_000  # every part unpacked; an .xls file on disk
MAX_PACKING_RATIO = 100  # a part unpacking to more than 100 times its packed size...
PACKING_RATIO_FLOOR = 10_000_000  # ...and to more than 10 MB is a zip bomb, not an export
MAX_SHARED_STRINGS = 10_000_000  # entries of the shared strings part
MAX_VALUE_XML_BYTES = 16 << 20  # the XML of one cell or one shared string, before reading
MAX_SHARED_TEXT_BYTES = MAX_WORKBOOK_PART_BYTES  # shared strings' XML, once per cell using it
# A legacy .xls (BIFF) cannot be measured before python-calamine reads it: its sheet is read
# in a child process given this much memory beyond what Python itself holds and this much
# time. A full .xls sheet, 65,536 rows x 256 columns of short values, is about 17 million cells
# of some 64 bytes in python-calamine's grid (1.1 GB, an estimate: no .xls writer is at hand to
# measure one), and a sheet past MAX_SHEET_CELLS is refused before its cells become Python's.
MAX_XLS_MEMORY_BYTES = 3 << 30
MAX_XLS_SECONDS = 120


@dataclass
class _Headers:
    """Whether a row reads as a table's header row (``_looks_like``): given to the readers,
    which look for the header under a title (``_header_at``) and for the sheet that holds the
    table (``_sheet_rows``). A plain object, so that it pickles into a child process."""

    table: str
    cmap: ColumnMap

    def __call__(self, row: list) -> bool:
        return _looks_like(C.TABLES[self.table], [_norm_header(h) for h in row], self.cmap)


TITLE_ROWS = 9  # rows above the header at most: the header is within a file's first 10 rows


def _filled(row: list) -> int:
    return sum(1 for v in row if _cell_text(v).strip())


def _header_at(rows: list[list], fits: _Headers | None) -> int:
    """Where the header is among a file's first rows (0: the first row). A report may print a
    title, the date range and an empty line above its table: when the first row is not the
    table's header, a row among the first 10 that is, with every row above it holding at most
    half as many filled cells as it does (a title fills one or two), is the header. Anything
    else leaves the first row as the header (the file stops later as it always did)."""
    if fits is None or not rows or fits(rows[0]):
        return 0
    for k in range(1, min(len(rows), TITLE_ROWS + 1)):
        if fits(rows[k]):
            most = max(1, _filled(rows[k]) // 2)
            return k if all(_filled(r) <= most for r in rows[:k]) else 0
    return 0


def _too_wide(path: Path, n: int) -> str:
    return (f"{path.name} has {n:,} columns, more than the {MAX_COLUMNS:,} perfkit reads "
            "from one file; export only the report's own columns and run again")


def _column_words(header: list[str], i: int) -> str:
    """A column named in a message: by its header only when that is a contract column (a file
    without a header row has client details where its headers should be)."""
    name = _norm_header(header[i]).lstrip("\ufeff") if 0 <= i < len(header) else ""
    return f"column {name!r}" if name in _CONTRACT_NAMES else "a column outside the contract"


DELIMITERS = {",": "a comma", ";": "a semicolon", "\t": "a tab", "|": "a bar (|)"}
_SNIFF_BYTES = 64 << 10  # the start of a CSV file the delimiter is guessed from


def _csv_rows(path: Path, delimiter: str, most: int) -> list[tuple[list[str], int]]:
    """A CSV file's first rows (``most``), each with the byte offset where it begins (an
    empty line is a row, as a spreadsheet shows it)."""
    at = [0]

    def lines():
        with open(path, "rb") as fh:
            for raw in fh:
                text = raw.decode("utf-8-sig" if at[0] == 0 else "utf-8")
                at[0] += len(raw)
                yield text

    out, start = [], 0
    with _csv_field_limit():
        for row in csv.reader(lines(), delimiter=delimiter):
            out.append((row, start))
            start = at[0]
            if len(out) == most:
                break
    return out


def _csv_layout(path: Path, fits: _Headers) -> tuple[str, int, int, list[str]] | None:
    """How to read a CSV file whose first row is not the table's header: its delimiter (a
    comma, else a semicolon, tab or bar), the rows above its header (a title: ``_header_at``)
    and the byte offset of its header row, and the header. First the delimiter under which a
    row among the first 10 is the table's header; else, when the first row is one field under
    commas, the delimiter ``csv.Sniffer`` finds in the first lines (so that a missing column
    is said with the file's own headers). None when nothing reads better than commas."""
    try:
        for d in DELIMITERS:
            rows = _csv_rows(path, d, TITLE_ROWS + 1)
            k = _header_at([r for r, _ in rows], fits)
            if rows and fits(rows[k][0]):
                return d, k, rows[k][1], rows[k][0]
        with open(path, encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(_SNIFF_BYTES)
        sample = sample[:sample.rfind("\n") + 1] or sample
        d = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
        first = [_csv_rows(path, x, 1) for x in (",", d)]
        if d != "," and len(first[0][0][0]) == 1 and len(first[1][0][0]) > 1:
            return d, 0, 0, first[1][0][0]
    except (ValueError, csv.Error, IndexError):  # read as before: it says what is wrong
        pass
    return None


def _read_csv(path: Path, fits: _Headers | None = None) -> tuple[pd.DataFrame, dict]:
    """Every cell as text, nothing turned into NaN: pyarrow's multithreaded CSV reader, with
    each column typed as string (so "007" stays "007" and "NA" stays "NA"); and how the file
    was read (``title_rows``, ``delimiter``).

    The header may hold line breaks inside quotes (it is read as a CSV row, not a line). When
    the first row is not the table's header (``fits``), the file may be separated by
    semicolons, tabs or bars, or have a title above its header (``_csv_layout``): the rows
    above the header are skipped, never read as data. A file with more than ``MAX_COLUMNS``
    columns, or a value longer than ``MAX_VALUE_CHARS`` characters, stops with a sentence
    saying so."""
    with open(path, encoding="utf-8-sig", newline="") as fh, _csv_field_limit():
        header = next(csv.reader(fh), None)
    delimiter, skip, offset = ",", 0, 0
    if header and fits is not None and not fits(header):
        layout = _csv_layout(path, fits)
        if layout is not None:
            delimiter, skip, offset, header = layout
    if not header:
        raise IngestError(f"{path.name} is empty: it needs a header row")
    if len(header) > MAX_COLUMNS:
        raise IngestError(_too_wide(path, len(header)))
    names = [f"column_{i}" for i in range(len(header))]  # headers are normalized by the caller

    def read(block_size: int | None) -> pa.Table:
        source = pa.OSFile(str(path)) if offset else path
        if offset:
            source.seek(offset)  # the header row, under the title
        try:
            return pa_csv.read_csv(
                source,
                read_options=pa_csv.ReadOptions(column_names=names, skip_rows_after_names=1,
                                                encoding="utf8", block_size=block_size),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True, delimiter=delimiter),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                    quoted_strings_can_be_null=False),
            )
        finally:
            if offset:
                source.close()

    try:
        try:
            table = read(None)
        except pa.ArrowInvalid as exc:  # a row longer than a block (1 MB): read in larger blocks
            if "straddl" not in str(exc):
                raise
            table = read(MAX_CSV_ROW_BYTES)
    except READER_ERRORS as exc:  # said with the layout read (rows counted from the file's top)
        if delimiter == "," and not skip:
            raise
        raise IngestError(_unreadable(path, exc, delimiter, skip)) from None
    for i, column in enumerate(table.columns):
        if not len(column):
            break
        long = pa_compute.greater(pa_compute.utf8_length(column), MAX_VALUE_CHARS)
        if pa_compute.any(long).as_py():
            row = pa_compute.index(long, True).as_py() + 1 + skip
            raise IngestError(_too_long(path, row, _column_words(header, i)))
    frame = table.to_pandas()
    frame.columns = header
    return frame, {"title_rows": skip, "delimiter": delimiter}


def _too_long(path: Path, row: int, column: str) -> str:
    return (f"{path.name}: row {row} ({column}) holds a value longer than "
            f"{MAX_VALUE_CHARS:,} characters, more than perfkit reads from one cell; fix that "
            "row (or export the report without that column) and run again")


READABLE = (".csv", ".parquet", ".xlsx", ".xls")


def _cell_text(v) -> str:
    """A workbook cell as the text a CSV would hold: whole numbers without ``.0``, dates and
    times in ISO 8601, empty cells empty. Nothing is guessed: ``NA`` and ``001`` stay text."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, int | float):
        return _float_text(v)
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, dt.timedelta):
        return str(v.total_seconds() / 60)
    return str(v)


def _read_workbook(path: Path, sheet: str | None, fits: _Headers | None = None
                   ) -> tuple[pd.DataFrame, dict[int, np.ndarray], dict]:
    """One sheet of an Excel workbook (the sheet named in the column map, else the first
    visible worksheet, else the one visible worksheet with the table's headers: ``fits``,
    ``_sheet_rows``), read with python-calamine directly: pandas' ``read_excel`` would guess
    missing values (``NA``) and rename repeated headers (``Charge.1``). Rows above the
    header (a title: ``_header_at``) are skipped, never read as data; their number is
    ``title_rows`` in the sheet's description (only when there are any).

    python-calamine builds a sheet as a full grid from A1 to its farthest cell, in memory: one
    stray cell at XFD1048576 asks for 512 GB. So an ``.xlsx`` sheet's cells are counted from
    its XML before python-calamine opens it, and a sheet past ``MAX_COLUMNS`` columns or
    ``MAX_SHEET_CELLS`` cells is refused with a sentence naming its farthest cell (an ``.xls``
    sheet, at most 65,536 x 256 cells by its format, is checked from python-calamine's
    dimensions). Before that, an ``.xlsx`` file's zip and shared strings are measured
    (``_check_zip``, ``_check_shared_strings``), as python-calamine reads the shared strings
    whole when it opens the file; after it, a cell over ``MAX_VALUE_CHARS`` characters is
    refused (``_check_values``). Also returns which sheet was read (``sheet_words``).

    An ``.xls`` (BIFF) file cannot be measured before it is read, and python-calamine copies
    its shared strings into every cell: its sheet is read in a child process held to
    ``MAX_XLS_MEMORY_BYTES`` and ``MAX_XLS_SECONDS`` (``_in_child``)."""
    shared = array("I")
    if path.suffix.lower() == ".xlsx":
        _check_zip(path)
        shared = _check_shared_strings(path)
    elif path.stat().st_size > MAX_WORKBOOK_BYTES:
        raise IngestError(f"{path.name} holds {path.stat().st_size:,} bytes, more than the "
                          f"{MAX_WORKBOOK_BYTES:,} perfkit reads from one workbook{_WORKBOOK_FIX}")
    if path.suffix.lower() == ".xls":  # BIFF cannot be measured first: bounded instead
        rows, which, what = _in_child(path, _sheet_rows, (path, sheet, shared, fits))
    else:
        rows, which, what = _sheet_rows(path, sheet, shared, fits)
    skip = _header_at([[_cell_text(v) for v in r] for r in rows[:TITLE_ROWS + 1]], fits)
    if not rows or not any(_cell_text(v) for v in rows[skip]):
        raise IngestError(f"{path.name}: {what} is empty: it needs a header row")
    header = [_cell_text(v) for v in rows[skip]]
    width = len(header)
    _check_values(path, what, rows, header, skip)
    body = [list(r[:width]) + [None] * (width - len(r)) for r in rows[skip + 1:]]
    fractional = {}
    for i in range(width):
        mask = _not_whole(np.array([r[i] if isinstance(r[i], float) else np.nan
                                    for r in body], dtype=float))
        if mask.any():
            fractional[i] = mask
    frame = pd.DataFrame([[_cell_text(v) for v in r] for r in body], columns=range(width),
                         dtype=object)
    if frame.empty:
        frame = pd.DataFrame({i: pd.Series([], dtype=object) for i in range(width)})
    if skip:
        which = {**which, "title_rows": skip}
    return frame.set_axis(header, axis=1), fractional, which


def _sheet_rows(path: Path, sheet: str | None, shared: array, fits: _Headers | None = None
                ) -> tuple[list[list], dict, str]:
    """The rows of the sheet to read (named, else the first visible worksheet), which sheet
    that is, and its words; module-level so that a child process can run it (``_in_child``).

    With no sheet named, when the first visible worksheet does not hold the table's header
    (``fits``, under a title too: ``_header_at``) and exactly one other visible worksheet does
    (a report whose first sheet is its criteria), that sheet is read; two such sheets stop
    with a sentence asking to name one in the column map."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    book = CalamineWorkbook.from_path(str(path))
    meta = book.sheets_metadata
    if sheet is not None:
        index = next((i for i, m in enumerate(meta) if m.name == sheet), None)
        if index is None:
            raise IngestError(f"{path.name} has no sheet {sheet!r} (its sheets: "
                              f"{', '.join(book.sheet_names)})")
    else:
        index = next((i for i, m in enumerate(meta) if m.visible == SheetVisibleEnum.Visible
                      and m.typ == SheetTypeEnum.WorkSheet), None)
        if index is None:
            raise IngestError(f"{path.name} has no visible worksheet; name the sheet to read "
                              "in the column map (sheets:)" if meta else
                              f"{path.name} has no sheet")
    which = {"number": index + 1, "of": len(meta), "named": sheet,
             "hidden_before": sum(m.visible != SheetVisibleEnum.Visible for m in meta[:index])}
    what = f"the sheet {sheet!r}" if sheet is not None else f"its {_sheet_words(which)}"
    rows = _sheet_grid(path, book, index, what, shared)
    if sheet is not None or fits is None or _has_header(rows, fits):
        return rows, which, what
    found = []
    for i, m in enumerate(meta):
        if i == index or m.visible != SheetVisibleEnum.Visible \
                or m.typ != SheetTypeEnum.WorkSheet:
            continue
        other = _sheet_grid(path, book, i, f"its sheet {m.name!r}", shared)
        if _has_header(other, fits):
            found.append(m.name)
            if len(found) == 1:
                index, fitting = i, other
    if len(found) > 1:
        raise IngestError(
            f"{path.name}: {len(found)} of its sheets have the columns of the {fits.table} "
            f"table ({found[0]!r} and {found[1]!r}); name the one to read in the column map, "
            f"e.g. sheets: {{{fits.table}: {found[0]!r}}}")
    if not found:  # read as before: the run says which column is missing
        return rows, which, what
    which = {**which, "number": index + 1, "by_headers": True, "name": meta[index].name,
             "hidden_before": sum(m.visible != SheetVisibleEnum.Visible for m in meta[:index])}
    return fitting, which, f"its {_sheet_words(which)}"


def _sheet_grid(path: Path, book, index: int, what: str, shared: array) -> list[list]:
    """One worksheet's cells, row by row, once its size is known to be within the limits."""
    if path.suffix.lower() == ".xlsx":
        _check_sheet_xml(path, index, what, shared)
    ws = book.get_sheet_by_name(book.sheets_metadata[index].name)
    if ws.end is not None:  # the grid from A1 (an .xls sheet, or a check above overtaken)
        _check_extent(path, what, ws.end[0] + 1, ws.end[1] + 1, None)
    return ws.to_python(skip_empty_area=False)


def _has_header(rows: list[list], fits: _Headers) -> bool:
    """Whether a sheet's first rows hold the table's header (under a title, too)."""
    head = [[_cell_text(v) for v in r] for r in rows[:TITLE_ROWS + 1]]
    return bool(head) and fits(head[_header_at(head, fits)])


def _check_values(path: Path, what: str, rows: list[list], header: list[str],
                  skip: int = 0) -> None:
    """Refuse a sheet with a text longer than ``MAX_VALUE_CHARS`` characters (as a CSV value
    is), naming its cell; rows are checked whole, at C speed, and only a long one cell by cell.
    ``skip`` rows above the header are its title; rows are numbered from the sheet's top, as
    in rejects.csv."""
    for r, row in enumerate(rows):
        if max(map(len, filter(str.__instancecheck__, row)), default=0) <= MAX_VALUE_CHARS:
            continue
        c = next(i for i, v in enumerate(row) if isinstance(v, str) and len(v) > MAX_VALUE_CHARS)
        where = (f"cell {_column_letters(c + 1)}{r + 1} (the header row" if r == skip else
                 f"cell {_column_letters(c + 1)}{r + 1} (a title row above the header"
                 if r < skip else
                 f"cell {_column_letters(c + 1)}{r + 1} (row {r - skip} under the header, "
                 f"{_column_words(header, c)}")
        raise IngestError(f"{path.name}: {what}: {where}) holds a value longer than "
                          f"{MAX_VALUE_CHARS:,} characters, more than perfkit reads from one "
                          "cell; shorten that cell (or export the table without that column) "
                          "and run again")


def _sheet_words(which: dict) -> str:
    """Which sheet of a workbook was read, in words: by the name the column map gave, else by
    position (a sheet's own name may be anything, so it is not copied)."""
    if which.get("named") is not None:
        return f"sheet {which['named']!r} (named in the column map)"
    if which.get("by_headers"):  # by position too: a sheet's own name may be anything
        return (f"sheet {which['number']} of {which['of']} (the one with the table's columns; "
                "the first visible sheet does not have them)")
    if which["of"] == 1:
        return "only sheet"
    hidden = which.get("hidden_before", 0)
    skipped = (f"; {'the' if hidden == 1 else str(hidden)} hidden sheet"
               f"{'s' * (hidden != 1)} before it {'was' if hidden == 1 else 'were'} not read"
               if hidden else "")
    return f"first visible sheet (sheet {which['number']} of {which['of']}{skipped})"


def _column_letters(col: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD (``_column_number`` the other way)."""
    out = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _check_extent(path: Path, what: str, rows: int, cols: int, far: str | None) -> None:
    """Refuse a sheet whose grid from A1 (``rows`` x ``cols``) is past the limits."""
    if cols <= MAX_COLUMNS and rows * cols <= MAX_SHEET_CELLS:
        return
    far = far or f"{_column_letters(cols)}{rows}"
    fix = ("; delete what lies beyond the table (a stray value far below or to the right of it) "
           "or export the table as CSV, and run again")
    if cols > MAX_COLUMNS:
        raise IngestError(f"{path.name}: {what} reaches cell {far}, column {cols:,}: more than "
                          f"the {MAX_COLUMNS:,} columns perfkit reads from a sheet{fix}")
    raise IngestError(f"{path.name}: {what} reaches cell {far}, row {rows:,}: {rows:,} rows by "
                      f"{cols:,} columns from A1 is more than the {MAX_SHEET_CELLS:,} cells "
                      f"perfkit reads from a sheet{fix}")


# A start tag of a cell or a row in a worksheet's XML (any namespace prefix), its attributes
# read exactly as an XML parser reads them; a tag that does not read so stops the check.
_ATTR = rb"""\s+([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')"""
_TAG = re.compile(rb"<(?:[\w.-]+:)?(?P<name>c|row)(?P<attrs>(?:" + _ATTR + rb")*)\s*"
                  rb"(?P<empty>/?)>")
_TAG_START = re.compile(rb"<(?:[\w.-]+:)?(?:c|row)[\s/>]")
_ATTRS = re.compile(_ATTR)
_CELL_REF = re.compile(r"([A-Za-z]{1,7})([0-9]{1,9})")
_SHEET_XML_CHUNK = 1 << 22


def _sheet_part(book: zipfile.ZipFile, index: int) -> str:
    """The zip member holding the ``index``-th sheet of an .xlsx workbook (workbook order)."""
    import xml.etree.ElementTree as ET  # expat >= 2.4 refuses entity expansion bombs

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        workbook = ET.fromstring(book.read("xl/workbook.xml"))
        rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ET.ParseError) as exc:
        raise ValueError(f"workbook parts: {type(exc).__name__}") from None
    sheets = workbook.findall(f"{ns_main}sheets/{ns_main}sheet")
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    if index >= len(sheets):
        raise ValueError("sheet not listed")
    target = targets.get(sheets[index].get(f"{ns_rel}id"), "")
    part = target.lstrip("/") if target.startswith(("/", "xl/")) else f"xl/{target}"
    if part not in book.namelist():
        raise ValueError("sheet part missing")
    return part


class _SheetExtent:
    """A worksheet's extent from A1, counted tag by tag as python-calamine places cells: a
    cell at its own reference, else in the next column of its row; a row at its number, else
    the next row. A cell written empty (``<c r="Z9" s="1"/>``) is in no grid."""

    def __init__(self, path: Path, what: str):
        self.path, self.what = path, what
        self.rows = self.cols = 0  # the grid's extent so far
        self.row = self.col = 0  # the current row (1-based) and its last column used
        self.far_row = self.far_col = ""

    def cell(self, row: int, col: int, empty: bool) -> None:
        self.row, self.col = row, col
        if empty:
            return
        if row > self.rows:
            self.rows, self.far_row = row, f"{_column_letters(col)}{row}"
        if col > self.cols:
            self.cols, self.far_col = col, f"{_column_letters(col)}{row}"
        if self.cols > MAX_COLUMNS or self.rows * self.cols > MAX_SHEET_CELLS:
            _check_extent(self.path, self.what, self.rows, self.cols,
                          self.far_col if self.cols > MAX_COLUMNS else self.far_row)

    def exact(self, data: bytes) -> None:
        """Any other tags: each attribute read as an XML parser reads it."""
        import html

        tags = list(_TAG.finditer(data))
        if len(tags) != len(_TAG_START.findall(data)):  # a cell or row tag that does not parse
            raise ValueError("malformed cell tag")
        for m in tags:
            attrs = {a.group(1).split(b":")[-1]: a.group(2) if a.group(2) is not None
                     else a.group(3) for a in _ATTRS.finditer(m.group("attrs"))}
            ref = attrs.get(b"r")
            ref = None if ref is None else html.unescape(ref.decode("utf-8", "replace")).strip()
            if m.group("name") == b"row":
                self.row = int(ref) if ref is not None and ref.isdigit() else self.row + 1
                self.col = 0
            elif ref is None:
                self.cell(self.row, self.col + 1, bool(m.group("empty")))
            else:
                at = _CELL_REF.fullmatch(ref)
                if at is None:
                    raise ValueError("unreadable cell reference")
                self.cell(int(at.group(2)), _column_number(at.group(1)), bool(m.group("empty")))


def _column_number(letters: bytes | str) -> int:
    """A -> 1, XFD -> 16384."""
    col = 0
    for ch in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        col = col * 26 + ord(ch) - 64
    return col


# A cell or row tag in the form spreadsheet programs write (``<c r="B5" ...>``, ``<row
# r="5" ...>``), and any other start of such a tag
_CELL_ROWS = re.compile(rb'<c r="[A-Z]{1,7}([0-9]{1,9})"[^<>]*>')
_CELL_COLUMNS = re.compile(rb'<c r="([A-Z]{1,7})[0-9]{1,9}"[^<>]*>')
_ROW_TAG = re.compile(rb'<row r="[0-9]{1,9}"[^<>]*>')
_PLAIN_START = re.compile(rb"<(?:c|row)[\s/>]")
_PREFIXED_START = re.compile(rb"<[\w.-]+:(?:c|row)[\s/>]")


def _xml_pieces(book: zipfile.ZipFile, part: str):
    """A zip member's XML in pieces of about ``_SHEET_XML_CHUNK`` bytes, each ending at a tag's
    end (a tag cut by a piece's end is carried into the next)."""
    carry = b""
    with book.open(part) as fh:
        while True:
            chunk = fh.read(_SHEET_XML_CHUNK)
            data = carry + chunk
            cut = len(data)
            if chunk:
                lt = data.rfind(b"<")
                cut = lt if lt > data.rfind(b">") else cut
            data, carry = data[:cut], data[cut:]
            if len(carry) > 1 << 20:  # no tag of a worksheet is that long
                raise ValueError("malformed tag")
            if data:
                yield data
            if not chunk:
                return


def _check_sheet_xml(path: Path, index: int, what: str, shared: array | None = None) -> None:
    """Count a worksheet's extent from its XML before python-calamine builds its grid.

    Its cells first: more than ``MAX_SHEET_CELLS`` written (even over one another), one past
    ``MAX_VALUE_XML_BYTES``, or the ``shared`` strings they point at (their sizes, from
    ``_check_shared_strings``) past ``MAX_SHARED_TEXT_BYTES``, counted once per cell, are
    refused with a sentence.

    A first pass reads the cell references of a sheet written in the usual form at C speed
    (counting a cell written empty as filled); a sheet in another form, or one past the limits
    by that count, is read tag by tag (``_SheetExtent``), which stops with a sentence naming
    the first cell past the limits."""
    with zipfile.ZipFile(path) as book:
        part = _sheet_part(book, index)
        count, largest = _elements(book, part, b"c", b"sheetData", MAX_SHEET_CELLS)
        if count > MAX_SHEET_CELLS:  # python-calamine keeps every cell written, even repeated
            raise IngestError(f"{path.name}: {what} holds more than {MAX_SHEET_CELLS:,} cells, "
                              f"more than perfkit reads from a sheet{_WORKBOOK_FIX}")
        if largest > MAX_VALUE_XML_BYTES:
            raise IngestError(_too_much_xml(path, f"one cell of {what}"))
        if _shared_text(book, part, shared) > MAX_SHARED_TEXT_BYTES:
            raise IngestError(f"{path.name}: the cells of {what} point at more than "
                              f"{MAX_SHARED_TEXT_BYTES:,} bytes of shared text (a text counted "
                              "once per cell that shows it), more than perfkit reads from a "
                              f"sheet{_WORKBOOK_FIX}")
        rows = cols = 0
        usual = True
        for data in _xml_pieces(book, part):
            numbers = _CELL_ROWS.findall(data)
            if len(numbers) + len(_ROW_TAG.findall(data)) != len(_PLAIN_START.findall(data)) \
                    or _PREFIXED_START.search(data):
                usual = False
                break
            rows = max(rows, max(map(int, numbers), default=0))
            cols = max(cols, max(map(_column_number, set(_CELL_COLUMNS.findall(data))),
                                 default=0))
        if usual and cols <= MAX_COLUMNS and rows * cols <= MAX_SHEET_CELLS:
            return
        extent = _SheetExtent(path, what)
        for data in _xml_pieces(book, part):
            extent.exact(data)


# Parts of an .xlsx named in a sentence: only the standard names (a part's name is the file
# maker's choice and may be anything, a client's name included).
_NAMED_PART = re.compile(r"xl/(?:sharedStrings|workbook|styles|worksheets/sheet\d{1,5})\.xml")
_WORKBOOK_FIX = ("; open it in a spreadsheet program and save it again, or export the table as "
                 "CSV, and run again")


def _part_words(name: str) -> str:
    return f"its part {name}" if _NAMED_PART.fullmatch(name) else "one of its parts"


def _unpacked_bytes(fh, info: zipfile.ZipInfo, cap: int) -> int:
    """How many bytes a zip member really unpacks to, counted up to ``cap + 1`` in pieces of
    1 MB (the sizes a zip states may be forged; python-calamine's reader does not check them)."""
    fh.seek(info.header_offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("no local header")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    if info.compress_type == zipfile.ZIP_STORED:
        return info.compress_size
    unpack, left, size = zlib.decompressobj(-15), info.compress_size, 0
    while left and size <= cap and not unpack.eof:
        packed = fh.read(min(left, 1 << 20))
        if not packed:
            break
        left -= len(packed)
        while packed and size <= cap and not unpack.eof:
            size += len(unpack.decompress(packed, 1 << 20))
            packed = unpack.unconsumed_tail
    return size


def _check_zip(path: Path) -> None:
    """Refuse an .xlsx whose parts unpack past the limits, before anything unpacks them: a
    part over ``MAX_WORKBOOK_PART_BYTES``, all parts over ``MAX_WORKBOOK_BYTES``, a part over
    ``PACKING_RATIO_FLOOR`` bytes packed more than ``MAX_PACKING_RATIO`` to 1 (a zip bomb), a
    part that unpacks to more than its stated size, or one packed in a way Excel never writes.
    Each part is then unpacked once, counting bytes, to check its stated size."""
    with zipfile.ZipFile(path) as book:
        infos = book.infolist()
    total = 0
    for info in infos:
        part = _part_words(info.filename)
        if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                            zipfile.ZIP_DEFLATED):
            raise IngestError(f"{path.name}: {part} is encrypted or packed in a way Excel does "
                              f"not write{_WORKBOOK_FIX}")
        if info.file_size > MAX_WORKBOOK_PART_BYTES:
            raise IngestError(f"{path.name}: {part} unpacks to {info.file_size:,} bytes, more "
                              f"than the {MAX_WORKBOOK_PART_BYTES:,} perfkit reads from one part "
                              f"of a workbook{_WORKBOOK_FIX}")
        if info.file_size > PACKING_RATIO_FLOOR \
                and info.file_size > MAX_PACKING_RATIO * info.compress_size:
            raise IngestError(f"{path.name}: {part} unpacks to {info.file_size:,} bytes from "
                              f"{info.compress_size:,}, more than {MAX_PACKING_RATIO} times its "
                              "packed size: a file built to fill the memory (a zip bomb), not "
                              "an export; export the table again")
        total += info.file_size
        if total > MAX_WORKBOOK_BYTES:
            raise IngestError(f"{path.name} unpacks to more than {MAX_WORKBOOK_BYTES:,} bytes, "
                              f"more than perfkit reads from one workbook{_WORKBOOK_FIX}")
    with open(path, "rb") as fh:
        for info in infos:
            if _unpacked_bytes(fh, info, info.file_size) > info.file_size:
                raise IngestError(f"{path.name}: {_part_words(info.filename)} unpacks to more "
                                  "than the size the file states for it: a damaged or forged "
                                  f"file{_WORKBOOK_FIX}")


def _end_tag(data: bytes, name: bytes) -> int:
    """Where the first end tag ``</name>`` (any namespace prefix) starts in ``data``, or -1;
    searched as plain bytes (a regular expression tried at every ``</`` is four times slower)."""
    at = data.find(name)
    while at >= 0:
        m = re.search(rb"</(?:[\w.-]+:)?\Z", data[max(0, at - 64):at])
        if m and re.match(rb"\s*>", data[at + len(name):at + len(name) + 64]):
            return max(0, at - 64) + m.start()
        at = data.find(name, at + 1)
    return -1


def _elements(book: zipfile.ZipFile, part: str, tag: bytes, end: bytes, most: int,
              sizes: array | None = None) -> tuple[int, int]:
    """How many ``tag`` elements start in a part's XML (``c``: cells, ``si``: shared strings),
    and the most bytes from one's start to the next's (the last one's: to the end tag of
    their parent, ``end``): an upper bound on the text of any one of them. Stops early past
    ``most`` elements or ``MAX_VALUE_XML_BYTES`` bytes. ``sizes``, when given, gets each
    element's bytes, in order.

    Text in XML holds no ``<``, so every ``<`` starts markup, and a start is found by a plain
    search (a regular expression, when the part's first piece writes its elements with a
    namespace prefix); markup Excel never writes in these parts (a comment, CDATA, a DTD, a
    processing instruction), where a ``<`` may be text, stops the check (``ValueError``)."""
    count = largest = 0
    run = None  # bytes since the last start (None before the first)
    split = None
    for data in _xml_pieces(book, part):
        if b"<!" in data or data.find(b"<?", 0 if split else 5) >= 0:
            raise ValueError("comment, CDATA or DTD in a sheet or the shared strings")
        if split is None:
            prefixed = re.compile(rb"<[\w.-]+:" + tag + rb"[\s/>]")
            split = (re.compile(rb"<(?:[\w.-]+:)?" + tag + rb"[\s/>]").split
                     if prefixed.search(data) else lambda d: d.split(b"<" + tag))
        stop = _end_tag(data, end) >= 0
        if stop:
            data = data[:_end_tag(data, end)]
        pieces = split(data)
        if run is not None:
            run += len(pieces[0])
        if len(pieces) > 1:
            if sizes is not None:
                sizes.extend(([run] if run is not None else []) + list(map(len, pieces[1:-1])))
            largest = max(largest, run or 0, max(map(len, pieces[1:-1]), default=0))
            run = len(pieces[-1])
            count += len(pieces) - 1
        largest = max(largest, run or 0)
        if stop or count > most or largest > MAX_VALUE_XML_BYTES:
            break
    if sizes is not None and run is not None:
        sizes.append(run)
    return count, largest


def _too_much_xml(path: Path, what: str) -> str:
    return (f"{path.name}: {what} holds more than {MAX_VALUE_XML_BYTES:,} bytes of XML, "
            f"more than a value of {MAX_VALUE_CHARS:,} characters (the most perfkit reads from "
            f"one cell) takes{_WORKBOOK_FIX}")


def _check_shared_strings(path: Path) -> array:
    """Refuse a workbook whose shared strings (the text its cells point to, read whole by
    python-calamine when it opens the file) hold more than ``MAX_SHARED_STRINGS`` entries or
    one entry past ``MAX_VALUE_XML_BYTES``; return each entry's bytes of XML (for
    ``_shared_text``)."""
    sizes = array("I")
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if not name.replace("\\", "/").lower().endswith("sharedstrings.xml"):
                continue
            sizes = array("I")
            count, largest = _elements(book, name, b"si", b"sst", MAX_SHARED_STRINGS, sizes)
            if count > MAX_SHARED_STRINGS:
                raise IngestError(f"{path.name}: {_part_words(name)} holds more than "
                                  f"{MAX_SHARED_STRINGS:,} texts, more than perfkit reads from "
                                  f"one workbook{_WORKBOOK_FIX}")
            if largest > MAX_VALUE_XML_BYTES:
                raise IngestError(_too_much_xml(path, f"one text of {_part_words(name)}"))
    return sizes


# A cell pointing at a shared string, with the string's number; any cell of that type
_SHARED_CELL = re.compile(rb't\s*=\s*["\']s["\'][^<>]*>\s*<(?:[\w.-]+:)?v\s*>\s*([0-9]{1,10})\s*<')
_SHARED_TYPE = re.compile(rb't\s*=\s*["\']s["\']')


def _shared_text(book: zipfile.ZipFile, part: str, sizes: array | None) -> int:
    """The bytes of shared strings a sheet's cells point to, each counted once per cell (as
    python-calamine copies them into its grid): a cell whose number is not read at once
    counts as the largest. Stops early past ``MAX_SHARED_TEXT_BYTES``."""
    if not sizes:  # no shared strings
        return 0
    known, largest, total = np.frombuffer(sizes, dtype=np.uint32), max(sizes), 0
    for data in _xml_pieces(book, part):
        found = np.array(_SHARED_CELL.findall(data), dtype=np.int64)
        unread = len(_SHARED_TYPE.findall(data)) - len(found)
        total += int(known[found[found < len(known)]].sum(dtype=np.int64)) + unread * largest
        if total > MAX_SHARED_TEXT_BYTES:
            break
    return total


def _child_main(conn, memory: int, func, args: tuple) -> None:
    """Run ``func(*args)`` in a child process held to ``memory`` bytes more address space than
    it already uses, and send back ("ok", result), ("memory", None) or ("error", exception)."""
    try:  # where the platform has no such limit (Windows, macOS), the time limit only
        import resource

        with open("/proc/self/statm") as statm:  # pages of address space held now
            held = int(statm.read().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (held + memory, resource.RLIM_INFINITY))
    except (ImportError, OSError, ValueError):
        pass
    try:
        reply = ("ok", func(*args))
    except MemoryError:
        reply = ("memory", None)
    except Exception as exc:  # handed to the parent, which knows what to say
        reply = ("error", exc)
    try:
        conn.send(reply)
    except MemoryError:
        conn.send(("memory", None))
    except Exception as exc:  # an exception that does not pickle: its kind only
        conn.send(("error", ValueError(type(exc).__name__)))
    conn.close()


def _in_child(path: Path, func, args: tuple, memory: int | None = None,
              seconds: float | None = None):
    """``func(*args)`` (a module-level function) run in a child process with at most
    ``memory`` bytes (``MAX_XLS_MEMORY_BYTES``) and ``seconds`` (``MAX_XLS_SECONDS``); its
    result comes back pickled and its exceptions are raised here. A child that runs out of
    memory, dies or overruns its time is one sentence naming ``path``. The limits are
    arguments, not globals read in the child, which imports this module afresh.

    The child is spawned (a fresh interpreter), not forked: the caller may have threads whose
    locks a fork would copy, and the fork server belongs to the report workers (render.py
    preloads the rendering libraries into it when it first starts)."""
    memory = MAX_XLS_MEMORY_BYTES if memory is None else memory
    seconds = MAX_XLS_SECONDS if seconds is None else seconds
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(send, memory, func, args))
    child.start()
    send.close()
    try:
        try:
            reply = receive.recv() if receive.poll(seconds) else ("time", None)
        except (EOFError, OSError):  # the child died before it answered
            reply = ("memory", None)
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    kind, value = reply
    if kind == "ok":
        return value
    if kind == "error":
        raise value
    limit = (f"more memory than perfkit allows for one workbook ({memory / (1 << 30):g} GB)"
             if kind == "memory" else
             f"more time than perfkit allows for one workbook ({seconds:g} seconds)")
    raise IngestError(f"{path.name} needs {limit} to be read, as an old-style Excel (.xls) "
                      "file is read whole: export the table as CSV or .xlsx and run again")


# What the readers raise on a file they cannot take (pandas' ParserError and UnicodeDecodeError
# are ValueErrors; pyarrow's are ArrowException; python-calamine's CalamineError; a damaged
# workbook's zip): anything else is a perfkit bug and keeps its traceback.
READER_ERRORS = (ValueError, OSError, csv.Error, zipfile.BadZipFile, CalamineError,
                 pa.ArrowException)


def _read(path: Path, sheet: str | None = None, fits: _Headers | None = None
          ) -> tuple[pd.DataFrame, dict[int, np.ndarray], dict]:
    """Every cell of a file as text; for Parquet and workbooks the positions of float columns
    with the rows that hold no whole number (for the id check); and how it was read: for a
    workbook, which sheet (``sheet``: ``_sheet_words``), for a CSV file its delimiter
    (``delimiter``), and the rows above the header read as a title (``title_rows``). ``fits``
    tells the table's header row (``_Headers``): a CSV or a sheet whose first row is not the
    header is searched for it (``_header_at``, ``_csv_layout``, ``_sheet_rows``).

    A file that cannot be read stops with one sentence naming the file and, where it can, the
    row. The sentence never quotes the file's content: a reader's own error message may hold a
    whole raw row (client name, birth date, email), and it would end up in a log."""
    fractional: dict[int, np.ndarray] = {}
    how: dict = {"sheet": None, "title_rows": 0, "delimiter": None}
    try:
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            width = len(pq.read_schema(path).names)
            if width > MAX_COLUMNS:
                raise IngestError(_too_wide(path, width))
            frame = pd.read_parquet(path)
            for i, c in enumerate(frame.columns):
                mask = _fractional(frame[c])
                if mask is not None and mask.any():
                    fractional[i] = mask
            frame = pd.DataFrame({i: _to_text(frame[c]) for i, c in enumerate(frame.columns)}
                                 ).set_axis(list(frame.columns), axis=1)
        elif path.suffix.lower() in (".xlsx", ".xls"):
            frame, fractional, which = _read_workbook(path, sheet, fits)
            how["title_rows"] = which.pop("title_rows", 0)
            how["sheet"] = which
        else:
            frame, csv_how = _read_csv(path, fits)
            how.update(csv_how)
    except IngestError:
        raise
    except READER_ERRORS as exc:  # a reader's failure is one sentence, no content
        raise IngestError(_unreadable(path, exc)) from None
    # one new frame from stripped columns: setting columns one by one into a wide frame
    # (isetitem) costs time in the square of the column count
    stripped = pd.DataFrame({i: frame.iloc[:, i].astype(str).str.strip().reset_index(drop=True)
                             for i in range(frame.shape[1])}, index=pd.RangeIndex(len(frame)))
    return stripped.set_axis(list(frame.columns), axis=1), fractional, how


def _unreadable(path: Path, exc: Exception, delimiter: str = ",", skip: int = 0) -> str:
    """Why a file could not be read, in one sentence with no cell value in it."""
    if path.suffix.lower() == ".parquet":
        return (f"{path.name} could not be read as a Parquet file ({type(exc).__name__}); "
                "export it again")
    if path.suffix.lower() in (".xlsx", ".xls"):
        return (f"{path.name} could not be read as an Excel workbook ({type(exc).__name__}); "
                "open it in a spreadsheet program and save it again, or export it as CSV")
    where = _csv_problem(path, delimiter, skip)
    if where:
        return f"{path.name}: {where}"
    if "straddl" in str(exc):  # a row longer than the reader's largest block
        return (f"{path.name} has a row longer than {MAX_CSV_ROW_BYTES >> 20} MB, more than "
                "perfkit reads; export it again without its longest columns")
    return f"{path.name} could not be read as a CSV file ({type(exc).__name__}); export it again"


# Header names that may be quoted in a message (a file without its header row has client
# details where the header should be).
_CONTRACT_NAMES = {c for t in C.TABLES.values() for c in t.column_names}


def _csv_problem(path: Path, delimiter: str = ",", skip: int = 0) -> str | None:
    """Find the first row of a CSV file that a reader cannot take: text that is not UTF-8, or
    a row with another number of fields than the header. Row 1 is the first row under the
    header, as in rejects.csv; under a title (``skip`` rows above the header) rows are
    counted from the file's top, as rejects.csv counts them then."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n")  # the header is line ``skip``
        where = "the header" if line == skip else "a title row above the header" \
            if line < skip else f"row {line}"
        start = raw.rfind(b"\n", 0, err.start) + 1
        before = raw[start:err.start].decode("utf-8", errors="replace")
        try:
            field = len(next(csv.reader([before], delimiter=delimiter), [""])) - 1
            at = 0
            for _ in range(skip):  # the header's line, under a title
                at = raw.find(b"\n", at) + 1
            head = raw[at:raw.find(b"\n", at)]
            header = next(csv.reader([head.decode("utf-8", "replace")], delimiter=delimiter),
                          [])
        except csv.Error:  # not a CSV file at all
            field, header = -1, []
        name = header[field].strip().lstrip("\ufeff").lower() if 0 <= field < len(header) \
            else ""
        column = "" if line <= skip else f" (column {name!r})" if name in _CONTRACT_NAMES \
            else " (a column outside the contract)"
        return (f"{where}{column} holds text that is not UTF-8; save the file as UTF-8 CSV "
                "and run again")
    rows = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    n, header = skip, []
    try:
        with _csv_field_limit():
            for _ in range(skip):  # a title above the header: not part of the table
                next(rows, None)
            header = next(rows, None) or []
            width = len(header)
            for n, row in enumerate(rows, start=skip + 1):
                if row and len(row) != width:
                    return (f"row {n} has {len(row)} fields where the header has {width} "
                            f"({DELIMITERS.get(delimiter, 'a comma')} inside a value needs "
                            "quotes); fix that row and run again")
    except csv.Error as err:
        if "field larger than field limit" in str(err):
            where = "the header" if not header else f"row {n + 1}"
            return (f"{where} holds a value longer than {MAX_VALUE_CHARS:,} characters, more "
                    "than perfkit reads from one cell (or a quoted value is not closed); fix "
                    "that row and run again")
        return "a quoted value is not closed; fix the file's quoting and run again"
    return None


@contextlib.contextmanager
def _csv_field_limit():
    """The csv module reads values up to ``MAX_VALUE_CHARS`` (its own limit, 131,072, is the
    process's: restored after)."""
    limit = csv.field_size_limit(MAX_VALUE_CHARS)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


# --------------------------------------------------------------------------------------------
# Row bookkeeping
# --------------------------------------------------------------------------------------------


class _Verdicts:
    """The first rejection reason of each row, with its column and a plain detail.

    ``detail`` may be a string, an array over all rows, or a function of the rejected rows'
    mask that builds their details (so no text is built for rows that pass).
    """

    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)
        self.ok = np.ones(n, dtype=bool)

    def reject(self, mask, reason: str, column: str, detail="") -> None:
        m = np.asarray(mask, dtype=bool) & self.ok
        if not m.any():
            return
        self.ok &= ~m
        self.reason[m] = reason
        self.column[m] = column
        if callable(detail):
            self.detail[m] = np.asarray(detail(m), dtype=object)
        elif isinstance(detail, pd.Series | np.ndarray):
            self.detail[m] = np.asarray(detail, dtype=object)[m]
        else:
            self.detail[m] = detail or C.REASONS[reason]


@dataclass
class _TableResult:
    name: str
    file: str | None
    raw: pd.DataFrame  # contract columns only, as text
    verdicts: _Verdicts
    typed: dict[str, pd.Series] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    adjustments: dict[str, int] = field(default_factory=dict)
    fractional_ids: dict[str, np.ndarray] = field(default_factory=dict)  # Parquet float ids
    summary_rows: np.ndarray | None = None  # rows of totals (any column of the file)
    repeated_headers: np.ndarray | None = None  # the header row again, inside the file
    shared: bool = False  # read from another table's file (notes in the appointments file)
    sheet: dict | None = None  # which sheet of a workbook was read (_sheet_words)
    found_by_headers: bool = False  # no file named for the table: taken for its headers
    columns_chosen: list = field(default_factory=list)  # two headers for one column: which
    read_from: dict = field(default_factory=dict)  # contract column -> the file's header
    not_statuses: str = ""  # a note column read as free text, not statuses (its header)
    in_file: set[str] = field(default_factory=set)  # contract columns the file has
    used_headers: set[str] = field(default_factory=set)  # the file's headers this table reads
    folded: np.ndarray | None = None  # accepted rows folded into another row (add-on lines)
    fold_host: np.ndarray | None = None  # the row each folded line went into (-1: none)
    excluded: np.ndarray | None = None  # rows of another kind (the column map's 'rows')
    joined: bool = False  # notes from a report of their own, matched to the appointments
    empty_columns: list[str] = field(default_factory=list)  # present, empty in every row
    invalid_email_rows: list[int] = field(default_factory=list)  # roster: email left empty
    title_rows: int = 0  # rows above the header (a report's title): row numbers count them


@dataclass
class Ingested:
    """The result of ingest: typed accepted tables, the rejects and the data-quality summary."""

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    quality: dict
    config: Config
    key: PseudonymKey | None = None  # the pseudonym key used (its fingerprint is recorded)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


# --------------------------------------------------------------------------------------------
# Value parsing
# --------------------------------------------------------------------------------------------


# Date forms other than ISO 8601 that EHR exports print, tried when a column's values are not
# ISO: month first (US), and the day-first twin of each numeric one, so that a column whose
# day and month cannot be told apart is refused rather than guessed.
_US_FORMATS = ["%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M",
               "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M",
               "%m/%d/%y", "%m-%d-%Y", "%b %d, %Y %I:%M %p", "%b %d, %Y", "%B %d, %Y %I:%M %p",
               "%B %d, %Y"]
_DAY_FIRST = {f: f.replace("%m/%d", "%d/%m").replace("%m-%d", "%d-%m")
              for f in _US_FORMATS if "%m" in f}
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
# an ISO 8601 date, or date and time to the minute at least, with an offset or none
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                           r"(?:\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?)?$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # a date with no time of day
_SERIAL = re.compile(r"^\d{4,5}(\.\d+)?$")


def _excel_days(text: pd.Series) -> pd.Series:
    """Excel day numbers (the 1900 date system, day 0 = 1899-12-30) as ISO text: a whole day
    number is a date with no time of day, and is written as one; empty where not a number."""
    stamps = pd.to_datetime(pd.to_numeric(text, errors="coerce"), unit="D",
                            origin="1899-12-30").dt.round("s")
    return stamps.map(lambda t: "" if pd.isna(t) else t.isoformat()
                      if t != t.normalize() else t.strftime("%Y-%m-%d"))


def _day_order(fmt: str | None) -> str | None:
    """Whether a date format puts the month first ("m") or the day first ("d"); None when it
    has no numeric month (ISO 8601, "Oct 5, 2026")."""
    if not fmt or "%m" not in fmt or "%d" not in fmt:
        return None
    return "m" if fmt.index("%m") < fmt.index("%d") else "d"


def _detect_format(text: pd.Series, file: str, column: str,
                   fallback: str | None = None) -> tuple[pd.Series, str | None]:
    """The format of a date column whose export names none: ISO 8601 (None), Excel serial
    day numbers (turned into ISO text here), or the one US form that reads most of the values
    that are not ISO (ISO values are read whatever the format: a workbook column of date
    cells with a few dates typed as text holds both).

    Raises IngestError when the values read as well month-first as day-first (every day and
    month at most 12): a guess would silently swap them. In a column that is mostly ISO, such
    values are rejected one by one instead. ``fallback``: the format of another column of
    the same table (the start's): such a column takes its order of day and month instead (a
    cancellation time is written as the start is)."""
    present = text[text != ""]
    if present.empty:
        return text, None
    iso = present.str.match(_ISO_START).to_numpy(dtype=bool, na_value=False)
    if iso.all():
        return text, None
    # ISO values are always read; the others (all of them, or a few dates typed as text in a
    # workbook column of date cells) tell the column's other form
    mostly_iso = iso.mean() >= 0.5
    other = pd.Series(pd.unique(present[~iso].to_numpy(dtype=object))[:2000], dtype=object)
    if other.str.match(_SERIAL).all():
        days = pd.to_numeric(other)
        if days.between(20000, 80000).all():  # 1954 to 2119
            serial = text.str.match(_SERIAL) & (text != "")
            return text.where(~serial, _excel_days(text.where(serial))), None
    counts = {f: int(pd.to_datetime(other, format=f, errors="coerce").notna().sum())
              for f in [*_US_FORMATS, *_DAY_FIRST.values()]}
    best = max(counts.values())
    if best == 0:
        return text, None  # nothing reads: every value is rejected as unparseable
    month_first = [f for f in _US_FORMATS if counts[f] == best]
    day_first = [f for f in _DAY_FIRST.values() if counts[f] == best]
    if month_first and day_first and mostly_iso:
        return text, None  # a few stray values that read either way: rejected, not guessed
    order = _day_order(fallback)
    if month_first and day_first and order is not None:
        return text, (month_first if order == "m" else day_first)[0]
    if month_first and day_first:
        example = next(v for v in other if pd.notna(pd.to_datetime(
            v, format=month_first[0], errors="coerce")))
        raise IngestError(f"{file}: the dates in column {column!r} read as well month first "
                          f"as day first (such as {example!r}); name the format in the column "
                          "map (formats)")
    return text, (month_first or day_first)[0]


def _column_format(text: pd.Series, cmap: ColumnMap, table: str, col: C.Column,
                   file: str | None, fallback: str | None = None
                   ) -> tuple[pd.Series, str | None]:
    """A date column's format: the column map's, else detected from the values (Excel day
    numbers come back as ISO text); ``fallback`` (the start's format) settles the order of
    day and month where the values read either way."""
    fmt = cmap.format_for(table, col.name, col.kind)
    if fmt is not None:
        return text, fmt
    return _detect_format(text, file or table, col.name, fallback)


def _parse_date(text: pd.Series, fmt: str | None) -> tuple[pd.Series, np.ndarray]:
    empty = (text == "").to_numpy()
    head = text.str.extract(_DATE_RE, expand=False)
    parsed = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")
    if fmt:  # the export's own format; ISO 8601 dates are unambiguous and always accepted
        custom = pd.to_datetime(text.where(~empty), format=fmt, errors="coerce")
        parsed = custom.where(custom.notna(), parsed)
    parsed = parsed.dt.normalize().astype("datetime64[us]")
    bad = ~empty & parsed.isna().to_numpy()
    return parsed, bad


# a roster date known only to the month: 2023-02, 2023/02, 02/2023, Feb 2023, February 2023
_MONTH_ONLY = re.compile(r"^\s*(?:(?P<y1>\d{4})[-/](?P<m1>\d{1,2})|(?P<m2>\d{1,2})/(?P<y2>\d{4})"
                         r"|(?P<name>[A-Za-z]{3,9})\.?[\s,-]+(?P<y3>\d{4}))\s*$")
_MONTH_NAMES = {n.lower(): i for i in range(1, 13) for n in (
    dt.date(2000, i, 1).strftime("%B"), dt.date(2000, i, 1).strftime("%b"))} | {"sept": 9}


def _month_only(text: pd.Series, last_day: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Dates known only to the month, as ISO text of the month's first day (its last with
    ``last_day``: an end date), and which values were such. Other values are left as they
    are; a month that does not exist (2023-13, Febuary 2023) stays and is rejected as
    unparseable."""
    parts = text.str.extract(_MONTH_ONLY)
    year = parts["y1"].fillna(parts["y2"]).fillna(parts["y3"])
    month = pd.to_numeric(parts["m1"].fillna(parts["m2"]), errors="coerce")
    month = month.fillna(parts["name"].str.lower().map(_MONTH_NAMES))
    ok = (year.notna() & month.between(1, 12)).to_numpy(dtype=bool, na_value=False)
    if not ok.any():
        return text, ok
    first = pd.to_datetime(year[ok] + "-" + month[ok].astype(int).astype(str) + "-01",
                           format="%Y-%m-%d")
    day = first + pd.offsets.MonthEnd(0) if last_day else first
    return text.where(~ok, day.dt.strftime("%Y-%m-%d").reindex(text.index)), ok


def _parse_datetime(text: pd.Series, tz: str, fmt: str | None):
    """Parse to the practice time zone.

    Times with an offset are converted; times without one are local practice time. A local
    time skipped by a daylight-saving change is reported (nonexistent); one that occurs twice
    (the repeated hour in autumn) takes its first occurrence and is counted as an adjustment.
    """
    n = len(text)
    empty = (text == "").to_numpy()
    has_offset = text.str.contains(_OFFSET_RE, regex=True).to_numpy() & ~empty
    # pandas' ISO 8601 reads "2026-10-27T23" as 23:00 and "20261027" as a date: a value is
    # read as ISO 8601 only when it is one in full (a time of day has hours and minutes)
    iso = text.where(text.str.match(_ISO_DATETIME).to_numpy(dtype=bool, na_value=False))
    out = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[us, {tz}]")
    if has_offset.any():
        aware = pd.to_datetime(iso[has_offset], utc=True, format="ISO8601", errors="coerce")
        out[has_offset] = aware.dt.tz_convert(tz).astype(out.dtype)
    naive_mask = ~has_offset & ~empty
    nonexistent = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    if naive_mask.any():
        naive = pd.to_datetime(iso[naive_mask], format="ISO8601", errors="coerce")
        if fmt:  # the export's own format; ISO 8601 stays accepted (it is unambiguous)
            custom = pd.to_datetime(text[naive_mask], format=fmt, errors="coerce")
            naive = custom.where(custom.notna(), naive)
        if getattr(naive.dt, "tz", None) is not None:  # a custom format with %z
            local = naive.dt.tz_convert(tz)
            strict = local
        else:
            first = np.ones(len(naive), dtype=bool)
            local = naive.dt.tz_localize(tz, ambiguous=first, nonexistent="NaT")
            strict = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            nonexistent[naive_mask] = (naive.notna() & local.isna()).to_numpy()
            ambiguous[naive_mask] = (local.notna() & strict.isna()).to_numpy()
        out[naive_mask] = local.astype(out.dtype)
    bad = ~empty & out.isna().to_numpy() & ~nonexistent
    if fmt is not None and not re.search(r"%[HIMXcT]", fmt):
        date_only = ~empty & ~has_offset  # the export's own format has no time of day
    else:
        date_only = text.str.match(_ISO_DAY).to_numpy(dtype=bool, na_value=False)
    return out, bad, nonexistent, ambiguous, date_only & ~bad


# --------------------------------------------------------------------------------------------
# Times of day (a date column and a time column, time ranges)
# --------------------------------------------------------------------------------------------


# A time of day as exports print it: 9:00 AM, 9:00am, 9:00 a.m., 09:00, 14:30:00, 9 AM (an
# hour alone only with AM or PM: a bare "9" is no time)
_CLOCK = (r"(?P<h{0}>\d{{1,2}})(?:(?::(?P<m{0}>\d{{2}})(?::(?P<s{0}>\d{{2}})(?:[.,]\d+)?)?)"
          r"(?:\s*(?P<ap{0}>[ap])\.?\s*m\.?)?|\s*(?P<bp{0}>[ap])\.?\s*m\.?)")
_TIME_OF_DAY = re.compile(rf"^{_CLOCK.format(1)}$", re.IGNORECASE)
# a range of two, joined by a hyphen, an en or em dash, or "to"
_TIME_RANGE = re.compile(rf"^{_CLOCK.format(1)}\s*(?:[-\u2013\u2014]|to\b)\s*{_CLOCK.format(2)}$",
                         re.IGNORECASE)
# a range's second half at the end of a date-time ("10/1/2026 9:00 AM - 9:53 AM")
_RANGE_TAIL = re.compile(rf"(?<=[\dmM.])(?P<sep>\s*(?:[-\u2013\u2014]|to\b)\s*){_CLOCK.format(2)}$",
                         re.IGNORECASE)
# a value that may hold a range: a time of day, then a separator and a digit
_RANGE_HINT = (r"(?:\d:\d{2}|\d\s*[ap]\.?\s*m\.?)[^-\x{2013}\x{2014}]*"
               r"(?:[-\x{2013}\x{2014}]|to)\s*\d")
# a left half that ends in a time of day (so "10-01-2026" is no range)
_ENDS_IN_TIME = re.compile(r"(?:\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?\s*m\.?)?"
                           r"|\d\s*[ap]\.?\s*m\.?)$", re.IGNORECASE)
# Excel's time cells written as date-times of its day 0 (1899-12-30 or -31, 1900-01-00)
_EXCEL_DAY_ZERO = re.compile(r"^(?:1899-12-3[01]|1900-01-00)[T ](?P<t>\d{1,2}:\d{2}(?::\d{2}"
                             r"(?:[.,]\d+)?)?)$")
# a date inside a value: 10/1/2026, 2026-10-01, 01.10.2026, Oct 1, 1 October
# (bounded repeats: a search of a long cell stays linear)
_HAS_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|(?:jan|feb|mar|apr|may|jun|jul|aug"
                       r"|sep|oct|nov|dec)[a-z]{0,6}\.?\s{0,3}\d|\d\s{0,3}(?:jan|feb|mar|apr"
                       r"|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_DAY_FRACTION = re.compile(r"^0?\.\d+$|^0$")
# a time zone written after a time of day ("9:00 AM EST", "9:00 AM (CT)"): the practice's time
# zone governs the reading; a zone that is not the practice's is counted (_other_zone)
_ZONE_TAIL = re.compile(r"\s*(?:\((?P<p>[A-Za-z]{1,5})\)|(?<=[\dmM.\s])(?P<z>[A-Za-z]{1,5}))$")
_ZONES = frozenset(
    "utc gmt z et est edt ct cst cdt mt mst mdt pt pst pdt akt akst akdt ht hst hdt hast hadt "
    "at ast adt nt nst ndt bst ist cet cest eet eest wet west aest aedt acst acdt awst nzst "
    "nzdt".split())


def _clock_seconds(m: re.Match, i: int, meridiem: str | None = None) -> float | None:
    """Seconds after midnight of the ``i``-th time in a match (None when out of range); a time
    without AM or PM takes ``meridiem`` when given."""
    h = int(m[f"h{i}"])
    mi, s = int(m[f"m{i}"] or 0), int(m[f"s{i}"] or 0)
    ap = (m[f"ap{i}"] or m[f"bp{i}"] or meridiem or "").lower()
    if mi > 59 or s > 59:
        return None
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap == "p" else 0)
    elif h > 23:
        return None
    return float(h * 3600 + mi * 60 + s)


def _read_time(value: str) -> tuple[float, float] | None:
    """A time column's value as seconds after midnight of the start and of the end (NaN when
    the value is no range): a time of day as exports print it, an Excel day fraction (0.375
    is 9:00), a time cell written as a date-time of Excel's day 0, or a range ("9:00 AM -
    9:53 AM", "9:00-9:53", "9:00 to 9:53"; "9:00 - 9:53 AM" reads the first as 9:00 AM). A
    date-time's own time of day is taken too ("10/1/2026 9:00 AM"). None when unreadable."""
    v = value.strip()
    if len(v) > 100:  # no time of day, nor a date-time, is that long
        return None
    v = _without_zone(v)
    m = _TIME_OF_DAY.match(v)
    if m:
        t = _clock_seconds(m, 1)
        return None if t is None else (t, np.nan)
    m = _TIME_RANGE.match(v)
    if m:
        end = _clock_seconds(m, 2)
        if end is None:
            return None
        start = _clock_seconds(m, 1)
        theirs = (m["ap2"] or m["bp2"] or "").lower()
        mine = (m["ap1"] or m["bp1"] or "").lower()
        if theirs and not mine and start is not None and int(m["h1"]) <= 12:
            # "9:00 - 9:53 AM": the latest reading of the first time not after the end
            both = [_clock_seconds(m, 1, x) for x in "ap"]
            before = [t for t in both if t is not None and t <= end]
            start = max(before) if before else _clock_seconds(m, 1, theirs)
        elif mine and not theirs and start is not None and 1 <= int(m["h2"]) <= 12:
            # "1:00 PM - 1:50": the earliest reading of the end not before the start (on the
            # next day when both are before it: "11:30 PM - 12:20" ends at 12:20 AM)
            both = [t for t in (_clock_seconds(m, 2, x) for x in "ap") if t is not None]
            end = min(both, key=lambda t: (t - start) % 86400) if both else end
        return None if start is None else (start, end)
    if _DAY_FRACTION.match(v):
        return (float(round(float(v) * 86400)), np.nan)
    m = _EXCEL_DAY_ZERO.match(v)
    if m:
        return _read_time(m["t"])
    m = re.match(r"^(?P<d>.*\d)(?:T|\s+)(?P<t>\d{1,2}(?::\d{2}).*)$", v)
    if m and _HAS_DATE.search(m["d"]) and not re.search(_OFFSET_RE, v):  # a local date-time
        return _read_time(m["t"])
    return None


def _without_zone(v: str) -> str:
    """A time of day without the time zone written after it ("9:00 AM EST", "9:00 AM (CT)",
    "9:00-9:50 CT"); any other value as it is. Only known zone abbreviations are taken off."""
    m = _ZONE_TAIL.search(v) if len(v) <= 100 else None
    if m and (m["p"] or m["z"]).lower() in _ZONES and v[:m.start()].strip():
        return v[:m.start()].rstrip()
    return v


def _written_zone(value: str) -> str | None:
    """The zone abbreviation written after a time of day (upper case), else None."""
    v = value.strip()
    bare = _without_zone(v)
    if bare == v:
        return None
    zone = v[len(bare):].strip(" ()").upper()
    return zone


def _zone_family(abbr: str) -> str:
    """A zone abbreviation without its standard or daylight mark: CST, CDT and CT are all C."""
    abbr = abbr.upper()
    if abbr in ("UTC", "GMT", "Z"):
        return "UTC"
    return re.sub(r"[SD]?T$", "", abbr) or abbr


def _practice_families(tz: str) -> set[str]:
    """The zone families the practice's own zone is written with (winter and summer)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    names = {dt.datetime(2026, month, 15, tzinfo=zone).tzname() or "" for month in (1, 7)}
    return {_zone_family(n) for n in names if n.isalpha()}


def _time_kind(values: pd.Series) -> str | None:
    """What a column read as start or time holds: ``"dates"`` when some value holds a date
    (or is an Excel day number, 1 or more), ``"times"`` when none does and some value reads as
    a time of day (or a day fraction, or a range), else None (empty, or neither)."""
    present = pd.unique(values[values != ""].to_numpy(dtype=object))
    if not len(present):
        return None
    arr = pa.array(present, type=pa.string())  # RE2 in Arrow: a start column is large
    dated = pa_compute.match_substring_regex(arr, _HAS_DATE.pattern, ignore_case=True)
    day_zero = pa_compute.match_substring_regex(arr, _EXCEL_DAY_ZERO.pattern)
    if pa_compute.any(pa_compute.and_not(dated, day_zero)).as_py():
        return "dates"
    present = pd.Series(present, dtype=object)
    if (pd.to_numeric(present, errors="coerce") >= 1).any():  # Excel day numbers
        return "dates"
    return "times" if present.map(lambda x: _read_time(x) is not None).any() else None


def _time_columns(frame: pd.DataFrame, headers: list[str], records: np.ndarray,
                  path: Path) -> list[str]:
    """Which columns read as the appointments' ``start`` or ``time`` are which: a column of
    times of day (no date in any value) is never a start. Of two such columns (a column map
    naming both "Date" and "Start Time" as the start, or the two swapped), the one holding
    dates is the start and the one holding only times of day its ``time``; a lone ``time``
    column holding dates is the start; a start of times of day with no column of dates stops
    the run with one sentence."""
    cands = [i for i, h in enumerate(headers) if h in ("start", "time")]
    if not cands:
        return headers
    kind = {i: _time_kind(frame.iloc[:, i][records]) for i in cands}
    if len(cands) == 2 and sorted(map(str, kind.values())) == ["dates", "times"]:
        return [("start" if kind[i] == "dates" else "time") if i in kind else h
                for i, h in enumerate(headers)]
    if len(cands) == 1 and headers[cands[0]] == "time" and kind[cands[0]] == "dates":
        return ["start" if i == cands[0] else h for i, h in enumerate(headers)]
    times = [i for i in cands if headers[i] == "start" and kind[i] == "times"]
    if times and "dates" not in kind.values():
        raise IngestError(f"{path.name}: column {str(frame.columns[times[0]])[:60]!r} holds "
                          "times of day, not dates: the appointments need their dates too; "
                          "name the column of dates as start and this one as time in the "
                          "column map")
    return headers


def _cut_start_range(res: _TableResult, text: pd.Series) -> pd.Series:
    """A time range inside the start column ("10/1/2026 9:00 AM - 9:53 AM"): the start keeps
    the date and first time, the range's end is kept for ``_start_with_time``. A hyphen and
    two digits after an ISO 8601 time ("2026-10-01T09:00-05:00") are a UTC offset."""
    def cut(value: str) -> tuple[str, str]:
        m = _RANGE_TAIL.search(value) if len(value) <= 100 else None
        if not m or not _ENDS_IN_TIME.search(value[:m.start()].rstrip()):
            return value, ""
        tail = value[m.start("sep"):]
        if (_ISO_START.match(value) and m["sep"] == "-" and re.fullmatch(
                r"-\d{2}(?::?\d{2})?", tail)):
            return value, ""
        return value[:m.start()].rstrip(), value[m.end("sep"):]
    # only values with a time of day before a separator can hold a range (RE2, in Arrow)
    maybe = pa_compute.match_substring_regex(pa.array(text.to_numpy(dtype=object),
                                                      type=pa.string()),
                                             _RANGE_HINT, ignore_case=True)
    maybe = maybe.to_numpy(zero_copy_only=False).astype(bool)
    ends = np.full(len(text), "", dtype=object)
    if maybe.any():
        pairs = _map_unique(text[maybe], cut)
        ends[maybe] = pairs.str[1].to_numpy(dtype=object)
        text = text.copy()
        text[maybe] = pairs.str[0].to_numpy(dtype=object)
    res.typed["_start_range_end"] = pd.Series(ends, index=text.index)
    return text


def _start_with_time(res: _TableResult, text: pd.Series, fmt: str | None, cfg: Config):
    """Parse the appointments' start (as ``_parse_datetime``) with the ``time`` column: a
    date-only start (or one at midnight, a date cell) takes the time column's time of day, as
    a local time in the practice's time zone (a time skipped or repeated by a daylight-saving
    change is handled as any start's is); a time range (in the time column, or in the start
    column itself) gives the end where the row has none, on the start's day, or the next day
    when it ends before it starts; so does an end column of times of day alone. A start with
    a time of day of its own keeps it. A time that cannot be read rejects the row
    (``unparseable_time``). Returns the text read (dates and times combined as ISO 8601),
    which also goes back into ``raw`` (a table sharing the file takes its day from it), and
    ``_parse_datetime``'s five results."""
    tz, raw, v = cfg.timezone, res.raw, res.verdicts
    out = list(_parse_datetime(text, tz, fmt))
    values, bad, date_only = out[0], out[1], out[4]
    read = _map_unique(raw["time"], lambda x: _read_time(x) if x else (np.nan, np.nan))
    unread = np.array([x is None for x in read], dtype=bool)
    local = values.dt.tz_localize(None)
    midnight = (local == local.dt.normalize()).to_numpy(dtype=bool, na_value=False)
    # the time is needed only by a start without a time of day of its own: elsewhere an
    # unreadable one is counted (time_not_read) and the start keeps its own time
    needed = ~bad & (np.asarray(date_only, dtype=bool) | midnight)
    v.reject(unread & needed, "unparseable_time", "time",
             _echo(raw["time"], "time", "is not a time of day (such as 9:00 AM, 14:30 or "
                                        "9:00 AM - 9:53 AM)"))
    res.typed["_time_not_read"] = pd.Series(unread & ~needed, index=text.index)
    tod = np.array([np.nan if x is None else x[0] for x in read], dtype=float)
    end_tod = np.array([np.nan if x is None else x[1] for x in read], dtype=float)
    combine = ~np.isnan(tod) & ~bad & (date_only | midnight)
    if combine.any():
        when = local[combine].dt.normalize() + pd.to_timedelta(tod[combine], unit="s")
        iso = pd.Series("", index=text.index, dtype=object)
        iso[combine] = when.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
        again = _parse_datetime(iso, tz, None)
        for k in range(4):  # values, unreadable, nonexistent, ambiguous
            if k == 0:
                out[0] = values.where(~combine, again[0])
            else:
                out[k] = np.where(combine, again[k], out[k])
        out[4] = date_only & ~combine
        text = text.where(~combine, iso)
    res.typed["_start_combined"] = pd.Series(combine, index=text.index)
    # the range's end: from the start column's own range, else the time column's
    tail = _map_unique(res.typed.pop("_start_range_end", pd.Series("", index=text.index)),
                       lambda x: _read_time(x)[0] if x and _read_time(x) else np.nan)
    tail = tail.to_numpy(dtype=float)
    end_tod = np.where(~np.isnan(tail), tail, end_tod)
    # an end column of times of day alone ("9:53 AM", an Excel time cell): on the start's day
    end_written = raw["end"]
    own = _map_unique(raw["end"], lambda x: _read_time(x)[0] if x and len(x) <= 100
                      and not _HAS_DATE.search(x) and _read_time(x) else np.nan
                      ).to_numpy(dtype=float)
    start_local = out[0].dt.tz_localize(None)
    day = start_local.dt.normalize()
    start_tod = (start_local - day).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    timed = ~np.isnan(start_tod) & ~np.asarray(out[4], dtype=bool)  # a start with its time
    end_time = timed & ~np.isnan(own)
    ends = timed & ~np.isnan(end_tod) & (raw["end"] == "").to_numpy()
    end_tod = np.where(end_time, own, end_tod)
    if (ends | end_time).any():
        later = np.where(end_tod < start_tod, 86400.0, 0.0)  # ends before it starts: next day
        put = ends | end_time
        when = day[put] + pd.to_timedelta((end_tod + later)[put], unit="s")
        end_text = raw["end"].to_numpy(dtype=object).copy()
        end_text[put] = when.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
        raw["end"] = end_text
    res.typed["_end_time_of_day"] = pd.Series(end_time, index=text.index)
    res.typed["_end_from_range"] = pd.Series(ends, index=text.index)
    res.typed["_time_other_zone"] = pd.Series(
        _other_zone(raw["time"], cfg.timezone) & (combine | ends)
        | _other_zone(end_written.where(end_time, ""), cfg.timezone), index=text.index)
    raw["start"] = text
    return (text, *out)


def _other_zone(text: pd.Series, tz: str) -> np.ndarray:
    """Which times of day were written with a time zone that is not the practice's ("9:00 AM
    EST" in a practice in Chicago): read as the practice's local time all the same."""
    families = _practice_families(tz)
    return _map_unique(text, lambda x: bool(x) and (z := _written_zone(x)) is not None
                       and _zone_family(z) not in families).to_numpy(dtype=bool)


def _count_times(res: _TableResult) -> None:
    """How many accepted appointments took their start from a date and a time column, their
    end from a time range, or an end given as a time of day alone; had a time that could not
    be read and was not needed (the start has its own), or a time written in another zone
    than the practice's (``adjustments``)."""
    ok = res.verdicts.ok & ~(res.folded if res.folded is not None else False)
    for key, mask in (("start_from_date_and_time", "_start_combined"),
                      ("end_from_time_range", "_end_from_range"),
                      ("end_time_on_start_day", "_end_time_of_day"),
                      ("time_not_read", "_time_not_read"),
                      ("time_in_another_zone", "_time_other_zone")):
        if mask in res.typed:
            res.adjustments[key] = int((res.typed[mask].to_numpy(dtype=bool) & ok).sum())


def _parse_number(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    empty = (text == "").to_numpy()
    try:  # fast path: Arrow's cast, when every non-empty value is a number
        arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), mask=empty)
        values = pa_compute.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).copy()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # some value is not a number: find which
        values = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float,
                                                                             copy=True)
    bad = ~empty & ~np.isfinite(values)
    values[bad] = np.nan
    return values, bad


def _map_unique(text: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value (labels repeat across hundreds of thousands of
    rows)."""
    uniques = pd.unique(text)
    return text.map(dict(zip(uniques, (func(u) for u in uniques), strict=True)))


def _map_enum(text: pd.Series, vocab: dict[str, str], extra: dict[str, str],
              instrument: bool) -> pd.Series:
    """Labels read through a vocabulary and the column map's own labels (``extra``, which win):
    case and spacing ignored, else punctuation too (``C.label_lookup``: "No Show (Charged)")."""
    if instrument:
        own = C.label_lookup(extra)

        def lookup(label: str):
            return vocab.get(re.sub(r"[^A-Z0-9]", "", label.upper())) or own(label)
    else:
        lookup = C.label_lookup({**vocab, **extra})
    return _map_unique(text, lookup)


def _isin(values: pd.Series, ids: pd.Index) -> np.ndarray:
    """Hash-based membership (pandas' Arrow string ``isin`` builds a Python list per call)."""
    return pd.Index(values.to_numpy(dtype=object), dtype=object).isin(ids)


# --------------------------------------------------------------------------------------------
# Generic table checks
# --------------------------------------------------------------------------------------------


def _load_table(folder: Path, spec: C.Table, cmap: ColumnMap,
                read: dict[Path, tuple]) -> _TableResult | None:
    """Read one table's file (``read`` holds files already read: notes and assessments may
    come from the appointments file) and keep its contract columns as text."""
    path = _find_file(folder, spec.name, cmap, read)
    if path is None:
        if spec.required:
            raise IngestError(f"required file {spec.name}.csv (or .parquet or .xlsx) is "
                              f"missing from {folder}")
        return None
    shared = path in read
    if not shared:
        read[path] = read.pop(("peek", path), None) or (
            *_read(path, cmap.sheets.get(spec.name), _Headers(spec.name, cmap)), set())
    frame, fractional, how, taken = read[path]
    frame = frame.copy()
    headers = [_norm_header(h) for h in frame.columns]
    if shared:  # the owner table's columns are its own, unless this table's map names them
        mine = _map_headers(headers, cmap.columns.get(spec.name, {}))
        headers = ["" if h in taken and h not in mine else h for h in headers]
    summary, repeated = _non_records(frame, headers)
    records = ~(summary | repeated)
    # a table read from the appointments file takes the appointment's client (_share_rows)
    key_cols = cmap.client_key_for(spec.name) \
        if "client_id" in spec.column_names and not shared else []
    client_key = None
    if key_cols:
        own = _map_headers(headers, cmap.columns.get(spec.name, {}))
        renamed = {own.get(h, h) for h in headers}
        optional = {C.header_key(a.rstrip("?")) for p in key_cols if "?" in p
                    for a in p.split("|")}
        blank = {h for i, h in enumerate(headers)
                 if C.header_key(h) in optional and _blank(frame.iloc[:, i], records)}
        key_cols = _key_columns(key_cols, headers, blank)
        absent = [c for c in key_cols if c not in headers]
        optional = not spec.column("client_id").required  # notes: only to match a report
        if absent and spec.name not in cmap.client_key and ("client_id" in renamed
                                                            or optional):
            key_cols = []  # a shared key the file does not carry: it has its own client ids
        elif absent:
            part = next(p for p in cmap.client_key_for(spec.name)
                        if p.split("|")[0].rstrip("?").strip() == absent[0])
            alts = [a.rstrip("?").strip() for a in part.split("|")]
            raise IngestError(
                f"{path.name}: no column names the client (looked for "
                f"{', '.join(repr(a) for a in alts[:6])}"
                + (f" and {len(alts) - 6} other spellings" if len(alts) > 6 else "")
                + "); name the export's client column(s) in a column map: client_key: "
                "[\"Client Full Name\"], or [\"First Name\", \"Last Name\", \"Date of Birth\"]")
        else:
            client_key = _compose_key(frame, headers, key_cols)
    rename = _map_headers(headers, cmap.columns.get(spec.name, {}))
    if not shared:  # a shared file's other columns are its owner's
        rename = _header_synonyms(headers, rename, spec.name)
    original = list(headers)
    headers = [rename.get(h, h) for h in headers]
    if client_key is not None:  # the key replaces any client_id column
        headers = ["" if h == "client_id" else h for h in headers]
    item_cols = C.item_columns(headers) if spec.items else {}
    if spec.name == "appointments":  # a time-only column is never a start
        headers = _time_columns(frame, headers, records, path)
    # Headers are quoted in messages only when they are contract columns: a file without a
    # header row has a client's details where its headers should be.
    known = [h for h in headers if h in spec.column_names or h in item_cols]
    # A repeated header outside the contract (SimplePractice repeats Charge, Paid, Unpaid) is
    # dropped like any other extra column; a repeated contract column is ambiguous.
    dupes = sorted({h for h in known if headers.count(h) > 1})
    chosen = []
    mapping = cmap.columns.get(spec.name, {})
    for col in dupes:  # two spellings read as one column: the map's first entry is used
        which = [i for i, h in enumerate(headers) if h == col]
        if len({original[i] for i in which}) < len(which):
            continue  # the same header twice: ambiguous, below
        ranked = sorted(which, key=lambda i: (_map_rank(original[i], mapping), i))
        for i in ranked[1:]:
            headers[i] = ""
        chosen.append({"column": col, "used": original[ranked[0]],
                       "ignored": [original[i] for i in ranked[1:]]})
    known = [h for h in headers if h in spec.column_names or h in item_cols]
    dupes = sorted({h for h in known if headers.count(h) > 1})
    if dupes:
        raise IngestError(f"{path.name}: the column {dupes[0]!r} appears more than once; keep "
                          "one of them (or rename the other in a column map)")
    frame.columns = headers
    if client_key is not None:
        frame["client_id"] = client_key
        headers = [*headers, "client_id"]
    for col, value in cmap.defaults.get(spec.name, {}).items():  # what the export never has
        if col not in headers:
            frame[col] = value
            headers = [*headers, col]
    excluded = None
    rule = cmap.rows.get(spec.name)
    rule_header = None
    if rule and not shared:
        rule_header = next((h for h in original if C.header_key(h) == rule["column"]), None)
        if rule_header is None:
            raise IngestError(f"{path.name}: the column {rule['column']!r} that tells which "
                              f"rows are {spec.name} (rows in the column map) is missing")
        kind = frame.iloc[:, original.index(rule_header)].astype(str)
        excluded = ~_map_unique(kind, lambda v: C.normalize_label(v) in rule["keep"]) \
            .to_numpy(dtype=bool)
    keep = [c for c in spec.column_names if c in headers]
    # present but empty in every row means not provided (an empty Note Status column is no
    # answer: read as one, it made every note unsigned)
    empty_cols = [c for c in keep if not spec.column(c).required
                  and _blank(frame[c], records)]
    for col in spec.file_columns:
        joined = spec.name in cmap.join and col == "appointment_id"
        if col not in headers and not (shared and col in _FROM_OWNER) and not joined:
            others = len(headers) - len(known)
            more = f"; and {others} other column{'s' * (others != 1)}" if others else ""
            what = cmap.describe.get(spec.name)
            expected = _spellings(cmap, spec.name, (col,))
            raise IngestError(f"{path.name}: required column {col!r} is missing "
                              f"(contract columns found: {', '.join(known) or 'none'}{more})"
                              + (f"; the column map reads it from {' or '.join(expected)}"
                                 if expected else "")
                              + (f"; the file should be {what}" if what else ""))
    if spec.items and "total_score" not in headers and not item_cols:
        raise IngestError(f"{path.name}: required column 'total_score' is missing, and there "
                          "are no item columns (item_1, item_2, ...) to compute it from")
    keep = [c for c in keep if c not in empty_cols]
    # an appointment report without a note column (Owl's, TheraNest's) still gives the
    # appointments: its notes are read as giving neither, so the documentation figures are
    # "not known from this export" (_documentation), never a stop
    if spec.name == "notes" and "signed_at" not in headers and "status" not in headers \
            and not shared:
        expected = _spellings(cmap, spec.name, ("signed_at", "status"))
        raise IngestError(f"{path.name}: the notes need a column 'signed_at' (when each note "
                          "was signed) or 'status' (signed, draft or missing at the export)"
                          + (f"; the column map reads them from {' or '.join(expected)}"
                             if expected else ""))
    contract_cols = keep + sorted(item_cols, key=item_cols.get)
    used = set(contract_cols) | set(key_cols)
    dropped = list(dict.fromkeys(c for c in headers if c not in used and c
                                 and c not in empty_cols))
    raw = frame[contract_cols].copy()
    for col in spec.column_names:  # optional columns absent from the file read as empty
        if col not in raw.columns:
            raw[col] = ""
    fractional_ids = {headers[i]: mask for i, mask in fractional.items()
                      if headers[i] in keep and spec.column(headers[i]).kind == "id"}
    if not shared:
        taken.update(h for h, r in zip(original, headers, strict=False) if r in keep)
        taken.update(key_cols)
    res = _TableResult(spec.name, path.name, raw, _Verdicts(len(raw)),
                       dropped_columns=dropped, fractional_ids=fractional_ids,
                       summary_rows=summary, repeated_headers=repeated,
                       empty_columns=empty_cols)
    res.shared = shared
    res.sheet = how["sheet"]
    res.title_rows = how["title_rows"]  # rows are numbered from the file's top (rejects.csv)
    if how["title_rows"] and not shared:
        res.adjustments["title_rows_above_header"] = how["title_rows"]
    for key, delimiter in (("separated_by_semicolons", ";"), ("separated_by_tabs", "\t"),
                           ("separated_by_bars", "|")):
        if how["delimiter"] == delimiter and not shared:  # every row was read so
            res.adjustments[key] = len(raw)
    res.found_by_headers = not shared and read.get(("found", spec.name)) == path
    res.columns_chosen = chosen
    res.read_from = {r: o for o, r in zip(original, headers, strict=False) if r in keep}
    res.excluded = excluded
    res.in_file = set(keep)
    res.used_headers = {h for h, r in zip(original, headers, strict=False)
                        if r in contract_cols or r in empty_cols} | set(key_cols) \
        | ({rule_header} if rule_header else set())
    return res


def _spellings(cmap: ColumnMap, table: str, cols: tuple[str, ...]) -> list[str]:
    """The headers a column map (a profile) reads as these contract columns, for a message
    (at most six, then how many more)."""
    found = [repr(k) for k, t in cmap.columns.get(table, {}).items() if t in cols]
    return found[:6] + ([f"{len(found) - 6} other spellings"] if len(found) > 6 else [])


# What a table read from the appointments file takes from the appointment on the same row
_FROM_OWNER = {"appointment_id": "appointment_id", "clinician_id": "clinician_id",
               "client_id": "client_id", "administered_at": "start"}


def _blank(values: pd.Series, records: np.ndarray) -> bool:
    """Whether a column is present but empty in every record (rows of totals and repeated
    headers aside): such a column is treated as absent. (A file with no record has nothing to
    say: it is not blank.)"""
    return bool(records.any()) and not (values.astype(str) != "").to_numpy()[records].any()


def _key_columns(parts: list[str], headers: list[str], blank: set[str] = frozenset()
                 ) -> list[str]:
    """The file's columns for each part of a client key: a part may name alternatives
    (``client|patient``, the first the file has), and a part marked ``?`` may be absent, or
    present and empty in every row (``blank``: then it is absent, not a key part that empties
    every key)."""
    out = []
    by_key: dict[str, str] = {}
    for h in headers:  # the first header of each spelling
        by_key.setdefault(C.header_key(h), h)
    for part in parts:
        alts = [a.strip() for a in part.split("|")]
        optional = any(a.endswith("?") for a in alts)
        alts = [a.rstrip("?").strip() for a in alts]
        found = next((by_key[C.header_key(a)] for a in alts if C.header_key(a) in by_key
                      and not (optional and by_key[C.header_key(a)] in blank)), None)
        if found is not None:
            out.append(found)
        elif not optional:
            out.append(alts[0])  # reported as missing
    return out


def _key_part(text: pd.Series) -> pd.Series:
    """One part of a composed client key, as comparable text: case and spacing folded, and a
    birth date written ``1/2/1990``, ``01/02/1990`` or ``1990-01-02T00:00:00`` read as
    ``1990-01-02`` (files of one practice print birth dates differently). Computed once per
    distinct value (a client's name repeats on every row of theirs)."""
    uniq = pd.Series(pd.unique(text.to_numpy(dtype=object)), dtype=object)
    folded = _fold_key_part(uniq.astype(str))
    return text.map(dict(zip(uniq, folded, strict=True)))


def _fold_key_part(text: pd.Series) -> pd.Series:
    out = text.str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
    us = out.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
    is_us = us[0].notna()
    out = out.where(~is_us, us[2] + "-" + us[0].str.zfill(2) + "-" + us[1].str.zfill(2))
    return out.str.replace(r"^(\d{4}-\d{2}-\d{2})[t ]00:00(:00)?$", r"\1", regex=True)


_BIRTH_HEADER = re.compile(r"\bdob\b|birth", re.IGNORECASE)


def _birth_serials(text: pd.Series, header: str) -> pd.Series:
    """A birth-date column of a workbook whose cells are bare Excel day numbers (a column
    pasted without its date format): the day numbers as ISO dates, so the client key is the
    one the CSV of the same sheet gives. Only in a column named for a birth date: elsewhere a
    number may be a record number."""
    if not _BIRTH_HEADER.search(header):
        return text
    serial = text.str.fullmatch(r"\d{1,5}(\.0+)?").to_numpy(dtype=bool, na_value=False)
    if not serial.any():
        return text
    out = text.copy()
    out[serial] = _excel_days(text[serial]).to_numpy()
    return out


def _compose_key(frame: pd.DataFrame, headers: list[str], key_cols: list[str]) -> pd.Series:
    """The client key of each row from several columns (first name, last name, birth date),
    empty when any part is empty. It lives only in memory: ingest turns it into the keyed
    pseudonym like any client id."""
    parts = [_key_part(_birth_serials(frame.iloc[:, headers.index(c)].astype(str), c))
             for c in key_cols]
    empty = np.logical_or.reduce([(p == "").to_numpy() for p in parts])
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key.where(~empty, "")


# RE2, matched ignoring case on a row's first filled cell: "Total", "Grand total", "Subtotal",
# "Summary", or a count of things ("307 clients", SimplePractice's line of totals, whose
# other cells read "7 clinicians" and "2,826 appointments"): no record begins so
_SUMMARY = (r"^(grand\s+|sub-?\s*)?totals?\b|^summary\b|^\d[\d,]*\s+(clients?|clinicians?|"
            r"patients?|providers?|therapists?|staff|appointments?|sessions?|visits?|"
            r"records?|rows?|items?|notes?)\b")


def _non_records(frame: pd.DataFrame, headers: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are not records, over every column of the file (the label of a totals row
    often sits in a column outside the contract): rows of totals, whose first filled cell
    reads "Total", "Totals", "Grand total", "Subtotal" or "Summary", or counts things ("307
    clients", "12 appointments"); and the header row
    repeated inside the file (at least half its cells, and two, equal their column's
    header)."""
    n = len(frame)
    summary = np.zeros(n, dtype=bool)
    undecided = np.ones(n, dtype=bool)  # no filled cell yet, left to right
    same = np.zeros(n, dtype=int)
    for i, h in enumerate(headers):  # column by column, in Arrow (rows can be many)
        col = pa.array(frame.iloc[:, i], type=pa.string())  # already stripped by _read
        filled = pa_compute.not_equal(col, "").to_numpy(zero_copy_only=False)
        if undecided.any():
            hit = pa_compute.match_substring_regex(col, _SUMMARY, ignore_case=True)
            summary |= undecided & hit.to_numpy(zero_copy_only=False)
            undecided &= ~filled
        if h:
            same += pa_compute.equal(pa_compute.utf8_lower(col), h).to_numpy(
                zero_copy_only=False)
    named = sum(1 for h in headers if h)
    repeated = same >= max(2, -(-named // 2)) if named >= 2 else np.zeros(n, dtype=bool)
    return summary & ~repeated, repeated


def _empty_table(spec: C.Table) -> _TableResult:
    """An optional table that was not provided, as an empty file with the contract header:
    every later step sees its typed columns, and ``data_quality.json`` says "not provided"."""
    raw = pd.DataFrame({c: pd.Series([], dtype=str) for c in spec.column_names})
    return _TableResult(spec.name, None, raw, _Verdicts(0))


def _generic_checks(res: _TableResult, spec: C.Table, cfg: Config, cmap: ColumnMap) -> None:
    raw, v = res.raw, res.verdicts
    if res.repeated_headers is not None:
        v.reject(res.repeated_headers, "repeated_header", "",
                 "the header row again (reports printed page by page repeat it)")
    if res.summary_rows is not None:
        v.reject(res.summary_rows, "summary_row", "", "a row of totals, not a record")
    if res.excluded is not None:
        v.reject(res.excluded, "excluded_row", "",
                 f"a row of another kind, not one of the {spec.name} (the column map's rows)")
    contract_cols = list(raw.columns)
    repeated = raw.duplicated(subset=contract_cols, keep="first").to_numpy()
    if spec.name == "appointments":
        # without an id, two identical rows are two appointments (a client seen twice on one
        # day in a report that prints dates only); they get occurrence numbers in their ids
        repeated = repeated & (raw["appointment_id"] != "").to_numpy()
    v.reject(repeated, "exact_duplicate", "", "the same row appears earlier in the file")
    for col in spec.columns:
        if col.required:
            v.reject((raw[col.name] == "").to_numpy(), "missing_value", col.name,
                     f"{col.name} is empty")
    if spec.key:  # rows without an id of their own get a generated one later
        live = pd.Series(v.ok & (raw[spec.key[0]] != "").to_numpy(), index=raw.index)
        dup = raw[live].duplicated(subset=list(spec.key), keep=False)
        conflict = np.zeros(len(raw), dtype=bool)
        conflict[np.flatnonzero(live)[dup.to_numpy()]] = True
        v.reject(conflict, "conflicting_duplicate_id", ",".join(spec.key),
                 f"{' + '.join(spec.key)} appears on more than one row with different values")
    if spec.name == "notes":
        _free_text_note_column(res)
    formats: dict[str, str | None] = {}  # the start's settles the day order of the others
    for col in spec.columns:
        text = raw[col.name]
        fmt = None
        month_only = None
        if spec.name == "clinicians" and col.kind == "date":  # 2023-02 or Feb 2023, stated
            text, month_only = _month_only(text, last_day=col.name == "end_date")
        start_time = spec.name == "appointments" and col.name == "start"
        if start_time:  # "10/1/2026 9:00 AM - 9:53 AM": the range's end is kept apart
            text = _cut_start_range(res, text)
        if col.kind in ("date", "datetime"):
            text, fmt = _column_format(text, cmap, spec.name, col, res.file,
                                       formats.get("start"))
            formats[col.name] = fmt
        if col.kind == "date":
            values, bad = _parse_date(text, fmt)
            v.reject(bad, "unparseable_date", col.name,
                     _quoted(col, text, "is not a date (expected YYYY-MM-DD)"))
            _reject_outside_window(res, col, text, values, cfg)
            res.typed[col.name] = values
            if month_only is not None and (month_only & v.ok).any():
                res.adjustments[f"{col.name}_month_only"] = int((month_only & v.ok).sum())
        elif col.kind == "datetime":
            if start_time:  # with the time column; text: the date and time combined
                text, values, bad, nonexistent, ambiguous, date_only = _start_with_time(
                    res, text, fmt, cfg)
            else:
                values, bad, nonexistent, ambiguous, date_only = _parse_datetime(
                    text, cfg.timezone, fmt)
            if col.name == "start":
                res.typed["start_date_only"] = pd.Series(date_only, index=raw.index)
            if spec.name == "appointments" and col.name == "cancelled_at":
                _cancellation_times(res, values, bad | nonexistent, date_only, cfg)
                if (ambiguous & v.ok).any():
                    res.adjustments["cancelled_at_ambiguous_local_time_first_occurrence"] = \
                        int((ambiguous & v.ok).sum())
                continue
            res.typed[f"_{col.name}_ambiguous"] = pd.Series(ambiguous, index=raw.index)
            v.reject(bad, "unparseable_date", col.name,
                     _quoted(col, text, "is not a date and time (expected ISO 8601 to the "
                                        "minute, such as 2026-10-27T14:30)"))
            v.reject(nonexistent, "nonexistent_local_time", col.name,
                     _quoted(col, text, f"does not exist in {cfg.timezone} (clocks "
                                        "sprang forward)"))
            _reject_outside_window(res, col, text, values, cfg)
            n_amb = int((ambiguous & v.ok).sum())
            if n_amb:
                res.adjustments[f"{col.name}_ambiguous_local_time_first_occurrence"] = n_amb
            res.typed[col.name] = values
        elif col.name == "duration_minutes" and spec.name == "appointments":
            _check_duration(res, col, text, cmap)
        elif col.kind in ("int", "number"):
            _check_number(res, col, text)
        elif col.name == "service" and spec.name == "appointments":
            _services(res, text, cfg, cmap.values.get(spec.name, {}).get(col.name, {}),
                      cmap.service_text == "free")
        elif col.kind == "enum":
            extra = cmap.values.get(spec.name, {}).get(col.name, {})
            mapped = _map_enum(text, C.VOCABULARIES[col.vocabulary], extra,
                               instrument=col.vocabulary == "instrument")
            if col.name == "service":  # DATA_CONTRACT: service defaults to therapy
                mapped = mapped.where(text != "", "therapy")
            unknown = (text != "").to_numpy() & mapped.isna().to_numpy()
            reason = C.ENUM_REASON.get(col.vocabulary, "unknown_value")
            allowed = sorted(set(C.VOCABULARIES[col.vocabulary].values()))
            v.reject(unknown, reason, col.name,
                     _quoted(col, text, f"is not a known {col.name} (allowed: "
                                        f"{', '.join(allowed)}; map other labels in the "
                                        "column map)"))
            res.typed[col.name] = mapped
        else:
            if col.name in res.fractional_ids:
                v.reject(res.fractional_ids[col.name], "invalid_id", col.name,
                         f"{col.name} is a number with a fraction (ids are text or whole "
                         "numbers)")
            if spec.name == "clinicians" and col.name == "email":
                text = _emails(res, text)
            res.typed[col.name] = text.where(text != "", None)


def _free_text_note_column(res: _TableResult) -> None:
    """A column read as the note status through a column map ("Progress Note", "Chart Status")
    whose values are mostly not note statuses is free text (what a clinician wrote), not a
    status: it is read as not provided (the documentation figures are then "not known"),
    said in validate, and never checked row by row, so no row is rejected for it and none of
    its text is quoted."""
    header = res.read_from.get("status", "status")
    text = res.raw["status"]
    filled = (text != "").to_numpy()
    if header == "status" or not filled.any():
        return
    known = _map_unique(text[filled], lambda v: C.NOTE_STATUS_SYNONYMS.get(C.normalize_label(v))
                        is not None).to_numpy(dtype=bool)
    if known.mean() >= 0.5:
        return
    res.raw["status"] = ""
    res.in_file.discard("status")
    res.not_statuses = header


def _emails(res: _TableResult, text: pd.Series) -> pd.Series:
    """The roster's ``email``: a value that is not one plain address is left empty, and the
    clinician kept (a typo in an address must not drop a clinician from every figure); the
    rows are counted under ``adjustments`` (``email_not_an_address``) and listed in
    ``invalid_email_rows`` (row 1 is the first row under the header). The value itself is
    never quoted anywhere: it is a contact detail."""
    text = text.str.strip()
    bad = np.array([t != "" and not is_email_address(t) for t in text], dtype=bool)
    res.adjustments["email_not_an_address"] = int((bad & res.verdicts.ok).sum())
    res.invalid_email_rows = [int(i) + 1 + res.title_rows
                              for i in np.flatnonzero(bad & res.verdicts.ok)]
    return text.where(~bad, "")


def _check_number(res: _TableResult, col: C.Column, text: pd.Series) -> None:
    """Read a number column: unreadable, fractional where whole numbers are due, and outside
    the contract's bounds are rejected; the values go to ``res.typed``."""
    v = res.verdicts
    values, bad = _parse_number(text)
    v.reject(bad, "invalid_number", col.name, _quoted(col, text, "is not a number"))
    if col.kind == "int":
        frac = ~np.isnan(values) & (values % 1 != 0)
        v.reject(frac, "invalid_number", col.name, _quoted(col, text, "is not a whole number"))
    out = np.zeros(len(values), dtype=bool)
    if col.lo is not None:
        out |= (values <= col.lo) if col.lo_open else (values < col.lo)
    if col.hi is not None:
        out |= values > col.hi
    if out.any():
        bounds = ([f"above {col.lo:g}" if col.lo_open else f"at least {col.lo:g}"]
                  if col.lo is not None else [])
        bounds += [f"at most {col.hi:g}"] if col.hi is not None else []
        v.reject(out & ~np.isnan(values), "out_of_range", col.name,
                 _quoted(col, text, f"is outside the allowed range ({', '.join(bounds)})"))
    res.typed[col.name] = pd.Series(values, index=res.raw.index)


def _reject_outside_window(res: _TableResult, col: C.Column, text: pd.Series,
                           values: pd.Series, cfg: Config) -> None:
    """Reject dates outside the plausible window (``dates`` in the parameters): a typo such as
    1900 or 2100 would otherwise stretch every weekly series and model. A clinician's start
    date may lie any time before the window (long tenure), never after it."""
    lo, hi = cfg.dates.window(cfg)
    x = values
    if isinstance(x.dtype, pd.DatetimeTZDtype):
        lo, hi = lo.tz_localize(cfg.timezone), hi.tz_localize(cfg.timezone)
    late = (x >= hi).to_numpy(dtype=bool, na_value=False)
    early = np.zeros(len(x), dtype=bool) if col.upper_bound_only \
        else (x < lo).to_numpy(dtype=bool, na_value=False)
    res.verdicts.reject(early | late, "date_out_of_range", col.name,
                        _quoted(col, text, f"lies outside the plausible dates ({lo:%Y-%m-%d} "
                                           f"to {hi - pd.Timedelta(days=1):%Y-%m-%d}; "
                                           "parameter 'dates')"))


def _quoted(col: C.Column, text: pd.Series, what: str):
    """A detail that quotes the bad value (never for identifiers that may be record numbers),
    built only for the rejected rows."""
    if not col.echo:
        return f"{col.name} {what}"
    return _echo(text, col.name, what)


_LONGEST_QUOTED = 40  # characters of a value a message may quote...
_MOST_QUOTED_WORDS = 4  # ...and words: a longer value may be free text (a client's story)


def _shown(value) -> str:
    """A rejected value as a message may show it: quoted when it reads as a label, a date or a
    number (at most 4 words and 40 characters), otherwise described by its size, never quoted:
    a free-text column read as a status ("Session Note") holds what clinicians wrote."""
    text = str(value)
    words = len(text.split())
    if len(text) <= _LONGEST_QUOTED and words <= _MOST_QUOTED_WORDS:
        return f"'{text}'"
    return (f"(a text of {words} word{'s' * (words != 1)}, not quoted: it may be free text "
            "about a client)")


def _echo(text: pd.Series, name: str, what: str):
    return lambda m: [f"{name} {_shown(v)} {what}" for v in text.to_numpy(dtype=object)[m]]


def _reference(res: _TableResult, column: str, accepted: set, rejected: set,
               reason_unknown: str, reason_rejected: str, what: str) -> None:
    """Check that a non-empty reference points at an accepted row of its parent table."""
    values = res.raw[column]
    present = (values != "").to_numpy()
    in_acc = _isin(values, accepted)
    in_rej = _isin(values, rejected) & ~in_acc
    res.verdicts.reject(present & in_rej, reason_rejected, column,
                        f"{column} refers to {'an' if what[0] in 'aeiou' else 'a'} {what} row "
                        "that was rejected")
    echo = C.TABLES[res.name].column(column).echo if column in C.TABLES[res.name].column_names \
        else False
    detail = _echo(values, column, f"is not a known {what}") if echo \
        else f"{column} is not a known {what}"
    res.verdicts.reject(present & ~in_acc & ~in_rej, reason_unknown, column, detail)


def _ids(res: _TableResult | None, column: str,
         skip: np.ndarray | None = None) -> tuple[pd.Index, pd.Index]:
    """(accepted ids, ids seen only on rejected rows) of a parent table; ``skip``: rows that
    are neither (add-on lines folded into another row)."""
    if res is None:
        return pd.Index([]), pd.Index([])
    rows = np.ones(len(res.raw), dtype=bool) if skip is None else ~skip
    ok, col = res.verdicts.ok[rows], res.raw[column].to_numpy(dtype=object)[rows]
    acc = pd.Index(pd.unique(col[ok]), dtype=object)
    rej = pd.Index(pd.unique(col[~ok]), dtype=object)
    return acc, rej[~rej.isin(acc) & (rej != "")]


_CODE = re.compile(r"^(?:\d{4}[0-9A-Z]|[A-Z]\d{4})$")  # CPT and HCPCS codes


@dataclass(frozen=True)
class _Service:
    """What one service cell says: ``90837-95``, ``90837 GT``, ``90839, 90840``, ``therapy``,
    or (``service_text: free``) a treatment name such as ``Individual Therapy 50 min``."""

    service: str | None  # intake / therapy / other; None: not understood
    code: str | None = None  # the session's own billing code, modifiers removed
    minutes: float = np.nan  # its usual length (per unit when per_unit)
    per_unit: bool = False
    group: bool = False
    telehealth: bool = False
    add_on_only: bool = False  # only add-on codes: a line to fold into its session
    add_on_minutes: float = 0.0
    problem: str = ""
    text_minutes: float = np.nan  # minutes written in a treatment name (free text only)
    from_text: bool = False  # the kind read from a treatment name's words (free text only)


# A length written in a service or treatment name: "50 min", "53-minute", "(60 minutes)",
# "1 hour", "1.5 hrs". The number before "min" is a length, never a billing modifier.
_LENGTH = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d++)?)\s*+(?:-\s*+)?"
                     r"(min(?:ute)?s?|h(?:ou)?rs?|hour|h)\b", re.IGNORECASE)
# Words of a treatment name that make it an intake (Jane's "Initial Consultation", "First
# Counseling Appointment", "Intake Assessment", "Psychological Evaluation"): first contact or
# assessment, not ongoing therapy.
_INTAKE_WORDS = re.compile(r"\b(intake|initial|first|assessment|evaluation|consult(?:ation)?|"
                           r"diagnostic|screening|new (?:client|patient))\b", re.IGNORECASE)
# Words of a treatment name that make it ``other``, read before the intake words: a free or
# brief contact before any care ("Free 15 min Consultation", "Phone Consultation", "Discovery
# Call", "Phone Screen") and a clinician's time that is no session ("Admin Time", "Staff
# Meeting", "Blocked", "Clinical Supervision", "Staff Training"). A consultation with none of
# these words ("Initial Consultation") stays an intake.
_FREE_WORDS = re.compile(r"\b(?:free|complimentary|no[ -]?charge|courtesy|phone|telephone|"
                         r"discovery|screening|intro(?:ductory)?)\b", re.IGNORECASE)
_CONTACT_WORDS = re.compile(r"\b(?:consult(?:ation)?s?|calls?|chats?)\b", re.IGNORECASE)
_BRIEF_CONTACT = re.compile(r"\b(?:meet (?:and|&) greet|phone screen(?:ing)?|"
                            r"(?:free|complimentary) screening|consult(?:ation)? calls?)\b",
                            re.IGNORECASE)
_NOT_A_SESSION = re.compile(
    r"\b(?:admin(?:istrative|istration)?|meetings?|block(?:ed)?(?: (?:off|out|time))?|"
    r"supervision|case consult(?:ation)?|paperwork|lunch|out of (?:the )?office|time off|"
    r"vacation|holiday)\b", re.IGNORECASE)
# "training" is no session only where nothing in the name is a treatment ("Parent Training",
# "DBT Skills Training Group" are therapy)
_TRAINING = re.compile(r"\btraining\b", re.IGNORECASE)
_TREATMENT_WORDS = re.compile(r"\b(?:therap\w*|psychotherap\w*|counsell?ing|session|skills?|"
                              r"parent\w*|famil\w*|couples?|group|child\w*|behaviou?r\w*|"
                              r"social|dbt|cbt|emdr|pcit|treatment)\b", re.IGNORECASE)


def _kind_from_name(label: str) -> str:
    """A treatment name's kind by its words: ``other`` (a free or brief contact before care,
    or a clinician's time that is no session), else ``intake`` (first contact or assessment),
    else ``therapy``."""
    free_contact = (_FREE_WORDS.search(label) and _CONTACT_WORDS.search(label)) \
        or _BRIEF_CONTACT.search(label)
    if free_contact or _NOT_A_SESSION.search(label) or (
            _TRAINING.search(label) and not _TREATMENT_WORDS.search(label)):
        return "other"
    return "intake" if _INTAKE_WORDS.search(label) else "therapy"


def _written_minutes(label: str) -> float:
    """The one length a treatment name states, in minutes (1 to 600), else NaN; a name that
    states two different lengths states none."""
    found = set()
    for number, unit in _LENGTH.findall(label):
        minutes = float(number) * (60 if unit.lower().startswith("h") else 1)
        if 1 <= minutes <= C.TABLES["appointments"].column("duration_minutes").hi:
            found.add(round(minutes))
    return float(found.pop()) if len(found) == 1 else np.nan


def _read_service(label: str, cfg: Config, extra: dict[str, str], free: bool = False
                  ) -> _Service:
    if not label:
        return _Service("therapy")  # DATA_CONTRACT: service defaults to therapy
    word = C.label_lookup(extra)(label) or C.label_lookup(C.SERVICE_SYNONYMS)(label)
    # "Psychotherapy 53 min (90837)": the 53 is a length, not a CPT modifier
    tokens = re.findall(r"[A-Z0-9]+", _LENGTH.sub(" ", label).upper())
    codes = [t for t in tokens if _CODE.match(t)]
    written = _written_minutes(label) if free else np.nan
    if word in ("intake", "therapy", "other") and not codes:
        return _Service(word, text_minutes=written)
    if not codes:
        if free:  # a treatment name (Jane, Owl): its words say other, intake or therapy
            return _Service(_kind_from_name(label), text_minutes=written, from_text=True)
        return _Service(None, problem="is not a known service (intake, therapy, other or a "
                                      "billing code; map other labels in the column map)")
    known = cfg.services.codes
    unknown = [c for c in codes if c not in known]
    if unknown:
        return _Service(None, problem=f"holds the billing code {unknown[0]}, which is not in "
                                      "the parameters (services.codes)")
    modifiers = {t for t in tokens if len(t) == 2}
    tele = bool(modifiers & set(cfg.services.telehealth_modifiers))
    main = [c for c in codes if not known[c].add_on]
    add_ons = [c for c in codes if known[c].add_on]
    extra_minutes = float(sum(known[c].minutes or 0 for c in add_ons))
    if not main:
        return _Service("therapy", code=add_ons[0], telehealth=tele, add_on_only=True,
                        add_on_minutes=extra_minutes)
    if len(main) > 1:
        return _Service(None, problem=f"holds two session codes ({main[0]} and {main[1]}) "
                                      "on one line")
    code = known[main[0]]
    return _Service(word if word in ("intake", "therapy", "other") else code.service,
                    code=main[0], minutes=np.nan if code.minutes is None else code.minutes,
                    per_unit=code.per_unit, group=code.group, telehealth=tele,
                    add_on_minutes=extra_minutes,
                    text_minutes=np.nan if code.per_unit else written)


def _services(res: _TableResult, text: pd.Series, cfg: Config, extra: dict[str, str],
              free: bool = False) -> None:
    """Service kinds from the service column: the contract's words, or billing codes with
    their modifiers (telehealth), add-on codes and the parameters' usual lengths; with
    ``free`` (the column map's ``service_text: free``) also treatment names, whose words
    give the kind (intake words, else therapy) and whose written minutes a length."""
    read = _map_unique(text, lambda label: _read_service(label, cfg, extra, free))
    v, t = res.verdicts, res.typed
    problem = read.map(lambda r: r.problem)
    v.reject((problem != "").to_numpy(), "unknown_service", "service",
             lambda m: [f"service {_shown(x)} {p}" for x, p in
                        zip(text.to_numpy(dtype=object)[m], problem.to_numpy(dtype=object)[m],
                            strict=True)])
    for name in ("service", "code", "minutes", "per_unit", "group", "telehealth",
                 "add_on_only", "add_on_minutes", "text_minutes", "from_text"):
        t[f"_svc_{name}" if name != "service" else "service"] = read.map(
            lambda r, n=name: getattr(r, n))
    t["service_code"] = t.pop("_svc_code")


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


# A length written as text in a duration column: "50 min", "50m", "45 minutes", "1 hr",
# "1.5 hours", "1h 30m", "1 hour and 30 minutes", or a clock length "0:50", "1:30", "01:30:00".
_DURATION_TEXT = re.compile(
    r"(?:(?P<h>\d{1,2}(?:\.\d{1,3})?)\s*(?:h|hrs?|hours?)\.?"
    r"(?:\s*(?:and|,)?\s*(?P<hm>\d{1,3})\s*(?:m|mins?|minutes?)?\.?)?"
    r"|(?P<m>\d{1,3}(?:\.\d{1,3})?)\s*(?:m|mins?|minutes?)\.?"
    r"|(?P<ch>\d{1,2}):(?P<cm>[0-5]\d)(?::(?P<cs>[0-5]\d))?)", re.IGNORECASE)


def _duration_text(value: str) -> float:
    """The minutes a duration written as text states (rounded to the minute), else NaN."""
    m = _DURATION_TEXT.fullmatch(value.strip()) if len(value) <= 40 else None
    if m is None:
        return np.nan
    if m["h"] is not None:
        minutes = float(m["h"]) * 60 + float(m["hm"] or 0)
    elif m["m"] is not None:
        minutes = float(m["m"])
    else:
        minutes = int(m["ch"]) * 60 + int(m["cm"]) + int(m["cs"] or 0) / 60
    return float(round(minutes))


def _check_duration(res: _TableResult, col: C.Column, text: pd.Series,
                    cmap: ColumnMap) -> None:
    """The appointments' duration column: whole minutes, as the contract says, or a length
    written as text ("50 min", "0:50", "1 hr", "1h 30m"), read as its minutes in any profile
    (one meaning, so never a guess; counted as ``duration_from_text``). A value that is
    neither is rejected (``invalid_number``), except where the column map allows the default
    length (``session_length: default``, the generic profile): there it is set aside as if the
    cell were empty, so the session's length comes from its end time, billing code, treatment
    name or the default, and it is counted (``duration_unreadable_set_aside``), never
    quoted. Whole numbers, fractions and bounds are checked as for any number."""
    v = res.verdicts
    values, bad = _parse_number(text)
    from_text = np.zeros(len(values), dtype=bool)
    if bad.any():
        read = _map_unique(text[bad], _duration_text).to_numpy(dtype=float)
        rows = np.flatnonzero(bad)
        values[rows] = read
        from_text[rows[~np.isnan(read)]] = True
        bad = bad & ~from_text
    set_aside = np.zeros(len(values), dtype=bool)
    if cmap.session_length == "default":
        set_aside, bad = bad, np.zeros(len(values), dtype=bool)
    v.reject(bad, "invalid_number", col.name,
             _quoted(col, text, "is not a number of minutes (such as 50, '50 min' or '0:50')"))
    frac = ~np.isnan(values) & (values % 1 != 0)
    v.reject(frac, "invalid_number", col.name, _quoted(col, text, "is not a whole number"))
    out = ~np.isnan(values) & ((values < col.lo) | (values > col.hi))
    v.reject(out, "out_of_range", col.name,
             _quoted(col, text, f"is outside the allowed range (at least {col.lo:g}, at most "
                                f"{col.hi:g} minutes)"))
    res.typed[col.name] = pd.Series(values, index=res.raw.index)
    res.typed["_duration_from_text"] = pd.Series(from_text, index=res.raw.index)
    res.typed["_duration_set_aside"] = pd.Series(set_aside, index=res.raw.index)


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


# --------------------------------------------------------------------------------------------
# Table-specific rules
# --------------------------------------------------------------------------------------------


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


def _cancellation_times(res: _TableResult, values: pd.Series, bad: np.ndarray,
                        date_only: np.ndarray, cfg: Config) -> None:
    """The appointments' ``cancelled_at``: a value that is not a date and time (free text, a
    time skipped by a clock change) or outside the plausible dates is read as empty and
    counted (``cancellation_time_not_read``), never a reason to reject the appointment; which
    values have no time of day is kept for ``_late_cancel_from_cancellation_time``."""
    lo, hi = cfg.dates.window(cfg)
    tz = cfg.timezone
    outside = ((values < lo.tz_localize(tz)) | (values >= hi.tz_localize(tz))).to_numpy(
        dtype=bool, na_value=False)
    unread = np.asarray(bad, dtype=bool) | outside
    res.typed["cancelled_at"] = values.where(~unread)
    res.typed["_cancelled_at_unread"] = pd.Series(unread, index=res.raw.index)
    res.typed["_cancelled_at_date_only"] = pd.Series(
        np.asarray(date_only, dtype=bool) & ~unread, index=res.raw.index)


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


def _check_clinicians(res: _TableResult) -> None:
    t, v = res.typed, res.verdicts
    v.reject((t["end_date"] < t["start_date"]).to_numpy(), "end_before_start", "end_date")
    ids = pd.Index(res.raw["clinician_id"][v.ok].to_numpy(dtype=object), dtype=object)
    sup = res.raw["supervisor_id"]
    self_sup = (sup != "") & (sup == res.raw["clinician_id"])
    v.reject(self_sup.to_numpy(), "unknown_supervisor", "supervisor_id",
             "a clinician cannot be their own supervisor")
    listed = pd.Index(res.raw["clinician_id"].to_numpy(dtype=object), dtype=object)
    rejected = (sup != "").to_numpy() & ~_isin(sup, ids) & _isin(sup, listed)
    v.reject(rejected, "clinician_rejected", "supervisor_id",
             _echo(sup, "supervisor_id", "is a clinician whose own row was rejected"))
    unknown = (sup != "").to_numpy() & ~_isin(sup, ids)
    v.reject(unknown, "unknown_supervisor", "supervisor_id",
             _echo(sup, "supervisor_id", "is not a known clinician"))


def _check_assessments(res: _TableResult, cfg: Config) -> None:
    """Instrument-specific item and total rules (the instrument registry lives in Config)."""
    raw, v, t = res.raw, res.verdicts, res.typed
    item_cols = C.item_columns(raw.columns)
    n_max = max(item_cols.values(), default=0)
    n = len(raw)
    items = np.full((n, max(n_max, 1)), np.nan)
    for col, k in item_cols.items():
        values, bad = _parse_number(raw[col])
        v.reject(bad, "invalid_number", col, _echo(raw[col], col, "is not a number"))
        items[:, k - 1] = values
    instrument = t["instrument"]
    total = t["total_score"].to_numpy(dtype=float).copy()
    computed = np.full(n, np.nan)
    prorated = np.zeros(n, dtype=bool)
    answered = np.zeros(n, dtype=int)
    for name, inst in cfg.instruments.items():
        rows = (instrument == name).to_numpy() & v.ok
        if not rows.any():
            continue
        block = items[:, : inst.n_items] if n_max else np.full((n, 0), np.nan)
        # items the instrument does not have
        for k in range(inst.n_items + 1, n_max + 1):
            v.reject(rows & ~np.isnan(items[:, k - 1]), "item_not_in_instrument", f"item_{k}",
                     f"item_{k} is filled in but {name} has {inst.n_items} items")
        for k in range(1, min(inst.n_items, n_max) + 1):
            x = items[:, k - 1]
            fraction = ~np.isnan(x) & ((x % 1 != 0) if inst.whole_numbers else False)
            v.reject(rows & fraction, "invalid_number", f"item_{k}",
                     f"item_{k} is not a whole number ({name} items are whole numbers)")
            bad = ~np.isnan(x) & ((x < inst.item_min) | (x > inst.item_max))
            v.reject(rows & bad, "out_of_range", f"item_{k}",
                     f"item_{k} must be from {inst.item_min:g} to {inst.item_max:g} on the "
                     f"{name}")
        rows = rows & v.ok
        got = (~np.isnan(block)).sum(axis=1) if block.shape[1] else np.zeros(n, dtype=int)
        sums = np.nansum(block, axis=1) if block.shape[1] else np.zeros(n)
        missing = inst.n_items - got
        has_total = ~np.isnan(total)
        complete = rows & (got == inst.n_items)
        v.reject(complete & has_total & (np.abs(total - sums) > 1e-9), "total_mismatch",
                 "total_score", f"total_score disagrees with the sum of the {name} items")
        need = rows & ~has_total & v.ok
        v.reject(need & (got == 0), "no_score", "total_score",
                 f"no total_score and no {name} item scores")
        v.reject(need & (got > 0) & (missing > inst.max_missing_items),
                 "too_many_missing_items", "total_score",
                 f"{name} allows a prorated total with at most {inst.max_missing_items} "
                 "missing items")
        ok_items = need & v.ok & (got > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pro = sums * inst.n_items / np.where(got > 0, got, 1)
        computed[ok_items] = pro[ok_items]
        prorated |= ok_items & (missing > 0)
        total_rows = rows & v.ok & has_total
        if inst.whole_numbers:
            v.reject(total_rows & (total % 1 != 0), "invalid_number", "total_score",
                     _echo(raw["total_score"], "total_score",
                           f"is not a whole number ({name} totals are whole numbers)"))
        out = (total < inst.score_min) | (total > inst.score_max)
        v.reject(total_rows & out, "out_of_range", "total_score",
                 _echo(raw["total_score"], "total_score",
                       f"is not from {inst.score_min:g} to {inst.score_max:g} ({name})"))
        answered[rows] = got[rows]
    from_items = ~np.isnan(computed)
    res.adjustments["total_from_items"] = int((from_items & v.ok).sum())
    res.adjustments["total_prorated"] = int((prorated & v.ok).sum())
    t["total_score"] = pd.Series(np.where(from_items, computed, total), index=raw.index)
    t["prorated"] = pd.Series(prorated, index=raw.index)
    t["items_answered"] = pd.Series(answered, index=raw.index)
    for k in item_cols.values():
        t[f"item_{k}"] = pd.Series(items[:, k - 1], index=raw.index)
    followup, unclear = _followup(raw["item9_followup"])
    t["item9_followup"] = followup
    if unclear.any():
        res.adjustments["with_an_item9_followup_that_is_not_yes_no_or_a_date"] = \
            int((unclear & v.ok).sum())


# a date inside a follow-up value: 2026-10-09, 10/09/2026, 9.10.2026, Oct 9 2026, 9 Oct 2026
_FOLLOWUP_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
                            r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.?,? \d{4}")


def _followup(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The optional ``item9_followup`` column read as ``yes`` (a yes, or any date: done that
    day), ``no``, ``unclear`` (a value that is neither: the report sends the reader to the
    EHR) or missing (an empty cell), and which values were unclear. A value is never quoted:
    it may be a clinician's free text."""
    followup = C.label_lookup(C.FOLLOWUP_SYNONYMS)
    labels = text.map(lambda v: followup(v) if v else None)
    dated = text.str.contains(_FOLLOWUP_DATE, na=False)
    out = labels.where(labels.notna(), np.where(dated, "yes", None))
    unclear = ((text != "") & out.isna()).to_numpy()
    out = out.where(~unclear, "unclear")
    return out.astype(object).where(out.notna(), None), unclear


def _utc_naive(times: pd.Series) -> np.ndarray:
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


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


def _export_instant(cmap: ColumnMap, cfg: Config) -> tuple[pd.Timestamp, str]:
    """When the export was taken, and where that comes from: the parameter ``exported_at``,
    else the column map's, else the period end."""
    text = cfg.exported_at if cfg.exported_at is not None else cmap.exported_at
    source = "parameters" if cfg.exported_at is not None else "column map"
    if text is None:
        when, source = pd.Timestamp(cfg.period_end), "period end"
    else:
        try:
            when = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise IngestError(f"exported_at {str(text)[:40]!r} ({source}) is not a date and "
                              "time such as 2026-11-03 09:00") from None
    when = when.tz_localize(cfg.timezone) if when.tzinfo is None \
        else when.tz_convert(cfg.timezone)
    return when, source


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


# --------------------------------------------------------------------------------------------
# The whole folder
# --------------------------------------------------------------------------------------------

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
        A key already loaded (the runner checks it against earlier runs first).

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
    folder = Path(data_dir)
    if not folder.is_dir():
        raise IngestError(f"data folder {folder} does not exist")
    cmap = load_column_map(column_map if column_map is not None else config.column_map,
                           config.source)
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

    if key is None:
        key = load_key(key_file or config.pseudonym_key_file)

    clin = results["clinicians"]
    _check_clinicians(clin)
    clin_ok, clin_rej = _ids(clin, "clinician_id")
    # names are matched against every listed clinician, so an appointment of a clinician
    # whose roster row was rejected says so (clinician_rejected), not "unknown"
    listed = (clin.raw["clinician_id"] != "") & (clin.raw["name"] != "")
    listed &= ~clin.raw["clinician_id"].duplicated(keep=False)
    roster = pd.DataFrame({"clinician_id": clin.raw["clinician_id"][listed],
                           "name": clin.raw["name"][listed]})
    # what a starter roster still lacks (perfkit init), per column, whatever else is wrong
    empty_roster = {c.name: int((clin.raw[c.name] == "").sum())
                    for c in C.TABLES["clinicians"].columns if c.required}

    def clinician_ref(res, column="clinician_id", reason="unknown_clinician"):
        _resolve_names(res, column, roster)
        _reference(res, column, clin_ok, clin_rej, reason, "clinician_rejected", "clinician")

    _left_out_statuses(appts)
    clinician_ref(appts)
    joined = _join_notes(results["notes"], appts, config, cmap, roster) \
        if results["notes"].joined else None
    _scheduled_after_export(appts, cmap, config)
    _cancelled_by(appts)
    _late_cancel_from_fee(appts)
    _late_cancel_from_cancellation_time(appts, config, cmap)
    _fold_add_ons(appts)
    _durations(appts, config, cmap)
    _count_times(appts)
    _session_flags(appts)
    _drop_folds_of_rejected(appts)
    _generate_ids(appts, key.key)
    _not_yet_marked(appts, cmap, config)
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
    _pseudonymize_clients([appts, results["assessments"]], key.key)
    appt_ok, appt_rej = _ids(appts, "appointment_id", skip=appts.folded)
    appt_frame = _accepted_frame(appts)

    notes = results["notes"]
    _reference(notes, "appointment_id", appt_ok, appt_rej, "unknown_appointment",
               "appointment_rejected", "appointment")
    clinician_ref(notes)
    notes.verdicts.reject(_signed_before_start(notes, appt_frame), "signed_before_session",
                          "signed_at")

    assess = results["assessments"]
    _check_assessments(assess, config)
    clinician_ref(assess)
    _infer_clinicians(assess, appt_frame)

    for name in C.OPTIONAL_TABLES:
        res = results[name]
        if name == "assessments":
            continue
        if name == "supervision":
            clinician_ref(res, "supervisee_id")
            clinician_ref(res, "supervisor_id", "unknown_supervisor")
        else:
            clinician_ref(res)
        if name == "time_off":
            res.verdicts.reject((res.typed["end_date"] < res.typed["start_date"]).to_numpy(),
                                "end_before_start", "end_date")

    tables: dict[str, pd.DataFrame] = {}
    reject_parts = []
    quality: dict = {"time_zone": config.timezone, "tables": {}}
    for name, res in results.items():
        tables[name] = appt_frame if name == "appointments" else _accepted_frame(res)
        if not provided[name]:
            quality["tables"][name] = {"present": False}
            continue
        v = res.verdicts
        bad = ~v.ok
        reject_parts.append(pd.DataFrame({
            "table": name, "file": res.file, "row": np.flatnonzero(bad) + 1 + res.title_rows,
            "column": v.column[bad], "reason": v.reason[bad], "detail": v.detail[bad],
        }))
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
            entry["empty_required"] = {c: n for c, n in empty_roster.items() if n}
            entry["invalid_email_rows"] = res.invalid_email_rows
        folded = int((res.folded & v.ok).sum()) if res.folded is not None else 0
        if entry["rows_in"] != entry["rows_accepted"] + entry["rows_rejected"] or \
                entry["rows_accepted"] != len(tables[name]) + folded:
            raise AssertionError(f"row accounting failed for {name}")  # a perfkit bug
        quality["tables"][name] = entry
    quality["unused_files"], quality["other_files"] = _unused_files(folder, results)
    quality["clinicians_left_out"] = _clinicians_left_out(results, clin)
    quality["documentation"] = _documentation(notes, cmap, config)
    # where each table's data begin, and what that limits
    quality["coverage"] = coverage_facts(tables, quality["tables"], config)
    quality["source"] = {"profile": config.source, "caveats": list(cmap.caveats),
                         "unavailable": list(cmap.unavailable)}
    if not quality["documentation"]["known"]:  # said once, in every report's export notes
        quality["source"]["caveats"].append(
            (_NO_DOCUMENTATION if notes.verdicts.ok.any() else _NO_NOTES).format(
                file=notes.file, why=_EMPTY_NOTE_COLUMN if set(notes.empty_columns)
                & {"status", "signed_at"} else _TEXT_NOTE_COLUMN if notes.not_statuses
                else ""))
        quality["source"]["unavailable"] += [c for c in C.DOCUMENTATION_FIGURES
                                             if c not in quality["source"]["unavailable"]]
    by_map = (column_map if column_map is not None else config.column_map) is not None
    for figures, words in _statuses_unsaid(appts, config, by_map):  # not known, never 0
        if not set(figures) <= set(quality["source"]["unavailable"]):
            quality["source"]["caveats"].append(words)
            quality["source"]["unavailable"] += [
                c for c in figures if c not in quality["source"]["unavailable"]]
    unmarked = not_yet_marked_words(quality)  # said in the practice report's export notes
    if unmarked:
        quality["source"]["caveats"].append(unmarked)
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


_LEFT_OUT = ("unknown_clinician", "clinician_rejected")

# rows an export holds that are no record to use (the summary of a run says them apart from
# rows rejected for a mistake): their reasons, in the order the summary names them
SET_ASIDE = tuple(C.NO_RECORD)  # no record to use: counted apart from rejections


def _input_rows(tables: dict, rejects: pd.DataFrame) -> dict:
    """The files' rows counted once each, however many tables read a file (notes and
    assessments read from the appointments file): ``rows`` in all, ``set_aside`` per reason
    of :data:`SET_ASIDE` (a row of totals, a rescheduled appointment: not records to use),
    and ``rejected`` (any other reason; a row that one table read and another found nothing
    in, ``not_in_table``, is not rejected)."""
    per_file: dict[str, int] = {}
    for e in tables.values():
        if e.get("present"):
            per_file[e["file"]] = max(per_file.get(e["file"], 0), e["rows_in"])
    r = rejects[rejects["reason"] != "not_in_table"]
    reasons = r.groupby(["file", "row"])["reason"].agg(set)
    aside = {k: 0 for k in SET_ASIDE}
    rejected = 0
    for found in reasons:
        first = next((k for k in SET_ASIDE if k in found), None)
        if first is None:
            rejected += 1
        else:
            aside[first] += 1
    return {"rows": sum(per_file.values()), "set_aside": {k: n for k, n in aside.items() if n},
            "rejected": rejected}


def _clinicians_left_out(results: dict[str, _TableResult], clin: _TableResult) -> list[dict]:
    """The clinicians named in the export whose rows were left out: not on the roster
    (``unknown_clinician``: a name that changed between exports, a new hire, a typo) or on it
    with a rejected row (``clinician_rejected``: a starter roster still to fill in). For each:
    the value as the export gives it, its rows per table, and the closest name on the roster.
    Most rows first."""
    count: dict[tuple[str, bool], dict[str, int]] = {}
    for name, res in results.items():
        if name == "clinicians":  # a supervisor's rejected roster row: the roster's own matter
            continue
        v = res.verdicts
        for reason in _LEFT_OUT:
            rows = np.flatnonzero(v.reason == reason)
            for col in pd.unique(v.column[rows]):
                at = rows[v.column[rows] == col]
                values = res.raw[col].to_numpy(dtype=object)[at]
                for value, n in pd.Series(values).value_counts().items():
                    per = count.setdefault((str(value), reason == "clinician_rejected"), {})
                    per[name] = per.get(name, 0) + int(n)
    ok = clin.verdicts.ok
    names = clin.raw["name"].to_numpy(dtype=object)[ok]
    keys = {_name_key(n): n for n in names if n}
    out = []
    for (value, on_roster), tables in count.items():
        close = None if on_roster else _closest_name(value, list(keys))
        out.append({"clinician": value, "on_roster": on_roster,
                    "rows": sum(tables.values()), "tables": tables,
                    "closest": keys[close] if close else None})
    return sorted(out, key=lambda e: (-e["rows"], e["clinician"]))


def _closest_name(value: str, keys: list[str]) -> str | None:
    """The roster name (as a name key) closest to a name in the export: among those sharing a
    first or last name with it (a name changed by marriage keeps the first), the most alike;
    else one alike in spelling (difflib ratio 0.75 or more); else None."""
    import difflib

    mine = _name_key(value)
    words = set(mine.split())
    sharing = [k for k in keys if words & set(k.split())]
    ratio = {k: difflib.SequenceMatcher(None, mine, k).ratio() for k in keys}
    if sharing:
        return max(sharing, key=lambda k: (ratio[k], k))
    best = max(keys, key=lambda k: (ratio[k], k), default=None)
    return best if best is not None and ratio[best] >= 0.75 else None


def run_blockers(quality: dict, *, skip_unknown: bool = False) -> str | None:
    """Why a run cannot use this data, in one message (None: it can): a roster with no
    usable rows (with what is still to fill in), clinicians named in the export whose rows
    would be left out (unless ``skip_unknown``: ``perfkit run --skip-unknown-clinicians``),
    or no usable appointments. (Notes with no usable rows leave the documentation figures
    not known, like an empty note-status column: ``documentation``.)"""
    tables = quality["tables"]

    def unusable(name: str) -> str | None:
        e = tables.get(name, {})
        if not e.get("present") or e["rows_accepted"]:
            return None
        if not e["rows_in"]:
            return (f"{e['file']} has no rows, so there is nothing to run" + (
                "; list each clinician in it (perfkit init writes a starter roster from the "
                "export)" if name == "clinicians" else ""))
        todo = still_to_fill(quality) if name == "clinicians" else []
        return (f"{e['file']} has no usable rows ({e['rows_in']:,} read, "
                f"{e['rows_rejected']:,} rejected), so there is nothing to run"
                + ("; still to fill in: " + "; ".join(t.strip() for t in todo) if todo
                   else "; perfkit validate lists why each row was rejected"))

    problem = unusable("clinicians")
    if problem:
        return problem
    left = quality.get("clinicians_left_out") or []
    if left and not skip_unknown:
        shown = [f"{e['clinician']!r} ({rows_words(e['tables'])}; "
                 + ("on the roster, but its roster row was rejected" if e["on_roster"]
                    else f"closest on the roster: {e['closest']!r}" if e["closest"]
                    else "no close name on the roster") + ")" for e in left[:10]]
        more = f" and {len(left) - 10} more (perfkit validate lists them)" \
            if len(left) > 10 else ""
        n = sum(e["rows"] for e in left)
        return (f"{n:,} rows name {len(left)} clinician{'s' * (len(left) != 1)} who cannot "
                f"be used from the roster: {', '.join(shown)}{more}; add them to the roster "
                "(or correct the name, or fill in their roster row), or run with "
                "--skip-unknown-clinicians to leave their rows out")
    return unusable("appointments")


def rows_words(tables: dict[str, int]) -> str:
    """Rows per table in words: ``111 appointments, 1 supervision session``."""
    return ", ".join(f"{n:,} {_ROW_WORDS.get(t, (t, t))[n != 1]}" for t, n in tables.items())


_ROW_WORDS = {"appointments": ("appointment", "appointments"), "notes": ("note", "notes"),
              "assessments": ("assessment", "assessments"),
              "time_off": ("time-off entry", "time-off entries"),
              "supervision": ("supervision session", "supervision sessions"),
              "goals": ("goal", "goals"), "reviews": ("review", "reviews"),
              "ce": ("CE entry", "CE entries")}


# what a roster gap blocks, in plain words
_ROSTER_NEEDS = {
    "clinician_id": "an id for each clinician (any text; every table refers to it)",
    "name": "the clinician's name (reports and name matching)",
    "license_status": "licensed or pre-licensed (supervision toward licensure)",
    "start_date": "the day they started (capacity, new-hire ramp-up)",
    "weekly_capacity_hours": "hours a week offered for sessions (utilization)",
}


def still_to_fill(quality: dict) -> list[str]:
    """Roster values still empty (a starter roster from ``perfkit init``), and what each one
    blocks: a clinician without them is left out, with every appointment and note of theirs."""
    entry = quality["tables"].get("clinicians", {})
    gaps = entry.get("empty_required") or {}
    if not gaps:
        return []
    lines = []
    for column, n in gaps.items():
        need = _ROSTER_NEEDS.get(column, column)
        lines.append(f"  {entry['file']}: {column} for {n} clinician{'s' * (n != 1)}: {need}")
    lines.append("  Until then those clinicians are left out, with all their appointments and "
                 "notes (every figure of theirs).")
    return lines


def _unused_files(folder: Path, results: dict[str, _TableResult]) -> tuple[list[dict], int]:
    """Files in the data folder that no table was read from: those named almost as a table
    (``timeoff.csv`` for ``time_off.csv``, ``appointment.csv``), each with that table, and how
    many others. Only a near-miss is named: its name is perfkit's own word give or take a
    letter, while any other name may be a client's (``Jane Doe.csv``) and is only counted."""
    used = {r.file for r in results.values() if r.file}
    near, others = [], 0
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if not p.is_file() or p.name in used or p.name.startswith(".") \
                or p.suffix.lower() not in (*READABLE, ".txt", ".tsv"):
            continue
        table = _near_table(p.stem)
        if table is None:
            others += 1
        else:
            near.append({"file": p.name, "closest_table": table})
    return near, others


def _near_table(stem: str) -> str | None:
    """The table a file name misses by a letter or two (case, spaces, ``_``, ``-`` and ``.``
    aside): one edit for a table name of five letters or more, two for nine or more."""
    mine = re.sub(r"[\s_.-]", "", stem.lower())
    for table in C.TABLES:
        name = table.replace("_", "")
        allowed = 2 if len(name) >= 9 else 1 if len(name) >= 5 else 0
        if abs(len(mine) - len(name)) <= allowed and _edits(mine, name) <= allowed:
            return table
    return None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def _pseudonymize_clients(results: list[_TableResult], key: bytes) -> None:
    col = "client_id"
    all_ids = pd.concat([r.raw[col] for r in results], ignore_index=True)
    mapping, collided = pseudonym_map(all_ids[all_ids != ""], key)
    for res in results:
        raw = res.raw[col]
        res.typed[col] = raw.map(mapping).where(raw != "", None)
        if collided:
            res.verdicts.reject(raw.isin(collided).to_numpy(), "pseudonym_collision", col)


def write_quality(quality: dict, rejects: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write ``data_quality.json`` and ``rejects.csv`` into a run folder."""
    from .io import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    p1 = out_dir / "data_quality.json"
    atomic_write_text(p1, json.dumps(quality, indent=2) + "\n")
    p2 = out_dir / "rejects.csv"
    atomic_write_text(p2, csv_safe(rejects).to_csv(index=False))  # no formula runs in Excel
    return [p1, p2]
