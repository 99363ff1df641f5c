"""A run folder as the reports read it: its tables (each read typed by
:func:`perfkit.io.read_table`, from ``tables/name.parquet`` beside ``tables/name.csv``, or the
CSV alone for an older run; the clinicians' names and dates from ``roster``), its model
summary, its quality summary (``data_quality.json``) and its run facts
(``prepared/snapshot.json``: parameters, which tables the practice provided, what the export
could give). Nothing here computes a metric or runs the pipeline, and nothing reads the
prepared snapshot's tables: whatever a report shows is in a run table."""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config, load_config
from ..contract import ITEM9_WORDS, NOTE_STATUS
from ..hostile_text import distinct_names
from ..io import find_folder, read_table
from .coverage_words import limit_words
from .format import Text, date_words, table

__all__ = ["RunFolder", "load_run", "measured", "text_id", "on_status", "no_appointments",
           "caveats", "unavailable", "history_words", "coverage_span",
           "rows_for", "rows_or_reason", "NO_MEASURES", "item9_rows", "item9_caption",
           "ITEM9_NO_FOLLOWUP", "ITEM9_NOT_IN_EXPORT", "item9_in_export", "item9_section",
           "clinician_count",
           "ramp_by_hire", "clients_by_clinician", "few_peers", "hires_compared",
           "few_peers_words"]


@dataclass
class RunFolder:
    """A run folder for the reports: its tables, model summary and run facts."""

    folder: Path
    config: Config
    meta: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    _names: dict | None = None
    _shown: dict | None = None
    _teams: dict | None = None  # perfkit.report.teams.team_of, read once
    _quality: dict | None = None  # data_quality.json, read once

    @property
    def quality(self) -> dict:
        """The run's ``data_quality.json``: each input table read, with its rows read, used
        and set aside (empty when the run folder has none)."""
        if self._quality is None:
            path = self.folder / "data_quality.json"
            self._quality = json.loads(path.read_text(encoding="utf-8")) if path.is_file() \
                else {}
        return self._quality

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def roster(self) -> pd.DataFrame:
        """The roster as the reports name and date clinicians (``roster.csv``: id, name,
        start and end dates, team), indexed by id; as the typed table holds it (names and teams
        as text, dates as datetimes: :func:`perfkit.io.read_table`)."""
        r = self.tables.get("roster")
        if r is None:
            r = pd.DataFrame(columns=["clinician_id", "name", "start_date", "end_date", "team"])
        return r.set_index("clinician_id")

    def provided(self, name: str) -> bool:
        """Whether the practice provided an input table (what rests on a table that was not
        provided is unknown, and the reports say so)."""
        return name in self.meta.get("provided", [name])  # older runs: assume provided

    def name_of(self, clinician_id: str) -> str:
        """The clinician's name as every report shows it: as written, with the id added when
        two clinicians share the name (:func:`perfkit.hostile_text.distinct_names`)."""
        if self._shown is None:
            self._shown = distinct_names(self._written())
        return str(self._shown.get(clinician_id, clinician_id))

    def written_name(self, clinician_id: str) -> str:
        """The clinician's name exactly as the roster writes it (to match other records)."""
        return str(self._written().get(clinician_id, clinician_id))

    def _written(self) -> dict:
        if self._names is None:
            self._names = self.roster()["name"].to_dict()
        return self._names


def load_run(run_folder: str | os.PathLike) -> RunFolder:
    """Load a run folder written by ``perfkit run`` (its tables, typed: ids as text, yes/no as
    booleans, dates as datetimes, :func:`perfkit.io.read_table`; model summary and run facts).
    The notebooks pass :func:`perfkit.cache.demo_run` when no run folder is given.
    """
    folder = find_folder(run_folder, "run folder")  # relative: from here, else the project
    meta_file = folder / "prepared" / "snapshot.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{folder} is not a run folder: it has no "
                                "prepared/snapshot.json ('perfkit run' writes one)")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    params = dict(meta.get("parameters", {}))
    config = load_config(**params) if params else load_config()
    paths = [p for p in sorted((folder / "tables").glob("*.csv"))
             if not p.stem.startswith("model_data_")]
    for key in set(_READ) - {str(p.resolve()) for p in paths}:
        del _READ[key]  # another run folder's tables: keep one folder's in memory, not every
    tables = {p.stem: _read_once(p) for p in paths}
    summary_file = folder / "tables" / "model_summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    return RunFolder(folder, config, meta, tables, summary)


# The tables already read in this process, by path: the file's identity when read (device,
# inode, size, modification time, of the Parquet copy when there is one, else of the CSV) and
# the frame. A report worker's kernel renders one report after another from the same run
# folder (its namespace reset between them, this module kept): each table is read once, not
# once a report. A table written again (perfkit writes by renaming a new file into place) has
# another identity and is read again; loading another run folder forgets the tables of the
# one before.
_READ: dict[str, tuple[tuple, pd.DataFrame]] = {}


def _identity(path: Path) -> tuple:
    typed = path.with_suffix(".parquet")
    st = (typed if typed.is_file() else path).stat()
    return (typed.is_file(), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _read_once(path: Path) -> pd.DataFrame:
    """:func:`perfkit.io.read_table`, read once per file version in this process. Each caller
    gets its own shallow copy: pandas' copy-on-write (the default since pandas 3) makes any
    change to it copy the data first, so no report can change what the next one reads."""
    key, ident = str(path.resolve()), _identity(path)
    seen = _READ.get(key)
    if seen is None or seen[0] != ident:
        seen = _READ[key] = (ident, read_table(path))
    return seen[1].copy(deep=False)


def text_id(value, name: str) -> None:
    """An id parameter must arrive as text: papermill's ``-p`` reads ``001`` as the number 1."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not the number {value!r}: pass it to papermill "
                         f"with -r {name} ... (raw text) instead of -p")


NO_MEASURES = ("No measures were provided (the export has no assessments table), so there are "
               "no outcome figures here. Everything else in this report stands on its own.")


def measured(say: bool = False):
    """An outcome section (its first argument is the run): when the practice provided no
    assessments it shows the sentence that says so (``say``, the first outcome section of a
    report) or nothing (the sections after it), instead of empty tables and figures."""
    def wrap(section):
        @functools.wraps(section)
        def shown(run: RunFolder, *args, **kwargs):
            if not run.provided("assessments"):
                return Text(NO_MEASURES if say else "")
            return section(run, *args, **kwargs)
        return shown
    return wrap


def on_status(m: pd.DataFrame) -> pd.Series:
    """Clinicians whose documentation figures rest on note statuses, not signing times."""
    if "documentation_source" not in m:
        return pd.Series(False, index=m.index)
    return m["documentation_source"] == NOTE_STATUS


def no_appointments(m: pd.DataFrame) -> pd.Series:
    """Clinicians on the roster whom the export never names (``appointments_in_export`` 0 in
    an export that has appointments): their figures are not zeros, they are not known."""
    if "appointments_in_export" not in m:
        return pd.Series(False, index=m.index)
    return m["appointments_in_export"].eq(0)


def caveats(run: RunFolder) -> list[str]:
    """What the practice's export cannot give (its import profile says), in plain words."""
    return list((run.meta.get("export_profile") or {}).get("caveats") or [])


def unavailable(run: RunFolder) -> set[str]:
    return set((run.meta.get("export_profile") or {}).get("unavailable") or [])


# the limits a practice-level reader (the owner) is told; licensure belongs to supervision
PRACTICE_LIMITS = ("new_clients", "trends", "period_end", "notes")


def history_words(run: RunFolder, *, clinician_id: str | None = None) -> list[str]:
    """The sentences of the run facts' ``history_limits`` (what a short export limits), for
    the practice (``clinician_id`` None) or one clinician's self-view: there the new-client
    sentence only when ``clinician_metrics`` marks their new clients as limited (a clinician
    who started after the export began has all their history in it). Licensure limits are
    said in the ledger itself, never here."""
    limits = [lim for lim in run.meta.get("history_limits") or []
              if lim.get("figure") in PRACTICE_LIMITS]
    if clinician_id is not None:
        m = run.tables.get("clinician_metrics")
        mine = m[m["clinician_id"] == clinician_id] if m is not None else None
        limited = mine is not None and "new_clients_limited" in mine and \
            bool(mine["new_clients_limited"].fillna(False).any())
        limits = [lim for lim in limits if lim["figure"] != "new_clients" or limited]
    return [limit_words(lim) for lim in limits]


def coverage_span(run: RunFolder, table: str) -> str:
    """Where a table's data begin and end, in words (``02 Aug 2026 to 31 Oct 2026``), from
    the run facts' ``coverage``; empty when not recorded."""
    c = (run.meta.get("coverage") or {}).get(table) or {}
    if not c.get("first"):
        return ""
    return f"{date_words(c['first'])} to {date_words(c['last'])}"


# For each development table: the input table it rests on, what a section says when the
# practice did not provide that input, and what it says when nothing applies to its readers.
WHY_NONE = {
    "goals": ("goals", "No goals were provided in this export.", "No goals recorded."),
    "reviews": ("reviews", "No competency reviews were provided in this export, so whether one "
                "is due is not known.", "No competency reviews apply here (structured reviews "
                "are for licensed clinicians; supervision covers pre-licensed ones)."),
    "ce": ("ce", "No continuing-education records were provided in this export, so hours toward "
           "renewal are not known.", "No continuing-education records."),
    "support": ("supervision", "No supervision records were provided, so peer consultation and "
                "mentoring are not known.", "No peer consultation or mentoring applies here."),
    "supervision_periods": ("supervision", "No supervision records were provided, so weekly or "
                            "monthly supervision cannot be shown.", "No weekly or monthly "
                            "supervision requirement applies here."),
}


def rows_or_reason(run: RunFolder, table: str, ids: list[str], *, quiet: bool = False
                   ) -> pd.DataFrame | Text:
    """The rows of ``table`` for the clinicians ``ids``, or the sentence (:data:`WHY_NONE`)
    that says why there are none: the input was not provided, or nothing applies here. With
    ``quiet`` (a clinician's own view) nothing that does not apply is said at all: an empty
    text, and the report leaves the section out."""
    source, not_provided, none = WHY_NONE[table]
    if not run.provided(source):
        return Text(not_provided)
    t = rows_for(run, table, ids)
    return Text("" if quiet else none) if t.empty else t


def ramp_by_hire(run: RunFolder) -> pd.DataFrame:
    """``ramp_summary.csv`` (:func:`perfkit.workforce.ramp_summary`): one row per new hire,
    in the order of ``ramp.csv``: the status, the weeks the status rests on, whether the hire
    is compared with earlier hires (``compared``, a yes/no), the hire's and the earlier hires'
    mean utilization over those weeks. The ramp figure and its words both read this, so they
    give the same numbers. Empty (with those columns) when no one started."""
    r = run.tables.get("ramp_summary")
    if r is None:
        return pd.DataFrame(columns=["clinician_id", "ramp", "weeks", "compared",
                                     "utilization", "practice_utilization", "hires_compared"])
    return r


def few_peers(run: RunFolder, n: int | None = None) -> bool:
    """Whether a comparison a clinician can read rests on fewer than ``privacy.min_peers``
    clinicians (``n``: the clinicians in it, the reader counted when they are among them;
    by default the clinicians employed in the period, ``clinician_metrics``). With N
    clinicians, a statistic over N values lets a reader take out their own: a median or
    quartiles of 2 to 4 values are colleagues' own figures, a practice total less one's own
    is the colleague's. Below it a self-view (and the supervision pack, for clinicians who are
    not the supervisor's own) shows none of it."""
    if n is None:
        n = clinician_count(run)
    return int(n) < run.config.privacy.min_peers


def clinician_count(run: RunFolder) -> int:
    """The clinicians of the period (rows of ``clinician_metrics``; 0 without the table)."""
    m = run.tables.get("clinician_metrics")
    return len(m) if m is not None else 0


def few_peers_words(run: RunFolder) -> str:
    """The one sentence that says why a self-view of a small practice shows no colleagues'
    figures (a practice of one clinician has no colleagues to protect: it says so)."""
    if clinician_count(run) <= 1:
        return "You are the practice's only clinician this period: there is no one to compare with."
    return (f"With fewer than {run.config.privacy.min_peers} clinicians, colleagues' figures "
            "are not shown: they could be worked out.")


def hires_compared(run: RunFolder, clinician_id: str) -> int:
    """The earlier hires a new hire's ramp is compared with (``ramp_summary.csv``'s
    ``hires_compared``: the fewest over the weeks compared; 0 with none)."""
    r = ramp_by_hire(run)
    h = r[r["clinician_id"] == clinician_id]
    return int(h["hires_compared"].iloc[0]) if len(h) else 0


def ramping_starts(run: RunFolder) -> dict[str, pd.Timestamp]:
    """The new hires ``ramp_summary.csv`` marks ``ramping`` (still in their first
    ``ramp.weeks`` weeks when the period begins: :func:`perfkit.workforce.ramp_summary`), with
    their start (``ramp.csv``): the one definition of "new hire" every page uses (the
    check-in list's context, the pack, the self-view and its figures)."""
    s, r = run.tables.get("ramp_summary"), run.tables.get("ramp")
    if s is None or r is None or s.empty or r.empty or "ramping" not in s:
        return {}
    start = r.drop_duplicates("clinician_id").set_index("clinician_id")["start_date"]
    return {cid: pd.Timestamp(start[cid]) for cid, yes in zip(s["clinician_id"], s["ramping"],
                                                              strict=True)
            if pd.notna(yes) and bool(yes) and cid in start.index}


ITEM9_NO_FOLLOWUP = ("This export has no follow-up column, so perfkit cannot see whether a "
                     "follow-up was recorded: check the EHR.")

_ITEM9_FROM = {"appointment": "appointment", "administered_at": "time of the questionnaire",
               "date only": "no time in the export"}
_FOLLOWUP_WORDS = {"yes": "Yes", "no": "No", "unclear": "Unclear in the export: check the EHR"}


def item9_rows(t: pd.DataFrame, name_of=None) -> tuple[pd.DataFrame, bool]:
    """PHQ-9 item 9 answers above zero (``item9_flags`` rows) as a report shows them: one row
    per administration, those calling for escalation first, then by date and time, oldest
    first within each group. Each row gives the session (the local date and time of the
    client's appointment that day, else the questionnaire's own time, else the date alone,
    said in words), the pseudonymous client, the answer in words, whether it calls for
    escalation and, when the export has a follow-up column, whether one was recorded. With
    ``name_of`` (the supervision pack) a "Clinician" column comes first.

    Returns the rows and whether the export shows follow-up (when not, the column is left out
    and the report says once, :data:`ITEM9_NO_FOLLOWUP`, that it cannot be seen)."""
    t = t.copy()
    if "session_start" not in t:  # a run written before the session's time was kept
        t["session_start"], t["session_start_from"] = t["date"].astype(str), "date only"
    t["_escalate"] = t["escalate"]
    t["_when"] = t["session_start"].astype(str)
    t = t.sort_values(["_escalate", "_when"], ascending=[False, True], kind="stable")
    followup = "followup" in t and t["followup"].notna().any()

    def session(r) -> str:
        when = pd.Timestamp(r["session_start"])
        has_time = r["session_start_from"] in ("appointment", "administered_at")
        day = f"{when:%d %b %Y, %H:%M}" if has_time else f"{when:%d %b %Y}"
        source = r["session_start_from"]
        if source == "appointment":  # the usual case: the appointment's own start
            return day
        return f"{day} ({_ITEM9_FROM.get(source, 'no time in the export')})"

    out = pd.DataFrame({
        "Session": [session(r) for _, r in t.iterrows()],
        "Client": t["client_id"].to_numpy(),
        "Answer": t["response_words"].astype(str).str.capitalize().to_numpy(),
        "Escalate": np.where(t["_escalate"], "Yes", "No"),
    })
    if followup:
        out["Follow-up recorded"] = [_FOLLOWUP_WORDS.get(v, "Not known: check the EHR")
                                     for v in t["followup"]]
    if name_of is not None:
        out.insert(0, "Clinician", [name_of(c) for c in t["clinician_id"]])
    return out.reset_index(drop=True), bool(followup)


ITEM9_NOT_IN_EXPORT = ("This export gives no PHQ-9 item 9 answers (totals only), so perfkit "
                       "cannot show them: check the EHR.")


def item9_section(run: RunFolder, ids: list[str], nobody: str, name_of=None):
    """The item 9 table of the clinicians ``ids`` (the self-view's and the supervision
    pack's): their rows of ``item9_flags`` as :func:`item9_rows` shows them (``name_of``: a
    Clinician column), with :func:`item9_caption` above; ``nobody`` when none answered above
    zero, or why the export cannot tell."""
    i9 = rows_for(run, "item9_flags", ids)
    if i9.empty:
        return Text(nobody if item9_in_export(run, ids) else ITEM9_NOT_IN_EXPORT)
    rows, followup = item9_rows(i9, name_of)
    return table(rows, item9_caption(run, followup), caption_above=True)


def item9_in_export(run: RunFolder, ids: list[str]) -> bool:
    """Whether the export gives item 9 answers on any PHQ-9 of these clinicians (an export of
    totals only does not: then "no answer above zero" would be a claim perfkit cannot make),
    from ``item9_coverage.csv``."""
    c = rows_for(run, "item9_coverage", ids)
    return bool(len(c)) and bool(c["item9_in_export"].any())


def item9_caption(run: RunFolder, followup: bool) -> str:
    """The caption under an item 9 table: what the answer means, when it calls for
    escalation (``outcomes.item9_escalate_at``), and, when the export does not show
    follow-up, that perfkit cannot see it (said once, here)."""
    level = run.config.outcomes.item9_escalate_at
    words = ("Item 9 asks about thoughts of being better off dead or of hurting oneself; the "
             "answer is how often, in the client's words. Escalate is Yes when the answer is "
             f"{ITEM9_WORDS[level]} or more often. The session is the client's appointment "
             "that day, else the time the questionnaire was filled in.")
    return words if followup else f"{words} {ITEM9_NO_FOLLOWUP}"


def clients_by_clinician(t: pd.DataFrame) -> pd.Series:
    """Distinct clients per clinician of a table with a row per client and something else
    (``not_on_track`` has a row per client and measure; ``item9_flags`` one per score): every
    "n clients" a report writes is counted here, never as rows. Clinicians with none are not
    listed."""
    if t.empty:
        return pd.Series(dtype="int64")
    return t.groupby("clinician_id")["client_id"].nunique()


def rows_for(run: RunFolder, table: str, ids: list[str]) -> pd.DataFrame:
    t = run.tables.get(table)
    if t is None:
        return pd.DataFrame()
    return t[t["clinician_id"].isin(ids)]
