"""Loading one table's file: found, read, its headers mapped onto contract columns, the client
key composed from the export's own columns (hashed as it is read), and rows that are no
record (totals, repeated headers, rows of another kind) set apart."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

from .. import contract as C
from .bookkeeping import _TableResult, _Verdicts
from .cells import _Headers
from .columns import (
    ColumnMap,
    _header_synonyms,
    _key_columns,
    _map_headers,
    _map_rank,
    _norm_header,
)
from .errors import IngestError
from .parse import _excel_days, _map_unique
from .read import _find_file, _read
from .times import _time_columns


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
