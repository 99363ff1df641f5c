"""The owner's practice report (``notebooks/practice_report.ipynb``), section by section: the
period in plain numbers, new clinicians finding their feet, outcomes, the models in words,
licences and renewals, associates' supervision, and the data's quality. The first screen and
the check-in table are :mod:`.checkins`; the operations table is :mod:`.metrics_table`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..hostile_text import md
from ..registry import RAMP_STATUS, format_value, formatter, label_of
from .figures import RAMP_PANELS
from .format import (
    GROUP_SESSIONS,
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    count,
    date_words,
    num,
    pct,
    period_words,
    short_history,
    table,
    text_or,
    yes_no,
)
from .model_words import messages_text
from .run_folder import (
    RunFolder,
    caveats,
    coverage_span,
    few_peers,
    history_words,
    measured,
    on_status,
    ramp_by_hire,
    unavailable,
)
from .supervisor import ce_words, compliance_words
from .teams import TEAM, by_team, is_large, shortened

__all__ = ["practice_title", "documentation_basis", "period_summary", "left_out_words",
           "outcomes_table", "model_section", "limits_note", "ramp_words",
           "funnel_intro", "data_quality_table", "renewals_table", "associates_compliance"]


def practice_title(run: RunFolder) -> Text:
    cfg = run.config
    return Text(f"## {md(cfg.practice_name)}\n\nFor the practice owner and clinical director. "
                f"Period {period_words(cfg)}.")


def documentation_basis(run: RunFolder) -> str:
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
    or the minutes a service name states (``practice_summary``'s shares,
    :func:`perfkit.practice_summary.hours_shares`)."""
    est = p.get("hours_estimated_share")
    if est is None or pd.isna(est) or not est:
        return ""
    default, codes = p["hours_default_share"], p["hours_from_codes_share"]
    length = f" of {default_minutes} minutes" if default_minutes else ""
    if not default:
        return (f" ({pct(est)} of the hours are estimated from billing codes or "
                "service names: the export gave no session lengths)")
    said = (f"at the default session length{length}, set in the parameters, as the export "
            "gave no length at all")
    if codes:
        return (f" ({pct(est)} of the hours are estimated: {pct(default)} "
                f"{said}; {pct(codes)} from billing codes or service names)")
    return f" ({pct(default)} of the hours are {said})"


def funnel_intro(run: RunFolder, instrument: str = "PHQ-9") -> Text:
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


def ramp_words(run: RunFolder) -> Text:
    """The new hires of ``ramp.csv`` in words, beside the ramp figure: who is ramping more
    slowly, as expected or faster than the practice's earlier hires (their mean utilization
    over the weeks compared, against the earlier hires' in the same weeks: the ratio the
    status rests on), and who has too few earlier hires to compare with. More new hires than
    the figure gives a panel each (:data:`~perfkit.report.figures.RAMP_PANELS`): those
    ramping more slowly are named, the others counted, as the figure draws them."""
    hires = ramp_by_hire(run).set_index("clinician_id")
    if hires.empty:
        return Text(f"No clinician started in the last {run.config.ramp.recent_months} months.")
    status, util = hires["ramp"], formatter("utilization")
    n = len(status)
    parts = [f"{num(n, 0)} {'clinician' if n == 1 else 'clinicians'} started in the last "
             f"{run.config.ramp.recent_months} months."]
    many = n > RAMP_PANELS
    for kind, (label, _, _) in RAMP_STATUS.items():
        if many and kind != "more slowly":
            if k := int((status == kind).sum()):
                parts.append(f"{label}: {count(k, 'clinician')}.")
            continue
        rows = sorted(hires[status == kind].iterrows(), key=lambda x: run.name_of(x[0]))
        if many:  # a long list: the figures alone, what they are said once before it
            who = [f"**{md(run.name_of(cid))}** {util(h['utilization'])} against "
                   f"{util(h['practice_utilization'])}" for cid, h in rows]
            if who:
                parts.append(f"{label} ({count(len(who), 'clinician')}; each one's "
                             "utilization on average over their first weeks, against the "
                             "earlier hires' in the same weeks): " + "; ".join(who) + ".")
            continue
        who = [f"**{md(run.name_of(cid))}** ({util(h['utilization'])} utilization on average "
               f"over {h['weeks']} of their first weeks, against "
               f"{util(h['practice_utilization'])} for earlier hires in the same weeks)"
               for cid, h in rows]
        if who:
            parts.append(f"{label}: " + "; ".join(who) + ".")
    few = sorted(status.index[~status.isin(list(RAMP_STATUS))], key=run.name_of)
    if few:
        parts.append(f"Too few earlier hires (fewer than {run.config.ramp.min_hires} with data "
                     "for the same weeks) to compare with: "
                     + (count(len(few), "clinician") if many else
                        ", ".join(f"**{md(run.name_of(c))}**" for c in few)) + ".")
    return Text(" ".join(parts[:1]) + "\n\n" + "\n\n".join(parts[1:]))


def _workforce_words(run: RunFolder) -> str:
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
            f"{format_value('turnover_12m', w['turnover_12m'])} of the average headcount "
            f"({num(w['average_headcount_12m'], 1)}). Median time at the practice "
            f"{num(w['median_tenure_years'], 1)} years.")


def period_summary(run: RunFolder):
    """The period in a few plain numbers, from ``practice_summary`` (clients counted once
    across clinicians)."""
    p = run.table("practice_summary").iloc[0]
    gone = unavailable(run)
    no_times = p["clinicians_on_note_status"] == p["clinicians"] and p["clinicians"] > 0

    def long(key: str) -> str:  # a row's label: what the figure counts
        return label_of(key, run.config, "long")

    def shown(key: str, column: str | None = None) -> str:
        return NOT_IN_EXPORT if key in gone else format_value(key, p[column or key])

    rows = {
        "Period": period_words(run.config),
        "Clinicians": num(p["clinicians"], 0),
        **({"Staff retention": w} if (w := _workforce_words(run)) else {}),
        long("sessions_attended"): format_value("sessions_attended", p["sessions_attended"]),
        long("utilization"): format_value("utilization", p["utilization"])
        + _estimated_words(p, run.config.services.default_session_minutes),
        long("non_attendance_rate"): shown("non_attendance_rate"),
        long("clinician_cancelled"): shown("clinician_cancelled"),
        long("notes_within_72h"): NOT_IN_EXPORT if "notes_within_72h" in gone
        else NO_SIGNING_TIMES if no_times else shown("notes_within_72h"),
        long("notes_open_72h"): shown("notes_open_72h"),
        long("unsigned_overdue_7d"): shown("unsigned_overdue_7d"),
        "Documentation figures rest on": documentation_basis(run),
        **({"About this export": " ".join(said)} if (said := caveats(run)) else {}),
        **({"Left out of this run": w} if (w := left_out_words(run)) else {}),
        long("active_clients"): format_value("active_clients", p["clients_seen"]),
        long("new_clients"): short_history(format_value("new_clients", p["new_clients"]),
                                           p.get("new_clients_limited"), count=True),
        **({"History in this export": " ".join(said)} if (said := history_words(run)) else {}),
    }
    return table(pd.DataFrame({"This period": list(rows.values())}, index=list(rows)),
                 rows="Figure")


def left_out_words(run: RunFolder) -> str:
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


@measured(say=True)
def outcomes_table(run: RunFolder):
    """Practice outcome rates per instrument, each with its likely range (95% interval)."""
    p = run.table("outcomes_practice")

    def cell(row, rate):
        v = row[rate]
        if pd.isna(v):
            return "– (too few)"
        lo, hi = (format_value(rate, row[f"{rate}_ci_{end}"]) for end in ("low", "high"))
        return f"{format_value(rate, v)} ({lo}–{hi})"

    out = pd.DataFrame({
        "Measure": p["instrument"],
        **{label_of(k): p[k].map(formatter(k)) for k in ("episodes", "paired_completeness")},
        **{label_of(k): [cell(r, k) for _, r in p.iterrows()]
           for k in ("reliable_improvement_rate", "reliable_deterioration_rate",
                     "recovery_rate")},
    })
    return table(out, kind="figures")


def _model_clients(s: dict) -> str:
    """The distinct clients behind a model (``n_distinct_clients`` of its summary): the model's
    own ``n_clients`` counts a client seen by two clinicians twice, so a summary without the
    distinct count (an older run's) says it as courses of treatment."""
    if s.get("n_distinct_clients") is not None:
        return count(s["n_distinct_clients"], "client")
    return count(s["n_clients"], "course of treatment", "courses of treatment")


@measured()
def model_section(run: RunFolder) -> Text:
    """The share of the variation in scores that lies between clinicians, in plain words.
    Measures not compared for the same reason share one line (no sentence said twice)."""
    lines, alike = [], {}  # alike: each reason for not comparing, with its measures
    for inst, s in run.summary.items():
        share = s.get("share_of_variance_due_to_clinicians")
        msg = messages_text(s.get("messages", []), owner=True)
        if share is None:
            why = md(msg[0].upper() + msg[1:]) + "." if msg else "not compared."
            if why not in alike:
                lines.append(why)  # its line, in the order first met
            alike.setdefault(why, []).append(md(inst))
        else:
            lines.append(f"- **{md(inst)}**: {share:.1%} of the variation in scores lies between "
                         f"clinicians ({_model_clients(s)}, "
                         f"{count(s['n_scores'], 'score')})"
                         + (f". {md(msg[0].upper() + msg[1:])}." if msg else "."))
    lines = [f"- **{', '.join(alike[x])}**: {x}" if x in alike else x for x in lines]
    return Text("Studies of routine practice find that about 5% of the variation in outcomes "
                "lies between therapists, after allowing for how ill clients were at intake. "
                "Here:\n\n" + "\n".join(lines))


def limits_note(run: RunFolder | None = None) -> Text:
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


def data_quality_table(run: RunFolder):
    """Each input table read: rows read, the dates they span, rows used and set aside (with
    why); for a table read from a workbook, which sheet (``Read from``: the ingest's words,
    by position or by the name the column map gave, never the sheet's own name)."""
    q = run.quality.get("tables", {})
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


def renewals_table(run: RunFolder):
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


def associates_compliance(run: RunFolder):
    """One line per associate (pre-licensed clinician, a row of the ``supervision`` ledger):
    whether their supervision keeps to their licensure rule: ``on track``, ``behind its rule``
    with the hours and periods short, ``incomplete history`` (:func:`~perfkit.report.
    supervisor.compliance_words`). Hours and the rule only: no supervision notes, goals,
    ratings or clients: the supervision pack itself is never the owner's. A large practice
    (:func:`~perfkit.report.teams.is_large`) gets a table of the associates who are not on
    track, by team when the roster names teams, with every associate in a table that opens
    below."""
    led = run.tables.get("supervision_ledger")
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
