"""Interactive exploration for analysts (ipywidgets): pickers for clinician, weekly metric,
instrument and date range drive a chart and a table, and a second panel refits the growth
model when its settings change (perfkit's nested fitter takes a fraction of a second). Used by
``notebooks/explore.ipynb``. It lives outside :mod:`perfkit.report` because it refits models
(compute); it draws with the report's figures and tables."""

from __future__ import annotations

from dataclasses import replace

import ipywidgets as w
import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from . import models
from .hostile_text import md
from .operations import WEEKLY_COLUMNS
from .outcomes import score_trajectories, typical_course
from .registry import METRICS, format_value, label_of
from .report.figures import BLUE, done, fit_caterpillar, trajectories_chart
from .report.format import date_words, num, period_words, table
from .report.research import describe_fit, variance_table
from .report.run_folder import RunFolder

__all__ = ["explorer", "weekly_view", "model_view", "model_explorer", "clinician_choices",
           "metric_label", "run_words", "prepared_table", "trajectories_view"]


def prepared_table(run: RunFolder, name: str, clinician_id: str | None = None) -> pd.DataFrame:
    """One table of the run's prepared snapshot (``prepared/<name>.parquet``), optionally only
    one clinician's rows, without loading the rest: the explorer recomputes from it (the
    reports never read it)."""
    filters = [("clinician_id", "in", [clinician_id])] if clinician_id is not None else None
    return pd.read_parquet(run.folder / "prepared" / f"{name}.parquet", filters=filters)


def trajectories_view(run: RunFolder, clinician_id: str, instrument: str, *, start=None,
                      end=None, whose: str | None = None):
    """The clinician's clients' scores over time between two dates (both included), worked
    out from the prepared snapshot for those dates (:func:`perfkit.outcomes.score_trajectories`:
    weeks count from each client's first score among those shown) and drawn as the reports
    draw them (:func:`perfkit.report.figures.trajectories_chart`)."""
    a = prepared_table(run, "assessments", clinician_id)
    points = score_trajectories(a[a["instrument"] == instrument], run.config, start=start,
                                end=end)
    return trajectories_chart(points, typical_course(points), run, instrument, whose=whose)


def metric_label(metric: str) -> str:
    """A weekly column's label (the registry's, as the weekly chart says it)."""
    if metric in METRICS:
        return label_of(metric, kind="series")
    return metric.replace("_", " ").capitalize()


def _fmt(metric: str):
    """A weekly value as the explorer writes it: the registry's format, with one decimal."""
    if metric in METRICS:
        return lambda v: format_value(metric, v, digits=1)
    return lambda v: num(v, 1)


def clinician_choices(run: RunFolder) -> list[tuple[str, str]]:
    """Every clinician with data in the run (weekly figures or metrics for the period), in name
    order, labelled with their id and, for those who joined or left during the weeks shown,
    when."""
    ids = set(run.table("clinician_metrics")["clinician_id"]) | set(
        run.table("weekly_metrics")["clinician_id"])
    roster = run.roster()
    weeks = pd.to_datetime(run.table("weekly_metrics")["week_start"])
    first = weeks.min() if len(weeks) else pd.NaT
    out = []
    for cid in sorted(ids, key=lambda c: (run.name_of(c), c)):
        notes = []
        if cid in roster.index:
            start, end = roster.loc[cid, "start_date"], roster.loc[cid, "end_date"]
            if pd.notna(start) and pd.notna(first) and pd.Timestamp(start) > first:
                notes.append(f"joined {date_words(start)}")
            if pd.notna(end) and pd.Timestamp(end) < pd.Timestamp(run.config.period_end):
                notes.append(f"left {date_words(end)}")
        out.append((f"{run.written_name(cid)} ({', '.join([cid, *notes])})", cid))
    return out


def run_words(run: RunFolder) -> str:
    """What is being explored, in one line: the practice, the run's period, the weeks of
    weekly figures and how many clinicians have data."""
    weeks = pd.to_datetime(run.table("weekly_metrics")["week_start"])
    span = (f"weekly figures from {date_words(weeks.min())} to {date_words(weeks.max())}"
            if len(weeks) else "no weekly figures")
    return (f"**{md(run.config.practice_name)}**, the run for {period_words(run.config)}: "
            f"{span}, {len(clinician_choices(run))} clinicians with data.")


def weekly_view(run: RunFolder, clinician_id: str, metric: str, start, end):
    """The weekly series of one metric for one clinician between two weeks (both included): a
    chart, and a table of every week shown, formatted as the reports format them."""
    wk = run.table("weekly_metrics")
    wk = wk[(wk["clinician_id"] == clinician_id)].copy()
    wk["week_start"] = pd.to_datetime(wk["week_start"])
    wk = wk[(wk["week_start"] >= pd.Timestamp(start)) & (wk["week_start"] <= pd.Timestamp(end))]
    name, label = run.name_of(clinician_id), metric_label(metric)
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(wk["week_start"], wk[metric], marker="o", ms=3, color=BLUE)
    ax.set(title=f"{name}: {label.lower()} by week", xlabel="week starting")
    if metric in METRICS and METRICS[metric].unit == "share":
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    fmt = _fmt(metric)
    y = wk[metric].dropna()
    alt = (f"{name}: {label.lower()} in {len(y)} weeks, from {fmt(y.iloc[0])} to "
           f"{fmt(y.iloc[-1])}" if len(y) else f"{name}: no {label.lower()} in these weeks")
    rows = table(pd.DataFrame({"Week starting": wk["week_start"].map(date_words),
                               label: wk[metric].map(fmt)}),
                 f"{name}'s {label.lower()}, each week from {date_words(start)} to "
                 f"{date_words(end)} ({len(wk)} weeks with figures).")
    return done(fig, alt + "."), rows


def explorer(run: RunFolder) -> w.Widget:
    """The widget panel; it renders its first view at once and again on every change. The
    weeks chosen govern every chart and table shown (the weekly chart, the clients' scores and
    the weekly table)."""
    weeks = sorted(pd.to_datetime(run.table("weekly_metrics")["week_start"]).dt.date.unique())
    pick_c = w.Dropdown(options=clinician_choices(run), description="Clinician",
                        layout=w.Layout(width="auto"))
    pick_m = w.Dropdown(options=[(metric_label(m), m) for m in WEEKLY_COLUMNS],
                        value="utilization", description="Metric")
    pick_i = w.Dropdown(options=[i for i, v in run.config.instruments.items() if v.outcome],
                        description="Measure")
    span = w.SelectionRangeSlider(options=[(date_words(d), d) for d in weeks],
                                  index=(0, len(weeks) - 1), description="Weeks",
                                  readout=False, layout=w.Layout(width="95%"))
    shown = w.HTML()
    out = w.Output()

    def render(*_):
        first, last = span.value
        shown.value = (f"Weeks starting {date_words(first)} to {date_words(last)} "
                       f"({span.index[1] - span.index[0] + 1} weeks)")
        out.clear_output(wait=True)
        with out:
            fig, rows = weekly_view(run, pick_c.value, pick_m.value, first, last)
            display(fig, trajectories_view(run, pick_c.value, pick_i.value,
                                           whose=run.name_of(pick_c.value), start=first,
                                           end=last + pd.Timedelta(days=6)), rows)

    for control in (pick_c, pick_m, pick_i, span):
        control.observe(render, names="value")
    render()
    return w.VBox([w.HBox([pick_c, pick_m, pick_i]), span, shown, out])


def model_view(run: RunFolder, instrument: str, client_covariance: str = "independent",
               min_scores: int = 3) -> models.GrowthFit:
    """Refit the growth model of one instrument with other settings."""
    mc = run.config.models.model_copy(update={"client_covariance": client_covariance,
                                              "min_scores": min_scores, "engine": "perfkit"})
    cfg = run.config.model_copy(update={"models": mc})
    rows = models.model_data(prepared_table(run, "assessments"), cfg, instrument,
                             min_scores=min_scores)
    return models.fit_growth_model(rows, cfg, instrument)


def model_explorer(run: RunFolder) -> w.Widget:
    """Pickers for the instrument, the client covariance and the minimum scores per episode;
    every change refits the model and shows the fit, its variance components and the
    clinicians' estimates (clinician-id order, never a ranking)."""
    pick_i = w.Dropdown(options=list(run.config.models.instruments), description="Measure")
    pick_cov = w.ToggleButtons(options=[("independent", "independent"),
                                        ("correlated", "correlated")],
                               description="Client level")
    pick_n = w.IntSlider(value=run.config.models.min_scores, min=3, max=8,
                         description="Min scores")
    out = w.Output()

    def render(*_):
        out.clear_output(wait=True)
        with out:
            fit = model_view(run, pick_i.value, pick_cov.value, pick_n.value)
            # labelled "C01 Maya Okafor": the plot's clinician-id order, with names
            named = replace(fit, effects=fit.effects.assign(clinician_id=[
                f"{c} {run.name_of(c)}" for c in fit.effects["clinician_id"]]))
            summary = models.model_summary([fit])[fit.instrument]
            shown = [describe_fit(fit), variance_table(summary)]
            if fit.effects["effect"].notna().any():
                shown.append(fit_caterpillar(named,
                                             better=run.config.instruments[fit.instrument]
                                             .better))
            display(*shown)

    for control in (pick_i, pick_cov, pick_n):
        control.observe(render, names="value")
    render()
    return w.VBox([w.HBox([pick_i, pick_n]), pick_cov, out])
