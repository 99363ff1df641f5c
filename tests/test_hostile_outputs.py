"""Hostile input, part 2 (issue 29), the outputs: no text cell of a CSV perfkit writes runs as a
spreadsheet formula (item 4), no name reaches a report as Markdown (item 6), and a damaged or
tampered earlier run is left out with a sentence, never crashing a run or putting its text into
a report (item 7)."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import json
import logging
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import perfkit as pk
from perfkit import history as hi
from perfkit.demo import DemoSettings, write_demo
from perfkit.hostile_text import csv_cell, csv_safe, csv_unguard, html_text
from perfkit.io import read_table, write_table
from perfkit.pipeline import run_period

from practice_data import typed_and_csv_tables_differ

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FORMULA = ("=", "+", "-", "@", "\t", "\r")
PHISH = "phish.example"

# original demo id -> hostile id (None: kept); every name is hostile
IDS = {"C01": "=1+1", "C02": "+SUM(A1:A9)", "C03": "-3", "C04": "@cmd"}
NAMES = {
    "C01": '=HYPERLINK("http://phish.example/f","click")',
    "C02": f"Maya\n\n[phish](http://{PHISH}/a)",
    "C03": "<script>alert(1)</script>Jo",
    "C04": "*bold* Ann",
    "C05": "`tick` Ben",
    "C06": "Cy | b | c",
    "C07": "@SUM(1+1) Dee",
    "C08": "-2+3 Eve",
    "C09": f'+Pat\n\n<a href="http://{PHISH}/b">x</a>',
    "C10": "'=already quoted",
}
TEXT = '=cmd|" /C calc"!A0'  # goal descriptions, review evidence, CE titles


def hostile_practice(folder: Path) -> Path:
    src = write_demo(folder / "clean", DemoSettings(n_clinicians=10, months=5))
    out = folder / "data"
    out.mkdir()
    for path in src.glob("*.csv"):
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
        if path.stem == "clinicians":
            t["name"] = t["clinician_id"].map(NAMES)
        for col in ("clinician_id", "supervisor_id", "supervisee_id", "reviewer_id"):
            if col in t:
                t[col] = t[col].map(lambda v: IDS.get(v, v))
        for table, col in (("goals", "description"), ("reviews", "evidence"), ("ce", "title")):
            if path.stem == table:
                t[col] = TEXT
        if path.stem == "appointments":  # one row rejected with its value: rejects.csv
            t.loc[0, "status"] = "=2+3"
        t.to_csv(out / path.name, index=False)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs of the hostile practice, tables only: the quarter before, then this one."""
    base = tmp_path_factory.mktemp("outputs")
    data = hostile_practice(base)
    key = base / "keys" / "k.key"
    before = pk.load_config(pseudonym_key_file=key, period_start=dt.date(2026, 7, 1),
                            period_end=dt.date(2026, 10, 1))
    run_period(data, before, out=base / "reports" / "2026-10-01", tables_only=True)
    cfg = pk.load_config(pseudonym_key_file=key)
    out = base / "reports" / "2026-11-01"
    manifest = run_period(data, cfg, out=out, tables_only=True)
    return base, out, manifest


# ---- item 4: formula injection -----------------------------------------------------------


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_the_guard_prefixes_text_only_and_reads_back_exactly():
    cells = ["=1+1", "+2", "-3", "@x", "\tx", "\rx", "'=x", "''+x", "Ann", "'Ann", "", "a=b"]
    written = [csv_cell(c) for c in cells]
    assert written == ["'=1+1", "'+2", "'-3", "'@x", "'\tx", "'\rx", "''=x", "'''+x", "Ann",
                       "'Ann", "", "a=b"]
    assert csv_cell(-3) == -3 and csv_cell(-0.5) == -0.5  # numbers stay numbers
    frame = pd.DataFrame({"t": cells, "n": range(len(cells))})
    assert csv_unguard(csv_safe(frame)).equals(frame)


def test_no_text_cell_of_any_csv_runs_as_a_formula(runs):
    """Every cell of every CSV the run wrote (tables and rejects): a cell that starts with
    = + - @, a tab or a carriage return is a plain number; the hostile ids, goals, review
    evidence and CE titles are there, guarded."""
    _, out, manifest = runs
    assert not [o for o in manifest["outputs"] if o["status"] != "ok"]
    files = sorted(out.rglob("*.csv"))
    assert out / "rejects.csv" in files and len(files) > 20
    seen = set()
    for path in files:
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    seen.add(cell)
                    if cell.startswith(FORMULA):
                        assert _is_number(cell), (path.name, cell)
    for value in [*IDS.values(), TEXT]:  # names stay in prepared/, never in a table
        assert "'" + value in seen, value


def test_ids_read_back_as_written_and_match_across_runs(runs):
    """perfkit reads its own tables back without the guard: the id =1+1 is the same clinician
    in the earlier run and this one, so its change since then is known."""
    _, out, _ = runs
    m = read_table(out / "tables" / "clinician_metrics.csv")
    assert set(IDS.values()) <= set(m["clinician_id"])
    h = read_table(out / "tables" / "history.csv")
    assert h["this_run"].dtype == "boolean" and h["this_run"].notna().all()
    earlier = set(h.loc[~h["this_run"], "clinician_id"])
    assert set(IDS.values()) <= earlier
    c = read_table(out / "tables" / "changes.csv")
    row = c[(c["clinician_id"] == "=1+1") & (c["metric"] == "utilization")].iloc[0]
    assert pd.notna(row["previous"]) and pd.notna(row["previous_flag"])
    assert c["previous_flag"].dtype == "boolean"


def test_every_typed_table_holds_the_rows_of_its_csv(runs):
    """The Parquet beside each CSV holds the same rows, hostile ids and text included (the
    CSV's formula guard taken off): both runs, the earlier one too."""
    base, out, _ = runs
    assert typed_and_csv_tables_differ(out) == []
    assert typed_and_csv_tables_differ(base / "reports" / "2026-10-01") == []


def test_an_earlier_run_written_by_the_table_writer_matches_by_id(tmp_path):
    """Hand-made: an earlier run whose table the run's own writer wrote, with the ids =1+1
    and -3; compared with this run, =1+1 was flagged and is no longer."""
    folder = tmp_path / "reports" / "2026-08-01"
    (folder / "tables").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"period": {"start": "2026-05-01", "end": "2026-08-01"},
         "parameters": {"practice_name": "Demo Practice"}}))
    write_table(pd.DataFrame({"clinician_id": ["=1+1", "-3"], "utilization": [0.5, 0.9],
                             "flag_low_utilization": [True, False]}),
               folder / "tables" / "clinician_metrics.csv")
    assert "'=1+1" in (folder / "tables" / "clinician_metrics.csv").read_text()
    cfg = pk.load_config(period_start=dt.date(2026, 8, 1), period_end=dt.date(2026, 11, 1),
                         pseudonym_key_file=tmp_path / "k")
    prev = hi.previous_run(hi.earlier_runs(tmp_path / "reports" / "2026-11-01", cfg))
    now = pd.DataFrame({"clinician_id": ["=1+1", "-3"], "utilization": [0.8, 0.9],
                        "flag_low_utilization": [False, False]})
    c = hi.change_table(now, prev).set_index("clinician_id")
    assert c.loc["=1+1", "change"] == "no longer flagged" and c.loc["=1+1", "previous"] == 0.5
    assert c.loc["-3", "previous"] == 0.9


# ---- item 6: one text path into reports ----------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.open: list[str] = []
        self.text: list[tuple[tuple[str, ...], str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in ("br", "img", "hr", "col"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]

    def handle_data(self, data):
        self.text.append((tuple(self.open), data))


def _shown(obj, monkeypatch) -> list[str]:
    """The HTML a notebook shows for a cell's value, as nbconvert would export it: Markdown
    through nbconvert's renderer, HTML as it is, an image's alt text escaped."""
    import html

    import IPython.display
    from nbconvert.filters.markdown import markdown2html

    if obj is None:
        return []
    if hasattr(obj, "_ipython_display_"):
        shown: list = []
        monkeypatch.setattr(IPython.display, "display",
                            lambda *objs, **kw: shown.extend((o, kw) for o in objs))
        obj._ipython_display_()
        monkeypatch.undo()
        out = []
        for o, kw in shown:
            if isinstance(o, dict):  # an image bundle
                alt = kw.get("metadata", {}).get("image/png", {}).get("alt", "")
                out.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,">')
            else:
                out += _shown(o, monkeypatch)
        return out
    if isinstance(obj, IPython.display.Markdown):
        return [markdown2html(obj.data)]
    if hasattr(obj, "_repr_markdown_"):
        return [markdown2html(obj._repr_markdown_())]
    if hasattr(obj, "_repr_html_"):
        return [obj._repr_html_()]
    if hasattr(obj, "to_html"):
        return [obj.to_html()]
    return [html.escape(str(obj))]


def _cells(notebook: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))
    code = [("".join(c["source"]), c.get("metadata", {}).get("tags", []))
            for c in nb["cells"] if c["cell_type"] == "code"]
    return [src for src, tags in code if "parameters" not in tags]


def _run_notebook(notebook: str, params: dict, monkeypatch) -> list[str]:
    """Each cell of a report notebook, run here, and what it shows (its last expression)."""
    space = dict(params)
    pages = []
    for src in _cells(notebook):
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, notebook, "exec"), space)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), notebook, "eval"), space)
            pages += _shown(value, monkeypatch)
    return pages


def _check(pages: list[str], where: str) -> None:
    for page in pages:
        parsed = _Tags()
        parsed.feed(page)
        for tag, attrs in parsed.tags:  # a heading's own anchor (#...) is not a link out
            href = attrs.get("href") or ""
            assert PHISH not in href or href.startswith("#"), (where, tag, attrs)
            assert tag != "script", (where, page[:300])
        for path, text in parsed.text:
            if "em" in path or "code" in path:  # *bold* and `tick` are never markup
                assert "bold" not in text and "tick" not in text, (where, path, text)
            if path and path[-1] in ("td", "th") and text.strip() in ("b", "c"):
                raise AssertionError((where, "a | in a name made a table", page[:300]))
        assert not re.search(r'<a\s[^>]*href="[^#"][^"]*' + re.escape(PHISH), page), \
            (where, page[:300])


def test_hostile_names_reach_no_report_as_markup(runs, monkeypatch):
    """Every cell of the practice report, a clinician's report for each hostile clinician and
    each supervisor's pack, run on the hostile run: no link to the phishing address, no
    script, no emphasis, code or table cells made from a name, and each figure's sentence is
    one line of inert text."""
    import perfkit.report as r

    _, out, _ = runs
    params = {"run_folder": str(out), "params_file": ""}
    pages = _run_notebook("practice_report.ipynb", params, monkeypatch)
    said = [p for p in pages if "figure-text" in p]
    assert said and all("\n" not in p.split("figure-text", 1)[1].rstrip("\n") for p in said)
    _check(pages, "practice")
    run = r.load_run(out)
    m = run.table("clinician_metrics")
    for cid in m["clinician_id"][:6]:
        _check(_run_notebook("clinician_report.ipynb", {**params, "clinician_id": cid},
                             monkeypatch), f"clinician {cid}")
    for sid in run.table("supervisors")["supervisor_id"]:
        _check(_run_notebook("supervisor_report.ipynb", {**params, "supervisor_id": sid},
                             monkeypatch), f"supervisor {sid}")


def test_a_figure_sentence_is_one_line_of_inert_text(monkeypatch):
    """The sentence under a figure is HTML inside a Markdown cell: a blank line in a name must
    not end it and let the rest be read as Markdown (a live link)."""
    import IPython.display
    from nbconvert.filters.markdown import markdown2html

    from perfkit.report.figures.style import _say

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *o, **k: shown.extend(o))
    words = f"The slowest: {NAMES['C02']} and {NAMES['C09']}, *x* `y` | z."
    _say(words)
    out = markdown2html(shown[0].data)
    parsed = _Tags()
    parsed.feed(out)
    assert [t for t, _ in parsed.tags] == ["p"]  # no link, emphasis, code or table
    assert "".join(text for _, text in parsed.text).strip() == " ".join(words.split())
    assert html_text("a\n\nb") == "a b"


# ---- item 7: a damaged or tampered earlier run ---------------------------------------------


def _earlier(folder: Path, rows, practice: str = "Demo Practice") -> Path:
    (folder / "tables").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"period": {"start": "2026-05-01", "end": "2026-08-01"},
         "parameters": {"practice_name": practice}}))
    pd.DataFrame(rows).to_csv(folder / "tables" / "clinician_metrics.csv", index=False)
    return folder


@pytest.fixture
def cfg(tmp_path):
    return pk.load_config(period_start=dt.date(2026, 8, 1), period_end=dt.date(2026, 11, 1),
                          pseudonym_key_file=tmp_path / "k")


GOOD = {"clinician_id": "A", "utilization": 0.5, "flag_low_utilization": True}
DAMAGED = {
    "duplicate rows": [GOOD, GOOD],
    "no clinician_id": [{"who": "A", "utilization": 0.5, "flag_low_utilization": True}],
    "text in utilization": [GOOD, {**GOOD, "clinician_id": "B", "utilization": "URGENT"}],
    "text in a flag": [{**GOOD, "flag_low_utilization": "see HR"}],
    "an empty id": [GOOD, {**GOOD, "clinician_id": ""}],
}


@pytest.mark.parametrize("case", DAMAGED)
def test_a_damaged_earlier_run_is_left_out_with_one_warning(case, tmp_path, cfg, caplog):
    """Each damage (which on main crashed the comparison or let text into the numbers) leaves
    that run out, counted, with one warning that quotes nothing from the file; the changes
    are computed as with no earlier run."""
    _earlier(tmp_path / "reports" / "2026-08-01", DAMAGED[case])
    with caplog.at_level(logging.WARNING, logger="perfkit.history"):
        runs = hi.earlier_runs(tmp_path / "reports" / "2026-11-01", cfg)
    assert list(runs) == [] and runs.left_out == 1
    warned = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert len(warned) == 1 and "URGENT" not in warned[0] and "HR" not in warned[0]
    c = hi.change_table(pd.DataFrame([GOOD]), hi.previous_run(runs))
    assert c.loc[0, "change"] == "" and pd.isna(c.loc[0, "previous"])


def test_compare_to_a_damaged_run_is_one_sentence(tmp_path, cfg):
    old = _earlier(tmp_path / "old", DAMAGED["duplicate rows"])
    with pytest.raises(pk.ConfigError, match="lists a clinician more than once"):
        hi.earlier_runs(tmp_path / "reports" / "2026-11-01", cfg, old)


def test_an_earlier_run_contributes_ids_and_numbers_only(tmp_path, cfg):
    """A name column and other text in an earlier run are dropped on reading."""
    _earlier(tmp_path / "reports" / "2026-08-01",
             [{**GOOD, "name": "URGENT: Dr. A dismissed", "note": "see HR"}])
    (run,) = hi.earlier_runs(tmp_path / "reports" / "2026-11-01", cfg)
    assert list(run.metrics.columns) == ["clinician_id", "utilization", "flag_low_utilization"]
    assert run.metrics["utilization"].tolist() == [0.5]


def test_a_tampered_earlier_run_beside_a_real_run(tmp_path):
    """A real run (tables only) beside two earlier "runs": one damaged (a clinician listed
    twice), one whose ids are a message. The run succeeds; the first screen says that one
    earlier run was left out, and counts the clinician not on this roster without its text."""
    data = write_demo(tmp_path / "data", DemoSettings(n_clinicians=6, months=4))
    reports = tmp_path / "reports"
    message = "URGENT: Dr. Okafor dismissed for billing fraud - see HR"
    rows = [{"clinician_id": c, "utilization": 0.7, "flag_low_utilization": False}
            for c in ("C01", "C02", message)]
    tampered = _earlier(reports / "2026-08-01", rows)
    damaged = _earlier(reports / "2026-07-01", [rows[0], rows[0]])
    meta = json.loads((damaged / "manifest.json").read_text())
    meta["period"] = {"start": "2026-04-01", "end": "2026-07-01"}
    (damaged / "manifest.json").write_text(json.dumps(meta))
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    out = reports / "2026-11-01"
    manifest = run_period(data, cfg, out=out, tables_only=True)
    assert not [o for o in manifest["outputs"] if o["status"] != "ok"]
    assert tampered.is_dir()

    import perfkit.report as r

    words = str(r.first_screen(r.load_run(out)))
    assert "URGENT" not in words and "fraud" not in words
    assert "1 clinician of the earlier run not on this roster" in words
    assert "1 earlier run of this practice could not be read" in words


def test_the_starter_roster_guards_a_name_and_still_matches_it(tmp_path, monkeypatch):
    """`perfkit init` writes the clinicians it finds in an export into a starter roster the
    practice opens in a spreadsheet: a name =Maya Okafor is written '=Maya Okafor, and read
    back it is still the export's =Maya Okafor."""
    from typer.testing import CliRunner

    from perfkit.cli import app
    from perfkit.ingest.reshape import _name_key

    monkeypatch.setenv("PERFKIT_PSEUDONYM_KEY_FILE", str(tmp_path / "k"))
    out = tmp_path / "sp"
    cli = CliRunner()
    res = cli.invoke(app, ["demo", "--as", "simplepractice", "--out", str(out),
                           "--clinicians", "3", "--months", "3"])
    assert res.exit_code == 0, res.output
    (out / "clinicians.csv").unlink()
    for f in out.glob("*report*.csv"):
        f.write_text(f.read_text().replace("Maya Okafor", "=Maya Okafor"))
    res = cli.invoke(app, ["init", str(out), "--source", "simplepractice"])
    assert res.exit_code == 0, res.output
    with (out / "clinicians.csv").open(newline="") as f:
        names = [row["name"] for row in csv.DictReader(f)]
    assert "'=Maya Okafor" in names and not any(n.startswith(FORMULA) for n in names)
    assert _name_key("'=Maya Okafor") == _name_key("=Maya Okafor") == "=maya okafor"


def test_an_earlier_runs_folder_name_never_reaches_a_report(tmp_path):
    """Two earlier runs of one period, one in a folder named as a message, its manifest's
    ``created`` text in one case: the reports name the run compared with by its period and
    the day it was written (a date, read as one), never a folder's name or the text."""
    import perfkit.report as r
    from perfkit.report.compare import compared_run

    data = write_demo(tmp_path / "data", DemoSettings(n_clinicians=6, months=4))
    reports = tmp_path / "reports"
    message = "URGENT Dr. Moreau dismissed for billing fraud - see HR"
    rows = [{"clinician_id": c, "utilization": 0.7, "flag_low_utilization": False}
            for c in ("C01", "C02")]
    evil, again = _earlier(reports / message, rows), _earlier(reports / "2026-08-01", rows)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    out = reports / "2026-11-01"
    for created in ("2026-08-02T09:00:00+00:00", f"{message} 2026-08-09"):
        for folder, when in ((evil, created), (again, "2026-08-05T10:00:00+00:00")):
            meta = json.loads((folder / "manifest.json").read_text())
            (folder / "manifest.json").write_text(json.dumps({**meta, "created": when}))
        run_period(data, cfg, out=out, tables_only=True)
        run = r.load_run(out)
        which = compared_run(run)
        assert which == "the run for 01 May 2026 to 31 July 2026 (written 05 Aug 2026)"
        t = r.own_history_table(run, "C01")
        shown = " ".join([str(r.first_screen(run)), t.caption, *map(str, t.data.columns)])
        assert "URGENT" not in shown and "fraud" not in shown and "2026-08-01" not in shown
        first, second = list(t.data.columns)[1:3]
        if created.startswith("2026"):  # two days: each column says its own
            assert (first, second) == ("May 2026 to Jul 2026, written 02 Aug 2026",
                                       "May 2026 to Jul 2026, written 05 Aug 2026")
        else:  # a text in created is no date: told apart by their order
            assert (first, second) == ("May 2026 to Jul 2026, run 1 of 2",
                                       "May 2026 to Jul 2026, run 2 of 2")
        h = read_table(out / "tables" / "history.csv")
        assert h.loc[h["this_run"], "run_created"].unique().tolist() == [  # a date, typed
            pd.Timestamp(dt.datetime.now(dt.UTC).date())]
