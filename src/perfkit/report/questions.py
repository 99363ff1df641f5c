"""The questions a clinician's figures raise, asked the same on every page: the owner's
check-in list, the supervision pack and the clinician's self-view read :func:`check_ins` and
:func:`questions_for`, so no page asks what another gives as context (a new hire's ramp,
recorded time off). Each question rests on signals: the run's flags and worsening trends, as
``check_ins.csv`` sorts them (:mod:`perfkit.check_ins`: new, standing, flagged, worsening or
explained by context, the group and the order); this module words them."""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..registry import RAMP_STATUS, concern, format_value, label_of, label_words
from .format import date_words
from .run_folder import RunFolder, few_peers, hires_compared, ramp_by_hire, ramping_starts

__all__ = ["prompts", "check_in_reasons", "stretched_reasons", "questions_for", "check_ins",
           "explained_by_ramp", "new_hire", "ramp_compared", "slow_ramp_question", "WORSENING",
           "KINDS", "CHANGED", "STANDING", "FLAGGED", "CONTEXT"]


# the trend labels that are a concern (sustained worsening), with the figure in words: the
# check-in cells' marks (which trends are signals is perfkit.check_ins')
WORSENING = {f"trend_{m}": (concern(m), label_of(m, kind="long").lower()) for m in (
    "utilization", "notes_within_72h", "non_attendance_rate")}


def prompts(row: pd.Series, cfg: Config, you: bool, on) -> list[tuple[frozenset, str]]:
    """Each question with the signals it rests on (``on``: the signals to ask about, those
    of the clinician's ``check_ins`` row); each rate as the tables show it."""
    ops = cfg.operations

    def shown(metric: str) -> str:
        return format_value(metric, row[metric])

    on = set(on)
    they, their = ("you", "your") if you else ("they", "their")
    q = []
    if keys := on & {"trend_utilization", "flag_low_utilization"}:
        q.append((keys, f"{'Your utilization' if you else label_of('utilization')} is "
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
        q.append((keys, f"{format_value('unsigned_overdue_7d', n)} {'of your ' if you else ''}"
                        f"{'note has' if n == 1 else 'notes have'} been unsigned for more "
                        f"than {ops.note_overdue_days:g} days. Is there a backlog {they} would "
                        "like help with?"))
    if keys := on & {"flag_high_non_attendance", "trend_non_attendance_rate"}:
        q.append((keys, f"{shown('non_attendance_rate')} of "
                        f"{their + ' ' if you else ''}appointments were missed. Are reminders, "
                        "scheduling or client circumstances getting in the way?"))
    return q + _stretched(row, cfg, you, on)


def _all_signals(run: RunFolder, clinician_id: str):
    """The clinician's ``clinician_metrics`` row and every signal of their ``check_ins`` row
    (asked about or explained by context), or None: no signal."""
    ins = check_ins(run, only=clinician_id)
    if ins.empty:
        return None
    hit = ins.iloc[0]
    return hit["row"], {s for k in KINDS for s in hit[k]}


def check_in_reasons(run: RunFolder, clinician_id: str, *, you: bool = False) -> list[str]:
    """Questions a clinician's figures raise, for the owner about the clinician or, with
    ``you``, for the clinician's own report, addressed to them: from every signal of their
    ``check_ins`` row (:mod:`perfkit.check_ins`: only figures the export supports are
    signals), context-explained ones too (:func:`questions_for` leaves those out)."""
    found = _all_signals(run, clinician_id)
    return [] if found is None else [text for _, text in prompts(found[0], run.config, you,
                                                                  found[1])]


def _stretched(row, cfg: Config, you: bool, on: set) -> list[tuple[frozenset, str]]:
    w, q = cfg.workload, []
    they, their = ("you", "your") if you else ("they", "their")
    stretched = "You might be stretched" if you else "Might be stretched"
    if "over_capacity" in on:
        q.append(({"over_capacity"}, f"{stretched}: {their} utilization is "
                  f"{format_value('utilization', row['utilization'])} of the hours offered for "
                  "clients. Is the "
                  "capacity in the roster still right, or is the week fuller than planned?"))
    if "flag_over_goal" in on:
        q.append(({"flag_over_goal"}, f"{stretched}: {their} attended sessions were "
                  f"{label_words(cfg)['over_goal_margin']} or more above the weekly goal in "
                  f"{format_value('weeks_over_goal', row['weeks_over_goal'])} of the last "
                  f"{w.over_goal_window} weeks. Is that a choice, or would fewer sessions "
                  "help?"))
    if "flag_no_time_off" in on:
        q.append(({"flag_no_time_off"}, f"{stretched}: no time off is recorded in the last "
                  f"{w.time_off_months} months. Is a break planned?"))
    if "flag_caseload_growing" in on:
        weeks = format_value("caseload_growing_weeks", row["caseload_growing_weeks"])
        q.append(({"flag_caseload_growing"}, f"{stretched}: {their} caseload has grown for "
                  f"{weeks} weeks in a row (now {format_value('caseload', row['caseload'])} "
                  f"clients). Is that the caseload {they} want?"))
    return q


def stretched_reasons(run: RunFolder, clinician_id: str, *, you: bool = False) -> list[str]:
    """"Might be stretched" prompts from the workload signals of the clinician's
    ``check_ins`` row (parameters ``workload``), about the clinician or, with ``you``, to
    them."""
    found = _all_signals(run, clinician_id)
    return [] if found is None else [text for _, text in _stretched(found[0], run.config, you,
                                                                    found[1])]


def questions_for(run: RunFolder, clinician_id: str, *, you: bool = False,
                  ins: pd.DataFrame | None = None) -> list[str]:
    """The questions the owner's check-in list asks about one clinician, in the reader's
    wording (``you``: addressed to the clinician): the supervision pack and the self-view ask
    exactly these, so no page asks what another gives as context (a ramp, time off)."""
    ins = check_ins(run, only=clinician_id) if ins is None else ins
    hit = ins[ins["clinician_id"] == clinician_id] if len(ins) else ins
    if hit.empty:
        return []
    r = hit.iloc[0]
    return [text for _, text in prompts(r["row"], run.config, you, set(r["asking"]))]


def explained_by_ramp(run: RunFolder) -> set[str]:
    """The clinicians of ``check_ins`` with a signal a new hire's ramp explains (its
    ``context`` has ``ramp``)."""
    t = run.tables.get("check_ins")
    if t is None or t.empty:
        return set()
    return {c for c, w in zip(t["clinician_id"], t["context"], strict=True)
            if "ramp" in _codes(w)}


def _ramping(run: RunFolder) -> dict[str, str]:
    """The new hires (:func:`~perfkit.report.run_folder.ramping_starts`) with their ramp in
    words."""
    starts = ramping_starts(run)
    if not starts:
        return {}
    status = ramp_by_hire(run).set_index("clinician_id")["ramp"]
    return {cid: f"started on {date_words(day)}: "
                 + RAMP_STATUS.get(status.get(cid), ("In their first months",))[0].lower()
            for cid, day in starts.items()}


CHANGED, STANDING, FLAGGED, CONTEXT = "changed", "standing", "flagged", "context"
KINDS = ("new", "worsening", "standing", "flagged", "explained")


def _codes(cell) -> list[str]:
    """The signals of one cell of ``check_ins`` (``;``-joined names; empty for none)."""
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)) or not cell:
        return []
    return str(cell).split(";")


def check_ins(run: RunFolder, *, only: str | None = None) -> pd.DataFrame:
    """The rows of ``check_ins.csv`` (:func:`perfkit.check_ins.check_ins`: who has something to
    ask or to know, sorted there) in its ``order``, for the pages to word: ``group``
    (``changed``: newly flagged since the compared run or worsening for several weeks;
    ``standing``: flagged in the compared run too; ``flagged``: flagged with no earlier figure
    to compare; ``context``: every signal explained by a ramp or recorded time off), the
    signals by kind (``new``, ``worsening``, ``standing``, ``flagged``, ``explained``: lists of
    signal names), ``held`` (those flagged in the compared run too), ``ramp`` (the ramp in
    words, where it explains a signal) and ``leave_days``
    (the context), ``prompts`` (the questions), ``asking`` (the signals asked about),
    ``name`` and ``row`` (the clinician's ``clinician_metrics`` row). ``only``: the row of
    that one clinician alone (a page about one clinician words only theirs, whatever the size
    of the practice)."""
    columns = ["clinician_id", "name", "group", *KINDS, "held", "ramp", "leave_days",
               "prompts", "asking", "row"]
    t = run.tables.get("check_ins")
    if t is not None and only is not None:
        t = t[t["clinician_id"] == only]
    if t is None or t.empty:
        return pd.DataFrame(columns=columns)
    m = run.table("clinician_metrics")
    metrics = {r["clinician_id"]: r for _, r in m[m["clinician_id"].isin(t["clinician_id"])]
               .iterrows()}
    ramping = _ramping(run) if any("ramp" in _codes(c) for c in t["context"]) else {}
    rows = []
    for _, r in t.sort_values("order").iterrows():
        cid, kinds = r["clinician_id"], {k: _codes(r[k]) for k in KINDS}
        row = metrics[cid]
        asking = sorted(s for k in KINDS[:4] for s in kinds[k])
        rows.append({"clinician_id": cid, "name": run.name_of(cid), "group": r["group"],
                     **kinds, "held": _codes(r["held"]),
                     "ramp": ramping.get(cid, "") if "ramp" in _codes(r["context"]) else "",
                     "leave_days": int(r["leave_days"]),
                     "prompts": [text for _, text in prompts(row, run.config, False,
                                                             set(asking))],
                     "asking": asking, "row": row})
    return pd.DataFrame(rows, columns=columns).reset_index(drop=True)


def new_hire(run: RunFolder, clinician_id: str) -> pd.Series | None:
    """The clinician's row of :func:`~perfkit.report.run_folder.ramp_by_hire` (the new hires of
    ``ramp.csv``: started within ``ramp.recent_months``), or None: not a new hire. The ramp
    figure and the owner's ramp words read the same rows."""
    if clinician_id not in ramping_starts(run):
        return None  # not a new hire, or past the first ``ramp.weeks`` weeks
    hires = ramp_by_hire(run).set_index("clinician_id")
    return hires.loc[clinician_id] if clinician_id in hires.index else None


def ramp_compared(run: RunFolder, clinician_id: str) -> bool:
    """Whether a new hire's ramp may be set beside the practice's earlier hires' where the
    hire (or their supervisor) reads it: only when at least ``privacy.min_peers`` earlier
    hires make the comparison (a median of fewer gives their own first weeks)."""
    return not few_peers(run, hires_compared(run, clinician_id))


def slow_ramp_question(hire, *, you: bool = True) -> str | None:
    """The question for a new hire ramping more slowly than the practice's earlier hires
    (``hire``: their row of :func:`new_hire`), addressed to them or,
    without ``you``, about them for their supervisor; None for anyone else. The owner's list
    gives the same ramp as context, never as a question about the caseload."""
    if hire is None or hire["ramp"] != "more slowly" or not hire["compared"]:
        return None
    whose, them = ("Your", "you") if you else ("Their", "them")
    return (f"{whose} first weeks are filling more slowly than earlier hires' did "
            f"({format_value('utilization', hire['utilization'])} against "
            f"{format_value('utilization', hire['practice_utilization'])}). What "
            f"would help {them}: referrals, how new clients are booked, or something else?")
