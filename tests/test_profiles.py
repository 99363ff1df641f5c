"""Import profiles (issue 15): the demo written in each profile's shapes (``perfkit demo --as``)
gives the contract-format run's figures wherever the export carries them, and says which it
cannot give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit.demo import bundled_data_dir
from perfkit.demo_exports import export_as
from perfkit.ingest import load_column_map

from practice_data import CLINICIANS, write_table

SCHEDULING = ["sessions_attended", "past_appointments", "no_show_rate", "late_cancel_rate",
              "non_attendance_rate", "clinician_cancelled", "active_clients", "new_clients",
              "retained_8plus_rate", "early_dropout_rate", "median_sessions_per_client",
              "caseload", "available_hours", "retention_cohort"]
CARRIED = {
    # a combined appointment report with durations and note statuses as of the period end:
    # everything but how quickly notes were signed
    # (the demo has no cancellation by a clinician, and this report no "cancelled by"
    # column: who cancelled is not known, so clinician_cancelled is left empty, not 0)
    "generic": [c for c in SCHEDULING if c != "clinician_cancelled"]
    + ["hours_attended", "utilization", "notes_due", "unsigned_overdue_7d", "notes_open_72h"],
    # two reports matched: statuses from attendance, codes and note statuses from the other
    "simplepractice": SCHEDULING + ["notes_due", "unsigned_overdue_7d", "notes_open_72h"],
    # sessions held only, dates without times, durations from the codes
    "therapynotes": ["sessions_attended", "active_clients", "new_clients",
                     "retained_8plus_rate", "median_sessions_per_client", "caseload",
                     "available_hours", "retention_cohort"],
}
UNAVAILABLE = {"generic": ["clinician_cancelled"], "simplepractice": [],
               "therapynotes": ["no_show_rate", "late_cancel_rate", "non_attendance_rate",
                                "clinician_cancelled", "early_dropout_rate"]}


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    cfg = pk.load_config(pseudonym_key_file=tmp_path_factory.mktemp("key") / "k")
    data = pk.prepare(bundled_data_dir(), tmp_path_factory.mktemp("contract"), cfg)
    return cfg, op.clinician_metrics(data, cfg).set_index("clinician_id")


@pytest.fixture(scope="module")
def contract_weeks(tmp_path_factory, contract):
    cfg, _ = contract
    data = pk.prepare(bundled_data_dir(), tmp_path_factory.mktemp("contract-weeks"), cfg)
    return op.weekly_metrics(data, cfg).set_index(["clinician_id", "week_start"])


@pytest.mark.parametrize("source", list(CARRIED))
def test_each_profile_reads_the_demo_in_its_shape(contract, contract_weeks, tmp_path, source):
    cfg, expected = contract
    folder = export_as(source, bundled_data_dir(), tmp_path / "export")
    cfg = cfg.model_copy(update={"source": source})
    data = pk.prepare(folder, tmp_path / "run", cfg)
    got = op.clinician_metrics(data, cfg).set_index("clinician_id")
    pd.testing.assert_frame_equal(got[CARRIED[source]], expected[CARRIED[source]])
    # week by week too: a session read on the wrong day (a workbook date taken as UTC
    # midnight is the evening before) moves from Monday into the week before
    weeks = op.weekly_metrics(data, cfg).set_index(["clinician_id", "week_start"])
    for col in ("sessions_attended", "active_clients"):
        pd.testing.assert_series_equal(weeks[col], contract_weeks[col])
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
    elif source == "simplepractice":
        # the totals row; three status-report rows whose appointment is not in the attendance
        # report; the booked appointments SimplePractice shows as "Show"
        assert q["tables"]["appointments"]["reasons"] == {"summary_row": 1}
        assert q["tables"]["notes"]["reasons"] == {"no_appointment_row": 3}
        scheduled = (data.appointments["status"] == "scheduled").sum()
        assert q["tables"]["appointments"]["adjustments"]["scheduled_after_export"] == scheduled
        assert "primary insurance" in q["tables"]["notes"]["dropped_columns"]
        assert data.appointments["duration_estimated"].sum() == \
            data.appointments["status"].isin(["attended", "no_show", "late_cancel",
                                              "scheduled"]).sum()
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


@pytest.mark.parametrize("source", list(CARRIED))
def test_init_then_run_on_a_profile_export(contract, tmp_path, source):
    """demo --as, init (a starter roster with generated ids), the roster filled in from the
    demo's own clinician table, then the run: the same figures, clinician by clinician."""
    from perfkit.starter import write_starter

    cfg, expected = contract
    folder = export_as(source, bundled_data_dir(), tmp_path / "export")
    demo_roster = pd.read_csv(folder / "clinicians.csv", dtype=str, keep_default_na=False)
    (folder / "clinicians.csv").unlink()
    cfg = cfg.model_copy(update={"source": source})
    if source == "simplepractice":  # its "Show" after the export is a booking
        cfg = cfg.model_copy(update={"exported_at": pd.Timestamp("2026-11-01").to_pydatetime()})
    st = write_starter(folder, cfg)
    assert st.roster_written and st.clinicians == len(demo_roster)
    assert st.period == ("2025-11-01", "2026-11-01")
    starter = pd.read_csv(folder / "clinicians.csv", dtype=str, keep_default_na=False)
    assert set(starter["name"]) == set(demo_roster["name"])
    assert (starter[["license_status", "start_date", "weekly_capacity_hours"]] == "").all().all()
    new_id = dict(zip(demo_roster["clinician_id"], demo_roster["name"].map(
        dict(zip(starter["name"], starter["clinician_id"], strict=True))), strict=True))
    filled = demo_roster.assign(clinician_id=demo_roster["clinician_id"].map(new_id),
                                supervisor_id=demo_roster["supervisor_id"].map(new_id)
                                .fillna(""))
    filled.to_csv(folder / "clinicians.csv", index=False)
    for other in ("time_off", "supervision", "goals", "reviews", "ce", "assessments"):
        t = pd.read_csv(folder / f"{other}.csv", dtype=str, keep_default_na=False)
        for col in ("clinician_id", "supervisee_id", "supervisor_id", "reviewer_id"):
            if col in t:
                t[col] = t[col].map(new_id).fillna(t[col])
        t.to_csv(folder / f"{other}.csv", index=False)
    data = pk.prepare(folder, tmp_path / "run", cfg)
    got = op.clinician_metrics(data, cfg)
    got.index = got["clinician_id"].map({v: k for k, v in new_id.items()})
    got.index.name = "clinician_id"
    pd.testing.assert_frame_equal(got[CARRIED[source]].sort_index(),
                                  expected[CARRIED[source]].sort_index())


@pytest.mark.end_to_end
@pytest.mark.parametrize("source", list(CARRIED))
def test_a_profile_run_renders_its_reports_and_says_what_the_export_lacks(tmp_path, source):
    from test_sparse import _check_run

    from perfkit.demo import DemoSettings, write_demo
    from perfkit.pipeline import run_period

    demo = write_demo(tmp_path / "demo", DemoSettings(n_clinicians=4, months=3))
    folder = export_as(source, demo, tmp_path / "export")
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key", source=source)
    out = tmp_path / "run"
    manifest = run_period(folder, cfg, out=out, workers=2, clinicians=["C01"])
    _check_run(out, manifest)
    practice = (out / "practice.html").read_text(encoding="utf-8")
    assert "this export has no signing times" in practice
    from perfkit import report

    run = report.load_run(out)
    said = {t.get_text() for ax in report.weekly_trends_figure(run, "C01").axes
            for t in ax.texts}
    # 4 clinicians, fewer than privacy.min_peers: no spread of colleagues' figures to draw
    assert str(report.distribution_figure(run, "C01")) == ""
    assert "Not known: this export has no signing times" in said  # a panel says why it is empty
    if source == "therapynotes":
        assert "not in this export, so no-show and late-cancellation rates" in practice
        assert "not available from this export" in (out / "clinicians" / "C01.html").read_text(
            encoding="utf-8")
        assert "Not available from this export" in said


# The appointment reports of systems the generic profile reads (perfkit demo --as NAME): every
# figure the contract run gives, except what the system cannot say (demo_exports.SYSTEM_SHAPES).
NOT_SAID = {
    "jane": ["clinician_cancelled"],  # no "cancelled by": shown as Rescheduled, left out
    "owl": ["clinician_cancelled"],  # a therapist's cancellation is deleted from the export
    "theranest": [],
    "tebra": ["clinician_cancelled", "late_cancel_rate", "non_attendance_rate"],
}
SYSTEM_FIGURES = SCHEDULING + ["hours_attended", "utilization", "notes_due",
                               "unsigned_overdue_7d", "notes_open_72h"]


@pytest.mark.parametrize("shape", list(NOT_SAID))
def test_each_systems_report_gives_the_contract_figures_it_can_say(contract, tmp_path, shape):
    cfg, expected = contract
    folder = export_as(shape, bundled_data_dir(), tmp_path / "export")
    cfg = cfg.model_copy(update={"source": "generic"})
    data = pk.prepare(folder, tmp_path / "run", cfg)
    got = op.clinician_metrics(data, cfg).set_index("clinician_id")
    said = [c for c in SYSTEM_FIGURES if c not in NOT_SAID[shape]]
    pd.testing.assert_frame_equal(got[said], expected[said])
    q = data.quality["tables"]["appointments"]
    assert q["rows_in"] == q["rows_accepted"] + q["rows_rejected"]
    # the measures name the clients as the report does: every score finds its client
    a = data.quality["tables"]["assessments"]
    assert a["rows_rejected"] == 0 and a["rows_accepted"] == len(pd.read_csv(
        bundled_data_dir() / "assessments.csv"))
    assert data.tables["assessments"]["client_id"].nunique() == pd.read_csv(
        bundled_data_dir() / "assessments.csv")["client_id"].nunique()
    # what the system cannot say is empty (not known), never 0, and the reports say why
    assert got[NOT_SAID[shape]].isna().all().all()
    assert sorted(data.quality["source"]["unavailable"]) == sorted(NOT_SAID[shape])
    if shape == "tebra":  # late cancellations print as plain cancellations: no-shows only
        assert got["no_show_rate"].notna().all()


def test_a_systems_demo_runs_on_the_roster_init_writes(contract, tmp_path):
    """perfkit demo --as jane, the roster deleted and written again by init (generated ids):
    the practice's other tables name clinicians as the report does, so none of their rows is
    lost to an id the new roster does not hold."""
    from perfkit.starter import write_starter

    cfg, _ = contract
    folder = export_as("jane", bundled_data_dir(), tmp_path / "export")
    (folder / "clinicians.csv").unlink()
    cfg = cfg.model_copy(update={"source": "generic"})
    write_starter(folder, cfg)
    roster = pd.read_csv(folder / "clinicians.csv", dtype=str, keep_default_na=False)
    roster = roster.assign(license_status="licensed", start_date="2024-01-01",
                           weekly_capacity_hours="25")
    roster.to_csv(folder / "clinicians.csv", index=False)
    q = pk.ingest(folder, cfg).quality["tables"]
    for name in ("assessments", "time_off", "supervision", "goals", "reviews", "ce"):
        assert q[name]["rows_rejected"] == 0, (name, q[name]["reasons"])
        assert q[name]["rows_accepted"] > 0
