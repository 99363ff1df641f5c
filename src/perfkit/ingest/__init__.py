"""Validated ingest of a practice data folder (DATA_CONTRACT section 1).

Every input row ends in exactly one place: accepted into the typed tables, or rejected with one
reason (the first check it fails, in a fixed order). ``rows_in == rows_accepted +
rows_rejected`` holds for every table and is asserted before anything is written.

Check order for a row: exact duplicate, required value missing, conflicting duplicate id,
unreadable or out-of-range values (column by column, in contract order), then the table's own
rules and references to other tables (clinicians first, then appointments, notes, assessments
and the optional tables).

A file that cannot be used at all raises :class:`IngestError` with one sentence naming the file
and the column; the CLI turns it into exit code 2.

The modules, from the bottom up (a module imports only modules above it in this list), each
in its layer as docs/architecture.md names them (read -> check -> reshape):

- :mod:`~perfkit.ingest.errors`: :class:`IngestError` (no layer: the one error).
- read: :mod:`~perfkit.ingest.columns`, the column map (:class:`ColumnMap`,
  :func:`load_column_map`) and the matching of headers to contract columns.
- read: :mod:`~perfkit.ingest.cells` (cell text, the limits on one file, the header row),
  :mod:`~perfkit.ingest.csv_files`, :mod:`~perfkit.ingest.workbook` (.xlsx and .xls read
  safely), :mod:`~perfkit.ingest.read` (a table's file found and read).
- check: :mod:`~perfkit.ingest.bookkeeping`: one verdict per row, a table's result,
  :class:`Ingested`.
- check: :mod:`~perfkit.ingest.parse` (numbers, labels, dates) and
  :mod:`~perfkit.ingest.times` (times of day, ranges, zones).
- check: :mod:`~perfkit.ingest.load`: one table's file loaded, its client key composed.
- reshape: :mod:`~perfkit.ingest.services`: a service as its kind and length.
- reshape: :mod:`~perfkit.ingest.statuses`: late cancels, who cancelled, statuses not yet
  marked.
- check: :mod:`~perfkit.ingest.check`: the rows' checks, in contract order.
- reshape: :mod:`~perfkit.ingest.reshape` (add-ons, durations, ids, names) and
  :mod:`~perfkit.ingest.notes` (notes joined to their appointments).
- reshape: :mod:`~perfkit.ingest.quality`: what the run's data quality says, and its files.
- reshape: :mod:`~perfkit.ingest.folder`: :func:`ingest`, the whole folder.

``perfkit.ingest`` is also callable as :func:`ingest` (see :mod:`perfkit`).
"""

from __future__ import annotations

from .bookkeeping import Ingested
from .columns import ColumnMap, load_column_map
from .errors import IngestError
from .folder import OUTPUT_COLUMNS, ingest
from .quality import SET_ASIDE, rows_words, run_blockers, still_to_fill, write_quality
from .statuses import STATUS_CAVEATS, not_yet_marked_words

__all__ = ["IngestError", "ColumnMap", "Ingested", "ingest", "load_column_map", "OUTPUT_COLUMNS",
           "SET_ASIDE", "STATUS_CAVEATS", "not_yet_marked_words", "rows_words", "run_blockers",
           "still_to_fill", "write_quality"]
