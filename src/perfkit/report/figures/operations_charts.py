"""The operational figures: where a clinician sits among the others, their weekly series
against the limits their trend label reads (``trend_readings``), new hires' first weeks
(``ramp``, ``ramp_summary``) and supervision against the rule (``supervision_periods``)."""

from __future__ import annotations

import matplotlib
import matplotlib.dates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from ...contract import LAG_FIGURES
from ...registry import RAMP_NOT_COMPARED, RAMP_STATUS, format_value, formatter, label_of
from ..format import NO_SIGNING_TIMES, NOT_IN_EXPORT, Text, count, num, trend_words
from ..run_folder import (
    RunFolder,
    few_peers,
    hires_compared,
    no_appointments,
    ramp_by_hire,
    ramping_starts,
    rows_or_reason,
    unavailable,
)
from .style import BLUE, GREY, ORANGE, WIDTH, _key, _pages, _room, _title, _wrap, done

__all__ = ["distribution_figure", "weekly_trends_figure", "ramp_figure", "compliance_figure",
           "not_in_export", "RAMP_PANELS"]


def not_in_export(ax, title: str, col: str, run: RunFolder) -> None:
    """A panel for a figure with no values: say why instead of drawing empty axes."""
    why = NOT_IN_EXPORT if col in unavailable(run) else NO_SIGNING_TIMES \
        if col in LAG_FIGURES else "no values for this period"
    ax.text(0.5, 0.5, why[0].upper() + why[1:], ha="center", va="center", wrap=True,
            color=GREY, transform=ax.transAxes)
    ax.set_title(title, loc="left")
    ax.set_axis_off()


def distribution_figure(run: RunFolder, clinician_id: str):
    """Where the clinician sits among all clinicians: the others are unlabelled dots. A new
    hire's utilization is left out: their first weeks are compared with the earlier hires'
    (the ramp), not with the practice."""
    m = run.table("clinician_metrics")
    if no_appointments(m[m["clinician_id"] == clinician_id]).any():
        return Text("")  # the figures table says why there is nothing to draw
    if few_peers(run):  # the title of the self-view says why
        return Text("")
    cols = [(c, label_of(c, run.config))
            for c in ("utilization", "non_attendance_rate", "notes_within_72h")]
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
        said.append(f"{label.lower()} {format_value(col, mine[0] if len(mine) else np.nan)} "
                    f"(the other clinicians from {format_value(col, np.nanmin(vals))} to "
                    f"{format_value(col, np.nanmax(vals))})")
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


def weekly_trends_figure(run: RunFolder, clinician_id: str):
    """The clinician's weekly series with the centre line and natural process limits of the
    baseline its trend label reads the recent weeks against (``trend_readings.csv``,
    :func:`perfkit.trends.trend_readings`)."""
    w = run.table("weekly_metrics")
    w = w[w["clinician_id"] == clinician_id].sort_values("week_start")
    labels = run.table("clinician_metrics").set_index("clinician_id")
    readings = run.table("trend_readings")
    readings = readings[readings["clinician_id"] == clinician_id].set_index("metric")
    if no_appointments(labels).get(clinician_id, False):
        return Text("")  # the figures table says why there is nothing to draw
    cols = [(c, label_of(c, run.config, "series"))
            for c in ("utilization", "non_attendance_rate", "notes_within_72h")]
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
        reading = readings.loc[col]
        said.append(_weekly_words(col, label, reading,
                                   trend_words(col, trend)))
        # the baseline the label reads the weeks against
        lo, centre, hi = (float(reading[k]) for k in ("limit_low", "centre", "limit_high"))
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


def _weekly_words(col: str, label: str, reading: pd.Series, words: str) -> str:
    """One weekly series (metric ``col``, called ``label``) in a sentence: its trend in words
    and where the last weeks began and ended, from the same averages the label is built from
    (a row of ``trend_readings``), so the two agree, each written as the tables write the
    metric (:func:`perfkit.registry.format_value`; e.g. "Missed appointments by week, rising
    (a concern): from 8.3% to 12.5% over the last 12 weeks (averages of 6 weeks at each
    end).")."""
    weeks, e, left_out = (int(reading[k]) for k in ("weeks", "end_weeks", "left_out"))
    if not weeks:
        return f"{label} by week: no weeks"
    odd = (f", leaving out {left_out} unusual {'week' if left_out == 1 else 'weeks'}"
           if left_out else "")
    return (f"{label} by week{', ' + words if words else ''}: from "
            f"{format_value(col, reading['start'])} to {format_value(col, reading['end'])} "
            f"over the last {weeks} "
            f"{'week' if weeks == 1 else 'weeks'} (averages of {e} "
            f"{'week' if e == 1 else 'weeks'} at each end{odd}).")


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


def ramp_figure(run: RunFolder, only: str | None = None):
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


def _ramp_panel(ax, run: RunFolder, r: pd.DataFrame, summary: pd.DataFrame, panel, *,
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
    util = formatter("utilization")
    return (f"{who}, {words.replace(chr(10), ' ')}: {util(s['utilization'])} on average over "
            f"{s['weeks']} weeks"
            + (f" (earlier hires {util(s['practice_utilization'])} in the same weeks)"
               if s["compared"] and not alone else ""))


_RAMP_STATUS = {k: words[2] for k, words in RAMP_STATUS.items()} | RAMP_NOT_COMPARED


def compliance_figure(run: RunFolder, ids: list[str], *, names: bool = True):
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


def _compliance_panel(ax, run: RunFolder, p: pd.DataFrame, cid: str, *, names: bool) -> str:
    """One supervisee's panel of :func:`compliance_figure`; returns it in words."""
    unit = p["unit"].iloc[0]
    assessed, compliant = p["assessed"], p["compliant"]
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
