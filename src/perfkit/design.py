"""The fixed-effect design of a growth model: the response and design matrix a formula or a
:class:`Design` gives on a frame of scores. The fitters (:mod:`perfkit.nested`,
:mod:`perfkit.models`) and the account of a failed fit (:mod:`perfkit.fit_problems`) build it
the same way."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Design", "design_matrix"]


@dataclass(frozen=True)
class Design:
    """Fixed effects given as numeric columns of the data (no formula): the ``score`` column
    is the response and ``columns`` (in order) the design matrix, named ``names`` (as
    :func:`perfkit.fit_growth` names them, lme4's coefficient names)."""

    columns: tuple[str, ...]
    names: tuple[str, ...]


def design_matrix(d: pd.DataFrame, fixed) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """y, X and the fixed-effect names (statsmodels' names for a formula, the design's own
    for a :class:`Design`). perfkit's own formula is built directly (patsy takes a large share
    of the fit time at 100k scores); others go to patsy."""
    if isinstance(fixed, Design):
        return (d["score"].to_numpy(dtype=float),
                d[list(fixed.columns)].to_numpy(dtype=float).reshape(len(d), -1),
                list(fixed.names))
    if fixed.replace(" ", "") == "score~time*intake_c":
        w = d["time"].to_numpy(dtype=float)
        c = d["intake_c"].to_numpy(dtype=float)
        X = np.column_stack([np.ones_like(w), w, c, w * c])
        return d["score"].to_numpy(dtype=float), X, ["Intercept", "time", "intake_c",
                                                     "time:intake_c"]
    from patsy import dmatrices

    yd, xd = dmatrices(fixed, d, return_type="dataframe", NA_action="raise")
    return yd.to_numpy(dtype=float)[:, 0], xd.to_numpy(dtype=float), list(xd.columns)
