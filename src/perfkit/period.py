"""The reporting period a run covers when nobody set one: taken from the data, never the demo's.

``perfkit run`` and ``perfkit validate`` with no period in the parameters and none on the
command line run the **last three whole months of the export's attended sessions**: the period
ends with the month of the last attended session, unless the export was taken before that month
was over (then that month is incomplete, and the period ends with the month before). The export
instant is the one ``perfkit init`` writes: ``exported_at`` of the parameters or the column map,
else the newest export file's modification time. A session marked attended after that instant
was not held yet (a mistyped year, a booking marked "Show") and cannot move the period; when
every one is after it, the instant is not the export's (a copy's time, synthetic data) and is
not used. Three months, because the parameters' period is a quarter. The run says which period
it took and why, in one sentence.

The attended sessions (:func:`held_starts`) and the export instant (:func:`export_time`) are read
here, and ``perfkit init`` (:mod:`perfkit.starter`) reads them from here too.

The built-in :class:`perfkit.config.Config` keeps its period (the bundled demo's, whose data end
where it ends): a :class:`~perfkit.config.Config` built by a script is used as it is.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract as C
from .config import Config, ConfigError
from .ingest import IngestError
from .ingest.columns import _export_instant, export_folder
from .ingest.load import _load_table
from .ingest.parse import _column_format, _map_enum, _parse_datetime
from .ingest.read import _find_file

__all__ = ["DataPeriod", "data_period", "with_data_period", "held_starts", "export_time",
           "MONTHS"]

MONTHS = 3  # a quarter, as the parameters' period


@dataclass(frozen=True)
class DataPeriod:
    """The period taken from the data: ``start`` (first day) and ``end`` (the day after)."""

    start: dt.date
    end: dt.date
    last_session: pd.Timestamp  # the last attended session, in the practice time zone
    exported: pd.Timestamp | None  # the export instant used (None: none known, or not usable)
    exported_from: str = ""
    incomplete_month: bool = False  # the last session's month was not over at the export

    def words(self, what: str = "this run covers") -> str:
        last_day = self.end - dt.timedelta(days=1)
        said = (f"No period was set (period_start and period_end in the parameters, or "
                f"--period-start and --period-end), so {what} "
                f"{self.start:%Y-%m-%d} to {last_day:%Y-%m-%d}: the last {MONTHS} whole months "
                f"of the export's attended sessions (the last on {self.last_session:%Y-%m-%d}")
        if self.incomplete_month:
            said += (f"; its month was not over when the export was taken, "
                     f"{self.exported:%Y-%m-%d %H:%M} from {self.exported_from}, so it is left "
                     "out")
        return said + ")."


def held_starts(res, cmap, config: Config) -> pd.Series:
    """When the sessions an appointment report marks attended started (local time), read as
    ``perfkit run`` reads them, records only (no totals, repeated headers or rows of another
    kind): what ``perfkit init`` and the default period rest on."""
    spec = C.TABLES["appointments"]
    records = np.ones(len(res.raw), dtype=bool)
    for other in (res.summary_rows, res.repeated_headers, res.excluded):
        if other is not None:
            records &= ~np.asarray(other, dtype=bool)
    status = _map_enum(res.raw["status"], C.VOCABULARIES["status"],
                       cmap.values.get("appointments", {}).get("status", {}), False)
    held = records & (status == "attended").to_numpy(dtype=bool, na_value=False)
    text, fmt = _column_format(res.raw["start"][held], cmap, "appointments",
                               spec.column("start"), res.file)
    return _parse_datetime(text, config.timezone, fmt)[0].dropna()


def export_time(folder: Path, cmap, config: Config,
                files: list[Path]) -> tuple[pd.Timestamp, str]:
    """When the reports were downloaded, and where that comes from: ``exported_at`` of the
    parameters or the column map when set, else the newest modification time of the export
    files read (and of the notes report, when it is a file of its own), in the practice time
    zone. A copied file carries the time of the copy: the comment in practice.yaml says to
    check it. ``perfkit init`` (:mod:`perfkit.starter`) writes this instant into
    practice.yaml, and the default period reads the same one."""
    if config.exported_at is not None or cmap.exported_at is not None:
        when, source = _export_instant(cmap, config)
        return when, f"the {source}"
    try:  # a notes report of its own (SimplePractice's appointment status report)
        notes = _find_file(folder, "notes", cmap)
    except IngestError:
        notes = None
    paths = [p for p in [*files, notes] if p is not None]
    newest = max(paths, key=lambda p: p.stat().st_mtime)
    when = pd.Timestamp(newest.stat().st_mtime, unit="s", tz="UTC").tz_convert(
        config.timezone).floor("min")
    return when, f"the time {newest.name} was saved"


def data_period(data_dir: str | os.PathLike, config: Config, *,
                column_map: str | os.PathLike | None = None,
                months: int = MONTHS) -> DataPeriod | None:
    """The last ``months`` whole months of the attended sessions in ``data_dir``'s appointment
    report, read as ``perfkit run`` reads it (``config.source``'s profile and the column map;
    rows of totals, repeated headers and other kinds of rows left out). ``None`` when no
    attended session has a readable date.

    Raises ``IngestError`` when the folder or its appointment report is missing or unreadable
    (the sentence ``perfkit run`` would give).
    """
    folder, cmap = export_folder(data_dir, config, column_map)
    spec = C.TABLES["appointments"]
    read: dict = {}
    res = _load_table(folder, spec, cmap, read)
    if res is None or not {"start", "status"} <= set(res.raw.columns):
        return None  # not readable here: ingest says what is wrong with the report
    values = held_starts(res, cmap, config)
    exported, exported_from = export_time(folder, cmap, config,
                                          [p for p in read if isinstance(p, Path)])
    if not len(values):
        return None
    held_before = values[values <= exported]
    if len(held_before):  # a session "held" after the export was not (a mistyped year, or a
        values = held_before  # booking marked "Show"): it cannot move the period
    else:  # every session after it: not the export's instant (a copy's time, synthetic data)
        exported, exported_from = None, ""
    last = values.max()
    month = last.tz_localize(None).to_period("M")
    end = (month + 1).start_time
    incomplete = exported is not None and exported.tz_localize(None) < end
    if incomplete:
        end = month.start_time
    start = end - pd.DateOffset(months=months)
    return DataPeriod(start.date(), end.date(), last, exported, exported_from, incomplete)


def with_data_period(config: Config, data_dir: str | os.PathLike, *,
                     column_map: str | os.PathLike | None = None,
                     required: bool = True) -> tuple[Config, DataPeriod | None]:
    """``config`` unchanged when its period was set; else ``config`` with the period taken
    from the data (:func:`data_period`) and that period, to say. With no attended session to
    take it from: ``ConfigError`` when ``required`` (a run), else ``config`` unchanged and
    ``None`` (validate goes on and says what is wrong with the appointments)."""
    if config.period_given:
        return config, None
    found = data_period(data_dir, config, column_map=column_map)
    if found is None:
        if required:
            raise ConfigError("no period was set (period_start and period_end in the "
                              "parameters, or --period-start and --period-end), and the "
                              "appointments hold no attended session with a readable date to "
                              "take it from: set the period")
        return config, None
    return config.with_period(found.start, found.end), found
