"""Hostile input, part 2 (issue 29), the readers: workbook bombs (item 3), hidden sheets
(item 8), CSV edges (item 12) and the names of files left unread (item 13).

Every file is built here, tiny: a workbook's far cell costs a few bytes to write and, before
the check, a grid of billions of cells to read. The bombs run in a child process with its
address space capped, so a regression fails the test instead of the machine."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Font

import perfkit as pk
from perfkit.ingest import IngestError
from perfkit.ingest import quality as quality_module
from perfkit.ingest import read as read_module
from perfkit.ingest import workbook as workbook_module

from practice_data import APPOINTMENTS, write_table

HEADER = list(APPOINTMENTS[0])  # appointment_id ... client_dob: 9 columns, A to I


def _cli(*args, tmp: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    """perfkit in a child process whose address space is capped at 6 GB (python-calamine's
    grid for XFD1048576 wants 512 GB; for Z1048576, 1.5 GB and minutes)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

    env = {**os.environ, "PERFKIT_PSEUDONYM_KEY_FILE": str(tmp / "k.key")}
    return subprocess.run([sys.executable, "-m", "perfkit.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout,
                          preexec_fn=cap)


def _sheet(ws, rows=APPOINTMENTS) -> None:
    ws.append(HEADER)
    for r in rows:
        ws.append([r[h] for h in HEADER])


def _appointments_workbook(practice: Path, far: str | None = None, **far_cell) -> Path:
    """appointments.xlsx for the practice (its CSV removed), with one more value at ``far``."""
    book = openpyxl.Workbook()
    _sheet(book.active)
    if far:
        book.active[far] = "x"
        for k, v in far_cell.items():
            setattr(book.active[far], k, v)
    path = practice / "appointments.xlsx"
    book.save(path)
    (practice / "appointments.csv").unlink()
    return path


def _cell(ref: str | None, value: str, prefix: str = "") -> str:
    r = f' r="{ref}"' if ref else ""
    return f'<{prefix}c{r} t="inlineStr"><{prefix}is><{prefix}t>{value}</{prefix}t>' \
           f'</{prefix}is></{prefix}c>'


def _raw_workbook(path: Path, sheet_xml: str, prefix: str = "") -> Path:
    """A workbook written by hand, part by part, with a sheet's XML as given (a namespace
    ``prefix`` such as ``x:`` on every element, as some exporters write)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ns = f'xmlns{":" + prefix.rstrip(":") if prefix else ""}="{main}"'
    parts = {
        "[Content_Types].xml":
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
            'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocume'
            'nt.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/'
                       'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet '
                           'name="Export" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
                                      f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                                      '</Relationships>',
        "xl/worksheets/sheet1.xml": f"<{prefix}worksheet {ns}><{prefix}sheetData>{sheet_xml}"
                                    f"</{prefix}sheetData></{prefix}worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return path


def _header_row(prefix: str = "") -> str:
    cells = "".join(_cell(f"{chr(65 + i)}1", h, prefix) for i, h in enumerate(HEADER))
    return f'<{prefix}row r="1">{cells}</{prefix}row>'


# ---- item 3: workbook bombs ----------------------------------------------------------------

def _far_by_reference(path: Path) -> None:  # openpyxl: one stray value at the last cell
    book = openpyxl.Workbook()
    _sheet(book.active)
    book.active["XFD1048576"] = "x"
    book.save(path)


def _far_without_references(path: Path) -> None:  # cells placed by their row's number only
    _raw_workbook(path, _header_row() + '<row r="1048576">'
                  + "".join(_cell(None, "x") for _ in HEADER) + "</row>")


def _far_with_a_prefix(path: Path) -> None:  # every element as x:c, x:row
    _raw_workbook(path, _header_row("x:") + '<x:row r="1048576">'
                  + _cell("Z1048576", "x", "x:") + "</x:row>", prefix="x:")


@pytest.mark.parametrize("build, cell, where, limit", [
    (_far_by_reference, "XFD1048576", "column 16,384", "1,000 columns"),
    (_far_without_references, "A1048576", "row 1,048,576", "5,000,000 cells"),
    (_far_with_a_prefix, "Z1048576", "row 1,048,576", "5,000,000 cells")])
def test_a_stray_far_cell_is_refused_before_the_grid_is_built(practice, tmp_path, build,
                                                               cell, where, limit):
    """A 5 KB workbook whose sheet reaches XFD1048576 aborted the process (exit 134): the
    cells are counted from the sheet's XML first, and the sentence names the far cell."""
    build(practice / "appointments.xlsx")
    (practice / "appointments.csv").unlink()
    assert (practice / "appointments.xlsx").stat().st_size < 10_000
    res = _cli("validate", practice, "--out", tmp_path / "v", tmp=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr[-2000:])
    assert "Traceback" not in res.stderr
    assert f"appointments.xlsx: its only sheet reaches cell {cell}, {where}: " in res.stderr
    assert f"more than the {limit} perfkit reads from a sheet; delete what lies beyond the " \
        "table" in res.stderr


def test_a_sheet_past_the_column_limit_is_refused(practice, cfg):
    """Column 1,001 (ALM) is one past the limit: refused, naming the cell."""
    _appointments_workbook(practice, "ALM2")
    with pytest.raises(IngestError, match=r"reaches cell ALM2, column 1,001: more "
                                          "than the 1,000 columns"):
        pk.ingest(practice, cfg)


def test_a_sheet_at_the_column_limit_is_read(practice, cfg):
    _appointments_workbook(practice, "ALL2")  # column 1,000
    assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_in"] == 3


def test_far_cells_written_empty_are_no_part_of_the_sheet(practice, cfg):
    """A formatted cell with no value (``<c r="XFD1048576" s="1"/>``) is in no grid:
    python-calamine skips it, and so does the count."""
    _appointments_workbook(practice, "XFD1048576", font=Font(bold=True))
    book = openpyxl.load_workbook(practice / "appointments.xlsx")
    book.active["XFD1048576"] = None
    book.active["XFD1048576"].font = Font(bold=True)
    book.save(practice / "appointments.xlsx")
    with zipfile.ZipFile(practice / "appointments.xlsx") as z:
        assert b'r="XFD1048576"' in z.read("xl/worksheets/sheet1.xml")
    q = pk.ingest(practice, cfg).quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"]) == (3, 3)


def test_a_sheet_in_another_form_is_counted_tag_by_tag(practice, cfg):
    """Prefixed tags and cells without a reference are read as python-calamine reads them:
    the three appointments, the blank rows 2-4 left by a row numbered 5."""
    rows = "".join(f'<x:row r="{n + 5}">' + "".join(_cell(None, r[h], "x:") for h in HEADER)
                   + "</x:row>" for n, r in enumerate(APPOINTMENTS))
    _raw_workbook(practice / "appointments.xlsx", _header_row("x:") + rows, prefix="x:")
    (practice / "appointments.csv").unlink()
    q = pk.ingest(practice, cfg).quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"]) == (6, 3)


# ---- item 8: the visible sheet, and which one ------------------------------------------------

def _hidden_first(practice: Path, state: str) -> None:
    book = openpyxl.Workbook()
    old = book.active
    old.title = "Old export"
    _sheet(old, APPOINTMENTS[:1])  # one appointment: read, it would give 1 row
    old.sheet_state = state
    _sheet(book.create_sheet("Appointments"))
    book.save(practice / "appointments.xlsx")
    (practice / "appointments.csv").unlink()


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_the_first_visible_sheet_is_read_and_said(practice, tmp_path, state):
    _hidden_first(practice, state)
    res = _cli("validate", practice, "--out", tmp_path / "v", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    q = json.loads((tmp_path / "v" / "data_quality.json").read_text())
    entry = q["tables"]["appointments"]
    assert entry["rows_in"] == 3
    assert entry["sheet"] == {
        "number": 2, "of": 2, "named": None, "hidden_before": 1,
        "words": "first visible sheet (sheet 2 of 2; the hidden sheet before it was not read)"}
    assert "read from its first visible sheet (sheet 2 of 2; the hidden sheet before it was " \
           "not read)" in res.stdout
    # the owner's report says it too, in the data-quality table, beside the table it is about
    import perfkit.report as r
    from perfkit.report import RunFolder

    run = RunFolder(tmp_path / "v", pk.load_config(), {}, {})
    dq = r.data_quality_table(run).data.set_index("Table")
    assert dq.loc["appointments", "Read from"] == (
        "the workbook's first visible sheet (sheet 2 of 2; the hidden sheet before it was "
        "not read)")
    assert dq.drop(index="appointments")["Read from"].eq("–").all()


def test_a_hidden_sheet_named_in_the_column_map_is_read(practice, cfg, tmp_path):
    _hidden_first(practice, "hidden")
    cmap = tmp_path / "map.yaml"
    cmap.write_text("sheets: {appointments: Old export}\n")
    q = pk.ingest(practice, cfg, column_map=cmap).quality["tables"]["appointments"]
    assert q["rows_in"] == 1
    assert q["sheet"]["words"] == "sheet 'Old export' (named in the column map)"


def test_a_workbook_with_no_visible_worksheet_is_refused(practice, cfg):
    _hidden_first(practice, "hidden")
    book = openpyxl.load_workbook(practice / "appointments.xlsx")
    book["Appointments"].sheet_state = "hidden"
    book["Old export"].sheet_state = "visible"  # openpyxl needs one visible to save
    book.active = 0
    book.save(practice / "appointments.xlsx")
    with zipfile.ZipFile(practice / "appointments.xlsx") as z:  # then hide it by hand
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'state="visible"',
                                                                b'state="hidden"')
    with zipfile.ZipFile(practice / "appointments.xlsx", "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    with pytest.raises(IngestError, match="appointments.xlsx has no visible worksheet; name "
                                          r"the sheet to read in the column map \(sheets:\)"):
        pk.ingest(practice, cfg)


# ---- item 12: CSV edges ------------------------------------------------------------------------

def _with_extra(practice: Path, header: str, values: list[str]) -> None:
    frame = pd.DataFrame(APPOINTMENTS)
    frame[header] = values
    frame.to_csv(practice / "appointments.csv", index=False)


def test_a_csv_past_the_column_limit_is_refused(practice, cfg):
    frame = pd.DataFrame(APPOINTMENTS)
    wide = pd.DataFrame({f"extra {i}": ["x"] * 3 for i in range(1_001 - frame.shape[1])})
    pd.concat([frame, wide], axis=1).to_csv(practice / "appointments.csv", index=False)
    with pytest.raises(IngestError, match=r"^appointments.csv has 1,001 columns, more than "
                                          r"the 1,000 perfkit reads from one file"):
        pk.ingest(practice, cfg)


def test_a_wide_csv_is_built_in_one_step(practice, monkeypatch):
    """Reading time grew with the square of the column count (50,000 columns: 250 s): each
    column was set into the frame one by one (``isetitem`` re-lays every column). The frame
    is built at once; the widest file read gives every column, stripped."""
    n = 1_000
    frame = pd.DataFrame(APPOINTMENTS)
    wide = pd.DataFrame({f"extra {i}": [f" {i} "] * 3 for i in range(n - frame.shape[1])})
    pd.concat([frame, wide], axis=1).to_csv(practice / "appointments.csv", index=False)
    calls = []
    monkeypatch.setattr(pd.DataFrame, "isetitem", lambda *a, **k: calls.append(a))
    read = read_module._read(practice / "appointments.csv")[0]
    assert not calls
    assert read.shape == (3, n)
    assert read.iloc[2, n - 1] == str(n - 1 - frame.shape[1])


@pytest.mark.parametrize("before, row", [(0, 2), (600, 602)])
def test_a_value_over_the_size_limit_is_said_as_such(practice, cfg, before, row):
    """A value of 1.2 MB (after 600 rows: 3 MB, which broke the CSV reader's blocks and was
    reported as "a quoted value is not closed") stops with its own reason, row and limit."""
    size = 1_200_000 if not before else 3_000_000
    frame = pd.DataFrame([APPOINTMENTS[0]] * before + APPOINTMENTS)
    frame["memo"] = "short"
    frame.loc[row - 1, "memo"] = "y" * size
    frame.to_csv(practice / "appointments.csv", index=False)
    with pytest.raises(IngestError) as err:
        pk.ingest(practice, cfg)
    assert str(err.value) == (
        f"appointments.csv: row {row} (a column outside the contract) holds a value longer "
        "than 1,000,000 characters, more than perfkit reads from one cell; fix that row (or "
        "export the report without that column) and run again")


def test_a_value_at_the_size_limit_is_read(practice, cfg):
    _with_extra(practice, "memo", ["x" * 1_000_000, "", ""])
    assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_accepted"] == 3


def test_a_line_break_inside_a_quoted_header_is_read(practice, cfg):
    _with_extra(practice, "Memo\n(internal)", ["a", "b", "c"])
    assert '"Memo\n(internal)"' in (practice / "appointments.csv").read_text()
    ing = pk.ingest(practice, cfg)
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"]) == (3, 3)
    assert q["dropped_columns"] == ["client_name", "client_dob", "memo\n(internal)"]
    assert list(ing["appointments"]["duration_minutes"]) == [60, 53, 53]


@pytest.mark.parametrize("start", ["2026-10-27T23", "2026-10-27 23", "20261027T2300",
                                   "2026-10-27T23+02:00"])
def test_a_truncated_time_is_rejected_not_read_as_local(practice, cfg, start):
    rows = [dict(APPOINTMENTS[0], start=start), *APPOINTMENTS[1:]]
    write_table(practice, "appointments", rows)
    ing = pk.ingest(practice, cfg)
    assert ing.quality["tables"]["appointments"]["rows_rejected"] == 1
    rej = ing.rejects.iloc[0]
    assert (rej["file"], rej["row"], rej["column"], rej["reason"]) == (
        "appointments.csv", 1, "start", "unparseable_date")
    assert rej["detail"] == (f"start {start!r} is not a date and time (expected ISO 8601 to the "
                             "minute, such as 2026-10-27T14:30)")


@pytest.mark.parametrize("start", ["2026-10-27T23:00", "2026-10-27 23:00:00.5",
                                   "2026-10-27T23:00:00Z", "2026-10-27T23:00:00 +01:00"])
def test_full_iso_times_are_still_read(practice, cfg, start):
    write_table(practice, "appointments", [dict(APPOINTMENTS[0], start=start),
                                           *APPOINTMENTS[1:]])
    assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_rejected"] == 0


# ---- item 13: files left unread ----------------------------------------------------------------

def test_unread_files_are_named_only_when_named_almost_as_a_table(practice, tmp_path):
    (practice / "Zebulon Quixote 1961-02-03.csv").write_text("a,b\n1,2\n")
    (practice / "Philippa Marchbanks.xlsx").write_bytes(b"not a workbook")
    (practice / "appointment.csv").write_text("a,b\n1,2\n")  # a letter short of a table
    (practice / "Time-Off.csv").write_text("a,b\n1,2\n")  # timeoff: time_off
    res = _cli("validate", practice, "--out", tmp_path / "v", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    raw = (tmp_path / "v" / "data_quality.json").read_text()
    q = json.loads(raw)
    assert q["unused_files"] == [{"file": "Time-Off.csv", "closest_table": "time_off"},
                                 {"file": "appointment.csv", "closest_table": "appointments"}]
    assert q["other_files"] == 2
    for text in (raw, res.stdout, res.stderr):
        assert "Zebulon" not in text and "Marchbanks" not in text
    assert "appointment.csv was not read; did you mean appointments.csv?" in res.stdout
    assert "2 other files in the data folder were not read: they match no table" in res.stdout


@pytest.mark.parametrize("stem, table", [("timeoff", "time_off"), ("Clinician", "clinicians"),
                                         ("apointments", "appointments"),
                                         ("Supervison", "supervision"), ("c_e", "ce"),
                                         ("Goal", "goals"), ("Ann", None), ("Nate", None),
                                         ("time_off_Ann", None), ("Cy", None),
                                         ("notes Jo", None), ("Noah", None)])
def test_a_near_miss_is_a_letter_or_two_from_a_table(stem, table):
    assert quality_module._near_table(stem) == table


# ---- item 3, continued: what a workbook unpacks to ---------------------------------------------
# A code review found an 800 KB .xlsx whose shared strings unpack to one 800-million-character
# string read as a header (24 s, 3.4 GB); inline strings in the sheet the same. The zip's parts
# are now measured before python-calamine opens the file; the limits are patched down here so
# the files stay tiny.

def _header_and_shared(path: Path, texts: list[str], refs: int = 1) -> Path:
    """A workbook whose header is inline and whose row 2 points ``refs`` cells at shared
    strings ``0 ..``, with ``texts`` (each an ``<si>``'s XML) as its shared strings part."""
    row = "".join(f'<c r="{_column_letters(i + 1)}2" t="s"><v>{i % len(texts)}</v></c>'
                  for i in range(refs))
    _raw_workbook(path, _header_row() + f'<row r="2">{row}</row>')
    sst = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + "".join(f"<si>{t}</si>" for t in texts) + "</sst>")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", sst)
    return path


def _column_letters(col: int) -> str:
    return workbook_module._column_letters(col)


def _refused(practice: Path, cfg, path: Path) -> str:
    if (practice / "appointments.csv").exists():
        (practice / "appointments.csv").unlink()
    with pytest.raises(IngestError) as err:
        pk.ingest(practice, cfg)
    return str(err.value)


def test_a_shared_strings_bomb_is_refused_before_it_is_unpacked(practice, cfg, monkeypatch):
    """The review's file, at 1/40 of its size: 20 MB of one letter packs 1,000 to 1."""
    path = _header_and_shared(practice / "appointments.xlsx", ["<t>" + "a" * 20_000_000 + "</t>"])
    assert path.stat().st_size < 100_000
    opened = []
    monkeypatch.setattr("python_calamine.CalamineWorkbook.from_path",
                        lambda *a: opened.append(a) or pytest.fail("opened"), raising=True)
    message = _refused(practice, cfg, path)
    assert message.startswith("appointments.xlsx: its part xl/sharedStrings.xml unpacks to "
                              "20,000,")
    assert "more than 100 times its packed size: a file built to fill the memory (a zip " \
        "bomb), not an export" in message
    assert not opened


@pytest.mark.parametrize("limit, total, part", [
    ("MAX_WORKBOOK_PART_BYTES", False, "its part xl/worksheets/sheet1.xml"),
    ("MAX_WORKBOOK_BYTES", True, None)])
def test_a_workbook_past_the_unpacked_limits_is_refused(practice, cfg, monkeypatch, limit,
                                                        total, part):
    path = _raw_workbook(practice / "appointments.xlsx", _header_row())
    with zipfile.ZipFile(path) as z:
        sheet = z.getinfo("xl/worksheets/sheet1.xml").file_size
        whole = sum(i.file_size for i in z.infolist())
    monkeypatch.setattr(workbook_module, limit, (whole if total else sheet) - 1)
    message = _refused(practice, cfg, path)
    if total:
        assert message.startswith(f"appointments.xlsx unpacks to more than {whole - 1:,} bytes")
    else:
        assert message.startswith(f"appointments.xlsx: {part} unpacks to {sheet:,} bytes, more "
                                  f"than the {sheet - 1:,} perfkit reads from one part")


def test_a_part_at_the_limits_is_read(practice, cfg, monkeypatch):
    path = _appointments_workbook(practice)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    monkeypatch.setattr(workbook_module, "MAX_WORKBOOK_PART_BYTES", max(i.file_size for i in infos))
    monkeypatch.setattr(workbook_module, "MAX_WORKBOOK_BYTES", sum(i.file_size for i in infos))
    assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_accepted"] == 3


def _forge_size(path: Path, part: str, size: int) -> None:
    """Write ``size`` as a part's unpacked size in its local and central headers."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 22:info.header_offset + 26] = size.to_bytes(4, "little")
    central = raw.index(part.encode(), raw.index(b"PK\x01\x02")) - 46
    assert raw[central:central + 4] == b"PK\x01\x02"
    raw[central + 24:central + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(raw))


def test_a_part_larger_than_its_stated_size_is_refused(practice, cfg):
    """Sizes a zip states are not trusted: python-calamine's reader unpacks past them."""
    path = _raw_workbook(practice / "appointments.xlsx",
                         _header_row() + '<row r="2">' + _cell("A2", "b" * 5_000) + "</row>")
    _forge_size(path, "xl/worksheets/sheet1.xml", 100)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size == 100
    assert _refused(practice, cfg, path) == (
        "appointments.xlsx: its part xl/worksheets/sheet1.xml unpacks to more than the size "
        "the file states for it: a damaged or forged file; open it in a spreadsheet program "
        "and save it again, or export the table as CSV, and run again")


def test_a_part_packed_as_excel_never_packs_is_refused(practice, cfg):
    path = _raw_workbook(practice / "appointments.xlsx", _header_row())
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data, zipfile.ZIP_BZIP2 if "sheet1" in name else
                       zipfile.ZIP_DEFLATED)
    assert _refused(practice, cfg, path).startswith(
        "appointments.xlsx: its part xl/worksheets/sheet1.xml is encrypted or packed in a way "
        "Excel does not write")


@pytest.mark.parametrize("where", ["shared", "inline"])
def test_one_long_text_is_refused_before_it_is_read(practice, cfg, monkeypatch, where):
    """One text's XML past the limit (patched down to 1,000 bytes) is refused before
    python-calamine reads it, in the shared strings or inline in the sheet."""
    monkeypatch.setattr(workbook_module, "MAX_VALUE_XML_BYTES", 1_000)
    path = practice / "appointments.xlsx"
    if where == "shared":
        _header_and_shared(path, ["<t>short</t>", "<t>" + "z" * 1_001 + "</t>", "<t/>"])
        what = "one text of its part xl/sharedStrings.xml"
    else:
        _raw_workbook(path, _header_row() + '<row r="2">' + _cell("A2", "z" * 1_001)
                      + "</row>")
        what = "one cell of its only sheet"
    assert _refused(practice, cfg, path).startswith(
        f"appointments.xlsx: {what} holds more than 1,000 bytes of XML")


def test_a_long_text_cut_by_markup_is_refused(practice, cfg, monkeypatch):
    """Rich-text runs of one shared string count together; CDATA (where ``<`` may be text)
    is refused outright."""
    monkeypatch.setattr(workbook_module, "MAX_VALUE_XML_BYTES", 1_000)
    path = practice / "appointments.xlsx"
    runs = "".join(f"<r><t>{'q' * 100}</t></r>" for _ in range(11))
    _header_and_shared(path, ["<t>short</t>", runs])
    assert "one text of its part xl/sharedStrings.xml holds more than 1,000 bytes" in \
        _refused(practice, cfg, path)
    _raw_workbook(path, _header_row() + '<row r="2"><c r="A2" t="inlineStr"><is>' + runs
                  + "</is></c></row>")
    assert "one cell of its only sheet holds more than 1,000 bytes" in _refused(practice, cfg,
                                                                                  path)
    _raw_workbook(path, _header_row() + '<row r="2"><c r="A2" t="inlineStr"><is><t><![CDATA['
                  + "<c " * 500 + "]]></t></is></c></row>")
    assert _refused(practice, cfg, path) == (
        "appointments.xlsx could not be read as an Excel workbook (ValueError); open it in a "
        "spreadsheet program and save it again, or export it as CSV")


def test_too_many_shared_strings_or_cells_are_refused(practice, cfg, monkeypatch):
    """python-calamine keeps every shared string and every cell written (a cell written 50
    million times over A2 is one cell of the grid and 50 million in memory)."""
    path = _header_and_shared(practice / "appointments.xlsx", ["<t>s</t>"] * 4)
    monkeypatch.setattr(workbook_module, "MAX_SHARED_STRINGS", 3)
    assert _refused(practice, cfg, path).startswith(
        "appointments.xlsx: its part xl/sharedStrings.xml holds more than 3 texts")
    monkeypatch.setattr(workbook_module, "MAX_SHARED_STRINGS", 4)
    monkeypatch.setattr(workbook_module, "MAX_SHEET_CELLS", 100)
    _raw_workbook(path, _header_row() + '<row r="2">' + _cell("A2", "x") * 92 + "</row>")
    assert _refused(practice, cfg, path).startswith(
        "appointments.xlsx: its only sheet holds more than 100 cells")


@pytest.mark.parametrize("n, row", [(1_000_001, 1), (1_000_001, 0), (1_000_000, None)])
def test_a_workbook_value_over_the_size_limit_is_refused(practice, cfg, n, row):
    """The CSV limit, 1,000,000 characters, holds for a workbook's cells: refused with the
    cell (a header's too)."""
    path = practice / "appointments.xlsx"
    cells = [_cell(f"{chr(65 + i)}2", "v") for i in range(len(HEADER))]
    head = _header_row()
    if row == 0:
        head = head.replace("</row>", _cell("J1", "w" * n) + "</row>")
    else:
        cells[2] = _cell("C2", "w" * n)
    _raw_workbook(path, head + '<row r="2">' + "".join(cells) + "</row>")
    if row is None:  # read: the file is, and its row is checked as any other
        (practice / "appointments.csv").unlink()
        assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_in"] == 1
        return
    expected = ("cell C2 (row 1 under the header, column 'client_id')" if row else
                "cell J1 (the header row)")
    assert _refused(practice, cfg, path) == (
        f"appointments.xlsx: its only sheet: {expected} holds a value longer than 1,000,000 "
        "characters, more than perfkit reads from one cell; shorten that cell (or export the "
        "table without that column) and run again")


def test_a_shared_text_shown_in_many_cells_counts_once_per_cell(practice, cfg, monkeypatch):
    """python-calamine copies a shared string into every cell that shows it: one text of 1 MB
    shown in 50,000 cells is 50 GB from a file of a few kilobytes. The limit (patched down to
    20,000 bytes) counts a text once per cell: 2,0xx bytes in 9 cells pass, in 12 do not."""
    monkeypatch.setattr(workbook_module, "MAX_SHARED_TEXT_BYTES", 20_000)
    path = practice / "appointments.xlsx"
    _header_and_shared(path, ["<t>" + "k" * 2_000 + "</t>"], refs=len(HEADER))
    (practice / "appointments.csv").unlink()
    assert pk.ingest(practice, cfg).quality["tables"]["appointments"]["rows_in"] == 1
    _header_and_shared(path, ["<t>" + "k" * 2_000 + "</t>"], refs=12)
    assert _refused(practice, cfg, path).startswith(
        "appointments.xlsx: the cells of its only sheet point at more than 20,000 bytes of "
        "shared text (a text counted once per cell that shows it)")


# --------------------------------------------------------------------------------------------
# A legacy .xls (item 3): read in a child process held to a memory and a time limit
# --------------------------------------------------------------------------------------------
# The helpers run in the child, which imports this module afresh: module-level, and the limits
# are passed as arguments (a monkeypatched global would not reach the child).

def _installed_xls() -> Path | None:
    """A real legacy .xls to read: the one statsmodels (a dependency) installs with its
    datasets (US macroeconomic series: no personal data, and nothing kept in this repository,
    which holds synthetic data only). None when a statsmodels release no longer ships it."""
    import statsmodels

    found = [p for p in Path(statsmodels.__file__).parent.glob("datasets/**/macrodata.xls")
             if p.is_file()]
    return found[0] if found else None


XLS = _installed_xls()


def _allocate(n: int) -> int:
    return len(bytearray(n))


def _sleep(seconds: float) -> str:
    import time

    time.sleep(seconds)
    return "woke"


def _die() -> None:
    os._exit(9)


def _refuse() -> None:
    raise IngestError("refused in the child")


def test_an_xls_child_over_its_memory_is_one_sentence():
    # 64 MB more than the child holds: 1 GB cannot be had, 1 MB can
    assert workbook_module._in_child(Path("x.xls"), _allocate, (1 << 20,), memory=64 << 20) \
        == 1 << 20
    with pytest.raises(IngestError) as err:
        workbook_module._in_child(Path("big.xls"), _allocate, (1 << 30,), memory=64 << 20)
    assert str(err.value).startswith("big.xls needs more memory than perfkit allows for one "
                                     "workbook (0.0625 GB)")
    assert str(err.value).endswith("export the table as CSV or .xlsx and run again")
    with pytest.raises(IngestError, match=r"^dead\.xls needs more memory"):  # died unanswered
        workbook_module._in_child(Path("dead.xls"), _die, ())
    with pytest.raises(IngestError, match="^refused in the child$"):  # its own sentence, as is
        workbook_module._in_child(Path("x.xls"), _refuse, ())


def test_an_xls_child_over_its_time_is_stopped():
    import time

    start = time.monotonic()
    with pytest.raises(IngestError) as err:
        workbook_module._in_child(Path("slow.xls"), _sleep, (60,), seconds=0.5)
    assert time.monotonic() - start < 20  # stopped, not waited out
    assert str(err.value).startswith("slow.xls needs more time than perfkit allows for one "
                                     "workbook (0.5 seconds)")
    assert workbook_module._in_child(Path("x.xls"), _sleep, (0,), seconds=30) == "woke"


def test_the_limits_are_those_documented():
    assert workbook_module.MAX_XLS_MEMORY_BYTES == 3 << 30
    assert workbook_module.MAX_XLS_SECONDS == 120


@pytest.mark.skipif(XLS is None, reason="statsmodels no longer installs macrodata.xls")
def test_a_real_xls_is_read_whole_through_the_child(monkeypatch):
    calls = []
    real = workbook_module._in_child

    def spy(path, func, args, **limits):
        calls.append((path.name, func.__name__))
        return real(path, func, args, **limits)

    monkeypatch.setattr(workbook_module, "_in_child", spy)
    frame, fractional, which = workbook_module._read_workbook(XLS, "Quarterly")
    assert calls == [("macrodata.xls", "_sheet_rows")]
    assert frame.shape == (251, 6)
    assert list(frame.columns)[:5] == ["DATE", "DPIC96", "FGCEC96", "GDPC96", "GPDIC96"]
    assert frame.iloc[0].tolist()[:5] == ["1947-01-01", "1218.6", "223.682", "1772.204",
                                          "189.365"]
    assert sorted(fractional) == [1, 2, 3, 4, 5]  # the numbers, not the dates
    assert which == {"number": 3, "of": 3, "named": "Quarterly", "hidden_before": 0}
    # no sheet named: the first visible one (a notes sheet), said as such
    frame, _, which = workbook_module._read_workbook(XLS, None)
    assert frame.shape == (277, 1)
    assert which == {"number": 1, "of": 3, "named": None, "hidden_before": 0}
    with pytest.raises(IngestError, match=r"^macrodata\.xls has no sheet 'Yearly' \(its "
                                          r"sheets: README, Monthly, Quarterly\)$"):
        workbook_module._read_workbook(XLS, "Yearly")
