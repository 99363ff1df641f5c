"""Reading a CSV file: its delimiter, the header under a title, the csv module's field limit,
and the sentence saying why a file could not be read (naming the row, never quoting it)."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute
import pyarrow.csv as pa_csv

from .cells import (
    _CONTRACT_NAMES,
    MAX_COLUMNS,
    MAX_CSV_ROW_BYTES,
    MAX_VALUE_CHARS,
    READER_ERRORS,
    TITLE_ROWS,
    _column_words,
    _header_at,
    _Headers,
    _too_wide,
)
from .errors import IngestError

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
