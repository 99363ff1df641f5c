"""Tables and statements about one model fit, for the outcomes-research notebook
(``notebooks/outcomes_models.ipynb``) and the model explorer: what was fitted, the fixed
effects, the variance components and the share of variance due to clinicians. Every label
follows the fit: its time unit (weeks or sessions) and whether it allowed for intake severity
(case mix). A ``fit`` is a :class:`perfkit.models.GrowthFit`, read as it is; a ``summary`` is
its entry of the model summary (:func:`perfkit.models.model_summary`, the run's
``model_summary.json``), whose intervals and correlation are shown as they are: nothing here
computes a statistic."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..hostile_text import md
from .format import Text, num, table
from .model_words import compared_model_words, messages_text, p_value

__all__ = ["describe_fit", "fixed_effects_table", "variance_table", "share_statement",
           "model_text", "caterpillar_text", "comparison_table", "sensitivity_table",
           "limits_text"]


def _num(v, digits: int) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def describe_fit(fit):
    """What was fitted and how it went, in plain words."""
    rows = {
        "Measure": fit.instrument,
        "Model": fit.level,
        "Time": f"{fit.time_metric} since the episode's first score",
        "Allows for intake severity (case mix)": "yes" if fit.case_mix else "no",
        "Clinicians / clients / scores": f"{fit.n_clinicians} / {fit.n_clients} / "
                                         f"{fit.n_scores}",
        "Estimation": f"{fit.engine}, {fit.optimizer or '–'}",
        "Converged": "yes" if fit.converged else "no",
        "Singular (a variance at zero)": "yes" if fit.singular else "no",
        f"Log-likelihood ({'REML' if fit.reml else 'ML'})": _num(fit.loglik, 3) or "–",
        "Fit time (s)": f"{fit.seconds:g}",
        "Notes": messages_text(fit.messages) or "–",
        "Warnings recorded": str(len(fit.warnings)) if fit.warnings else "none",
    }
    return table(pd.DataFrame({"Value": list(rows.values())}, index=list(rows)), rows="Fit")


def _term(name: str, u: str) -> str:
    return {"Intercept": "starting level (points)", "time": f"change per {u} (points)",
            "intake_c": "intake score, centred (points per point)",
            "time:intake_c": f"change per {u}, per point of intake"}.get(name, name)


def fixed_effects_table(summary: dict):
    """Fixed effects with standard errors and 95% intervals (the model summary's), named in
    the fit's time unit."""
    u = summary["time_unit"]
    fixed = summary["fixed_effects"]

    def col(key):
        return [_num(v[key], 4) for v in fixed.values()]

    return table(pd.DataFrame({
        "Term": [_term(n, u) for n in fixed], "Estimate": col("estimate"),
        "Std. error": col("se"), "95% low": col("ci_low"), "95% high": col("ci_high")}))


def variance_table(summary: dict):
    """Variance components (the model summary's) as variances and standard deviations (its
    ``standard_deviations``; a summary of an older run without them leaves the cells empty); the
    clinicians' level-change correlation is a correlation (no standard deviation: the cell is
    left empty)."""
    u = summary["time_unit"]
    vc, sd = summary["variance_components"], summary.get("standard_deviations", {})
    comps = {"clinician: starting level": "clinician_intercept",
             f"clinician: change per {u}": "clinician_slope",
             "client: starting level": "client_intercept",
             f"client: change per {u}": "client_slope", "residual": "residual"}
    rows = [{"Component": k, "Variance": _num(vc[key], 5),
             "Std. deviation": _num(sd.get(key), 5) if _finite(vc[key]) else ""}
            for k, key in comps.items()]
    rows.append({"Component": "clinician: level-change correlation",
                 "Variance": _num(vc["clinician_intercept_slope_corr"], 3)
                 or "not estimable (a variance at zero)",
                 "Std. deviation": ""})
    return table(pd.DataFrame(rows), "The correlation row gives the correlation itself in the "
                 "variance column; a correlation has no standard deviation.")


def _finite(v) -> bool:
    return v is not None and bool(np.isfinite(v))


def share_statement(fit):
    """The share of score variance due to clinicians next to the literature's about 5%."""
    if not np.isfinite(fit.share_clinician):
        return Text("The share of variance due to clinicians was not estimated for this model.")
    return Text(
        f"At {fit.time_unit} {fit.share_at_time:g} (the median length of an episode here), "
        f"**{fit.share_clinician:.1%}** of the variation in {md(fit.instrument)} scores lies "
        "between clinicians" + (", after allowing for intake severity" if fit.case_mix else
                                 " (not adjusted for intake severity)")
        + ". Studies of routine practice find about 5% (Baldwin & Imel 2013; Johns et al. "
        "2019), and most of the rest lies with clients and measurement.")


def model_text(fit) -> Text:
    """The model as fitted, in lme4's notation, with what its terms mean and its engine."""
    return Text(
        f"In R's lme4 notation, over the columns of the model rows (the files `perfkit run` "
        f"writes as `tables/model_data_*.csv`, one per measure):\n\n`{fit.formula}`\n\n"
        f"`time` is the time since the episode's first score, counted in {fit.time_metric}"
        + (", `intake_c` the first score minus its mean" if fit.case_mix else
           "; the model does not allow for intake severity") + ". "
        f"Fitted by {md(fit.engine) or 'no engine (too little data for a model)'}; both "
        "engines (perfkit's nested fitter and statsmodels' MixedLM, `models.engine` in the "
        "parameters) were checked against R's lme4 on reference data (`tests/reference/`).")


def caterpillar_text(fit) -> Text:
    """What the clinician-differences figure shows, in the fit's terms."""
    return Text(
        f"Each dot is a clinician's difference from the practice's average change per "
        f"{fit.time_unit}" + (", after allowing for how ill their clients were at intake"
                           if fit.case_mix else " (not adjusted for intake severity)")
        + "; the bar is its 95% interval. Clinicians appear in id order. A bar that crosses "
        "the dashed line means the data cannot tell that clinician's clients apart from the "
        "practice average.")


def _lr_words(chisq, df, p, boundary: bool) -> str:
    if not np.isfinite(chisq):
        return ""
    said = p_value(p)
    return (f"chi2 = {chisq:.1f} on {df:g} df, p {said if said.startswith('<') else '= ' + said}"
            + (" (conservative)" if boundary else ""))


def comparison_table(compared: pd.DataFrame):
    """:func:`perfkit.model_checks.compare_models` for reading: the reported model marked, numbers
    rounded, each likelihood-ratio test in words, p-values below 0.001 as "< 0.001"."""
    tests = [_lr_words(c, d, p, boundary=m.startswith("two_level")) for m, c, d, p in zip(
        compared["model"], compared["Chisq"], compared["Chi Df"], compared["Pr(>Chisq)"],
        strict=True)]
    said = [compared_model_words(m) for m in compared["model"]]
    compared = compared.drop(columns=["Chisq", "Chi Df", "Pr(>Chisq)"]).assign(
        model=[label for label, _ in said])
    compared.insert(1, "what it includes", [what for _, what in said])
    compared = compared.assign(**{"LR test against the three-level case-mix model": tests})
    out = compared.assign(**{
        "model": [f"{m} (reported above)" if r else m
                  for m, r in zip(compared["model"], compared["reported"], strict=True)],
        "log_likelihood_ml": compared["log_likelihood_ml"].map(lambda v: _num(v, 1)),
        "AIC": compared["AIC"].map(lambda v: _num(v, 1))}).drop(columns="reported")
    return table(out.rename(columns={"model": "Model", "what it includes": "What it includes",
                                     "parameters": "Parameters",
                                     "log_likelihood_ml": "Log-likelihood (ML)"}),
                 "Lower AIC is better. " + ("" if compared["reported"].any() else
                                            "The model reported above is not among these."))


def sensitivity_table(sens: pd.DataFrame, fit, min_scores: int):
    """The early-leaver sensitivity check, in the fit's units."""
    u = fit.time_unit
    out = pd.DataFrame({"Clinician": sens["clinician_id"]})
    for suffix, label in (("", "all episodes"), (f"_min{min_scores}",
                                                 f"episodes with {min_scores}+ scores")):
        out[f"Change per {u}, {label}"] = [
            f"{e:+.3f} ({lo:+.3f} to {hi:+.3f})" if np.isfinite(e) else "–"
            for e, lo, hi in zip(sens[f"effect{suffix}"], sens[f"ci_low{suffix}"],
                                 sens[f"ci_high{suffix}"], strict=True)]
        out[f"Clients, {label}"] = sens[f"n_clients{suffix}"].map(
            lambda v: num(v, 0))
    return table(out, f"Each clinician's difference from the practice's change per {u}, with "
                 "its 95% interval, fitted with the same settings as above.")


def limits_text(fit) -> Text:
    """What the model can and cannot say about a clinician, for the fit as it was made."""
    u = fit.time_unit
    first = (f"It estimates how fast a clinician's clients' scores changed per {u} compared "
             "with the practice average, for clients who started equally ill."
             if fit.case_mix else
             f"It estimates how fast a clinician's clients' scores changed per {u} compared "
             "with the practice average, without allowing for how ill clients were at the "
             "start: a clinician who sees more severe clients can look different for that "
             "reason alone.")
    return Text("\n".join(f"- {x}" for x in (
        first + " It does not measure the quality of anyone's work.",
        "Intervals are wide for clinicians with few clients; most include zero. Across "
        "practices about 5% of the variation in outcomes lies between therapists; the rest is "
        "the clients, their lives, and measurement noise.",
        "Clients are not randomly assigned: referral patterns, diagnoses, and life events "
        + ("that the intake score does not capture " if fit.case_mix else "")
        + "can move an estimate.",
        "Missing scores are not random: clients who leave early often differ from those who "
        "stay, which is why the sensitivity check above matters.",
        "Use these estimates to start a supportive conversation, together with supervision, "
        "observation and the clinician's own view, never as a verdict or a ranking.")))
