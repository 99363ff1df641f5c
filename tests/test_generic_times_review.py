"""Review fixes to dates and times as exports print them (issue 30, second round): a time
column read only where the start needs it, time zones written after a time, an end without
AM or PM, unreadable cancellation times, the start's day order for the other date columns,
end checks only where a length is needed, and the night the clocks go back. Tiny hand-built
exports; expected values worked out by hand (America/Chicago: CDT, UTC-5, until 2026-11-01
02:00, then CST, UTC-6)."""

from __future__ import annotations

import time

import pandas as pd

from perfkit.ingest.times import _HAS_DATE

from practice_data import TZ, by_row, ingest_rows, reasons, ts
from practice_data import appointment_row as row


def adjustments(ing) -> dict:
    return ing.quality["tables"]["appointments"]["adjustments"]


def test_a_time_the_start_does_not_need_is_counted_not_rejected(practice, cfg):
    rows = [
        row("2026-10-05T09:00", "see note"),  # the start has its time: not needed
        row("2026-10-06T14:30", "9:00 AM"),  # its own time wins, as before
        row("2026-10-07", "see note"),  # a date-only start needs it: rejected
        row("2026-10-08T00:00", "soon"),  # midnight (a date cell) needs it too
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-05 09:00"), ts("2026-10-06 14:30")]
    assert reasons(ing) == {3: ("time", "unparseable_time"), 4: ("time", "unparseable_time")}
    assert adjustments(ing)["time_not_read"] == 1


def test_a_time_zone_written_after_the_time_is_read_as_the_practices(practice, cfg):
    rows = [
        row("10/13/2026", "9:00 AM EST"),
        row("10/14/2026", "9:00 AM (CT)"),
        row("10/15/2026", "9:00 AM CT"),
        row("10/16/2026", "9:00 am cdt"),
        row("10/19/2026", "2:00 PM - 2:50 PM PT", "attended"),
        row("10/20/2026", "9:00 AM nonsense"),  # no zone: unreadable, and needed
        row("10/21/2026", "9:00 AM", "attended", end="9:45 AM EST"),
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.start.tolist() == [ts("2026-10-13 09:00"), ts("2026-10-14 09:00"),
                                ts("2026-10-15 09:00"), ts("2026-10-16 09:00"),
                                ts("2026-10-19 14:00"), ts("2026-10-21 09:00")]
    assert a.loc[5, "duration_minutes"] == 50
    assert a.loc[7, "duration_minutes"] == 45
    assert reasons(ing) == {6: ("time", "unparseable_time")}
    adj = adjustments(ing)
    assert adj["time_in_another_zone"] == 3  # EST, PT and EST in a practice in Chicago
    assert adj["start_from_date_and_time"] == 6


def test_an_end_without_am_or_pm_is_the_earliest_after_the_start(practice, cfg):
    rows = [
        row("10/13/2026", "1:00 PM - 1:50", "attended"),  # 1:50 PM, not 1:50 AM next day
        row("10/14/2026", "11:30 PM - 12:20", "attended"),  # 12:20 AM the next day
        row("10/15/2026", "10:00 AM - 1:00", "attended"),  # 1:00 PM
        row("10/16/2026", "9:00 AM - 13:00", "attended"),  # 24-hour end, as written
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.end.tolist() == [ts("2026-10-13 13:50"), ts("2026-10-15 00:20"),
                              ts("2026-10-15 13:00"), ts("2026-10-16 13:00")]
    assert a.duration_minutes.tolist() == [50, 50, 180, 240]
    assert reasons(ing) == {}


def test_an_unreadable_cancellation_time_is_empty_and_counted(practice, cfg):
    rows = [
        row("2026-10-05T09:00", status="attended", duration_minutes="50",
            cancelled_at="n/a"),
        row("2026-10-06T09:00", status="cancelled", cancelled_at="by phone, Zeb Quixote"),
        row("2026-10-07T09:00", status="cancelled", cancelled_at="1900-01-01T09:00"),
        row("2026-10-08T09:00", status="cancelled", cancelled_at="2026-10-08T07:00"),
        row("2026-10-09T09:00", status="cancelled", cancelled_at="2026-10-09"),
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.status.tolist() == ["attended", "cancelled", "cancelled", "late_cancel",
                                 "cancelled"]
    assert reasons(ing) == {}
    assert "Zeb" not in ing.rejects.to_string()
    adj = adjustments(ing)
    assert adj["cancellation_time_not_read"] == 3
    assert adj["late_cancel_from_cancellation_time"] == 1
    assert adj["cancellation_time_without_time_of_day"] == 1


def test_other_date_columns_take_the_starts_day_order(practice, cfg):
    # the start is day first (15/10); every cancellation and end reads either way
    rows = [
        row("15/10/2026", "9:00 AM", "cancelled", cancelled_at="11/10/2026 10:00 AM"),
        row("12/10/2026", "9:00 AM", "cancelled", cancelled_at="11/10/2026 10:00 AM"),
        row("12/10/2026", "2:00 PM", "attended", end="12/10/2026 2:50 PM"),
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    # 11 October: four days before the first start (month first, 10 November, would be
    # after it and read as late), 23 hours before the second
    assert a.status.tolist() == ["cancelled", "late_cancel", "attended"]
    assert a.loc[3, "end"] == ts("2026-10-12 14:50")
    assert a.loc[3, "duration_minutes"] == 50
    assert reasons(ing) == {}


def test_end_checks_only_where_a_length_is_needed(practice, cfg):
    rows = [
        row("10/13/2026", "9:00 AM - 9:00 AM", "attended"),
        row("10/14/2026", "9:00 AM - 9:00 AM", "cancelled"),
        row("10/15/2026", "9:00 AM", "no_show", end="2026-10-15T21:00"),  # 720 minutes
        row("10/16/2026", "9:00 AM - 9:50 AM", "cancelled"),  # a plausible end is kept
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert reasons(ing) == {1: ("end", "end_before_start_time")}
    assert a.status.tolist() == ["cancelled", "no_show", "cancelled"]
    assert a.end.isna().tolist() == [True, True, False]
    assert a.loc[4, "end"] == ts("2026-10-16 09:50")
    adj = adjustments(ing)
    assert adj["end_not_used"] == 2
    assert adj["end_from_time_range"] == 1  # the kept one only


def test_the_repeated_hour_gives_the_shortest_length(practice, cfg):
    rows = [
        row("2026-11-01", "1:30 AM - 2:20 AM", "attended"),  # the second 1:30 (CST)
        row("2026-11-01", "12:30 AM - 1:20 AM", "attended"),  # the first 1:20 (CDT)
        row("2026-11-01", "1:10 AM - 1:50 AM", "attended"),  # both first: 40 either way
    ]
    ing = ingest_rows(practice, cfg, rows)
    a = by_row(ing)
    assert a.duration_minutes.tolist() == [50, 50, 40]
    assert a.start.tolist() == [pd.Timestamp("2026-11-01 07:30", tz="UTC").tz_convert(TZ),
                                pd.Timestamp("2026-11-01 05:30", tz="UTC").tz_convert(TZ),
                                pd.Timestamp("2026-11-01 06:10", tz="UTC").tz_convert(TZ)]
    adj = adjustments(ing)
    assert adj["start_repeated_hour_from_end"] == 1
    assert adj["start_ambiguous_local_time_first_occurrence"] == 1


def test_long_cells_are_searched_in_linear_time(practice, cfg):
    text = "jan" * 10_000  # 30,000 characters: took seconds, and grew with the square
    began = time.perf_counter()
    assert _HAS_DATE.search(text) is None
    assert time.perf_counter() - began < 1
    rows = [row("10/13/2026", "9:00 AM", "attended", end=text),
            row("10/14/2026", text, "attended", duration_minutes="50")]
    began = time.perf_counter()
    ing = ingest_rows(practice, cfg, rows)
    assert time.perf_counter() - began < 15
    assert reasons(ing) == {1: ("end", "unparseable_date"), 2: ("time", "unparseable_time")}
