"""Every figure of the reports and notebooks: plain, labelled, readable by people who do not
read statistics, in one house style (:func:`use_style`) and one palette. Each report figure
reads the run's tables (:class:`~perfkit.report.run.RunData`); the model figures take a fit."""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Sequence

import matplotlib
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.text import Text as MplText
from matplotlib.transforms import Bbox

from .. import operations as op
from ..outcomes import funnel_limits
from ..safety import flat, html_text
from ..trends import PERCENT_METRICS, Reading, read_series
from .format import (
    NO_SIGNING_TIMES,
    NOT_IN_EXPORT,
    Text,
    count,
    num,
    pct,
    table,
    trend_words,
)
from .run import (
    RunData,
    few_peers,
    hires_compared,
    measured,
    no_appointments,
    ramp_by_hire,
    ramping_starts,
    rows_or_reason,
    unavailable,
)
from .teams import is_large

__all__ = ["use_style", "done", "Figure", "caterpillar", "caterpillar_words", "funnel_words",
           "fit_caterpillar",
           "residual_diagnostics",
           "random_effects_qq",
           "funnel_figure", "caterpillar_figure", "distribution_figure", "weekly_trends_figure",
           "trajectories_figure", "trajectories_grid", "compliance_figure", "ramp_figure",
           "BLUE", "GREY", "ORANGE", "WIDTH", "PAGE_HEIGHT_PX", "Figures"]

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

    def __init__(self, fig, alt: str, say: bool = False, drawn: str = ""):
        self.fig, self.alt, self.say, self.drawn = fig, alt, say, drawn

    def __getattr__(self, name):
        if name == "fig":  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.fig, name)

    def png(self) -> bytes:
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", bbox_inches="tight",
                         dpi=plt.rcParams["figure.dpi"])
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
    fig.tight_layout(rect=(0, below / fig.get_size_inches()[1], 1, 1))
    plt.close(fig)
    return Figure(fig, alt, say, drawn)


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


# A caterpillar's rows of names: NAME_ROW inches each, closer (down to NAME_ROW_MIN, where 9 pt
# names still stand apart) before another page is needed. Inches a page takes besides its rows:
# NAMES_AROUND (the title, the scale above and below the names, the axis label) and, on the
# last page of a large practice, STRIP (the strip of the others, with its title and scale).
NAME_ROW, NAME_ROW_MIN, NAMES_AROUND, STRIP = 0.3, 0.22, 2.4, 1.8


def caterpillar(effects: pd.DataFrame, instrument: str, *, better: str = "lower",
                highlight: str | None = None, unit: str = "week", adjusted: bool = True,
                say: bool = False, together: int | None = None):
    """Each clinician's effect on the rate of change per ``unit`` (week or session) with its
    95% interval, in clinician-id order (never sorted into a ranking); ``adjusted``: the model
    allowed for intake severity. Intervals that cross zero mean the clinician's clients changed
    at a rate consistent with the practice average.

    More than ``together`` clinicians: only those whose interval lies wholly on one side of
    zero (and ``highlight``) are drawn by name; the others together, as a strip of their
    estimates under them, counted in its title and in the words. Names that do not fit on one
    printed page (:data:`PAGE_HEIGHT_PX`) go on further pages (:class:`Figures`), in two
    columns a page, each page with its title ("(1 of 2)"), both scales and the axis label,
    all on the same scale so that pages compare; the strip on the last page."""
    e = effects.sort_values("clinician_id")
    head = (f"{instrument}: clinician differences"
            + (", allowing for how ill clients were at intake" if adjusted
               else ", not allowing for how ill clients were at intake")
            + ", with likely ranges")
    faster = "faster improvement" if better == "lower" else "slower improvement"
    slower = "slower improvement" if better == "lower" else "faster improvement"
    xlabel = (f"difference from the practice's {instrument} change per {unit} "
              f"(points/{unit})\n← {faster}      {slower} →")
    room = _room()
    large = together is not None and len(e) > together
    if not large and 0.35 * len(e) + 1.8 <= room:  # one row each, on one page
        fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(e) + 1.8))
        _intervals(ax, e, highlight, rows=len(e))
        if len(e) > 12:  # the scale at the top too, where a tall figure is read from
            ax.tick_params(axis="x", top=True, labeltop=True)
        ax.set_xlabel(xlabel)
        _title(fig, _wrap(head))
        words, drawn = caterpillar_words(e, instrument, better=better, unit=unit, split=True)
        return done(fig, words, say=say, drawn=drawn)

    if large:
        named_rows = (e["ci_high"] < 0) | (e["ci_low"] > 0) | (e["clinician_id"] == highlight)
        named, rest = e[named_rows], e[~named_rows]
    else:  # everyone by name, on as many pages as that takes
        named, rest = e, e.iloc[0:0]
    counts, cols = _name_pages(len(named), room, strip=len(rest) > 0)
    per = [-(-c // cols) for c in counts]  # rows of names on each page
    space = [room - NAMES_AROUND - (STRIP if k == len(counts) - 1 and len(rest) else 0)
             for k in range(len(counts))]
    row = min([NAME_ROW] + [s / p for s, p in zip(space, per, strict=True) if p])
    lo = float(min(e["ci_low"].min(), 0))
    hi = float(max(e["ci_high"].max(), 0))
    lim = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))  # the same on every page,
    ticks = [t for t in matplotlib.ticker.MaxNLocator(nbins=4).tick_values(*lim)  # and ticks
             if lim[0] <= t <= lim[1]]
    words, drawn = caterpillar_words(e, instrument, better=better, unit=unit, together=large,
                                     split=True)
    pages, first = [], 0
    for k, (n, rows) in enumerate(zip(counts, per, strict=True)):
        part = named.iloc[first:first + n]
        first += n
        strip = rest if k == len(counts) - 1 and len(rest) else None
        height = (row * rows + NAMES_AROUND if rows else 1.3) + (STRIP if strip is not None
                                                                  else 0)
        fig = plt.figure(figsize=(WIDTH, height))
        grid = fig.add_gridspec(2 if strip is not None and rows else 1, cols,
                                height_ratios=[row * rows + 0.3, 0.9]
                                if strip is not None and rows else None)
        which = (f"the {num(len(named), 0)} whose range lies wholly on one side of zero"
                 if large else f"the {num(len(named), 0)} clinicians")
        for c in range(cols if rows else 0):
            ax = fig.add_subplot(grid[0, c])
            _intervals(ax, part.iloc[c * rows:(c + 1) * rows], highlight, rows=rows)
            ax.set(xlim=lim, xticks=ticks)
            ax.tick_params(axis="x", top=True, labeltop=True)
            if c == 0:
                ax.set_title(f"By name: {which}" if len(counts) == 1 else
                             f"By name, {num(first - n + 1, 0)} to {num(first, 0)} of {which}",
                             loc="left", fontsize=10, fontweight="normal")
        if strip is not None:
            ax = fig.add_subplot(grid[-1, :])
            jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(strip))
            ax.scatter(strip["effect"], jitter, color=GREY, alpha=0.6, s=16)
            ax.axvline(0, color=GREY, lw=1, ls="--")
            ax.set(xlim=lim, xticks=ticks, ylim=(-0.5, 0.5), yticks=[])
            ax.set_title(f"{'The other ' if len(named) else 'All '}"
                         f"{count(len(strip), 'clinician')} (range includes zero), a dot each",
                         loc="left", fontsize=10, fontweight="normal")
            ax.set_xlabel(xlabel)
        else:
            fig.supxlabel(xlabel, fontsize=plt.rcParams["axes.labelsize"])
        _title(fig, _wrap(head + (f" ({k + 1} of {len(counts)})" if len(counts) > 1 else "")))
        said = (f"{head} ({k + 1} of {len(counts)}): " + _rows_words(part, unit)
                + (f"; and the other {count(len(strip), 'clinician')}, whose ranges include "
                   "zero, as a strip of dots" if strip is not None else "") + "."
                if len(counts) > 1 else words)
        pages.append(done(fig, said))
    return _pages(pages, words, say=say, drawn=drawn)


def _name_pages(n: int, room: float, *, strip: bool) -> tuple[list[int], int]:
    """How many of ``n`` names each page of a caterpillar holds, and in how many columns:
    one column while they fit on one page ``room`` inches tall (with the strip of the others
    under them when ``strip``), else two a page on as few pages as hold them at
    :data:`NAME_ROW_MIN`, shared out evenly (the last page, with the strip, no more than it
    has room for)."""
    last = int((room - NAMES_AROUND - (STRIP if strip else 0)) // NAME_ROW_MIN)
    full = int((room - NAMES_AROUND) // NAME_ROW_MIN)
    if n <= last:
        return [n], 1
    pages = 1
    while 2 * full * (pages - 1) + 2 * last < n:
        pages += 1
    if pages == 1:
        return [n], 2
    on_last = min(2 * last, n // pages)
    before, k = n - on_last, pages - 1
    return [before // k + (1 if j < before % k else 0) for j in range(k)] + [on_last], 2


def _rows_words(rows: pd.DataFrame, unit: str) -> str:
    """The clinicians of one caterpillar page with their estimates and likely ranges."""
    return _names([f"{r['clinician_id']} {r['effect']:+.3f} points a {unit} (likely between "
                   f"{r['ci_low']:+.3f} and {r['ci_high']:+.3f})" for _, r in rows.iterrows()])


def _title(fig, title: str) -> None:
    """A figure's title, from its left edge (a caterpillar's axes start after the names)."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=plt.rcParams["axes.titlesize"],
                 fontweight="bold")


def _intervals(ax, e: pd.DataFrame, highlight: str | None, *, rows: int) -> None:
    """The caterpillar's rows: each estimate with its 95% interval, top down in the order
    given, on ``rows`` rows (so that columns of different lengths line up)."""
    y = np.arange(rows)[::-1][:len(e)]
    colors = [ORANGE if c == highlight else BLUE for c in e["clinician_id"]]
    ax.errorbar(e["effect"], y, xerr=[e["effect"] - e["ci_low"], e["ci_high"] - e["effect"]],
                fmt="none", ecolor=colors, elinewidth=2, capsize=0)
    ax.scatter(e["effect"], y, color=colors, zorder=3, s=24)
    ax.axvline(0, color=GREY, lw=1, ls="--")
    ax.set_yticks(y, e["clinician_id"])
    ax.set_ylim(-0.6, rows - 0.4)


def caterpillar_words(effects: pd.DataFrame, instrument: str, *, better: str = "lower",
                      unit: str = "week", together: bool = False, split: bool = False):
    """What a caterpillar figure shows, in plain words: for each clinician whose likely range
    (the 95% interval) lies wholly on one side of zero, which side and what it means for the
    measure (``better``: whether lower scores are better), by name; how many ranges include
    zero (consistent with the practice average). ``together``: the figure draws those
    clinicians together, as a strip of estimates, not by name (a large practice), and the
    words say so; those named are given by name alone (the figure draws their estimates and
    ranges), so that a list of dozens stays readable. ``split``: the words and the part of
    them that lists the clinicians by name (the figure draws each of them: the printed page
    leaves the list out, :class:`Figure`)."""
    e = effects.sort_values("clinician_id")
    if not len(e):
        return (f"{instrument}: no clinician estimates.", "") if split else \
            f"{instrument}: no clinician estimates."
    below, above = e[e["ci_high"] < 0], e[e["ci_low"] > 0]
    crosses = len(e) - len(below) - len(above)
    # a negative difference is a faster fall in scores: better when lower scores are better
    faster, slower = (below, above) if better == "lower" else (above, below)

    def who(rows):  # a large practice's long list: the names alone (the figure draws them)
        return _names([f"{r['clinician_id']}" if together else
                       f"{r['clinician_id']} ({r['effect']:+.3f}, likely between "
                       f"{r['ci_low']:+.3f} and {r['ci_high']:+.3f})"
                       for _, r in rows.iterrows()])

    if len(e) == 1:
        r = e.iloc[0]
        if crosses:
            side = "its likely range includes zero: consistent with the practice average"
        elif len(faster):
            side = ("its likely range lies wholly on the better side of zero: clients' scores "
                    "improved faster than the practice average (better than expected)")
        else:
            side = ("its likely range lies wholly on the worse side of zero: clients' scores "
                    "improved more slowly than the practice average (worse than expected)")
        one = (f"{instrument}: {r['clinician_id']}'s difference from the practice's change "
               f"per {unit}, {r['effect']:+.3f} points a {unit} (likely between "
               f"{r['ci_low']:+.3f} and {r['ci_high']:+.3f}, right 95 times in 100); {side}.")
        return (one, "") if split else one
    lower = "lower" if better == "lower" else "higher"
    said = [f"{instrument}: each of {num(len(e), 0)} clinicians' difference from the "
            f"practice's change per {unit}, with its likely range (right 95 times in 100); "
            f"{lower} scores are better. {num(crosses, 0)} of {num(len(e), 0)} ranges include "
            "zero (consistent with the practice average)"
            + ("; they are drawn together, a dot for each estimate, not by name." if together
               and crosses else ".")]
    if len(faster):
        said.append(f"Better than expected, clients improving faster than the practice "
                    f"average (range wholly {'below' if better == 'lower' else 'above'} "
                    f"zero): {who(faster)}.")
    if len(slower):
        said.append(f"Worse than expected, clients improving more slowly than the practice "
                    f"average (range wholly {'above' if better == 'lower' else 'below'} "
                    f"zero): {who(slower)}.")
    words = " ".join(said)
    return (words, words[len(said[0]):]) if split else words


def fit_caterpillar(fit, better: str = "lower", **kwargs):
    """:func:`caterpillar` of a :class:`perfkit.models.GrowthFit`, labelled from the fit: its
    time unit and whether it allowed for intake severity."""
    return caterpillar(fit.effects.dropna(subset=["effect"]), fit.instrument, better=better,
                       unit=fit.time_unit, adjusted=fit.case_mix, **kwargs)


def residual_diagnostics(fit):
    """Residuals against fitted values, and a normal QQ plot of the residuals (a
    :class:`perfkit.models.GrowthFit`, whichever engine fitted it)."""
    from scipy import stats

    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.4))
    axes[0].scatter(fit.fitted, fit.residuals, s=4, alpha=0.3, color=BLUE)
    axes[0].axhline(0, color=GREY, lw=1)
    axes[0].set(xlabel="fitted score", ylabel="residual", title="Residuals against fitted")
    stats.probplot(fit.residuals, dist="norm", plot=axes[1])
    axes[1].set_title("Residuals: normal QQ plot")
    r = np.asarray(fit.residuals, dtype=float)
    return done(fig, f"Residuals of {len(r)} scores against fitted values and on a normal QQ "
                     f"plot; the middle 95% of residuals lie between {np.quantile(r, 0.025):.1f} "
                     f"and {np.quantile(r, 0.975):.1f} points.")


def random_effects_qq(fit):
    """Normal QQ plots of the clinicians' starting-level and weekly-change deviations (their
    conditional modes); a model without a clinician level has none to show."""
    from scipy import stats

    modes = fit.clinician_modes
    if modes.empty:
        return Text("This model has no clinician level, so there are no clinician deviations "
                    "to check.")
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.4))
    change = f"change per {fit.time_unit}"
    for ax, col, name in zip(axes, ["intercept", "slope"], ["starting level", change],
                             strict=True):
        stats.probplot(modes[col].astype(float), dist="norm", plot=ax)
        ax.set_title(f"Clinician {name}: normal QQ plot")
    return done(fig, f"Normal QQ plots of {len(modes)} clinicians' deviations in starting level "
                     f"(from {modes['intercept'].min():+.2f} to {modes['intercept'].max():+.2f}) "
                     f"and {change} (from {modes['slope'].min():+.3f} to "
                     f"{modes['slope'].max():+.3f}).")


@measured()
def funnel_figure(run: RunData, instrument: str = "PHQ-9", *, highlight: str | None = None,
                  label_points: bool = True):
    """Funnel plot: reliable-improvement rate against paired episodes, with control limits.
    Only the clinicians outside the 95% limits are labelled, in blue (those inside are grey
    dots), inside the plotting area and so that no two labels overlap (:func:`_label_apart`;
    the key sits under the plot); the sentence under it names everyone outside the limits
    (:func:`funnel_words`). With no scores to draw, the sentence alone says why."""
    f = run.table("funnel")
    f = f[(f["instrument"] == instrument)]
    if f.empty:  # no frame with nothing in it: the sentence says why
        return Text(f"{instrument}: no clients with a first and last score.")
    fig, ax = plt.subplots(figsize=(WIDTH, 5.0))
    p0 = float(f["practice_rate"].iloc[0])
    if few_peers(run, f["reliable_improvement_rate"].notna().sum()) and label_points:
        plt.close(fig)
        return _funnel_table(run, f, instrument)

    nmax = max(int(f["paired_episodes"].max() * 1.15), 20)
    grid = np.arange(5, nmax + 1)
    for level, style in zip(run.config.outcomes.funnel_levels, ["--", ":"], strict=True):
        lo, hi = funnel_limits(p0, grid, level)
        ax.plot(grid, lo, style, color=GREY, lw=1)
        ax.plot(grid, hi, style, color=GREY, lw=1,
                label=f"chance alone stays inside {pct(level, 1 if level * 100 % 1 else 0)}"
                      " of the time")
    ax.axhline(p0, color=GREY, lw=1.2, label=f"practice rate {pct(p0)}")
    shown = f.dropna(subset=["reliable_improvement_rate"])
    outside = shown[~shown["signal"].isin(["within limits"])]
    # inside the limits: grey; outside (the ones labelled): blue, so the eye finds them
    colors = [ORANGE if c == highlight else GREY if s == "within limits" else BLUE
              for c, s in zip(shown["clinician_id"], shown["signal"], strict=True)]
    ax.scatter(shown["paired_episodes"], shown["reliable_improvement_rate"], color=colors,
               zorder=3, s=30)
    ax.set(xlabel="clients with a first and last score", ylabel="share reliably improved",
           ylim=(0, 1), xlim=(0, nmax), title=_wrap(f"{instrument}: reliable improvement against "
                                                    "number of clients"))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    # the key under the plot, so the labels have the whole plotting area
    # under the axis label: about 0.55 in below the axes, as a share of the axes' height
    ax.legend(loc="upper left", ncol=2, frameon=False,
              bbox_to_anchor=(0, -0.55 / (fig.get_size_inches()[1] - 1.7)))
    unlabelled: list[str] = []
    if label_points:
        unlabelled = _label_apart(ax, [(run.name_of(r["clinician_id"]), r["paired_episodes"],
                                        r["reliable_improvement_rate"])
                                       for _, r in outside.iterrows()], away_from=p0)
    words, drawn = funnel_words(run, f, instrument, names=label_points, split=True)
    if unlabelled:  # named again after the list, which the printed page leaves out
        rate = {run.name_of(r["clinician_id"]): r for _, r in outside.iterrows()}
        n = len(unlabelled)
        words += (f" {count(n, 'clinician')} outside the range {'is' if n == 1 else 'are'} "
                  "drawn without a label for lack of room: "
                  + _names([f"{name} ({pct(rate[name]['reliable_improvement_rate'])} of "
                            f"{num(rate[name]['paired_episodes'], 0)})"
                            for name in sorted(unlabelled)]) + ".")
    return done(fig, words, say=True, drawn=drawn if label_points else "")


def _funnel_table(run: RunData, f: pd.DataFrame, instrument: str):
    """The owner's funnel of fewer than ``privacy.min_peers`` clinicians as a small table, in
    name order: a plot of two or three dots says less than their numbers, and its limits
    rest on a practice rate those few make."""
    shown = f.dropna(subset=["reliable_improvement_rate"])
    where = {"within limits": "inside"}
    rows = shown.assign(name=shown["clinician_id"].map(run.name_of)).sort_values("name")
    out = pd.DataFrame({
        "Clinician": rows["name"],
        "Clients with a first and last score": rows["paired_episodes"].map(
            lambda v: num(v, 0)),
        "Reliably improved": rows["reliable_improvement_rate"].map(pct),
        "Against the range chance alone allows": [
            where.get(str(v), "above it: better than expected" if str(v).startswith("above")
                      else "below it: worse than expected") for v in rows["signal"]]})
    p0 = float(f["practice_rate"].iloc[0])
    caption = (f"{instrument}: the practice rate is {pct(p0)}; a higher share is better. With "
               f"fewer than {run.config.privacy.min_peers} clinicians the numbers are shown "
               "as a table, not as a plot.")
    if len(f) > len(shown):
        caption += (f" {count(len(f) - len(shown), 'clinician')} with fewer than "
                    f"{count(run.config.outcomes.min_episodes, 'client')} with a first and "
                    "last score are not listed.")
    if shown.empty:
        return Text(caption)
    return table(out, caption)


# A sentence names at most this many clinicians inside the funnel's limits; more are counted
# (a caption naming 150 people is read by nobody; the outcome table lists them all).
NAMES_LISTED = 12


def funnel_words(run: RunData, f: pd.DataFrame, instrument: str, *, names: bool = True,
                 split: bool = False):
    """A funnel figure's sentence from its rows of ``funnel``: the practice rate, who lies
    inside the range chance alone allows, and who lies above it (more clients reliably
    improved than that range: better than expected) or below it (fewer: worse than expected),
    each with their rate and number of clients, in name order; ``names=False``: "one
    clinician" instead of names. More than :data:`NAMES_LISTED` inside the limits are counted,
    not named (those above or below are always named: they are the point of the figure).
    ``split``: the words and the part of them that lists those above or below (the figure
    labels each of them: the printed page leaves the list out, :class:`Figure`)."""
    if f.empty:
        return (f"{instrument}: no clients with a first and last score.", "") if split else \
            f"{instrument}: no clients with a first and last score."
    p0 = float(f["practice_rate"].iloc[0])
    shown = f.dropna(subset=["reliable_improvement_rate"])
    signal = shown["signal"].astype(str)
    inside = shown[signal == "within limits"]
    above = shown[signal.str.startswith("above")]
    below = shown[signal.str.startswith("below")]
    level = min(run.config.outcomes.funnel_levels)

    def who(rows):  # in name order, as every list of clinicians
        rows = rows.assign(name=rows["clinician_id"].map(run.name_of)).sort_values("name")
        return _names([f"{r['name'] if names else 'one clinician'} "
                       f"({pct(r['reliable_improvement_rate'])} of "
                       f"{num(r['paired_episodes'], 0)})" for _, r in rows.iterrows()])

    said = [f"{instrument}: the share of each clinician's clients who reliably improved, "
            f"against how many clients had a first and last score; the practice rate is "
            f"{pct(p0)}, and a higher share is better. {num(len(inside), 0)} of "
            f"{count(len(shown), 'clinician')} lie inside the range chance alone allows "
            f"{num(level * 100, 0)} times in 100"
            + (f": {who(inside)}" if len(inside) and names and len(inside) <= NAMES_LISTED
               else " (each clinician's rate is in the analysts' table of outcomes by "
               "clinician)"
               if len(inside) and names else "") + "."]
    listed = []
    if len(above):
        listed.append(f"Above it, better than expected (more clients improved than chance "
                      f"alone explains): {who(above)}.")
    if len(below):
        listed.append(f"Below it, worse than expected (fewer clients improved than chance "
                      f"alone explains): {who(below)}.")
    if not len(above) and not len(below):
        said.append("None lies above or below it.")
    said += listed
    if len(f) > len(shown):
        said.append(f"{count(len(f) - len(shown), 'clinician')} with fewer than "
                    f"{count(run.config.outcomes.min_episodes, 'client')} with a first and "
                    "last score are not drawn.")
    words = " ".join(said)
    return (words, " " + " ".join(listed) if listed else "") if split else words


def _label_apart(ax, points: list[tuple[str, float, float]], *,
                 away_from: float | None = None) -> list[str]:
    """Label points so that no two labels overlap and every label lies inside the plotting
    area (never over the title, the axis labels or the key): each label starts just right of
    its point (else just left of it) and moves up, then down, in small steps until it clears
    the labels already placed and the labelled dots. A label with no room is left off (its point is
    still drawn, and named in the words). ``away_from``: a level (the practice rate) the
    labels move away from first: up from points above it, down from points below it, into
    the emptier parts of the plot. Each label has a white ground, to read over the dots.
    Returns the labels left off, in the order tried."""
    fig = ax.figure
    fig.tight_layout()  # label where the axes will be
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    # the labelled points' own dots count as placed: no label hides a notable point
    dot = 4 * fig.dpi / 72
    placed = [Bbox.from_bounds(px - dot, py - dot, 2 * dot, 2 * dot)
              for px, py in ax.transData.transform([(x, y) for _, x, y in points]
                                                   if points else np.empty((0, 2)))]
    left_off = []
    # the points furthest from the level first: theirs are the most telling labels
    order = (sorted(points, key=lambda p: (-abs(p[2] - away_from), p[1])) if away_from
             is not None else sorted(points, key=lambda p: (p[2], p[1])))
    for text, x, y in order:
        first = -1 if away_from is not None and y < away_from else 1
        steps = [first * k for k in range(0, 30)] + [-first * k for k in range(1, 30)]
        for step, side in [(step, side) for step in steps for side in (1, -1)]:
            ann = ax.annotate(text, (x, y), fontsize=9, xytext=(5 * side, 3 + 12 * step),
                              textcoords="offset points", ha="left" if side > 0 else "right",
                              annotation_clip=True, in_layout=False,
                              bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none",
                                    "alpha": 0.8},
                              arrowprops={"arrowstyle": "-", "color": GREY, "lw": 0.5}
                              if step else None)
            # the label's own box (an Annotation's would include its leader line), where it
            # will be drawn (before drawing, a label's position is its offset alone)
            ann.update_positions(renderer)
            box = MplText.get_window_extent(ann, renderer)
            inside = (box.x0 >= area.x0 and box.x1 <= area.x1 and box.y0 >= area.y0
                      and box.y1 <= area.y1)
            box = box.expanded(1.05, 1.1)
            if inside and not any(box.overlaps(b) for b in placed):
                placed.append(box)
                break
            ann.remove()
        else:
            left_off.append(text)
    return left_off


@measured()
def caterpillar_figure(run: RunData, instrument: str = "PHQ-9", *,
                       only: str | None = None, names: bool = True, everyone: bool = False):
    """Each clinician's model estimate with its 95% interval, in name order (never ranked):
    the clinicians of the period (``everyone``: also those the model met in earlier months,
    who left before it). A large practice (:func:`~perfkit.report.teams.is_large`, the same
    test as the owner's tables) names only those whose interval lies wholly on one side of
    zero (:func:`caterpillar`)."""
    e = run.table("clinician_effects")
    e = e[(e["instrument"] == instrument) & e["effect"].notna()].copy()
    if not everyone:
        e = e[e["clinician_id"].isin(run.table("clinician_metrics")["clinician_id"])]
    if e.empty:
        return Text("")  # the model section says why no clinician is compared
    if only is not None:
        if few_peers(run, len(e)):  # a difference from the average of so few
            return Text("")
        e = e[e["clinician_id"] == only]
        if e.empty:
            return Text("")
    if names:
        e["clinician_id"] = e["clinician_id"].map(run.name_of)
    # the owner's figure says in words who lies above or below and what that means
    return caterpillar(e, instrument, better=run.config.instruments[instrument].better,
                       say=names and only is None, together=0 if is_large(run) else None)


def not_in_export(ax, title: str, col: str, run: RunData) -> None:
    """A panel for a figure with no values: say why instead of drawing empty axes."""
    why = NOT_IN_EXPORT if col in unavailable(run) else NO_SIGNING_TIMES \
        if col in op.LAG_FIGURES else "no values for this period"
    ax.text(0.5, 0.5, why[0].upper() + why[1:], ha="center", va="center", wrap=True,
            color=GREY, transform=ax.transAxes)
    ax.set_title(title, loc="left")
    ax.set_axis_off()


def distribution_figure(run: RunData, clinician_id: str):
    """Where the clinician sits among all clinicians: the others are unlabelled dots. A new
    hire's utilization is left out: their first weeks are compared with the earlier hires'
    (the ramp), not with the practice."""
    m = run.table("clinician_metrics")
    if no_appointments(m[m["clinician_id"] == clinician_id]).any():
        return Text("")  # the figures table says why there is nothing to draw
    if few_peers(run):  # the title of the self-view says why
        return Text("")
    cols = [("utilization", "Utilization"), ("non_attendance_rate", "Missed appointments"),
            ("notes_within_72h", "Notes within 72 hours")]
    if clinician_id in ramping_starts(run):
        cols = cols[1:]
    # a figure fewer than privacy.min_peers clinicians have: its dots would be theirs
    cols = [(c, label) for c, label in cols if c in m
            and (not np.isfinite(m[c].to_numpy(dtype=float)).any()
                 or not few_peers(run, np.isfinite(m[c].to_numpy(dtype=float)).sum()))]
    if not cols:
        return Text("")
    fig, axes = plt.subplots(1, len(cols), figsize=(WIDTH * len(cols) / 3, 2.4),
                             squeeze=False)
    axes = axes[0]
    said = []
    for ax, (col, label) in zip(axes, cols, strict=True):
        me = (m["clinician_id"] == clinician_id).to_numpy()
        vals = m.loc[~me, col].to_numpy(dtype=float)  # the others: never the reader's own dot
        mine = m.loc[me, col].to_numpy(dtype=float)
        if not np.isfinite(vals).any():  # a figure the export cannot give
            not_in_export(ax, label, col, run)
            said.append(f"{label.lower()}: not known")
            continue
        digits = op.DISPLAY_DIGITS[col]
        said.append(f"{label.lower()} {pct(mine[0] if len(mine) else np.nan, digits)} (the "
                    f"other clinicians from {pct(np.nanmin(vals), digits)} to "
                    f"{pct(np.nanmax(vals), digits)})")
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(vals))
        ax.scatter(vals, jitter, color=GREY, alpha=0.6, s=30, label="other clinicians")
        if len(mine):
            ax.scatter(mine, [0], color=ORANGE, s=90, zorder=3, label="you")
        ax.set(title=label, yticks=[], ylim=(-0.5, 0.5))
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].legend(loc="upper left", frameon=False, bbox_to_anchor=(0, -0.3),
                   ncol=2)
    return done(fig, f"Where you sit among the practice's {count(len(m), 'clinician')} (the "
                     f"others unnamed): {'; '.join(said)}.")


def weekly_trends_figure(run: RunData, clinician_id: str):
    """The clinician's weekly series with the centre line and natural process limits of the
    baseline its trend label reads the recent weeks against (``perfkit.trends``)."""
    w = run.table("weekly_metrics")
    w = w[w["clinician_id"] == clinician_id].sort_values("week_start")
    labels = run.table("clinician_metrics").set_index("clinician_id")
    if no_appointments(labels).get(clinician_id, False):
        return Text("")  # the figures table says why there is nothing to draw
    cols = [("utilization", "Utilization"), ("non_attendance_rate", "Missed appointments"),
            ("notes_within_72h", "Notes signed within 72 hours")]
    fig, axes = plt.subplots(3, 1, figsize=(WIDTH, 6.6), sharex=True)
    x = pd.to_datetime(w["week_start"])
    shown = None
    said = []
    for ax, (col, label) in zip(axes, cols, strict=True):
        y = w[col].to_numpy(dtype=float)
        if not np.isfinite(y).any():  # a figure the export cannot give
            not_in_export(ax, f"{label} by week", col, run)
            said.append(f"{label} by week: not known")
            continue
        trend = labels.loc[clinician_id, f"trend_{col}"] if clinician_id in labels.index \
            else ""
        reading = read_series(y, run.config.trends, percent=col in PERCENT_METRICS)
        said.append(_weekly_words(label, reading, trend_words(col, trend)))
        lo, centre, hi = reading.limits  # the baseline the label reads the weeks against
        share = col != "utilization"  # a share of appointments or notes: never above 100%
        ax.plot(x, y, marker="o", ms=3, color=BLUE, clip_on=not share)
        if np.isfinite(centre):
            ax.axhline(centre, color=GREY, lw=1)
            ax.axhspan(max(lo, 0), min(hi, 1) if share else hi, color=GREY, alpha=0.08)
        if share and ax.get_ylim()[1] > 1:  # no 102% tick on a scale that stops at 100%
            ax.set_ylim(top=1)
        step = np.diff(ax.get_yticks())  # whole percents when the ticks are a point apart
        whole = len(step) > 0 and step.min() >= 0.01 - 1e-9
        title = trend_words(col, trend, arrow=True)
        ax.set_title(f"{label} by week{': ' + title if title else ''}", loc="left")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(
            1.0, decimals=0 if whole else None))
        shown = ax
    if shown is not None:  # the dates under the lowest panel that has values
        shown.tick_params(labelbottom=True)
    return done(fig, " ".join(said), say=True)


def _weekly_words(label: str, reading: Reading, words: str) -> str:
    """One weekly series in a sentence: its trend in words and where the last weeks began and
    ended, from the same averages the label is built from (``perfkit.trends.read_series``), so
    the two agree (e.g. "Utilization by week, falling (a concern): from 75% to 31% over the
    last 12 weeks (averages of 6 weeks at each end).")."""
    r, e = reading, reading.end_weeks
    if not r.weeks:
        return f"{label} by week: no weeks"
    odd = (f", leaving out {r.left_out} unusual {'week' if r.left_out == 1 else 'weeks'}"
           if r.left_out else "")
    return (f"{label} by week{', ' + words if words else ''}: from "
            f"{pct(r.start)} to {pct(r.end)} over the last {r.weeks} "
            f"{'week' if r.weeks == 1 else 'weeks'} (averages of {e} "
            f"{'week' if e == 1 else 'weeks'} at each end{odd}).")


@measured(say=True)
def trajectories_figure(run: RunData, clinician_id: str, instrument: str = "PHQ-9", *,
                        whose: str | None = None, start=None, end=None):
    """The clinician's clients' scores over time (pseudonymous), with the caseness line.
    Written to the clinician ("your clients") unless ``whose`` names them ("Maya Okafor's");
    ``start`` and ``end`` (dates, both included) keep only the scores between them."""
    inst = run.config.instruments[instrument]
    a = run.prepared_table("assessments", clinician_id)
    tz = run.config.timezone
    as_of = pd.Timestamp(run.config.period_end).tz_localize(tz)
    if end is not None:
        as_of = min(as_of, pd.Timestamp(end).tz_localize(tz) + pd.Timedelta(days=1))
    since = pd.Timestamp(start).tz_localize(tz) if start is not None else None
    a = a[(a["clinician_id"] == clinician_id) & (a["instrument"] == instrument)
          & (a["administered_at"] < as_of)
          & ((a["administered_at"] >= since) if since is not None else True)
          ].sort_values("administered_at")
    your = f"{whose}'s" if whose else "your"
    Your = your[0].upper() + your[1:]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    if a.empty:
        ax.text(0.5, 0.5, f"No {instrument} scores", ha="center")
        ax.set_axis_off()
        return done(fig, f"No {instrument} scores for {your} clients.")
    first = a.groupby("client_id")["administered_at"].transform("first")
    weeks = (a["administered_at"] - first) / pd.Timedelta(weeks=1)
    # one LineCollection for all clients: a line per client, drawn as one artist
    lines = [np.column_stack([g["week"], g["total_score"]])
             for _, g in a.assign(week=weeks).groupby("client_id", sort=False)]
    ax.add_collection(LineCollection(lines, colors=BLUE, alpha=0.25, linewidths=1))
    ax.autoscale_view()
    # the typical course: median score by whole week, where at least 5 clients have a score
    by_week = a.assign(week=weeks.round()).groupby("week")["total_score"]
    typical = by_week.median()[by_week.size() >= 5]
    if len(typical) >= 2:
        ax.plot(typical.index, typical.to_numpy(), color=BLUE, lw=2.5,
                label=f"median of {your} clients (weeks with 5 or more scores)")
    if inst.caseness is not None:
        ax.axhline(inst.caseness, color=ORANGE, ls="--", lw=1,
                   label=f"clinical cut-off ({inst.caseness:g})")
    ax.set(xlabel="weeks since the client's first score", ylabel=f"{instrument} score",
           title=_wrap(f"{Your} clients' {instrument} scores over time "
                       f"({'lower' if inst.better == 'lower' else 'higher'} is better)"))
    ax.legend(frameon=False)
    n = a["client_id"].nunique()
    alt = (f"{Your} {num(n, 0)} {'client' if n == 1 else 'clients'}' {instrument} scores by "
           f"week since their first score, one faint line each ({count(len(a), 'score')})")
    if len(typical) >= 2:
        alt += (f"; the median went from {typical.iloc[0]:g} at week {typical.index[0]:g} to "
                f"{typical.iloc[-1]:g} at week {typical.index[-1]:g}")
    if inst.caseness is not None:
        alt += f"; the clinical cut-off is {inst.caseness:g}"
    return done(fig, alt + ".")


@measured()
def trajectories_grid(run: RunData, ids: list[str], instrument: str = "PHQ-9"):
    """Each supervisee's clients' scores over time, one panel per supervisee."""
    figs = [trajectories_figure(run, cid, instrument, whose=run.name_of(cid)) for cid in ids]
    if len(figs) == 1:
        return figs[0]
    from IPython.display import display

    for fig in figs:
        display(fig)
    return None


# Up to this many new hires, each has a panel (a printed page of panels); more, and only those
# ramping more slowly do, on up to RAMP_PAGES pages (each :data:`PAGE_HEIGHT_PX` at most), the
# others drawn together in one panel on the last.
RAMP_PANELS = 9
RAMP_PAGES = 1
RAMP_ROW = 1.6  # inches a row of panels takes (four rows, and room for text, a printed page)
RAMP_KEY, RAMP_TITLE = 0.5, 0.45  # inches: the key under the panels, a page's title


def _ramp_per_page(titled: bool) -> int:
    """How many ramp panels (three a row) fit on a page, under a title when ``titled``."""
    return 3 * int((_room() - RAMP_KEY - (RAMP_TITLE if titled else 0)) // RAMP_ROW)


def ramp_figure(run: RunData, only: str | None = None):
    """Each clinician who started in the last 12 months: weekly utilization since the start,
    against the practice's own ramp (the median of earlier hires) where there is one. With
    ``only``, that clinician's alone, as "You" (their self-view; nothing for anyone else).

    More than :data:`RAMP_PANELS` new hires: a panel each only for those ramping more slowly
    than the earlier hires did (the status :func:`~perfkit.report.practice.ramp_words` gives),
    in name order; the others in one panel, a thin line each over the earlier hires' median,
    counted in its title and in the text alternative. Panels that do not fit on one printed
    page (:data:`PAGE_HEIGHT_PX`) go on a second (:class:`Figures`: each page with its title,
    "(1 of 2)", and its key; the panel of the others on the last). When more ramp more slowly
    than :data:`RAMP_PAGES` pages hold, the slowest against the earlier hires get the panels
    and the rest of them share a panel too."""
    r = run.tables.get("ramp")
    alone = False  # a self-view whose earlier hires are too few to show (privacy.min_peers)
    if only is not None:
        r = r[r["clinician_id"] == only] if only in ramping_starts(run) else None
        if r is None or r.empty:
            return Text("")
        alone = few_peers(run, hires_compared(run, only))
    if r is None or r.empty:
        return Text("")  # the ramp words beside it say that no clinician started
    summary = ramp_by_hire(run).set_index("clinician_id")
    hires = list(dict.fromkeys(r["clinician_id"]))
    groups: list[tuple[str, list[str], str]] = []  # (title, hires, colour) drawn together
    per_page = _ramp_per_page(titled=False)
    if len(hires) > RAMP_PANELS:
        status = summary.loc[hires, "ramp"]
        slow = list(status.index[status == "more slowly"])
        fit = RAMP_PAGES * _ramp_per_page(titled=True)  # panels that fit on the pages
        if len(slow) > fit - 1:  # the slowest against the earlier hires get panels
            s = summary.loc[slow]
            slow = list((s["utilization"] / s["practice_utilization"]).sort_values(
                kind="stable").index)
            more, slow = slow[fit - 2:], slow[:fit - 2]
            groups.append((f"{num(len(more), 0)} more ramping more\nslowly, a line each",
                           sorted(more, key=run.name_of), ORANGE))
        drawn = set(slow).union(*(g[1] for g in groups))
        others = [c for c in hires if c not in drawn]
        if others:
            groups.append((f"The other {num(len(others), 0)} new\nclinicians, a line each",
                           sorted(others, key=run.name_of), BLUE))
        hires = sorted(slow, key=run.name_of)
    panels: list = hires + groups
    if len(panels) > per_page:
        per_page = _ramp_per_page(titled=True)
    chunks = [panels[k:k + per_page] for k in range(0, len(panels), per_page)]
    # one scale for every clinician's own panel, on every page
    drawn = ["utilization"] + ([] if alone else ["practice_utilization"])
    own = r[r["clinician_id"].isin(hires)]
    top = max(1.0, float(np.nanmax(own[drawn].to_numpy(dtype=float))) * 1.1) if len(own) \
        else 1.0
    said: list[str] = []
    pages = []
    for k, chunk in enumerate(chunks):
        cols = min(len(chunk), 3) if len(chunks) == 1 else 3
        rows = -(-len(chunk) // cols)
        full = len(chunk) == rows * cols  # no empty panel for the key: it goes under them
        titled = len(chunks) > 1
        fig, axes = plt.subplots(rows, cols, squeeze=False, figsize=(
            WIDTH if cols > 1 else 5.5,
            RAMP_ROW * rows + (RAMP_KEY if full else 0) + (RAMP_TITLE if titled else 0)))
        for ax in axes.flat[len(chunk):]:
            ax.set_axis_off()
        page_said = [_ramp_panel(ax, run, r, summary, panel, only=only, alone=alone, top=top)
                     for ax, panel in zip(axes.flat, chunk, strict=False)]
        said += page_said
        for k_, ax in enumerate(axes.flat[:len(chunk)]):  # the x label under each column only
            if k_ + cols < len(chunk):
                ax.set_xlabel("")
        _key(axes.flat, len(chunk))
        if titled:
            _title(fig, f"New clinicians' weekly utilization since they started "
                        f"({k + 1} of {len(chunks)})")
        pages.append(done(fig, f"New clinicians' weekly utilization since they started "
                               f"({k + 1} of {len(chunks)}): " + "; ".join(page_said) + ".",
                          below=RAMP_KEY if full else 0))
    if groups:
        head = (f"New clinicians' weekly utilization since they started: "
                f"{count(len(summary), 'clinician')}. A panel each for the "
                f"{count(len(hires), 'clinician')} ramping more slowly than the earlier hires "
                "did")
        return _pages(pages, head + (": " + "; ".join(said[:len(hires)]) if hires else "")
                      + ". " + ". ".join(said[len(hires):]) + ".")
    return _pages(pages, ("Your weekly utilization since you started. " if only is not None
                          else "New clinicians' weekly utilization since they started. ")
                  + "; ".join(said) + ".")


def _ramp_panel(ax, run: RunData, r: pd.DataFrame, summary: pd.DataFrame, panel, *,
                only: str | None, alone: bool, top: float) -> str:
    """One panel of the ramp figure: a clinician's weeks against the earlier hires' median
    (``panel`` their id), or a group's, a thin line each (``panel`` a (title, ids, colour));
    returns the panel in words."""
    if isinstance(panel, tuple):
        title, ids, colour = panel
        g = r[r["clinician_id"].isin(ids)]
        lines = [np.column_stack([h["week"], h["utilization"]])
                 for _, h in g.groupby("clinician_id", sort=False)]
        slower = colour == ORANGE  # the key tells the two bundles apart by colour
        ax.add_collection(LineCollection(lines, colors=colour, alpha=0.3, linewidths=0.8,
                                         label="a slower hire each" if slower
                                         else "another new hire each"))
        ramp = g.groupby("week")["practice_utilization"].median().dropna()
        if len(ramp):  # over the bundle, where it can be seen
            ax.plot(ramp.index, ramp.to_numpy(), ls="--", color=GREY, lw=1.5, zorder=3,
                    label="earlier hires (median)")
        ax.autoscale_view()
        ax.set_ylim(0, max(1.0, float(np.nanmax(g["utilization"].to_numpy(dtype=float))) * 1.1))
        ax.set_title(title, loc="left", fontsize=9)
        ax.set_xlabel("weeks since starting")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        kinds = summary.loc[ids, "ramp"].value_counts()
        return (f"{title.split(',')[0].replace(chr(10), ' ')}, drawn together, a thin line "
                "each: " + ", ".join(f"{num(n, 0)} {_RAMP_STATUS.get(k, k)}"
                                     for k, n in kinds.items()))
    cid = panel
    h = r[r["clinician_id"] == cid]
    ax.plot(h["week"], h["utilization"], marker="o", ms=3, color=BLUE,
            label="utilization" if only is None else "your utilization")
    if h["practice_utilization"].notna().any() and not alone:
        ax.plot(h["week"], h["practice_utilization"], ls="--", color=GREY,
                label="earlier hires (median)")
    status = h["ramp"].iloc[0]
    words = {"no practice ramp yet": "too few earlier hires\nto compare with"}.get(
        status, f"ramping {status}") if not alone else "your first weeks"
    who = "You" if only is not None else run.name_of(cid)
    ax.set_title(f"{who}\n{words}", loc="left", fontsize=9)
    ax.set(xlabel="weeks since starting", ylim=(0, top))
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    s = summary.loc[cid]
    return (f"{who}, {words.replace(chr(10), ' ')}: {pct(s['utilization'])} on average over "
            f"{s['weeks']} weeks"
            + (f" (earlier hires {pct(s['practice_utilization'])} in the same weeks)"
               if s["compared"] and not alone else ""))


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


_RAMP_STATUS = {"more slowly": "ramping more slowly", "as expected": "ramping as expected",
                "faster": "ramping faster",
                "no practice ramp yet": "with too few earlier hires to compare with"}


def compliance_figure(run: RunData, ids: list[str], *, names: bool = True):
    """Supervision in each week or month of the last half year against what the rule needs."""
    t = rows_or_reason(run, "supervision_periods", ids, quiet=not names)
    if isinstance(t, Text):
        return t
    t = t.assign(period_start=pd.to_datetime(t["period_start"]))
    t = t[t["period_start"] >= pd.Timestamp(run.config.period_end) - pd.DateOffset(months=6)]
    people = sorted(t["clinician_id"].unique())
    if not people:
        return Text("No supervision periods in the last six months to show." if names else "")
    # a panel each, COMPLIANCE_ROW inches tall: as many as fit on a printed page, the rest on
    # further pages, each with its title ("(1 of 2)")
    per_page = max(1, int(_room() // COMPLIANCE_ROW))
    if len(people) > per_page:
        per_page = max(1, int((_room() - RAMP_TITLE) // COMPLIANCE_ROW))
    chunks = [people[k:k + per_page] for k in range(0, len(people), per_page)]
    said, pages = [], []
    for n, chunk in enumerate(chunks, 1):
        page_said = []
        titled = len(chunks) > 1
        # narrower than WIDTH: the key sits to the right of each panel
        fig, axes = plt.subplots(len(chunk), 1, squeeze=False, figsize=(
            WIDTH - 1.9, COMPLIANCE_ROW * len(chunk) + (RAMP_TITLE if titled else 0)))
        for ax, cid in zip(axes[:, 0], chunk, strict=True):
            page_said.append(_compliance_panel(ax, run, t[t["clinician_id"] == cid], cid,
                                               names=names))
        if titled:
            _title(fig, f"Supervision against the rule ({n} of {len(chunks)})")
        said += page_said
        pages.append(done(fig, f"Supervision in each week or month of the last six months "
                               f"against what the rule needs ({n} of {len(chunks)}). "
                          + "; ".join(page_said) + "."))
    return _pages(pages, "Supervision in each week or month of the last six months against "
                         "what the rule needs. " + "; ".join(said) + ".")


COMPLIANCE_ROW = 2.6  # inches a supervisee's panel takes


def _compliance_panel(ax, run: RunData, p: pd.DataFrame, cid: str, *, names: bool) -> str:
    """One supervisee's panel of :func:`compliance_figure`; returns it in words."""
    unit = p["unit"].iloc[0]
    assessed, compliant = p["assessed"].fillna(False), p["compliant"].fillna(False)
    said = (f"{run.name_of(cid) if names else 'Your supervision'}: the rule was met in "
            f"{int((assessed & compliant).sum())} of {int(assessed.sum())} "
            f"{p['period'].iloc[0]}s with client hours")
    width = 5 if p["period"].iloc[0] == "week" else 24
    colors = np.where(~assessed, "#cbd5e0", np.where(compliant, BLUE, ORANGE))
    ax.bar(p["period_start"], p["counted"], width=width, color=colors, align="edge")
    missed = p[assessed & (p["counted"] == 0)]
    ax.scatter(missed["period_start"] + pd.Timedelta(days=width / 2),
               np.zeros(len(missed)), marker="x", color=ORANGE, zorder=3,
               label="no supervision" if len(missed) else None)
    ax.step(p["period_start"], p["required"], where="post", color=GREY, lw=1.5,
            label="what the rule needs")
    who = run.name_of(cid) if names else "Your supervision"
    ax.set_title(_wrap(f"{who}: supervision {unit} per {p['period'].iloc[0]} "
                       "(orange: below the rule; grey: no client hours)", 50), loc="left")
    ax.set_ylabel(unit)
    dates = matplotlib.dates.AutoDateLocator(maxticks=7)  # months, never crowded
    ax.xaxis.set_major_locator(dates)
    ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(dates))
    ax.set_ylim(bottom=-0.1 * max(p["required"].max(), p["counted"].max(), 1))
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
    return said
