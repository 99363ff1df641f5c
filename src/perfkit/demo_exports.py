"""The demo practice in the shapes of real EHR exports (``perfkit demo --as NAME``).

:func:`export_as` rewrites a contract-format practice (the demo that :mod:`perfkit.demo`
generates) as an EHR would export it, for an import profile to read back: clinician and client
names instead of ids, billing codes, US dates, note statuses as of the export instant, summary
rows and workbooks. One writer per shape: the generic profile's report, SimplePractice's two
reports (:func:`_simplepractice`), TherapyNotes' billing workbook, and the appointment reports
of Jane, Owl Practice, TheraNest and Tebra (:data:`SYSTEM_SHAPES`, :func:`_system_report`).
Nothing here is real.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .demo import DemoSettings

__all__ = ["export_as", "EXPORT_SHAPES", "SYSTEM_SHAPES", "DEMO_TZ"]

_GENERIC_STATUS = {"attended": "Kept", "no_show": "No Show", "late_cancel": "Late Cancel",
                   "cancelled": "Canceled", "clinician_cancelled": "Clinician Canceled",
                   "scheduled": "Scheduled"}
EXPORT_SHAPES = ("generic", "simplepractice", "therapynotes", "jane", "owl", "theranest",
                 "tebra")
# the appointment reports of systems the generic profile reads (docs/data_contract.md, "Which
# report to download"): written by _system_report
SYSTEM_SHAPES = ("jane", "owl", "theranest", "tebra")
_SP_STATUS = {"attended": "Show", "no_show": "No Show", "late_cancel": "Late Canceled",
              "cancelled": "Canceled", "clinician_cancelled": "Clinician Canceled",
              "scheduled": "Show"}  # SimplePractice shows a booked appointment as Show
DEMO_TZ = DemoSettings.timezone  # the demo's appointment times are local to it


def _us_time(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02d} {t:%p}"


def _us_day(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year}"


def export_as(shape: str, src: str | Path, dest: str | Path, as_of: dt.date | None = None
              ) -> Path:
    """Write a contract-format practice (the demo) in the shape of an EHR export, for an import
    profile (``perfkit demo --as NAME``): clinician and client names instead of ids, no
    appointment ids, billing codes, US dates, note statuses as of local midnight of ``as_of``
    (default: the demo's period end, which is also perfkit's default export instant), a
    summary row, a workbook. The roster (clinicians.csv) and
    the other contract tables are written as they are, with clients named instead of numbered.
    Every file written is stamped as saved at that midnight, so ``perfkit init``, which takes
    the export instant from the files' save time, reads the instant the note statuses describe.
    """
    src = Path(src)
    if as_of is None and (src / "demo_truth.json").is_file():  # the demo's own period end
        as_of = dt.date.fromisoformat(json.loads((src / "demo_truth.json").read_text(
            encoding="utf-8"))["settings"]["end"])
    before = {p: p.stat().st_mtime_ns for p in Path(dest).glob("*") if p.is_file()}
    out = _export_as(shape, src, dest, as_of)
    if as_of is not None:
        stamp = pd.Timestamp(as_of, tz=DEMO_TZ).timestamp()
        for p in out.glob("*"):
            if p.is_file() and before.get(p) != p.stat().st_mtime_ns:
                os.utime(p, (stamp, stamp))
    return out


def _export_as(shape: str, src: Path, dest: str | Path, as_of: dt.date | None) -> Path:
    if shape not in EXPORT_SHAPES:
        raise ValueError(f"unknown export shape {shape!r} (known: {', '.join(EXPORT_SHAPES)})")
    src, dest = Path(src), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    read = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
            for p in src.glob("*.csv")}
    a, notes, clin = read["appointments"], read["notes"], read["clinicians"]
    who = a.drop_duplicates("client_id").set_index("client_id")[["client_name", "client_dob"]]
    names = clin.set_index("clinician_id")["name"]
    start = pd.to_datetime(a["start"])
    signed = pd.to_datetime(a["appointment_id"].map(notes.set_index("appointment_id")[
        "signed_at"]).replace("", None), utc=True)
    if as_of is None and (src / "demo_truth.json").is_file():  # the demo's own period end
        as_of = dt.date.fromisoformat(json.loads((src / "demo_truth.json").read_text(
            encoding="utf-8"))["settings"]["end"])
    cutoff = pd.Timestamp(as_of, tz=DEMO_TZ) if as_of else signed.max()
    has_note = a["appointment_id"].isin(notes["appointment_id"])
    note = np.where(signed.notna() & (signed <= cutoff), "Signed",
                    np.where(has_note, "Draft", "No Note"))
    for name, frame in read.items():  # the roster and the other tables, clients by name
        if name in ("appointments", "notes"):
            continue
        if shape in SYSTEM_SHAPES and name != "clinicians":
            # these systems know clinicians by name: so do the practice's other tables, and a
            # roster perfkit init writes (generated ids) matches them by name
            for col in ("clinician_id", "supervisee_id", "supervisor_id"):
                if col in frame:
                    frame[col] = frame[col].map(names).fillna(frame[col])
        if "client_id" in frame and shape in ("simplepractice", "jane", "owl", "theranest"):
            # these reports name clients without a birth date: the other tables too
            frame = frame.assign(Client=frame["client_id"].map(_sp_names(a))
                                 ).drop(columns="client_id")
        elif "client_id" in frame:
            frame = frame.assign(Client=frame["client_id"].map(who["client_name"]),
                                 DOB=frame["client_id"].map(who["client_dob"])
                                 ).drop(columns="client_id")
            if shape == "therapynotes":
                first_last = frame["Client"].str.split(" ", n=1, expand=True)
                frame = frame.drop(columns="Client").assign(**{
                    "First Name": first_last[0], "Last Name": first_last[1]})
        frame.to_csv(dest / f"{name}.csv", index=False)
    if shape == "generic":
        out = pd.DataFrame({
            "Provider": a["clinician_id"].map(names),
            "Client": a["client_name"], "DOB": pd.to_datetime(a["client_dob"]).map(_us_day),
            "Date": start.map(_us_time),
            "Appointment Status": a["status"].map(_GENERIC_STATUS),
            "Duration": a["duration_minutes"], "CPT": a["service"], "Note Status": note,
            "Client Email": a.get("client_email", ""),
        })
        total = pd.DataFrame([["Total"] + [""] * (out.shape[1] - 1)], columns=out.columns)
        pd.concat([total, out]).to_csv(dest / "Appointment Report.csv", index=False)
        return dest
    if shape == "simplepractice":
        _simplepractice(a, start, names, note, dest)
        return dest
    if shape in SYSTEM_SHAPES:
        _system_report(shape, a, start, names, note, dest)
        return dest
    held = a["status"] == "attended"
    first_last = a["client_name"].str.split(" ", n=1, expand=True)
    rows = pd.DataFrame({
        "Type": "Appointment", "Date": start.dt.date, "First Name": first_last[0],
        "Last Name": first_last[1], "DOB": pd.to_datetime(a["client_dob"]).dt.date,
        "Clinician Name": a["clinician_id"].map(names), "Clinician NPI": "",
        "Appointment Type": "Psychotherapy", "Service Code": a["service"], "Units": 1,
        "Note Status": note, "Patient Balance": 0.0,
    })[held.to_numpy()]
    payments = rows.iloc[::7].assign(**{"Type": "Patient Payment", "Service Code": "",
                                        "Units": None, "Note Status": ""})
    book = pd.concat([rows, payments]).sort_values(["Date", "Clinician Name"], kind="stable")
    book.to_excel(dest / "TherapyNotes Billing Transactions.xlsx", index=False,
                  sheet_name="Billing Transactions")
    return dest


def _clock(t: pd.Timestamp) -> str:
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def _system_report(shape: str, a: pd.DataFrame, start: pd.Series, names: pd.Series,
                   note: np.ndarray, dest: Path) -> None:
    """One appointment report as Jane, Owl Practice, TheraNest or Tebra print it, for the
    generic profile. What a system cannot say is written as it would show it: Jane and Tebra
    have no "cancelled by the clinician" (such an appointment shows as Rescheduled), Tebra no
    late cancellation (a plain Cancelled), Owl neither (a cancelled-by-the-therapist session is
    deleted, so it is not in the export)."""
    rng = np.random.default_rng(30)
    status = a["status"]
    minutes = pd.to_numeric(a["duration_minutes"], errors="coerce")
    end = start + pd.to_timedelta(minutes.fillna(0), unit="m")
    # a report without birth dates names clients as a practice tells them apart (a middle
    # initial for a shared name); Tebra's has the birth date
    who = a["clinician_id"].map(names)
    client = a["client_name"] if shape == "tebra" else a["client_id"].map(_sp_names(a))
    ahead = np.where(status == "late_cancel", rng.uniform(1, 23, len(a)),
                     rng.uniform(26, 240, len(a)))
    cancelled_at = (start - pd.to_timedelta(ahead.round(2), unit="h")).dt.strftime(
        "%Y-%m-%d %H:%M")
    intake = a["service"].isin(["90791", "90792"])
    if shape == "jane":
        frame = pd.DataFrame({
            "Staff Member": who, "Patient": client, "Date": start.dt.to_pydatetime(),
            "Treatment": np.where(intake, "Initial Assessment ", "Individual Counselling ")
            + minutes.fillna(50).astype(int).astype(str) + " min",
            "State": status.map({"attended": "Arrived", "no_show": "No Show",
                                 "late_cancel": "Cancelled", "cancelled": "Cancelled",
                                 "clinician_cancelled": "Rescheduled", "scheduled": "Booked"}),
            "Cancelled At": np.where(status.isin(["late_cancel", "cancelled"]), cancelled_at,
                                     ""),
            "Chart Status": np.where(note == "Signed", "Signed",
                                     np.where(note == "Draft", "Draft", "No Chart")),
        })
        frame.to_excel(dest / "Jane Appointments Report.xlsx", index=False)
    elif shape == "owl":
        keep = (status != "clinician_cancelled").to_numpy()
        frame = pd.DataFrame({
            "Therapist": who, "Client": client, "Session Date": start.map(_us_day),
            "Start Time": start.map(_clock), "Duration (mins)": minutes.astype("Int64"),
            "Service": np.where(intake, "Intake Session", "Individual Therapy"),
            "Attendance": status.map({"attended": "Attended", "no_show": "No Show",
                                      "late_cancel": "Late Cancelled",
                                      "cancelled": "Cancelled", "scheduled": ""}),
            "Note Status": np.where(note == "Signed", "Signed", "Unsigned"),
        })[keep]
        frame.to_csv(dest / "owl-data-export.csv", index=False)
    elif shape == "theranest":
        frame = pd.DataFrame({
            "Staff": who, "Client": client, "Date": start.map(_us_day),
            "Time": [f"{_clock(s)} - {_clock(e)}" for s, e in zip(start, end, strict=True)],
            "Status": status.map({"attended": "Kept", "no_show": "No Show",
                                  "late_cancel": "Late Cancel", "cancelled": "Canceled",
                                  "clinician_cancelled": "Canceled",
                                  "scheduled": "Scheduled"}),
            "Canceled By": status.map({"cancelled": "Client", "late_cancel": "Client",
                                       "clinician_cancelled": "Provider"}).fillna(""),
            "Service": np.where(intake, "Intake", "Psychotherapy") + " (" + a["service"] + ")",
            "Progress Note": np.where(note == "Signed", "Completed",
                                      np.where(note == "Draft", "In Progress", "Not Started")),
        })
        total = pd.DataFrame([{"Staff": f"Total: {len(frame)} appointments"}])
        pd.concat([frame, total]).to_csv(dest / "TheraNest Appointments.csv", index=False)
    else:  # tebra
        frame = pd.DataFrame({
            "Provider": who, "Patient": client,
            "Patient DOB": pd.to_datetime(a["client_dob"]).map(_us_day),
            "Appointment Date": start.dt.normalize().dt.to_pydatetime(),
            "Start Time": start.dt.strftime("%I:%M %p"), "End Time": end.dt.strftime("%I:%M %p"),
            "Status": status.map({"attended": "Checked Out", "no_show": "No Show",
                                  "late_cancel": "Cancelled", "cancelled": "Cancelled",
                                  "clinician_cancelled": "Rescheduled",
                                  "scheduled": "Scheduled"}),
            "Procedure Code": a["service"],
            "Note Status": np.where(note == "Signed", "Signed", np.where(
                note == "Draft", "Note in progress", "Note not started")),
        })
        frame.to_excel(dest / "Appointments Report.xlsx", index=False)


def _sp_names(a: pd.DataFrame) -> dict:
    """Client names as SimplePractice prints them, without a birth date: demo clients who
    share a name get a middle initial, as a practice would tell them apart."""
    first = a.drop_duplicates("client_id")[["client_id", "client_name"]]
    rank = first.groupby("client_name").cumcount()
    shared = first["client_name"].duplicated(keep=False)
    parts = first["client_name"].str.split(" ", n=1, expand=True)
    middle = rank.map(lambda r: f" {chr(ord('A') + r % 26)}{'.' * (1 + r // 26)} ")
    label = first["client_name"].where(~shared, parts[0] + middle + parts[1])
    return dict(zip(first["client_id"], label, strict=True))


def _simplepractice(a: pd.DataFrame, start: pd.Series, names: pd.Series, note: np.ndarray,
                    dest: Path) -> None:
    """SimplePractice's two reports: client attendance (a totals row first) and appointment
    status (billing codes, units, note status; repeated headers)."""
    client = a["client_id"].map(_sp_names(a))
    attendance = pd.DataFrame({
        "client_name": client, "clinician_name": a["clinician_id"].map(names),
        "date_of_service": start.map(_us_time), "office_name": "Main Office",
        "status": a["status"].map(_SP_STATUS)})
    counts = a["status"].map(_SP_STATUS).value_counts()
    total = pd.DataFrame([{"client_name": "Total", "clinician_name": "",
                           "date_of_service": "", "office_name": "",
                           "status": "; ".join(f"{k}: {v}" for k, v in counts.items())}])
    pd.concat([total, attendance]).to_csv(dest / "client_attendance_report_demo.csv",
                                          index=False)
    billed = ~a["status"].isin(["cancelled", "clinician_cancelled"]).to_numpy()
    report = pd.DataFrame({
        "Date of Service": start.map(lambda t: f"{t.month}/{t.day}/{t.year} {t:%H:%M}"),
        "Client": client, "Clinician": a["clinician_id"].map(names),
        "Billing Code": a["service"], "Primary Insurance": "Aetna",
        "Secondary Insurance": "", "Rate per Unit": "150.00", "Units": "1",
        "Total Fee": "150.00", "Progress Note Status": np.where(
            note == "Signed", "LOCKED", np.where(note == "Draft", "DRAFT", "NO NOTE")),
        "Client Payment Status": "Paid", "Charge": "30.00", "Uninvoiced": "0.00",
        "Paid": "30.00", "Unpaid": "0.00", "Insurance Payment Status": "Paid",
        "Charge ": "120.00", "Paid ": "120.00", "Write Off": "0.00", "Unpaid ": "0.00",
    })[billed]
    # a status row whose appointment the attendance report no longer lists (deleted)
    ghost = report.iloc[:3].assign(Clinician="Former Clinician")
    report = pd.concat([report, ghost])
    # the repeated headers, as SimplePractice writes them
    report.columns = [c.strip() for c in report.columns]
    report.to_csv(dest / "appointment-status-report_demo.csv", index=False)
