"""Checks of the reports' growth model, for the outcomes-research notebook
(``notebooks/outcomes_models.ipynb``): the model against simpler ones by maximum likelihood
(:func:`compare_models`), and the clinician effects without the clients who left early
(:func:`sensitivity_to_early_leavers`). The model itself is :mod:`perfkit.models`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .config import Config
from .models import FIXED, TIME_ONLY, fit_growth_model, fit_two_level_model, model_data

__all__ = ["compare_models", "sensitivity_to_early_leavers"]


def compare_models(data: pd.DataFrame, cfg: Config, *, fixed: str = FIXED) -> pd.DataFrame:
    """Two-level against three-level, and with against without case mix, by maximum likelihood,
    on ``data`` (its time column as :func:`perfkit.models.model_data` made it: weeks or
    sessions).

    REML likelihoods are not comparable across fixed effects, so all three models are refitted
    by ML. Likelihood-ratio tests against the three-level case-mix model: the clinician level
    adds 3 variance parameters (its p-value is conservative, as the null lies on the boundary
    of the parameter space; Self & Liang 1987); case mix adds 2 fixed effects. ``parameters``
    counts every estimated parameter as lme4's ``npar`` does (fixed effects, variance
    parameters and the residual: one more for each model with
    ``models.client_covariance: correlated``). Lower AIC is better. ``reported`` marks the
    model fitted with ``fixed`` (the three-level model the caller reports: with case mix by
    default, as ``perfkit run`` reports it). Numbers only: ``Chisq``, ``Chi Df`` and
    ``Pr(>Chisq)`` are each model's test against the three-level case-mix model (empty on its
    own row). ``model`` is a code (``two_level_case_mix``, ``three_level_time_only``,
    ``three_level_case_mix``); :func:`perfkit.report.research.comparison_table` words the
    codes and the tests (:mod:`perfkit.report.model_words`).
    """
    three = fit_growth_model(data, cfg, reml=False)
    plain = fit_growth_model(data, cfg, fixed=TIME_ONLY, reml=False)
    two = fit_two_level_model(data, cfg, reml=False)
    rows = [
        ("two_level_case_mix", two.n_params, two.ml_loglik, False),
        ("three_level_time_only", plain.n_params, plain.ml_loglik, fixed == plain.fixed),
        ("three_level_case_mix", three.n_params, three.ml_loglik, fixed == three.fixed),
    ]
    out = pd.DataFrame(rows, columns=["model", "parameters", "log_likelihood_ml", "reported"])
    out["AIC"] = 2 * out["parameters"] - 2 * out["log_likelihood_ml"]
    full = out.loc[2, "log_likelihood_ml"]
    chisq = (2 * (full - out["log_likelihood_ml"])).clip(lower=0)
    df = out.loc[2, "parameters"] - out["parameters"]
    out["Chisq"] = [chisq[0], chisq[1], np.nan]
    out["Chi Df"] = [df[0], df[1], np.nan]
    out["Pr(>Chisq)"] = [stats.chi2.sf(chisq[0], df[0]), stats.chi2.sf(chisq[1], df[1]),
                         np.nan]
    return out


def sensitivity_to_early_leavers(assessments: pd.DataFrame, cfg: Config, instrument: str,
                                 min_scores: int = 5, *, time_metric: str = "weeks",
                                 fixed: str = FIXED, base_min_scores: int | None = None
                                 ) -> pd.DataFrame:
    """Clinician effects from all episodes (of at least ``base_min_scores`` scores, default
    ``models.min_scores``) next to those from episodes with at least ``min_scores`` scores
    (clients who stayed longer), in clinician-id order: both fitted with the same time metric
    and fixed effects as the fit they check."""
    base = fit_growth_model(model_data(assessments, cfg, instrument, time_metric=time_metric,
                                       min_scores=base_min_scores), cfg, instrument,
                            fixed=fixed)
    longer = fit_growth_model(model_data(assessments, cfg, instrument, time_metric=time_metric,
                                         min_scores=min_scores), cfg, instrument, fixed=fixed)
    a = base.effects.set_index("clinician_id")[["effect", "ci_low", "ci_high", "n_clients"]]
    b = longer.effects.set_index("clinician_id")[["effect", "ci_low", "ci_high", "n_clients"]]
    return a.join(b.add_suffix(f"_min{min_scores}")).reset_index()
