"""The house style of every figure: the palette, the page a figure must fit when printed,
:func:`use_style`, and :class:`Figure` / :class:`Figures` (a figure, or a figure of several
printed pages, with its text alternative)."""

from __future__ import annotations

import base64
import contextlib
import io
import textwrap
from collections.abc import Sequence

import matplotlib.dates
import matplotlib.font_manager
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.ticker
from matplotlib.backends.backend_agg import RendererAgg

from ...hostile_text import flat, html_text

__all__ = ["use_style", "done", "Figure", "Figures", "BLUE", "GREY", "ORANGE", "WIDTH",
           "PAGE_HEIGHT_PX"]


# Okabe and Ito's blue and vermillion (told apart with every common colour-vision deficiency,
# and each dark enough on white), and a neutral grey for what is context
BLUE, GREY, ORANGE = "#0072B2", "#718096", "#D55E00"

# A report figure is at most WIDTH inches wide: the printed page is about 7.1 in (18 cm), so
# it prints at full size and its 9 pt text stays 9 pt.
WIDTH = 7.1
# The print style sheet (perfkit.render, ``img { max-height: 22cm }``) keeps a figure with its
# caption on one printed page: an image taller than 22 cm is shrunk to 22 cm, and its text with
# it. A figure printed at full size (WIDTH across the 18 cm column, at the house 110 dpi) is
# 22 cm tall at most when its PNG is at most 22 / 2.54 in x 110 dpi = 952 px: so no figure page
# is taller (:func:`_room`), and on screen that is well under the 1,600 px the reports allow.
# A figure with more rows or panels than fit is drawn on several pages (:class:`Figures`).
PRINT_HEIGHT_CM, DPI = 22, 110
PAGE_HEIGHT_PX = int(PRINT_HEIGHT_CM / 2.54 * DPI)  # 952
# zlib's level for a figure's PNG (Pillow's default is 6): the same pixels; on the figures of
# 20 clinician reports level 3 encoded in two thirds of the time and the files came out
# 2% smaller (flat colours and lines: the slower levels find little more to squeeze)
PNG_COMPRESS_LEVEL = 3


def _room() -> float:
    """The tallest a figure page may be, in inches at the current resolution, with a margin
    for what ``bbox_inches="tight"`` adds around it."""
    return (PAGE_HEIGHT_PX - 8) / plt.rcParams["figure.dpi"]


def _wrap(title: str, width: int = 62) -> str:
    """A title in lines that fit a figure of :data:`WIDTH` inches at 11 pt bold."""
    return textwrap.fill(title, width)


def use_style() -> None:
    """The house style: white grid, readable sizes, no chart junk. (Plain matplotlib settings:
    importing seaborn for a theme would cost each report a second.)"""
    plt.rcParams.update({
        "figure.dpi": DPI, "figure.facecolor": "white", "axes.facecolor": "white",
        "axes.grid": True, "grid.color": "#e2e8f0", "grid.linewidth": 0.8,
        "axes.edgecolor": "#a0aec0", "axes.spines.top": False, "axes.spines.right": False,
        "axes.titleweight": "bold", "axes.titlesize": 11, "axes.labelsize": 10,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
        "font.family": "DejaVu Sans",
        # text from the records (names) is drawn as written: "$" is a dollar sign, never
        # the start of mathtext (which would also fail on an unbalanced "$\\")
        "text.parse_math": False,
    })


class Figure:
    """A report figure with its text alternative: what it shows and the one thing to notice,
    written from the same data it draws. A notebook shows the image with the text as its
    ``alt`` (nbconvert writes it into the ``img`` tag) and, with ``say``, the same sentence
    under it. ``drawn``: the part of ``alt`` that names what the figure itself draws by name
    (a long list of clinicians); the page shows it, the printed page leaves it out (the
    figure's own labels say it there). Everything else (``axes``, ``savefig``...) is the
    matplotlib figure's."""

    def __init__(self, fig, alt: str, say: bool = False, drawn: str = "", box=None):
        self.fig, self.alt, self.say, self.drawn = fig, alt, say, drawn
        self.box = box  # the tight box done() measured on the finished figure, if it did

    def __getattr__(self, name):
        if name == "fig":  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.fig, name)

    def png(self) -> bytes:
        """The figure as PNG, cut to its tight box (what ``bbox_inches="tight"`` gives). The
        box is the one :func:`done` measured on the laid-out figure (else measured here) and
        is handed to ``savefig``: with ``"tight"``, matplotlib would first draw the whole
        figure without rendering to measure it again, with a renderer of its own (every text
        measured anew). The picture is the same (same pixels)."""
        buf = io.BytesIO()
        with _layouts_kept():
            box = self.box if self.box is not None else _tight_box(self.fig)
            self.fig.savefig(buf, format="png", bbox_inches=box,
                             dpi=plt.rcParams["figure.dpi"],
                             pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
        return buf.getvalue()

    @property
    def pages(self) -> list[Figure]:
        """The figure's printed pages: itself (a :class:`Figures` has several)."""
        return [self]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data = base64.b64encode(self.png()).decode("ascii")
        alt = flat(self.alt)  # one line (nbconvert escapes it into the img tag)
        display({"image/png": data, "text/plain": alt}, raw=True,
                metadata={"image/png": {"alt": alt}})
        if self.say:
            _say(self.alt, self.drawn)


def _say(words: str, drawn: str = "") -> None:
    """A figure's sentence under it, in a notebook (kept with it when printed); ``drawn``, a
    part of ``words`` that lists what the figure draws by name, is marked so that the print
    style sheet leaves it out (``.figure-text .drawn``)."""
    from IPython.display import Markdown, display

    head, _, tail = words.partition(drawn) if drawn else (words, "", "")
    said = html_text(head) + (f'<span class="drawn">{html_text(drawn)}</span>'
                              + html_text(tail) if drawn and drawn in words else "")
    display(Markdown(f'<p class="figure-text">{said}</p>'))  # one line, inert


class Figures(Sequence):
    """A figure with more rows or panels than fit on one printed page, drawn as several pages
    (each a :class:`Figure` at most :data:`PAGE_HEIGHT_PX` tall, with its own title ending
    "(1 of 2)", axes with tick labels, key and text alternative for what that page shows).
    A notebook shows the pages in order, each its own image with its own ``alt`` (nbconvert
    writes each into its own ``img`` tag), and, with ``say``, the sentence ``alt`` (what the
    whole figure shows) once under the last page. ``figs[k].png()``: page k's image;
    ``axes``: every page's axes, in page order."""

    def __init__(self, pages: list[Figure], alt: str, say: bool = False, drawn: str = ""):
        self.pages, self.alt, self.say, self.drawn = list(pages), alt, say, drawn

    def __len__(self) -> int:
        return len(self.pages)

    def __getitem__(self, k):
        return self.pages[k]

    @property
    def axes(self) -> list:
        return [ax for page in self.pages for ax in page.axes]

    def __repr__(self) -> str:
        return f"<Figures: {len(self.pages)} pages>"

    def _ipython_display_(self) -> None:
        for page in self.pages:
            page._ipython_display_()
        if self.say:
            _say(self.alt, self.drawn)


def done(fig, alt: str, *, say: bool = False, below: float = 0, drawn: str = "") -> Figure:
    """Lay out and close a figure before returning it with its text alternative, so a notebook
    shows it exactly once (through the returned object) and no figure stays open in memory;
    ``below``: inches left free at the bottom (for a key under every panel); ``drawn``: see
    :class:`Figure`."""
    _fix_ticks(fig, dates_only=True)  # a date axis's ticks do not depend on its length
    with _layouts_kept():
        with _measured_once(fig):
            fig.tight_layout(rect=(0, below / fig.get_size_inches()[1], 1, 1))
        _fix_ticks(fig)
        # tight_layout leaves a placeholder layout engine behind (it remembers only that a
        # layout ran), and savefig draws the whole figure once more, without rendering, for any
        # engine: the finished figure needs none
        with matplotlib.rc_context({"figure.autolayout": False,
                                    "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)
        # measured with the renderer the layout used, while the figure still has it (closing
        # it drops it): the texts' sizes are known to it already
        box = _tight_box(fig)
    plt.close(fig)
    return Figure(fig, alt, say, drawn, box)


@contextlib.contextmanager
def _measured_once(fig):
    """While the layout runs, each axes measures its decorations (ticks, labels, title) once.
    ``tight_layout`` with a ``rect`` measures every axes twice, the second time with the same
    axes in the same places (the layout is applied only after both), so the second
    measurement is the first one again; here it is the first one, kept (the same boxes: the
    same layout, the same pixels, in half the time)."""
    kept = {}
    for ax in fig.axes:
        def once(*args, _measure=ax.get_tightbbox, **kwargs):
            key = (id(_measure), *map(id, args), *((k, id(v)) for k, v in sorted(kwargs.items())))
            if key not in kept:
                kept[key] = _measure(*args, **kwargs)
            return kept[key]
        ax.get_tightbbox = once  # an attribute of this axes alone, removed after the layout
    try:
        yield
    finally:
        for ax in fig.axes:
            ax.__dict__.pop("get_tightbbox", None)


# Text layouts worked out while perfkit lays out and draws its figures (_layouts_kept), by
# everything a layout is made from, under the font settings they were made with; a clinician
# report's figures lay out a few hundred different texts (most of them the same in every
# report), so this many is room for many reports; when full, it starts again.
_LAYOUTS: dict[tuple, dict] = {}  # {font settings: {key: layout}}, for one font settings
_LAYOUTS_KEPT = 5_000  # about 2 KB each
_PLAIN_LAYOUT = matplotlib.text.Text._get_layout


@contextlib.contextmanager
def _layouts_kept():
    """While perfkit lays out and draws a figure, each text's layout (its lines, their sizes
    from the font, its box around its anchor) is worked out once and kept. matplotlib works it
    out again each time it measures or draws a text: a tick label is laid out a dozen times a
    figure (the layout, the tight box, the drawing each measure every axis, some more than
    once), and the same labels again in the next figure; that was a fifth of a report's
    figures' time.

    A layout is a function of the text, its font, its alignment, rotation and line spacing,
    the figure's and the renderer's resolution and the font settings (``rcParams``), and of
    nothing else for matplotlib's Agg renderer (the only one a report draws with); all of them
    are the key it is kept under, so the pixels are those matplotlib draws
    (``tests/test_same_output.py``). matplotlib itself kept layouts until 3.5; it dropped that
    cache because its key missed ``usetex`` (matplotlib#22271). A text drawn with TeX, one
    whose math is parsed (the report style parses none: :func:`use_style`), one wrapped to its
    figure, and any renderer but Agg, are laid out by matplotlib each time, as without this.
    A text turned by its transform is kept under the angle it is drawn at."""
    if matplotlib.text.Text.__dict__.get("_get_layout") is not _PLAIN_LAYOUT:
        yield  # already kept (a layout inside a drawing)
        return
    fonts = matplotlib.font_manager.fontManager
    settings = (id(fonts), len(fonts.ttflist),
                *((k, repr(v)) for k, v in plt.rcParams.items()
                  if k.startswith(("font.", "text."))))
    if settings not in _LAYOUTS:  # other fonts, sizes or hinting: start again
        _LAYOUTS.clear()
        _LAYOUTS[settings] = {}
    kept = _LAYOUTS[settings]

    def layout(text, renderer):
        if (type(renderer) is not RendererAgg or text.get_usetex() or text.get_parse_math()
                or text.get_wrap()):
            return _PLAIN_LAYOUT(text, renderer)
        key = (text.get_text(), tuple(vars(text.get_fontproperties()).items()),
               text.get_figure(root=True).dpi, renderer.dpi, text._linespacing,
               text._get_multialignment(), text.get_rotation(), text.get_rotation_mode(),
               text.get_horizontalalignment(), text.get_verticalalignment(),
               getattr(text, "_language", None))
        got = kept.get(key)
        if got is None:
            if len(kept) >= _LAYOUTS_KEPT:
                kept.clear()
            got = kept[key] = _PLAIN_LAYOUT(text, renderer)
        box, lines, corner = got
        return box.frozen(), list(lines), corner  # a copy: a caller may change its box

    matplotlib.text.Text._get_layout = layout
    try:
        yield
    finally:
        matplotlib.text.Text._get_layout = _PLAIN_LAYOUT


def _tight_box(fig):
    """The box ``savefig(bbox_inches="tight")`` cuts the figure to, in inches (its tight box
    with the padding of ``savefig.pad_inches``)."""
    return fig.get_tightbbox(fig._get_renderer()).padded(plt.rcParams["savefig.pad_inches"])


def _fix_ticks(fig, *, dates_only: bool = False) -> None:
    """Pin every axis's major ticks and labels to those the laid-out figure has: from here
    on (the tight box, the drawing) the same ticks are read from a list instead of being
    worked out again, as matplotlib does each time it measures or draws an axis (several
    times an axis for a figure cut to its tight box, and again for each axis sharing it;
    dates cost the most). The figure is finished (:func:`done`): its limits and size no
    longer change, so the ticks are those matplotlib would find, and the picture is the
    same (same pixels). ``dates_only``: only the axes with matplotlib's date ticks, which
    depend on the dates shown alone (not on the axis's length), so can be pinned before the
    layout that changes it."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            locator = axis.get_major_locator()
            if isinstance(locator, matplotlib.ticker.FixedLocator) or (
                    dates_only and not isinstance(locator, matplotlib.dates.AutoDateLocator)):
                continue
            locs = axis.get_majorticklocs()
            formatter = axis.get_major_formatter()
            labels = formatter.format_ticks(locs)
            fixed = matplotlib.ticker.FixedFormatter(labels)
            fixed.set_offset_string(formatter.get_offset())
            axis.set_major_locator(matplotlib.ticker.FixedLocator(locs))
            axis.set_major_formatter(fixed)


def _pages(pages: list[Figure], alt: str, *, say: bool = False,
           drawn: str = "") -> Figure | Figures:
    """Pages drawn (each through :func:`done`) as one figure: a :class:`Figure` when there is
    one page (with ``alt``, what the figure shows, as its text alternative), else
    :class:`Figures`."""
    if len(pages) == 1:
        page = pages[0]
        page.alt, page.say, page.drawn = alt, say, drawn
        return page
    return Figures(pages, alt, say, drawn)


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _title(fig, title: str) -> None:
    """A figure's title, from its left edge (a caterpillar's axes start after the names)."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=plt.rcParams["axes.titlesize"],
                 fontweight="bold")


def _key(axes, panels: int) -> None:
    """One key for a grid of panels: every kind of line drawn, in an empty panel when there
    is one, else under the first panel of the last row."""
    handles = {}
    for ax in axes[:panels]:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, h)
    if not handles:
        return
    if len(axes) > panels:
        axes[panels].legend(handles.values(), handles.keys(), loc="center left",
                            frameon=False)
    else:  # under the panels, in the room done() leaves for it
        axes[0].figure.legend(handles.values(), handles.keys(), loc="lower left",
                              frameon=False, ncol=len(handles))  # one row: at most four
