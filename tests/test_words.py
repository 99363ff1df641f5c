"""Words that say what they mean (issue 26, item 5): the funnel and caterpillar sentences say
who lies above and who below and whether that is better or worse; client counts count
clients; small cohorts' rates are hidden with the reason; counts have thousands separators;
joined / left name only this period's; every section states its time window. Expected values
are written by hand from the frames built here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit.outcomes import effect_sides
from perfkit.report import RunFolder
from perfkit.report.checkins import first_screen
from perfkit.report.clinician import questions_to_explore
from perfkit.report.figures import caterpillar_words, funnel_words
from perfkit.report.format import cohort_pct, count, num, short_history, table
from perfkit.report.practice import model_section
from perfkit.report.run_folder import clients_by_clinician
from perfkit.report.words import (
    CLINICIAN_SECTIONS,
    OWNER_SECTIONS,
    PACK_SECTIONS,
    section_window,
)

from run_tables import derived, run_tables

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = {"C1": "Ana Avery", "C2": "Ben Brook", "C3": "Cleo Cole", "C4": "Dev Dunn"}


def run_with(tables: dict, tmp_path: Path, **kwargs) -> RunFolder:
    cfg = pk.load_config(**kwargs)
    return RunFolder(tmp_path, cfg, {}, derived(tables, cfg), _names=dict(NAMES))


def funnel_rows() -> pd.DataFrame:
    """One clinician inside the limits, one below, two above (one beyond the outer limit);
    the practice rate is 40%."""
    return pd.DataFrame({
        "clinician_id": ["C1", "C2", "C3", "C4"], "instrument": "PHQ-9",
        "paired_episodes": [30, 25, 1336, 40],
        "reliable_improvement_rate": [0.40, 0.19, 0.48, 0.57], "practice_rate": 0.40,
        "signal": ["within", "below_inner", "above_inner", "above_outer"]})


def test_the_funnel_sentence_says_who_is_above_and_who_below(tmp_path):
    said = funnel_words(run_with({}, tmp_path), funnel_rows(), "PHQ-9")
    above = said[said.index("Above it"):said.index("Below it")]
    below = said[said.index("Below it"):]
    assert "better than expected" in above and "worse than expected" in below
    assert "Cleo Cole (48% of 1,336)" in above and "Dev Dunn (57% of 40)" in above
    assert "Ben Brook" not in above and "Ben Brook (19% of 25)" in below
    assert "Cleo Cole" not in below and "Dev Dunn" not in below
    assert "1 of 4 clinicians lie inside" in said and "Ana Avery (40% of 30)" in said
    # nothing outside: said so, and no "above"/"below" sentence
    calm = funnel_rows().assign(signal="within")
    said = funnel_words(run_with({}, tmp_path), calm, "PHQ-9")
    assert "None lies above or below it." in said and "better than expected" not in said


def test_a_long_funnel_sentence_counts_those_inside_and_names_those_outside(tmp_path):
    from perfkit.report.figures import NAMES_LISTED

    n = NAMES_LISTED + 1
    ids = [f"X{i:03d}" for i in range(n)] + ["C2"]
    rows = pd.DataFrame({"clinician_id": ids, "instrument": "PHQ-9", "paired_episodes": 30,
                         "reliable_improvement_rate": [0.40] * n + [0.19],
                         "practice_rate": 0.40,
                         "signal": ["within"] * n + ["below_inner"]})
    said = funnel_words(run_with({}, tmp_path), rows, "PHQ-9")
    assert f"{n} of {n + 1} clinicians lie inside" in said
    assert "X000" not in said and "analysts' table of outcomes by clinician" in said
    assert "Ben Brook (19% of 30)" in said  # outside the limits: always named
    said = funnel_words(run_with({}, tmp_path), rows.iloc[NAMES_LISTED - 1:], "PHQ-9")
    assert "X012 (40% of 30)" in said  # few enough inside: named


@pytest.mark.parametrize("better", ["lower", "higher"])
def test_the_caterpillar_sentence_says_better_or_worse_by_the_measures_direction(better):
    # A's range lies wholly below zero; B's and C's wholly above; D's includes zero
    e = pd.DataFrame({"clinician_id": ["A", "B", "C", "D"], "effect": [-0.2, 0.1, 0.3, 0.0],
                      "ci_low": [-0.3, 0.05, 0.1, -0.1], "ci_high": [-0.1, 0.2, 0.5, 0.1]})
    e = effect_sides(e, better)  # the side perfkit run writes into clinician_effects
    said = caterpillar_words(e, "PHQ-9", better=better)
    sentences = said.split(". ")
    good = next(s for s in sentences if s.startswith("Better than expected"))
    bad = next(s for s in sentences if s.startswith("Worse than expected"))
    below, above = ["A"], ["B", "C"]
    faster, slower = (below, above) if better == "lower" else (above, below)
    for name in faster:
        assert f"{name} (" in good and f"{name} (" not in bad
    for name in slower:
        assert f"{name} (" in bad and f"{name} (" not in good
    assert "1 of 4 ranges include zero" in said
    # one clinician (the self-view): which side, in words
    own = caterpillar_words(e.iloc[:1], "PHQ-9", better=better)
    assert ("better than expected" in own) == (better == "lower")
    assert ("worse than expected" in own) == (better == "higher")


def test_client_counts_count_distinct_clients_not_rows(tmp_path):
    # x is off track on two measures, y on one: two clients, three rows
    t = pd.DataFrame({"clinician_id": ["C1", "C1", "C1", "C2"],
                      "client_id": ["x", "x", "y", "z"],
                      "instrument": ["PHQ-9", "GAD-7", "PHQ-9", "PHQ-9"]})
    assert clients_by_clinician(t).to_dict() == {"C1": 2, "C2": 1}
    run = run_with({"not_on_track": t, "clinician_metrics": pd.DataFrame(
        {"clinician_id": ["C1", "C2"]})}, tmp_path)
    said = questions_to_explore(run, "C1")
    assert "2 of your clients are off their expected course" in said
    assert "3 of your clients" not in said


def test_a_rate_of_a_small_cohort_is_hidden_with_the_reason():
    # compute leaves a small cohort's rate empty (test_operations); the words say why
    assert cohort_pct(np.nan, 2, 10) == "hidden: fewer than 10 clients"
    assert cohort_pct(np.nan, 9, 10) == "hidden: fewer than 10 clients"
    assert cohort_pct(np.nan, 0, 10) == "hidden: fewer than 10 clients"
    assert cohort_pct(0.5, 12, 10) == "50% of 12"
    assert cohort_pct(0.25, 1336, 10) == "25% of 1,336"
    # a short export marks a shown rate, never a hidden one
    assert short_history(cohort_pct(0.5, 12, 10), True) == "50% of 12 (short history)"
    assert short_history(cohort_pct(np.nan, 2, 10), True) == "hidden: fewer than 10 clients"


def test_counts_have_thousands_separators(tmp_path):
    assert num(1336, 0) == "1,336"
    assert count(1336, "client") == "1,336 clients"
    assert count(1, "client") == "1 client"
    html = table(pd.DataFrame({"Rows read": [1336, 7]})).to_html()
    assert ">1,336<" in html and ">1336<" not in html
    # a rendered sentence: the model section's counts
    summary = {"PHQ-9": {"share_of_variance_due_to_clinicians": 0.041, "n_clients": 1336,
                         "n_scores": 7388, "messages": [
                             {"code": "boundary", "components": ["clinician starting level"]}]}}
    run = RunFolder(tmp_path, pk.load_config(), {}, {}, summary=summary)
    said = model_section(run)
    # without the distinct count (an older run), its count (client-clinician pairs) is not
    # called clients
    assert "(1,336 courses of treatment, 7,388 scores)" in said
    assert "singular" not in said and "boundary" not in said
    assert "no differences in clinician starting level" in said
    # with it, distinct clients: x saw two clinicians, so 3 pairs are 2 clients
    summary["PHQ-9"]["n_distinct_clients"] = 2
    run = RunFolder(tmp_path, pk.load_config(), {}, {}, summary=summary)
    assert "(2 clients, 7,388 scores)" in model_section(run)


def comings_run(tmp_path: Path) -> RunFolder:
    """This period 1 Aug - 31 Oct 2026, compared with 1 May - 31 Jul 2026. C1 left in the
    compared period (30 Jun), C2 left in this one (15 Sep), C3 joined in this one (10 Aug), C4
    joined in the compared period (1 Jul) but was not in that run."""
    clinicians = pd.DataFrame({
        "clinician_id": ["C1", "C2", "C3", "C4"], "name": list(NAMES.values()),
        "start_date": pd.to_datetime([None, None, "2026-08-10", "2026-07-01"]),
        "end_date": pd.to_datetime(["2026-06-30", "2026-09-15", None, None])})
    then = pd.DataFrame({"clinician_id": ["C1", "C2"], "period_start": "2026-05-01",
                         "period_end": "2026-08-01", "compared_with": True,
                         "this_run": False, "definitions_changed": False, "run_id": "then"})
    now = pd.DataFrame({"clinician_id": ["C3", "C4"], "period_start": "2026-08-01",
                        "period_end": "2026-11-01", "compared_with": False,
                        "this_run": True, "definitions_changed": False, "run_id": "now"})
    changes = pd.DataFrame(columns=["clinician_id", "flag", "metric", "previous", "current",
                                    "change"])
    cfg = pk.load_config()
    return RunFolder(tmp_path, cfg, {}, run_tables(
        {"history": pd.concat([then, now], ignore_index=True), "changes": changes,
         "clinician_metrics": pd.DataFrame({"clinician_id": ["C3", "C4"]})},
        cfg, clinicians=clinicians))


def test_joined_and_left_name_only_this_periods(tmp_path):
    said = first_screen(comings_run(tmp_path))
    who = said[said.index("Who joined or left"):]
    assert "01 August 2026 to 31 October 2026" in who
    assert "Ben Brook** left on 15 Sep 2026" in who
    assert "Cleo Cole** joined on 10 Aug 2026" in who
    assert "Ana Avery" not in said  # left on 30 Jun, in the compared period
    assert "Dev Dunn" not in said  # joined on 1 Jul, in the compared period


def window_keys(notebook: str) -> list[tuple[str, str]]:
    """Each section heading of a report notebook and the window its next cell shows (None:
    the next cell shows none)."""
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    out = []
    for here, nxt in zip(cells, cells[1:] + [None], strict=True):
        src = "".join(here["source"])
        if here["cell_type"] == "markdown" and re.match(r"#{2,3} ", src):
            code = "".join(nxt["source"]) if nxt and nxt["cell_type"] == "code" else ""
            m = re.fullmatch(r'r\.section_window\(run, "(\w+)"\)', code.strip())
            out.append((src.splitlines()[0], m.group(1) if m else None))
    return out


DATED = re.compile(r"\d\d [A-Z][a-z]{2} \d{4}|The whole export|each run's period")


@pytest.mark.parametrize("notebook, keys", [("practice_report.ipynb", OWNER_SECTIONS),
                                            ("clinician_report.ipynb", CLINICIAN_SECTIONS),
                                            ("supervisor_report.ipynb", PACK_SECTIONS)])
def test_every_section_states_its_time_window(notebook, keys, tmp_path):
    found = window_keys(notebook)
    glossary = [h for h, _ in found if h == "## What the words mean"]
    pack = notebook == "supervisor_report.ipynb"  # the pack has no glossary to link to
    assert len(glossary) == (0 if pack else 1)
    # every top-level section (a sub-section shares its section's window, unless it has one)
    missing = [h for h, k in found if k is None and h.startswith("## ")
               and h != "## What the words mean"]
    assert not missing, f"sections without their window in {notebook}: {missing}"
    if notebook != "clinician_report.ipynb":
        assert [k for _, k in found if k] == keys  # each window once, in the page's order
    run = run_with({}, tmp_path)
    for key in keys:
        said = section_window(run, key)
        assert DATED.search(said), (key, said)
        assert ("(#words)" in said) != pack  # linked to the glossary where there is one
    assert "Period: 01 Aug 2026 to 31 Oct 2026" in section_window(run, "operations")
    assert "Last 12 months" in section_window(run, "ramp")


def test_the_owners_caterpillar_says_its_words_under_the_figure(tmp_path):
    """The owner's caterpillar figure shows who lies above or below as text under it (not only
    in the image's alt text); the one-clinician figure of a self-view does not repeat it."""
    from perfkit.report.figures import caterpillar_figure

    effects = pd.DataFrame({"clinician_id": ["C1", "C2"], "instrument": "PHQ-9",
                            "effect": [-0.2, 0.0], "ci_low": [-0.3, -0.1],
                            "ci_high": [-0.1, 0.1], "n_clients": [20, 20],
                            "n_assessments": [80, 80]})
    metrics = pd.DataFrame({"clinician_id": ["C1", "C2"]})
    run = run_with({"clinician_effects": effects, "clinician_metrics": metrics}, tmp_path)
    owner = caterpillar_figure(run, "PHQ-9")
    assert owner.say and "Better than expected" in owner.alt and "Ana Avery" in owner.alt
    # a self-view's estimate against the average of 2 clinicians gives the colleague's away
    assert str(caterpillar_figure(run, "PHQ-9", only="C1")) == ""
    two = run_with({"clinician_effects": effects, "clinician_metrics": metrics}, tmp_path,
                   privacy={"min_peers": 2})
    assert not caterpillar_figure(two, "PHQ-9", only="C1").say
