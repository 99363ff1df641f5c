"""Every metric a report, figure, explorer widget or the glossary shows, defined once: its
words (label, and the longer or shorter label a table or chart uses), unit, how a value is
written, which direction is better, the parameter of its flag's threshold, the window it is
measured over, the run table it comes from, and its definition for the glossary (and its
glossary term, when that is not its label). Every flag of ``clinician_metrics``, defined once
too (:data:`FLAGS`): the metric it reads, the side of its threshold, the threshold's Config
paths and its words, in the few forms the reports use (:func:`flag_text`), each threshold
written in its metric's format.

Pure data and a few small functions: nothing here computes a metric (that is
:mod:`perfkit.operations`, :mod:`perfkit.outcomes` and the rest). The compute side reads
:data:`DISPLAY_DIGITS` (a flag compares a rate as it is shown) and :func:`concern` (which
trend direction is a concern); the report side reads everything else.

Words that depend on the parameters (the hours a note counts as on time, the days a note is
overdue after, the sessions a client is retained at) are written with a placeholder,
``{note_hours}``, ``{best_hours}``, ``{overdue_days}``, ``{retained}``, filled from the run's
:class:`~perfkit.config.Config` (:func:`label_of`), so a label always says the run's own
setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .config import Config
from .contract import DECLINING, GROWING

__all__ = ["Metric", "METRICS", "HIGHER_BETTER", "HIGHER_WORSE", "NEITHER", "UNITS",
           "DISPLAY_DIGITS", "metric", "label_of", "format_value", "value_words", "formatter",
           "concern", "threshold_values", "config_path", "label_words", "definition_of",
           "RAMP_STATUS", "RAMP_NOT_COMPARED", "TREND_METRICS", "TREND_CONCERN", "Flag", "FLAGS",
           "BELOW", "ABOVE", "flag_text", "flags_of", "term_of"]

# which direction of a metric is better
HIGHER_BETTER, HIGHER_WORSE, NEITHER = "higher is better", "higher is worse", "neither"
# what a value counts: a share is written as a percentage, the others as numbers
UNITS = ("share", "count", "hours", "days", "weeks", "points per week")


@dataclass(frozen=True)
class Metric:
    """One metric as the reports show it.

    ``key``: its column in the run's tables. ``label``: its name in a sentence's place, a
    figure's panel and the self-view's table. ``long``: the longer label a row of the
    practice's summary uses (what it counts, in brackets). ``column``: the shorter label of a
    wide table's column. ``series``: the label of its weekly series (the weekly chart, the
    explorer). Each of the three defaults to ``label``. ``unit``: one of :data:`UNITS`.
    ``digits``: decimals of the written value (of its percentage, for a share).
    ``direction``: :data:`HIGHER_BETTER`, :data:`HIGHER_WORSE` or :data:`NEITHER`.
    ``threshold``: the Config attribute paths of its flags' thresholds (empty: no flag; the
    flags themselves are :data:`FLAGS`). ``window``: the weeks or period it is measured over
    (a Config path, whose value a flag's words say, or words). ``source``: the run table it
    is read from. ``definition``: what it counts, for the glossary (empty: not in the glossary; a
    definition may hold ``{period}`` and the label placeholders). ``noun``: what a count
    counts, when a sentence says it with its value ("3 notes"). ``term``: the glossary's
    term for it when that is not its label (a term that covers two metrics, or names the
    thing counted: "Course of treatment")."""

    key: str
    label: str
    unit: str
    digits: int
    direction: str
    source: str
    window: str = "the period"
    threshold: tuple[str, ...] = ()
    long: str = ""
    column: str = ""
    series: str = ""
    definition: str = ""
    noun: str = ""
    term: str = ""


_OPS = "clinician_metrics"  # per clinician; practice_summary pools the same columns
_OUT = "outcomes_by_clinician"  # and outcomes_practice for the practice

METRICS: dict[str, Metric] = {m.key: m for m in [
    Metric("sessions_attended", "Sessions attended", "count", 0, HIGHER_BETTER, _OPS),
    Metric("hours_attended", "Hours attended", "hours", 1, NEITHER, _OPS),
    Metric("available_hours", "Hours available", "hours", 1, NEITHER, _OPS),
    Metric("utilization", "Utilization", "share", 0, HIGHER_BETTER, _OPS,
           threshold=("operations.utilization_alert", "operations.utilization_review",
                      "workload.over_capacity"),
           long="Utilization (attended hours / available hours)",
           definition="attended client hours as a share of the hours offered for clients (the "
                      "roster's capacity, less time off), over the period ({period})."),
    Metric("no_show_rate", "No-shows", "share", 1, HIGHER_WORSE, _OPS),
    Metric("late_cancel_rate", "Late cancellations", "share", 1, HIGHER_WORSE, _OPS),
    Metric("non_attendance_rate", "Missed appointments", "share", 1, HIGHER_WORSE, _OPS,
           threshold=("operations.non_attendance_alert",),
           long="Missed appointments (no-shows and late cancellations)",
           definition="no-shows and late cancellations as a share of past appointments in the "
                      "period ({period}); appointments the clinician cancelled are not "
                      "counted."),
    Metric("clinician_cancelled", "Appointments the clinicians cancelled", "count", 0, NEITHER,
           _OPS, long="Appointments the clinicians cancelled (not counted as missed)"),
    Metric("notes_due", "Notes due", "count", 0, NEITHER, _OPS),
    Metric("notes_within_24h", "Notes within {best_hours} hours", "share", 1, HIGHER_BETTER,
           _OPS, series="Notes signed within {best_hours} hours"),
    Metric("notes_within_72h", "Notes within {note_hours} hours", "share", 0, HIGHER_BETTER,
           _OPS, threshold=("operations.notes_within_72h_alert",),
           long="Notes signed within {note_hours} hours", column="Notes within {note_hours} h",
           series="Notes signed within {note_hours} hours",
           definition="the share of the period's attended sessions whose note was signed "
                      "within {note_hours} hours of the session's end."),
    Metric("median_note_lag_hours", "Median hours to sign a note", "hours", 1, HIGHER_WORSE,
           _OPS),
    Metric("notes_open_72h", "Notes open more than {note_hours} hours", "count", 0,
           HIGHER_WORSE, _OPS, column="Notes open > {note_hours} h",
           term="Notes open / unsigned",
           definition="attended sessions of the period without a signed note more than "
                      "{note_hours} hours or {overdue_days} days after they ended."),
    Metric("unsigned_overdue_7d", "Notes unsigned for more than {overdue_days} days", "count",
           0, HIGHER_WORSE, _OPS, threshold=("operations.unsigned_overdue_min_notes",),
           column="Notes unsigned > {overdue_days} days",
           noun="note"),
    Metric("unsigned_overdue_share", "Notes unsigned, share of notes due", "share", 1,
           HIGHER_WORSE, _OPS, threshold=("operations.unsigned_overdue_share",)),
    Metric("active_clients", "Clients seen", "count", 0, NEITHER, _OPS,
           long="Clients seen (each client once)",
           definition="distinct clients with an attended session in the period ({period}): "
                      "each client once, however many sessions."),
    Metric("new_clients", "New clients", "count", 0, NEITHER, _OPS,
           long="New clients (first session at the practice)",
           definition="for a clinician, clients whose first attended session with that "
                      "clinician, ever, is in the period; for the practice as a whole, clients "
                      "whose first attended session at the practice is in the period (a "
                      "client who moves to a colleague is new to the colleague, not to the "
                      "practice)."),
    Metric("retained_8plus_rate", "Retained {retained}+ sessions", "share", 0, HIGHER_BETTER,
           _OPS, window="operations.cohort_weeks: clients who started at least that many "
                        "weeks before the period ended",
           long="New clients retained {retained}+ sessions",
           definition="of the new clients whose first session was at least {cohort_weeks} "
                      "weeks before the period ended (the group, its size shown as \"40% of "
                      "25\"), the share with at least {retained} attended sessions by the end "
                      "of the period. Hidden for a group of fewer than {least}."),
    Metric("early_dropout_rate", "Early dropout", "share", 0, HIGHER_WORSE, _OPS,
           window="operations.dropout_window_days"),
    Metric("median_sessions_per_client", "Median sessions per client", "count", 1, NEITHER,
           _OPS),
    Metric("caseload", "Caseload", "count", 0, NEITHER, _OPS,
           window="operations.caseload_weeks", long="Caseload at the end"),
    Metric("weeks_over_goal", "Weeks above the weekly goal", "weeks", 0, HIGHER_WORSE, _OPS,
           window="workload.over_goal_window", threshold=("workload.over_goal_weeks",),
           noun="week"),
    Metric("days_off_recent", "Days of time off recorded", "days", 0, NEITHER, _OPS,
           window="workload.time_off_months", noun="day"),
    Metric("caseload_growing_weeks", "Weeks of a growing caseload", "weeks", 0, HIGHER_WORSE,
           _OPS, window="weeks in a row to the period's end",
           threshold=("workload.caseload_growing_weeks",),
           noun="week"),
    # outcomes (per instrument)
    Metric("episodes", "Courses of treatment", "count", 0, NEITHER, _OUT,
           term="Course of treatment",
           definition="one client's scores on one questionnaire with one clinician; a client "
                      "seen by two clinicians has two."),
    Metric("paired_completeness", "With a first and last score", "share", 0, HIGHER_BETTER,
           _OUT),
    Metric("reliable_improvement_rate", "Reliably improved", "share", 0, HIGHER_BETTER, _OUT,
           term="Reliably improved / reliably worse",
           definition="a change from the first to the last score larger than the "
                      "questionnaire's own noise."),
    Metric("reliable_deterioration_rate", "Reliably worse", "share", 0, HIGHER_WORSE, _OUT),
    Metric("recovery_rate", "Recovered", "share", 0, HIGHER_BETTER, _OUT,
           definition="a first score in the clinical range and a last score below it."),
    Metric("effect", "Model estimate", "points per week", 3, NEITHER, "clinician_effects",
           window="every score up to the period's end"),
    # the practice's staff (workforce)
    Metric("turnover_12m", "Turnover", "share", 0, NEITHER, "workforce",
           window="the last 12 months", term="Staff retention",
           definition="clinicians at the start and end of the period and who joined or left "
                      "in it; turnover over the last 12 months to {last}."),
]}

# a new hire's ramp (``ramp.csv``'s ``ramp``, perfkit.workforce) in words, one tuple per
# status: the owner's (about them), the self-view's (to them, after "You are building your
# caseload ..."), and the ramp figure's count ("2 ramping faster")
RAMP_STATUS = {
    "more slowly": ("Ramping more slowly than the earlier hires did",
                    "more slowly than the practice's earlier hires did", "ramping more slowly"),
    "as expected": ("Ramping as the earlier hires did", "as the practice's earlier hires did",
                    "ramping as expected"),
    "faster": ("Ramping faster than the earlier hires did",
               "faster than the practice's earlier hires did", "ramping faster"),
}
# the status of a new hire with too few earlier hires to compare with, in the figure's count
RAMP_NOT_COMPARED = {"no practice ramp yet": "with too few earlier hires to compare with"}

# the digits each share is written with: a flag compares a rate as it is shown
# (perfkit.operations.beyond), so a utilization shown as "70%" is not below 70%
DISPLAY_DIGITS = {k: m.digits for k, m in METRICS.items() if m.unit == "share"}

# the trend label (perfkit.trends; its words are perfkit.contract's) that means a move in each
# direction
_RISING, _FALLING = GROWING, DECLINING


def metric(key: str) -> Metric:
    """The registry's entry for ``key`` (a KeyError names an unregistered metric)."""
    return METRICS[key]


def label_words(cfg: Config | None = None) -> dict[str, str]:
    """The values of the labels' and definitions' placeholders, from the parameters."""
    cfg = cfg or Config()
    o = cfg.operations
    return {"note_hours": f"{o.note_standard_hours:g}", "best_hours": f"{o.note_best_hours:g}",
            "overdue_days": f"{o.note_overdue_days:g}", "retained": str(o.retained_sessions),
            "cohort_weeks": str(o.cohort_weeks),
            "over_goal_margin": f"{100 * cfg.workload.over_goal_margin:.0f}%"}


def label_of(key: str, cfg: Config | None = None, kind: str = "label") -> str:
    """A metric's label with the run's settings filled in: ``kind`` is ``label``, ``long``,
    ``column`` or ``series`` (each but ``label`` falling back to it). ``cfg`` None: the
    default parameters."""
    m = METRICS[key]
    text = getattr(m, kind) or m.label
    return text.format(**label_words(cfg)) if "{" in text else text


def term_of(key: str, cfg: Config | None = None) -> str:
    """A metric's term in the glossary: its ``term``, else its label."""
    return METRICS[key].term or label_of(key, cfg)


def definition_of(key: str, cfg: Config | None = None, **words: str) -> str:
    """A metric's glossary definition with the run's settings and ``words`` (``period``,
    ``least``: what only the report knows) filled in."""
    return METRICS[key].definition.format(**label_words(cfg), **words)


def format_value(key: str, v, digits: int | None = None) -> str:
    """A value as the reports write it: a share as a percentage with the metric's digits
    (0.1234 -> "12.3%" for missed appointments), a count or hours with thousands separators,
    "–" when missing. ``digits``: other decimals than the metric's (the explorer's weekly
    values show one)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return "–"
    m = METRICS[key]
    d = m.digits if digits is None else digits
    if m.unit == "share":
        return f"{100 * float(v):.{d}f}%"
    return f"{float(v):,.{d}f}"


def value_words(key: str, v) -> str:
    """A flagged metric's value in words: a share as :func:`format_value` writes it, a count
    with its noun ("3 notes", "1 week"; a metric with no noun: the number alone)."""
    if v is None or (not isinstance(v, str) and pd.isna(v)) or v == "":
        return "–"
    m = METRICS.get(key)
    if m is not None and m.unit == "share":
        return format_value(key, v)
    n, noun = float(v), m.noun if m is not None else ""
    return f"{n:g} {noun if n == 1 or not noun else noun + 's'}".strip()


def formatter(key: str):
    """:func:`format_value` of one metric, as a function of the value."""
    return lambda v: format_value(key, v)


def concern(key: str) -> str | None:
    """The trend label of ``perfkit.trends`` whose direction is a concern for ``key``:
    ``declining`` for a metric where higher is better, ``growing`` where higher is worse,
    None for neither (the number is context)."""
    return {HIGHER_BETTER: _FALLING, HIGHER_WORSE: _RISING}.get(METRICS[key].direction)


# the metrics with a weekly series and a trend label (perfkit.trends), and which direction of
# each is a concern (None: neither, the number is context): the reports word a trend with it
TREND_METRICS = ["utilization", "sessions_attended", "non_attendance_rate", "no_show_rate",
                 "late_cancel_rate", "notes_within_24h", "notes_within_72h",
                 "median_note_lag_hours", "active_clients", "new_clients"]
TREND_CONCERN: dict[str, str | None] = {m: concern(m) for m in TREND_METRICS}


def config_path(cfg: Config, path: str):
    """The value of a Config attribute path such as ``operations.non_attendance_alert``."""
    value = cfg
    for part in path.split("."):
        value = getattr(value, part)
    return value


def threshold_values(key: str, cfg: Config | None = None) -> dict[str, object]:
    """A metric's flag thresholds from the parameters, by Config path."""
    cfg = cfg or Config()
    return {p: config_path(cfg, p) for p in METRICS[key].threshold}


# which side of its threshold a flagged value is on
BELOW, ABOVE = "below", "above"


@dataclass(frozen=True)
class Flag:
    """One flag of ``clinician_metrics`` as the reports word it.

    ``key``: the flag column. ``metric``: the metric it reads (its value is ``{value}`` in
    the words: :func:`value_words`; ``{shown}``: :func:`format_value`). ``side``:
    :data:`BELOW` or :data:`ABOVE` its threshold. ``threshold``: the Config paths it is
    compared with (each one a path of a metric's ``threshold``, written with that metric's
    format, as ``{<last part of the path>}``: ``{utilization_alert}`` -> "70%").
    ``mark``: the arrow in front of it in a table cell. ``words``: a few words, for counts
    and lists ("low utilization"). ``phrase``: the flag with its threshold ("utilization
    below 70%"). ``detail``: a clinician's value with the threshold it is past. ``cell``:
    the check-in table's cell (the value, no threshold). ``legend``: the operations table's
    legend (empty: the table has no column for it). ``limit``: the self-view's note under a
    figure (empty: none). ``also``: a second metric the detail shows in brackets, with its
    words (``{value}`` its value; left out when it is missing).

    Each template may also hold the label placeholders (:func:`label_words`: ``{note_hours}``,
    ``{overdue_days}``, ``{over_goal_margin}``) and ``{window}``, the value of the metric's
    window when that is a Config path, and ``{long}``, the metric's long label in lower
    case."""

    key: str
    metric: str
    side: str
    threshold: tuple[str, ...]
    mark: str
    words: str
    phrase: str
    detail: str
    cell: str
    legend: str = ""
    limit: str = ""
    also: tuple[str, str] = ()


FLAGS: dict[str, Flag] = {f.key: f for f in [
    Flag("flag_low_utilization", "utilization", BELOW, ("operations.utilization_alert",), "▼",
         "low utilization", "utilization below {utilization_alert}",
         "utilization {shown}, below {utilization_alert}", "utilization {value}",
         legend="utilization below {utilization_alert}",
         limit="flagged below {utilization_alert}"),
    Flag("over_capacity", "utilization", ABOVE, ("workload.over_capacity",), "▲",
         "over capacity", "utilization above {over_capacity} of the hours offered",
         "utilization {shown} of the hours offered, above {over_capacity}",
         "utilization {value} of the hours offered",
         legend="above {over_capacity} of the hours offered",
         limit="above {over_capacity}"),
    Flag("flag_high_non_attendance", "non_attendance_rate", ABOVE,
         ("operations.non_attendance_alert",), "▲", "many missed appointments",
         "missed appointments at {non_attendance_alert} or more",
         "missed appointments {shown}, at or above {non_attendance_alert}",
         "missed appointments {value}",
         legend="missed appointments at or above {non_attendance_alert}",
         limit="flagged at {non_attendance_alert} or more"),
    Flag("flag_late_notes", "notes_within_72h", BELOW, ("operations.notes_within_72h_alert",),
         "▼", "notes running late",
         "fewer than {notes_within_72h_alert} of notes signed within {note_hours} hours",
         "{long} {shown}, below {notes_within_72h_alert}", "{long} {value}",
         legend="notes within {note_hours} h below {notes_within_72h_alert}",
         limit="flagged below {notes_within_72h_alert}"),
    Flag("flag_unsigned_overdue", "unsigned_overdue_7d", ABOVE,
         ("operations.unsigned_overdue_min_notes", "operations.unsigned_overdue_share"), "▲",
         "a backlog of unsigned notes",
         "notes unsigned for more than {overdue_days} days (at least "
         "{unsigned_overdue_min_notes}, and at least {unsigned_overdue_share} of notes due)",
         "{value} unsigned for more than {overdue_days} days{also}, at or above "
         "{unsigned_overdue_min_notes} notes and {unsigned_overdue_share}",
         "{value} unsigned for more than {overdue_days} days",
         legend="notes unsigned for more than {overdue_days} days: "
                "{unsigned_overdue_min_notes} or more and at least {unsigned_overdue_share} of "
                "the notes due",
         also=("unsigned_overdue_share", " ({value} of notes due)")),
    Flag("flag_over_goal", "weeks_over_goal", ABOVE, ("workload.over_goal_weeks",), "▲",
         "sessions above the weekly goal",
         "sessions {over_goal_margin} or more above the weekly goal in {over_goal_weeks} of "
         "{window} weeks",
         "sessions {over_goal_margin} or more above the weekly goal in {shown} of the last "
         "{window} weeks, at or above {over_goal_weeks}",
         "above the weekly goal in {shown} of the last {window} weeks"),
    Flag("flag_no_time_off", "days_off_recent", BELOW, (), "▲", "no time off recorded",
         "no time off recorded in {window} months", "no time off recorded in {window} months",
         "no time off recorded in {window} months"),
    Flag("flag_caseload_growing", "caseload_growing_weeks", ABOVE,
         ("workload.caseload_growing_weeks",), "▲", "caseload growing",
         "caseload growing for {caseload_growing_weeks} weeks or more",
         "caseload growing for {value} in a row, at or above {caseload_growing_weeks}",
         "caseload growing for {value}"),
]}


def flags_of(key: str) -> list[str]:
    """The flag columns that read metric ``key`` (:data:`FLAGS`), as their metric or as the
    second metric their detail shows (the backlog's share of notes due)."""
    return [f.key for f in FLAGS.values() if key in (f.metric, *f.also[:1])]


def _threshold_metric(path: str) -> str:
    """The metric whose ``threshold`` holds Config ``path`` (its format writes the value)."""
    return next(m.key for m in METRICS.values() if path in m.threshold)


def flag_text(key: str, kind: str, cfg: Config | None = None, row=None) -> str:
    """A flag's words of ``kind`` (``words``, ``phrase``, ``detail``, ``cell``, ``legend``,
    ``limit``: :class:`Flag`) with the run's parameters ``cfg`` filled in, each threshold
    written as its metric is (:func:`format_value`); ``row``: a clinician's row of
    ``clinician_metrics``, for the value of ``detail`` and ``cell``."""
    cfg = cfg or Config()
    f = FLAGS[key]
    fill = dict(label_words(cfg))
    fill |= {p.rsplit(".", 1)[-1]: format_value(_threshold_metric(p), config_path(cfg, p))
             for p in f.threshold}
    window = METRICS[f.metric].window
    if "." in window and " " not in window:
        fill["window"] = str(config_path(cfg, window))
    get = (row if row is not None else {}).get
    fill["long"] = label_of(f.metric, cfg, "long").lower()
    fill["value"] = value_words(f.metric, get(f.metric))
    fill["shown"] = format_value(f.metric, get(f.metric))
    fill["also"] = ""
    if f.also and not pd.isna(v := get(f.also[0], float("nan"))):
        fill["also"] = f.also[1].format(value=format_value(f.also[0], v))
    return getattr(f, kind).format(**fill)
