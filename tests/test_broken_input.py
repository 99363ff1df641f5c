"""A corpus of broken inputs driven through the command line: each stops with one sentence on
stderr and exit code 2, never a traceback; and odd but valid inputs are read as they should be
(duplicate headers outside the contract, misspelt file names, far-off dates, a two-clinician
practice)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import perfkit as pk
from perfkit.ingest import IngestError

from practice_data import APPOINTMENTS, CLINICIANS, write_table


def _cli(*args, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PERFKIT_PSEUDONYM_KEY_FILE": str(tmp / "k.key")}
    return subprocess.run([sys.executable, "-m", "perfkit.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)


def _truncated_parquet(folder: Path) -> None:
    pd.read_csv(folder / "notes.csv", dtype=str).to_parquet(folder / "notes.parquet")
    raw = (folder / "notes.parquet").read_bytes()
    (folder / "notes.parquet").write_bytes(raw[: len(raw) // 2])
    (folder / "notes.csv").unlink()


def _binary_csv(folder: Path) -> None:
    (folder / "appointments.csv").write_bytes(bytes(range(256)) * 8)


def _duplicated_contract_header(folder: Path) -> None:
    text = (folder / "appointments.csv").read_text().splitlines()
    text = [text[0] + ",status"] + [r + ",attended" for r in text[1:]]
    (folder / "appointments.csv").write_text("\n".join(text) + "\n")


def _extra_field(folder: Path) -> None:
    text = (folder / "appointments.csv").read_text().splitlines()
    text[1] += ",oops"
    (folder / "appointments.csv").write_text("\n".join(text) + "\n")


def _unclosed_quote(folder: Path) -> None:
    text = (folder / "clinicians.csv").read_text()
    (folder / "clinicians.csv").write_text(text.replace("Ada Lovelace", '"Ada Lovelace'))


def _both_formats(folder: Path) -> None:
    pd.read_csv(folder / "notes.csv", dtype=str).to_parquet(folder / "notes.parquet")


def _missing_required(folder: Path) -> None:
    (folder / "notes.csv").unlink()


def _empty_file(folder: Path) -> None:
    (folder / "clinicians.csv").write_text("")


BROKEN_DATA = {
    "truncated parquet": (_truncated_parquet, "notes.parquet could not be read as a Parquet"),
    "binary file named .csv": (_binary_csv, "appointments.csv: "),
    "duplicated contract header": (_duplicated_contract_header,
                                   "appointments.csv: the column 'status' appears more than "
                                   "once"),
    "row with an extra field": (_extra_field, "appointments.csv: row 1 has 10 fields"),
    "unclosed quote": (_unclosed_quote, "clinicians.csv: "),
    "csv and parquet of one table": (_both_formats, "holds both notes"),
    "required table missing": (_missing_required, "required file notes.csv"),
    "empty file": (_empty_file, "clinicians.csv is empty"),
}

BROKEN_MAPS = {
    "yaml error": ("files: {appointments: [unclosed\n", "is not valid YAML at line"),
    "values for a column the table lacks": ("values:\n  appointments:\n    colour: {x: y}\n",
                                            "'values' names appointments.colour, which is not"),
    "values for a column that is not a label": ("values:\n  appointments:\n    client_id: "
                                                "{x: y}\n", "'values' can relabel only status"),
    "a section that is not a mapping": ("columns: [a, b]\n", "'columns' must map table names"),
    "a list instead of sections": ("- files\n- columns\n", "must hold a mapping of sections"),
    "unknown table": ("files: {appointmentz: a.csv}\n", "unknown table 'appointmentz'"),
}


@pytest.mark.parametrize("name", list(BROKEN_DATA))
@pytest.mark.parametrize("command", ["validate", "run"])
def test_broken_data_is_one_sentence_and_exit_2(practice, tmp_path, name, command):
    spoil, expected = BROKEN_DATA[name]
    spoil(practice)
    args = [practice] if command == "validate" else ["--data", practice, "--out",
                                                     tmp_path / "run", "--tables-only"]
    res = _cli(command, *args, tmp=tmp_path)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    assert res.stderr.startswith("perfkit: ") and len(res.stderr.strip().splitlines()) == 1
    assert expected in res.stderr, res.stderr
    assert not (tmp_path / "run").exists()  # nothing half-made is left


@pytest.mark.parametrize("name", list(BROKEN_MAPS))
def test_broken_column_maps_are_one_sentence_and_exit_2(practice, tmp_path, name):
    text, expected = BROKEN_MAPS[name]
    cmap = tmp_path / "map.yaml"
    cmap.write_text(text)
    res = _cli("validate", practice, "--column-map", cmap, tmp=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert expected in res.stderr, res.stderr


def test_broken_parameters_are_one_sentence(practice, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("timezone: [America/Chicago\n")
    res = _cli("validate", practice, "--params", params, tmp=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "is not valid YAML at line" in res.stderr


# ---- odd but valid ----------------------------------------------------------------------

def test_repeated_headers_outside_the_contract_are_dropped(practice, cfg):
    """SimplePractice's appointment status report repeats Charge, Paid and Unpaid."""
    frame = pd.read_csv(practice / "appointments.csv", dtype=str, keep_default_na=False)
    text = frame.to_csv(index=False).splitlines()
    text = [text[0] + ",Charge,Paid,Charge,Paid"] + [r + ",100,50,0,0" for r in text[1:]]
    (practice / "appointments.csv").write_text("\n".join(text) + "\n")
    ing = pk.ingest(practice, cfg)
    q = ing.quality["tables"]["appointments"]
    assert q["rows_accepted"] == 3 and q["dropped_columns"] == ["client_name", "client_dob",
                                                                "charge", "paid"]


def test_misspelt_files_are_named_with_the_closest_table(practice, tmp_path):
    write_table(practice, "time_off", [{"clinician_id": "C1", "start_date": "2026-10-09",
                                        "end_date": "2026-10-09"}])
    (practice / "time_off.csv").rename(practice / "timeoff.csv")
    (practice / "Payments.csv").write_text("a,b\n1,2\n")
    res = _cli("validate", practice, "--out", tmp_path / "v", tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "timeoff.csv was not read; did you mean time_off.csv?" in res.stdout
    assert "Payments" not in res.stdout  # any other name is counted only (issue 29, item 13)
    assert "1 other file in the data folder was not read: it matches no table of the data " \
        "contract" in res.stdout
    assert "time_off      (not provided)" in res.stdout
    q = json.loads((tmp_path / "v" / "data_quality.json").read_text())
    assert q["unused_files"] == [{"file": "timeoff.csv", "closest_table": "time_off"}]
    assert q["other_files"] == 1
    assert q["tables"]["time_off"] == {"present": False}


def test_dates_outside_the_plausible_window_are_rejected(practice, tmp_path):
    """Default window for the period Aug-Oct 2026: 1 Aug 2016 up to 1 Nov 2028. A start date
    may lie any time before it (a clinician of long standing)."""
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k")
    write_table(practice, "clinicians", [dict(CLINICIANS[0], start_date="1994-09-01"),
                                         CLINICIANS[1]])
    write_table(practice, "appointments", [
        APPOINTMENTS[0], dict(APPOINTMENTS[1], start="1900-10-12T10:00:00"),
        dict(APPOINTMENTS[2], start="2028-11-01T00:00:00")])
    ing = pk.ingest(practice, cfg)
    assert len(ing["clinicians"]) == 2
    rej = ing.rejects[ing.rejects.table == "appointments"]
    assert rej[["row", "column", "reason"]].values.tolist() == [
        [2, "start", "date_out_of_range"], [3, "start", "date_out_of_range"]]
    assert "2016-08-01 to 2028-10-31" in rej.detail.iloc[0]
    wide = pk.load_config(pseudonym_key_file=tmp_path / "k",
                          dates={"years_before": 200, "years_after": 5})
    assert pk.ingest(practice, wide).rejects.reason.tolist() == []


def test_a_supervisee_of_a_rejected_supervisor_is_told_so(practice, cfg):
    write_table(practice, "clinicians", [dict(CLINICIANS[0], weekly_capacity_hours="-3"),
                                         CLINICIANS[1]])
    ing = pk.ingest(practice, cfg)
    rej = ing.rejects[ing.rejects.table == "clinicians"].set_index("row")
    assert rej.loc[1, "reason"] == "out_of_range"
    assert (rej.loc[2, "reason"], rej.loc[2, "column"]) == ("clinician_rejected",
                                                            "supervisor_id")


@pytest.mark.end_to_end
def test_a_two_clinician_practice_renders_every_report(tmp_path):
    assert _cli("demo", "--out", tmp_path / "d", "--clinicians", 2, tmp=tmp_path).returncode == 0
    res = _cli("run", "--data", tmp_path / "d", "--out", tmp_path / "run", "--workers", 2,
               tmp=tmp_path)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    roles = [o["role"] for o in manifest["outputs"] if o.get("role")]
    assert roles.count("owner") == 1 and roles.count("clinician") == 2
    assert all(o["status"] == "ok" for o in manifest["outputs"])


def test_ingest_errors_are_user_errors(practice, cfg):
    _binary_csv(practice)
    with pytest.raises(IngestError):
        pk.ingest(practice, cfg)


# ---- spreadsheets, rows of totals, repeated headers ------------------------------------

def test_an_excel_workbook_is_read_as_written(practice, cfg, tmp_path):
    """Real date cells, numeric ids (100042), text that looks like NA, a chosen sheet."""
    import datetime as dt

    appts = pd.DataFrame(APPOINTMENTS).assign(
        client_id=[100042, 100042, "NA"],
        start=[dt.datetime(2026, 10, 5, 10), dt.datetime(2026, 10, 12, 10),
               dt.datetime(2026, 10, 6, 15)],
        duration_minutes=[60, 53.0, 53])
    with pd.ExcelWriter(practice / "Export.xlsx") as book:
        pd.DataFrame({"x": [1]}).to_excel(book, sheet_name="Summary", index=False)
        appts.to_excel(book, sheet_name="Appointments", index=False)
    (practice / "appointments.csv").unlink()
    cmap = tmp_path / "map.yaml"
    cmap.write_text("files: {appointments: Export.xlsx}\nsheets: {appointments: Appointments}\n")
    ing = pk.ingest(practice, cfg, column_map=cmap)
    assert ing.quality["tables"]["appointments"]["rows_rejected"] == 0
    a = ing["appointments"]
    assert a["duration_minutes"].tolist() == [60, 53, 53]
    assert a["start"].iloc[0] == pd.Timestamp("2026-10-05 10:00", tz=cfg.timezone)
    # the numeric cell 100042 is the id "100042", as a CSV would hold it; "NA" is an id too
    key = bytes.fromhex(Path(cfg.pseudonym_key_file).read_text().strip())
    assert a["client_id"].tolist() == [
        "cl-" + hmac.new(key, raw, hashlib.sha256).hexdigest()[:12]
        for raw in (b"100042", b"100042", b"NA")]
    cmap.write_text("files: {appointments: Export.xlsx}\nsheets: {appointments: Billing}\n")
    with pytest.raises(IngestError, match=r"Export.xlsx has no sheet 'Billing' \(its sheets: "
                                          r"Summary, Appointments\)"):
        pk.ingest(practice, cfg, column_map=cmap)


def test_a_workbook_named_after_its_table_is_found(practice, cfg):
    pd.read_csv(practice / "notes.csv", dtype=str, keep_default_na=False).to_excel(
        practice / "notes.xlsx", index=False)
    (practice / "notes.csv").unlink()
    ing = pk.ingest(practice, cfg)
    assert ing.quality["tables"]["notes"]["file"] == "notes.xlsx"
    assert ing.quality["tables"]["notes"]["rows_accepted"] == 2


def test_rows_of_totals_and_repeated_headers_are_rejected_and_counted(practice, cfg):
    text = (practice / "appointments.csv").read_text().splitlines()
    header = text[0]
    totals = "," * header.count(",")
    totals = "Total: 3 appointments" + totals  # the label in the first column
    text = [header, totals, text[1], header.upper(), text[2], text[3]]
    (practice / "appointments.csv").write_text("\n".join(text) + "\n")
    ing = pk.ingest(practice, cfg)
    rej = ing.rejects[ing.rejects.table == "appointments"]
    assert rej[["row", "reason"]].values.tolist() == [[1, "summary_row"], [3, "repeated_header"]]
    assert "Total" not in " ".join(rej.detail)
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (5, 3, 2)


# ---- dates as exports print them ----------------------------------------------------------

def _rewrite(folder: Path, table: str, column: str, values: list[str]) -> None:
    t = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    t[column] = values
    t.to_csv(folder / f"{table}.csv", index=False)


def test_each_column_finds_its_own_date_format(practice, cfg):
    """No column map: US forms differ per file and column, as real exports do."""
    _rewrite(practice, "appointments", "start", ["10/5/2026 10:00 AM", "10/19/2026 10:00 AM",
                                                 "10/6/2026 3:00 PM"])
    _rewrite(practice, "notes", "signed_at", ["Oct 5, 2026 5:00 PM", ""])
    _rewrite(practice, "clinicians", "start_date", ["01/31/2024", "06/01/2025"])
    _rewrite(practice, "assessments", "administered_at", ["10/5/2026 09:55", "10/19/2026 09:55"])
    ing = pk.ingest(practice, cfg)
    assert ing.rejects.empty, ing.rejects.to_string()
    tz = cfg.timezone
    assert ing["appointments"]["start"].tolist() == [
        pd.Timestamp("2026-10-05 10:00", tz=tz), pd.Timestamp("2026-10-19 10:00", tz=tz),
        pd.Timestamp("2026-10-06 15:00", tz=tz)]
    assert ing["notes"]["signed_at"].iloc[0] == pd.Timestamp("2026-10-05 17:00", tz=tz)
    assert ing["clinicians"]["start_date"].tolist() == [pd.Timestamp("2024-01-31"),
                                                        pd.Timestamp("2025-06-01")]
    assert ing["assessments"]["administered_at"].iloc[1] == pd.Timestamp("2026-10-19 09:55",
                                                                         tz=tz)


def test_excel_serial_dates_are_read(practice, cfg):
    # Excel's day 46300 is 2026-10-05: date(1899, 12, 30) + 46300 days in Python's datetime
    # (Excel numbers days from 1899-12-30 for every date after February 1900); .625 is 15:00
    _rewrite(practice, "appointments", "start", ["46300.4166666667", "46307.4166666667",
                                                 "46301.625"])
    ing = pk.ingest(practice, cfg)
    assert ing["appointments"]["start"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2026-10-05 10:00", "2026-10-12 10:00", "2026-10-06 15:00"]


def test_a_column_whose_day_and_month_cannot_be_told_apart_is_refused(practice, tmp_path):
    _rewrite(practice, "appointments", "start", ["10/5/2026 10:00", "10/12/2026 10:00",
                                                 "10/6/2026 15:00"])
    res = _cli("validate", practice, tmp=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert ("appointments.csv: the dates in column 'start' read as well month first as day "
            "first (such as '10/5/2026 10:00')") in res.stderr
    cmap = tmp_path / "map.yaml"  # the practice says which it is, for that column only
    cmap.write_text("formats: {appointments: {start: '%m/%d/%Y %H:%M'}}\n")
    ing = pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"),
                    column_map=cmap)
    assert ing["appointments"]["start"].iloc[1].strftime("%Y-%m-%d") == "2026-10-12"
    cmap.write_text("formats: {appointments: {duration_minutes: '%m'}}\n")
    with pytest.raises(IngestError, match="not a date column of appointments"):
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"),
                  column_map=cmap)


def test_the_shipped_example_column_map_loads():
    from perfkit.ingest import load_column_map

    cmap = load_column_map(Path(__file__).resolve().parents[1] / "parameters"
                           / "column_map.example.yaml")
    assert cmap.formats["time_off"] == {"*": "%m/%d/%Y"} and cmap.sheets == {"time_off":
                                                                            "Leave 2026"}
    assert cmap.format_for("appointments", "start", "datetime") == "%m/%d/%Y %I:%M %p"
    assert cmap.format_for("notes", "signed_at", "datetime") is None  # detected


def test_a_perfkit_bug_in_a_reader_is_not_called_an_unreadable_file(practice, tmp_path,
                                                                    monkeypatch):
    """Only what the readers raise on a bad file becomes "could not be read"; an error of
    perfkit's own keeps its traceback, so it is reported as the bug it is."""
    import importlib

    def broken(path, *how):  # _read_csv(path, fits)
        return {}["a perfkit bug"]

    monkeypatch.setattr(importlib.import_module("perfkit.ingest.read"), "_read_csv", broken)
    with pytest.raises(KeyError, match="a perfkit bug"):
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"))
