"""Review fixes of issue 30's vocabularies (FIXVOCAB): durations written as text, status labels
with punctuation and the words practices type, treatment names that are no session, and who
cancelled. Tiny exports built by hand; every expected value is worked out by hand below."""

from __future__ import annotations

import json
from collections import defaultdict

import perfkit as pk
from perfkit import contract as C
from perfkit.ingest.services import _kind_from_name
from perfkit.ingest.statuses import _cancelled_by_label

from practice_data import CLINICIANS, write_table

# both licensed: nothing here is about licensure
ROSTER = [{**c, "license_status": "licensed", "supervisor_id": "", "licensure_rule": ""}
          for c in CLINICIANS]
COLUMNS = ["appointment_id", "clinician_id", "client_id", "start", "end", "duration_minutes",
           "status", "service", "cancelled_by"]


def appt(i, status="attended", minutes="50", end="", service="", by="", day=None):
    day = day if day is not None else 5 + int(i[1:])
    return {"appointment_id": i, "clinician_id": "C1", "client_id": f"K-{i}",
            "start": f"2026-10-{day:02d}T10:00", "end": end, "duration_minutes": minutes,
            "status": status, "service": service, "cancelled_by": by}


def ingest(tmp_path, rows, settings=""):
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", ROSTER)
    write_table(folder, "appointments", rows, columns=COLUMNS)
    write_table(folder, "notes", [])
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    if not settings:
        return pk.ingest(folder, cfg)
    cmap = tmp_path / "map.yaml"
    cmap.write_text(settings)
    return pk.ingest(folder, cfg, column_map=cmap)


# 1. Durations written as text ------------------------------------------------------------

def test_durations_written_as_text_are_minutes_in_any_profile(tmp_path):
    """"50 min", "0:50", "1 hr", "1h 30m", "50m", "45 minutes" and "1:00" have one meaning
    each: read as minutes (given, not estimated) and counted; a plain 50 is not counted."""
    texts = ["50 min", "0:50", "1 hr", "1h 30m", "50m", "45 minutes", "1:00", "50"]
    rows = [appt(f"A{i}", minutes=x) for i, x in enumerate(texts, start=1)]
    ing = ingest(tmp_path, rows)  # the contract profile: no column map at all
    a = ing["appointments"]
    assert a["duration_minutes"].tolist() == [50, 50, 60, 90, 50, 45, 60, 50]
    assert not a["duration_estimated"].any()
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_accepted"], q["reasons"]) == (8, {})
    assert q["adjustments"]["duration_from_text"] == 7


UNREADABLE = [
    appt("A1", minutes="see chart", end="2026-10-06T10:40"),  # the end: 40 minutes
    appt("A2", minutes="TBD", service="90834"),  # the code's usual 45
    appt("A3", minutes="??"),  # nothing else: the default 50
    appt("A4", status="cancelled", minutes="n/a"),  # needs no length
    appt("A5", minutes="53"),
]


def test_an_unreadable_duration_falls_through_where_the_default_is_allowed(tmp_path):
    ing = ingest(tmp_path, UNREADABLE, "session_length: default\n")
    a = ing["appointments"].set_index("appointment_id")
    assert a["duration_minutes"].fillna(0).tolist() == [40, 45, 50, 0, 53]
    assert a["duration_estimated"].tolist() == [False, True, True, False, False]
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_accepted"], q["reasons"]) == (5, {})
    adj = q["adjustments"]
    assert (adj["duration_unreadable_set_aside"], adj["duration_from_end"],
            adj["duration_from_code"], adj["duration_default"]) == (4, 1, 1, 1)
    # the unreadable text is never quoted
    assert "see chart" not in json.dumps(ing.quality) + ing.rejects.to_csv()


def test_an_unreadable_duration_is_rejected_in_a_contract_file(tmp_path):
    ing = ingest(tmp_path, UNREADABLE)
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_accepted"], q["reasons"]) == (1, {"invalid_number": 4})
    # the sentence says what it expects, with the written form it now reads
    detail = ing.rejects[ing.rejects["table"] == "appointments"]["detail"].iloc[0]
    assert "'50 min'" in detail and "'see chart'" in detail


# 2. Status labels: punctuation and the words practices type --------------------------------

STATUSES = {
    "Cancelled (Late)": "late_cancel", "Cancelled (late)": "late_cancel",
    "Late Cancellation (Fee)": "late_cancel", "No Show (Charged)": "no_show",
    "Canceled by: Provider": "clinician_cancelled", "Cancelled - Client": "cancelled",
    "Client Canceled": "cancelled", "Cancelled by Client": "cancelled",
    "Patient cancelled": "cancelled", "Did Not Show": "no_show", "Didn't show": "no_show",
    "Completed - Telehealth": "attended", "Attended (in person)": "attended",
    "Therapist Cancelled": "clinician_cancelled", "Cancelled - Counselor": "clinician_cancelled",
    "Client Late Cancelled": "late_cancel",
}


def test_status_labels_are_read_by_their_words(tmp_path):
    rows = [appt(f"A{i}", status=label, minutes="50" if want == "attended" else "")
            for i, (label, want) in enumerate(STATUSES.items(), start=1)]
    # compound labels that could say two things stay unknown until a column map says
    rows += [appt("B1", status="Cancelled - Rescheduled", minutes="", day=25),
             appt("B2", status="Staff Cancelled", minutes="", day=26)]
    ing = ingest(tmp_path, rows)
    a = ing["appointments"]
    assert a["status"].tolist() == list(STATUSES.values())
    q = ing.quality["tables"]["appointments"]
    assert q["reasons"] == {"unknown_status": 2}


def test_every_vocabulary_has_a_words_reading_that_never_disagrees(tmp_path):
    for name, vocab in C.VOCABULARIES.items():
        meanings = defaultdict(set)
        for key, value in vocab.items():
            meanings[C.header_key(key)].add(value)
        assert {k: v for k, v in meanings.items() if len(v) > 1} == {}, name
    read = C.label_lookup(C.NOTE_STATUS_SYNONYMS)
    assert (read("Signed (Locked)"), read("[Draft]"), read("No note!")) == (
        "signed", "draft", "missing")
    assert C.label_lookup(C.YES_NO_SYNONYMS)("Yes.") == "yes"
    # the note status column of an export reads the same way
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", ROSTER)
    write_table(folder, "appointments", [appt("A1"), appt("A2"), appt("A3")], columns=COLUMNS)
    write_table(folder, "notes", [{"appointment_id": i, "status": s} for i, s in (
        ("A1", "Signed (Locked)"), ("A2", "[Draft]"), ("A3", "No note!"))],
        columns=["appointment_id", "status"])
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key",
                         exported_at="2026-11-01T09:00")
    notes = pk.ingest(folder, cfg)["notes"]
    assert notes.set_index("appointment_id")["status"].to_dict() == {
        "A1": "signed", "A2": "draft", "A3": "missing"}


# 3. Treatment names that are no session --------------------------------------------------

KINDS = {
    "Free 15 min Consultation": "other", "Complimentary Phone Consultation": "other",
    "Phone Consultation": "other", "Discovery Call": "other", "Consultation Call": "other",
    "Admin Time": "other", "Staff Meeting": "other", "Blocked Time": "other",
    "Clinical Supervision": "other", "Staff Training": "other",
    "Initial Consultation (60 min)": "intake", "Intake": "intake",
    "Initial Assessment": "intake", "Diagnostic Evaluation": "intake",
    "First Session": "intake", "Individual Therapy 50 min": "therapy",
    "Parent Training": "therapy", "DBT Skills Training Group": "therapy",
    "Telephone Therapy": "therapy",
}


def test_free_consultations_and_admin_entries_are_other_not_intake_or_therapy(tmp_path):
    rows = [appt(f"A{i}", minutes="", service=name)
            for i, name in enumerate(KINDS, start=1)]
    ing = ingest(tmp_path, rows, "service_text: free\nsession_length: default\n")
    a = ing["appointments"]
    assert a["service"].tolist() == list(KINDS.values())
    # a free consultation keeps the 15 minutes its name states; Initial Consultation its 60
    assert a["duration_minutes"].tolist()[0] == 15
    assert a["duration_minutes"].tolist()[10] == 60
    # every name but "Intake" (the contract's own word) is read by its words
    assert ing.quality["tables"]["appointments"]["adjustments"]["service_from_name"] == 18


def test_a_long_treatment_name_is_read_quickly():
    import time

    began = time.perf_counter()
    assert _kind_from_name("free call " * 50_000) == "other"
    assert _kind_from_name("x" * 200_000) == "therapy"
    assert time.perf_counter() - began < 2


# 4. Who cancelled: the clinician's own side only ------------------------------------------

def test_cancelled_by_words():
    """Staff, office, clinic, front desk and admin often cancel for a client: neither side
    (kept as the status says, counted as not recognised), never the clinician's."""
    sides = {"Provider": "clinician", "Counselor": "clinician", "Practitioner": "clinician",
             "Provider Cancelled": "clinician", "Cancelled - Therapist": "clinician",
             "Canceled by: Practice": "clinician", "Client": "client",
             "Cancelled - Client": "client", "Staff": None, "Office": None, "Front Desk": None,
             "Clinic": None, "Admin": None, "Staff Member": None}
    assert {v: C.CANCELLED_BY_SYNONYMS.get(_cancelled_by_label(v)) for v in sides} == sides


def test_staff_and_front_desk_cancellations_stay_the_clients(tmp_path):
    who = ["Staff", "Office", "Front Desk", "Clinic", "Provider Cancelled", "Counselor",
           "Client"]
    rows = [appt(f"A{i}", status="Cancelled", minutes="", by=b)
            for i, b in enumerate(who, start=1)]
    ing = ingest(tmp_path, rows)
    a = ing["appointments"]
    assert a["status"].tolist() == ["cancelled"] * 4 + ["clinician_cancelled"] * 2 + [
        "cancelled"]
    adj = ing.quality["tables"]["appointments"]["adjustments"]
    assert (adj["clinician_cancelled_from_cancelled_by"],
            adj["cancelled_by_not_recognised"]) == (2, 4)
