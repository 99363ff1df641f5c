"""Statuses and cancellations as practice-management systems print them (issue 30, item 4):
Jane, Owl Practice, TheraNest, Tebra and IntakeQ words; rescheduled rows left out with a reason;
a "cancelled by" column; late cancellations from the cancellation time; attendance not yet
marked. Tiny exports built by hand; every expected figure is counted by hand below."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import contract as C
from perfkit.cli import app
from perfkit.ingest.statuses import _cancelled_by_label

from practice_data import CLINICIANS, write_table


def appt(i, clinician, start, status, minutes="", by="", at=""):
    return {"appointment_id": i, "clinician_id": clinician, "client_id": f"K-{i}",
            "start": start, "duration_minutes": minutes, "status": status,
            "cancelled_by": by, "cancelled_at": at}


# The period is 2026-08-01 to 2026-11-01 (the default parameters); the export instant is the
# period end. Per clinician, by hand:
#   C1: attended A1, A2, A12 (3); no_show A7 (1); late_cancel A3 (cancelled 2 h before the
#       start), A6 (2); cancelled A4 (77 h before), A11 (cancelled by a value that names
#       neither side), A13 (exactly 24 h before: not late) (3); past appointments 9;
#       clinician_cancelled A5 (by the provider, 1 h before: the clinician's, not a late one).
#       A8 rescheduled: left out. A9 booked before the period end: not yet marked. A10
#       booked after it: upcoming.
#   C2: attended B1 (Non-Billable), B3 (Checked Out) (2); no_show B2 (Missed) (1); past 3;
#       clinician_cancelled B4 (by the practice).
ROWS = [
    appt("A1", "C1", "2026-10-05T10:00", "Arrived", "60"),
    appt("A2", "C1", "2026-10-12T10:00", "Attended", "53"),
    appt("A3", "C1", "2026-10-19T10:00", "Cancelled", at="2026-10-19T08:00"),
    appt("A4", "C1", "2026-10-19T14:00", "Canceled", at="2026-10-16T09:00"),
    appt("A5", "C1", "2026-10-20T10:00", "Cancelled", by="Provider", at="2026-10-20T09:00"),
    appt("A6", "C1", "2026-10-21T10:00", "Late Cancel", by="Client"),
    appt("A7", "C1", "2026-10-22T10:00", "No Show"),
    appt("A8", "C1", "2026-10-23T10:00", "Rescheduled"),
    appt("A9", "C1", "2026-10-28T10:00", "Scheduled"),
    appt("A10", "C1", "2026-11-05T10:00", "Confirmed"),
    appt("A11", "C1", "2026-10-26T14:00", "Cancelled", by="front desk robot"),
    appt("A12", "C1", "2026-10-26T10:00", "Kept", "45"),
    appt("A13", "C1", "2026-10-27T10:00", "Cancelled", at="2026-10-26T10:00"),
    appt("B1", "C2", "2026-10-06T15:00", "Non-Billable", "50"),
    appt("B2", "C2", "2026-10-07T15:00", "Missed"),
    appt("B3", "C2", "2026-10-08T15:00", "Checked Out", "53"),
    appt("B4", "C2", "2026-10-09T15:00", "Cancelled", by="Practice"),
]
EXPECTED_STATUS = {
    "A1": "attended", "A2": "attended", "A3": "late_cancel", "A4": "cancelled",
    "A5": "clinician_cancelled", "A6": "late_cancel", "A7": "no_show", "A9": "scheduled",
    "A10": "scheduled", "A11": "cancelled", "A12": "attended", "A13": "cancelled",
    "B1": "attended", "B2": "no_show", "B3": "attended", "B4": "clinician_cancelled",
}


# both licensed: a licensure projection from two sessions runs past the calendar pandas can
# hold (supervision.ledger; outside this part, reported)
ROSTER = [{**c, "license_status": "licensed", "supervisor_id": "", "licensure_rule": ""}
          for c in CLINICIANS]


def folder_with(tmp_path, rows, name="export"):
    folder = tmp_path / name
    folder.mkdir()
    write_table(folder, "clinicians", ROSTER)
    write_table(folder, "appointments", rows)
    write_table(folder, "notes", [])
    return folder


@pytest.fixture
def export(tmp_path):
    return folder_with(tmp_path, ROWS)


def test_vocabularies_of_the_named_systems():
    status = {label: C.STATUS_SYNONYMS[C.normalize_label(label)] for label in (
        "Non-Billable", "Arrived", "Checked In", "Roomed", "Checked-Out", "Kept", "Show",
        "Missed", "Upcoming", "Scheduled", "Confirmed", "Booked", "Pending", "Late Cancelled",
        "Late Cancel", "Canceled", "Rescheduled", "Unarrived")}
    assert status == {
        "Non-Billable": "attended", "Arrived": "attended", "Checked In": "attended",
        "Roomed": "attended", "Checked-Out": "attended", "Kept": "attended",
        "Show": "attended", "Missed": "no_show", "Upcoming": "scheduled",
        "Scheduled": "scheduled", "Confirmed": "scheduled", "Booked": "scheduled",
        "Pending": "scheduled", "Late Cancelled": "late_cancel", "Late Cancel": "late_cancel",
        "Canceled": "cancelled", "Rescheduled": "rescheduled", "Unarrived": "scheduled"}
    notes = {label: C.NOTE_STATUS_SYNONYMS[C.normalize_label(label)] for label in (
        "No Chart", "Note not started", "Note in progress", "Signed", "Submitted")}
    who = {v: C.CANCELLED_BY_SYNONYMS.get(_cancelled_by_label(v)) for v in (
        "Provider", "Canceled by: Provider", "Cancelled By Client", "Staff", "Office",
        "Therapist", "Practice", "Patient", "Jane Smith")}
    assert who == {"Provider": "clinician", "Canceled by: Provider": "clinician",
                   "Cancelled By Client": "client", "Staff": None,  # staff and office
                   "Office": None,  # often cancel for a client: neither side (review fix)
                   "Therapist": "clinician", "Practice": "clinician",
                   "Patient": "client", "Jane Smith": None}
    assert notes == {"No Chart": "missing", "Note not started": "missing",
                     "Note in progress": "draft", "Signed": "signed", "Submitted": "signed"}


def test_statuses_cancelled_by_and_cancellation_times(export, cfg):
    ing = pk.ingest(export, cfg)
    a = ing["appointments"]
    assert dict(zip(a["appointment_id"], a["status"], strict=True)) == EXPECTED_STATUS
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (17, 16, 1)
    assert q["rows_in"] == q["rows_accepted"] + q["rows_rejected"]
    assert q["reasons"] == {"rescheduled": 1}
    assert q["adjustments"] == {
        "clinician_cancelled_from_cancelled_by": 2,  # A5, B4
        "cancelled_by_not_recognised": 1,  # A11
        "late_cancel_from_cancellation_time": 1,  # A3 (A13 is exactly 24 h: not late)
        "not_yet_marked": 1,  # A9
    }
    rejected = ing.rejects[ing.rejects["table"] == "appointments"]
    assert rejected[["row", "reason", "column"]].values.tolist() == [[8, "rescheduled",
                                                                     "status"]]
    # the "cancelled by" value is never quoted (it may be a person's name)
    assert "robot" not in json.dumps(ing.quality) + ing.rejects.to_csv()


def test_the_policy_window_is_a_parameter(tmp_path):
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key",
                         operations={"late_cancel_window_hours": 48})
    ing = pk.ingest(folder_with(tmp_path, ROWS), cfg)
    a = ing["appointments"].set_index("appointment_id")["status"]
    # 48 hours: A13 (24 h before) is late now, A4 (77 h) still not; A5 is the provider's
    assert (a["A3"], a["A13"], a["A4"], a["A5"]) == ("late_cancel", "late_cancel", "cancelled",
                                                     "clinician_cancelled")
    assert ing.quality["tables"]["appointments"]["adjustments"][
        "late_cancel_from_cancellation_time"] == 2


def test_a_cancellation_time_without_a_time_of_day_is_not_guessed(tmp_path, cfg):
    rows = [appt("A1", "C1", "2026-10-05T10:00", "attended", "60"),
            appt("A2", "C1", "2026-10-19T10:00", "Cancelled", at="2026-10-19"),
            appt("A3", "C1", "2026-10-20", "Cancelled", at="2026-10-19T20:00")]
    ing = pk.ingest(folder_with(tmp_path, rows), cfg)
    a = ing["appointments"].set_index("appointment_id")["status"]
    assert (a["A2"], a["A3"]) == ("cancelled", "cancelled")
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    assert adj["cancellation_time_without_time_of_day"] == 2
    assert "late_cancel_from_cancellation_time" not in adj


def test_rates_of_a_run(export, tmp_path):
    from perfkit import report as r

    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--data", str(export), "--out", str(out),
                                   "--tables-only"], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert res.exit_code == 0, res.output
    run = r.load_run(out)
    m = run.table("clinician_metrics").set_index("clinician_id")
    assert m.loc["C1", "sessions_attended"] == 3 and m.loc["C2", "sessions_attended"] == 2
    assert m.loc["C1", "no_show_rate"] == pytest.approx(1 / 9)
    assert m.loc["C1", "late_cancel_rate"] == pytest.approx(2 / 9)
    assert m.loc["C2", "no_show_rate"] == pytest.approx(1 / 3)
    assert m.loc["C2", "late_cancel_rate"] == 0
    assert (m.loc["C1", "clinician_cancelled"], m.loc["C2", "clinician_cancelled"]) == (1, 1)
    p = run.table("practice_summary").iloc[0]
    assert (p["sessions_attended"], p["clinician_cancelled"]) == (5, 2)
    # the owner's summary says what is not yet marked, with the export instant's date
    summary = r.period_summary(run).to_html()
    assert "1 appointment in the period (01 Aug 2026 to 31 Oct 2026) is not yet marked" in summary
    dq = r.data_quality_table(run).data.set_index("Table")
    assert (dq.loc["appointments", "Used"], dq.loc["appointments", "Set aside"]) == (16, 1)
    assert dq.loc["appointments", "Why set aside"] == \
        "rescheduled (moved to another time; not a cancellation) (1)"


def test_validate_says_how_many(export, tmp_path):
    res = CliRunner().invoke(app, ["validate", str(export)], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert res.exit_code == 1, res.output  # the export has no notes: nothing to run yet
    out = res.output
    assert "no row was accepted in notes" in out
    assert "appointments: 1 rejected, rescheduled: moved to another time" in out
    assert ("appointments: 1 appointment in the period (01 Aug 2026 to 31 Oct 2026) is not "
            "yet marked") in out
    assert ("appointments: 2 rows cancelled by the clinician's side (the 'cancelled by' "
            "column") in out
    assert "appointments: 1 row cancelled less than the policy window" in out
    assert "appointments: 1 row cancelled with a 'cancelled by' value that names neither" in out


# Owl Practice leaves the attendance empty until someone marks it; its headers by a column
# map here (the generic profile's synonyms are the lead's).
OWL_MAP = """
columns:
  appointments: {Attendance: status, Canceled By: cancelled_by, Cancelled At: cancelled_at}
status_blank_until_marked: true
"""


def owl_rows():
    rows = [appt("A1", "C1", "2026-10-05T10:00", "Attended", "60"),
            appt("A2", "C1", "2026-10-06T10:00", ""),  # past, not marked
            appt("A3", "C1", "2026-10-07T10:00", ""),  # past, not marked
            appt("A4", "C1", "2026-10-08T10:00", "Scheduled"),  # past, not marked
            appt("A5", "C1", "2026-11-03T10:00", ""),  # after the export: upcoming
            appt("A6", "C1", "2026-10-09T10:00", "Late Cancelled", by="Clinician")]
    for r in rows:
        r["Attendance"] = r.pop("status")
        r["Canceled By"] = r.pop("cancelled_by")
        r["Cancelled At"] = r.pop("cancelled_at")
    return rows


def test_attendance_not_yet_marked_is_counted_not_rejected(tmp_path, cfg):
    folder = folder_with(tmp_path, owl_rows())
    cmap = tmp_path / "owl.yaml"
    cmap.write_text(OWL_MAP)
    ing = pk.ingest(folder, cfg, column_map=cmap)
    a = ing["appointments"].set_index("appointment_id")["status"]
    assert a.to_dict() == {"A1": "attended", "A2": "scheduled", "A3": "scheduled",
                           "A4": "scheduled", "A5": "scheduled", "A6": "clinician_cancelled"}
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (6, 6, 0)
    assert q["adjustments"] == {"not_yet_marked": 3, "status_empty_read_as_booked": 1,
                                "clinician_cancelled_from_cancelled_by": 1}
    assert ("3 appointments in the period (01 Aug 2026 to 31 Oct 2026) are not yet marked"
            in " ".join(ing.quality["source"]["caveats"]))


def test_an_empty_status_is_a_missing_value_without_the_setting(tmp_path, cfg):
    """The contract (and the SimplePractice and TherapyNotes profiles) always print a status:
    an empty one is a mistake to correct, rejected and listed, never read as booked."""
    folder = folder_with(tmp_path, owl_rows())
    cmap = tmp_path / "owl.yaml"
    cmap.write_text(OWL_MAP.replace("status_blank_until_marked: true", ""))
    ing = pk.ingest(folder, cfg, column_map=cmap)
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (6, 3, 3)
    assert q["reasons"] == {"missing_value": 3}
    assert q["adjustments"]["not_yet_marked"] == 1  # A4, Scheduled before the export


def test_the_export_instant_gives_the_date(tmp_path):
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key",
                         exported_at="2026-10-07 12:00")
    folder = folder_with(tmp_path, owl_rows())
    cmap = tmp_path / "owl.yaml"
    cmap.write_text(OWL_MAP)
    ing = pk.ingest(folder, cfg, column_map=cmap)
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    # before 7 October, 12:00: A2 and A3; A4 (8 October) and A5 are upcoming, A4 is "Scheduled"
    assert (adj["not_yet_marked"], adj["status_empty_read_as_booked"]) == (2, 1)
    assert ("2 appointments from 01 Aug 2026 to the export (07 Oct 2026, 12:00) are not yet "
            "marked"
            in " ".join(ing.quality["source"]["caveats"]))
