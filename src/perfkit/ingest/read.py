"""Finding a table's file in the data folder (by the column map, the table's name or its headers)
and reading it, whatever its kind (CSV, Parquet, .xlsx, .xls), as text under its header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract as C
from .cells import MAX_COLUMNS, READER_ERRORS, _fractional, _Headers, _to_text, _too_wide
from .columns import ColumnMap, _looks_like, _norm_header
from .csv_files import _read_csv, _unreadable
from .errors import IngestError
from .workbook import _read_workbook


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


READABLE = (".csv", ".parquet", ".xlsx", ".xls")


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
