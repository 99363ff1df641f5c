"""The index pages of a run: what each reader opens first, linking only their own reports.

- ``index.html``, the owner's index (:func:`write_index`): the practice report and the owner's
  tables; the clinicians' own reports and the supervision packs are counted, never linked;
- ``readers/<file stem>/index.html``, each clinician's and supervisor's own index
  (:func:`write_reader_indexes`): their self-view and, for a supervisor, their pack.

:func:`write_indexes` writes both after a batch (:func:`perfkit.render.render_reports`);
:func:`index_page` is the page itself, also used for the delivered copies
(:mod:`perfkit.deliver`). No scripts, no external resources; every text escaped.
"""

from __future__ import annotations

import html
from pathlib import Path

from .hostile_text import href
from .io import atomic_write_text
from .page_style import page_css
from .recipients import OWNER_TABLES

__all__ = ["write_indexes", "write_index", "write_reader_indexes", "index_page",
           "owner_table_paths", "NOT_A_RISK_CHANNEL", "TABLE_WORDS", "READERS_DIR"]

# Each clinician's and supervisor's own index: ``readers/<file stem>/index.html``.
READERS_DIR = "readers"


def write_indexes(folder: Path, results: list[dict], practice_name: str, period: str,
                  clinicians, supervisors) -> None:
    """The owner's ``index.html`` and each other reader's own index; each clinician's and
    supervisor's result row names its reader's index (``reader_index``)."""
    write_index(folder, results, practice_name, period)
    names = {pid: name for pid, name in [*(supervisors or []), *clinicians]}
    where = {w["id"]: w["path"] for w in write_reader_indexes(folder, results, practice_name,
                                                              period, names)}
    for r in results:
        if r.get("id") in where and r.get("role") != "owner":
            r["reader_index"] = where[r["id"]]


def index_page(title: str, heading: str, lead: str, rows: list[dict], after: str = "",
               tables: list[dict] = ()) -> str:
    """An index page (no scripts, no external resources): a heading, one line on whom it is
    for, a table of reports and, when given, a table of data tables for analysts. Each row is
    ``{"href": relative link or None, "text": what it is, "status": "ok" or "failed",
    "note": why it is missing}``. Every text is escaped here; ``after`` is HTML the caller
    built from escaped parts."""
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<style>{page_css(title)}</style></head><body><main>"
            f"<h1>{html.escape(heading)}</h1><p>{html.escape(lead)}</p>"
            + _link_table("Your reports", rows) + after)
    if tables:
        page += ("<h2>Tables for analysts</h2><p>The figures behind the report, as CSV files "
                 "to open in a spreadsheet.</p>" + _link_table("Tables for analysts", tables))
    return page + "</main></body></html>\n"


def _link_table(caption: str, rows: list[dict]) -> str:
    """Rows of links with their status; a Note column only when a row has a note."""
    notes = any(r.get("note") for r in rows)
    body = []
    for r in rows:
        text = html.escape(r["text"])
        link = (f'<a href="{href(r["href"])}">{text}</a>'
                if r.get("href") and r["status"] == "ok" else text)
        state = "ready" if r["status"] == "ok" else "could not be produced"
        note = f"<td>{html.escape(r.get('note') or '')}</td>" if notes else ""
        body.append(f"<tr><td>{link}</td><td>{state}</td>{note}</tr>")
    return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>"
            "<th scope=\"col\">File</th><th scope=\"col\">Status</th>"
            + ("<th scope=\"col\">Note</th>" if notes else "")
            + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>")


# Under every index (in the run and when delivered).
NOT_A_RISK_CHANNEL = ("These reports are not a risk channel: anything about a client's safety "
                      "is handled in the session and in the EHR the same day.")

# The owner's tables as the owner's index describes them.
TABLE_WORDS = {
    "clinician_metrics": "each clinician's figures for the period",
    "weekly_metrics": "each clinician's weekly figures",
    "practice_summary": "the practice in one row",
    "metric_spread": "the spread of each figure across clinicians",
    "workforce": "starters, leavers, turnover and tenure",
    "ramp": "new clinicians' first weeks",
    "outcomes_by_clinician": "outcome rates per clinician and measure",
    "outcomes_practice": "outcome rates for the practice",
    "funnel": "the funnel plot's points and limits",
    "clinician_effects": "the growth model's clinician estimates",
    "model_summary": "the growth models' fit",
    "changes": "flags then and now, against the compared run",
    "history": "key figures in earlier runs",
    "renewals": "licences: CE hours and reviews due",
}


def owner_table_paths(folder: Path) -> list[str]:
    """The owner's tables a run folder holds (``recipients.OWNER_TABLES``), as relative paths."""
    found = []
    for name in sorted(OWNER_TABLES):
        for ext in (".csv", ".json"):
            if (folder / "tables" / f"{name}{ext}").is_file():
                found.append(f"tables/{name}{ext}")
    return found


def write_index(folder: Path, results: list[dict], practice_name: str, period: str) -> Path:
    """``index.html``, the owner's index: the practice report and the owner's tables, nothing
    of anyone else's. The clinicians' own reports and the supervision packs are counted, never
    linked: each belongs to its reader alone (a supervisee's pack must not reach an employer
    who is also their supervisor)."""
    rows = [{"href": r["path"], "text": r["title"], "status": r["status"],
             "note": "" if r["status"] == "ok" else r["message"][:300]}
            for r in results if r.get("role") == "owner"]
    tables = [{"href": path, "text": f"{Path(path).name}: "
               f"{TABLE_WORDS.get(Path(path).stem, Path(path).stem)}", "status": "ok"}
              for path in owner_table_paths(folder)]
    others = [r for r in results if r.get("role") != "owner"]
    after = ""
    if others:
        views = sum(r.get("role") == "clinician" for r in others)
        packs = sum(r.get("role") == "supervisor" for r in others)
        failed = sum(r["status"] != "ok" for r in others)
        parts = [("1 clinician's own report" if views == 1 else
                  f"{views} clinicians' own reports") if views else "",
                 f"{packs} supervision {'pack' if packs == 1 else 'packs'}" if packs else ""]
        made = " and ".join(p for p in parts if p)
        them = "It is" if len(others) == 1 else "They are"
        after = (f"<p>This run also made {html.escape(made)}. {them} not linked here: each "
                 "report belongs to its own reader alone"
                 + (", and supervision stays between supervisor and supervisee." if packs
                    else "."))
        if failed:
            after += (f" {failed} of them could not be produced; the run's manifest.json "
                      "lists which.")
        after += "</p>"
    after += f"<p>{html.escape(NOT_A_RISK_CHANNEL)}</p>"
    text = index_page(f"{practice_name}: reports, {period}", practice_name,
                      f"For the practice owner: the practice report for {period}.", rows, after,
                      tables)
    return atomic_write_text(folder / "index.html", text)


_OWN_WORDS = {"clinician": "Your own report", "supervisor": "Your supervision pack"}


def write_reader_indexes(folder: Path, results: list[dict], practice_name: str, period: str,
                         names: dict[str, str]) -> list[dict]:
    """One index per clinician or supervisor, ``readers/<stem>/index.html``, linking only
    their own reports (their self-view and, for a supervisor, their pack). Returns a row per
    index: ``{"path", "id"}``."""
    people: dict[str, list[dict]] = {}
    for r in results:
        if r.get("role") in _OWN_WORDS:
            people.setdefault(r["id"], []).append(r)
    written = []
    for pid, own in people.items():
        stem = Path(own[0]["path"]).stem
        rel = f"{READERS_DIR}/{stem}/index.html"
        rows = [{"href": f"../../{r['path']}", "text": f"{_OWN_WORDS[r['role']]}, {period}",
                 "status": r["status"],
                 "note": "" if r["status"] == "ok" else "ask the practice's administrator"}
                for r in sorted(own, key=lambda r: r["role"])]
        name = names.get(pid, pid)
        text = index_page(f"{name}: reports, {period}", f"{practice_name}: {name}",
                          f"For {name} alone: your reports for {period}.", rows,
                          f"<p>{html.escape(NOT_A_RISK_CHANNEL)}</p>")
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
        written.append({"path": rel, "id": pid})
    return written
