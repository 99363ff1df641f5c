"""Words and numbers for people: percentages, dates, plain-word labels, escaped tables and
Markdown text. Every report table is built by :func:`table`; every number a report prints is
formatted here."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..config import Config
from ..registry import METRICS, concern

__all__ = ["Text", "table", "pct", "num", "count", "cohort_pct", "too_few", "date_words",
           "text_or", "known_yes", "yes_no", "period_words",
           "span_words", "short_history", "SHORT_HISTORY",
           "TREND_PLAIN", "TREND_ARROWS", "trend_words", "NO_SIGNING_TIMES",
           "NOT_IN_EXPORT",
           "NO_APPOINTMENTS", "GROUP_SESSIONS", "score"]


WIDE_COLUMNS = 8  # a table of more columns may be wider than the page on screen


def table(frame: pd.DataFrame, caption: str | None = None, *, apply=None,
          rows: str | None = None, caption_above: bool = False, kind: str | None = None):
    """A report table without its index: every cell, header and the caption HTML-escaped
    (a pandas Styler does not escape by default), so text from the practice's records shows
    exactly as written. ``apply`` is a Styler column function (shading). ``rows`` names the
    row labels when the frame's index holds them (a table read across): they become the first
    column, under that header. Every header cell has words (no empty header cells, no row
    of index names). ``caption_above`` puts the caption over the table, for a caption the
    reader needs before the rows (what a column means). Every table of a report is built
    here. A table of more than :data:`WIDE_COLUMNS` columns scrolls sideways in its own box
    on a narrow screen (the page itself does not), and is a tab stop so a keyboard can
    scroll it. ``kind``: a class for the print style sheet (perfkit.render): ``check-ins``, a
    clinician's columns stacked beside the last one on paper; ``figures``, figures with their
    likely ranges, each cell on one line."""
    if rows is not None:
        frame = frame.rename_axis(rows).reset_index()
    frame = frame.rename_axis(None, axis=1)
    styler = frame.style.format(escape="html", thousands=",") \
        .format_index(escape="html", axis=1) \
        .hide(axis="index")
    classes = (["wide"] if frame.shape[1] > WIDE_COLUMNS else []) + ([kind] if kind else [])
    if classes:  # a wide one scrolls in its own box on a narrow screen: focusable
        styler = styler.set_table_attributes(
            f'class="{" ".join(classes)}"' + (' tabindex="0"' if "wide" in classes else ""))
    if apply is not None:
        styler = styler.apply(apply)
    if caption:
        styler = styler.set_caption(html.escape(caption))
        if caption_above:
            above = [("caption-side", "top"), ("text-align", "left")]
            styler = styler.set_table_styles([{"selector": "caption", "props": above}],
                                             overwrite=False)
    return styler


class Text(str):
    """Markdown text that renders as formatted text in a notebook and its HTML."""

    def _repr_markdown_(self) -> str:
        return str(self)


def pct(v, digits: int = 0) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * v:.{digits}f}%"


def num(v, digits: int = 1) -> str:
    """A number with thousands separators (1336 -> "1,336" with ``digits=0``); "–" when
    missing."""
    return "–" if v is None or pd.isna(v) else f"{v:,.{digits}f}"


def count(n, one: str, many: str | None = None) -> str:
    """A count with its noun, thousands separated: ``count(1336, "client")`` -> "1,336
    clients", ``count(1, "client")`` -> "1 client". Every count a report's text prints goes
    through here or :func:`num` (an f-string of an int prints "1336")."""
    if n is None or pd.isna(n):
        return "–"
    return f"{num(n, 0)} {one if n == 1 else many or one + 's'}"


def too_few(minimum: int, what: str = "clients") -> str:
    """Why a rate is not shown: its denominator is below the minimum count
    (``outcomes.min_episodes``, the one setting that hides small numbers)."""
    return f"hidden: fewer than {num(minimum, 0)} {what}"


def cohort_pct(v, n, minimum: int, what: str = "clients") -> str:
    """A rate of a group of ``n`` clients (a retention cohort, say): the percentage with its
    n ("48% of 25"), or, when the rate is empty (compute leaves it so when ``n`` is below
    ``minimum``, ``outcomes.min_episodes``: :func:`perfkit.operations.retention`), hidden with
    the reason, never a number."""
    if v is None or pd.isna(v) or n is None or pd.isna(n):
        return too_few(minimum, what)
    return f"{pct(v)} of {num(n, 0)}"


SHORT_HISTORY = "short history"  # a figure resting on less history than it needs


def short_history(text: str, limited, *, count: bool = False) -> str:
    """A figure resting on a short export, marked: a count of new clients may be too high
    (``at most 12``); a rate rests on them (``48% (short history)``)."""
    if not known_yes(limited) or text == "–" or text.startswith("hidden"):
        return text
    return f"at most {text}" if count else f"{text} ({SHORT_HISTORY})"


def date_words(v) -> str:
    return "–" if v is None or pd.isna(v) or v == "" else f"{pd.Timestamp(v):%d %b %Y}"


def text_or(v, default: str) -> str:
    """A text value, or ``default`` when it is missing or empty (never "nan")."""
    return v if isinstance(v, str) and v else default


def known_yes(v) -> bool:
    """Whether one yes/no value of a run's table is yes. The tables hold yes/no columns as
    nullable booleans (:func:`perfkit.io.read_table`); a missing value is not known (a table
    the practice did not provide), so it is not a yes (``bool(<NA>)`` would be an error).
    A whole column: ``column.fillna(False)``."""
    return False if pd.isna(v) else bool(v)


def yes_no(values: pd.Series) -> np.ndarray:
    """A yes/no column in words for a reader's table: "yes", "no", or "not known" for a
    missing value (a table the practice did not provide: never shown as "no")."""
    known = values.notna().to_numpy(dtype=bool)
    yes = values.fillna(False).to_numpy(dtype=bool)
    return np.where(~known, "not known", np.where(yes, "yes", "no"))


def span_words(start, end, pattern: str = "%d %B %Y") -> str:
    """A period ``[start, end)`` in words, from its first to its last day."""
    last = pd.Timestamp(end) - pd.Timedelta(days=1)
    return f"{pd.Timestamp(start):{pattern}} to {last:{pattern}}"


def period_words(cfg: Config) -> str:
    """The run's period in words."""
    return span_words(cfg.period_start, cfg.period_end)


# the trend labels of the weekly series in words, and with an arrow for tables
TREND_PLAIN = {"growing": "rising", "declining": "falling", "stable": "no clear change",
               "not enough data": "too few weeks"}
TREND_ARROWS = {"growing": "↑", "declining": "↓", "stable": "→", "not enough data": "·"}


def trend_words(metric: str, label, *, arrow: bool = False) -> str:
    """A trend label in plain words, saying when its direction is a concern for that metric
    (:func:`perfkit.registry.concern`): "rising (a concern)" for missed appointments, "rising"
    for utilization; with ``arrow``, "↑ rising (a concern)" for tables and chart titles. ""
    for a missing label."""
    if not isinstance(label, str) or label not in TREND_PLAIN:
        return ""
    worse = concern(metric) if metric in METRICS else None
    words = TREND_PLAIN[label] + (" (a concern)" if worse == label else "")
    return f"{TREND_ARROWS[label]} {words}" if arrow else words


def score(v) -> str:
    """An assessment score as written on the form: whole points without decimals, an ORS
    score with its one decimal; "–" when missing."""
    return num(v, 0 if pd.notna(v) and float(v).is_integer() else 1)


NO_SIGNING_TIMES = "not known: this export has no signing times"


NOT_IN_EXPORT = "not available from this export"
NO_APPOINTMENTS = "no appointments in this export"

# how a group session is counted (operations.clinician_time, sessions_attended): said in the
# practice report's limits and beside the clinician's own figures
GROUP_SESSIONS = ("A group session counts once per slot for its clinician (the clinician and "
                  "its start time, at its longest recorded length) in sessions, hours and "
                  "utilization, and once for each client in missed appointments, clients seen "
                  "and notes.")
