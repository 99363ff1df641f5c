"""``perfkit.models.model_data`` (issue 31): with the built-in period (the demo's) it uses every
score, so data a year later are not 0 rows; a set period cuts at its end; a frame that is not
perfkit's assessments table (naive datetimes, other column names) gets one sentence instead of
a TypeError or a KeyError. Expected rows worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import perfkit as pk
from perfkit import models, pipeline

TZ = "America/Chicago"


def _scores() -> pd.DataFrame:
    """Two PHQ-9 episodes in autumn 2027 (a year after the demo's period) and a GAD-7 score."""
    rows = [("C1", "X", "PHQ-9", "2027-09-01 10:00", 14),
            ("C1", "X", "PHQ-9", "2027-09-08 10:00", 12),
            ("C1", "X", "PHQ-9", "2027-09-22 10:00", 9),
            ("C2", "Y", "PHQ-9", "2027-09-02 09:00", 20),
            ("C2", "Y", "PHQ-9", "2027-09-16 09:00", 18),
            ("C2", "Y", "PHQ-9", "2027-10-14 09:00", 11),
            ("C2", "Y", "GAD-7", "2027-09-02 09:00", 15)]
    a = pd.DataFrame(rows, columns=["clinician_id", "client_id", "instrument", "administered_at",
                                    "total_score"])
    a["administered_at"] = pd.to_datetime(a["administered_at"]).dt.tz_localize(TZ)
    return a


def test_the_default_period_does_not_hide_later_data():
    rows = models.model_data(_scores(), pk.load_config(), "PHQ-9")
    # intakes 14 (X) and 20 (Y), mean 17; weeks since each episode's first score
    expected = pd.DataFrame({"clinician_id": ["C1", "C1", "C2", "C2"],
                             "client_id": ["X", "X", "Y", "Y"],
                             "time": [1.0, 3.0, 2.0, 6.0], "score": [12.0, 9.0, 18.0, 11.0],
                             "intake": [14.0, 14.0, 20.0, 20.0],
                             "intake_c": [-3.0, -3.0, 3.0, 3.0]})
    pd.testing.assert_frame_equal(rows, expected)


def test_a_set_period_ends_the_data():
    cfg = pk.load_config(period_start=dt.date(2027, 7, 1), period_end=dt.date(2027, 10, 1))
    rows = models.model_data(_scores(), cfg, "PHQ-9")
    # Y's score of 14 October is after the period: Y keeps 2 scores, fewer than 3
    assert rows["client_id"].tolist() == ["X", "X"]
    assert rows["intake_c"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("change, words", [
    (lambda a: a.assign(administered_at=a["administered_at"].dt.tz_localize(None)),
     "administered_at holds dates and times without a time zone"),
    (lambda a: a.assign(administered_at=a["administered_at"].astype(str)),
     "administered_at does not hold dates and times"),
    (lambda a: a.rename(columns={"administered_at": "date", "total_score": "phq9"}),
     "this frame has no administered_at, total_score: for a frame with columns of your own "
     "naming, use perfkit.fit_growth"),
])
def test_another_frame_gets_one_sentence(change, words):
    with pytest.raises(ValueError, match=words) as caught:
        models.model_data(change(_scores()), pk.load_config(), "PHQ-9")
    assert "\n" not in str(caught.value)


def test_the_naive_times_sentence_names_the_practice_zone():
    naive = _scores().assign(administered_at=lambda a: a["administered_at"].dt.tz_localize(None))
    with pytest.raises(ValueError, match=r"\.dt\.tz_localize\('America/Chicago'\)"):
        models.model_data(naive, pk.load_config(), "PHQ-9")


def test_no_assessments_table_gives_no_rows():
    empty = pk.Prepared({}, {}, {"provided": []}).assessments  # an optional table not provided
    assert models.model_data(empty, pk.load_config(), "PHQ-9").empty


def test_a_run_is_as_of_the_period_it_was_given(tmp_path, monkeypatch):
    """A run with the built-in period keeps it for every table, the models' too."""
    seen = []

    def stop(data_dir, config, *args, **kwargs):
        seen.append(config)
        raise pk.ConfigError("stop here")

    monkeypatch.setattr(pipeline, "_run_into", stop)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    assert not cfg.period_given
    with pytest.raises(pk.ConfigError, match="stop here"):
        pipeline.run_period(tmp_path, cfg, out=tmp_path / "run", tables_only=True)
    assert seen[0].period_given
    assert (seen[0].period_start, seen[0].period_end) == (cfg.period_start, cfg.period_end)
