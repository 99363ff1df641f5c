"""The tables a hand-built run (a :class:`perfkit.report.RunFolder` made in a test) needs beside
the ones the test gives: worked out from them by the same compute functions ``perfkit run``
uses (:mod:`perfkit.tables`), so a test states its practice once and the reports read only
tables, as they do from a run folder."""

from __future__ import annotations

import pandas as pd

from perfkit import outcomes as oc
from perfkit import practice_summary as ps
from perfkit import workforce as wf
from perfkit.tables import check_in_tables, roster

POOLED = ("hours_attended", "available_hours", "past_appointments", "non_attendance_rate",
          "notes_within_72h", "notes_due")


def run_tables(tables: dict, config, *, clinicians: pd.DataFrame | None = None,
               time_off: pd.DataFrame | None = None, assessments: pd.DataFrame | None = None
               ) -> dict:
    """``tables`` with the derived tables added (those given are kept): ``roster`` and
    ``team_rates`` from ``clinicians`` (the prepared roster), ``leave_days`` from
    ``time_off``, ``item9_coverage``, ``trajectories`` and ``trajectory_medians`` from
    ``assessments``, and those of :func:`derived`."""
    out = dict(tables)
    if clinicians is not None:
        out.setdefault("roster", roster(clinicians))
        m = out.get("clinician_metrics")
        if m is not None and all(c in m for c in POOLED):
            out.setdefault("team_rates", ps.team_rates(m, ps.team_names(clinicians)))
    if time_off is not None:
        out.setdefault("leave_days", wf.leave_days(time_off, config))
    if assessments is not None:
        out.setdefault("item9_coverage", oc.item9_coverage(assessments))
        paths = oc.score_trajectories(assessments, config)
        out.setdefault("trajectories", paths)
        out.setdefault("trajectory_medians", oc.typical_course(paths))
    return derived(out, config)


def derived(tables: dict, config) -> dict:
    """``ramp_summary``, ``funnel_lines`` and ``check_ins`` worked out again from ``ramp``,
    ``funnel`` and ``clinician_metrics`` with ``changes``, ``ramp_summary``, ``leave_days`` and
    ``roster`` (after a test changes them); time off counts as provided when ``leave_days``
    is there; and ``clinician_effects``' ``side`` from its intervals."""
    out = dict(tables)
    e = out.get("clinician_effects")
    if e is not None and len(e):
        out["clinician_effects"] = pd.concat(
            [oc.effect_sides(g.drop(columns="side", errors="ignore"),
                             config.instruments[inst].better)
             for inst, g in e.groupby("instrument", sort=False)]).loc[e.index]
    if "ramp" in out:
        out["ramp_summary"] = wf.ramp_summary(out["ramp"], config)
    if "funnel" in out:
        out["funnel_lines"] = oc.funnel_lines(out["funnel"], config)
    out.update(check_in_tables(out, config, "leave_days" in out))
    return out
