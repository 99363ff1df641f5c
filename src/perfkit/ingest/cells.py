"""What every reader shares: a cell's value as the text a CSV would hold, the limits on one
file (columns, the length of a value and of a CSV row), and the table's header row found under
a title a report may print above it."""

from __future__ import annotations

import csv
import datetime as dt
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from python_calamine import CalamineError

from .. import contract as C
from .columns import ColumnMap, _looks_like, _norm_header


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


# What the readers raise on a file they cannot take (pandas' ParserError and UnicodeDecodeError
# are ValueErrors; pyarrow's are ArrowException; python-calamine's CalamineError; a damaged
# workbook's zip): anything else is a perfkit bug and keeps its traceback.
READER_ERRORS = (ValueError, OSError, csv.Error, zipfile.BadZipFile, CalamineError,
                 pa.ArrowException)


# Header names that may be quoted in a message (a file without its header row has client
# details where the header should be).
_CONTRACT_NAMES = {c for t in C.TABLES.values() for c in t.column_names}
