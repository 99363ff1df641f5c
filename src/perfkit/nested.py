"""A dedicated fitter for perfkit's nested growth model: scores within clients within
clinicians, each level with a random intercept and a random slope on time.

    score ~ X beta + (1 + time | clinician) + (1 + time | clinician:client) + residual

The client intercept and slope are independent by default (as in perfkit's lme4 formula,
``(1 | clinician:client) + (0 + time | clinician:client)``) or correlated
(``client_cov="unstructured"``: ``(1 + time | clinician:client)``, which statsmodels cannot fit).

Method
------
lme4's profiled likelihood (Bates et al. 2015, *J Stat Softw* 67(1), section 3): with relative
covariance factors Lambda(theta) (the random effects' covariance is sigma^2 Lambda Lambda'), the
REML deviance is

    -2 l_R(theta) = log|L|^2 + log|R_X|^2 + (n - p) [1 + log(2 pi r^2 / (n - p))]

where L L' = Lambda' Z'Z Lambda + I, R_X' R_X is the fixed-effects block of the Schur
complement, and r^2 the penalized residual sum of squares at the optimum. Because clients are
nested in clinicians and both levels use the same two columns (1, time), Lambda' Z'Z Lambda + I
is block diagonal by clinician, and each clinician's block is an "arrow": one 2x2 block per
client, coupled only to the clinician's 2x2 block. The Cholesky factor is then the client blocks
and the clinician's Schur complement, and every quantity needs only each client's 2x2
cross-products of (1, time) with itself and with (X, y), computed once. An evaluation costs a
few vectorized 2x2 operations per client, whatever the number of scores.

theta (the lower-triangular relative factors, 5 or 6 numbers) is optimized with L-BFGS-B
(finite-difference gradients, diagonals bounded at zero), then polished with Nelder-Mead and
L-BFGS-B again when that improves the deviance. The conditional means of the random effects and
their conditional covariances (lme4's ``ranef(condVar = TRUE)``) come from the same blocks.

The fits were checked against lme4 1.1.31 and statsmodels on the reference datasets
(tests/test_nested.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from .design import Design, design_matrix
from .fit_problems import FitError, recording

__all__ = ["Design", "NestedData", "NestedFit", "prepare", "deviance", "fit_nested"]

LOG_2PI = float(np.log(2 * np.pi))
# the warnings this fitter's optimizers may raise, recorded in NestedFit.warnings (numpy's
# where the deviance is not defined, scipy's about the optimizer); any other is passed on
_EXPECTED = (RuntimeWarning, optimize.OptimizeWarning)


@dataclass
class NestedData:
    """Cross-products of the data, grouped by client and clinician (computed once).

    Time enters the random part scaled by ``t_scale`` (its standard deviation), so that the
    intercept and slope factors are of similar size for the optimizer; covariances are returned
    on the original scale.
    """

    n: int
    p: int
    fe_names: list[str]
    clinicians: np.ndarray  # clinician ids, in block order
    clients: pd.DataFrame  # clinician_id, client_id per client block
    client_start: np.ndarray  # first client index of each clinician (for reduceat)
    s00: np.ndarray  # per client: number of scores
    s01: np.ndarray  # per client: sum of scaled time
    s11: np.ndarray  # per client: sum of squared scaled time
    zp0: np.ndarray  # (n_clients, p + 1): sum of [x, y] per client
    zp1: np.ndarray  # (n_clients, p + 1): sum of scaled time x [x, y] per client
    PP: np.ndarray  # (p + 1, p + 1): [X y]'[X y]
    t_scale: float
    X: np.ndarray
    y: np.ndarray
    t: np.ndarray  # scaled time of each row
    client_of: np.ndarray  # client index of each row
    clinician_of_client: np.ndarray  # clinician index of each client


def prepare(data: pd.DataFrame, fixed: str | Design = "score ~ time * intake_c", *,
            time_col: str = "time") -> NestedData:
    """Build the design and the per-client cross-products. Rows need ``clinician_id``,
    ``client_id`` and the columns of the ``fixed`` formula (or :class:`Design`)."""
    kc, clinicians = pd.factorize(data["clinician_id"].to_numpy(dtype=object))
    kl, _ = pd.factorize(data["client_id"].to_numpy(dtype=object))
    key = kc.astype(np.int64) * (int(kl.max()) + 1) + kl
    if np.all(key[1:] >= key[:-1]):  # model_data is sorted already
        d = data.reset_index(drop=True)
    else:
        order = np.argsort(key, kind="stable")
        d, key, kc = data.iloc[order].reset_index(drop=True), key[order], kc[order]
    if d[["score", time_col]].isna().any().any():
        raise ValueError("missing scores or times in the model data")
    y, X, names = design_matrix(d, fixed)
    time_ = d[time_col].to_numpy(dtype=float)
    t_scale = float(np.std(time_)) or 1.0
    t = time_ / t_scale
    new_client = np.r_[True, key[1:] != key[:-1]]
    first_row = np.flatnonzero(new_client)
    client_of = np.cumsum(new_client) - 1
    clin_of_client = kc[first_row]
    client_start = np.flatnonzero(np.r_[True, clin_of_client[1:] != clin_of_client[:-1]])
    clients = pd.DataFrame({"clinician_id": clinicians[clin_of_client],
                            "client_id": d["client_id"].to_numpy(dtype=object)[first_row]})
    P = np.column_stack([X, y])

    def per_client(v):
        return np.add.reduceat(v, first_row, axis=0)

    return NestedData(n=len(y), p=X.shape[1], fe_names=names,
                      clinicians=np.asarray(clinicians), clients=clients,
                      client_start=client_start, s00=per_client(np.ones_like(t)),
                      s01=per_client(t), s11=per_client(t * t), zp0=per_client(P),
                      zp1=per_client(t[:, None] * P), PP=P.T @ P, t_scale=t_scale, X=X, y=y,
                      t=t, client_of=client_of, clinician_of_client=clin_of_client)


def _factors(theta: np.ndarray, client_cov: str) -> tuple[tuple, tuple]:
    """Relative covariance factors as (a, b, c) of [[a, 0], [b, c]]: clinician, client."""
    lk = (theta[0], theta[1], theta[2])
    lc = (theta[3], 0.0, theta[4]) if client_cov == "diagonal" else tuple(theta[3:6])
    return lk, lc


def _ltsl(s00, s01, s11, la, lb):
    """L_a' S L_b for symmetric S (per-client arrays) and lower-triangular L_a, L_b, as the
    four entries (00, 01, 10, 11)."""
    a, b, c = la
    e, f, g = lb
    n00, n01 = s00 * e + s01 * f, s01 * g  # S L_b
    n10, n11 = s01 * e + s11 * f, s11 * g
    return a * n00 + b * n10, a * n01 + b * n11, c * n10, c * n11


def _profile(nd: NestedData, theta: np.ndarray, client_cov: str):
    """Everything the profiled likelihood needs at theta, or None where it is not defined.

    Per client: A = Lc' S Lc + I, B = Lc' S Lk, U = Lc' Z'[X y]; per clinician the Schur
    complement D - sum B' A^-1 B (D = Lk' S Lk + I) and V = Lk' Z'[X y] - sum B' A^-1 U. Written
    out entry by entry: stacks of 2x2 matrix products are slow in numpy.
    """
    lk, lc = _factors(theta, client_cov)
    a00, a01, _, a11 = _ltsl(nd.s00, nd.s01, nd.s11, lc, lc)
    a00, a11 = a00 + 1, a11 + 1
    det_a = a00 * a11 - a01 * a01
    if np.any(det_a <= 0):
        return None
    b00, b01, b10, b11 = _ltsl(nd.s00, nd.s01, nd.s11, lc, lk)
    ca, cb, cc = lc
    u0 = ca * nd.zp0 + cb * nd.zp1
    u1 = cc * nd.zp1
    ia00, ia01, ia11 = a11 / det_a, -a01 / det_a, a00 / det_a  # A^-1
    w0 = ia00[:, None] * u0 + ia01[:, None] * u1  # A^-1 U
    w1 = ia01[:, None] * u0 + ia11[:, None] * u1
    g00, g01 = ia00 * b00 + ia01 * b10, ia00 * b01 + ia01 * b11  # A^-1 B
    g10, g11 = ia01 * b00 + ia11 * b10, ia01 * b01 + ia11 * b11
    st = nd.client_start

    def per_clin(v):
        return np.add.reduceat(v, st, axis=0)

    h00 = per_clin(b00 * g00 + b10 * g10)  # sum B' A^-1 B
    h01 = per_clin(b00 * g01 + b10 * g11)
    h11 = per_clin(b01 * g01 + b11 * g11)
    t0 = per_clin(b00[:, None] * w0 + b10[:, None] * w1)  # sum B' A^-1 U
    t1 = per_clin(b01[:, None] * w0 + b11[:, None] * w1)
    k00, k01, _, k11 = _ltsl(per_clin(nd.s00), per_clin(nd.s01), per_clin(nd.s11), lk, lk)
    sc00, sc01, sc11 = k00 + 1 - h00, k01 - h01, k11 + 1 - h11  # Schur complement
    det_s = sc00 * sc11 - sc01 * sc01
    if np.any(det_s <= 0):
        return None
    ka, kb, kc = lk
    zk0, zk1 = per_clin(nd.zp0), per_clin(nd.zp1)
    v0 = ka * zk0 + kb * zk1 - t0
    v1 = kc * zk1 - t1
    is00, is01, is11 = sc11 / det_s, -sc01 / det_s, sc00 / det_s
    y0 = is00[:, None] * v0 + is01[:, None] * v1
    y1 = is01[:, None] * v0 + is11[:, None] * v1
    Q = u0.T @ w0 + u1.T @ w1 + v0.T @ y0 + v1.T @ y1
    C = nd.PP - Q
    p = nd.p
    cxx, cxy, cyy = C[:p, :p], C[:p, p], C[p, p]
    try:
        R = np.linalg.cholesky(cxx)
    except np.linalg.LinAlgError:
        return None
    beta = np.linalg.solve(cxx, cxy)
    r2 = float(cyy - cxy @ beta)
    logdet_l = float(np.log(det_a).sum() + np.log(det_s).sum())
    logdet_rx = float(2 * np.log(np.diag(R)).sum())
    parts = {"lk": lk, "lc": lc, "ia": (ia00, ia01, ia11), "b": (b00, b01, b10, b11),
             "u": (u0, u1), "is": (is00, is01, is11), "v": (v0, v1)}
    return beta, r2, logdet_l, logdet_rx, cxx, parts


def deviance(nd: NestedData, theta: np.ndarray, *, reml: bool = True,
             client_cov: str = "diagonal") -> float:
    """-2 x the (REML or ML) log-likelihood, profiled over beta and sigma^2."""
    out = _profile(nd, np.asarray(theta, dtype=float), client_cov)
    if out is None:
        return np.inf
    beta, r2, logdet_l, logdet_rx, *_ = out
    if r2 <= 0:
        return np.inf
    if reml:
        m = nd.n - nd.p
        return logdet_l + logdet_rx + m * (1 + LOG_2PI + np.log(r2 / m))
    return logdet_l + nd.n * (1 + LOG_2PI + np.log(r2 / nd.n))


@dataclass
class NestedFit:
    """Estimates of the nested growth model (variances on the score scale)."""

    reml: bool
    client_cov: str
    theta: np.ndarray
    loglik: float
    converged: bool
    optimizer: str
    n_evaluations: int
    gradient_max_abs: float
    fe_names: list[str]
    beta: np.ndarray
    beta_cov: np.ndarray
    sigma2: float
    clinician_cov: np.ndarray
    client_cov_matrix: np.ndarray
    clinician_effects: pd.DataFrame  # clinician_id, intercept, slope (conditional means)
    clinician_effects_cov: np.ndarray  # (n_clinicians, 2, 2) conditional covariances
    client_effects: pd.DataFrame
    clinician_of_client: np.ndarray
    scores_per_client: np.ndarray
    fittedvalues: np.ndarray
    resid: np.ndarray
    seconds: float = 0.0
    candidates: list = field(default_factory=list)
    warnings: tuple = ()  # (category, message) of each warning recorded while fitting

    @property
    def fe_params(self) -> pd.Series:
        return pd.Series(self.beta, index=self.fe_names)

    @property
    def bse_fe(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.beta_cov)), index=self.fe_names)

    @property
    def random_effects(self) -> dict:
        """Clinician conditional means, keyed by clinician id (statsmodels' layout)."""
        e = self.clinician_effects
        return {c: pd.Series([a, b], index=["Group", "time"])
                for c, a, b in zip(e["clinician_id"], e["intercept"], e["slope"], strict=True)}

    @property
    def llf(self) -> float:
        return self.loglik


def _bounds(client_cov: str, two_level: bool):
    diag = (0.0, None)
    free = (None, None)
    fixed0 = (0.0, 0.0)
    clin = [fixed0, fixed0, fixed0] if two_level else [diag, free, diag]
    cli = [diag, diag] if client_cov == "diagonal" else [diag, free, diag]
    return clin + cli


def moment_components(nd: NestedData) -> dict:
    """Method-of-moments estimates of the model's parameters, perfkit's one start-value
    estimator (both engines start from it), from the per-client cross-products alone: least
    squares for the fixed effects; each client's residuals regressed on time; the spread of
    those intercepts and slopes less their sampling noise for the client variances; the spread
    of the clinician means of them less the client part for the clinician covariance. Every
    variance is kept a little above zero so no optimizer starts on the boundary.

    Returns ``beta`` (fixed effects), ``sigma2`` (residual variance), ``tau0`` and ``tau1``
    (client intercept and slope variances) and ``cov`` (clinician 2 x 2 covariance), with time
    on the scaled axis ``nd.t`` (divide slope terms by ``nd.t_scale`` for the data's time unit).
    """
    p = nd.p
    beta = np.linalg.lstsq(nd.PP[:p, :p], nd.PP[:p, p], rcond=None)[0]
    w = np.r_[-beta, 1.0]
    r0, r1 = nd.zp0 @ w, nd.zp1 @ w  # per client: sum of residuals, sum of t x residuals
    rss_all = float(w @ nd.PP @ w)
    det = nd.s00 * nd.s11 - nd.s01 ** 2
    ok = det > 1e-9 * np.maximum(nd.s11, 1)
    safe = np.where(ok, det, 1.0)
    a = np.where(ok, (nd.s11 * r0 - nd.s01 * r1) / safe, r0 / nd.s00)
    b = np.where(ok, (nd.s00 * r1 - nd.s01 * r0) / safe, 0.0)
    fitted_ss = a * r0 + b * r1  # per client: explained sum of squares of the residuals
    dof = nd.s00 - 2
    sigma2 = max((rss_all - fitted_ss.sum()) / max(dof[dof > 0].sum(), 1), 1e-6)
    if ok.sum() > 2:
        tau0 = max(np.var(a[ok]) - sigma2 * np.mean(nd.s11[ok] / det[ok]), 0.05 * sigma2)
        tau1 = max(np.var(b[ok]) - sigma2 * np.mean(nd.s00[ok] / det[ok]), 1e-3 * sigma2)
    else:
        tau0, tau1 = 0.5 * sigma2, 0.05 * sigma2
    k = nd.clinician_of_client
    cnt = np.bincount(k[ok], minlength=len(nd.client_start)).astype(float)
    have = cnt > 0
    ma = np.bincount(k[ok], a[ok], minlength=len(cnt))[have] / cnt[have]
    mb = np.bincount(k[ok], b[ok], minlength=len(cnt))[have] / cnt[have]
    per = cnt[have].mean() if have.any() else 1.0
    if have.sum() > 2:
        cov = np.cov(np.vstack([ma, mb]))
    else:
        cov = np.diag([tau0, tau1]) * 0.1
    cov[0, 0] = max(cov[0, 0] - tau0 / per, 0.01 * tau0)
    cov[1, 1] = max(cov[1, 1] - tau1 / per, 0.01 * tau1)
    lim = 0.9 * np.sqrt(cov[0, 0] * cov[1, 1])
    cov[0, 1] = cov[1, 0] = float(np.clip(cov[0, 1], -lim, lim))
    return {"beta": beta, "sigma2": float(sigma2), "tau0": float(tau0), "tau1": float(tau1),
            "cov": cov}


def moment_theta(nd: NestedData, client_cov: str = "diagonal") -> np.ndarray:
    """:func:`moment_components` as this fitter's parameters (relative Cholesky factors)."""
    m = moment_components(nd)
    sigma2 = m["sigma2"]
    lk = np.linalg.cholesky(m["cov"] / sigma2)
    t0, t1 = np.sqrt(m["tau0"] / sigma2), np.sqrt(m["tau1"] / sigma2)
    if client_cov == "diagonal":
        return np.array([lk[0, 0], lk[1, 0], lk[1, 1], t0, t1])
    return np.array([lk[0, 0], lk[1, 0], lk[1, 1], t0, 0.0, t1])


def fit_nested(data: pd.DataFrame | NestedData,
               fixed: str | Design = "score ~ time * intake_c", *, reml: bool = True,
               client_cov: str = "diagonal", two_level: bool = False,
               start: np.ndarray | None = None, maxiter: int = 1000) -> NestedFit:
    """Fit the nested growth model by (RE)ML.

    Parameters
    ----------
    data : DataFrame or NestedData
        Rows with ``clinician_id``, ``client_id``, ``time`` and the formula's columns.
    fixed : str or Design
        The fixed-effects formula (patsy), or the design's columns (:class:`Design`).
    reml : bool
        REML (default) or maximum likelihood (to compare models with different fixed effects).
    client_cov : {"diagonal", "unstructured"}
        Independent client intercept and slope, or correlated.
    two_level : bool
        Leave out the clinician level (clients only).
    start : array, optional
        Start values of theta; by default :func:`moment_theta` (method-of-moments estimates
        of the variances, :func:`moment_components`), not lme4's identity factors.

    The warnings the optimizers raise (numpy's ``RuntimeWarning`` where the deviance is not
    defined, scipy's ``OptimizeWarning``) are recorded in ``warnings``, never shown or lost
    (:func:`perfkit.fit_problems.recording`); a deviance defined nowhere the optimizers went
    raises :class:`perfkit.fit_problems.FitError`.
    """
    if client_cov not in ("diagonal", "unstructured"):
        raise ValueError("client_cov must be 'diagonal' or 'unstructured'")
    t0 = time.perf_counter()
    nd = data if isinstance(data, NestedData) else prepare(data, fixed)
    bounds = _bounds(client_cov, two_level)
    if start is None:
        start = moment_theta(nd, client_cov)
    start = np.array([min(max(v, lo if lo is not None else -np.inf),
                          hi if hi is not None else np.inf)
                      for v, (lo, hi) in zip(start, bounds, strict=True)])
    evals = 0

    def f(th):
        nonlocal evals
        evals += 1
        return deviance(nd, th, reml=reml, client_cov=client_cov)

    candidates = []
    warned: list = []
    with recording(warned, _EXPECTED):
        best = (f(start), start, "start")

    def run(method: str, x0) -> float:
        """One optimizer run; returns how much it lowered the best deviance."""
        nonlocal best
        with recording(warned, _EXPECTED):
            if method == "L-BFGS-B":
                # forward differences with a step of 1e-6 (theta is of order 1 with time
                # scaled): large enough to stay clear of rounding noise in the deviance
                res = optimize.minimize(f, x0, method=method, bounds=bounds,
                                        options={"maxiter": maxiter, "ftol": 1e-12,
                                                 "gtol": 1e-6, "eps": 1e-6})
            else:
                res = optimize.minimize(f, x0, method=method, bounds=bounds,
                                        options={"maxiter": maxiter, "maxfev": maxiter * 4,
                                                 "xatol": 1e-7, "fatol": 1e-9})
        candidates.append({"optimizer": method, "deviance": float(res.fun),
                           "success": bool(res.success), "evaluations": int(res.nfev)})
        gain = best[0] - float(res.fun)
        if np.isfinite(res.fun) and gain > 0:
            best = (float(res.fun), np.asarray(res.x, dtype=float), method)
        return gain

    # L-BFGS-B, then a restart from where it stopped (a restart resets its curvature memory and
    # costs a few evaluations when the first run ended at the optimum). Only when the restart
    # still gains, or the runs report failure, a derivative-free Nelder-Mead run from the best
    # point and a last L-BFGS-B polish follow (the boundary is where quasi-Newton methods
    # struggle).
    run("L-BFGS-B", best[1])
    with recording(warned, _EXPECTED):
        grad = _gradient(f, best[1], bounds, h=1e-5)
    # stationary, up to the rounding noise of a deviance of order n in a difference quotient
    tol = max(1e-2, 1e-6 * nd.n)
    if np.max(np.abs(grad)) > tol:  # not yet: restart, then derivative-free
        gain = run("L-BFGS-B", best[1])
        if gain > 1e-3:
            run("Nelder-Mead", best[1])
            run("L-BFGS-B", best[1])
        with recording(warned, _EXPECTED):
            grad = _gradient(f, best[1], bounds, h=1e-5)
    dev, theta, method = best
    if not np.isfinite(dev):
        tried = tuple(c["optimizer"] for c in candidates)
        raise FitError(
            "the nested growth model could not be fitted: its likelihood is not defined at "
            f"any point the optimizers tried ({', '.join(tried)}), which happens when the "
            "fixed effects cannot all be estimated from these rows", reason="singular_design",
            model="nested growth model", optimizers=tried,
            last_error="the deviance is infinite everywhere tried")
    fit = _finish(nd, theta, reml, client_cov, dev, method, evals, grad)
    fit.converged = bool(np.isfinite(dev) and fit.gradient_max_abs / nd.n < 1e-4)
    fit.candidates = candidates
    fit.warnings = tuple(warned)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return fit


def _gradient(f, theta, bounds, h=1e-6) -> np.ndarray:
    """Central-difference gradient of the deviance / 2 (the negative log-likelihood), with
    components pointing out of the feasible region (a variance at zero) set to zero."""
    g = np.zeros_like(theta)
    for i, (lo, hi) in enumerate(bounds):
        if lo is not None and hi is not None and lo == hi:
            continue
        e = np.zeros_like(theta)
        e[i] = h
        if lo is not None and theta[i] - h < lo:
            gi = (f(theta + e) - f(theta)) / h
            g[i] = min(gi, 0.0) if theta[i] <= lo + 1e-12 else gi
        else:
            g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g / 2


def _lmat(f) -> np.ndarray:
    return np.array([[f[0], 0.0], [f[1], f[2]]])


def _finish(nd: NestedData, theta, reml, client_cov, dev, method, evals, grad) -> NestedFit:
    beta, r2, _, _, cxx, parts = _profile(nd, theta, client_cov)
    sigma2 = r2 / (nd.n - nd.p if reml else nd.n)
    w = np.r_[-beta, 1.0]  # [X y] @ w = y - X beta
    u0, u1 = (u @ w for u in parts["u"])
    v0, v1 = (v @ w for v in parts["v"])
    is00, is01, is11 = parts["is"]
    xk0, xk1 = is00 * v0 + is01 * v1, is01 * v0 + is11 * v1  # clinicians' spherical effects
    b00, b01, b10, b11 = parts["b"]
    k = nd.clinician_of_client
    r0 = u0 - (b00 * xk0[k] + b01 * xk1[k])
    r1 = u1 - (b10 * xk0[k] + b11 * xk1[k])
    ia00, ia01, ia11 = parts["ia"]
    xc0, xc1 = ia00 * r0 + ia01 * r1, ia01 * r0 + ia11 * r1  # clients' spherical effects
    (ka, kb, kc), (ca, cb, cc) = parts["lk"], parts["lc"]
    bk0, bk1 = ka * xk0, kb * xk0 + kc * xk1  # b = Lambda x (scaled time)
    bc0, bc1 = ca * xc0, cb * xc0 + cc * xc1
    fitted = nd.X @ beta + bk0[k][nd.client_of] + bk1[k][nd.client_of] * nd.t \
        + bc0[nd.client_of] + bc1[nd.client_of] * nd.t
    # back to the original time scale: slope terms divide by t_scale
    d = np.diag([1.0, 1.0 / nd.t_scale])
    lk, lc = _lmat(parts["lk"]), _lmat(parts["lc"])
    sinv = np.stack([np.stack([is00, is01], -1), np.stack([is01, is11], -1)], -2)
    cov_k = sigma2 * (d @ lk @ sinv @ lk.T @ d)
    return NestedFit(
        reml=reml, client_cov=client_cov, theta=np.asarray(theta), loglik=-dev / 2,
        converged=True, optimizer=method, n_evaluations=evals,
        gradient_max_abs=float(np.max(np.abs(grad))) if len(grad) else 0.0,
        fe_names=nd.fe_names, beta=beta, beta_cov=sigma2 * np.linalg.inv(cxx), sigma2=sigma2,
        clinician_cov=sigma2 * (d @ lk @ lk.T @ d),
        client_cov_matrix=sigma2 * (d @ lc @ lc.T @ d),
        clinician_effects=pd.DataFrame({"clinician_id": nd.clinicians, "intercept": bk0,
                                        "slope": bk1 / nd.t_scale}),
        clinician_effects_cov=cov_k,
        client_effects=nd.clients.assign(intercept=bc0, slope=bc1 / nd.t_scale),
        clinician_of_client=nd.clinician_of_client, scores_per_client=nd.s00,
        fittedvalues=fitted, resid=nd.y - fitted)
