"""One typed configuration object for every setting perfkit reads.

The YAML file ``parameters/practice.yaml`` is the single place where a practice sets its name,
time zone, reporting period and every threshold of the data contract (DATA_CONTRACT section 3).
Code never writes these numbers as literals: it reads them from :class:`Config`.

Relative paths inside a parameters file are resolved against the folder that holds the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

__all__ = [
    "Config",
    "ConfigError",
    "InstrumentConfig",
    "OperationsConfig",
    "OutcomesConfig",
    "ModelsConfig",
    "TrendConfig",
    "PrivacyConfig",
    "ReportConfig",
    "DatesConfig",
    "CoverageConfig",
    "ServiceCode",
    "ServicesConfig",
    "SupervisionConfig",
    "CarriedIn",
    "CERequirement",
    "DeliveryConfig",
    "load_config",
    "DEFAULT_KEY_FILE",
    "DEMO_STATES",
]

from .standards import (
    CERequirement,
    InstrumentConfig,
    ServiceCode,
    StrictSettings,
    default_ce,
    default_codes,
    default_instruments,
    state_codes,
)

DEFAULT_KEY_FILE = Path.home() / ".local" / "share" / "perfkit" / "pseudonym.key"


def _as_list(value):
    """A list setting as written: nothing is an empty list, one value written without a list
    is a list of one (anything else is left for the field's own check)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class ConfigError(ValueError):
    """A parameters file that cannot be used; the message names the file and the setting."""


class OperationsConfig(StrictSettings):
    """Thresholds of the operational metrics (docs/references.md, Operations)."""

    utilization_alert: float = Field(0.70, gt=0, le=1.5)
    utilization_review: float = Field(0.80, gt=0, le=1.5)
    non_attendance_alert: float = Field(0.10, ge=0, le=1)
    notes_within_72h_alert: float = Field(0.90, ge=0, le=1)
    note_best_hours: float = Field(24, gt=0)
    note_standard_hours: float = Field(72, gt=0)
    note_overdue_days: float = Field(7, gt=0)
    unsigned_overdue_min_notes: int = Field(3, ge=1, description="flag_unsigned_overdue needs "
                                            "at least this many notes unsigned past "
                                            "note_overdue_days...")
    unsigned_overdue_share: float = Field(0.02, ge=0, le=1, description="...and at least "
                                          "this share of the period's notes due: a backlog "
                                          "relative to volume (one open note in a busy "
                                          "period is not a flag)")
    leave_context_days: int = Field(10, ge=1, description="recorded time off of at least this "
                                    "many days in the period is shown beside a clinician's "
                                    "check-in as context, and explains documentation and "
                                    "falling-trend prompts instead of asking about them")
    retained_sessions: int = Field(8, gt=0)
    dropout_sessions: int = Field(4, gt=0)
    cohort_weeks: int = Field(8, gt=0)
    dropout_window_days: int = Field(30, gt=0)
    caseload_weeks: int = Field(4, gt=0)
    late_cancel_window_hours: float = Field(24, gt=0, le=24 * 14, description="the practice's "
                                            "cancellation policy: a cancellation less than "
                                            "this many hours before the start is a late one "
                                            "(read from an export's cancellation time)")


class WorkloadConfig(StrictSettings):
    """When a clinician might be stretched: prompts for a supportive conversation, never a
    score (docs/references.md [Workload] gives the sources and the rationale)."""

    over_capacity: float = Field(1.0, gt=0, le=2, description="utilization above this share "
                                 "of the hours offered for clients: working past stated "
                                 "capacity")
    over_goal_margin: float = Field(0.2, ge=0, le=2, description="a week counts as over the "
                                    "clinician's weekly session goal when its attended "
                                    "sessions reach the goal plus this share")
    over_goal_weeks: int = Field(4, ge=1, description="prompt when this many of the last "
                                 "over_goal_window weeks are over the goal")
    over_goal_window: int = Field(6, ge=1, le=52, description="weeks looked at for the goal")
    time_off_months: int = Field(6, ge=1, le=24, description="prompt when no time off is "
                                 "recorded in this many months (only with a time_off table, "
                                 "and only for clinicians employed that long)")
    caseload_growing_weeks: int = Field(8, ge=2, le=52, description="prompt when the caseload "
                                        "has grown for this many weeks in a row")

    @model_validator(mode="after")
    def _window(self):
        if self.over_goal_weeks > self.over_goal_window:
            raise ValueError("workload.over_goal_weeks cannot exceed over_goal_window")
        return self


class RampConfig(StrictSettings):
    """New hires' first weeks against the practice's own ramp (``tables/ramp.csv``): perfkit's
    stated choices, set here (docs/references.md [Workload])."""

    recent_months: int = Field(12, ge=1, le=60, description="a clinician who started this many "
                               "months before period_end or later is a new hire")
    weeks: int = Field(26, ge=2, le=104, description="weeks since the start followed")
    min_hires: int = Field(3, ge=1, description="earlier hires needed for the practice's ramp "
                           "at a week")
    slower: float = Field(0.8, gt=0, lt=1, description="utilization below this share of the "
                          "practice ramp reads 'more slowly'")
    faster: float = Field(1.2, gt=1, description="above this share reads 'faster'")


class ServicesConfig(StrictSettings):
    """Billing codes, for exports that give codes instead of services and durations, and the
    session length taken when an export gives no length at all.

    ``default_session_minutes`` is perfkit's stated choice, not a published average: the
    50-minute "therapy hour", between the usual lengths of 90834 (45) and 90837 (60) in
    ``codes`` (docs/references.md [CPT]). It is used only when the column map allows it
    (``session_length: default``; the generic profile does), for an attended session with no
    duration, no end time, no billing code with a usual length and no minutes in its service
    name; such a session is flagged as estimated and the practice report says which share of
    the hours rests on it."""

    codes: dict[str, ServiceCode] = Field(default_factory=default_codes)
    default_session_minutes: int = Field(50, ge=1, le=600, description="length given to an "
                                         "attended session whose export gives none (only "
                                         "where the column map says session_length: "
                                         "default); flagged as estimated")
    telehealth_modifiers: list[str] = Field(default_factory=lambda: ["95", "GT", "FQ", "93"])

    @field_validator("telehealth_modifiers", mode="before")
    @classmethod
    def _text(cls, value):
        return [str(v).strip().upper() for v in value] if isinstance(value, list) else value


class OutcomesConfig(StrictSettings):
    """Measurement-based-care settings (docs/references.md [NHSTT])."""

    min_episodes: int = Field(10, ge=1, description="suppress a rate below this denominator")
    response_reduction: float = Field(0.5, gt=0, le=1, description="response: at least this "
                                      "share of the first score gone (lower-is-better only)")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Wilson interval level")
    funnel_levels: tuple[float, float] = Field((0.95, 0.998), description="funnel-plot control "
                                               "limits (Spiegelhalter 2005)")
    national_recovery_rate: float = Field(0.50, ge=0, le=1, description="NHS Talking Therapies "
                                          "recovery, about 50% nationally: context, not a target")
    not_on_track_quantile: float = Field(0.90, gt=0.5, lt=1, description="a score beyond this "
                                         "quantile of the practice's residuals around the "
                                         "expected curve is off track")
    curve_min_episodes: int = Field(20, ge=5, description="episodes needed to fit an "
                                    "instrument's expected-recovery curve")
    srs_drop_points: float = Field(1.0, gt=0, description="an SRS this many points below the "
                                   "client's previous one is flagged (OpenFIT's 1-point rule)")
    item9_escalate_at: int = Field(2, ge=1, le=3, description="PHQ-9 item 9 response that "
                                   "escalates the review (2 = more than half the days)")


class ModelsConfig(StrictSettings):
    """Growth models of assessment-score change (perfkit.models)."""

    instruments: list[str] = Field(default_factory=lambda: ["PHQ-9", "GAD-7", "PCL-5", "ORS"],
                                   description="instruments to model")
    min_scores: int = Field(3, ge=2, description="scores an episode needs to enter the model "
                            "(the intake and at least two more identify a client's slope)")
    min_clinicians: int = Field(5, ge=2, description="fewer clinicians: two-level model")
    min_clients: int = Field(30, ge=2, description="fewer clients: two-level model")
    min_clients_two_level: int = Field(10, ge=2, description="fewer clients: descriptive only")
    min_scores_total: int = Field(50, ge=5, description="fewer scores: descriptive only")
    engine: Literal["perfkit", "statsmodels"] = Field(
        "perfkit", description="perfkit's nested-model fitter (fast; the default) or "
        "statsmodels' MixedLM (the independent check)")
    client_covariance: Literal["independent", "correlated"] = Field(
        "independent", description="client intercept and slope independent (as lme4's "
        "(1 | client) + (0 + week | client)) or correlated ((1 + week | client); perfkit "
        "engine only)")
    maxiter: int = Field(300, ge=10, description="iterations per L-BFGS run")
    gradient_tolerance: float = Field(1e-4, gt=0, description="largest absolute gradient of "
                                      "the REML log-likelihood, per score, accepted as a "
                                      "stationary point")
    singular_tolerance: float = Field(1e-4, gt=0, description="a variance below this share of "
                                      "the residual variance is on the boundary (singular)")


class TrendConfig(StrictSettings):
    """Trend labels of the weekly series (``perfkit.trends``); defaults and sources in
    docs/references.md [SPC] and docs/data_contract.md, "Weekly series and trend labels"."""

    weeks: int = Field(52, ge=1, description="weeks of weekly history behind each trend")
    min_weeks: int = Field(12, ge=4, description="weekly points needed for the SPC rules; "
                           "fewer (from short_min_weeks) use the short-series rule")
    shift_run: int = Field(7, ge=2, description="SPC shift: this many points in a row on one "
                           "side of the baseline centre line, reaching the latest week")
    trend_run: int = Field(6, ge=2, description="SPC trend: this many rises (or falls) in a "
                           "row, reaching the latest week")
    recent_weeks: int = Field(6, ge=2, description="the latest weeks read against the "
                              "baseline: their mean against the limits for a mean of that many "
                              "weeks (centre +/- 2.66 x mean moving range / sqrt(weeks))")
    baseline_weeks: int = Field(26, ge=4, description="at most this many weeks before the "
                                "recent weeks form the baseline (centre line and limits)")
    beyond_points: int = Field(2, ge=1, description="this many latest weeks in a row beyond "
                               "the same baseline limit is a change (one week alone, e.g. a "
                               "holiday, is not)")
    short_min_weeks: int = Field(6, ge=3, description="a series of this many weeks up to "
                                 "min_weeks is read by its least-squares slope; fewer: 'not "
                                 "enough data'")
    short_band: float = Field(0.05, ge=0, description="short series: a slope worth less than "
                              "this share of the series mean per quarter (13 weeks) is no "
                              "change (a tool choice, not from a source: docs/references.md [SPC])")
    short_t: float = Field(2.5, ge=0, description="short series: the slope must also be at "
                           "least this many standard errors from zero")
    words_weeks: int = Field(12, ge=2, description="the sentence beside a trend says where the "
                             "last this many weeks began and ended")
    words_end_weeks: int = Field(6, ge=1, description="weeks averaged at each end of that "
                                 "sentence (at most half the weeks)")
    margin_points: float = Field(0.15, gt=0, description="percentages: a change between the "
                                 "sentence's two ends larger than this (0.15 = 15 percentage "
                                 "points) is never labelled stable")
    min_change: float = Field(0.5, ge=0, le=1, description="a rule's label also needs the "
                              "sentence's change to go its way and be at least this share of "
                              "the margin (0.5: 7.5 percentage points, 15% of the larger end): "
                              "smaller changes read stable")
    margin_share: float = Field(0.30, gt=0, description="counts and hours: a change larger "
                                "than this share of the larger end is never labelled stable")
    margin_count: float = Field(2.0, ge=0, description="counts and hours: the margin is at "
                                "least this much (two new clients, sessions or hours a week), "
                                "so small weekly counts (new clients about 1 a week) going from "
                                "0.8 to 1.7 are not a change by the margin alone")


class CoverageConfig(StrictSettings):
    """How much history before the period a figure needs (``perfkit.coverage``): figures
    resting on less are marked and said, never shown as complete."""

    new_client_months: int = Field(12, ge=0, le=120, description="months of appointments "
                                   "before period_start needed to tell a new client from a "
                                   "returning one (new clients, retention, early dropout)")
    grace_days: int = Field(14, ge=0, le=60, description="days an export may begin after the "
                            "date a figure needs, or end before period_end, without a remark "
                            "(an export's first rows, or a new hire's first session, often "
                            "fall days after the date asked for or the start date)")


class DatesConfig(StrictSettings):
    """The plausible-date window: dates outside it are rejected as ``date_out_of_range`` (a
    typo such as 1900 or 2100 would stretch every weekly series and model)."""

    years_before: int = Field(10, ge=1, le=500, description="earliest plausible date: this "
                              "many years before period_start")
    years_after: int = Field(2, ge=1, le=20, description="latest plausible date: this many "
                             "years after period_end")

    def window(self, cfg: Config) -> tuple[pd.Timestamp, pd.Timestamp]:
        """[first plausible day, first implausible day) as naive timestamps."""
        return (pd.Timestamp(cfg.period_start) - pd.DateOffset(years=self.years_before),
                pd.Timestamp(cfg.period_end) + pd.DateOffset(years=self.years_after))


class PrivacyConfig(StrictSettings):
    """Who may read a run folder, and what a clinician may read about colleagues. (Small
    counts: every outcome rate with a denominator below ``outcomes.min_episodes`` is
    suppressed, in every table and report; the reports hide a retention rate whose cohort is
    below it too.) ``min_peers``: a comparison a clinician can read (the self-view's practice
    median and middle half, its spread figure, its model estimate against the practice
    average, its practice totals, a new hire's earlier hires' ramp, also in the supervision
    pack) is shown only when it rests on at least this many clinicians, the reader counted
    among them when they are in it: with N clinicians, a statistic over N values lets a
    reader take out their own, and a median or quartiles of 2 to 4 values are colleagues'
    own figures."""

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data):
        if isinstance(data, dict) and "min_cell" in data:
            raise ValueError("min_cell is no longer a setting (it never suppressed anything): "
                             "outcome rates with fewer episodes than outcomes.min_episodes "
                             "are suppressed everywhere; delete the min_cell line")
        return data

    group_readable_outputs: bool = Field(False, description="run folders readable by the "
                                         "owner's group too (0750/0640) instead of the owner "
                                         "only (0700/0600)")
    min_peers: int = Field(5, ge=2, description="fewer clinicians in a comparison: a "
                           "clinician's self-view (and the supervision pack) shows no practice "
                           "median, middle half, spread, practice total or earlier hires' "
                           "ramp, and compares them with their own history and the practice's "
                           "thresholds instead")


class DeliveryConfig(StrictSettings):
    """How ``perfkit deliver --email`` sends each reader their own reports: the practice's own
    mail server, always over TLS with the server's certificate checked (STARTTLS or SMTPS;
    plain SMTP is not offered). The password never goes in the parameters: it is read from an
    environment variable or a file of its own."""

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data):
        if isinstance(data, dict) and "password" in data:
            raise ValueError("the mail password never goes in the parameters: delete the "
                             "password line and put the password in the environment variable "
                             "named by password_env (PERFKIT_SMTP_PASSWORD) or in a file named "
                             "by password_file")
        return data

    smtp_host: str = Field(min_length=1, description="the practice's outgoing mail server, "
                           "e.g. smtp.office365.com")
    smtp_port: int | None = Field(None, ge=1, le=65535, description="its port (default: 587 "
                                  "for starttls, 465 for ssl)")
    security: Literal["starttls", "ssl"] = Field("starttls", description="starttls: connect "
                                                 "and switch to TLS (port 587); ssl: TLS from "
                                                 "the start (SMTPS, port 465)")
    username: str | None = Field(None, description="the account to log in with (none: the "
                                 "server takes mail without a login, e.g. from inside the "
                                 "practice's network)")
    password_env: str = Field("PERFKIT_SMTP_PASSWORD", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                              description="the environment variable that holds the password")
    password_file: Path | None = Field(None, description="or a file that holds only the "
                                       "password (readable by you alone); used when set")
    from_address: str = Field(description="the sender's address, e.g. reports@your-practice.org")
    owner_addresses: list[str] = Field(default_factory=list, description="where the owner's "
                                       "part goes (the practice report); empty: not sent")
    attach_owner_tables: bool = Field(False, description="also attach the owner's tables "
                                      "(CSV, for analysts) to the owner's message")
    ca_file: Path | None = Field(None, description="the certificate of a private certificate "
                                 "authority that signed the server's certificate (default: the "
                                 "system's trusted authorities)")
    subject_prefix: str = Field("", max_length=60, description="put before each message's "
                                "subject, e.g. '[Reports] '")
    timeout_seconds: float = Field(60, gt=0, le=600, description="give up on a server that "
                                   "does not answer for this long")

    @field_validator("from_address")
    @classmethod
    def _from(cls, value: str) -> str:
        from .hostile_text import is_email_address

        if not is_email_address(value):
            raise ValueError("from_address must be one plain e-mail address such as "
                             "reports@your-practice.org")
        return value

    @field_validator("owner_addresses", mode="before")
    @classmethod
    def _owners(cls, value):
        from .hostile_text import is_email_address

        value = _as_list(value)
        if isinstance(value, list):
            for v in value:
                if not is_email_address(v):
                    raise ValueError(f"owner_addresses: {str(v)[:80]!r} is not one plain e-mail "
                                     "address such as owner@your-practice.org")
        return value

    @field_validator("smtp_host", "subject_prefix", "username")
    @classmethod
    def _one_line(cls, value):
        if value is not None and any(c in value for c in "\r\n\0"):
            raise ValueError("must be one line")
        return value

    @property
    def port(self) -> int:
        """The port: ``smtp_port``, else the usual one for ``security``."""
        return self.smtp_port or (465 if self.security == "ssl" else 587)


class CarriedIn(StrictSettings):
    """Supervised experience a pre-licensed clinician gained before the practice's records
    begin (another employer, older records), added to the licensure ledger."""

    since: dt.date = Field(description="when the supervised experience began")
    direct_hours: float = Field(0, ge=0)
    other_hours: float = Field(0, ge=0, description="other supervised experience hours "
                               "(not direct client contact, not supervision)")
    supervision_hours_individual: float = Field(0, ge=0)
    supervision_hours_group: float = Field(0, ge=0)
    supervised_weeks: int = Field(0, ge=0)


# The bundled demo practice's clinicians hold licences of three states (its rule sets and CE
# requirements are California's, Texas's and Virginia's): the built-in settings, used when no
# parameters file is given, say so (parameters/practice.yaml too).
DEMO_STATES = ("CA", "TX", "VA")


class SupervisionConfig(StrictSettings):
    """Supervision toward licensure, goals, competency reviews and continuing education
    (perfkit.supervision)."""

    rules_dir: Path | None = Field(None, description="a folder of the practice's own licensure "
                                   "rule files (YAML), read besides the shipped ones")
    pace_weeks: int = Field(13, ge=1, description="projected completion uses the pace of the "
                            "last this many weeks")
    indirect_hours_per_direct_hour: float = Field(0, ge=0, le=3, description="other supervised "
                                                  "experience (documentation, consultation) "
                                                  "counted per direct client hour; 0 counts "
                                                  "only direct and supervision hours")
    carried_in: dict[str, CarriedIn] = Field(default_factory=dict, description="per clinician_id"
                                             ": experience from before the records")
    support_months: int = Field(6, ge=1, le=24, description="support.csv counts the months "
                                "with peer consultation or mentoring in this many months "
                                "before as_of")
    goal_review_days: int = Field(90, ge=1, description="an open goal not reviewed for longer "
                                  "than this is listed")
    review_interval_days: int = Field(365, ge=1, description="competency review due after this "
                                      "many days (annual by default)")
    ce_requirements: dict[str, CERequirement] = Field(default_factory=default_ce,
                                                      description="per license type")
    ce_due_soon_days: int = Field(180, ge=1, description="CE hours still missing with the "
                                  "cycle ending within this many days are listed")
    ce_cycle_start: dt.date = Field(dt.date(2025, 1, 1), description="a date on which a renewal "
                                    "cycle begins (cycles repeat every cycle_years from it)")
    ce_cycle_starts: dict[str, dt.date] = Field(default_factory=dict, description="per "
                                                "clinician_id: their own cycle start")


class ReportConfig(StrictSettings):
    """How the owner's page is laid out for a practice's size, and how long a report may take.
    Above ``large_practice`` clinicians a practice is large: a summary per team (the roster's
    ``team`` column, when it names any) comes first, and the long per-clinician tables show
    only the clinicians with something to look at, with every clinician in a table that opens
    on a click below. A step of a report (one notebook cell) that runs longer than
    ``cell_timeout_seconds`` is stopped and that report listed as not produced, so a stuck
    report never holds the run (and its lock) for ever."""

    large_practice: int = Field(30, ge=1, description="more clinicians than this: a large "
                                "practice (team summaries first, long tables shortened)")
    cell_timeout_seconds: int = Field(600, ge=1, le=86_400, description="a report step (one "
                                      "notebook cell) running longer than this is stopped and "
                                      "its report listed as not produced")


class Config(StrictSettings):
    """Everything a run needs to know. Build it with :func:`load_config`."""

    practice_name: str = "Demo Practice"
    # names this practice had before: its runs under them are still its history (perfkit.history)
    previous_practice_names: list[str] = Field(
        default_factory=list, description="earlier names of this practice: runs made under "
        "them are compared with as its own")
    timezone: str = "America/Chicago"
    period_start: dt.date = dt.date(2026, 8, 1)
    period_end: dt.date = dt.date(2026, 11, 1)
    pseudonym_key_file: Path = DEFAULT_KEY_FILE
    column_map: Path | None = None
    # the export's shape: an import profile (perfkit.profiles), "contract" for the contract's
    source: str = "contract"
    # when the export was taken: note statuses describe that instant (default: period_end)
    exported_at: dt.datetime | None = None
    # the state(s) whose boards license the clinicians (two-letter codes): a shipped
    # licensure rule or CE requirement is taken by license type only for these states
    state: tuple[str, ...] = ()
    operations: OperationsConfig = OperationsConfig()
    workload: WorkloadConfig = WorkloadConfig()
    ramp: RampConfig = RampConfig()
    outcomes: OutcomesConfig = OutcomesConfig()
    models: ModelsConfig = ModelsConfig()
    trends: TrendConfig = TrendConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    report: ReportConfig = ReportConfig()
    dates: DatesConfig = DatesConfig()
    coverage: CoverageConfig = CoverageConfig()
    supervision: SupervisionConfig = SupervisionConfig()
    services: ServicesConfig = ServicesConfig()
    delivery: DeliveryConfig | None = Field(None, description="how perfkit deliver sends the "
                                            "reports by e-mail (not needed for --to)")
    instruments: dict[str, InstrumentConfig] = Field(default_factory=default_instruments)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                             "'America/New_York')") from exc
        return value

    @field_validator("state", mode="before")
    @classmethod
    def _states(cls, value):
        return () if value in (None, "") else state_codes(value)

    @field_validator("practice_name")
    @classmethod
    def _practice_name(cls, value: str) -> str:
        if not value.strip():  # report titles show it, and runs are matched by it
            raise ValueError("the practice's name is empty: write it as report titles should "
                             "show it")
        return value

    @field_validator("previous_practice_names", mode="before")
    @classmethod
    def _previous_names(cls, value):
        value = _as_list(value)
        if isinstance(value, list) and any(not isinstance(v, str) or not v.strip()
                                           for v in value):
            raise ValueError("each earlier name must be the practice's name as it was, in "
                             "words (an empty entry names no practice)")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        from .profiles import PROFILES

        if value not in PROFILES:
            raise ValueError(f"unknown source {value!r} (known: {', '.join(PROFILES)})")
        return value

    @model_validator(mode="after")
    def _period(self) -> Config:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must be after period_start")
        return self

    @property
    def as_of(self) -> dt.date:
        """Metrics are computed as of the end of the period (DATA_CONTRACT section 3)."""
        return self.period_end

    @property
    def period_given(self) -> bool:
        """Whether the period was set (in the parameters, on the command line or by the
        caller), rather than left at the built-in one, which is the bundled demo's: ``perfkit
        run`` then takes the period from the data (:mod:`perfkit.period`), and
        :func:`perfkit.models.model_data` uses every score."""
        return bool({"period_start", "period_end"} & self.model_fields_set)

    def with_period(self, start: dt.date | None = None, end: dt.date | None = None) -> Config:
        """A copy with another period (the CLI's ``--period-start`` / ``--period-end``)."""
        data = self.model_dump()
        if start is not None:
            data["period_start"] = start
        if end is not None:
            data["period_end"] = end
        return _build(data, "command-line period")


def yaml_problem(exc: Exception) -> str:
    """Where a YAML file is broken, in a few words (PyYAML's own message spans lines):
    ``" at line 3, column 7: expected ',' or ']'"``."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "it could not be read"
    at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{at}: {problem}"


def _merge_instruments(raw: dict | None) -> dict:
    """Parameters may override single fields of an instrument; the rest keep their defaults."""
    merged = {k: v.model_dump() for k, v in default_instruments().items()}
    for name, fields in (raw or {}).items():
        if name not in merged:
            raise ValueError(f"instruments: unknown instrument {name!r} "
                             f"(known: {', '.join(merged)})")
        merged[name].update(fields or {})
    return merged


def _merge_codes(raw) -> dict:
    """Parameters add billing codes or change single fields of the default ones."""
    services = dict(raw or {}) if isinstance(raw, dict) else raw
    if not isinstance(services, dict) or not isinstance(services.get("codes", {}) or {}, dict):
        return services
    merged = {k: v.model_dump() for k, v in default_codes().items()}
    for code, fields in (services.get("codes") or {}).items():
        code = str(code).strip().upper()
        if not isinstance(fields, dict):
            raise ValueError(f"services.codes: {code} must hold settings such as "
                             "{service: therapy, minutes: 45}")
        merged[code] = {**merged.get(code, {}), **fields}
    services["codes"] = merged
    return services


def _build(data: dict, source: str) -> Config:
    try:
        data = dict(data)
        data["instruments"] = _merge_instruments(data.get("instruments"))
        if "services" in data:
            data["services"] = _merge_codes(data["services"])
        return Config(**data)
    except (ValidationError, ValueError) as exc:
        raise ConfigError(f"{source}: {_plain(exc)}") from None


def _plain(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"setting '{where}': {msg}")
        return "; ".join(parts)
    return str(exc)


def _resolve(value, parameters_file: Path) -> Path:
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else (parameters_file.parent / p).resolve()


def load_config(path: str | os.PathLike | None = None, **overrides) -> Config:
    """Load the practice parameters.

    Parameters
    ----------
    path : path-like, optional
        A YAML parameters file such as ``parameters/practice.yaml``. ``None`` gives the defaults
        (the bundled demo practice, whose clinicians are licensed in ``DEMO_STATES``; a file
        that does not set ``state`` leaves it unset).
    **overrides
        Top-level settings that replace the file's values (``period_end=...``).

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        When the file is missing, is not valid YAML, names an unknown setting or holds a value
        out of range. The message names the file and the setting.
    """
    data: dict = {}
    source = "default parameters"
    if path is None:  # the built-in settings describe the bundled demo practice
        data["state"] = DEMO_STATES
    else:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"parameters file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid YAML{yaml_problem(exc)}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of settings")
        data.update(loaded)
        for key in ("pseudonym_key_file", "column_map"):
            if data.get(key):
                data[key] = _resolve(data[key], path)
        sup = data.get("supervision")
        if isinstance(sup, dict) and sup.get("rules_dir"):
            data["supervision"] = {**sup, "rules_dir": _resolve(sup["rules_dir"], path)}
        dlv = data.get("delivery")
        if isinstance(dlv, dict):
            data["delivery"] = {**dlv, **{k: _resolve(dlv[k], path)
                                          for k in ("password_file", "ca_file") if dlv.get(k)}}
    env_key = os.environ.get("PERFKIT_PSEUDONYM_KEY_FILE")
    if env_key:
        data["pseudonym_key_file"] = Path(env_key)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return _build(data, source)
