"""The growth models' codes in words: the messages of a fit (for analysts, and in plainer words
for the owner's page; they say why a model fell back), the warnings a fit recorded, and the rows
of the model comparison (:func:`perfkit.model_checks.compare_models` returns codes and numbers;
the words are here).

Library text (a warning's own message) is shown to analysts only, in the outcomes-research
notebook; the owner's and clinicians' pages never carry it.
"""

from __future__ import annotations

import numpy as np

from ..hostile_text import md
from .format import Text, num

__all__ = ["MESSAGE_WORDS", "WARNING_WORDS", "COMPARED_MODELS", "message_words",
           "messages_text", "warning_sentences", "warnings_text", "compared_model_words",
           "p_value"]

_AVERAGE_ONLY = ": showing the average change only, with no clinician estimates"

# A fit's messages (perfkit.models.MESSAGE_CODES): per code, the analysts' words and the
# owner's (no "singular", "boundary", "converge" or "two-level model" on the owner's page), each
# a template of the message's values. A fit that fell back from three levels says why in a
# message of its reason's code (perfkit.fit_problems.REASONS): these are the reasons' words too
MESSAGE_WORDS = {
    "not_converged": (
        "the model did not converge: treat its estimates with caution",
        "the calculation did not settle on an answer: treat its figures with caution"),
    "clinicians_indistinguishable": (
        "differences between clinicians are not distinguishable from zero here: every "
        "clinician's estimate is the practice average",) * 2,
    "boundary": (
        "the data do not show variation in {components} (estimated at the boundary), so the "
        "model is singular there; the clinician estimates allow for it",
        "the scores show no differences in {components}, so that part of the comparison is set "
        "to none; the rest is unaffected"),
    "too_few_for_three_levels": (
        "too few clinicians ({clinicians}) or clients ({clients}) to separate clinicians from "
        "clients: a two-level model of clients gives the practice's average change, and no "
        "clinician is estimated separately",
        "too few clinicians ({clinicians}) or clients ({clients}) to tell clinicians apart: no "
        "clinician is compared on this measure"),
    "too_little_data": (
        "too little data for a model ({scores} scores from {clients} clients)" + _AVERAGE_ONLY,
        "too few scores to compare clinicians ({scores} scores from {clients} clients)"
        + _AVERAGE_ONLY),
    "optimizer_failed": (
        "the model of clients could not be fitted to {scores} scores from {clients} clients "
        "(every optimizer tried stopped with an error)" + _AVERAGE_ONLY,) * 2,
    "singular_design": (
        "the model's terms cannot all be estimated from {scores} scores from {clients} clients "
        "(a term is constant or a combination of the others)" + _AVERAGE_ONLY,) * 2,
}

# What each recorded warning category means, in plain words
WARNING_WORDS = {
    "ConvergenceWarning": "the optimizer reported trouble converging",
    "HessianInversionWarning": "the curvature of the likelihood could not be inverted, so its "
                               "standard errors may be unreliable",
    "SingularMatrixWarning": "a covariance of the random effects was singular (a variance at "
                             "zero) on the way",
    "RuntimeWarning": "a number overflowed or was undefined on the way",
    "OptimizeWarning": "the optimizer warned about its settings or its result",
}

# compare_models' model codes: the label and what each model includes
COMPARED_MODELS = {
    "two_level_case_mix": ("two-level, case mix",
                           "clients only; intake and its interaction with time"),
    "three_level_time_only": ("three-level, no case mix", "clinicians and clients; time only"),
    "three_level_case_mix": ("three-level, case mix", "clinicians and clients; intake and its "
                             "interaction with time"),
}


def message_words(message: dict, *, owner: bool = False) -> str:
    """One of a fit's messages (``{"code", ...values}``) in words: the analysts', or the
    owner's (``owner=True``: plainer, its counts thousands-separated). Not escaped."""
    values = {k: v for k, v in message.items() if k != "code"}
    if owner:
        values = {k: num(v, 0) if isinstance(v, int) else v for k, v in values.items()}
    if "components" in values:
        values["components"] = ", ".join(values["components"])
    return MESSAGE_WORDS[message["code"]][1 if owner else 0].format(**values)


def messages_text(messages, *, owner: bool = False) -> str:
    """A fit's messages in words, joined by "; " ("" for none). Not escaped."""
    return "; ".join(message_words(m, owner=owner) for m in messages)


def warning_sentences(instrument: str, warnings, converged: bool) -> list[str]:
    """One sentence per recorded warning ``(category, message)``: "The model for PHQ-9 did not
    converge: ..." when the fit did not and statsmodels said so, else what the category means
    and the library's own message (Markdown-escaped)."""
    out = []
    for category, message in warnings:
        said = md(str(message).strip().rstrip("."))
        if category == "ConvergenceWarning" and not converged:
            out.append(f"The model for {md(instrument)} did not converge: {said}.")
        else:
            what = WARNING_WORDS.get(category, f"a {md(category)} was raised")
            out.append(f"While the model for {md(instrument)} was fitted, {what}: {said}.")
    return out


def warnings_text(fit) -> Text:
    """The warnings a :class:`perfkit.models.GrowthFit` recorded, as a list of sentences (or
    one line saying there were none)."""
    said = warning_sentences(fit.instrument, fit.warnings, fit.converged)
    if not said:
        return Text(f"No warnings were raised while the model for {md(fit.instrument)} was "
                    "fitted.")
    return Text("\n".join(f"- {s}" for s in said))


def compared_model_words(code: str) -> tuple[str, str]:
    """A compared model's code as (label, what it includes)."""
    return COMPARED_MODELS[code]


def p_value(p: float) -> str:
    """A p-value as a reader should see it: three decimals, or "< 0.001" below that (never
    "p = 0")."""
    return "–" if not np.isfinite(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"
