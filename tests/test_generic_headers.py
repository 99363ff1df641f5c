"""Issue 30, items 1 and 2: the generic profile finds the appointment report by its content,
whatever its name, and reads headers by meaning (case, spacing and punctuation ignored, many
spellings); a column map may ignore a header. Expected values are counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

import perfkit as pk
from perfkit.ingest import IngestError

from practice_data import CLINICIANS, write_table

ROWS = [  # Ada: 2 attended (60 + 45 min), 1 no-show; Grace: 1 attended (53 min)
    ["Ada Lovelace", "Zeb Quixote", "10/5/2026 10:00 AM", "Arrived", "60", "Signed"],
    ["Ada Lovelace", "Zeb Quixote", "10/12/2026 10:00 AM", "Arrived", "45", "Draft"],
    ["Ada Lovelace", "Pip Marchbanks", "10/13/2026 9:00 AM", "No Show", "", ""],
    ["Grace Hopper", "Alan Turing", "10/14/2026 3:00 PM", "Arrived", "53", "Signed"],
]


def export(folder, name, headers, rows=ROWS):
    folder.mkdir(exist_ok=True)
    write_table(folder, "clinicians", CLINICIANS)
    pd.DataFrame(rows, columns=headers).to_csv(folder / name, index=False)
    return folder


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(pseudonym_key_file=tmp_path / "k", source="generic")


def check(data):
    a = data.tables["appointments"]
    assert len(a) == 4
    att = a[a["status"] == "attended"]
    assert att.groupby("clinician_id")["duration_minutes"].sum().to_dict() == \
        {"C1": 105, "C2": 53}
    assert (a["status"] == "no_show").sum() == 1
    assert data.tables["notes"]["status"].value_counts().to_dict() == \
        {"signed": 2, "draft": 1}


@pytest.mark.parametrize("headers", [
    ["Staff Member", "Patient", "Service Date", "Appointment State", "Duration (mins)",
     "Note Status"],
    ["STAFF_MEMBER", "patient name", "DOS", "appointment-state", "Length (min.)",
     "Progress Note Status"],
    ["Practitioner", "Client Name", "Session Date", "Attendance", "Duration in Minutes",
     "progress_note_status"],
])
def test_headers_are_read_by_meaning(tmp_path, cfg, headers):
    folder = export(tmp_path / "e", "appointments.csv", headers)
    data = pk.ingest(folder, cfg)
    check(data)
    assert data.quality["tables"]["appointments"]["rows_rejected"] == 0


def test_a_contract_name_written_another_way_is_that_column(tmp_path):
    """A contract file with ``Clinician ID``, ``Client_Id``, ``START``, ``Duration (Minutes)``
    needs no map."""
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    pd.DataFrame([["A1", "C1", "X1", "2026-10-05T10:00", "50", "attended"]],
                 columns=["Appointment ID", "Clinician ID", "Client_Id", "START",
                          "Duration (Minutes)", "Status"]).to_csv(
        folder / "appointments.csv", index=False)
    pd.DataFrame([["A1", "2026-10-05T12:00"]], columns=["appointment id", "Signed At"]).to_csv(
        folder / "notes.csv", index=False)
    data = pk.ingest(folder, cfg)
    a = data.tables["appointments"]
    assert list(a["duration_minutes"]) == [50] and list(a["clinician_id"]) == ["C1"]
    assert len(data.tables["notes"]) == 1


def test_two_headers_for_one_column_are_named_and_a_column_map_can_ignore_one(tmp_path, cfg):
    headers = ["Staff Member", "Patient", "Date", "State", "Duration", "Note Status"]
    rows = [r + [r[2]] for r in ROWS]
    folder = export(tmp_path / "e", "appointments.csv", [*headers, "Appointment Date"], rows)
    with pytest.raises(IngestError, match=r"the columns 'date' and 'appointment date' both read "
                                          r"as 'start'.*'appointment date': ignore"):
        pk.ingest(folder, cfg)
    own = tmp_path / "map.yaml"
    own.write_text("columns: {appointments: {'Appointment Date': ignore}}\n")
    check(pk.ingest(folder, cfg, column_map=own))
    own.write_text("columns: {appointments: {'APPOINTMENT_DATE': null}}\n")  # any spelling
    check(pk.ingest(folder, cfg, column_map=own))


HEADERS = ["Staff Member", "Patient", "Date", "State", "Duration", "Note Status"]


def test_the_report_is_found_by_its_headers_whatever_its_name(tmp_path, cfg):
    folder = export(tmp_path / "e", "Export 2026-10 (all staff).csv", HEADERS)
    data = pk.ingest(folder, cfg)
    check(data)
    entry = data.quality["tables"]["appointments"]
    assert entry["file"] == "Export 2026-10 (all staff).csv" and entry["found_by_headers"]
    assert data.quality["tables"]["notes"]["file"] == "Export 2026-10 (all staff).csv"
    # another spreadsheet that is not an appointment report (a payments export) is passed over
    pd.DataFrame({"Date": ["10/5/2026"], "Amount": ["150.00"]}).to_csv(
        folder / "payments.csv", index=False)
    data = pk.ingest(folder, cfg)
    assert data.quality["tables"]["appointments"]["file"] == "Export 2026-10 (all staff).csv"
    assert data.quality["other_files"] == 1  # counted, never named
    # a file named appointment* is taken first, and then nothing is said about headers
    (folder / "Export 2026-10 (all staff).csv").rename(folder / "Appointments Oct.csv")
    data = pk.ingest(folder, cfg)
    assert "found_by_headers" not in data.quality["tables"]["appointments"]


def test_two_reports_or_none_stop_with_a_sentence(tmp_path, cfg):
    folder = export(tmp_path / "e", "a.csv", HEADERS)
    pd.DataFrame(ROWS, columns=HEADERS).to_csv(folder / "b.csv", index=False)
    with pytest.raises(IngestError, match=r"holds 2 files that look like appointment reports "
                                          r"\(a.csv, b.csv\): keep the one to use"):
        pk.ingest(folder, cfg)
    (folder / "a.csv").unlink()
    (folder / "b.csv").write_text("Date,Amount\n10/5/2026,150.00\n")
    (folder / "c.csv").write_text("Date,Amount\n10/5/2026,150.00\n")
    with pytest.raises(IngestError, match=r"none of the 2 spreadsheet or CSV files in .* has "
                                          r"the columns of an appointment report"):
        pk.ingest(folder, cfg)


def test_every_contract_table_reads_its_headers_written_as_people_write_them(tmp_path):
    """The class: each contract column of each table, its header written in title case with
    spaces or hyphens ("Clinician ID", "Weekly-Capacity-Hours", "Item 3"), is that column; the
    demo practice so rewritten gives the same tables as the demo itself."""
    from perfkit.demo import bundled_data_dir

    folder = tmp_path / "titled"
    folder.mkdir()
    for i, path in enumerate(sorted(bundled_data_dir().glob("*.csv"))):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        sep = " " if i % 2 else "-"
        frame.columns = [sep.join(w.upper() if w == "id" else w.title() for w in c.split("_"))
                         for c in frame.columns]
        frame.to_csv(folder / path.name, index=False)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    want = pk.ingest(bundled_data_dir(), cfg)
    got = pk.ingest(folder, cfg)
    assert got.quality["rows_rejected"] == want.quality["rows_rejected"] == 0
    for name, table in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], table, obj=name)
