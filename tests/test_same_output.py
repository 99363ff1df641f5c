"""Shortcuts taken for speed (issue 33) give what the libraries' own paths give.

- Figures: :func:`perfkit.report.figures.style.done` pins ticks, measures each axes once during
  the layout and keeps the tight box it measured; ``Figure.png`` hands that box to savefig;
  both keep each text's layout for the next time it is measured (``style._layouts_kept``).
  matplotlib's own path is ``tight_layout`` then ``savefig(bbox_inches="tight")``. Every
  figure of every report kind, drawn both ways from the same run, decodes to the same pixels.
- Pages: ``render.export_html`` takes nbconvert's steps on one parse of the page
  (``_PageExporter.parsed_page``) where nbconvert parses it, finishes it and writes it out as
  text to be parsed again. The two give the same page, byte for byte, on a notebook of hostile
  outputs and on every executed notebook of the demo run. A report is exported from the
  notebook papermill returns, not from its file read back: the same page.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.text
import nbformat
import numpy as np
import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

import perfkit.report as r
from perfkit import render
from perfkit.cache import demo_run
from perfkit.report.figures import operations_charts, outcome_charts, style


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def plain_done(fig, alt: str, *, say: bool = False, below: float = 0, drawn: str = ""):
    """``done`` as matplotlib's own path: the layout, nothing pinned, nothing kept."""
    fig.tight_layout(rect=(0, below / fig.get_size_inches()[1], 1, 1))
    plt.close(fig)
    return style.Figure(fig, alt, say, drawn)


def plain_png(page: style.Figure) -> bytes:
    buf = io.BytesIO()
    page.fig.savefig(buf, format="png", bbox_inches="tight", dpi=plt.rcParams["figure.dpi"])
    return buf.getvalue()


def every_figure(run) -> list:
    """Each figure the practice, supervision and clinician reports draw, for every clinician
    of the run (figure calls as the notebooks make them)."""
    ids = list(run.table("clinician_metrics")["clinician_id"])
    out = [r.ramp_figure(run), r.funnel_figure(run, "PHQ-9"), r.caterpillar_figure(run, "PHQ-9"),
           r.compliance_figure(run, ids)]
    for cid in ids:
        out += [r.distribution_figure(run, cid), r.ramp_figure(run, only=cid),
                r.weekly_trends_figure(run, cid), r.trajectories_figure(run, cid, "PHQ-9"),
                r.caterpillar_figure(run, "PHQ-9", only=cid),
                r.compliance_figure(run, [cid], names=False)]
    return [page for fig in out for page in getattr(fig, "pages", [])]


def test_figures_drawn_with_the_shortcuts_have_matplotlib_s_own_pixels(monkeypatch):
    r.use_report_style()
    run = r.load_run(demo_run())
    fast = [pixels(page.png()) for page in every_figure(run)]
    for module in (operations_charts, outcome_charts):
        monkeypatch.setattr(module, "done", plain_done)
    plain = [pixels(plain_png(page)) for page in every_figure(run)]
    assert len(fast) == len(plain) > 50
    kinds = {a.shape for a in fast}
    assert len(kinds) > 5  # figures of many sizes, not one drawn many times
    for k, (a, b) in enumerate(zip(fast, plain, strict=True)):
        assert a.shape == b.shape, k
        assert np.array_equal(a, b), k


def test_measuring_once_leaves_the_axes_as_they_were():
    fig, axes = plt.subplots(2, 1)
    before = [ax.get_tightbbox for ax in axes]
    with style._measured_once(fig):
        assert all("get_tightbbox" in ax.__dict__ for ax in axes)
    assert all("get_tightbbox" not in ax.__dict__ for ax in axes)
    assert [ax.get_tightbbox for ax in axes] == before
    plt.close(fig)


def layout(got) -> tuple:
    box, lines, corner = got
    return tuple(box.bounds), lines, corner


# Each variant changes one thing a text's layout is made from.
VARIANTS = [
    {}, {"fontsize": 11}, {"fontweight": "bold"}, {"fontstyle": "italic"},
    {"family": "DejaVu Serif"}, {"family": "DejaVu Sans Mono"}, {"fontstretch": "condensed"},
    {"rotation": 45}, {"rotation": 90}, {"rotation": 30, "rotation_mode": "anchor"},
    {"rotation": 30, "rotation_mode": "xtick"}, {"ha": "right"}, {"ha": "center"},
    {"va": "top"}, {"va": "center_baseline"}, {"va": "baseline"},
    {"multialignment": "right"}, {"linespacing": 2.0}, {"text": "Feb 2026\nlines"},
]


def test_a_kept_text_layout_is_matplotlib_s_own_for_every_property():
    """A layout is kept under everything it is made from: a text that differs in any one
    property, or the same text after its property changed, after the resolution changed or
    under other font settings, gets matplotlib's own layout, never a kept one that would do
    for another text."""
    r.use_report_style()
    fig = plt.figure(figsize=(4, 3))
    renderer = fig.canvas.get_renderer()
    texts = []
    for variant in VARIANTS:
        kw = dict(variant)
        texts.append(fig.text(0.5, 0.5, kw.pop("text", "Jan 2026\nline two"), **kw))
    try:
        with style._layouts_kept():
            for t in texts + texts[::-1]:  # each kept, then asked for again
                assert layout(t._get_layout(renderer)) == layout(
                    style._PLAIN_LAYOUT(t, renderer)), t
            kept = len(*style._LAYOUTS.values())
            texts[0].set_rotation(60)  # the same text, changed
            texts[1].set_fontsize(7)
            for t in texts[:2]:
                assert layout(t._get_layout(renderer)) == layout(
                    style._PLAIN_LAYOUT(t, renderer))
            assert len(*style._LAYOUTS.values()) == kept + 2
        fig.set_dpi(200)  # another resolution
        renderer = fig.canvas.get_renderer()
        with style._layouts_kept():
            assert layout(texts[2]._get_layout(renderer)) == layout(
                style._PLAIN_LAYOUT(texts[2], renderer))
    finally:
        plt.close(fig)
    seen = []
    for fonts in (["DejaVu Sans"], ["DejaVu Sans Mono"]):  # other font settings
        with plt.rc_context({"font.sans-serif": fonts}), style._layouts_kept():
            fig = plt.figure()
            renderer = fig.canvas.get_renderer()
            t = fig.text(0.1, 0.1, "Jan 2026 iiii", family="sans-serif")
            seen.append(layout(t._get_layout(renderer)))
            assert seen[-1] == layout(style._PLAIN_LAYOUT(t, renderer))
            plt.close(fig)
    assert seen[0] != seen[1]
    assert matplotlib.text.Text._get_layout is style._PLAIN_LAYOUT  # put back


def test_what_a_kept_layout_leaves_out_is_laid_out_by_matplotlib_each_time():
    """A layout that depends on more than the key holds is never kept: a wrapped text (its
    lines follow the figure's width), math text (the ``mathtext`` settings), a renderer other
    than Agg (its own measures). A text turned by its transform (the axes' scale) is kept
    under the angle it is drawn at."""
    from matplotlib.backends.backend_svg import RendererSVG

    r.use_report_style()
    words = "a long sentence that wraps to the width of its figure " * 3
    fig, ax = plt.subplots(figsize=(6, 3))
    # matplotlib sets a wrapped text's rotation mode to "anchor" when it wraps it
    wrapped = fig.text(0.05, 0.5, words, wrap=True, rotation_mode="anchor")
    turned = ax.text(0.5, 0.5, "turned", rotation=30, transform_rotates_text=True,
                     transform=ax.transData)
    seen = {}
    try:
        for size, top in ((6, 1), (3, 10)):
            fig.set_size_inches(size, 3)
            ax.set_ylim(0, top)
            renderer = fig.canvas.get_renderer()
            wrapped._renderer = renderer  # as drawing sets it: the wrapping measures with it
            with style._layouts_kept():
                for name, t in (("wrapped", wrapped), ("turned", turned)):
                    seen.setdefault(name, []).append(layout(t._get_layout(renderer)))
                    assert seen[name][-1] == layout(style._PLAIN_LAYOUT(t, renderer)), name
        assert seen["wrapped"][0] != seen["wrapped"][1]
        assert seen["turned"][0] != seen["turned"][1]
        svg = RendererSVG(400, 300, io.StringIO())
        agg = fig.canvas.get_renderer()
        text = fig.text(0.1, 0.1, "Jan 2026 iiii")
        with style._layouts_kept():
            a, b = layout(text._get_layout(agg)), layout(text._get_layout(svg))
            assert a == layout(style._PLAIN_LAYOUT(text, agg))
            assert b == layout(style._PLAIN_LAYOUT(text, svg)) != a
    finally:
        plt.close(fig)
    maths = []
    for default in ("it", "bf"):  # a setting no text property holds
        with plt.rc_context({"mathtext.default": default}), style._layouts_kept():
            fig = plt.figure()
            renderer = fig.canvas.get_renderer()
            t = fig.text(0.1, 0.1, r"$x^2 + \alpha$", parse_math=True)
            maths.append(layout(t._get_layout(renderer)))
            assert maths[-1] == layout(style._PLAIN_LAYOUT(t, renderer))
            plt.close(fig)
    assert maths[0] != maths[1]


def test_layouts_are_put_back_when_a_drawing_fails():
    with pytest.raises(RuntimeError), style._layouts_kept():
        assert matplotlib.text.Text._get_layout is not style._PLAIN_LAYOUT
        raise RuntimeError("a figure that fails to draw")
    assert matplotlib.text.Text._get_layout is style._PLAIN_LAYOUT


def hostile_notebook():
    """Outputs of every kind a report has, with text that a parser could read two ways."""
    nb = new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [
        new_markdown_cell("# Title &amp; <em>more</em>\n\n## A section\n\nAT&T's &nbsp;&lt;b&gt;"),
        new_code_cell("x", outputs=[new_output("display_data", {
            "text/html": "<table><tr><td>O'Brien &amp; <i>Co</i><br>2 &lt; 3</td></tr></table>"
                         "<p>unclosed <b>bold<p>next &#169; &copy; \u00a0 <!-- note -->",
            "text/plain": "x"})]),
        new_code_cell("y", outputs=[new_output("display_data", {
            "text/markdown": "<p class=\"figure-text\">50% &gt; *half* `code` <script>x</script>"
                             "</p>", "text/plain": "y"})]),
        new_code_cell("z", outputs=[
            new_output("display_data", {"image/png": "iVBORw0KGgo=", "text/plain": "a"}),
            new_output("display_data", {"image/png": "iVBORw0KGgo=", "text/plain": "a"},
                       metadata={"image/png": {"alt": "Weekly \"rates\" & <limits>"}}),
            new_output("stream", name="stderr", text="a warning"),
            new_output("error", ename="E", evalue="v", traceback=["t"])]),
        new_markdown_cell("## Empty section\n\n### Sub-heading"),
        new_code_cell("w", outputs=[new_output("execute_result", {
            "text/html": "<div><span title=\"a &quot;b&quot;\">&#x27;</span></div>",
            "text/plain": "w"}, execution_count=1)]),
    ]
    return nb


def both_pages(nb) -> tuple[str, str]:
    exporter = render._exporter()
    nbconvert_s, _ = HTMLExporter.from_notebook_node(exporter, nb)
    return render.semantic_page(nbconvert_s), render.semantic_page(exporter.parsed_page(nb))


def test_one_parse_gives_nbconvert_s_page_for_hostile_outputs():
    theirs, ours = both_pages(hostile_notebook())
    assert "No description has been provided for this image" in ours  # nbconvert's step
    assert "O&amp;#x27;Brien" not in ours and "a warning" not in ours
    assert ours == theirs


@pytest.mark.end_to_end
def test_one_parse_gives_nbconvert_s_page_for_every_demo_report(demo_quarters):
    notebooks = sorted(demo_quarters.glob("**/*.ipynb"))
    assert len(notebooks) > 10
    for path in notebooks:
        theirs, ours = both_pages(nbformat.read(path, as_version=4))
        assert ours == theirs, path.name


@pytest.mark.end_to_end
def test_a_report_exported_from_what_papermill_returns_is_the_page_its_file_gives(
        demo_quarters, tmp_path):
    """``render._render`` exports the executed notebook papermill returns, not the file papermill
    wrote read back: the page it writes is the page that file gives, byte for byte (the
    practice report and a clinician's, rendered by a report worker's own steps, its reused
    kernel included)."""
    clinician = r.load_run(demo_quarters).table("clinician_metrics")["clinician_id"].iloc[0]
    jobs = render._jobs(demo_quarters, [(clinician, "A clinician")], "Practice", "period",
                        roles=("owner", "clinician"))
    try:
        for job in jobs:  # written here, never into the shared demo run
            job["executed"] = str(tmp_path / Path(job["executed"]).name)
            job["html"] = str(tmp_path / Path(job["html"]).name)
            assert render._render(job)["status"] == "ok", job["name"]
            page = Path(job["html"]).read_text()
            assert page == render.export_html(nbformat.read(job["executed"], as_version=4),
                                              job["title"]), job["name"]
            assert page.count("<img") > 2
    finally:
        render._shutdown_kernel()
