"""Who might welcome a check-in, and why: ``tables/check_ins.csv``.

The owner's check-in list, the supervision pack and the clinician's self-view all ask about
the same signals: a clinician's flags (``clinician_metrics``' ``flag_*`` and
``over_capacity``) and worsening trends (``trend_*`` labels that are a concern). This module
sorts each clinician's signals once, for every page: ``new`` (flagged now, not in the compared
run: ``changes``), ``standing`` (flagged in the compared run too), ``flagged`` (no earlier
figure to compare), ``worsening`` (a sustained trend) or ``explained`` (context explains it:
a new hire's ramp, ``ramp_summary``'s ``ramping``, or recorded time off, ``leave_days``); it
gives each clinician their group and the order the owner's list names them in. The reports
(:mod:`perfkit.report.questions`, :mod:`perfkit.report.checkins`) only word these rows.
"""

from __future__ import annotations

import pandas as pd

from .contract import NEWLY, NOT_KNOWN, STILL
from .hostile_text import distinct_names
from .registry import FLAGS, concern

__all__ = ["check_ins", "signals", "supported", "ramping", "WORSENING", "FLAG_SIGNALS",
           "UTILIZATION_SIGNALS", "DOCUMENTATION_SIGNALS", "RAMP_EXPLAINS", "LEAVE_EXPLAINS",
           "GROUPS", "KINDS", "CHECK_INS_COLUMNS", "SEPARATOR"]

# the trend labels that are a concern (sustained worsening): trend column -> its label
WORSENING = {f"trend_{m}": concern(m) for m in (
    "utilization", "notes_within_72h", "non_attendance_rate")}
FLAG_SIGNALS = tuple(FLAGS)  # every flag the registry defines, in its order
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

# the groups, in the order the owner's list gives them: ``changed`` (newly flagged since the
# compared run, or worsening for several weeks), ``standing`` (flagged in the compared run
# too), ``flagged`` (flagged, no earlier figure to compare), ``context`` (every signal
# explained by a ramp or recorded time off)
GROUPS = ("changed", "standing", "flagged", "context")
KINDS = ("new", "worsening", "standing", "flagged", "explained")
SEPARATOR = ";"  # the signals of one cell: "flag_late_notes;trend_utilization"
CHECK_INS_COLUMNS = ["clinician_id", "group", "order", *KINDS, "held", "context",
                     "leave_days", "check_in", "newly_flagged"]


def _yes(v) -> bool:
    return False if v is None or pd.isna(v) else bool(v)


def supported(signal: str, row) -> bool:
    """Whether the export supports a question from this signal: none about documentation
    when the export's documentation is not known (``documentation_source`` ``not_known``),
    none about utilization or sessions for a clinician the export never names."""
    if signal in DOCUMENTATION_SIGNALS and row.get("documentation_source") == NOT_KNOWN:
        return False
    return not (signal in UTILIZATION_SIGNALS and "appointments_in_export" in row
                and pd.notna(row.get("appointments_in_export"))
                and float(row["appointments_in_export"]) == 0)


def signals(row) -> list[str]:
    """A clinician's flags (yes) and worsening trends the export supports, flags first
    (a row of ``clinician_metrics``)."""
    out = [f for f in FLAG_SIGNALS if _yes(row.get(f))]
    out += [t for t, bad in WORSENING.items() if row.get(t) == bad]
    return [s for s in out if supported(s, row)]


def ramping(ramp_summary: pd.DataFrame | None) -> set[str]:
    """The new hires still in their first ``ramp.weeks`` weeks when the period begins
    (``ramp_summary``'s ``ramping``): the one definition of "new hire" every page uses."""
    if ramp_summary is None or ramp_summary.empty or "ramping" not in ramp_summary:
        return set()
    return {str(c) for c, r in zip(ramp_summary["clinician_id"], ramp_summary["ramping"],
                                   strict=True) if _yes(r)}


def check_ins(metrics: pd.DataFrame, changes: pd.DataFrame | None,
              ramp_summary: pd.DataFrame | None, leave_days: pd.DataFrame | None,
              roster: pd.DataFrame | None, *, time_off_provided: bool = True
              ) -> pd.DataFrame:
    """``tables/check_ins.csv``: one row per clinician of ``metrics`` (``clinician_metrics``)
    with a signal (:func:`signals`): ``group`` (:data:`GROUPS`), ``order`` (1 for the first
    the owner's list names: by group, then the most signals asked about, then the name as the
    reports show it), the signals by kind (:data:`KINDS`, each a :data:`SEPARATOR`-joined list
    of signal names, empty for none), ``held`` (the signals flagged in the compared run too:
    standing, or explained by context), ``context`` (``ramp``, ``leave`` or both: the context
    that explains a signal), ``leave_days`` (the days of recorded time off, where they explain
    a signal, else 0), ``check_in`` (yes: the list counts them as flagged, newly, still or
    with no earlier run: every group but ``context``, and a context row with a flag held) and
    ``newly_flagged`` (yes: a flag new since the compared run).

    ``changes`` says, per clinician and flag, ``newly flagged`` or ``still flagged``; a new
    hire (:func:`ramping`) has a ramp that explains :data:`RAMP_EXPLAINS`, recorded time off
    (``leave_days``, read only when the practice provided time off) explains
    :data:`LEAVE_EXPLAINS`."""
    change = {} if changes is None or changes.empty else {
        (str(c), f): ch for c, f, ch in zip(changes["clinician_id"], changes["flag"],
                                            changes["change"], strict=True)}
    ramp = ramping(ramp_summary)
    leave = {} if not time_off_provided or leave_days is None else {
        str(c): int(d) for c, d in zip(leave_days["clinician_id"], leave_days["leave_days"],
                                       strict=True)}
    written = {} if roster is None else dict(zip(roster["clinician_id"].astype(str),
                                                 roster["name"], strict=True))
    shown = distinct_names(written)
    rows = []
    for _, row in metrics.iterrows():
        cid = str(row["clinician_id"])
        on = signals(row)
        explains = (RAMP_EXPLAINS if cid in ramp else frozenset()) | (
            LEAVE_EXPLAINS if cid in leave else frozenset())
        kinds: dict[str, list] = {k: [] for k in KINDS}
        for s in on:
            if s in explains:
                kinds["explained"].append(s)
            elif s in WORSENING:
                kinds["worsening"].append(s)
            else:
                was = change.get((cid, s), "")
                kinds[{NEWLY: "new", STILL: "standing"}.get(was, "flagged")].append(s)
        group = (GROUPS[0] if kinds["new"] or kinds["worsening"] else
                 GROUPS[1] if kinds["standing"] else GROUPS[2] if kinds["flagged"] else
                 GROUPS[3] if kinds["explained"] else "")
        if not group:
            continue
        held = kinds["standing"] + [s for s in kinds["explained"]
                                    if change.get((cid, s)) == STILL]
        by_ramp = bool(set(kinds["explained"]) & RAMP_EXPLAINS)
        by_leave = bool(set(kinds["explained"]) & LEAVE_EXPLAINS)
        rows.append({"clinician_id": cid, "group": group,
                     **{k: SEPARATOR.join(v) for k, v in kinds.items()},
                     "held": SEPARATOR.join(held),
                     "context": SEPARATOR.join(w for w, on_ in (("ramp", by_ramp),
                                                                ("leave", by_leave)) if on_),
                     "leave_days": leave.get(cid, 0) if by_leave else 0,
                     "check_in": group != GROUPS[3] or bool(held),
                     "newly_flagged": bool(kinds["new"]),
                     "_o": GROUPS.index(group),
                     "_n": -sum(len(kinds[k]) for k in KINDS[:4]),
                     "_name": str(shown.get(cid, cid))})
    out = pd.DataFrame(rows, columns=[c for c in CHECK_INS_COLUMNS if c != "order"]
                       + ["_o", "_n", "_name"])
    out = out.sort_values(["_o", "_n", "_name"]).reset_index(drop=True)
    out.insert(2, "order", range(1, len(out) + 1))
    return out.drop(columns=["_o", "_n", "_name"]).astype({"leave_days": int})
