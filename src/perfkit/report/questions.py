"""The questions a clinician's figures raise, asked the same on every page: the owner's
check-in list, the supervision pack and the clinician's self-view read :func:`check_ins` and
:func:`questions_for`, so no page asks what another gives as context (a new hire's ramp,
recorded time off). Each question rests on signals: the run's flags and worsening trends."""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..contract import NEWLY, NOT_KNOWN, STILL
from ..registry import RAMP_STATUS, concern, format_value, label_of, label_words
from .format import date_words, known_yes
from .run_folder import RunFolder, few_peers, hires_compared, ramp_by_hire, ramping_starts

__all__ = ["signals", "prompts", "check_in_reasons", "stretched_reasons", "questions_for",
           "check_ins",
           "new_hire", "ramp_compared", "slow_ramp_question", "WORSENING", "FLAG_SIGNALS",
           "RAMP_EXPLAINS", "LEAVE_EXPLAINS", "CHANGED", "STANDING", "FLAGGED", "CONTEXT"]


# the trend labels that are a concern (sustained worsening), with the figure in words
WORSENING = {f"trend_{m}": (concern(m), label_of(m, kind="long").lower()) for m in (
    "utilization", "notes_within_72h", "non_attendance_rate")}
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
    if signal in DOCUMENTATION_SIGNALS and row.get("documentation_source") == NOT_KNOWN:
        return False
    return not (signal in UTILIZATION_SIGNALS and "appointments_in_export" in row
                and pd.notna(row.get("appointments_in_export"))
                and float(row["appointments_in_export"]) == 0)


def signals(row) -> list[str]:
    """A clinician's flags (true) and worsening trends the export supports, flags first."""
    out = [f for f in FLAG_SIGNALS if known_yes(row.get(f))]
    out += [t for t, (bad, _) in WORSENING.items() if row.get(t) == bad]
    return [s for s in out if _supported(s, row)]


def prompts(row: pd.Series, cfg: Config, you: bool,
             on: set | None = None) -> list[tuple[frozenset, str]]:
    """Each question with the signals it rests on (``on``: the signals to ask about, by
    default all of :func:`signals`); each rate as the tables show it."""
    ops = cfg.operations

    def shown(metric: str) -> str:
        return format_value(metric, row[metric])

    on = set(signals(row)) if on is None else set(on)
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


def check_in_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """Questions a clinician's figures raise, for the owner about the clinician or, with
    ``you``, for the clinician's own report, addressed to them. Only figures the export
    supports raise one (:func:`signals`)."""
    return [text for _, text in prompts(row, cfg, you)]


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


def stretched_reasons(row: pd.Series, cfg: Config, *, you: bool = False) -> list[str]:
    """"Might be stretched" prompts from the workload signals (parameters ``workload``), about
    the clinician or, with ``you``, to them."""
    return [text for _, text in _stretched(row, cfg, you, set(signals(row)))]


def questions_for(run: RunFolder, clinician_id: str, *, you: bool = False,
                  ins: pd.DataFrame | None = None) -> list[str]:
    """The questions the owner's check-in list asks about one clinician, in the reader's
    wording (``you``: addressed to the clinician): the supervision pack and the self-view ask
    exactly these, so no page asks what another gives as context (a ramp, time off)."""
    ins = check_ins(run) if ins is None else ins
    hit = ins[ins["clinician_id"] == clinician_id] if len(ins) else ins
    if hit.empty:
        return []
    r = hit.iloc[0]
    return [text for _, text in prompts(r["row"], run.config, you, set(r["asking"]))]


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


def _leave(run: RunFolder) -> dict[str, int]:
    """Calendar days of recorded time off in the period, per clinician, where at least
    ``operations.leave_context_days`` (``leave_days.csv``)."""
    if not run.provided("time_off"):
        return {}
    t = run.tables.get("leave_days")
    if t is None:
        return {}
    return {str(c): int(d) for c, d in zip(t["clinician_id"], t["leave_days"], strict=True)}


CHANGED, STANDING, FLAGGED, CONTEXT = "changed", "standing", "flagged", "context"


def check_ins(run: RunFolder) -> pd.DataFrame:
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
        asked = [text for _, text in prompts(row, run.config, False, set(asking))]
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
