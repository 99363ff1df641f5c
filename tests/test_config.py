"""Parameters: one typed object, defaults from the data contract, plain errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import perfkit as pk
from perfkit.config import DEFAULT_KEY_FILE, ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_follow_the_data_contract():
    cfg = pk.load_config()
    phq, gad, pcl, ors = (cfg.instruments[k] for k in ("PHQ-9", "GAD-7", "PCL-5", "ORS"))
    assert (phq.score_max, phq.caseness, phq.reliable_change, phq.better) == (27, 10, 6, "lower")
    assert (gad.score_max, gad.caseness, gad.reliable_change) == (21, 8, 4)
    assert (pcl.score_max, pcl.caseness, pcl.reliable_change) == (80, 33, 10)
    assert (ors.score_max, ors.caseness, ors.reliable_change, ors.better) == (40, 25, 5, "higher")
    assert cfg.outcomes.min_episodes == 10
    ops = cfg.operations
    assert (ops.utilization_alert, ops.non_attendance_alert, ops.note_standard_hours,
            ops.note_overdue_days, ops.retained_sessions, ops.dropout_sessions,
            ops.cohort_weeks) == (0.70, 0.10, 72, 7, 8, 4, 8)
    assert (cfg.trends.shift_run, cfg.trends.trend_run, cfg.trends.min_weeks) == (7, 6, 12)


def test_shipped_parameters_file_loads_and_resolves_paths(monkeypatch, tmp_path):
    monkeypatch.delenv("PERFKIT_PSEUDONYM_KEY_FILE")
    cfg = pk.load_config(ROOT / "parameters" / "practice.yaml")
    assert cfg.timezone == "America/Chicago"
    assert cfg.period_end == dt.date(2026, 11, 1) and cfg.as_of == cfg.period_end
    # one default key location, with or without the parameters file
    assert cfg.pseudonym_key_file == pk.load_config().pseudonym_key_file == DEFAULT_KEY_FILE
    rel = tmp_path / "p.yaml"
    rel.write_text("pseudonym_key_file: keys/k.key\n")
    # relative paths are resolved from the parameters file's folder
    assert pk.load_config(rel).pseudonym_key_file == (tmp_path / "keys" / "k.key").resolve()


def test_instrument_override_keeps_other_fields(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text("instruments:\n  PCL-5:\n    caseness: 31\n")
    pcl = pk.load_config(p).instruments["PCL-5"]
    assert pcl.caseness == 31 and pcl.reliable_change == 10 and pcl.n_items == 20


@pytest.mark.parametrize("text,match", [
    ("timezone: Mars/Olympus\n", "unknown time zone 'Mars/Olympus'"),
    ("operations:\n  utilisation_alert: 0.7\n", "operations.utilisation_alert"),
    ("period_start: 2026-11-01\nperiod_end: 2026-10-01\n", "period_end must be after"),
    ("instruments:\n  BDI: {caseness: 14}\n", "unknown instrument 'BDI'"),
    ("- a list\n", "must hold a mapping"),
    ("outcomes:\n  min_episodes: 0\n", "outcomes.min_episodes"),
])
def test_bad_parameters_name_file_and_setting(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        pk.load_config(p)
    assert str(p) in str(err.value)


def test_missing_parameters_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        pk.load_config(tmp_path / "nope.yaml")


def test_period_override():
    cfg = pk.load_config().with_period(dt.date(2026, 7, 1), dt.date(2026, 10, 1))
    assert (cfg.period_start, cfg.period_end) == (dt.date(2026, 7, 1), dt.date(2026, 10, 1))
    with pytest.raises(ConfigError, match="period_end must be after"):
        cfg.with_period(end=dt.date(2026, 6, 1))


def test_environment_variable_names_the_key_file(monkeypatch, tmp_path):
    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k.key"))
    assert pk.load_config(ROOT / "parameters" / "practice.yaml").pseudonym_key_file == \
        tmp_path / "k.key"


def test_the_removed_min_cell_setting_is_one_sentence(tmp_path):
    p = tmp_path / "old.yaml"
    p.write_text("privacy:\n  min_cell: 5\n")
    with pytest.raises(ConfigError, match="min_cell is no longer a setting.*min_episodes"):
        pk.load_config(p)
