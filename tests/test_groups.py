"""Teams and large practices on the owner's page (issue 28, item 2): the roster's optional
``team`` column (read through its header synonyms), a summary per team for a practice of more
than ``report.large_practice`` clinicians (rates pooled over the team's clinicians, worked out
by hand below), the long per-clinician tables by team, shortened to the clinicians with
something to look at with every clinician in a closed <details>, and a practice without a
team column unchanged. Every expected number is written from the planted rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import perfkit as pk
from perfkit import history as hi
from perfkit.hostile_text import clean_html
from perfkit.prepared import prepare
from perfkit.report import checkins
from perfkit.report import practice as p
from perfkit.report import teams as t
from perfkit.report.metrics_table import operations_table
from perfkit.report.run_folder import RunFolder

from practice_data import CLINICIANS, metric_rows, write_table
from run_tables import run_tables

PERIOD = {"period_start": "2026-08-01", "period_end": "2026-11-01"}
HOSTILE = "<script>alert(1)</script> & **North**"


# -- reading the team ----------------------------------------------------------------------


@pytest.mark.parametrize("header", ["team", "Site", "Location", "Office", "Clinic",
                                    "Department", "Team Name"])
def test_the_team_is_read_under_its_synonyms(header, practice, cfg, tmp_path):
    roster = [dict(CLINICIANS[0], **{header: "North"}), dict(CLINICIANS[1], **{header: ""})]
    write_table(practice, "clinicians", roster)
    prep = prepare(practice, tmp_path / "out", cfg)
    c = prep["clinicians"].set_index("clinician_id")
    assert c.loc["C1", "team"] == "North"
    assert c.loc["C2", "team"] is None or pd.isna(c.loc["C2", "team"])  # empty: no team


def test_two_candidate_headers_are_not_guessed_and_team_itself_wins(practice, cfg, tmp_path):
    roster = [dict(c, Site="North", Location="Room 4") for c in CLINICIANS]
    write_table(practice, "clinicians", roster)
    assert prepare(practice, tmp_path / "a", cfg)["clinicians"]["team"].isna().all()
    roster = [dict(c, team=HOSTILE, Site="North") for c in CLINICIANS]
    write_table(practice, "clinicians", roster)
    teams = prepare(practice, tmp_path / "b", cfg)["clinicians"]["team"]
    assert teams.tolist() == [HOSTILE, HOSTILE]  # kept exactly as written


def test_a_roster_without_a_team_column_prepares_as_before(practice, cfg, tmp_path):
    prep = prepare(practice, tmp_path / "out", cfg)
    assert prep["clinicians"]["team"].isna().all()


# -- hand-built runs ---------------------------------------------------------------------------

NAMES = {"A": "Ann", "B": "Ben", "C": "Cat", "D": "Dan", "E": "Eve"}


def _metrics(rows: list[dict]) -> pd.DataFrame:
    return metric_rows(rows, hours_attended=100.0, available_hours=120.0, past_appointments=100)


def _run(tmp_path, metrics, teams: dict | None, *, renewals=None, **cfg):
    clinicians = pd.DataFrame({"clinician_id": list(NAMES), "name": list(NAMES.values()),
                               "start_date": pd.NaT, "end_date": pd.NaT})
    if teams is not None:
        clinicians["team"] = [teams.get(c) for c in NAMES]
    tables = {"clinician_metrics": metrics, "changes": pd.DataFrame(columns=hi.CHANGE_COLUMNS)}
    if renewals is not None:
        tables["renewals"] = renewals
    config = pk.load_config(pseudonym_key_file=tmp_path / "k", **PERIOD, **cfg)
    return RunFolder(tmp_path, config, {"provided": ["reviews"]},
                   run_tables(tables, config, clinicians=clinicians))


# Two teams and one clinician with none. North: Ann (90 of 100 hours, 10 of 100 appointments
# missed, 90 of 100 notes in 72 h), Ben (30 of 60 hours: utilization 50%, flagged; 30 of 50
# missed; notes 40 of 50). South, written twice with other case and spacing: Cat (notes on
# status only: no signing times), Dan (0 of 0 hours: never in the export). Eve: no team.
ROWS = [
    {"clinician_id": "A", "hours_attended": 90.0, "available_hours": 100.0, "utilization": 0.9,
     "past_appointments": 100, "non_attendance_rate": 0.10, "notes_due": 100,
     "notes_within_72h": 0.90},
    {"clinician_id": "B", "hours_attended": 30.0, "available_hours": 60.0, "utilization": 0.5,
     "utilization_band": "low", "flag_low_utilization": True, "past_appointments": 50,
     "non_attendance_rate": 0.60, "flag_high_non_attendance": True, "notes_due": 50,
     "notes_within_72h": 0.80},
    {"clinician_id": "C", "hours_attended": 40.0, "available_hours": 50.0, "utilization": 0.8,
     "past_appointments": 40, "non_attendance_rate": 0.05, "notes_due": 40,
     "notes_within_72h": np.nan, "documentation_source": "note_status"},
    {"clinician_id": "D", "hours_attended": 0.0, "available_hours": 70.0, "utilization": 0.0,
     "past_appointments": 0, "non_attendance_rate": np.nan, "notes_due": 0,
     "notes_within_72h": np.nan, "appointments_in_export": 0},
    {"clinician_id": "E", "trend_non_attendance_rate": "growing"},
]
TEAMS = {"A": "North", "B": " North ", "C": "south", "D": "South", "E": ""}


def test_team_summary_pools_the_teams_clinicians(tmp_path):
    run = _run(tmp_path, _metrics(ROWS), TEAMS, report={"large_practice": 4})
    rows = checkins.team_rows(run)
    # South is written "south" once and "South" once: one team, shown as sorted first on a tie
    assert rows["team"].tolist() == ["North", "South", "", ""]
    assert rows["whole"].tolist() == [False, False, False, True]
    rows = rows.set_index("team", drop=False)
    north = rows.loc["North"]
    assert north["clinicians"] == 2
    assert north["utilization"] == pytest.approx((90 + 30) / (100 + 60))  # not (0.9+0.5)/2
    assert north["non_attendance_rate"] == pytest.approx((10 + 30) / (100 + 50))
    assert north["notes_within_72h"] == pytest.approx((90 + 40) / (100 + 50))
    assert north["check_in"] == 1  # Ben is flagged twice, Ann not at all
    south = rows.loc["South"]
    # Dan's 70 hours are not idle hours: the export never names him
    assert south["utilization"] == pytest.approx(40 / 50)
    assert south["non_attendance_rate"] == pytest.approx(2 / 40)
    assert np.isnan(south["notes_within_72h"]) and south["timed"] == 0
    whole = rows.iloc[-1]
    assert whole["clinicians"] == 5
    assert whole["utilization"] == pytest.approx((90 + 30 + 40 + 100) / (100 + 60 + 50 + 120))
    # Eve's missed appointments are rising: a worsening trend is a check-in
    assert rows.iloc[2]["check_in"] == 1 and whole["check_in"] == 2

    glance = checkins.team_glance(run)
    frame = glance.data.set_index("Team")
    assert frame.index.tolist() == ["North", "South", "No team given", "Whole practice"]
    assert frame.loc["North", "Utilization"] == "75%"
    assert frame.loc["North", "Missed appointments"] == "26.7%"
    assert frame.loc["North", "Notes within 72 h"] == "87%"
    assert frame.loc["South", "Notes within 72 h"].startswith("not known")
    assert "Newly flagged" not in frame  # no earlier run to compare with


def test_no_team_summary_for_a_smaller_practice_or_one_without_teams(tmp_path):
    m = _metrics(ROWS)
    assert checkins.team_glance(_run(tmp_path, m, TEAMS)) == ""  # 5 clinicians, not above 30
    assert checkins.team_glance(_run(tmp_path, m, None, report={"large_practice": 4})) == ""
    assert checkins.team_glance(_run(tmp_path, m, {c: "" for c in NAMES},
                              report={"large_practice": 4})) == ""


def test_a_hostile_team_name_is_shown_as_text(tmp_path):
    teams = dict(TEAMS, A=HOSTILE, B=HOSTILE)
    run = _run(tmp_path, _metrics(ROWS), teams, report={"large_practice": 4})
    for html in (checkins.team_glance(run).to_html(), operations_table(run).to_html()):
        cleaned = clean_html(html)
        assert "<script>" not in cleaned and "&lt;script&gt;alert(1)&lt;/script&gt;" in cleaned
        assert "<strong>" not in cleaned and "**North**" in cleaned


def test_with_teams_the_table_is_by_team_then_name(tmp_path):
    run = _run(tmp_path, _metrics(ROWS), dict(TEAMS, A="North", B="Alder"))
    shown = operations_table(run).data  # 5 clinicians: the whole table, no shortening
    assert shown["Clinician"].tolist() == ["Ben", "Ann", "Cat", "Dan", "Eve"]
    assert shown["Team"].tolist() == ["Alder", "North", "South", "South", t.NO_TEAM]
    assert shown.columns[:2].tolist() == ["Clinician", "Team"]
    assert shown.set_index("Clinician").loc["Dan", "Utilization"] == \
        "no appointments in this export"


def test_a_practice_without_teams_keeps_its_table(tmp_path):
    m = _metrics(ROWS)
    without = operations_table(_run(tmp_path, m, None)).data
    empty = operations_table(_run(tmp_path, m, {c: "" for c in NAMES})).data
    assert "Team" not in without and without["Clinician"].tolist() == list(NAMES.values())
    pd.testing.assert_frame_equal(without, empty)
    # a trend cell is the arrow and one word; a direction that is a concern says so
    e = without.set_index("Clinician").loc["Eve"]
    assert e["Utilization trend"] == "→ no clear change"
    assert e["Missed appointments trend"] == "↑ rising (a concern)"


def test_a_large_practice_shows_the_notable_rows_and_all_in_details(tmp_path):
    run = _run(tmp_path, _metrics(ROWS), TEAMS, report={"large_practice": 4})
    table = operations_table(run)
    html = table.to_html()
    soup = BeautifulSoup(clean_html(html), "html.parser")
    details = soup.find("details")
    assert details is not None and details.find("summary").get_text() == "All 5 clinicians"
    short = [tb for tb in soup.find_all("table") if tb.find_parent("details") is None]
    assert len(short) == 1

    def names(tb):
        return [tr.find("td").get_text() for tr in tb.find("tbody").find_all("tr")]

    # Ben flagged, Dan never in the export, Eve worsening; Ann and Cat within the ranges
    assert names(short[0]) == ["Ben", "Dan", "Eve"]
    assert names(details.find("table")) == ["Ann", "Ben", "Cat", "Dan", "Eve"]
    assert ("the other 2 have no figure beyond the limits and no trend that is a concern"
            in soup.get_text())
    assert len(table.data) == 5
    # the shading follows each table's own rows: Ben's utilization cell in both
    assert html.count("background-color: #fbd5b5") >= 2


def test_a_large_practice_with_nothing_to_look_at_says_so(tmp_path):
    calm = _metrics([{"clinician_id": c} for c in NAMES])
    table = operations_table(_run(tmp_path, calm, None, report={"large_practice": 4}))
    soup = BeautifulSoup(table.to_html(), "html.parser")
    assert len(soup.find_all("table")) == 1 and soup.find("table").find_parent("details")
    assert ("All 5 clinicians have no figure beyond the limits and no trend that is a "
            "concern" in soup.get_text())
    assert "▼ low / ▲ high" in soup.find("caption").get_text()  # the legend stays


def test_the_renewals_table_keeps_the_licences_due(tmp_path):
    ce = pd.DataFrame({
        "clinician_id": list(NAMES), "license_type": "LCSW", "hours": [10.0] * 5,
        "required_hours": [36.0] * 5, "remaining_hours": [26.0, 0.0, 26.0, 26.0, 26.0],
        "due_soon": [True, True, False, False, False],  # Ben's hours are complete
        "behind_pace": [False, False, True, False, False], "cycle_end": "2026-12-31",
        "last_competency_review": ["2025-01-01", "2026-01-01", "2026-01-01", "2026-01-01",
                                   ""],
        "competency_review_due": [True, False, False, False, True]})
    run = _run(tmp_path, _metrics(ROWS), TEAMS, renewals=ce, report={"large_practice": 4})
    soup = BeautifulSoup(p.renewals_table(run).to_html(), "html.parser")
    short = next(tb for tb in soup.find_all("table") if tb.find_parent("details") is None)
    shown = [tr.find("td").get_text() for tr in short.find("tbody").find_all("tr")]
    # Ann's hours are due soon, Eve's review is due; Cat is behind an even pace, not due
    assert shown == ["Ann", "Eve"]
    assert "the other 3 have nothing due" in soup.get_text()
    everyone = soup.find("details").find("tbody").find_all("tr")
    assert [tr.find_all("td")[1].get_text() for tr in everyone] == [
        "North", "North", "South", "South", t.NO_TEAM]


def test_details_survive_the_report_filter_and_script_inside_does_not():
    fragment = ("<details><summary>All 3 clinicians</summary><table><tr><td>"
                "<script>alert(1)</script></td></tr></table></details>")
    cleaned = clean_html(fragment)
    assert cleaned.startswith("<details><summary>All 3 clinicians</summary>")
    assert "<script>" not in cleaned and "&lt;script&gt;" in cleaned


def test_the_demo_names_sites_only_for_a_large_practice():
    from perfkit.demo import DemoSettings, generate

    small = generate(DemoSettings(n_clinicians=12, months=3))[0]["clinicians"]
    assert "team" not in small
    large = generate(DemoSettings(n_clinicians=31, months=3))[0]["clinicians"]
    assert large["team"].str.len().gt(0).all() and large["team"].nunique() == 4
    assert re.fullmatch(r"[A-Z][a-z]+", large["team"].iloc[0])


def test_a_watch_band_alone_is_counted_not_listed_in_a_large_practice(tmp_path):
    """The watch band (utilization between the alert and the review line) is a softer mark
    than low or high: a large practice's short table leaves it to the full table."""
    rows = [{"clinician_id": "A", "utilization_band": "review", "utilization": 0.75},
            {"clinician_id": "B", "utilization_band": "low", "flag_low_utilization": True,
             "utilization": 0.5}] + [{"clinician_id": c} for c in "CDE"]
    table = operations_table(_run(tmp_path, _metrics(rows), None,
                                    report={"large_practice": 4}))
    soup = BeautifulSoup(table.to_html(), "html.parser")
    short = next(tb for tb in soup.find_all("table") if tb.find_parent("details") is None)
    assert [tr.find("td").get_text() for tr in short.find("tbody").find_all("tr")] == ["Ben"]
    full = soup.find("details").find("tbody").find_all("tr")
    assert "● watch" in full[0].get_text()  # Ann's mark stays in the full table


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"Clinician": [f"Person {k}" for k in range(n)], "Figure": range(n)})


def test_a_long_short_table_shows_on_screen_and_is_counted_on_paper():
    """More than PRINTED_ROWS rows with something to look at: the short table sits in an open
    <details class="not-printed"> (the print style sheet hides its rows and says so), unless
    the list is one the reader acts on (printed=True); at most PRINTED_ROWS: a plain table."""
    n = t.PRINTED_ROWS + 1
    notable = np.ones(n + 5, dtype=bool)
    notable[-5:] = False
    long = BeautifulSoup(t.shortened(_frame(n + 5), notable, None, why="w").to_html(),
                         "html.parser")
    first = long.find("details")
    assert first.has_attr("open") and first["class"] == ["not-printed"]
    assert first.find("summary").get_text() == f"The {n} clinicians with something to look at"
    assert len(first.find("tbody").find_all("tr")) == n
    assert long.find("p").get_text().startswith(f"{n} clinicians have something to look at")
    kept = BeautifulSoup(t.shortened(_frame(n + 5), notable, None, why="w",
                                     printed=True).to_html(), "html.parser")
    assert kept.find("details", class_="not-printed") is None
    notable[t.PRINTED_ROWS:] = False
    fits = BeautifulSoup(t.shortened(_frame(n + 5), notable, None, why="w").to_html(),
                         "html.parser")
    assert fits.find("details", class_="not-printed") is None
    # the print style sheet hides the rows of such a list and says where they are
    from perfkit.page_style import _CSS
    assert "details.not-printed > :not(summary) { display: none; }" in _CSS


def test_a_wide_table_scrolls_in_its_own_focusable_box():
    """A table of more than WIDE_COLUMNS columns is class "wide" with tabindex 0 (a keyboard
    can scroll it; axe-core's scrollable-region-focusable), and keeps both through the
    sanitizer; a narrower one has neither."""
    from perfkit.report.format import WIDE_COLUMNS, table

    wide = pd.DataFrame({f"c{k}": [k] for k in range(WIDE_COLUMNS + 1)})
    kept = BeautifulSoup(clean_html(table(wide).to_html()), "html.parser").find("table")
    assert kept["class"] == ["wide"] and kept["tabindex"] == "0"
    narrow = pd.DataFrame({f"c{k}": [k] for k in range(WIDE_COLUMNS)})
    plain = BeautifulSoup(clean_html(table(narrow).to_html()), "html.parser").find("table")
    assert not plain.has_attr("class") and not plain.has_attr("tabindex")
