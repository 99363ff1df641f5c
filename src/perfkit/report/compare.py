"""The run this one is compared with (``history.csv``'s ``compared_with`` rows) in words,
and each flag with its threshold in words: what the owner's first screen, the check-in table
and the clinician's self-view say about a change since then."""

from __future__ import annotations

import pandas as pd

from ..config import Config
from ..hostile_text import md
from ..registry import FLAGS, flag_text
from .format import date_words, span_words
from .run_folder import RunFolder

__all__ = ["flag_words", "compared_rows", "compared_period", "compared_run",
           "comings_and_goings"]


def flag_words(cfg: Config) -> dict[str, str]:
    """Each flag of ``clinician_metrics`` with its threshold from the parameters, in a few
    words ("missed appointments at 10.0% or more"): the registry's phrases
    (:data:`perfkit.registry.FLAGS`)."""
    return {k: flag_text(k, "phrase", cfg) for k in FLAGS}


def compared_rows(run: RunFolder) -> pd.DataFrame:
    """The rows of ``history.csv`` for the run this one is compared with (empty: none)."""
    h = run.tables.get("history")
    if h is None or h.empty or "compared_with" not in h:
        return pd.DataFrame(columns=["period_start", "period_end", "clinician_id",
                                     "definitions_changed"])
    return h[h["compared_with"]]


def compared_period(run: RunFolder) -> str | None:
    """The period of the run this one is compared with, in words (None: no earlier run)."""
    was = compared_rows(run)
    if was.empty:
        return None
    return span_words(was["period_start"].iloc[0], was["period_end"].iloc[0])


def compared_run(run: RunFolder, *, markdown: bool = True) -> str | None:
    """The run this one is compared with, in words: its period and, when another earlier run
    of that period is in ``history.csv``, the day it was written (the ``run_created`` column,
    a date in the typed table). A run folder's name never reaches a report. None: no earlier
    run. The words hold nothing to escape, so ``markdown`` (plain text for a table caption)
    gives the same."""
    when = compared_period(run)
    if when is None:
        return None
    was = compared_rows(run)
    h = run.table("history")
    same = h[~h["this_run"] & (h["period_start"] == was["period_start"].iloc[0])
             & (h["period_end"] == was["period_end"].iloc[0])]
    key = next((k for k in ("run_id", "run_created") if k in h), None)
    day = was["run_created"].iloc[0] if "run_created" in was else None
    if key is None or same[key].nunique(dropna=False) < 2 or pd.isna(day):
        return f"the run for {when}"
    return f"the run for {when} (written {date_words(day)})"


def comings_and_goings(run: RunFolder) -> tuple[list[str], list[str], int]:
    """The clinicians of the compared run who are not in this one and left during this
    period (with their last day), and those new in this one who joined during it (with their
    start), one phrase each: (leavers, joiners); a clinician with no date on the roster is said to
    be "not in this run" or "new in this run". A leave or start outside this period (a
    clinician who left during the compared period, say) is not named: the phrases are about
    this period. Both empty when there is nobody to name. The third: how many clinicians of
    the compared run are not on this run's roster (counted, never named: a name comes from
    this roster only, and an earlier run's id is not one)."""
    was = compared_rows(run)
    if was.empty:
        return [], [], 0
    h = run.table("history")
    then = set(was["clinician_id"])
    now = set(h.loc[h["this_run"], "clinician_id"])
    roster = run.roster()
    start, end = pd.Timestamp(run.config.period_start), pd.Timestamp(run.config.period_end)

    def day_of(cid: str, column: str):
        """The roster's day (None: not recorded; False: outside this period)."""
        day = roster[column].get(cid) if column in roster else None
        if day is None or pd.isna(day):
            return None
        return day if start <= pd.Timestamp(day) < end else False

    left, joined = [], []
    gone = then - now - set(roster.index)  # not on this roster: counted, never named (an
    for c in sorted(then - now - gone, key=run.name_of):  # earlier run's id is not a name)
        if (d := day_of(c, "end_date")) is not False:
            left.append(f"**{md(run.name_of(c))}** " + (f"left on {date_words(d)}" if d
                                                       is not None else "is not in this run"))
    for c in sorted(now - then, key=run.name_of):
        if (d := day_of(c, "start_date")) is not False:
            joined.append(f"**{md(run.name_of(c))}** " + (f"joined on {date_words(d)}" if d
                                                         is not None else "is new in this run"))
    return left, joined, len(gone)
