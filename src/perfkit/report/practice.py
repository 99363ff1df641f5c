"""The owner's practice report (``notebooks/practice_report.ipynb``), section by section: the
period in plain numbers, operations per clinician, who might welcome a check-in, outcomes, the
models in words, licences and renewals, and the data's quality."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from ..config import Config
from ..safety import md
from .format import (
    GROUP_SESSIONS,
    NO_APPOINTMENTS,
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    cohort_pct,
    count,
    date_words,
    is_yes,
    num,
    pct,
    period_words,
    short_history,
    span_words,
    table,
    trend_words,
    yes,
)
from .run import (
    RunData,
    caveats,
    coverage_span,
    history_words,
    measured,
    no_appointments,
    on_status,
    ramp_by_hire,
    unavailable,
)
from .supervisor import ce_words, compliance_words

__all__ = ["practice_title", "documentation_basis", "period_summary", "left_out_words",
           "operations_table",
           "check_in_reasons", "stretched_reasons", "check_in_list", "outcomes_table",
           "model_section", "limits_note", "changes_section", "compared_period", "compared_run",
           "ramp_words", "plain_model_words",
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


def _estimated_words(p: pd.Series) -> str:
    """How much of the attended hours the billing codes' usual lengths estimate."""
    hours, est = p["hours_attended"], p["hours_estimated"]
    if not hours or not est or pd.isna(est):
        return ""
    return (f" ({pct(est / hours)} of the hours are estimated from billing codes: the export "
            "gave no session lengths)")


def _flag_words(cfg: Config) -> dict[str, str]:
    o, w = cfg.operations, cfg.workload
    return {
        "flag_low_utilization": f"utilization below {pct(o.utilization_alert)}",
        "over_capacity": f"utilization above {pct(w.over_capacity)} of the hours offered",
        "flag_high_non_attendance": f"missed appointments at {pct(o.non_attendance_alert)} or "
                                    "more",
        "flag_late_notes": f"fewer than {pct(o.notes_within_72h_alert)} of notes signed within "
                           f"{o.note_standard_hours:g} hours",
        "flag_unsigned_overdue": f"notes unsigned for more than {o.note_overdue_days:g} days",
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
    if metric in ("utilization", "non_attendance_rate", "notes_within_72h"):
        return pct(float(v))
    one, many = _UNITS.get(metric, ("", ""))
    n = float(v)
    return f"{n:g} {one if n == 1 else many}".strip()


def _compared(run: RunData) -> pd.DataFrame:
    """The rows of ``history.csv`` for the run this one is compared with (empty: none)."""
    h = run.tables.get("history")
    if h is None or h.empty or "compared_with" not in h:
        return pd.DataFrame(columns=["period_start", "period_end", "clinician_id",
                                     "definitions_changed"])
    return h[yes(h["compared_with"])]


def compared_period(run: RunData) -> str | None:
    """The period of the run this one is compared with, in words (None: no earlier run)."""
    was = _compared(run)
    if was.empty:
        return None
    return span_words(was["period_start"].iloc[0], was["period_end"].iloc[0])


def compared_run(run: RunData, *, markdown: bool = True) -> str | None:
    """The run this one is compared with, in words: its period and its folder's name (the
    ``run_id`` column of ``history.csv``; runs before it was recorded: the period only). None:
    no earlier run. ``markdown=False`` gives plain text (a table caption)."""
    when = compared_period(run)
    if when is None:
        return None
    folder = _compared(run).get("run_id", pd.Series(dtype=object)).iloc[:1]
    name = folder.iloc[0] if len(folder) and isinstance(folder.iloc[0], str) else ""
    if not name:
        return f"the run for {when}"
    return f"the run for {when} (run folder {md(name) if markdown else name})"


def changes_section(run: RunData) -> Text:
    """What changed since the previous run: newly flagged first, as questions; no longer
    flagged as good news; how many flags are unchanged."""
    which = compared_run(run)
    if which is None:
        return Text("There is no earlier run of this practice in this reports folder to "
                    "compare with, so nothing can be said yet about what changed. Run each "
                    "period into the same reports folder (or pass --compare-to) and this "
                    "section will show it.")
    c = run.table("changes")
    words = _flag_words(run.config)

    def lines(kind: str, ask: str) -> list[str]:
        out = []
        rows = c[c["change"] == kind]
        for cid in sorted(rows["clinician_id"].unique(), key=run.name_of):
            mine = rows[rows["clinician_id"] == cid]
            what = "; ".join(
                f"{words.get(r['flag'], r['flag'])} ({_value(r['metric'], r['previous'])} "
                f"then, {_value(r['metric'], r['current'])} now)" for _, r in mine.iterrows())
            out.append(f"- **{md(run.name_of(cid))}**: {what}.{ask}")
        return out

    new = lines("newly flagged", " What has changed for them, and would support help?")
    gone = lines("no longer flagged", "")
    still = int((c["change"] == "still flagged").sum())
    parts = [f"Compared with {which}."]
    if is_yes(next(iter(_compared(run)["definitions_changed"]), False)):
        parts[0] += (" That run defined the metrics differently (its parameters' operations, "
                     "workload or trends settings or time zone differ), so some changes below "
                     "may come from the definitions rather than from the work.")
    parts.append("**Newly flagged**, worth a supportive question:\n\n" + "\n".join(new) if new
                 else "No clinician has a new flag.")
    if gone:
        parts.append("**No longer flagged**, good news to acknowledge:\n\n" + "\n".join(gone))
    if still:
        parts.append(f"{num(still, 0)} {'flag is' if still == 1 else 'flags are'} unchanged "
                     "since then "
                     "(the check-in list below has them).")
    if comings := _comings_and_goings(run):
        parts.append(f"**Who joined or left** in this period ({period_words(run.config)}): "
                     + comings)
    return Text("\n\n".join(parts))


def _comings_and_goings(run: RunData) -> str:
    """The clinicians of the compared run who are not in this one and left during this
    period (with their last day), and those new in this one who joined during it (with their
    start), in one sentence; a clinician with no date on the roster is said to be "not in
    this run" or "new in this run". A leave or start outside this period (a clinician who
    left during the compared period, say) is not named: the sentence is about this period.
    Empty when there is nobody to name."""
    was = _compared(run)
    if was.empty:
        return ""
    h = run.table("history")
    then = set(was["clinician_id"])
    now = set(h.loc[yes(h["this_run"]), "clinician_id"])
    roster = run.prepared_table("clinicians").set_index("clinician_id")
    start, end = pd.Timestamp(run.config.period_start), pd.Timestamp(run.config.period_end)

    def day_of(cid: str, column: str):
        """The roster's day (None: not recorded; False: outside this period)."""
        day = roster[column].get(cid) if column in roster else None
        if day is None or pd.isna(day):
            return None
        return day if start <= pd.Timestamp(day) < end else False

    said = []
    for c in sorted(then - now, key=run.name_of):
        if (d := day_of(c, "end_date")) is not False:
            said.append(f"**{md(run.name_of(c))}** " + (f"left on {date_words(d)}" if d
                                                       is not None else "is not in this run"))
    for c in sorted(now - then, key=run.name_of):
        if (d := day_of(c, "start_date")) is not False:
            said.append(f"**{md(run.name_of(c))}** " + (f"joined on {date_words(d)}" if d
                                                       is not None else "is new in this run"))
    return "; ".join(said) + "." if said else ""


_RAMP_WORDS = {
    "more slowly": "Ramping more slowly than the earlier hires did",
    "as expected": "Ramping as the earlier hires did",
    "faster": "Ramping faster than the earlier hires did",
}


def ramp_words(run: RunData) -> Text:
    """The new hires of ``ramp.csv`` in words, beside the ramp figure: who is ramping more
    slowly, as expected or faster than the practice's earlier hires (their mean utilization
    over the weeks compared, against the earlier hires' in the same weeks: the ratio the
    status rests on), and who has too few earlier hires to compare with."""
    hires = ramp_by_hire(run).set_index("clinician_id")
    if hires.empty:
        return Text(f"No clinician started in the last {run.config.ramp.recent_months} months.")
    status = hires["ramp"]
    n = len(status)
    parts = [f"{num(n, 0)} {'clinician' if n == 1 else 'clinicians'} started in the last "
             f"{run.config.ramp.recent_months} months."]
    for kind, label in _RAMP_WORDS.items():
        who = [f"**{md(run.name_of(cid))}** ({pct(h['utilization'])} utilization on average "
               f"over {h['weeks']} of their first weeks, against "
               f"{pct(h['practice_utilization'])} for earlier hires in the same weeks)"
               for cid, h in sorted(hires[status == kind].iterrows(),
                                    key=lambda x: run.name_of(x[0]))]
        if who:
            parts.append(f"{label}: " + "; ".join(who) + ".")
    few = sorted(status.index[~status.isin(list(_RAMP_WORDS))], key=run.name_of)
    if few:
        parts.append(f"Too few earlier hires (fewer than {run.config.ramp.min_hires} with data "
                     "for the same weeks) to compare with: "
                     + ", ".join(f"**{md(run.name_of(c))}**" for c in few) + ".")
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
        + _estimated_words(p),
        "Missed appointments (no-shows and late cancellations)":
            NOT_IN_EXPORT if "non_attendance_rate" in gone else pct(p["non_attendance_rate"], 1),
        "Appointments the clinicians cancelled (not counted as missed)":
            NOT_IN_EXPORT if "clinician_cancelled" in gone else num(p["clinician_cancelled"], 0),
        "Notes signed within 72 hours": NOT_IN_EXPORT if "notes_within_72h" in gone
        else NO_SIGNING_TIMES if no_times else pct(p["notes_within_72h"]),
        "Notes open more than 72 hours": NOT_IN_EXPORT if "notes_open_72h" in gone
        else num(p["notes_open_72h"], 0),
        "Notes unsigned for more than 7 days": NOT_IN_EXPORT if "unsigned_overdue_7d" in gone
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


def operations_table(run: RunData):
    """Operational metrics per clinician, in name order (not a ranking), with trend labels."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    m = m.sort_values("name")
    out = pd.DataFrame({
        "Clinician": m["name"],
        "Utilization": m["utilization"].map(pct),
        "Utilization trend": m["trend_utilization"].map(
            lambda v: trend_words("utilization", v, arrow=True)),
        "Missed appointments": m["non_attendance_rate"].map(lambda v: pct(v, 1)),
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
        "Notes unsigned > 7 days": m["unsigned_overdue_7d"].map(lambda v: num(v, 0)),
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
    short = "new_clients_limited" in m and yes(m["new_clients_limited"]).any()
    absent = no_appointments(m).to_numpy()
    if absent.any():  # a rostered clinician the export never names: no zeros, no trend words
        out = out.astype(object)
        out.loc[absent, out.columns[1:]] = "–"
        # a roster name close to a name whose rows were left out: probably the same person
        near = {e["closest"] for e in run.meta.get("clinicians_left_out") or []
                if e.get("closest")}
        out.loc[absent, "Utilization"] = [
            "no appointments under this name (see Left out of this run above)"
            if name in near else NO_APPOINTMENTS for name in m["name"][absent]]
    flag_cols = {"Utilization": "flag_low_utilization",
                 "Missed appointments": "flag_high_non_attendance",
                 "Notes within 72 h": "flag_late_notes",
                 "Notes unsigned > 7 days": "flag_unsigned_overdue"}
    flags = pd.DataFrame({col: yes(m[f]) for col, f in flag_cols.items()},
                         index=out.index)
    if "over_capacity" in m:  # above the hours offered is outside the thresholds too
        flags["Utilization"] |= yes(m["over_capacity"])

    def shade(col):
        if col.name not in flags:
            return [""] * len(col)
        return ["background-color: #fdebd3" if f else "" for f in flags[col.name]]

    return table(out, "Shaded cells are outside the practice's thresholds (see parameters)."
                 + (" New clients marked \"at most\" and retention marked \"short history\" "
                    "rest on an export that begins too late to tell new clients from "
                    "returning ones (see \"History in this export\" above)." if short else ""),
                 apply=shade)


def check_in_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """Questions a clinician's figures raise, for the owner about the clinician or, with
    ``you``, for the clinician's own report, addressed to them."""
    ops = cfg.operations
    they, their = ("you", "your") if you else ("they", "their")
    q = []
    if row.get("trend_utilization") == "declining" or row.get("flag_low_utilization"):
        q.append(f"{'Your utilization' if you else 'Utilization'} is {pct(row['utilization'])}"
                 + (" and has been falling for several weeks" if row.get("trend_utilization")
                    == "declining" else "") + f". Is the caseload what {they} want it to be, or "
                 "is something making sessions harder to fill?")
    if row.get("trend_notes_within_72h") == "declining" or row.get("flag_late_notes"):
        q.append(f"{pct(row['notes_within_72h'], 1)} of {'your ' if you else ''}notes were "
                 f"signed within {ops.note_standard_hours:g} hours. Would protected "
                 "documentation time or a simpler note template help?")
    if row.get("flag_unsigned_overdue"):
        n = int(row["unsigned_overdue_7d"])
        q.append(f"{num(n, 0)} {'of your ' if you else ''}"
                 f"{'note has' if n == 1 else 'notes have'} been "
                 f"unsigned for more than {ops.note_overdue_days:g} days. Is there a backlog "
                 f"{they} would like help with?")
    if row.get("flag_high_non_attendance") or row.get("trend_non_attendance_rate") == "growing":
        q.append(f"{pct(row['non_attendance_rate'], 1)} of {their + ' ' if you else ''}"
                 "appointments were missed. Are reminders, scheduling or client circumstances "
                 "getting in the way?")
    return q + stretched_reasons(row, cfg, you=you)


def stretched_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """"Might be stretched" prompts from the workload signals (parameters ``workload``), about
    the clinician or, with ``you``, to them."""
    w, q = cfg.workload, []
    they, their = ("you", "your") if you else ("they", "their")
    stretched = "You might be stretched" if you else "Might be stretched"
    if is_yes(row.get("over_capacity")):
        q.append(f"{stretched}: {their} utilization is {pct(row['utilization'])} of the hours "
                 f"offered for clients. Is the capacity in the roster still right, or is the "
                 "week fuller than planned?")
    if is_yes(row.get("flag_over_goal")):
        q.append(f"{stretched}: {their} attended sessions were {pct(w.over_goal_margin)} or "
                 f"more above the weekly goal in {int(row['weeks_over_goal'])} of the last "
                 f"{w.over_goal_window} weeks. Is that a choice, or would fewer sessions help?")
    if is_yes(row.get("flag_no_time_off")):
        q.append(f"{stretched}: no time off is recorded in the last {w.time_off_months} "
                 f"months. Is a break planned?")
    if is_yes(row.get("flag_caseload_growing")):
        q.append(f"{stretched}: {their} caseload has grown for "
                 f"{int(row['caseload_growing_weeks'])} weeks in a row (now "
                 f"{num(row['caseload'], 0)} clients). Is that the caseload {they} want?")
    return q


def check_in_list(run: RunData) -> Text:
    """Who might welcome a check-in, framed as questions to ask, not verdicts."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    lines = []
    for _, row in m.sort_values("name").iterrows():
        reasons = check_in_reasons(row, run.config)
        if reasons:
            lines.append(f"**{md(row['name'])}**\n" + "\n".join(f"- {r}" for r in reasons))
    if not lines:
        return Text("No clinician's metrics are outside the thresholds or slipping this "
                    "period.")
    return Text("These are prompts for a supportive conversation, not judgements: numbers "
                "cannot see a hard month, a complex caseload or a new role.\n\n"
                + "\n\n".join(lines))


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
    return table(out)


# the models' messages (perfkit.models) in words for the owner's page
_PLAIN_MODEL = [
    (r"the data do not show variation in (.+?) \(estimated at the boundary\), so the model is "
     r"singular there; the clinician estimates allow for it",
     r"the scores show no differences in \1, and the clinicians' figures allow for that"),
    (r"the model did not converge: treat its estimates with caution",
     "the calculation did not settle on an answer: treat its figures with caution"),
    (r"to separate clinicians from clients: a two-level model of clients gives the practice's "
     r"average change, and no clinician is estimated separately",
     "to tell clinicians apart: only the practice's average change is shown"),
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
    """The share of the variation in scores that lies between clinicians, in plain words."""
    lines = []
    for inst, s in run.summary.items():
        share = s.get("share_of_variance_due_to_clinicians")
        msg = plain_model_words("; ".join(s.get("messages", [])))
        if share is None:
            lines.append(f"- **{md(inst)}**: "
                         f"{md(msg[0].upper() + msg[1:]) + '.' if msg else 'not compared.'}")
        else:
            lines.append(f"- **{md(inst)}**: {share:.1%} of the variation in scores lies between "
                         f"clinicians ({_model_clients(run, s)}, "
                         f"{count(s['n_scores'], 'score')})"
                         + (f". {md(msg[0].upper() + msg[1:])}." if msg else "."))
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


def data_quality_table(run: RunData):
    path = run.folder / "data_quality.json"
    q = json.loads(path.read_text(encoding="utf-8")).get("tables", {}) if path.is_file() else {}
    rows = []
    for name, e in q.items():
        if e.get("present"):
            rows.append({"Table": name, "Rows read": e["rows_in"],
                         "Dates": coverage_span(run, name) or "–",
                         "Used": e["rows_accepted"], "Set aside": e["rows_rejected"],
                         "Why set aside": ", ".join(f"{k.replace('_', ' ')} ({v})"
                                                    for k, v in e["reasons"].items()) or "–"})
    return table(pd.DataFrame(rows, columns=["Table", "Rows read", "Dates", "Used",
                                             "Set aside", "Why set aside"]))


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
    if run.provided("reviews"):
        last, flag = ce["last_competency_review"], ce["competency_review_due"]
        out["Last competency review"] = [
            date_words(d) if pd.notna(d) and d != "" else ("–" if pd.isna(f) else "none yet")
            for d, f in zip(last, flag, strict=True)]
        out["Review due"] = np.where(yes(flag), "yes", "")
    return table(
        out.sort_values("Clinician"), "Ratings, observed evidence, goals and supervision are "
        "not shown here: they belong to supervision and to the clinician.")


def associates_compliance(run: RunData) -> Text:
    """One line per associate (pre-licensed clinician, a row of the ``supervision`` ledger):
    whether their supervision keeps to their licensure rule: ``on track``, ``behind its rule``
    with the hours and periods short, ``incomplete history`` (:func:`~perfkit.report.
    supervisor.compliance_words`). Hours and the rule only: no supervision notes, goals,
    ratings or clients: the supervision pack itself is never the owner's."""
    led = run.tables.get("supervision")
    if led is None or led.empty:
        return Text("No associate (pre-licensed clinician) is employed in this period.")
    lines = []
    for _, r in sorted(led.iterrows(), key=lambda x: run.name_of(x[1]["clinician_id"])):
        rule = f" ({md(r['rule_name'])})" if isinstance(r.get("rule_name"), str) \
            and r["rule_name"] else ""
        lines.append(f"- **{md(run.name_of(r['clinician_id']))}**{rule}: "
                     f"{md(compliance_words(r))}.")
    return Text("Whether each associate's supervision keeps to their licensing board's rule, "
                "in hours and weeks or months only; the supervision itself stays between "
                "them and their supervisor.\n\n" + "\n".join(lines))
