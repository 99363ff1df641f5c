"""What each section of the owner's report and the clinician's self-view covers, in one
line under its heading (its time window: "Period: 01 Aug 2026 to 31 Oct 2026", "Last 12
months: ..."), and the words the reports use, defined in one place: the glossary at the end of
each page (:func:`glossary`), which every window line links to."""

from __future__ import annotations

import pandas as pd

from ..registry import definition_of, term_of
from .format import Text, count, num, pct, span_words
from .run_folder import RunFolder, few_peers

__all__ = ["section_window", "OWNER_SECTIONS", "CLINICIAN_SECTIONS", "glossary", "GLOSSARY_ID",
           "JARGON"]

GLOSSARY_ID = "words"  # the glossary's anchor: every window line links to it
_SEE = f"[what the words mean](#{GLOSSARY_ID})"

# statistics words that a non-technical reader should not meet on the owner's page or the
# self-view (tests/test_words.py checks the rendered pages for them)
JARGON = ["singular", "episode", "95.0%", "99.8% limit", "95% limit", "confidence interval",
          "variance", "case-mix", "boundary", "converge", "two-level", "random effect",
          "residual", "quantile", "funnel plot", "control limit", "REML", "p-value"]


def _span(start, end) -> str:
    return span_words(start, end, "%d %b %Y")


def _windows(run: RunFolder) -> dict[str, str]:
    cfg = run.config
    start, end = pd.Timestamp(cfg.period_start), pd.Timestamp(cfg.period_end)
    last = end - pd.Timedelta(days=1)
    period = f"Period: {_span(start, end)}"
    ops, least = cfg.operations, cfg.outcomes.min_episodes
    weeks = cfg.trends.weeks
    trend = f"trends over the {weeks} weeks to {last:%d %b %Y}"
    cohort_end = end - pd.Timedelta(weeks=ops.cohort_weeks)
    retained = (f"retention: clients whose first session with the clinician was from "
                f"{_span(start, max(cohort_end, start + pd.Timedelta(days=1)))} (at least "
                f"{ops.cohort_weeks} weeks before the period ended, so they had time to reach "
                f"{ops.retained_sessions} sessions), hidden for fewer than "
                f"{count(least, 'client')}")
    recent = end - pd.DateOffset(months=cfg.ramp.recent_months)
    scores = (f"{period}: clients with a score in the period, each from their first score "
              f"with the clinician to their last before {end:%d %b %Y}; rates hidden for fewer "
              f"than {count(least, 'client')}")
    model = (f"Every score up to {last:%d %b %Y} (also from before the period), of clients with "
             f"at least {cfg.models.min_scores} scores with one clinician")
    return {
        # the owner's report
        "changes": f"{period}, against the previous run's period",
        "glance": period,
        "operations": f"{period}; {trend}; {retained}",
        "check_in": f"{period}; {trend}; workload over the last {cfg.workload.over_goal_window} "
                    f"weeks and {cfg.workload.time_off_months} months",
        "ramp": f"Last {cfg.ramp.recent_months} months: clinicians who started from "
                f"{_span(recent, end)}, followed for up to {cfg.ramp.weeks} weeks",
        "outcomes": scores,
        # the outcomes table's clients, said in other words: no sentence twice on the page
        "funnel": f"{period}: the same clients as the outcomes table, by clinician",
        "model": model,
        "licences": f"As of {last:%d %b %Y}: each licence's current continuing-education cycle "
                    "and the last competency review",
        "associates": f"As of {last:%d %b %Y}: supervision since each associate's records "
                      "begin, against their rule's pace",
        "limits": f"{period}: every section above",
        "data_quality": "The whole export: each table's first and last date are beside it",
        # the clinician's self-view
        "going_well": f"{period}, against your own previous period and the practice's "
                      "thresholds",
        "own": f"{period}; {retained}",
        "history": "One column for each run's period, named in its heading",
        "weekly": f"Last {weeks} weeks: the weeks to {last:%d %b %Y}",
        "clients": f"{period}: your clients with a score in the period, each from their first "
                   f"score with you",
        "item9": period,
        "estimate": model,
        "development": f"As of {last:%d %b %Y}: your goals, reviews and current continuing-"
                       "education cycle; supervision over the last six months",
        "questions": period,
        # the supervision pack (no glossary of its own: its lines are not linked)
        "pack_questions": period,
        "pack_licensure": f"As of {last:%d %b %Y}: hours since each supervisee's experience "
                          "is counted (the date is in the table); the rule met or not in each "
                          "week or month of the period, and of the last six months in the chart",
        "pack_goals": f"As of {last:%d %b %Y}: each goal with the day it was last looked at",
        "pack_reviews": f"As of {last:%d %b %Y}: the latest rating in each area, and its change "
                        "from the review before",
        "pack_ce": f"As of {last:%d %b %Y}: each licence's current continuing-education cycle",
        "pack_support": f"{period}; months with some over the last "
                        f"{cfg.supervision.support_months} months",
        "pack_clients": f"{period}: the supervisees' clients with a score in the period, each "
                        "from their first score with that clinician",
        "pack_item9": period,
    }


OWNER_SECTIONS = ["changes", "check_in", "glance", "operations", "ramp", "outcomes", "funnel",
                  "model", "licences", "associates", "limits", "data_quality"]
CLINICIAN_SECTIONS = ["going_well", "own", "history", "weekly", "clients", "item9", "estimate",
                      "development", "questions"]


PACK_SECTIONS = ["pack_questions", "pack_licensure", "pack_goals", "pack_reviews", "pack_ce",
                 "pack_support", "pack_clients", "pack_item9"]


def section_window(run: RunFolder, section: str) -> Text:
    """The time window of one report section, in one italic line under its heading, linked
    to the glossary: ``section`` is one of :data:`OWNER_SECTIONS` or
    :data:`CLINICIAN_SECTIONS`; a :data:`PACK_SECTIONS` line (the supervision pack, which has
    no glossary) is not linked."""
    if section in PACK_SECTIONS:
        return Text(f"*{_windows(run)[section]}.*")
    return Text(f"*{_windows(run)[section]}* ({_SEE}).")


def _practice_n(run: RunFolder) -> dict[str, str]:
    """The practice's counts behind its rates (``practice_summary``), in words."""
    p = run.tables.get("practice_summary")
    if p is None or p.empty:
        return {}
    r = p.iloc[0]

    def n(col, one):
        return count(r[col], one) if col in r and pd.notna(r[col]) else "–"

    return {"sessions": n("sessions_attended", "session"),
            "appointments": n("past_appointments", "past appointment"),
            "notes": n("notes_due", "note"),
            "clients": n("clients_seen", "client")}


def glossary(run: RunFolder, *, you: bool = False) -> Text:
    """Every metric a reader of the owner's report (or, with ``you``, of the self-view) sees:
    what it counts, over which window, and the number it rests on (the practice's, from
    ``practice_summary``). Every window line links here. A self-view of a practice of fewer
    than ``privacy.min_peers`` clinicians gives no practice total (less the reader's own, it
    would be a colleague's) and no median."""
    cfg = run.config
    least = cfg.outcomes.min_episodes
    start, end = pd.Timestamp(cfg.period_start), pd.Timestamp(cfg.period_end)
    period = _span(start, end)
    few = you and few_peers(run)
    n = {} if few else _practice_n(run)
    practice = "the practice's" if not you else "the practice's (all clinicians)"

    def rests(key):
        return f" This period {practice} figure rests on {n[key]}." if key in n else ""

    last = end - pd.Timedelta(days=1)

    def term(key: str, rests_on: str = "") -> tuple[str, str]:  # the registry's words
        return (term_of(key, cfg), definition_of(key, cfg, period=period,
                                                 least=count(least, "client"),
                                                 last=f"{last:%d %b %Y}")
                + (rests(rests_on) if rests_on else ""))

    terms = [
        term("utilization", "sessions"),
        term("non_attendance_rate", "appointments"),
        term("notes_within_72h", "notes"),
        term("notes_open_72h"),
        term("active_clients", "clients"),
        term("new_clients"),
        term("retained_8plus_rate"),
        ("Rising, falling, no clear change", f"the direction of the weekly figures over the "
                                             f"last {cfg.trends.weeks} weeks: rising or falling "
                                             "means a sustained run of weeks, not a single "
                                             "week; no clear change means the weeks move within "
                                             "their usual ups and downs, even when the two ends "
                                             "differ a little."),
        term("episodes"),
        term("reliable_improvement_rate"),
        term("recovery_rate"),
        ("Likely range", "the range a figure would fall in 95 times in 100 if the same work "
                         "were measured again: a wide range means few clients."),
        ("Range chance alone allows", "how far from the practice rate a clinician with that "
                                      "many clients could be by chance; above it is better "
                                      "than expected, below it worse."),
        ("Hidden", f"a rate resting on fewer than {count(least, 'client')} is not shown: it "
                   "would say more about those few people than about the work."),
        ("Counts", f"every count is of distinct people or sessions, written with thousands "
                   f"separators ({num(1336, 0)})."),
    ]
    if not you:
        terms.insert(6, term("turnover_12m"))
    elif not few:
        terms.insert(0, ("Practice median, middle half", "the middle clinician's figure, and "
                                                         "the range of the middle half of "
                                                         "clinicians, for the same period; no "
                                                         "one is named."))
    return Text(f'<a id="{GLOSSARY_ID}"></a>\n\n'
                + "\n".join(f"- **{term}**: {what}" for term, what in terms)
                + f"\n\nShares are written as percentages ({pct(0.25)} is one in four).")
