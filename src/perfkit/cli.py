"""The ``perfkit`` command line.

``perfkit demo``      write the synthetic demo practice (``--as NAME``: as an EHR export)
``perfkit init``      a starter roster and parameters file for a folder of EHR exports
``perfkit rules``     the licensure rule ids and CE requirements, with state, licence and hours
``perfkit validate``  check a practice data folder and print a readable data-quality summary
``perfkit run``       prepare a period's run folder (data quality, manifest, prepared snapshot)
``perfkit deliver``   hand each reader their own part of a run: ``--to DIR`` (a folder each) or
                      ``--email`` (a message each); a dry run until ``--send``

A problem the user can fix (a missing file or column, a bad parameter) ends with one sentence
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from .config import Config, ConfigError, load_config
from .contract import NO_RECORD, REASONS
from .ingest import (
    STATUS_CAVEATS,
    IngestError,
    ingest,
    not_yet_marked_words,
    rows_words,
    run_blockers,
    still_to_fill,
)
from .period import with_data_period
from .version import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="perfkit: understand and support the clinicians of a therapy practice.")

USER_ERRORS = (IngestError, ConfigError, FileNotFoundError)


def _fail(exc: Exception) -> None:
    typer.echo(f"perfkit: {exc}", err=True)
    raise typer.Exit(code=2)


def _config(params: Path | None, start: dt.datetime | None, end: dt.datetime | None,
            source: str | None = None) -> Config:
    cfg = load_config(params, source=source)
    if start or end:
        cfg = cfg.with_period(start.date() if start else None, end.date() if end else None)
    return cfg


ParamsOpt = Annotated[Path | None, typer.Option("--params", "-p", help="parameters YAML "
                                                "(default: built-in defaults)")]
MapOpt = Annotated[Path | None, typer.Option("--column-map", help="column-map YAML for EHR "
                                             "exports with other headers or labels (over "
                                             "--source's profile)")]
SourceOpt = Annotated[str | None, typer.Option(
    "--source", help="the export's shape: contract (default), simplepractice, therapynotes, "
    "generic (import profiles; see the README)")]


_KEY_CREATED = ("perfkit: created a new pseudonym key at {path}. Keep it and back it up: the "
                "same key gives every client the same pseudonym each month.")


def _say_key(created: bool, path) -> None:
    """Tell the user when this command made a new pseudonym key (and to keep it)."""
    if created:
        typer.echo(_KEY_CREATED.format(path=path), err=True)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log progress")] = False
          ) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


@app.command()
def version() -> None:
    """Print the perfkit version."""
    typer.echo(__version__)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write")] = Path("data/demo"),
    clinicians: Annotated[int, typer.Option(min=1, max=2000, help="number of clinicians")] = 12,
    months: Annotated[int, typer.Option(min=1, max=60, help="months of history")] = 12,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same practice)")] = 20261101,
    shape: Annotated[str | None, typer.Option(
        "--as", help="write it as an EHR export for an import profile: simplepractice, "
        "therapynotes, generic (then use --source NAME), or jane, owl, theranest, tebra (an "
        "appointment report of that system: use --source generic)")] = None,
) -> None:
    """Write the synthetic demo practice (CSV files shaped like an EHR export)."""
    import tempfile

    from .demo import DemoSettings, write_demo
    from .demo_exports import EXPORT_SHAPES, export_as

    if shape is not None and shape not in EXPORT_SHAPES:
        _fail(ValueError(f"--as must be one of {', '.join(EXPORT_SHAPES)}, not {shape!r}"))
    t0 = time.perf_counter()
    settings = DemoSettings(n_clinicians=clinicians, months=months, seed=seed)
    if shape is None:
        path = write_demo(out, settings)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = export_as(shape, write_demo(Path(tmp) / "demo", settings), out)
    typer.echo(f"Demo practice with {clinicians} clinicians over {months} months written to "
               f"{path} ({time.perf_counter() - t0:.1f} s).")


EXAMPLES_PER_REASON = 3  # rejected rows validate lists for each file and reason


def _summary(quality: dict, rejects, examples: int, where: str,
             roster_notes: list[str] = (), default_minutes: int | None = None) -> str:
    """The counts table, what is still to fill in, what was not provided and the notes, then a
    few rejected rows of each file and reason (``examples`` each) and where the full list is."""
    w = max([22] + [len(e["file"]) + 2 for e in quality["tables"].values() if e.get("file")])
    lines = [f"{'table':<14}{'file':<{w}}{'rows in':>10}{'accepted':>10}{'rejected':>10}"]
    for name, e in quality["tables"].items():
        if not e.get("present"):
            lines.append(f"{name:<14}{'(not provided)':<{w}}")
            continue
        lines.append(f"{name:<14}{e['file']:<{w}}{e['rows_in']:>10,}{e['rows_accepted']:>10,}"
                     f"{e['rows_rejected']:>10,}")
        if e.get("sheet"):  # which sheet of a workbook was read
            lines.append(f"{'':<14}  read from its {e['sheet']['words']}")
        if e.get("found_by_headers"):  # no file is named for the table: say which was taken
            lines.append(f"{'':<14}  taken for its headers (no file in the folder is named "
                         f"for {name})")
    lines.append(f"{'all tables':<{14 + w}}{quality['rows_in']:>10,}"
                 f"{quality['rows_accepted']:>10,}{quality['rows_rejected']:>10,}")
    notes = []
    for name, e in quality["tables"].items():
        if not e.get("present"):
            continue
        for reason, count in e["reasons"].items():
            notes.append(f"  {name}: {count:,} rejected, {REASONS.get(reason, reason)} "
                         f"({reason})")
        if e.get("empty_columns") and name != "clinicians":  # a roster's own blanks say nothing
            notes.append(f"  {name}: columns present but empty in every row are read as not "
                         f"provided: {', '.join(e['empty_columns'])}")
        if e.get("not_statuses"):
            notes.append(f"  {name}: the column {e['not_statuses']!r} holds mostly text that is "
                         "not a note status (free text?): read as not provided, and none of it "
                         "is shown")
        for c in e.get("columns_chosen", []):  # two headers read as one column
            others = " and ".join(repr(o) for o in c["ignored"])
            notes.append(f"  {name}: {c['used']!r} and {others} both read as {c['column']}: "
                         f"{c['used']!r} was used; to use the other, ignore {c['used']!r} in "
                         f"a column map (columns: {{{name}: {{{c['used']!r}: ignore}}}})")
        if e["dropped_columns"]:
            notes.append(f"  {name}: columns outside the contract were dropped and never "
                         f"copied: {', '.join(e['dropped_columns'])}")
        for what, count in e["adjustments"].items():
            if what == "not_yet_marked":  # the sentence the practice report gives
                notes.append(f"  {name}: {not_yet_marked_words(quality)}")
                continue
            if what == "title_rows_above_header":  # rows of the file, not of the table
                rows = "the row above it was" if count == 1 else \
                    f"the {count} rows above it were"
                notes.append(f"  {name}: the header is on row {count + 1}; {rows} read as a "
                             "title, not as part of the table (rows in rejects.csv keep their "
                             "place: its row N is the file's row N + 1)")
                continue
            notes.append(f"  {name}: {count:,} row{'s' * (count != 1)} "
                         f"{adjustment_words(what, default_minutes) or what.replace('_', ' ')}"
                         + (_email_rows(e) if what == "email_not_an_address" else ""))
    notes += [f"  appointments: {c}" for c in (quality.get("source") or {}).get("caveats", [])
              if c in STATUS_CAVEATS]  # what the export cannot say, as the reports say it
    doc = quality.get("documentation") or {}
    if not doc.get("known", True):  # ingest's sentence, as the reports give it
        notes += [f"  notes: {c}" for c in (quality.get("source") or {}).get("caveats", [])
                  if "not known from this export" in c]
    elif doc.get("note_status"):
        notes.append(f"  notes: note statuses describe the export of {doc['exported_at']} "
                     f"(from the {doc['exported_at_source']}; set exported_at if that is not "
                     "when it was taken)" + ("" if doc.get("signing_times") else
                                             "; with no signing times, how quickly notes were "
                                             "signed is not known"))
    for f in quality.get("unused_files", []):  # named almost as a table: named
        notes.append(f"  {f['file']} was not read; did you mean {f['closest_table']}.csv?")
    others = quality.get("other_files", 0)  # any other name may be a client's: counted only
    if others:
        notes.append(f"  {others} other file{'s' * (others != 1)} in the data folder "
                     f"{'were' if others != 1 else 'was'} not read: "
                     f"{'they match' if others != 1 else 'it matches'} no table of the data "
                     "contract")
    notes += [f"  {line}" for line in roster_notes]
    todo = still_to_fill(quality)
    if todo:
        lines += ["", "Still to fill in:"] + todo
    left = quality.get("clinicians_left_out") or []
    if left:
        lines += ["", "Clinicians named in the export whose rows are left out (perfkit run "
                      "stops until they are on the roster, or runs with "
                      "--skip-unknown-clinicians):"]
        for e in left:
            rows = rows_words(e["tables"])
            why = ("on the roster, but its roster row was rejected" if e["on_roster"] else
                   f"not on the roster; closest: {e['closest']!r}" if e["closest"] else
                   "not on the roster")
            lines.append(f"  {e['clinician']!r}: {rows} ({why})")
    absent = _not_provided(quality)
    if absent:
        lines += ["", "Not provided (what stays unknown without it; add the file when you keep "
                      "such records):"] + absent
    lines += _history(quality)
    if notes:
        lines += ["", "Notes:"] + notes
    if not len(rejects):
        return "\n".join(lines + ["", "No rows rejected."])
    if examples > 0:
        lines += ["", f"Rejected rows, up to {examples} of each reason (row 1 is the first row "
                      "under the header):"]
        shared = rejects.groupby("file")["table"].nunique()  # a file read as two tables
        for (file, table, reason), rows in rejects.groupby(["file", "table", "reason"],
                                                           sort=False):
            label = f"{file} ({table})" if shared.get(file, 1) > 1 else file
            lines.append(f"  {label}, {reason} ({len(rows):,} row{'s' * (len(rows) != 1)}):")
            lines += _labels_not_known(rows, table)
            for r in rows.head(examples).itertuples():
                lines.append(f"    row {r.row}, column {r.column or '-'}: {r.detail}")
            if len(rows) > examples:
                lines.append(f"    ... and {len(rows) - examples:,} more")
    n = len(rejects)
    lines += ["", f"All {n:,} rejected row{'s' * (n != 1)} with their reasons: {where}."]
    return "\n".join(lines)


_NOT_KNOWN = re.compile(r"^(\w+) '(.*)' is not a known \w+ \(allowed")


def _labels_not_known(rows, table: str) -> list[str]:
    """Every distinct label a column did not know, with its rows, and how to map one: a
    handful of examples would hide the other labels behind "... and 12 more". Only labels
    the rejects quote (short ones: a long text is never quoted) are listed."""
    found = rows["detail"].astype(str).str.extract(_NOT_KNOWN).dropna()
    if found.empty or found[1].nunique() < 2:
        return []
    column = found[0].iloc[0]
    counts = found[1].value_counts()
    shown = ", ".join(f"'{k}' ({n:,})" for k, n in counts.head(12).items())
    more = f" and {len(counts) - 12} more" if len(counts) > 12 else ""
    first = counts.index[0]
    return [f"    labels not known: {shown}{more}; map each in a column map, e.g. values: "
            f"{{{table}: {{{column}: {{'{first}': ...}}}}}}"]


# adjustments in data_quality.json whose key does not read as words by itself
_ADJUSTED = {"start_date_month_only": "with a start date known only to the month, read as the "
                                      "first day of that month",
             "end_date_month_only": "with an end date known only to the month, read as the "
                                    "last day of that month",
             "clinician_cancelled_from_cancelled_by": "cancelled by the clinician's side "
                                                      "(the 'cancelled by' column: provider, "
                                                      "practice, staff), counted as "
                                                      "cancelled by the clinician, not as "
                                                      "missed",
             "cancelled_by_not_recognised": "cancelled with a 'cancelled by' value that names "
                                            "neither the client nor the clinician's side: kept "
                                            "as the client's cancellation the status gives",
             "late_cancel_from_cancellation_time": "cancelled less than the policy window "
                                                   "(late_cancel_window_hours) before the "
                                                   "start, counted as late cancellations",
             "cancellation_time_without_time_of_day": "cancelled with a cancellation time or "
                                                      "start that has no time of day, so "
                                                      "whether it was late is not known: "
                                                      "kept as a cancellation",
             "status_empty_read_as_booked": "with an empty status after the export was taken, "
                                            "read as booked (not yet happened)",
             "duration_default": "of attended sessions with no length in the export (no "
                                 "duration, end time, billing code or minutes in the service "
                                 "name) given the default session length "
                                 "(services.default_session_minutes in the parameters), "
                                 "flagged as estimated",
             "duration_from_service_name": "with the session length read from the minutes "
                                           "written in the service name (such as 'Individual "
                                           "Therapy 50 min'), flagged as estimated",
             "service_from_name": "with the kind of service read from a treatment name: "
                                  "other for a free, phone or discovery consultation, "
                                  "admin time, a meeting, blocked time, supervision or "
                                  "training; intake when it says intake, initial, first, "
                                  "assessment, evaluation or consultation; therapy otherwise",
             "duration_from_text": "with the session length written as text in the duration "
                                   "column (such as '50 min', '0:50' or '1h 30m'), read as "
                                   "minutes",
             "duration_unreadable_set_aside": "with a duration perfkit could not read as "
                                              "minutes, left aside (an attended session took "
                                              "its length from the end time, billing code, "
                                              "treatment name or the default length instead)",
             "start_from_date_and_time": "with the start read from a date and a time of day "
                                         "in separate columns (a local time in the practice's "
                                         "time zone)",
             "end_from_time_range": "with the end read from a time range (such as 9:00 AM - "
                                    "9:53 AM; an end before the start is on the next day)",
             "end_time_on_start_day": "with an end given as a time of day alone, read on "
                                      "the start's day (the next day when it is before the "
                                      "start)",
             "title_rows_above_header": "above the header read as a title (the report's name, "
                                        "its dates), not as part of the table",
             "separated_by_semicolons": "read with semicolons between values (not commas)",
             "separated_by_tabs": "read with tabs between values (not commas)",
             "separated_by_bars": "read with bars (|) between values (not commas)",
             "time_not_read": "with a time of day that could not be read, not needed (the "
                              "start has a time of its own)",
             "time_in_another_zone": "with a time of day written with a time zone other than "
                                     "the practice's (such as EST), read as the practice's "
                                     "local time",
             "cancellation_time_not_read": "with a cancellation time that is not a date and "
                                           "time, read as empty",
             "end_not_used": "cancelled or missed with an end time not after the start (or "
                             "too long after it): the end is left out, the appointment kept",
             "start_repeated_hour_from_end": "starting in the hour repeated when the clocks "
                                             "went back, read as its second occurrence because "
                                             "the end time makes that the session's length",
             "email_not_an_address": "with an email that is not one plain address (such as "
                                     "name@example.org): the clinician is kept, the email left "
                                     "empty, and perfkit deliver sends them nothing until it is "
                                     "corrected",
             "add_on_lines_folded": "of add-on billing lines (such as an interactive-complexity "
                                    "code) joined to the session they belong to: their minutes "
                                    "count with that session, not as sessions of their own",
             "appointment_id_generated": "with no appointment number in the export, given one "
                                         "made from clinician, client and start (the same "
                                         "in every later export)",
             "clinician_inferred": "of measures with no clinician, given the clinician of the "
                                   "client's latest session on or before that day",
             "duration_from_code": "with the session length taken from the billing code's "
                                   "usual length (services.codes in the parameters), flagged "
                                   "as estimated",
             "duration_from_end": "with the session length worked out from the start and end "
                                  "times",
             "late_cancel_from_fee": "cancelled with a late fee charged, counted as late "
                                     "cancellations",
             "not_yet_marked": "of the period not yet marked (attended, missed or cancelled): "
                               "left out of the missed-appointment rates",
             "scheduled_after_export": "marked as attended but after the export was taken, "
                                       "read as booked (not yet happened)",
             "start_date_only": "with a start date and no time of day: how quickly their "
                                "notes were signed is counted in whole days",
             "total_from_items": "with no total score, given the sum of the item scores",
             "total_prorated": "with a few items unanswered, given a total scaled up from the "
                               "items answered (prorated, as the measure allows)",
             "with_an_item9_followup_that_is_not_yes_no_or_a_date": "with a follow-up to the "
                                                                    "self-harm item that is "
                                                                    "not yes, no or a date: "
                                                                    "shown as unclear, to "
                                                                    "look up in the records"}

# words for keys named for a column (ingest writes "<column>_month_only" and the like)
_ADJUSTED_FOR_COLUMN = {
    "_ambiguous_local_time_first_occurrence": "with {col} at a local time that happens twice "
                                              "when the clocks go back, read as the first of "
                                              "the two",
    "_from_name": "where the export gives {col} by name, matched to the roster's names",
}
_COLUMN_WORDS = {"clinician_id": "the clinician", "supervisee_id": "the supervisee",
                 "supervisor_id": "the supervisor"}




def input_rows_words(dq: dict) -> str:
    """The run summary's count of input rows: each row of a file once (a file read as two
    tables is one row each), rows that are no record to use (rescheduled, totals) apart from
    rows rejected for a mistake."""
    rows = dq.get("input_rows")
    if rows is None:  # a data-quality summary written before these counts
        return f"{dq['rows_rejected']:,} table rows rejected"
    aside = rows.get("set_aside") or {}
    n = sum(aside.values())
    said = f"{rows['rejected']:,} of {rows['rows']:,} input rows rejected"
    if n:
        said += (f"; {n:,} left out as no record to use ("
                 + ", ".join(f"{c:,} row{'s' * (c != 1)} {NO_RECORD.get(k, k)}"
                             for k, c in aside.items())
                 + ")")
    return said


def adjustment_words(key: str, default_minutes: int | None = None) -> str | None:
    """The plain words validate gives after "N rows" for an ingest adjustment key (None: none
    known). ``default_minutes`` is the default session length, said where it was used."""
    if key == "duration_default" and default_minutes:
        return (f"of attended sessions with no length in the export (no duration, end time, "
                f"billing code or minutes in the service name) given the default session "
                f"length of {default_minutes} minutes (services.default_session_minutes in the "
                "parameters), flagged as estimated")
    if key in _ADJUSTED:
        return _ADJUSTED[key]
    for end, words in _ADJUSTED_FOR_COLUMN.items():
        if key.endswith(end) and len(key) > len(end):
            col = key[:-len(end)]
            return words.format(col=_COLUMN_WORDS.get(col, col.replace("_", " ")))
    return None


def _email_rows(entry: dict) -> str:
    """Where the roster's unusable email addresses are: file, column and rows (the values are
    contact details and never printed)."""
    rows = entry.get("invalid_email_rows") or []
    shown = ", ".join(map(str, rows[:10])) + (f" and {len(rows) - 10} more" if len(rows) > 10
                                              else "")
    return f" ({entry['file']}, column email, row{'s' * (len(rows) != 1)} {shown})"


def _rule_notes(clinicians, cfg: Config) -> list[str]:
    """What validate says about licensure rules and CE requirements: a rule taken from a
    pre-licensed clinician's license type and the practice's state (or why none is), and
    license types whose CE requirement is another state's. One line per sentence, with the
    clinician ids it concerns."""
    from .report.ledger_words import licensure_note, reason_words
    from .supervision import ce_requirement, licensure_rules_for, load_rules

    def ids(who) -> str:
        some = sorted(map(str, who))
        return ", ".join(some[:5]) + (f" and {len(some) - 5} more" if len(some) > 5 else "")

    found = licensure_rules_for(clinicians, cfg, load_rules(cfg))
    found = found.assign(note=found["reason"].map(licensure_note))
    out = []
    for note, rows in found[found["taken"] != "roster"].groupby("note", sort=False):
        took = rows["taken"].iloc[0] == "default"
        out.append(f"clinicians: {ids(rows['clinician_id'])}: {note}"
                   + (" (write it in licensure_rule to keep it)" if took else
                      " ('perfkit rules' lists the rules)"))
    types = clinicians["license_type"].dropna().astype(str)
    for lt in sorted(set(types[types != ""])):
        req, why = ce_requirement(lt, cfg)
        if req is None and cfg.supervision.ce_requirements.get(lt) is not None:
            who = clinicians.loc[types[types == lt].index, "clinician_id"]
            out.append(f"clinicians: {ids(who)}: {reason_words(why)}")
    return out


def _history(quality: dict) -> list[str]:
    """The "History:" block: how far back (and forward) each table reaches, and which figures
    of the period that limits (``data_quality.json`` ``coverage``)."""
    from .report.coverage_words import LIMITED, limit_words
    from .report.format import date_words

    cov = quality.get("coverage") or {}
    spans = cov.get("tables") or {}
    if not spans:
        return []
    lines = ["", "History (where each table's data begin and end):"]
    for name, c in spans.items():
        if not c.get("first"):
            lines.append(f"  {name}: no dated rows")
            continue
        days = c["days"]
        length = f"{days} days" if days < 14 else f"{round(days / 7)} weeks"
        lines.append(f"  {name}: {date_words(c['first'])} to {date_words(c['last'])} ({length})")
    limits = cov.get("limits") or []
    if not limits:
        lines.append("  That reaches back far enough for every figure of the period.")
    for lim in limits:
        who = f" ({', '.join(lim['clinicians'])})" if lim.get("clinicians") else ""
        lines.append(f"  Limits {LIMITED.get(lim['figure'], lim['figure'])}{who}: "
                     f"{limit_words(lim)}")
    return lines


# what an optional table that is not provided leaves unknown
_TABLE_NEEDS = {
    "assessments": "outcome figures (PHQ-9, GAD-7, PCL-5, ORS) and the growth models",
    "time_off": "time off: capacity counts every weekday of employment",
    "supervision": "supervision hours and licensure compliance",
    "goals": "development goals in the supervision packs",
    "reviews": "competency reviews and when one is due",
    "ce": "continuing-education hours toward license renewal",
}


def _not_provided(quality: dict) -> list[str]:
    return [f"  {name}.csv: {need}" for name, need in _TABLE_NEEDS.items()
            if not quality["tables"].get(name, {}).get("present")]


@app.command()
def rules(params: ParamsOpt = None) -> None:
    """List the licensure rule ids (licensure_rule in clinicians.csv) and the
    continuing-education requirements (by license_type), with state, licence, hours and
    source; --params adds the practice's own rule folder (supervision.rules_dir)."""
    from .supervision import load_rules

    try:
        cfg = load_config(params)
        found = load_rules(cfg)
    except USER_ERRORS as exc:
        _fail(exc)
    typer.echo(_rules_text(found, cfg, params))


def _rules_text(found: dict, cfg: Config, params: Path | None) -> str:
    import textwrap

    from .supervision import rule_words, shipped_rules_dir

    where = (f"from {params}" if params is not None else
             "the built-in demo settings: set state in your parameters and pass --params")
    state = ", ".join(cfg.state) if cfg.state else "not set"
    def para(text: str) -> list[str]:
        return textwrap.wrap(text, 100, break_long_words=False, break_on_hyphens=False)

    lines = para(f"Practice state: {state} ({where}). A rule or requirement with a state is "
                 "taken by license type only where that is the practice's state ('here').")
    lines += [""] + para(
        "Licensure rules: the id goes in licensure_rule of clinicians.csv; a pre-licensed "
        "clinician without one takes the one rule marked 'here' that lists their license_type "
        "(a rule without a state only by its id). Read from " + str(shipped_rules_dir())
        + (f" and {cfg.supervision.rules_dir}" if cfg.supervision.rules_dir else "") + ".")
    ordered = sorted(found.values(), key=lambda r: (r.state or "", r.id))
    rows = [(r.id, r.state or "-", f"{', '.join(r.license_types) or '-'} -> "
             f"{r.leads_to or '-'}", "yes" if r.state and r.state in cfg.state else "no",
             rule_words(r)) for r in ordered]
    lines += [""] + _columns(("id", "state", "licence", "here", "key numbers"), rows)
    for r in ordered:
        lines += textwrap.wrap(f"{r.id}: {r.citation}", 100, initial_indent="  ",
                               subsequent_indent="      ", break_long_words=False,
                               break_on_hyphens=False)
    ce = cfg.supervision.ce_requirements
    lines += [""] + para("Continuing education, by license_type of clinicians.csv "
                         "(supervision.ce_requirements in the parameters; one without a state "
                         "applies wherever it is set):") + [""]
    rows = [(lt, req.state or "-", f"{req.hours:g}", f"{req.cycle_years} year"
             + "s" * (req.cycle_years != 1), "yes" if req.state is None
             or req.state in cfg.state else "no", req.source or "-")
            for lt, req in sorted(ce.items(), key=lambda kv: (kv[1].state or "", kv[0]))]
    lines += _columns(("license", "state", "hours", "every", "here", "source"), rows)
    return "\n".join(lines)


def _columns(header: tuple, rows: list[tuple]) -> list[str]:
    """Plain text columns, each as wide as its longest value (the last one as it is)."""
    widths = [max(len(str(v)) for v in col) + 2 for col in zip(header, *rows, strict=True)]
    return ["".join(f"{v!s:<{w}}" for v, w in zip(row[:-1], widths, strict=False)) + str(row[-1])
            for row in (header, *rows)]


@app.command()
def init(
    data_dir: Annotated[Path, typer.Argument(help="the folder of exported reports")],
    source: SourceOpt = None,
    params: ParamsOpt = None,
    column_map: MapOpt = None,
) -> None:
    """Write a starter roster (clinicians.csv) and parameters file (practice.yaml) for a
    folder of EHR exports; existing files are never overwritten. A column map (--column-map,
    or column_map in --params) is read with the export and written into practice.yaml."""
    from .starter import write_starter

    try:
        cfg = load_config(params, source=source)
        if params is None:  # the built-in settings' states are the demo's, not this practice's
            cfg = cfg.model_copy(update={"state": ()})
        if column_map is not None:  # as validate and run: over the parameters' own map
            if not column_map.is_file():
                raise IngestError(f"column map {column_map} does not exist")
            cfg = cfg.model_copy(update={"column_map": column_map.resolve()})
        st = write_starter(data_dir, cfg)
        rules_said = _state_rules(cfg) if st.parameters_written else ""
    except USER_ERRORS as exc:
        _fail(exc)
    typer.echo(f"Read the appointments from {st.report}"
               + (" (no file is named for them: taken for its headers)."
                  if st.found_by_headers else "."))
    if st.roster_written:
        typer.echo(f"Wrote {st.roster} with the {st.clinicians} clinicians named in the export. "
                   "Fill in license_status, start_date and weekly_capacity_hours for each "
                   "(supervisor_id and license_type where they apply).")
    else:
        typer.echo(f"{st.roster} exists: left as it is.")
    if st.parameters_written:
        covered = f" (the export covers {st.period[0]} to {st.period[1]})" if st.period else ""
        typer.echo(f"Wrote {st.parameters}{covered}: set your practice name, time zone and "
                   "state" + ("." if st.period else ", and the period."))
        if st.period is None:
            typer.echo("No attended appointment with a readable date was found in the export, "
                       "so the period it covers is not known: period_start and period_end are "
                       "left for you to set in practice.yaml (perfkit validate says why no row "
                       "was read).")
        typer.echo(f"exported_at is {st.exported_at:%Y-%m-%d %H:%M} ({st.exported_from}): "
                   "change it if you downloaded the reports at another time.")
        typer.echo(rules_said)
    else:
        typer.echo(f"{st.parameters} exists: left as it is.")
    typer.echo(f"Then: perfkit validate {data_dir} --params {st.parameters}")


def _state_rules(cfg: Config) -> str:
    """init's sentence on licensure rules: those of the practice's state, or how to find them."""
    from .supervision import load_rules

    if not cfg.state:
        return ("state is not set: write your state's two-letter code in practice.yaml; "
                "'perfkit rules' lists the licensure rules and CE requirements of each state.")
    mine = [f"{r.id} ({', '.join(r.license_types) or '-'} -> {r.leads_to or '-'})"
            for r in sorted(load_rules(cfg).values(), key=lambda r: r.id)
            if r.state in cfg.state]
    return (f"Licensure rules of {', '.join(cfg.state)}: {'; '.join(mine) or 'none shipped'}. "
            "A pre-licensed clinician without licensure_rule takes the one that lists their "
            "license_type ('perfkit rules' lists all).")


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(help="practice data folder")],
    params: ParamsOpt = None,
    column_map: MapOpt = None,
    source: SourceOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="also write the prepared "
                                             "snapshot, data_quality.json and rejects.csv "
                                             "here")] = None,
    examples: Annotated[int, typer.Option(
        "--examples", "--max-rows", min=0, help="rejected rows listed for each file and reason "
        "(default 3; 0 lists none); the full list goes to rejects.csv with --out")]
    = EXAMPLES_PER_REASON,
    strict: Annotated[bool, typer.Option(help="exit 1 when any row is rejected")] = False,
) -> None:
    """Check a practice data folder against the data contract and summarise what was found."""
    try:
        cfg = load_config(params, source=source)
        cfg, found = with_data_period(cfg, data_dir, column_map=column_map, required=False)
        if out is not None:  # a new or empty folder, or an earlier validate's; never a run
            from .pipeline import validate_into

            prep = validate_into(data_dir, cfg, out, column_map=column_map)
            quality, rejects, key = prep.quality, prep.rejects, prep.key
            roster = prep.tables["clinicians"]
        else:
            ing = ingest(data_dir, cfg, column_map=column_map)
            quality, rejects, key = ing.quality, ing.rejects, ing.key
            roster = ing.tables["clinicians"]
        roster_notes = _rule_notes(roster, cfg)
    except USER_ERRORS as exc:
        _fail(exc)
    _say_key(key is not None and key.created, key.path if key else None)
    if found is not None:  # the period comes from the data, never the demo's
        typer.echo(found.words("the checks use the period") + "\n")
    typer.echo(f"Data quality for {data_dir} (times in {quality['time_zone']}):\n")
    where = (f"{Path(out) / 'rejects.csv'}" if out else
             "add --out FOLDER to write them all to FOLDER/rejects.csv (with the data-quality "
             "summary and the prepared snapshot)")
    typer.echo(_summary(quality, rejects, examples, where, roster_notes,
                        cfg.services.default_session_minutes))
    unusable = run_blockers(quality, skip_unknown=True)
    if unusable:  # what validate found is the answer; the run would stop on it
        typer.echo(f"\nperfkit run would stop here: {unusable}.")
    empty = _no_accepted_rows(quality)
    if empty:  # the check itself failed: exit 1, as --strict does (2 is for "cannot check")
        typer.echo(f"perfkit: {empty}", err=True)
        raise typer.Exit(code=1)
    if strict and quality["rows_rejected"]:
        raise typer.Exit(code=1)


def _no_accepted_rows(quality: dict) -> str:
    """validate's sentence when a required table (clinicians, appointments, notes) that is
    present has no accepted row; empty when each has one."""
    from .contract import TABLES

    empty = [f"{name} ({e['file']})" for name, e in quality["tables"].items()
             if TABLES[name].required and e.get("present") and not e["rows_accepted"]]
    if not empty:
        return ""
    which = empty[0] if len(empty) == 1 else ", ".join(empty[:-1]) + " and " + empty[-1]
    return (f"no row was accepted in {which}, so there is nothing to run yet: "
            "the summary above says why each row was rejected or what is still to fill in.")


@app.command()
def run(
    data: Annotated[Path, typer.Option("--data", "-d", help="practice data folder")],
    params: ParamsOpt = None,
    period_start: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"],
                            help="first day of the period (default: from parameters, else "
                            "the last 3 whole months of the data's sessions)")] = None,
    period_end: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"],
                          help="day after the period; metrics are as of this date")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="run folder (default: "
                                             "reports/<period_end>)")] = None,
    column_map: MapOpt = None,
    source: SourceOpt = None,
    tables_only: Annotated[bool, typer.Option("--tables-only", help="compute the tables "
                                              "without rendering reports (for schedulers and "
                                              "BI tools)")] = False,
    clinician: Annotated[list[str] | None, typer.Option("--clinician", help="render reports "
                         "for this clinician only (repeatable)")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="parallel report workers "
                       "(default: number of cores)")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="render the reports for "
                    "this role only: owner (practice report), supervisor (one pack per "
                    "supervisor), clinician (one self-view each); repeatable, default all")]
    = None,
    new_pseudonym_key: Annotated[bool, typer.Option(
        "--new-pseudonym-key", help="accept a pseudonym key that differs from the earlier "
        "runs' in the same reports folder (client pseudonyms will not match theirs)")] = False,
    compare_to: Annotated[Path | None, typer.Option(
        "--compare-to", help="an earlier run folder to compare with (default: the latest "
        "earlier period in the same reports folder)")] = None,
    skip_unknown_clinicians: Annotated[bool, typer.Option(
        "--skip-unknown-clinicians", help="leave out the rows of clinicians who are not on the "
        "roster (or whose roster row was rejected) instead of stopping; the practice report "
        "says how many rows were left out")] = False,
) -> None:
    """Run a period: validated snapshot, data quality, metric tables and manifest."""
    from .pipeline import ReportsFailed, run_period

    try:
        cfg = _config(params, period_start, period_end, source)
        cfg, found = with_data_period(cfg, data, column_map=column_map)
        manifest = run_period(data, cfg, out=out, column_map=column_map, params_file=params,
                              tables_only=tables_only, clinicians=clinician, workers=workers,
                              progress=sys.stderr.isatty(), roles=role,
                              new_pseudonym_key=new_pseudonym_key,
                              compare_to=compare_to,
                              skip_unknown_clinicians=skip_unknown_clinicians)
    except USER_ERRORS as exc:
        _fail(exc)
    except ReportsFailed as exc:  # not the user's mistake: exit 1, the previous run kept
        typer.echo(f"perfkit: {exc}", err=True)
        raise typer.Exit(code=1) from None
    _say_key(manifest["pseudonym_key"]["created_by_this_run"], cfg.pseudonym_key_file)
    failed = [o for o in manifest["outputs"] if o["status"] != "ok"]
    if found is not None:  # the period came from the data, never the demo's
        typer.echo(found.words("this run covers"))
    typer.echo(f"Run folder {manifest['run_folder']}: {len(manifest['outputs'])} outputs, "
               f"{len(failed)} failed; {input_rows_words(manifest['data_quality'])} (see "
               "data_quality.json and rejects.csv).")
    if failed:
        for o in failed:
            typer.echo(f"  failed: {o['path']}: {o['message']}", err=True)
        raise typer.Exit(code=1)


@app.command()
def deliver(
    run_folder: Annotated[Path, typer.Argument(help="the run folder, e.g. reports/2026-11-01")],
    to: Annotated[Path | None, typer.Option("--to", help="copy each reader's part into a "
                                            "folder of its own below this one")] = None,
    email: Annotated[bool, typer.Option("--email", help="send each reader their own files "
                                        "by e-mail (delivery: in the parameters)")] = False,
    send: Annotated[bool, typer.Option("--send", help="really send or copy; without it, list "
                                       "who would get what (a dry run)")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="deliver again what was already "
                                         "delivered to the same address or folder")] = False,
    params: Annotated[Path | None, typer.Option("--params", "-p", help="parameters YAML for "
                      "the delivery: settings (default: those the run was made with)")] = None,
) -> None:
    """Hand each reader their own part of a run, and nothing of anyone else's: the owner the
    practice report, each clinician their self-view, each supervisor their pack. A dry run
    until --send; what was delivered is recorded in the run's delivery.json."""
    from .deliver import DeliveryError, describe, period_words
    from .deliver import deliver as run_delivery

    try:
        outcomes = run_delivery(run_folder, to=to, email=email, send=send, resend=resend,
                                params=params)
        manifest = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    except (*USER_ERRORS, DeliveryError) as exc:
        _fail(exc)
    for line in describe(outcomes, run=run_folder, period=period_words(manifest),
                         channel="email" if email else "folder", send=send):
        typer.echo(line)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        typer.echo(f"perfkit: {len(failed)} of {len(outcomes)} readers' reports could not be "
                   "sent (above); the others were. Run the same command again to send the "
                   "rest.", err=True)
        raise typer.Exit(code=1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())

