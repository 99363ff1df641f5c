"""Dates from workbooks are calendar values (issue 25): a date cell, a date-time cell (at
midnight, or with its time), an Excel serial number and the same value as text all give the
local date and time the CSV of the same rows gives, for every import profile.

The expected starts are written by hand below, in the practice's time zone; every workbook
kind and the CSV are checked against them, and against each other (client pseudonyms too,
whose birth-date part may be a date cell or a serial)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

import perfkit as pk

from practice_data import CLINICIANS, write_table

TZ = "America/Chicago"
EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (the 1900 date system)

# (clinician name, client first, client last, birth date, local start or None for a date-only
# export, status): sessions on the first and last day of October 2026 (a Thursday and a
# Saturday), on Mondays, and at the hours a wrong time zone shifts across midnight
SESSIONS = [
    ("Ada Lovelace", "Zeb", "Quixote", dt.date(1961, 2, 3), dt.datetime(2026, 10, 1, 8, 0)),
    ("Ada Lovelace", "Zeb", "Quixote", dt.date(1961, 2, 3), dt.datetime(2026, 10, 5, 9, 0)),
    ("Ada Lovelace", "Pip", "Marchbanks", dt.date(1984, 12, 30),
     dt.datetime(2026, 10, 12, 18, 30)),
    ("Grace Hopper", "Pip", "Marchbanks", dt.date(1984, 12, 30),
     dt.datetime(2026, 10, 19, 23, 0)),
    ("Grace Hopper", "Ida", "Tarbell", dt.date(1990, 7, 4), dt.datetime(2026, 10, 31, 10, 0)),
    ("Grace Hopper", "Ida", "Tarbell", dt.date(1990, 7, 4), dt.datetime(2026, 11, 2, 7, 15)),
]


def serial(value: dt.date | dt.datetime) -> float:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return (value - EPOCH) / dt.timedelta(days=1)


def cell(value, kind: str, text: str):
    """A date value as a workbook cell of one kind."""
    if kind == "text":
        return text
    if kind == "serial":
        s = serial(value)
        return int(s) if s.is_integer() else s
    if kind == "date":
        return value.date() if isinstance(value, dt.datetime) else value
    if kind == "midnight":  # a date-time cell holding a date (Excel has no date type)
        return dt.datetime.combine(value, dt.time()) if not isinstance(value, dt.datetime) \
            else value
    return value  # "datetime": the cell as the value is


def write_sheet(path, header: list[str], rows: list[list], sheet: str = "Sheet1") -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
        for c in ws[ws.max_row]:
            if isinstance(c.value, float | int) and not isinstance(c.value, bool) \
                    and c.value > 20000:
                c.number_format = "General"  # a bare serial, as a copied column shows it
    book.save(path)


def us_time(t: dt.datetime) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02d} " \
           f"{'AM' if t.hour < 12 else 'PM'}"


def us_day(d: dt.date) -> str:
    return f"{d.month}/{d.day}/{d.year}"


# ---- one export per profile: (header, rows as (value-or-text) builders, files) -------------


def contract_export(folder, kind):
    header = ["appointment_id", "clinician_id", "client_id", "start", "duration_minutes",
              "status", "service"]
    ids = {"Ada Lovelace": "C1", "Grace Hopper": "C2"}
    rows = []
    for i, (who, first, last, _dob, start) in enumerate(SESSIONS):
        text = start.isoformat()
        rows.append([f"A{i}", ids[who], f"{first}-{last}",
                     text if kind == "csv" else cell(start, kind, text), 50, "attended",
                     "90834"])
    notes = [[f"A{i}", "signed"] for i in range(len(SESSIONS))]
    write_rows(folder, "appointments", header, rows, kind)
    write_rows(folder, "notes", ["appointment_id", "status"], notes, kind)
    return {}


def generic_export(folder, kind):
    header = ["Provider", "Client", "DOB", "Date", "Appointment Status", "Duration", "CPT",
              "Note Status"]
    rows = [[who, f"{first} {last}",
             us_day(dob) if kind == "csv" else cell(dob, kind if kind != "datetime"
                                                   else "midnight", us_day(dob)),
             us_time(start) if kind == "csv" else cell(start, kind, us_time(start)),
             "Show", 50, "90834", "Signed"]
            for who, first, last, dob, start in SESSIONS]
    write_rows(folder, "Appointment Report", header, rows, kind)
    return {"source": "generic"}


def simplepractice_export(folder, kind):
    attendance = [[f"{first} {last}", who,
                   us_time(start) if kind == "csv" else cell(start, kind, us_time(start)),
                   "Main Office", "Show"]
                  for who, first, last, _dob, start in SESSIONS]
    total = [f"{len(SESSIONS)} clients", "2 clinicians", "", "", f"{len(SESSIONS)} Show"]
    write_rows(folder, "client_attendance_report_2026", ["client_name", "clinician_name",
                                                        "date_of_service", "office_name",
                                                        "status"],
               [total, *attendance], kind)
    status = [[us_time(start) if kind == "csv" else cell(start, kind, us_time(start)),
               f"{first} {last}", who, "90834", "1", "LOCKED"]
              for who, first, last, _dob, start in SESSIONS]
    write_rows(folder, "appointment-status-report_2026", ["Date of Service", "Client",
                                                         "Clinician", "Billing Code", "Units",
                                                         "Progress Note Status"], status, kind)
    return {"source": "simplepractice", "exported_at": dt.datetime(2026, 11, 3, 9, 0)}


def therapynotes_export(folder, kind):
    header = ["Type", "Date", "First Name", "Last Name", "DOB", "Clinician Name",
              "Service Code", "Units", "Note Status"]
    rows = [["Appointment",
             us_day(start.date()) if kind == "csv" else cell(start.date(), kind if kind !=
                                                             "datetime" else "midnight",
                                                             us_day(start.date())),
             first, last,
             us_day(dob) if kind == "csv" else cell(dob, "date" if kind == "datetime"
                                                   else kind, us_day(dob)),
             who, "90834", 1, "Signed"]
            for who, first, last, dob, start in SESSIONS]
    name = "TherapyNotes Billing Transactions"
    write_rows(folder, name, header, rows, kind, sheet="Billing Transactions")
    if kind == "csv":  # the profile reads the workbook; a saved CSV is named in a column map
        (folder.parent / "map.yaml").write_text(
            f"files: {{appointments: {name}.csv, notes: {name}.csv}}\n")
        return {"source": "therapynotes", "column_map": folder.parent / "map.yaml"}
    return {"source": "therapynotes"}


def write_rows(folder, name, header, rows, kind, sheet="Sheet1"):
    if kind == "csv":
        pd.DataFrame(rows, columns=header).to_csv(folder / f"{name}.csv", index=False)
    else:
        write_sheet(folder / f"{name}.xlsx", header, rows, sheet)


EXPORTS = {"contract": contract_export, "generic": generic_export,
           "simplepractice": simplepractice_export, "therapynotes": therapynotes_export}
TIMED = {"contract": True, "generic": True, "simplepractice": True, "therapynotes": False}
KINDS = {True: ["datetime", "serial", "text"], False: ["date", "midnight", "serial", "text"]}


def ingest_export(tmp_path, profile, kind, key):
    folder = tmp_path / f"{profile}-{kind}" / "export"
    folder.mkdir(parents=True)
    write_table(folder, "clinicians", CLINICIANS)
    settings = EXPORTS[profile](folder, kind)
    cfg = pk.load_config(pseudonym_key_file=key, source=settings.get("source"))
    cfg = cfg.model_copy(update={k: v for k, v in settings.items()
                                 if k in ("exported_at",)})
    return pk.ingest(folder, cfg, column_map=settings.get("column_map"))


@pytest.mark.parametrize("profile", list(EXPORTS))
def test_workbook_dates_are_the_csv_dates(tmp_path, profile):
    key = tmp_path / "k.key"
    timed = TIMED[profile]
    expected = sorted(pd.Timestamp(s if timed else s.date(), tz=TZ)
                      for *_, s in SESSIONS)
    csv = ingest_export(tmp_path, profile, "csv", key)
    a_csv = csv["appointments"].sort_values("start").reset_index(drop=True)
    assert list(a_csv["start"]) == expected, "the CSV itself"
    assert (a_csv["start_date_only"] == (not timed)).all()
    cols = ["clinician_id", "client_id", "start", "start_date_only", "status"]
    for kind in KINDS[timed]:
        got = ingest_export(tmp_path, profile, kind, key)
        a = got["appointments"].sort_values("start").reset_index(drop=True)
        assert list(a["start"]) == expected, kind
        pd.testing.assert_frame_equal(a[cols], a_csv[cols], obj=f"{profile} {kind}")
        assert got.quality["rows_rejected"] == csv.quality["rows_rejected"], kind
        assert len(got["notes"]) == len(csv["notes"]) == len(SESSIONS), kind


def test_a_date_ending_in_two_digits_is_no_utc_offset(practice, cfg):
    """"2026-10-05" ends in "-05" and "10-05-2026" in "-2026": neither is an offset. A real
    offset after a time of day still converts."""
    from practice_data import APPOINTMENTS

    rows = [dict(APPOINTMENTS[0], start="2026-10-05"),
            dict(APPOINTMENTS[1], start="2026-10-12T10:00:00-05:00"),
            dict(APPOINTMENTS[2], start="2026-10-06T20:00:00Z")]
    write_table(practice, "appointments", rows)
    write_table(practice, "notes", [])
    got = pk.ingest(practice, cfg)["appointments"].set_index("appointment_id")["start"]
    assert got["A1"] == pd.Timestamp("2026-10-05 00:00", tz=TZ)
    assert got["A2"] == pd.Timestamp("2026-10-12 10:00", tz=TZ)  # CDT is UTC-5
    assert got["A3"] == pd.Timestamp("2026-10-06 15:00", tz=TZ)


def test_month_first_dates_with_dashes_are_read(practice, cfg):
    from practice_data import APPOINTMENTS

    rows = [dict(a, start=s) for a, s in zip(APPOINTMENTS, ["10-05-2026", "10-12-2026",
                                                             "10-13-2026"], strict=True)]
    write_table(practice, "appointments", rows)
    write_table(practice, "notes", [])
    got = pk.ingest(practice, cfg)["appointments"].set_index("appointment_id")["start"]
    assert got["A1"] == pd.Timestamp("2026-10-05", tz=TZ)
    assert got["A3"] == pd.Timestamp("2026-10-13", tz=TZ)


def test_a_workbook_column_of_date_cells_with_a_few_typed_as_text(tmp_path):
    """A column of date cells where someone typed a date as text (US form, 10/19/2026) reads
    both; a stray text date that reads as well day first (10/1/2026) would be rejected."""
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    header = ["Provider", "Client", "DOB", "Date", "Appointment Status", "Duration", "CPT",
              "Note Status"]
    rows = [[who, f"{first} {last}", dob, start if i != 3 else us_time(start), "Show", 50,
             "90834", "Signed"] for i, (who, first, last, dob, start) in enumerate(SESSIONS)]
    write_sheet(folder / "Appointment Report.xlsx", header, rows)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k", source="generic")
    got = pk.ingest(folder, cfg)
    assert sorted(got["appointments"]["start"]) == sorted(
        pd.Timestamp(s, tz=TZ) for *_, s in SESSIONS)
