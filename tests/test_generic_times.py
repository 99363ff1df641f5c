"""Dates and times as exports print them (issue 30, item 3): a date column and a time column
combined, time ranges giving start and end, and a column of times of day never taken as the
start. Tiny hand-built exports; every expected value is worked out by hand (the practice's
time zone is America/Chicago: CDT, UTC-5, until the clocks go back on 2026-11-01)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import numpy as np
import openpyxl
import pandas as pd
import pytest

import perfkit as pk
from perfkit.ingest import IngestError

from practice_data import TZ, by_row, ingest_rows, reasons, ts, write_table
from practice_data import appointment_row as row


def test_a_date_column_and_a_time_column_are_one_start(practice, cfg):
    rows = [
        row("10/5/2026", "9:00 AM"),
        row("10/6/2026", "9:00am"),
        row("10/7/2026", "09:00"),
        row("10/8/2026", "14:30:00"),
        row("10/9/2026", "9 AM"),
        row("10/12/2026", "12:15 PM"),
        row("10/13/2026", "12:15 a.m."),
        row("10/14/2026", "0.625"),  # an Excel day fraction: 15:00
        row("10/15/2026", ""),  # no time: a date-only start, as before
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.start.tolist() == [
        ts("2026-10-05 09:00"), ts("2026-10-06 09:00"), ts("2026-10-07 09:00"),
        ts("2026-10-08 14:30"), ts("2026-10-09 09:00"), ts("2026-10-12 12:15"),
        ts("2026-10-13 00:15"), ts("2026-10-14 15:00"), ts("2026-10-15 00:00")]
    assert a.start_date_only.tolist() == [False] * 8 + [True]
    q = ing.quality["tables"]["appointments"]
    assert q["rows_in"] == 9 and q["rows_accepted"] == 9 and q["rows_rejected"] == 0
    assert q["adjustments"]["start_from_date_and_time"] == 8
    assert q["adjustments"]["start_date_only"] == 1
    assert "end_from_time_range" not in q["adjustments"]  # zero counts are left out


def test_a_time_range_gives_start_end_and_length(practice, cfg):
    rows = [
        row("10/5/2026", "9:00 AM - 9:53 AM", "attended"),
        row("10/6/2026", "9:00-9:53", "attended"),
        row("10/7/2026", "2:00 PM \u2013 2:45 PM", "attended"),  # an en dash
        row("10/8/2026", "14:00 to 15:00", "attended"),
        row("10/9/2026", "11:30 PM - 12:20 AM", "attended"),  # ends the next day
        row("10/12/2026", "11:00 - 12:30 PM", "attended"),  # the first is 11:00 AM
        row("10/13/2026", "9:00 - 9:53 PM", "attended"),  # the first is 9:00 PM
        # an end column of its own wins over the range's end
        row("10/14/2026", "9:00 AM - 9:53 AM", "attended", end="2026-10-14T10:00"),
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.start.tolist() == [
        ts("2026-10-05 09:00"), ts("2026-10-06 09:00"), ts("2026-10-07 14:00"),
        ts("2026-10-08 14:00"), ts("2026-10-09 23:30"), ts("2026-10-12 11:00"),
        ts("2026-10-13 21:00"), ts("2026-10-14 09:00")]
    assert a.duration_minutes.tolist() == [53, 53, 45, 60, 50, 90, 53, 60]
    assert a.end.tolist() == [
        ts("2026-10-05 09:53"), ts("2026-10-06 09:53"), ts("2026-10-07 14:45"),
        ts("2026-10-08 15:00"), ts("2026-10-10 00:20"), ts("2026-10-12 12:30"),
        ts("2026-10-13 21:53"), ts("2026-10-14 10:00")]
    assert not a.duration_estimated.any()
    q = ing.quality["tables"]["appointments"]
    assert q["rows_accepted"] == 8
    assert q["adjustments"]["start_from_date_and_time"] == 8
    assert q["adjustments"]["end_from_time_range"] == 7  # not the row with its own end
    assert q["adjustments"]["duration_from_end"] == 8


def test_an_end_column_of_times_of_day_is_on_the_start_day(practice, cfg):
    rows = [
        row("10/13/2026", "9:00 AM", "attended", end="9:53 AM"),
        row("10/14/2026", "11:30 PM", "attended", end="12:20 AM"),  # the next day
        row("10/15/2026", "2:00 PM", "attended", end="2:45 PM"),
        row("10/16/2026", "1:00 PM", "attended", end="2026-10-16T13:50"),  # a date-time end
        row("10/19/2026", "", "no_show", end="9:53 AM"),  # no time of day to place it on
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.end.tolist() == [ts("2026-10-13 09:53"), ts("2026-10-15 00:20"),
                              ts("2026-10-15 14:45"), ts("2026-10-16 13:50")]
    assert a.duration_minutes.tolist() == [53, 50, 45, 50]
    assert reasons(ing) == {5: ("end", "unparseable_date")}
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    assert adj["end_time_on_start_day"] == 3
    assert adj["start_from_date_and_time"] == 4
    assert "end_from_time_range" not in adj


def test_a_range_inside_the_start_column(practice, cfg):
    rows = [
        row("10/13/2026 9:00 AM - 9:53 AM", status="attended"),
        row("10/14/2026 11:30 PM - 12:15 AM", status="attended"),
        row("10/15/2026 2:00 PM \u2013 3:00 PM", status="attended"),
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-13 09:00"), ts("2026-10-14 23:30"),
                                ts("2026-10-15 14:00")]
    assert a.end.tolist() == [ts("2026-10-13 09:53"), ts("2026-10-15 00:15"),
                              ts("2026-10-15 15:00")]
    assert a.duration_minutes.tolist() == [53, 45, 60]
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    assert adj["end_from_time_range"] == 3
    assert "start_from_date_and_time" not in adj  # the start column had its times


def test_an_iso_utc_offset_is_no_range(practice, cfg):
    ing = ingest_rows(practice, cfg, [row("2026-10-05T10:00-04:00"),
                                      row("2026-10-06T10:00 - 10:50", status="attended")])
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-05 09:00"), ts("2026-10-06 10:00")]
    assert a.duration_minutes.tolist()[1] == 50


def test_an_unreadable_time_rejects_its_row_and_the_counts_add_up(practice, cfg):
    rows = [
        row("10/5/2026", "9:00 AM"),
        row("10/6/2026", "nine"),
        row("10/7/2026", "25:00"),
        row("10/8/2026", "13:00 PM"),
        row("10/9/2026", "9:00 AM - later"),
        row("10/13/2026"),
        row("3/8/2026", "2:30 AM"),  # skipped when the clocks sprang forward
        row("11/1/2026", "1:30 AM"),  # repeated when they went back: the first (CDT)
        row("10/32/2026", "9:00 AM"),  # the date itself is wrong: that is what is said
    ]
    ing = ingest_rows(practice, cfg, rows)
    assert reasons(ing) == {
        2: ("time", "unparseable_time"), 3: ("time", "unparseable_time"),
        4: ("time", "unparseable_time"), 5: ("time", "unparseable_time"),
        7: ("start", "nonexistent_local_time"), 9: ("start", "unparseable_date")}
    rej = ing.rejects.set_index("row")
    assert rej.loc[2, "detail"] == ("time 'nine' is not a time of day (such as 9:00 AM, 14:30 "
                                    "or 9:00 AM - 9:53 AM)")
    assert rej.loc[7, "detail"] == ("start '2026-03-08T02:30:00' does not exist in "
                                    "America/Chicago (clocks sprang forward)")
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-05 09:00"), ts("2026-10-13 00:00"),
                                pd.Timestamp("2026-11-01 01:30-05:00").tz_convert(TZ)]
    assert a.start_date_only.tolist() == [False, True, False]
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (9, 3, 6)
    assert q["reasons"] == {"nonexistent_local_time": 1, "unparseable_date": 1,
                            "unparseable_time": 4}
    assert q["adjustments"]["start_from_date_and_time"] == 2
    assert q["adjustments"]["start_date_only"] == 1
    assert q["adjustments"]["start_ambiguous_local_time_first_occurrence"] == 1


def write_book(path, header, rows, formats=None):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    book.save(path)


WORKBOOK_MAP = """
columns:
  appointments: {Session Date: start, Start Time: start, Clinician: clinician_id,
                 Client: client_id, Attendance: status, Time: time}
"""


def test_workbook_date_cells_and_time_cells(practice, cfg, tmp_path):
    """Real .xlsx cells: a date cell and a time cell (read as "09:00:00"), a day fraction
    typed as a number, and a date-time cell, which keeps its own time of day. Two headers read
    as the start, one of dates and one of times only: the second is the time."""
    (practice / "appointments.csv").unlink()
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    write_book(practice / "appointments.xlsx",
               ["Session Date", "Start Time", "End Time", "Clinician", "Client", "Attendance"],
               [[dt.date(2026, 10, 5), dt.time(9, 0), dt.time(9, 53), "C1", "X1", "attended"],
                [dt.datetime(2026, 10, 6), 0.625, 0.65625, "C1", "X1", "attended"],
                [dt.datetime(2026, 10, 7, 10, 30), dt.time(9, 0), dt.time(11, 15), "C1", "X1",
                 "attended"],
                [dt.date(2026, 10, 8), dt.time(16, 45, 30), None, "C1", "X1", "no_show"]],
               {"B2": "h:mm AM/PM", "B5": "h:mm:ss", "C2": "h:mm AM/PM"})
    cmap = tmp_path / "map.yaml"
    cmap.write_text(WORKBOOK_MAP.replace(", Time: time", ", End Time: end"))
    ing = pk.ingest(practice, cfg, column_map=cmap)
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-05 09:00"), ts("2026-10-06 15:00"),
                                ts("2026-10-07 10:30"), ts("2026-10-08 16:45:30")]
    assert not a.start_date_only.any()
    # 0.65625 of a day is 15:45; the date-time cell's own 10:30 to 11:15
    assert a.duration_minutes.tolist()[:3] == [53, 45, 45]
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    assert adj["start_from_date_and_time"] == 3  # the date-time cell kept its own time
    assert adj["end_time_on_start_day"] == 3
    assert ing.quality["tables"]["appointments"]["rows_rejected"] == 0


def test_a_workbook_time_range_column(practice, cfg, tmp_path):
    (practice / "appointments.csv").unlink()
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    write_book(practice / "appointments.xlsx",
               ["Date", "Time", "Clinician", "Client", "Attendance"],
               [[dt.date(2026, 10, 5), "9:00 AM - 9:53 AM", "C1", "X1", "attended"],
                [dt.date(2026, 10, 6), "1:00 PM - 1:45 PM", "C1", "X1", "attended"]])
    cmap = tmp_path / "map.yaml"
    cmap.write_text("columns: {appointments: {Date: start, Time: time, Clinician: clinician_id,"
                    " Client: client_id, Attendance: status}}\n")
    a = by_row(pk.ingest(practice, cfg, column_map=cmap))
    assert a.start.tolist() == [ts("2026-10-05 09:00"), ts("2026-10-06 13:00")]
    assert a.duration_minutes.tolist() == [53, 45]


TIME_ONLY = ("appointments.csv: column 'Start Time' holds times of day, not dates: the "
             "appointments need their dates too; name the column of dates as start and this "
             "one as time in the column map")


@pytest.fixture
def time_only(practice, tmp_path):
    """An Owl-shaped export whose column map reads only the time-only column as the start."""
    frame = pd.DataFrame({"Session Date": ["10/13/2026", "10/14/2026"],
                          "Start Time": ["9:00 AM", "10:00 AM"],
                          "clinician_id": ["C1", "C1"], "client_id": ["X1", "X2"],
                          "status": ["attended", "no_show"], "duration_minutes": ["50", ""]})
    frame.to_csv(practice / "appointments.csv", index=False)
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    cmap = tmp_path / "map.yaml"
    cmap.write_text("columns: {appointments: {Start Time: start}}\n")
    return practice, cmap


def test_a_time_only_start_column_stops_with_one_sentence(time_only, cfg):
    practice, cmap = time_only
    with pytest.raises(IngestError) as err:
        pk.ingest(practice, cfg, column_map=cmap)
    assert str(err.value) == TIME_ONLY
    # with the date column read as the start too, the time-only one is its time
    cmap.write_text("columns: {appointments: {Start Time: start, Session Date: start}}\n")
    a = by_row(pk.ingest(practice, cfg, column_map=cmap))
    assert a.start.tolist() == [ts("2026-10-13 09:00"), ts("2026-10-14 10:00")]


def test_validate_stops_on_a_time_only_start_and_says_what_it_combined(time_only, tmp_path):
    practice, cmap = time_only
    env = {"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k.key"), "PATH": "/usr/bin:/bin",
           **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    cmd = [sys.executable, "-m", "perfkit.cli", "validate", str(practice), "--column-map",
           str(cmap)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"perfkit: {TIME_ONLY}"
    cmap.write_text("columns: {appointments: {Start Time: time, Session Date: start}}\n")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert proc.returncode == 1, proc.stderr  # read; this tiny export has no notes to run on
    assert "no row was accepted in notes (notes.csv)" in proc.stderr
    assert ("appointments: 2 rows with the start read from a date and a time of day in "
            "separate columns (a local time in the practice's time zone)") in proc.stdout


def test_the_column_of_dates_is_the_start_whatever_it_is_read_as(time_only, cfg):
    practice, cmap = time_only
    # the two swapped: the dates are still the start, the times of day its time
    cmap.write_text("columns: {appointments: {Start Time: start, Session Date: time}}\n")
    a = by_row(pk.ingest(practice, cfg, column_map=cmap))
    assert a.start.tolist() == [ts("2026-10-13 09:00"), ts("2026-10-14 10:00")]
    # a lone column read as the time that holds dates and times is the start
    frame = pd.read_csv(practice / "appointments.csv", dtype=str)
    frame["Start Time"] = ["10/13/2026 9:00 AM", "10/14/2026 10:00 AM"]
    frame.drop(columns="Session Date").to_csv(practice / "appointments.csv", index=False)
    cmap.write_text("columns: {appointments: {Start Time: time}}\n")
    ing = pk.ingest(practice, cfg, column_map=cmap)
    assert by_row(ing).start.tolist() == [ts("2026-10-13 09:00"), ts("2026-10-14 10:00")]
    assert "start_from_date_and_time" not in ing.quality["tables"]["appointments"][
        "adjustments"]


@pytest.mark.parametrize("value, expected", [
    ("9:00 AM", (9 * 3600, None)), ("9:00 a.m.", (9 * 3600, None)),
    ("12:00 AM", (0, None)), ("12:30 PM", (12 * 3600 + 1800, None)),
    ("0.5", (12 * 3600, None)), ("1899-12-30T09:15:00", (9 * 3600 + 900, None)),
    ("10/13/2026 9:00 AM", (9 * 3600, None)),  # a date-time's own time of day
    ("9:00 AM to 9:53 AM", (9 * 3600, 9 * 3600 + 53 * 60)),
    ("13:00 PM", None), ("9", None), ("9:60", None), ("24:00", None),
    ("2026-10-13T09:00-05:00", None),  # an offset is no local time of day
    ("9:00 AM" + " " * 200, (9 * 3600, None)), ("1" * 200 + " 9:00", None),
])
def test_times_of_day_as_exports_print_them(value, expected):
    from perfkit.ingest.times import _read_time

    got = _read_time(value)
    if expected is None:
        assert got is None
    else:
        assert got[0] == expected[0]
        assert (np.isnan(got[1]) if expected[1] is None else got[1] == expected[1])
