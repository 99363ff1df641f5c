"""Mixed-effects growth models of assessment scores: clinician effects with honest uncertainty.

The model, per instrument, is a three-level growth model fitted by REML: scores within clients
within clinicians, ``time`` since the episode's first score (in weeks, or in sessions with
``time_metric="sessions"``: the fit's ``time_unit`` says which), with the intake score
(centred) and its interaction with time as case-mix adjustment::

    score ~ time * intake_c + (1 + time | clinician) + (1 | clinician:client)
                            + (0 + time | clinician:client)                        # lme4

The intake score is the episode's first score, so the model is fitted to the later scores
(time > 0): fitting the first score as an outcome as well would regress it on itself.

Two engines (``models.engine`` in the parameters):

- ``perfkit`` (the default): perfkit's own nested-model fitter (``perfkit.nested``), lme4's
  profiled likelihood computed client block by client block, called through
  :func:`perfkit.fit_growth` (the researchers' entry point: one code path). It matches lme4's REML
  log-likelihood, variance components and standard errors on the reference datasets, is
  more than 20 times faster than lme4 at 35k and 84k scores (measured: benchmarks/README.md),
  and also fits a correlated client intercept and slope (``models.client_covariance:
  correlated``: ``(1 + time | clinician:client)``).
- ``statsmodels``: statsmodels' ``MixedLM`` (``groups`` = clinician, ``re_formula="~time"``,
  two variance components for the client intercept and slope, which statsmodels cannot
  correlate), kept as the independent check in the tests. Fitting it is a procedure, never a
  bare ``.fit()``: statsmodels' default start values can lead L-BFGS to report convergence far
  from the optimum; perfkit starts from method-of-moments values, tries more than one optimizer,
  keeps the best REML log-likelihood and checks the gradient.

Either way a variance on the boundary is reported as *singular* (a coded message: the words are
in :mod:`perfkit.report.model_words`), and the
clinician effects are the conditional means of the clinician slopes with 95% intervals from
their conditional variances (lme4's ``ranef(condVar = TRUE)``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLMParams

from .config import Config, ConfigError
from .fit_problems import FitError, raise_failed, recording, why_failed
from .outcomes import effect_sides

__all__ = [
    "LME4_FORMULA",
    "GrowthFit",
    "model_data",
    "moment_start",
    "fit_growth_model",
    "fit_instrument",
    "clinician_effects",
    "model_summary",
    "simulate_growth_data",
    "slug",
    "FIXED",
    "TIME_ONLY",
    "fit_two_level_model",
    "Z95",
    "MESSAGE_CODES",
    "two_level_model",
    "FitError",
]

LME4_FORMULA = ("score ~ time * intake_c + (1 + time | clinician_id) "
                "+ (1 | clinician_id:client_id) + (0 + time | clinician_id:client_id)")
LME4_FORMULA_CORRELATED = ("score ~ time * intake_c + (1 + time | clinician_id) "
                           "+ (1 + time | clinician_id:client_id)")
FIXED = "score ~ time * intake_c"
TIME_ONLY = "score ~ time"  # the model without case mix
Z95 = float(stats.norm.ppf(0.975))  # 1.959964: every 95% interval of the models
_VC = {"client": "0 + C(client)", "client_time": "0 + C(client):time"}

# The codes of a fit's messages (GrowthFit.messages: each a dict with its ``code`` and the
# values it is said with); perfkit.report.model_words words them, for analysts and the owner
MESSAGE_CODES = {
    "not_converged": (),
    "clinicians_indistinguishable": (),  # the clinician slope variance on the boundary
    "boundary": ("components",),  # other variance parameters on the boundary
    "too_few_for_three_levels": ("clinicians", "clients"),
    "too_little_data": ("scores", "clients"),  # the descriptive fallbacks (fit_problems)
    "optimizer_failed": ("scores", "clients"),
    "singular_design": ("scores", "clients"),
}


@dataclass(frozen=True)
class GrowthFit:
    """The result of fitting one instrument: estimates, checks and coded messages.

    Immutable and engine-independent: whichever engine fitted it (perfkit's nested fitter or
    statsmodels' MixedLM), the same fields hold the same things. ``loglik`` is the maximised
    log-likelihood of the criterion named by ``reml`` (REML or ML: they are not comparable
    across fixed effects); :attr:`GrowthFit.reml_loglik` and :attr:`GrowthFit.ml_loglik` name
    it, and are NaN for the other criterion. ``engine_result`` is the engine's own result, for
    researchers only.
    """

    instrument: str
    level: str  # "three-level", "two-level" or "descriptive"
    engine: str = ""
    optimizer: str = ""
    converged: bool = False
    singular: bool = False
    reml: bool = True
    loglik: float = float("nan")
    gradient_norm: float = float("nan")
    fixed_effects: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    fixed_se: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    clinician_cov: np.ndarray = field(default_factory=lambda: np.full((2, 2), np.nan))
    client_intercept_var: float = float("nan")
    client_slope_var: float = float("nan")
    client_corr: float = float("nan")  # correlated client intercept and slope only
    residual_var: float = float("nan")
    share_clinician: float = float("nan")
    share_at_time: float = float("nan")  # the time (in time_unit) the share is evaluated at
    n_clinicians: int = 0
    n_clients: int = 0  # courses of treatment (clinician, client): a model's clients
    n_distinct_clients: int = 0  # people: a client seen by two clinicians counts once
    n_scores: int = 0
    seconds: float = 0.0
    candidates: tuple = ()
    # what the fit has to say, as codes with values (:data:`MESSAGE_CODES`), e.g.
    # {"code": "too_few_for_three_levels", "clinicians": 2, "clients": 9};
    # perfkit.report.model_words.message_words words them
    messages: tuple = ()
    effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    fixed: str = ""
    formula: str = ""  # the model in lme4's notation
    time_metric: str = "weeks"  # what the time column ``time`` counts: weeks or sessions
    fitted: np.ndarray = field(default_factory=lambda: np.empty(0))  # per score, model order
    residuals: np.ndarray = field(default_factory=lambda: np.empty(0))
    clinician_modes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["clinician_id", "intercept", "slope"]))  # conditional modes
    engine_result: object = None
    n_params: int = 0  # fixed effects, variance parameters and the residual (lme4's npar)
    # why the model fell back from three levels (perfkit.fit_problems.REASONS), "" when not
    reason: str = ""
    # (category, message) of each warning the fit recorded (perfkit.fit_problems.recording):
    # the chosen optimizer run's and the checks'; every run's are in ``candidates``
    warnings: tuple = ()

    @property
    def reml_loglik(self) -> float:
        return self.loglik if self.reml else float("nan")

    @property
    def ml_loglik(self) -> float:
        return float("nan") if self.reml else self.loglik

    @property
    def time_unit(self) -> str:
        """The time column's unit in the singular: ``week`` or ``session``."""
        return "session" if self.time_metric == "sessions" else "week"

    @property
    def case_mix(self) -> bool:
        """Whether the fit allowed for intake severity (the centred intake score)."""
        return "intake_c" in self.fixed


class _Draft(SimpleNamespace):
    """A fit under construction (the fitting steps fill it in); :func:`_final` freezes it."""


def _new_draft(data: pd.DataFrame, instrument: str, *, level: str, reml: bool, fixed: str,
               correlated: bool = False) -> tuple[_Draft, _Ids]:
    """A draft with the data's counts, and the rows' id codes (from ``_codes``)."""
    ids = _codes(data)
    clin_codes, client_codes = ids.clinician, ids.episode
    random = (LME4_FORMULA_CORRELATED if correlated else LME4_FORMULA).split(" + ", 1)[1]
    draft = _Draft(instrument=instrument, level=level, reml=reml, fixed=fixed,
                   n_clinicians=int(clin_codes.max() + 1) if len(data) else 0,
                   n_clients=int(client_codes.max() + 1) if len(data) else 0,
                   n_distinct_clients=len(ids.clients),
                   n_scores=len(data), messages=[], candidates=[], warnings=[],
                   formula=f"{fixed} + {random}",
                   time_metric=data.attrs.get("time_metric", "weeks"))
    return draft, ids


def _final(d: _Draft) -> GrowthFit:
    fields = dict(vars(d))
    better = fields.pop("better", "lower")  # the instrument's direction (fit_growth_model)
    if "effects" in fields:
        fields["effects"] = effect_sides(fields["effects"], better)
    fields["messages"] = tuple(fields.get("messages", ()))
    fields["candidates"] = tuple(fields.get("candidates", ()))
    fields["warnings"] = tuple(fields.get("warnings", ()))
    return GrowthFit(**fields)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def model_data(assessments: pd.DataFrame, cfg: Config, instrument: str, *,
               time_metric: str = "weeks", min_scores: int | None = None) -> pd.DataFrame:
    """The rows a growth model of ``instrument`` is fitted to.

    Every score before ``as_of`` of episodes (client, clinician) with at least
    ``models.min_scores`` scores; ``time`` = weeks since the episode's first score, ``intake`` =
    that first score, ``intake_c`` = intake minus the mean intake over episodes. The first score
    itself is not an outcome row. Client ids are the pseudonyms of the prepared snapshot.
    With ``time_metric="sessions"`` the ``time`` column counts scores since the first instead
    (1, 2, 3, ...), for researchers who prefer session time; ``attrs["time_metric"]`` says
    which (the fit's ``time_unit``, the model summary's ``time_unit``). The column was called
    ``week`` before, whatever it counted.

    ``as_of`` is the end of ``cfg``'s period when one was set (parameters, command line, a
    run's own parameters); with the built-in period, which is the bundled demo's, every score
    is used. ``assessments`` is perfkit's prepared assessments table (``clinician_id``,
    ``client_id``, ``instrument``, ``administered_at`` with its time zone, ``total_score``);
    any other frame is refused with a sentence (:func:`perfkit.fit_growth` takes a frame with
    columns of its own naming and a numeric time).
    """
    if time_metric not in ("weeks", "sessions"):
        raise ValueError("time_metric must be 'weeks' or 'sessions'")
    need = ["clinician_id", "client_id", "instrument", "administered_at", "total_score"]
    missing = [c for c in need if c not in assessments.columns]
    if missing:
        raise ValueError(f"model_data takes perfkit's assessments table (columns "
                         f"{', '.join(need)}), and this frame has no {', '.join(missing)}: "
                         "for a frame with columns of your own naming, use perfkit.fit_growth")
    if len(assessments) and not isinstance(assessments["administered_at"].dtype,
                                           pd.DatetimeTZDtype):  # no table: no rows, no type
        kind = ("holds dates and times without a time zone"
                if pd.api.types.is_datetime64_any_dtype(assessments["administered_at"])
                else "does not hold dates and times")
        raise ValueError(f"administered_at {kind}: model_data takes dates and times in "
                         "the practice's time zone, as perfkit.load_prepared gives them (set "
                         f"it with .dt.tz_localize({cfg.timezone!r})), or use perfkit.fit_growth "
                         "with time as a number (perfkit.weeks_since gives weeks from dates)")
    min_scores = cfg.models.min_scores if min_scores is None else min_scores
    a = assessments[assessments["instrument"] == instrument]
    if cfg.period_given:
        a = a[a["administered_at"] < pd.Timestamp(cfg.period_end).tz_localize(cfg.timezone)]
    a = a.sort_values("administered_at", kind="stable")
    key = ["clinician_id", "client_id"]
    g = a.groupby(key, observed=True)
    a = a.assign(intake=g["total_score"].transform("first"),
                 first_at=g["administered_at"].transform("first"),
                 n=g["total_score"].transform("size"))
    a = a[a["n"] >= min_scores]
    if time_metric == "weeks":
        a = a.assign(time=(a["administered_at"] - a["first_at"]) / pd.Timedelta(weeks=1))
    else:
        a = a.assign(time=a.groupby(key, observed=True).cumcount().astype(float))
    later = a[a["time"] > 0]
    mean_intake = later.groupby(key, observed=True)["intake"].first().mean()
    out = pd.DataFrame({
        "clinician_id": later["clinician_id"].to_numpy(),
        "client_id": later["client_id"].to_numpy(),
        "time": later["time"].to_numpy(dtype=float),
        "score": later["total_score"].to_numpy(dtype=float),
        "intake": later["intake"].to_numpy(dtype=float),
    })
    out["intake_c"] = out["intake"] - mean_intake
    out = out.sort_values(["clinician_id", "client_id", "time"], ignore_index=True)
    out.attrs["time_metric"] = time_metric  # a fit records what its time column counts
    return out


def simulate_growth_data(n_clinicians: int, clients_per: int, scores_per: int, *, seed: int,
                         clinician_sd=(1.0, 0.08), clinician_corr: float = -0.3,
                         client_sd=(2.0, 0.2), residual_sd: float = 2.2) -> pd.DataFrame:
    """Synthetic three-level growth data with known parameters (for tests and benchmarks).

    Scores are drawn from the model itself: fixed effects (13, -0.3, 0.9, -0.01) for
    (intercept, time, intake_c, time:intake_c), the given standard deviations, weekly or
    fortnightly visits (``time`` in weeks).
    """
    rng = np.random.default_rng(seed)
    c01 = clinician_corr * clinician_sd[0] * clinician_sd[1]
    cov = np.array([[clinician_sd[0] ** 2, c01], [c01, clinician_sd[1] ** 2]])
    u = rng.multivariate_normal([0, 0], cov, size=n_clinicians)
    rows = []
    for c in range(n_clinicians):
        n_cl = max(2, int(rng.poisson(clients_per)))
        for k in range(n_cl):
            intake_c = rng.normal(0, 5)
            v0, v1 = rng.normal(0, client_sd[0]), rng.normal(0, client_sd[1])
            gap = 1 if rng.random() < 0.6 else 2
            n_s = max(2, int(rng.poisson(scores_per)))
            week = gap * np.arange(1, n_s + 1, dtype=float)
            mu = (13 + u[c, 0] + v0 + 0.9 * intake_c
                  + (-0.3 + u[c, 1] + v1 - 0.01 * intake_c) * week)
            score = mu + rng.normal(0, residual_sd, n_s)
            rows.append(pd.DataFrame({"clinician_id": f"T{c + 1:03d}",
                                      "client_id": f"T{c + 1:03d}-{k + 1:03d}",
                                      "time": week, "score": np.round(score, 2),
                                      "intake": np.round(intake_c + 14, 2),
                                      "intake_c": np.round(intake_c, 4)}))
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


def _mixedlm(data: pd.DataFrame, fixed: str = FIXED):
    d = data.assign(client=data["clinician_id"].astype(str) + "|" + data["client_id"].astype(str))
    return smf.mixedlm(fixed, d, groups="clinician_id", re_formula="~time", vc_formula=_VC)


def moment_start(data: pd.DataFrame, fixed: str = FIXED) -> dict:
    """Start values for statsmodels' MixedLM: :func:`perfkit.nested.moment_components` (the
    one moment estimator both engines start from), with the slope terms on the time scale."""
    from . import nested

    nd = nested.prepare(data, fixed)
    m = nested.moment_components(nd)
    unscale = np.diag([1.0, 1.0 / nd.t_scale])
    return {"fe": m["beta"], "cov_re": unscale @ m["cov"] @ unscale,
            "vcomp": np.array([m["tau0"], m["tau1"] / nd.t_scale ** 2]), "scale": m["sigma2"]}


def _params(start: dict, clin_factor: float = 1.0) -> MixedLMParams:
    s = start["scale"]
    return MixedLMParams.from_components(fe_params=start["fe"],
                                         cov_re=start["cov_re"] * clin_factor / s,
                                         vcomp=start["vcomp"] / s)


def _fit_once(model, start: MixedLMParams | None, method: str, maxiter: int,
              reml: bool = True) -> tuple[object, str, list]:
    """One statsmodels fit: the result (None when it stopped with an error), the error's
    message and the warnings it raised (recorded by category, :mod:`perfkit.fit_problems`)."""
    warned: list = []
    with recording(warned):
        try:
            res = model.fit(reml=reml, method=method, start_params=start, maxiter=maxiter)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}", warned
    return res, "", warned


def _gradient_norm(model, res, warned: list) -> float:
    try:
        with recording(warned):
            g = model.score(res.params_object, profile_fe=True)
        return float(np.max(np.abs(g)))
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):  # a diagnostic only
        return float("nan")


def fit_growth_model(data: pd.DataFrame, cfg: Config, instrument: str = "", *,
                     fixed: str = FIXED, reml: bool = True) -> GrowthFit:
    """Fit the three-level growth model robustly; see the module docstring.

    Falls back to a two-level model (clients only) or to descriptive results when the data are
    below ``models.min_clinicians``, ``models.min_clients`` or ``models.min_scores_total``,
    and says so in ``messages`` and ``reason``; the warnings the optimizers raise are kept in
    ``warnings``.

    Raises
    ------
    FitError
        When every optimizer stops with an error (``reason="optimizer_failed"``) or the fixed
        effects cannot all be estimated from the rows (``"singular_design"``): one sentence
        naming the model, the optimizers tried and the last error.
    """
    t0 = time.perf_counter()
    mc = cfg.models
    correlated = mc.client_covariance == "correlated"
    if correlated and mc.engine != "perfkit":
        raise ConfigError("models.client_covariance: correlated needs models.engine: perfkit "
                          "(statsmodels cannot correlate two variance components)")
    fit, ids = _new_draft(data, instrument, level="three-level", reml=reml, fixed=fixed,
                          correlated=correlated)
    if instrument in cfg.instruments:  # which side of zero is better (effect_sides)
        fit.better = cfg.instruments[instrument].better
    if fit.n_scores < mc.min_scores_total or fit.n_clients < mc.min_clients_two_level:
        return _descriptive(data, fit, t0)
    if fit.n_clinicians < mc.min_clinicians or fit.n_clients < mc.min_clients:
        return _two_level(data, fit, t0, cfg)
    if mc.engine == "perfkit":
        return _fit_perfkit(data, cfg, fit, t0, ids)
    fit.engine = f"statsmodels MixedLM ({'REML' if reml else 'ML'})"
    model = _mixedlm(data, fixed)
    start = moment_start(data, fixed)
    sp = _params(start)
    best = None

    checked: list = []  # warnings of the gradient checks

    def attempt(method: str, from_params, label: str, maxiter: int) -> None:
        nonlocal best
        res, err, warned = _fit_once(model, from_params, method, maxiter, reml)
        fit.candidates.append({"start": label, "optimizer": method,
                               "loglik": None if res is None else float(res.llf),
                               "converged": bool(res is not None and res.converged),
                               "error": err, "warnings": [list(w) for w in warned]})
        if res is not None and np.isfinite(res.llf) and (best is None
                                                         or res.llf > best[0].llf + 1e-7):
            best = (res, method, label, warned)

    def stationary() -> bool:
        nonlocal grad
        grad = _gradient_norm(model, best[0], checked) / len(data) if best else float("inf")
        return best is not None and best[0].converged and grad < mc.gradient_tolerance

    grad = float("inf")
    # L-BFGS from the moment start; if it stops short of a stationary point, BFGS from the same
    # start; if that also does, Nelder-Mead (derivative-free, at home near the boundary) from
    # the best so far, then a BFGS polish from there. The best REML log-likelihood wins.
    attempt("lbfgs", sp, "moments", mc.maxiter)
    if not stationary():
        attempt("bfgs", sp, "moments", mc.maxiter)
        if not stationary():
            for method in ("nm", "bfgs"):
                attempt(method, best[0].params_object if best else sp, "best so far",
                        mc.maxiter * 10)
            stationary()
    if best is None:
        raise_failed(fit, data, "three-level growth model")
    res, method, _, warned = best
    fit.warnings = [*warned, *(w for w in checked if w not in warned)]
    fit.optimizer = method
    fit.loglik = float(res.llf)
    fit.gradient_norm = grad
    fit.fixed_effects = res.fe_params.copy()
    fit.fixed_se = res.bse_fe.copy()
    fit.clinician_cov = np.asarray(res.cov_re, dtype=float)
    fit.client_intercept_var, fit.client_slope_var = (float(v) for v in res.vcomp)
    fit.residual_var = float(res.scale)
    fit.n_params = len(fit.fixed_effects) + 3 + 2 + 1  # clinician 2x2, client 2, residual
    _checks(fit, bool(res.converged), grad, mc)
    _share(fit, data, ids.episode)
    fit.effects = _effects(res, data, fit)
    _engine_outputs(fit, res)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return _final(fit)


def _checks(fit: _Draft, engine_converged: bool, grad: float, mc) -> None:
    """Singular (boundary) components, convergence and their coded messages."""
    boundary = _boundary(fit, mc.singular_tolerance)
    fit.singular = bool(boundary)
    # on the boundary the gradient need not vanish; elsewhere it must
    fit.converged = engine_converged and (grad < mc.gradient_tolerance or fit.singular)
    if not fit.converged:
        fit.messages.append({"code": "not_converged"})
    if "clinician slope" in boundary:
        fit.messages.append({"code": "clinicians_indistinguishable"})
    others = [b for b in boundary if b != "clinician slope"]
    if others:
        fit.messages.append({"code": "boundary", "components": others})


def _case_mix(fixed: str) -> bool:
    """Whether a fixed-effects formula of the reports is the case-mix model (``FIXED``) or
    time alone (``score ~ time``); perfkit's engine fits these two."""
    f = fixed.replace(" ", "")
    if f in (FIXED.replace(" ", ""), "score~time"):
        return f != "score~time"
    raise ValueError(f"perfkit's engine fits {FIXED!r} or {TIME_ONLY!r}, not {fixed!r}: for "
                     "other fixed effects use perfkit.fit_growth's baseline and covariates")


def _growth(data: pd.DataFrame, fit: _Draft, cfg: Config, *, two_level: bool = False):
    """The reports' model through :func:`perfkit.fit_growth` (the one code path researchers
    call too), on :func:`model_data`'s columns: ``intake_c`` is centred already
    (``baseline_center=0``), and without a clinician level clients are episodes."""
    from .growth import fit_growth

    mix = _case_mix(fit.fixed)
    kw = {"score": "score", "time": "time", "reml": fit.reml,
          "baseline": "intake_c" if mix else None, "baseline_center": 0.0 if mix else None,
          "client_covariance": "correlated" if cfg.models.client_covariance == "correlated"
          else "diagonal", "maxiter": cfg.models.maxiter * 3}
    if two_level:
        episode = data["clinician_id"].astype(str) + "|" + data["client_id"].astype(str)
        return fit_growth(data.assign(_episode=episode.to_numpy(dtype=object)),
                          client="_episode", clinician=None, **kw)
    return fit_growth(data, client="client_id", clinician="clinician_id", **kw)


def _fit_perfkit(data: pd.DataFrame, cfg: Config, fit: _Draft, t0: float,
                 ids: _Ids) -> GrowthFit:
    """The three-level model with perfkit's nested fitter, through :func:`perfkit.fit_growth`
    (a fit it refuses or cannot make raises :class:`FitError`, with the reason). The id
    columns go to it as categories of the codes ``_codes`` found (the same ids), so that it
    does not hash the ids again."""
    coded = data.assign(**{col: pd.Categorical.from_codes(
        codes, categories=pd.Index(uniques, dtype=object), validate=False) for col, codes, uniques
        in (("clinician_id", ids.clinician, ids.clinicians), ("client_id", ids.client,
                                                             ids.clients))})
    try:
        res = _growth(coded, fit, cfg)
    except FitError:
        raise
    except (ValueError, np.linalg.LinAlgError) as exc:
        fit.candidates.append({"start": "moments", "optimizer": "L-BFGS-B", "loglik": None,
                               "converged": False, "evaluations": 0,
                               "error": f"{type(exc).__name__}: {exc}"})
        try:
            raise_failed(fit, data, "three-level growth model")
        except FitError as err:
            raise err from exc
    nf = res.engine_result
    _from_nested(fit, res)
    fit.engine = (f"perfkit nested fitter ({'REML' if fit.reml else 'ML'}, profiled "
                  "likelihood as lme4)")
    # the gradient of the log-likelihood in theta, per score (as the statsmodels path reports)
    _checks(fit, nf.converged, nf.gradient_max_abs / fit.n_scores, cfg.models)
    _share(fit, data, ids.episode)
    e = nf.clinician_effects
    k = nf.clinician_of_client
    counts = pd.DataFrame({"n_clients": np.bincount(k), "n_assessments": np.bincount(
        k, weights=nf.scores_per_client).astype(int)}, index=e["clinician_id"].to_numpy())
    half = Z95 * np.sqrt(np.clip(nf.clinician_effects_cov[:, 1, 1], 0, None))
    eff = pd.DataFrame({"clinician_id": e["clinician_id"].to_numpy(), "instrument":
                        fit.instrument, "effect": e["slope"].to_numpy(),
                        "ci_low": e["slope"].to_numpy() - half,
                        "ci_high": e["slope"].to_numpy() + half})
    eff = eff.join(counts, on="clinician_id")
    fit.effects = eff.sort_values("clinician_id", ignore_index=True)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return _final(fit)


def _from_nested(fit: _Draft, res) -> None:
    """A :class:`perfkit.growth.GrowthResult`'s estimates in the draft's fields (fixed effects
    under statsmodels' names, as every engine names them here)."""
    nf = res.engine_result
    names = ["Intercept", "time", "intake_c", "time:intake_c"][:len(nf.beta)]
    fit.optimizer = nf.optimizer
    fit.warnings = list(nf.warnings)
    fit.loglik = float(nf.loglik)
    fit.n_params = res.npar
    fit.gradient_norm = nf.gradient_max_abs / max(fit.n_scores, 1)
    fit.fixed_effects = pd.Series(nf.beta, index=names)
    fit.fixed_se = pd.Series(np.sqrt(np.diag(nf.beta_cov)), index=names)
    fit.clinician_cov = np.asarray(nf.clinician_cov, dtype=float)
    cc = nf.client_cov_matrix
    fit.client_intercept_var, fit.client_slope_var = float(cc[0, 0]), float(cc[1, 1])
    if nf.client_cov == "unstructured" and cc[0, 0] > 0 and cc[1, 1] > 0:
        fit.client_corr = float(cc[0, 1] / np.sqrt(cc[0, 0] * cc[1, 1]))
    fit.residual_var = float(nf.sigma2)
    fit.candidates = [{"start": "moments", "optimizer": c["optimizer"],
                       "loglik": -c["deviance"] / 2, "converged": c["success"],
                       "evaluations": c["evaluations"], "error": ""} for c in nf.candidates]
    fit.engine_result = nf
    fit.fitted, fit.residuals = np.asarray(nf.fittedvalues), np.asarray(nf.resid)
    if res.clinician is not None:
        fit.clinician_modes = nf.clinician_effects[["clinician_id", "intercept",
                                                    "slope"]].copy()


def _engine_outputs(fit: _Draft, res, *, clinicians: bool = True) -> None:
    """Fitted values, residuals and (with a clinician level) the clinicians' conditional modes
    from a statsmodels result, in the fields every engine fills."""
    fit.engine_result = res
    fit.fitted, fit.residuals = np.asarray(res.fittedvalues), np.asarray(res.resid)
    if not clinicians:
        return
    # the first two entries of each clinician's random effects are the level and the slope
    fit.clinician_modes = pd.DataFrame(
        [(c, float(v.iloc[0]), float(v.iloc[1])) for c, v in res.random_effects.items()],
        columns=["clinician_id", "intercept", "slope"])


def _boundary(fit: _Draft, tol: float) -> list[str]:
    """The variance parameters estimated on the boundary (zero variance, correlation +/-1)."""
    cov, scale = fit.clinician_cov, fit.residual_var
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    corr = cov[0, 1] / (sd[0] * sd[1]) if sd[0] > 0 and sd[1] > 0 else 0.0
    # a slope variance is per unit of time squared: compare it on the scale of ten units
    out = []
    if cov[1, 1] * 100 < tol * scale:
        out.append("clinician slope")
    if cov[0, 0] < tol * scale:
        out.append("clinician starting level")
    elif cov[1, 1] * 100 >= tol * scale and abs(corr) > 1 - 1e-4:
        out.append("clinician level-slope correlation")
    if fit.client_intercept_var < tol * scale:
        out.append("client starting level")
    if fit.client_slope_var * 100 < tol * scale:
        out.append("client slope")
    return out


class _Ids(NamedTuple):
    """Each row's clinician, client and episode (clinician, client) as integer codes, with the
    distinct clinician and client ids the first two index."""

    clinician: np.ndarray
    clinicians: np.ndarray
    client: np.ndarray
    clients: np.ndarray
    episode: np.ndarray


def _codes(data: pd.DataFrame) -> _Ids:
    """The rows' id codes (:func:`perfkit.growth_frame.id_codes`: factorizing object arrays
    is several times faster than grouping pandas' Arrow-backed strings)."""
    from .growth_frame import id_codes

    kc, clinicians = id_codes(data["clinician_id"])
    kl, clients = id_codes(data["client_id"])
    episode, _ = pd.factorize(kc * (int(kl.max(initial=0)) + 1) + kl)
    return _Ids(kc, clinicians, kl, clients, episode)


def _share(fit: _Draft, data: pd.DataFrame, episode: np.ndarray) -> None:
    """Share of score variance due to clinicians at the median last time of the episodes
    (``episode``: each row's episode code, from ``_codes``)."""
    t = float(pd.Series(data["time"].to_numpy(dtype=float)).groupby(episode).max().median())
    cov = fit.clinician_cov
    clin = cov[0, 0] + 2 * t * cov[0, 1] + t * t * cov[1, 1]
    client = fit.client_intercept_var + t * t * fit.client_slope_var
    fit.share_at_time = round(t, 2)
    fit.share_clinician = float(clin / (clin + client + fit.residual_var))


def _effects(res, data: pd.DataFrame, fit: _Draft) -> pd.DataFrame:
    re = res.random_effects
    re_cov = res.random_effects_cov
    counts = data.groupby("clinician_id").agg(n_clients=("client_id", "nunique"),
                                              n_assessments=("score", "size"))
    rows = []
    for cid in counts.index:
        eff = float(re[cid]["time"])
        var = float(re_cov[cid].loc["time", "time"])
        half = Z95 * np.sqrt(max(var, 0.0))
        rows.append({"clinician_id": cid, "instrument": fit.instrument, "effect": eff,
                     "ci_low": eff - half, "ci_high": eff + half,
                     "n_clients": int(counts.loc[cid, "n_clients"]),
                     "n_assessments": int(counts.loc[cid, "n_assessments"])})
    return pd.DataFrame(rows)


def two_level_model(data: pd.DataFrame, fixed: str = FIXED):
    """Scores within clients only (no clinician level): independent client intercept and slope,
    so the three-level model nests it (lme4: ``(1 | client) + (0 + time | client)``)."""
    d = data.assign(client=data["clinician_id"].astype(str) + "|" + data["client_id"].astype(str))
    return smf.mixedlm(fixed, d, groups="client", re_formula="~1",
                       vc_formula={"client_time": "0 + time"})


def fit_two_level_model(data: pd.DataFrame, cfg: Config, instrument: str = "", *,
                        fixed: str = FIXED, reml: bool = True) -> GrowthFit:
    """The two-level model (scores within clients, no clinician level) whatever the counts:
    the model the three-level one is compared with (:mod:`perfkit.model_checks`)."""
    draft, _ = _new_draft(data, instrument, level="two-level", reml=reml, fixed=fixed)
    return _two_level(data, draft, time.perf_counter(), cfg)


def _two_level(data: pd.DataFrame, fit: _Draft, t0: float, cfg: Config) -> GrowthFit:
    fit.level = "two-level"
    fit.reason = "too_few_for_three_levels"
    if cfg.models.engine == "perfkit":
        try:
            res = _growth(data, fit, cfg, two_level=True)
        except (FitError, ValueError, np.linalg.LinAlgError) as exc:
            fit.candidates.append({"start": "moments", "optimizer": "L-BFGS-B", "loglik": None,
                                   "converged": False, "evaluations": 0,
                                   "error": f"{type(exc).__name__}: {exc}"})
            return _descriptive(data, fit, t0, reason=why_failed(data, fit))
        nf = res.engine_result
        _from_nested(fit, res)
        fit.engine = f"perfkit nested fitter ({'REML' if fit.reml else 'ML'}, clients only)"
        fit.converged = nf.converged
        fit.clinician_cov = np.full((2, 2), np.nan)
    else:
        res, err, warned = _fit_once(two_level_model(data, fit.fixed), None, "lbfgs",
                                     cfg.models.maxiter, fit.reml)
        fit.candidates.append({"start": "default", "optimizer": "lbfgs",
                               "loglik": None if res is None else float(res.llf),
                               "converged": bool(res is not None and res.converged),
                               "error": err, "warnings": [list(w) for w in warned]})
        fit.warnings = list(warned)
        if res is None:
            return _descriptive(data, fit, t0, reason=why_failed(data, fit))
        fit.engine = f"statsmodels MixedLM ({'REML' if fit.reml else 'ML'}, clients only)"
        fit.optimizer = "lbfgs"
        fit.loglik = float(res.llf)
        fit.converged = bool(res.converged)
        fit.fixed_effects = res.fe_params.copy()
        fit.fixed_se = res.bse_fe.copy()
        _engine_outputs(fit, res, clinicians=False)
        fit.client_intercept_var = float(res.cov_re.iloc[0, 0])
        fit.client_slope_var = float(res.vcomp[0])
        fit.residual_var = float(res.scale)
        fit.n_params = len(fit.fixed_effects) + 2 + 1
    fit.messages.append({"code": "too_few_for_three_levels", "clinicians": fit.n_clinicians,
                         "clients": fit.n_clients})
    fit.effects = _empty_effects(data, fit)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return _final(fit)


def _descriptive(data: pd.DataFrame, fit: _Draft, t0: float, *,
                 reason: str = "too_little_data") -> GrowthFit:
    fit.level = "descriptive"
    fit.reason = reason
    fit.engine = "statsmodels OLS (descriptive)"
    if len(data) >= 5:
        with recording(fit.warnings):
            ols = smf.ols(FIXED, data).fit()
        fit.fixed_effects = ols.params.copy()
        fit.fixed_se = ols.bse.copy()
        fit.residual_var = float(ols.scale)
        _engine_outputs(fit, ols, clinicians=False)
    # the code is the reason: the words say why a descriptive result stands in for a model
    # (no library text: the errors themselves are in the candidates)
    fit.messages.append({"code": reason, "scores": fit.n_scores, "clients": fit.n_clients})
    fit.effects = _empty_effects(data, fit)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return _final(fit)


def _empty_effects(data: pd.DataFrame, fit: _Draft) -> pd.DataFrame:
    out = data.groupby("clinician_id").agg(n_clients=("client_id", "nunique"),
                                           n_assessments=("score", "size")).reset_index()
    out["instrument"] = fit.instrument
    out["effect"] = out["ci_low"] = out["ci_high"] = np.nan
    return out[["clinician_id", "instrument", "effect", "ci_low", "ci_high", "n_clients",
                "n_assessments"]]


def fit_instrument(assessments: pd.DataFrame, cfg: Config,
                   instrument: str) -> tuple[GrowthFit, pd.DataFrame]:
    """Model data and fit for one instrument."""
    data = model_data(assessments, cfg, instrument)
    return fit_growth_model(data, cfg, instrument), data


def clinician_effects(fits: list[GrowthFit]) -> pd.DataFrame:
    """``tables/clinician_effects.csv``: one row per clinician and instrument, in id order
    (each fit's effects carry their side, :func:`perfkit.outcomes.effect_sides`)."""
    cols = ["clinician_id", "instrument", "effect", "ci_low", "ci_high", "n_clients",
            "n_assessments", "side"]
    parts = [f.effects for f in fits if len(f.effects)]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols].sort_values(
        ["instrument", "clinician_id"], ignore_index=True)


def model_summary(fits: list[GrowthFit]) -> dict:
    """``tables/model_summary.json``: per instrument, what was fitted and how well: each fixed
    effect with its standard error and 95% interval (``ci_low``, ``ci_high``), the variance
    components and their ``standard_deviations``, ``time_unit``
    (weeks or sessions), ``reason``
    (why it fell back from three levels, a code of :data:`perfkit.fit_problems.REASONS`, empty
    when it did not), ``messages`` (each ``{"code", ...values}`` of :data:`MESSAGE_CODES`,
    worded by :mod:`perfkit.report.model_words`), ``n_distinct_clients`` (the people behind
    the model's rows: ``n_clients`` counts courses of treatment) and ``warnings`` (each
    ``{"category", "message"}`` the fit recorded)."""
    out = {}
    for f in fits:
        cov = f.clinician_cov
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        corr = cov[0, 1] / (sd[0] * sd[1]) if sd[0] > 0 and sd[1] > 0 else None
        out[f.instrument] = {
            "level": f.level,
            "fixed_effects": {k: _fixed(v, f.fixed_se.get(k, np.nan))
                              for k, v in f.fixed_effects.items()},
            "variance_components": {
                "clinician_intercept": _num(cov[0, 0]), "clinician_slope": _num(cov[1, 1]),
                "clinician_intercept_slope_corr": _num(corr),
                "client_intercept": _num(f.client_intercept_var),
                "client_slope": _num(f.client_slope_var),
                "client_intercept_slope_corr": _num(f.client_corr),
                "residual": _num(f.residual_var),
            },
            "standard_deviations": {k: _num(np.sqrt(max(v, 0))) for k, v in (
                ("clinician_intercept", cov[0, 0]), ("clinician_slope", cov[1, 1]),
                ("client_intercept", f.client_intercept_var),
                ("client_slope", f.client_slope_var), ("residual", f.residual_var))},
            "share_of_variance_due_to_clinicians": _num(f.share_clinician),
            "share_evaluated_at_time": _num(f.share_at_time),
            "time_unit": f.time_unit,
            "reml_loglik": _num(f.reml_loglik),
            "converged": f.converged,
            "singular": f.singular,
            "gradient_max_abs_per_score": _num(f.gradient_norm),
            "engine": f.engine,
            "optimizer": f.optimizer,
            "fit_seconds": f.seconds,
            "n_clinicians": f.n_clinicians,
            "n_clients": f.n_clients,
            "n_distinct_clients": f.n_distinct_clients,
            "n_scores": f.n_scores,
            "lme4_formula": f.formula or LME4_FORMULA,
            "model_data": f"model_data_{slug(f.instrument)}.csv",
            "reason": f.reason,
            "messages": list(f.messages),
            "warnings": [{"category": c, "message": m} for c, m in f.warnings],
            "candidates": f.candidates,
        }
    return json.loads(json.dumps(out))


def _num(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _fixed(estimate, se) -> dict:
    """A fixed effect in the model summary: estimate, standard error and 95% interval."""
    estimate, se = float(estimate), float(se)
    return {"estimate": estimate, "se": se, "ci_low": estimate - Z95 * se,
            "ci_high": estimate + Z95 * se}


def slug(instrument: str) -> str:
    """File-name form of an instrument: ``PHQ-9`` -> ``phq9``."""
    return instrument.replace("-", "").lower()
