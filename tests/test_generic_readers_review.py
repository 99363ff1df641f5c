"""Issue 30 review fixes, the readers: a title above the header (CSV and workbook), a workbook
whose first sheet is the report's criteria, and a CSV separated by semicolons or tabs. Tiny
hand-built exports; expected values counted by hand."""

from __future__ import annotations

import json

import openpyxl
import pytest

import perfkit as pk
from perfkit.cli import _summary
from perfkit.ingest import IngestError

from practice_data import CLINICIANS, GENERIC_ROWS, check_generic_rows, write_table

HEADERS = ["Staff Member", "Patient", "Service Date", "Appointment State", "Duration (mins)",
           "Note Status"]
ROWS = [
    *GENERIC_ROWS,
    # the 5th row under the header: a date that reads as none, rejected
    ["Grace Hopper", "Alan Turing", "not a date", "Arrived", "53", "Signed"],
]
TITLE = "Sunnyvale Counseling - Dr. Quimby - Appointments Report"  # never data, never quoted


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(pseudonym_key_file=tmp_path / "k", source="generic")


def folder(tmp_path):
    f = tmp_path / "e"
    f.mkdir()
    write_table(f, "clinicians", CLINICIANS)
    return f


def csv_text(rows, sep=","):
    return "".join(sep.join(r) + "\n" for r in rows)


def check(data, file_row_of_bad: int):
    """The four good rows read as in test_generic_headers; the bad one rejected at the row
    rejects.csv gives it: its place in the file, less one (as with a header on row 1)."""
    check_generic_rows(data)
    a = data.tables["appointments"]
    rej = data.rejects[data.rejects["table"] == "appointments"]
    assert list(rej["row"]) == [file_row_of_bad - 1]
    assert list(a["source_row"]) == [file_row_of_bad - 5 + i for i in range(4)]
    q = data.quality["tables"]["appointments"]
    assert q["rows_in"] == 5  # the title rows are not rows of the table
    said = json.dumps(data.quality) + data.rejects.to_csv()
    assert "Sunnyvale" not in said and "Quimby" not in said


def notes_of(data) -> str:
    return _summary(data.quality, data.rejects, 3, "x")


# ---- 1. a title above the header -------------------------------------------------------------

def test_a_csv_title_and_an_empty_line_above_the_header(tmp_path, cfg):
    f = folder(tmp_path)
    (f / "Appointments Report.csv").write_text(
        f"{TITLE},,,,,\n,,,,,\n" + csv_text([HEADERS, *ROWS]))
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=8)  # title, empty, header, 4 rows: the bad one is row 8
    assert data.quality["tables"]["appointments"]["adjustments"]["title_rows_above_header"] == 2
    assert "appointments: the header is on row 3; the 2 rows above it were read as a title" \
        in notes_of(data)


def test_a_csv_title_of_one_field_and_a_date_range(tmp_path, cfg):
    """A title line with fewer fields than the table (no trailing commas) is no ragged row."""
    f = folder(tmp_path)
    (f / "report.csv").write_text(f"{TITLE}\nDate range: 10/1/2026 - 10/31/2026\n\n"
                                  + csv_text([HEADERS, *ROWS]))
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=9)
    assert "the header is on row 4; the 3 rows above it were read as a title" in notes_of(data)


def _book(path, sheets: dict[str, list[list]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for r in rows:
            ws.append([None if v == "" else v for v in r])
    book.save(path)


def test_a_workbook_with_three_title_rows(tmp_path, cfg):
    f = folder(tmp_path)
    _book(f / "Appointments Report.xlsx", {"Appointments": [
        [TITLE], ["Date range: 10/1/2026 - 10/31/2026"], [], HEADERS, *ROWS]})
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=9)
    assert data.quality["tables"]["appointments"]["adjustments"]["title_rows_above_header"] == 3
    assert "the header is on row 4; the 3 rows above it were read as a title" in notes_of(data)


def test_a_file_whose_header_is_its_first_row_is_read_as_before(tmp_path, cfg):
    f = folder(tmp_path)
    (f / "report.csv").write_text(csv_text([HEADERS, *ROWS]))
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=6)
    assert "title_rows_above_header" not in data.quality["tables"]["appointments"]["adjustments"]
    assert "read as a title" not in notes_of(data)


def test_a_full_row_above_the_header_is_not_taken_for_a_title(tmp_path, cfg):
    """A row above the headers that fills as many cells as they do may be data: the file
    stops as it did, and nothing of that row is quoted."""
    f = folder(tmp_path)
    (f / "appointments.csv").write_text(csv_text([ROWS[0], HEADERS, *ROWS[1:]]))
    with pytest.raises(IngestError) as err:
        pk.ingest(f, cfg)
    assert "Zeb" not in str(err.value) and "Lovelace" not in str(err.value)


def test_a_header_further_down_than_the_tenth_row_is_not_searched_for(tmp_path, cfg):
    f = folder(tmp_path)
    (f / "appointments.csv").write_text(f"{TITLE}\n" * 10 + csv_text([HEADERS, *ROWS]))
    with pytest.raises(IngestError):
        pk.ingest(f, cfg)


def test_a_ragged_row_under_a_title_is_named_by_its_place_in_the_file(tmp_path, cfg):
    f = folder(tmp_path)
    rows = [HEADERS, *ROWS[:2], [*ROWS[2], "extra"], *ROWS[3:]]
    (f / "appointments.csv").write_text(f"{TITLE}\n\n" + csv_text(rows))
    with pytest.raises(IngestError, match=r"row 5 has 7 fields where the header has 6 \(a "
                                          r"comma inside a value needs quotes\)"):
        pk.ingest(f, cfg)


# ---- 2. the sheet with the table -----------------------------------------------------------

CRITERIA = [["Report"], ["Appointments Report"], ["Practice: Sunnyvale Counseling"]]


def test_the_sheet_with_the_tables_headers_is_read_when_the_first_is_criteria(tmp_path, cfg):
    f = folder(tmp_path)
    _book(f / "Appointments Report.xlsx",
          {"Report Criteria": CRITERIA, "Appointments": [HEADERS, *ROWS]})
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=6)
    sheet = data.quality["tables"]["appointments"]["sheet"]
    assert sheet["number"] == 2 and sheet["by_headers"] is True
    assert sheet["words"].startswith("sheet 2 of 2 (the one with the table's columns")
    assert "read from its sheet 2 of 2" in notes_of(data)
    assert "Appointments'" not in json.dumps(data.quality)  # a sheet's own name: never copied


def test_the_sheet_with_the_headers_may_have_a_title_too(tmp_path, cfg):
    f = folder(tmp_path)
    _book(f / "r.xlsx", {"Report Criteria": CRITERIA, "Appointments": [[TITLE], HEADERS, *ROWS]})
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=7)
    assert data.quality["tables"]["appointments"]["sheet"]["number"] == 2


def test_two_sheets_with_the_headers_ask_for_one_to_be_named(tmp_path, cfg):
    f = folder(tmp_path)
    _book(f / "r.xlsx", {"Report Criteria": CRITERIA, "May": [HEADERS, *ROWS[:2]],
                         "June": [HEADERS, *ROWS[2:]]})
    with pytest.raises(IngestError, match=r"2 of its sheets have the columns of the "
                                          r"appointments table \('May' and 'June'\); name the "
                                          r"one to read in the column map"):
        pk.ingest(f, cfg)


def test_a_sheet_named_in_the_column_map_is_read_even_without_the_headers(tmp_path, cfg):
    f = folder(tmp_path)
    _book(f / "r.xlsx", {"Report Criteria": CRITERIA, "Appointments": [HEADERS, *ROWS]})
    cmap = tmp_path / "map.yaml"
    cmap.write_text("sheets: {appointments: Report Criteria}\n")
    with pytest.raises(IngestError):  # it is the user's choice: not overridden
        pk.ingest(f, cfg, column_map=cmap)


# ---- 3. semicolons and tabs ----------------------------------------------------------------

@pytest.mark.parametrize("sep,key", [(";", "separated_by_semicolons"), ("\t", "separated_by_tabs")])
def test_a_csv_separated_by_semicolons_or_tabs(tmp_path, cfg, sep, key):
    f = folder(tmp_path)
    # a comma in every client's name ("Quixote, Zeb"): commas are as regular as the real
    # separator
    rows = [[r[0], ", ".join(r[1].split()[::-1]), *r[2:]] for r in ROWS]
    (f / "appointments.csv").write_text(csv_text([HEADERS, *rows], sep))
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=6)
    assert data.quality["tables"]["appointments"]["adjustments"][key] == 5
    assert "appointments: 5 rows read with " + ("semicolons" if sep == ";" else "tabs") \
        + " between values (not commas)" in notes_of(data)


def test_a_semicolon_csv_with_a_title(tmp_path, cfg):
    f = folder(tmp_path)
    (f / "appointments.csv").write_text(f"{TITLE}\n\n" + csv_text([HEADERS, *ROWS], ";"))
    data = pk.ingest(f, cfg)
    check(data, file_row_of_bad=8)


def test_a_ragged_row_of_a_semicolon_csv_says_semicolon(tmp_path, cfg):
    f = folder(tmp_path)
    rows = [HEADERS, *ROWS[:2], [*ROWS[2], "extra"], *ROWS[3:]]
    (f / "appointments.csv").write_text(csv_text(rows, ";"))
    with pytest.raises(IngestError, match=r"row 3 has 7 fields where the header has 6 \(a "
                                          r"semicolon inside a value needs quotes\)"):
        pk.ingest(f, cfg)


def test_a_semicolon_csv_without_the_tables_headers_says_its_own_headers(tmp_path, cfg):
    """No delimiter gives the table's headers: the sniffed one still names the columns
    found (not one column holding the whole header row)."""
    f = folder(tmp_path)
    (f / "appointments.csv").write_text(csv_text([HEADERS[1:], *[r[1:] for r in ROWS]], ";"))
    with pytest.raises(IngestError, match=r"contract columns found: start, status, "
                                          r"duration_minutes;"):
        pk.ingest(f, cfg, column_map=None)
