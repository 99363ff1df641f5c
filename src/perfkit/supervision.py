"""Supervision and professional development: the licensure ledger of pre-licensed clinicians,
mutually agreed goals, competency reviews and continuing education.

Three approaches to supporting clinicians meet here: structured supervision of pre-licensed
clinicians toward licensure (hours against a board's rule set), structured reviews of licensed
clinicians against observable competencies (knowledge, skills, attitudes, values: what the
clinician does, with the observed evidence), and continuing education. Reports keep this
content out of the owner's administrative view (the dual relationship of supervisor and
employer); see ``perfkit.report``.

Licensure rule sets are YAML files (``licensure_rules/`` in the package, plus a practice's own
folder ``supervision.rules_dir``), each with its citation. perfkit counts what the practice's
records show; the board's current rules govern.

Notes
-----
Definitions (documented in docs/data_contract.md, "Supervision and development"):

- direct hours: attended appointments (any service) of the clinician before as_of, by
  duration; supervision hours: the supervision table's minutes / 60, individual and triadic
  together, group apart;
- total hours = direct + supervision + ``indirect_hours_per_direct_hour`` x direct + carried-in
  hours (a lower bound when the ratio is 0: other supervised experience is not in the records);
- a compliance period (a Monday-Sunday week or a calendar month, as the rule says) is assessed
  when the clinician gained direct hours in it; the ledger's ``periods_assessed`` and
  ``periods_compliant`` count the whole periods inside the reporting period;
- projected completion: the latest date on which every requirement is met at the pace of the
  last ``pace_weeks`` weeks (hours, supervised weeks) or by the calendar (minimum months).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, ValidationError

from . import contract as C
from . import coverage as cov
from .config import Config, ConfigError
from .operations import clinician_time, clinicians_in_period
from .prepared import Prepared
from .standards import CERequirement, StateCode, StrictSettings

__all__ = ["LicensureRule", "load_rules", "shipped_rules_dir", "ledger", "supervision_periods",
           "licensure_rules_for", "ce_requirement", "rule_words",
           "goals_status", "competency_reviews", "continuing_education", "licensure_tables",
           "renewals", "support", "supervision_pairs", "supervisees", "supervisors",
           "LEDGER_COLUMNS", "SUPPORT_COLUMNS", "LEDGER_REASONS", "CE_REASONS"]

LEDGER_COLUMNS = ["clinician_id", "rule", "direct_hours", "supervision_hours_individual",
                  "supervision_hours_group", "periods_assessed", "periods_compliant",
                  "projected_completion"]
DOMAINS = ["knowledge", "skills", "attitudes", "values"]


class Requirements(StrictSettings):
    total_hours: float | None = Field(None, gt=0)
    direct_hours: float | None = Field(None, gt=0)
    supervision_hours: float | None = Field(None, gt=0)
    supervision_individual_hours: float | None = Field(None, gt=0)
    min_months: int | None = Field(None, gt=0)
    max_months: int | None = Field(None, gt=0)
    min_weeks: int | None = Field(None, gt=0, description="supervised weeks")


class Compliance(StrictSettings):
    period: Literal["week", "month", "none"]
    min_supervision_hours: float | None = Field(None, gt=0)
    max_group_share: float | None = Field(None, ge=0, le=1)
    unit_hours_individual: float | None = Field(None, gt=0)
    unit_hours_group: float | None = Field(None, gt=0)
    units_per_period: float | None = Field(None, gt=0)
    extra_unit_above_direct_hours: float | None = Field(None, gt=0)


class LicensureRule(StrictSettings):
    """One board's supervised-experience rule set, read from a YAML file."""

    id: str
    name: str
    citation: str
    requirements: Requirements
    compliance: Compliance
    state: StateCode = Field(None, description="the board's state (two-letter code); a rule "
                             "with one is taken by license type for a practice in that state")
    license_types: list[str] = Field(default_factory=list, description="the roster's "
                                     "license_type values of the pre-licensed it is for")
    leads_to: str | None = Field(None, description="the licence it leads to")


# a projected completion further away than this is no date at all (and past what pandas can
# hold for a pace of a few minutes a year): said instead
_LONGEST_PROJECTION_WEEKS = 52 * 100

def shipped_rules_dir() -> Path:
    """The rule sets that ship with perfkit: ``licensure_rules/`` inside the package."""
    return Path(__file__).resolve().parent / "licensure_rules"


def load_rules(config: Config) -> dict[str, LicensureRule]:
    """Every licensure rule set: the shipped ones, then the practice's own folder
    (``supervision.rules_dir``), whose files replace shipped ones with the same id.

    Raises
    ------
    ConfigError
        A rule file that is not valid YAML or misses a setting; the message names the file.
    """
    shipped = shipped_rules_dir()
    if not any(shipped.glob("*.yaml")):  # a broken installation, not a user's mistake
        raise RuntimeError(f"perfkit's licensure rule files are missing from {shipped}: "
                           "reinstall perfkit")
    own = config.supervision.rules_dir
    if own is not None and not Path(own).is_dir():
        raise ConfigError(f"supervision.rules_dir {own} is not a folder")
    rules: dict[str, LicensureRule] = {}
    for folder in (shipped, own):
        if folder is None:
            continue
        for path in sorted(Path(folder).glob("*.y*ml")):
            try:
                rule = LicensureRule(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
            except (yaml.YAMLError, ValidationError, TypeError) as exc:
                raise ConfigError(f"licensure rule file {path}: {_plain(exc)}") from None
            rules[rule.id] = rule
    return rules


def _plain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"setting '{'.'.join(str(p) for p in e['loc'])}': {e['msg']}"
                         for e in exc.errors())
    return str(exc).splitlines()[0]


def _license_key(text) -> str:
    """A license type compared without case, spaces or punctuation (LPC-Associate = LPC
    Associate)."""
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def licensure_rules_for(clinicians: pd.DataFrame, config: Config,
                        rules: dict[str, LicensureRule]) -> pd.DataFrame:
    """The licensure rule of each pre-licensed clinician: the roster's ``licensure_rule``, else
    the one rule whose state is the practice's (``state``) and whose ``license_types`` hold the
    clinician's ``license_type``; never a rule of another state.

    Returns
    -------
    DataFrame
        ``clinician_id, license_type, licensure_rule`` (empty when none), ``taken`` (``roster``,
        ``default`` or ``none``) and ``reason``: a rule taken by default or why none is, as a
        code with its values (a JSON object, "" for a rule from the roster:
        :data:`LEDGER_REASONS`; :func:`perfkit.report.ledger_words.reason_words` words it).
    """
    rows = []
    for c in clinicians[clinicians["license_status"] == "pre-licensed"].itertuples():
        given = c.licensure_rule if isinstance(c.licensure_rule, str) else ""
        lt = c.license_type if isinstance(c.license_type, str) else ""
        row = {"clinician_id": str(c.clinician_id), "license_type": lt,
               "licensure_rule": given, "taken": "roster", "reason": ""}
        if not given:
            fits = [r for r in rules.values() if r.state and r.state in config.state
                    and lt and _license_key(lt) in {_license_key(t) for t in r.license_types}]
            if len(fits) == 1:
                why = {"code": "rule_by_default", "rule": fits[0].id, "license_type": lt,
                       "state": fits[0].state}
                row.update(licensure_rule=fits[0].id, taken="default")
            elif fits:
                why = {"code": "several_rules_fit", "license_type": lt,
                       "rules": [r.id for r in fits]}
                row.update(taken="none")
            else:
                why = ({"code": "no_rule_for_license_type", "license_type": lt,
                        "states": list(config.state)} if lt and config.state
                       else {"code": "state_not_set"} if lt
                       else {"code": "no_license_type"})
                row.update(taken="none")
            row["reason"] = json.dumps(why)
        rows.append(row)
    return pd.DataFrame(rows, columns=["clinician_id", "license_type", "licensure_rule",
                                       "taken", "reason"])


def ce_requirement(license_type: str, config: Config) -> tuple[CERequirement | None, dict]:
    """The continuing-education requirement of a license type (``supervision.ce_requirements``)
    and its reason, a code with its values (:data:`CE_REASONS`;
    :func:`perfkit.report.ledger_words.reason_words` words it): the requirement with where it
    comes from (``ce_requirement``), or None when none applies: none is set for the type
    (``no_ce_requirement``), or the one set is another state's (``ce_requirement_of_another_state``:
    a requirement with a ``state`` applies only in that state)."""
    req = config.supervision.ce_requirements.get(license_type)
    if req is None:
        return None, {"code": "no_ce_requirement", "license_type": license_type}
    if req.state and req.state not in config.state:
        return None, {"code": "ce_requirement_of_another_state", "license_type": license_type,
                      "state": req.state, "source": req.source,
                      "practice_states": list(config.state)}
    return req, {"code": "ce_requirement", "source": req.source}


def rule_words(rule: LicensureRule) -> str:
    """A rule's key numbers in a few words: hours in all, direct, supervision, time."""
    r, c = rule.requirements, rule.compliance
    parts = [f"{v:,.0f} {what}" for v, what in (
        (r.total_hours, "hours in all"), (r.direct_hours, "direct"),
        (r.supervision_hours, "supervision"),
        (r.supervision_individual_hours, "individual supervision")) if v]
    if r.min_weeks:
        parts.append(f"{r.min_weeks} supervised weeks")
    if r.min_months or r.max_months:
        parts.append(f"{r.min_months or 0} to {r.max_months} months" if r.max_months
                     else f"at least {r.min_months} months")
    if c.period != "none":
        need = (f"{c.units_per_period or 1:g} unit" if c.unit_hours_individual
                or c.unit_hours_group else f"{c.min_supervision_hours or 0:g} h")
        parts.append(f"supervision {need} a {c.period}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------
# Hours from the records
# --------------------------------------------------------------------------------------------


def _as_of(config: Config) -> pd.Timestamp:
    return pd.Timestamp(config.as_of)


def _direct_by_day(data: Prepared, config: Config, ids) -> pd.DataFrame:
    """Attended hours per clinician and local calendar day, before as_of."""
    a = data.appointments
    as_of = pd.Timestamp(config.as_of).tz_localize(config.timezone)
    a = a[a["clinician_id"].isin(ids) & (a["status"] == "attended") & (a["start"] < as_of)]
    a = clinician_time(a, ["clinician_id"])  # a group's time once, not once per client
    day = a["start"].dt.tz_convert(config.timezone).dt.tz_localize(None).dt.normalize()
    return (pd.DataFrame({"clinician_id": a["clinician_id"].astype(str), "date": day,
                          "direct": a["duration_minutes"].astype(float) / 60})
            .groupby(["clinician_id", "date"], as_index=False)["direct"].sum())


def _supervision_by_day(data: Prepared, config: Config, ids) -> pd.DataFrame:
    """Supervision hours per supervisee and day, individual (with triadic) and group.
    Consultation and mentoring are support, never supervision hours: they are left out."""
    none = pd.DataFrame({"clinician_id": pd.Series(dtype=str),
                         "date": pd.Series(dtype="datetime64[us]"),
                         "individual": pd.Series(dtype=float),
                         "group": pd.Series(dtype=float)})
    s = data.tables.get("supervision")
    if s is None or s.empty:
        return none
    s = s[s["supervisee_id"].isin(ids) & (s["date"] < _as_of(config))
          & s["format"].isin(C.SUPERVISION_FORMATS)]
    if s.empty:  # (an empty Arrow-string key cannot be merged on)
        return none
    hours = s["minutes"].astype(float) / 60
    group = s["format"].eq("group")
    return (pd.DataFrame({"clinician_id": s["supervisee_id"].astype(str), "date": s["date"],
                          "individual": hours.where(~group, 0.0),
                          "group": hours.where(group, 0.0)})
            .groupby(["clinician_id", "date"], as_index=False)[["individual", "group"]].sum())


def _daily(data: Prepared, config: Config, ids) -> dict[str, pd.DataFrame]:
    """Direct, individual and group supervision hours per day, for each clinician in ``ids``
    (computed for all of them at once; a clinician without records gets an empty frame)."""
    d = _direct_by_day(data, config, ids)
    s = _supervision_by_day(data, config, ids)
    out = d.merge(s, on=["clinician_id", "date"], how="outer")
    for c in ("direct", "individual", "group"):
        out[c] = out[c].astype(float).fillna(0.0)
    out = out.sort_values(["clinician_id", "date"], ignore_index=True)
    parts = dict(tuple(out.groupby("clinician_id", sort=False)))
    return {str(i): parts.get(str(i), out.iloc[:0]).reset_index(drop=True) for i in ids}


def _period_start(dates: pd.Series, period: str) -> pd.Series:
    if period == "week":
        return dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")
    return dates.dt.to_period("M").dt.start_time


def _period_end(starts: pd.Series, period: str) -> pd.Series:
    if period == "week":
        return starts + pd.Timedelta(days=7)
    return starts + pd.offsets.MonthBegin(1)


def _required_and_counted(p: pd.DataFrame, c) -> tuple[pd.Series, pd.Series, str]:
    """What a period needs and what counts toward it, in the rule's own unit."""
    if c.unit_hours_individual or c.unit_hours_group:
        ui = c.unit_hours_individual or math.inf
        ug = c.unit_hours_group or math.inf
        counted = p["individual"] / ui + p["group"] / ug
        required = pd.Series(c.units_per_period or 1.0, index=p.index)
        if c.extra_unit_above_direct_hours is not None:
            required = required + (p["direct"] > c.extra_unit_above_direct_hours)
        return required.astype(float), counted, "units"
    group = p["group"]
    if c.max_group_share is not None:
        share = c.max_group_share
        cap = p["individual"] * share / (1 - share) if share < 1 else group
        group = np.minimum(group, cap)
    counted = p["individual"] + group
    return pd.Series(c.min_supervision_hours or 0.0, index=p.index, dtype=float), counted, \
        "hours"


def supervision_periods(data: Prepared, config: Config,
                        rules: dict[str, LicensureRule] | None = None,
                        daily: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """Every compliance period (week or month, as each clinician's rule says) from the first
    record to as_of, for each pre-licensed clinician whose rule has a per-period requirement.

    Returns
    -------
    DataFrame
        ``clinician_id, rule, period, period_start, period_end, direct_hours,
        supervision_hours_individual, supervision_hours_group, unit, required, counted,
        assessed, compliant, in_reporting_period``. ``counted`` is the supervision that counts
        toward the minimum (group hours capped by the rule's group share, or units);
        ``assessed`` is False in a period without direct hours (no experience gained).
    """
    rules = load_rules(config) if rules is None else rules
    cols = ["clinician_id", "rule", "period", "period_start", "period_end", "direct_hours",
            "supervision_hours_individual", "supervision_hours_group", "unit", "required",
            "counted", "assessed", "compliant", "in_reporting_period"]
    pre = _pre_licensed(data, config, rules)
    if not data.provided("supervision"):  # unknown, not "no supervision": nothing to assess
        return pd.DataFrame(columns=cols)
    by_clinician = _daily(data, config, list(pre["clinician_id"])) if daily is None else daily
    frames = []
    for row in pre.itertuples():
        rule = rules.get(str(row.licensure_rule)) if isinstance(row.licensure_rule, str) else None
        if rule is None or rule.compliance.period == "none":
            continue
        period = rule.compliance.period
        daily = by_clinician[str(row.clinician_id)].copy()
        if daily.empty:
            continue
        daily["period_start"] = _period_start(daily["date"], period)
        p = daily.groupby("period_start", as_index=False)[["direct", "individual", "group"]].sum()
        # every period from the first record to as_of, including empty ones
        starts = pd.Series(pd.date_range(p["period_start"].min(), _as_of(config),
                                         freq="W-MON" if period == "week" else "MS"))
        p = pd.DataFrame({"period_start": starts}).merge(p, how="left").fillna(0.0)
        p["period_end"] = _period_end(p["period_start"], period)
        p = p[p["period_end"] <= _as_of(config)]  # whole periods only
        required, counted, unit = _required_and_counted(p, rule.compliance)
        assessed = p["direct"] > 0
        frames.append(pd.DataFrame({
            "clinician_id": row.clinician_id, "rule": rule.id, "period": period,
            "period_start": p["period_start"], "period_end": p["period_end"],
            "direct_hours": p["direct"], "supervision_hours_individual": p["individual"],
            "supervision_hours_group": p["group"], "unit": unit, "required": required,
            "counted": counted.round(6), "assessed": assessed,
            "compliant": assessed & (counted.round(6) >= required),
            "in_reporting_period": (p["period_start"] >= pd.Timestamp(config.period_start))
            & (p["period_end"] <= pd.Timestamp(config.period_end)),
        }))
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def _pre_licensed(data: Prepared, config: Config,
                  rules: dict[str, LicensureRule] | None = None) -> pd.DataFrame:
    """Pre-licensed clinicians employed on some day of the reporting period; with ``rules``,
    each one's rule as :func:`licensure_rules_for` finds it (``licensure_rule``) and its
    ``rule_reason``."""
    c = clinicians_in_period(data.clinicians, config)
    c = c[c["license_status"] == "pre-licensed"].sort_values("clinician_id")
    if rules is not None:
        found = licensure_rules_for(c, config, rules)
        c = c.assign(licensure_rule=found["licensure_rule"].replace("", None).to_numpy(),
                     rule_reason=found["reason"].to_numpy())
    return c


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return (b.year - a.year) * 12 + (b.month - a.month) + (b.day - a.day) / 30.4375


# Without a supervision table, supervision is unknown (never zero): these ledger fields stay
# empty and the reasons say why. Direct client hours still come from the appointments.
NOT_KNOWN_WITHOUT_SUPERVISION = (
    "supervision_hours_individual", "supervision_hours_group", "periods_assessed",
    "periods_compliant", "supervised_weeks", "group_share", "projected_completion",
    "pace_total_per_week", "total_hours", "behind_on_supervision")
INCOMPLETE = "incomplete history"  # the ledger's status when the records begin after the start
# The codes of the ledger's ``reasons`` (and licensure_rules_for's ``reason``), each a JSON
# object {"code": ..., its values}; perfkit.report.ledger_words says them in words.
LEDGER_REASONS = (
    "rule_by_default",  # rule, license_type, state
    "several_rules_fit",  # license_type, rules
    "no_rule_for_license_type",  # license_type, states
    "state_not_set",
    "no_license_type",
    "unknown_rule",  # rule, known
    "records_begin_late",  # records_begin, start, no_projection (bool)
    "no_recent_pace",  # what, weeks: a requirement with no hours in the pace weeks
    "too_slow",  # what, weeks, years: completion beyond the longest projection
    "after_max_months",  # months
    "supervision_below_pace",  # have, expected (hours)
    "no_supervision_records",
)

# The continuing-education table's reasons (tables/ce.csv ``reasons``, worded like the
# ledger's by perfkit.report.ledger_words)
CE_REASONS = (
    "ce_requirement",  # source: where the requirement comes from
    "no_ce_requirement",  # license_type: none set for it
    "ce_requirement_of_another_state",  # license_type, state, source, practice_states
    "no_ce_records",  # no CE log was provided: hours unknown
)


def _day(day) -> str:
    """A day as ISO text (a reason's value: JSON holds no dates)."""
    return f"{pd.Timestamp(day):%Y-%m-%d}"


def ledger(data: Prepared, config: Config, rules: dict[str, LicensureRule] | None = None,
           periods: pd.DataFrame | None = None,
           daily: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The licensure ledger: one row per pre-licensed clinician employed in the period.

    Returns
    -------
    DataFrame
        The contract columns (``clinician_id, rule, direct_hours, supervision_hours_individual,
        supervision_hours_group, periods_assessed, periods_compliant, projected_completion``),
        then ``rule_name, rule_citation, compliance_period`` (``week``, ``month`` or
        ``none``; the rule's words, so a report never re-reads rule files), ``total_hours,
        total_required, direct_required, supervision_required,
        supervision_individual_required, experience_since, months_so_far, supervised_weeks,
        weeks_required, group_share, pace_direct_per_week, pace_total_per_week,
        behind_on_supervision, reasons`` (a JSON list of :data:`LEDGER_REASONS` objects, the
        words in :mod:`perfkit.report.ledger_words`). Hours are totals to as_of (records plus
        carried-in hours); ``projected_completion`` is empty when the pace is zero or no rule
        applies. Without a supervision table the supervision figures are empty, never zero.
    """
    rules = load_rules(config) if rules is None else rules
    known = data.provided("supervision")
    if daily is None:
        daily = _daily(data, config, list(_pre_licensed(data, config)["clinician_id"]))
    if periods is None:
        periods = supervision_periods(data, config, rules, daily)
    sc = config.supervision
    as_of = _as_of(config)
    pace_from = as_of - pd.Timedelta(weeks=sc.pace_weeks)
    rows = []
    pre = _pre_licensed(data, config, rules)
    by_clinician = daily
    covered = cov.coverage_of(data)
    records_begin = cov.ledger_records_begin(covered)
    for c in pre.itertuples():
        cid = str(c.clinician_id)
        rule_id = c.licensure_rule if isinstance(c.licensure_rule, str) else ""
        rule = rules.get(rule_id)
        daily = by_clinician[cid]
        carried = sc.carried_in.get(cid)
        direct = daily["direct"].sum() + (carried.direct_hours if carried else 0)
        ind = daily["individual"].sum() + (carried.supervision_hours_individual if carried else 0)
        grp = daily["group"].sum() + (carried.supervision_hours_group if carried else 0)
        other = (carried.other_hours if carried else 0) \
            + sc.indirect_hours_per_direct_hour * daily["direct"].sum()
        total = direct + ind + grp + other
        first = daily["date"].min() if not daily.empty else pd.NaT
        since = pd.Timestamp(carried.since) if carried else (
            max(pd.Timestamp(c.start_date), first) if pd.notna(first) else pd.NaT)
        # supervised weeks: weeks with direct hours and some supervision
        wk = daily.assign(week=_period_start(daily["date"], "week")).groupby("week")[
            ["direct", "individual", "group"]].sum()
        sup_week = (wk["direct"] > 0) & ((wk["individual"] + wk["group"]) > 0)
        supervised_weeks = int(sup_week.sum()) + (carried.supervised_weeks if carried else 0)
        recent = daily[daily["date"] >= pace_from]
        weeks = sc.pace_weeks
        pace_direct = recent["direct"].sum() / weeks
        pace_ind = recent["individual"].sum() / weeks
        pace_sup = (recent["individual"].sum() + recent["group"].sum()) / weeks
        pace_total = pace_direct * (1 + sc.indirect_hours_per_direct_hour) + pace_sup
        pace_weeks_sup = sup_week[sup_week.index >= pace_from].sum() / weeks
        p = periods[(periods["clinician_id"] == cid) & periods["in_reporting_period"]
                    & periods["assessed"]] if len(periods) else periods
        row = {"clinician_id": cid, "rule": rule_id, "direct_hours": round(direct, 2),
               "supervision_hours_individual": round(ind, 2),
               "supervision_hours_group": round(grp, 2),
               "periods_assessed": len(p) if rule and rule.compliance.period != "none" else None,
               "periods_compliant": int(p["compliant"].sum())
               if rule and rule.compliance.period != "none" else None,
               "projected_completion": None, "rule_name": rule.name if rule else "",
               "rule_citation": rule.citation if rule else "",
               "compliance_period": rule.compliance.period if rule else "",
               "total_hours": round(total, 2), "experience_since": since,
               "months_so_far": round(_months_between(since, as_of), 1) if pd.notna(since)
               else None, "supervised_weeks": supervised_weeks,
               "group_share": round(grp / (ind + grp), 3) if ind + grp > 0 else None,
               "pace_direct_per_week": round(pace_direct, 2),
               "pace_total_per_week": round(pace_total, 2), "reasons": "[]",
               "records_since": pd.Timestamp(records_begin) if records_begin else pd.NaT,
               "history_complete": not cov.ledger_gap(c.start_date, covered, config, cid),
               "ledger_status": ""}
        gap = {"code": "records_begin_late", "records_begin": _day(records_begin),
               "start": _day(c.start_date), "no_projection": False} \
            if not row["history_complete"] else None
        chosen = [json.loads(c.rule_reason)] if c.rule_reason else []  # a rule by default, ...
        if rule is None:
            reasons = chosen if not rule_id else [
                {"code": "unknown_rule", "rule": rule_id, "known": list(rules)}]
            row["behind_on_supervision"] = None
            if gap:
                reasons.append(gap)
                row["ledger_status"] = INCOMPLETE
            row["reasons"] = json.dumps(reasons)
            if not known:
                row.update({k: None for k in NOT_KNOWN_WITHOUT_SUPERVISION})
            rows.append(row)
            continue
        r = rule.requirements
        row.update({"total_required": r.total_hours, "direct_required": r.direct_hours,
                    "supervision_required": r.supervision_hours,
                    "supervision_individual_required": r.supervision_individual_hours,
                    "weeks_required": r.min_weeks})
        # projected completion: every requirement at its own pace, the latest date wins
        dates, unknown, slow = [], [], []
        for have, need, pace, what in (
                (total, r.total_hours, pace_total, "total hours"),
                (direct, r.direct_hours, pace_direct, "direct hours"),
                (ind + grp, r.supervision_hours, pace_sup, "supervision hours"),
                (ind, r.supervision_individual_hours, pace_ind, "individual supervision hours"),
                (supervised_weeks, r.min_weeks, pace_weeks_sup, "supervised weeks")):
            if need is None or have >= need:
                continue
            if pace <= 0:
                unknown.append(what)
            elif (need - have) / pace > _LONGEST_PROJECTION_WEEKS:  # a trickle: no date
                slow.append(what)
            else:
                dates.append(as_of + pd.Timedelta(weeks=(need - have) / pace))
        if r.min_months and pd.notna(since):
            dates.append(since + pd.DateOffset(months=r.min_months))
        notes = []
        if gap:  # a projection from part of the experience would run late: none
            notes.append({**gap, "no_projection": True})
        elif unknown:
            notes.append({"code": "no_recent_pace", "what": unknown, "weeks": weeks})
        elif slow:
            notes.append({"code": "too_slow", "what": slow, "weeks": weeks,
                          "years": _LONGEST_PROJECTION_WEEKS // 52})
        elif dates:
            done = max(max(dates), as_of)
            row["projected_completion"] = done.normalize()
            if r.max_months and pd.notna(since) and \
                    done > since + pd.DateOffset(months=r.max_months):
                notes.append({"code": "after_max_months", "months": r.max_months})
        else:
            row["projected_completion"] = as_of
        behind = bool(row["periods_compliant"] is not None
                      and row["periods_compliant"] < row["periods_assessed"])
        if r.supervision_hours and r.total_hours and total > 0 and not gap:
            expected = r.supervision_hours * min(total / r.total_hours, 1)
            if ind + grp < expected:
                behind = True
                notes.append({"code": "supervision_below_pace", "have": float(ind + grp),
                              "expected": float(expected)})
        row["behind_on_supervision"] = behind
        row["reasons"] = json.dumps(chosen + notes)
        row["ledger_status"] = (INCOMPLETE if gap else "behind" if behind else "on track")
        if not known:
            row.update({k: None for k in NOT_KNOWN_WITHOUT_SUPERVISION})
            row["reasons"] = json.dumps([{"code": "no_supervision_records"}]
                                        + ([gap] if gap else []))
            row["ledger_status"] = INCOMPLETE if gap else "not known"
        rows.append(row)
    cols = LEDGER_COLUMNS + ["rule_name", "rule_citation", "compliance_period", "total_hours",
                             "total_required", "direct_required",
                             "supervision_required", "supervision_individual_required",
                             "experience_since", "months_so_far", "supervised_weeks",
                             "weeks_required", "group_share", "pace_direct_per_week",
                             "pace_total_per_week", "behind_on_supervision", "reasons",
                             "records_since", "history_complete", "ledger_status"]
    out = pd.DataFrame(rows, columns=cols)
    for c in ("periods_assessed", "periods_compliant", "supervised_weeks", "weeks_required"):
        out[c] = out[c].astype("Int64")
    return out


# --------------------------------------------------------------------------------------------
# Goals, competency reviews, continuing education
# --------------------------------------------------------------------------------------------


def _employed_at(c: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Clinicians employed on ``day`` (started before it, not yet left)."""
    return (c["start_date"] < day) & (c["end_date"].isna() | (c["end_date"] >= day))


def goals_status(data: Prepared, config: Config) -> pd.DataFrame:
    """Mutually agreed goals set before as_of, with when each was last looked at.

    ``last_reviewed`` is ``reviewed_on`` (when it is before as_of) or else ``set_on``;
    ``review_overdue`` marks an open or revised goal last reviewed more than
    ``supervision.goal_review_days`` before as_of; ``past_target`` an open goal whose target
    date has passed.
    """
    cols = ["clinician_id", "goal_id", "description", "set_on", "target_date", "status",
            "reviewed_on", "last_reviewed", "days_since_review", "review_overdue", "past_target"]
    g = data.tables.get("goals")
    if g is None or g.empty:
        return pd.DataFrame(columns=cols)
    as_of = _as_of(config)
    g = g[g["set_on"] < as_of].copy()
    reviewed = g["reviewed_on"].where(g["reviewed_on"] < as_of)
    g["last_reviewed"] = reviewed.fillna(g["set_on"])
    g["days_since_review"] = (as_of - g["last_reviewed"]).dt.days
    active = g["status"].isin(["open", "revised"])
    g["review_overdue"] = active & (g["days_since_review"] > config.supervision.goal_review_days)
    g["past_target"] = g["status"].eq("open") & g["target_date"].notna() \
        & (g["target_date"] < as_of)
    return g.sort_values(["clinician_id", "goal_id"])[cols].reset_index(drop=True)


def competency_reviews(data: Prepared, config: Config) -> pd.DataFrame:
    """Latest competency rating per clinician and domain, with its observed evidence and the
    change since the clinician's previous review of that domain.

    One row per licensed clinician employed at as_of and domain (knowledge, skills, attitudes,
    values), plus any other clinician with a review. ``review_overdue``: the latest review of
    any domain is older than ``supervision.review_interval_days`` (or there is none and the
    clinician has been employed longer than that).
    """
    cols = ["clinician_id", "domain", "review_date", "reviewer_id", "rating", "evidence",
            "previous_review_date", "previous_rating", "change", "last_review",
            "review_overdue"]
    as_of = _as_of(config)
    c = data.clinicians
    employed = _employed_at(c, as_of)
    who = set(c.loc[employed & c["license_status"].eq("licensed"), "clinician_id"].astype(str))
    r = data.tables.get("reviews")
    if r is not None and not r.empty:
        r = r[r["review_date"] < as_of].sort_values(["clinician_id", "domain", "review_date"])
        who |= set(r["clinician_id"].astype(str))
    else:
        r = pd.DataFrame({"clinician_id": pd.Series(dtype=str), "domain": pd.Series(dtype=str),
                          "review_date": pd.Series(dtype="datetime64[us]"),
                          "reviewer_id": pd.Series(dtype=str),
                          "rating": pd.Series(dtype=float), "evidence": pd.Series(dtype=str)})
    grid = pd.DataFrame([(cid, d) for cid in sorted(who) for d in DOMAINS],
                        columns=["clinician_id", "domain"])
    if grid.empty:
        return pd.DataFrame(columns=cols)
    r = r.assign(clinician_id=r["clinician_id"].astype(str), domain=r["domain"].astype(str))
    grp = r.groupby(["clinician_id", "domain"])
    latest = grp.tail(1).set_index(["clinician_id", "domain"])
    prev = r.assign(n=grp.cumcount(ascending=False)).query("n == 1") \
        .set_index(["clinician_id", "domain"])
    out = grid.join(latest[["review_date", "reviewer_id", "rating", "evidence"]],
                    on=["clinician_id", "domain"])
    out = out.join(prev[["review_date", "rating"]].rename(
        columns={"review_date": "previous_review_date", "rating": "previous_rating"}),
        on=["clinician_id", "domain"])
    out["change"] = out["rating"].astype(float) - out["previous_rating"].astype(float)
    out["last_review"] = out.groupby("clinician_id")["review_date"].transform("max")
    start = out["clinician_id"].map(dict(zip(c["clinician_id"].astype(str), c["start_date"],
                                             strict=True)))
    since = out["last_review"].fillna(start)
    out["review_overdue"] = (as_of - since).dt.days > config.supervision.review_interval_days
    if not data.provided("reviews"):  # no review records: whether one is due is unknown
        out["review_overdue"] = pd.Series(pd.NA, index=out.index, dtype="boolean")
    return out[cols]


def _cycle(anchor: pd.Timestamp, years: int, on: pd.Timestamp) -> tuple[pd.Timestamp,
                                                                         pd.Timestamp]:
    """The renewal cycle (start, end) that contains the day ``on``."""
    step = pd.DateOffset(years=years)
    start = anchor
    while start > on:
        start -= step
    while start + step <= on:
        start += step
    return start, start + step


def continuing_education(data: Prepared, config: Config) -> pd.DataFrame:
    """Continuing-education hours in each clinician's current renewal cycle against the
    requirement of their license type (``supervision.ce_requirements``).

    One row per clinician employed at as_of. The cycle is the one containing the day before
    as_of, counted from the clinician's own cycle start (``ce_cycle_starts``) or the practice's
    ``ce_cycle_start``. ``expected_by_now`` is the requirement times the share of the cycle
    gone; ``behind_pace`` marks hours below it; ``due_soon`` marks hours still missing with
    the cycle ending within ``ce_due_soon_days``. ``reasons`` (JSON, a list like the ledger's:
    :data:`CE_REASONS`) says where the requirement comes from, or why there are no figures: a
    license type without a requirement, or whose requirement is another state's
    (:func:`ce_requirement`), or no CE records.
    """
    cols = ["clinician_id", "license_type", "cycle_start", "cycle_end", "hours",
            "required_hours", "remaining_hours", "expected_by_now", "behind_pace", "due_soon",
            "reasons"]
    sc = config.supervision
    as_of = _as_of(config)
    day = as_of - pd.Timedelta(days=1)
    c = data.clinicians
    employed = _employed_at(c, as_of)
    ce = data.tables.get("ce")
    rows = []
    for r in c[employed].sort_values("clinician_id").itertuples():
        cid, lt = str(r.clinician_id), r.license_type if isinstance(r.license_type, str) else ""
        req, why = ce_requirement(lt, config)
        if req is None:
            rows.append({"clinician_id": cid, "license_type": lt, "reasons": json.dumps([why])})
            continue
        anchor = pd.Timestamp(sc.ce_cycle_starts.get(cid, sc.ce_cycle_start))
        start, end = _cycle(anchor, req.cycle_years, day)
        if not data.provided("ce"):  # no CE log: hours unknown, never "0 of 36"
            rows.append({"clinician_id": cid, "license_type": lt, "cycle_start": start,
                         "cycle_end": end, "required_hours": req.hours,
                         "reasons": json.dumps([{"code": "no_ce_records"}])})
            continue
        hours = 0.0
        if ce is not None and not ce.empty:
            mine = ce[(ce["clinician_id"] == cid) & (ce["completed_on"] >= start)
                      & (ce["completed_on"] < as_of)]
            hours = float(mine["hours"].sum())
        gone = (as_of - start) / (end - start)
        expected = req.hours * gone
        rows.append({"clinician_id": cid, "license_type": lt, "cycle_start": start,
                     "cycle_end": end, "hours": hours, "required_hours": req.hours,
                     "remaining_hours": max(req.hours - hours, 0.0),
                     "expected_by_now": round(expected, 1),
                     "behind_pace": hours < expected,
                     "due_soon": hours < req.hours
                     and (end - as_of).days <= sc.ce_due_soon_days,
                     "reasons": json.dumps([why])})
    return pd.DataFrame(rows, columns=cols)


def supervisees(clinicians: pd.DataFrame, config: Config, supervisor_id: str) -> list[str]:
    """Clinicians employed in the period whose supervisor is ``supervisor_id``."""
    c = clinicians_in_period(clinicians, config)
    return sorted(c.loc[c["supervisor_id"].eq(supervisor_id).fillna(False), "clinician_id"]
                  .astype(str))


def supervisors(clinicians: pd.DataFrame, config: Config) -> list[str]:
    """Clinicians who supervise someone employed in the period (each gets a supervision pack)."""
    sup = clinicians_in_period(clinicians, config)["supervisor_id"].dropna().astype(str)
    return sorted(set(sup) & set(clinicians["clinician_id"].astype(str)))


SUPPORT_COLUMNS = ["clinician_id", "consultation_sessions", "consultation_hours",
                   "mentoring_sessions", "mentoring_hours", "last_support", "support_months"]


def support(data: Prepared, config: Config) -> pd.DataFrame:
    """Peer case consultation and mentoring (``tables/support.csv``): one row per clinician
    employed in the period, with sessions and hours of each in the period, the date of the
    latest support session on record before as_of (``last_support``), and the number of
    months with any in the ``supervision.support_months`` (6) before as_of
    (``support_months``). Support is never counted as
    supervision toward licensure. Empty (not zero) when the practice provided no supervision
    table: whether support happened is then not known.
    """
    c = clinicians_in_period(data.clinicians, config)
    out = pd.DataFrame({"clinician_id": c["clinician_id"].astype(str).to_numpy()})
    s = data.tables.get("supervision")
    if not data.provided("supervision") or s is None:
        for col in SUPPORT_COLUMNS[1:]:
            out[col] = None
        return out[SUPPORT_COLUMNS]
    as_of = _as_of(config)
    s = s[s["format"].isin(C.SUPPORT_FORMATS) & (s["date"] < as_of)
          & s["supervisee_id"].isin(out["clinician_id"])]
    start = pd.Timestamp(config.period_start)
    period = s[s["date"] >= start]
    ids = out["clinician_id"]
    for kind in C.SUPPORT_FORMATS:
        mine = period[period["format"] == kind]
        hours = (mine["minutes"].astype(float) / 60).groupby(mine["supervisee_id"].astype(str))
        out[f"{kind}_sessions"] = hours.size().reindex(ids, fill_value=0).to_numpy()
        out[f"{kind}_hours"] = hours.sum().reindex(ids, fill_value=0.0).round(2).to_numpy()
    last = s.groupby(s["supervisee_id"].astype(str))["date"].max()
    out["last_support"] = pd.to_datetime(last.reindex(ids).to_numpy())
    recent = s[s["date"] >= as_of - pd.DateOffset(months=config.supervision.support_months)]
    months = recent["date"].dt.to_period("M").groupby(
        recent["supervisee_id"].astype(str)).nunique()
    out["support_months"] = np.nan_to_num(months.reindex(ids).to_numpy(dtype=float)).astype(int)
    return out[SUPPORT_COLUMNS]


def renewals(ce: pd.DataFrame, reviews: pd.DataFrame) -> pd.DataFrame:
    """The owner's administrative view of licences (``tables/renewals.csv``): each row of the
    ``ce`` table with ``last_competency_review`` (the latest review of any domain) and
    ``competency_review_due`` (any domain overdue); both empty for a clinician with no review
    rows. No ratings, evidence, goals or supervision content."""
    out = ce.copy()
    if reviews.empty or "clinician_id" not in out:
        out["last_competency_review"] = pd.NaT
        out["competency_review_due"] = None
        return out
    per = reviews.groupby("clinician_id").agg(
        last_competency_review=("last_review", "max"),
        competency_review_due=("review_overdue", "max"))
    return out.join(per, on="clinician_id")


def licensure_tables(data: Prepared, config: Config) -> dict[str, pd.DataFrame]:
    """``supervision`` (the ledger) and ``supervision_periods``, with the rule files read and
    the daily hours computed once for both."""
    rules = load_rules(config)
    daily = _daily(data, config, list(_pre_licensed(data, config)["clinician_id"]))
    periods = supervision_periods(data, config, rules, daily)
    return {"supervision_ledger": ledger(data, config, rules, periods, daily),
            "supervision_periods": periods}


def supervision_pairs(clinicians: pd.DataFrame, config: Config) -> pd.DataFrame:
    """``supervisor_id, clinician_id``: who supervises whom among the clinicians employed in
    the period (``tables/supervisors.csv``; each supervisor gets a supervision pack)."""
    sups = set(supervisors(clinicians, config))
    c = clinicians_in_period(clinicians, config)
    c = c[c["supervisor_id"].astype(str).isin(sups) & c["supervisor_id"].notna()]
    return (pd.DataFrame({"supervisor_id": c["supervisor_id"].astype(str),
                          "clinician_id": c["clinician_id"].astype(str)})
            .sort_values(["supervisor_id", "clinician_id"], ignore_index=True))
