"""A tiny, valid practice built by hand, which tests then spoil (shared by the tests)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfkit as pk

CLINICIANS = [
    {"clinician_id": "C1", "name": "Ada Lovelace", "license_status": "licensed",
     "license_type": "LCSW", "supervisor_id": "", "start_date": "2024-01-01", "end_date": "",
     "weekly_capacity_hours": "25", "weekly_session_goal": "20", "licensure_rule": ""},
    {"clinician_id": "C2", "name": "Grace Hopper", "license_status": "pre-licensed",
     "license_type": "ASW", "supervisor_id": "C1", "start_date": "2025-06-01",
     "end_date": "", "weekly_capacity_hours": "20", "weekly_session_goal": "",
     "licensure_rule": "ca_asw_lcsw"},
]
APPOINTMENTS = [
    {"appointment_id": "A1", "clinician_id": "C1", "client_id": "MRN-111", "start":
     "2026-10-05T10:00:00", "duration_minutes": "60", "status": "attended", "service": "90791",
     "client_name": "Zebulon Quixote", "client_dob": "1961-02-03"},
    {"appointment_id": "A2", "clinician_id": "C1", "client_id": "MRN-111", "start":
     "2026-10-12T10:00:00", "duration_minutes": "53", "status": "attended", "service": "90837",
     "client_name": "Zebulon Quixote", "client_dob": "1961-02-03"},
    {"appointment_id": "A3", "clinician_id": "C2", "client_id": "MRN-222", "start":
     "2026-10-06T15:00:00", "duration_minutes": "53", "status": "no_show", "service": "",
     "client_name": "Philippa Marchbanks", "client_dob": "1984-12-30"},
]
NOTES = [
    {"appointment_id": "A1", "signed_at": "2026-10-05T17:00:00"},
    {"appointment_id": "A2", "signed_at": ""},
]
ASSESSMENTS = [
    {"client_id": "MRN-111", "clinician_id": "C1", "instrument": "PHQ-9",
     "administered_at": "2026-10-05T09:55:00", "total_score": "14"},
    {"client_id": "MRN-111", "clinician_id": "", "instrument": "GAD-7",
     "administered_at": "2026-10-12T09:55:00", "total_score": "9"},
]


def write_table(folder: Path, name: str, rows: list[dict], columns=None) -> Path:
    """Write rows as ``<name>.csv``; an empty table keeps its contract header."""
    if not rows and columns is None:
        from perfkit.contract import TABLES

        columns = TABLES[name].column_names
    frame = pd.DataFrame(rows, columns=columns)
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path




def browser() -> str | None:
    """The headless browser the report tests use (Debian's chromium), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


needs_browser = pytest.mark.skipif(
    browser() is None and not os.environ.get("CI"),
    reason="headless Chromium is not installed (CI installs it)")


def metric_rows(rows: list[dict], **more) -> pd.DataFrame:
    """Rows of ``clinician_metrics`` built by hand: every row within the practice's thresholds,
    steady, no flag (``more``: further columns of that base), then each row's own values."""
    from perfkit.check_ins import FLAG_SIGNALS

    base = {"utilization": 0.85, "trend_utilization": "stable", "non_attendance_rate": 0.05,
            "notes_within_72h": 0.95, "trend_notes_within_72h": "stable",
            "trend_non_attendance_rate": "stable", "notes_open_72h": 0,
            "unsigned_overdue_7d": 0, "notes_due": 100, "unsigned_overdue_share": 0.0,
            "active_clients": 20, "new_clients": 2, "retained_8plus_rate": 0.5,
            "documentation_source": "signing_times", "appointments_in_export": 300,
            "utilization_band": "ok", "caseload": 20, "weeks_over_goal": 0,
            "caseload_growing_weeks": 0, "days_off_recent": 10,
            **{f: False for f in FLAG_SIGNALS}, **more}
    return pd.DataFrame([base | r for r in rows])


# One appointment export, row by row (tests of how ingest reads dates, times and statuses)
TZ = "America/Chicago"


def ts(text: str) -> pd.Timestamp:
    """A local time of the practices built here."""
    return pd.Timestamp(text, tz=TZ)


def appointment_row(start: str, time: str = "", status: str = "no_show", **more) -> dict:
    return {"clinician_id": "C1", "client_id": "X1", "start": start, "time": time,
            "status": status, **more}


def ingest_rows(practice, cfg, rows, **kw):
    """Ingest a practice holding only these appointments (no notes, no measures)."""
    write_table(practice, "appointments", rows)
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    return pk.ingest(practice, cfg, **kw)


def by_row(ing) -> pd.DataFrame:
    """The accepted appointments by their row in the file."""
    return ing["appointments"].set_index("source_row")


def reasons(ing) -> dict[int, tuple[str, str]]:
    """Each rejected appointment row: its column and reason."""
    r = ing.rejects[ing.rejects.table == "appointments"]
    return {int(n): (c, why) for n, c, why in zip(r.row, r.column, r.reason, strict=True)}


# A generic-profile appointment report's four records, and what they read as: Ada, 2 attended
# (60 + 45 min) and 1 no-show; Grace, 1 attended (53 min); notes 2 signed, 1 draft
GENERIC_ROWS = [
    ["Ada Lovelace", "Zeb Quixote", "10/5/2026 10:00 AM", "Arrived", "60", "Signed"],
    ["Ada Lovelace", "Zeb Quixote", "10/12/2026 10:00 AM", "Arrived", "45", "Draft"],
    ["Ada Lovelace", "Pip Marchbanks", "10/13/2026 9:00 AM", "No Show", "", ""],
    ["Grace Hopper", "Alan Turing", "10/14/2026 3:00 PM", "Arrived", "53", "Signed"],
]


def check_generic_rows(data) -> None:
    """The four GENERIC_ROWS read as counted by hand."""
    a = data.tables["appointments"]
    assert len(a) == 4
    att = a[a["status"] == "attended"]
    assert att.groupby("clinician_id")["duration_minutes"].sum().to_dict() == \
        {"C1": 105, "C2": 53}
    assert (a["status"] == "no_show").sum() == 1
    assert data.tables["notes"]["status"].value_counts().to_dict() == \
        {"signed": 2, "draft": 1}


def _cell(v) -> str | None:
    """A table cell as comparable text: a date as its day (the CSV writes days), a missing
    value or empty text None (a CSV cannot tell them apart), a number by its value (1 and
    1.0 alike)."""
    if v is None or v is pd.NA or v == "" or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        assert v == v.normalize(), f"a time of day the CSV would lose: {v}"
        return f"{v:%Y-%m-%d}"
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | float | np.integer | np.floating):
        return repr(float(v))
    return str(v)


def typed_and_csv_tables_differ(folder: Path) -> list[str]:
    """How each table of a run folder (``tables/*.csv``) differs from its typed copy
    (``tables/*.parquet``): a missing copy, other columns or rows, a cell that differs, a
    yes/no column the schema (:func:`perfkit.io.is_yes_no_column`) does not name. Empty when
    every Parquet holds the same rows as its CSV."""
    from perfkit.io import is_yes_no_column, read_table

    problems = []
    tables = sorted((folder / "tables").glob("*.csv"))
    assert tables, f"no tables in {folder}"
    for csv in tables:
        if not csv.with_suffix(".parquet").is_file():
            problems.append(f"{csv.name}: no Parquet copy")
            continue
        typed = read_table(csv)  # the Parquet copy
        plain = read_table(csv.read_bytes())  # the CSV, read as an older run's
        if list(typed.columns) != list(plain.columns) or len(typed) != len(plain):
            problems.append(f"{csv.name}: other columns or rows")
            continue
        for col in typed.columns:
            if not is_yes_no_column(col) and (
                    typed[col].dtype == bool or (typed[col].dtype == object and len(
                        typed[col].dropna()) and typed[col].dropna().map(
                        lambda v: isinstance(v, bool | np.bool_)).all())):
                problems.append(f"{csv.name}: {col} holds yes/no but is not in the schema")
            a, b = [_cell(v) for v in typed[col]], [_cell(v) for v in plain[col]]
            if a != b:
                i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
                problems.append(f"{csv.name}: {col} row {i}: {a[i]!r} != {b[i]!r}")
    return problems
