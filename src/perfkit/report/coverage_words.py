"""What a short export limits, in words. The history limits
(:func:`perfkit.coverage.history_limits`: the run facts' ``history_limits`` and
``data_quality.json`` ``coverage.limits``) are codes (``figure``) with their dates and counts;
the sentences are here, for the reports and ``perfkit validate``. A limit's sentence names no
clinician."""

from __future__ import annotations

import datetime as dt

from .format import date_words

__all__ = ["LIMITED", "limit_words", "months_before_words"]

# what each history limit concerns, in plain words (a limit's ``figure``)
LIMITED = {"new_clients": "new clients, retention, early dropout",
           "trends": "trends", "period_end": "every figure", "notes": "documentation",
           "licensure": "licensure ledger"}


def months_before_words(first: str, period_start: str) -> str:
    """The gap from ``first`` to the period's start in plain words (weeks under three
    months)."""
    days = (dt.date.fromisoformat(period_start) - dt.date.fromisoformat(first)).days
    if days < 0:
        return "after the period starts"
    if days < 91:
        weeks = days // 7
        return f"{weeks} {'week' if weeks == 1 else 'weeks'} before the period"
    return f"{round(days / 30.4375)} months before the period"


def _new_clients(lim: dict) -> str:
    return (f"The appointments begin on {date_words(lim['begins'])}, "
            f"{months_before_words(lim['begins'], lim['period_starts'])} (new clients need "
            f"{lim['new_client_months']} months before it): a client seen before then who came "
            "back in the period is counted as new, so new clients may be too many, and "
            "retention and early dropout rest on them.")


def _trends(lim: dict) -> str:
    weeks = lim["weeks"]
    return (f"The appointments cover {weeks} whole {'week' if weeks == 1 else 'weeks'} up to "
            f"the period's end and a trend needs {lim['needed_weeks']}, so a trend is named "
            "only for a clear change and otherwise reads \"not enough data\".")


def _period_end(lim: dict) -> str:
    return (f"The appointments end on {date_words(lim['ends'])}, {lim['days_before_end']} days "
            "before the period ends: the period's last days are missing from every figure.")


def _notes(lim: dict) -> str:
    return (f"The notes begin on {date_words(lim['begins'])}, after the appointments and the "
            "period begin: sessions before then have no note in the export, so they count as "
            "unsigned.")


def _licensure(lim: dict) -> str:
    n = len(lim["clinicians"])
    return (f"The licensure records begin on {date_words(lim['begins'])}, after {n} "
            f"pre-licensed {'clinician' if n == 1 else 'clinicians'} started, and no "
            "carried-in hours cover the time before: their ledgers count hours since then only "
            "(at least, not complete).")


_SAY = {"new_clients": _new_clients, "trends": _trends, "period_end": _period_end,
        "notes": _notes, "licensure": _licensure}


def limit_words(lim: dict) -> str:
    """One history limit (``{"figure", ...values}``) as its plain sentence."""
    return _SAY[lim["figure"]](lim)
