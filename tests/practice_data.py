"""A tiny, valid practice built by hand, which tests then spoil (shared by the tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


