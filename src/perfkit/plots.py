"""Figures for reports and notebooks: plain, labelled, readable by people who do not read
statistics. Presentation lives here, never in the metric or model code."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["use_style", "done", "caterpillar", "residual_diagnostics", "random_effects_qq"]

BLUE, GREY, ORANGE = "#2b6cb0", "#718096", "#dd6b20"


def use_style() -> None:
    """The house style: white grid, readable sizes, no chart junk. (Plain matplotlib settings:
    importing seaborn for a theme would cost each report a second.)"""
    plt.rcParams.update({
        "figure.dpi": 110, "figure.facecolor": "white", "axes.facecolor": "white",
        "axes.grid": True, "grid.color": "#e2e8f0", "grid.linewidth": 0.8,
        "axes.edgecolor": "#a0aec0", "axes.spines.top": False, "axes.spines.right": False,
        "axes.titleweight": "bold", "axes.titlesize": 11, "axes.labelsize": 10,
        "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
        "font.family": "DejaVu Sans",
        # text from the records (names) is drawn as written: "$" is a dollar sign, never
        # the start of mathtext (which would also fail on an unbalanced "$\\")
        "text.parse_math": False,
    })


def done(fig):
    """Lay out and close a figure before returning it, so a notebook shows it exactly once
    (through the returned object) and no figure stays open in memory."""
    fig.tight_layout()
    plt.close(fig)
    return fig


def caterpillar(effects: pd.DataFrame, instrument: str, *, better: str = "lower",
                highlight: str | None = None):
    """Each clinician's effect on the weekly rate of change with its 95% interval, in
    clinician-id order (never sorted into a ranking). Intervals that cross zero mean the
    clinician's clients changed at a rate consistent with the practice average."""
    e = effects.sort_values("clinician_id")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(e) + 1.5))
    y = np.arange(len(e))[::-1]
    colors = [ORANGE if c == highlight else BLUE for c in e["clinician_id"]]
    ax.errorbar(e["effect"], y, xerr=[e["effect"] - e["ci_low"], e["ci_high"] - e["effect"]],
                fmt="none", ecolor=colors, elinewidth=2, capsize=0)
    ax.scatter(e["effect"], y, color=colors, zorder=3)
    ax.axvline(0, color=GREY, lw=1, ls="--")
    ax.set_yticks(y, e["clinician_id"])
    faster = "faster improvement" if better == "lower" else "slower improvement"
    slower = "slower improvement" if better == "lower" else "faster improvement"
    ax.set_xlabel(f"difference from the practice's weekly {instrument} change (points/week)\n"
                  f"← {faster}      {slower} →")
    ax.set_title(f"{instrument}: clinician differences, case-mix adjusted, with 95% intervals")
    return done(fig)


def residual_diagnostics(result):
    """Residuals against fitted values, and a normal QQ plot of the residuals."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    fitted, resid = np.asarray(result.fittedvalues), np.asarray(result.resid)
    axes[0].scatter(fitted, resid, s=4, alpha=0.3, color=BLUE)
    axes[0].axhline(0, color=GREY, lw=1)
    axes[0].set(xlabel="fitted score", ylabel="residual", title="Residuals against fitted")
    from scipy import stats

    stats.probplot(resid, dist="norm", plot=axes[1])
    axes[1].set_title("Residuals: normal QQ plot")
    return done(fig)


def random_effects_qq(result):
    """Normal QQ plots of the clinician intercept and slope deviations (conditional means)."""
    # the first two entries of each clinician's random effects are the level and the slope
    re = pd.DataFrame({k: v.iloc[:2].to_numpy() for k, v in result.random_effects.items()}).T
    from scipy import stats

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, col, name in zip(axes, [0, 1], ["starting level", "weekly change"], strict=True):
        stats.probplot(re.iloc[:, col].astype(float), dist="norm", plot=ax)
        ax.set_title(f"Clinician {name}: normal QQ plot")
    return done(fig)
