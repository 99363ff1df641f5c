"""The synthetic demo practice: deterministic, valid, shaped as the issue asks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import perfkit as pk
from perfkit.demo import DemoSettings, bundled_data_dir, generate, write_demo


@pytest.fixture(scope="module")
def demo():
    return generate()


def test_same_seed_same_practice_other_seed_other_practice(demo):
    again, _ = generate()
    for name, frame in demo[0].items():
        pd.testing.assert_frame_equal(frame, again[name])
    other, _ = generate(DemoSettings(seed=7))
    assert not other["appointments"].equals(demo[0]["appointments"])


def test_bundled_copy_is_the_default_demo(tmp_path):
    write_demo(tmp_path)
    for path in sorted(bundled_data_dir().iterdir()):
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), (
            f"{path.name} differs: regenerate with 'perfkit demo --out src/perfkit/demo_data'")


def test_demo_validates_with_zero_rejects(tmp_path):
    ing = pk.ingest(bundled_data_dir(), pk.load_config(pseudonym_key_file=tmp_path / "k"))
    assert ing.quality["rows_rejected"] == 0, ing.rejects.head().to_string()
    assert ing.quality["tables"]["assessments"]["adjustments"]["total_prorated"] > 0


def test_demo_structure(demo):
    tables, truth = demo
    clin = tables["clinicians"]
    assert len(clin) == 12
    assert (clin.license_status == "pre-licensed").sum() == 4
    assert (clin[clin.license_status == "pre-licensed"].supervisor_id != "").all()
    assert len(truth["left"]) == 1 and len(truth["joined_midyear"]) == 1
    assert truth["slipping_clinicians"] == ["C04"]
    appts = tables["appointments"]
    assert 300 <= appts.client_id.nunique() <= 3000
    assert set(appts.status) == {"attended", "no_show", "late_cancel", "cancelled", "scheduled"}
    assert {"client_name", "client_dob", "client_email"} <= set(appts.columns)
    # weekly and biweekly cadences
    starts = pd.to_datetime(appts.start)
    gaps = (starts.groupby(appts.client_id).diff().dt.days.dropna())
    assert (gaps == 7).mean() > 0.3 and (gaps == 14).mean() > 0.1
    a = tables["assessments"]
    assert set(a.instrument) == {"PHQ-9", "GAD-7", "PCL-5", "ORS", "SRS"}
    assert (a.instrument == "SRS").sum() == (a.instrument == "ORS").sum()
    phq = a[a.instrument == "PHQ-9"]
    assert (phq.item_9 != "").mean() > 0.5 and (phq.item_9.isin(["1", "2", "3"])).any()
    assert a.client_id[a.instrument == "PCL-5"].nunique() < a.client_id.nunique() / 2
    for name in ("time_off", "supervision", "goals", "reviews", "ce"):
        assert len(tables[name]) > 0, name
    effects = pd.DataFrame(truth["clinician_slope_effects"]).T
    assert effects["PHQ-9"].std() > 0


def test_holiday_dip(demo):
    appts = demo[0]["appointments"]
    day = pd.to_datetime(appts.start).dt.date.astype(str)
    assert not day.isin(["2025-12-25", "2026-07-04", "2026-01-01"]).any()


def test_scaled_practice(tmp_path):
    tables, _ = generate(DemoSettings(n_clinicians=30, months=3))
    assert tables["clinicians"].clinician_id.iloc[-1] == "C30"
    assert pd.to_datetime(tables["appointments"].start).min() >= pd.Timestamp("2026-08-01")


def test_truth_file_written(tmp_path):
    write_demo(tmp_path, DemoSettings(n_clinicians=3, months=2))
    truth = json.loads((tmp_path / "demo_truth.json").read_text())
    assert truth["settings"]["n_clinicians"] == 3
