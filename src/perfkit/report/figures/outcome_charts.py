"""The outcome figures: clinicians' model estimates (the caterpillar), the funnel of
reliable improvement, the model's diagnostics and clients' scores over time. Each report
figure draws what the run's tables hold (``clinician_effects``, ``funnel``, ``funnel_lines``,
``trajectories``, ``trajectory_medians``); the model figures take a fit."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.text import Text as MplText
from matplotlib.transforms import Bbox

from ...contract import TYPICAL_MIN_SCORES
from ...registry import formatter, label_of
from ..format import Text, count, num, pct, table
from ..outcome_words import against_range, signal_side
from ..run_folder import RunFolder, few_peers, measured
from ..teams import is_large
from .style import BLUE, GREY, ORANGE, WIDTH, _names, _pages, _room, _title, _wrap, done

# a share reliably improved (a clinician's, or the practice rate), as the tables write it
_rate = formatter("reliable_improvement_rate")

__all__ = ["caterpillar", "caterpillar_words", "funnel_words", "fit_caterpillar",
           "residual_diagnostics", "random_effects_qq", "funnel_figure", "caterpillar_figure",
           "trajectories_figure", "trajectories_chart", "trajectories_grid", "NAMES_LISTED"]


# A caterpillar's rows of names: NAME_ROW inches each, closer (down to NAME_ROW_MIN, where 9 pt
# names still stand apart) before another page is needed. Inches a page takes besides its rows:
# NAMES_AROUND (the title, the scale above and below the names, the axis label) and, on the
# last page of a large practice, STRIP (the strip of the others, with its title and scale).
NAME_ROW, NAME_ROW_MIN, NAMES_AROUND, STRIP = 0.3, 0.22, 2.4, 1.8


def caterpillar(effects: pd.DataFrame, instrument: str, *, better: str = "lower",
                highlight: str | None = None, unit: str = "week", adjusted: bool = True,
                say: bool = False, together: int | None = None):
    """Each clinician's effect on the rate of change per ``unit`` (week or session) with its
    95% interval and its ``side`` (:func:`perfkit.outcomes.effect_sides`: which side of zero is
    better, ``better`` only words it), in clinician-id order (never sorted into a ranking);
    ``adjusted``: the model
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
        named_rows = (e["side"] != "within") | (e["clinician_id"] == highlight)
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
    # perfkit.outcomes.effect_sides: a range wholly on the better side of zero is faster
    # improvement (a faster fall in scores, where lower scores are better)
    faster, slower = e[e["side"] == "better"], e[e["side"] == "worse"]
    crosses = len(e) - len(faster) - len(slower)

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
def funnel_figure(run: RunFolder, instrument: str = "PHQ-9", *, highlight: str | None = None,
                  label_points: bool = True):
    """Funnel plot: reliable-improvement rate against paired episodes, with control limits
(``funnel_lines.csv``).
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

    lines = run.table("funnel_lines")  # perfkit.outcomes.funnel_lines
    lines = lines[lines["instrument"] == instrument]
    nmax = int(lines["paired_episodes"].max())
    for level, style in zip(run.config.outcomes.funnel_levels, ["--", ":"], strict=True):
        at = lines[np.isclose(lines["level"].astype(float), level)]
        grid = at["paired_episodes"].to_numpy()
        ax.plot(grid, at["lower"].to_numpy(dtype=float), style, color=GREY, lw=1)
        ax.plot(grid, at["upper"].to_numpy(dtype=float), style, color=GREY, lw=1,
                label=f"chance alone stays inside {pct(level, 1 if level * 100 % 1 else 0)}"
                      " of the time")
    ax.axhline(p0, color=GREY, lw=1.2, label=f"practice rate {_rate(p0)}")
    shown = f.dropna(subset=["reliable_improvement_rate"])
    outside = shown[shown["signal"].map(signal_side) != "inside"]
    # inside the limits: grey; outside (the ones labelled): blue, so the eye finds them
    colors = [ORANGE if c == highlight else GREY if signal_side(s) == "inside" else BLUE
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
                  + _names([f"{name} ({_rate(rate[name]['reliable_improvement_rate'])} of "
                            f"{num(rate[name]['paired_episodes'], 0)})"
                            for name in sorted(unlabelled)]) + ".")
    return done(fig, words, say=True, drawn=drawn if label_points else "")


def _funnel_table(run: RunFolder, f: pd.DataFrame, instrument: str):
    """The owner's funnel of fewer than ``privacy.min_peers`` clinicians as a small table, in
    name order: a plot of two or three dots says less than their numbers, and its limits
    rest on a practice rate those few make."""
    shown = f.dropna(subset=["reliable_improvement_rate"])
    rows = shown.assign(name=shown["clinician_id"].map(run.name_of)).sort_values("name")
    out = pd.DataFrame({
        "Clinician": rows["name"],
        "Clients with a first and last score": rows["paired_episodes"].map(
            lambda v: num(v, 0)),
        label_of("reliable_improvement_rate"): rows["reliable_improvement_rate"].map(
            formatter("reliable_improvement_rate")),
        "Against the range chance alone allows": [
            against_range(v) for v in rows["signal"]]})
    p0 = float(f["practice_rate"].iloc[0])
    caption = (f"{instrument}: the practice rate is {_rate(p0)}; a higher share is better. With "
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


def funnel_words(run: RunFolder, f: pd.DataFrame, instrument: str, *, names: bool = True,
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
    side = shown["signal"].map(signal_side)
    inside = shown[side == "inside"]
    above = shown[side == "above"]
    below = shown[side == "below"]
    level = min(run.config.outcomes.funnel_levels)

    def who(rows):  # in name order, as every list of clinicians
        rows = rows.assign(name=rows["clinician_id"].map(run.name_of)).sort_values("name")
        return _names([f"{r['name'] if names else 'one clinician'} "
                       f"({_rate(r['reliable_improvement_rate'])} of "
                       f"{num(r['paired_episodes'], 0)})" for _, r in rows.iterrows()])

    said = [f"{instrument}: the share of each clinician's clients who reliably improved, "
            f"against how many clients had a first and last score; the practice rate is "
            f"{_rate(p0)}, and a higher share is better. {num(len(inside), 0)} of "
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
def caterpillar_figure(run: RunFolder, instrument: str = "PHQ-9", *,
                       only: str | None = None, names: bool = True, everyone: bool = False):
    """Each clinician's model estimate with its 95% interval, in name order (never ranked):
    the clinicians of the period (``everyone``: also those the model met in earlier months,
    who left before it). A large practice (:func:`~perfkit.report.teams.is_large`, the same
    test as the owner's tables) names only those whose interval lies wholly on one side of
    zero (:func:`caterpillar`); ``only`` (a clinician's own page) draws that clinician's
    estimate and range by name at any size."""
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
    # the owner's figure says in words who lies above or below and what that means; a
    # large practice's strip of unnamed dots is the owner's whole list's, never one
    # clinician's own figure (their one row, by name, with its range)
    return caterpillar(e, instrument, better=run.config.instruments[instrument].better,
                       say=names and only is None,
                       together=0 if is_large(run) and only is None else None)


@measured(say=True)
def trajectories_figure(run: RunFolder, clinician_id: str, instrument: str = "PHQ-9", *,
                        whose: str | None = None):
    """The clinician's clients' scores over time (pseudonymous, ``trajectories.csv``), with
    their typical course (``trajectory_medians.csv``) and the caseness line. Written to the
    clinician ("your clients") unless ``whose`` names them ("Maya Okafor's")."""
    def mine(name):
        t = run.table(name)
        return t[(t["clinician_id"] == clinician_id) & (t["instrument"] == instrument)]

    return trajectories_chart(mine("trajectories"), mine("trajectory_medians"), run,
                              instrument, whose=whose)


def trajectories_chart(points: pd.DataFrame, typical: pd.DataFrame, run: RunFolder,
                       instrument: str, *, whose: str | None = None):
    """Draw one clinician's clients' scores over time: ``points`` (rows of
    :func:`perfkit.outcomes.score_trajectories`: client, weeks since their first score,
    score, oldest first) and ``typical`` (rows of :func:`perfkit.outcomes.typical_course`:
    the median of each whole week with enough scores)."""
    inst = run.config.instruments[instrument]
    your = f"{whose}'s" if whose else "your"
    Your = your[0].upper() + your[1:]
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    if points.empty:
        ax.text(0.5, 0.5, f"No {instrument} scores", ha="center")
        ax.set_axis_off()
        return done(fig, f"No {instrument} scores for {your} clients.")
    # one LineCollection for all clients: a line per client, drawn as one artist
    # (the rows of each client in order, clients in order of first appearance, as
    # groupby(sort=False) gives them: split in numpy, a client's frame each cost more than
    # drawing them)
    codes, _ = pd.factorize(points["client_id"])
    keep = codes >= 0  # no client id: no line (as groupby drops them)
    order = np.argsort(codes[keep], kind="stable")
    xy = np.column_stack([points["week"].to_numpy(dtype=float)[keep],
                          points["total_score"].to_numpy(dtype=float)[keep]])[order]
    starts = np.flatnonzero(np.diff(codes[keep][order])) + 1
    lines = np.split(xy, starts) if len(xy) else []
    ax.add_collection(LineCollection(lines, colors=BLUE, alpha=0.25, linewidths=1))
    ax.autoscale_view()
    typical = pd.Series(typical["median_score"].to_numpy(dtype=float),
                        index=typical["week"].to_numpy(dtype=float))
    if len(typical) >= 2:
        ax.plot(typical.index, typical.to_numpy(), color=BLUE, lw=2.5,
                label=f"median of {your} clients (weeks with {TYPICAL_MIN_SCORES} or more "
                      "scores)")
    if inst.caseness is not None:
        ax.axhline(inst.caseness, color=ORANGE, ls="--", lw=1,
                   label=f"clinical cut-off ({inst.caseness:g})")
    ax.set(xlabel="weeks since the client's first score", ylabel=f"{instrument} score",
           title=_wrap(f"{Your} clients' {instrument} scores over time "
                       f"({'lower' if inst.better == 'lower' else 'higher'} is better)"))
    ax.legend(frameon=False)
    n = points["client_id"].nunique()
    alt = (f"{Your} {num(n, 0)} {'client' if n == 1 else 'clients'}' {instrument} scores by "
           f"week since their first score, one faint line each ({count(len(points), 'score')})")
    if len(typical) >= 2:
        alt += (f"; the median went from {typical.iloc[0]:g} at week {typical.index[0]:g} to "
                f"{typical.iloc[-1]:g} at week {typical.index[-1]:g}")
    if inst.caseness is not None:
        alt += f"; the clinical cut-off is {inst.caseness:g}"
    return done(fig, alt + ".")


@measured()
def trajectories_grid(run: RunFolder, ids: list[str], instrument: str = "PHQ-9"):
    """Each supervisee's clients' scores over time, one panel per supervisee."""
    figs = [trajectories_figure(run, cid, instrument, whose=run.name_of(cid)) for cid in ids]
    if len(figs) == 1:
        return figs[0]
    from IPython.display import display

    for fig in figs:
        display(fig)
    return None
