"""Times of day: a date column beside a time column, time ranges ("9:00 AM - 9:53 AM"), the
zone a value names, and the counts a report reads of how times were given."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

from ..config import Config
from .bookkeeping import _echo, _TableResult
from .errors import IngestError
from .parse import _ISO_START, _OFFSET_RE, _map_unique, _parse_datetime

# A time of day as exports print it: 9:00 AM, 9:00am, 9:00 a.m., 09:00, 14:30:00, 9 AM (an
# hour alone only with AM or PM: a bare "9" is no time)
_CLOCK = (r"(?P<h{0}>\d{{1,2}})(?:(?::(?P<m{0}>\d{{2}})(?::(?P<s{0}>\d{{2}})(?:[.,]\d+)?)?)"
          r"(?:\s*(?P<ap{0}>[ap])\.?\s*m\.?)?|\s*(?P<bp{0}>[ap])\.?\s*m\.?)")
_TIME_OF_DAY = re.compile(rf"^{_CLOCK.format(1)}$", re.IGNORECASE)
# a range of two, joined by a hyphen, an en or em dash, or "to"
_TIME_RANGE = re.compile(rf"^{_CLOCK.format(1)}\s*(?:[-\u2013\u2014]|to\b)\s*{_CLOCK.format(2)}$",
                         re.IGNORECASE)
# a range's second half at the end of a date-time ("10/1/2026 9:00 AM - 9:53 AM")
_RANGE_TAIL = re.compile(rf"(?<=[\dmM.])(?P<sep>\s*(?:[-\u2013\u2014]|to\b)\s*){_CLOCK.format(2)}$",
                         re.IGNORECASE)
# a value that may hold a range: a time of day, then a separator and a digit
_RANGE_HINT = (r"(?:\d:\d{2}|\d\s*[ap]\.?\s*m\.?)[^-\x{2013}\x{2014}]*"
               r"(?:[-\x{2013}\x{2014}]|to)\s*\d")
# a left half that ends in a time of day (so "10-01-2026" is no range)
_ENDS_IN_TIME = re.compile(r"(?:\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?\s*m\.?)?"
                           r"|\d\s*[ap]\.?\s*m\.?)$", re.IGNORECASE)
# Excel's time cells written as date-times of its day 0 (1899-12-30 or -31, 1900-01-00)
_EXCEL_DAY_ZERO = re.compile(r"^(?:1899-12-3[01]|1900-01-00)[T ](?P<t>\d{1,2}:\d{2}(?::\d{2}"
                             r"(?:[.,]\d+)?)?)$")
# a date inside a value: 10/1/2026, 2026-10-01, 01.10.2026, Oct 1, 1 October
# (bounded repeats: a search of a long cell stays linear)
_HAS_DATE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}|(?:jan|feb|mar|apr|may|jun|jul|aug"
                       r"|sep|oct|nov|dec)[a-z]{0,6}\.?\s{0,3}\d|\d\s{0,3}(?:jan|feb|mar|apr"
                       r"|may|jun|jul|aug|sep|oct|nov|dec)", re.IGNORECASE)
_DAY_FRACTION = re.compile(r"^0?\.\d+$|^0$")
# a time zone written after a time of day ("9:00 AM EST", "9:00 AM (CT)"): the practice's time
# zone governs the reading; a zone that is not the practice's is counted (_other_zone)
_ZONE_TAIL = re.compile(r"\s*(?:\((?P<p>[A-Za-z]{1,5})\)|(?<=[\dmM.\s])(?P<z>[A-Za-z]{1,5}))$")
_ZONES = frozenset(
    "utc gmt z et est edt ct cst cdt mt mst mdt pt pst pdt akt akst akdt ht hst hdt hast hadt "
    "at ast adt nt nst ndt bst ist cet cest eet eest wet west aest aedt acst acdt awst nzst "
    "nzdt".split())


def _clock_seconds(m: re.Match, i: int, meridiem: str | None = None) -> float | None:
    """Seconds after midnight of the ``i``-th time in a match (None when out of range); a time
    without AM or PM takes ``meridiem`` when given."""
    h = int(m[f"h{i}"])
    mi, s = int(m[f"m{i}"] or 0), int(m[f"s{i}"] or 0)
    ap = (m[f"ap{i}"] or m[f"bp{i}"] or meridiem or "").lower()
    if mi > 59 or s > 59:
        return None
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap == "p" else 0)
    elif h > 23:
        return None
    return float(h * 3600 + mi * 60 + s)


def _read_time(value: str) -> tuple[float, float] | None:
    """A time column's value as seconds after midnight of the start and of the end (NaN when
    the value is no range): a time of day as exports print it, an Excel day fraction (0.375
    is 9:00), a time cell written as a date-time of Excel's day 0, or a range ("9:00 AM -
    9:53 AM", "9:00-9:53", "9:00 to 9:53"; "9:00 - 9:53 AM" reads the first as 9:00 AM). A
    date-time's own time of day is taken too ("10/1/2026 9:00 AM"). None when unreadable."""
    v = value.strip()
    if len(v) > 100:  # no time of day, nor a date-time, is that long
        return None
    v = _without_zone(v)
    m = _TIME_OF_DAY.match(v)
    if m:
        t = _clock_seconds(m, 1)
        return None if t is None else (t, np.nan)
    m = _TIME_RANGE.match(v)
    if m:
        end = _clock_seconds(m, 2)
        if end is None:
            return None
        start = _clock_seconds(m, 1)
        theirs = (m["ap2"] or m["bp2"] or "").lower()
        mine = (m["ap1"] or m["bp1"] or "").lower()
        if theirs and not mine and start is not None and int(m["h1"]) <= 12:
            # "9:00 - 9:53 AM": the latest reading of the first time not after the end
            both = [_clock_seconds(m, 1, x) for x in "ap"]
            before = [t for t in both if t is not None and t <= end]
            start = max(before) if before else _clock_seconds(m, 1, theirs)
        elif mine and not theirs and start is not None and 1 <= int(m["h2"]) <= 12:
            # "1:00 PM - 1:50": the earliest reading of the end not before the start (on the
            # next day when both are before it: "11:30 PM - 12:20" ends at 12:20 AM)
            both = [t for t in (_clock_seconds(m, 2, x) for x in "ap") if t is not None]
            end = min(both, key=lambda t: (t - start) % 86400) if both else end
        return None if start is None else (start, end)
    if _DAY_FRACTION.match(v):
        return (float(round(float(v) * 86400)), np.nan)
    m = _EXCEL_DAY_ZERO.match(v)
    if m:
        return _read_time(m["t"])
    m = re.match(r"^(?P<d>.*\d)(?:T|\s+)(?P<t>\d{1,2}(?::\d{2}).*)$", v)
    if m and _HAS_DATE.search(m["d"]) and not re.search(_OFFSET_RE, v):  # a local date-time
        return _read_time(m["t"])
    return None


def _without_zone(v: str) -> str:
    """A time of day without the time zone written after it ("9:00 AM EST", "9:00 AM (CT)",
    "9:00-9:50 CT"); any other value as it is. Only known zone abbreviations are taken off."""
    m = _ZONE_TAIL.search(v) if len(v) <= 100 else None
    if m and (m["p"] or m["z"]).lower() in _ZONES and v[:m.start()].strip():
        return v[:m.start()].rstrip()
    return v


def _written_zone(value: str) -> str | None:
    """The zone abbreviation written after a time of day (upper case), else None."""
    v = value.strip()
    bare = _without_zone(v)
    if bare == v:
        return None
    zone = v[len(bare):].strip(" ()").upper()
    return zone


def _zone_family(abbr: str) -> str:
    """A zone abbreviation without its standard or daylight mark: CST, CDT and CT are all C."""
    abbr = abbr.upper()
    if abbr in ("UTC", "GMT", "Z"):
        return "UTC"
    return re.sub(r"[SD]?T$", "", abbr) or abbr


def _practice_families(tz: str) -> set[str]:
    """The zone families the practice's own zone is written with (winter and summer)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    names = {dt.datetime(2026, month, 15, tzinfo=zone).tzname() or "" for month in (1, 7)}
    return {_zone_family(n) for n in names if n.isalpha()}


def _time_kind(values: pd.Series) -> str | None:
    """What a column read as start or time holds: ``"dates"`` when some value holds a date
    (or is an Excel day number, 1 or more), ``"times"`` when none does and some value reads as
    a time of day (or a day fraction, or a range), else None (empty, or neither)."""
    present = pd.unique(values[values != ""].to_numpy(dtype=object))
    if not len(present):
        return None
    arr = pa.array(present, type=pa.string())  # RE2 in Arrow: a start column is large
    dated = pa_compute.match_substring_regex(arr, _HAS_DATE.pattern, ignore_case=True)
    day_zero = pa_compute.match_substring_regex(arr, _EXCEL_DAY_ZERO.pattern)
    if pa_compute.any(pa_compute.and_not(dated, day_zero)).as_py():
        return "dates"
    present = pd.Series(present, dtype=object)
    if (pd.to_numeric(present, errors="coerce") >= 1).any():  # Excel day numbers
        return "dates"
    return "times" if present.map(lambda x: _read_time(x) is not None).any() else None


def _time_columns(frame: pd.DataFrame, headers: list[str], records: np.ndarray,
                  path: Path) -> list[str]:
    """Which columns read as the appointments' ``start`` or ``time`` are which: a column of
    times of day (no date in any value) is never a start. Of two such columns (a column map
    naming both "Date" and "Start Time" as the start, or the two swapped), the one holding
    dates is the start and the one holding only times of day its ``time``; a lone ``time``
    column holding dates is the start; a start of times of day with no column of dates stops
    the run with one sentence."""
    cands = [i for i, h in enumerate(headers) if h in ("start", "time")]
    if not cands:
        return headers
    kind = {i: _time_kind(frame.iloc[:, i][records]) for i in cands}
    if len(cands) == 2 and sorted(map(str, kind.values())) == ["dates", "times"]:
        return [("start" if kind[i] == "dates" else "time") if i in kind else h
                for i, h in enumerate(headers)]
    if len(cands) == 1 and headers[cands[0]] == "time" and kind[cands[0]] == "dates":
        return ["start" if i == cands[0] else h for i, h in enumerate(headers)]
    times = [i for i in cands if headers[i] == "start" and kind[i] == "times"]
    if times and "dates" not in kind.values():
        raise IngestError(f"{path.name}: column {str(frame.columns[times[0]])[:60]!r} holds "
                          "times of day, not dates: the appointments need their dates too; "
                          "name the column of dates as start and this one as time in the "
                          "column map")
    return headers


def _cut_start_range(res: _TableResult, text: pd.Series) -> pd.Series:
    """A time range inside the start column ("10/1/2026 9:00 AM - 9:53 AM"): the start keeps
    the date and first time, the range's end is kept for ``_start_with_time``. A hyphen and
    two digits after an ISO 8601 time ("2026-10-01T09:00-05:00") are a UTC offset."""
    def cut(value: str) -> tuple[str, str]:
        m = _RANGE_TAIL.search(value) if len(value) <= 100 else None
        if not m or not _ENDS_IN_TIME.search(value[:m.start()].rstrip()):
            return value, ""
        tail = value[m.start("sep"):]
        if (_ISO_START.match(value) and m["sep"] == "-" and re.fullmatch(
                r"-\d{2}(?::?\d{2})?", tail)):
            return value, ""
        return value[:m.start()].rstrip(), value[m.end("sep"):]
    # only values with a time of day before a separator can hold a range (RE2, in Arrow)
    maybe = pa_compute.match_substring_regex(pa.array(text.to_numpy(dtype=object),
                                                      type=pa.string()),
                                             _RANGE_HINT, ignore_case=True)
    maybe = maybe.to_numpy(zero_copy_only=False).astype(bool)
    ends = np.full(len(text), "", dtype=object)
    if maybe.any():
        pairs = _map_unique(text[maybe], cut)
        ends[maybe] = pairs.str[1].to_numpy(dtype=object)
        text = text.copy()
        text[maybe] = pairs.str[0].to_numpy(dtype=object)
    res.typed["_start_range_end"] = pd.Series(ends, index=text.index)
    return text


def _start_with_time(res: _TableResult, text: pd.Series, fmt: str | None, cfg: Config):
    """Parse the appointments' start (as ``_parse_datetime``) with the ``time`` column: a
    date-only start (or one at midnight, a date cell) takes the time column's time of day, as
    a local time in the practice's time zone (a time skipped or repeated by a daylight-saving
    change is handled as any start's is); a time range (in the time column, or in the start
    column itself) gives the end where the row has none, on the start's day, or the next day
    when it ends before it starts; so does an end column of times of day alone. A start with
    a time of day of its own keeps it. A time that cannot be read rejects the row
    (``unparseable_time``). Returns the text read (dates and times combined as ISO 8601),
    which also goes back into ``raw`` (a table sharing the file takes its day from it), and
    ``_parse_datetime``'s five results."""
    tz, raw, v = cfg.timezone, res.raw, res.verdicts
    out = list(_parse_datetime(text, tz, fmt))
    values, bad, date_only = out[0], out[1], out[4]
    read = _map_unique(raw["time"], lambda x: _read_time(x) if x else (np.nan, np.nan))
    unread = np.array([x is None for x in read], dtype=bool)
    local = values.dt.tz_localize(None)
    midnight = (local == local.dt.normalize()).to_numpy(dtype=bool, na_value=False)
    # the time is needed only by a start without a time of day of its own: elsewhere an
    # unreadable one is counted (time_not_read) and the start keeps its own time
    needed = ~bad & (np.asarray(date_only, dtype=bool) | midnight)
    v.reject(unread & needed, "unparseable_time", "time",
             _echo(raw["time"], "time", "is not a time of day (such as 9:00 AM, 14:30 or "
                                        "9:00 AM - 9:53 AM)"))
    res.typed["_time_not_read"] = pd.Series(unread & ~needed, index=text.index)
    tod = np.array([np.nan if x is None else x[0] for x in read], dtype=float)
    end_tod = np.array([np.nan if x is None else x[1] for x in read], dtype=float)
    combine = ~np.isnan(tod) & ~bad & (date_only | midnight)
    if combine.any():
        when = local[combine].dt.normalize() + pd.to_timedelta(tod[combine], unit="s")
        iso = pd.Series("", index=text.index, dtype=object)
        iso[combine] = when.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
        again = _parse_datetime(iso, tz, None)
        for k in range(4):  # values, unreadable, nonexistent, ambiguous
            if k == 0:
                out[0] = values.where(~combine, again[0])
            else:
                out[k] = np.where(combine, again[k], out[k])
        out[4] = date_only & ~combine
        text = text.where(~combine, iso)
    res.typed["_start_combined"] = pd.Series(combine, index=text.index)
    # the range's end: from the start column's own range, else the time column's
    tail = _map_unique(res.typed.pop("_start_range_end", pd.Series("", index=text.index)),
                       lambda x: _read_time(x)[0] if x and _read_time(x) else np.nan)
    tail = tail.to_numpy(dtype=float)
    end_tod = np.where(~np.isnan(tail), tail, end_tod)
    # an end column of times of day alone ("9:53 AM", an Excel time cell): on the start's day
    end_written = raw["end"]
    own = _map_unique(raw["end"], lambda x: _read_time(x)[0] if x and len(x) <= 100
                      and not _HAS_DATE.search(x) and _read_time(x) else np.nan
                      ).to_numpy(dtype=float)
    start_local = out[0].dt.tz_localize(None)
    day = start_local.dt.normalize()
    start_tod = (start_local - day).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    timed = ~np.isnan(start_tod) & ~np.asarray(out[4], dtype=bool)  # a start with its time
    end_time = timed & ~np.isnan(own)
    ends = timed & ~np.isnan(end_tod) & (raw["end"] == "").to_numpy()
    end_tod = np.where(end_time, own, end_tod)
    if (ends | end_time).any():
        later = np.where(end_tod < start_tod, 86400.0, 0.0)  # ends before it starts: next day
        put = ends | end_time
        when = day[put] + pd.to_timedelta((end_tod + later)[put], unit="s")
        end_text = raw["end"].to_numpy(dtype=object).copy()
        end_text[put] = when.dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(dtype=object)
        raw["end"] = end_text
    res.typed["_end_time_of_day"] = pd.Series(end_time, index=text.index)
    res.typed["_end_from_range"] = pd.Series(ends, index=text.index)
    res.typed["_time_other_zone"] = pd.Series(
        _other_zone(raw["time"], cfg.timezone) & (combine | ends)
        | _other_zone(end_written.where(end_time, ""), cfg.timezone), index=text.index)
    raw["start"] = text
    return (text, *out)


def _other_zone(text: pd.Series, tz: str) -> np.ndarray:
    """Which times of day were written with a time zone that is not the practice's ("9:00 AM
    EST" in a practice in Chicago): read as the practice's local time all the same."""
    families = _practice_families(tz)
    return _map_unique(text, lambda x: bool(x) and (z := _written_zone(x)) is not None
                       and _zone_family(z) not in families).to_numpy(dtype=bool)


def _count_times(res: _TableResult) -> None:
    """How many accepted appointments took their start from a date and a time column, their
    end from a time range, or an end given as a time of day alone; had a time that could not
    be read and was not needed (the start has its own), or a time written in another zone
    than the practice's (``adjustments``)."""
    ok = res.verdicts.ok & ~(res.folded if res.folded is not None else False)
    for key, mask in (("start_from_date_and_time", "_start_combined"),
                      ("end_from_time_range", "_end_from_range"),
                      ("end_time_on_start_day", "_end_time_of_day"),
                      ("time_not_read", "_time_not_read"),
                      ("time_in_another_zone", "_time_other_zone")):
        if mask in res.typed:
            res.adjustments[key] = int((res.typed[mask].to_numpy(dtype=bool) & ok).sum())
