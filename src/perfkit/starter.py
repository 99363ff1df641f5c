"""``perfkit init``: a starter roster and parameters file for a folder of EHR exports.

A practice downloads its reports into a folder; ``init`` reads the appointment report through
the chosen import profile and writes, next to it:

- ``clinicians.csv``: every clinician name found, with a stable generated id and the columns the
  practice must fill in (license status, start date, weekly capacity, supervisor, ...). An
  existing roster is never overwritten.
- ``practice.yaml``: the practice name to set, the time zone, the state, the profile, the
  column map read with the export (when one is given), the period the export covers (whole
  months; left commented out, with a note, when no appointment date could be read) and
  ``exported_at``: the ``exported_at`` of the
  parameters or column map when one is set, else the newest export file's modification time
  in the practice time zone (a browser sets it when it saves a download), with a comment to
  change it if that was not when the reports were downloaded. An existing file is never
  overwritten.

Names found here are clinicians' names from the export, never clients'.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract as C
from .config import Config
from .hostile_text import csv_safe
from .ingest import IngestError, load_column_map
from .ingest.load import _load_table
from .ingest.reshape import _name_key
from .period import export_time, held_starts

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
    exported_at: pd.Timestamp | None = None  # the export instant written (None: file kept)
    exported_from: str = ""  # where it came from, in words
    report: str = ""  # the appointment report read
    found_by_headers: bool = False  # no file named for it: taken for its headers


def _stable_id(name: str) -> str:
    """An id for a clinician known only by name: the same name (case, spacing and "Last,
    First" aside) gives the same id in every run."""
    return "clin-" + hashlib.sha256(_name_key(name).encode("utf-8")).hexdigest()[:8]


def write_starter(folder: str | Path, config: Config) -> Starter:
    """Read the export in ``folder`` through ``config.source`` and write the starters.

    The appointment report is read as ``perfkit run`` reads it (``ingest.load._load_table``: the
    profile's file, sheet, headers, defaults and kinds of rows); rows of totals, repeated
    headers and rows of another kind are left out."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(f"export folder {folder} does not exist")
    cmap = load_column_map(config.column_map, config.source)
    spec = C.TABLES["appointments"]
    read: dict = {}
    res = _load_table(folder, spec, cmap, read)
    if res is None:  # appointments are required: _load_table says which file is missing
        raise IngestError(f"{folder} holds no appointment report")
    records = np.ones(len(res.raw), dtype=bool)
    for other in (res.summary_rows, res.repeated_headers, res.excluded):
        if other is not None:
            records &= ~other
    who = res.raw["clinician_id"][records & (res.raw["clinician_id"] != "").to_numpy()]
    found = who.drop_duplicates()
    found = found[~found.map(_name_key).duplicated()]
    roster = folder / "clinicians.csv"
    written = False
    if not roster.exists():
        starter = pd.DataFrame({c: "" for c in ROSTER_COLUMNS}, index=range(len(found)))
        starter["clinician_id"] = [_stable_id(n) for n in found]
        starter["name"] = found.to_list()
        # a name from the export that a spreadsheet would run as a formula is guarded
        csv_safe(starter.sort_values("name")).to_csv(roster, index=False)
        written = True
    # the period the export covers: sessions held, not bookings
    values = held_starts(res, cmap, config)
    exported, exported_from = export_time(folder, cmap, config,
                                          [p for p in read if isinstance(p, Path)])
    if cmap.scheduled_after_export:  # a "Show" after the export is still booked
        values = values[values <= exported]
    period = None
    if len(values):
        first = values.min().tz_localize(None).to_period("M").start_time
        last = (values.max().tz_localize(None).to_period("M") + 1).start_time
        period = (f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}")
    params = folder / "practice.yaml"
    params_written = False
    if not params.exists():
        state = (config.state[0] if len(config.state) == 1 else
                 f"[{', '.join(config.state)}]" if config.state else "null")
        if period is not None:
            start, end = period
            dates = (f"period_start: {start}                # the export covers {start} to "
                     f"{end}\n"
                     f"period_end: {end}                  # day after the period\n")
        else:  # never a period the export was not read to cover
            dates = ("# No attended appointment with a readable date was found in the export "
                     "(perfkit validate\n# says why), so the period it covers is not known: set "
                     "its first day and the day after\n# its last, e.g.\n"
                     "# period_start: 2026-08-01\n# period_end: 2026-11-01\n")
        column_map = "" if config.column_map is None else (
            f"column_map: {_yaml_path(config.column_map, folder)}"
            "   # the export's column map (headers and labels)\n")
        params.write_text(
            "# perfkit parameters written by 'perfkit init': check every line.\n"
            "# All settings and their defaults: parameters/practice.yaml in perfkit.\n"
            "practice_name: My Practice              # shown in report titles\n"
            f"timezone: {config.timezone}        # your practice's IANA time zone\n"
            f"state: {state}                      # your state's two-letter code, e.g. TX: "
            "shipped licensure and CE rules apply only where their state is this one "
            "('perfkit rules' lists them)\n"
            f"source: {config.source}                  # the export's import profile\n"
            + column_map + dates +
            f"exported_at: {exported:%Y-%m-%d %H:%M}                # when you downloaded the "
            f"reports ({config.timezone}; note statuses describe that moment), from "
            f"{exported_from}: change it if that was not when you downloaded them\n",
            encoding="utf-8")
        params_written = True
    return Starter(len(found), roster, written, params, params_written, period,
                   exported if params_written else None, exported_from, res.file,
                   res.found_by_headers)


def _yaml_path(path: Path, folder: Path) -> str:
    """A column map's path as practice.yaml (in ``folder``) should hold it: relative to the
    folder when the map lies inside it (the folder can move), else absolute; quoted as a YAML
    string, so no character of a file name can change the file's meaning."""
    path = Path(path).resolve()
    try:
        text = str(path.relative_to(folder.resolve()))
    except ValueError:
        text = str(path)
    return json.dumps(text)
