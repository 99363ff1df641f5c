"""The column map: how an EHR export's files, headers and labels map onto the contract
(:class:`ColumnMap`, read by :func:`load_column_map` over an import profile), the matching of a
file's headers to contract columns, and when the export was taken."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .. import contract as C
from ..config import Config, yaml_problem
from .errors import IngestError


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
    from ..profiles import profile_map

    raw = profile_map(source) if source else {}
    if path is not None:
        raw = _merge_maps(raw, _read_map(Path(path)))
    if not raw:
        return ColumnMap()
    path = Path(path) if path is not None else f"of the {source} profile"
    _check_sections(raw, path)
    formats = _formats(raw, path)
    key = _client_key(raw, path)
    _check_settings(raw, path)
    cmap = _column_map(raw, formats, key)
    _check_targets(cmap, path)
    return cmap



def export_folder(data_dir, config: Config, column_map=None) -> tuple[Path, ColumnMap]:
    """A practice's data folder and the column map its export is read with: ``column_map``
    (a YAML path), else the parameters' ``column_map``, over ``config.source``'s profile.
    Raises :class:`IngestError` when the folder does not exist. Both :func:`perfkit.ingest`
    and :func:`perfkit.period.data_period` start here."""
    folder = Path(data_dir)
    if not folder.is_dir():
        raise IngestError(f"data folder {folder} does not exist")
    return folder, load_column_map(column_map if column_map is not None else config.column_map,
                                   config.source)


def _check_sections(raw: dict, path: Path | str) -> None:
    """The sections of a column map's YAML: known ones, files and sheets mapping tables to
    names, columns and values mapping tables to mappings."""
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


def _formats(raw: dict, path: Path | str) -> dict:
    """The map's date formats: a format per table, or formats per column."""
    formats = raw.get("formats") or {}
    if not isinstance(formats, dict) or not all(
            isinstance(v, str) or (isinstance(v, dict) and all(isinstance(f, str)
                                                               for f in v.values()))
            for v in formats.values()):
        raise IngestError(f"column map {path}: 'formats' must map each table to a format or to "
                          "formats per column")
    return formats


def _client_key(raw: dict, path: Path | str) -> dict[str, list]:
    """The export's columns that together name a client, per table (``"*"``: every table)."""
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
    return key


def _check_settings(raw: dict, path: Path | str) -> None:
    """The map's other sections, each of its own shape (exported_at, rows, defaults, caveats,
    join, detect, service_text, session_length, unavailable), and that every table a
    section names is one of the contract's."""
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


def _column_map(raw: dict, formats: dict, key: dict[str, list]) -> ColumnMap:
    """The checked YAML as a :class:`ColumnMap`: headers and labels normalized."""
    exported = raw.get("exported_at")
    rows = raw.get("rows") or {}
    defaults = raw.get("defaults") or {}
    caveats = raw.get("caveats") or []
    join = raw.get("join") or {}
    detect = raw.get("detect") or []
    unavailable = raw.get("unavailable") or []
    return ColumnMap(
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


def _check_targets(cmap: ColumnMap, path: Path | str) -> None:
    """What the map names inside a table: columns given defaults, formats and labels, and the
    contract column each header is read as."""
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
