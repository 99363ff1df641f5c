"""The clinician's own report (``notebooks/clinician_report.ipynb``): their figures next to the
practice's anonymous spread, their clients who are off track or answered item 9, their model
estimate, and questions to explore. It names no other clinician."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import coverage as cov
from .. import operations as op
from ..safety import md
from .format import (
    GROUP_SESSIONS,
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    cohort_pct,
    date_words,
    is_yes,
    num,
    pct,
    period_words,
    score,
    short_history,
    span_words,
    table,
)
from .practice import check_in_reasons, compared_run
from .run import (
    RunData,
    clients_by_clinician,
    history_words,
    item9_by_client,
    measured,
    no_appointments,
    on_status,
    text_id,
    unavailable,
)

__all__ = ["pick_clinician", "clinician_title", "own_metrics_table", "own_alerts_table",
           "item9_table", "own_effect_text", "questions_to_explore", "own_history_table",
           "OWN_METRICS"]


def pick_clinician(run: RunData, clinician_id: str = "") -> str:
    """The clinician a report is for: the one asked for (anyone employed for any part of the
    period: a clinician who joined or left during it has a report), or the first in the run (so
    the notebook runs on its defaults). An id with no figures for the period is an error in
    plain words saying why."""
    ids = list(run.table("clinician_metrics")["clinician_id"])
    text_id(clinician_id, "clinician_id")
    if not clinician_id:
        return ids[0]
    if clinician_id not in ids:
        roster = run.prepared_table("clinicians").set_index("clinician_id")
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


def clinician_title(run: RunData, clinician_id: str) -> Text:
    cfg = run.config
    pairs = run.tables.get("supervisors")
    supervised = pairs is not None and clinician_id in set(pairs["clinician_id"])
    return Text(f"## {md(run.name_of(clinician_id))}\n\n**For you.** Period {period_words(cfg)}. "
                "Other clinicians appear only as an anonymous spread of values. "
                + ("Your supervisor sees your supervision, goals and clients' progress in the "
                   "supervision pack; the" if supervised else "The")
                + " owner's report shows your scheduling, documentation and outcome figures "
                "but not your clients, goals, reviews or supervision.")


# the self-view of a rostered clinician whom the export never names
NOT_NAMED = ("There are no appointments of yours in this export, so there are no scheduling or "
             "documentation figures for you this period. If you saw clients, the export may "
             "give your name differently from the practice's roster: ask the practice to "
             "check.")

OWN_METRICS = [("utilization", "Utilization", pct), ("non_attendance_rate",
               "Missed appointments", lambda v: pct(v, 1)),
               ("notes_within_72h", "Notes within 72 hours", pct),
               ("median_note_lag_hours", "Median hours to sign a note", num),
               ("notes_open_72h", "Notes open more than 72 hours", lambda v: num(v, 0)),
               ("active_clients", "Clients seen", lambda v: num(v, 0)),
               ("new_clients", "New clients", lambda v: num(v, 0)),
               ("retained_8plus_rate", "New clients retained 8+ sessions", pct)]


def own_metrics_table(run: RunData, clinician_id: str):
    """The clinician's metrics next to the practice median and middle half (anonymous, from
    ``metric_spread``)."""
    m = run.table("clinician_metrics").set_index("clinician_id")
    if no_appointments(m).get(clinician_id, False):
        return Text(NOT_NAMED)
    spread = run.table("metric_spread").set_index("metric")
    by_status = on_status(m)
    gone = unavailable(run)
    limited = m["new_clients_limited"].get(clinician_id, False) \
        if "new_clients_limited" in m else False
    rows = []
    for col, label, fmt in OWN_METRICS:
        if col not in m or col not in spread.index:
            continue
        s = spread.loc[col]
        mine = m.loc[clinician_id, col] if clinician_id in m.index else np.nan
        you = NO_SIGNING_TIMES if col in op.LAG_FIGURES and by_status.get(clinician_id, False) \
            else NOT_IN_EXPORT if col in gone else fmt(mine)
        if col == "retained_8plus_rate" and "retention_cohort" in m and col not in gone:
            you = cohort_pct(mine, m["retention_cohort"].get(clinician_id),
                             run.config.outcomes.min_episodes, "clients in the group")
        if col in cov.NEW_CLIENT_FIGURES:  # new clients an export too short cannot tell apart
            you = short_history(you, limited, count=col == "new_clients")
        rows.append({"Figure": label, "You": you, "Practice median": fmt(s["median"]),
                     "Middle half of clinicians": "–" if not s["clinicians"] else
                     f"{fmt(s['q25'])} to {fmt(s['q75'])}"})
    said = history_words(run, clinician_id=clinician_id)
    return table(pd.DataFrame(rows), " ".join([*said, GROUP_SESSIONS]))


HISTORY_ROWS = [("sessions_attended", "Sessions attended", lambda v: num(v, 0)),
                ("utilization", "Utilization", pct),
                ("non_attendance_rate", "Missed appointments", lambda v: pct(v, 1)),
                ("notes_within_72h", "Notes within 72 hours", pct),
                ("unsigned_overdue_7d", "Notes unsigned > 7 days", lambda v: num(v, 0)),
                ("active_clients", "Clients seen", lambda v: num(v, 0)),
                ("caseload", "Caseload at the end", lambda v: num(v, 0))]


def own_history_table(run: RunData, clinician_id: str):
    """The clinician's own periods side by side, oldest first (``history``), captioned with
    the run this period is compared with (its period and folder). Two runs of one period are
    told apart by their folders."""
    h = run.tables.get("history")
    mine = h[h["clinician_id"] == clinician_id] if h is not None and not h.empty else None
    if mine is None or len(mine) < 2:
        return Text("This is the first run with your figures in this practice's reports "
                    "folder; your earlier periods will appear here side by side as runs "
                    "accumulate.")
    labels = [span_words(r["period_start"], r["period_end"], "%b %Y") for _, r in
              mine.iterrows()]
    cols = {}
    for label, (_, r) in zip(labels, mine.iterrows(), strict=True):
        folder = r.get("run_id")
        if labels.count(label) > 1 and isinstance(folder, str) and folder:
            label += f", run folder {folder}"
        label += " (defined differently)" if is_yes(r["definitions_changed"]) else ""
        cols[label] = [fmt(r[k]) for k, _, fmt in HISTORY_ROWS]
    which = compared_run(run, markdown=False)
    caption = "Oldest first; the last column is this period" + (
        f", compared with {which}." if which else ".")
    return table(pd.DataFrame(cols, index=[label for _, label, _ in HISTORY_ROWS]), caption,
                 rows="Figure")


@measured()
def own_alerts_table(run: RunData, clinician_id: str):
    """The clinician's clients who are not on track (pseudonymous ids)."""
    t = run.table("not_on_track")
    t = t[t["clinician_id"] == clinician_id]
    if t.empty:
        return Text("None of your clients is off track this period.")
    return table(pd.DataFrame({
        "Client": t["client_id"], "Measure": t["instrument"],
        "First score": t["first_score"].map(score), "Latest score": t["last_score"].map(score),
        "Latest": t["last_at"],
        "Expected by now": t["expected"].map(lambda v: num(v, 1)), "Why listed": t["reason"],
    }))


@measured()
def item9_table(run: RunData, clinician_id: str):
    """PHQ-9 item 9 responses above zero for the clinician's clients, one row per client
    (:func:`~perfkit.report.run.item9_by_client`, as in the supervision pack)."""
    t = run.table("item9_flags")
    t = t[t["clinician_id"] == clinician_id]
    if t.empty:
        return Text("None of your clients answered item 9 above zero this period.")
    return table(item9_by_client(t), "Item 9 asks about thoughts of being better off dead or "
                 "of hurting oneself; the highest answer is how often, in the client's words.")


@measured()
def own_effect_text(run: RunData, clinician_id: str, instrument: str = "PHQ-9") -> Text:
    e = run.table("clinician_effects")
    row = e[(e["clinician_id"] == clinician_id) & (e["instrument"] == instrument)]
    if row.empty or pd.isna(row["effect"].iloc[0]):
        return Text(f"No model estimate for you on the {md(instrument)} this period "
                    "(too little data, or the model could not separate clinicians).")
    r = row.iloc[0]
    better = run.config.instruments[instrument].better
    crosses = r["ci_low"] <= 0 <= r["ci_high"]
    faster = (r["effect"] < 0) == (better == "lower")
    if crosses:
        meaning = ("the likely range includes zero: your clients' scores changed at a rate the "
                   "data cannot tell apart from the practice average")
    else:
        meaning = (f"your clients' scores {'improved faster' if faster else 'improved more slowly'}"
                   " than the practice average, after allowing for how ill they were at intake")
    return Text(f"On the {md(instrument)}, your estimate is {r['effect']:+.3f} points per week "
                f"(likely between {r['ci_low']:+.3f} and {r['ci_high']:+.3f}, from "
                f"{num(r['n_clients'], 0)} clients): {meaning}. This is one data point among many.")


def questions_to_explore(run: RunData, clinician_id: str) -> Text:
    m = run.table("clinician_metrics").set_index("clinician_id")
    qs = []
    if clinician_id in m.index:
        qs += check_in_reasons(m.loc[clinician_id], run.config, you=True)
    t = run.table("not_on_track")
    n = int(clients_by_clinician(t).get(clinician_id, 0))  # clients, not rows
    if n:
        qs.append(f"{num(n, 0)} of your clients {'is' if n == 1 else 'are'} off their expected "
                  "course. Which of them would it help to talk through in supervision?")
    qs.append("What has gone well this period that you would like to do more of?")
    qs.append("What support, training or change in caseload would help most next period?")
    return Text("\n".join(f"- {q}" for q in qs))
