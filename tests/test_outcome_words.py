"""The funnel's signal is a code in the table and words in the report: the codes by hand, and
the words exactly as the table said them before it held codes."""

from __future__ import annotations

import pandas as pd
import pytest

import perfkit as pk
from perfkit import outcomes as oc
from perfkit.report.outcome_words import against_range, signal_label, signal_side


def test_funnel_signal_codes_by_hand():
    # practice rate 208 / 383 = 54.3%; at 40 episodes the 99.8% limits are about 54% +/- 25
    # points, at 100 episodes the 95% upper limit about 64% and the 99.8% one about 70%
    rows = [("A", 40, 40), ("B", 40, 0), ("C", 200, 100), ("E", 100, 66), ("D", 3, 2)]
    classified = pd.DataFrame([
        {"instrument": "PHQ-9", "clinician_id": c, "paired": True, "in_period": True,
         "reliable_improvement": i < k} for c, n, k in rows for i in range(n)])
    f = oc.funnel_points(pd.DataFrame(), pk.load_config(), classified=classified)
    got = dict(zip(f["clinician_id"], f["signal"], strict=True))
    assert got == {"A": "above_outer", "B": "below_outer", "C": "within", "E": "above_inner",
                   "D": "too_few"}
    assert f["practice_rate"].iloc[0] == pytest.approx(208 / 383)
    assert set(f["signal"]) <= set(oc.SIGNALS)


@pytest.mark.parametrize(("code", "label", "range_words"), [
    ("within", "within limits", "inside"),
    ("above_inner", "above 95% limit", "above it: better than expected"),
    ("above_outer", "above 99.8% limit", "above it: better than expected"),
    ("below_inner", "below 95% limit", "below it: worse than expected"),
    ("below_outer", "below 99.8% limit", "below it: worse than expected"),
    ("too_few", "fewer than 10 paired episodes", ""),
])
def test_signal_words_are_the_old_labels(code, label, range_words):
    assert signal_label(code, (0.95, 0.998), 10) == label
    assert against_range(code) == range_words
    assert signal_side(code) in ("inside", "above", "below", "")
