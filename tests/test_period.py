"""The default period comes from the data, never the demo's (issue 31): with no period in the
parameters or on the command line, ``perfkit run`` and ``perfkit validate`` take the last three
whole months of the export's attended sessions, and say so. Expected periods worked out by hand
from the hand-built practice (tests/practice_data.py: attended sessions on 5 and 12 October,
a no-show on 6 October), moved a year on where the demo's period would miss them."""

from __future__ import annotations

import datetime as dt
import json
import os

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit.cli import app
from perfkit.demo import bundled_data_dir
from perfkit.period import data_period, with_data_period

from practice_data import APPOINTMENTS, ASSESSMENTS, CLINICIANS, NOTES, write_table

D = dt.date


def _year_on(value: str) -> str:
    return value.replace("2026-", "2027-") if value else value


def _practice(folder, appointments=None, year_on=True):
    """The hand-built practice, its dates a year on (2027) unless ``year_on`` is False."""
    folder.mkdir(parents=True)
    move = _year_on if year_on else (lambda v: v)
    rows = appointments if appointments is not None else [
        {**a, "start": move(a["start"])} for a in APPOINTMENTS]
    write_table(folder, "clinicians", CLINICIANS)
    write_table(folder, "appointments", rows)
    write_table(folder, "notes", [{**n, "signed_at": move(n["signed_at"])} for n in NOTES])
    write_table(folder, "assessments", [{**a, "administered_at": move(a["administered_at"])}
                                        for a in ASSESSMENTS])
    return folder


def test_whether_the_period_was_set(tmp_path):
    assert not pk.load_config().period_given
    assert pk.load_config(period_end=D(2027, 11, 1)).period_given
    assert pk.load_config().with_period(D(2027, 8, 1), D(2027, 11, 1)).period_given
    without = tmp_path / "without.yaml"
    without.write_text("practice_name: Elm Street\n")
    assert not pk.load_config(without).period_given
    with_period = tmp_path / "with.yaml"
    with_period.write_text("period_start: 2026-08-01\nperiod_end: 2026-11-01\n")
    assert pk.load_config(with_period).period_given


def test_the_last_three_whole_months_of_attended_sessions(tmp_path):
    folder = _practice(tmp_path / "p")
    # the last attended session is on 12 October 2027: the period is August to October 2027
    # (the files' modification time, today, is before it: not the export's instant)
    found = data_period(folder, pk.load_config())
    assert (found.start, found.end) == (D(2027, 8, 1), D(2027, 11, 1))
    assert found.last_session == pd.Timestamp("2027-10-12 10:00", tz="America/Chicago")
    assert found.exported is None and not found.incomplete_month


def test_bookings_and_missed_sessions_do_not_move_the_period(tmp_path):
    rows = [{**a, "start": _year_on(a["start"])} for a in APPOINTMENTS] + [
        {**APPOINTMENTS[0], "appointment_id": "A9", "start": "2028-01-20T10:00:00",
         "status": "scheduled"},
        {**APPOINTMENTS[2], "appointment_id": "A8", "start": "2027-12-01T10:00:00",
         "status": "no_show"}]
    found = data_period(_practice(tmp_path / "p", rows), pk.load_config())
    assert (found.start, found.end) == (D(2027, 8, 1), D(2027, 11, 1))


def test_a_month_not_over_at_the_export_is_left_out(tmp_path):
    folder = _practice(tmp_path / "p")
    cfg = pk.load_config(exported_at=dt.datetime(2027, 10, 20, 9, 0))
    found = data_period(folder, cfg)
    # exported on 20 October: October is incomplete, so the period is July to September
    assert (found.start, found.end) == (D(2027, 7, 1), D(2027, 10, 1))
    assert found.incomplete_month and found.exported_from == "the parameters"
    assert "its month was not over when the export was taken, 2027-10-20 09:00" in found.words()
    # exported on 1 November: October is whole
    found = data_period(folder, pk.load_config(exported_at=dt.datetime(2027, 11, 1, 8, 0)))
    assert (found.start, found.end) == (D(2027, 8, 1), D(2027, 11, 1))
    assert not found.incomplete_month


def test_the_files_modification_time_is_the_export_instant_as_init_takes_it(tmp_path):
    folder = _practice(tmp_path / "p", year_on=False)  # sessions on 5 and 12 October 2026
    saved = pd.Timestamp("2026-10-20 12:00", tz="America/Chicago").timestamp()
    for f in folder.iterdir():
        os.utime(f, (saved, saved))
    found = data_period(folder, pk.load_config())
    assert (found.start, found.end) == (D(2026, 7, 1), D(2026, 10, 1))
    assert found.exported_from == "the time appointments.csv was saved"


def test_a_mistyped_year_does_not_move_the_period(tmp_path):
    typo = {**APPOINTMENTS[1], "appointment_id": "A7", "start": "2062-10-12T10:00:00"}
    folder = _practice(tmp_path / "p", [*APPOINTMENTS, typo], year_on=False)
    saved = pd.Timestamp("2026-11-03 09:00", tz="America/Chicago").timestamp()
    for f in folder.iterdir():
        os.utime(f, (saved, saved))
    found = data_period(folder, pk.load_config())
    # "held" in 2062, after the export of 3 November 2026: not held; the last is 12 October
    assert (found.start, found.end) == (D(2026, 8, 1), D(2026, 11, 1))
    assert found.last_session == pd.Timestamp("2026-10-12 10:00", tz="America/Chicago")
    assert not found.incomplete_month


def test_no_attended_session_no_period(tmp_path):
    rows = [{**a, "start": _year_on(a["start"]), "status": "no_show"} for a in APPOINTMENTS]
    folder = _practice(tmp_path / "p", rows)
    cfg = pk.load_config()
    assert data_period(folder, cfg) is None
    with pytest.raises(pk.ConfigError, match="no attended session with a readable date"):
        with_data_period(cfg, folder)
    assert with_data_period(cfg, folder, required=False) == (cfg, None)


def test_a_set_period_is_kept(tmp_path):
    folder = _practice(tmp_path / "p")
    cfg = pk.load_config(period_start=D(2027, 9, 1), period_end=D(2027, 10, 1))
    assert with_data_period(cfg, folder) == (cfg, None)


def test_the_demo_keeps_its_period():
    """The demo's data end where its default period ends: its outputs do not change."""
    cfg = pk.load_config()
    found = data_period(bundled_data_dir(), cfg)
    assert (found.start, found.end) == (cfg.period_start, cfg.period_end)
    assert with_data_period(cfg, bundled_data_dir())[0].model_dump() == cfg.model_dump()


def test_run_and_validate_without_a_period_use_the_datas_and_say_so(tmp_path):
    folder = _practice(tmp_path / "p")
    env = {"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k.key")}
    said = ("No period was set (period_start and period_end in the parameters, or "
            "--period-start and --period-end), so {} 2027-08-01 to 2027-10-31: the last 3 "
            "whole months of the export's attended sessions (the last on 2027-10-12).")
    checked = CliRunner().invoke(app, ["validate", str(folder)], env=env,
                                 catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert said.format("the checks use the period") in checked.output
    out = tmp_path / "reports" / "run"
    done = CliRunner().invoke(app, ["run", "--data", str(folder), "--tables-only",
                                    "--out", str(out)], env=env, catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert said.format("this run covers") in done.output
    snapshot = json.loads((out / "prepared" / "snapshot.json").read_text())
    assert (snapshot["period_start"], snapshot["period_end"]) == ("2027-08-01", "2027-11-01")
    metrics = pd.read_csv(out / "tables" / "clinician_metrics.csv").set_index("clinician_id")
    # the two sessions held in October 2027 are in the period (the demo's would have none)
    assert metrics.loc["C1", "sessions_attended"] == 2


def test_a_period_on_the_command_line_is_used_as_given(tmp_path):
    folder = _practice(tmp_path / "p")
    out = tmp_path / "reports" / "run"
    done = CliRunner().invoke(app, ["run", "--data", str(folder), "--tables-only", "--out",
                                    str(out), "--period-start", "2027-10-01", "--period-end",
                                    "2027-11-01"],
                              env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k.key")},
                              catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "No period was set" not in done.output
    snapshot = json.loads((out / "prepared" / "snapshot.json").read_text())
    assert (snapshot["period_start"], snapshot["period_end"]) == ("2027-10-01", "2027-11-01")


def test_a_missing_folder_is_the_same_error_for_the_period_and_the_ingest(tmp_path):
    """Both start from perfkit.ingest.columns.export_folder: the same sentence."""
    cfg = pk.load_config()
    with pytest.raises(pk.IngestError) as from_period:
        data_period(tmp_path / "absent", cfg)
    with pytest.raises(pk.IngestError) as from_ingest:
        pk.ingest(tmp_path / "absent", cfg)
    assert str(from_period.value) == str(from_ingest.value) == \
        f"data folder {tmp_path / 'absent'} does not exist"
