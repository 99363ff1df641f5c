"""Reading an .xlsx or .xls workbook safely: the zip measured before python-calamine opens it
(zip bombs, unpacked sizes), each sheet's extent and cells' XML checked from the XML itself,
the shared strings counted, the sheet that holds the table found, and a legacy .xls read in a
child process with its memory and time bounded."""

from __future__ import annotations

import multiprocessing
import re
import struct
import zipfile
import zlib
from array import array
from pathlib import Path

import numpy as np
import pandas as pd

from .cells import (
    MAX_COLUMNS,
    MAX_VALUE_CHARS,
    TITLE_ROWS,
    _cell_text,
    _column_words,
    _header_at,
    _Headers,
    _not_whole,
)
from .errors import IngestError

# What perfkit reads from one workbook (cells.py holds the limits on every file: columns, the
# length of a value).
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
