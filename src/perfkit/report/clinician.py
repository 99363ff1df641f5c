"""The clinician's own report (``notebooks/clinician_report.ipynb``): their figures next to the
practice's anonymous spread, their clients who are off track or answered item 9, their model
estimate, and questions to explore. It names no other clinician."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import LAG_FIGURES, NEW_CLIENT_FIGURES
from ..hostile_text import md
from ..registry import FLAGS, RAMP_STATUS, flag_text, format_value, formatter, label_of, value_words
from .compare import compared_period, compared_run, flag_words
from .format import (
    GROUP_SESSIONS,
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    cohort_pct,
    date_words,
    known_yes,
    num,
    period_words,
    score,
    short_history,
    span_words,
    table,
)
from .outcome_words import effect_meaning
from .questions import new_hire, questions_for, ramp_compared, slow_ramp_question
from .run_folder import (
    RunFolder,
    clients_by_clinician,
    clinician_count,
    few_peers,
    few_peers_words,
    history_words,
    item9_section,
    measured,
    no_appointments,
    on_status,
    rows_for,
    text_id,
    unavailable,
)
from .supervisor import supervision_shortfall, talk_to

__all__ = ["pick_clinician", "clinician_title", "own_metrics_table", "own_alerts_table",
           "item9_table", "own_effect_text", "questions_to_explore", "own_history_table",
           "OWN_METRICS", "going_well", "own_ramp_text", "new_hire", "own_intro",
           "ramp_compared"]


def pick_clinician(run: RunFolder, clinician_id: str = "") -> str:
    """The clinician a report is for: the one asked for (anyone employed for any part of the
    period: a clinician who joined or left during it has a report), or the first in the run (so
    the notebook runs on its defaults). An id with no figures for the period is an error in
    plain words saying why."""
    ids = list(run.table("clinician_metrics")["clinician_id"])
    text_id(clinician_id, "clinician_id")
    if not clinician_id:
        return ids[0]
    if clinician_id not in ids:
        roster = run.roster()
        period = period_words(run.config)
        if clinician_id not in roster.index:
            raise ValueError(f"clinician {clinician_id} is not on this run's roster")
        start, end = roster.loc[clinician_id, "start_date"], roster.loc[clinician_id,
                                                                        "end_date"]
        why = (f"they left on {date_words(end)}" if pd.notna(end) else
               f"they start on {date_words(start)}" if pd.notna(start) else
               "they were not employed in it")
        raise ValueError(f"clinician {clinician_id} has no figures for this run's period "
                         f"({period}): {why}. Run the period they worked for their report.")
    return clinician_id


def clinician_title(run: RunFolder, clinician_id: str) -> Text:
    cfg = run.config
    pairs = run.tables.get("supervisors")
    supervised = pairs is not None and clinician_id in set(pairs["clinician_id"])
    others = (few_peers_words(run) if few_peers(run) else
              "Other clinicians appear only as an anonymous spread of values.")
    return Text(f"## {md(run.name_of(clinician_id))}\n\n**For you.** Period {period_words(cfg)}. "
                f"{others} "
                + ("Your supervisor sees your supervision, goals and clients' progress in the "
                   "supervision pack; the" if supervised else "The")
                + " owner's report shows your scheduling, documentation and outcome figures "
                "but not your clients, goals, reviews or supervision.")


# the self-view of a rostered clinician whom the export never names
NOT_NAMED = ("There are no appointments of yours in this export, so there are no scheduling or "
             "documentation figures for you this period. If you saw clients, the export may "
             "give your name differently from the practice's roster: ask the practice to "
             "check.")

# the self-view's figures, each with its label's kind (the registry's; ``long`` where longer)
OWN_METRICS = [("utilization", "label"), ("non_attendance_rate", "label"),
               ("notes_within_72h", "label"), ("median_note_lag_hours", "label"),
               ("notes_open_72h", "label"), ("active_clients", "label"),
               ("new_clients", "label"), ("retained_8plus_rate", "long")]


def own_intro(run: RunFolder, clinician_id: str | None = None) -> Text:
    """The line under the self-view's "Your figures" heading: what the figures are set
    beside (the practice's anonymous spread, or, in a practice of fewer than
    ``privacy.min_peers`` clinicians, the clinician's own previous period when the table
    has it, and the practice's thresholds)."""
    if few_peers(run):
        before = (clinician_id is not None and _previous(run, clinician_id) is not None)
        return Text("Your figures next to "
                    + ("your own previous period and " if before else "")
                    + "the practice's thresholds: the levels at which a figure is flagged.")
    return Text("The practice median and the middle half of clinicians give context; no other "
                "clinician is named.")


def _thresholds(run: RunFolder) -> dict[str, str]:
    """The practice's thresholds (the flags' levels in the parameters) of the self-view's
    figures that have one, in words: each flag's ``limit`` in the registry
    (:data:`perfkit.registry.FLAGS`), a metric's flags joined with "or"."""
    out: dict[str, str] = {}
    for key, flag in FLAGS.items():
        if flag.limit:
            said = flag_text(key, "limit", run.config)
            out[flag.metric] = f"{out[flag.metric]} or {said}" if flag.metric in out else said
    return out


def _previous(run: RunFolder, clinician_id: str) -> pd.Series | None:
    """The clinician's row of the compared run in ``history`` (None: no compared run, or one
    defined differently)."""
    h = run.tables.get("history")
    if h is None or h.empty or "compared_with" not in h:
        return None
    was = h[(h["clinician_id"] == clinician_id) & h["compared_with"]]
    if was.empty or was["definitions_changed"].iloc[0]:
        return None
    return was.iloc[0]


def own_metrics_table(run: RunFolder, clinician_id: str):
    """The clinician's metrics next to the practice median and middle half (anonymous, from
    ``metric_spread``). A figure that fewer than ``privacy.min_peers`` clinicians have is
    not compared; in a practice of fewer than that many clinicians the table sets the
    clinician's figures beside their own previous period (``history``) and the practice's
    thresholds instead: a median or middle half of 2 to 4 clinicians gives colleagues' own
    figures."""
    m = run.table("clinician_metrics").set_index("clinician_id")
    if no_appointments(m).get(clinician_id, False):
        return Text(NOT_NAMED)
    if few_peers(run):
        return _own_figures_alone(run, clinician_id, m)
    spread = run.table("metric_spread").set_index("metric")
    hire = new_hire(run, clinician_id)
    rows = []
    for col, kind in OWN_METRICS:
        if col not in m or col not in spread.index:
            continue
        label, fmt = label_of(col, run.config, kind), formatter(col)
        s = spread.loc[col]
        you = _yours(run, clinician_id, m, col, fmt)
        if col == "utilization" and hire is not None:  # a caseload still building: its ramp
            rows.append({"Figure": label, "You": you, "Practice median": RAMP_INSTEAD
                         if ramp_compared(run, clinician_id) else
                         "not compared: you are in your first weeks",
                         "Middle half of clinicians": "–"})
            continue
        if s["clinicians"] and few_peers(run, s["clinicians"]):  # too few have the figure
            few = (f"not compared: fewer than {run.config.privacy.min_peers} clinicians "
                   "have this figure")
            rows.append({"Figure": label, "You": you, "Practice median": few,
                         "Middle half of clinicians": "–"})
            continue
        rows.append({"Figure": label, "You": you, "Practice median": fmt(s["median"]),
                     "Middle half of clinicians": "–" if not s["clinicians"] else
                     f"{fmt(s['q25'])} to {fmt(s['q75'])}"})
    said = history_words(run, clinician_id=clinician_id)
    return table(pd.DataFrame(rows), " ".join([*said, GROUP_SESSIONS]))


def _yours(run: RunFolder, clinician_id: str, m: pd.DataFrame, col: str, fmt) -> str:
    """One of the clinician's figures as the self-view's table shows it."""
    gone = unavailable(run)
    mine = m.loc[clinician_id, col] if clinician_id in m.index else np.nan
    you = NO_SIGNING_TIMES if col in LAG_FIGURES and on_status(m).get(clinician_id, False) \
        else NOT_IN_EXPORT if col in gone else fmt(mine)
    if col == "retained_8plus_rate" and "retention_cohort" in m and col not in gone:
        you = cohort_pct(mine, m["retention_cohort"].get(clinician_id),
                         run.config.outcomes.min_episodes, "clients in the group")
    if col in NEW_CLIENT_FIGURES:  # new clients an export too short cannot tell apart
        limited = m["new_clients_limited"].get(clinician_id, False) \
            if "new_clients_limited" in m else False
        you = short_history(you, limited, count=col == "new_clients")
    return you


def _own_figures_alone(run: RunFolder, clinician_id: str, m: pd.DataFrame):
    """:func:`own_metrics_table` of a practice of fewer than ``privacy.min_peers``
    clinicians: the clinician's figures, their previous period's (``history``'s compared
    run, where it has the figure) and the practice's thresholds; nobody else's."""
    was = _previous(run, clinician_id)
    limits = _thresholds(run)
    hire = new_hire(run, clinician_id) is not None
    rows = []
    for col, kind in OWN_METRICS:
        if col not in m:
            continue
        label, fmt = label_of(col, run.config, kind), formatter(col)
        row = {"Figure": label, "You": _yours(run, clinician_id, m, col, fmt)}
        if was is not None:
            v = was.get(col, np.nan)
            row["Your previous period"] = fmt(v) if pd.notna(v) else "–"
        row["The practice's threshold"] = (
            "not compared: you are in your first weeks" if col == "utilization" and hire
            else limits.get(col, "–"))
        rows.append(row)
    said = history_words(run, clinician_id=clinician_id)
    when = compared_period(run)
    if was is not None and when:
        said = [f"Your previous period is {when}.", *said]
    return table(pd.DataFrame(rows), " ".join([*said, GROUP_SESSIONS]))


RAMP_INSTEAD = ("not compared: you are in your first weeks, compared below with the "
                "practice's earlier hires in theirs")


def own_ramp_text(run: RunFolder, clinician_id: str) -> Text:
    """A new hire's first weeks against the practice's earlier hires in the same weeks (the
    figures of the owner's ramp words, :func:`~perfkit.report.practice.ramp_words`), in place
    of the practice median: a caseload takes weeks to build. Empty for anyone else."""
    h = new_hire(run, clinician_id)
    if h is None:
        return Text("")
    weeks = int(h["weeks"])
    m = run.table("clinician_metrics").set_index("clinician_id")
    now = m["utilization"].get(clinician_id, np.nan) if "utilization" in m else np.nan
    util = formatter("utilization")
    mine = (f"Since you started, your utilization averaged {util(h['utilization'])} over "
            f"{weeks} of your first {run.config.ramp.weeks} weeks"
            + (f" ({util(now)} in this period)" if pd.notna(now) else ""))
    if h["compared"] and not ramp_compared(run, clinician_id):
        return Text(f"{mine}. Your first weeks are not set beside the practice's earlier "
                    f"hires': fewer than {run.config.privacy.min_peers} of them have figures "
                    "for the same weeks, so theirs could be worked out. A caseload takes weeks "
                    "to build: your utilization is compared with no one's.")
    if h["ramp"] in RAMP_STATUS and h["compared"]:
        return Text(f"{mine}; the practice's earlier hires averaged "
                    f"{util(h['practice_utilization'])} in the same weeks of theirs. You are "
                    f"building your caseload {RAMP_STATUS[h['ramp']][1]}. A caseload takes "
                    "weeks "
                    "to build, so your first weeks are compared with other new starts, not "
                    "with the practice median.")
    return Text(f"{mine}. The practice has too few earlier hires (fewer than "
                f"{run.config.ramp.min_hires} with figures for the same weeks) to say how "
                "first weeks usually go here. A caseload takes weeks to build, so your "
                "utilization is not compared with the practice median.")


# "better than before" in the self-view's good news: the change since the compared run that
# counts (percentage points; notes unsigned: any fewer, from some)
IMPROVED = {"notes_within_72h": 0.05, "non_attendance_rate": -0.02}


def going_well(run: RunFolder, clinician_id: str) -> Text:
    """What is going well, from the clinician's own figures only (no one else's): a flag of
    the compared run that no longer applies (``changes``), a figure clearly better than in
    the compared run (``history``: notes within 72 hours up 5 points or more, missed
    appointments down 2 points or more, fewer notes unsigned past the overdue days), and a
    figure well inside the practice's threshold (at least halfway from the threshold to the
    best possible: notes within 72 hours, missed appointments). When nothing qualifies it
    says so plainly."""
    cfg, ops = run.config, run.config.operations
    m = run.table("clinician_metrics").set_index("clinician_id")
    said = []
    if clinician_id in m.index and not no_appointments(m).get(clinician_id, False):
        r = m.loc[clinician_id]
        gone = unavailable(run)
        words = flag_words(cfg)
        ch = rows_for(run, "changes", [clinician_id])
        for _, c in (ch[ch["change"] == "no longer flagged"].iterrows() if not ch.empty
                     else []):
            said.append(f"The flag for {words.get(c['flag'], c['flag'])} has lifted: "
                        f"{value_words(c['metric'], c['previous'])} in {compared_period(run)}, "
                        f"{value_words(c['metric'], c['current'])} now.")
        said += _better_than_before(run, clinician_id, said)
        notes = r.get("notes_within_72h")
        on_times = not on_status(m).get(clinician_id, False) and "notes_within_72h" not in gone
        a = ops.notes_within_72h_alert
        if on_times and pd.notna(notes) and notes >= a + (1 - a) / 2 \
                and not any("signed within" in w for w in said):
            said.append(f"{format_value('notes_within_72h', notes)} of your notes were signed "
                        f"within "
                        f"{ops.note_standard_hours:g} hours, well above the practice's "
                        f"standard of {format_value('notes_within_72h', a)}.")
        missed = r.get("non_attendance_rate")
        if "non_attendance_rate" not in gone and pd.notna(missed) \
                and missed <= ops.non_attendance_alert / 2 \
                and not any("missed" in w for w in said):
            said.append(f"{value_words('non_attendance_rate', missed)} of your appointments were "
                        "missed, well under the practice's alert level of "
                        f"{format_value('non_attendance_rate', ops.non_attendance_alert)}.")
    if not said:
        return Text("Nothing in this period's figures stands out as clearly better than your "
                    "own earlier periods or well inside the practice's thresholds. These "
                    "figures describe scheduling and paperwork only: they cannot see the care "
                    "you gave.")
    return Text("From your own figures this period:\n\n" + "\n".join(f"- {w}" for w in said))


def _better_than_before(run: RunFolder, clinician_id: str, said: list[str]) -> list[str]:
    """The clinician's figures clearly better than in the compared run (``history``), on the
    same definitions, leaving out what a lifted flag in ``said`` already tells."""
    h = run.tables.get("history")
    if h is None or h.empty or "compared_with" not in h:
        return []
    mine = h[h["clinician_id"] == clinician_id]
    was, now = mine[mine["compared_with"]], mine[mine["this_run"]]
    if was.empty or now.empty or was["definitions_changed"].iloc[0]:
        return []
    was, now, when = was.iloc[0], now.iloc[0], compared_period(run)
    out = []
    v0, v1 = was.get("notes_within_72h"), now.get("notes_within_72h")
    if pd.notna(v0) and pd.notna(v1) and v1 - v0 >= IMPROVED["notes_within_72h"] \
            and not any("signed within" in w for w in said):
        out.append(f"More of your notes were signed within "
                   f"{run.config.operations.note_standard_hours:g} hours: "
                   f"{format_value('notes_within_72h', v1)} now, "
                   f"{format_value('notes_within_72h', v0)} in {when}.")
    v0, v1 = was.get("non_attendance_rate"), now.get("non_attendance_rate")
    if pd.notna(v0) and pd.notna(v1) and v1 - v0 <= IMPROVED["non_attendance_rate"] \
            and not any("missed" in w for w in said):
        out.append("Fewer of your appointments were missed: "
                   f"{value_words('non_attendance_rate', v1)} now, "
                   f"{value_words('non_attendance_rate', v0)} in {when}.")
    v0, v1 = was.get("unsigned_overdue_7d"), now.get("unsigned_overdue_7d")
    if pd.notna(v0) and pd.notna(v1) and v0 > 0 and v1 < v0 \
            and not any("unsigned" in w for w in said):
        out.append(f"Fewer of your notes were left unsigned for more than "
                   f"{run.config.operations.note_overdue_days:g} days: "
                   f"{format_value('unsigned_overdue_7d', v1)} now, "
                   f"{format_value('unsigned_overdue_7d', v0)} in {when}.")
    return out


# the rows of the clinician's own periods side by side, each with its label's kind
HISTORY_ROWS = [("sessions_attended", "label"), ("utilization", "label"),
                ("non_attendance_rate", "label"), ("notes_within_72h", "label"),
                ("unsigned_overdue_7d", "column"), ("active_clients", "label"),
                ("caseload", "long")]


def own_history_table(run: RunFolder, clinician_id: str):
    """The clinician's own periods side by side, oldest first (``history``), captioned with
    the run this period is compared with (:func:`~perfkit.report.compare.compared_run`). Two
    runs of one period are told apart by the day each was written (``run_created``, a date),
    and, when that
    does not, by their order ("run 1 of 2"); a run folder's name is never shown."""
    h = run.tables.get("history")
    mine = h[h["clinician_id"] == clinician_id] if h is not None and not h.empty else None
    if mine is None or len(mine) < 2:
        return Text("This is the first run with your figures in this practice's reports "
                    "folder; your earlier periods will appear here side by side as runs "
                    "accumulate.")
    periods = [span_words(r["period_start"], r["period_end"], "%b %Y") for _, r in
               mine.iterrows()]
    days = [None if pd.isna(d) else d for d in (r.get("run_created") for _, r in
                                                mine.iterrows())]
    labels = []
    for i, period in enumerate(periods):
        alike = [d for p, d in zip(periods, days, strict=True) if p == period]
        if len(alike) < 2:
            labels.append(period)
        elif None not in alike and len(set(alike)) == len(alike):  # told apart by the day
            labels.append(f"{period}, written {date_words(days[i])}")
        else:  # by their order
            labels.append(f"{period}, run {periods[:i + 1].count(period)} of {len(alike)}")
    cols = {}
    for label, (_, r) in zip(labels, mine.iterrows(), strict=True):
        label += " (defined differently)" if r["definitions_changed"] else ""
        cols[label] = [format_value(k, r[k]) for k, _ in HISTORY_ROWS]
    which = compared_run(run, markdown=False)
    caption = "Oldest first; the last column is this period" + (
        f", compared with {which}." if which else ".")
    return table(pd.DataFrame(cols, index=[label_of(k, run.config, kind)
                                           for k, kind in HISTORY_ROWS]), caption,
                 rows="Figure")


@measured()
def own_alerts_table(run: RunFolder, clinician_id: str):
    """The clinician's clients who are not on track (pseudonymous ids)."""
    t = run.table("not_on_track")
    t = t[t["clinician_id"] == clinician_id]
    if t.empty:
        return Text("None of your clients is off track this period.")
    return table(pd.DataFrame({
        "Client": t["client_id"], "Measure": t["instrument"],
        "First score": t["first_score"].map(score), "Latest score": t["last_score"].map(score),
        "Latest": t["last_at"].map(date_words),
        "Expected by now": t["expected"].map(lambda v: num(v, 1)), "Why listed": t["reason"],
    }))


@measured()
def item9_table(run: RunFolder, clinician_id: str):
    """PHQ-9 item 9 answers above zero of the clinician's own clients in the period, one row
    per administration, escalations first, then oldest first, with the session's date and time
    to find it in the EHR (:func:`~perfkit.report.run_folder.item9_rows`, as in the supervision
    pack)."""
    return item9_section(run, [clinician_id],
                         "None of your clients answered item 9 above zero this period.")


@measured()
def own_effect_text(run: RunFolder, clinician_id: str, instrument: str = "PHQ-9") -> Text:
    e = run.table("clinician_effects")
    e = e[e["instrument"] == instrument]
    row = e[e["clinician_id"] == clinician_id]
    if few_peers(run) or (len(row) and pd.notna(row["effect"].iloc[0])
                          and few_peers(run, e["effect"].notna().sum())):
        if clinician_count(run) <= 1:
            return Text(f"No model estimate for you on the {md(instrument)}: it is a "
                        "difference from the practice average, and you are the practice's "
                        "only clinician this period.")
        return Text(f"No model estimate is shown for you on the {md(instrument)}: it is a "
                    "difference from the practice average, and with so few clinicians in it "
                    "your colleagues' figures could be worked out from it.")
    if row.empty or pd.isna(row["effect"].iloc[0]):
        return Text(f"No model estimate for you on the {md(instrument)} this period "
                    "(too little data, or the model could not separate clinicians).")
    r = row.iloc[0]
    meaning = effect_meaning(r["side"])
    return Text(f"On the {md(instrument)}, your estimate is {r['effect']:+.3f} points per week "
                f"(likely between {r['ci_low']:+.3f} and {r['ci_high']:+.3f}, from "
                f"{num(r['n_clients'], 0)} clients): {meaning}. This is one data point among many.")


def questions_to_explore(run: RunFolder, clinician_id: str) -> Text:
    """Questions for the clinician: the supervision ledger's shortfall (an associate behind
    their rule), the owner's check-in questions addressed to them (a new hire is asked about
    their first weeks instead of their caseload: the ramp explains a low figure), clients off
    track, and two open questions; each pointing to whom they can talk with
    (:func:`~perfkit.report.supervisor.talk_to`)."""
    m = run.table("clinician_metrics").set_index("clinician_id")
    who = talk_to(run, clinician_id)
    qs = []
    for _, r in rows_for(run, "supervision_ledger", [clinician_id]).iterrows():
        if known_yes(r.get("behind_on_supervision")):
            short = supervision_shortfall(r)
            qs.append(f"Your supervision is behind your licensure rule: "
                      f"{short[0].lower() + short[1:]}. What would make a regular slot easier "
                      "to keep?")
    hire = new_hire(run, clinician_id)
    if clinician_id in m.index:  # the owner's questions, less what a ramp or time off explains
        qs += questions_for(run, clinician_id, you=True)
    if ramp := slow_ramp_question(hire if ramp_compared(run, clinician_id) else None,
                                  you=True):
        qs.append(ramp)
    t = run.table("not_on_track")
    n = int(clients_by_clinician(t).get(clinician_id, 0))  # clients, not rows
    if n:
        qs.append(f"{num(n, 0)} of your clients {'is' if n == 1 else 'are'} off their expected "
                  f"course. Which of them would it help to talk through with {who}?")
    qs.append("What has gone well this period that you would like to do more of?")
    qs.append("What support, training or change in caseload would help most next period?")
    return Text(f"Questions you may want to explore with {who}:\n\n"
                + "\n".join(f"- {q}" for q in qs))
