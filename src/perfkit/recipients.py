"""Who reads each output of a run: each reader gets only their own.

A run's outputs belong to one of four readers (``manifest.json`` records it for every output):

- ``owner``: the owner's index (``index.html``), the practice report and the owner's tables
  (:data:`OWNER_TABLES`);
- ``clinician`` (with ``reader_id``): a clinician's own report and their own index;
- ``supervisor`` (with ``reader_id``): a supervisor's pack (and their own index when they see
  no clients themselves);
- ``run record``: everything else (the prepared snapshot, rejected rows, the executed
  notebooks, the tables with client rows or supervision content, and every table's typed
  copy ``tables/name.parquet``, for programs: a reader gets the CSV), which the reports read
  and nobody receives.

This module is deliberately light (no pandas, no models): the report batch imports it in the
caller's process.
"""

from __future__ import annotations

from pathlib import PurePosixPath

__all__ = ["OWNER_TABLES", "RUN_RECORD", "with_readers"]

# The owner's tables: per clinician and practice-level figures, with no row about a client and
# no supervision content (ledgers, goals, ratings, CE titles, who supervises whom). They are the
# only tables in the owner's part of a run (its index links them; ``perfkit deliver`` hands them
# over). Every other table belongs to the run record: the reports read it, nobody receives it.
OWNER_TABLES = frozenset({
    "clinician_metrics", "weekly_metrics", "practice_summary", "metric_spread", "workforce",
    "ramp", "outcomes_by_clinician", "outcomes_practice", "funnel", "clinician_effects",
    "model_summary", "changes", "history", "renewals",
})

RUN_RECORD = "run record"


def with_readers(outputs: list[dict]) -> list[dict]:
    """Every output with its reader (``reader``, and ``reader_id`` for a clinician or
    supervisor): ``owner`` for the owner's index, the practice report and the owner's tables;
    ``clinician`` or ``supervisor`` with their id for a self-view, a pack and that person's own
    index (an output carrying ``reader_index_of``); ``run record`` for everything else."""
    roles: dict[str, set[str]] = {}
    for o in outputs:
        if o.get("role") in ("clinician", "supervisor"):
            roles.setdefault(o["id"], set()).add(o["role"])
    out = []
    for o in outputs:
        o = dict(o)
        pid = o.pop("reader_index_of", None)
        path = PurePosixPath(o["path"])
        if o.get("role") == "owner" or o["path"] == "index.html" or (
                path.parts[0] == "tables" and len(path.parts) == 2
                and path.stem in OWNER_TABLES and path.suffix != ".parquet"):
            o["reader"], o["reader_id"] = "owner", None
        elif o.get("role") in ("clinician", "supervisor"):
            o["reader"], o["reader_id"] = o["role"], o["id"]
        elif pid is not None:
            o["reader"] = "clinician" if "clinician" in roles.get(pid, ()) else "supervisor"
            o["reader_id"] = pid
        else:
            o["reader"], o["reader_id"] = RUN_RECORD, None
        out.append(o)
    return out
