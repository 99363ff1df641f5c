"""Issue 30, items 1 and 2: the generic profile finds the appointment report by its content,
whatever its name, and reads headers by meaning (case, spacing and punctuation ignored, many
spellings); a column map may ignore a header. Expected values are counted by hand."""

from __future__ import annotations

import pandas as pd
import pytest

import perfkit as pk
from perfkit.ingest import IngestError

from practice_data import CLINICIANS, GENERIC_ROWS, check_generic_rows, write_table

ROWS = GENERIC_ROWS


def export(folder, name, headers, rows=ROWS):
    folder.mkdir(exist_ok=True)
    write_table(folder, "clinicians", CLINICIANS)
    pd.DataFrame(rows, columns=headers).to_csv(folder / name, index=False)
    return folder


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(pseudonym_key_file=tmp_path / "k", source="generic")


check = check_generic_rows


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


def test_two_headers_for_one_column_the_first_in_the_map_is_used_and_said(tmp_path, cfg):
    """Date and Appointment Date both read as start: the profile's first entry (date) is used,
    validate says so, and a column map choosing the other wins."""
    from typer.testing import CliRunner

    from perfkit.cli import app

    headers = ["Staff Member", "Patient", "Date", "State", "Duration", "Note Status"]
    rows = [[*r[:2], "1/13/2025 9:00 AM", *r[3:], r[2]] for r in ROWS]  # the wrong one first
    folder = export(tmp_path / "e", "appointments.csv", [*headers, "Appointment Date"], rows)
    data = pk.ingest(folder, cfg)
    assert data.quality["tables"]["appointments"]["columns_chosen"] == [
        {"column": "start", "used": "date", "ignored": ["appointment date"]}]
    assert (data.tables["appointments"]["start"].dt.year == 2025).all()
    res = CliRunner().invoke(app, ["validate", str(folder), "--source", "generic"],
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert ("appointments: 'date' and 'appointment date' both read as start: 'date' was used; "
            "to use the other, ignore 'date' in a column map") in res.output
    own = tmp_path / "map.yaml"
    own.write_text("columns: {appointments: {'Appointment Date': start}}\n")  # mine first
    check(pk.ingest(folder, cfg, column_map=own))
    own.write_text("columns: {appointments: {'DATE': null}}\n")  # any spelling, ignored
    check(pk.ingest(folder, cfg, column_map=own))


def test_a_map_entry_binds_its_own_header_before_one_with_the_same_words(tmp_path):
    """{"Client #": client_id} reads the client number, not the Client (a name) beside it:
    the header as written is matched first, its words only when no header is written so."""
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    folder = tmp_path / "c"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    pd.DataFrame([["A1", "C1", "X1", "Zeb Quixote", "2026-10-05T10:00", "50", "attended"]],
                 columns=["appointment_id", "clinician_id", "Client #", "Client", "start",
                          "duration_minutes", "status"]).to_csv(
        folder / "appointments.csv", index=False)
    write_table(folder, "notes", [{"appointment_id": "A1", "signed_at": ""}])
    own = tmp_path / "map.yaml"
    own.write_text("columns: {appointments: {'Client #': client_id}}\n")
    data = pk.ingest(folder, cfg, column_map=own)
    assert data.quality["tables"]["appointments"]["rows_accepted"] == 1
    assert "client" in data.quality["tables"]["appointments"]["dropped_columns"]
    mine = pk.ingest(folder, cfg, column_map=own).tables["appointments"]["client_id"]
    (folder / "appointments.csv").write_text((folder / "appointments.csv").read_text()
                                             .replace("Zeb Quixote", "Someone Else"))
    assert (pk.ingest(folder, cfg, column_map=own).tables["appointments"]["client_id"]
            == mine).all()  # the name never was the key


def test_a_free_text_column_read_as_note_status_is_not_provided_and_never_quoted(tmp_path,
                                                                              cfg):
    """A "Session Note" column holding what clinicians wrote: no row rejected, nothing of it
    in the rejects or validate, the documentation figures not known, and said."""
    from typer.testing import CliRunner

    from perfkit.cli import app

    rows = [[*r[:5], f"{r[1]} talked about her week at work"] for r in ROWS]
    folder = export(tmp_path / "e", "appointments.csv",
                    ["Staff Member", "Patient", "Date", "State", "Duration", "Session Note"],
                    rows)
    data = pk.ingest(folder, cfg)
    assert data.quality["rows_rejected"] == 0
    assert data.quality["tables"]["notes"]["not_statuses"] == "session note"
    assert not data.quality["documentation"]["known"]
    out = tmp_path / "v"
    res = CliRunner().invoke(app, ["validate", str(folder), "--source", "generic", "--out",
                                   str(out)],
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert "talked about" not in res.output and "Quixote" not in res.output
    assert "the column 'session note' holds mostly text that is not a note status" in res.output
    assert "talked about" not in (out / "rejects.csv").read_text()


def test_a_long_rejected_value_is_described_never_quoted(tmp_path, cfg):
    rows = [r[:3] + ["Canceled - Zeb Quixote in hospital again"] + r[4:] for r in ROWS[:1]]
    folder = export(tmp_path / "e", "appointments.csv", ["Staff Member", "Patient", "Date",
                                                         "State", "Duration", "Note Status"],
                    rows + ROWS[1:])
    data = pk.ingest(folder, cfg)
    detail = data.rejects.loc[data.rejects["reason"] == "unknown_status", "detail"].iloc[0]
    assert "Quixote" not in detail and "a text of 7 words, not quoted" in detail


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
    with pytest.raises(IngestError, match=r"holds 2 files that look like appointment reports: "
                                          r"keep the one to use there"):
        pk.ingest(folder, cfg)
    (folder / "a.csv").unlink()
    (folder / "empty.csv").write_text("")  # an empty file beside the report is passed over
    (folder / "broken.xlsx").write_text("not a workbook")
    assert pk.ingest(folder, cfg).quality["tables"]["appointments"]["file"] == "b.csv"
    (folder / "b.csv").write_text("Date,Amount\n10/5/2026,150.00\n")
    (folder / "c.csv").write_text("Date,Amount\n10/5/2026,150.00\n")
    with pytest.raises(IngestError, match=r"none of the 4 spreadsheet or CSV files \(2 could "
                                          r"not be read\) in .* has the columns of an "
                                          r"appointment report"):
        pk.ingest(folder, cfg)
    for f in ("c.csv", "empty.csv", "broken.xlsx"):
        (folder / f).unlink()
    # the folder's only one is taken, and the column it lacks is named
    with pytest.raises(IngestError, match=r"b.csv: no column names the client \(looked for "
                                          r"'client', 'patient'"):
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
