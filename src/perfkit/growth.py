"""perfkit's growth model on any DataFrame: :func:`fit_growth`, its result and
:func:`compare_growth`, for researchers (and the reports' own models, which call the same
function).

The model is a three-level linear growth model: scores within clients within clinicians, each
level with its own starting level and rate of change. With no baseline and no covariates it is,
in lme4's notation (Bates et al. 2015),

    score ~ time + (1 + time | clinician) + (1 | clinician:client) + (0 + time | clinician:client)

(``client_covariance="correlated"``: ``(1 + time | clinician:client)``), and with a baseline
(intake severity, centred) ``score ~ time * baseline_c + ...``, the reports' case-mix model.
It is fitted by perfkit's nested fitter (:mod:`perfkit.nested`), which maximises lme4's
profiled (REML or ML) likelihood client block by client block; the tests check its estimates
against lme4's on the same rows (tests/test_growth_api.py).

Names follow lme4 wherever lme4 has one: the fixed effects are named as ``fixef()`` names them
(``(Intercept)``, the time column's own name, ``<baseline>_c``, ``<time>:<baseline>_c``, a
numeric covariate's name, or a categorical covariate's name followed by its level, as R's
treatment contrasts do), the variance components are the rows of
``as.data.frame(VarCorr(fit))`` and :func:`compare_growth` gives the columns of ``anova()``.
"""

from __future__ import annotations

import html
import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .growth_frame import Encoding, Spec, check_columns, check_numeric, fixed_columns, model_frame

__all__ = ["GrowthResult", "GrowthSummary", "fit_growth", "compare_growth", "weeks_since"]

Z95 = 1.959963984540054  # scipy.stats.norm.ppf(0.975) (scipy is imported when fitting)
MAXITER = 900  # iterations per optimizer run (the reports use models.maxiter x 3 = 900)
_SINGULAR_TOL = 1e-4  # lme4's isSingular(): a variance factor below this is on the boundary


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrowthSummary:
    """A fit's summary: text with ``str()`` / ``print()``, a table in a notebook."""

    text: str
    html: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.html


@dataclass(frozen=True, repr=False, eq=False)  # eq: DataFrames have no single truth value
class GrowthResult:
    """The result of :func:`fit_growth` (immutable: refit for another model).

    Attributes
    ----------
    fixed, fixed_se : Series
        Fixed effects and their standard errors, named as lme4's ``fixef()`` names them.
    variance_components : DataFrame
        lme4's ``as.data.frame(VarCorr(fit))``: ``grp`` (``clinician``,
        ``clinician:client`` or ``Residual``), ``var1``, ``var2`` (a covariance row names
        both terms), ``vcov`` (variance or covariance), ``sdcor`` (standard deviation or
        correlation). Both client terms carry the group's plain name (lme4 writes the second
        of two terms on one grouping with a ``.1`` suffix).
    loglik, aic, bic : float
        The maximised log-likelihood (REML or ML as ``reml`` says) and lme4's AIC and BIC
        from it (``npar`` parameters: fixed effects, variance parameters and the residual).
    clinician_effects : DataFrame
        Each clinician's conditional mode (lme4's ``ranef()``) of the starting level
        (``intercept``) and of the change per unit of time (``slope``), as deviations from
        the fixed effects, with the conditional standard deviations (``*_se``, the square roots
        of ``ranef(condVar = TRUE)``) and 95% intervals (``*_low``, ``*_high``: mode +/- 1.96
        conditional SD), their clients and scores; in clinician-id order. Empty without a
        clinician level.
    client_effects : DataFrame
        Each client's conditional modes (``intercept``, ``slope``).
    lme4_formula : str
        The lme4 call's formula that fits the same model (the centred baseline as a column
        ``<baseline>_c`` = baseline - ``baseline_center``).
    converged, singular : bool
        Whether the optimizer reached a stationary point, and whether a variance is estimated
        at zero (lme4's ``isSingular()``).
    warnings : tuple of (str, str)
        Each warning the optimizers raised, as (category, message), recorded rather than shown
        (:func:`perfkit.fit_problems.recording`); empty for a clean fit.
    """

    fixed: pd.Series
    fixed_se: pd.Series
    variance_components: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    npar: int
    n_obs: int
    n_clients: int
    n_clinicians: int
    n_dropped: int
    clinician_effects: pd.DataFrame
    client_effects: pd.DataFrame
    lme4_formula: str
    converged: bool
    singular: bool
    reml: bool
    baseline_center: float
    score: str
    time: str
    client: str
    clinician: str | None
    baseline: str | None
    covariates: tuple[str, ...]
    client_covariance: str
    seconds: float = 0.0
    warnings: tuple = ()
    engine_result: object = field(default=None, compare=False)  # perfkit.nested.NestedFit
    _frame: pd.DataFrame = field(default=None, compare=False)
    _design: object = field(default=None, compare=False)
    _encoding: Encoding = field(default=None, compare=False)
    _index: pd.Index = field(default=None, compare=False)
    _episodes: pd.DataFrame = field(default=None, compare=False)
    _maxiter: int = field(default=MAXITER, compare=False)

    @property
    def _spec(self) -> Spec:
        return Spec(self.score, self.time, self.client, self.clinician, self.baseline,
                     self.covariates, self.client_covariance)

    @property
    def criterion(self) -> str:
        """``"REML"`` or ``"ML"``."""
        return "REML" if self.reml else "ML"

    @property
    def fitted(self) -> pd.Series:
        """Fitted values (fixed and random effects) of the rows fitted, on the caller's
        index."""
        return pd.Series(self.engine_result.fittedvalues, index=self._index,
                         name="fitted").sort_index()

    @property
    def residuals(self) -> pd.Series:
        """Score minus fitted value, on the caller's index."""
        return pd.Series(self.engine_result.resid, index=self._index,
                         name="residual").sort_index()

    def __repr__(self) -> str:
        return (f"<GrowthResult {self.lme4_formula.split(' + (')[0]}: {self.n_obs} scores, "
                f"{self.n_clients} clients, {self.n_clinicians} clinicians; {self.criterion} "
                f"logLik {self.loglik:.2f}{'' if self.converged else ', NOT converged'}"
                f"{', singular' if self.singular else ''}>")

    def _repr_html_(self) -> str:
        return self.summary().html

    def summary(self) -> GrowthSummary:
        """The fit as lme4's ``summary()`` prints it, plus 95% Wald intervals of the fixed
        effects: text with ``print()``, a table in a notebook."""
        return _summary(self)

    def predict(self, new_data: pd.DataFrame, *, random: bool = True) -> pd.Series:
        """Predicted scores for ``new_data`` (the fit's time, baseline and covariate columns).

        With ``random=True`` (default) each row adds its clinician's and its client's
        conditional modes (clinician and client columns needed); a clinician or client the fit
        did not see adds zero, as lme4's ``predict(fit, newdata, allow.new.levels = TRUE)``.
        ``random=False`` gives the fixed part alone (lme4's ``re.form = NA``). The baseline is
        centred at the fit's ``baseline_center``.
        """
        spec = self._spec
        need = [spec.time] + ([spec.baseline] if spec.baseline else []) + list(spec.covariates)
        if random:
            need += ([spec.clinician] if spec.clinician else []) + [spec.client]
        missing = [c for c in need if c not in new_data.columns]
        if missing:
            raise ValueError(f"new_data lacks the column(s) {', '.join(map(repr, missing))}"
                             + (" (random=False predicts from the fixed effects alone)"
                                if random else ""))
        check_numeric(new_data, spec.time, "time")
        X = fixed_columns(new_data, spec, self._encoding)
        pred = X @ self.fixed.to_numpy()
        if random:
            t = new_data[spec.time].to_numpy(dtype=float)
            ce = self.client_effects
            if spec.clinician is not None:
                k = self.clinician_effects.set_index(spec.clinician)
                clin = new_data[spec.clinician].map(k["intercept"]).fillna(0).to_numpy(float)
                slope = new_data[spec.clinician].map(k["slope"]).fillna(0).to_numpy(float)
                pred = pred + clin + slope * t
                keys = pd.MultiIndex.from_arrays([ce[spec.clinician], ce[spec.client]])
                new_keys = pd.MultiIndex.from_arrays([new_data[spec.clinician],
                                                      new_data[spec.client]])
            else:
                keys, new_keys = pd.Index(ce[spec.client]), pd.Index(new_data[spec.client])
            pos = keys.get_indexer(new_keys)
            seen = pos >= 0
            ci = np.where(seen, ce["intercept"].to_numpy()[pos], 0.0)
            cs = np.where(seen, ce["slope"].to_numpy()[pos], 0.0)
            pred = pred + ci + cs * t
        return pd.Series(pred, index=new_data.index, name="predicted")


def _lme4_formula(spec: Spec) -> str:
    fixed = f"{spec.score} ~ {spec.time}"
    if spec.baseline is not None:
        fixed += f" * {spec.baseline_term}"
    fixed += "".join(f" + {c}" for c in spec.covariates)
    t, grp = spec.time, spec.client_group
    client = (f"(1 + {t} | {grp})" if spec.client_covariance == "correlated"
              else f"(1 | {grp}) + (0 + {t} | {grp})")
    clinician = "" if spec.clinician is None else f"(1 + {t} | {spec.clinician}) + "
    return f"{fixed} + {clinician}{client}"


def _variance_components(nf, spec: Spec) -> pd.DataFrame:
    rows = []

    def block(grp, cov, correlated):
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        rows.append((grp, "(Intercept)", None, cov[0, 0], sd[0]))
        rows.append((grp, spec.time, None, cov[1, 1], sd[1]))
        if correlated:
            corr = cov[0, 1] / (sd[0] * sd[1]) if sd[0] > 0 and sd[1] > 0 else float("nan")
            rows.append((grp, "(Intercept)", spec.time, cov[0, 1], corr))

    block(spec.client_group, nf.client_cov_matrix, spec.client_covariance == "correlated")
    if spec.clinician is not None:
        block(spec.clinician, nf.clinician_cov, True)
    rows.append(("Residual", None, None, nf.sigma2, np.sqrt(nf.sigma2)))
    out = pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
    out[["vcov", "sdcor"]] = out[["vcov", "sdcor"]].astype(float)
    for col in ("var1", "var2"):  # None where lme4 writes NA
        out[col] = pd.Series([v if isinstance(v, str) else None for v in out[col]],
                             dtype=object)
    return out


def _singular(nf, spec: Spec, t_scale: float) -> bool:
    """lme4's isSingular(): a diagonal of a relative covariance factor (on the caller's time
    scale) below 1e-4."""
    th = np.asarray(nf.theta, dtype=float)
    diag = [th[3], (th[4] if spec.client_covariance == "diagonal" else th[5]) / t_scale]
    if spec.clinician is not None:
        diag += [th[0], th[2] / t_scale]
    return bool(min(diag) < _SINGULAR_TOL)


def _build(nf, spec: Spec, enc, episodes, n_dropped, index, frame, design, reml, seconds,
           t_scale, maxiter) -> GrowthResult:
    n = int(nf.fittedvalues.shape[0])
    n_theta = (2 if spec.client_covariance == "diagonal" else 3) \
        + (3 if spec.clinician is not None else 0)
    npar = len(enc.names) + n_theta + 1
    loglik = float(nf.loglik)
    ce = nf.client_effects
    client_effects = pd.DataFrame({"intercept": ce["intercept"].to_numpy(),
                                   "slope": ce["slope"].to_numpy()})
    client_effects.insert(0, spec.client, episodes["client"].array)
    if spec.clinician is not None:
        client_effects.insert(0, spec.clinician, episodes["clinician"].array)
        e = nf.clinician_effects
        v = nf.clinician_effects_cov
        k = nf.clinician_of_client
        eff = pd.DataFrame({spec.clinician: e["clinician_id"].to_numpy()})
        for name, j in (("intercept", 0), ("slope", 1)):
            mode = e[name].to_numpy(dtype=float)
            se = np.sqrt(np.clip(v[:, j, j], 0, None))
            eff[name], eff[f"{name}_se"] = mode, se
            eff[f"{name}_low"], eff[f"{name}_high"] = mode - Z95 * se, mode + Z95 * se
        eff["n_clients"] = np.bincount(k, minlength=len(eff))
        eff["n_obs"] = np.bincount(k, weights=nf.scores_per_client,
                                   minlength=len(eff)).astype(int)
        clinician_effects = eff.sort_values(spec.clinician, key=lambda s: s.astype(str),
                                            ignore_index=True)
    else:
        clinician_effects = pd.DataFrame(columns=[
            "clinician", "intercept", "intercept_se", "intercept_low", "intercept_high",
            "slope", "slope_se", "slope_low", "slope_high", "n_clients", "n_obs"])
    return GrowthResult(
        fixed=pd.Series(nf.beta, index=list(enc.names), name="estimate"),
        fixed_se=pd.Series(np.sqrt(np.diag(nf.beta_cov)), index=list(enc.names),
                           name="std_error"),
        variance_components=_variance_components(nf, spec), loglik=loglik,
        aic=-2 * loglik + 2 * npar, bic=-2 * loglik + np.log(n) * npar, npar=npar, n_obs=n,
        n_clients=len(episodes),
        n_clinicians=0 if spec.clinician is None else int(len(nf.clinician_effects)),
        n_dropped=n_dropped, clinician_effects=clinician_effects,
        client_effects=client_effects, lme4_formula=_lme4_formula(spec),
        converged=bool(nf.converged), singular=_singular(nf, spec, t_scale), reml=reml,
        baseline_center=enc.center, score=spec.score, time=spec.time, client=spec.client,
        clinician=spec.clinician, baseline=spec.baseline, covariates=spec.covariates,
        client_covariance=spec.client_covariance, seconds=seconds,
        warnings=tuple(nf.warnings), engine_result=nf,
        _frame=frame, _design=design, _encoding=enc, _index=index, _episodes=episodes,
        _maxiter=maxiter)


def _named(nf, episodes: pd.DataFrame) -> None:
    """The engine's ids back to the caller's: its clinicians are codes in order of the
    episodes' clinicians, its clients episode numbers (0, 1, ...)."""
    if episodes["clinician"].notna().all():
        clinicians = pd.unique(episodes["clinician"].to_numpy(dtype=object))
        codes = nf.clinician_effects["clinician_id"].to_numpy(dtype=np.int64)
        nf.clinician_effects = nf.clinician_effects.assign(clinician_id=clinicians[codes])
    else:
        nf.clinician_effects = nf.clinician_effects.iloc[:0]
    ep = nf.client_effects["client_id"].to_numpy(dtype=np.int64)
    # taken from the columns' own arrays: the ids need not be made Python objects and back
    nf.client_effects = nf.client_effects.assign(
        clinician_id=episodes["clinician"].array.take(ep),
        client_id=episodes["client"].array.take(ep))


def _fit_frame(frame, design, spec, enc, episodes, n_dropped, index, *, reml: bool,
               maxiter: int) -> GrowthResult:
    from . import nested

    t0 = _time.perf_counter()
    nd = nested.prepare(frame, design)
    nf = nested.fit_nested(nd, design, reml=reml, two_level=spec.clinician is None,
                           client_cov="diagonal" if spec.client_covariance == "diagonal"
                           else "unstructured", maxiter=maxiter)
    _named(nf, episodes)
    return _build(nf, spec, enc, episodes, n_dropped, index, frame, design, reml,
                  round(_time.perf_counter() - t0, 3), nd.t_scale, maxiter)


def fit_growth(data: pd.DataFrame, *, score: str, time: str, client: str,
               clinician: str | None, baseline: str | None = None,
               covariates: str | tuple[str, ...] | list[str] = (),
               client_covariance: str = "diagonal", reml: bool = True,
               baseline_center: float | None = None, maxiter: int = MAXITER) -> GrowthResult:
    """Fit perfkit's growth model of scores within clients within clinicians.

    Parameters
    ----------
    data : DataFrame
        One row per score, with columns of your own naming. Rows with a missing value in a
        column of the model are left out (as lme4's default ``na.action``), and counted in
        ``n_dropped``.
    score : str
        The outcome column (numeric).
    time : str
        The time column, numeric (weeks since the client's first score, sessions, ...). Dates
        are refused: convert them with :func:`weeks_since`.
    client : str
        The client id column. A client id need only be unique within its clinician: the client
        level is lme4's ``clinician:client``.
    clinician : str or None
        The clinician id column; ``None`` fits clients only (a two-level model, client ids
        then unique by themselves).
    baseline : str, optional
        A column of intake severity, the same on every row of a client (for example the first
        score, left out of the outcome rows). perfkit centres it (``<baseline>_c`` = baseline
        minus ``baseline_center``) and adds it and its interaction with time:
        ``score ~ time * <baseline>_c``, the reports' case-mix adjustment.
    covariates : str or sequence of str
        Further columns entering as fixed main effects: numeric columns as they are, other
        columns as categories (treatment contrasts against the first level in sorted order,
        or a pandas Categorical's first category, as R names them: ``<column><level>``).
    client_covariance : {"diagonal", "correlated"}
        Client starting level and change independent (``(1 | clinician:client) +
        (0 + time | clinician:client)``, the reports' default) or correlated
        (``(1 + time | clinician:client)``).
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    baseline_center : float, optional
        Where to centre the baseline; by default the mean over clients (each client once).
    maxiter : int
        Iterations per optimizer run.

    Returns
    -------
    GrowthResult
        Immutable: ``fixed``, ``fixed_se``, ``variance_components``, ``loglik``, ``aic``,
        ``bic``, ``n_obs``, ``n_clients``, ``n_clinicians``, ``clinician_effects``,
        ``lme4_formula``, ``converged``, ``singular``, ``summary()``, ``predict()``.

    Raises
    ------
    ValueError
        With one sentence naming the column or the problem: a column not in the data, a
        non-numeric score, time or baseline (dates included), a baseline that varies within a
        client, covariates that cannot be estimated, too few clinicians or scores.

    Notes
    -----
    The model, in lme4's notation (Bates et al. 2015), with a baseline::

        score ~ time * baseline_c + (1 + time | clinician)
                                  + (1 | clinician:client) + (0 + time | clinician:client)

    Clinicians and clients each have a random starting level and rate of change (the
    clinicians' two correlated); scores are normal around each client's line with one residual
    variance. It is fitted by perfkit's nested fitter (:mod:`perfkit.nested`): lme4's profiled
    REML (or ML) deviance (Bates et al. 2015, section 3), evaluated client block by client
    block because clients are nested in clinicians, from method-of-moments start values,
    optimized with L-BFGS-B. Standard errors of the fixed effects are lme4's
    (``sqrt(diag(vcov(fit)))``, conditional on the variance estimates); the intervals in
    ``summary()`` and ``clinician_effects`` are Wald intervals (normal quantiles). The
    estimates were checked against lme4 1.1.31 on three reference datasets
    (tests/test_growth_api.py). Growth models of this kind for therapist effects: Raudenbush &
    Bryk (2002), chapter 6; Baldwin & Imel (2013).

    References
    ----------
    .. [1] Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear
       mixed-effects models using lme4. *Journal of Statistical Software*, 67(1), 1-48.
       https://doi.org/10.18637/jss.v067.i01
    .. [2] Raudenbush, S. W. & Bryk, A. S. (2002). *Hierarchical linear models: applications
       and data analysis methods* (2nd ed.). Sage.
    .. [3] Baldwin, S. A. & Imel, Z. E. (2013). Therapist effects: findings and methods. In
       M. J. Lambert (Ed.), *Bergin and Garfield's handbook of psychotherapy and behavior
       change* (6th ed., pp. 258-297). Wiley.

    Examples
    --------
    >>> import perfkit as pk
    A DataFrame ``d`` of your own, one row per score (docs/growth.md reads one from a CSV):

    >>> fit = pk.fit_growth(d, score="phq9", time="weeks", client="patient",
    ...                     clinician="therapist", baseline="intake")  # doctest: +SKIP
    >>> print(fit.summary())                                   # doctest: +SKIP
    """
    if isinstance(covariates, str):
        covariates = (covariates,)
    spec = Spec(score, time, client, clinician, baseline, tuple(covariates),
                 client_covariance)
    check_columns(data, spec)
    from .nested import one_blas_thread

    with one_blas_thread():
        frame, design, enc, episodes, n_dropped, index = model_frame(data, spec,
                                                                     baseline_center)
        return _fit_frame(frame, design, spec, enc, episodes, n_dropped, index, reml=reml,
                          maxiter=maxiter)


def _refit(fit: GrowthResult, reml: bool) -> GrowthResult:
    if fit.reml == reml:
        return fit
    return _fit_frame(fit._frame, fit._design, fit._spec, fit._encoding, fit._episodes,
                      fit.n_dropped, fit._index, reml=reml, maxiter=fit._maxiter)


# --------------------------------------------------------------------------------------------
# Comparing two fits
# --------------------------------------------------------------------------------------------


def compare_growth(fit_a: GrowthResult, fit_b: GrowthResult, *, refit: bool | None = None,
                   names: tuple[str, str] = ("fit_a", "fit_b")) -> pd.DataFrame:
    """Likelihood-ratio test of two growth models fitted to the same rows, as R's ``anova()``.

    Parameters
    ----------
    fit_a, fit_b : GrowthResult
        Two fits of :func:`fit_growth` on the same rows (same scores and times).
    refit : bool, optional
        ``None`` (default): compare by REML when both are REML fits with the same fixed
        effects (R's ``anova(a, b, refit = FALSE)``), else refit by maximum likelihood any fit
        that is not (REML likelihoods of different fixed effects are not comparable; R's
        ``anova(a, b)``). ``True``: always by ML (R's default). ``False``: never refit (an
        error when REML fits differ in their fixed effects).
    names : (str, str)
        Row labels of the two fits.

    Returns
    -------
    DataFrame
        One row per model, fewer parameters first, with R's columns: ``npar``, ``AIC``,
        ``BIC``, ``logLik``, ``deviance`` (-2 logLik), ``Chisq`` (twice the gain in
        log-likelihood, at least 0), ``Df`` (difference in parameters) and ``Pr(>Chisq)``
        (chi-square upper tail), the last three on the second row. ``attrs["criterion"]`` is
        ``"REML"`` or ``"ML"``.

    Notes
    -----
    A test of a variance against zero (a clinician level, a client slope) has its null on the
    boundary of the parameter space: the chi-square p-value is then conservative (Self & Liang
    1987; about twice the correct one for a single variance).

    References
    ----------
    .. [1] Self, S. G. & Liang, K.-Y. (1987). Asymptotic properties of maximum likelihood
       estimators and likelihood ratio tests under nonstandard conditions. *Journal of the
       American Statistical Association*, 82(398), 605-610.
    .. [2] Bates, D., Maechler, M., Bolker, B. & Walker, S. (2015). Fitting linear
       mixed-effects models using lme4. *Journal of Statistical Software*, 67(1), 1-48.
    """
    from scipy import stats

    for f in (fit_a, fit_b):
        if not isinstance(f, GrowthResult):
            raise TypeError("compare_growth compares two results of perfkit.fit_growth")
    ya, yb = fit_a._frame, fit_b._frame
    if len(ya) != len(yb) or not (
            np.array_equal(np.sort(ya["score"].to_numpy()), np.sort(yb["score"].to_numpy()))
            and np.array_equal(np.sort(ya["time"].to_numpy()), np.sort(yb["time"].to_numpy()))):
        raise ValueError("the two fits are not on the same rows (their scores or times "
                         "differ): a likelihood-ratio test needs the same data")
    same_fixed = list(fit_a.fixed.index) == list(fit_b.fixed.index) and (
        np.isnan(fit_a.baseline_center) and np.isnan(fit_b.baseline_center)
        or fit_a.baseline_center == fit_b.baseline_center)
    if refit is None:
        ml = not (fit_a.reml and fit_b.reml and same_fixed)
    elif refit:
        ml = True
    else:
        if fit_a.reml != fit_b.reml or (fit_a.reml and not same_fixed):
            raise ValueError("REML likelihoods of models with different fixed effects (or a "
                             "REML and an ML fit) are not comparable: use refit=None or True")
        ml = not fit_a.reml
    fits = [_refit(f, reml=False) if ml else f for f in (fit_a, fit_b)]
    out = pd.DataFrame({
        "npar": [f.npar for f in fits], "AIC": [f.aic for f in fits],
        "BIC": [f.bic for f in fits], "logLik": [f.loglik for f in fits],
        "deviance": [-2 * f.loglik for f in fits]}, index=pd.Index(list(names), name="model"))
    out = out.iloc[np.argsort(out["npar"].to_numpy(), kind="stable")]
    chisq = 2 * max(0.0, out["logLik"].iloc[1] - out["logLik"].iloc[0])
    df = int(out["npar"].iloc[1] - out["npar"].iloc[0])
    out["Chisq"] = [np.nan, chisq]
    out["Df"] = [np.nan, df]
    out["Pr(>Chisq)"] = [np.nan, stats.chi2.sf(chisq, df) if df > 0 else np.nan]
    out.attrs["criterion"] = "ML" if ml else "REML"
    return out


# --------------------------------------------------------------------------------------------
# Time from dates
# --------------------------------------------------------------------------------------------


def weeks_since(dates: pd.Series, origin) -> pd.Series:
    """Weeks from ``origin`` to each date, as a float Series (the numeric time
    :func:`fit_growth` needs).

    Parameters
    ----------
    dates : Series of datetimes
        Naive or time-zone aware (not a mix).
    origin : datetime-like or Series
        One date for all rows, or a Series on the same index (for example each client's first
        date: ``d.groupby(["therapist", "patient"])["date"].transform("min")``). It must be
        naive or aware as ``dates`` are.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-19"]))
    >>> weeks_since(d, origin="2026-01-05").tolist()
    [0.0, 2.0]
    """
    s = pd.Series(dates) if not isinstance(dates, pd.Series) else dates
    if not pd.api.types.is_datetime64_any_dtype(s):
        raise ValueError("weeks_since needs a column of dates (datetime64): read text dates "
                         "with pandas.to_datetime first (utc=True when they carry UTC "
                         "offsets, which change with daylight saving time)")
    o = origin if isinstance(origin, pd.Series) else pd.Timestamp(origin)
    try:
        out = (s - o) / pd.Timedelta(weeks=1)
    except TypeError as exc:
        raise ValueError("the dates and the origin must both be naive or both carry a time "
                         "zone") from exc
    return out.astype(float).rename(s.name)


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def _g(v, digits: int = 4) -> str:
    return "" if v is None or not np.isfinite(v) else f"{v:.{digits}g}"


def _left(table: pd.DataFrame, left: list[str]) -> str:
    """A table of strings as text, the ``left`` columns aligned left (as R prints names)."""
    widths = {c: max([len(c)] + [len(v) for v in table[c]]) for c in table.columns}

    def line(values) -> str:
        return " ".join(v.ljust(widths[c]) if c in left else v.rjust(widths[c])
                        for c, v in zip(table.columns, values, strict=True)).rstrip()

    return "\n".join([line(list(table.columns))]
                     + [line(list(r)) for r in table.itertuples(index=False)])


def _summary(fit: GrowthResult) -> GrowthSummary:
    vc = fit.variance_components
    groups = pd.DataFrame({
        "Groups": vc["grp"], "Name": vc["var1"].fillna(""),
        "Variance": [_g(v) if pd.isna(b) else "" for v, b in zip(vc["vcov"], vc["var2"],
                                                                 strict=True)],
        "Std.Dev.": [_g(v) if pd.isna(b) else "" for v, b in zip(vc["sdcor"], vc["var2"],
                                                                 strict=True)]})
    corr = vc[vc["var2"].notna()]
    groups["Corr"] = ""
    for _, r in corr.iterrows():  # lme4 prints a correlation on its group's slope row
        at = vc.index[(vc["grp"] == r["grp"]) & (vc["var1"] == r["var2"]) & vc["var2"].isna()]
        groups.loc[at, "Corr"] = f"{r['sdcor']:.2f}" if np.isfinite(r["sdcor"]) else "NaN"
    groups = groups.drop(index=corr.index).reset_index(drop=True)
    groups.loc[groups["Groups"].eq(groups["Groups"].shift()), "Groups"] = ""  # as lme4 prints
    fe = pd.DataFrame({"Estimate": fit.fixed, "Std. Error": fit.fixed_se,
                       "t value": fit.fixed / fit.fixed_se,
                       "95% low": fit.fixed - Z95 * fit.fixed_se,
                       "95% high": fit.fixed + Z95 * fit.fixed_se})
    fe_txt = fe.map(lambda v: f"{v:.4g}")
    crit = pd.DataFrame({"REML criterion" if fit.reml else "deviance": [-2 * fit.loglik],
                         "logLik": [fit.loglik], "AIC": [fit.aic], "BIC": [fit.bic],
                         "npar": [fit.npar]}).map(lambda v: f"{v:.2f}" if isinstance(v, float)
                                                   else str(v))
    groups_line = (f"{fit.n_clients} clients" + ("" if fit.clinician is None else
                                                 f" in {fit.n_clinicians} clinicians"))
    notes = [f"Data: {fit.n_obs} scores from {groups_line}"
             + (f" ({fit.n_dropped} rows with a missing value left out)" if fit.n_dropped
                else "") + "."]
    if fit.baseline is not None:
        notes.append(f"{fit.baseline}_c = {fit.baseline} - {fit.baseline_center:.6g} "
                     "(the baseline, centred).")
    converged = "yes" if fit.converged else "NO: treat the estimates with caution"
    notes.append(f"Converged: {converged}. Singular (a variance estimated at zero): "
                 f"{'yes' if fit.singular else 'no'}.")
    title = (f"Linear mixed model fit by {'REML' if fit.reml else 'maximum likelihood'} "
             "(perfkit's nested fitter, lme4's profiled likelihood)")
    text = "\n".join([
        title, f"Formula: {fit.lme4_formula}", "", crit.to_string(index=False), "",
        "Random effects:", _left(groups, ["Groups", "Name"]), "", "Fixed effects:",
        fe_txt.to_string(), "", *notes])
    esc = html.escape
    page = "".join([
        f"<div class='perfkit-growth'><p><b>{esc(title)}</b><br>Formula: "
        f"<code>{esc(fit.lme4_formula)}</code></p>",
        crit.to_html(index=False, escape=True), "<p><b>Random effects</b></p>",
        groups.to_html(index=False, escape=True), "<p><b>Fixed effects</b></p>",
        fe_txt.to_html(escape=True), "".join(f"<p>{esc(n)}</p>" for n in notes), "</div>"])
    return GrowthSummary(text=text, html=page)
