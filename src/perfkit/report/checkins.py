"""Who might welcome support, and why: the top of the owner's page (:func:`first_screen`),
the check-in table with its questions, each once, and, for a large practice with teams, the
teams at a glance. Every count is a count of rows of :func:`support_rows`, or of the
``check_ins`` table's marks (:mod:`perfkit.check_ins`) it reads."""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..contract import NO_LONGER
from ..hostile_text import md
from ..registry import FLAGS, flag_text, format_value, label_of, value_words
from .compare import comings_and_goings, compared_rows, compared_run
from .format import (
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    count,
    num,
    period_words,
    table,
)
from .metrics_table import operations_table
from .questions import (
    CHANGED,
    CONTEXT,
    FLAGGED,
    STANDING,
    WORSENING,
    check_ins,
    explained_by_ramp,
    prompts,
)
from .run_folder import RunFolder, on_status, ramp_by_hire, unavailable
from .teams import TEAM, Shortened, has_teams, is_large, shortened, team_of

__all__ = ["first_screen", "check_in_table", "check_in_questions", "support_rows", "REASONS",
           "STATUS_ORDER", "NEW", "STILL_FLAGGED", "FLAGGED_NOW", "CLEARED", "EXPLAINED",
           "team_rows", "team_glance"]


# each flag and worsening trend in a few words (the first screen's counts and names): the
# flags' words are the registry's (perfkit.registry.FLAGS), in its order
REASONS = {
    **{k: f.words for k, f in FLAGS.items()},
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
    tables show it ("▼ utilization 62%"; the registry's ``cell``,
    :data:`perfkit.registry.FLAGS`); the thresholds are the operations table's legend."""
    if signal in WORSENING:
        bad, _ = WORSENING[signal]
        return f"{'↓' if bad == 'declining' else '↑'} {REASONS[signal]}"
    if signal in FLAGS:
        return f"{FLAGS[signal].mark} {flag_text(signal, 'cell', cfg, row)}"
    return REASONS.get(signal, signal)


def _ask(prompt: str) -> str:
    """A prompt's question alone (the figure before it is in the Reasons column)."""
    head, _, question = prompt.rpartition(". ")
    return question if head and question.endswith("?") else prompt


def support_rows(run: RunFolder) -> pd.DataFrame:
    """One row per clinician the first screen counts and the check-in table lists: those of
    :func:`~perfkit.report.questions.check_ins`, and those with a flag cleared since the
    compared run (``changes``) and nothing to ask. ``status`` is one of :data:`STATUS_ORDER`
    (``new or worsening``,
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
    teams = {cid: t for cid, t in team_of(run).items() if t}
    rows = []

    def then_now(cid: str, flag: str, now: bool = True) -> str:
        metric, before, after = was.get((cid, flag), ("", None, None))
        if not metric or before is None or pd.isna(before):
            return ""
        return (f" ({value_words(metric, before)} then)" if now else
                f" ({value_words(metric, before)} then, {value_words(metric, after)} now)")

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
            status = (STILL_FLAGGED if r["held"]
                      else CLEARED if cid in cleared else EXPLAINED)
        rows.append({"clinician_id": cid, "name": r["name"], "status": status,
                     **{k: r[k] for k in ("new", "worsening", "standing", "flagged",
                                          "explained")},
                     "held": r["held"],
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


def first_screen(run: RunFolder) -> Text:
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
        if next(iter(compared_rows(run)["definitions_changed"]), False):
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
        slow = int((context["clinician_id"].isin(explained_by_ramp(run))
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
        left, joined, gone = comings_and_goings(run)
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


def check_in_table(run: RunFolder):
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


def check_in_questions(run: RunFolder) -> Text:
    """The questions the check-in table's reasons raise, each once, with the reasons that
    raise it: supportive questions, not verdicts. The pack and the self-view ask the same
    questions with the clinician's own figure
    (:func:`~perfkit.report.questions.questions_for`). Empty when no one in the table has a
    question."""
    ins = check_ins(run)
    found: dict[str, set] = {}
    for _, r in ins.iterrows():
        for keys, text in prompts(r["row"], run.config, False, set(r["asking"])):
            found.setdefault(_ask(text), set()).update(keys)
    if not found:
        return Text("")
    order = list(REASONS)
    lines = [f"- *{', '.join(REASONS.get(k, k) for k in sorted(keys, key=order.index))}*: "
             f"{q}" for q, keys in found.items()]
    return Text("**What to ask**, each question once, with the reasons that raise it:\n\n"
                + "\n".join(lines))


def team_rows(run: RunFolder) -> pd.DataFrame:
    """One row per team (clinicians with no team last, then the whole practice), as numbers:
    ``team`` ("" for no team and for the whole practice), ``whole`` (the practice's row),
    ``clinicians``, ``check_in`` (the clinicians the check-in table lists as newly flagged
    or worsening, still flagged, or flagged: ``check_ins.csv``'s ``check_in``;
    a flag cleared, or context alone, is not counted),
    ``newly_flagged`` (clinicians with a flag new since the compared run: its
    ``newly_flagged``) and the pooled
    ``utilization``, ``non_attendance_rate`` and ``notes_within_72h`` of the team's rows of
    ``clinician_metrics`` (``team_rates.csv``: ratios of sums, as the practice's own
    figures), with ``timed`` (clinicians whose notes have signing times)."""
    m = run.table("clinician_metrics")
    teams = team_of(run)
    team = m["clinician_id"].map(lambda c: teams.get(str(c), ""))
    ins = run.tables.get("check_ins")  # perfkit.check_ins: the check-in table's own rows
    ins = ins if ins is not None else pd.DataFrame(
        columns=["clinician_id", "check_in", "newly_flagged"])
    asked = set(ins.loc[ins["check_in"].astype(bool), "clinician_id"])
    new = set(ins.loc[ins["newly_flagged"].astype(bool), "clinician_id"])
    rates = run.table("team_rates")  # perfkit.practice_summary.team_rates: the same groups
    rows = []
    for _, r in rates.iterrows():
        whole = bool(r["whole"])
        name = "" if whole or pd.isna(r["team"]) else str(r["team"])
        g = m if whole else m[(team == name).to_numpy()]
        rows.append({"team": name, "whole": whole, "clinicians": len(g),
                     "check_in": int(g["clinician_id"].isin(asked).sum()),
                     "newly_flagged": int(g["clinician_id"].isin(new).sum()),
                     "utilization": r["utilization"],
                     "non_attendance_rate": r["non_attendance_rate"],
                     "notes_within_72h": r["notes_within_72h"],
                     "timed": int((~on_status(g) & g["notes_within_72h"].notna()).sum())})
    return pd.DataFrame(rows)


def team_glance(run: RunFolder):
    """Teams at a glance, for a large practice (more than ``report.large_practice``
    clinicians) whose roster names teams: one row per team, then the clinicians with no team
    and the whole practice. Each rate pools the team's clinicians (attended hours over
    available hours, missed over past appointments, notes within 72 hours over the notes due
    of clinicians with signing times), never an average of their rates. Empty text for a
    smaller practice or one without teams (the page then leaves the heading out).

    Small teams: these are operational figures of the clinicians the owner's page already
    shows one by one, so a team of one clinician tells the owner nothing the table below does
    not; no outcome or retention rate (the rates ``outcomes.min_episodes`` hides) is here, and
    this page is the owner's alone (``privacy.min_peers`` guards what clinicians read)."""
    if not is_large(run) or not has_teams(run):
        return Text("")
    t = team_rows(run)
    gone = unavailable(run)
    compared = compared_run(run, markdown=False) is not None

    def rate(v, metric, timed=1):
        if metric in gone:
            return NOT_IN_EXPORT
        if metric == "notes_within_72h" and not timed:
            return NO_SIGNING_TIMES
        return format_value(metric, v)  # as the clinicians' table shows them

    out = pd.DataFrame({
        TEAM: ["Whole practice" if whole else n or "No team given"
               for n, whole in zip(t["team"], t["whole"], strict=True)],
        "Clinicians": t["clinicians"].map(lambda v: num(v, 0)),
        "Might welcome a check-in": t["check_in"].map(lambda v: num(v, 0)),
        **({"Newly flagged": t["newly_flagged"].map(lambda v: num(v, 0))} if compared else {}),
        **{label_of(k, run.config, "column"): [rate(v, k) for v in t[k]]
           for k in ("utilization", "non_attendance_rate")},
        label_of("notes_within_72h", run.config, "column"): [
            rate(v, "notes_within_72h", n)
            for v, n in zip(t["notes_within_72h"], t["timed"], strict=True)],
    })
    caption = ("One row per team of the roster, then the whole practice. Each rate pools the "
               "team's clinicians: attended hours over the hours they offered, missed over "
               "past appointments, notes signed within 72 hours over the notes due, so a busy "
               "clinician weighs more than a quiet one. Might welcome a check-in counts the "
               "clinicians the check-in table lists as newly flagged or worsening, still "
               "flagged or flagged"
               + ("; newly flagged, those with a flag new since the previous run." if compared
                  else "; with no earlier run to compare, nothing can be newly flagged yet.")
               + " The tables below list the clinicians by team.")
    whole = t["whole"].to_numpy()

    def bold(col):  # the whole practice's row, to compare each team with
        return ["font-weight: bold" if w else "" for w in whole]

    return table(out, caption, caption_above=True, apply=bold)
