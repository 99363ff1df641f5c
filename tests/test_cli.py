"""The command line: demo, validate and run, with plain errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from perfkit.cli import app
from perfkit.config import load_config
from perfkit.demo import bundled_data_dir

from practice_data import APPOINTMENTS, CLINICIANS, write_table

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_validate_demo_reports_zero_rejects():
    res = invoke("validate", bundled_data_dir(), "--strict")
    assert res.exit_code == 0, res.output
    assert "No rows rejected." in res.output
    rows = len((bundled_data_dir() / "appointments.csv").read_text().splitlines()) - 1
    assert "appointments.csv" in res.output and f"{rows:,}" in res.output
    assert "client_name, client_dob, client_email" in res.output  # dropped, and said so


def test_validate_lists_each_bad_row_with_its_reason(practice):
    bad = [dict(APPOINTMENTS[0]), dict(APPOINTMENTS[1], status="walked out"),
           dict(APPOINTMENTS[2], clinician_id="C77"), dict(APPOINTMENTS[2], appointment_id="A4",
                                                           start="2026-10-32T10:00")]
    write_table(practice, "appointments", bad)
    res = invoke("validate", practice)
    assert res.exit_code == 0
    out = res.output
    assert ("  appointments.csv, unknown_status (1 row):\n"
            "    row 2, column status: status 'walked out'") in out
    assert "  appointments.csv, unknown_clinician (1 row):\n    row 3, column clinician_id" in out
    assert "  appointments.csv, unparseable_date (1 row):\n    row 4, column start" in out
    assert "  notes.csv, appointment_rejected (1 row):\n    row 2, column appointment_id" in out
    # the counts and notes come before the examples; the full list is one option away
    assert out.index("Notes:") < out.index("Rejected rows, up to 3 of each reason")
    assert ("\nAll 4 rejected rows with their reasons: add --out FOLDER to write them all to "
            "FOLDER/rejects.csv (with the data-quality summary and the prepared snapshot).") in out
    assert invoke("validate", practice, "--strict").exit_code == 1


def test_validate_lists_a_few_rows_of_each_reason_and_writes_them_all_with_out(practice,
                                                                               tmp_path):
    """Seven appointments with an unknown status: 3 listed, '... and 4 more'; their notes (2)
    and assessment rows (1 without a clinician) point at rejected appointments. --examples (or
    its old name --max-rows) sets how many; --out writes every rejected row to rejects.csv."""
    write_table(practice, "appointments", [dict(APPOINTMENTS[0], appointment_id=f"X{i}",
                                                status="?") for i in range(7)])
    out = invoke("validate", practice).output
    block = out[out.index("  appointments.csv, unknown_status (7 rows):"):]
    listed = block.splitlines()[1:5]
    assert [line.split(",")[0] for line in listed[:3]] == ["    row 1", "    row 2", "    row 3"]
    assert listed[3] == "    ... and 4 more"
    assert "All 10 rejected rows with their reasons" in out
    assert "row 4," not in block.split("notes.csv")[0]
    res = invoke("validate", practice, "--max-rows", 1, "--out", tmp_path / "q")
    assert res.exit_code == 1, res.output  # no appointment accepted: nothing to run
    assert ("perfkit: no row was accepted in appointments (appointments.csv) and notes "
            "(notes.csv), so there is nothing to run yet") in res.output
    assert "    ... and 6 more" in res.output and "row 2, column status" not in res.output
    assert f"All 10 rejected rows with their reasons: {tmp_path / 'q' / 'rejects.csv'}." \
        in res.output
    rejects = pd.read_csv(tmp_path / "q" / "rejects.csv")
    assert len(rejects) == 10 and (rejects["reason"] == "unknown_status").sum() == 7
    none = invoke("validate", practice, "--examples", 0).output
    assert "Rejected rows, up to" not in none and "All 10 rejected rows" in none


def test_validate_says_a_start_date_was_known_only_to_the_month(practice):
    write_table(practice, "clinicians", [dict(CLINICIANS[0], start_date="Feb 2023"),
                                         dict(CLINICIANS[1], end_date="2026-10")])
    res = invoke("validate", practice)
    assert res.exit_code == 0, res.output
    assert ("  clinicians: 1 row with a start date known only to the month, read as the first "
            "day of that month") in res.output
    assert ("  clinicians: 1 row with an end date known only to the month, read as the last "
            "day of that month") in res.output


def test_missing_column_is_one_sentence_and_exit_2(practice, tmp_path):
    frame = pd.read_csv(practice / "clinicians.csv", dtype=str)
    frame.drop(columns="start_date").to_csv(practice / "clinicians.csv", index=False)
    env = {"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k.key"), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "perfkit.cli", "validate", str(practice)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("perfkit: clinicians.csv: required column 'start_date' is "
                                   "missing (contract columns found: clinician_id, name, "
                                   "license_status, "
                                   "license_type, supervisor_id, end_date, "
                                   "weekly_capacity_hours, weekly_session_goal, licensure_rule)")
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_folder_and_bad_parameters_exit_2(tmp_path):
    res = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "does not exist" in res.output
    p = tmp_path / "p.yaml"
    p.write_text("timezone: Atlantis/Capital\n")
    res = runner.invoke(app, ["run", "--data", str(bundled_data_dir()), "--params", str(p)])
    assert res.exit_code == 2 and "unknown time zone" in res.output


@pytest.mark.end_to_end
def test_run_writes_quality_manifest_and_snapshot(practice, tmp_path):
    out = tmp_path / "run"
    res = invoke("run", "--data", practice, "--out", out, "--period-start", "2026-10-01",
                 "--period-end", "2026-11-01")
    assert res.exit_code == 0, res.output
    quality = json.loads((out / "data_quality.json").read_text())
    assert quality["tables"]["appointments"] == {
        "present": True, "file": "appointments.csv", "rows_in": 3, "rows_accepted": 3,
        "rows_rejected": 0, "reasons": {}, "dropped_columns": ["client_name", "client_dob"],
        "empty_columns": [], "adjustments": {}}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["period"] == {"start": "2026-10-01", "end": "2026-11-01",
                                  "as_of": "2026-11-01", "timezone": "America/Chicago"}
    assert {o["path"] for o in manifest["outputs"]} >= {"data_quality.json", "rejects.csv",
                                                        "prepared/appointments.parquet"}
    assert all((out / o["path"]).is_file() for o in manifest["outputs"])
    assert "pseudonym_key_file" not in manifest["parameters"]


@pytest.mark.end_to_end
def test_run_default_folder_is_named_from_period_end(practice, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = invoke("run", "--data", practice, "--period-end", "2026-10-20")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "reports" / "2026-10-20" / "manifest.json").is_file()


def test_demo_command_scales(tmp_path):
    res = invoke("demo", "--out", tmp_path / "d", "--clinicians", 3, "--months", 2)
    assert res.exit_code == 0
    assert len(pd.read_csv(tmp_path / "d" / "clinicians.csv")) == 3


def test_help_lists_commands():
    res = invoke("--help")
    for cmd in ("demo", "validate", "run"):
        assert cmd in res.output


@pytest.mark.end_to_end
def test_run_role_renders_only_that_audiences_reports(practice, tmp_path):
    """--role supervisor: the tiny practice's one supervision pack (C1 supervises C2), no
    practice report, no clinician reports; a role that does not exist is exit 2."""
    out = tmp_path / "run"
    res = invoke("run", "--data", practice, "--out", out, "--period-start", "2026-10-01",
                 "--period-end", "2026-11-01", "--role", "supervisor", "--workers", "1")
    assert res.exit_code == 0, res.output
    assert (out / "supervisors" / "C1.html").is_file()
    assert not (out / "practice.html").exists() and not (out / "clinicians").exists()
    res = invoke("run", "--data", practice, "--out", out, "--role", "boss")
    assert res.exit_code == 2 and "--role boss is not a role" in res.output


def test_demo_as_a_profile_then_validate_with_its_source(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    out = tmp_path / "generic"
    res = invoke("demo", "--as", "generic", "--out", out, "--clinicians", 3, "--months", 3)
    assert res.exit_code == 0, res.output
    assert (out / "Appointment Report.csv").is_file() and (out / "clinicians.csv").is_file()
    assert not (out / "appointments.csv").exists()
    res = invoke("validate", out, "--source", "generic")
    assert res.exit_code == 0, res.output
    assert "summary_row" in res.output and "client email" in res.output
    res = invoke("validate", out)  # without the profile: the contract's file is missing
    assert res.exit_code == 2
    res = invoke("validate", out, "--source", "simplepractise")
    assert res.exit_code == 2 and "unknown source 'simplepractise'" in res.output
    res = invoke("demo", "--as", "nosuch", "--out", tmp_path / "x")
    assert res.exit_code == 2
    assert ("--as must be one of generic, simplepractice, therapynotes, jane, owl, theranest, "
            "tebra") in res.output


def test_init_writes_starters_once_and_validate_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    out = tmp_path / "sp"
    invoke("demo", "--as", "simplepractice", "--out", out, "--clinicians", 3, "--months", 3)
    (out / "clinicians.csv").unlink()
    (out / "ce.csv").unlink()
    # downloaded 2026-11-03 15:30 UTC (the status report) and 2 hours earlier (attendance):
    # 09:30 in Chicago (CST since 1 November)
    saved = pd.Timestamp("2026-11-03T15:30:00Z").timestamp()
    for f in out.glob("client_attendance_report*.csv"):
        os.utime(f, (saved - 7200, saved - 7200))
    for f in out.glob("appointment-status-report*.csv"):
        os.utime(f, (saved, saved))
    os.utime(out / "goals.csv", (saved + 86400, saved + 86400))  # not an export init reads
    res = invoke("init", out, "--source", "simplepractice")
    assert res.exit_code == 0, res.output
    assert "exported_at is 2026-11-03 09:30 (the time appointment-status-report" in res.output
    assert "state is not set: write your state's two-letter code" in res.output
    written = (out / "practice.yaml").read_text()
    assert "\nexported_at: 2026-11-03 09:30 " in written and "\nstate: null " in written
    roster = pd.read_csv(out / "clinicians.csv", dtype=str, keep_default_na=False)
    assert len(roster) == 3 and roster["clinician_id"].str.fullmatch(r"clin-[0-9a-f]{8}").all()
    params = (out / "practice.yaml").read_text()
    assert "source: simplepractice" in params and "period_start: 2026-08-01" in params
    roster.loc[0, "license_status"] = "licensed"  # the practice starts filling it in
    roster.to_csv(out / "clinicians.csv", index=False)
    res = invoke("init", out, "--source", "simplepractice")
    assert "clinicians.csv exists: left as it is" in res.output
    assert pd.read_csv(out / "clinicians.csv", dtype=str, keep_default_na=False).loc[
        0, "license_status"] == "licensed"
    res = invoke("validate", out, "--params", out / "practice.yaml")
    assert res.exit_code == 1, res.output  # no roster row is usable yet: nothing to run
    assert ("perfkit: no row was accepted in clinicians (clinicians.csv), appointments "
            "(client_attendance_report_demo.csv) and notes (appointment-status-report_demo.csv)"
            ", so there is nothing to run yet") in res.output
    assert "clinicians.csv: license_status for 2 clinicians" in res.output
    assert "clinicians.csv: weekly_capacity_hours for 3 clinicians" in res.output
    assert "ce.csv: continuing-education hours toward license renewal" in res.output
    assert "(appointment_rejected)" in res.output and "(no_appointment_row)" in res.output


def test_init_writes_the_state_and_export_time_of_the_parameters_given(tmp_path, monkeypatch):
    """--params with state TX and exported_at: practice.yaml gets both, and init names Texas's
    licensure rule (the only shipped one of TX)."""
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    out = tmp_path / "g"
    invoke("demo", "--as", "generic", "--out", out, "--clinicians", 2, "--months", 2)
    (out / "clinicians.csv").unlink()
    p = tmp_path / "p.yaml"
    p.write_text("state: tx\nexported_at: 2026-11-02 08:15\nsource: generic\n")
    res = invoke("init", out, "--params", p)
    assert res.exit_code == 0, res.output
    assert ("Licensure rules of TX: tx_lpc_associate (LPC-Associate, LPC-A -> LPC).") \
        in res.output
    assert "exported_at is 2026-11-02 08:15 (the parameters)" in res.output
    written = (out / "practice.yaml").read_text()
    assert "\nstate: TX " in written and "\nexported_at: 2026-11-02 08:15 " in written
    assert load_config(out / "practice.yaml").state == ("TX",)


def test_rules_lists_each_rule_with_its_state_licence_and_whether_it_applies(tmp_path):
    """Written from the three shipped rule files and the four CE defaults: a Texas practice's
    listing marks only tx_lpc_associate and the LPC requirement 'here'; a practice's own rule
    folder adds its rule."""
    own = tmp_path / "rules"
    own.mkdir()
    (own / "ok.yaml").write_text(
        "id: ok_lpc_candidate\nname: Oklahoma LPC candidate\nstate: OK\n"
        "license_types: [LPC-C]\nleads_to: LPC\ncitation: Oklahoma rules\n"
        "requirements: {total_hours: 3000}\ncompliance: {period: none}\n")
    p = tmp_path / "p.yaml"
    p.write_text(f"state: TX\nsupervision:\n  rules_dir: {own}\n")
    res = invoke("rules", "--params", p)
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line.split() for line in res.output.splitlines()
            if line and not line.startswith(" ")}
    assert rows["tx_lpc_associate"][1:3] == ["TX", "LPC-Associate,"]
    assert [rows[i][1] for i in ("ca_asw_lcsw", "tx_lpc_associate", "va_lpc_residency",
                                 "ok_lpc_candidate")] == ["CA", "TX", "VA", "OK"]
    here = {i: r[r.index("->") + 2] for i, r in rows.items() if "->" in r}
    assert here == {"ca_asw_lcsw": "no", "tx_lpc_associate": "yes", "va_lpc_residency": "no",
                    "ok_lpc_candidate": "no"}
    assert "3,000 hours in all; 1,500 direct; at least 18 months; supervision 4 h a month" \
        in res.output
    assert "  tx_lpc_associate: 22 Texas Administrative Code §681.92" in res.output
    ce = {r[0]: r[1:5] for r in rows.values() if r[0] in ("ASW", "LCSW", "LMFT", "LPC")}
    assert ce == {"ASW": ["CA", "3", "1", "year"], "LCSW": ["CA", "36", "2", "years"],
                  "LMFT": ["CA", "36", "2", "years"], "LPC": ["TX", "24", "2", "years"]}
    assert [rows[k][5] for k in ("ASW", "LCSW", "LMFT", "LPC")] == ["no", "no", "no", "yes"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("state: Texas\n")
    res = invoke("rules", "--params", bad)
    assert res.exit_code == 2 and "'TEXAS' is not a two-letter code" in res.output


def test_validate_says_which_rule_is_taken_and_which_ce_requirement_is_another_states(
        practice, tmp_path):
    """C2 (ASW) has no licensure_rule: in a CA practice ca_asw_lcsw is taken; in a TX practice
    none, and C1's LCSW requirement (California's) is not taken either."""
    write_table(practice, "clinicians", [CLINICIANS[0], dict(CLINICIANS[1], licensure_rule="")])
    ca, tx = tmp_path / "ca.yaml", tmp_path / "tx.yaml"
    ca.write_text("state: CA\n")
    tx.write_text("state: TX\n")
    out = invoke("validate", practice, "--params", ca).output
    assert ("  clinicians: C2: licensure rule ca_asw_lcsw taken from the license type ASW and "
            "the state CA (write it in licensure_rule to keep it)") in out
    assert "LCSW is CA's" not in out
    out = invoke("validate", practice, "--params", tx).output
    assert ("  clinicians: C2: no licensure rule set, and none is taken: no licensure rule of TX "
            "is for the license type ASW ('perfkit rules' lists the rules)") in out
    assert ("  clinicians: C1: the continuing-education requirement set for LCSW is CA's "
            "(California Business and Professions Code §4996.22) and the practice's state is "
            "TX: set your board's under supervision.ce_requirements") in out
