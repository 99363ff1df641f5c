"""The reference datasets and their lme4 fits (tests/reference), shared by the model tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REF = Path(__file__).parent / "reference"
NAMES = ["small_practice", "varied_clinicians", "no_clinician_effect"]


def lme4(name: str) -> dict:
    """lme4's fit of a reference dataset: quantity -> value (as text)."""
    ref = pd.read_csv(REF / "lme4" / f"{name}.csv", dtype={"value": str})
    return {q: v.strip() for q, v in zip(ref.quantity, ref.value, strict=True)}


def load(name: str) -> pd.DataFrame:
    """A reference dataset (the columns of model_data_<instrument>.csv)."""
    return pd.read_csv(REF / "data" / f"{name}.csv",
                       dtype={"clinician_id": str, "client_id": str})
