"""The caller's columns for :func:`perfkit.fit_growth`: checked (:func:`check_columns`), encoded
(the baseline centred, categorical covariates as R's treatment contrasts) and laid out as the
rows :mod:`perfkit.nested` fits (:func:`model_frame`), with the design matrix
:meth:`perfkit.GrowthResult.predict` rebuilds for new rows (:func:`fixed_columns`). The fitting
and its result are :mod:`perfkit.growth`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Spec", "Encoding", "check_columns", "check_numeric", "fixed_columns", "id_codes",
           "model_frame"]

_COVARIANCES = ("diagonal", "correlated")


@dataclass(frozen=True)
class Spec:
    """What the caller asked for: column names and options."""

    score: str
    time: str
    client: str
    clinician: str | None
    baseline: str | None
    covariates: tuple[str, ...]
    client_covariance: str

    @property
    def baseline_term(self) -> str | None:
        return None if self.baseline is None else f"{self.baseline}_c"

    @property
    def client_group(self) -> str:
        return self.client if self.clinician is None else f"{self.clinician}:{self.client}"


def id_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of an id column, in order of first appearance (-1 where missing), and the
    distinct ids as an object array: :func:`pandas.factorize`, fed the column the way that is
    fast for it. A pyarrow-backed text column in many chunks (as ``pandas.concat`` of many
    small frames leaves it) is factorized as Python strings: pandas' Arrow path encodes it
    chunk by chunk, ten times slower. Other text columns go in as Python strings too, except
    an Arrow column in one chunk (pandas hashes it in Arrow); numbers and categories as they
    are."""
    arr = ids.array
    if isinstance(ids.dtype, pd.StringDtype | pd.ArrowDtype):
        import pyarrow as pa

        one_chunk = getattr(pa.array(arr), "num_chunks", 1) <= 1
        codes, uniques = pd.factorize(ids if one_chunk else ids.to_numpy(dtype=object))
    elif isinstance(ids.dtype, pd.CategoricalDtype) or (
            pd.api.types.is_numeric_dtype(ids.dtype) and not pd.api.types.is_bool_dtype(
                ids.dtype)):
        codes, uniques = pd.factorize(ids)
    else:
        codes, uniques = pd.factorize(ids.to_numpy(dtype=object))
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _is_time_like(s: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
        return True
    if s.dtype == object:
        first = s.dropna().head(20)
        return any(isinstance(v, (pd.Timestamp, np.datetime64, pd.Timedelta))
                   or hasattr(v, "isoformat") for v in first)
    return False


def check_numeric(data: pd.DataFrame, col: str, role: str) -> None:
    s = data[col]
    if role == "time" and _is_time_like(s):
        raise ValueError(
            f"the time column '{col}' holds dates or durations, but time must be numeric "
            "(weeks, sessions, ...): convert it first, for example with "
            f"perfkit.weeks_since(data['{col}'], origin=...)")
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise ValueError(f"the {role} column '{col}' must be numeric, but it holds "
                         f"{s.dtype} values")


def check_columns(data, spec: Spec) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame with one row per score")
    if spec.client_covariance not in _COVARIANCES:
        raise ValueError("client_covariance must be 'diagonal' (client level and change "
                         "independent) or 'correlated'")
    roles = [("score", spec.score), ("time", spec.time), ("client", spec.client)]
    if spec.clinician is not None:
        roles.append(("clinician", spec.clinician))
    if spec.baseline is not None:
        roles.append(("baseline", spec.baseline))
    roles += [("covariate", c) for c in spec.covariates]
    names = [c for _, c in roles]
    for role, col in roles:
        if not isinstance(col, str) or col not in data.columns:
            shown = ", ".join(repr(str(c)) for c in list(data.columns)[:12])
            more = ", ..." if len(data.columns) > 12 else ""
            raise ValueError(f"the {role} column {col!r} is not in the data (its columns: "
                             f"{shown}{more})")
        if names.count(col) > 1:
            raise ValueError(f"the column '{col}' is given for more than one role: each of "
                             "score, time, client, clinician, baseline and covariates needs "
                             "its own column")
    check_numeric(data, spec.time, "time")
    check_numeric(data, spec.score, "score")
    if spec.baseline is not None:
        check_numeric(data, spec.baseline, "baseline")


@dataclass(frozen=True)
class Encoding:
    """How the fixed effects are built from the caller's columns (kept for ``predict``)."""

    names: tuple[str, ...]
    center: float  # the baseline's centre (NaN without a baseline)
    levels: dict = field(default_factory=dict)  # categorical covariate -> its levels


def _encode(data: pd.DataFrame, spec: Spec, center: float | None) -> Encoding:
    names = ["(Intercept)", spec.time]
    if spec.baseline is not None:
        names.append(spec.baseline_term)
    levels = {}
    for c in spec.covariates:
        s = data[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            names.append(c)
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            seen = set(s.dropna())
            lv = [v for v in s.cat.categories if v in seen]
        else:
            lv = sorted(s.dropna().unique(), key=str)
        if len(lv) < 2:
            raise ValueError(f"the covariate '{c}' takes a single value in the rows fitted: "
                             "it cannot be estimated (leave it out)")
        levels[c] = tuple(lv)
        names += [f"{c}{v}" for v in lv[1:]]  # R's treatment contrasts: first level omitted
    if spec.baseline is not None:
        names.append(f"{spec.time}:{spec.baseline_term}")
    return Encoding(tuple(names), float("nan") if center is None else float(center), levels)


def fixed_columns(data: pd.DataFrame, spec: Spec, enc: Encoding) -> np.ndarray:
    """The fixed-effect columns of a researcher's model on ``data``, encoded as the fit
    encoded them (``enc``): intercept, time, the baseline centred on the fit's centre,
    each covariate (a categorical one as indicators of its levels after the first), and
    time x baseline. A covariate value the fit never saw is an error."""
    t = data[spec.time].to_numpy(dtype=float)
    cols = [np.ones(len(data)), t]
    if spec.baseline is not None:
        b = data[spec.baseline].to_numpy(dtype=float) - enc.center
        cols.append(b)
    for c in spec.covariates:
        if c in enc.levels:
            s = data[c]
            unknown = ~s.isin(enc.levels[c]) & s.notna()
            if unknown.any():
                raise ValueError(f"the covariate '{c}' has values the fit did not see "
                                 f"({int(unknown.sum())} rows)")
            cols += [(s == v).to_numpy(dtype=float) for v in enc.levels[c][1:]]
        else:
            cols.append(data[c].to_numpy(dtype=float))
    if spec.baseline is not None:
        cols.append(t * b)
    return np.column_stack(cols)


def model_frame(data: pd.DataFrame, spec: Spec, baseline_center: float | None):
    """The rows fitted, as :mod:`perfkit.nested` reads them (``clinician_id``, ``client_id``
    as an episode number, ``time``, ``score`` and the design's columns), in the fitter's order,
    with the encoding, the episodes and the number of rows left out for missing values."""
    used = [spec.score, spec.time, spec.client] + ([spec.clinician] if spec.clinician else []) \
        + ([spec.baseline] if spec.baseline else []) + list(spec.covariates)
    complete = data[used].notna().all(axis=1).to_numpy()
    d = data[used] if complete.all() else data.loc[complete, used]
    n_dropped = int((~complete).sum())
    if not len(d):
        raise ValueError("no row has every column of the model filled in")
    for col in (spec.score, spec.time) + ((spec.baseline,) if spec.baseline else ()):
        if not np.isfinite(d[col].to_numpy(dtype=float)).all():
            raise ValueError(f"the column '{col}' holds infinite values")
    if spec.clinician:
        kc, clinicians = id_codes(d[spec.clinician])
    else:
        kc, clinicians = np.zeros(len(d), dtype=np.int64), np.array([0], dtype=object)
    kl, client_uniques = id_codes(d[spec.client])
    key = kc * (int(kl.max()) + 1) + kl
    # the order perfkit.nested.prepare would take: the data's own when sorted by episode
    if np.all(key[1:] >= key[:-1]):
        order = None
    else:
        order = np.argsort(key, kind="stable")
        d, key, kc, kl = d.iloc[order], key[order], kc[order], kl[order]
    episode = np.cumsum(np.r_[True, key[1:] != key[:-1]]) - 1
    n_clients = int(episode[-1] + 1)
    first = np.r_[True, episode[1:] != episode[:-1]]
    if spec.baseline is not None:
        b = d[spec.baseline].to_numpy(dtype=float)
        varies = (b[1:] != b[:-1]) & ~first[1:]  # a client's row unlike the one before
        if varies.any():
            n = len(np.unique(episode[1:][varies]))
            raise ValueError(f"the baseline '{spec.baseline}' must be the same on every row of "
                             f"a client, but it differs within {n} clients")
        if baseline_center is None:
            baseline_center = float(b[first].mean())
    enc = _encode(d, spec, baseline_center)
    X = fixed_columns(d, spec, enc)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("the fixed effects cannot all be estimated from these rows: a "
                         "covariate is constant or a combination of the others (or of time "
                         "or the baseline)")
    n_clin = len(clinicians) if spec.clinician else 0
    if spec.clinician is not None and n_clin < 2:
        raise ValueError("the data have a single clinician: a clinician level needs at least "
                         "two (fit clients only with clinician=None)")
    if n_clients >= len(d):
        raise ValueError(f"{len(d)} scores from {n_clients} clients: each client needs more "
                         "than one score on average to separate clients from residual noise")
    # ids as integer codes (clinician in order, episode numbers): fast for the fitter to
    # group, and read back into the caller's ids after the fit (_named)
    cols = [f"x{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame({"clinician_id": kc if spec.clinician else np.zeros(len(d), np.int64),
                          "client_id": episode, "time": d[spec.time].to_numpy(dtype=float),
                          "score": d[spec.score].to_numpy(dtype=float),
                          **dict(zip(cols, X.T, strict=True))})
    episodes = pd.DataFrame({"clinician": clinicians[kc[first]] if spec.clinician else None,
                             "client": client_uniques[kl[first]]})
    index = d.index[:]  # the caller's index of each fitted row, in frame order
    from .design import Design

    return frame, Design(tuple(cols), enc.names), enc, episodes, n_dropped, index
