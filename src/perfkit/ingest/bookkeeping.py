"""Row bookkeeping: one verdict per input row (accepted, or rejected with its first
reason), a table's result while it is checked, what ingest returns, and the words a message
uses to quote a value (never a long one: it may be a client's story)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from ..pseudonym import PseudonymKey


class _Verdicts:
    """The first rejection reason of each row, with its column and a plain detail.

    ``detail`` may be a string, an array over all rows, or a function of the rejected rows'
    mask that builds their details (so no text is built for rows that pass).
    """

    def __init__(self, n: int):
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, "", dtype=object)
        self.detail = np.full(n, "", dtype=object)
        self.ok = np.ones(n, dtype=bool)

    def reject(self, mask, reason: str, column: str, detail="") -> None:
        m = np.asarray(mask, dtype=bool) & self.ok
        if not m.any():
            return
        self.ok &= ~m
        self.reason[m] = reason
        self.column[m] = column
        if callable(detail):
            self.detail[m] = np.asarray(detail(m), dtype=object)
        elif isinstance(detail, pd.Series | np.ndarray):
            self.detail[m] = np.asarray(detail, dtype=object)[m]
        else:
            self.detail[m] = detail or C.REASONS[reason]


@dataclass
class _TableResult:
    name: str
    file: str | None
    raw: pd.DataFrame  # contract columns only, as text
    verdicts: _Verdicts
    typed: dict[str, pd.Series] = field(default_factory=dict)
    dropped_columns: list[str] = field(default_factory=list)
    adjustments: dict[str, int] = field(default_factory=dict)
    fractional_ids: dict[str, np.ndarray] = field(default_factory=dict)  # Parquet float ids
    summary_rows: np.ndarray | None = None  # rows of totals (any column of the file)
    repeated_headers: np.ndarray | None = None  # the header row again, inside the file
    shared: bool = False  # read from another table's file (notes in the appointments file)
    sheet: dict | None = None  # which sheet of a workbook was read (_sheet_words)
    found_by_headers: bool = False  # no file named for the table: taken for its headers
    columns_chosen: list = field(default_factory=list)  # two headers for one column: which
    read_from: dict = field(default_factory=dict)  # contract column -> the file's header
    not_statuses: str = ""  # a note column read as free text, not statuses (its header)
    in_file: set[str] = field(default_factory=set)  # contract columns the file has
    used_headers: set[str] = field(default_factory=set)  # the file's headers this table reads
    folded: np.ndarray | None = None  # accepted rows folded into another row (add-on lines)
    fold_host: np.ndarray | None = None  # the row each folded line went into (-1: none)
    excluded: np.ndarray | None = None  # rows of another kind (the column map's 'rows')
    joined: bool = False  # notes from a report of their own, matched to the appointments
    empty_columns: list[str] = field(default_factory=list)  # present, empty in every row
    invalid_email_rows: list[int] = field(default_factory=list)  # roster: email left empty
    title_rows: int = 0  # rows above the header (a report's title): row numbers count them


@dataclass
class Ingested:
    """The result of ingest: typed accepted tables, the rejects and the data-quality summary."""

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    quality: dict
    config: Config
    key: PseudonymKey | None = None  # the pseudonym key used (its fingerprint is recorded)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def _quoted(col: C.Column, text: pd.Series, what: str):
    """A detail that quotes the bad value (never for identifiers that may be record numbers),
    built only for the rejected rows."""
    if not col.echo:
        return f"{col.name} {what}"
    return _echo(text, col.name, what)


_LONGEST_QUOTED = 40  # characters of a value a message may quote...
_MOST_QUOTED_WORDS = 4  # ...and words: a longer value may be free text (a client's story)


def _shown(value) -> str:
    """A rejected value as a message may show it: quoted when it reads as a label, a date or a
    number (at most 4 words and 40 characters), otherwise described by its size, never quoted:
    a free-text column read as a status ("Session Note") holds what clinicians wrote."""
    text = str(value)
    words = len(text.split())
    if len(text) <= _LONGEST_QUOTED and words <= _MOST_QUOTED_WORDS:
        return f"'{text}'"
    return (f"(a text of {words} word{'s' * (words != 1)}, not quoted: it may be free text "
            "about a client)")


def _echo(text: pd.Series, name: str, what: str):
    return lambda m: [f"{name} {_shown(v)} {what}" for v in text.to_numpy(dtype=object)[m]]
