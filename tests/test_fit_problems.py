"""Failed and troubled fits: warnings caught by category and recorded (never shown raw to the
owner, never lost), unexpected warnings passed on, failures named with their reason."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import perfkit as pk
from perfkit import model_checks, nested
from perfkit import models as mo
from perfkit.fit_problems import FitError, recording
from perfkit.report import model_words, research

from reference_fits import load


def _cfg(engine="statsmodels", **models):
    return pk.load_config(models={"engine": engine, **models})


def test_recording_keeps_expected_categories_once_and_passes_others_on():
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    got: list = []
    with pytest.warns(UserWarning, match="not a fit's") as passed:
        with recording(got):
            warnings.warn("did not settle", ConvergenceWarning, stacklevel=1)
            warnings.warn("did not settle", ConvergenceWarning, stacklevel=1)
            np.log(np.array([-1.0]))  # numpy's RuntimeWarning: invalid value
            warnings.warn("not a fit's", UserWarning, stacklevel=1)
    assert got[0] == ("ConvergenceWarning", "did not settle")
    assert [c for c, _ in got] == ["ConvergenceWarning", "RuntimeWarning"]
    assert len(passed) == 1  # the unexpected one reached the caller's filters, once


def test_unexpected_warning_becomes_an_error_under_an_error_filter():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning):
            with recording([]):
                warnings.warn("old", DeprecationWarning, stacklevel=1)


def test_statsmodels_warnings_are_recorded_in_the_fit_and_the_summary():
    # small_practice: statsmodels warns that the MLE may be on the boundary (its lbfgs run)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing escapes the fit
        fit = mo.fit_growth_model(load("small_practice"), _cfg(), "PHQ-9")
    assert ("ConvergenceWarning", "The MLE may be on the boundary of the parameter space.") \
        in fit.warnings
    assert all(isinstance(c, str) and isinstance(m, str) for c, m in fit.warnings)
    s = mo.model_summary([fit])["PHQ-9"]
    assert {"category": "ConvergenceWarning",
            "message": "The MLE may be on the boundary of the parameter space."} in s["warnings"]
    assert s["candidates"][0]["warnings"]  # each optimizer run keeps its own
    said = model_words.warning_sentences("PHQ-9", fit.warnings, converged=True)
    assert said[0].replace("\\", "") == (
        "While the model for PHQ-9 was fitted, the optimizer reported trouble converging: The "
        "MLE may be on the boundary of the parameter space.")
    shown = research.describe_fit(fit).data.set_index("Fit")
    assert shown.loc["Warnings recorded", "Value"] == str(len(fit.warnings))


def test_a_fit_that_did_not_converge_says_so_in_words():
    said = model_words.warning_sentences(
        "PHQ-9", [("ConvergenceWarning", "Gradient optimization failed, |grad| = 5.2")],
        converged=False)
    assert [s.replace("\\", "") for s in said] == [
        "The model for PHQ-9 did not converge: Gradient optimization failed, |grad| = 5.2."]


def test_perfkit_engine_records_no_warning_on_the_reference_data():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = mo.fit_growth_model(load("varied_clinicians"), pk.load_config(), "PHQ-9")
    assert fit.warnings == ()
    assert mo.model_summary([fit])["PHQ-9"]["warnings"] == []
    assert str(model_words.warnings_text(fit)).startswith("No warnings were raised")


def test_every_optimizer_failing_is_a_named_error(monkeypatch):
    # before: TypeError: cannot unpack non-iterable NoneType object
    monkeypatch.setattr(mo, "_fit_once", lambda *a, **k: (
        None, "LinAlgError: Singular matrix", []))
    with pytest.raises(FitError) as err:
        mo.fit_growth_model(load("small_practice"), _cfg(), "PHQ-9")
    e = err.value
    assert e.reason == "optimizer_failed"
    assert e.optimizers == ("lbfgs", "bfgs", "nm", "bfgs")
    assert e.last_error == "LinAlgError: Singular matrix"
    assert str(e).startswith("the three-level growth model for PHQ-9 could not be fitted: "
                             "every optimizer tried (lbfgs, bfgs, nm, bfgs, on ")
    assert str(e).endswith("the last error: LinAlgError: Singular matrix")
    assert isinstance(e, ValueError)


@pytest.mark.parametrize("engine", ["statsmodels", "perfkit"])
def test_a_design_that_cannot_be_estimated_is_named_so(engine):
    d = load("small_practice").assign(intake_c=1.0)  # a constant: intake_c is the intercept
    with pytest.raises(FitError) as err:
        mo.fit_growth_model(d, _cfg(engine), "PHQ-9")
    assert err.value.reason == "singular_design"
    assert "cannot all be estimated" in str(err.value)


def test_a_failed_two_level_fit_does_not_say_too_little_data(monkeypatch):
    d = load("small_practice")
    d = d[d["clinician_id"].isin(d["clinician_id"].unique()[:3])]  # three: two-level
    cfg = _cfg()
    ok = mo.fit_growth_model(d, cfg, "PHQ-9")
    assert (ok.level, ok.reason) == ("two-level", "too_few_for_three_levels")
    monkeypatch.setattr(mo, "_fit_once", lambda *a, **k: (None, "ValueError: boom", []))
    fit = mo.fit_growth_model(d, cfg, "PHQ-9")
    assert (fit.level, fit.reason) == ("descriptive", "optimizer_failed")
    said = [model_words.message_words(m) for m in fit.messages]
    assert not any("too little data" in m for m in said)
    assert fit.messages[-1] == {"code": "optimizer_failed", "scores": len(d),
                                "clients": fit.n_clients}
    assert said[-1].startswith(f"the model of clients could not be fitted to {len(d)} scores")
    assert "boom" not in " ".join(said)  # library text stays in the candidates
    assert fit.candidates[-1]["error"] == "ValueError: boom"
    assert mo.model_summary([fit])["PHQ-9"]["reason"] == "optimizer_failed"


def test_too_little_data_is_still_too_little_data():
    d = load("small_practice").head(30)
    fit = mo.fit_growth_model(d, pk.load_config(), "PHQ-9")
    assert (fit.level, fit.reason) == ("descriptive", "too_little_data")
    assert model_words.message_words(fit.messages[-1]).startswith(
        "too little data for a model (30 scores")


def test_one_clinician_is_two_level_with_its_reason():
    d = load("small_practice")
    d = d[d["clinician_id"] == d["clinician_id"].iloc[0]]
    cfg = pk.load_config(models={"min_scores_total": 5, "min_clients_two_level": 2})
    fit = mo.fit_growth_model(d, cfg, "PHQ-9")
    assert (fit.level, fit.reason) == ("two-level", "too_few_for_three_levels")
    assert model_words.message_words(fit.messages[-1]).startswith("too few clinicians (1)")
    assert fit.messages[-1]["code"] == fit.reason  # the reason is said in its message


def test_nested_fitter_names_a_likelihood_defined_nowhere(monkeypatch):
    d = load("small_practice")
    monkeypatch.setattr(nested, "_deviance_at", lambda *a, **k: np.inf)
    with pytest.raises(FitError) as err:
        nested.fit_nested(d)
    assert err.value.reason == "singular_design"
    assert err.value.optimizers[0] == "L-BFGS-B"


def test_comparison_codes_are_worded_as_before():
    d = load("small_practice")
    out = model_checks.compare_models(d, pk.load_config())
    assert out["model"].tolist() == ["two_level_case_mix", "three_level_time_only",
                                     "three_level_case_mix"]
    shown = research.comparison_table(out).data
    assert shown["Model"].tolist() == ["two-level, case mix", "three-level, no case mix",
                                       "three-level, case mix (reported above)"]
    assert shown["What it includes"].tolist() == [
        "clients only; intake and its interaction with time", "clinicians and clients; time "
        "only", "clinicians and clients; intake and its interaction with time"]
    assert list(shown.columns[:2]) == ["Model", "What it includes"]
    assert shown["LR test against the three-level case-mix model"].iloc[0].endswith(
        "(conservative)")
