"""A run folder end to end on the demo practice: tables, manifest, failure isolation."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import operations as op
from perfkit.cli import app
from perfkit.demo import bundled_data_dir
from perfkit.report.questions import questions_for

from practice_data import typed_and_csv_tables_differ

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_run(demo_quarters):
    """The demo quarter, run after the quarter before it into the same reports folder (as
    ``make demo`` does): the test run's shared one (tests/conftest.py)."""
    return demo_quarters


@pytest.fixture(scope="module")
def truth():
    return json.loads((bundled_data_dir() / "demo_truth.json").read_text())


def test_the_demo_quarters_are_the_planted_ones(truth):
    assert truth["quarters"] == {"previous": ["2026-05-01", "2026-08-01"],
                                 "last": ["2026-08-01", "2026-11-01"]}
    assert (ROOT / "Makefile").read_text().count(
        "--period-start 2026-05-01 --period-end 2026-08-01") == 1


def test_the_changes_are_exactly_the_planted_ones(demo_run, truth):
    """Every flag newly set since the quarter before is one the demo planted, and every planted
    one is found; no flag is cleared."""
    c = pd.read_csv(demo_run / "tables" / "changes.csv")
    moved = c[c["change"].isin(["newly flagged", "no longer flagged"])]
    found = {(r.clinician_id, r.flag, r.change) for r in moved.itertuples()}
    planted = {(cid, flag, "newly flagged") for cid, flags in truth["newly_flagged"].items()
               for flag in flags}
    assert found == planted and len(planted) == 6


def test_every_run_table_has_a_typed_copy_with_the_same_rows(demo_run):
    """Each ``tables/name.csv`` of the demo quarter and of the quarter before has
    ``name.parquet`` beside it holding the same rows. The manifest lists both; the Parquet
    belongs to the run record (for programs), never to a reader: the owner gets the CSV."""
    assert typed_and_csv_tables_differ(demo_run) == []
    assert typed_and_csv_tables_differ(demo_run.parent / "2026-08-01") == []
    readers = {o["path"]: o["reader"] for o in json.loads(
        (demo_run / "manifest.json").read_text())["outputs"]}
    on_disk = {f"tables/{p.name}" for p in (demo_run / "tables").iterdir()}
    assert {p for p in readers if p.startswith("tables/")} == on_disk
    typed = {p for p in on_disk if p.endswith(".parquet")}
    assert len(typed) == len(on_disk - typed) - 1  # every table but model_summary.json
    assert {readers[p] for p in typed} == {"run record"}
    assert readers["tables/clinician_metrics.csv"] == "owner"


def test_the_practice_report_tells_the_planted_story(demo_run, truth):
    """The change section names exactly the clinicians with planted changes (and the leaver),
    the over-capacity clinician is prompted as stretched, the slow hire is ramping more
    slowly and the earlier hires are too early to compare."""
    from perfkit import report as r

    run = r.load_run(demo_run)
    names = {cid: run.name_of(cid) for cid in run.table("history")["clinician_id"]}
    text = str(r.first_screen(run))
    newly = [line for line in text.splitlines() if line.startswith("- ")
             and ": newly flagged: " in line]
    listed = {cid for cid, name in names.items() if any(f"**{name}**" in x for x in newly)}
    assert listed == set(truth["newly_flagged"]) and len(newly) == len(listed), newly
    assert "flag cleared:" not in text
    [left] = truth["left"]
    roster = pd.read_csv(bundled_data_dir() / "clinicians.csv").set_index("clinician_id")
    # the leaver's last day falls in the quarter compared with, not in this one: joined / left
    # name only this period's (issue 26: "left on 30 Jun" under an August-October report)
    assert pd.Timestamp(roster.loc[left, "end_date"]) < pd.Timestamp(truth["quarters"]["last"][0])
    assert names[left] not in text and "Who joined or left" not in text
    checks = r.check_in_table(run).data
    # the planted newly flagged clinicians first, then any clinician whose weekly figures
    # worsen for several weeks (no other new flag), each once; the slow hire last, as context
    # (ramping, low utilization in both quarters: not asked about)
    [slow] = truth["slow_hires"]
    who = {name: cid for cid, name in names.items()}
    named = checks["Clinician"].tolist()
    planted = len(truth["newly_flagged"])
    assert {who[n] for n in named[:planted]} == set(truth["newly_flagged"]), named
    assert who[named[-1]] == slow and len(set(named)) == len(named), named
    rows = checks.set_index("Clinician")
    for extra in named[planted:-1]:
        assert rows.loc[extra, "Reasons"].startswith("Worsening for several weeks: "), extra
    # the first screen counts these rows
    assert f"Of 11 clinicians: **{len(named) - 1} newly flagged or worsening**, " in text
    assert "The data explain a flag of 1 clinician" in text
    # the slow hire's context points to where a slower start is a prompt to ask; flagged in
    # the quarter before too, they count as still flagged (context, not a question)
    assert "one is a new hire ramping more slowly than the earlier hires did" in text
    assert "**1 still flagged**" in text and rows.loc[names[slow], "Since the previous run"] \
        == "Still flagged"
    assert "flagged in the previous run too: low utilization (1)" in text
    # the teams' glance counts every clinician of that table, the still-flagged hire too
    from perfkit.report.checkins import team_rows
    assert team_rows(run).iloc[-1]["check_in"] == len(named)
    assert "ramping more slowly" in rows.loc[names[slow], "Reasons"]
    [over] = truth["over_capacity"]
    block = rows.loc[names[over], "Reasons"]
    m = pd.read_csv(demo_run / "tables" / "clinician_metrics.csv").set_index("clinician_id")
    assert m.loc[over, "utilization"] > 1 and m.loc[over, "weeks_over_goal"] >= 4
    assert f"▲ utilization {r.format.pct(m.loc[over, 'utilization'])} of the hours offered" \
        in block
    assert (f"above the weekly goal in {m.loc[over, 'weeks_over_goal']:.0f} of the last 6 "
            "weeks") in block
    assert "Is the capacity in the roster still right" in str(r.check_in_questions(run))
    ramp = pd.read_csv(demo_run / "tables" / "ramp.csv").drop_duplicates("clinician_id")
    status = ramp.set_index("clinician_id")["ramp"].to_dict()
    assert status == {slow: "more slowly"} | {c: "no practice ramp yet"
                                              for c in truth["earlier_hires"]}
    words = str(r.ramp_words(run))
    assert f"Ramping more slowly than the earlier hires did: **{names[slow]}**" in words
    titles = [ax.get_title(loc="left") for ax in r.ramp_figure(run).axes]
    assert f"{names[slow]}\nramping more slowly" in titles


def test_clinician_metrics_table(demo_run):
    m = pd.read_csv(demo_run / "tables" / "clinician_metrics.csv")
    assert list(m.columns[:18]) == op.CONTRACT_COLUMNS
    assert {"utilization_band", "flag_low_utilization", "trend_utilization",
            "trend_notes_within_72h"} <= set(m.columns)
    # the clinician who left in June is not in a report for August to October
    assert "C08" not in set(m.clinician_id) and len(m) == 11
    c04 = m.set_index("clinician_id").loc["C04"]
    assert c04.trend_utilization == "declining" and c04.flag_low_utilization
    # the planted slip: missed appointments climb from about 8% to about 29%
    assert c04.trend_non_attendance_rate == "growing" and c04.basis_non_attendance_rate != "none"
    steady = m.set_index("clinician_id").loc[["C01", "C02"]]
    assert (steady[["trend_utilization", "trend_non_attendance_rate",
                    "trend_notes_within_72h"]] == "stable").all().all()
    assert "name" not in m.columns  # tables carry ids, not names


def test_the_practice_table_says_trends_and_whether_they_are_a_concern(demo_run):
    """The owner's table: the slipping clinician's missed appointments rising and utilization
    and notes falling, each a concern; the steady clinicians steady (words and arrows)."""
    from perfkit import report

    run = report.load_run(demo_run)
    ops = report.operations_table(run).data.set_index("Clinician")
    slip = ops.loc[run.name_of("C04")]
    assert slip["Missed appointments trend"] == "↑ rising (a concern)"
    assert slip["Utilization trend"] == "↓ falling (a concern)"
    assert slip["Notes trend"] == "↓ falling (a concern)"
    for cid in ("C01", "C02"):
        row = ops.loc[run.name_of(cid)]
        assert (row[["Utilization trend", "Missed appointments trend", "Notes trend"]]
                == "→ no clear change").all()


def test_weekly_metrics_table(demo_run):
    w = pd.read_csv(demo_run / "tables" / "weekly_metrics.csv")
    assert list(w.columns) == ["clinician_id", "week_start"] + op.WEEKLY_COLUMNS
    assert w.week_start.str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert pd.to_datetime(w.week_start).dt.day_of_week.eq(0).all()  # Mondays
    # whole weeks only: 10-26 .. 11-01 would end after as_of (11-01 00:00)
    assert pd.to_datetime(w.week_start).max() == pd.Timestamp("2026-10-19")


def test_manifest_lists_tables(demo_run):
    # the quarter before was run with tables only: the same tables, no HTML
    before = demo_run.parent / "2026-08-01"
    for run in (demo_run, before):
        manifest = json.loads((run / "manifest.json").read_text())
        paths = {o["path"]: o["status"] for o in manifest["outputs"]}
        assert paths["tables/clinician_metrics.csv"] == "ok"
        assert paths["tables/weekly_metrics.csv"] == "ok"
        assert manifest["timings"]["operations_seconds"] > 0
    assert json.loads((before / "manifest.json").read_text())["reports"] == \
        "skipped (--tables-only)"
    assert not list(before.rglob("*.html"))
    shown = json.loads((demo_run / "manifest.json").read_text())["outputs"]
    shown = {o["path"]: o["status"] for o in shown}
    assert shown["practice.html"] == "ok" and (demo_run / "practice.html").is_file()


def test_a_failing_table_is_recorded_and_the_run_exits_non_zero(practice, tmp_path,
                                                                 monkeypatch):
    import perfkit.tables as tables

    def broken(*_a, **_k):
        raise RuntimeError("boom")

    monkeypatch.setitem(tables.STEPS, "operations", (broken, tables.STEPS["operations"][1]))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--data", str(practice), "--out", str(out),
                                   "--tables-only"])
    assert res.exit_code == 1
    manifest = json.loads((out / "manifest.json").read_text())
    failed = [o for o in manifest["outputs"] if o["status"] == "failed"]
    assert {o["path"] for o in failed} == {"tables/clinician_metrics.csv",
                                           "tables/weekly_metrics.csv",
                                           "tables/practice_summary.csv",
                                           "tables/metric_spread.csv",
                                           "tables/workforce.csv",
                                           "tables/ramp.csv",
                                           "tables/ramp_summary.csv",
                                           "tables/leave_days.csv",
                                           "tables/trend_readings.csv",
                                           "tables/roster.csv", "tables/team_rates.csv",
                                           # what compares this run's metrics with earlier runs
                                           "tables/changes.csv", "tables/history.csv"}
    assert failed[0]["message"] == "RuntimeError: boom"
    assert (out / "data_quality.json").is_file()  # what could be written still was


def test_outcome_tables_in_the_run(demo_run):
    from perfkit import outcomes as oc

    t = demo_run / "tables"
    by = pd.read_csv(t / "outcomes_by_clinician.csv")
    assert list(by.columns[:11]) == oc.CONTRACT_COLUMNS
    assert {"reliable_improvement_rate_ci_low", "response_rate", "remission_rate",
            "not_on_track"} <= set(by.columns)
    assert "item9_flags" not in by.columns  # an owner's table: item 9 is not theirs
    assert set(by.instrument) == {"PHQ-9", "GAD-7", "PCL-5", "ORS"}
    # suppressed rates are empty cells, and only where the denominator is small
    sup = by[by.suppressed]
    assert sup.reliable_improvement_rate.isna().any()
    assert (by.loc[by.reliable_improvement_rate.isna(), "paired_episodes"] < 10).all()
    prac = pd.read_csv(t / "outcomes_practice.csv").set_index("instrument")
    assert prac.loc["PHQ-9", "episodes"] == by.loc[by.instrument == "PHQ-9", "episodes"].sum()
    assert prac.loc["PHQ-9 + GAD-7 (NHS Talking Therapies)", "national_recovery_rate"] == 0.5
    funnel = pd.read_csv(t / "funnel.csv")
    assert set(funnel.signal) <= {"within", "above_inner", "below_inner", "above_outer",
                                  "below_outer", "too_few"}
    nt = pd.read_csv(t / "not_on_track.csv")
    assert len(nt) > 0 and nt.client_id.str.startswith("cl-").all()
    i9 = pd.read_csv(t / "item9_flags.csv")
    assert i9.response.between(1, 3).all()
    # the demo's PHQ-9s are taken at the session: most find their appointment that day
    assert (i9.session_start_from == "appointment").mean() > 0.5
    assert i9.followup.isna().all()  # the demo export has no follow-up column
    # practice-level table carries no client ids
    assert "client_id" not in prac.reset_index().columns


def test_one_instrument_failing_does_not_stop_the_others(practice, tmp_path, monkeypatch):
    from perfkit import models

    real = models.fit_instrument

    def fit(assessments, cfg, instrument):
        if instrument == "GAD-7":
            raise FloatingPointError("boom")
        return real(assessments, cfg, instrument)

    monkeypatch.setattr(models, "fit_instrument", fit)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--data", str(practice), "--out", str(out),
                                   "--tables-only"])
    assert res.exit_code == 1
    status = {o["path"]: (o["status"], o["message"]) for o in
              json.loads((out / "manifest.json").read_text())["outputs"]}
    assert status["tables/model_data_gad7.csv"] == ("failed", "FloatingPointError: boom")
    assert status["tables/model_data_phq9.csv"][0] == "ok"
    assert status["tables/clinician_effects.csv"][0] == "ok"
    assert "GAD-7" not in json.loads((out / "tables" / "model_summary.json").read_text())


def test_a_run_compares_with_the_earlier_period_in_its_reports_folder(practice, tmp_path):
    reports = tmp_path / "reports"
    for start, end in (("2026-07-01", "2026-08-01"), ("2026-08-01", "2026-09-01")):
        res = CliRunner().invoke(app, ["run", "--data", str(practice), "--out",
                                       str(reports / end), "--tables-only",
                                       "--period-start", start, "--period-end", end])
        assert res.exit_code in (0, 1), res.output
    h = pd.read_csv(reports / "2026-09-01" / "tables" / "history.csv")
    assert h.loc[h["compared_with"], "period_end"].unique().tolist() == ["2026-08-01"]
    assert (reports / "2026-09-01" / "tables" / "changes.csv").is_file()
    first = pd.read_csv(reports / "2026-08-01" / "tables" / "history.csv")
    assert not first["compared_with"].any()  # the first run had nothing to compare with
    res = CliRunner().invoke(app, ["run", "--data", str(practice), "--out",
                                   str(reports / "x"), "--tables-only",
                                   "--compare-to", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "is not a run folder" in res.output


def test_the_change_section_says_who_joined_since_the_previous_run(tmp_path):
    """February to April, then May to July: C06 started on 1 May (in the later period only),
    C08's last day was 30 June (in both periods, so not a leaver between them)."""
    from perfkit import report as r

    reports = tmp_path / "reports"
    for start, end in (("2026-02-01", "2026-05-01"), ("2026-05-01", "2026-08-01")):
        res = CliRunner().invoke(app, ["run", "--data", str(bundled_data_dir()), "--out",
                                       str(reports / end), "--tables-only",
                                       "--period-start", start, "--period-end", end])
        assert res.exit_code == 0, res.output
    run = r.load_run(reports / "2026-08-01")
    text = str(r.first_screen(run))
    assert ("**Who joined or left** in this period (01 May 2026 to 31 July 2026): **Marcus "
            "Duarte** joined on 01 May 2026." in text), text
    assert "Daniel Castillo" not in text.split("**Who joined or left**")[1]


def test_the_demo_readers_frame_follows_the_planted_facts(demo_run, truth):
    """The associate planted behind on supervision finds it in their own questions and on the
    owner's compliance line; the slow hire's self-view sets their first weeks beside the
    earlier hires' only when at least privacy.min_peers earlier hires make the comparison (the
    demo has 3: a median of 3 is one colleague's weeks) and asks no caseload question; each
    supervision pack asks what the owner's
    check-in list asks about its supervisees; no licensed clinician without a supervisor is
    sent to one."""
    from perfkit import report as r

    run = r.load_run(demo_run)
    behind = truth["behind_on_supervision"]
    name = run.name_of(behind)
    assert "Your supervision is behind your licensure rule" in str(
        r.questions_to_explore(run, behind))
    line = next(x for x in str(r.associates_compliance(run)).splitlines() if name in x)
    assert "behind its rule" in line
    [slow] = truth["slow_hires"]
    mine = str(r.own_ramp_text(run, slow))
    assert "not set beside the practice's earlier hires'" in mine
    assert "earlier hires did" not in mine and "earlier hires averaged" not in mine
    assert "filling more slowly" not in str(r.questions_to_explore(run, slow))
    ramp = pd.read_csv(demo_run / "tables" / "ramp.csv")
    compared = ramp[(ramp["clinician_id"] == slow) & ramp["practice_utilization"].notna()]
    assert compared["hires_compared"].min() == 3
    three = r.load_run(demo_run)
    params = dict(run.meta.get("parameters", {}))
    params["privacy"] = {**params.get("privacy", {}), "min_peers": 3}
    three.config = pk.load_config(**params)
    assert "more slowly than the practice's earlier hires did" in str(
        r.own_ramp_text(three, slow))
    assert "filling more slowly than earlier hires' did" in str(
        r.questions_to_explore(three, slow))
    assert "Is the caseload what you want" not in str(r.questions_to_explore(run, slow))
    checks = r.check_in_table(run).data.set_index("Clinician")
    owner_asks = str(r.check_in_questions(run))
    pairs = pd.read_csv(demo_run / "tables" / "supervisors.csv")
    compared = 0
    for sid, g in pairs.groupby("supervisor_id"):
        pack = str(r.supervision_questions(run, list(g.clinician_id)))
        for cid in g.clinician_id:
            name = run.name_of(cid)
            for q in questions_for(run, cid):  # the owner's questions, each in the pack
                assert q.rsplit(". ", 1)[-1] in owner_asks, (cid, q)
                assert f"{name}: {q}" in pack, (sid, cid, q)
            compared += 1
            if cid == slow:  # context on the owner's list: not asked in the pack either
                assert f"{name}: Utilization is" not in pack and not questions_for(run, cid)
                assert "ramping more slowly" in checks.loc[name, "Reasons"]
    assert compared and slow in set(pairs.clinician_id)
    roster = pd.read_csv(bundled_data_dir() / "clinicians.csv")
    for cid in roster.loc[roster.supervisor_id.isna(), "clinician_id"]:
        if cid in set(run.table("clinician_metrics").clinician_id):
            assert "supervisor" not in str(r.questions_to_explore(run, cid)).lower(), cid


# yes/no columns a run always knows (the reports read them without a fallback for a gap):
# table -> columns. Others (behind_on_supervision, a review's review_overdue, due_soon,
# behind_pace) are empty when the practice did not give what they rest on.
ALWAYS_KNOWN = {"history": ["this_run", "compared_with", "definitions_changed"],
                "item9_flags": ["escalate"], "item9_coverage": ["item9_in_export"],
                "supervision_periods": ["assessed", "compliant"], "team_rates": ["whole"],
                "goals": ["review_overdue"], "supervision_ledger": ["history_complete"],
                "check_ins": ["check_in", "newly_flagged"]}


def test_the_yes_no_columns_a_run_always_knows_have_no_gaps(demo_run):
    from perfkit.io import read_table

    for name, cols in ALWAYS_KNOWN.items():
        t = read_table(demo_run / "tables" / f"{name}.csv")
        assert len(t), name  # the demo has rows of each: the check means something
        for col in cols:
            assert t[col].notna().all(), f"{name}.{col}"
    h = read_table(demo_run / "tables" / "history.csv")
    assert h["compared_with"].any() and h["this_run"].any()  # both runs in the history
