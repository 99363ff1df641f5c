"""The owner's practice report (``notebooks/practice_report.ipynb``), section by section: the
first screen (who might welcome support, and why), who might welcome a check-in (one table),
the period in plain numbers, operations per clinician, outcomes, the models in words, licences
and renewals, and the data's quality."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from .. import operations as op
from ..config import Config
from ..history import NEWLY, NO_LONGER, STILL
from ..safety import md
from ..trends import TREND_CONCERN
from .figures import RAMP_PANELS
from .format import (
    GROUP_SESSIONS,
    NO_APPOINTMENTS,
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    cohort_pct,
    count,
    date_words,
    known_yes,
    num,
    pct,
    period_words,
    short_history,
    span_words,
    table,
    text_or,
    trend_words,
    yes_no,
)
from .run import (
    RunData,
    caveats,
    coverage_span,
    few_peers,
    history_words,
    measured,
    no_appointments,
    on_status,
    ramp_by_hire,
    ramping_starts,
    unavailable,
)
from .supervisor import ce_words, compliance_words
from .teams import TEAM, Shortened, by_team, is_large, shortened, team_of

__all__ = ["practice_title", "documentation_basis", "period_summary", "left_out_words",
           "operations_table",
           "check_in_reasons", "stretched_reasons", "check_in_table", "check_in_questions",
           "check_ins",
           "questions_for", "first_screen", "support_rows", "REASONS", "signals",
           "flag_detail", "cell_states", "legend", "marked",
           "MARKS", "outcomes_table",
           "model_section", "limits_note", "compared_period", "compared_run",
           "ramp_words", "plain_model_words", "funnel_intro",
           "data_quality_table", "renewals_table", "associates_compliance"]


def practice_title(run: RunData) -> Text:
    cfg = run.config
    return Text(f"## {md(cfg.practice_name)}\n\nFor the practice owner and clinical director. "
                f"Period {period_words(cfg)}.")


def documentation_basis(run: RunData) -> str:
    """What the documentation figures rest on, in plain words."""
    by_status = on_status(run.table("clinician_metrics"))
    doc = run.meta.get("documentation") or {}
    if not doc.get("known", True):
        return "nothing (see About this export)"
    if not by_status.any():
        return "the times notes were signed"
    when = pd.Timestamp(doc["exported_at"]) if doc.get("exported_at") else None
    at = f"the export of {when:%d %B %Y, %H:%M}" if when is not None else "the export"
    some = "" if by_status.all() else " for some clinicians"
    return (f"note statuses (signed, draft, missing) as of {at}{some}; the export has no "
            "signing times, so how quickly notes were signed is not known")


def _estimated_words(p: pd.Series, default_minutes: int | None = None) -> str:
    """How much of the attended hours are estimated, and which part of that is the default
    session length (no length in the export at all) rather than billing codes' usual lengths
    or the minutes a service name states."""
    hours, est = p["hours_attended"], p["hours_estimated"]
    if not hours or not est or pd.isna(est):
        return ""
    default = p.get("hours_default", 0.0)
    default = 0.0 if pd.isna(default) else float(default)
    length = f" of {default_minutes} minutes" if default_minutes else ""
    if not default:
        return (f" ({pct(est / hours)} of the hours are estimated from billing codes or "
                "service names: the export gave no session lengths)")
    said = (f"at the default session length{length}, set in the parameters, as the export "
            "gave no length at all")
    if est - default > 1e-9:
        return (f" ({pct(est / hours)} of the hours are estimated: {pct(default / hours)} "
                f"{said}; {pct((est - default) / hours)} from billing codes or service names)")
    return f" ({pct(default / hours)} of the hours are {said})"


def _flag_words(cfg: Config) -> dict[str, str]:
    o, w = cfg.operations, cfg.workload
    return {
        "flag_low_utilization": f"utilization below {pct(o.utilization_alert)}",
        "over_capacity": f"utilization above {pct(w.over_capacity)} of the hours offered",
        "flag_high_non_attendance": f"missed appointments at {pct(o.non_attendance_alert)} or "
                                    "more",
        "flag_late_notes": f"fewer than {pct(o.notes_within_72h_alert)} of notes signed within "
                           f"{o.note_standard_hours:g} hours",
        "flag_unsigned_overdue": f"notes unsigned for more than {o.note_overdue_days:g} days "
                                 f"(at least {o.unsigned_overdue_min_notes}, and at least "
                                 f"{pct(o.unsigned_overdue_share, 1)} of notes due)",
        "flag_over_goal": f"sessions {pct(w.over_goal_margin)} or more above the weekly goal in "
                          f"{w.over_goal_weeks} of {w.over_goal_window} weeks",
        "flag_no_time_off": f"no time off recorded in {w.time_off_months} months",
        "flag_caseload_growing": f"caseload growing for {w.caseload_growing_weeks} weeks or more",
    }


_UNITS = {"unsigned_overdue_7d": ("note", "notes"), "weeks_over_goal": ("week", "weeks"),
          "days_off_recent": ("day", "days"), "caseload_growing_weeks": ("week", "weeks")}


def _value(metric: str, v) -> str:
    """A flagged metric's value in words: a percentage, or a count with its unit."""
    if v is None or pd.isna(v) or v == "":
        return "–"
    if metric in op.DISPLAY_DIGITS:  # as the tables show it
        return pct(float(v), op.DISPLAY_DIGITS[metric])
    one, many = _UNITS.get(metric, ("", ""))
    n = float(v)
    return f"{n:g} {one if n == 1 else many}".strip()


def _compared(run: RunData) -> pd.DataFrame:
    """The rows of ``history.csv`` for the run this one is compared with (empty: none)."""
    h = run.tables.get("history")
    if h is None or h.empty or "compared_with" not in h:
        return pd.DataFrame(columns=["period_start", "period_end", "clinician_id",
                                     "definitions_changed"])
    return h[h["compared_with"].fillna(False)]


def compared_period(run: RunData) -> str | None:
    """The period of the run this one is compared with, in words (None: no earlier run)."""
    was = _compared(run)
    if was.empty:
        return None
    return span_words(was["period_start"].iloc[0], was["period_end"].iloc[0])


def compared_run(run: RunData, *, markdown: bool = True) -> str | None:
    """The run this one is compared with, in words: its period and, when another earlier run
    of that period is in ``history.csv``, the day it was written (the ``run_created`` column,
    a date in the typed table). A run folder's name never reaches a
    report. None: no earlier run. The words hold nothing to escape, so ``markdown`` (plain
    text for a table caption) gives the same."""
    when = compared_period(run)
    if when is None:
        return None
    was = _compared(run)
    h = run.table("history")
    same = h[~h["this_run"].fillna(False) & (h["period_start"] == was["period_start"].iloc[0])
             & (h["period_end"] == was["period_end"].iloc[0])]
    key = next((k for k in ("run_id", "run_created") if k in h), None)
    day = was["run_created"].iloc[0] if "run_created" in was else None
    if key is None or same[key].nunique(dropna=False) < 2 or pd.isna(day):
        return f"the run for {when}"
    return f"the run for {when} (written {date_words(day)})"


def _comings_and_goings(run: RunData) -> tuple[list[str], list[str], int]:
    """The clinicians of the compared run who are not in this one and left during this
    period (with their last day), and those new in this one who joined during it (with their
    start), one phrase each: (leavers, joiners); a clinician with no date on the roster is said to
    be "not in this run" or "new in this run". A leave or start outside this period (a
    clinician who left during the compared period, say) is not named: the phrases are about
    this period. Both empty when there is nobody to name. The third: how many clinicians of
    the compared run are not on this run's roster (counted, never named: a name comes from
    this roster only, and an earlier run's id is not one)."""
    was = _compared(run)
    if was.empty:
        return [], [], 0
    h = run.table("history")
    then = set(was["clinician_id"])
    now = set(h.loc[h["this_run"].fillna(False), "clinician_id"])
    roster = run.prepared_table("clinicians").set_index("clinician_id")
    start, end = pd.Timestamp(run.config.period_start), pd.Timestamp(run.config.period_end)

    def day_of(cid: str, column: str):
        """The roster's day (None: not recorded; False: outside this period)."""
        day = roster[column].get(cid) if column in roster else None
        if day is None or pd.isna(day):
            return None
        return day if start <= pd.Timestamp(day) < end else False

    left, joined = [], []
    gone = then - now - set(roster.index)  # not on this roster: counted, never named (an
    for c in sorted(then - now - gone, key=run.name_of):  # earlier run's id is not a name)
        if (d := day_of(c, "end_date")) is not False:
            left.append(f"**{md(run.name_of(c))}** " + (f"left on {date_words(d)}" if d
                                                       is not None else "is not in this run"))
    for c in sorted(now - then, key=run.name_of):
        if (d := day_of(c, "start_date")) is not False:
            joined.append(f"**{md(run.name_of(c))}** " + (f"joined on {date_words(d)}" if d
                                                         is not None else "is new in this run"))
    return left, joined, len(gone)


_RAMP_WORDS = {
    "more slowly": "Ramping more slowly than the earlier hires did",
    "as expected": "Ramping as the earlier hires did",
    "faster": "Ramping faster than the earlier hires did",
}


def funnel_intro(run: RunData, instrument: str = "PHQ-9") -> Text:
    """The lines under the owner's funnel heading: how to read the plot, or, with fewer than
    ``privacy.min_peers`` clinicians drawn (:func:`~perfkit.report.figures.funnel_figure`
    shows a table then), how to read the table."""
    f = run.tables.get("funnel")
    f = f[f["instrument"] == instrument] if f is not None and "instrument" in f else None
    n = f["reliable_improvement_rate"].notna().sum() if f is not None else 0
    if f is not None and n and few_peers(run, n):
        return Text("Each row is a clinician. The range chance alone allows is how far from "
                    "the practice rate a clinician could be by chance, given how many clients "
                    "they saw: inside it is consistent with the practice rate, above it better "
                    "than expected, below it worse. Clinicians with fewer than the minimum "
                    "number of clients are not listed.")
    return Text("Each dot is a clinician. The dashed and dotted lines show how far from the "
                "practice rate a clinician could be by chance alone, given how many clients "
                "they saw: dots between them are consistent with the practice rate; a dot "
                "above them is better than expected, below them worse. Clinicians with fewer "
                "than the minimum number of clients are not shown.")


def ramp_words(run: RunData) -> Text:
    """The new hires of ``ramp.csv`` in words, beside the ramp figure: who is ramping more
    slowly, as expected or faster than the practice's earlier hires (their mean utilization
    over the weeks compared, against the earlier hires' in the same weeks: the ratio the
    status rests on), and who has too few earlier hires to compare with. More new hires than
    the figure gives a panel each (:data:`~perfkit.report.figures.RAMP_PANELS`): those
    ramping more slowly are named, the others counted, as the figure draws them."""
    hires = ramp_by_hire(run).set_index("clinician_id")
    if hires.empty:
        return Text(f"No clinician started in the last {run.config.ramp.recent_months} months.")
    status = hires["ramp"]
    n = len(status)
    parts = [f"{num(n, 0)} {'clinician' if n == 1 else 'clinicians'} started in the last "
             f"{run.config.ramp.recent_months} months."]
    many = n > RAMP_PANELS
    for kind, label in _RAMP_WORDS.items():
        if many and kind != "more slowly":
            if k := int((status == kind).sum()):
                parts.append(f"{label}: {count(k, 'clinician')}.")
            continue
        rows = sorted(hires[status == kind].iterrows(), key=lambda x: run.name_of(x[0]))
        if many:  # a long list: the figures alone, what they are said once before it
            who = [f"**{md(run.name_of(cid))}** {pct(h['utilization'])} against "
                   f"{pct(h['practice_utilization'])}" for cid, h in rows]
            if who:
                parts.append(f"{label} ({count(len(who), 'clinician')}; each one's "
                             "utilization on average over their first weeks, against the "
                             "earlier hires' in the same weeks): " + "; ".join(who) + ".")
            continue
        who = [f"**{md(run.name_of(cid))}** ({pct(h['utilization'])} utilization on average "
               f"over {h['weeks']} of their first weeks, against "
               f"{pct(h['practice_utilization'])} for earlier hires in the same weeks)"
               for cid, h in rows]
        if who:
            parts.append(f"{label}: " + "; ".join(who) + ".")
    few = sorted(status.index[~status.isin(list(_RAMP_WORDS))], key=run.name_of)
    if few:
        parts.append(f"Too few earlier hires (fewer than {run.config.ramp.min_hires} with data "
                     "for the same weeks) to compare with: "
                     + (count(len(few), "clinician") if many else
                        ", ".join(f"**{md(run.name_of(c))}**" for c in few)) + ".")
    return Text(" ".join(parts[:1]) + "\n\n" + "\n\n".join(parts[1:]))


def _workforce_words(run: RunData) -> str:
    """Starters, leavers, turnover and tenure in one line (no one named)."""
    t = run.tables.get("workforce")
    if t is None or t.empty:
        return ""
    w = t.iloc[0]
    left = int(w["leavers_12m"])
    return (f"{num(w['clinicians_at_start'], 0)} at the start of the period, "
            f"{num(w['starters'], 0)} joined, {num(w['leavers'], 0)} left, "
            f"{num(w['clinicians_at_end'], 0)} at the end. Over the last 12 months "
            f"{num(left, 0)} "
            f"{'clinician' if left == 1 else 'clinicians'} left: a turnover of "
            f"{pct(w['turnover_12m'])} of the average headcount "
            f"({num(w['average_headcount_12m'], 1)}). Median time at the practice "
            f"{num(w['median_tenure_years'], 1)} years.")


def period_summary(run: RunData):
    """The period in a few plain numbers, from ``practice_summary`` (clients counted once
    across clinicians)."""
    p = run.table("practice_summary").iloc[0]
    gone = unavailable(run)
    no_times = p["clinicians_on_note_status"] == p["clinicians"] and p["clinicians"] > 0
    rows = {
        "Period": period_words(run.config),
        "Clinicians": num(p["clinicians"], 0),
        **({"Staff retention": w} if (w := _workforce_words(run)) else {}),
        "Sessions attended": num(p["sessions_attended"], 0),
        "Utilization (attended hours / available hours)": pct(p["utilization"])
        + _estimated_words(p, run.config.services.default_session_minutes),
        "Missed appointments (no-shows and late cancellations)":
            NOT_IN_EXPORT if "non_attendance_rate" in gone
        else _value("non_attendance_rate", p["non_attendance_rate"]),
        "Appointments the clinicians cancelled (not counted as missed)":
            NOT_IN_EXPORT if "clinician_cancelled" in gone else num(p["clinician_cancelled"], 0),
        "Notes signed within 72 hours": NOT_IN_EXPORT if "notes_within_72h" in gone
        else NO_SIGNING_TIMES if no_times else pct(p["notes_within_72h"]),
        "Notes open more than 72 hours": NOT_IN_EXPORT if "notes_open_72h" in gone
        else num(p["notes_open_72h"], 0),
        f"Notes unsigned for more than {run.config.operations.note_overdue_days:g} days":
            NOT_IN_EXPORT if "unsigned_overdue_7d" in gone
        else num(p["unsigned_overdue_7d"], 0),
        "Documentation figures rest on": documentation_basis(run),
        **({"About this export": " ".join(said)} if (said := caveats(run)) else {}),
        **({"Left out of this run": w} if (w := left_out_words(run)) else {}),
        "Clients seen (each client once)": num(p["clients_seen"], 0),
        "New clients (first session at the practice)":
            short_history(num(p["new_clients"], 0), p.get("new_clients_limited"), count=True),
        **({"History in this export": " ".join(said)} if (said := history_words(run)) else {}),
    }
    return table(pd.DataFrame({"This period": list(rows.values())}, index=list(rows)),
                 rows="Figure")


def left_out_words(run: RunData) -> str:
    """The rows of clinicians the roster could not use, left out of the run on purpose
    (``--skip-unknown-clinicians``), in one sentence: how many rows, whose, and why. Plain
    text: it is a table cell, which the table escapes."""
    left = run.meta.get("clinicians_left_out") or []
    if not left:
        return ""
    n = sum(e["rows"] for e in left)
    who = "; ".join(
        f"'{e['clinician']}' ({num(e['rows'], 0)} row{'s' * (e['rows'] != 1)}, "
        + ("on the roster, but their roster row is incomplete or rejected" if e["on_roster"]
           else "not on the roster" + (f"; perhaps '{e['closest']}'" if e["closest"]
                                       else "")) + ")" for e in left[:10])
    more = f"; and {num(len(left) - 10, 0)} more" if len(left) > 10 else ""
    return (f"{num(n, 0)} rows of the export name clinicians the roster could not use, and "
            f"were left out of every figure: {who}{more}. Add them to the roster, or correct "
            "the name, and run again to include them.")


# -- flags with meaning: state, mark, size and threshold ---------------------------------------

# A flag's mark: a symbol and a word as well as a colour, so print in grey and a screen reader
# tell the states apart. "watch" is the utilization review band: not a flag, no check-in.
MARKS = {"low": "▼ low", "high": "▲ high", "watch": "● watch"}
SHADES = {"low": "background-color: #fbd5b5; font-weight: bold",
          "high": "background-color: #fbd5b5; font-weight: bold",
          "watch": "background-color: #fff3c4"}


def flag_detail(flag: str, row, cfg: Config) -> str:
    """One flag of a clinician in words, with its direction, its size and the threshold it is
    past, e.g. "utilization 62%, below 70%". The values are the displayed ones (the flags
    compare them as displayed: :func:`perfkit.operations.beyond`)."""
    o, w = cfg.operations, cfg.workload
    d, get = op.DISPLAY_DIGITS, row.get
    if flag == "flag_low_utilization":
        return (f"utilization {pct(get('utilization'), d['utilization'])}, below "
                f"{pct(o.utilization_alert)}")
    if flag == "over_capacity":
        return (f"utilization {pct(get('utilization'), d['utilization'])} of the hours offered, "
                f"above {pct(w.over_capacity)}")
    if flag == "flag_high_non_attendance":
        return (f"missed appointments "
                f"{pct(get('non_attendance_rate'), d['non_attendance_rate'])}, at or above "
                f"{pct(o.non_attendance_alert, d['non_attendance_rate'])}")
    if flag == "flag_late_notes":
        return (f"notes signed within {o.note_standard_hours:g} hours "
                f"{pct(get('notes_within_72h'), d['notes_within_72h'])}, below "
                f"{pct(o.notes_within_72h_alert)}")
    if flag == "flag_unsigned_overdue":
        n = get("unsigned_overdue_7d")
        share = get("unsigned_overdue_share", np.nan)
        of = f" ({pct(share, 1)} of notes due)" if pd.notna(share) else ""
        return (f"{_value('unsigned_overdue_7d', n)} unsigned for more than "
                f"{o.note_overdue_days:g} days{of}, at or above {o.unsigned_overdue_min_notes} "
                f"notes and {pct(o.unsigned_overdue_share, 1)}")
    if flag == "flag_over_goal":
        return (f"sessions {pct(w.over_goal_margin)} or more above the weekly goal in "
                f"{num(get('weeks_over_goal'), 0)} of the last {w.over_goal_window} weeks, at "
                f"or above {w.over_goal_weeks}")
    if flag == "flag_no_time_off":
        return f"no time off recorded in {w.time_off_months} months"
    if flag == "flag_caseload_growing":
        weeks = _value("caseload_growing_weeks", get("caseload_growing_weeks"))
        return f"caseload growing for {weeks} in a row, at or above {w.caseload_growing_weeks}"
    return _flag_words(cfg).get(flag, flag)


def cell_states(m: pd.DataFrame) -> pd.DataFrame:
    """The state of each thresholded cell of the operations table, per clinician row of
    ``clinician_metrics``: ``low``, ``high``, ``watch`` or empty (within the thresholds). Read
    from the run's flags (compared as displayed), never recomputed here."""
    def flag(col):
        return m[col].fillna(False).to_numpy(bool) if col in m else np.zeros(len(m), bool)

    band = m["utilization_band"].astype(str).to_numpy() if "utilization_band" in m else \
        np.array([""] * len(m))
    util = np.where(flag("flag_low_utilization"), "low",
                    np.where(flag("over_capacity"), "high",
                             np.where(band == "review", "watch", "")))
    return pd.DataFrame({
        "Utilization": util,
        "Missed appointments": np.where(flag("flag_high_non_attendance"), "high", ""),
        "Notes within 72 h": np.where(flag("flag_late_notes"), "low", ""),
        "unsigned": np.where(flag("flag_unsigned_overdue"), "high", ""),
    }, index=m.index)


def marked(text: str, state: str) -> str:
    """A displayed value with its mark in front: "▼ low 62%"; unmarked within thresholds."""
    return f"{MARKS[state]} {text}" if state in MARKS and text not in ("–", "") else text


def legend(cfg: Config) -> str:
    """What each mark of the operations table means, with the thresholds from the parameters."""
    o, w = cfg.operations, cfg.workload
    return (f"{MARKS['low']} / {MARKS['high']}: outside the practice's thresholds, worth a "
            f"conversation. {MARKS['watch']}: utilization from {pct(o.utilization_alert)} to "
            f"below {pct(o.utilization_review)}, the review band: worth watching, not a flag. "
            f"Thresholds (parameters): utilization below {pct(o.utilization_alert)} or above "
            f"{pct(w.over_capacity)} of the hours offered; missed appointments at or above "
            f"{pct(o.non_attendance_alert, op.DISPLAY_DIGITS['non_attendance_rate'])}; notes "
            f"within {o.note_standard_hours:g} h below "
            f"{pct(o.notes_within_72h_alert)}; notes unsigned for more than "
            f"{o.note_overdue_days:g} days: {o.unsigned_overdue_min_notes} or more and at "
            f"least {pct(o.unsigned_overdue_share, 1)} of the notes due. Values are compared as "
            "shown (70% is not below 70%). The shading repeats the marks in colour.")


def _worsening(m: pd.DataFrame) -> np.ndarray:
    """Clinicians with a trend in the direction that is a concern."""
    out = np.zeros(len(m), dtype=bool)
    for metric, bad in TREND_CONCERN.items():
        if f"trend_{metric}" in m and metric in ("utilization", "non_attendance_rate",
                                                 "notes_within_72h"):
            out |= (m[f"trend_{metric}"] == bad).to_numpy()
    return out


def operations_table(run: RunData):
    """Operational metrics per clinician, in name order (not a ranking), with trend labels;
    with teams (the roster's ``team``), by team and then name, with a Team column. A large
    practice (more than ``report.large_practice`` clinicians) shows only the clinicians with
    something to look at (a marked cell, a worsening trend, a check-in, no appointments in the
    export), with every clinician in a table that opens below (:func:`~perfkit.report.teams.
    shortened`)."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    order, team = by_team(run, m["clinician_id"], m["name"])
    grouped = team is not None
    m = (m.assign(_team=team) if grouped else m).iloc[order]
    unsigned_col = f"Notes unsigned > {run.config.operations.note_overdue_days:g} days"
    out = pd.DataFrame({
        "Clinician": m["name"],
        **({TEAM: m["_team"]} if grouped else {}),
        "Utilization": m["utilization"].map(pct),
        "Utilization trend": m["trend_utilization"].map(
            lambda v: trend_words("utilization", v, arrow=True)),
        "Missed appointments": m["non_attendance_rate"].map(
            lambda v: _value("non_attendance_rate", v)),
        "Missed appointments trend": m["trend_non_attendance_rate"].map(
            lambda v: trend_words("non_attendance_rate", v, arrow=True)),
        "Notes within 72 h": m["notes_within_72h"].map(pct).where(
            ~on_status(m), "no signing times"),
        "Notes trend": m["trend_notes_within_72h"].map(
            lambda v: trend_words("notes_within_72h", v, arrow=True)).where(
            m["notes_within_72h"].notna() | ~on_status(m) & ("notes_within_72h" not in
                                                              unavailable(run)), "–"),
        "Notes open > 72 h": m["notes_open_72h"].map(lambda v: num(v, 0))
        if "notes_open_72h" in m else "–",
        unsigned_col: m["unsigned_overdue_7d"].map(lambda v: num(v, 0)),
        "Clients seen": m["active_clients"].map(lambda v: num(v, 0)),
        "New clients": [short_history(num(v, 0), lim, count=True) for v, lim in
                        zip(m["new_clients"], m.get("new_clients_limited", [False] * len(m)),
                            strict=True)],
        "Retained 8+ sessions": [short_history(cohort_pct(
            v, n, run.config.outcomes.min_episodes, "clients in the group"), lim)
            for v, n, lim in zip(m["retained_8plus_rate"],
                                 m.get("retention_cohort", [np.nan] * len(m)),
                                 m.get("new_clients_limited", [False] * len(m)),
                                 strict=True)],
    })
    short = "new_clients_limited" in m and m["new_clients_limited"].fillna(False).any()
    absent = no_appointments(m).to_numpy()
    if absent.any():  # a rostered clinician the export never names: no zeros, no trend words
        out = out.astype(object)
        out.loc[absent, out.columns[2 if grouped else 1:]] = "–"
        # a roster name close to a name whose rows were left out: probably the same person
        near = {e["closest"] for e in run.meta.get("clinicians_left_out") or []
                if e.get("closest")}
        out.loc[absent, "Utilization"] = [
            "no appointments under this name (see Left out of this run above)"
            if run.written_name(cid) in near else NO_APPOINTMENTS
            for cid in m["clinician_id"][absent]]
    states = cell_states(m).rename(columns={"unsigned": unsigned_col})
    states.loc[absent] = ""  # nothing known: no mark
    for col in states:
        out[col] = [marked(v, s) for v, s in zip(out[col], states[col], strict=True)]

    def shade(col, states=states):
        if col.name not in states:
            return [""] * len(col)
        return [SHADES.get(s, "") for s in states[col.name]]

    caption = (legend(run.config)
               + (" New clients marked \"at most\" and retention marked \"short history\" "
                  "rest on an export that begins too late to tell new clients from "
                  "returning ones (see \"History in this export\" above)." if short else ""))
    if not is_large(run):
        return table(out, caption, apply=shade)
    # a large practice: the rows with a figure beyond the practice's limits (the watch band
    # is a softer mark: counted, not listed) or a trend that is a concern; the check-in table
    # above already lists everyone with a reason, and its reasons beyond these columns
    notable = (states.isin(["low", "high"]).any(axis=1).to_numpy() | _worsening(m) | absent)
    return shortened(out, notable, caption, apply=shade, states=states,
                     why="a figure beyond the practice's limits, a trend that is a concern, or "
                         "no appointments", rest="have no figure beyond the limits and no "
                         "trend that is a concern")


# -- check-ins in order of need ------------------------------------------------------------------

# the trend labels that are a concern (sustained worsening), with the figure in words
WORSENING = {f"trend_{m}": (TREND_CONCERN[m], what) for m, what in (
    ("utilization", "utilization"), ("notes_within_72h", "notes signed within 72 hours"),
    ("non_attendance_rate", "missed appointments"))}
FLAG_SIGNALS = ("flag_low_utilization", "over_capacity", "flag_high_non_attendance",
                "flag_late_notes", "flag_unsigned_overdue", "flag_over_goal", "flag_no_time_off",
                "flag_caseload_growing")
UTILIZATION_SIGNALS = frozenset({"flag_low_utilization", "over_capacity", "trend_utilization",
                                 "flag_over_goal"})
DOCUMENTATION_SIGNALS = frozenset({"flag_late_notes", "flag_unsigned_overdue",
                                   "trend_notes_within_72h"})
# what context explains: a new hire's ramp explains a low or falling utilization and a growing
# caseload; recorded time off explains notes waiting and a falling trend
RAMP_EXPLAINS = frozenset({"flag_low_utilization", "trend_utilization",
                           "flag_caseload_growing"})
# Time off explains a documentation backlog; it does not explain utilization, which already
# leaves the days off out of the hours offered.
LEAVE_EXPLAINS = DOCUMENTATION_SIGNALS


def _supported(signal: str, row) -> bool:
    """Whether the export supports a prompt from this signal: no documentation prompt when
    the export's documentation is not known (``documentation_source`` ``not_known``), no
    utilization or sessions prompt for a clinician the export never names."""
    if signal in DOCUMENTATION_SIGNALS and row.get("documentation_source") == op.NOT_KNOWN:
        return False
    return not (signal in UTILIZATION_SIGNALS and "appointments_in_export" in row
                and pd.notna(row.get("appointments_in_export"))
                and float(row["appointments_in_export"]) == 0)


def signals(row) -> list[str]:
    """A clinician's flags (true) and worsening trends the export supports, flags first."""
    out = [f for f in FLAG_SIGNALS if known_yes(row.get(f))]
    out += [t for t, (bad, _) in WORSENING.items() if row.get(t) == bad]
    return [s for s in out if _supported(s, row)]


def _prompts(row: pd.Series, cfg: Config, you: bool,
             on: set | None = None) -> list[tuple[frozenset, str]]:
    """Each question with the signals it rests on (``on``: the signals to ask about, by
    default all of :func:`signals`); each rate as the tables show it."""
    ops = cfg.operations

    def shown(metric: str) -> str:
        return pct(row[metric], op.DISPLAY_DIGITS[metric])

    on = set(signals(row)) if on is None else set(on)
    they, their = ("you", "your") if you else ("they", "their")
    q = []
    if keys := on & {"trend_utilization", "flag_low_utilization"}:
        q.append((keys, f"{'Your utilization' if you else 'Utilization'} is "
                        f"{shown('utilization')}"
                  + (" and has been falling for several weeks" if "trend_utilization" in keys
                     else "") + f". Is the caseload what {they} want it to be, or is something "
                  "making sessions harder to fill?"))
    if keys := on & {"trend_notes_within_72h", "flag_late_notes"}:
        q.append((keys, f"{shown('notes_within_72h')} of "
                        f"{'your ' if you else ''}notes "
                        f"were signed within {ops.note_standard_hours:g} hours. Would "
                        "protected documentation time or a simpler note template help?"))
    if keys := on & {"flag_unsigned_overdue"}:
        n = int(row["unsigned_overdue_7d"])
        q.append((keys, f"{num(n, 0)} {'of your ' if you else ''}"
                        f"{'note has' if n == 1 else 'notes have'} been unsigned for more "
                        f"than {ops.note_overdue_days:g} days. Is there a backlog {they} would "
                        "like help with?"))
    if keys := on & {"flag_high_non_attendance", "trend_non_attendance_rate"}:
        q.append((keys, f"{shown('non_attendance_rate')} of "
                        f"{their + ' ' if you else ''}appointments were missed. Are reminders, "
                        "scheduling or client circumstances getting in the way?"))
    return q + _stretched(row, cfg, you, on)


def check_in_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """Questions a clinician's figures raise, for the owner about the clinician or, with
    ``you``, for the clinician's own report, addressed to them. Only figures the export
    supports raise one (:func:`signals`)."""
    return [text for _, text in _prompts(row, cfg, you)]


def _stretched(row, cfg: Config, you: bool, on: set) -> list[tuple[frozenset, str]]:
    w, q = cfg.workload, []
    they, their = ("you", "your") if you else ("they", "their")
    stretched = "You might be stretched" if you else "Might be stretched"
    if "over_capacity" in on:
        q.append(({"over_capacity"}, f"{stretched}: {their} utilization is "
                  f"{pct(row['utilization'])} of the hours offered for clients. Is the "
                  "capacity in the roster still right, or is the week fuller than planned?"))
    if "flag_over_goal" in on:
        q.append(({"flag_over_goal"}, f"{stretched}: {their} attended sessions were "
                  f"{pct(w.over_goal_margin)} or more above the weekly goal in "
                  f"{int(row['weeks_over_goal'])} of the last {w.over_goal_window} weeks. Is "
                  "that a choice, or would fewer sessions help?"))
    if "flag_no_time_off" in on:
        q.append(({"flag_no_time_off"}, f"{stretched}: no time off is recorded in the last "
                  f"{w.time_off_months} months. Is a break planned?"))
    if "flag_caseload_growing" in on:
        q.append(({"flag_caseload_growing"}, f"{stretched}: {their} caseload has grown for "
                  f"{int(row['caseload_growing_weeks'])} weeks in a row (now "
                  f"{num(row['caseload'], 0)} clients). Is that the caseload {they} want?"))
    return q


def stretched_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """"Might be stretched" prompts from the workload signals (parameters ``workload``), about
    the clinician or, with ``you``, to them."""
    return [text for _, text in _stretched(row, cfg, you, set(signals(row)))]


def questions_for(run: RunData, clinician_id: str, *, you: bool = False,
                  ins: pd.DataFrame | None = None) -> list[str]:
    """The questions the owner's check-in list asks about one clinician, in the reader's
    wording (``you``: addressed to the clinician): the supervision pack and the self-view ask
    exactly these, so no page asks what another gives as context (a ramp, time off)."""
    ins = check_ins(run) if ins is None else ins
    hit = ins[ins["clinician_id"] == clinician_id] if len(ins) else ins
    if hit.empty:
        return []
    r = hit.iloc[0]
    return [text for _, text in _prompts(r["row"], run.config, you, set(r["asking"]))]


def _ramping(run: RunData) -> dict[str, str]:
    """The new hires (:func:`~perfkit.report.run.ramping_starts`) with their ramp in words."""
    starts = ramping_starts(run)
    if not starts:
        return {}
    status = ramp_by_hire(run).set_index("clinician_id")["ramp"]
    return {cid: f"started on {date_words(day)}: "
                 + _RAMP_WORDS.get(status.get(cid), "In their first months").lower()
            for cid, day in starts.items()}


def _leave(run: RunData) -> dict[str, int]:
    """Calendar days of recorded time off in the period, per clinician, where at least
    ``operations.leave_context_days``."""
    if not run.provided("time_off"):
        return {}
    try:
        t = run.prepared_table("time_off")
    except (KeyError, OSError):
        return {}
    lo = pd.Timestamp(run.config.period_start)
    hi = pd.Timestamp(run.config.period_end) - pd.Timedelta(days=1)
    days: dict[str, set] = {}
    for cid, a, b in zip(t.get("clinician_id", []), t.get("start_date", []),
                         t.get("end_date", []), strict=True):
        if pd.isna(a) or pd.isna(b):
            continue
        a, b = max(pd.Timestamp(a), lo), min(pd.Timestamp(b), hi)
        if a <= b:
            days.setdefault(str(cid), set()).update(pd.date_range(a, b))
    need = run.config.operations.leave_context_days
    return {c: len(d) for c, d in days.items() if len(d) >= need}


CHANGED, STANDING, FLAGGED, CONTEXT = "changed", "standing", "flagged", "context"


def check_ins(run: RunData) -> pd.DataFrame:
    """One row per clinician with something to ask or to know: ``group`` (``changed``: newly
    flagged since the compared run or worsening for several weeks; ``standing``: flagged in
    the compared run too; ``flagged``: flagged with no earlier figure to compare;
    ``context``: every signal explained by a ramp or recorded time off), the signals by kind
    (``new``, ``worsening``, ``standing``, ``flagged``, ``explained``: lists of signal
    names), ``ramp`` and ``leave_days`` (the context), ``prompts`` (the questions) and
    ``name``; in order of need: group, then the number of signals asked about, then name."""
    m = run.table("clinician_metrics")
    c = run.tables.get("changes")
    change = {} if c is None or c.empty else {
        (r["clinician_id"], r["flag"]): r["change"] for _, r in c.iterrows()}
    ramping, leave = _ramping(run), _leave(run)
    rows = []
    for _, row in m.iterrows():
        cid = row["clinician_id"]
        on = signals(row)
        explains = (RAMP_EXPLAINS if cid in ramping else frozenset()) | (
            LEAVE_EXPLAINS if cid in leave else frozenset())
        kinds = {"new": [], "worsening": [], "standing": [], "flagged": [], "explained": []}
        for s in on:
            if s in explains:
                kinds["explained"].append(s)
            elif s in WORSENING:
                kinds["worsening"].append(s)
            else:
                was = change.get((cid, s), "")
                kinds[{NEWLY: "new", STILL: "standing"}.get(was, "flagged")].append(s)
        group = (CHANGED if kinds["new"] or kinds["worsening"] else
                 STANDING if kinds["standing"] else FLAGGED if kinds["flagged"] else
                 CONTEXT if kinds["explained"] else "")
        if not group:
            continue
        asking = sorted(set(on) - set(kinds["explained"]))
        asked = [text for _, text in _prompts(row, run.config, False, set(asking))]
        rows.append({"clinician_id": cid, "name": run.name_of(cid), "group": group, **kinds,
                     "ramp": ramping.get(cid, "") if set(kinds["explained"]) & RAMP_EXPLAINS
                     else "",
                     "leave_days": leave.get(cid, 0) if set(kinds["explained"]) &
                     LEAVE_EXPLAINS else 0,
                     "prompts": asked, "asking": asking, "row": row})
    order = {CHANGED: 0, STANDING: 1, FLAGGED: 2, CONTEXT: 3}
    out = pd.DataFrame(rows, columns=["clinician_id", "name", "group", "new", "worsening",
                                      "standing", "flagged", "explained", "ramp", "leave_days",
                                      "prompts", "asking", "row"])
    if out.empty:
        return out
    asked = out[["new", "worsening", "standing", "flagged"]].map(len).sum(axis=1)
    return out.assign(_o=out["group"].map(order), _n=-asked).sort_values(
        ["_o", "_n", "name"]).drop(columns=["_o", "_n"]).reset_index(drop=True)


# -- the first screen: who might welcome support, and why ----------------------------------------

# each flag and worsening trend in a few words (the first screen's counts and names)
REASONS = {
    "flag_low_utilization": "low utilization",
    "over_capacity": "over capacity",
    "flag_high_non_attendance": "many missed appointments",
    "flag_late_notes": "notes running late",
    "flag_unsigned_overdue": "a backlog of unsigned notes",
    "flag_over_goal": "sessions above the weekly goal",
    "flag_no_time_off": "no time off recorded",
    "flag_caseload_growing": "caseload growing",
    "trend_utilization": "utilization falling",
    "trend_notes_within_72h": "notes slipping later",
    "trend_non_attendance_rate": "missed appointments rising",
}
# a row's standing in the check-in table, in the order the table (without teams) lists them
NEW, STILL_FLAGGED, FLAGGED_NOW, CLEARED, EXPLAINED = (
    "new or worsening", "still flagged", "flagged", "flag cleared", "context")
STATUS_OF = {CHANGED: NEW, STANDING: STILL_FLAGGED, FLAGGED: FLAGGED_NOW, CONTEXT: EXPLAINED}
STATUS_ORDER = [NEW, STILL_FLAGGED, FLAGGED_NOW, CLEARED, EXPLAINED]
FIRST_SCREEN_NAMES = 8  # the most clinicians the first screen names; the rest are counted


def _short(signal: str, row, cfg: Config) -> str:
    """One signal of a clinician in a table cell: its mark, a few words and the figure as the
    tables show it ("▼ utilization 62%"); the thresholds are the operations table's legend."""
    if signal in WORSENING:
        bad, _ = WORSENING[signal]
        return f"{'↓' if bad == 'declining' else '↑'} {REASONS[signal]}"
    w, o = cfg.workload, cfg.operations

    def v(metric: str) -> str:
        return _value(metric, row.get(metric))

    return {
        "flag_low_utilization": f"▼ utilization {v('utilization')}",
        "over_capacity": f"▲ utilization {v('utilization')} of the hours offered",
        "flag_high_non_attendance": f"▲ missed appointments {v('non_attendance_rate')}",
        "flag_late_notes": f"▼ notes signed within {o.note_standard_hours:g} hours "
                           f"{v('notes_within_72h')}",
        "flag_unsigned_overdue": f"▲ {v('unsigned_overdue_7d')} unsigned for more than "
                                 f"{o.note_overdue_days:g} days",
        "flag_over_goal": f"▲ above the weekly goal in {num(row.get('weeks_over_goal'), 0)} "
                          f"of the last {w.over_goal_window} weeks",
        "flag_no_time_off": f"▲ no time off recorded in {w.time_off_months} months",
        "flag_caseload_growing": f"▲ caseload growing for "
                                 f"{v('caseload_growing_weeks')}",
    }.get(signal, REASONS.get(signal, signal))


def _ask(prompt: str) -> str:
    """A prompt's question alone (the figure before it is in the Reasons column)."""
    head, _, question = prompt.rpartition(". ")
    return question if head and question.endswith("?") else prompt


def support_rows(run: RunData) -> pd.DataFrame:
    """One row per clinician the first screen counts and the check-in table lists: those of
    :func:`check_ins`, and those with a flag cleared since the compared run (``changes``)
    and nothing to ask. ``status`` is one of :data:`STATUS_ORDER` (``new or worsening``,
    ``still flagged``, ``flagged`` with no earlier run to compare, ``flag cleared``,
    ``context``: every signal explained by a ramp or time off); ``new``, ``worsening``,
    ``standing``, ``flagged``, ``cleared`` list the signals, ``held`` those flagged in the
    compared run too (asked about, or explained by context: a context row with one is
    ``still flagged``, one with a cleared flag ``flag cleared``); ``team`` is the roster's (empty
    without one); ``reasons`` is the table's cell, ``ask`` the questions (the figure left
    out: the Reasons cell has it; :func:`check_in_questions` says each once). In the table's
    order: by
    team then name when the roster gives teams, else by status, the number of signals asked
    about, then name."""
    cfg = run.config
    ins = check_ins(run)
    c = run.tables.get("changes")
    here = set(run.table("clinician_metrics")["clinician_id"])
    gone = c[(c["change"] == NO_LONGER) & c["clinician_id"].isin(here)] \
        if c is not None and not c.empty else pd.DataFrame(columns=["clinician_id", "flag"])
    cleared = {cid: list(g["flag"]) for cid, g in gone.groupby("clinician_id", sort=False)}
    was = {} if c is None or c.empty else {(r.clinician_id, r.flag): (r.metric, r.previous,
                                                                       r.current)
                                           for r in c.itertuples()}
    held = set() if c is None or c.empty else {  # flags of the compared run still on
        (r.clinician_id, r.flag) for r in c.itertuples() if r.change == STILL}
    teams = {cid: t for cid, t in team_of(run).items() if t}
    rows = []

    def then_now(cid: str, flag: str, now: bool = True) -> str:
        metric, before, after = was.get((cid, flag), ("", None, None))
        if not metric or before is None or pd.isna(before):
            return ""
        return (f" ({_value(metric, before)} then)" if now else
                f" ({_value(metric, before)} then, {_value(metric, after)} now)")

    def gone_words(cid: str) -> str:
        return "; ".join(REASONS.get(f, f) + then_now(cid, f, False)
                         for f in cleared.get(cid, []))

    def short(signals_: list[str], row) -> str:
        return "; ".join(_short(s, row, cfg) for s in signals_)

    for _, r in ins.iterrows():
        cid, row = r["clinician_id"], r["row"]
        said = []
        if r["new"]:
            said.append("New: " + "; ".join(_short(s, row, cfg) + then_now(cid, s)
                                            for s in r["new"]))
        for k, label in (("worsening", "Worsening for several weeks"), ("standing", "Still"),
                         ("flagged", "Flagged")):
            if r[k]:
                said.append(f"{label}: {short(r[k], row)}")
        context = [w for w in (r["ramp"], count(r["leave_days"], "day")
                               + " of recorded time off in the period"
                               if r["leave_days"] else "") if w]
        if context:
            said.append("Context: " + "; ".join(context) + ", which explains "
                        + short(r["explained"], row))
        if cid in cleared:
            said.append("Cleared: " + gone_words(cid))
        status = STATUS_OF[r["group"]]
        if status == EXPLAINED:  # context still says whether it was flagged then, or cleared
            status = (STILL_FLAGGED if any((cid, s) in held for s in r["explained"])
                      else CLEARED if cid in cleared else EXPLAINED)
        rows.append({"clinician_id": cid, "name": r["name"], "status": status,
                     **{k: r[k] for k in ("new", "worsening", "standing", "flagged",
                                          "explained")},
                     "held": r["standing"] + [s for s in r["explained"] if (cid, s) in held],
                     "cleared": cleared.get(cid, []),
                     "reasons": ". ".join(said) + ".",
                     "ask": [_ask(q) for q in r["prompts"]],
                     "_n": -len(r["new"] + r["worsening"] + r["standing"] + r["flagged"])})
    for cid in sorted(set(cleared) - set(ins["clinician_id"] if len(ins) else [])):
        rows.append({"clinician_id": cid, "name": run.name_of(cid), "status": CLEARED,
                     "new": [], "worsening": [], "standing": [], "flagged": [],
                     "explained": [], "held": [], "cleared": cleared[cid],
                     "reasons": f"Cleared: {gone_words(cid)}.", "ask": [], "_n": 0})
    columns = ["clinician_id", "name", "team", "status", "new", "worsening", "standing",
               "flagged", "explained", "held", "cleared", "reasons", "ask"]
    out = pd.DataFrame(rows, columns=[k for k in columns if k != "team"] + ["_n"])
    out.insert(2, "team", [teams.get(str(cid), "") for cid in out["clinician_id"]])
    order = out["status"].map({s: k for k, s in enumerate(STATUS_ORDER)})
    keys = (["team", "name"] if teams else ["_o", "_n", "name"])
    return out.assign(_o=order).sort_values(keys, kind="stable").drop(
        columns=["_o", "_n"]).reset_index(drop=True)[columns]


def _by_reason(lists: pd.Series, most: int = 5) -> str:
    """How many clinicians have each signal, most first: "over capacity (3), notes running
    late (2)" (a clinician with two reasons counts under each); the ``most`` commonest
    named, the others counted ("and 2 other reasons")."""
    n = pd.Series([s for signals_ in lists for s in signals_], dtype=object).value_counts()
    ranked = sorted(n.items(), key=lambda kv: (-kv[1], REASONS.get(kv[0], kv[0])))
    said = ", ".join(f"{REASONS.get(s, s)} ({num(k, 0)})" for s, k in ranked[:most])
    rest = len(ranked) - most
    return said + (f" and {count(rest, 'other reason')}" if rest > 0 else "")


def _changed_words(r, most: int = 3) -> str:
    """A named clinician's change in a few words: at most ``most`` reasons, the others
    counted ("and 2 more")."""
    parts, left = [], most
    kinds = [(label, r[k]) for k, label in (
        ("new", "newly flagged"), ("worsening", "worsening"), ("flagged", "flagged"),
        ("cleared", "flag cleared")) if r[k]]
    for label, signals_ in kinds:
        if left > 0:
            parts.append(f"{label}: " + ", ".join(REASONS.get(s, s)
                                                  for s in signals_[:left]))
        left -= len(signals_)
    return "; ".join(parts) + (f" and {num(-left, 0)} more" if left < 0 else "")


def first_screen(run: RunData) -> Text:
    """The top of the owner's page: who might welcome support, and why, in one screen at
    any size of practice. First the counts (clinicians; newly flagged or worsening since
    the compared run, by reason; still flagged; improving, a flag cleared), or, with no
    earlier run, one sentence that says so and who is flagged now; then the clinicians who
    changed by name with their reasons in a few words (at most :data:`FIRST_SCREEN_NAMES`,
    the rest counted); then standing patterns (flagged in the compared run too) by reason;
    then who joined or left. Every count is a count of rows of :func:`support_rows`, the
    check-in table below (:func:`check_in_table`)."""
    m = run.table("clinician_metrics")
    rows = support_rows(run)
    n = rows["status"].value_counts()
    which = compared_run(run)
    total = count(len(m), "clinician")
    new = rows[rows["status"] == NEW]
    parts = []
    if which is None:
        now = rows[rows["status"].isin([NEW, FLAGGED_NOW])]
        head = ("There is no earlier run of this practice to compare with yet, so this "
                "shows who is flagged now.")
        counts = (f"**{num(len(now), 0)} of {total}** might welcome a check-in."
                  + (f" Reasons: {_by_reason(now['new'] + now['worsening'] + now['flagged'])}."
                     if len(now) else ""))
        named = now
    else:
        head = f"Compared with {which}."
        if known_yes(next(iter(_compared(run)["definitions_changed"]), False)):
            head += (" That run defined the metrics differently (its parameters' operations, "
                     "workload or trends settings or time zone differ), so some changes "
                     "may come from the definitions rather than from the work.")
        also = int((rows["status"].eq(STILL_FLAGGED) & rows["cleared"].map(len).gt(0)).sum())
        counts = (f"Of {total}: **{num(len(new), 0)} newly flagged or worsening**, "
                  f"**{num(n.get(STILL_FLAGGED, 0), 0)} still flagged**"
                  + (f" ({num(also, 0)} of them with another flag cleared)" if also else "")
                  + " and "
                  f"**{num(n.get(CLEARED, 0), 0)} improving** (a flag cleared, nothing new)."
                  + (f" New reasons: {_by_reason(new['new'] + new['worsening'])}."
                     if len(new) else ""))
        named = rows[rows["status"].isin([NEW, CLEARED])]
    if rows.empty:  # nothing to count: one plain sentence, not a row of zeros
        counts = (f"Of {total}, none is outside the practice's thresholds or slipping"
                  + (", and no flag has cleared since then." if which is not None else "."))
    context = rows[rows["explained"].map(len) > 0]
    if k := len(context):
        ramps = ramp_by_hire(run).set_index("clinician_id")["ramp"]
        slow = int((context["explained"].map(lambda s: bool(set(s) & RAMP_EXPLAINS))
                    & context["clinician_id"].map(ramps).eq("more slowly")).sum())
        who = "one is a new hire" if slow == 1 else f"{num(slow, 0)} are new hires"
        counts += (f" The data explain a flag of {count(k, 'clinician')} (a new hire's first "
                   "weeks, or recorded time off): context, not a question"
                   + (f"; {who} ramping more slowly than the earlier hires did (see New "
                      "clinicians finding their feet: a slower start is a prompt to ask what "
                      "would help)" if slow else "") + ".")
    parts += [head, counts]
    if len(named):
        # the most reasons first within each standing (then the table's order)
        rank = named["status"].map({x: i for i, x in enumerate(STATUS_ORDER)})
        reasons = -(named["new"].map(len) + named["worsening"].map(len))
        shown = named.assign(_rank=rank, _reasons=reasons).sort_values(
            ["_rank", "_reasons"], kind="stable").head(FIRST_SCREEN_NAMES)
        lines = [f"- **{md(r['name'])}**" + (f" ({md(r['team'])})" if r["team"] else "")
                 + f": {_changed_words(r)}" for _, r in shown.iterrows()]
        more = len(named) - len(shown)
        title = "**Who changed**" if which is not None else "**Who**"
        parts.append(f"{title}:\n\n" + "\n".join(lines)
                     + (f"\n\nAnd {num(more, 0)} more: every one is in the check-in table "
                        "below." if more else ""))
    if which is not None:
        held = rows["held"]  # asked about or explained by context: flagged then and now
        if len(rows):
            parts.append("**Standing patterns**, flagged in the previous run too: "
                         + (f"{_by_reason(held)}." if held.map(len).sum() else "none."))
        left, joined, gone = _comings_and_goings(run)
        if left or joined or gone:
            said = ("; ".join(left + joined + ([f"{count(gone, 'clinician')} of the earlier "
                                                 "run not on this roster"] if gone else []))
                    if len(left) + len(joined) + (gone > 0) <= FIRST_SCREEN_NAMES
                    else f"{num(len(left) + gone, 0)} left and {num(len(joined), 0)} joined")
            parts.append(f"**Who joined or left** in this period "
                         f"({period_words(run.config)}): {said}.")
    if damaged := int(run.meta.get("earlier_runs_left_out") or 0):  # perfkit.history._metrics
        parts.append(f"{count(damaged, 'earlier run').capitalize()} of this practice "
                     "could not be read (a table damaged or edited) and "
                     f"{'was' if damaged == 1 else 'were'} left out of the comparison.")
    return Text("\n\n".join(parts))


def check_in_table(run: RunData):
    """Who might welcome a check-in, one row per clinician the first screen counts
    (:func:`support_rows`): their standing since the compared run and all their reasons with
    the figure (and the figure then, for a new flag or a cleared one); the questions to ask
    follow the table, each once (:func:`check_in_questions`). A Team column, and rows by team
    then name, when the roster gives teams; else in order of need."""
    rows = support_rows(run)
    if rows.empty:
        return Text("Nobody to list this period.")
    out = pd.DataFrame({"Clinician": rows["name"]})
    if rows["team"].ne("").any():
        out["Team"] = rows["team"].replace("", "–")
    out["Since the previous run" if compared_run(run) is not None else "Now"] = \
        rows["status"].str.capitalize()
    out["Reasons"] = rows["reasons"]
    ops = operations_table(run)
    printed = not isinstance(ops, Shortened) or (ops.on_paper and ops.n_shown > 0)
    where = "under the operations table" + ("" if printed else ", in the report on screen")
    caption = (f"Each clinician once, with all their reasons (the practice's thresholds are "
               f"{where}). These are prompts for a supportive conversation, "
               "not judgements: numbers cannot see a hard month, a complex caseload or a new "
               "role.")
    context = rows["status"].eq(EXPLAINED).to_numpy()
    if is_large(run) and context.any():  # context is not a question: counted, in the full table
        return shortened(out, ~context, caption, why="a question to ask",
                         rest="have a flag that the data explain (a new hire's first weeks, or "
                              "recorded time off): context, not a question",
                         full_caption="Everyone above and the clinicians whose flag the data "
                                      "explain.", printed=True, kind="check-ins")
    return table(out, caption, caption_above=True, kind="check-ins")


def check_in_questions(run: RunData) -> Text:
    """The questions the check-in table's reasons raise, each once, with the reasons that
    raise it: supportive questions, not verdicts. The pack and the self-view ask the same
    questions with the clinician's own figure (:func:`questions_for`). Empty when no one in
    the table has a question."""
    ins = check_ins(run)
    found: dict[str, set] = {}
    for _, r in ins.iterrows():
        for keys, text in _prompts(r["row"], run.config, False, set(r["asking"])):
            found.setdefault(_ask(text), set()).update(keys)
    if not found:
        return Text("")
    order = list(REASONS)
    lines = [f"- *{', '.join(REASONS.get(k, k) for k in sorted(keys, key=order.index))}*: "
             f"{q}" for q, keys in found.items()]
    return Text("**What to ask**, each question once, with the reasons that raise it:\n\n"
                + "\n".join(lines))



@measured(say=True)
def outcomes_table(run: RunData):
    """Practice outcome rates per instrument, each with its likely range (95% interval)."""
    p = run.table("outcomes_practice")

    def cell(row, rate):
        v = row[rate]
        if pd.isna(v):
            return "– (too few)"
        return f"{pct(v)} ({pct(row[rate + '_ci_low'])}–{pct(row[rate + '_ci_high'])})"

    out = pd.DataFrame({
        "Measure": p["instrument"],
        "Courses of treatment": p["episodes"].map(lambda v: num(v, 0)),
        "With a first and last score": p["paired_completeness"].map(pct),
        "Reliably improved": [cell(r, "reliable_improvement_rate") for _, r in p.iterrows()],
        "Reliably worse": [cell(r, "reliable_deterioration_rate") for _, r in p.iterrows()],
        "Recovered": [cell(r, "recovery_rate") for _, r in p.iterrows()],
    })
    return table(out, kind="figures")


# the models' messages (perfkit.models) in words for the owner's page
_PLAIN_MODEL = [
    (r"the data do not show variation in (.+?) \(estimated at the boundary\), so the model is "
     r"singular there; the clinician estimates allow for it",
     r"the scores show no differences in \1, so that part of the comparison is set to none; "
     r"the rest is unaffected"),
    (r"the model did not converge: treat its estimates with caution",
     "the calculation did not settle on an answer: treat its figures with caution"),
    (r"to separate clinicians from clients: a two-level model of clients gives the practice's "
     r"average change, and no clinician is estimated separately",
     "to tell clinicians apart: no clinician is compared on this measure"),
    (r"too little data for a model", "too few scores to compare clinicians"),
]


def plain_model_words(msg: str) -> str:
    """A model's message (``model_summary``) in plain words, its counts thousands-separated:
    no "singular", "boundary", "converge" or "two-level model" on the owner's page."""
    for pattern, plain in _PLAIN_MODEL:
        msg = re.sub(pattern, plain, msg)
    return re.sub(r"\b\d{4,}\b", lambda m: num(int(m.group()), 0), msg)


def _model_clients(run: RunData, s: dict) -> str:
    """The distinct clients behind a model (its rows, ``model_data_<instrument>``): the
    model's own ``n_clients`` counts a client seen by two clinicians twice, so without its
    rows the count is said as courses of treatment."""
    name = str(s.get("model_data", ""))
    rows = run.tables.get(name.removesuffix(".csv"))
    path = run.folder / "tables" / name
    if rows is None and name and path.is_file():  # load_run leaves the model rows on disk
        rows = pd.read_csv(path, usecols=lambda c: c == "client_id", dtype=str)
    if rows is not None and "client_id" in rows:
        return count(rows["client_id"].nunique(), "client")
    return count(s["n_clients"], "course of treatment", "courses of treatment")


@measured()
def model_section(run: RunData) -> Text:
    """The share of the variation in scores that lies between clinicians, in plain words.
    Measures not compared for the same reason share one line (no sentence said twice)."""
    lines, alike = [], {}  # alike: each reason for not comparing, with its measures
    for inst, s in run.summary.items():
        share = s.get("share_of_variance_due_to_clinicians")
        msg = plain_model_words("; ".join(s.get("messages", [])))
        if share is None:
            why = md(msg[0].upper() + msg[1:]) + "." if msg else "not compared."
            if why not in alike:
                lines.append(why)  # its line, in the order first met
            alike.setdefault(why, []).append(md(inst))
        else:
            lines.append(f"- **{md(inst)}**: {share:.1%} of the variation in scores lies between "
                         f"clinicians ({_model_clients(run, s)}, "
                         f"{count(s['n_scores'], 'score')})"
                         + (f". {md(msg[0].upper() + msg[1:])}." if msg else "."))
    lines = [f"- **{', '.join(alike[x])}**: {x}" if x in alike else x for x in lines]
    return Text("Studies of routine practice find that about 5% of the variation in outcomes "
                "lies between therapists, after allowing for how ill clients were at intake. "
                "Here:\n\n" + "\n".join(lines))


def limits_note(run: RunData | None = None) -> Text:
    """What the numbers can and cannot tell; with ``run``, the minimum count that hides a
    rate (``outcomes.min_episodes``)."""
    least = run.config.outcomes.min_episodes if run is not None else None
    hidden = (f"Rates resting on fewer than {count(least, 'client')} (outcome rates, and "
              "retention) are hidden, with the reason beside them" if least is not None else
              "Rates for small numbers of clients are hidden")
    return Text(
        "**What these numbers can and cannot tell you.** Operational metrics describe "
        "scheduling and paperwork, not the quality of care. Outcome rates rest on the clients "
        "who completed questionnaires, and clients are not randomly assigned: referral "
        "patterns and life events that intake scores do not capture move them. "
        f"{hidden}, and every outcome rate and estimate is shown with "
        f"its likely range. {GROUP_SESSIONS} Use this report to start supportive conversations, "
        "alongside supervision and the clinician's own view, never to rank people.")


# reasons whose key alone would mislead a reader of the data-quality table
_SET_ASIDE = {"rescheduled": "rescheduled (moved to another time; not a cancellation)"}


def data_quality_table(run: RunData):
    """Each input table read: rows read, the dates they span, rows used and set aside (with
    why); for a table read from a workbook, which sheet (``Read from``: the ingest's words,
    by position or by the name the column map gave, never the sheet's own name)."""
    path = run.folder / "data_quality.json"
    q = json.loads(path.read_text(encoding="utf-8")).get("tables", {}) if path.is_file() else {}
    rows = []
    for name, e in q.items():
        if e.get("present"):
            sheet = (e.get("sheet") or {}).get("words") if isinstance(e.get("sheet"), dict) \
                else None
            rows.append({"Table": name, "Read from": f"the workbook's {sheet}" if sheet else "–",
                         "Rows read": e["rows_in"],
                         "Dates": coverage_span(run, name) or "–",
                         "Used": e["rows_accepted"], "Set aside": e["rows_rejected"],
                         "Why set aside": ", ".join(
                             f"{_SET_ASIDE.get(k, k.replace('_', ' '))} ({v})"
                             for k, v in e["reasons"].items()) or "–"})
    columns = ["Table", "Read from", "Rows read", "Dates", "Used", "Set aside", "Why set aside"]
    out = pd.DataFrame(rows, columns=columns)
    if not out["Read from"].ne("–").any():  # no workbook: no column of dashes
        out = out.drop(columns="Read from")
    return table(out)


def renewals_table(run: RunData):
    """The owner's administrative view of licences (``renewals``): continuing education against
    the requirement and whether a competency review is due. No ratings, evidence, goals or
    supervision content."""
    ce = run.tables.get("renewals", pd.DataFrame())
    if ce.empty or "clinician_id" not in ce:
        return Text("No clinician records for licences this period.")
    out = pd.DataFrame({"Clinician": ce["clinician_id"].map(run.name_of),
                        "License": ce["license_type"].fillna("–"),
                        "CE hours this cycle": [
                            f"{num(h, 1)} of {num(n, 0)}" if pd.notna(n) and pd.notna(h)
                            else "–"
                            for h, n in zip(ce["hours"], ce["required_hours"], strict=True)],
                        "Continuing education": [ce_words(r) for _, r in ce.iterrows()]})
    due = np.zeros(len(ce), dtype=bool)
    if run.provided("reviews"):
        last, flag = ce["last_competency_review"], ce["competency_review_due"]
        out["Last competency review"] = [
            date_words(d) if pd.notna(d) and d != "" else ("–" if pd.isna(f) else "none yet")
            for d, f in zip(last, flag, strict=True)]
        out["Review due"] = yes_no(flag)
        due = flag.fillna(False).to_numpy(bool)
    caption = ("Ratings, observed evidence, goals and supervision are not shown here: they "
               "belong to supervision and to the clinician.")
    # hours still needed with the cycle ending soon (supervision.ce_due_soon_days): due
    if "due_soon" in ce and "remaining_hours" in ce:
        due = due | (ce["due_soon"].fillna(False).to_numpy(bool) & pd.to_numeric(
            ce["remaining_hours"], errors="coerce").gt(0).to_numpy())
    order, team = by_team(run, ce["clinician_id"], out["Clinician"])
    if team is not None:
        out.insert(1, TEAM, team)
    out, due = out.iloc[order], due[order]
    if not is_large(run):
        return table(out, caption)
    return shortened(out, due, caption, why="continuing-education hours still needed before "
                     "the cycle ends soon, or a competency review due", rest="have nothing due")


def associates_compliance(run: RunData):
    """One line per associate (pre-licensed clinician, a row of the ``supervision`` ledger):
    whether their supervision keeps to their licensure rule: ``on track``, ``behind its rule``
    with the hours and periods short, ``incomplete history`` (:func:`~perfkit.report.
    supervisor.compliance_words`). Hours and the rule only: no supervision notes, goals,
    ratings or clients: the supervision pack itself is never the owner's. A large practice
    (:func:`~perfkit.report.teams.is_large`) gets a table of the associates who are not on
    track, by team when the roster names teams, with every associate in a table that opens
    below."""
    led = run.tables.get("supervision")
    if led is None or led.empty:
        return Text("No associate (pre-licensed clinician) is employed in this period.")
    intro = ("Whether each associate's supervision keeps to their licensing board's rule, "
             "in hours and weeks or months only; the supervision itself stays between "
             "them and their supervisor.")
    if is_large(run):
        ids = led["clinician_id"].reset_index(drop=True)
        out = pd.DataFrame({
            "Associate": ids.map(run.name_of),
            "Licensure rule": [text_or(v, "–") for v in led.get(
                "rule_name", pd.Series([None] * len(led)))],
            "Supervision against the rule": [compliance_words(r) for _, r in led.iterrows()]})
        order, team = by_team(run, ids, out["Associate"])
        if team is not None:
            out.insert(1, TEAM, team)
        # from the ledger itself, not its words: behind the rule, or not known
        behind = (led["behind_on_supervision"].fillna(False).to_numpy(bool)
                  if "behind_on_supervision" in led
                  else np.zeros(len(led), dtype=bool)) | \
            led.get("ledger_status", pd.Series("", index=led.index)).eq("not known").to_numpy()
        out, behind = out.iloc[order], behind[order]
        return shortened(out, behind, None, why="behind their rule, or not known",
                         rest="are on track, or show no shortfall in the records there are",
                         full_caption="Every associate, in the same columns.",
                         noun=("associate", "associates"), lead=intro)
    lines = []
    for _, r in sorted(led.iterrows(), key=lambda x: run.name_of(x[1]["clinician_id"])):
        rule = f" ({md(r['rule_name'])})" if isinstance(r.get("rule_name"), str) \
            and r["rule_name"] else ""
        lines.append(f"- **{md(run.name_of(r['clinician_id']))}**{rule}: "
                     f"{md(compliance_words(r))}.")
    return Text(intro + "\n\n" + "\n".join(lines))
