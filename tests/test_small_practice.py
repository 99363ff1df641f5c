"""Small practices (issue 28, part 4): below ``privacy.min_peers`` clinicians (default 5) no
self-view shows a practice median, middle half, spread, practice total or model estimate
against the average (a statistic over 2 to 4 clinicians, less the reader's own, gives the
colleagues' figures); the self-view compares the clinician with their own previous period and
the practice's thresholds instead. At exactly ``min_peers`` the spread returns. The owner's
page of a 2-clinician practice has no empty figure and no sentence twice."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import perfkit as pk
import perfkit.report as r
from perfkit.demo import DemoSettings, write_demo
from perfkit.pipeline import run_period
from perfkit.registry import format_value, formatter
from perfkit.report.clinician import OWN_METRICS
from perfkit.report.figures import Figure
from perfkit.report.format import num, pct
from perfkit.report.run_folder import RunFolder

from run_tables import derived

FEW = "With fewer than 5 clinicians, colleagues' figures are not shown: they could be worked out."


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The demo practice with 2 clinicians, its owner's page and self-views rendered (no
    supervision packs: they are not needed here)."""
    base = tmp_path_factory.mktemp("small")
    data = write_demo(base / "data", DemoSettings(n_clinicians=2, months=6))
    out = base / "2026-11-01"
    cfg = pk.load_config(pseudonym_key_file=base / "k.key")
    manifest = run_period(data, cfg, out=out, workers=2, roles=["owner", "clinician"])
    assert not [o for o in manifest["outputs"] if o.get("status") == "failed"]
    return out


def page(path: Path, *, alt: bool = True, tables: bool = True,
         sections: tuple[str, ...] = (), leave_out: tuple[str, ...] = ()) -> str:
    """A page's text as a reader meets it: what is shown, and (``alt``) each figure's text
    alternative, dates taken out; without ``tables``, the prose only (and the tables'
    captions); with ``sections``,
    only the sections under those headings; without those of ``leave_out``. The tables of
    the reader's own clients (scores, dates) are left out: they hold nobody else's figures,
    and their numbers would match any by chance."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    for img in soup.find_all("img"):
        img.replace_with(f" {img.get('alt', '')} " if alt else " ")
    for t in soup.find_all("table"):
        if "Client" in [th.get_text(strip=True) for th in t.find_all("th")]:
            t.decompose()
        elif not tables:  # the prose: a table's caption is a sentence, its cells are not
            caption = t.find("caption")
            t.replace_with(f" {caption.get_text(' ')} " if caption else " ")
    def heading(section) -> str:
        h = section.find(["h2", "h3"])
        return h.get_text(strip=True) if h else ""

    if sections:
        soup = BeautifulSoup("".join(str(s) for s in soup.find_all("section")
                                     if heading(s) in sections), "html.parser")
    for s in soup.find_all("section"):
        if heading(s) in leave_out:
            s.decompose()
    text = re.sub(r"\s+", " ", soup.get_text(" "))
    # dates: "31 Oct 2026" is no one's figure
    return re.sub(r"\d{1,2} [A-Z][a-z]+ \d{4}|\d{4}-\d\d-\d\d", " ", text)


def shown(value: str, text: str) -> bool:
    """Whether a formatted number appears in the text as a number of its own (not as part of
    a longer number: "35" is not in "135" or "3.5")."""
    return re.search(rf"(?<![\w.,-]){re.escape(value)}(?![\d%-]|[.,]\d)", text) is not None


def test_no_self_view_of_a_two_clinician_practice_shows_the_colleagues_figures(small):
    tables = small / "tables"
    m = pd.read_csv(tables / "clinician_metrics.csv", dtype={"clinician_id": str}) \
        .set_index("clinician_id")
    spread = pd.read_csv(tables / "metric_spread.csv").set_index("metric")
    practice = pd.read_csv(tables / "practice_summary.csv").iloc[0]
    names = pd.read_parquet(small / "prepared" / "clinicians.parquet") \
        .set_index("clinician_id")["name"]
    ops, w = pk.load_config().operations, pk.load_config().workload
    # round figures every page may give for its own reasons: the thresholds, none and all
    common = {pct(v) for v in (ops.utilization_alert, ops.non_attendance_alert,
                               ops.notes_within_72h_alert, w.over_capacity, 0, 1)}
    assert len(m) == 2
    checked = 0
    for me, other in (list(m.index), list(m.index)[::-1]):
        path = small / "clinicians" / f"{me}.html"
        # the weekly section draws the reader's own weeks only (its averages would match)
        text = page(path, leave_out=("Week by week",))
        figures = page(path, sections=("Your figures and the practice's",
                                       "What the words mean"))
        mine = {format_value(col, m.loc[me, col]) for col, _ in OWN_METRICS if col in m}
        theirs = set()
        for col, _ in OWN_METRICS:
            fmt = formatter(col)
            if col in m:  # the colleague's figure, and the median and quartiles of the two
                theirs.add(fmt(m.loc[other, col]))
                theirs |= {fmt(spread.loc[col, k]) for k in ("median", "q25", "q75")}
        # the practice's totals, which less one's own are the colleague's
        theirs |= {num(practice[c], 0) for c in ("sessions_attended", "clients_seen",
                                                 "past_appointments", "notes_due")}
        theirs -= mine | common | {"–"}  # a figure the two share is the reader's own too
        # a rate or a decimal anywhere on the page; a count where figures are compared (a
        # client's score or a week number would match a count by chance)
        leaked = sorted(v for v in theirs if shown(v, text if re.search(r"[%.]", v)
                                                   else figures))
        assert not leaked, (me, leaked)
        checked += len(theirs)
        assert "Clients seen" in figures and names[me] in text
        assert names[other] not in text
        assert "practice median" not in text.lower() and "middle half" not in text.lower()
        assert "other clinicians" not in text.lower()  # no spread figure
        assert text.count(FEW) == 1  # said once, plainly
        assert "The practice's threshold" in text and "flagged below 90%" in text
    assert checked >= 20  # the check had figures to look for


def test_the_owners_two_clinician_page_has_no_empty_figure_and_no_sentence_twice(small):
    path = small / "practice.html"
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    alts = [img.get("alt", "") for img in soup.find_all("img")]
    assert not [a for a in alts if re.search(r"no clinician estimates|no clients with", a)]
    text = page(path, alt=False, tables=False)
    # the funnel of two is a table (the owner may see names), not a plot of two dots
    assert "shown as a table, not as a plot" in text
    assert not [a for a in alts if "reliably improved" in a]
    said = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) > 3]
    twice = [s for s, n in Counter(said).items() if n > 1]
    assert not twice, twice
    assert len(said) > 30  # the page has its sentences to compare


NAMES = {f"C{i}": f"Clinician {chr(64 + i)} Person" for i in range(1, 7)}


def hand_built(n: int, tmp_path: Path, **config) -> RunFolder:
    """``n`` clinicians (C1 reads): utilization 60%, 65%, ... (C1 80%), missed 5%, 6%, ...;
    the spread over them; a model estimate each; the practice's counts."""
    ids = [f"C{i}" for i in range(1, n + 1)]
    util = [0.80] + [0.60 + 0.05 * k for k in range(n - 1)]
    m = pd.DataFrame({"clinician_id": ids, "utilization": util,
                      "non_attendance_rate": [0.05 + 0.01 * k for k in range(n)],
                      "notes_within_72h": [0.95] * n, "appointments_in_export": 100})
    spread = pd.DataFrame([{"metric": c, "clinicians": n, "median": m[c].median(),
                            "q25": m[c].quantile(0.25), "q75": m[c].quantile(0.75)}
                           for c in ("utilization", "non_attendance_rate", "notes_within_72h")])
    effects = pd.DataFrame({"clinician_id": ids, "instrument": "PHQ-9",
                            "effect": np.linspace(-0.2, 0.2, n), "ci_low": -0.5,
                            "ci_high": 0.5, "n_clients": 20})
    summary = pd.DataFrame({"sessions_attended": [4321], "past_appointments": [4999],
                            "notes_due": [4300], "clients_seen": [765]})
    tables = {"clinician_metrics": m, "metric_spread": spread, "clinician_effects": effects,
              "practice_summary": summary,
              "not_on_track": pd.DataFrame({"clinician_id": [], "client_id": []})}
    cfg = pk.load_config(**config)
    return RunFolder(tmp_path, cfg, {}, derived(tables, cfg), _names=dict(NAMES))


@pytest.mark.parametrize("n", [4, 5])
def test_the_spread_returns_at_exactly_min_peers(n, tmp_path):
    run = hand_built(n, tmp_path)
    few = n < 5
    t = r.own_metrics_table(run, "C1").data.set_index("Figure")
    assert t.loc["Utilization", "You"] == "80%"
    if few:  # the reader's own figure beside the practice's threshold, nobody else's
        assert list(t.columns) == ["You", "The practice's threshold"]
        assert t.loc["Utilization", "The practice's threshold"] == \
            "flagged below 70% or above 100%"
        assert t.loc["Missed appointments", "The practice's threshold"] == \
            "flagged at 10.0% or more"
    else:  # 5 clinicians: 80%, 60%, 65%, 70%, 75%: the median is 70%, the middle half 65-75%
        assert t.loc["Utilization", "Practice median"] == "70%"
        assert t.loc["Utilization", "Middle half of clinicians"] == "65% to 75%"
    assert isinstance(r.distribution_figure(run, "C1"), Figure) != few
    assert isinstance(r.caterpillar_figure(run, "PHQ-9", only="C1"), Figure) != few
    assert ("No model estimate is shown" in str(r.own_effect_text(run, "C1"))) == few
    words = str(r.glossary(run, you=True))
    assert ("Practice median, middle half" in words) != few
    assert ("4,321 sessions" in words) != few  # a practice total, less one's own
    assert (FEW in str(r.clinician_title(run, "C1"))) == few
    assert ("thresholds" in str(r.own_intro(run, "C1"))) == few
    assert "previous period" not in str(r.own_intro(run, "C1"))  # no compared run here


def test_a_smaller_min_peers_is_honoured(tmp_path):
    run = hand_built(4, tmp_path, privacy={"min_peers": 4})
    t = r.own_metrics_table(run, "C1").data.set_index("Figure")
    # 80%, 60%, 65%, 70%: the median 67.5% shown as 68%
    assert t.loc["Utilization", "Practice median"] == "68%"
    assert FEW not in str(r.clinician_title(run, "C1"))


def test_a_small_practice_self_view_sets_the_figures_beside_the_previous_period(tmp_path):
    run = hand_built(2, tmp_path)
    run.tables["history"] = pd.DataFrame({
        "period_start": ["2026-05-01", "2026-08-01"], "period_end": ["2026-08-01", "2026-11-01"],
        "run_id": ["2026-08-01", "2026-11-01"], "this_run": [False, True],
        "compared_with": [True, False], "definitions_changed": [False, False],
        "clinician_id": ["C1", "C1"], "utilization": [0.75, 0.80],
        "non_attendance_rate": [0.07, 0.05], "notes_within_72h": [0.91, 0.95]})
    table = r.own_metrics_table(run, "C1")
    t = table.data.set_index("Figure")
    assert t.loc["Utilization", "Your previous period"] == "75%"
    assert t.loc["Missed appointments", "Your previous period"] == "7.0%"
    assert "Your previous period is" in table.to_html()
    # the colleague (C2: utilization 60%, missed 6.0%) is nowhere
    html = table.to_html()
    assert "60%" not in html and "6.0%" not in html


def test_a_new_hire_ramp_is_set_beside_the_earlier_hires_only_when_enough(tmp_path):
    for hires, compared in ((4, False), (5, True)):
        run = hand_built(6, tmp_path)
        run.tables["ramp"] = pd.DataFrame({
            "clinician_id": "C2", "start_date": pd.Timestamp("2026-07-06"),
            "week": [0, 1, 2], "utilization": [0.2, 0.3, 0.4],
            "practice_utilization": [0.45, 0.5, 0.55], "hires_compared": hires,
            "ramp": "more slowly"})
        run.tables.update(derived(run.tables, run.config))
        mine = str(r.own_ramp_text(run, "C2"))
        assert ("earlier hires averaged 50%" in mine) == compared, mine
        qs = str(r.questions_to_explore(run, "C2"))
        assert ("30% against 50%" in qs) == compared
        run.tables["supervisors"] = pd.DataFrame({"supervisor_id": ["C1"],
                                                  "clinician_id": ["C2"]})
        pack = str(r.supervision_questions(run, ["C2"]))
        assert ("30% against 50%" in pack) == compared
        fig = r.ramp_figure(run, only="C2")
        assert ("earlier hires" in fig.alt) == compared, fig.alt
