"""Issue 30 review fixes (FIXSAID): what a report says an export cannot tell, and validate's and
the run's words.

1. An export read by the generic profile or a column map with no clinician-cancelled row and
   no "cancelled by" column cannot say a clinician cancelled: the figure is empty (not 0), in
   the tables and the reports, with a plain sentence; likewise late cancellations (and the
   missed-appointment rate built on them) with no late-cancel row, no cancellation time and no
   fee column; no flag is raised from such a rate.
2. Appointments not yet marked are counted in the period the rates cover, and said so;
   ``perfkit demo --as NAME`` stamps its files with the export instant.
3. Every adjustment ingest can write has plain words in validate.
4. The run's summary counts each input row once and says rows left out apart from rejected.

Tiny exports built by hand; every expected figure is counted by hand below."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import contract as C
from perfkit import operations as op
from perfkit import practice_summary as ps
from perfkit.cli import adjustment_words, app, input_rows_words

from practice_data import CLINICIANS, write_table

ingest_module = importlib.import_module("perfkit.ingest")  # the module (perfkit.ingest is
# also the name of the function on the package)
quality_module = importlib.import_module("perfkit.ingest.quality")

ROSTER = [{**c, "license_status": "licensed", "supervisor_id": "", "licensure_rule": ""}
          for c in CLINICIANS]
NO_WHO = ("This export does not say who cancelled an appointment, so cancellations by "
          "clinicians are not known.")
# the period is 2026-08-01 to 2026-11-01 (the default parameters). By hand, C1: attended A1,
# A2; no-show A3; cancelled A4; past appointments 4: no-show rate 1/4 (25%, far above the 10%
# alert: a flag if it were the missed rate). C2: attended B1; no-show rate 0 of 1.
ROWS = [
    {"appointment_id": "A1", "clinician_id": "C1", "client_id": "K1",
     "start": "2026-10-05T10:00", "duration_minutes": "50", "Appointment Status": "Show"},
    {"appointment_id": "A2", "clinician_id": "C1", "client_id": "K2",
     "start": "2026-10-06T10:00", "duration_minutes": "50", "Appointment Status": "Show"},
    {"appointment_id": "A3", "clinician_id": "C1", "client_id": "K1",
     "start": "2026-10-07T10:00", "duration_minutes": "", "Appointment Status": "No Show"},
    {"appointment_id": "A4", "clinician_id": "C1", "client_id": "K2",
     "start": "2026-10-08T10:00", "duration_minutes": "", "Appointment Status": "Canceled"},
    {"appointment_id": "B1", "clinician_id": "C2", "client_id": "K3",
     "start": "2026-10-05T15:00", "duration_minutes": "50", "Appointment Status": "Show"},
]
NOTES = [{"appointment_id": i, "clinician_id": c, "signed_at": s, "status": "signed"}
         for i, c, s in (("A1", "C1", "2026-10-05T12:00"), ("A2", "C1", "2026-10-06T12:00"),
                         ("B1", "C2", "2026-10-05T17:00"))]
C_NAMES = {"Canceled By": "cancelled_by", "Cancelled At": "cancelled_at"}


def column_map(tmp_path, extra=(), name="map"):
    path = tmp_path / f"{name}.yaml"
    cols = {"Appointment Status": "status", **{c: C_NAMES[c] for c in extra}}
    path.write_text("columns:\n  appointments:\n"
                    + "".join(f"    {k}: {v}\n" for k, v in cols.items()))
    return path


def folder(tmp_path, rows=ROWS, name="export", extra: dict | None = None) -> Path:
    f = tmp_path / name
    f.mkdir()
    write_table(f, "clinicians", ROSTER)
    frame = pd.DataFrame(rows)
    for col, values in (extra or {}).items():
        frame[col] = values
    frame.to_csv(f / "appointments.csv", index=False)
    write_table(f, "notes", NOTES)
    return f


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(pseudonym_key_file=tmp_path / "k.key")


LATE = ["late_cancel_rate", "non_attendance_rate"]


def test_who_cancelled_and_late_cancellations_are_not_known_without_their_columns(tmp_path,
                                                                                   cfg):
    data = pk.prepare(folder(tmp_path), tmp_path / "run", cfg,
                      column_map=column_map(tmp_path))
    src = data.quality["source"]
    assert src["unavailable"] == ["clinician_cancelled", *LATE]
    assert NO_WHO in src["caveats"]
    assert any("does not say which cancellations came late" in c for c in src["caveats"])
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m[["clinician_cancelled", *LATE]].isna().all().all()
    assert m.loc["C1", "no_show_rate"] == pytest.approx(1 / 4)  # still said
    assert m.loc["C2", "no_show_rate"] == 0
    # no flag and no trend from a rate that leaves late cancellations out
    flags = op.flags(m.reset_index(), cfg).set_index("clinician_id")
    assert not flags["flag_high_non_attendance"].any()
    p = ps.practice_summary(data, cfg, m.reset_index()).iloc[0]
    assert pd.isna(p["clinician_cancelled"]) and pd.isna(p["non_attendance_rate"])
    assert pd.isna(p["missed_appointments"])
    weeks = op.weekly_metrics(data, cfg)
    assert weeks[[c for c in LATE if c in weeks]].isna().all().all()


def test_a_cancelled_by_column_or_a_late_cancellation_makes_them_known(tmp_path, cfg):
    # "Canceled By: Client" on A4: who cancelled is said (none by a clinician: 0); a late
    # cancellation status on A4 instead: late cancellations are said (1 of C1's 4)
    data = pk.prepare(folder(tmp_path, extra={"Canceled By": ["", "", "", "Client", ""]}),
                      tmp_path / "run", cfg,
                      column_map=column_map(tmp_path, ["Canceled By"]))
    assert data.quality["source"]["unavailable"] == LATE
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert (m["clinician_cancelled"] == 0).all()
    late = [dict(r, **{"Appointment Status": "Late Canceled"}) if r["appointment_id"] == "A4"
            else r for r in ROWS]
    data = pk.prepare(folder(tmp_path, late, "late"), tmp_path / "run2", cfg,
                      column_map=column_map(tmp_path, name="late"))
    assert data.quality["source"]["unavailable"] == ["clinician_cancelled"]
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m.loc["C1", "non_attendance_rate"] == pytest.approx(2 / 4)
    # a cancellation time says which were late, even when none was
    data = pk.prepare(folder(tmp_path, name="at", extra={
        "Cancelled At": ["", "", "", "2026-10-01T09:00", ""]}), tmp_path / "run3", cfg,
        column_map=column_map(tmp_path, ["Cancelled At"], name="at"))
    assert data.quality["source"]["unavailable"] == ["clinician_cancelled"]


def test_the_contract_format_says_its_own_zeros(tmp_path, cfg):
    f = folder(tmp_path)
    a = pd.read_csv(f / "appointments.csv", dtype=str, keep_default_na=False)
    a = a.rename(columns={"Appointment Status": "status"})
    a["status"] = a["status"].map({"Show": "attended", "No Show": "no_show",
                                   "Canceled": "cancelled"})
    a.to_csv(f / "appointments.csv", index=False)
    data = pk.prepare(f, tmp_path / "run", cfg)
    assert data.quality["source"]["unavailable"] == []
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert (m["clinician_cancelled"] == 0).all() and (m["late_cancel_rate"] == 0).all()


@pytest.mark.end_to_end
def test_the_reports_and_the_table_agree_not_known(tmp_path):
    from perfkit import report
    from perfkit.pipeline import run_period

    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key",
                         column_map=str(column_map(tmp_path)))
    out = tmp_path / "run"
    run_period(folder(tmp_path), cfg, out=out, workers=1, clinicians=["C1"])
    metrics = pd.read_csv(out / "tables" / "clinician_metrics.csv")
    assert metrics[["clinician_cancelled", *LATE]].isna().all().all()  # empty cells, not 0
    # and no trend: a figure not known has none ("too few weeks" would say it was counted)
    assert metrics[[f"trend_{m}" for m in LATE if f"trend_{m}" in metrics]].isna().all().all()
    assert "trend_non_attendance_rate" in metrics
    practice = (out / "practice.html").read_text(encoding="utf-8")
    row = re.search(r"Appointments the clinicians cancelled.*?</tr>", practice, re.S).group(0)
    assert "not available from this export" in row and ">0<" not in row
    row = re.search(r"Missed appointments \(no-shows.*?</tr>", practice, re.S).group(0)
    assert "not available from this export" in row
    assert "does not say who cancelled an appointment" in practice
    own = (out / "clinicians" / "C1.html").read_text(encoding="utf-8")
    assert "not available from this export" in own
    assert "25.0%" not in own  # C1's no-show rate is never shown as the missed rate
    assert not metrics["flag_high_non_attendance"].any()
    assert "▲ missed appointments" not in practice  # no flag, no check-in from it
    assert "missed appointments rising" not in practice
    assert report.load_run(out).table("clinician_metrics")["non_attendance_rate"].isna().all()


# -- 2. appointments not yet marked: the period the rates cover ------------------------------

def unmarked_rows():
    # K: booked ("Scheduled") and never marked. Before the period (20 Jul), in it (5 Oct,
    # 30 Oct), after it and before the export (3 Nov), after the export (20 Nov).
    days = ["2026-07-20", "2026-10-05", "2026-10-30", "2026-11-03", "2026-11-20"]
    rows = [{"appointment_id": f"U{i}", "clinician_id": "C1", "client_id": "K1",
             "start": f"{d}T10:00", "duration_minutes": "", "status": "scheduled"}
            for i, d in enumerate(days)]
    return rows + [{"appointment_id": "A1", "clinician_id": "C1", "client_id": "K1",
                    "start": "2026-10-05T12:00", "duration_minutes": "50",
                    "status": "attended"}]


def test_not_yet_marked_counts_the_period_the_rates_cover(tmp_path):
    f = tmp_path / "e"
    f.mkdir()
    write_table(f, "clinicians", ROSTER)
    write_table(f, "appointments", unmarked_rows())
    write_table(f, "notes", [])
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key", exported_at="2026-11-10 09:00")
    q = pk.ingest(f, cfg).quality
    assert q["tables"]["appointments"]["adjustments"]["not_yet_marked"] == 2  # 5 and 30 Oct
    words = ingest_module.not_yet_marked_words(q)
    assert words.startswith("2 appointments in the period (01 Aug 2026 to 31 Oct 2026) are "
                            "not yet marked")
    # an export taken inside the period: up to the export (5 Oct only)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key", exported_at="2026-10-20 09:00")
    q = pk.ingest(f, cfg).quality
    assert q["tables"]["appointments"]["adjustments"]["not_yet_marked"] == 1
    assert ingest_module.not_yet_marked_words(q).startswith(
        "1 appointment from 01 Aug 2026 to the export (20 Oct 2026, 09:00) is not yet marked")


def test_demo_as_a_system_stamps_its_files_with_the_export_instant(tmp_path):
    from perfkit.demo import DemoSettings, write_demo
    from perfkit.demo_exports import DEMO_TZ, export_as

    demo = write_demo(tmp_path / "demo", DemoSettings(n_clinicians=2, months=2))
    out = export_as("tebra", demo, tmp_path / "tebra", as_of=dt.date(2026, 10, 15))
    midnight = pd.Timestamp("2026-10-15", tz=DEMO_TZ).timestamp()
    files = [p for p in out.iterdir() if p.is_file()]
    assert files and all(p.stat().st_mtime == midnight for p in files)
    res = CliRunner().invoke(app, ["init", str(out), "--source", "generic"],
                             catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert res.exit_code == 0, res.output
    stamped = pd.Timestamp("2026-10-15", tz=DEMO_TZ)
    said = re.search(r"exported_at is (\S+ \S+)", res.output).group(1)
    tz = re.search(r"^timezone: (\S+)", (out / "practice.yaml").read_text(), re.M).group(1)
    assert pd.Timestamp(said, tz=tz) == stamped


# -- 3. every adjustment has words ---------------------------------------------------------

def adjustment_keys() -> set[str]:
    """Every key ingest writes into a table's adjustments, read from the source of every
    module of perfkit/ingest/: literal keys, the keys of a loop over literal pairs, and the
    keys named for a column (expanded over the contract's columns they can be)."""
    tree = ast.Module(body=[node for path in sorted(Path(ingest_module.__file__).parent.glob(
        "*.py")) for node in ast.parse(path.read_text(encoding="utf-8")).body], type_ignores=[])
    keys, loops = set(), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and isinstance(node.target, ast.Tuple) \
                and isinstance(node.iter, ast.Tuple):
            name = node.target.elts[0]
            if isinstance(name, ast.Name):
                loops.setdefault(name.id, set()).update(
                    e.elts[0].value for e in node.iter.elts
                    if isinstance(e, ast.Tuple) and isinstance(e.elts[0], ast.Constant))
    dates = {c.name for t in C.TABLES.values() for c in t.columns if c.kind == "date"}
    times = {c.name for t in C.TABLES.values() for c in t.columns if c.kind == "datetime"}
    refs = {"clinician_id", "supervisee_id", "supervisor_id"}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "adjustments" and isinstance(node.ctx, ast.Store)):
            continue
        k = node.slice
        if isinstance(k, ast.Constant):
            keys.add(k.value)
        elif isinstance(k, ast.Name):
            assert k.id in loops, f"adjustments[{k.id}]: where do its keys come from?"
            keys |= loops[k.id]
        elif isinstance(k, ast.JoinedStr):
            tail = k.values[-1].value
            over = {"_month_only": {c for c in dates if c in ("start_date", "end_date")},
                    "_ambiguous_local_time_first_occurrence": times,
                    "_from_name": refs}[tail]
            keys |= {c + tail for c in over}
        else:
            raise AssertionError(f"an adjustment key this test cannot read: {ast.dump(k)}")
    return keys


def test_every_adjustment_ingest_can_write_has_words():
    keys = adjustment_keys()
    assert {"duration_from_end", "appointment_id_generated", "total_prorated",
            "clinician_inferred", "clinician_id_from_name", "start_from_date_and_time",
            "start_ambiguous_local_time_first_occurrence"} <= keys  # the reader finds them
    missing = sorted(k for k in keys if not adjustment_words(k))
    assert missing == []
    for k in keys:  # words, not the key
        assert "_" not in adjustment_words(k).replace("default_session_minutes", "").replace(
            "late_cancel_window_hours", ""), k
    assert adjustment_words("clinician_id_from_name") == (
        "where the export gives the clinician by name, matched to the roster's names")
    assert "default session length of 45 minutes" in adjustment_words("duration_default", 45)


def test_validate_gives_the_default_length_in_minutes(tmp_path):
    f = tmp_path / "e"
    f.mkdir()
    write_table(f, "clinicians", ROSTER)
    write_table(f, "appointments", [{"appointment_id": "A1", "clinician_id": "C1",
                                     "client_id": "K1", "start": "2026-10-05T10:00",
                                     "status": "attended"}])
    write_table(f, "notes", NOTES[:1])
    (tmp_path / "m.yaml").write_text("session_length: default\n")
    (tmp_path / "p.yaml").write_text("services:\n  default_session_minutes: 55\n")
    res = CliRunner().invoke(app, ["validate", str(f), "--params", str(tmp_path / "p.yaml"),
                                   "--column-map", str(tmp_path / "m.yaml")],
                             catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert "appointments: 1 row of attended sessions with no length in the export" in res.output
    assert "default session length of 55 minutes" in res.output


# -- 4. the run's summary: input rows once, left out apart from rejected -------------------

def test_input_rows_are_counted_once_per_file():
    tables = {"clinicians": {"present": True, "file": "clinicians.csv", "rows_in": 3},
              "appointments": {"present": True, "file": "report.csv", "rows_in": 10},
              "notes": {"present": True, "file": "report.csv", "rows_in": 10},
              "goals": {"present": False}}
    rejects = pd.DataFrame(
        [("appointments", "report.csv", 2, "rescheduled"),
         ("notes", "report.csv", 2, "appointment_rejected"),  # the same row: once, left out
         ("appointments", "report.csv", 3, "rescheduled"),
         ("notes", "report.csv", 3, "appointment_rejected"),
         ("appointments", "report.csv", 10, "summary_row"),
         ("notes", "report.csv", 10, "summary_row"),
         ("notes", "report.csv", 5, "not_in_table"),  # an add-on line: its appointment's
         ("appointments", "report.csv", 7, "unparseable_datetime"),
         ("notes", "report.csv", 7, "appointment_rejected"),
         ("clinicians", "clinicians.csv", 7, "missing_value")],
        columns=["table", "file", "row", "reason"])
    got = quality_module._input_rows(tables, rejects)
    assert got == {"rows": 13, "set_aside": {"rescheduled": 2, "summary_row": 1},
                   "rejected": 2}
    assert input_rows_words({"input_rows": got, "rows_rejected": 9}) == (
        "2 of 13 input rows rejected; 3 left out as no record to use (2 rows rescheduled, 1 "
        "row of totals)")


def test_the_run_summary_counts_a_shared_file_once(tmp_path):
    # a file read as appointments and notes: one rescheduled row, rejected in both tables
    f = tmp_path / "e"
    f.mkdir()
    write_table(f, "clinicians", ROSTER)
    rows = [{"clinician_id": "C1", "client_id": "K1", "start": "2026-10-05T10:00",
             "duration_minutes": "50", "status": s, "note_status": n}
            for s, n in (("attended", "signed"), ("rescheduled", ""))]
    rows[1]["start"] = "2026-10-06T10:00"
    pd.DataFrame(rows).to_csv(f / "appointments.csv", index=False)
    (tmp_path / "m.yaml").write_text("files: {notes: appointments.csv}\n"
                                     "columns:\n  notes: {note_status: status}\n")
    res = CliRunner().invoke(app, ["run", "--data", str(f), "--column-map",
                                   str(tmp_path / "m.yaml"), "--out", str(tmp_path / "run"),
                                   "--tables-only"], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert res.exit_code == 0, res.output
    assert ("0 of 4 input rows rejected; 1 left out as no record to use (1 row rescheduled)"
            in res.output)

