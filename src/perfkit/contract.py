"""The data contract: the input tables, columns, value vocabularies and synonyms, and the
values the output tables carry that the reports read.

This module is the one place the input tables of DATA_CONTRACT section 1 are written down.
Ingest reads it to check headers, parse values and name rejection reasons; the docs
(``docs/data_contract.md``) describe the same tables for users. At its end, the output side:
the values of the run's tables (trend labels, documentation sources, item 9 words...) that
the compute modules write and the reports word, so that presentation imports no compute
module to know them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Column",
    "Table",
    "TABLES",
    "OPTIONAL_TABLES",
    "STATUS_SYNONYMS",
    "SERVICE_SYNONYMS",
    "INSTRUMENT_SYNONYMS",
    "LICENSE_SYNONYMS",
    "NOTE_STATUS_SYNONYMS",
    "CANCELLED_BY_SYNONYMS",
    "HEADER_SYNONYMS",
    "normalize_label",
    "label_lookup",
    "header_key",
    "item_columns",
    "REASONS",
    "NO_RECORD",
    "DOCUMENTATION_FIGURES",
    "GROWING", "DECLINING", "STABLE", "NOT_ENOUGH",
    "SIGNING_TIMES", "NOTE_STATUS", "NOT_KNOWN", "LAG_FIGURES",
    "ITEM9_WORDS", "TYPICAL_MIN_SCORES", "NEWLY", "NO_LONGER", "STILL", "NEW_CLIENT_FIGURES",
]

Kind = Literal["id", "text", "date", "datetime", "int", "number", "enum"]


@dataclass(frozen=True)
class Column:
    """One contract column.

    ``required`` means a value must be present in every row; ``in_file`` means the column must
    exist in the file (a missing column stops the run). ``lo``/``hi`` bound numbers inclusively
    unless ``lo_open`` (then ``value > lo``). ``echo`` says whether a bad value may be quoted in
    the rejects file: never for identifiers that could be an EHR record number.
    """

    name: str
    kind: Kind
    required: bool = True
    in_file: bool = True
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    vocabulary: str | None = None  # key into VOCABULARIES for enum columns
    echo: bool = True
    upper_bound_only: bool = False  # dates: no lower plausible-date bound (a start date)


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key; rows sharing it with different values conflict
    items: bool = False  # assessments: item_1 .. item_N columns allowed

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def file_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.in_file]


def header_key(name) -> str:
    """An export's header as comparable words: case, accents' forms, spacing and punctuation
    ignored, so ``Duration (mins)``, ``duration_mins`` and ``DURATION - MINS`` are one header
    (``duration mins``) and ``Clinician ID`` is the contract's ``clinician_id``."""
    text = unicodedata.normalize("NFKC", str(name)).casefold().replace("#", " number ")
    return " ".join(re.findall(r"[^\W_]+", text))


def normalize_label(value: str) -> str:
    """Lower case, with runs of spaces, hyphens, underscores and dots folded to one space."""
    return re.sub(r"[\s_\-.]+", " ", str(value).strip().lower()).strip()


def label_lookup(table: dict[str, str]):
    """A function reading one label through a vocabulary keyed by :func:`normalize_label`:
    the label as normalised first, else its words alone (:func:`header_key`: punctuation,
    brackets and colons ignored), so "Cancelled (Late)", "No Show (Charged)" and
    "Cancelled - Client" are read as "cancelled late", "no show charged" and "cancelled
    client". The words index is built once per vocabulary."""
    words = {header_key(key): value for key, value in table.items()}  # later keys win

    def lookup(label: str) -> str | None:
        return table.get(normalize_label(label)) or words.get(header_key(label))
    return lookup


# Synonyms are keyed by normalize_label() of the source label; a label is also read by its words
# alone (label_lookup: "Cancelled (Late)" as "cancelled late").
# The words of Jane (Arrived, No Show, Cancelled, Rescheduled, Unarrived), Owl Practice
# (Attended, Cancelled, Late Cancelled, No Show, Non-Billable: attended, not billed), TheraNest
# (Upcoming, Kept, Canceled, No Show, Late Cancel, Rescheduled), Tebra (Scheduled, Confirmed,
# Arrived, Checked In, Roomed, Checked Out, Cancelled, No Show, Rescheduled) and IntakeQ
# (Missed, Canceled), from their public help pages, and what practices type themselves
# ("Client Canceled", "Cancelled - Client", "Did Not Show", "Completed - Telehealth").
# "rescheduled" is no appointment of its own (moved to another time, where it has its own row):
# ingest leaves such rows out (a reason of their own), so they never count as cancellations.
# Compound labels are taken only where both parts agree on one status: "Completed - Telehealth"
# (the visit's form), "No Show (Charged)" and "Late Cancellation (Fee)" (a fee), "Cancelled -
# Client" (who); never where they could say two things ("Cancelled - Rescheduled", "No Show -
# Late", "Completed - Late Cancel"), which stay unknown until a column map says.
_CANCEL_WORDS = ("cancelled", "canceled", "cancel", "cancellation")
_VISIT_FORMS = ("telehealth", "video", "virtual", "online", "in person", "in office",
                "office", "phone", "telephone")
# who cancelled, as a status says it ("Provider Cancelled", "Cancelled by Therapist"): only the
# clinician's own side, never staff, office or front desk (they often cancel for a client)
_CLINICIAN_SIDE = ("clinician", "provider", "therapist", "practitioner", "counselor",
                   "counsellor", "practice")
_CLIENT_SIDE = ("client", "patient", "guardian", "parent")


def _who_cancelled(who: tuple[str, ...], cancels=_CANCEL_WORDS) -> tuple[str, ...]:
    """"provider cancelled", "cancelled by provider", "cancelled provider" for each side."""
    return tuple(form for w in who for c in cancels
                 for form in (f"{w} {c}", f"{c} by {w}", f"{c} {w}"))


STATUS_SYNONYMS: dict[str, str] = {
    **{k: "attended" for k in ("attended", "kept", "show", "showed", "shown", "arrived",
                                "completed", "complete", "checked out", "seen", "checked in",
                                "roomed", "non billable", "nonbillable", "attended non billable",
                                "in session")},
    **{f"{done} {form}": "attended" for done in ("attended", "completed", "complete",
                                                   "arrived", "kept", "seen", "checked out")
       for form in _VISIT_FORMS},
    **{k: "no_show" for k in ("no show", "noshow", "no showed", "dna", "did not attend",
                               "missed", "failed", "no show no call", "did not show",
                               "didnt show", "didn t show", "no call no show", "ncns",
                               "no show charged", "no show fee", "no show fee charged",
                               "no show billed", "client no show", "patient no show",
                               "no show client", "no show patient", "failed to show",
                               "missed appointment", "missed session")},
    **{k: "late_cancel" for k in ("late cancel", "late cancelled", "late canceled",
                                   "late cancellation", "latecancel", "late cxl",
                                   "cancelled late", "canceled late", "cancellation late",
                                   "late cancellation fee", "late cancel fee",
                                   "late cancelled fee", "late canceled fee",
                                   "late cancellation charged", "late cancel charged",
                                   "late cancellation fee charged", "cancelled late fee",
                                   "canceled late fee")},
    **{k: "late_cancel" for k in _who_cancelled(
        _CLIENT_SIDE, ("late cancelled", "late canceled", "late cancel", "late cancellation"))},
    **{k: "cancelled" for k in ("cancelled", "canceled", "cancel", "cancellation", "cxl")},
    # the client's side cancelled: an ordinary cancellation
    **{k: "cancelled" for k in _who_cancelled(_CLIENT_SIDE)},
    # the clinician (or the practice) cancelled: the client was not expected to come
    **{k: "clinician_cancelled" for k in _who_cancelled(_CLINICIAN_SIDE)},
    **{k: "scheduled" for k in ("scheduled", "booked", "confirmed", "pending", "upcoming",
                                 "unarrived", "not arrived", "unconfirmed", "not confirmed")},
    **{k: "rescheduled" for k in ("rescheduled", "re scheduled", "reschedule")},
}

# Who cancelled (a "Canceled By" column: TheraNest asks whether the provider or the client
# changed the status). The clinician's own side (provider, clinician, therapist, practitioner,
# counselor, practice) makes a cancellation ``clinician_cancelled``; the client's leaves it as
# it is. Staff, office, clinic or front desk are neither: they often cancel for a client, so
# taking them as the clinician's would inflate clinician cancellations (the status is kept and
# counted as not recognised). Keyed by normalize_label(); ingest.statuses._cancelled_by_label.
CANCELLED_BY_SYNONYMS: dict[str, str] = {
    **{k: "clinician" for k in (*_CLINICIAN_SIDE, "rendering provider", "the provider",
                                 "the therapist", "the clinician", "the practice")},
    **{k: "client" for k in (*_CLIENT_SIDE, "client portal", "patient portal", "the client",
                              "the patient")},
}

# Service words; billing codes (CPT 90791 -> intake, 90837 -> therapy, ...) are read through the
# parameters' table of codes (services.codes), which also gives their usual lengths.
SERVICE_SYNONYMS: dict[str, str] = {"intake": "intake", "therapy": "therapy", "other": "other"}

INSTRUMENT_SYNONYMS: dict[str, str] = {
    # keyed by the label upper-cased with everything but letters and digits removed
    "PHQ9": "PHQ-9", "GAD7": "GAD-7", "PCL5": "PCL-5", "ORS": "ORS", "SRS": "SRS",
}

LICENSE_SYNONYMS: dict[str, str] = {
    "licensed": "licensed", "fully licensed": "licensed",
    "pre licensed": "pre-licensed", "prelicensed": "pre-licensed",
}

# Supervision toward licensure (individual, triadic, group) and two kinds of support that are
# never supervision hours: a peer case-consultation group, and mentoring.
FORMAT_SYNONYMS = {
    "individual": "individual", "triadic": "triadic", "group": "group",
    **{k: "consultation" for k in ("consultation", "peer consultation", "case consultation",
                                    "consultation group", "peer consultation group")},
    **{k: "mentoring" for k in ("mentoring", "mentorship")},
}
SUPERVISION_FORMATS = ("individual", "triadic", "group")  # hours toward licensure
SUPPORT_FORMATS = ("consultation", "mentoring")  # support, never supervision hours
GOAL_STATUS_SYNONYMS = {"open": "open", "met": "met", "revised": "revised", "dropped": "dropped"}
DOMAIN_SYNONYMS = {"knowledge": "knowledge", "skills": "skills", "attitudes": "attitudes",
                   "values": "values"}

# A note's state at the export (SimplePractice "Progress Note Status": LOCKED / DRAFT / NO NOTE;
# TherapyNotes "Note Status"; Jane's "Chart Status" with "No Chart"; Tebra's clinical note
# status "Note not started" / "Note in progress"; TheraNest's progress notes signed, submitted
# for approval or approved). Keyed by normalize_label().
NOTE_STATUS_SYNONYMS: dict[str, str] = {
    **{k: "signed" for k in ("signed", "locked", "signed and locked", "signed locked",
                              "complete", "completed", "finalized", "finalised", "final",
                              "note signed", "note locked", "closed", "chart signed",
                              "signed chart", "submitted", "approved", "note complete",
                              "note completed")},
    **{k: "draft" for k in ("draft", "unlocked", "in progress", "started", "unsigned",
                             "not signed", "awaiting signature", "pending signature",
                             "note started", "incomplete", "open", "note in progress",
                             "chart in progress", "chart started", "unsigned chart",
                             "chart unsigned", "chart not signed", "note unsigned")},
    **{k: "missing" for k in ("missing", "no note", "none", "not started", "note missing",
                               "no documentation", "not written", "no progress note",
                               "no chart", "note not started", "chart not started",
                               "no notes")},
}

# A yes/no column (TherapyNotes' "Charge Fee" flag on a cancelled appointment).
YES_NO_SYNONYMS: dict[str, str] = {
    **{k: "yes" for k in ("yes", "y", "true", "t", "1", "x", "charged", "fee charged")},
    **{k: "no" for k in ("no", "n", "false", "f", "0", "not charged", "no fee")},
}

# The item 9 follow-up column (assessments.item9_followup): a yes/no answer or a date (any
# date means it was done); ingest.
FOLLOWUP_SYNONYMS: dict[str, str] = {
    **YES_NO_SYNONYMS,
    **{k: "yes" for k in ("done", "completed", "complete", "recorded", "followed up",
                           "safety plan", "safety plan done", "safety plan completed")},
    **{k: "no" for k in ("not done", "none", "not recorded", "pending", "not completed",
                          "no follow up")},
}

VOCABULARIES: dict[str, dict[str, str]] = {
    "yes_no": YES_NO_SYNONYMS,
    "note_status": NOTE_STATUS_SYNONYMS,
    "status": STATUS_SYNONYMS,
    "service": SERVICE_SYNONYMS,
    "instrument": INSTRUMENT_SYNONYMS,
    "license_status": LICENSE_SYNONYMS,
    "format": FORMAT_SYNONYMS,
    "goal_status": GOAL_STATUS_SYNONYMS,
    "domain": DOMAIN_SYNONYMS,
}

# Header synonyms of optional contract columns, keyed by normalize_label() of the export's
# header. One is used only when the file has no column by the contract's name, the column map
# names none, and exactly one header matches (import profiles map the EHRs' own headers).
HEADER_SYNONYMS: dict[str, dict[str, frozenset[str]]] = {
    "clinicians": {
        "team": frozenset((
            "team", "team name", "site", "site name", "location", "location name", "office",
            "office name", "clinic", "clinic name", "department", "practice location",
        )),
    },
    "assessments": {
        "item9_followup": frozenset((
            "item9 followup", "item 9 followup", "item 9 follow up", "item9 follow up",
            "risk follow up", "safety follow up",
            "suicide risk follow up", "risk assessment completed", "risk assessment done",
            "safety plan", "safety plan completed", "safety plan done", "safety plan date",
        )),
    },
}

_ITEM_RE = re.compile(r"^item_(\d+)$")


def item_columns(columns) -> dict[str, int]:
    """Map item column names (``item_1`` ...) to their item number."""
    out = {}
    for c in columns:
        m = _ITEM_RE.match(c)
        if m and int(m.group(1)) >= 1:
            out[c] = int(m.group(1))
    return out


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "clinicians", True,
            (
                Column("clinician_id", "id"),
                Column("name", "text"),
                Column("license_status", "enum", vocabulary="license_status"),
                Column("license_type", "text", required=False, in_file=False),
                Column("supervisor_id", "id", required=False, in_file=False),
                Column("start_date", "date", upper_bound_only=True),
                Column("end_date", "date", required=False, in_file=False),
                Column("weekly_capacity_hours", "number", lo=0, lo_open=True, hi=80),
                Column("weekly_session_goal", "int", required=False, in_file=False, lo=0, hi=80),
                Column("licensure_rule", "text", required=False, in_file=False),
                # a team, site or location that groups the owner's page of a larger practice
                # (report.large_practice); free text, shown escaped, never part of a path
                Column("team", "text", required=False, in_file=False),
                # where ``perfkit deliver --email`` sends the clinician's own reports; never
                # shown in a report or table, never quoted in the rejects (contact details)
                Column("email", "text", required=False, in_file=False, echo=False),
            ),
            key=("clinician_id",),
        ),
        Table(
            "appointments", True,
            (
                # generated (stable) for rows without one: see ingest.reshape._generate_ids
                Column("appointment_id", "id", required=False, in_file=False, echo=False),
                Column("clinician_id", "id"),
                Column("client_id", "id", echo=False),
                Column("start", "datetime"),
                # required for attended sessions only: else from end, units or service code
                Column("duration_minutes", "int", required=False, in_file=False, lo=1, hi=600),
                Column("end", "datetime", required=False, in_file=False),
                # the time of day of a date-only start ("9:00 AM"), or a time range giving
                # start and end ("9:00 AM - 9:53 AM"); see ingest.times._start_with_time
                Column("time", "text", required=False, in_file=False),
                Column("units", "number", required=False, in_file=False, lo=0, lo_open=True,
                       hi=40),
                Column("status", "enum", vocabulary="status"),
                # intake / therapy / other, or billing codes with modifiers and add-ons
                Column("service", "enum", required=False, in_file=False, vocabulary="service"),
                # a cancelled appointment with a fee charged was a late cancellation
                Column("fee_charged", "enum", required=False, in_file=False,
                       vocabulary="yes_no"),
                # who cancelled: the clinician's own side (provider, therapist, practice ...)
                # makes a cancellation clinician_cancelled (CANCELLED_BY_SYNONYMS); never
                # quoted (it may hold a person's name)
                Column("cancelled_by", "text", required=False, in_file=False, echo=False),
                # when the client cancelled: less than operations.late_cancel_window_hours
                # before the start makes a cancellation a late one
                # read as empty, never quoted, when it is not a date and time (free text
                # may name the person who cancelled): see ingest.check._cancellation_times
                Column("cancelled_at", "datetime", required=False, in_file=False,
                       echo=False),
                Column("telehealth", "enum", required=False, in_file=False,
                       vocabulary="yes_no"),
                Column("group", "enum", required=False, in_file=False, vocabulary="yes_no"),
            ),
            # the same session exported once per clinician (co-therapy) is two rows
            key=("appointment_id", "clinician_id"),
        ),
        Table(
            "notes", True,
            (
                Column("appointment_id", "id", echo=False),
                # one of signed_at and status must be in the file (ingest checks it)
                Column("signed_at", "datetime", required=False, in_file=False),
                Column("status", "enum", required=False, in_file=False,
                       vocabulary="note_status"),
                # set when the notes come from the appointments file (one note per clinician)
                Column("clinician_id", "id", required=False, in_file=False),
                # a report of notes matched to appointments by clinician, client and time
                # (the column map's join; SimplePractice's appointment status report): what it
                # is matched on, and what it lends its appointment (billing code, units)
                Column("client_id", "id", required=False, in_file=False, echo=False),
                Column("start", "datetime", required=False, in_file=False),
                Column("service", "text", required=False, in_file=False),
                Column("units", "number", required=False, in_file=False, lo=0, lo_open=True,
                       hi=40),
            ),
            key=("appointment_id", "clinician_id"),
        ),
        Table(
            "assessments", False,
            (
                Column("client_id", "id", echo=False),
                Column("clinician_id", "id", required=False, in_file=False),
                Column("instrument", "enum", vocabulary="instrument"),
                Column("administered_at", "datetime"),
                Column("total_score", "number", required=False, in_file=False),
                # whether the follow-up of a PHQ-9 item 9 answer above zero was recorded: yes,
                # no, or the date it was done (any date: recorded); read in ingest, never
                # quoted (it may hold a clinician's free text)
                Column("item9_followup", "text", required=False, in_file=False, echo=False),
            ),
            items=True,
        ),
        Table(
            "time_off", False,
            (
                Column("clinician_id", "id"),
                Column("start_date", "date"),
                Column("end_date", "date"),
            ),
        ),
        Table(
            "supervision", False,
            (
                Column("supervisee_id", "id"),
                Column("supervisor_id", "id"),
                Column("date", "date"),
                Column("minutes", "number", lo=0, lo_open=True, hi=600),
                Column("format", "enum", vocabulary="format"),
            ),
        ),
        Table(
            "goals", False,
            (
                Column("clinician_id", "id"),
                Column("goal_id", "id"),
                Column("description", "text"),
                Column("set_on", "date"),
                Column("target_date", "date", required=False, in_file=False),
                Column("status", "enum", vocabulary="goal_status"),
                Column("reviewed_on", "date", required=False, in_file=False),
            ),
            key=("clinician_id", "goal_id"),
        ),
        Table(
            "reviews", False,
            (
                Column("clinician_id", "id"),
                Column("review_date", "date"),
                Column("reviewer_id", "id"),
                Column("domain", "enum", vocabulary="domain"),
                Column("rating", "int", lo=1, hi=5),
                Column("evidence", "text"),
            ),
            key=("clinician_id", "review_date", "domain"),
        ),
        Table(
            "ce", False,
            (
                Column("clinician_id", "id"),
                Column("completed_on", "date"),
                Column("title", "text", required=False, in_file=False),
                Column("hours", "number", lo=0, lo_open=True, hi=200),
            ),
        ),
    )
}

OPTIONAL_TABLES = [n for n, t in TABLES.items() if not t.required]

# Every rejection reason, with the plain sentence shown in summaries.
# The clinician_metrics figures that rest on note statuses or signing times (section 3): an
# export that gives neither leaves them empty ("not known"), never zero.
DOCUMENTATION_FIGURES = ("notes_within_24h", "notes_within_72h", "median_note_lag_hours",
                         "notes_open_72h", "unsigned_overdue_7d")

# Reasons for rows that are no record to use (not a mistake in the data): counted apart from
# rejections in a run's summary, each with the words that follow "N rows" there
NO_RECORD: dict[str, str] = {
    "rescheduled": "rescheduled", "summary_row": "of totals",
    "repeated_header": "repeating the header",
    "excluded_row": "of another kind (such as payments)",
}

REASONS: dict[str, str] = {
    "exact_duplicate": "the same row appears earlier in the file",
    "missing_value": "a required value is empty",
    "conflicting_duplicate_id": "the same id appears on rows that disagree; none of them is used",
    "unparseable_date": "a date or time could not be read",
    "unparseable_time": "a time of day could not be read",
    "nonexistent_local_time": "a local time that does not exist (skipped when clocks sprang "
                              "forward)",
    "invalid_number": "a number could not be read",
    "out_of_range": "a value lies outside its allowed range",
    "unknown_status": "the appointment status is not one perfkit knows",
    "unknown_service": "the service is not intake, therapy, other or a known CPT code",
    "unknown_instrument": "the instrument is not PHQ-9, GAD-7, PCL-5, ORS or SRS",
    "unknown_value": "a value is not one of the allowed labels",
    "unknown_clinician": "the clinician_id is not in clinicians",
    "unknown_supervisor": "the supervisor_id is not in clinicians",
    "end_before_start": "the end date is before the start date",
    "unknown_appointment": "the appointment_id is not in appointments",
    "appointment_rejected": "the appointment this row refers to was itself rejected",
    "clinician_rejected": "the clinician this row refers to was itself rejected",
    "signed_before_session": "the note is signed before the session started",
    "no_score": "neither a total score nor item scores are given",
    "too_many_missing_items": "more items are missing than the instrument's prorating rule allows",
    "item_not_in_instrument": "an item is filled in that the instrument does not have",
    "total_mismatch": "the total score disagrees with the sum of the item scores",
    "no_clinician_for_assessment": "no clinician_id and no attended appointment with the client "
                                   "on or before that date",
    "pseudonym_collision": "two different client ids map to the same pseudonym",
    "invalid_id": "an id stored as a number with a fraction (ids are text or whole numbers)",
    "summary_row": "a row of totals, not a record",
    "repeated_header": "the header row repeated inside the file",
    "missing_duration": "an attended session with no duration, end time or service code that "
                        "gives one",
    "end_before_start_time": "the end time is not after the start",
    "add_on_without_session": "an add-on billing line with no session of the same clinician, "
                              "client and start to belong to",
    "not_in_table": "the row holds nothing for this table (a file shared with another table)",
    "ambiguous_clinician_name": "the name matches more than one clinician on the roster",
    "no_appointment_row": "a row of the notes report with no appointment of the same "
                          "clinician, client and time in the appointments report",
    "excluded_row": "a row of another kind (a payment or an adjustment in a billing export; "
                    "the column map's 'rows')",
    "rescheduled": "rescheduled: moved to another time, so not an appointment of its own "
                   "(the new time has its own row); left out of every figure, never counted "
                   "as a cancellation",
    "date_out_of_range": "a date outside the plausible window around the period (parameter "
                         "'dates')",
}

# Enum reasons by vocabulary
ENUM_REASON = {"status": "unknown_status", "service": "unknown_service",
               "instrument": "unknown_instrument"}



# ---------------------------------------------------------------------------------------------
# The output side: values the run's tables carry that the reports read and word (DATA_CONTRACT
# section 2). The compute modules that write these values import them from here, and so does
# perfkit.report, which imports no compute module.

# the trend labels of the weekly series (``trend_<metric>`` of clinician_metrics)
GROWING, DECLINING, STABLE, NOT_ENOUGH = "growing", "declining", "stable", "not enough data"

# which direction of each weekly metric is a concern, and the digits a rate is shown with, are
# each metric's (perfkit.registry: TREND_CONCERN, DISPLAY_DIGITS)

# what a clinician's documentation figures rest on (``documentation_source``)
SIGNING_TIMES, NOTE_STATUS = "signing_times", "note_status"
# an export whose notes give neither (a note-status column empty in every row, no signing
# times): every documentation figure is unknown, never "all unsigned"
NOT_KNOWN = "not_known"
# the figures that need signing times: empty when a clinician's notes rest on statuses
LAG_FIGURES = ("notes_within_24h", "notes_within_72h", "median_note_lag_hours")

# PHQ-9 item 9 answers in the client's words (``item9_flags.response_words``)
ITEM9_WORDS = {1: "several days", 2: "more than half the days", 3: "nearly every day"}

# how a flag changed against the compared run (``changes.change``)
NEWLY, NO_LONGER, STILL = "newly flagged", "no longer flagged", "still flagged"

# the clinician_metrics figures that rest on telling new clients from returning ones (a short
# export limits them: ``new_clients_limited``)
NEW_CLIENT_FIGURES = ["new_clients", "retained_8plus_rate", "early_dropout_rate"]

# a clinician's clients' typical course (``trajectory_medians``): the median score of a whole
# week since the clients' first scores, drawn where at least this many scores fall in the week
TYPICAL_MIN_SCORES = 5
