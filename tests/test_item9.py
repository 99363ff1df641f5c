"""PHQ-9 item 9 with care (issue 27, part 3): one row per administration, escalations first and
then oldest first, each with the session's date and time (the client's appointment with that
clinician that local day, else the questionnaire's own time, else the date alone) and the
follow-up where the export has it; only in the treating clinician's self-view and their
supervisor's pack, never in the owner's part. Expected values are worked by hand from the
frames built here.

Period 2026-10-01 .. 2026-11-01, America/Chicago (UTC-5 in October). Clinician X's PHQ-9s with
item 9 above zero, and the appointments beside them:

    p  10-09 00:00 (no time)  answer 2  appointments X/p 10-09 09:00 no-show, 14:00 attended
                                        -> the attended one: 2026-10-09 14:00 (appointment)
    r  10-05 09:10            answer 3  X/r only on 10-04            -> 09:10 (its own time)
    s  10-12 00:00            answer 1  Y/s 10-12 10:00 (another clinician) -> date only
    t  10-20 10:55            answer 1  X/t 08:00 and 11:00, both attended -> the nearest, 11:00
    u  10-21 00:00            answer 2  X/u 10-21 with a date only   -> date only
    v  10-22 00:00            answer 1  X/v 10-22 23:30 local (04:30 UTC on 10-23) -> 23:30
    w  09-30 12:00            answer 3  before the period            -> not listed
    x  10-14 12:00            answer 0                               -> not listed
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

import perfkit as pk
from perfkit import outcomes as oc
from perfkit.outcomes import item9_coverage
from perfkit.report import RunFolder
from perfkit.report.clinician import item9_table
from perfkit.report.run_folder import ITEM9_NO_FOLLOWUP, ITEM9_NOT_IN_EXPORT, item9_rows
from perfkit.report.supervisor import supervisee_alerts, supervisee_item9

from practice_data import write_table

TZ = "America/Chicago"
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                          timezone=TZ, pseudonym_key_file=tmp_path / "k")


def local(times):
    return pd.to_datetime(pd.Series(times)).dt.tz_localize(TZ)


def scores(followup=None):
    rows = [("p", "2026-10-09 00:00", 2), ("r", "2026-10-05 09:10", 3),
            ("s", "2026-10-12 00:00", 1), ("t", "2026-10-20 10:55", 1),
            ("u", "2026-10-21 00:00", 2), ("v", "2026-10-22 00:00", 1),
            ("w", "2026-09-30 12:00", 3), ("x", "2026-10-14 12:00", 0)]
    a = pd.DataFrame(rows, columns=["client_id", "administered_at", "item_9"])
    a["administered_at"] = local(a["administered_at"])
    a["item_9"] = a["item_9"].astype(float)
    a = a.assign(clinician_id="X", instrument="PHQ-9", total_score=12.0)
    if followup is not None:
        a["item9_followup"] = followup
    return a


def appointments():
    rows = [("X", "p", "2026-10-09 09:00", "no_show", False),
            ("X", "p", "2026-10-09 14:00", "attended", False),
            ("X", "r", "2026-10-04 09:10", "attended", False),
            ("Y", "s", "2026-10-12 10:00", "attended", False),
            ("X", "t", "2026-10-20 08:00", "attended", False),
            ("X", "t", "2026-10-20 11:00", "attended", False),
            ("X", "u", "2026-10-21 00:00", "attended", True),
            ("X", "v", "2026-10-22 23:30", "attended", False)]
    ap = pd.DataFrame(rows, columns=["clinician_id", "client_id", "start", "status",
                                     "start_date_only"])
    ap["start"] = local(ap["start"]).dt.tz_convert("UTC")  # stored in any zone: read locally
    return ap


# ---- the table: tables/item9_flags.csv ------------------------------------------------------

def test_each_answer_is_listed_with_its_session_date_and_time(cfg):
    got = oc.item9_flags(scores(), cfg, appointments()).set_index("client_id")
    assert sorted(got.index) == ["p", "r", "s", "t", "u", "v"]  # not w (before), not x (0)
    assert got["session_start"].to_dict() == {
        "p": "2026-10-09 14:00", "r": "2026-10-05 09:10", "s": "2026-10-12",
        "t": "2026-10-20 11:00", "u": "2026-10-21", "v": "2026-10-22 23:30"}
    assert got["session_start_from"].to_dict() == {
        "p": "appointment", "r": "administered_at", "s": "date only", "t": "appointment",
        "u": "date only", "v": "appointment"}
    assert got["escalate"].to_dict() == {"p": True, "r": True, "s": False, "t": False,
                                         "u": True, "v": False}
    # the columns the table had before stay, in their order, the new ones after them
    assert list(oc.item9_flags(scores(), cfg, appointments()).columns) == [
        "clinician_id", "client_id", "date", "response", "response_words", "escalate",
        "session_start", "session_start_from", "followup"]


def test_without_appointments_the_questionnaires_own_time_or_the_date(cfg):
    got = oc.item9_flags(scores(), cfg).set_index("client_id")
    assert got["session_start"].to_dict() == {
        "p": "2026-10-09", "r": "2026-10-05 09:10", "s": "2026-10-12",
        "t": "2026-10-20 10:55", "u": "2026-10-21", "v": "2026-10-22"}


def test_follow_up_recorded_not_recorded_or_not_known(cfg):
    # the export's column, as ingest reads it: yes / no / unclear, an empty cell missing
    fu = ["yes", None, "no", "unclear", None, "yes", "yes", None]
    got = oc.item9_flags(scores(fu), cfg).set_index("client_id")["followup"]
    # an empty cell in a column the export has is "no": nothing was recorded
    assert got.to_dict() == {"p": "yes", "r": "no", "s": "no", "t": "unclear", "u": "no",
                             "v": "yes"}
    # no column, or one empty throughout (not provided): not known, never "no"
    for absent in (scores(), scores([None] * 8)):
        assert oc.item9_flags(absent, cfg)["followup"].isna().all()


def test_the_owners_outcome_table_has_no_item9_count(cfg):
    a = scores()
    by = oc.outcomes_by_clinician(a, cfg)
    assert not [c for c in by.columns if "item9" in c or "item_9" in c]


def test_ingest_reads_a_follow_up_column_by_its_synonyms(practice, tmp_path):
    """A "Safety plan completed" column: yes, a date (recorded), no; the PHQ-9 at 09:55 on
    05 Oct takes the start of the client's appointment that morning (A1, 10:00)."""
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k2")
    base = {"client_id": "MRN-111", "clinician_id": "C1", "instrument": "PHQ-9",
            "total_score": "14"}
    items = {f"item_{i}": "1" for i in range(1, 9)}
    rows = [{**base, "administered_at": "2026-10-05T09:55:00", **items, "item_9": "2",
             "Safety plan completed": "Yes"},
            {**base, "administered_at": "2026-10-12T00:00:00", **items, "item_9": "1",
             "Safety plan completed": "10/13/2026"},
            {**base, "administered_at": "2026-10-19T13:00:00", **items, "item_9": "1",
             "Safety plan completed": "no"},
            {**base, "administered_at": "2026-10-20T13:00:00", **items, "item_9": "1",
             "Safety plan completed": "see my note for J. Smith"}]
    for r in rows:
        r["total_score"] = str(8 + int(r["item_9"]))
    write_table(practice, "assessments", rows)
    ing = pk.ingest(practice, cfg)
    a = ing["assessments"].sort_values("administered_at")
    assert a["item9_followup"].tolist() == ["yes", "yes", "no", "unclear"]
    adj = ing.quality["tables"]["assessments"]["adjustments"]
    assert adj["with_an_item9_followup_that_is_not_yes_no_or_a_date"] == 1
    assert "Smith" not in json.dumps(ing.quality) and "Smith" not in ing.rejects.to_csv()
    got = oc.item9_flags(a, cfg, ing["appointments"])
    assert got["session_start"].tolist() == ["2026-10-05 10:00", "2026-10-12 10:00",
                                             "2026-10-19 13:00", "2026-10-20 13:00"]
    assert got["session_start_from"].tolist() == ["appointment", "appointment",
                                                  "administered_at", "administered_at"]
    assert got["followup"].tolist() == ["yes", "yes", "no", "unclear"]


@pytest.mark.parametrize("headers,expected", [
    (["Risk follow-up"], ["yes", "no"]),
    (["Safety plan completed"], ["yes", "no"]),
    (["item9_followup", "Risk follow-up"], ["yes", "no"]),  # the contract's name wins
    (["Risk follow-up", "Safety plan"], [None, None]),  # two candidates: neither is guessed
    # a bare "Follow-up" may be the next appointment's date: read as recorded follow-up of a
    # risk answer it would reassure falsely, so it is never taken
    (["Follow-up"], [None, None]),
])
def test_follow_up_header_synonyms(practice, tmp_path, headers, expected):
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k3")
    base = {"client_id": "MRN-111", "clinician_id": "C1", "instrument": "PHQ-9",
            "total_score": "14"}
    rows = [{**base, "administered_at": "2026-10-05T09:55:00"},
            {**base, "administered_at": "2026-10-12T09:55:00"}]
    for h in headers:
        rows[0][h], rows[1][h] = "yes", "no"
    write_table(practice, "assessments", rows)
    got = pk.ingest(practice, cfg)["assessments"].sort_values("administered_at")
    assert [None if pd.isna(v) else v for v in got["item9_followup"]] == expected


def test_an_empty_follow_up_column_is_not_provided(practice, tmp_path):
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k4")
    rows = [{"client_id": "MRN-111", "clinician_id": "C1", "instrument": "PHQ-9",
             "total_score": "9", "administered_at": "2026-10-05T09:55:00",
             **{f"item_{i}": "1" for i in range(1, 10)}, "Risk follow-up": ""}]
    write_table(practice, "assessments", rows)
    ing = pk.ingest(practice, cfg)
    assert ing["assessments"]["item9_followup"].isna().all()
    assert oc.item9_flags(ing["assessments"], cfg)["followup"].isna().all()


# ---- the reports: order, placement, words ---------------------------------------------------

def flags(followup=None):
    """item9_flags rows of three clinicians: A and B supervised by S, C by no one here."""
    rows = [("A", "cl-a1", "2026-10-20", 1, False, "2026-10-20 11:00", "appointment"),
            ("A", "cl-a2", "2026-10-09", 2, True, "2026-10-09 14:00", "appointment"),
            ("A", "cl-a3", "2026-10-02", 1, False, "2026-10-02", "date only"),
            ("A", "cl-a2", "2026-10-23", 3, True, "2026-10-23 09:10", "administered_at"),
            ("B", "cl-b1", "2026-10-05", 1, False, "2026-10-05 16:00", "appointment"),
            ("B", "cl-b2", "2026-10-30", 2, True, "2026-10-30 08:30", "appointment"),
            ("C", "cl-c1", "2026-10-01", 3, True, "2026-10-01 10:00", "appointment")]
    t = pd.DataFrame(rows, columns=["clinician_id", "client_id", "date", "response",
                                    "escalate", "session_start", "session_start_from"])
    t["response_words"] = t["response"].map(oc.ITEM9_WORDS)
    t["followup"] = followup
    return t


def run_of(t, tmp_path, provided=("assessments",)):
    cfg = pk.load_config(period_start=dt.date(2026, 10, 1), period_end=dt.date(2026, 11, 1),
                         timezone=TZ, pseudonym_key_file=tmp_path / "k")
    nt = pd.DataFrame({"clinician_id": ["A"], "client_id": ["cl-a9"], "instrument": ["PHQ-9"],
                       "reason": ["behind the expected curve"], "last_at": ["2026-10-15"]})
    # the prepared scores: D answered item 9 with 0 only; E's export gives PHQ-9 totals only
    scores = pd.DataFrame({"clinician_id": ["A", "D", "E"], "instrument": "PHQ-9",
                           "total_score": [12.0, 5.0, 9.0], "item_9": [1.0, 0.0, None]})
    return RunFolder(tmp_path, cfg, {"provided": list(provided)},
                   {"item9_flags": t, "not_on_track": nt,
                    "item9_coverage": item9_coverage(scores)},
                   _names={"A": "Ana Avery", "B": "Ben Brook", "C": "Cleo Cole"})


def test_escalations_first_then_oldest_first():
    rows, followup = item9_rows(flags()[lambda t: t.clinician_id == "A"])
    assert rows["Client"].tolist() == ["cl-a2", "cl-a2", "cl-a3", "cl-a1"]
    assert rows["Session"].tolist() == [
        "09 Oct 2026, 14:00", "23 Oct 2026, 09:10 (time of the questionnaire)",
        "02 Oct 2026 (no time in the export)", "20 Oct 2026, 11:00"]
    assert rows["Answer"].tolist() == ["More than half the days", "Nearly every day",
                                       "Several days", "Several days"]
    assert rows["Escalate"].tolist() == ["Yes", "Yes", "No", "No"]
    assert not followup and "Follow-up recorded" not in rows


def test_follow_up_column_only_where_the_export_has_one(tmp_path):
    t = flags(["no", "yes", "no", "unclear", "yes", "no", "yes"])
    rows, followup = item9_rows(t[t.clinician_id == "A"])
    assert followup
    assert rows["Follow-up recorded"].tolist() == ["Yes", "Unclear in the export: check the "
                                                   "EHR", "No", "No"]
    shown = item9_table(run_of(t, tmp_path), "A")
    assert ITEM9_NO_FOLLOWUP not in shown.caption
    # no follow-up column in the export: said once, in the caption, and no column
    shown = item9_table(run_of(flags(), tmp_path), "A")
    assert shown.caption.count(ITEM9_NO_FOLLOWUP) == 1
    assert "Follow-up recorded" not in shown.data
    assert "Yes when the answer is more than half the days or more often" in shown.caption


def test_the_self_view_shows_only_the_clinicians_own_clients(tmp_path):
    run = run_of(flags(), tmp_path)
    shown = item9_table(run, "B").data
    assert shown["Client"].tolist() == ["cl-b2", "cl-b1"]
    assert "Clinician" not in shown
    assert str(item9_table(run, "D")) == ("None of your clients answered item 9 above zero "
                                         "this period.")
    # an export of PHQ-9 totals only: no claim that no one answered above zero
    assert str(item9_table(run, "E")) == ITEM9_NOT_IN_EXPORT


def test_the_pack_shows_only_its_supervisees_in_a_section_of_its_own(tmp_path):
    run = run_of(flags(), tmp_path)
    shown = supervisee_item9(run, ["A", "B"]).data
    # escalations first across the supervisees, then oldest first; C is not S's supervisee
    assert list(zip(shown["Clinician"], shown["Client"], strict=True)) == [
        ("Ana Avery", "cl-a2"), ("Ana Avery", "cl-a2"), ("Ben Brook", "cl-b2"),
        ("Ana Avery", "cl-a3"), ("Ben Brook", "cl-b1"), ("Ana Avery", "cl-a1")]
    assert "cl-c1" not in set(shown["Client"])
    # the off-track table holds no item 9 row, and says nothing of item 9
    off = supervisee_alerts(run, ["A", "B"]).data
    assert off["Client"].tolist() == ["cl-a9"]
    assert not off["Why listed"].str.contains("item 9", case=False).any()
    assert str(supervisee_item9(run, ["D"])) == ("No supervisee's client answered item 9 "
                                                 "above zero this period.")
    assert str(supervisee_item9(run, ["E"])) == ITEM9_NOT_IN_EXPORT
    no_measures = run_of(flags(), tmp_path, provided=())
    assert "No measures were provided" in str(supervisee_item9(no_measures, ["A"]))


def _cells(notebook):
    return json.loads((NOTEBOOKS / notebook).read_text())["cells"]


def _section(notebook, heading):
    """The cells under a heading up to the next heading of the same or a higher level."""
    cells, out, level = _cells(notebook), None, heading.split(" ")[0]
    for c in cells:
        text = "".join(c["source"])
        if c["cell_type"] == "markdown" and text.startswith("#"):
            if out is not None and len(text.split(" ")[0]) <= len(level):
                break
            if text.startswith(heading):
                out = []
        if out is not None:
            out.append(text)
    return "\n".join(out or [])


@pytest.mark.parametrize("notebook,heading,call", [
    ("clinician_report.ipynb", "### PHQ-9 item 9", "r.item9_table(run, clinician_id)"),
    ("supervisor_report.ipynb", "## PHQ-9 item 9", "r.supervisee_item9(run, ids)"),
])
def test_both_item9_sections_say_they_are_not_a_risk_channel(notebook, heading, call):
    said = _section(notebook, heading)
    assert call in said
    assert "not a risk channel" in said
    assert "risk is handled in the session and in the EHR the same day" in said


def test_the_pack_keeps_item9_apart_from_the_off_track_clients():
    progress = _section("supervisor_report.ipynb", "## Clients' progress")
    assert "r.supervisee_alerts(run, ids)" in progress and "item9" not in progress


def test_the_owners_page_shows_no_item9():
    """Every cell of the owner's report, run on the demo practice: no item 9 words and none
    of the clients whose item 9 answers the run lists."""
    from perfkit import report as r
    from perfkit.cache import demo_run

    run = r.load_run(demo_run())
    listed = set(run.table("item9_flags")["client_id"])
    assert listed  # the demo has some, so the test can fail
    ns = {"run_folder": "", "params_file": ""}
    shown = []
    for c in _cells("practice_report.ipynb"):
        text = "".join(c["source"])
        if c["cell_type"] == "markdown":
            shown.append(text)
            continue
        lines = text.strip().split("\n")
        exec("\n".join(lines[:-1]), ns)  # noqa: S102 - the report's own cells
        try:
            out = eval(lines[-1], ns)  # noqa: S307
        except SyntaxError:
            exec(lines[-1], ns)  # noqa: S102
            continue
        for shape in ("_repr_html_", "_repr_markdown_"):
            if hasattr(out, shape):
                shown.append(str(getattr(out, shape)()))
                break
        else:
            shown.append(str(out))
    page = "\n".join(shown)
    assert "item 9" not in page.lower() and "item9" not in page.lower()
    assert not [c for c in listed if c in page]
