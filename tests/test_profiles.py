"""Import profiles (issue 15): the demo written in each profile's shapes (``perfkit demo --as``)
gives the contract-format run's figures wherever the export carries them, and says which it
cannot give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit.demo import bundled_data_dir, export_as
from perfkit.ingest import load_column_map

from practice_data import CLINICIANS, write_table

SCHEDULING = ["sessions_attended", "past_appointments", "no_show_rate", "late_cancel_rate",
              "non_attendance_rate", "clinician_cancelled", "active_clients", "new_clients",
              "retained_8plus_rate", "early_dropout_rate", "median_sessions_per_client",
              "caseload", "available_hours", "retention_cohort"]
CARRIED = {
    # a combined appointment report with durations and note statuses as of the period end:
    # everything but how quickly notes were signed
    "generic": SCHEDULING + ["hours_attended", "utilization", "notes_due",
                             "unsigned_overdue_7d", "notes_open_72h"],
    # sessions held only, dates without times, durations from the codes
    "therapynotes": ["sessions_attended", "active_clients", "new_clients",
                     "retained_8plus_rate", "median_sessions_per_client", "caseload",
                     "available_hours", "retention_cohort"],
}
UNAVAILABLE = {"generic": [],
               "therapynotes": ["no_show_rate", "late_cancel_rate", "non_attendance_rate",
                                "clinician_cancelled", "early_dropout_rate"]}


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    cfg = pk.load_config(pseudonym_key_file=tmp_path_factory.mktemp("key") / "k")
    data = pk.prepare(bundled_data_dir(), tmp_path_factory.mktemp("contract"), cfg)
    return cfg, op.clinician_metrics(data, cfg).set_index("clinician_id")


@pytest.mark.parametrize("source", list(CARRIED))
def test_each_profile_reads_the_demo_in_its_shape(contract, tmp_path, source):
    cfg, expected = contract
    folder = export_as(source, bundled_data_dir(), tmp_path / "export")
    cfg = cfg.model_copy(update={"source": source})
    data = pk.prepare(folder, tmp_path / "run", cfg)
    got = op.clinician_metrics(data, cfg).set_index("clinician_id")
    pd.testing.assert_frame_equal(got[CARRIED[source]], expected[CARRIED[source]])
    assert got[UNAVAILABLE[source]].isna().all().all()
    assert (got["documentation_source"] == "note_status").all()
    assert got[["notes_within_24h", "median_note_lag_hours"]].isna().all().all()
    q = data.quality
    assert q["source"]["profile"] == source
    assert all(e["rows_in"] == e["rows_accepted"] + e["rows_rejected"]
               for e in q["tables"].values() if e.get("present"))
    if source == "therapynotes":
        # payments are rows of another kind; every session is known by its date only
        assert set(q["tables"]["appointments"]["reasons"]) == {"excluded_row"}
        assert data.appointments["start_date_only"].all()
        # hours from the billing codes' usual lengths, by hand
        a = pd.read_csv(bundled_data_dir() / "appointments.csv", dtype=str,
                        keep_default_na=False)
        start = pd.to_datetime(a["start"])
        held = a[(a["status"] == "attended") & (start >= pd.Timestamp(cfg.period_start))
                 & (start < pd.Timestamp(cfg.period_end))]
        hours = held["service"].map({"90791": 1.0, "90834": 0.75, "90837": 1.0}) \
            .groupby(held["clinician_id"]).sum()
        assert np.allclose(got["hours_attended"], hours.reindex(got.index, fill_value=0))
    else:
        assert q["tables"]["appointments"]["reasons"] == {"summary_row": 1}
        assert "client email" in q["tables"]["appointments"]["dropped_columns"]


def test_a_practice_map_overrides_a_profile_entry(tmp_path):
    own = tmp_path / "map.yaml"
    own.write_text("columns: {appointments: {Seen By: clinician_id}}\n"
                   "files: {notes: notes.csv}\n")
    cmap = load_column_map(own, "generic")
    assert cmap.columns["appointments"]["seen by"] == "clinician_id"
    assert cmap.columns["appointments"]["provider"] == "clinician_id"  # the profile's stays
    assert cmap.files == {"appointments": "appointment*", "notes": "notes.csv"}


def test_a_missing_export_names_the_report_to_download(tmp_path, cfg):
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    with pytest.raises(pk.IngestError, match="no file matching '\\*.xlsx'.*download "
                                             "TherapyNotes' billing transactions workbook"):
        pk.ingest(folder, cfg.model_copy(update={"source": "therapynotes"}))


def test_an_unknown_source_is_one_sentence():
    with pytest.raises(pk.ConfigError, match="unknown source 'simplepractise'"):
        pk.load_config(source="simplepractise")
