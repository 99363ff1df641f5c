"""History coverage: where each table's data begin, and the figures a short export limits, on
small practices built by hand (every expected date and count below is worked out here).

The short practice (period 01 Aug 2026 to 31 Oct 2026, as_of 01 Nov 2026):

    C1 licensed, started 2020-01-01: client x every Monday 06 Jul .. 26 Oct 2026 (17 sessions)
    C2 pre-licensed (Texas LPC Associate), started 2023-03-01: client y every Tuesday
       07 Jul .. 27 Oct 2026 (17 sessions); individual supervision every Wednesday
       08 Jul .. 28 Oct 2026 (17 hours)
    C3 licensed, started 2026-07-20: client z every Tuesday 21 Jul .. 27 Oct 2026 (15)
    and each a new client seen once in the period (C1 on 10 Aug, C2 and C3 on 11 Aug): one
    new client each, three for the practice; C2's direct hours 17 + 1 = 18

    appointments 06 Jul 2026 .. 27 Oct 2026: 17 + 17 + 15 + 3 = 52 rows, 114 days
    notes (signed two hours after each session) 06 Jul 2026 .. 27 Oct 2026
    supervision 08 Jul 2026 .. 28 Oct 2026: 17 rows

- new clients need the appointments from 01 Aug 2025 (12 months before the period; C3 from
  her start, 20 Jul 2026): they begin on 06 Jul 2026, 26 days (3 weeks) before the period, so
  C1 and C2 (and the practice) are limited, C3 is not;
- trends: whole weeks from Monday 06 Jul to the week of 19 Oct (the last that ends by as_of)
  = 16, at least the 12 a trend needs: no limit;
- the appointments end on 27 Oct, 4 days before the period's last day: no limit;
- the ledger's records begin on 08 Jul 2026 (the later of 06 Jul and 08 Jul), 3 years after
  C2 started: C2's ledger is incomplete.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit import coverage as cov
from perfkit import operations as op
from perfkit import supervision as sv
from perfkit.cli import app
from perfkit.prepared import Prepared
from perfkit.report.coverage_words import limit_words, months_before_words
from perfkit.report.ledger_words import reasons_note
from perfkit.trends import trend_labels

from practice_data import write_table

TZ = "America/Chicago"
PERIOD = {"period_start": dt.date(2026, 8, 1), "period_end": dt.date(2026, 11, 1)}


def mondays(first: str, last: str, weekday: int = 0) -> list[pd.Timestamp]:
    days = pd.date_range(first, last, freq="D")
    return [d for d in days if d.weekday() == weekday]


def roster(c2_start="2023-03-01"):
    base = {"license_type": "LCSW", "supervisor_id": "", "end_date": "",
            "weekly_capacity_hours": "20", "weekly_session_goal": "", "licensure_rule": ""}
    return [
        {**base, "clinician_id": "C1", "name": "Ada One", "license_status": "licensed",
         "start_date": "2020-01-01"},
        {**base, "clinician_id": "C2", "name": "Bo Two", "license_status": "pre-licensed",
         "license_type": "LPC-Associate", "supervisor_id": "C1", "start_date": c2_start,
         "licensure_rule": "tx_lpc_associate"},
        {**base, "clinician_id": "C3", "name": "Cy Three", "license_status": "licensed",
         "start_date": "2026-07-20"},
    ]


def sessions(first_monday="2026-07-06", c2_start="2023-03-01"):
    """C1 on Mondays from ``first_monday``, C2 on Tuesdays from the day after (or her start),
    C3 on Tuesdays from 21 Jul (or later), all to the end of October; and one new client each
    in August."""
    start = pd.Timestamp(first_monday)
    rows = []
    for cid, client, first, weekday in (
            ("C1", "x", start, 0), ("C2", "y", max(start, pd.Timestamp(c2_start)), 1),
            ("C3", "z", max(start, pd.Timestamp("2026-07-20")), 1)):
        for k, day in enumerate(mondays(first, "2026-10-31", weekday)):
            rows.append({"appointment_id": f"{cid}-{k}", "clinician_id": cid,
                         "client_id": client, "start": f"{day:%Y-%m-%d}T10:00:00",
                         "duration_minutes": "60", "status": "attended"})
    for cid, day in (("C1", "2026-08-10"), ("C2", "2026-08-11"), ("C3", "2026-08-11")):
        rows.append({"appointment_id": f"{cid}-new", "clinician_id": cid,
                     "client_id": f"new-{cid}", "start": f"{day}T14:00:00",
                     "duration_minutes": "60", "status": "attended"})
    return rows


def write_practice(folder, first_monday="2026-07-06", first_supervision="2026-07-08",
                   c2_start="2023-03-01"):
    folder.mkdir(parents=True, exist_ok=True)
    appts = sessions(first_monday, c2_start)
    write_table(folder, "clinicians", roster(c2_start))
    write_table(folder, "appointments", appts)
    write_table(folder, "notes", [{"appointment_id": a["appointment_id"],
                                   "signed_at": a["start"].replace("T10", "T12")}
                                  for a in appts])
    write_table(folder, "supervision", [
        {"supervisee_id": "C2", "supervisor_id": "C1", "date": f"{d:%Y-%m-%d}",
         "minutes": "60", "format": "individual"}
        for d in mondays(first_supervision, "2026-10-31", 2)])
    return folder


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    base = tmp_path_factory.mktemp("short")
    cfg = pk.load_config(**PERIOD, pseudonym_key_file=base / "k")
    return pk.ingest(write_practice(base / "data"), cfg), cfg


def test_an_export_beginning_three_weeks_before_the_period(short):
    ing, cfg = short
    c = ing.quality["coverage"]["tables"]
    assert c["appointments"] == {"column": "start", "first": "2026-07-06",
                                 "last": "2026-10-27", "rows": 52, "days": 114}
    assert (c["notes"]["first"], c["notes"]["last"]) == ("2026-07-06", "2026-10-27")
    assert c["supervision"] == {"column": "date", "first": "2026-07-08",
                                "last": "2026-10-28", "rows": 17, "days": 113}
    assert "assessments" not in c and "ce" not in c  # not provided: unknown, not empty
    limits = {lim["figure"]: lim for lim in ing.quality["coverage"]["limits"]}
    assert set(limits) == {"new_clients", "licensure"}
    new = limits["new_clients"]
    assert (new["begins"], new["needed_from"]) == ("2026-07-06", "2025-08-01")
    assert (new["period_starts"], new["new_client_months"]) == ("2026-08-01", 12)
    assert limit_words(new).startswith("The appointments begin on 06 Jul 2026, 3 weeks before "
                                       "the period (new clients need 12 months before it)")
    lic = limits["licensure"]
    assert (lic["begins"], lic["clinicians"]) == ("2026-07-08", ["C2"])
    assert "begin on 08 Jul 2026, after 1 pre-licensed clinician started" in limit_words(lic)
    assert "words" not in new and "words" not in lic  # codes and values: the words are report's
    per = cov.new_clients_limited(ing.tables["clinicians"], c, cfg)
    assert per.to_dict() == {"C1": True, "C2": True, "C3": False}  # C3 started after 06 Jul


def test_the_ledger_of_a_supervisee_who_started_before_the_records(short):
    ing, cfg = short
    data = Prepared(ing.tables, ing.quality, {"timezone": TZ})
    row = sv.ledger(data, cfg).set_index("clinician_id").loc["C2"]
    assert (row["direct_hours"], row["supervision_hours_individual"]) == (18, 17)
    assert not row["history_complete"] and row["ledger_status"] == "incomplete history"
    assert row["records_since"] == pd.Timestamp("2026-07-08")
    assert pd.isna(row["projected_completion"])
    assert "the records begin on 08 Jul 2026, after the start on 01 Mar 2023" in \
        reasons_note(row["reasons"])
    # carried-in experience covers the time before the records: a complete ledger again
    carried = pk.load_config(**PERIOD, supervision={"carried_in": {"C2": {
        "since": "2023-03-01", "direct_hours": 900}}})
    row = sv.ledger(data, carried).set_index("clinician_id").loc["C2"]
    assert row["history_complete"] and row["ledger_status"] in ("on track", "behind")
    assert pd.notna(row["projected_completion"]) and row["direct_hours"] == 918


def test_a_full_history_says_nothing(tmp_path):
    """Appointments from 27 Jul 2025 (5 days after the 01 Aug 2025 they need) and a supervisee
    who started 20 Jul 2026 with supervision from 22 Jul: nothing is limited."""
    cfg = pk.load_config(**PERIOD, pseudonym_key_file=tmp_path / "k")
    folder = write_practice(tmp_path / "data", first_monday="2025-07-28",
                            first_supervision="2026-07-22", c2_start="2026-07-20")
    ing = pk.ingest(folder, cfg)
    assert ing.quality["coverage"]["tables"]["appointments"]["first"] == "2025-07-28"
    assert ing.quality["coverage"]["limits"] == []
    data = Prepared(ing.tables, ing.quality, {"timezone": TZ})
    assert not op.clinician_metrics(data, cfg)["new_clients_limited"].any()
    row = sv.ledger(data, cfg).set_index("clinician_id").loc["C2"]
    assert row["history_complete"] and row["ledger_status"] != "incomplete history"
    res = CliRunner().invoke(app, ["validate", str(folder)], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert "appointments: 28 Jul 2025 to 27 Oct 2026 (65 weeks)" in res.output
    assert "That reaches back far enough for every figure of the period." in res.output
    assert "Limits" not in res.output


def test_validate_says_how_far_back_each_table_reaches(practice, tmp_path):
    """The shared tiny practice: appointments 05 to 12 Oct 2026 in the default period (Aug to
    Oct 2026): they begin after the period starts (new clients), cover 3 whole weeks (05, 12,
    19 Oct) before the week of as_of where a trend needs 12, end 19 days before 31 Oct, and
    the pre-licensed C2 started on 01 Jun 2025."""
    res = CliRunner().invoke(app, ["validate", str(practice)], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    out = res.output
    assert res.exit_code == 0, out
    assert "  appointments: 05 Oct 2026 to 12 Oct 2026 (8 days)" in out
    assert "Limits new clients, retention, early dropout: The appointments begin on 05 Oct " \
           "2026, after the period starts" in out
    assert "Limits trends: The appointments cover 3 whole weeks up to the period's end and " \
           "a trend needs 12" in out
    assert "Limits every figure: The appointments end on 12 Oct 2026, 19 days before the " \
           "period ends" in out
    assert "Limits licensure ledger (C2): The licensure records begin on 05 Oct 2026" in out


def weekly_data(first_monday, notes_from=None):
    """Prepared tables of the short practice's C1 alone, from ``first_monday``; notes signed
    from ``notes_from`` only (earlier sessions have no note in the export)."""
    appts = pd.DataFrame([a for a in sessions(first_monday)
                          if a["clinician_id"] == "C1" and a["client_id"] == "x"])
    appts["start"] = pd.to_datetime(appts["start"]).dt.tz_localize(TZ)
    appts["duration_minutes"] = appts["duration_minutes"].astype(int)
    appts["end"] = appts["start"] + pd.Timedelta(hours=1)
    signed = appts["start"] + pd.Timedelta(hours=2)
    keep = signed >= pd.Timestamp(notes_from).tz_localize(TZ) if notes_from else signed.notna()
    notes = pd.DataFrame({"appointment_id": appts.loc[keep, "appointment_id"],
                          "signed_at": signed[keep]})
    clin = pd.DataFrame({"clinician_id": ["C1"], "start_date": [pd.Timestamp("2020-01-01")],
                         "end_date": [pd.NaT], "weekly_capacity_hours": [20.0],
                         "weekly_session_goal": pd.array([pd.NA], dtype="Int64")})
    return Prepared({"clinicians": clin, "appointments": appts, "notes": notes},
                    {}, {"timezone": TZ})


def test_weekly_series_begin_with_the_data_and_trends_need_enough_weeks():
    """Appointments from Monday 14 Sep 2026: whole weeks 14 Sep .. 19 Oct (6 weeks; the week
    of 26 Oct ends after as_of), none earlier at 0%; 6 weeks is fewer than the 12 a trend
    needs, and the run says so."""
    cfg = pk.load_config(**PERIOD)
    data = weekly_data("2026-09-14")
    w = op.weekly_metrics(data, cfg)
    assert list(w["week_start"]) == list(pd.date_range("2026-09-14", "2026-10-19", freq="7D"))
    assert (w["sessions_attended"] == 1).all()  # one session each week, never a zero week
    assert trend_labels(w, cfg)["trend_utilization"].tolist() == ["not enough data"]
    limits = cov.history_limits(data.tables, cov.coverage_of(data), cfg)
    trends = [lim for lim in limits if lim["figure"] == "trends"]
    assert trends and (trends[0]["weeks"], trends[0]["needed_weeks"]) == (6, 12)


def test_weeks_before_the_notes_begin_have_no_note_figures():
    """Sessions every Monday from 06 Jul; notes only from 14 Sep: the weeks that ended on or
    before 14 Sep (06 Jul .. 07 Sep, 10 weeks) have no documentation figure rather than 0%;
    from 14 Sep every note was signed within 24 hours. The notes begin 44 days after the
    period starts (01 Aug), which the run says."""
    cfg = pk.load_config(**PERIOD)
    data = weekly_data("2026-07-06", notes_from="2026-09-14")
    w = op.weekly_metrics(data, cfg).set_index("week_start")
    before = w.loc[:"2026-09-07", "notes_within_72h"]
    assert len(before) == 10 and before.isna().all()
    assert (w.loc["2026-09-14":, "notes_within_72h"] == 1.0).all()
    assert (w["notes_due"] == 1).all()  # the sessions themselves are still counted
    limits = cov.history_limits(data.tables, cov.coverage_of(data), cfg)
    notes = [lim for lim in limits if lim["figure"] == "notes"]
    assert notes and notes[0]["begins"] == "2026-09-14"


def test_the_reports_say_what_a_short_history_limits(tmp_path):
    """The short practice run end to end (tables only), then the report sections: the owner's
    summary and table mark new clients, the self-views say it only where it applies, and the
    supervisee's ledger reads "at least" and "incomplete history"."""
    from perfkit import report as r

    data = write_practice(tmp_path / "data")
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(out),
                                   "--period-start", "2026-08-01", "--period-end",
                                   "2026-11-01", "--tables-only"], catch_exceptions=False,
                             env={"PERFKIT_PSEUDONYM_KEY_FILE": str(tmp_path / "k")})
    assert res.exit_code == 0, res.output
    run = r.load_run(out)
    assert run.meta["coverage"]["appointments"]["first"] == "2026-07-06"
    assert [lim["figure"] for lim in run.meta["history_limits"]] == ["new_clients",
                                                                    "licensure"]
    m = run.table("clinician_metrics").set_index("clinician_id")
    assert m["new_clients_limited"].astype(str).to_dict() == {"C1": "True", "C2": "True",
                                                              "C3": "False"}
    summary = r.period_summary(run).to_html()
    assert "History in this export" in summary
    assert "The appointments begin on 06 Jul 2026, 3 weeks before the period" in summary
    assert "at most 3" in summary  # the three August clients
    assert "licensure" not in summary.lower()  # the owner's view holds no supervision
    ops = r.operations_table(run).to_html()
    assert ops.count("at most 1") == 2 and "short history" in ops  # C1, C2; C3's is known
    mine = r.own_metrics_table(run, "C1").to_html()
    assert "The appointments begin on 06 Jul 2026" in mine and "at most 1" in mine
    assert "The appointments begin" not in r.own_metrics_table(run, "C3").to_html()
    ledger = r.ledger_table(run, ["C2"], names=False).to_html()
    assert "at least 18" in ledger
    since = run.table("supervision_ledger").set_index("clinician_id").loc["C2", "experience_since"]
    since = f"{pd.Timestamp(since):%d %b %Y}"  # the status and the row below give one date
    assert f"incomplete history: the records hold the hours since {since} only" in ledger
    assert ledger.count(since) >= 2
    assert "not projected" in ledger
    dq = r.data_quality_table(run).to_html()
    assert "06 Jul 2026 to 27 Oct 2026" in dq


def test_history_limits_in_words_from_their_values():
    # weeks under three months (90 days: 12 whole weeks), months from 91 days
    assert months_before_words("2026-05-03", "2026-08-01") == "12 weeks before the period"
    assert months_before_words("2026-05-02", "2026-08-01") == "3 months before the period"
    assert months_before_words("2026-08-02", "2026-08-01") == "after the period starts"
    assert limit_words({"figure": "trends", "weeks": 1, "needed_weeks": 12}).startswith(
        "The appointments cover 1 whole week up to the period's end and a trend needs 12,")
    assert limit_words({"figure": "period_end", "ends": "2026-10-20",
                        "days_before_end": 11}) == (
        "The appointments end on 20 Oct 2026, 11 days before the period ends: the period's "
        "last days are missing from every figure.")
    assert "after 2 pre-licensed clinicians started" in limit_words(
        {"figure": "licensure", "begins": "2026-07-08", "clinicians": ["C1", "C2"]})
