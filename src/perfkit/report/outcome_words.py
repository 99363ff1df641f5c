"""The outcome tables' codes in words: the funnel's ``signal`` (``tables/funnel.csv``, where a
clinician's reliable-improvement rate lies against the control limits) and a model estimate's
``side`` (``tables/clinician_effects.csv``). Compute writes codes
(:data:`perfkit.outcomes.SIGNALS`, :data:`perfkit.outcomes.EFFECT_SIDES`); every sentence a
reader sees is made here."""

from __future__ import annotations

__all__ = ["signal_side", "signal_label", "against_range", "effect_meaning"]

_SIDE = {"within": "inside", "above_inner": "above", "above_outer": "above",
         "below_inner": "below", "below_outer": "below", "too_few": ""}


def signal_side(code: str) -> str:
    """``inside``, ``above`` or ``below`` the limits ("" without a point)."""
    return _SIDE.get(str(code), "")


def signal_label(code: str, levels: tuple[float, float], min_episodes: int) -> str:
    """The code as the funnel table said it before it held codes: ``within limits``,
    ``above 95% limit``, ``below 99.8% limit``, ``fewer than 10 paired episodes``
    (``levels``: ``outcomes.funnel_levels``, inner then outer)."""
    inner, outer = levels
    side = signal_side(code)
    if code == "within":
        return "within limits"
    if not side:
        return f"fewer than {min_episodes} paired episodes"
    level = f"{outer:.1%}" if code.endswith("outer") else f"{inner:.0%}"
    return f"{side} {level} limit"


def against_range(code: str) -> str:
    """Where a clinician lies against the range chance alone allows, as the owner's small
    funnel table says it."""
    return {"inside": "inside", "above": "above it: better than expected",
            "below": "below it: worse than expected"}.get(signal_side(code), "")


_EFFECT_MEANING = {
    "within": "the likely range includes zero: your clients' scores changed at a rate the "
              "data cannot tell apart from the practice average",
    "better": "your clients' scores improved faster than the practice average, after allowing "
              "for how ill they were at intake",
    "worse": "your clients' scores improved more slowly than the practice average, after "
             "allowing for how ill they were at intake",
}


def effect_meaning(side: str) -> str:
    """What a clinician's model estimate means, to them, from its ``side`` (``better``,
    ``worse``, ``within``: where its 95% interval lies against zero)."""
    return _EFFECT_MEANING[side]
