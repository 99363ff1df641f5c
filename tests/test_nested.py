"""perfkit's nested growth-model fitter against three independent computations: the dense
textbook REML likelihood (V built in full), statsmodels' MixedLM, and lme4 (fixtures in
tests/reference/lme4, produced by tests/reference/lme4_fits.R; CI does not need R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import models as mo
from perfkit import nested

from reference_fits import NAMES, lme4, load


def dense_loglik(d: pd.DataFrame, G_clin, G_client, sigma2, *, reml=True):
    """The (RE)ML log-likelihood at given variance components, the textbook way: V in full,
    beta by generalized least squares (Harville 1977; Pinheiro & Bates 2000, 2.2)."""
    n = len(d)
    X = np.column_stack([np.ones(n), d.time, d.intake_c, d.time * d.intake_c])
    y = d.score.to_numpy(float)
    Z = np.column_stack([np.ones(n), d.time])
    V = sigma2 * np.eye(n)
    clin = d.clinician_id.to_numpy()
    client = (d.clinician_id + "/" + d.client_id).to_numpy()
    for i in range(n):
        for j in range(n):
            if clin[i] == clin[j]:
                V[i, j] += Z[i] @ G_clin @ Z[j]
            if client[i] == client[j]:
                V[i, j] += Z[i] @ G_client @ Z[j]
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    r = y - X @ beta
    ll = -0.5 * (np.linalg.slogdet(V)[1] + r @ Vi @ r + n * np.log(2 * np.pi))
    if reml:
        p = X.shape[1]
        ll += -0.5 * np.linalg.slogdet(XtViX)[1] + 0.5 * p * np.log(2 * np.pi)
    return ll


@pytest.fixture(scope="module")
def tiny():
    d = mo.simulate_growth_data(4, 3, 4, seed=7)
    return d, nested.prepare(d)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("client_cov", ["diagonal", "unstructured"])
def test_profiled_deviance_equals_the_dense_likelihood(tiny, reml, client_cov):
    """At any theta, the profiled deviance is -2 x the dense log-likelihood at the implied
    variance components (sigma^2 profiled out: r^2 / (n - p) for REML, r^2 / n for ML)."""
    d, nd = tiny
    theta = np.array([0.7, -0.05, 0.2, 1.1, 0.4] if client_cov == "diagonal" else
                     [0.7, -0.05, 0.2, 1.1, -0.3, 0.4])
    dev = nested.deviance(nd, theta, reml=reml, client_cov=client_cov)
    fit = nested._finish(nd, theta, reml, client_cov, dev, "-", 0, np.zeros(1))
    ll = dense_loglik(d, fit.clinician_cov, fit.client_cov_matrix, fit.sigma2, reml=reml)
    assert -dev / 2 == pytest.approx(ll, abs=1e-8)


def test_conditional_effects_equal_the_dense_blup(tiny):
    """Clinician conditional means G Z' V^-1 (y - X beta) and covariances
    G - G Z' P Z G (here with beta fixed: G - G Z' V^-1 Z G, as lme4's condVar)."""
    d, nd = tiny
    theta = np.array([0.7, -0.05, 0.2, 1.1, 0.4])
    dev = nested.deviance(nd, theta)
    fit = nested._finish(nd, theta, True, "diagonal", dev, "-", 0, np.zeros(1))
    n = len(d)
    X = np.column_stack([np.ones(n), d.time, d.intake_c, d.time * d.intake_c])
    Z = np.column_stack([np.ones(n), d.time])
    Gk, Gc, s2 = fit.clinician_cov, fit.client_cov_matrix, fit.sigma2
    V = s2 * np.eye(n)
    clin, client = d.clinician_id.to_numpy(), (d.clinician_id + d.client_id).to_numpy()
    for i in range(n):
        for j in range(n):
            V[i, j] += (clin[i] == clin[j]) * (Z[i] @ Gk @ Z[j]) \
                + (client[i] == client[j]) * (Z[i] @ Gc @ Z[j])
    Vi = np.linalg.inv(V)
    r = d.score.to_numpy(float) - X @ fit.beta
    for k, cid in enumerate(fit.clinician_effects.clinician_id):
        Zk = Z * (clin == cid)[:, None]
        b = Gk @ Zk.T @ Vi @ r
        cov = Gk - Gk @ Zk.T @ Vi @ Zk @ Gk
        got = fit.clinician_effects.iloc[k]
        assert [got.intercept, got.slope] == pytest.approx(b, abs=1e-9)
        assert fit.clinician_effects_cov[k] == pytest.approx(cov, abs=1e-9)


def dense_deviance(d: pd.DataFrame, theta, t_scale: float, *, reml: bool,
                   client_cov: str) -> float:
    """The profiled deviance at theta, the textbook way: V0 = I + Z Lambda Lambda' Z' in full
    (time divided by t_scale, as the fitter's theta is), beta by generalized least squares,
    sigma^2 profiled out (Bates et al. 2015, eq. 34 and 42)."""
    n = len(d)
    X = np.column_stack([np.ones(n), d.time, d.intake_c, d.time * d.intake_c])
    y = d.score.to_numpy(float)
    Z = np.column_stack([np.ones(n), d.time / t_scale])
    lk = np.array([[theta[0], 0], [theta[1], theta[2]]])
    lc = np.array([[theta[3], 0], [0, theta[4]]]) if client_cov == "diagonal" else \
        np.array([[theta[3], 0], [theta[4], theta[5]]])
    clin = d.clinician_id.to_numpy()
    client = (d.clinician_id + "/" + d.client_id).to_numpy()
    same_k = (clin[:, None] == clin[None, :])
    same_c = (client[:, None] == client[None, :])
    V = np.eye(n) + same_k * (Z @ lk @ lk.T @ Z.T) + same_c * (Z @ lc @ lc.T @ Z.T)
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    r = y - X @ beta
    r2 = r @ Vi @ r
    m = n - X.shape[1] if reml else n
    dev = np.linalg.slogdet(V)[1] + m * (1 + np.log(2 * np.pi * r2 / m))
    return dev + (np.linalg.slogdet(XtViX)[1] if reml else 0.0)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("client_cov", ["diagonal", "unstructured"])
def test_analytic_gradient_equals_finite_differences_of_the_dense_deviance(tiny, reml,
                                                                          client_cov):
    """The fitter's gradient in theta against central differences of the textbook deviance,
    at random points, one of them with the client slope factor at zero."""
    d, nd = tiny
    rng = np.random.default_rng(11)
    k = 5 if client_cov == "diagonal" else 6
    points = []
    for _ in range(3):
        theta = rng.uniform(0.2, 1.5, k)
        theta[1] = rng.normal(0, 0.4)
        if k == 6:
            theta[4] = rng.normal(0, 0.4)
        points.append(theta)
    points[-1][-1] = 0.0
    h = 1e-6
    for theta in points:
        dev, grad = nested.deviance_gradient(nd, theta, reml=reml, client_cov=client_cov)

        def dense(th):
            return dense_deviance(d, th, nd.t_scale, reml=reml, client_cov=client_cov)

        assert dev == pytest.approx(dense(theta), abs=1e-8)
        fd = [(dense(theta + h * e) - dense(theta - h * e)) / (2 * h) for e in np.eye(k)]
        assert grad == pytest.approx(np.array(fd), rel=1e-5, abs=1e-5)


def test_a_variance_factor_at_zero_is_left_where_the_deviance_falls_away_from_zero():
    """A diagonal factor's derivative is zero at zero (the deviance depends on its square), so
    a gradient method that reaches zero stays there; the fitter tries each such factor just off
    zero. Started with the client slope factor at zero, it must reach lme4's optimum."""
    d = load("varied_clinicians")
    nd = nested.prepare(d)
    start = nested.moment_theta(nd)
    start[4] = 0.0
    f = nested.fit_nested(nd, start=start)
    assert f.theta[4] > 0.01
    assert f.loglik >= float(lme4("varied_clinicians")["reml_loglik"]) - 1e-6


@pytest.fixture(scope="module")
def pair():
    """Each reference dataset fitted by both engines."""
    out = {}
    for name in NAMES:
        d = load(name)
        ours = mo.fit_growth_model(d, pk.load_config(), "PHQ-9")
        sm = mo.fit_growth_model(d, pk.load_config(models={"engine": "statsmodels"}), "PHQ-9")
        out[name] = (ours, sm)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_engines_agree_with_statsmodels(pair, name):
    ours, sm = pair[name]
    assert ours.engine.startswith("perfkit") and sm.engine.startswith("statsmodels")
    # equal or better REML log-likelihood, within 0.01 of statsmodels'
    assert ours.reml_loglik == pytest.approx(sm.reml_loglik, abs=0.01)
    assert ours.reml_loglik >= sm.reml_loglik - 1e-3
    pd.testing.assert_series_equal(ours.fixed_effects, sm.fixed_effects, rtol=1e-3,
                                   atol=1e-4, check_names=False)
    # standard errors: statsmodels takes them from its own Hessian and differs from lme4 by up
    # to 4% here; perfkit's are lme4's (sigma^2 (X' V^-1 X)^-1 at the estimates)
    ref = lme4(name)
    for term in ("(Intercept)", "time", "intake_c", "time:intake_c"):
        se = ours.fixed_se["Intercept" if term == "(Intercept)" else term]
        assert se == pytest.approx(float(ref[f"se:{term}"]), rel=1e-3), term
    assert ours.singular == sm.singular
    e = ours.effects.set_index("clinician_id")
    s = sm.effects.set_index("clinician_id")
    for col in ("effect", "ci_low", "ci_high"):
        assert e[col].to_numpy() == pytest.approx(s.loc[e.index, col].to_numpy(), abs=2e-3)


@pytest.mark.parametrize("name", ["small_practice", "varied_clinicians"])
def test_variance_components_within_one_percent_of_lme4(pair, name):
    ref, f = lme4(name), pair[name][0]
    pairs = [(f.clinician_cov[0, 0], "clinician_intercept"),
             (f.clinician_cov[1, 1], "clinician_slope"),
             (f.client_intercept_var, "client_intercept"),
             (f.client_slope_var, "client_slope"), (f.residual_var, "residual")]
    for ours, q in pairs:
        assert ours == pytest.approx(float(ref[q]), rel=0.01), q
    # a covariance near zero: 1% of the geometric mean of its variances
    scale = np.sqrt(float(ref["clinician_intercept"]) * float(ref["clinician_slope"]))
    assert f.clinician_cov[0, 1] == pytest.approx(float(ref["clinician_covariance"]),
                                                  abs=0.01 * scale)


def test_correlated_client_intercept_and_slope_matches_lme4():
    """The model statsmodels cannot fit: (1 + time | clinician_id:client_id)."""
    cfg = pk.load_config(models={"client_covariance": "correlated"})
    f = mo.fit_growth_model(load("varied_clinicians"), cfg, "PHQ-9")
    ref = lme4("varied_clinicians_correlated")
    assert f.reml_loglik == pytest.approx(float(ref["reml_loglik"]), abs=0.01)
    for ours, q in [(f.clinician_cov[0, 0], "clinician_intercept"),
                    (f.clinician_cov[1, 1], "clinician_slope"),
                    (f.clinician_cov[0, 1], "clinician_covariance"),
                    (f.client_intercept_var, "client_intercept"),
                    (f.client_slope_var, "client_slope"), (f.residual_var, "residual")]:
        assert ours == pytest.approx(float(ref[q]), rel=0.01), q
    cov = float(ref["client_covariance"])
    corr = cov / np.sqrt(float(ref["client_intercept"]) * float(ref["client_slope"]))
    assert f.client_corr == pytest.approx(corr, rel=0.01)
    assert "(1 + time | clinician_id:client_id)" in f.formula
    assert mo.model_summary([f])["PHQ-9"]["variance_components"][
        "client_intercept_slope_corr"] == pytest.approx(corr, rel=0.01)


def test_correlated_model_finds_the_optimum_where_lme4_stopped_short():
    """On small_practice lme4 1.1.31 stops at a singular point (logLik -2051.10), below even the
    independent model's -2048.19, which the correlated model contains; perfkit's fit must be at
    least as good as the independent model's."""
    cfg = pk.load_config(models={"client_covariance": "correlated"})
    f = mo.fit_growth_model(load("small_practice"), cfg, "PHQ-9")
    assert float(lme4("small_practice_correlated")["reml_loglik"]) < float(
        lme4("small_practice")["reml_loglik"])
    assert f.reml_loglik >= float(lme4("small_practice")["reml_loglik"]) - 1e-3


def test_ml_fit_matches_statsmodels_ml():
    d = load("varied_clinicians")
    ours = mo.fit_growth_model(d, pk.load_config(), "PHQ-9", reml=False)
    sm = mo.fit_growth_model(d, pk.load_config(models={"engine": "statsmodels"}), "PHQ-9",
                             reml=False)
    assert "ML" in ours.engine
    assert ours.ml_loglik == pytest.approx(sm.ml_loglik, abs=0.01)
    assert np.isnan(ours.reml_loglik)  # an ML fit has no REML log-likelihood


def test_two_level_fit_matches_statsmodels():
    d = load("varied_clinicians")
    cfg = pk.load_config(models={"min_clinicians": 50})  # force the two-level fallback
    ours = mo.fit_growth_model(d, cfg, "PHQ-9")
    sm = mo.fit_growth_model(d, pk.load_config(models={"min_clinicians": 50,
                                                       "engine": "statsmodels"}), "PHQ-9")
    assert ours.level == sm.level == "two-level"
    assert ours.reml_loglik == pytest.approx(sm.reml_loglik, abs=0.01)
    assert ours.client_intercept_var == pytest.approx(sm.client_intercept_var, rel=0.01)


def test_correlated_clients_need_the_perfkit_engine():
    cfg = pk.load_config(models={"engine": "statsmodels", "client_covariance": "correlated"})
    with pytest.raises(pk.ConfigError, match="correlated needs models.engine: perfkit"):
        mo.fit_growth_model(load("small_practice"), cfg, "PHQ-9")


def test_row_order_does_not_matter():
    d = load("varied_clinicians")
    a = nested.fit_nested(d)
    b = nested.fit_nested(d.sample(frac=1, random_state=3))
    assert a.loglik == pytest.approx(b.loglik, abs=1e-6)
    assert a.beta == pytest.approx(b.beta, rel=1e-6)


def test_the_explorer_refits_the_demo_model_with_other_settings():
    from perfkit import explore
    from perfkit.cache import demo_run
    from perfkit.report import load_run

    run = load_run(demo_run())
    ind = explore.model_view(run, "PHQ-9", "independent", 3)
    cor = explore.model_view(run, "PHQ-9", "correlated", 3)
    longer = explore.model_view(run, "PHQ-9", "independent", 5)
    assert np.isnan(ind.client_corr) and -1 < cor.client_corr < 1
    assert cor.reml_loglik >= ind.reml_loglik - 1e-6  # the correlated model nests the other
    assert longer.n_clients < ind.n_clients


def test_a_newton_step_from_near_the_optimum_reaches_it():
    """The polish after L-BFGS-B: one Newton step (Hessian from differences of the analytic
    gradient) from a point near lme4's optimum lands where the gradient is about zero."""
    nd = nested.prepare(load("varied_clinicians"))
    best = nested.fit_nested(nd)
    bounds = nested._bounds("diagonal", False)

    def fg(th):
        return nested.deviance_gradient(nd, th)

    near = best.theta + np.array([2e-3, -1e-3, 1e-3, 2e-3, -1e-3])
    dev0, g0 = fg(near)
    step = nested._newton_step(fg, near, g0, bounds)
    dev1, g1 = fg(step)
    assert dev1 < dev0
    assert np.max(np.abs(g1)) < 1e-2 * np.max(np.abs(g0))
    assert -dev1 / 2 >= float(lme4("varied_clinicians")["reml_loglik"]) - 1e-6
