"""The supervision pack (``notebooks/supervisor_report.ipynb``) and the development sections of
a clinician's self-view: the licensure ledger, goals, competency reviews, continuing education,
prompts for the next supervision meeting and supervisees' clients to talk through."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..hostile_text import md
from .format import Text, date_words, known_yes, num, period_words, table, text_or, yes_no
from .ledger_words import reason_codes, reasons_note
from .questions import check_ins, new_hire, questions_for, ramp_compared, slow_ramp_question
from .run_folder import (
    RunFolder,
    clients_by_clinician,
    item9_section,
    measured,
    rows_for,
    rows_or_reason,
    text_id,
)

__all__ = ["pick_supervisor", "supervisees_of", "supervisor_title", "ledger_table",
           "ledger_note", "goals_table", "reviews_table", "ce_table", "ce_words", "support_table",
           "supervision_questions", "supervisee_alerts", "supervisee_item9",
           "supervision_shortfall",
           "compliance_words", "talk_to"]


def _who(run: RunFolder, t: pd.DataFrame, names: bool) -> dict:
    """The leading "Clinician" column of a supervisor's table (none in a self-view)."""
    return {"Clinician": t["clinician_id"].map(run.name_of)} if names else {}


_NO_PAIRS = pd.DataFrame(columns=["supervisor_id", "clinician_id"])


def pick_supervisor(run: RunFolder, supervisor_id: str = "") -> str:
    """The supervisor a pack is for: the one asked for, or the first supervisor in the run."""
    ids = sorted(set(run.tables.get("supervisors", _NO_PAIRS)["supervisor_id"]))
    text_id(supervisor_id, "supervisor_id")
    if not supervisor_id:
        if not ids:
            raise ValueError("no clinician supervises anyone employed in this period")
        return ids[0]
    if supervisor_id not in ids:
        raise ValueError(f"{supervisor_id} supervises no clinician employed in this period")
    return supervisor_id


def supervisees_of(run: RunFolder, supervisor_id: str) -> list[str]:
    """The clinicians employed in the period whom ``supervisor_id`` supervises."""
    pairs = run.tables.get("supervisors", _NO_PAIRS)
    return sorted(pairs.loc[pairs["supervisor_id"] == supervisor_id, "clinician_id"])


def supervisor_title(run: RunFolder, supervisor_id: str) -> Text:
    names = [md(run.name_of(c)) for c in supervisees_of(run, supervisor_id)]
    me = md(run.name_of(supervisor_id))
    return Text(f"## Supervision pack: {me}\n\n"
                f"**For you, {me}**, as clinical supervisor of "
                f"{', '.join(names)}. Period {period_words(run.config)}. This pack supports "
                "your supervision: it is not for employment decisions, and the owner's report "
                "does not include it. Share each supervisee's part with them.")


def ledger_table(run: RunFolder, ids: list[str], *, names: bool = True):
    """The licensure ledger in words: hours to date against the rule, compliance in the
    period, projected completion. A licensed clinician's own view (``names=False``) says
    nothing: there is no ledger for them."""
    t = rows_for(run, "supervision_ledger", ids)
    if t.empty:
        return Text("" if not names else "No pre-licensed clinician here: there is no "
                    "licensure ledger.")
    cols = {}
    for _, r in t.iterrows():
        who = run.name_of(r["clinician_id"]) if names else "You"
        # records that begin after the start: every count is a lower bound, never complete
        partial = "history_complete" in r and not known_yes(r["history_complete"]) \
            and pd.notna(r["history_complete"])

        def of(have, need, partial=partial):
            if pd.isna(have):
                return "not known"
            least = "at least " if partial else ""
            return (f"{least}{have:,.0f} of {need:,.0f}" if pd.notna(need)
                    else f"{least}{have:,.0f}")

        per = "–"
        if pd.notna(r["periods_assessed"]):
            unit = f"{r['compliance_period']}s"
            per = f"{int(r['periods_compliant'])} of {int(r['periods_assessed'])} {unit}"
        cols[who] = {
            "Rule": text_or(r["rule_name"], text_or(reasons_note(r.get("reasons")), "–")),
            "Status": _status_words(r),
            "Experience counted since": date_words(r["experience_since"])
            + (" (the records begin then; earlier experience is not in them)" if partial
               else ""),
            "Total hours": of(r["total_hours"], r.get("total_required")),
            "Direct client hours": of(r["direct_hours"], r.get("direct_required")),
            "Supervision hours (individual or triadic)":
                of(r["supervision_hours_individual"], r.get("supervision_individual_required")),
            "Supervision hours (group)": of(r["supervision_hours_group"], None),
            "Supervised weeks": of(r["supervised_weeks"], r.get("weeks_required")),
            "Supervision met the rule this period": per,
            "Projected completion at the current pace":
                "not projected: earlier experience is not in the records" if partial
                else date_words(r["projected_completion"]),
            "Note": text_or(reasons_note(r.get("reasons")), "–"),
        }
    return table(pd.DataFrame(cols), rows="Licensure")


def _status_words(r) -> str:
    """The ledger's ``ledger_status`` in words (older runs have none: "–")."""
    status = text_or(r.get("ledger_status"), "")
    if status == "incomplete history":
        since = r["experience_since"] if pd.notna(r.get("experience_since")) \
            else r["records_since"]
        return (f"incomplete history: the records hold the hours since {date_words(since)} "
                "only, so the totals are not the full count toward the requirement")
    return {"on track": "on track", "behind": "behind the rule",
            "not known": "not known (no supervision records)"}.get(status, "–")


def ledger_note(run: RunFolder, ids: list[str]) -> Text:
    """Where each applied licensure rule comes from (the ledger's ``rule_citation``)."""
    t = rows_for(run, "supervision_ledger", ids)
    used = t[t["rule_name"].fillna("") != ""].drop_duplicates("rule").sort_values("rule") \
        if not t.empty else t
    cites = "\n".join(f"- **{md(r['rule_name'])}**: {md(r['rule_citation'])}"
                      for _, r in used.iterrows())
    if not cites:
        return Text("")
    return Text("Hours come from the practice's records: attended sessions are direct client "
                "hours, the supervision log gives supervision hours. Experience from before the "
                "records can be added in the parameters file. **The licensing board's current "
                "rules govern**; perfkit's rule files summarise them:\n\n" + cites)


def goals_table(run: RunFolder, ids: list[str], *, names: bool = True):
    t = rows_or_reason(run, "goals", ids, quiet=not names)
    if isinstance(t, Text):
        return t
    days = run.config.supervision.goal_review_days
    out = pd.DataFrame({
        **_who(run, t, names),
        "Goal": t["description"], "Set": t["set_on"].map(date_words),
        "Target": t["target_date"].map(date_words), "Status": t["status"],
        "Last looked at": t["last_reviewed"].map(date_words),
        "Needs a review": np.where(t["review_overdue"].to_numpy(dtype=bool),
                                   f"yes: over {days} days", "no"),
    })
    return table(
        out, "Goals are agreed together; an open goal not looked at for a while is listed so it "
        "can be revisited, revised or let go.")


def reviews_table(run: RunFolder, ids: list[str], *, names: bool = True):
    """Latest competency rating per domain with the observed evidence and change."""
    t = rows_or_reason(run, "reviews", ids, quiet=not names)
    if isinstance(t, Text):
        return t
    t = t[t["rating"].notna() | t["review_overdue"].fillna(False)]
    if t.empty:
        return Text("No competency reviews recorded.")

    def change(v):
        return "–" if pd.isna(v) else ("same" if v == 0 else f"{v:+.0f}")

    out = pd.DataFrame({
        **_who(run, t, names),
        "Area": t["domain"].str.capitalize(),
        "Rating (1-5)": t["rating"].map(lambda v: "not yet rated" if pd.isna(v) else f"{v:.0f}"),
        "What was observed": t["evidence"].fillna("–"),
        "Reviewed": t["review_date"].map(date_words),
        "Change since the previous review": t["change"].map(change),
        "Review due": yes_no(t["review_overdue"]),
    })
    return table(
        out, "Ratings rest on observed behaviour (knowledge, skills, attitudes, values): what the "
        "clinician does, not who they are.")


def ce_table(run: RunFolder, ids: list[str], *, names: bool = True):
    t = rows_or_reason(run, "ce", ids, quiet=not names)
    if isinstance(t, Text):
        return t
    out = pd.DataFrame({
        **_who(run, t, names),
        "License": t["license_type"].fillna("–"),
        "Cycle": [f"{date_words(a)} to {date_words(pd.Timestamp(b) - pd.Timedelta(days=1))}"
                  if pd.notna(a) else "–"
                  for a, b in zip(t["cycle_start"], t["cycle_end"], strict=True)],
        "Hours so far": t["hours"].map(lambda v: num(v, 1)),
        "Hours needed": t["required_hours"].map(lambda v: num(v, 0)),
        "Status": [ce_words(r) for _, r in t.iterrows()],
    })
    return table(out)


def _sessions(n, hours) -> str:
    n = 0 if pd.isna(n) else int(n)
    return "none" if not n else f"{n} {'session' if n == 1 else 'sessions'}, {num(hours, 1)} h"


def support_table(run: RunFolder, ids: list[str], *, names: bool = True):
    """Peer case consultation and mentoring: support the clinician takes part in, never
    supervision hours toward licensure."""
    t = rows_or_reason(run, "support", ids, quiet=not names)
    if isinstance(t, Text):
        return t
    months = run.config.supervision.support_months
    if not (t["consultation_sessions"].fillna(0).sum() + t["mentoring_sessions"].fillna(0).sum()
            or t["last_support"].notna().any()):
        return Text("No peer consultation or mentoring is on record for these clinicians."
                    if names else "")
    out = pd.DataFrame({
        **_who(run, t, names),
        "Peer consultation this period": [_sessions(n, h) for n, h in zip(
            t["consultation_sessions"], t["consultation_hours"], strict=True)],
        "Mentoring this period": [_sessions(n, h) for n, h in zip(
            t["mentoring_sessions"], t["mentoring_hours"], strict=True)],
        "Latest session": t["last_support"].map(date_words),
        f"Months with some (last {months})": t["support_months"].map(
            lambda v: "–" if pd.isna(v) else f"{int(v)} of {months}"),
    })
    return table(out, "Peer case consultation and mentoring are support chosen with the "
                 "clinician; they never count as supervision hours toward licensure." if names
                 else "Peer case consultation and mentoring are support you choose; they never "
                 "count as supervision hours toward licensure.")


def ce_words(r) -> str:
    if pd.isna(r["required_hours"]):
        if "ce_requirement_of_another_state" in reason_codes(r.get("reasons")):
            return ("none for the practice's state: the requirement set for this licence is "
                    "another state's board's")  # supervision.ce_requirement says why
        return "no requirement set in the parameters"
    if pd.isna(r["hours"]):
        return "not known: no continuing-education records were provided"
    if r["remaining_hours"] <= 0:
        return "complete for this cycle"
    if known_yes(r["due_soon"]):
        return f"{r['remaining_hours']:g} hours still needed before {date_words(r['cycle_end'])}"
    return "on an even pace" if not known_yes(r["behind_pace"]) else \
        f"{r['remaining_hours']:g} hours to go"


def supervision_shortfall(r) -> str:
    """How a ledger row (``supervision``) falls short of its licensure rule, in hours and
    periods only (no session content): the periods of the period that met the rule, and the
    supervision hours against what the rule's pace needs for the hours so far (the ledger's
    own test). Empty when the row is not behind."""
    if not known_yes(r.get("behind_on_supervision")):
        return ""
    said = []
    if pd.notna(r.get("periods_assessed")) and pd.notna(r.get("periods_compliant")) \
            and r["periods_compliant"] < r["periods_assessed"]:
        n, of = int(r["periods_assessed"] - r["periods_compliant"]), int(r["periods_assessed"])
        said.append(f"supervision fell short of the rule in {n} of {of} "
                    f"{r['compliance_period']}{'' if of == 1 else 's'}")
    need, total, total_req = (r.get("supervision_required"), r.get("total_hours"),
                              r.get("total_required"))
    have = sum(0.0 if pd.isna(v) else float(v) for v in
               (r.get("supervision_hours_individual"), r.get("supervision_hours_group")))
    complete = not (pd.notna(r.get("history_complete")) and not known_yes(r.get(
        "history_complete")))  # hours from part of the experience: no pace to test
    if complete and all(pd.notna(v) and v for v in (need, total, total_req)):
        expected = float(need) * min(float(total) / float(total_req), 1)
        if have < expected:
            said.append(f"{have:,.0f} hours of supervision where the rule's pace needs "
                        f"{expected:,.0f} by now ({expected - have:,.0f} hours short)")
    return "; ".join(said) or "supervision is behind the rule's pace"


def compliance_words(r) -> str:
    """A ledger row's compliance in one content-free phrase: ``on track``, ``behind its rule
    (...)`` with the shortfall in hours and periods, ``incomplete history`` (the records begin
    after the start), or why it is not known. The owner's line per associate reads this."""
    status = text_or(r.get("ledger_status"), "")
    since = r.get("records_since")
    partial = ("incomplete history (the records begin on "
               f"{date_words(since)}, after they started, so the hours are not the full count)"
               if pd.notna(since) else "incomplete history")
    if known_yes(r.get("behind_on_supervision")):  # periods short are known on any history
        return f"behind its rule ({supervision_shortfall(r)})" + (
            f"; {partial}" if status == "incomplete history" else "")
    if status == "incomplete history":
        return partial
    if status == "on track":
        return "on track"
    if status == "not known":
        return "not known (no supervision records were provided)"
    return "not assessed (no licensure rule applies)"


def talk_to(run: RunFolder, clinician_id: str) -> str:
    """Whom a self-view points to for a conversation: ``your supervisor`` when the clinician
    has one (``supervisors``), else the clinical director (pre-licensed, whose supervisor is
    not on the roster) or a peer consultation group or the clinical director (licensed)."""
    pairs = run.tables.get("supervisors", _NO_PAIRS)
    if clinician_id in set(pairs["clinician_id"]):
        return "your supervisor"
    led = run.tables.get("supervision_ledger")
    pre = led is not None and clinician_id in set(led["clinician_id"])
    return "the clinical director" if pre else \
        "a peer consultation group or the clinical director"


def supervision_questions(run: RunFolder, ids: list[str], *, names: bool = True) -> Text:
    """Prompts for the next supervision meeting, from the ledger, the operational flags (the
    very questions the owner's check-in list asks, from the same flag columns: the two pages
    never disagree on a supervisee), goals and outcomes."""
    qs = []
    led = rows_for(run, "supervision_ledger", ids)
    for _, r in led.iterrows():
        who = md(run.name_of(r["clinician_id"])) if names else "You"
        if known_yes(r.get("behind_on_supervision")):
            qs.append(f"{who}: {supervision_shortfall(r)}. What would make a regular slot "
                      "easier to keep?")
    m = rows_for(run, "clinician_metrics", ids)
    ins = check_ins(run)
    for _, row in (m.sort_values("clinician_id").iterrows() if not m.empty else []):
        who = md(run.name_of(row["clinician_id"])) if names else "You"
        asked = questions_for(run, row["clinician_id"], you=not names, ins=ins)
        hire = new_hire(run, row["clinician_id"])  # earlier hires' figures: enough of them
        ramp = slow_ramp_question(hire if ramp_compared(run, row["clinician_id"]) else None,
                                  you=not names)
        qs += [f"{who}: {q}" if names else q for q in asked + ([ramp] if ramp else [])]
    g = rows_for(run, "goals", ids)
    g = g[g["review_overdue"]] if not g.empty else g
    for cid, n in (g.groupby("clinician_id").size().items() if not g.empty else []):
        who = md(run.name_of(cid)) if names else "You"
        qs.append(f"{who}: {n} open {'goal has' if n == 1 else 'goals have'} not been looked at "
                  "for a while. Still the right goals?")
    nt = rows_for(run, "not_on_track", ids)
    for cid, n in clients_by_clinician(nt).items():  # clients, not rows
        who = md(run.name_of(cid)) if names else "You"
        qs.append(f"{who}: {num(n, 0)} {'client is' if n == 1 else 'clients are'} off their "
                  "expected course. Which would it help to talk through?")
    if not qs:
        qs.append("Nothing is flagged this period. What would be most useful to focus on?")
    return Text("\n".join(f"- {q}" for q in qs))


@measured(say=True)
def supervisee_alerts(run: RunFolder, ids: list[str]):
    """Supervisees' clients who are behind their expected curve or reliably worse (off
    track). PHQ-9 item 9 answers have a section of their own (:func:`supervisee_item9`),
    never in this table."""
    nt = rows_for(run, "not_on_track", ids)
    rows = [{"Clinician": run.name_of(r["clinician_id"]), "Client": r["client_id"],
             "Why listed": r["reason"], "Measure": r["instrument"],
             "Latest": date_words(r["last_at"])} for _, r in nt.iterrows()]
    if not rows:
        return Text("No supervisee's client is off track this period.")
    return table(pd.DataFrame(rows))  # the section says clients are shown by pseudonym


def supervisee_item9(run: RunFolder, ids: list[str]):
    """Supervisees' PHQ-9 item 9 answers above zero in the period, one row per
    administration, escalations first, then oldest first, each with its clinician and the
    session's date and time (:func:`~perfkit.report.run_folder.item9_rows`, as in the self-view)."""
    if not run.provided("assessments"):
        return Text("No measures were provided, so there are no item 9 answers to show.")
    return item9_section(run, ids, "No supervisee's client answered item 9 above zero this "
                         "period.", run.name_of)
