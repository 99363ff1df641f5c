"""Nothing runs on a roster it cannot use (issue 25): a required table with no usable rows
stops the run; clinicians named in the export but not usable from the roster stop it with one
message (each name, its rows, the closest roster name) unless --skip-unknown-clinicians, and
then the practice report says what was left out; a rostered clinician the export never names
gets "no appointments in this export", never zeros and trend words. Every count is written by
hand from the rows below."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit.cli import app
from perfkit.pipeline import run_period

from practice_data import APPOINTMENTS, CLINICIANS, NOTES, write_table

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def renamed(practice):
    """Ada Lovelace's roster row renamed to 'Ada King' (married), while the export still
    names her by her old name on two appointments; 'Alan Turing' is on no roster."""
    roster = [dict(CLINICIANS[0], name="Ada King"), CLINICIANS[1]]
    write_table(practice, "clinicians", roster)
    appts = [dict(APPOINTMENTS[0], clinician_id="Ada Lovelace"),
             dict(APPOINTMENTS[1], clinician_id="Ada  Lovelace, LCSW"),
             APPOINTMENTS[2],
             dict(APPOINTMENTS[2], appointment_id="A4", clinician_id="Ada Kink",
                  start="2026-10-07T15:00:00"),
             dict(APPOINTMENTS[2], appointment_id="A5", clinician_id="Alan Turing",
                  start="2026-10-08T15:00:00")]
    write_table(practice, "appointments", appts)
    return practice


def test_names_not_on_the_roster_stop_the_run_with_one_message(practice, cfg, tmp_path):
    renamed(practice)
    with pytest.raises(pk.IngestError) as err:
        run_period(practice, cfg, out=tmp_path / "run", tables_only=True)
    msg = str(err.value)
    # four rows name four values the roster cannot use; the closest roster name of each
    # Ada is "Ada King"
    assert msg.startswith("4 rows name 4 clinicians who cannot be used from the roster")
    assert "'Ada Lovelace' (1 appointment; closest on the roster: 'Ada King')" in msg
    assert "'Ada  Lovelace, LCSW' (1 appointment; closest on the roster: 'Ada King')" in msg
    assert "'Ada Kink' (1 appointment; closest on the roster: 'Ada King')" in msg
    assert "'Alan Turing' (1 appointment; no close name on the roster)" in msg
    assert "--skip-unknown-clinicians" in msg
    assert not (tmp_path / "run").exists()  # nothing published
    res = invoke("run", "--data", practice, "--out", tmp_path / "run2", "--tables-only")
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_skipping_unknown_clinicians_runs_and_says_what_was_left_out(practice, cfg, tmp_path):
    renamed(practice)
    out = tmp_path / "run"
    run_period(practice, cfg, out=out, tables_only=True, skip_unknown_clinicians=True)
    q = pk.load_prepared(out).quality
    left = {e["clinician"]: e for e in q["clinicians_left_out"]}
    assert set(left) == {"Ada Lovelace", "Ada  Lovelace, LCSW", "Ada Kink", "Alan Turing"}
    assert left["Ada Kink"]["tables"] == {"appointments": 1}
    assert left["Ada Kink"]["closest"] == "Ada King" and not left["Ada Kink"]["on_roster"]
    # the notes of the left-out appointments go with them (A1's note; A2's)
    assert q["tables"]["notes"]["reasons"] == {"appointment_rejected": 2}
    from perfkit import report

    run = report.load_run(out)
    words = report.left_out_words(run)
    assert words.startswith("4 rows of the export name clinicians the roster could not use")
    assert "'Alan Turing' (1 row, not on the roster)" in words
    assert "'Ada Kink' (1 row, not on the roster; perhaps 'Ada King')" in words
    summary = report.period_summary(run).to_html()
    assert "Left out of this run" in summary and "Alan Turing" in summary
    # Ada King (C1) has no rows under her roster name; the rows left out name her old one
    ops = report.operations_table(run).data.set_index("Clinician")
    assert ops.loc["Ada King", "Utilization"] == \
        "no appointments under this name (see Left out of this run above)"


def test_a_roster_with_no_usable_rows_stops_the_run_and_validate_says_so(practice, cfg, tmp_path):
    """A starter roster (names only, as perfkit init writes it): nothing to run, and the
    message is the list of what to fill in."""
    starter = [{k: v if k in ("clinician_id", "name") else "" for k, v in c.items()}
               for c in CLINICIANS]
    write_table(practice, "clinicians", starter)
    with pytest.raises(pk.IngestError, match=r"clinicians.csv has no usable rows \(2 read, 2 "
                                             r"rejected\), so there is nothing to run; still "
                                             r"to fill in: clinicians.csv: license_status for "
                                             r"2 clinicians"):
        run_period(practice, cfg, out=tmp_path / "run", tables_only=True)
    res = invoke("validate", practice)
    # validate's answer is the summary and what run would do, and (issue 30) exit 1: a
    # required table with no accepted row means there is nothing to run yet
    assert res.exit_code == 1
    assert "perfkit: no row was accepted in clinicians (clinicians.csv)" in res.output
    assert "Still to fill in:" in res.output
    assert res.output.index("Still to fill in:") < res.output.index(
        "perfkit run would stop here: clinicians.csv has no usable rows")


def test_an_appointments_file_with_no_usable_rows_stops_the_run(practice, cfg, tmp_path):
    write_table(practice, "appointments", [dict(a, status="walked out")
                                           for a in APPOINTMENTS])
    with pytest.raises(pk.IngestError, match="appointments.csv has no usable rows"):
        run_period(practice, cfg, out=tmp_path / "run", tables_only=True)


def test_a_rostered_clinician_the_export_never_names(practice, cfg, tmp_path):
    """Grace Hopper (C2) is on the roster, employed, with capacity, but no row of the export
    names her: no utilization, no trend words, no flag, and the reports say why."""
    write_table(practice, "appointments", APPOINTMENTS[:2])  # Ada's two sessions only
    write_table(practice, "notes", NOTES)
    out = tmp_path / "run"
    run_period(practice, cfg, out=out, tables_only=True)
    from perfkit import report

    run = report.load_run(out)
    m = run.table("clinician_metrics").set_index("clinician_id")
    assert m.loc["C2", "appointments_in_export"] == 0
    assert m.loc["C1", "appointments_in_export"] == 2
    assert np.isnan(m.loc["C2", "utilization"])
    assert (m.loc["C2", [c for c in m if c.startswith("trend_")]] == "not enough data").all()
    assert not m.loc["C2", ["flag_low_utilization", "flag_high_non_attendance"]].astype(
        bool).any()
    assert m.loc["C1", "utilization"] > 0
    table = report.operations_table(run).data.set_index("Clinician")
    assert table.loc["Grace Hopper", "Utilization"] == "no appointments in this export"
    assert (table.loc["Grace Hopper"].drop("Utilization") == "–").all()
    assert "no appointments of yours in this export" in report.own_metrics_table(run, "C2")
    assert report.weekly_trends_figure(run, "C2") == ""
    assert report.check_in_reasons(run, "C2") == []
    # the practice's utilization: Ada's 60 + 53 minutes over Ada's hours offered only (the
    # hours Grace offered are not idle hours: the export says nothing of them)
    p = run.table("practice_summary").iloc[0]
    assert p["hours_attended"] == pytest.approx(113 / 60)
    assert p["utilization"] == pytest.approx(113 / 60 / m.loc["C1", "available_hours"])
    assert m.loc["C2", "available_hours"] > 0
    # the anonymous spread a self-view compares with holds Ada's figures only, not Grace's 0s
    spread = run.table("metric_spread").set_index("metric")
    assert spread.loc["active_clients", "clinicians"] == 1
    assert spread.loc["active_clients", "median"] == m.loc["C1", "active_clients"] == 1


def test_a_roster_with_no_rows_at_all_stops_the_run(practice, cfg, tmp_path):
    write_table(practice, "clinicians", [])  # the header only
    with pytest.raises(pk.IngestError, match=r"clinicians.csv has no rows, so there is "
                                             r"nothing to run; list each clinician in it"):
        run_period(practice, cfg, out=tmp_path / "run", tables_only=True)


def test_the_roster_s_own_references_are_not_export_rows_left_out(practice, cfg):
    """A supervisee whose supervisor's roster row is rejected is a roster matter (still to
    fill in), not a row of the export naming a clinician: C1 loses capacity, so C2's
    supervisor_id points at a rejected row and C2's row goes too. What is left out is their
    rows (C1: A1, A2 and the PHQ-9 naming C1; C2: A3), never a roster row."""
    write_table(practice, "clinicians", [dict(CLINICIANS[0], weekly_capacity_hours=""),
                                         CLINICIANS[1]])
    ing = pk.ingest(practice, cfg)
    left = {e["clinician"]: e for e in ing.quality["clinicians_left_out"]}
    assert left["C1"]["tables"] == {"appointments": 2, "assessments": 1}
    assert left["C2"]["tables"] == {"appointments": 1}
    assert left["C1"]["on_roster"] and left["C2"]["on_roster"]


def test_notes_with_statuses_but_no_usable_row_are_not_known(practice, cfg, tmp_path):
    """A notes file with a status column whose every row is rejected (no such appointment)
    answers nothing: documentation not known, not 'note statuses'."""
    write_table(practice, "notes", [{"appointment_id": "X9", "status": "LOCKED"}])
    data = pk.prepare(practice, tmp_path / "run", cfg)
    assert data.quality["documentation"]["known"] is False
    from perfkit import operations as op

    m = op.clinician_metrics(data, cfg)
    assert (m["documentation_source"] == "not_known").all()
    assert m["unsigned_overdue_7d"].isna().all()
