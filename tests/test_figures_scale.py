"""Figures that scale (issue 28, item 3): the owner's ramp, funnel and caterpillar figures stay
readable at 200 clinicians and at 12. Measured on practices built here by hand, where who lies
outside zero, outside the funnel's limits and ramps more slowly is planted, not read back from
perfkit: no figure page taller than PAGE_HEIGHT_PX (so it prints at full size, whole, on one
page: at most 22 cm tall at 7.1 in wide) and none taller than 1,600 px as the page shows it (an
image wider than the 1,000 px page is scaled down), text at least 9 pt when the figure is
printed, labels inside the plotting area, by name only the clinicians the figure says it names,
and a figure on several pages with its title, scales and key on every page."""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text as MplText
from PIL import Image

import perfkit as pk
import perfkit.report as r
from perfkit.hostile_text import html_text, md
from perfkit.outcomes import funnel_limits
from perfkit.report import RunFolder
from perfkit.report.figures import PAGE_HEIGHT_PX, Figures, use_style
from perfkit.report.format import pct
from perfkit.report.run_folder import ramp_by_hire

from run_tables import derived

FIRST = ["Aisha", "Ben", "Clara", "Dev", "Elena", "Felix", "Grace", "Hal", "Imani", "Jon"]
LAST = ["Moreau", "Okafor", "Chen", "Duarte", "Novak", "Haddad", "Iyer", "Brennan", "Lind",
        "Castillo", "Reyes", "Sato", "Taylor", "Usman", "Vance", "Wolfe", "Young", "Zane",
        "Abel", "Baker"]


def practice(n: int, *, outside: set[int], slow: int, others: int, seed: int = 0
             ) -> RunFolder:
    """A practice of ``n`` clinicians C000..: two of them share a name (C000 and C001);
    the clinicians numbered in ``outside`` have a model interval wholly on one side of zero
    (alternately below and above), every other interval includes zero; every fifth clinician
    lies outside the funnel's 95% limits; ``slow`` new hires ramp more slowly than the
    earlier hires (the first ``slow`` of C000..), ``others`` as expected."""
    rng = np.random.default_rng(seed)
    ids = [f"C{k:03d}" for k in range(n)]
    names = {cid: f"{FIRST[k % 10]} {LAST[(k // 10) % 20]}" for k, cid in enumerate(ids)}
    names["C001"] = names["C000"]
    effect = rng.uniform(-0.03, 0.03, n)
    half = np.full(n, 0.06)
    for k in outside:  # wholly below zero for even k, above for odd
        effect[k] = -0.12 if k % 2 == 0 else 0.12
        half[k] = 0.05
    effects = pd.DataFrame({"clinician_id": ids, "instrument": "PHQ-9", "effect": effect,
                            "ci_low": effect - half, "ci_high": effect + half,
                            "n_clients": 30, "n_assessments": 120})
    episodes = rng.integers(20, 90, n)
    p0 = 0.4
    lo, hi = funnel_limits(p0, episodes, 0.95)
    rate = np.where(np.arange(n) % 5 == 0,  # every fifth: outside, alternately above, below
                    np.where(np.arange(n) % 10 == 0, np.minimum(hi + 0.08, 0.97),
                             np.maximum(lo - 0.08, 0.02)),
                    rng.uniform(lo + 0.01, hi - 0.01))
    signal = np.where(rate > hi, "above_inner", np.where(rate < lo, "below_inner", "within"))
    funnel = pd.DataFrame({"clinician_id": ids, "instrument": "PHQ-9",
                           "paired_episodes": episodes, "reliable_improvement_rate": rate,
                           "practice_rate": p0, "signal": signal})
    weeks = np.arange(20)
    ramp = pd.concat([pd.DataFrame(columns=["clinician_id", "week", "utilization",
                                            "practice_utilization", "ramp"])] + [pd.DataFrame({
        "clinician_id": ids[k], "start_date": "2026-06-01", "week": weeks,
        "utilization": (0.3 if k < slow else 0.75) + 0.01 * weeks + 0.002 * k,
        "practice_utilization": 0.75 + 0.01 * weeks, "hires_compared": 8,
        "ramp": "more slowly" if k < slow else "as expected"})
        for k in range(slow + others)])
    tables = {"clinician_metrics": pd.DataFrame({"clinician_id": ids}),
              "clinician_effects": effects, "funnel": funnel, "ramp": ramp}
    cfg = pk.load_config()
    return RunFolder(pk.__path__[0], cfg, {}, derived(tables, cfg), _names=names)


@pytest.fixture(scope="module")
def sizes() -> dict[int, RunFolder]:
    use_style()
    return {200: practice(200, outside=set(range(3, 200, 5)), slow=17, others=48),
            12: practice(12, outside={2, 7}, slow=1, others=3)}


@pytest.fixture(scope="module")
def figures(sizes) -> dict[int, dict]:
    """The owner's three figures of each practice, drawn once for the module."""
    return {n: {"ramp": r.ramp_figure(run), "funnel": r.funnel_figure(run, "PHQ-9"),
                "caterpillar": r.caterpillar_figure(run, "PHQ-9")} for n, run in sizes.items()}


def png_size(fig) -> tuple[int, int]:
    return Image.open(io.BytesIO(fig.png())).size


def print_scale(fig) -> float:
    """How much printing on a 7.1 in wide page, at most 22 cm tall (the print style sheet's
    ``max-height``), shrinks the figure (1: not at all)."""
    width_in, height_in = (px / matplotlib.rcParams["figure.dpi"] for px in png_size(fig))
    return min(1.0, 7.1 / width_in, 22 / 2.54 / height_in)


def test_a_page_is_22_cm_tall_at_most_when_printed_at_full_size():
    # 22 cm at the figures' 110 dpi: 22 / 2.54 * 110 = 952.76 px
    assert PAGE_HEIGHT_PX == 952


def renderer(fig):
    FigureCanvasAgg(fig.fig)  # the report closed it: draw it again to measure
    return fig.fig.canvas.get_renderer()


@pytest.mark.parametrize("n", [200, 12])
@pytest.mark.parametrize("which", ["ramp", "funnel", "caterpillar"])
def test_no_figure_page_is_taller_than_a_printed_page(figures, n, which):
    for page in figures[n][which].pages:
        width, height = png_size(page)
        assert height <= PAGE_HEIGHT_PX, (width, height)
        assert height * min(1, 1000 / width) <= 1600, (width, height)
        assert print_scale(page) > 0.99  # printed at full size: not shrunk to fit


@pytest.mark.parametrize("n", [200, 12])
def test_text_is_at_least_9_pt_on_the_printed_page(figures, n):
    for which, fig in figures[n].items():
        for page in fig.pages:
            least = 9 / print_scale(page)
            texts = [t for t in page.fig.findobj(MplText) if t.get_text() and t.get_visible()]
            assert texts
            small = [(t.get_text(), t.get_fontsize()) for t in texts
                     if t.get_fontsize() < least]
            assert not small, (which, least, small[:3])


def has_tick_labels(ax, where: str = "bottom") -> bool:
    """Whether the axes' x scale is labelled at ``where`` (bottom or top) as drawn."""
    FigureCanvasAgg(ax.figure).draw()  # tick labels get their text when drawn
    label = "label1" if where == "bottom" else "label2"
    return any(getattr(t, label).get_visible() and getattr(t, label).get_text()
               for t in ax.xaxis.get_major_ticks())


def test_the_large_caterpillar_names_exactly_those_whose_interval_excludes_zero(sizes,
                                                                              figures):
    run = sizes[200]
    e = run.table("clinician_effects")
    # planted: C003, C008, ... (every fifth from 3): 40 clinicians outside zero
    expected = {run.name_of(c) for c, lo, hi in zip(e["clinician_id"], e["ci_low"],
                                                   e["ci_high"], strict=True)
                if hi < 0 or lo > 0}
    assert len(expected) == 40 and run.name_of("C003") in expected
    fig = figures[200]["caterpillar"]
    # 40 rows of names and the strip do not fit on one page: two pages, 20 names on each
    assert isinstance(fig, Figures) and len(fig) == 2
    named = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()]
    assert len(named) == len(set(named)) == 40 and set(named) == expected
    assert [sum(bool(t.get_text()) for ax in page.axes for t in ax.get_yticklabels())
            for page in fig] == [20, 20]
    # the other 160 are one strip of dots, on the last page, counted in its title and words
    strip = fig[-1].axes[-1]
    assert len(strip.collections[0].get_offsets()) == 160
    assert strip.get_title(loc="left").startswith("The other 160 clinicians")
    assert not any(ax.get_title(loc="left").startswith("The other") for ax in fig[0].axes)
    assert ("160 of 200 ranges include zero (consistent with the practice average); they are "
            "drawn together") in fig.alt
    # every page: its own title, the same scale (so pages compare), labelled at the top and
    # the bottom of every panel of names, and the axis label
    for k, page in enumerate(fig, 1):
        assert page.fig.get_suptitle().endswith(f"({k} of 2)")
        assert f"({k} of 2)" in page.alt
        assert {ax.get_xlim() for ax in page.axes} == {fig[0].axes[0].get_xlim()}
        names = [ax for ax in page.axes if ax.get_yticklabels()]
        assert len(names) == 2
        for ax in names:
            assert has_tick_labels(ax, "bottom") and has_tick_labels(ax, "top")
        xlabel = [page.fig.get_supxlabel()] + [ax.get_xlabel() for ax in page.axes]
        assert any(x.startswith("difference from the practice's PHQ-9 change") for x in xlabel)
    assert has_tick_labels(strip, "bottom") and not has_tick_labels(strip, "top")
    # each page's text alternative names the clinicians drawn on it, and only them
    for page in fig:
        on_page = {t.get_text() for ax in page.axes for t in ax.get_yticklabels()}
        assert {who for who in expected if who in page.alt} == on_page - {""}


def test_more_names_than_two_pages_hold_go_on_a_third(sizes):
    """100 of 200 clinicians outside zero (every other one): 34, 33 and 33 names a page (at
    most 2 x 28 rows fit a page at 0.22 in, 2 x 19 with the strip)."""
    use_style()
    run = practice(200, outside=set(range(0, 200, 2)), slow=0, others=0)
    fig = r.caterpillar_figure(run, "PHQ-9")
    assert len(fig) == 3
    per_page = [[t.get_text() for ax in page.axes for t in ax.get_yticklabels()
                 if t.get_text()] for page in fig]
    assert list(map(len, per_page)) == [34, 33, 33]
    assert set(sum(per_page, [])) == {run.name_of(f"C{k:03d}") for k in range(0, 200, 2)}
    assert len({ax.get_xlim() for ax in fig.axes}) == 1
    assert all(png_size(page)[1] <= PAGE_HEIGHT_PX for page in fig)


def test_each_page_of_a_figure_is_its_own_image_with_its_own_alt(figures, monkeypatch):
    """In a notebook: one image a page, in order, each with its page's text as ``alt``, and
    the whole figure's sentence once, under the last page."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda *objs, **kw: shown.extend((o, kw) for o in objs))
    fig = figures[200]["caterpillar"]
    fig._ipython_display_()
    assert [kw["metadata"]["image/png"]["alt"] for _, kw in shown[:-1]] == [p.alt for p in fig]
    assert all(o["image/png"] for o, _ in shown[:-1])
    assert "figure-text" in shown[-1][0].data and len(shown) == len(fig) + 1
    # the list of the names it draws is marked, for the print style sheet to leave out; the
    # sentence before it (how many ranges include zero) is not
    said = shown[-1][0].data
    head, _, rest = said.partition('<span class="drawn">')
    listed, _, after = rest.partition("</span>")
    assert "ranges include zero" in head and "Better than expected" not in head
    assert listed.lstrip().startswith(("Better than expected", "Worse than expected"))
    drawn = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels() if t.get_text()}
    assert drawn and all(html_text(name) in listed for name in drawn)
    assert after == "</p>"


@pytest.mark.parametrize("n", [200, 12])
def test_a_funnels_list_of_those_outside_is_marked_as_drawn_when_each_is_labelled(
        sizes, figures, n):
    fig = figures[n]["funnel"]
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert fig.drawn and fig.drawn in fig.alt
    assert all(name in fig.drawn for name in labels)
    assert fig.drawn.lstrip().startswith(("Above it", "Below it"))
    # whoever has no label is named outside the list, so the printed page names them too
    printed = fig.alt.replace(fig.drawn, "")
    run = sizes[n]
    f = run.table("funnel")
    outside = {run.name_of(c) for c, s in zip(f["clinician_id"], f["signal"], strict=True)
               if s != "within"}
    for name in outside - labels:
        assert name in printed.partition("drawn without a label for lack of room: ")[2]
    assert all(name not in printed for name in labels)


def test_a_twelve_clinician_caterpillar_names_everyone(sizes, figures):
    run = sizes[12]
    fig = figures[12]["caterpillar"]
    assert len(fig.axes) == 1
    shown = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(shown) == sorted(run.name_of(f"C{k:03d}") for k in range(12))
    # two clinicians with one name carry their ids
    assert {"Aisha Moreau (C000)", "Aisha Moreau (C001)"} <= set(shown)
    assert "drawn together" not in fig.alt


def funnel_labels(fig) -> tuple:
    rend = renderer(fig)
    ax = fig.axes[0]
    for t in ax.texts:
        t.update_positions(rend)
    return ax, rend, {t.get_text(): MplText.get_window_extent(t, rend) for t in ax.texts}


@pytest.mark.parametrize("n", [200, 12])
def test_funnel_labels_name_the_points_outside_and_stay_inside_the_plot(sizes, figures, n):
    run = sizes[n]
    f = run.table("funnel")
    outside = {run.name_of(c) for c, s in zip(f["clinician_id"], f["signal"], strict=True)
               if s != "within"}
    assert len(outside) == n // 5 + (n % 5 > 0)  # every fifth, as planted
    fig = figures[n]["funnel"]
    ax, rend, boxes = funnel_labels(fig)
    left_off = len(outside) - len(boxes)
    assert set(boxes) <= outside and left_off <= len(outside) // 4
    if left_off:
        assert (f"{left_off} clinician{'s' * (left_off > 1)} outside the range "
                f"{'are' if left_off > 1 else 'is'} drawn without a label") in fig.alt
    area = ax.get_window_extent(rend)
    title = ax.title.get_window_extent(rend)
    for name, box in boxes.items():
        assert (area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0
                and box.y1 <= area.y1), name
        assert not box.overlaps(title)
    listed = list(boxes.values())
    for i, a in enumerate(listed):
        for b in listed[i + 1:]:
            assert not a.overlaps(b)


def titles_of(fig) -> list[str]:
    return [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]


def test_many_new_hires_draw_a_panel_only_for_those_ramping_more_slowly(sizes, figures):
    """17 of 65 hires ramp more slowly (C000 to C016, each 0.002 a week above the one before):
    one printed page holds 12 panels (four rows of three), so the 10 slowest (C000 to C009)
    get a panel each, in name order, the other 7 slow hires share one and the 48 on track
    another."""
    run = sizes[200]
    fig = figures[200]["ramp"]
    titles = titles_of(fig)
    panels = sorted(run.name_of(f"C{k:03d}") for k in range(10))
    assert titles == [f"{who}\nramping more slowly" for who in panels] + [
        "7 more ramping more\nslowly, a line each", "The other 48 new\nclinicians, a line each"]
    assert not isinstance(fig, Figures) and png_size(fig)[1] <= PAGE_HEIGHT_PX
    more, together = fig.axes[10], fig.axes[11]
    assert len(more.collections[0].get_segments()) == 7
    assert len(together.collections[0].get_segments()) == 48
    key = [t.get_text() for t in fig.fig.legends[0].get_texts()]
    assert key == ["utilization", "earlier hires (median)",
                   "a slower hire each", "another new hire each"]
    for k, ax in enumerate(fig.axes):  # four rows of three: the x label under each column
        assert has_tick_labels(ax)
        assert ax.get_xlabel() == ("weeks since starting" if k >= 9 else ""), k
    assert "A panel each for the 10 clinicians ramping more slowly" in fig.alt
    assert "The other 48 new clinicians, drawn together, a thin line each: 48 ramping as " \
           "expected" in fig.alt
    # the words beside it: all 17 slow hires by name with their figures, the others counted
    words = str(r.ramp_words(run))
    assert "Ramping as the earlier hires did: 48 clinicians." in words
    slow = [run.name_of(f"C{k:03d}") for k in range(17)]
    assert all(f"**{md(who)}** " in words for who in slow)
    first = ramp_by_hire(run).set_index("clinician_id").loc["C000"]  # the words agree with it
    assert (f"**{md(run.name_of('C000'))}** {pct(first['utilization'])} against "
            f"{pct(first['practice_utilization'])};") in words
    assert run.name_of("C017") not in words and run.name_of("C064") not in words


def test_more_slow_hires_than_fit_give_panels_to_the_slowest(sizes):
    """25 hires ramp more slowly (the later-numbered ones slightly less slowly: their
    utilization is 0.002 a number higher against the same earlier hires): a page holds 12
    panels, so the 10 slowest (C000 to C009) get a panel each, the other 15 share one, the 30
    on track another."""
    use_style()
    run = practice(60, outside=set(), slow=25, others=30)
    fig = r.ramp_figure(run)
    titles = titles_of(fig)
    assert titles[:10] == [f"{who}\nramping more slowly" for who in
                           sorted(run.name_of(f"C{k:03d}") for k in range(10))]
    assert titles[10:] == ["15 more ramping more\nslowly, a line each",
                           "The other 30 new\nclinicians, a line each"]
    assert not isinstance(fig, Figures) and png_size(fig)[1] <= PAGE_HEIGHT_PX


def test_a_few_new_hires_keep_a_panel_each(sizes, figures):
    run = sizes[12]
    titles = [ax.get_title(loc="left") for ax in figures[12]["ramp"].axes
              if ax.get_title(loc="left")]
    assert titles == [f"{run.name_of('C000')}\nramping more slowly"] + [
        f"{run.name_of(c)}\nramping as expected" for c in ("C001", "C002", "C003")]
    words = str(r.ramp_words(run))
    assert all(f"**{md(run.name_of(c))}**" in words for c in ("C000", "C001", "C002", "C003"))


def test_no_empty_frames_for_a_funnel_with_no_scores(sizes):
    run = practice(2, outside=set(), slow=0, others=0)
    run.tables["funnel"] = run.tables["funnel"].iloc[0:0]
    assert str(r.funnel_figure(run, "PHQ-9")) == "PHQ-9: no clients with a first and last score."
    run.tables["ramp"] = run.tables["ramp"].iloc[0:0]
    run.tables.update(derived(run.tables, run.config))
    assert str(r.ramp_figure(run)) == ""


def test_a_supervisor_of_five_sees_their_supervision_on_two_pages(tmp_path):
    """Five supervisees' compliance panels (2.6 in each): three fit under a page's title, so
    two pages, three panels then two, each page titled, its panels keyed and dated; the words
    of the whole figure count every week of each."""
    use_style()
    weeks = pd.date_range("2026-06-01", periods=20, freq="7D").strftime("%Y-%m-%d")
    ids = ["A", "B", "C", "D", "E"]
    periods = pd.DataFrame([{"clinician_id": c, "period_start": w, "period": "week",
                             "unit": "hours", "counted": float(k % 3 == 0), "required": 1.0,
                             "assessed": True, "compliant": k % 3 == 0}
                            for c in ids for k, w in enumerate(weeks)])
    run = RunFolder(tmp_path, pk.load_config(pseudonym_key_file=tmp_path / "k"), {},
                  {"supervision_periods": periods}, _names={c: f"Clin {c}" for c in ids})
    fig = r.compliance_figure(run, ids)
    assert isinstance(fig, Figures) and len(fig) == 2
    assert [len(page.axes) for page in fig] == [3, 2]
    for k, page in enumerate(fig, 1):
        assert page.fig.get_suptitle() == f"Supervision against the rule ({k} of 2)"
        assert png_size(page)[1] <= PAGE_HEIGHT_PX
        for ax in page.axes:
            assert ax.get_legend() is not None and has_tick_labels(ax)
    assert fig.alt.count("the rule was met in 7 of 20 weeks with client hours") == 5
    assert "Clin D" in fig[1].alt and "Clin D" not in fig[0].alt
    # three or fewer: one page, as before
    assert not isinstance(r.compliance_figure(run, ids[:3]), Figures)


@pytest.mark.parametrize("n", [200, 12])
@pytest.mark.parametrize("cid", ["C000", "C002", "C003"])
def test_a_clinician_s_own_outcome_figure_draws_their_range_by_name_at_any_size(sizes, n, cid):
    """A clinician's own page draws their estimate with its likely range, by their name, as
    its title and words say, whether their range includes zero or not and whatever the size
    of the practice: never the owner's large-practice strip ("All 1 clinician ... a dot
    each", one unlabelled dot) nor its "By name" heading."""
    run = sizes[n]
    e = run.table("clinician_effects").set_index("clinician_id").loc[cid]
    fig = r.caterpillar_figure(run, "PHQ-9", only=cid)
    assert not isinstance(fig, Figures) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [run.name_of(cid)]
    assert not ax.get_title(loc="left")  # no "By name: ..." nor "... a dot each"
    (segment,) = ax.collections[0].get_segments()  # the likely range, drawn
    assert segment[:, 0].min() == pytest.approx(e["ci_low"])
    assert segment[:, 0].max() == pytest.approx(e["ci_high"])
    assert "likely range" in fig.fig.get_suptitle() and "dot each" not in fig.alt
