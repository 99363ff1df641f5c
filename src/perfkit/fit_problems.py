"""What can go wrong while fitting a growth model, as data: the warnings a fit records and the
error a failed fit raises.

- :func:`recording` catches, by category, the warnings a fit is expected to raise
  (statsmodels' ``ConvergenceWarning``, ``HessianInversionWarning`` and
  ``SingularMatrixWarning``, numpy's and scipy's
  ``RuntimeWarning``, scipy's ``OptimizeWarning``) and keeps each as ``(category, message)``;
  any other warning is passed on unchanged, to the caller's filters (the test suite's
  included). A fit stores what it recorded (``GrowthFit.warnings``, ``GrowthResult.warnings``,
  ``model_summary.json``); :mod:`perfkit.report.model_words` says it to analysts.
- :class:`FitError` is raised when no fit can be made, with one sentence naming the model, the
  optimizers tried and the last error, and a ``reason`` code (:data:`REASONS`).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

__all__ = ["FitError", "REASONS", "expected_categories", "recording", "why_failed",
           "raise_failed"]

# Why a model fell back or failed: the codes a fit carries (``GrowthFit.reason``) and
# FitError.reason. Presentation words them (perfkit.report.model_words).
REASONS = (
    "too_few_for_three_levels",  # a two-level model: too few clinicians or clients
    "too_little_data",  # descriptive only: too few scores or clients for any model
    "optimizer_failed",  # every optimizer tried stopped with an error
    "singular_design",  # the fixed effects cannot all be estimated from these rows
)


class FitError(ValueError):
    """No fit could be made: ``reason`` (one of :data:`REASONS`), ``model`` (which model),
    ``optimizers`` (those tried, in order) and ``last_error`` (the last one's message)."""

    def __init__(self, message: str, *, reason: str, model: str = "",
                 optimizers: tuple[str, ...] = (), last_error: str = ""):
        super().__init__(message)
        self.reason = reason
        self.model = model
        self.optimizers = tuple(optimizers)
        self.last_error = last_error


def expected_categories() -> tuple[type[Warning], ...]:
    """The warning categories a fit may raise and records (imported when asked: statsmodels
    is slow to import and perfkit.growth does without it)."""
    from scipy.optimize import OptimizeWarning
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        SingularMatrixWarning,
    )

    return (ConvergenceWarning, HessianInversionWarning, SingularMatrixWarning, RuntimeWarning,
            OptimizeWarning)


@contextmanager
def recording(into: list, categories: tuple[type[Warning], ...] | None = None):
    """Record the warnings of ``categories`` (default :func:`expected_categories`) raised in
    the block into ``into`` as ``(category name, message)``, each once; pass every other
    warning on to the caller's filters as it was raised."""
    categories = expected_categories() if categories is None else categories
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield into
    finally:
        for w in caught:
            if issubclass(w.category, categories):
                item = (w.category.__name__, str(w.message))
                if item not in into:
                    into.append(item)
            else:  # not expected: to the caller's filters, as if never caught
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                       source=w.source)


def why_failed(data, fit) -> str:
    """Why a model could not be fitted to ``data`` (``fit``: the fit under construction, its
    ``fixed`` formula and counts), as a code of :data:`REASONS`: the fixed effects not all
    estimable (``singular_design``), no more scores than clients (``too_little_data``), else
    ``optimizer_failed``."""
    import numpy as np

    from .design import design_matrix

    try:
        _, X, _ = design_matrix(data, fit.fixed)
        singular = np.linalg.matrix_rank(X) < X.shape[1]
    except Exception:  # noqa: BLE001 - a formula patsy cannot build is not estimable either
        singular = True
    if singular:
        return "singular_design"
    return "too_little_data" if fit.n_scores <= fit.n_clients else "optimizer_failed"


def raise_failed(fit, data, model: str):
    """Raise :class:`FitError` for a model no optimizer could fit (``fit``: the fit under
    construction, with its candidates): which model, the optimizers tried, the last error and
    the reason (:func:`why_failed`)."""
    tried = tuple(c["optimizer"] for c in fit.candidates)
    last = next((c["error"] for c in reversed(fit.candidates) if c.get("error")), "")
    what = f"the {model}" + (f" for {fit.instrument}" if fit.instrument else "")
    reason = why_failed(data, fit)
    if reason == "singular_design":
        why = (f"its fixed effects ({fit.fixed}) cannot all be estimated from these "
               f"{fit.n_scores} scores (a term is constant or a combination of the others)")
    elif reason == "too_little_data":
        why = (f"too little data ({fit.n_scores} scores from {fit.n_clients} clients: each "
               "client needs more than one score)")
    else:
        why = (f"every optimizer tried ({', '.join(tried)}, on {fit.n_scores} scores from "
               f"{fit.n_clients} clients) stopped with an error")
    raise FitError(f"{what} could not be fitted: {why}; the last error: {last or 'none'}",
                   reason=reason, model=what.removeprefix("the "), optimizers=tried,
                   last_error=last)
