"""What a run's data quality says: the rows in, accepted, set aside and rejected per table,
clinicians left out, what blocks a run, what the roster still needs, the folder's unused
files, and the quality files written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .. import contract as C
from ..hostile_text import csv_safe
from .bookkeeping import _TableResult
from .read import READABLE
from .reshape import _name_key

_LEFT_OUT = ("unknown_clinician", "clinician_rejected")

# rows an export holds that are no record to use (the summary of a run says them apart from
# rows rejected for a mistake): their reasons, in the order the summary names them
SET_ASIDE = tuple(C.NO_RECORD)  # no record to use: counted apart from rejections


def _input_rows(tables: dict, rejects: pd.DataFrame) -> dict:
    """The files' rows counted once each, however many tables read a file (notes and
    assessments read from the appointments file): ``rows`` in all, ``set_aside`` per reason
    of :data:`SET_ASIDE` (a row of totals, a rescheduled appointment: not records to use),
    and ``rejected`` (any other reason; a row that one table read and another found nothing
    in, ``not_in_table``, is not rejected)."""
    per_file: dict[str, int] = {}
    for e in tables.values():
        if e.get("present"):
            per_file[e["file"]] = max(per_file.get(e["file"], 0), e["rows_in"])
    r = rejects[rejects["reason"] != "not_in_table"]
    reasons = r.groupby(["file", "row"])["reason"].agg(set)
    aside = {k: 0 for k in SET_ASIDE}
    rejected = 0
    for found in reasons:
        first = next((k for k in SET_ASIDE if k in found), None)
        if first is None:
            rejected += 1
        else:
            aside[first] += 1
    return {"rows": sum(per_file.values()), "set_aside": {k: n for k, n in aside.items() if n},
            "rejected": rejected}


def _clinicians_left_out(results: dict[str, _TableResult], clin: _TableResult) -> list[dict]:
    """The clinicians named in the export whose rows were left out: not on the roster
    (``unknown_clinician``: a name that changed between exports, a new hire, a typo) or on it
    with a rejected row (``clinician_rejected``: a starter roster still to fill in). For each:
    the value as the export gives it, its rows per table, and the closest name on the roster.
    Most rows first."""
    count: dict[tuple[str, bool], dict[str, int]] = {}
    for name, res in results.items():
        if name == "clinicians":  # a supervisor's rejected roster row: the roster's own matter
            continue
        v = res.verdicts
        for reason in _LEFT_OUT:
            rows = np.flatnonzero(v.reason == reason)
            for col in pd.unique(v.column[rows]):
                at = rows[v.column[rows] == col]
                values = res.raw[col].to_numpy(dtype=object)[at]
                for value, n in pd.Series(values).value_counts().items():
                    per = count.setdefault((str(value), reason == "clinician_rejected"), {})
                    per[name] = per.get(name, 0) + int(n)
    ok = clin.verdicts.ok
    names = clin.raw["name"].to_numpy(dtype=object)[ok]
    keys = {_name_key(n): n for n in names if n}
    out = []
    for (value, on_roster), tables in count.items():
        close = None if on_roster else _closest_name(value, list(keys))
        out.append({"clinician": value, "on_roster": on_roster,
                    "rows": sum(tables.values()), "tables": tables,
                    "closest": keys[close] if close else None})
    return sorted(out, key=lambda e: (-e["rows"], e["clinician"]))


def _closest_name(value: str, keys: list[str]) -> str | None:
    """The roster name (as a name key) closest to a name in the export: among those sharing a
    first or last name with it (a name changed by marriage keeps the first), the most alike;
    else one alike in spelling (difflib ratio 0.75 or more); else None."""
    import difflib

    mine = _name_key(value)
    words = set(mine.split())
    sharing = [k for k in keys if words & set(k.split())]
    ratio = {k: difflib.SequenceMatcher(None, mine, k).ratio() for k in keys}
    if sharing:
        return max(sharing, key=lambda k: (ratio[k], k))
    best = max(keys, key=lambda k: (ratio[k], k), default=None)
    return best if best is not None and ratio[best] >= 0.75 else None


def run_blockers(quality: dict, *, skip_unknown: bool = False) -> str | None:
    """Why a run cannot use this data, in one message (None: it can): a roster with no
    usable rows (with what is still to fill in), clinicians named in the export whose rows
    would be left out (unless ``skip_unknown``: ``perfkit run --skip-unknown-clinicians``),
    or no usable appointments. (Notes with no usable rows leave the documentation figures
    not known, like an empty note-status column: ``documentation``.)"""
    tables = quality["tables"]

    def unusable(name: str) -> str | None:
        e = tables.get(name, {})
        if not e.get("present") or e["rows_accepted"]:
            return None
        if not e["rows_in"]:
            return (f"{e['file']} has no rows, so there is nothing to run" + (
                "; list each clinician in it (perfkit init writes a starter roster from the "
                "export)" if name == "clinicians" else ""))
        todo = still_to_fill(quality) if name == "clinicians" else []
        return (f"{e['file']} has no usable rows ({e['rows_in']:,} read, "
                f"{e['rows_rejected']:,} rejected), so there is nothing to run"
                + ("; still to fill in: " + "; ".join(t.strip() for t in todo) if todo
                   else "; perfkit validate lists why each row was rejected"))

    problem = unusable("clinicians")
    if problem:
        return problem
    left = quality.get("clinicians_left_out") or []
    if left and not skip_unknown:
        shown = [f"{e['clinician']!r} ({rows_words(e['tables'])}; "
                 + ("on the roster, but its roster row was rejected" if e["on_roster"]
                    else f"closest on the roster: {e['closest']!r}" if e["closest"]
                    else "no close name on the roster") + ")" for e in left[:10]]
        more = f" and {len(left) - 10} more (perfkit validate lists them)" \
            if len(left) > 10 else ""
        n = sum(e["rows"] for e in left)
        return (f"{n:,} rows name {len(left)} clinician{'s' * (len(left) != 1)} who cannot "
                f"be used from the roster: {', '.join(shown)}{more}; add them to the roster "
                "(or correct the name, or fill in their roster row), or run with "
                "--skip-unknown-clinicians to leave their rows out")
    return unusable("appointments")


def rows_words(tables: dict[str, int]) -> str:
    """Rows per table in words: ``111 appointments, 1 supervision session``."""
    return ", ".join(f"{n:,} {_ROW_WORDS.get(t, (t, t))[n != 1]}" for t, n in tables.items())


_ROW_WORDS = {"appointments": ("appointment", "appointments"), "notes": ("note", "notes"),
              "assessments": ("assessment", "assessments"),
              "time_off": ("time-off entry", "time-off entries"),
              "supervision": ("supervision session", "supervision sessions"),
              "goals": ("goal", "goals"), "reviews": ("review", "reviews"),
              "ce": ("CE entry", "CE entries")}


# what a roster gap blocks, in plain words
_ROSTER_NEEDS = {
    "clinician_id": "an id for each clinician (any text; every table refers to it)",
    "name": "the clinician's name (reports and name matching)",
    "license_status": "licensed or pre-licensed (supervision toward licensure)",
    "start_date": "the day they started (capacity, new-hire ramp-up)",
    "weekly_capacity_hours": "hours a week offered for sessions (utilization)",
}


def still_to_fill(quality: dict) -> list[str]:
    """Roster values still empty (a starter roster from ``perfkit init``), and what each one
    blocks: a clinician without them is left out, with every appointment and note of theirs."""
    entry = quality["tables"].get("clinicians", {})
    gaps = entry.get("empty_required") or {}
    if not gaps:
        return []
    lines = []
    for column, n in gaps.items():
        need = _ROSTER_NEEDS.get(column, column)
        lines.append(f"  {entry['file']}: {column} for {n} clinician{'s' * (n != 1)}: {need}")
    lines.append("  Until then those clinicians are left out, with all their appointments and "
                 "notes (every figure of theirs).")
    return lines


def _unused_files(folder: Path, results: dict[str, _TableResult]) -> tuple[list[dict], int]:
    """Files in the data folder that no table was read from: those named almost as a table
    (``timeoff.csv`` for ``time_off.csv``, ``appointment.csv``), each with that table, and how
    many others. Only a near-miss is named: its name is perfkit's own word give or take a
    letter, while any other name may be a client's (``Jane Doe.csv``) and is only counted."""
    used = {r.file for r in results.values() if r.file}
    near, others = [], 0
    for p in sorted(folder.iterdir(), key=lambda p: p.name):
        if not p.is_file() or p.name in used or p.name.startswith(".") \
                or p.suffix.lower() not in (*READABLE, ".txt", ".tsv"):
            continue
        table = _near_table(p.stem)
        if table is None:
            others += 1
        else:
            near.append({"file": p.name, "closest_table": table})
    return near, others


def _near_table(stem: str) -> str | None:
    """The table a file name misses by a letter or two (case, spaces, ``_``, ``-`` and ``.``
    aside): one edit for a table name of five letters or more, two for nine or more."""
    mine = re.sub(r"[\s_.-]", "", stem.lower())
    for table in C.TABLES:
        name = table.replace("_", "")
        allowed = 2 if len(name) >= 9 else 1 if len(name) >= 5 else 0
        if abs(len(mine) - len(name)) <= allowed and _edits(mine, name) <= allowed:
            return table
    return None


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def write_quality(quality: dict, rejects: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Write ``data_quality.json`` and ``rejects.csv`` into a run folder."""
    from ..io import atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    p1 = out_dir / "data_quality.json"
    atomic_write_text(p1, json.dumps(quality, indent=2) + "\n")
    p2 = out_dir / "rejects.csv"
    atomic_write_text(p2, csv_safe(rejects).to_csv(index=False))  # no formula runs in Excel
    return [p1, p2]
