"""What changed since earlier runs: the responsive view of a practice.

A run looks for earlier runs of the same practice: the run folders next to its own (the same
reports folder) whose period ended before this one's, or one named with ``--compare-to``. A run
is of the same practice when the practice name its manifest records is this run's
``practice_name`` or one of its ``previous_practice_names``, compared with case and spacing
folded (:func:`practice_key`). Runs of another practice in the reports folder are left out, and
a warning says so once; ``--compare-to`` another practice's run stops with one sentence. (The
pseudonym key's fingerprint is not the practice's identity: two practices may share a key, and
a practice may start a new key on purpose.) From them it writes

- ``tables/changes.csv``: for each clinician of this run and each flag of
  ``clinician_metrics.csv``, the metric and the flag in the previous run and now, and the change
  (``newly flagged``, ``no longer flagged``, ``still flagged`` or empty);
- ``tables/history.csv``: one row per clinician and run (every earlier run found, then this
  one) with the key metrics, the run's period and folder name, whether it is the run compared
  with, and whether
  its parameters defined the metrics differently (``definitions_changed``: the ``operations``,
  ``workload`` or ``trends`` settings or the time zone differ from this run's).

Earlier runs are read from their tables only; a folder that is not a complete run is skipped.
An earlier run's ``clinician_metrics.csv`` is checked before it is used (:func:`_metrics`): a
table that is damaged or was edited (no ``clinician_id`` column, a clinician listed twice, text
where a number or a flag belongs) leaves that run out of the comparison, with one warning in the
run's log, and never stops the run. Only ids, numbers and flags are taken from an earlier run:
its other columns (any text) are dropped, and the reports name clinicians from this run's
roster only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config, ConfigError
from .contract import NEWLY, NO_LONGER, STILL
from .io import created_day, read_record, read_regular, read_table, written_time
from .registry import FLAGS as REGISTRY_FLAGS

__all__ = ["EarlierRun", "DamagedRun", "Runs", "earlier_runs", "previous_run", "change_table",
           "history_table",
           "FLAGS", "HISTORY_METRICS", "CHANGE_COLUMNS", "previous_period", "practice_key",
           "same_practice", "created_day"]

log = logging.getLogger(__name__)

# Each flag of clinician_metrics.csv with the metric it rests on (the registry's flags, in order).
FLAGS = [(key, flag.metric) for key, flag in REGISTRY_FLAGS.items()]
CHANGE_COLUMNS = ["clinician_id", "metric", "previous", "current", "previous_flag",
                  "current_flag", "change", "flag"]
HISTORY_METRICS = ["sessions_attended", "utilization", "non_attendance_rate", "notes_within_72h",
                   "unsigned_overdue_7d", "active_clients", "caseload"]
DEFINING = ("operations", "workload", "trends", "timezone")
# NEWLY, NO_LONGER, STILL (the words of changes.change) are perfkit.contract's


def practice_key(name) -> str | None:
    """A practice name as runs are matched by it: Unicode-normalised (NFKC), case folded and
    runs of white space made one space, so "Bright Path  Counseling" and "bright path
    counseling" are one practice. None for no name."""
    if not isinstance(name, str) or not name.strip():
        return None
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def same_practice(parameters: dict | None, config: Config) -> bool:
    """Whether a run with these recorded parameters (its manifest's) is of ``config``'s
    practice: its ``practice_name`` is this practice's name or one of its
    ``previous_practice_names`` (:func:`practice_key`). A run that records no name is not."""
    if not isinstance(parameters, dict):
        return False
    own = {practice_key(n) for n in (config.practice_name, *config.previous_practice_names)}
    key = practice_key(parameters.get("practice_name"))
    return key is not None and key in own


@dataclass(frozen=True)
class EarlierRun:
    """An earlier run folder: its period and parameters, and its clinician metrics."""

    folder: Path
    period_start: dt.date
    period_end: dt.date
    parameters: dict
    metrics: pd.DataFrame
    created: str = ""  # when it was written (its manifest's ISO time): the later of two alike

    @property
    def practice_name(self) -> str | None:
        name = self.parameters.get("practice_name")
        return name if isinstance(name, str) and name.strip() else None


class DamagedRun(ValueError):
    """An earlier run folder whose manifest is a run's but whose ``clinician_metrics.csv``
    is damaged or tampered with; the message says what is wrong in words that quote nothing
    from the file."""


def _manifest(folder: Path) -> tuple[dt.date, dt.date, dict, str] | None:
    """A run folder's period, parameters and time written, from its ``manifest.json``; None
    when the folder is not a run (no manifest, or one that does not name a period)."""
    manifest = read_record(folder / "manifest.json")  # never a link, a pipe or a bomb
    try:
        period = manifest["period"]
        parameters = manifest.get("parameters") or {}
        if not isinstance(parameters, dict):
            return None
        return (dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"]),
                parameters, _created(manifest.get("created")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


# An earlier run's clinician_metrics.csv larger than this is no table perfkit wrote.
TABLE_LIMIT = 64 * 2**20


def _metrics(folder: Path) -> pd.DataFrame:
    """An earlier run's ``clinician_metrics.csv``, checked: one row per clinician id (text,
    never empty), every metric of :data:`HISTORY_METRICS` and :data:`FLAGS` a finite number
    or empty, every flag yes, no or empty. Only those columns are kept: an earlier run
    contributes ids and numbers, never text. ``FileNotFoundError``: no table (not a complete
    run); :class:`DamagedRun`: the table is damaged."""
    path = folder / "tables" / "clinician_metrics.csv"
    try:  # a regular file of a table's size (never a link, a pipe or a device), then parsed
        table = read_table(read_regular(path, TABLE_LIMIT))
    except FileNotFoundError:
        raise
    except Exception as exc:  # any reading failure: a damaged file, never a crash
        raise DamagedRun("cannot be read as a table") from exc
    if "clinician_id" not in table:
        raise DamagedRun("has no clinician_id column")
    ids = table["clinician_id"]
    if not ids.map(lambda v: isinstance(v, str) and v.strip() != "").all():
        raise DamagedRun("has a row without a clinician id")
    if ids.duplicated().any():
        raise DamagedRun("lists a clinician more than once")
    out = pd.DataFrame({"clinician_id": ids.astype(object).to_numpy()})
    numbers = dict.fromkeys([*HISTORY_METRICS, *(m for _, m in FLAGS)])
    for col in numbers:
        if col not in table:
            continue
        given = table[col]
        value = pd.to_numeric(given, errors="coerce")
        if (value.isna() & given.notna()).any() or np.isinf(value.astype(float)).any():
            raise DamagedRun(f"holds something other than a number in the column {col}")
        out[col] = value.astype(float).to_numpy()
    for flag, _ in FLAGS:
        if flag in table:
            out[flag] = [_flag(v) for v in table[flag]]  # read as yes/no (or not known)
    return out


def _load(folder: Path) -> EarlierRun | None:
    """A complete run folder, or None (no manifest, no metrics table); raises
    :class:`DamagedRun` when its metrics table is damaged (:func:`_metrics`)."""
    info = _manifest(folder)
    if info is None:
        return None
    try:
        metrics = _metrics(folder)
    except (FileNotFoundError, NotADirectoryError):
        return None
    start, end, parameters, created = info
    return EarlierRun(folder, start, end, parameters, metrics, created)


def _say_damaged(folder: Path, problem: DamagedRun) -> None:
    """One warning (the run's log) for an earlier run left out because it is damaged."""
    log.warning("the earlier run in %s is left out of the comparison: its "
                "tables/clinician_metrics.csv %s (it may have been edited or damaged; run "
                "that period again to restore it)", folder, problem)


def _quoted(name: str | None) -> str:
    return f'"{name.strip()}"' if name else "no practice name recorded"


def _other_practice(compare_to: Path, run: EarlierRun, config: Config) -> str:
    """The sentence for ``--compare-to`` a run of another practice."""
    if run.practice_name is None:
        return (f"--compare-to {compare_to} does not say which practice it is a run of (its "
                "manifest.json records no practice name), and a run compares only with "
                f"earlier runs of its own practice ({_quoted(config.practice_name)})")
    return (f"--compare-to {compare_to} is a run of {_quoted(run.practice_name)}, not of "
            f"{_quoted(config.practice_name)}: a run compares only with earlier runs of its "
            f"own practice (if the practice was called {_quoted(run.practice_name)} before, "
            "add that name to previous_practice_names in the parameters)")


def _say_left_out(others: list[EarlierRun], where: Path, config: Config) -> None:
    """One warning for the earlier runs of another practice in the reports folder."""
    n = len(others)
    shown = ", ".join(r.folder.name for r in others[:5]) + (f" and {n - 5} more" if n > 5
                                                            else "")
    names = "; ".join(sorted({_quoted(r.practice_name) for r in others}))
    log.warning("%s in %s %s of another practice (%s), not of %s, so this run does not compare "
                "with %s (if this practice had that name before, list it under "
                "previous_practice_names in the parameters)", shown, where,
                "is a run" if n == 1 else "are runs", names, _quoted(config.practice_name),
                "it" if n == 1 else "them")


class Runs(list):
    """The earlier runs found (a list of :class:`EarlierRun`), and ``left_out``: how many
    earlier runs of this practice were left out because their tables are damaged."""

    left_out: int = 0


def earlier_runs(final: Path, config: Config, compare_to: Path | None = None
                 ) -> Runs:
    """Runs of this practice (:func:`same_practice`) before this one, oldest first (two of
    one period: the one written last is later): the run folders next to ``final`` (this run's
    folder; hidden folders are staging leftovers) whose period ended before this period's end,
    and ``compare_to``. Earlier runs of another practice next to ``final`` are left out, and
    one warning names them. A run whose ``clinician_metrics.csv`` is damaged (:func:`_metrics`)
    is left out with a warning, and counted in the result's ``left_out``.

    Raises
    ------
    ConfigError
        ``compare_to`` is not a complete run folder, its period does not end before this
        one's, or it is a run of another practice.
    """
    final = Path(final).resolve()
    found: dict[Path, EarlierRun] = {}
    others: list[EarlierRun] = []
    damaged = 0
    if final.parent.is_dir():
        for folder in sorted(final.parent.iterdir()):
            if folder.is_dir() and not folder.name.startswith(".") and folder != final:
                info = _manifest(folder)
                if info is None or info[1] >= config.period_end:
                    continue
                if not same_practice(info[2], config):
                    others.append(EarlierRun(folder, info[0], info[1], info[2],
                                             pd.DataFrame(), info[3]))
                    continue
                try:
                    run = _load(folder)
                except DamagedRun as problem:  # skipped with a sentence, never a crash
                    _say_damaged(folder, problem)
                    damaged += 1
                    continue
                if run is not None:
                    found[folder.resolve()] = run
    if compare_to is not None:
        try:
            run = _load(Path(compare_to))
        except DamagedRun as problem:
            raise ConfigError(f"--compare-to {compare_to} cannot be compared with: its "
                              f"tables/clinician_metrics.csv {problem} (it may have been "
                              "edited or damaged; run that period again to restore it)"
                              ) from None
        if run is None:
            raise ConfigError(f"--compare-to {compare_to} is not a run folder (it needs "
                              "manifest.json and tables/clinician_metrics.csv)")
        if run.period_end >= config.period_end:
            raise ConfigError(f"--compare-to {compare_to} is the period {run.period_start} to "
                              f"{run.period_end}, which does not end before this period "
                              f"does ({config.period_end})")
        if not same_practice(run.parameters, config):
            raise ConfigError(_other_practice(Path(compare_to), run, config))
        found[Path(compare_to).resolve()] = run
    if others:
        _say_left_out(others, final.parent, config)
    runs = Runs(sorted(found.values(),
                       key=lambda r: (r.period_end, r.period_start, r.created, r.folder.name)))
    runs.left_out = damaged
    return runs


def previous_run(runs: list[EarlierRun], compare_to: Path | None = None) -> EarlierRun | None:
    """The run compared with: ``compare_to`` if given, else the latest earlier period."""
    if compare_to is not None:
        target = Path(compare_to).resolve()
        return next(r for r in runs if r.folder.resolve() == target)
    return runs[-1] if runs else None


def _flag(v) -> bool | None:
    """A flag read back from a table: True, False, or None when not known."""
    return None if pd.isna(v) else bool(v)


def change_table(current: pd.DataFrame, previous: EarlierRun | None) -> pd.DataFrame:
    """``tables/changes.csv``: each clinician of ``current`` and each flag (:data:`FLAGS`)
    present now. ``previous`` and ``previous_flag`` are empty for a clinician who was not in
    the previous run, or a flag that run did not have; the change is then empty too."""
    rows = []
    before = previous.metrics.set_index("clinician_id") if previous is not None else None
    for _, r in current.iterrows():
        cid = r["clinician_id"]
        for flag, metric in FLAGS:
            if flag not in current:
                continue
            now = bool(_flag(r[flag]))
            was = None
            prev_value = np.nan
            if before is not None and cid in before.index:
                if flag in before:
                    was = _flag(before.loc[cid, flag])
                if metric in before:
                    prev_value = before.loc[cid, metric]
            change = "" if was is None else NEWLY if now and not was else \
                NO_LONGER if was and not now else STILL if now else ""
            rows.append({"clinician_id": cid, "metric": metric, "previous": prev_value,
                         "current": r.get(metric, np.nan), "previous_flag": was,
                         "current_flag": now, "change": change, "flag": flag})
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def _definitions_changed(parameters: dict, config: Config) -> bool:
    now = json.loads(config.model_dump_json())
    return any(parameters.get(k) != now.get(k) for k in DEFINING if k in parameters)


def _created(created) -> str:
    """A manifest's ``created`` as perfkit writes it (ISO, UTC, to the second), or "" when it
    is not a time: what orders two runs of one period is a time, never an earlier run's text."""
    when = written_time(created)
    return when.isoformat(timespec="seconds") if when else ""


def history_table(current: pd.DataFrame, config: Config, runs: list[EarlierRun],
                  previous: EarlierRun | None, this_run: str = "") -> pd.DataFrame:
    """``tables/history.csv``: the key metrics (:data:`HISTORY_METRICS`) of every earlier run
    found and of this run, one row per clinician and run, oldest first. ``run_id`` is the
    run's folder name (``this_run``: this run's); ``run_created`` the day it was written
    (:func:`created_day`; this run: today), which tells two runs of one period apart in the
    reports (a folder's name never reaches a report)."""
    parts = []
    for run in runs:
        m = run.metrics
        parts.append(pd.DataFrame({
            "period_start": run.period_start, "period_end": run.period_end,
            "run_id": run.folder.resolve().name, "run_created": created_day(run.created),
            "this_run": False,
            "compared_with": run is previous,
            "definitions_changed": _definitions_changed(run.parameters, config),
            "clinician_id": m["clinician_id"].to_numpy(),
            **{k: m[k].to_numpy() if k in m else np.nan for k in HISTORY_METRICS}}))
    parts.append(pd.DataFrame({
        "period_start": config.period_start, "period_end": config.period_end,
        "run_id": this_run, "run_created": dt.datetime.now(dt.UTC).date(), "this_run": True,
        "compared_with": False,
        "definitions_changed": False,
        "clinician_id": current["clinician_id"].to_numpy(),
        **{k: current[k].to_numpy() if k in current else np.nan for k in HISTORY_METRICS}}))
    return pd.concat(parts, ignore_index=True)


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period before ``start`` .. ``end`` (end exclusive), as long: as many whole months
    when both are the first of a month, else as many days."""
    if start.day == end.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month
        first = (pd.Timestamp(start) - pd.DateOffset(months=months)).date()
    else:
        first = start - (end - start)
    return first, start
