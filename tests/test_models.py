"""Growth models against lme4 reference fits, the demo's planted effects, and the fallbacks.

The lme4 fixtures in tests/reference/lme4/ were produced by tests/reference/lme4_fits.R (lme4
1.1.31) from the datasets in tests/reference/data/; CI does not need R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit import models as mo
from perfkit import outcomes as oc
from perfkit.report import model_words

from reference_fits import NAMES, REF, lme4, load


@pytest.fixture(scope="module")
def fits():
    cfg = pk.load_config()
    return {n: mo.fit_growth_model(load(n), cfg, "PHQ-9") for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_reml_loglik_matches_lme4(fits, name):
    # tolerance: 0.01 log-likelihood units
    assert fits[name].reml_loglik == pytest.approx(float(lme4(name)["reml_loglik"]), abs=0.01)


@pytest.mark.parametrize("name", NAMES)
def test_fixed_effects_match_lme4(fits, name):
    ref = lme4(name)
    fe = fits[name].fixed_effects
    for term in ("(Intercept)", "time", "intake_c", "time:intake_c"):
        ours = fe["Intercept" if term == "(Intercept)" else term]
        # within 1e-3 of the estimate's own scale, or 1e-4 absolute for tiny terms
        assert ours == pytest.approx(float(ref[f"fixef:{term}"]), rel=1e-3, abs=1e-4), term


@pytest.mark.parametrize("name", ["small_practice", "varied_clinicians"])
def test_variance_components_match_lme4(fits, name):
    ref, f = lme4(name), fits[name]
    # within 1% of lme4's value (or a small absolute margin for components near zero)
    pairs = [(f.clinician_cov[0, 0], "clinician_intercept"),
             (f.clinician_cov[1, 1], "clinician_slope"),
             (f.clinician_cov[0, 1], "clinician_covariance"),
             (f.client_intercept_var, "client_intercept"),
             (f.client_slope_var, "client_slope"), (f.residual_var, "residual")]
    for ours, q in pairs:
        assert ours == pytest.approx(float(ref[q]), rel=0.01, abs=2e-4), q
    assert f.converged and not f.singular


def test_singular_fit_is_reported_in_plain_words(fits):
    f = fits["no_clinician_effect"]
    assert lme4("no_clinician_effect")["singular"].startswith("1")
    assert f.singular
    assert {"code": "clinicians_indistinguishable"} in f.messages
    # the clinicians' estimates collapse onto the practice average
    assert f.effects["effect"].abs().max() < 0.01


@pytest.mark.parametrize("name", NAMES)
def test_clinician_effects_and_intervals_equal_lme4(fits, name):
    """Each clinician's effect is lme4's conditional mode of the time slope and the interval
    is that mode +/- 1.959964 conditional standard deviations (``ranef(condVar = TRUE)``,
    tests/reference/lme4/<name>_ranef.csv). Singular fits: both collapse to zero."""
    ref = pd.read_csv(REF / "lme4" / f"{name}_ranef.csv", dtype={"clinician_id": str},
                      ).set_index("clinician_id")
    e = fits[name].effects.set_index("clinician_id").loc[ref.index]
    assert e["effect"].to_numpy() == pytest.approx(ref["slope"].to_numpy(), abs=5e-4)
    half = 1.959964 * np.sqrt(ref["slope_condvar"].to_numpy())
    assert (e["effect"] - e["ci_low"]).to_numpy() == pytest.approx(half, rel=0.01, abs=1e-4)
    assert (e["ci_high"] - e["effect"]).to_numpy() == pytest.approx(half, rel=0.01, abs=1e-4)


def test_effects_table_shape(fits):
    e = fits["small_practice"].effects
    assert list(e.columns) == ["clinician_id", "instrument", "effect", "ci_low", "ci_high",
                               "n_clients", "n_assessments", "side"]
    assert e.n_assessments.sum() == len(load("small_practice"))
    assert set(e["side"]) <= set(oc.EFFECT_SIDES)


def test_an_effects_side_is_read_with_the_measures_direction():
    """``side`` says where the 95% interval lies against zero, for the measure's direction;
    the reports only word it (they never compare an interval with zero)."""
    e = pd.DataFrame({"effect": [-0.2, 0.3, 0.0, np.nan], "ci_low": [-0.3, 0.1, -0.1, np.nan],
                      "ci_high": [-0.1, 0.5, 0.0, np.nan]})
    lower, higher = oc.effect_sides(e, "lower")["side"], oc.effect_sides(e, "higher")["side"]
    assert lower.tolist()[:3] == ["better", "worse", "within"] and pd.isna(lower.iloc[3])
    assert higher.tolist()[:3] == ["worse", "better", "within"] and pd.isna(higher.iloc[3])
    tiny = mo.fit_growth_model(mo.simulate_growth_data(3, 6, 4, seed=5), pk.load_config(),
                               "GAD-7")
    assert tiny.effects["side"].isna().all()  # no estimate, no side


def test_tiny_practice_falls_back_with_a_plain_message():
    cfg = pk.load_config()
    tiny = mo.simulate_growth_data(3, 6, 4, seed=5)
    fit = mo.fit_growth_model(tiny, cfg, "GAD-7")
    assert fit.level == "two-level"
    assert fit.messages[0] == {"code": "too_few_for_three_levels", "clinicians": 3,
                              "clients": fit.n_clients}
    assert "too few clinicians (3)" in model_words.message_words(fit.messages[0])
    assert fit.effects.effect.isna().all()
    smaller = mo.simulate_growth_data(2, 2, 3, seed=6)
    fit = mo.fit_growth_model(smaller, cfg, "GAD-7")
    assert fit.level == "descriptive" and fit.messages[0]["code"] == "too_little_data"
    assert "too little data" in model_words.message_words(fit.messages[0])
    assert np.isfinite(fit.fixed_effects["time"])


def test_summary_json_fields(fits):
    s = mo.model_summary([fits["small_practice"]])["PHQ-9"]
    for key in ("fixed_effects", "variance_components", "share_of_variance_due_to_clinicians",
                "reml_loglik", "converged", "singular", "engine", "optimizer", "fit_seconds",
                "n_clinicians", "n_clients", "n_scores", "lme4_formula"):
        assert key in s
    # the summary carries the fit's numbers, checked against lme4's (not against the fit)
    ref = lme4("small_practice")
    assert s["reml_loglik"] == pytest.approx(float(ref["reml_loglik"]), abs=0.01)
    assert s["fixed_effects"]["time"]["estimate"] == pytest.approx(float(ref["fixef:time"]),
                                                                   rel=1e-3)
    assert s["fixed_effects"]["time"]["se"] == pytest.approx(float(ref["se:time"]), rel=0.02)
    assert json.loads(json.dumps(s, allow_nan=False)) == s  # valid JSON: no NaN, no objects
    # each standard deviation is its variance's root (the reports print them, never work
    # them out: test_the_variance_table_prints_the_summarys_standard_deviations)
    assert s["standard_deviations"]["residual"] == pytest.approx(
        s["variance_components"]["residual"] ** 0.5)
    assert set(s["standard_deviations"]) == {"clinician_intercept", "clinician_slope",
                                             "client_intercept", "client_slope", "residual"}


def test_moment_start_is_in_the_right_region():
    data = load("small_practice")
    st = mo.moment_start(data)
    ref = lme4("small_practice")
    assert st["scale"] == pytest.approx(float(ref["residual"]), rel=0.2)
    assert st["vcomp"][0] == pytest.approx(float(ref["client_intercept"]), rel=0.5)


@pytest.mark.slow
def test_demo_planted_clinician_slopes_are_recovered():
    cfg = pk.load_config(Path(__file__).parents[1] / "parameters" / "practice.yaml")
    data = pk.load_prepared()
    fit, _ = mo.fit_instrument(data.assessments, cfg, "PHQ-9")
    truth = json.loads((Path(pk.__file__).parent / "demo_data" / "demo_truth.json").read_text())
    planted = {c: v["PHQ-9"] for c, v in truth["clinician_slope_effects"].items()}
    e = fit.effects.set_index("clinician_id")
    inside = [(e.loc[c, "ci_low"] <= planted[c] <= e.loc[c, "ci_high"]) for c in e.index]
    # the README says every planted slope lies inside its 95% interval: so must the test
    assert all(inside), e.assign(planted=pd.Series(planted))
    assert np.corrcoef(e["effect"], [planted[c] for c in e.index])[0, 1] > 0.5
    assert 0.005 < fit.share_clinician < 0.15


def test_a_fit_is_immutable_and_engine_independent():
    """Both engines fill the same fields: fitted values and residuals per score, the
    clinicians' conditional modes; and a fit cannot be changed after the fact."""
    import dataclasses

    d = load("varied_clinicians")
    ours = mo.fit_growth_model(d, pk.load_config(), "PHQ-9")
    sm = mo.fit_growth_model(d, pk.load_config(models={"engine": "statsmodels"}), "PHQ-9")
    for f in (ours, sm):
        assert len(f.fitted) == len(f.residuals) == len(d)
        assert list(f.clinician_modes.columns) == ["clinician_id", "intercept", "slope"]
        assert len(f.clinician_modes) == f.n_clinicians
        with pytest.raises(dataclasses.FrozenInstanceError):
            f.level = "changed"
    a = ours.clinician_modes.set_index("clinician_id")["slope"].sort_index()
    b = sm.clinician_modes.set_index("clinician_id")["slope"].sort_index()
    assert a.to_numpy() == pytest.approx(b.to_numpy(), abs=1e-3)
    assert np.sort(ours.residuals) == pytest.approx(np.sort(sm.residuals), abs=0.05)


def test_the_variance_table_prints_the_summarys_standard_deviations():
    from perfkit.report.research import variance_table

    vc = {"clinician_intercept": 4.0, "clinician_slope": 0.01,
          "clinician_intercept_slope_corr": None, "client_intercept": 9.0,
          "client_slope": 0.04, "residual": 2.25}
    sd = {"clinician_intercept": 2.0, "clinician_slope": 0.1, "client_intercept": 3.0,
          "client_slope": 0.2, "residual": 1.5}
    shown = variance_table({"time_unit": "week", "variance_components": vc,
                            "standard_deviations": sd})
    html = shown.to_html() if hasattr(shown, "to_html") else str(shown)
    for v in ("2.00000", "0.10000", "3.00000", "0.20000", "1.50000"):
        assert v in html
    older = variance_table({"time_unit": "week", "variance_components": vc})  # no SDs
    html = older.to_html() if hasattr(older, "to_html") else str(older)
    assert "2.00000" not in html and "1.50000" not in html  # read, never worked out here


def test_model_messages_in_the_owners_words_separate_thousands():
    m = {"code": "too_little_data", "scores": 1336, "clients": 12}
    assert model_words.message_words(m) == (
        "too little data for a model (1336 scores from 12 clients): showing the average change "
        "only, with no clinician estimates")
    assert model_words.message_words(m, owner=True).startswith(
        "too few scores to compare clinicians (1,336 scores from 12 clients)")
    two = {"code": "too_few_for_three_levels", "clinicians": 2, "clients": 9}
    assert model_words.message_words(two, owner=True) == (
        "too few clinicians (2) or clients (9) to tell clinicians apart: no clinician is "
        "compared on this measure")
    # every code the fit can record has words
    assert set(model_words.MESSAGE_WORDS) == set(mo.MESSAGE_CODES)
    # a fallback's reason is said by a message of the same code
    from perfkit.fit_problems import REASONS
    assert set(REASONS) <= set(mo.MESSAGE_CODES)
