"""The prepared snapshot: typed Parquet, schema-checked on load, free of non-contract data."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import perfkit as pk
from perfkit.demo import bundled_data_dir

SECRETS = ["Zebulon", "Quixote", "1961-02-03", "Philippa", "1984-12-30", "MRN-111", "MRN-222"]


def test_prepare_and_load_round_trip(practice, cfg, tmp_path):
    out = tmp_path / "run"
    written = pk.prepare(practice, out, cfg)
    loaded = pk.load_prepared(out)
    for name, frame in written.tables.items():
        pd.testing.assert_frame_equal(frame, loaded[name], check_dtype=True)
    a = loaded.appointments
    assert str(a.start.dt.tz) == "America/Chicago"
    assert a.end.iloc[0] - a.start.iloc[0] == pd.Timedelta(minutes=60)
    assert loaded.meta["timezone"] == "America/Chicago"
    assert loaded.quality["rows_rejected"] == 0
    assert loaded.time_off.empty  # optional table not provided: empty, with its columns
    assert "clinician_id" in loaded.time_off


def test_no_non_contract_value_reaches_any_output(practice, cfg, tmp_path):
    checked, out = tmp_path / "checked", tmp_path / "run"
    pk.prepare(practice, checked, cfg)
    from perfkit.pipeline import run_period

    run_period(practice, cfg, out=out)
    files = [p for p in (*checked.rglob("*"), *out.rglob("*")) if p.is_file()]
    assert {p.name for p in files} >= {"appointments.parquet", "snapshot.json",
                                       "data_quality.json", "rejects.csv", "manifest.json"}
    for path in files:
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv()
        else:
            text = path.read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in text, f"{secret} found in {path.name}"


def test_load_rejects_a_tampered_snapshot(practice, cfg, tmp_path):
    out = tmp_path / "run"
    pk.prepare(practice, out, cfg)
    path = out / "prepared" / "appointments.parquet"
    frame = pd.read_parquet(path)
    frame.loc[0, "status"] = "maybe"
    frame.to_parquet(path)
    with pytest.raises(ValueError, match="table appointments does not match the data contract "
                                         r"\(column status"):
        pk.load_prepared(out)


def test_load_prepared_without_snapshot(tmp_path):
    with pytest.raises(FileNotFoundError, match="no prepared snapshot"):
        pk.load_prepared(tmp_path)


def test_bundled_demo_loads_with_no_set_up():
    data = pk.load_prepared()
    assert len(data.clinicians) == 12
    assert data.quality["rows_rejected"] == 0
    assert data.meta["source"] == str(bundled_data_dir().resolve())
    again = pk.load_prepared()  # second call reads the cache
    pd.testing.assert_frame_equal(data.appointments, again.appointments)


def test_a_table_dropped_from_the_source_does_not_linger(practice, cfg, tmp_path):
    out = tmp_path / "run"
    (practice / "time_off.csv").write_text("clinician_id,start_date,end_date\nC1,2026-10-09,"
                                           "2026-10-09\n")
    pk.prepare(practice, out, cfg)
    assert (out / "prepared" / "time_off.parquet").exists()
    (practice / "time_off.csv").unlink()
    pk.prepare(practice, out, cfg)
    # the table that is gone leaves an empty, typed table, marked as not provided
    snapshot = pk.load_prepared(out)
    assert snapshot.time_off.empty and not snapshot.provided("time_off")
    assert snapshot.provided("appointments")
    assert str(snapshot.time_off["start_date"].dtype).startswith("datetime64")
    assert json.loads((out / "data_quality.json").read_text())["tables"]["time_off"] == {
        "present": False}
