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
client, coupled only to the clinician's 2x2 block. Eliminating the client blocks first and then
the clinician's (two nested Woodbury steps, :func:`_profile`), every quantity needs only each
client's 2x2 cross-products of (1, time) with itself and with (X, y), computed once. An
evaluation costs a few vectorized 2x2 operations per client, whatever the number of scores.

theta (the lower-triangular relative factors, 5 or 6 numbers) is optimized with L-BFGS-B
(diagonals bounded at zero) and the analytic gradient of the deviance (:func:`_gradient_at`,
about the cost of one more evaluation, checked against differences of the textbook deviance in
tests/test_nested.py), then polished with Nelder-Mead and L-BFGS-B again when that improves the
deviance. The conditional means of the random effects and their conditional covariances (lme4's
``ranef(condVar = TRUE)``) come from the same blocks.

The fits were checked against lme4 1.1.31 and statsmodels on the reference datasets
(tests/test_nested.py).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from .design import Design, design_matrix
from .fit_problems import FitError, recording

try:  # optional: a fit computes the same without it, only slower on a busy machine
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

__all__ = ["Design", "NestedData", "NestedFit", "prepare", "deviance", "deviance_gradient",
           "fit_nested", "one_blas_thread"]

LOG_2PI = float(np.log(2 * np.pi))
# the warnings this fitter's optimizers may raise, recorded in NestedFit.warnings (numpy's
# where the deviance is not defined, scipy's about the optimizer); any other is passed on
_EXPECTED = (RuntimeWarning, optimize.OptimizeWarning)


_BLAS: list = []  # the process's threadpoolctl controller, made at the first fit


def one_blas_thread():
    """A context in which numpy's and scipy's BLAS run on one thread (threadpoolctl).

    A fit's BLAS calls are small (products of a few thousand rows by 5 columns, L-BFGS-B's
    5 x 5 algebra), so a second thread saves nothing, and handing work to it costs scheduler
    time: on a 2-core machine with other work running, OpenBLAS's thread hand-offs made
    L-BFGS-B's own steps take 3 ms each and doubled a fit's time. Without threadpoolctl
    installed this does nothing (the results are the same).
    """
    if ThreadpoolController is None:  # pragma: no cover
        return contextlib.nullcontext()
    if not _BLAS:  # after numpy and scipy have loaded their BLAS libraries
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


@dataclass
class NestedData:
    """Cross-products of the data, grouped by client and clinician (computed once).

    Time enters the random part scaled by ``t_scale`` (its standard deviation), so that the
    intercept and slope factors are of similar size for the optimizer; covariances are returned
    on the original scale. With an intercept column, the cross-products are of [X y] centred
    (``center``: y and every other column minus its mean), which spans the same space: the
    likelihood is the same, and its rounding noise, from differences of large sums, about 40
    times smaller. Its ``fixed`` method turns estimates back to the uncentred columns.
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
    zp0: np.ndarray  # (n_clients, p + 1): sum of centred [x, y] per client
    zp1: np.ndarray  # (n_clients, p + 1): sum of scaled time x centred [x, y] per client
    PP: np.ndarray  # (p + 1, p + 1): centred [X y]'[X y]
    t_scale: float
    X: np.ndarray
    y: np.ndarray
    t: np.ndarray  # scaled time of each row
    client_of: np.ndarray  # client index of each row
    clinician_of_client: np.ndarray  # clinician index of each client
    center: np.ndarray = None  # (p + 1,): the means taken off [X y] (zero for the intercept)
    intercept: int = -1  # the intercept column (-1: none, nothing centred)

    def fixed(self, beta_c: np.ndarray, cov_c: np.ndarray | None = None):
        """Fixed effects (and their covariance) of the centred columns as those of X:
        X beta = X_c beta_c + 1 (mean y - mean x' beta_c)."""
        if self.intercept < 0:
            return beta_c, cov_c
        m = self.center[:self.p]
        beta = np.array(beta_c, dtype=float)
        beta[self.intercept] += self.center[self.p] - m @ beta_c
        if cov_c is None:
            return beta, None
        A = np.eye(self.p)
        A[self.intercept] -= m
        return beta, A @ cov_c @ A.T


def prepare(data: pd.DataFrame, fixed: str | Design = "score ~ time * intake_c", *,
            time_col: str = "time") -> NestedData:
    """Build the design and the per-client cross-products. Rows need ``clinician_id``,
    ``client_id`` and the columns of the ``fixed`` formula (or :class:`Design`)."""
    from .growth_frame import id_codes

    kc, clinicians = id_codes(data["clinician_id"])
    kl, client_ids = id_codes(data["client_id"])
    key = kc * (int(kl.max()) + 1) + kl
    if np.all(key[1:] >= key[:-1]):  # model_data is sorted already
        d = data.reset_index(drop=True)
    else:
        order = np.argsort(key, kind="stable")
        d, key, kc, kl = data.iloc[order].reset_index(drop=True), key[order], kc[order], \
            kl[order]
    if d["score"].isna().any() or d[time_col].isna().any():
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
                            "client_id": client_ids[kl[first_row]]})
    P = np.column_stack([X, y])
    ones = np.flatnonzero(np.all(X == 1.0, axis=0)) if len(X) else np.array([], dtype=int)
    center = np.zeros(P.shape[1])
    if len(ones):
        center = P.mean(axis=0)
        center[ones[0]] = 0.0
        P = P - center

    def per_client(v):
        return np.add.reduceat(v, first_row, axis=0)

    return NestedData(n=len(y), p=X.shape[1], fe_names=names,
                      clinicians=np.asarray(clinicians), clients=clients,
                      client_start=client_start, s00=per_client(np.ones_like(t)),
                      s01=per_client(t), s11=per_client(t * t), zp0=per_client(P),
                      zp1=per_client(t[:, None] * P), PP=P.T @ P, t_scale=t_scale, X=X, y=y,
                      t=t, client_of=client_of, clinician_of_client=clin_of_client,
                      center=center, intercept=int(ones[0]) if len(ones) else -1)


def _factors(theta: np.ndarray, client_cov: str) -> tuple[tuple, tuple]:
    """Relative covariance factors as (a, b, c) of [[a, 0], [b, c]]: clinician, client."""
    lk = (theta[0], theta[1], theta[2])
    lc = (theta[3], 0.0, theta[4]) if client_cov == "diagonal" else tuple(theta[3:6])
    return lk, lc


def _block(s00, s01, s11, lf):
    """For symmetric 2x2 blocks S (per group, entries 00, 01, 11) and L = [[a, 0], [b, c]]:
    det(L' S L + I) and Psi = L (L' S L + I)^-1 L' (symmetric: 00, 01, 11). Written out entry
    by entry: stacks of 2x2 matrix products are slow in numpy."""
    a, b, c = lf
    h0 = a * s00 + b * s01  # first row of L' S
    h1 = a * s01 + b * s11
    m00 = a * h0 + b * h1 + 1
    m01 = c * h1
    m11 = c * c * s11 + 1
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    p00 = a * a * i00
    p01 = a * (b * i00 + c * i01)
    p11 = b * b * i00 + 2 * b * c * i01 + c * c * i11
    return det, p00, p01, p11


@dataclass
class _Profile:
    """The profiled likelihood's pieces at one theta (see :func:`_profile`)."""

    theta: np.ndarray
    lk: tuple
    lc: tuple
    det_a: np.ndarray  # per client: det(Lc' S Lc + I)
    det_s: np.ndarray  # per clinician: det(Lk' S^ Lk + I)
    h: tuple  # per client: S^ = Z' V_c^-1 Z (00, 01, 11)
    y: tuple  # per client: Z' V_c^-1 [X y], two (n_clients, p + 1) rows
    hk: tuple  # per clinician: sums of S^
    yk: tuple  # per clinician: sums of Z' V_c^-1 [X y]
    phi: tuple  # per clinician: Phi = Lk (Lk' S^ Lk + I)^-1 Lk' (00, 01, 11)
    beta: np.ndarray
    r2: float
    cxx: np.ndarray  # X' V^-1 X
    logdet_l: float
    logdet_rx: float


def _profile(nd: NestedData, theta: np.ndarray, client_cov: str) -> _Profile | None:
    """Everything the profiled likelihood needs at theta, or None where it is not defined.

    Clients first, then clinicians (two nested Woodbury steps). With V_c = I + Z Lc Lc' Z' a
    client's own covariance (relative to sigma^2) and S its 2x2 cross-product Z'Z:
    det V_c = det(Lc' S Lc + I); Z' V_c^-1 Z = S - S Psi S and Z' V_c^-1 [X y] =
    Z'[X y] - S Psi Z'[X y], with Psi = Lc (Lc' S Lc + I)^-1 Lc'. Summed over a clinician's
    clients (S^_k, Y_k), the clinician step is the same with Lk: det(Lk' S^_k Lk + I) and
    Phi_k = Lk (Lk' S^_k Lk + I)^-1 Lk'. Then [X y]' V^-1 [X y] = [X y]'[X y]
    - sum_c Z'[X y]' Psi Z'[X y] - sum_k Y_k' Phi_k Y_k, and log det V is the sum of the log
    determinants. These are lme4's log|L|^2 and the Schur complement of its penalized system
    (the clinician block of L L' is Lk' S^_k Lk + I), reached without forming L.
    """
    lk, lc = _factors(theta, client_cov)
    s00, s01, s11 = nd.s00, nd.s01, nd.s11
    zp0, zp1 = nd.zp0, nd.zp1
    det_a, p00, p01, p11 = _block(s00, s01, s11, lc)
    if not np.all(det_a > 0):
        return None
    q00, q01 = s00 * p00 + s01 * p01, s00 * p01 + s01 * p11  # S Psi
    q10, q11 = s01 * p00 + s11 * p01, s01 * p01 + s11 * p11
    h00 = s00 - (q00 * s00 + q01 * s01)  # S^ = S - S Psi S
    h01 = s01 - (q00 * s01 + q01 * s11)
    h11 = s11 - (q10 * s01 + q11 * s11)
    y0 = (1 - q00)[:, None] * zp0 - q01[:, None] * zp1
    y1 = (1 - q11)[:, None] * zp1 - q10[:, None] * zp0
    b01 = (p01[:, None] * zp0).T @ zp1  # sum of Z'[X y]' Psi Z'[X y]: Psi is symmetric
    qc = (p00[:, None] * zp0).T @ zp0 + b01 + b01.T + (p11[:, None] * zp1).T @ zp1
    st = nd.client_start
    k00, k01, k11 = np.add.reduceat(np.column_stack([h00, h01, h11]), st, axis=0).T
    yk0 = np.add.reduceat(y0, st, axis=0)
    yk1 = np.add.reduceat(y1, st, axis=0)
    det_s, f00, f01, f11 = _block(k00, k01, k11, lk)
    if not np.all(det_s > 0):
        return None
    qk = yk0.T @ (f00[:, None] * yk0 + f01[:, None] * yk1) \
        + yk1.T @ (f01[:, None] * yk0 + f11[:, None] * yk1)
    C = nd.PP - qc - qk
    p = nd.p
    cxx, cxy, cyy = C[:p, :p], C[:p, p], C[p, p]
    try:
        R = np.linalg.cholesky(cxx)
    except np.linalg.LinAlgError:
        return None
    beta = np.linalg.solve(cxx, cxy)
    r2 = float(cyy - cxy @ beta)
    return _Profile(theta=theta, lk=lk, lc=lc, det_a=det_a, det_s=det_s,
                    h=(h00, h01, h11), y=(y0, y1), hk=(k00, k01, k11), yk=(yk0, yk1),
                    phi=(f00, f01, f11), beta=beta, r2=r2, cxx=cxx,
                    logdet_l=float(np.log(det_a).sum() + np.log(det_s).sum()),
                    logdet_rx=float(2 * np.log(np.diag(R)).sum()))


def _deviance_at(nd: NestedData, pr: _Profile | None, reml: bool) -> float:
    if pr is None or not pr.r2 > 0:
        return np.inf
    if reml:
        m = nd.n - nd.p
        return pr.logdet_l + pr.logdet_rx + m * (1 + LOG_2PI + np.log(pr.r2 / m))
    return pr.logdet_l + nd.n * (1 + LOG_2PI + np.log(pr.r2 / nd.n))


def deviance(nd: NestedData, theta: np.ndarray, *, reml: bool = True,
             client_cov: str = "diagonal") -> float:
    """-2 x the (REML or ML) log-likelihood, profiled over beta and sigma^2."""
    return _deviance_at(nd, _profile(nd, np.asarray(theta, dtype=float), client_cov), reml)


def _level_sum(a, b, r0, r1, om):
    """sum over groups of S^ - F S^ - R Omega R' (symmetric 2x2) for one level: S^ (a: 00,
    01, 11) per group, F = S^ Phi (b: 00, 01, 10, 11) and R (two rows r0, r1)."""
    a00, a01, a11 = a
    b00, b01, b10, b11 = b
    o0, o1 = r0 @ om, r1 @ om
    t00 = (a00 - (b00 * a00 + b01 * a01)).sum() - np.einsum("ij,ij->", o0, r0)
    t01 = (a01 - (b00 * a01 + b01 * a11)).sum() - np.einsum("ij,ij->", o0, r1)
    t11 = (a11 - (b10 * a01 + b11 * a11)).sum() - np.einsum("ij,ij->", o1, r1)
    return np.array([[t00, t01], [t01, t11]])


def _gradient_at(nd: NestedData, pr: _Profile, reml: bool, client_cov: str) -> np.ndarray:
    """The gradient of the profiled deviance in theta, analytically.

    With V = I + Z Lambda Lambda' Z' (relative to sigma^2), e = V^-1 (y - X beta) and
    P = V^-1 - V^-1 X (X' V^-1 X)^-1 X' V^-1, the REML deviance log|V| + log|X' V^-1 X|
    + m log r^2 (m = n - p) has the derivative tr(P dV) - (m / r^2) e' dV e (Harville 1977;
    Pinheiro & Bates 2000, 2.2), and dV = Z (dLambda Lambda' + Lambda dLambda') Z'. As each
    level's factor L is shared by its groups g, the derivative in L is 2 H L with

        H = sum_g [Z' P Z]_gg - (m / r^2) Z_g' e e' Z_g

    (2x2): [Z' P Z]_gg = [Z' V^-1 Z]_gg - R_g (X' V^-1 X)^-1 R_g' with R_g = Z_g' V^-1 X. For
    ML, m = n and the (X' V^-1 X) term drops. The blocks come from the two Woodbury steps of
    :func:`_profile`: [Z' V^-1 Z]_kk = S^_k - S^_k Phi_k S^_k for a clinician,
    S^_c - S^_c Phi_k S^_c for a client; Z_k' V^-1 [X y] = Y_k - S^_k Phi_k Y_k and
    Z_c' V^-1 [X y] = Y_c - S^_c Phi_k Y_k. The cost is about one more evaluation.
    """
    p = nd.p
    m = nd.n - p if reml else nd.n
    w = np.r_[-pr.beta, 1.0]
    om = (m / pr.r2) * np.outer(w, w)  # R_g Omega R_g' = R^X C^-1 R^X' + (m/r^2) r r'
    if reml:
        om[:p, :p] += np.linalg.inv(pr.cxx)
    k00, k01, k11 = pr.hk
    f00, f01, f11 = pr.phi
    yk0, yk1 = pr.yk
    g00, g01 = k00 * f00 + k01 * f01, k00 * f01 + k01 * f11  # S^_k Phi_k
    g10, g11 = k01 * f00 + k11 * f01, k01 * f01 + k11 * f11
    rk0 = yk0 - (g00[:, None] * yk0 + g01[:, None] * yk1)
    rk1 = yk1 - (g10[:, None] * yk0 + g11[:, None] * yk1)
    hk = _level_sum(pr.hk, (g00, g01, g10, g11), rk0, rk1, om)
    k = nd.clinician_of_client
    h00, h01, h11 = pr.h
    F00, F01, F11 = f00[k], f01[k], f11[k]
    c00, c01 = h00 * F00 + h01 * F01, h00 * F01 + h01 * F11  # S^_c Phi_k
    c10, c11 = h01 * F00 + h11 * F01, h01 * F01 + h11 * F11
    Y0, Y1 = yk0[k], yk1[k]
    y0, y1 = pr.y
    rc0 = y0 - (c00[:, None] * Y0 + c01[:, None] * Y1)
    rc1 = y1 - (c10[:, None] * Y0 + c11[:, None] * Y1)
    hc = _level_sum(pr.h, (c00, c01, c10, c11), rc0, rc1, om)
    gk = 2 * hk @ _lmat(pr.lk)
    gc = 2 * hc @ _lmat(pr.lc)
    client = [gc[0, 0], gc[1, 1]] if client_cov == "diagonal" else [gc[0, 0], gc[1, 0],
                                                                    gc[1, 1]]
    return np.array([gk[0, 0], gk[1, 0], gk[1, 1], *client])


def deviance_gradient(nd: NestedData, theta: np.ndarray, *, reml: bool = True,
                      client_cov: str = "diagonal") -> tuple[float, np.ndarray]:
    """The profiled deviance (:func:`deviance`) and its gradient in theta
    (:func:`_gradient_at`); where the deviance is not defined, infinity and zeros."""
    theta = np.asarray(theta, dtype=float)
    pr = _profile(nd, theta, client_cov)
    dev = _deviance_at(nd, pr, reml)
    if not np.isfinite(dev):
        return np.inf, np.zeros_like(theta)
    return dev, _gradient_at(nd, pr, reml, client_cov)


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
    return {"beta": nd.fixed(beta)[0], "sigma2": float(sigma2), "tau0": float(tau0),
            "tau1": float(tau1),
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
    with one_blas_thread():
        return _fit_nested(data, fixed, reml=reml, client_cov=client_cov, two_level=two_level,
                           start=start, maxiter=maxiter)


def _fit_nested(data, fixed, *, reml, client_cov, two_level, start, maxiter) -> NestedFit:
    t0 = time.perf_counter()
    nd = data if isinstance(data, NestedData) else prepare(data, fixed)
    bounds = _bounds(client_cov, two_level)
    if start is None:
        start = moment_theta(nd, client_cov)
    start = np.array([min(max(v, lo if lo is not None else -np.inf),
                          hi if hi is not None else np.inf)
                      for v, (lo, hi) in zip(start, bounds, strict=True)])
    evals = 0
    memo: dict = {}  # theta -> (deviance, gradient, profile) of the last few evaluations

    def fg(th):
        nonlocal evals
        th = np.array(th, dtype=float)
        key = th.tobytes()
        if key not in memo:
            evals += 1
            pr = _profile(nd, th, client_cov)
            dev = _deviance_at(nd, pr, reml)
            g = _gradient_at(nd, pr, reml, client_cov) if np.isfinite(dev) \
                else np.zeros_like(th)
            if len(memo) >= 4:
                memo.pop(next(iter(memo)))
            memo[key] = (dev, g, pr if np.isfinite(dev) else None)
        return memo[key][:2]

    def f(th):
        nonlocal evals
        evals += 1
        return deviance(nd, th, reml=reml, client_cov=client_cov)

    candidates = []
    warned: list = []
    with recording(warned, _EXPECTED):
        best = (fg(start)[0], start, "start")

    def run(method: str, x0) -> float:
        """One optimizer run; returns how much it lowered the best deviance."""
        nonlocal best
        with recording(warned, _EXPECTED):
            if method == "L-BFGS-B":
                # ftol 1e-12: about the deviance's rounding noise (sums over thousands of
                # clients). A looser 1e-10 saved evaluations but left a variance factor that
                # tends to zero slowly (the deviance depends on its square) short of zero
                res = optimize.minimize(fg, x0, jac=True, method=method, bounds=bounds,
                                        options={"maxiter": maxiter, "ftol": 1e-12,
                                                 "gtol": 1e-6})
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

    def gradient() -> np.ndarray:
        with recording(warned, _EXPECTED):
            return _projected(fg(best[1])[1], best[1], bounds) / 2

    def newton() -> None:
        """Newton steps from the best point while its gradient is not yet zero (above
        ``tol``) and the steps lower the deviance."""
        nonlocal best
        for _ in range(3):
            g = gradient() * 2
            if not np.max(np.abs(g)) / 2 > tol:
                return
            with recording(warned, _EXPECTED):
                trial = _newton_step(fg, best[1], g, bounds)
                if trial is None:
                    return
                dev = fg(trial)[0]
            if not dev < best[0]:
                return
            best = (float(dev), trial, best[2])

    # L-BFGS-B with the analytic gradient. A variance factor on a diagonal that reached zero
    # has a zero derivative there (the deviance depends on its square), so L-BFGS-B cannot
    # leave zero even where the deviance falls away from it: each such factor is tried just
    # off zero, and where the deviance falls there, L-BFGS-B runs again from that point. Then,
    # if the gradient is not yet zero, Newton steps; if it is still not zero, a restart from
    # where it stopped (which resets its curvature memory); only when the restart still gains,
    # a derivative-free Nelder-Mead run from the best point and a last L-BFGS-B polish follow.
    # "Zero": stationary, up to the rounding noise of a deviance of order n.
    tol = max(1e-2, 1e-6 * nd.n)
    run("L-BFGS-B", best[1])
    for _ in range(len(bounds)):
        trial = _off_zero(fg, best, bounds, warned)
        if trial is None:
            break
        run("L-BFGS-B", trial)
    newton()
    grad = gradient()
    if np.max(np.abs(grad)) > tol:  # not yet: restart, then derivative-free
        gain = run("L-BFGS-B", best[1])
        if gain > 1e-3:
            run("Nelder-Mead", best[1])
            run("L-BFGS-B", best[1])
        grad = gradient()
    dev, theta, method = best
    if not np.isfinite(dev):
        tried = tuple(c["optimizer"] for c in candidates)
        raise FitError(
            "the nested growth model could not be fitted: its likelihood is not defined at "
            f"any point the optimizers tried ({', '.join(tried)}), which happens when the "
            "fixed effects cannot all be estimated from these rows", reason="singular_design",
            model="nested growth model", optimizers=tried,
            last_error="the deviance is infinite everywhere tried")
    hit = memo.get(np.asarray(theta, dtype=float).tobytes())
    fit = _finish(nd, theta, reml, client_cov, dev, method, evals, grad,
                  pr=hit[2] if hit else None)
    fit.converged = bool(np.isfinite(dev) and fit.gradient_max_abs / nd.n < 1e-4)
    fit.candidates = candidates
    fit.warnings = tuple(warned)
    fit.seconds = round(time.perf_counter() - t0, 3)
    return fit


def _newton_step(fg, theta: np.ndarray, g: np.ndarray, bounds) -> np.ndarray | None:
    """A Newton step in the parameters free to move (not fixed, not at zero with the gradient
    pointing out), the Hessian from forward differences of the analytic gradient (one
    gradient per parameter); None where that Hessian is not positive definite. It needs no
    line search, so it is not limited by the deviance's rounding noise as L-BFGS-B is."""
    free = [i for i, (lo, hi) in enumerate(bounds)
            if not (lo is not None and hi is not None and lo == hi)
            and not (lo is not None and theta[i] <= lo + 1e-10 and g[i] >= 0)]
    if not free:
        return None
    h = 1e-5
    H = np.empty((len(free), len(free)))
    for a, i in enumerate(free):
        step = theta.copy()
        step[i] += h
        H[a] = (fg(step)[1][free] - g[free]) / h
    H = (H + H.T) / 2
    try:
        c = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    trial = theta.copy()
    trial[free] -= np.linalg.solve(c.T, np.linalg.solve(c, g[free]))
    lo = np.array([-np.inf if b[0] is None else b[0] for b in bounds])
    hi = np.array([np.inf if b[1] is None else b[1] for b in bounds])
    return np.clip(trial, lo, hi)


# a factor this far off zero tells whether the deviance falls away from zero (theta is of order
# one: time is scaled)
_OFF_ZERO = 1e-3


def _off_zero(fg, best, bounds, warned) -> np.ndarray | None:
    """The best point with one diagonal factor now at zero moved just off it, when the
    deviance is lower there or falls further away from zero (its derivative is negative);
    None when no such factor."""
    dev, theta = best[0], best[1]
    for i, (lo, hi) in enumerate(bounds):
        if lo is None or hi is not None or theta[i] > lo + 1e-10:
            continue
        trial = theta.copy()
        trial[i] = lo + _OFF_ZERO
        with recording(warned, _EXPECTED):
            d1, g1 = fg(trial)
        if np.isfinite(d1) and (d1 < dev or g1[i] < 0):
            return trial
    return None


def _projected(g: np.ndarray, theta, bounds) -> np.ndarray:
    """A gradient with the components that cannot move set to zero: fixed parameters, and at
    a lower bound (a variance at zero) a component pointing out of the feasible region."""
    g = np.array(g, dtype=float)
    for i, (lo, hi) in enumerate(bounds):
        if lo is not None and hi is not None and lo == hi:
            g[i] = 0.0
        elif lo is not None and theta[i] <= lo + 1e-12:
            g[i] = min(g[i], 0.0)
    return g


def _lmat(f) -> np.ndarray:
    return np.array([[f[0], 0.0], [f[1], f[2]]])


def _finish(nd: NestedData, theta, reml, client_cov, dev, method, evals, grad, *,
            pr: _Profile | None = None) -> NestedFit:
    """The fit at theta: estimates, the random effects' conditional means
    (G Z' V^-1 (y - X beta), lme4's ``ranef``) and the clinicians' conditional covariances
    (sigma^2 Lk (Lk' S^_k Lk + I)^-1 Lk', lme4's ``condVar``), from :func:`_profile`'s
    pieces (``pr``, computed again when not given)."""
    if pr is None:
        pr = _profile(nd, np.asarray(theta, dtype=float), client_cov)
    sigma2 = pr.r2 / (nd.n - nd.p if reml else nd.n)
    w = np.r_[-pr.beta, 1.0]  # centred [X y] @ w = y - X beta
    beta, beta_cov = nd.fixed(pr.beta, sigma2 * np.linalg.inv(pr.cxx))
    yk0, yk1 = (v @ w for v in pr.yk)
    f00, f01, f11 = pr.phi
    bk0, bk1 = f00 * yk0 + f01 * yk1, f01 * yk0 + f11 * yk1  # clinicians: Phi_k Y_k w
    k = nd.clinician_of_client
    y0, y1 = (v @ w for v in pr.y)
    h00, h01, h11 = pr.h
    r0 = y0 - (h00 * bk0[k] + h01 * bk1[k])  # Z_c' V^-1 (y - X beta)
    r1 = y1 - (h01 * bk0[k] + h11 * bk1[k])
    ca, cb, cc = pr.lc
    bc0 = ca * ca * r0 + ca * cb * r1  # clients: Lc Lc' Z_c' V^-1 (y - X beta)
    bc1 = ca * cb * r0 + (cb * cb + cc * cc) * r1
    co = nd.client_of
    fitted = nd.X @ beta + (bk0[k] + bc0)[co] + (bk1[k] + bc1)[co] * nd.t
    # back to the original time scale: slope terms divide by t_scale
    ts = nd.t_scale
    d = np.diag([1.0, 1.0 / ts])
    lk, lc = _lmat(pr.lk), _lmat(pr.lc)
    cov_k = np.empty((len(f00), 2, 2))
    cov_k[:, 0, 0] = sigma2 * f00
    cov_k[:, 0, 1] = cov_k[:, 1, 0] = sigma2 * f01 / ts
    cov_k[:, 1, 1] = sigma2 * f11 / ts ** 2
    return NestedFit(
        reml=reml, client_cov=client_cov, theta=np.asarray(theta), loglik=-dev / 2,
        converged=True, optimizer=method, n_evaluations=evals,
        gradient_max_abs=float(np.max(np.abs(grad))) if len(grad) else 0.0,
        fe_names=nd.fe_names, beta=beta, beta_cov=beta_cov, sigma2=sigma2,
        clinician_cov=sigma2 * (d @ lk @ lk.T @ d),
        client_cov_matrix=sigma2 * (d @ lc @ lc.T @ d),
        clinician_effects=pd.DataFrame({"clinician_id": nd.clinicians, "intercept": bk0,
                                        "slope": bk1 / ts}),
        clinician_effects_cov=cov_k,
        client_effects=nd.clients.assign(intercept=bc0, slope=bc1 / ts),
        clinician_of_client=nd.clinician_of_client, scores_per_client=nd.s00,
        fittedvalues=fitted, resid=nd.y - fitted)
