"""perfkit.fit_growth and perfkit.compare_growth against lme4 on frames with a researcher's own
column names (tests/reference/lme4_api/, written by tests/reference/lme4_fits.R).

The reference datasets are renamed as a researcher might name them (therapist, patient, weeks,
phq, intake), their client ids cut to the part after the clinician's (``T001-007`` -> ``007``),
so the same client id appears under several clinicians (lme4's ``therapist:patient``), and
their rows shuffled. lme4 fitted them with tight optimizer tolerances (its optimum itself).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import growth, model_checks
from perfkit import models as mo

from reference_fits import NAMES, REF, load

API = REF / "lme4_api"
FITS = {  # lme4's name -> fit_growth's keywords
    "baseline_diagonal": {"baseline": "intake"},
    "baseline_correlated": {"baseline": "intake", "client_covariance": "correlated"},
    "plain_diagonal": {},
    "plain_correlated": {"client_covariance": "correlated"},
    "two_level": {"baseline": "intake", "clinician": None},
}
THREE_LEVEL = [f for f in FITS if f != "two_level"]


def frame(name: str, seed: int = 0) -> pd.DataFrame:
    src = load(name)
    d = pd.DataFrame({"therapist": src["clinician_id"],
                      "patient": src["client_id"].str.split("-").str[-1],
                      "weeks": src["time"], "phq": src["score"], "intake": src["intake"],
                      "note": "unused"})
    return d.sample(frac=1.0, random_state=seed)  # order must not matter


def fit(d: pd.DataFrame, variant: str, **kw) -> growth.GrowthResult:
    args = {"score": "phq", "time": "weeks", "client": "patient", "clinician": "therapist"}
    args.update(FITS[variant])
    args.update(kw)
    if args["clinician"] is None:  # clients only: a client id must then be unique by itself
        d = d.assign(episode=d["therapist"] + "/" + d["patient"])
        args["client"] = "episode"
    return pk.fit_growth(d, **args)


@pytest.fixture(scope="module")
def fits():
    return {(n, v): fit(frame(n), v) for n in NAMES for v in FITS}


def reference(name: str) -> pd.DataFrame:
    return pd.read_csv(API / f"{name}.csv", dtype={"value": str})


def quantities(name: str, variant: str) -> dict[str, float]:
    r = reference(name)
    r = r[r["fit"] == variant]
    return {q: float(v) for q, v in zip(r["quantity"], r["value"], strict=True)}


CASES = [(n, v) for n in NAMES for v in FITS]


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_loglik_aic_bic_match_lme4(fits, name, variant):
    ref, f = quantities(name, variant), fits[name, variant]
    assert f.loglik == pytest.approx(ref["logLik"], abs=2e-5)
    assert f.aic == pytest.approx(ref["AIC"], abs=5e-5)
    assert f.bic == pytest.approx(ref["BIC"], abs=5e-5)
    assert f.npar == int(ref["npar"])
    assert f.n_obs == int(ref["nobs"])
    assert f.singular == bool(ref["singular"])
    assert f.converged and f.reml


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_fixed_effects_and_se_match_lme4(fits, name, variant):
    ref, f = quantities(name, variant), fits[name, variant]
    names = [q.split(":", 1)[1] for q in ref if q.startswith("fixef:")]
    assert list(f.fixed.index) == names == list(f.fixed_se.index)  # lme4's names and order
    for term in names:
        assert f.fixed[term] == pytest.approx(ref[f"fixef:{term}"], rel=1e-4, abs=1e-6)
        assert f.fixed_se[term] == pytest.approx(ref[f"se:{term}"], rel=1e-4)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_variance_components_match_lme4(fits, name, variant):
    ref, f = quantities(name, variant), fits[name, variant]
    vc = f.variance_components
    keys = {q.rsplit("|", 1)[0] for q in ref if q.startswith("vc|")}
    assert len(vc) == len(keys)
    resid = ref["vc|Residual|||vcov"]
    for row in vc.itertuples():
        grp = "therapist:patient" if row.grp == "episode" else row.grp  # the same clients
        key = "|".join(["vc", grp, row.var1 or "", row.var2 or ""])
        assert key in keys
        # variances to 1e-4 of the residual variance; correlations of a variance near zero
        # are ill-determined, so they are compared only where both variances are clear of it
        assert row.vcov == pytest.approx(ref[f"{key}|vcov"], rel=1e-3, abs=1e-4 * resid)
        if row.var2 is None:
            assert row.sdcor == pytest.approx(ref[f"{key}|sdcor"], rel=1e-3, abs=1e-3)
        elif not f.singular:
            assert row.sdcor == pytest.approx(ref[f"{key}|sdcor"], abs=2e-3)


def ranef(name: str) -> pd.DataFrame:
    return pd.read_csv(API / f"{name}_ranef.csv", dtype={"id": str})


@pytest.mark.parametrize(("name", "variant"), [(n, v) for n in NAMES for v in THREE_LEVEL])
def test_clinician_conditional_modes_match_lme4(fits, name, variant):
    r = ranef(name)
    r = r[(r["fit"] == variant) & (r["level"] == "therapist")].set_index("id")
    e = fits[name, variant].clinician_effects.set_index("therapist")
    assert list(e.index) == sorted(r.index)
    r = r.loc[e.index]
    assert e["intercept"].to_numpy() == pytest.approx(r["intercept"].to_numpy(), abs=2e-4)
    assert e["slope"].to_numpy() == pytest.approx(r["slope"].to_numpy(), abs=2e-5)
    assert e["intercept_se"].to_numpy() ** 2 == pytest.approx(r["var_intercept"].to_numpy(),
                                                              rel=2e-3, abs=1e-6)
    assert e["slope_se"].to_numpy() ** 2 == pytest.approx(r["var_slope"].to_numpy(),
                                                          rel=2e-3, abs=1e-8)
    # the 95% interval is the mode +/- 1.959964 conditional standard deviations
    assert (e["slope_high"] - e["slope"]).to_numpy() == pytest.approx(
        1.959964 * np.sqrt(r["var_slope"].to_numpy()), rel=2e-3, abs=1e-6)
    assert e["n_clients"].sum() == fits[name, variant].n_clients


@pytest.mark.parametrize("name", NAMES)
def test_client_conditional_modes_match_lme4(fits, name):
    r = ranef(name)
    r = r[r["level"] == "therapist:patient"]
    lme4_id = r["id"].str.split(":")  # lme4 names a nested level "therapist:patient"
    r = r.assign(therapist=lme4_id.str[0], patient=lme4_id.str[1]).set_index(
        ["therapist", "patient"])
    ce = fits[name, "baseline_correlated"].client_effects.set_index(["therapist", "patient"])
    assert len(ce) == len(r) == fits[name, "baseline_correlated"].n_clients
    r = r.loc[ce.index]
    assert ce["intercept"].to_numpy() == pytest.approx(r["intercept"].to_numpy(), abs=5e-4)
    assert ce["slope"].to_numpy() == pytest.approx(r["slope"].to_numpy(), abs=5e-5)


@pytest.mark.parametrize("name", NAMES)
def test_predict_matches_lme4(fits, name):
    p = pd.read_csv(API / f"{name}_predict.csv", dtype={"therapist": str, "patient": str})
    for variant in ("baseline_diagonal", "baseline_correlated", "plain_diagonal"):
        f = fits[name, variant]
        # a new client of a known clinician takes the clinician's modes only; a new clinician
        # neither (lme4's allow.new.levels = TRUE)
        assert f.predict(p).to_numpy() == pytest.approx(p[variant].to_numpy(), abs=5e-4)
        assert f.predict(p[["weeks", "intake"]], random=False).to_numpy() == pytest.approx(
            p[f"{variant}_fixed"].to_numpy(), abs=5e-4)


def test_fitted_and_residuals_are_on_the_callers_rows(fits):
    """The shuffled frame's own index: fitted = predict on the same rows, residual = score -
    fitted."""
    d = frame("varied_clinicians")
    f = fits["varied_clinicians", "baseline_correlated"]
    assert f.fitted.index.equals(d.index.sort_values())
    assert f.fitted.to_numpy() == pytest.approx(f.predict(d).sort_index().to_numpy(), abs=1e-9)
    assert f.residuals.to_numpy() == pytest.approx(
        (d["phq"].sort_index() - f.fitted).to_numpy(), abs=1e-9)


def test_lme4_formula_is_the_call_that_gives_the_same_fit(fits):
    f = fits["small_practice", "baseline_diagonal"]
    assert f.lme4_formula == ("phq ~ weeks * intake_c + (1 + weeks | therapist) "
                              "+ (1 | therapist:patient) + (0 + weeks | therapist:patient)")
    assert fits["small_practice", "plain_correlated"].lme4_formula == (
        "phq ~ weeks + (1 + weeks | therapist) + (1 + weeks | therapist:patient)")
    assert fits["small_practice", "two_level"].lme4_formula == (
        "phq ~ weeks * intake_c + (1 | episode) + (0 + weeks | episode)")
    # the centre is the mean intake over clients, each client once (as the R script centres)
    d = frame("small_practice")
    assert f.baseline_center == pytest.approx(
        d.drop_duplicates(["therapist", "patient"])["intake"].mean(), abs=1e-12)


ANOVA = {  # comparison in the R script -> (smaller, larger, compare_growth's refit)
    "baseline_vs_plain": ("plain_diagonal", "baseline_diagonal", None),
    "diagonal_vs_correlated_reml": ("baseline_diagonal", "baseline_correlated", None),
    "diagonal_vs_correlated_ml": ("baseline_diagonal", "baseline_correlated", True),
    "two_vs_three_levels_reml": ("two_level", "baseline_diagonal", None),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("comparison", ANOVA)
def test_compare_growth_gives_r_anova(fits, name, comparison):
    r = pd.read_csv(API / f"{name}_anova.csv")
    r = r[r["comparison"] == comparison].reset_index(drop=True)
    a, b, refit = ANOVA[comparison]
    # given larger model first: rows come out fewer parameters first, as anova() orders them
    out = pk.compare_growth(fits[name, b], fits[name, a], refit=refit, names=("b", "a"))
    assert list(out.index) == ["a", "b"]
    assert list(out.columns) == ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df",
                                 "Pr(>Chisq)"]
    assert out.attrs["criterion"] == ("REML" if comparison.endswith("reml") else "ML")
    assert out["npar"].tolist() == r["npar"].tolist()
    for col in ("AIC", "BIC", "logLik", "deviance"):
        assert out[col].to_numpy() == pytest.approx(r[col].to_numpy(), abs=5e-5)
    assert np.isnan(out["Chisq"].iloc[0]) and np.isnan(out["Pr(>Chisq)"].iloc[0])
    assert out["Chisq"].iloc[1] == pytest.approx(r["Chisq"].iloc[1], abs=5e-5)
    assert out["Df"].iloc[1] == r["Df"].iloc[1]
    assert out["Pr(>Chisq)"].iloc[1] == pytest.approx(r["Pr(>Chisq)"].iloc[1], rel=1e-3,
                                                      abs=1e-6)


def test_compare_growth_refuses_what_would_be_wrong(fits):
    a, b = fits["small_practice", "plain_diagonal"], fits["small_practice", "baseline_diagonal"]
    with pytest.raises(ValueError, match="not comparable"):
        pk.compare_growth(a, b, refit=False)
    with pytest.raises(ValueError, match="not on the same rows"):
        pk.compare_growth(b, fits["varied_clinicians", "baseline_diagonal"])


def test_results_are_immutable_and_read_well(fits):
    f = fits["varied_clinicians", "baseline_diagonal"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.loglik = 0.0
    r = repr(f)
    assert len(r) < 200 and "phq ~ weeks * intake_c" in r and f"{f.loglik:.2f}" in r
    text = str(f.summary())
    for part in (f.lme4_formula, "Random effects", "Fixed effects", "therapist:patient",
                 f"{f.fixed['weeks']:.4g}", f"{f.n_obs} scores", "Converged: yes"):
        assert part in text
    assert "<table" in f._repr_html_() and "<table" in f.summary()._repr_html_()


def test_hostile_column_names_are_escaped_in_html():
    d = frame("small_practice").rename(columns={"therapist": "<script>t</script>"})
    f = pk.fit_growth(d, score="phq", time="weeks", client="patient",
                      clinician="<script>t</script>")
    page = f.summary().html
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_datetime_time_is_refused_with_the_sentence():
    d = frame("small_practice")
    origin = pd.Timestamp("2026-01-05")
    naive = d.assign(when=origin + pd.to_timedelta(d["weeks"] * 7, unit="D"))
    aware = naive.assign(when=naive["when"].dt.tz_localize("America/New_York"))
    for data in (naive, aware, naive.assign(when=naive["when"].astype(object))):
        with pytest.raises(ValueError, match="time must be numeric") as err:
            pk.fit_growth(data, score="phq", time="when", client="patient",
                          clinician="therapist")
        assert "perfkit.weeks_since(data['when'], origin=...)" in str(err.value)
    with pytest.raises(ValueError, match="'week' is not in the data"):
        pk.fit_growth(d, score="phq", time="week", client="patient", clinician="therapist")


def test_weeks_since_by_hand():
    d = pd.Series(pd.to_datetime(["2026-01-05", "2026-01-19", "2026-01-08 12:00"],
                                 format="ISO8601"))
    assert pk.weeks_since(d, origin="2026-01-05").tolist() == pytest.approx([0, 2, 0.5])
    # across the start of daylight saving time (8 March 2026 in New York): 14 days less an
    # hour is 335 hours, 335 / 168 weeks
    ny = pd.Series(pd.to_datetime(["2026-03-16"])).dt.tz_localize("America/New_York")
    start = pd.Timestamp("2026-03-02", tz="America/New_York")
    assert pk.weeks_since(ny, origin=start).iloc[0] == pytest.approx(335 / 168)
    with pytest.raises(ValueError, match="both be naive or both"):
        pk.weeks_since(ny, origin="2026-03-02")
    # each client's own start date as the origin gives back the numeric weeks, and their fit
    src = frame("small_practice")
    start = pd.Timestamp("2026-01-05") + pd.to_timedelta(src["patient"].astype(int), "D")
    dated = src.assign(when=start + pd.to_timedelta(src["weeks"] * 7, "D"))
    dated["w"] = pk.weeks_since(dated["when"], origin=start)
    assert dated["w"].to_numpy() == pytest.approx(src["weeks"].to_numpy(), abs=1e-12)
    a = pk.fit_growth(dated, score="phq", time="w", client="patient", clinician="therapist")
    b = pk.fit_growth(src, score="phq", time="weeks", client="patient", clinician="therapist")
    assert a.loglik == pytest.approx(b.loglik, abs=1e-6)


def test_client_ids_are_nested_in_clinicians(fits):
    d = frame("small_practice")
    f = fits["small_practice", "baseline_diagonal"]
    assert f.n_clients == len(d.drop_duplicates(["therapist", "patient"])) == 141
    assert d["patient"].nunique() < 141  # the same id under several clinicians
    unique = d.assign(patient=d["therapist"] + "-" + d["patient"])
    g = fit(unique, "baseline_diagonal")
    assert g.loglik == pytest.approx(f.loglik, abs=1e-8)
    assert (g.n_clients, g.n_clinicians, g.n_obs) == (141, 8, len(d))


def test_missing_values_left_out_and_counted():
    d = frame("varied_clinicians")
    holes = d.copy()
    holes.loc[holes.index[:3], "phq"] = np.nan
    f = fit(holes, "plain_diagonal")
    g = fit(d.iloc[3:], "plain_diagonal")
    assert (f.n_dropped, f.n_obs) == (3, len(d) - 3)
    assert f.loglik == pytest.approx(g.loglik, abs=1e-8)
    assert "3 rows with a missing value left out" in str(f.summary())


def test_covariates_named_and_coded_as_r_does():
    d = frame("small_practice")
    per_client = d[["therapist", "patient"]].drop_duplicates()
    rng = np.random.default_rng(1)
    per_client["site"] = rng.choice(["north", "south", "east"], len(per_client))
    d = d.merge(per_client, on=["therapist", "patient"])
    d["south"] = (d["site"] == "south").astype(float)
    d["north"] = (d["site"] == "north").astype(float)
    cat = fit(d, "baseline_diagonal", covariates="site")
    num = fit(d, "baseline_diagonal", covariates=["north", "south"])
    # treatment contrasts against the first level in sorted order ("east"), named as R does
    assert list(cat.fixed.index) == ["(Intercept)", "weeks", "intake_c", "sitenorth",
                                     "sitesouth", "weeks:intake_c"]
    assert cat.lme4_formula.startswith("phq ~ weeks * intake_c + site + (1 + weeks")
    assert cat.loglik == pytest.approx(num.loglik, abs=1e-8)
    assert cat.fixed.to_numpy() == pytest.approx(num.fixed.to_numpy(), abs=1e-8)
    assert cat.predict(d.head(5)).to_numpy() == pytest.approx(num.predict(d.head(5)).to_numpy())
    with pytest.raises(ValueError, match="cannot all be estimated"):
        fit(d.assign(twice=2 * d["weeks"]), "plain_diagonal", covariates="twice")


def test_baseline_must_be_constant_within_a_client():
    d = frame("small_practice")
    d.loc[d.index[0], "intake"] += 1
    with pytest.raises(ValueError, match="differs within 1 clients"):
        fit(d, "baseline_diagonal")


# -- the reports' pipeline: the same function ---------------------------------------------------


@pytest.mark.parametrize("covariance", ["independent", "correlated"])
def test_reports_fit_through_fit_growth(covariance):
    """models.fit_growth_model is perfkit.fit_growth on model_data's columns: the same numbers
    under statsmodels' names, and the lme4 counts of parameters."""
    d = load("varied_clinicians")
    cfg = pk.load_config(models={"client_covariance": covariance})
    ours = mo.fit_growth_model(d, cfg, "PHQ-9")
    direct = pk.fit_growth(d, score="score", time="time", client="client_id",
                           clinician="clinician_id", baseline="intake_c", baseline_center=0.0,
                           client_covariance="diagonal" if covariance == "independent"
                           else "correlated")
    assert ours.loglik == direct.loglik
    assert ours.fixed_effects.to_numpy() == pytest.approx(direct.fixed.to_numpy(), abs=0)
    assert list(ours.fixed_effects.index) == ["Intercept", "time", "intake_c", "time:intake_c"]
    eff = direct.clinician_effects.set_index("clinician_id")
    assert ours.effects.set_index("clinician_id")["ci_high"].to_numpy() == pytest.approx(
        eff["slope_high"].to_numpy(), abs=0)
    assert ours.n_params == direct.npar == (10 if covariance == "independent" else 11)


@pytest.mark.parametrize(("covariance", "counts"),
                         [("independent", [7, 8, 10]), ("correlated", [8, 9, 11])])
def test_compare_models_counts_every_parameter(covariance, counts):
    """Two-level case mix: 4 fixed + client 2 (3 correlated) + residual; three-level adds the
    clinicians' 3; without case mix 2 fixed effects fewer. The tests are compare_growth's."""
    d = load("small_practice")
    cfg = pk.load_config(models={"client_covariance": covariance})
    out = model_checks.compare_models(d, cfg)
    assert out["parameters"].tolist() == counts
    assert out["Chi Df"].tolist()[:2] == [3, 2]
    cov = "diagonal" if covariance == "independent" else "correlated"
    kw = {"score": "score", "time": "time", "baseline_center": 0.0, "client_covariance": cov}
    three = pk.fit_growth(d, client="client_id", clinician="clinician_id", baseline="intake_c",
                          **kw)
    plain = pk.fit_growth(d, client="client_id", clinician="clinician_id", **kw)
    lr = pk.compare_growth(plain, three)
    assert out["Chisq"].iloc[1] == pytest.approx(lr["Chisq"].iloc[1], abs=1e-4)
    assert out["Pr(>Chisq)"].iloc[1] == pytest.approx(lr["Pr(>Chisq)"].iloc[1], rel=1e-4)


# -- the documentation's worked example ----------------------------------------------------------


def test_the_worked_example_in_docs_runs_and_says_what_it_prints(tmp_path, monkeypatch):
    """docs/growth.md's Python blocks, in order, from the CSV on: the repr, the summary lines
    and the comparison it quotes are what the code prints."""
    import re

    doc = (REF.parent.parent / "docs" / "growth.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)[1:]  # the first is a sketch
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    for block in blocks:
        exec(compile(block, "docs/growth.md", "exec"), ns)  # noqa: S102 (our own docs)
    fit = ns["fit"]
    assert repr(fit) in doc
    for line in str(fit.summary()).splitlines():
        assert line in doc, line
    lr = pk.compare_growth(ns["plain"], fit)
    assert f"{lr['Chisq'].iloc[1]:.6f}" in doc and f"{lr['BIC'].iloc[0]:.6f}" in doc
    lr2 = pk.compare_growth(ns["clients_only"], fit)
    assert (f"Chisq {lr2['Chisq'].iloc[1]:.1f} on 3 df, p = {lr2['Pr(>Chisq)'].iloc[1]:.1e}"
            in doc)
