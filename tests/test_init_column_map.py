"""perfkit init with a column map, a period it could not read, and validate's exit code when a
required table has no accepted row (issue 30, item 6)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from perfkit.cli import app
from perfkit.config import load_config

from practice_data import NOTES, write_table

runner = CliRunner()

# An export whose headers the contract does not know: without the map, init stops at
# "required column 'clinician_id' is missing".
ROWS = [
    ["10/5/2026 10:00 AM", "Ada Lovelace", "Client A", "90837", "attended", "signed"],
    ["10/19/2026 10:00 AM", "Ada Lovelace", "Client A", "90837", "attended", "signed"],
    ["9/8/2026 3:00 PM", "Grace Hopper", "Client B", "90834", "attended", "signed"],
    ["10/20/2026 3:00 PM", "Grace Hopper", "Client B", "90834", "no_show", "signed"],
]
HEADER = ["Date", "Staff Member", "Patient", "Code", "State", "Note"]
MAP = """
files: {appointments: export.csv, notes: export.csv}
columns:
  appointments: {Date: start, Staff Member: clinician_id, Code: service, State: status}
  notes: {Note: status}
client_key: [Patient]
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def export(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k.key"))
    folder = tmp_path / "export"
    folder.mkdir()
    pd.DataFrame(ROWS, columns=HEADER).to_csv(folder / "export.csv", index=False)
    return folder


def _fill_roster(folder):
    roster = pd.read_csv(folder / "clinicians.csv", dtype=str, keep_default_na=False)
    roster["license_status"] = "licensed"
    roster["start_date"] = "2024-01-01"
    roster["weekly_capacity_hours"] = "20"
    roster.to_csv(folder / "clinicians.csv", index=False)


def test_init_reads_with_the_column_map_and_writes_it_for_validate(export, tmp_path):
    cmap = tmp_path / "maps" / "my map.yaml"
    cmap.parent.mkdir()
    cmap.write_text(MAP)
    assert invoke("init", export).exit_code == 2  # without the map: a column is missing
    res = invoke("init", export, "--column-map", cmap)
    assert res.exit_code == 0, res.output
    # September's first session to October's last: whole months
    assert "(the export covers 2026-09-01 to 2026-11-01)" in res.output
    written = (export / "practice.yaml").read_text()
    assert f'\ncolumn_map: "{cmap.resolve()}"   #' in written
    params = load_config(export / "practice.yaml")
    assert params.column_map == cmap.resolve()
    assert (str(params.period_start), str(params.period_end)) == ("2026-09-01", "2026-11-01")
    roster = pd.read_csv(export / "clinicians.csv", dtype=str)
    assert sorted(roster["name"]) == ["Ada Lovelace", "Grace Hopper"]
    # the command init suggests, as printed, reads the export through the map
    suggested = res.output.strip().splitlines()[-1]
    assert suggested == f"Then: perfkit validate {export} --params {export / 'practice.yaml'}"
    _fill_roster(export)
    res = invoke("validate", export, "--params", export / "practice.yaml")
    assert res.exit_code == 0, res.output
    assert "export.csv" in res.output and "No rows rejected." in res.output


def test_a_map_given_through_the_parameters_is_kept_and_one_in_the_folder_stays_relative(
        export, tmp_path):
    (export / "map.yaml").write_text(MAP)
    p = tmp_path / "p.yaml"
    p.write_text("column_map: export/map.yaml\nstate: TX\n")  # relative to p.yaml
    res = invoke("init", export, "--params", p)
    assert res.exit_code == 0, res.output
    assert '\ncolumn_map: "map.yaml"   #' in (export / "practice.yaml").read_text()
    assert load_config(export / "practice.yaml").column_map == (export / "map.yaml").resolve()
    _fill_roster(export)
    assert invoke("validate", export, "--params", export / "practice.yaml").exit_code == 0


def test_a_missing_column_map_is_one_sentence(export, tmp_path):
    res = invoke("init", export, "--column-map", tmp_path / "nowhere.yaml")
    assert res.exit_code == 2
    assert res.output.strip() == f"perfkit: column map {tmp_path / 'nowhere.yaml'} does not exist"
    assert not (export / "practice.yaml").exists()


def test_init_never_states_a_period_it_could_not_read(export, tmp_path):
    frame = pd.DataFrame(ROWS, columns=HEADER)
    frame["Date"] = ["Monday", "soon", "n/a", "later"]
    frame.to_csv(export / "export.csv", index=False)
    cmap = tmp_path / "map.yaml"
    cmap.write_text(MAP)
    res = invoke("init", export, "--column-map", cmap)
    assert res.exit_code == 0, res.output
    assert "the export covers" not in res.output
    assert ("No attended appointment with a readable date was found in the export, so the "
            "period it covers is not known: period_start and period_end are left for you to "
            "set in practice.yaml") in res.output
    written = (export / "practice.yaml").read_text()
    assert "the export covers" not in written
    assert "\nperiod_start:" not in written and "\nperiod_end:" not in written
    assert "\n# period_start: 2026-08-01\n# period_end: 2026-11-01\n" in written
    load_config(export / "practice.yaml")  # still valid parameters


def test_validate_exits_1_when_a_required_table_has_no_accepted_row(practice):
    """Notes that all point at appointments the export does not hold: the appointments and
    the roster are fine, the notes table has no accepted row."""
    write_table(practice, "notes", [dict(n, appointment_id=f"Z{i}")
                                    for i, n in enumerate(NOTES)])
    res = invoke("validate", practice)
    assert res.exit_code == 1
    assert ("perfkit: no row was accepted in notes (notes.csv), so there is nothing to run "
            "yet: the summary above says why each row was rejected or what is still to fill "
            "in.") in res.output
    assert "notes.csv, unknown_appointment (2 rows)" in res.output
    write_table(practice, "notes", NOTES[:1])  # one accepted note is enough
    assert invoke("validate", practice).exit_code == 0
