"""Where each table's data begin and end, and which figures a short history limits.

Practices often export only a few months. A figure that looks back before the period (who is
new, a trend's weeks, a licensure ledger's hours since the supervisee started) then rests on
less history than it needs; perfkit says so instead of reading the weeks before the export as
weeks without work.

- :func:`table_coverage`: per dated table, the first and last date of its accepted rows;
- :func:`history_limits`: the practice-level limits a short export sets, each with one plain
  sentence (``data_quality.json`` ``coverage.limits``; the run facts ``history_limits``);
- :func:`new_clients_limited` (per clinician) and :func:`ledger_records_begin` (the licensure
  ledger) apply the same rules to one clinician.

Rules (parameters ``coverage``; docs/data_contract.md, "History coverage"):

- **new clients, retention, early dropout**: a client is new when their first attended session
  with the clinician *ever* is in the period, so a client last seen before the export began
  and back in the period looks new. The README asks for the period plus at least
  ``coverage.new_client_months`` (12) months before it; the figure is limited when the
  appointments begin later than that (or than the clinician's start date, whichever is
  later: no client saw a clinician before they started) by more than ``grace_days`` (14);
- **trends**: a trend word needs ``trends.min_weeks`` (12) weekly points (from
  ``trends.short_min_weeks`` (6), a clear change only); the weekly series
  begins at the first whole week of the appointments, so fewer weeks of data give "not enough
  data", never weeks of zero;
- **the period's end**: appointments ending more than ``grace_days`` before period_end leave
  the period's last days out of every figure;
- **notes**: notes beginning more than ``grace_days`` after both the appointments and the period
  start leave earlier sessions without a note (they would count as unsigned);
- **licensure ledger**: hours count from the records; a pre-licensed clinician who started
  more than ``grace_days`` before the ledger's records begin (the later of the appointments' and
  the supervision log's first date), with no ``supervision.carried_in`` entry, has an
  incomplete ledger: hours "at least", no projection, status ``incomplete history``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from .config import Config
from .contract import NEW_CLIENT_FIGURES

__all__ = ["DATED_COLUMNS", "table_coverage", "history_limits", "coverage_facts",
           "coverage_of", "first_date", "new_clients_limited", "ledger_records_begin",
           "ledger_gap", "whole_weeks", "NEW_CLIENT_FIGURES"]

# the date each dated table is covered by (time_off by its first start and last end)
DATED_COLUMNS = {"appointments": "start", "notes": "signed_at", "assessments": "administered_at",
                 "supervision": "date", "time_off": "start_date", "goals": "set_on",
                 "reviews": "review_date", "ce": "completed_on"}
# NEW_CLIENT_FIGURES (the figures a short export limits) is perfkit.contract's


def _local_dates(values: pd.Series) -> pd.Series:
    """Calendar dates (local: a time-zone-aware column is already in the practice zone)."""
    v = pd.to_datetime(values.dropna())
    if isinstance(v.dtype, pd.DatetimeTZDtype):
        v = v.dt.tz_localize(None)
    return v.dt.normalize()


def table_coverage(tables: dict[str, pd.DataFrame], present=None) -> dict[str, dict]:
    """First and last date of the accepted rows of each dated table.

    Parameters
    ----------
    tables : dict of DataFrame
        The accepted, typed tables (ingest's or a prepared snapshot's).
    present : iterable of str, optional
        The tables the practice provided; an optional table not provided gets no entry
        (unknown, not empty). Default: every table in ``tables``.

    Returns
    -------
    dict
        ``{table: {"column", "first", "last", "rows", "days"}}`` with ISO dates (``None`` when
        no row has a date). ``rows`` counts the rows with a date. Notes without signing times
        (an export of note statuses) are dated by their sessions' start (``column``
        ``session start``).
    """
    present = set(tables) if present is None else set(present)
    out = {}
    for name, column in DATED_COLUMNS.items():
        if name not in present or name not in tables:
            continue
        t = tables[name]
        values, col = (t[column] if column in t else pd.Series(dtype="datetime64[ns]")), column
        if name == "notes" and values.notna().sum() == 0 and "appointments" in tables:
            a = tables["appointments"]
            values = t[["appointment_id"]].merge(a[["appointment_id", "start"]],
                                                 on="appointment_id", how="inner")["start"]
            col = "session start"
        days = _local_dates(values)
        if name == "time_off" and "end_date" in t:
            ends = _local_dates(t["end_date"])
            last = ends.max() if len(ends) else pd.NaT
        else:
            last = days.max() if len(days) else pd.NaT
        first = days.min() if len(days) else pd.NaT
        out[name] = {"column": col,
                     "first": None if pd.isna(first) else first.date().isoformat(),
                     "last": None if pd.isna(last) else last.date().isoformat(),
                     "rows": int(len(days)),
                     "days": None if pd.isna(first) or pd.isna(last)
                     else int((last - first).days) + 1}
    return out


def first_date(coverage: dict, table: str) -> dt.date | None:
    """The first date of ``table`` in a coverage dict (``None``: not provided or undated)."""
    first = (coverage.get(table) or {}).get("first")
    return dt.date.fromisoformat(first) if first else None


def _last_date(coverage: dict, table: str) -> dt.date | None:
    last = (coverage.get(table) or {}).get("last")
    return dt.date.fromisoformat(last) if last else None


def _needed_from(config: Config, started: dt.date | None) -> dt.date:
    """The first day of appointments new clients need: ``new_client_months`` before the
    period, or the clinician's start when later."""
    need = (pd.Timestamp(config.period_start)
            - pd.DateOffset(months=config.coverage.new_client_months)).date()
    return max(need, started) if started is not None else need


def _later(first: dt.date | None, need: dt.date, config: Config) -> bool:
    return first is not None and (first - need).days > config.coverage.grace_days


def whole_weeks(config: Config, first: dt.date | None) -> int:
    """Whole weeks (Monday to Sunday) from the first Monday on or after ``first`` to the last
    week that ends by as_of, at most ``trends.weeks``: the weeks a weekly series can have
    (:func:`perfkit.operations.week_edges`)."""
    if first is None:
        return 0
    as_of = config.as_of
    last = as_of - dt.timedelta(days=as_of.weekday())
    monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
    return max(0, min((last - monday).days // 7, config.trends.weeks))


def _employed(clinicians: pd.DataFrame, config: Config) -> pd.DataFrame:
    if clinicians is None or clinicians.empty:
        return pd.DataFrame(columns=["clinician_id", "start_date", "end_date"])
    start, end = pd.Timestamp(config.period_start), pd.Timestamp(config.period_end)
    c = clinicians
    return c[(c["start_date"] < end) & (c["end_date"].isna() | (c["end_date"] >= start))]


def _start(value) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def ledger_records_begin(coverage: dict) -> dt.date | None:
    """The day from which the licensure ledger's records are complete: the later of the
    appointments' and the supervision log's first date (the log only when it has rows)."""
    days = [d for d in (first_date(coverage, "appointments"), first_date(coverage, "supervision"))
            if d is not None]
    return max(days) if days else None


def ledger_gap(started, coverage: dict, config: Config, clinician_id: str) -> bool:
    """Whether a pre-licensed clinician's ledger misses experience: they started more than
    ``grace_days`` before the records begin and no ``supervision.carried_in`` entry covers
    the time before."""
    begin = ledger_records_begin(coverage)
    start = _start(started)
    if begin is None or start is None or str(clinician_id) in config.supervision.carried_in:
        return False
    return (begin - start).days > config.coverage.grace_days


def new_clients_limited(clinicians: pd.DataFrame, coverage: dict, config: Config) -> pd.Series:
    """Per clinician (indexed by ``clinician_id``): whether new clients, retention and early
    dropout rest on less history than they need (the appointments begin more than
    ``grace_days`` after ``new_client_months`` before the period, or after the clinician's
    start when that is later)."""
    first = first_date(coverage, "appointments")
    ids = clinicians["clinician_id"].astype(str).to_numpy()
    return pd.Series([_later(first, _needed_from(config, _start(s)), config)
                      for s in clinicians["start_date"]], index=pd.Index(ids, name="clinician_id"),
                     dtype=bool, name="new_clients_limited")


def history_limits(tables: dict[str, pd.DataFrame], coverage: dict,
                   config: Config) -> list[dict]:
    """The figures a short export limits, practice-wide: each a code (``figure``) with the
    dates and counts it is said with (:func:`perfkit.report.coverage_words.limit_words` words
    it, naming no clinician). Empty when the export reaches back far enough."""
    limits = []
    cv = config.coverage
    appts_first = first_date(coverage, "appointments")
    period_start = config.period_start
    employed = _employed(tables.get("clinicians"), config)
    starts = [d for d in (_start(s) for s in employed["start_date"]) if d is not None]
    need = _needed_from(config, min(starts) if starts else None)
    if _later(appts_first, need, config):
        limits.append({
            "figure": "new_clients", "figures": NEW_CLIENT_FIGURES, "table": "appointments",
            "begins": appts_first.isoformat(), "needed_from": need.isoformat(),
            "period_starts": period_start.isoformat(),
            "new_client_months": cv.new_client_months})
    weeks = whole_weeks(config, appts_first)
    if appts_first is not None and weeks < config.trends.min_weeks:
        limits.append({
            "figure": "trends", "figures": ["trends"], "table": "appointments",
            "begins": appts_first.isoformat(), "weeks": weeks,
            "needed_weeks": config.trends.min_weeks})
    appts_last = _last_date(coverage, "appointments")
    last_day = config.period_end - dt.timedelta(days=1)
    if appts_last is not None and (last_day - appts_last).days > cv.grace_days:
        gap = (last_day - appts_last).days
        limits.append({
            "figure": "period_end", "figures": ["period"], "table": "appointments",
            "ends": appts_last.isoformat(), "days_before_end": gap})
    notes_first = first_date(coverage, "notes")
    if notes_first is not None and appts_first is not None and \
            (notes_first - max(appts_first, period_start)).days > cv.grace_days:
        limits.append({
            "figure": "notes", "figures": ["documentation"], "table": "notes",
            "begins": notes_first.isoformat()})
    pre = employed[employed["license_status"] == "pre-licensed"] \
        if "license_status" in employed else employed.iloc[:0]
    gaps = [str(c) for c, s in zip(pre["clinician_id"], pre["start_date"], strict=True)
            if ledger_gap(s, coverage, config, str(c))]
    if gaps:
        limits.append({
            "figure": "licensure", "figures": ["licensure"], "table": "supervision",
            "begins": ledger_records_begin(coverage).isoformat(), "clinicians": gaps})
    return limits


def coverage_facts(tables: dict[str, pd.DataFrame], quality_tables: dict,
                   config: Config) -> dict:
    """What ingest records as ``data_quality.json`` ``coverage``: ``tables`` (per dated
    table, :func:`table_coverage`) and ``limits`` (:func:`history_limits`)."""
    present = [n for n, e in quality_tables.items() if e.get("present")]
    cov = table_coverage(tables, present)
    return {"tables": cov, "limits": history_limits(tables, cov, config)}


def coverage_of(data) -> dict:
    """The per-table coverage of a prepared snapshot: the one recorded at ingest, or (a
    snapshot prepared before perfkit recorded it) computed from its tables the same way."""
    recorded = ((getattr(data, "quality", None) or {}).get("coverage") or {}).get("tables")
    if recorded is not None:
        return recorded
    present = [n for n in data.tables if data.provided(n)]
    return table_coverage(data.tables, present)
