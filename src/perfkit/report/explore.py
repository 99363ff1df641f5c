"""Interactive exploration for analysts (ipywidgets): pickers for clinician, weekly metric,
instrument and date range drive a chart and a table, and a second panel refits the growth
model when its settings change (perfkit's nested fitter takes a fraction of a second). Used by
``notebooks/explore.ipynb``."""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from .. import models
from ..operations import WEEKLY_COLUMNS
from .figures import BLUE, caterpillar, done, trajectories_figure
from .research import describe_fit, variance_table
from .run import RunData

__all__ = ["explorer", "weekly_view", "model_view", "model_explorer"]


def weekly_view(run: RunData, clinician_id: str, metric: str, start, end):
    """The weekly series of one metric for one clinician between two weeks, and its rows."""
    wk = run.table("weekly_metrics")
    wk = wk[(wk["clinician_id"] == clinician_id)].copy()
    wk["week_start"] = pd.to_datetime(wk["week_start"])
    wk = wk[(wk["week_start"] >= pd.Timestamp(start)) & (wk["week_start"] <= pd.Timestamp(end))]
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(wk["week_start"], wk[metric], marker="o", ms=3, color=BLUE)
    ax.set(title=f"{run.name_of(clinician_id)}: {metric.replace('_', ' ')} by week",
           xlabel="week starting")
    y = wk[metric].dropna()
    alt = (f"{run.name_of(clinician_id)}: {metric.replace('_', ' ')} in {len(y)} weeks, from "
           f"{y.iloc[0]:.3g} to {y.iloc[-1]:.3g}" if len(y) else
           f"{run.name_of(clinician_id)}: no {metric.replace('_', ' ')} values in these weeks")
    return done(fig, alt + "."), wk[["week_start", metric]].set_index("week_start")


def explorer(run: RunData) -> w.Widget:
    """The widget panel; it renders its first view at once and again on every change."""
    clinicians = sorted(run.table("clinician_metrics")["clinician_id"])
    weeks = sorted(pd.to_datetime(run.table("weekly_metrics")["week_start"]).dt.date.unique())
    pick_c = w.Dropdown(options=[(f"{run.name_of(c)} ({c})", c) for c in clinicians],
                        description="Clinician")
    pick_m = w.Dropdown(options=[m for m in WEEKLY_COLUMNS], value="utilization",
                        description="Metric")
    pick_i = w.Dropdown(options=[i for i, v in run.config.instruments.items() if v.outcome],
                        description="Measure")
    span = w.SelectionRangeSlider(options=weeks, index=(0, len(weeks) - 1),
                                  description="Weeks", layout=w.Layout(width="90%"))
    out = w.Output()

    def render(*_):
        out.clear_output(wait=True)
        with out:
            fig, rows = weekly_view(run, pick_c.value, pick_m.value, *span.value)
            display(fig, trajectories_figure(run, pick_c.value, pick_i.value), rows.tail(12))

    for control in (pick_c, pick_m, pick_i, span):
        control.observe(render, names="value")
    render()
    return w.VBox([w.HBox([pick_c, pick_m, pick_i]), span, out])


def model_view(run: RunData, instrument: str, client_covariance: str = "independent",
               min_scores: int = 3) -> models.GrowthFit:
    """Refit the growth model of one instrument with other settings."""
    mc = run.config.models.model_copy(update={"client_covariance": client_covariance,
                                              "min_scores": min_scores, "engine": "perfkit"})
    cfg = run.config.model_copy(update={"models": mc})
    rows = models.model_data(run.prepared_table("assessments"), cfg, instrument,
                             min_scores=min_scores)
    return models.fit_growth_model(rows, cfg, instrument)


def model_explorer(run: RunData) -> w.Widget:
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
            effects = fit.effects.assign(clinician_id=fit.effects["clinician_id"].map(
                run.name_of))
            shown = [describe_fit(fit), variance_table(fit)]
            if effects["effect"].notna().any():
                shown.append(caterpillar(effects.dropna(subset=["effect"]),
                                               fit.instrument,
                                               better=run.config.instruments[fit.instrument]
                                               .better))
            display(*shown)

    for control in (pick_i, pick_cov, pick_n):
        control.observe(render, names="value")
    render()
    return w.VBox([w.HBox([pick_i, pick_n]), pick_cov, out])
