"""``perfkit init``: a starter roster and parameters file for a folder of EHR exports.

A practice downloads its reports into a folder; ``init`` reads the appointment report through
the chosen import profile and writes, next to it:

- ``clinicians.csv``: every clinician name found, with a stable generated id and the columns the
  practice must fill in (license status, start date, weekly capacity, supervisor, ...). An
  existing roster is never overwritten.
- ``practice.yaml``: the practice name to set, the time zone, the profile and the period the
  export covers (whole months). An existing file is never overwritten.

Names found here are clinicians' names from the export, never clients'.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import contract as C
from .config import Config
from .ingest import (
    IngestError,
    _detect_format,
    _export_instant,
    _find_file,
    _name_key,
    _norm_header,
    _parse_datetime,
    _read,
    load_column_map,
)

__all__ = ["Starter", "write_starter"]

ROSTER_COLUMNS = C.TABLES["clinicians"].column_names


@dataclass
class Starter:
    clinicians: int
    roster: Path
    roster_written: bool
    parameters: Path
    parameters_written: bool
    period: tuple[str, str] | None


def _stable_id(name: str) -> str:
    """An id for a clinician known only by name: the same name (case, spacing and "Last,
    First" aside) gives the same id in every run."""
    return "clin-" + hashlib.sha256(_name_key(name).encode("utf-8")).hexdigest()[:8]


def write_starter(folder: str | Path, config: Config) -> Starter:
    """Read the export in ``folder`` through ``config.source`` and write the starters."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"export folder {folder} does not exist")
    cmap = load_column_map(config.column_map, config.source)
    path = _find_file(folder, "appointments", cmap)
    if path is None:
        raise IngestError(f"{folder} holds no appointment report (appointments.csv, or the "
                          f"report the {config.source} profile reads)")
    frame, _ = _read(path, cmap.sheets.get("appointments"))
    rename = cmap.columns.get("appointments", {})
    headers = [rename.get(_norm_header(h), _norm_header(h)) for h in frame.columns]
    if "clinician_id" not in headers:
        raise IngestError(f"{path.name}: no clinician column found (the profile reads "
                          f"{', '.join(k for k, v in rename.items() if v == 'clinician_id')})")
    rule = cmap.rows.get("appointments")
    keep = pd.Series(True, index=frame.index)
    if rule and rule["column"] in [_norm_header(h) for h in frame.columns]:
        kind = frame.iloc[:, [_norm_header(h) for h in frame.columns].index(rule["column"])]
        keep = kind.map(lambda v: C.normalize_label(v) in rule["keep"])
    who = frame.iloc[:, headers.index("clinician_id")][keep]
    who = who[(who != "") & ~who.str.match(r"(?i)^(grand\s+|sub-?\s*)?totals?\b")]
    found = who.drop_duplicates()
    found = found[~found.map(_name_key).duplicated()]
    roster = folder / "clinicians.csv"
    written = False
    if not roster.exists():
        starter = pd.DataFrame({c: "" for c in ROSTER_COLUMNS}, index=range(len(found)))
        starter["clinician_id"] = [_stable_id(n) for n in found]
        starter["name"] = found.to_list()
        starter.sort_values("name").to_csv(roster, index=False)
        written = True
    period = None
    if "start" in headers:
        held = keep
        if "status" in headers:  # the period the export covers: sessions held, not bookings
            labels = {**C.STATUS_SYNONYMS, **cmap.values.get("appointments", {}).get(
                "status", {})}
            status = frame.iloc[:, headers.index("status")].map(
                lambda v: labels.get(C.normalize_label(v)))
            held = keep & (status == "attended")
        text = frame.iloc[:, headers.index("start")][held]
        text, fmt = _detect_format(text.astype(str), path.name, "start")
        values = _parse_datetime(text, config.timezone, fmt)[0].dropna()
        if cmap.scheduled_after_export:  # a "Show" after the export is still booked
            now = pd.Timestamp.now(tz=config.timezone)
            if config.exported_at is not None or cmap.exported_at is not None:
                now = _export_instant(cmap, config)[0]
            values = values[values <= now]
        if len(values):
            first = values.min().tz_localize(None).to_period("M").start_time
            last = (values.max().tz_localize(None).to_period("M") + 1).start_time
            period = (f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
    params = folder / "practice.yaml"
    params_written = False
    if not params.exists():
        start, end = period or (config.period_start.isoformat(), config.period_end.isoformat())
        exported = pd.Timestamp(config.exported_at) if config.exported_at is not None \
            else pd.Timestamp.now(tz=config.timezone)
        params.write_text(
            "# perfkit parameters written by 'perfkit init': check every line.\n"
            "# All settings and their defaults: parameters/practice.yaml in perfkit.\n"
            "practice_name: My Practice              # shown in report titles\n"
            f"timezone: {config.timezone}        # your practice's IANA time zone\n"
            f"source: {config.source}                  # the export's import profile\n"
            f"period_start: {start}                # the export covers {start} to {end}\n"
            f"period_end: {end}                  # day after the period\n"
            f"exported_at: {exported:%Y-%m-%d %H:%M}"
            "                # when you downloaded the reports (note statuses "
            "describe that moment): change it if that was not now\n",
            encoding="utf-8")
        params_written = True
    return Starter(len(found), roster, written, params, params_written, period)
