"""Values read from text: numbers, vocabulary labels, dates and date-times (ISO 8601, US and
day-first forms, Excel serials, month-only dates), and instants in UTC."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

from .. import contract as C
from .columns import ColumnMap
from .errors import IngestError

# A UTC offset ends a value only after a time of day: "2026-03-02" ends in "-02" and
# "03-02-2026" in "-2026", and neither is an offset (read as one, a date from a workbook or a
# US form became UTC midnight, the evening before in the practice's time zone).
_OFFSET_RE = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"
# A whole ISO 8601 date, or a date-time whose date part is taken: nothing may follow it
# ("2022-07-15 and some text" is not a date).
_DATE_RE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                      r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?\s*$")


# Date forms other than ISO 8601 that EHR exports print, tried when a column's values are not
# ISO: month first (US), and the day-first twin of each numeric one, so that a column whose
# day and month cannot be told apart is refused rather than guessed.
_US_FORMATS = ["%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M",
               "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M",
               "%m/%d/%y", "%m-%d-%Y", "%b %d, %Y %I:%M %p", "%b %d, %Y", "%B %d, %Y %I:%M %p",
               "%B %d, %Y"]
_DAY_FIRST = {f: f.replace("%m/%d", "%d/%m").replace("%m-%d", "%d-%m")
              for f in _US_FORMATS if "%m" in f}
_ISO_START = re.compile(r"^\d{4}-\d{2}-\d{2}")
# an ISO 8601 date, or date and time to the minute at least, with an offset or none
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
                           r"(?:\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?))?)?$")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # a date with no time of day
_SERIAL = re.compile(r"^\d{4,5}(\.\d+)?$")


def _excel_days(text: pd.Series) -> pd.Series:
    """Excel day numbers (the 1900 date system, day 0 = 1899-12-30) as ISO text: a whole day
    number is a date with no time of day, and is written as one; empty where not a number."""
    stamps = pd.to_datetime(pd.to_numeric(text, errors="coerce"), unit="D",
                            origin="1899-12-30").dt.round("s")
    return stamps.map(lambda t: "" if pd.isna(t) else t.isoformat()
                      if t != t.normalize() else t.strftime("%Y-%m-%d"))


def _day_order(fmt: str | None) -> str | None:
    """Whether a date format puts the month first ("m") or the day first ("d"); None when it
    has no numeric month (ISO 8601, "Oct 5, 2026")."""
    if not fmt or "%m" not in fmt or "%d" not in fmt:
        return None
    return "m" if fmt.index("%m") < fmt.index("%d") else "d"


def _detect_format(text: pd.Series, file: str, column: str,
                   fallback: str | None = None) -> tuple[pd.Series, str | None]:
    """The format of a date column whose export names none: ISO 8601 (None), Excel serial
    day numbers (turned into ISO text here), or the one US form that reads most of the values
    that are not ISO (ISO values are read whatever the format: a workbook column of date
    cells with a few dates typed as text holds both).

    Raises IngestError when the values read as well month-first as day-first (every day and
    month at most 12): a guess would silently swap them. In a column that is mostly ISO, such
    values are rejected one by one instead. ``fallback``: the format of another column of
    the same table (the start's): such a column takes its order of day and month instead (a
    cancellation time is written as the start is)."""
    present = text[text != ""]
    if present.empty:
        return text, None
    iso = present.str.match(_ISO_START).to_numpy(dtype=bool, na_value=False)
    if iso.all():
        return text, None
    # ISO values are always read; the others (all of them, or a few dates typed as text in a
    # workbook column of date cells) tell the column's other form
    mostly_iso = iso.mean() >= 0.5
    other = pd.Series(pd.unique(present[~iso].to_numpy(dtype=object))[:2000], dtype=object)
    if other.str.match(_SERIAL).all():
        days = pd.to_numeric(other)
        if days.between(20000, 80000).all():  # 1954 to 2119
            serial = text.str.match(_SERIAL) & (text != "")
            return text.where(~serial, _excel_days(text.where(serial))), None
    counts = {f: int(pd.to_datetime(other, format=f, errors="coerce").notna().sum())
              for f in [*_US_FORMATS, *_DAY_FIRST.values()]}
    best = max(counts.values())
    if best == 0:
        return text, None  # nothing reads: every value is rejected as unparseable
    month_first = [f for f in _US_FORMATS if counts[f] == best]
    day_first = [f for f in _DAY_FIRST.values() if counts[f] == best]
    if month_first and day_first and mostly_iso:
        return text, None  # a few stray values that read either way: rejected, not guessed
    order = _day_order(fallback)
    if month_first and day_first and order is not None:
        return text, (month_first if order == "m" else day_first)[0]
    if month_first and day_first:
        example = next(v for v in other if pd.notna(pd.to_datetime(
            v, format=month_first[0], errors="coerce")))
        raise IngestError(f"{file}: the dates in column {column!r} read as well month first "
                          f"as day first (such as {example!r}); name the format in the column "
                          "map (formats)")
    return text, (month_first or day_first)[0]


def _column_format(text: pd.Series, cmap: ColumnMap, table: str, col: C.Column,
                   file: str | None, fallback: str | None = None
                   ) -> tuple[pd.Series, str | None]:
    """A date column's format: the column map's, else detected from the values (Excel day
    numbers come back as ISO text); ``fallback`` (the start's format) settles the order of
    day and month where the values read either way."""
    fmt = cmap.format_for(table, col.name, col.kind)
    if fmt is not None:
        return text, fmt
    return _detect_format(text, file or table, col.name, fallback)


def _parse_date(text: pd.Series, fmt: str | None) -> tuple[pd.Series, np.ndarray]:
    empty = (text == "").to_numpy()
    head = text.str.extract(_DATE_RE, expand=False)
    parsed = pd.to_datetime(head, format="%Y-%m-%d", errors="coerce")
    if fmt:  # the export's own format; ISO 8601 dates are unambiguous and always accepted
        custom = pd.to_datetime(text.where(~empty), format=fmt, errors="coerce")
        parsed = custom.where(custom.notna(), parsed)
    parsed = parsed.dt.normalize().astype("datetime64[us]")
    bad = ~empty & parsed.isna().to_numpy()
    return parsed, bad


# a roster date known only to the month: 2023-02, 2023/02, 02/2023, Feb 2023, February 2023
_MONTH_ONLY = re.compile(r"^\s*(?:(?P<y1>\d{4})[-/](?P<m1>\d{1,2})|(?P<m2>\d{1,2})/(?P<y2>\d{4})"
                         r"|(?P<name>[A-Za-z]{3,9})\.?[\s,-]+(?P<y3>\d{4}))\s*$")
_MONTH_NAMES = {n.lower(): i for i in range(1, 13) for n in (
    dt.date(2000, i, 1).strftime("%B"), dt.date(2000, i, 1).strftime("%b"))} | {"sept": 9}


def _month_only(text: pd.Series, last_day: bool = False) -> tuple[pd.Series, np.ndarray]:
    """Dates known only to the month, as ISO text of the month's first day (its last with
    ``last_day``: an end date), and which values were such. Other values are left as they
    are; a month that does not exist (2023-13, Febuary 2023) stays and is rejected as
    unparseable."""
    parts = text.str.extract(_MONTH_ONLY)
    year = parts["y1"].fillna(parts["y2"]).fillna(parts["y3"])
    month = pd.to_numeric(parts["m1"].fillna(parts["m2"]), errors="coerce")
    month = month.fillna(parts["name"].str.lower().map(_MONTH_NAMES))
    ok = (year.notna() & month.between(1, 12)).to_numpy(dtype=bool, na_value=False)
    if not ok.any():
        return text, ok
    first = pd.to_datetime(year[ok] + "-" + month[ok].astype(int).astype(str) + "-01",
                           format="%Y-%m-%d")
    day = first + pd.offsets.MonthEnd(0) if last_day else first
    return text.where(~ok, day.dt.strftime("%Y-%m-%d").reindex(text.index)), ok


def _parse_datetime(text: pd.Series, tz: str, fmt: str | None):
    """Parse to the practice time zone.

    Times with an offset are converted; times without one are local practice time. A local
    time skipped by a daylight-saving change is reported (nonexistent); one that occurs twice
    (the repeated hour in autumn) takes its first occurrence and is counted as an adjustment.
    """
    n = len(text)
    empty = (text == "").to_numpy()
    has_offset = text.str.contains(_OFFSET_RE, regex=True).to_numpy() & ~empty
    # pandas' ISO 8601 reads "2026-10-27T23" as 23:00 and "20261027" as a date: a value is
    # read as ISO 8601 only when it is one in full (a time of day has hours and minutes)
    iso = text.where(text.str.match(_ISO_DATETIME).to_numpy(dtype=bool, na_value=False))
    out = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[us, {tz}]")
    if has_offset.any():
        aware = pd.to_datetime(iso[has_offset], utc=True, format="ISO8601", errors="coerce")
        out[has_offset] = aware.dt.tz_convert(tz).astype(out.dtype)
    naive_mask = ~has_offset & ~empty
    nonexistent = np.zeros(n, dtype=bool)
    ambiguous = np.zeros(n, dtype=bool)
    if naive_mask.any():
        naive = pd.to_datetime(iso[naive_mask], format="ISO8601", errors="coerce")
        if fmt:  # the export's own format; ISO 8601 stays accepted (it is unambiguous)
            custom = pd.to_datetime(text[naive_mask], format=fmt, errors="coerce")
            naive = custom.where(custom.notna(), naive)
        if getattr(naive.dt, "tz", None) is not None:  # a custom format with %z
            local = naive.dt.tz_convert(tz)
            strict = local
        else:
            first = np.ones(len(naive), dtype=bool)
            local = naive.dt.tz_localize(tz, ambiguous=first, nonexistent="NaT")
            strict = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            nonexistent[naive_mask] = (naive.notna() & local.isna()).to_numpy()
            ambiguous[naive_mask] = (local.notna() & strict.isna()).to_numpy()
        out[naive_mask] = local.astype(out.dtype)
    bad = ~empty & out.isna().to_numpy() & ~nonexistent
    if fmt is not None and not re.search(r"%[HIMXcT]", fmt):
        date_only = ~empty & ~has_offset  # the export's own format has no time of day
    else:
        date_only = text.str.match(_ISO_DAY).to_numpy(dtype=bool, na_value=False)
    return out, bad, nonexistent, ambiguous, date_only & ~bad


def _parse_number(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    empty = (text == "").to_numpy()
    try:  # fast path: Arrow's cast, when every non-empty value is a number
        arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), mask=empty)
        values = pa_compute.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).copy()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # some value is not a number: find which
        values = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float,
                                                                             copy=True)
    bad = ~empty & ~np.isfinite(values)
    values[bad] = np.nan
    return values, bad


def _map_unique(text: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct value (labels repeat across hundreds of thousands of
    rows)."""
    uniques = pd.unique(text)
    return text.map(dict(zip(uniques, (func(u) for u in uniques), strict=True)))


def _map_enum(text: pd.Series, vocab: dict[str, str], extra: dict[str, str],
              instrument: bool) -> pd.Series:
    """Labels read through a vocabulary and the column map's own labels (``extra``, which win):
    case and spacing ignored, else punctuation too (``C.label_lookup``: "No Show (Charged)")."""
    if instrument:
        own = C.label_lookup(extra)

        def lookup(label: str):
            return vocab.get(re.sub(r"[^A-Z0-9]", "", label.upper())) or own(label)
    else:
        lookup = C.label_lookup({**vocab, **extra})
    return _map_unique(text, lookup)


def _isin(values: pd.Series, ids: pd.Index) -> np.ndarray:
    """Hash-based membership (pandas' Arrow string ``isin`` builds a Python list per call)."""
    return pd.Index(values.to_numpy(dtype=object), dtype=object).isin(ids)


def _utc_naive(times: pd.Series) -> np.ndarray:
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
