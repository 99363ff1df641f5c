"""Ingest: every rejection reason, synonyms, time zones, duplicates, accounting, privacy."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit.contract import REASONS
from perfkit.ingest import IngestError

from practice_data import APPOINTMENTS, ASSESSMENTS, CLINICIANS, NOTES, write_table


def rows(base, *changes):
    """Copies of ``base`` rows with some fields changed: changes are (index, {field: value})."""
    out = copy.deepcopy(base)
    for i, fields in changes:
        if i >= len(out):
            out.append(copy.deepcopy(out[0]))
        out[i].update(fields)
    return out


def only_reject(ing, table):
    rej = ing.rejects[ing.rejects.table == table]
    assert len(rej) == 1, ing.rejects.to_string()
    return rej.iloc[0]


def check_accounting(ing):
    for name, e in ing.quality["tables"].items():
        if e["present"]:
            assert e["rows_in"] == e["rows_accepted"] + e["rows_rejected"]
            assert e["rows_accepted"] == len(ing.tables[name])
            assert sum(e["reasons"].values()) == e["rows_rejected"]
            assert (ing.rejects.table == name).sum() == e["rows_rejected"]


def test_valid_practice_has_no_rejects(practice, cfg):
    ing = pk.ingest(practice, cfg)
    assert ing.rejects.empty
    check_accounting(ing)
    assert len(ing["appointments"]) == 3
    assert ing.quality["tables"]["time_off"] == {"present": False}


# ---- one bad row per rejection reason -------------------------------------------------------

CASES = [
    # (table, rows, expected row, column, reason)
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "clinician_id": "C7"})),
     4, "clinician_id", "unknown_clinician"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "start": "next Tuesday"})),
     4, "start", "unparseable_date"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "start":
                                             "2026-03-08T02:30:00"})),
     4, "start", "nonexistent_local_time"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "duration_minutes": "0"})),
     4, "duration_minutes", "out_of_range"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9",
                                             "duration_minutes": "fifty"})),
     4, "duration_minutes", "invalid_number"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9",
                                             "duration_minutes": "50.5"})),
     4, "duration_minutes", "invalid_number"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "status": "arrived late"})),
     4, "status", "unknown_status"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "service": "99213"})),
     4, "service", "unknown_service"),
    ("appointments", rows(APPOINTMENTS, (3, {"appointment_id": "A9", "client_id": ""})),
     4, "client_id", "missing_value"),
    ("appointments", rows(APPOINTMENTS, (3, APPOINTMENTS[2])), 4, "", "exact_duplicate"),
    ("notes", rows(NOTES, (2, {"appointment_id": "A404"})), 3, "appointment_id",
     "unknown_appointment"),
    ("notes", rows(NOTES, (2, {"appointment_id": "A3", "signed_at": "2026-10-01T09:00:00"})),
     3, "signed_at", "signed_before_session"),
    ("notes", rows(NOTES, (2, {"appointment_id": "A3", "signed_at": "2026-13-45T09:00:00"})),
     3, "signed_at", "unparseable_date"),
    ("assessments", rows(ASSESSMENTS, (2, {"instrument": "BDI-II"})), 3, "instrument",
     "unknown_instrument"),
    ("assessments", rows(ASSESSMENTS, (2, {"total_score": "28"})), 3, "total_score",
     "out_of_range"),
    ("assessments", rows(ASSESSMENTS, (2, {"total_score": "12.5"})), 3, "total_score",
     "invalid_number"),  # a PHQ-9 total is a whole number: not a number of the right kind
    ("assessments", rows(ASSESSMENTS, (2, {"administered_at": "1900-10-12T09:55:00"})), 3,
     "administered_at", "date_out_of_range"),
    ("appointments", rows(APPOINTMENTS, (1, {"start": "2100-10-12T10:00:00"})), 2, "start",
     "date_out_of_range"),
    ("appointments", rows(APPOINTMENTS, (1, {"start": "2026-10-12T10:00:00 and more"})), 2,
     "start", "unparseable_date"),
    ("clinicians", rows(CLINICIANS, (1, {"start_date": "2026-06-01 and some text"})), 2,
     "start_date", "unparseable_date"),
    ("clinicians", rows(CLINICIANS, (1, {"start_date": "2031-06-01"})), 2, "start_date",
     "date_out_of_range"),
    ("assessments", rows(ASSESSMENTS, (2, {"total_score": ""})), 3, "total_score", "no_score"),
    ("assessments", rows(ASSESSMENTS, (2, {"clinician_id": "C9"})), 3, "clinician_id",
     "unknown_clinician"),
    ("assessments", rows(ASSESSMENTS, (2, {"clinician_id": "", "client_id": "MRN-999"})), 3,
     "clinician_id", "no_clinician_for_assessment"),
    ("assessments", rows(ASSESSMENTS, (2, {"clinician_id": "", "administered_at":
                                           "2026-10-01T09:00:00"})),
     3, "clinician_id", "no_clinician_for_assessment"),
    ("clinicians", rows(CLINICIANS, (2, {"clinician_id": "C3", "supervisor_id": "C8"})), 3,
     "supervisor_id", "unknown_supervisor"),
    ("clinicians", rows(CLINICIANS, (2, {"clinician_id": "C3", "end_date": "2023-01-01"})), 3,
     "end_date", "end_before_start"),
    ("clinicians", rows(CLINICIANS, (2, {"clinician_id": "C3", "license_status": "emeritus"})),
     3, "license_status", "unknown_value"),
    ("clinicians", rows(CLINICIANS, (2, {"clinician_id": "C3",
                                         "weekly_capacity_hours": "-5"})),
     3, "weekly_capacity_hours", "out_of_range"),
    ("clinicians", rows(CLINICIANS, (2, {"clinician_id": "C3", "start_date": "01/02/2024"})), 3,
     "start_date", "unparseable_date"),
]


@pytest.mark.parametrize("table,data,row,column,reason", CASES,
                         ids=[f"{c[0]}-{c[4]}" for c in CASES])
def test_each_rejection_reason(practice, cfg, table, data, row, column, reason):
    write_table(practice, table, data)
    ing = pk.ingest(practice, cfg)
    rej = only_reject(ing, table)
    assert (rej.row, rej.column, rej.reason) == (row, column, reason)
    assert rej.detail
    assert ing.quality["tables"][table]["reasons"] == {reason: 1}
    check_accounting(ing)


def test_every_reason_ingest_gives_has_a_sentence_and_every_sentence_a_use():
    """The whole class: a rejection reason added without its plain sentence (or a sentence
    left after its check was removed) fails here. Reasons are read from the syntax tree of
    every module of perfkit/ingest/: the literal reasons of every ``reject`` call and of the
    reference checks."""
    import ast
    import importlib

    from perfkit.contract import ENUM_REASON

    ingest_module = importlib.import_module("perfkit.ingest")
    tree = ast.Module(body=[node for path in sorted(Path(ingest_module.__file__).parent.glob(
        "*.py")) for node in ast.parse(path.read_text(encoding="utf-8")).body], type_ignores=[])
    given = set(ENUM_REASON.values()) | {"unknown_value"}  # enum reasons go by vocabulary
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            literals = [a.value for a in node.args
                        if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if name == "reject" and isinstance(node.args[1], ast.Constant):
                given.add(node.args[1].value)  # reject(rows, reason, column, detail)
            elif name in ("_reference", "clinician_ref"):
                given |= {v for v in literals if v.startswith("unknown_")
                          or v.endswith("_rejected")}
        if isinstance(node, ast.FunctionDef) and node.name == "clinician_ref":
            given |= {d.value for d in node.args.defaults if isinstance(d, ast.Constant)
                      and d.value.startswith("unknown_")}
    assert given == set(REASONS), (sorted(given - set(REASONS)), sorted(set(REASONS) - given))


def test_conflicting_duplicate_ids_reject_every_copy(practice, cfg):
    data = rows(APPOINTMENTS, (3, dict(APPOINTMENTS[0], status="no_show")))
    write_table(practice, "appointments", data)
    ing = pk.ingest(practice, cfg)
    rej = ing.rejects[ing.rejects.table == "appointments"]
    assert list(rej.row) == [1, 4]
    assert set(rej.reason) == {"conflicting_duplicate_id"}
    # the note for A1 now points at a rejected appointment, and says so
    note = only_reject(ing, "notes")
    assert (note.row, note.reason) == (1, "appointment_rejected")
    check_accounting(ing)


def test_exact_duplicate_keeps_first_copy(practice, cfg):
    write_table(practice, "notes", rows(NOTES, (2, NOTES[0])))
    ing = pk.ingest(practice, cfg)
    assert only_reject(ing, "notes").reason == "exact_duplicate"
    assert list(ing["notes"].appointment_id) == ["A1", "A2"]


def test_rows_of_a_rejected_clinician_say_so(practice, cfg):
    write_table(practice, "clinicians", rows(CLINICIANS, (1, {"start_date": "soon"})))
    ing = pk.ingest(practice, cfg)
    appt = only_reject(ing, "appointments")
    assert (appt.row, appt.reason) == (3, "clinician_rejected")
    check_accounting(ing)


def test_self_supervision_is_rejected(practice, cfg):
    write_table(practice, "clinicians", rows(CLINICIANS, (1, {"supervisor_id": "C2"})))
    rej = only_reject(pk.ingest(practice, cfg), "clinicians")
    assert rej.reason == "unknown_supervisor" and "own supervisor" in rej.detail


def test_optional_tables_checked(practice, cfg):
    write_table(practice, "time_off", [
        {"clinician_id": "C1", "start_date": "2026-10-09", "end_date": "2026-10-13"},
        {"clinician_id": "C1", "start_date": "2026-10-20", "end_date": "2026-10-19"},
        {"clinician_id": "CX", "start_date": "2026-10-20", "end_date": "2026-10-21"},
    ])
    write_table(practice, "supervision", [
        {"supervisee_id": "C2", "supervisor_id": "C1", "date": "2026-10-07", "minutes": "60",
         "format": "Individual"},
        {"supervisee_id": "C2", "supervisor_id": "C1", "date": "2026-10-08", "minutes": "90",
         "format": "peer"},
        {"supervisee_id": "C2", "supervisor_id": "C5", "date": "2026-10-09", "minutes": "60",
         "format": "group"},
    ])
    write_table(practice, "reviews", [
        {"clinician_id": "C1", "review_date": "2026-09-01", "reviewer_id": "OWNER",
         "domain": "skills", "rating": "4", "evidence": "Observed agenda setting"},
        {"clinician_id": "C1", "review_date": "2026-09-01", "reviewer_id": "OWNER",
         "domain": "values", "rating": "6", "evidence": "x"},
    ])
    write_table(practice, "ce", [
        {"clinician_id": "C1", "completed_on": "2026-05-01", "title": "Ethics", "hours": "3"},
        {"clinician_id": "C1", "completed_on": "2026-05-02", "title": "Law", "hours": "0"},
    ])
    ing = pk.ingest(practice, cfg)
    got = ing.rejects.set_index(["table", "row"])[["column", "reason"]]
    assert got.loc[("time_off", 2)].tolist() == ["end_date", "end_before_start"]
    assert got.loc[("time_off", 3)].tolist() == ["clinician_id", "unknown_clinician"]
    assert got.loc[("supervision", 2)].tolist() == ["format", "unknown_value"]
    assert got.loc[("supervision", 3)].tolist() == ["supervisor_id", "unknown_supervisor"]
    assert got.loc[("reviews", 2)].tolist() == ["rating", "out_of_range"]
    assert got.loc[("ce", 2)].tolist() == ["hours", "out_of_range"]
    assert len(ing.rejects) == 6
    assert ing["supervision"].format.tolist() == ["individual"]
    check_accounting(ing)


# ---- assessments: items, prorating, inference -----------------------------------------------

def _phq_items(values):
    return {f"item_{i + 1}": ("" if v is None else str(v)) for i, v in enumerate(values)}


def test_item_totals_prorating_and_item_rules(practice, cfg):
    base = {"client_id": "MRN-111", "clinician_id": "C1", "instrument": "PHQ-9",
            "administered_at": "2026-10-12T09:50:00", "total_score": ""}
    data = [
        {**base, **_phq_items([1, 2, 3, 0, 1, 2, 1, 0, 1])},                      # sum 11
        {**base, **_phq_items([1, 2, 3, 0, 1, 2, 1, None, 1])},                  # 11 * 9/8
        {**base, **_phq_items([3, 3, None, 0, None, 2, 1, 0, 0])},               # 9 * 9/7
        {**base, **_phq_items([3, None, None, 0, None, 2, 1, 0, 0])},            # 3 missing
        {**base, **_phq_items([1, 2, 3, 0, 1, 2, 1, 0, 4])},                     # item 9 = 4
        {**base, "total_score": "12", **_phq_items([1, 2, 3, 0, 1, 2, 1, 0, 1])},  # 12 != 11
        {**base, "instrument": "GAD-7", **_phq_items([1, 1, 1, 1, 1, 1, 1, 1, None])},
        {**base, "instrument": "phq9", "total_score": "11",
         **_phq_items([1, 2, 3, 0, 1, 2, 1, 0, 1])},
    ]
    write_table(practice, "assessments", data)
    ing = pk.ingest(practice, cfg)
    a = ing["assessments"].set_index("source_row")
    assert a.loc[1, "total_score"] == 11 and not a.loc[1, "prorated"]
    assert a.loc[2, "total_score"] == pytest.approx(11 * 9 / 8) and a.loc[2, "prorated"]
    assert a.loc[3, "total_score"] == pytest.approx(9 * 9 / 7) and a.loc[3, "items_answered"] == 7
    assert a.loc[8, "total_score"] == 11 and a.loc[8, "instrument"] == "PHQ-9"
    assert a.loc[1, "item_9"] == 1
    rej = ing.rejects.set_index("row")
    assert rej.loc[4, "reason"] == "too_many_missing_items"
    assert (rej.loc[5, "reason"], rej.loc[5, "column"]) == ("out_of_range", "item_9")
    assert rej.loc[6, "reason"] == "total_mismatch"
    assert (rej.loc[7, "reason"], rej.loc[7, "column"]) == ("item_not_in_instrument", "item_8")
    assert ing.quality["tables"]["assessments"]["adjustments"] == {
        "total_from_items": 3, "total_prorated": 2}
    check_accounting(ing)


def test_missing_clinician_is_inferred_from_last_attended_session(practice, cfg):
    data = rows(ASSESSMENTS, (2, {"clinician_id": "", "client_id": "MRN-222",
                                  "administered_at": "2026-10-06T15:00:00"}))
    # MRN-222's only appointment was a no-show: nobody saw them, so no clinician
    write_table(practice, "assessments", data)
    ing = pk.ingest(practice, cfg)
    assert only_reject(ing, "assessments").reason == "no_clinician_for_assessment"
    a = ing["assessments"]
    # row 2 (GAD-7 on 2026-10-12, no clinician) goes to C1, who saw MRN-111 that day
    assert a.loc[a.source_row == 2, "clinician_id"].item() == "C1"
    assert a.loc[a.source_row == 2, "clinician_inferred"].item()
    assert not a.loc[a.source_row == 1, "clinician_inferred"].item()


def test_inference_picks_the_latest_clinician_on_or_before_the_date(practice, cfg):
    appts = rows(APPOINTMENTS, (3, {"appointment_id": "A4", "clinician_id": "C2",
                                    "start": "2026-10-19T08:00:00"}))
    write_table(practice, "appointments", appts)
    write_table(practice, "assessments", [
        {"client_id": "MRN-111", "clinician_id": "", "instrument": "ORS",
         "administered_at": "2026-10-18T12:00:00", "total_score": "22.4"},
        {"client_id": "MRN-111", "clinician_id": "", "instrument": "ORS",
         "administered_at": "2026-10-19T18:00:00", "total_score": "25.1"},
    ])
    a = pk.ingest(practice, cfg)["assessments"]
    assert a.clinician_id.tolist() == ["C1", "C2"]
    assert a.total_score.tolist() == [22.4, 25.1]


# ---- synonyms and column maps ---------------------------------------------------------------

def test_status_instrument_and_cpt_synonyms(practice, cfg):
    statuses = ["Kept", "show", "No Show", "no-show", "Late Cancel", "late_cancel", "Canceled",
                "CANCELLED", "scheduled"]
    expected = ["attended", "attended", "no_show", "no_show", "late_cancel", "late_cancel",
                "cancelled", "cancelled", "scheduled"]
    services = ["90791", "90792", "90832", "90834", "90837", "90846", "90847", "90853", ""]
    data = [dict(APPOINTMENTS[0], appointment_id=f"S{i}", status=s, service=svc)
            for i, (s, svc) in enumerate(zip(statuses, services, strict=True))]
    write_table(practice, "appointments", data)
    write_table(practice, "notes", [])
    instruments = ["phq9", "PHQ 9", "Phq-9", "gad7", "GAD-7", "pcl5", "PCL-5", "ors", "SRS"]
    write_table(practice, "assessments", [
        dict(ASSESSMENTS[0], instrument=name, total_score="5") for name in instruments])
    ing = pk.ingest(practice, cfg)
    assert ing.rejects.empty, ing.rejects.to_string()
    appts = ing["appointments"]
    assert appts.status.tolist() == expected
    assert appts.service.tolist() == ["intake"] * 2 + ["therapy"] * 7
    assert ing["assessments"].instrument.tolist() == [
        "PHQ-9"] * 3 + ["GAD-7"] * 2 + ["PCL-5"] * 2 + ["ORS", "SRS"]


def test_clinician_cancellations_and_late_cancellations_from_a_fee(practice, cfg):
    """TherapyNotes records a late cancellation as Canceled plus Charge Fee; a missed session
    with a fee stays a no-show; Clinician Canceled is the clinician's, not the client's."""
    write_table(practice, "appointments", [
        dict(APPOINTMENTS[0], status="Canceled", fee_charged="Yes"),
        dict(APPOINTMENTS[1], status="Canceled", fee_charged="No"),
        dict(APPOINTMENTS[2], status="Missed", fee_charged="Y"),
        dict(APPOINTMENTS[0], appointment_id="A4", status="Clinician Canceled",
             fee_charged="")])
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    ing = pk.ingest(practice, cfg)
    assert ing.rejects.empty, ing.rejects.to_string()
    assert ing["appointments"]["status"].tolist() == ["late_cancel", "cancelled", "no_show",
                                                      "clinician_cancelled"]
    assert ing.quality["tables"]["appointments"]["adjustments"] == {"late_cancel_from_fee": 1}
    assert "fee_charged" not in ing["appointments"]


def test_headers_are_case_insensitive_and_trimmed(practice, cfg):
    frame = pd.read_csv(practice / "notes.csv", dtype=str, keep_default_na=False)
    frame.columns = [" Appointment_ID ", "SIGNED_AT"]
    frame.to_csv(practice / "notes.csv", index=False)
    assert pk.ingest(practice, cfg).rejects.empty


def test_column_map_renames_files_headers_and_labels(practice, cfg, tmp_path):
    export = pd.DataFrame({
        "Appt ID": ["A1", "A2", "A3"], "Provider": ["C1", "C1", "C2"],
        "Patient ID": ["MRN-111", "MRN-111", "MRN-222"],
        "When": ["10/05/2026 10:00 AM", "10/12/2026 10:00 AM", "10/06/2026 03:00 PM"],
        "Minutes": ["60", "53", "53"], "Appointment Status": ["Checked Out", "Checked Out",
                                                               "Client No-Show"],
    })
    (practice / "appointments.csv").unlink()
    export.to_csv(practice / "Appointment Report.csv", index=False)
    cmap = tmp_path / "map.yaml"
    cmap.write_text(
        "files: {appointments: Appointment Report.csv}\n"
        "columns:\n  appointments: {Appt ID: appointment_id, provider: clinician_id,\n"
        "    Patient ID: client_id, When: start, Minutes: duration_minutes,\n"
        "    Appointment Status: status}\n"
        "values:\n  appointments:\n    status: {Checked Out: attended, Client No-Show: no_show}\n"
        "datetime_format: '%m/%d/%Y %I:%M %p'\n")
    ing = pk.ingest(practice, cfg, column_map=cmap)
    assert ing.rejects.empty, ing.rejects.to_string()
    a = ing["appointments"]
    assert a.status.tolist() == ["attended", "attended", "no_show"]
    assert a.start.iloc[2] == pd.Timestamp("2026-10-06 15:00", tz="America/Chicago")
    assert ing.quality["tables"]["appointments"]["file"] == "Appointment Report.csv"


def test_column_map_errors_are_plain(practice, cfg, tmp_path):
    cmap = tmp_path / "map.yaml"
    cmap.write_text("columns: {appointments: {Appt: appointment_identifier}}\n")
    with pytest.raises(IngestError, match="appointments has no contract column "
                                          "'appointment_identifier'"):
        pk.ingest(practice, cfg, column_map=cmap)


# ---- time zones -----------------------------------------------------------------------------

def test_times_with_offsets_are_converted_and_naive_times_are_local(practice, cfg):
    data = rows(APPOINTMENTS,
                (0, {"start": "2026-11-01T04:59:00Z"}),        # 23:59 CDT on Oct 31
                (1, {"start": "2026-11-01T05:00:00+00:00"}),   # 00:00 CDT on Nov 1
                (2, {"start": "2026-10-31T23:30:00-07:00"}))   # 01:30 CDT on Nov 1 (first one)
    write_table(practice, "appointments", data)
    write_table(practice, "notes", [])
    a = pk.ingest(practice, cfg)["appointments"]
    local = a.start.dt.tz_localize(None)
    assert local.tolist() == [pd.Timestamp("2026-10-31 23:59"), pd.Timestamp("2026-11-01 00:00"),
                              pd.Timestamp("2026-11-01 01:30")]
    assert str(a.start.dt.tz) == "America/Chicago"
    end = pd.Timestamp(cfg.period_end, tz=cfg.timezone)
    assert (a.start < end).tolist() == [True, False, False]


def test_daylight_saving_change_in_the_autumn(practice, cfg):
    # 2026-11-01 01:30 happens twice in Chicago; a naive time takes the first (CDT, -05:00)
    data = rows(APPOINTMENTS, (0, {"start": "2026-11-01T01:30:00"}),
                (1, {"start": "2026-11-01T03:00:00"}))
    write_table(practice, "appointments", data)
    write_table(practice, "notes", [])
    ing = pk.ingest(practice, cfg)
    a = ing["appointments"]
    assert a.start.iloc[0].utcoffset() == dt.timedelta(hours=-5)
    assert a.start.iloc[1].utcoffset() == dt.timedelta(hours=-6)
    # an hour-long session across the change ends 2 real hours after 01:30 CDT... no: 1 hour
    assert (a.end.iloc[0] - a.start.iloc[0]) == pd.Timedelta(minutes=60)
    assert ing.quality["tables"]["appointments"]["adjustments"] == {
        "start_ambiguous_local_time_first_occurrence": 1}


def test_practice_time_zone_comes_from_parameters(practice, tmp_path):
    cfg = pk.load_config(timezone="America/Los_Angeles", pseudonym_key_file=tmp_path / "k")
    a = pk.ingest(practice, cfg)["appointments"]
    assert a.start.iloc[0] == pd.Timestamp("2026-10-05 10:00", tz="America/Los_Angeles")


# ---- unusable files -------------------------------------------------------------------------

def test_missing_required_file(practice, cfg):
    (practice / "notes.csv").unlink()
    with pytest.raises(IngestError, match=r"required file notes.csv .* is missing"):
        pk.ingest(practice, cfg)


def test_missing_required_column_names_file_and_column(practice, cfg):
    frame = pd.read_csv(practice / "appointments.csv", dtype=str)
    frame.drop(columns="status").to_csv(practice / "appointments.csv", index=False)
    with pytest.raises(IngestError, match="appointments.csv: required column 'status' is "
                                          "missing"):
        pk.ingest(practice, cfg)


def test_assessments_need_a_total_or_items(practice, cfg):
    pd.DataFrame(ASSESSMENTS).drop(columns="total_score").to_csv(
        practice / "assessments.csv", index=False)
    with pytest.raises(IngestError, match="total_score"):
        pk.ingest(practice, cfg)


def test_csv_and_parquet_of_one_table_is_ambiguous(practice, cfg):
    pd.DataFrame(NOTES).to_parquet(practice / "notes.parquet")
    with pytest.raises(IngestError, match="holds both"):
        pk.ingest(practice, cfg)


# ---- parquet input --------------------------------------------------------------------------

def test_parquet_input_with_typed_columns(practice, cfg):
    frame = pd.DataFrame(APPOINTMENTS)
    frame["start"] = pd.to_datetime(frame["start"])                # naive: practice-local
    frame["duration_minutes"] = frame["duration_minutes"].astype(int)
    (practice / "appointments.csv").unlink()
    frame.to_parquet(practice / "appointments.parquet")
    notes = pd.DataFrame({"appointment_id": ["A1", "A2"],
                          "signed_at": pd.to_datetime(["2026-10-05T22:00:00Z", None], utc=True)})
    (practice / "notes.csv").unlink()
    notes.to_parquet(practice / "notes.parquet")
    ing = pk.ingest(practice, cfg)
    assert ing.rejects.empty, ing.rejects.to_string()
    assert ing["notes"].signed_at.iloc[0] == pd.Timestamp("2026-10-05 17:00", tz=cfg.timezone)
    assert ing["notes"].signed_at.isna().iloc[1]
    assert ing["appointments"].duration_minutes.tolist() == [60, 53, 53]


# ---- privacy --------------------------------------------------------------------------------

def test_client_ids_are_keyed_pseudonyms(practice, cfg):
    ing = pk.ingest(practice, cfg)
    ids = set(ing["appointments"].client_id) | set(ing["assessments"].client_id)
    assert all(i.startswith("cl-") and len(i) == 15 for i in ids)
    assert not {"MRN-111", "MRN-222"} & ids
    # the same client in two tables gets the same pseudonym, and a second run the same again
    again = pk.ingest(practice, cfg)
    assert again["appointments"].client_id.tolist() == ing["appointments"].client_id.tolist()
    assert ing["assessments"].client_id.iloc[0] == ing["appointments"].client_id.iloc[0]


def test_another_key_gives_other_pseudonyms(practice, cfg, tmp_path):
    other = pk.ingest(practice, cfg, key_file=tmp_path / "other.key")
    mine = pk.ingest(practice, cfg)
    assert set(other["appointments"].client_id).isdisjoint(mine["appointments"].client_id)
    assert (tmp_path / "other.key").stat().st_mode & 0o077 == 0  # owner-only


def test_non_contract_columns_are_dropped_and_reported(practice, cfg):
    ing = pk.ingest(practice, cfg)
    assert "client_name" not in ing["appointments"]
    assert ing.quality["tables"]["appointments"]["dropped_columns"] == ["client_name",
                                                                        "client_dob"]


def test_rejects_never_quote_client_ids(practice, cfg):
    data = rows(APPOINTMENTS, (3, {"appointment_id": "A9", "clinician_id": "C7"}),
                (4, {"appointment_id": "A10", "client_id": "MRN-777", "status": "???"}))
    write_table(practice, "appointments", data)
    ing = pk.ingest(practice, cfg)
    text = ing.rejects.to_csv()
    assert "MRN-" not in text and "Zebulon" not in text
    assert "'C7' is not a known clinician" in text


def test_accounting_holds_on_a_messy_file(practice, cfg):
    rng = np.random.default_rng(1)
    data = []
    for i in range(300):
        row = dict(APPOINTMENTS[i % 3], appointment_id=f"M{i % 250}")
        spoil = rng.integers(0, 6)
        if spoil == 1:
            row["status"] = "maybe"
        elif spoil == 2:
            row["start"] = "2026-02-30T10:00:00"
        elif spoil == 3:
            row["clinician_id"] = "nobody"
        data.append(row)
    write_table(practice, "appointments", data)
    ing = pk.ingest(practice, cfg)
    check_accounting(ing)
    e = ing.quality["tables"]["appointments"]
    assert e["rows_in"] == 300 and e["rows_rejected"] > 0 and e["rows_accepted"] > 0


def test_pseudonym_collisions_are_rejected_not_merged(practice, cfg, monkeypatch):
    import perfkit.pseudonym as ps

    monkeypatch.setattr(ps, "DIGITS", 0)  # every id maps to "cl-": all collide
    ing = pk.ingest(practice, cfg)
    assert set(ing.rejects.reason) == {"pseudonym_collision", "appointment_rejected"}
    assert ing["appointments"].empty and ing["assessments"].empty
    check_accounting(ing)


def test_a_roster_date_known_only_to_the_month_is_its_first_day_and_said(practice, cfg):
    """Start dates 2023-02 / Feb 2023 / February 2023 / 03/2024 read as the 1st of the month;
    an end date 2026-09 as the last day (30 September: the clinician worked that month);
    'Febuary 2023' and 2023-13 are still unreadable."""
    roster = [dict(CLINICIANS[0], clinician_id=f"M{i}", name=f"M {i}", start_date=s)
              for i, s in enumerate(["2023-02", "Feb 2023", "February 2023", "03/2024",
                                     "Febuary 2023", "2023-13"])]
    roster[0]["end_date"] = "2026-09"
    write_table(practice, "clinicians", roster + [CLINICIANS[0]])
    write_table(practice, "appointments", APPOINTMENTS[:2])
    write_table(practice, "notes", NOTES)
    write_table(practice, "assessments", [])
    ing = pk.ingest(practice, cfg)
    c = ing.tables["clinicians"].set_index("clinician_id")
    assert c.loc[["M0", "M1", "M2", "M3"], "start_date"].tolist() == [
        pd.Timestamp("2023-02-01")] * 3 + [pd.Timestamp("2024-03-01")]
    assert c.loc["M0", "end_date"] == pd.Timestamp("2026-09-30")
    assert c.loc["C1", "start_date"] == pd.Timestamp("2024-01-01")  # a whole date as it is
    rej = ing.rejects[ing.rejects.table == "clinicians"]
    assert rej.reason.tolist() == ["unparseable_date"] * 2 and rej.row.tolist() == [5, 6]
    assert ing.quality["tables"]["clinicians"]["adjustments"] == {
        "start_date_month_only": 4, "end_date_month_only": 1}
    check_accounting(ing)
