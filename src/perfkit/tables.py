"""Every table of a run, built from the prepared snapshot in one place.

A run's tables (``tables/*.csv``, DATA_CONTRACT section 2) and the run facts in
``prepared/snapshot.json`` are the only thing the reports read: whatever a report shows,
practice-level figures included, is computed here or in the modules these steps call
(:mod:`perfkit.operations`, :mod:`perfkit.practice_summary`, :mod:`perfkit.workforce`,
:mod:`perfkit.trends`, :mod:`perfkit.outcomes`, :mod:`perfkit.supervision`,
:mod:`perfkit.models`, :mod:`perfkit.check_ins`);
:mod:`perfkit.pipeline` writes them.

Each step returns ``{table name: frame}``; :data:`STEPS` names the tables each step writes, so
a step that fails is recorded in the manifest table by table while the others still run.
:func:`check_in_tables` comes after them and after ``changes`` (:mod:`perfkit.history`): it
reads the tables they wrote (:data:`CHECK_IN_INPUTS`).
"""

from __future__ import annotations

import logging

import pandas as pd

from . import models
from . import operations as op
from . import outcomes as oc
from . import practice_summary as ps
from . import supervision as sv
from . import workforce as wf
from .check_ins import check_ins
from .config import Config
from .prepared import Prepared
from .trends import trend_labels, trend_readings

__all__ = ["operations_tables", "outcome_tables", "development_tables", "model_tables",
           "check_in_tables", "roster", "STEPS", "CHECK_IN_INPUTS"]

log = logging.getLogger(__name__)


def operations_tables(data: Prepared, config: Config) -> dict[str, pd.DataFrame]:
    """``clinician_metrics`` (contract columns, extras, flags, trend labels, workload
    signals), ``weekly_metrics`` (with the weekly caseload the signals and the ramp read),
    ``practice_summary`` (the practice in one row, clients counted once), ``metric_spread``
    (the anonymous spread a self-view compares with), ``workforce`` (starters, leavers,
    turnover and tenure) and ``ramp`` (new hires' first weeks)."""
    weekly = op.weekly_metrics(data, config)
    metrics = op.clinician_metrics(data, config)
    metrics = metrics.merge(op.flags(metrics, config), on="clinician_id", how="left")
    metrics = metrics.merge(trend_labels(weekly, config), on="clinician_id", how="left")
    absent = metrics["appointments_in_export"].eq(0) & (len(data.appointments) > 0)
    trends = [c for c in metrics if c.startswith("trend_")]
    metrics.loc[absent, trends] = "not enough data"  # no weekly zeros read as a trend
    metrics.loc[absent, [c for c in metrics if c.startswith("basis_")]] = "too_few"
    # a figure the export cannot give has no trend either (not "too few weeks")
    gone = ((getattr(data, "quality", {}) or {}).get("source") or {}).get("unavailable", [])
    for m in gone:
        for col in (f"trend_{m}", f"basis_{m}"):
            if col in metrics:
                metrics[col] = None
    metrics = metrics.merge(wf.workload(data, config, metrics, weekly), on="clinician_id",
                            how="left")
    share = metrics.pop("unsigned_overdue_share")  # a column added after the contract's
    metrics["unsigned_overdue_share"] = share
    ramp = wf.ramp(data, config, weekly)
    return {"clinician_metrics": metrics, "weekly_metrics": weekly,
            "practice_summary": ps.practice_summary(data, config, metrics),
            "metric_spread": ps.metric_spread(metrics),
            "workforce": wf.workforce(data.clinicians, config),
            "ramp": ramp, "ramp_summary": wf.ramp_summary(ramp, config),
            "leave_days": wf.leave_days(data.time_off, config),
            "trend_readings": trend_readings(weekly, config),
            "roster": roster(data.clinicians),
            "team_rates": ps.team_rates(metrics, ps.team_names(data.clinicians))}


ROSTER_COLUMNS = ["clinician_id", "name", "start_date", "end_date", "team"]


def roster(clinicians: pd.DataFrame) -> pd.DataFrame:
    """``tables/roster.csv``: the roster as the reports name and date clinicians: id, name as
    written, start and end dates, and team as the reports name it
    (:func:`perfkit.practice_summary.team_names`; empty for none). Nothing else of the roster
    (licences, supervisors) is copied."""
    out = clinicians.reindex(columns=ROSTER_COLUMNS).copy()
    out["clinician_id"] = out["clinician_id"].astype(str)
    out["team"] = ps.team_names(clinicians).to_numpy()
    return out


def outcome_tables(data: Prepared, config: Config) -> dict[str, pd.DataFrame]:
    """The measurement-based-care tables of a run (DATA_CONTRACT section 2)."""
    a = data.assessments
    eps = oc.classified_episodes(a, config)  # once, for every table below
    curves = oc.expected_curves(a, config)
    alerts = oc.not_on_track(a, config, curves, classified=eps)
    funnel = oc.funnel_points(a, config, classified=eps)
    paths = oc.score_trajectories(a, config)
    return {
        "outcomes_by_clinician": oc.outcomes_by_clinician(a, config, alerts, classified=eps),
        "outcomes_practice": oc.outcomes_practice(a, config, classified=eps),
        "funnel": funnel,
        "funnel_lines": oc.funnel_lines(funnel, config),
        "not_on_track": alerts,
        "item9_flags": oc.item9_flags(a, config, data.appointments),
        "item9_coverage": oc.item9_coverage(a),
        "alliance_flags": oc.alliance_flags(a, config),
        "trajectories": paths,
        "trajectory_medians": oc.typical_course(paths),
    }


def development_tables(data: Prepared, config: Config) -> dict[str, pd.DataFrame]:
    """The supervision and development tables: ``supervision_ledger`` (the licensure ledger),
    ``supervision_periods``, ``goals``, ``reviews``, ``ce``, ``renewals`` (the owner's view of
    licences), ``support`` (peer consultation and mentoring) and ``supervisors`` (who
    supervises whom in the period)."""
    reviews = sv.competency_reviews(data, config)
    ce = sv.continuing_education(data, config)
    return {**sv.licensure_tables(data, config),
            "goals": sv.goals_status(data, config),
            "reviews": reviews, "ce": ce, "renewals": sv.renewals(ce, reviews),
            "support": sv.support(data, config),
            "supervisors": sv.supervision_pairs(data.clinicians, config)}


def model_tables(data: Prepared, config: Config
                 ) -> tuple[dict[str, pd.DataFrame], dict, dict[str, str]]:
    """The growth model of each instrument (``models.instruments``): the tables
    ``model_data_<instrument>`` (the exact rows fitted) and ``clinician_effects``, the
    ``model_summary``, and the failures (table name: message). One instrument whose fit fails
    does not stop the others; the failure is logged with its traceback."""
    fits, frames, failed = [], {}, {}
    for inst in config.models.instruments:
        name = f"model_data_{models.slug(inst)}"
        try:
            fit, rows = models.fit_instrument(data.assessments, config, inst)
        except Exception as exc:  # isolate the failure; the manifest says what went wrong
            log.exception("model for %s failed", inst)
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        fits.append(fit)
        frames[name] = rows
    frames["clinician_effects"] = models.clinician_effects(fits)
    return frames, models.model_summary(fits), failed


STEPS = {
    "operations": (operations_tables, ["clinician_metrics", "weekly_metrics",
                                       "practice_summary", "metric_spread", "workforce",
                                       "ramp", "ramp_summary", "leave_days", "trend_readings",
                                       "roster", "team_rates"]),
    "outcomes": (outcome_tables, ["outcomes_by_clinician", "outcomes_practice", "funnel",
                                  "funnel_lines", "not_on_track", "item9_flags",
                                  "item9_coverage", "alliance_flags", "trajectories",
                                  "trajectory_medians"]),
    "development": (development_tables, ["supervision_ledger", "supervision_periods", "goals",
                                         "reviews", "ce", "renewals", "support",
                                         "supervisors"]),
}


# the run tables the check-in step reads, written before it (``changes`` by perfkit.history)
CHECK_IN_INPUTS = ("clinician_metrics", "changes", "ramp_summary", "leave_days", "roster")


def check_in_tables(tables: dict[str, pd.DataFrame], config: Config,
                    provided: bool = True) -> dict[str, pd.DataFrame]:
    """``check_ins`` (:func:`perfkit.check_ins.check_ins`: who might welcome a check-in, with
    each signal's kind, the group and the order the owner's list gives) from the run's
    tables :data:`CHECK_IN_INPUTS` as written (``tables``: those there are; without
    ``clinician_metrics`` there is nothing to sort); ``provided``: whether the practice gave
    time off (``leave_days`` is context only then)."""
    if "clinician_metrics" not in tables:
        return {}
    return {"check_ins": check_ins(tables["clinician_metrics"], tables.get("changes"),
                                   tables.get("ramp_summary"), tables.get("leave_days"),
                                   tables.get("roster"), time_off_provided=provided)}
