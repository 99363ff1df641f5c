"""Exports as EHRs write them (issue 14): note statuses, no appointment ids, names, billing
codes, one combined file, groups and co-therapy. Every expectation is computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit import practice_summary as ps

from practice_data import CLINICIANS, write_table

TZ = "America/Chicago"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


# A SimplePractice-shaped appointment status report: a row of totals first, names instead of
# ids, billing codes with modifiers and an add-on line, US dates, the note status per row.
COMBINED = pd.DataFrame([
    ["Total", "", "", "", "6", "", ""],
    ["10/5/2026 10:00 AM", "Zeb Quixote", "Ada Lovelace", "90791", "Show", "LOCKED", "1"],
    ["10/12/2026 10:00 AM", "Zeb  QUIXOTE", "ada  lovelace", "90837-95", "Show", "Draft", "1"],
    ["10/12/2026 10:00 AM", "Zeb Quixote", "Ada Lovelace", "90785", "Show", "", "1"],
    ["10/6/2026 3:00 PM", "Pip Marchbanks", "Hopper, Grace", "90834 GT", "No Show", "NO NOTE",
     "1"],
    ["10/7/2026 3:00 PM", "Pip Marchbanks", "Grace Hopper, LCSW", "90834", "Clinician Canceled",
     "", "1"],
    ["10/14/2026 3:00 PM", "Pip Marchbanks", "Alan Turing", "90834", "Show", "LOCKED", "1"],
], columns=["Date of Service", "Client", "Clinician", "Billing Code", "Status",
            "Progress Note Status", "Units"])

def ingest_appointments(practice, cfg, rows):
    """Ingest a practice holding only these appointments (no notes, no measures)."""
    write_table(practice, "appointments", rows)
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    return pk.ingest(practice, cfg)


COMBINED_MAP = """
files: {appointments: Appointment Status.csv, notes: Appointment Status.csv}
columns:
  appointments: {Date of Service: start, Clinician: clinician_id, Billing Code: service,
                 Status: status}
  notes: {Progress Note Status: status}
client_key: [Client]
exported_at: "11/3/2026 9:00 AM"
"""


@pytest.fixture
def combined(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    COMBINED.to_csv(folder / "Appointment Status.csv", index=False)
    cmap = tmp_path / "map.yaml"
    cmap.write_text(COMBINED_MAP)
    return folder, cmap


def test_one_combined_export_becomes_appointments_and_notes(combined, cfg):
    folder, cmap = combined
    ing = pk.ingest(folder, cfg, column_map=cmap)
    a, n = ing["appointments"], ing["notes"]
    # rows 2, 3, 5, 6 accepted; row 4 (90785) folded into row 3; row 1 totals; row 7 unknown name
    assert a.source_row.tolist() == [2, 3, 5, 6]
    assert a.clinician_id.tolist() == ["C1", "C1", "C2", "C2"]
    assert a.status.tolist() == ["attended", "attended", "no_show", "clinician_cancelled"]
    assert a.service.tolist() == ["intake", "therapy", "therapy", "therapy"]
    assert a.service_code.tolist() == ["90791", "90837", "90834", "90834"]
    assert a.telehealth.tolist() == [False, True, True, False]
    assert a.duration_minutes.tolist() == [60, 60, 45, 45]  # the usual lengths, estimated
    assert a.duration_estimated.all()
    assert a.start.tolist() == [ts("2026-10-05 10:00"), ts("2026-10-12 10:00"),
                                ts("2026-10-06 15:00"), ts("2026-10-07 15:00")]
    assert a.appointment_id.str.fullmatch(r"gen-[0-9a-f]{16}").all()
    assert a.appointment_id.is_unique
    # spacing and case in a name key do not make another client
    assert a.client_id.iloc[0] == a.client_id.iloc[1] != a.client_id.iloc[2]
    assert n.status.fillna("").tolist() == ["signed", "draft", "missing", ""]
    assert n.appointment_id.tolist() == a.appointment_id.tolist()
    assert n.clinician_id.tolist() == ["C1", "C1", "C2", "C2"]

    q = ing.quality["tables"]
    assert q["appointments"]["rows_in"] == 7
    assert q["appointments"]["rows_accepted"] == 5  # four sessions and one folded add-on line
    assert q["appointments"]["reasons"] == {"summary_row": 1, "unknown_clinician": 1}
    assert q["appointments"]["adjustments"] == {
        "add_on_lines_folded": 1, "appointment_id_generated": 5, "clinician_id_from_name": 5,
        "duration_from_code": 4}
    assert q["notes"]["reasons"] == {"summary_row": 1, "appointment_rejected": 1,
                                     "not_in_table": 1}
    assert q["notes"]["rows_in"] == q["notes"]["rows_accepted"] + q["notes"]["rows_rejected"]
    # every column of the shared file is read by one of the two tables
    assert q["appointments"]["dropped_columns"] == q["notes"]["dropped_columns"] == []
    rej = ing.rejects.set_index(["table", "row"])
    assert rej.loc[("appointments", 7), "detail"] == \
        "clinician_id 'Alan Turing' is not a known clinician"
    # no client name reaches the rejects or the tables
    text = ing.rejects.to_csv() + a.to_csv() + n.to_csv()
    assert "Quixote" not in text and "Marchbanks" not in text and "QUIXOTE" not in text
    assert ing.quality["documentation"] == {
        "signing_times": False, "note_status": True, "known": True,
        "exported_at": "2026-11-03T09:00:00-06:00", "exported_at_source": "column map"}


def test_generated_ids_are_stable_across_exports(combined, cfg):
    """A later export with the rows in another order and a new appointment gives the same
    appointments the same ids; a cancelled and a rebooked appointment in one slot differ."""
    folder, cmap = combined
    first = pk.ingest(folder, cfg, column_map=cmap)["appointments"]
    later = COMBINED.iloc[[0, 6, 5, 4, 2, 3, 1]]
    extra = COMBINED.iloc[[1]].assign(Status="Canceled")
    pd.concat([later, extra]).to_csv(folder / "Appointment Status.csv", index=False)
    second = pk.ingest(folder, cfg, column_map=cmap)["appointments"]
    ids = dict(zip(second.start, second.appointment_id, strict=False))
    assert set(first.appointment_id) <= set(second.appointment_id)
    slot = second[second.start == ts("2026-10-05 10:00")]
    assert slot.status.tolist() == ["attended", "cancelled"]
    assert slot.appointment_id.nunique() == 2
    assert ids[ts("2026-10-12 10:00")] == first.appointment_id.iloc[1]


def test_note_statuses_give_open_notes_at_the_export_and_no_lag_figures(combined, cfg,
                                                                         tmp_path):
    folder, cmap = combined
    data = pk.prepare(folder, tmp_path / "run", cfg, column_map=cmap)
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    # C1: the intake (ended 10/5 11:00) is signed; the 10/12 session (ended 11:00) is a draft
    # at the export (11/3 9:00): more than 7 days and 72 hours before it, so open and overdue.
    assert m.loc["C1", ["notes_due", "notes_open_72h", "unsigned_overdue_7d"]].tolist() == \
        [2, 1, 1]
    assert m.loc["C1", ["notes_within_24h", "notes_within_72h",
                        "median_note_lag_hours"]].isna().all()
    assert m.loc["C1", "documentation_source"] == "note_status"
    # C2 had no attended session: nothing due, nothing open
    assert m.loc["C2", ["notes_due", "notes_open_72h", "unsigned_overdue_7d"]].tolist() == \
        [0, 0, 0]
    assert m.loc["C2", "clinician_cancelled"] == 1
    assert m.loc["C2", "past_appointments"] == 1  # the no-show; the cancellation is left out
    assert m.loc["C1", "hours_attended"] == 2.0


def test_open_notes_with_signing_times_use_as_of(practice, cfg, tmp_path):
    """With signing times, notes_open_72h counts notes unsigned 72 hours after the session as
    of the period end, and the source is signing times."""
    data = pk.prepare(practice, tmp_path / "run", cfg)
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    # A1 signed 7 hours after its end; A2 (10/12) never signed
    assert m.loc["C1", ["notes_due", "notes_open_72h", "unsigned_overdue_7d"]].tolist() == \
        [2, 1, 1]
    assert m.loc["C1", "notes_within_24h"] == 0.5
    assert m.loc["C1", "median_note_lag_hours"] == 6.0
    assert m.loc["C1", "documentation_source"] == "signing_times"


def test_a_signed_status_without_a_time_switches_that_clinician_to_statuses(practice, cfg,
                                                                            tmp_path):
    write_table(practice, "notes", [
        {"appointment_id": "A1", "signed_at": "2026-10-05T17:00:00", "status": "LOCKED"},
        {"appointment_id": "A2", "signed_at": "", "status": "LOCKED"}])
    data = pk.prepare(practice, tmp_path / "run", cfg)
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m.loc["C1", "documentation_source"] == "note_status"
    assert np.isnan(m.loc["C1", "notes_within_72h"])
    assert m.loc["C1", ["notes_open_72h", "unsigned_overdue_7d"]].tolist() == [0, 0]


def test_durations_from_end_times_units_and_codes(practice, cfg):
    base = {"clinician_id": "C1", "client_id": "K1", "status": "attended"}
    ing = ingest_appointments(practice, cfg, [
        dict(base, appointment_id="E1", start="2026-10-05T10:00", end="2026-10-05T10:50",
             service="90834", units=""),
        dict(base, appointment_id="E2", start="2026-10-06T10:00", end="2026-10-06T09:50",
             service="90834", units=""),
        dict(base, appointment_id="E3", start="2026-10-07T10:00", end="", service="H0004",
             units="3"),
        dict(base, appointment_id="E4", start="2026-10-08T10:00", end="", service="90839, 90840",
             units=""),
        dict(base, appointment_id="E5", start="2026-10-09T10:00", end="", service="therapy",
             units=""),
        dict(base, appointment_id="E6", start="2026-10-09T11:00", end="", service="therapy",
             units="", status="no_show"),
        dict(base, appointment_id="E7", start="2026-10-09T12:00", end="", service="99213",
             units=""),
    ])
    a = ing["appointments"].set_index("appointment_id")
    assert a.duration_minutes.fillna(0).to_dict() == {"E1": 50, "E3": 45, "E4": 90, "E6": 0}
    assert pd.isna(a.loc["E6", "duration_minutes"])
    assert a.duration_estimated.to_dict() == {"E1": False, "E3": True, "E4": True, "E6": False}
    assert pd.isna(a.loc["E6", "end"])
    reasons = ing.rejects.set_index("row")[["column", "reason"]].to_dict("index")
    assert reasons == {2: {"column": "end", "reason": "end_before_start_time"},
                       5: {"column": "duration_minutes", "reason": "missing_duration"},
                       7: {"column": "service", "reason": "unknown_service"}}
    assert ing.rejects.set_index("row").loc[7, "detail"] == (
        "service '99213' holds the billing code 99213, which is not in the parameters "
        "(services.codes)")


def test_an_add_on_line_without_its_session_is_rejected(practice, cfg):
    ing = ingest_appointments(practice, cfg, [
        {"appointment_id": "", "clinician_id": "C1", "client_id": "K1",
         "start": "2026-10-05T10:00", "service": "90840", "status": "attended"}])
    assert ing.rejects.reason.tolist() == ["add_on_without_session"]


def test_a_group_counts_the_clinicians_time_once_and_attendance_per_client(practice, cfg,
                                                                           tmp_path):
    group = {"clinician_id": "C1", "start": "2026-10-05T18:00", "duration_minutes": "90",
             "service": "90853"}
    write_table(practice, "appointments", [
        dict(group, appointment_id="G1", client_id="K1", status="attended"),
        dict(group, appointment_id="G2", client_id="K2", status="attended"),
        dict(group, appointment_id="G3", client_id="K3", status="attended"),
        dict(group, appointment_id="G4", client_id="K4", status="no_show"),
        {"appointment_id": "I1", "clinician_id": "C1", "client_id": "K1",
         "start": "2026-10-06T10:00", "duration_minutes": "45", "service": "90834",
         "status": "attended"},
    ])
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    data = pk.prepare(practice, tmp_path / "run", cfg)
    assert data.appointments.group.tolist() == [True] * 4 + [False]
    m = op.clinician_metrics(data, cfg).set_index("clinician_id").loc["C1"]
    assert m.hours_attended == 1.5 + 0.75  # the group's 90 minutes once, not three times
    assert m.sessions_attended == 2
    assert m.active_clients == 3
    assert m.past_appointments == 5 and m.no_show_rate == 1 / 5
    assert m.notes_due == 4  # a note for each client of the group (3) and the individual one
    # supervised direct hours toward licensure count the group's time once, too
    from perfkit.supervision import _direct_by_day
    assert _direct_by_day(data, cfg, ["C1"])["direct"].sum() == 2.25


def test_co_therapy_credits_each_clinician(practice, cfg, tmp_path):
    session = {"appointment_id": "S1", "client_id": "K1", "start": "2026-10-05T10:00",
               "duration_minutes": "60", "status": "attended", "service": "90847"}
    write_table(practice, "appointments", [dict(session, clinician_id="C1"),
                                           dict(session, clinician_id="C2")])
    write_table(practice, "notes", [{"appointment_id": "S1",
                                     "signed_at": "2026-10-05T12:00:00"}])
    write_table(practice, "assessments", [])
    data = pk.prepare(practice, tmp_path / "run", cfg)
    assert data.quality["tables"]["appointments"]["rows_rejected"] == 0
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m.hours_attended.tolist() == [1.0, 1.0]
    assert m.notes_within_24h.tolist() == [1.0, 1.0]


def test_conflicting_rows_of_one_clinician_still_conflict(practice, cfg):
    session = {"appointment_id": "S1", "clinician_id": "C1", "client_id": "K1",
               "start": "2026-10-05T10:00", "duration_minutes": "60", "service": "90837"}
    ing = ingest_appointments(practice, cfg, [dict(session, status="attended"),
                                           dict(session, status="no_show")])
    assert ing.rejects.reason.tolist() == ["conflicting_duplicate_id"] * 2


def test_a_name_shared_by_two_clinicians_is_rejected(practice, cfg):
    write_table(practice, "clinicians", [CLINICIANS[0], dict(CLINICIANS[1], name="Ada LOVELACE")])
    ing = ingest_appointments(practice, cfg, [
        {"appointment_id": "A1", "clinician_id": "Ada Lovelace", "client_id": "K1",
         "start": "2026-10-05T10:00", "duration_minutes": "60", "status": "attended"}])
    assert ing.rejects.reason.tolist() == ["ambiguous_clinician_name"]


def test_a_client_key_from_several_columns_matches_across_files(practice, cfg, tmp_path):
    """TherapyNotes names a client by first name, last name and birth date; files print the
    birth date differently. The key is hashed as it is read and never stored."""
    write_table(practice, "appointments", [
        {"appointment_id": "A1", "clinician_id": "C1", "First Name": "Zeb",
         "Last Name": "Quixote", "DOB": "2/3/1961", "start": "2026-10-05T10:00",
         "duration_minutes": "60", "status": "attended"},
        {"appointment_id": "A2", "clinician_id": "C1", "First Name": "Zeb",
         "Last Name": "Quixote", "DOB": "1961-02-04", "start": "2026-10-06T10:00",
         "duration_minutes": "60", "status": "attended"},
        {"appointment_id": "A3", "clinician_id": "C1", "First Name": "Zeb",
         "Last Name": "", "DOB": "1961-02-04", "start": "2026-10-07T10:00",
         "duration_minutes": "60", "status": "attended"}])
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [
        {"First Name": "ZEB", "Last Name": "quixote ", "DOB": "1961-02-03",
         "clinician_id": "", "instrument": "PHQ-9", "administered_at": "2026-10-05T09:55",
         "total_score": "14"}])
    cmap = tmp_path / "map.yaml"
    cmap.write_text("client_key: [First Name, Last Name, DOB]\n")
    ing = pk.ingest(practice, cfg, column_map=cmap)
    a, s = ing["appointments"], ing["assessments"]
    assert a.client_id.iloc[0] != a.client_id.iloc[1]  # another birth date, another client
    assert s.client_id.tolist() == [a.client_id.iloc[0]]
    assert s.clinician_id.tolist() == ["C1"]  # inferred through the matched client
    assert ing.rejects[["row", "column", "reason"]].values.tolist() == [
        [3, "client_id", "missing_value"]]
    assert ing.quality["tables"]["appointments"]["dropped_columns"] == []


def test_date_only_starts_are_flagged_and_lag_counts_whole_days(practice, cfg, tmp_path):
    write_table(practice, "appointments", [
        {"appointment_id": "D1", "clinician_id": "C1", "client_id": "K1",
         "start": "10/05/2026", "duration_minutes": "60", "status": "attended"},
        {"appointment_id": "D2", "clinician_id": "C1", "client_id": "K1",
         "start": "10/13/2026", "duration_minutes": "60", "status": "attended"}])
    write_table(practice, "notes", [
        {"appointment_id": "D1", "signed_at": "10/06/2026 11:00 PM"},
        {"appointment_id": "D2", "signed_at": "10/13/2026 8:00 PM"}])
    write_table(practice, "assessments", [])
    data = pk.prepare(practice, tmp_path / "run", cfg)
    assert data.appointments.start_date_only.tolist() == [True, True]
    assert data.quality["tables"]["appointments"]["adjustments"]["start_date_only"] == 2
    m = op.clinician_metrics(data, cfg).set_index("clinician_id").loc["C1"]
    # D1 signed the next day (24 h in whole days), D2 the same day (0 h)
    assert m.median_note_lag_hours == 12.0
    assert m.notes_within_24h == 1.0


def test_a_notes_file_needs_signing_times_or_statuses(practice, cfg):
    write_table(practice, "notes", [{"appointment_id": "A1"}])
    with pytest.raises(pk.IngestError, match="'signed_at'.*or 'status'"):
        pk.ingest(practice, cfg)


def test_an_empty_note_status_column_is_no_answer(combined, cfg, tmp_path):
    """A Progress Note Status column present but empty in every row (the totals row aside)
    is not provided: the documentation figures are not known (not "every note unsigned"),
    nothing is flagged, and the export's notes say so once."""
    folder, cmap = combined
    blank = COMBINED.assign(**{"Progress Note Status": ""})
    blank.iloc[0, blank.columns.get_loc("Progress Note Status")] = "6 notes"  # totals row
    blank.to_csv(folder / "Appointment Status.csv", index=False)
    data = pk.prepare(folder, tmp_path / "run", cfg, column_map=cmap)
    q = data.quality
    assert q["tables"]["notes"]["empty_columns"] == ["status"]
    assert q["tables"]["notes"]["dropped_columns"] == []  # empty, not dropped
    assert q["documentation"]["known"] is False
    said = [c for c in q["source"]["caveats"] if "neither a note status" in c]
    assert len(said) == 1 and "Appointment Status.csv" in said[0]
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    figures = ["notes_within_24h", "notes_within_72h", "median_note_lag_hours",
               "notes_open_72h", "unsigned_overdue_7d"]
    assert m[figures].isna().all().all()
    assert (m["documentation_source"] == "not_known").all()
    assert m.loc["C1", "notes_due"] == 2  # sessions whose note was due are still known
    f = op.flags(m.reset_index(), cfg)
    assert not f[["flag_late_notes", "flag_unsigned_overdue"]].any().any()
    p = ps.practice_summary(data, cfg, m.reset_index()).iloc[0]
    assert np.isnan(p["unsigned_overdue_7d"]) and np.isnan(p["notes_open_72h"])


def test_an_empty_optional_key_part_is_left_out(tmp_path, cfg):
    """A birth-date column present but empty in every row does not empty every client key:
    clients are keyed by name, as when the column is absent."""
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    rows = COMBINED.iloc[1:].rename(columns={"Date of Service": "Date", "Clinician": "Provider",
                                             "Billing Code": "CPT", "Status":
                                             "Appointment Status", "Progress Note Status":
                                             "Note Status"})
    rows.assign(DOB="").to_csv(folder / "appointments.csv", index=False)
    with_dob = pk.ingest(folder, cfg.model_copy(update={"source": "generic"}))
    rows.to_csv(folder / "appointments.csv", index=False)
    without = pk.ingest(folder, cfg.model_copy(update={"source": "generic"}))
    # the row of a clinician not on the roster, in both
    assert with_dob.quality["tables"]["appointments"]["rows_rejected"] == \
        without.quality["tables"]["appointments"]["rows_rejected"] == 1
    assert with_dob.quality["tables"]["appointments"]["empty_columns"] == []  # a key part
    pd.testing.assert_series_equal(with_dob["appointments"]["client_id"],
                                   without["appointments"]["client_id"])
    assert with_dob["appointments"]["client_id"].nunique() == 2


def test_exported_at_in_the_parameters_wins(combined, tmp_path):
    folder, cmap = combined
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k", exported_at="2026-11-10T08:00")
    ing = pk.ingest(folder, cfg, column_map=cmap)
    assert ing.quality["documentation"]["exported_at"] == "2026-11-10T08:00:00-06:00"
    assert ing.quality["documentation"]["exported_at_source"] == "parameters"


def test_assessments_from_the_appointments_file(combined, cfg, tmp_path):
    """A measure recorded on the appointment row: taken at the session's start, for its
    client and clinician; rows without a measure hold nothing for assessments."""
    folder, cmap = combined
    frame = COMBINED.assign(Measure=["", "PHQ-9", "PHQ 9", "", "GAD7", "", "PHQ-9"],
                            Score=["", "14", "9", "", "12", "", "3"])
    frame.to_csv(folder / "Appointment Status.csv", index=False)
    cmap.write_text(COMBINED_MAP.replace(
        "notes: Appointment Status.csv}",
        "notes: Appointment Status.csv,\n        assessments: Appointment Status.csv}").replace(
        "  notes: {Progress Note Status: status}\n",
        "  notes: {Progress Note Status: status}\n"
        "  assessments: {Measure: instrument, Score: total_score}\n"))
    ing = pk.ingest(folder, cfg, column_map=cmap)
    s, a = ing["assessments"], ing["appointments"]
    assert s.source_row.tolist() == [2, 3, 5]
    assert s.instrument.tolist() == ["PHQ-9", "PHQ-9", "GAD-7"]
    assert s.total_score.tolist() == [14, 9, 12]
    assert s.administered_at.tolist() == a.start.iloc[[0, 1, 2]].tolist()
    assert s.client_id.tolist() == a.client_id.iloc[[0, 1, 2]].tolist()
    assert s.clinician_id.tolist() == ["C1", "C1", "C2"]
    assert ing.quality["tables"]["assessments"]["reasons"] == {
        "summary_row": 1, "not_in_table": 2, "unknown_clinician": 1}


def test_hours_estimated_from_codes_are_counted_apart(combined, cfg, tmp_path):
    folder, cmap = combined
    data = pk.prepare(folder, tmp_path / "run", cfg, column_map=cmap)
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m.loc["C1", ["hours_attended", "hours_estimated"]].tolist() == [2.0, 2.0]
    assert m.loc["C2", "hours_estimated"] == 0.0


def test_a_notes_report_is_matched_to_its_appointments(practice, cfg, tmp_path):
    """The column map's join (SimplePractice's two reports): an attendance report with dates
    only and a status report with times; two sessions of one client on one day take the two
    rows in turn; a row with no appointment is rejected; the code is lent for the length."""
    attendance = pd.DataFrame({
        "Client": ["Zeb Quixote", "Zeb Quixote", "Pip Marchbanks", "Total"],
        "Clinician": ["Ada Lovelace", "Ada Lovelace", "Grace Hopper", ""],
        "Date": ["10/05/2026", "10/05/2026", "10/13/2026", ""],
        "Status": ["Show", "Show", "No Show", "3"]})
    status_report = pd.DataFrame({
        "Date of Service": ["10/5/2026 9:00", "10/5/2026 16:00", "10/13/2026 11:00",
                            "10/20/2026 11:00"],
        "Client": ["zeb quixote", "Zeb Quixote", "Pip Marchbanks", "Pip Marchbanks"],
        "Clinician": ["Lovelace, Ada", "Ada Lovelace", "Grace Hopper", "Grace Hopper"],
        "Billing Code": ["90791", "90834", "90837", "90837"],
        "Progress Note Status": ["LOCKED", "DRAFT", "NO NOTE", "LOCKED"]})
    for name in ("appointments", "notes", "assessments"):
        (practice / f"{name}.csv").unlink()
    attendance.to_csv(practice / "attendance.csv", index=False)
    status_report.to_csv(practice / "status.csv", index=False)
    cmap = tmp_path / "map.yaml"
    cmap.write_text(
        "files: {appointments: attendance.csv, notes: status.csv}\n"
        "columns:\n  appointments: {Clinician: clinician_id, Date: start}\n"
        "  notes: {Clinician: clinician_id, Date of Service: start, Billing Code: service,\n"
        "          Progress Note Status: status}\n"
        "join: {notes: {lend: [service]}}\n"
        "client_key: [Client]\n")
    ing = pk.ingest(practice, cfg, column_map=cmap)
    a, n = ing["appointments"], ing["notes"]
    assert a.service_code.tolist() == ["90791", "90834", "90837"]
    assert a.duration_minutes.tolist() == [60, 45, 60]
    assert a.start_date_only.all()
    assert n.appointment_id.tolist() == a.appointment_id.tolist()
    assert n.status.tolist() == ["signed", "draft", "missing"]
    q = ing.quality["tables"]
    assert q["appointments"]["reasons"] == {"summary_row": 1}
    assert q["notes"]["reasons"] == {"no_appointment_row": 1}
    assert ing.rejects.set_index(["table", "row"]).loc[("notes", 4), "column"] == "start"


def test_an_add_on_line_goes_with_its_rejected_session(practice, cfg):
    """The session has no length (an unknown-length code), so it is rejected; its add-on line
    cannot count as accepted."""
    row = {"appointment_id": "", "clinician_id": "C1", "client_id": "K1",
           "start": "2026-10-05T10:00", "status": "attended"}
    ing = ingest_appointments(practice, cfg, [dict(row, service="therapy"),
                                           dict(row, service="90785")])
    assert ing.rejects[["row", "reason"]].values.tolist() == [[1, "missing_duration"],
                                                             [2, "appointment_rejected"]]
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_accepted"], q["rows_rejected"]) == (0, 2)
    assert "add_on_lines_folded" not in q["adjustments"]
