"""Totals and summary rows never become data or roster entries (issue 25), in ``perfkit
init`` as in ingest, for every import profile: SimplePractice's first line of counts ("6
clients", "2 clinicians", ..., "6 Show") and a "Total" line at the end."""

from __future__ import annotations

import pandas as pd
import pytest
from test_workbooks import EXPORTS, SESSIONS

import perfkit as pk
from perfkit.starter import write_starter

from practice_data import CLINICIANS, write_table

NAMES = {"Ada Lovelace", "Grace Hopper"}


def with_totals(folder, profile):
    """The profile's export (CSV) with a line of counts first and a Total line last, in
    every file of appointments or notes."""
    settings = EXPORTS[profile](folder, "csv")
    for path in folder.glob("*.csv"):
        if path.name == "clinicians.csv":
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if frame.iloc[0, 0].endswith("clients"):  # SimplePractice's own line is there
            frame = frame.iloc[1:]
        width = frame.shape[1]
        counts = ([f"{len(SESSIONS)} clients", "2 clinicians"] + [""] * width)[:width]
        counts[-1] = counts[-1] or f"{len(SESSIONS)} appointments"
        total = ["Total"] + [""] * (frame.shape[1] - 1)
        frame = pd.DataFrame([counts, *frame.to_numpy().tolist(), total],
                             columns=frame.columns)
        frame.to_csv(path, index=False)
    return settings


@pytest.mark.parametrize("profile", list(EXPORTS))
def test_init_and_ingest_skip_lines_of_totals(tmp_path, profile):
    folder = tmp_path / "export"
    folder.mkdir()
    settings = with_totals(folder, profile)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k", source=settings.get("source"),
                         exported_at="2026-11-03T09:00")
    if profile != "contract":  # the contract roster is the practice's own file
        st = write_starter(folder, cfg.model_copy(update={"column_map": settings.get(
            "column_map")}))
        roster = pd.read_csv(folder / "clinicians.csv", dtype=str, keep_default_na=False)
        assert set(roster["name"]) == NAMES and st.clinicians == 2
        (folder / "clinicians.csv").unlink()
    write_table(folder, "clinicians", CLINICIANS)
    ing = pk.ingest(folder, cfg, column_map=settings.get("column_map"))
    a = ing.quality["tables"]["appointments"]
    assert a["reasons"] == {"summary_row": 2}
    assert len(ing["appointments"]) == len(SESSIONS)
    assert ing.quality["clinicians_left_out"] == []


def test_validate_lists_a_shared_file_s_rows_once_per_table(tmp_path):
    """The generic report holds appointments and notes: its rows of totals are listed under
    each table, not as the same row twice under one heading."""
    from typer.testing import CliRunner

    from perfkit.cli import app

    folder = tmp_path / "export"
    folder.mkdir()
    with_totals(folder, "generic")
    write_table(folder, "clinicians", CLINICIANS)
    res = CliRunner().invoke(app, ["validate", str(folder), "--source", "generic"],
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")},
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Appointment Report.csv (appointments), summary_row (2 rows):" in res.output
    assert "Appointment Report.csv (notes), summary_row (2 rows):" in res.output
