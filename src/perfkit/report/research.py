"""Tables and statements about one model fit, for the outcomes-research notebook
(``notebooks/outcomes_models.ipynb``) and the model explorer: what was fitted, the fixed
effects, the variance components and the share of variance due to clinicians."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..models import Z95, GrowthFit
from .format import Text

__all__ = ["describe_fit", "fixed_effects_table", "variance_table", "share_statement"]


def describe_fit(fit: GrowthFit) -> pd.DataFrame:
    """What was fitted and how it went, in plain words (one column)."""
    rows = {
        "instrument": fit.instrument,
        "model": fit.level,
        "clinicians / clients / scores": f"{fit.n_clinicians} / {fit.n_clients} / "
                                         f"{fit.n_scores}",
        "estimation": f"{fit.engine}, {fit.optimizer or '-'}",
        "converged": "yes" if fit.converged else "no",
        "singular (a variance at zero)": "yes" if fit.singular else "no",
        f"log-likelihood ({'REML' if fit.reml else 'ML'})":
            round(fit.loglik, 3) if np.isfinite(fit.loglik) else "-",
        "fit time (s)": fit.seconds,
        "notes": "; ".join(fit.messages) or "-",
    }
    return pd.DataFrame({"": list(rows.values())}, index=list(rows))


def fixed_effects_table(fit: GrowthFit) -> pd.DataFrame:
    """Fixed effects with standard errors and 95% intervals."""
    est, se = fit.fixed_effects, fit.fixed_se.reindex(fit.fixed_effects.index)
    return pd.DataFrame({"estimate": est, "std. error": se, "95% low": est - Z95 * se,
                         "95% high": est + Z95 * se}).round(4)


def variance_table(fit: GrowthFit) -> pd.DataFrame:
    """Variance components as variances and standard deviations."""
    cov = fit.clinician_cov
    comps = {"clinician: starting level": cov[0, 0], "clinician: weekly change": cov[1, 1],
             "client: starting level": fit.client_intercept_var,
             "client: weekly change": fit.client_slope_var, "residual": fit.residual_var}
    out = pd.DataFrame({"variance": comps})
    out["std. deviation"] = np.sqrt(out["variance"].clip(lower=0))
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    corr = cov[0, 1] / (sd[0] * sd[1]) if sd.all() else np.nan
    out.loc["clinician: level-change correlation"] = [corr, np.nan]
    return out.round(5)


def share_statement(fit: GrowthFit):
    """The share of score variance due to clinicians next to the literature's about 5%."""
    if not np.isfinite(fit.share_clinician):
        text = "The share of variance due to clinicians was not estimated for this model."
    else:
        text = (f"At week {fit.share_at_week:g} (the median length of an episode here), "
                f"**{fit.share_clinician:.1%}** of the variation in {fit.instrument} scores lies "
                "between clinicians, after allowing for intake severity. Studies of routine "
                "practice find about 5% (Baldwin & Imel 2013; Johns et al. 2019), and most of "
                "the rest lies with clients and measurement.")
    return Text(text)
