"""The checks of a table's rows (DATA_CONTRACT section 1): generic checks column by column in
contract order (values, numbers, durations, dates in the window, emails), the references to
other tables, and the rules of the clinicians and assessments tables."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from ..hostile_text import is_email_address
from .bookkeeping import _echo, _quoted, _TableResult
from .columns import ColumnMap
from .parse import (
    _column_format,
    _isin,
    _map_enum,
    _map_unique,
    _month_only,
    _parse_date,
    _parse_datetime,
    _parse_number,
)
from .services import _services
from .times import _cut_start_range, _start_with_time


def _generic_checks(res: _TableResult, spec: C.Table, cfg: Config, cmap: ColumnMap) -> None:
    raw, v = res.raw, res.verdicts
    if res.repeated_headers is not None:
        v.reject(res.repeated_headers, "repeated_header", "",
                 "the header row again (reports printed page by page repeat it)")
    if res.summary_rows is not None:
        v.reject(res.summary_rows, "summary_row", "", "a row of totals, not a record")
    if res.excluded is not None:
        v.reject(res.excluded, "excluded_row", "",
                 f"a row of another kind, not one of the {spec.name} (the column map's rows)")
    contract_cols = list(raw.columns)
    repeated = raw.duplicated(subset=contract_cols, keep="first").to_numpy()
    if spec.name == "appointments":
        # without an id, two identical rows are two appointments (a client seen twice on one
        # day in a report that prints dates only); they get occurrence numbers in their ids
        repeated = repeated & (raw["appointment_id"] != "").to_numpy()
    v.reject(repeated, "exact_duplicate", "", "the same row appears earlier in the file")
    for col in spec.columns:
        if col.required:
            v.reject((raw[col.name] == "").to_numpy(), "missing_value", col.name,
                     f"{col.name} is empty")
    if spec.key:  # rows without an id of their own get a generated one later
        live = pd.Series(v.ok & (raw[spec.key[0]] != "").to_numpy(), index=raw.index)
        dup = raw[live].duplicated(subset=list(spec.key), keep=False)
        conflict = np.zeros(len(raw), dtype=bool)
        conflict[np.flatnonzero(live)[dup.to_numpy()]] = True
        v.reject(conflict, "conflicting_duplicate_id", ",".join(spec.key),
                 f"{' + '.join(spec.key)} appears on more than one row with different values")
    if spec.name == "notes":
        _free_text_note_column(res)
    formats: dict[str, str | None] = {}  # the start's settles the day order of the others
    for col in spec.columns:
        text = raw[col.name]
        fmt = None
        month_only = None
        if spec.name == "clinicians" and col.kind == "date":  # 2023-02 or Feb 2023, stated
            text, month_only = _month_only(text, last_day=col.name == "end_date")
        start_time = spec.name == "appointments" and col.name == "start"
        if start_time:  # "10/1/2026 9:00 AM - 9:53 AM": the range's end is kept apart
            text = _cut_start_range(res, text)
        if col.kind in ("date", "datetime"):
            text, fmt = _column_format(text, cmap, spec.name, col, res.file,
                                       formats.get("start"))
            formats[col.name] = fmt
        if col.kind == "date":
            values, bad = _parse_date(text, fmt)
            v.reject(bad, "unparseable_date", col.name,
                     _quoted(col, text, "is not a date (expected YYYY-MM-DD)"))
            _reject_outside_window(res, col, text, values, cfg)
            res.typed[col.name] = values
            if month_only is not None and (month_only & v.ok).any():
                res.adjustments[f"{col.name}_month_only"] = int((month_only & v.ok).sum())
        elif col.kind == "datetime":
            if start_time:  # with the time column; text: the date and time combined
                text, values, bad, nonexistent, ambiguous, date_only = _start_with_time(
                    res, text, fmt, cfg)
            else:
                values, bad, nonexistent, ambiguous, date_only = _parse_datetime(
                    text, cfg.timezone, fmt)
            if col.name == "start":
                res.typed["start_date_only"] = pd.Series(date_only, index=raw.index)
            if spec.name == "appointments" and col.name == "cancelled_at":
                _cancellation_times(res, values, bad | nonexistent, date_only, cfg)
                if (ambiguous & v.ok).any():
                    res.adjustments["cancelled_at_ambiguous_local_time_first_occurrence"] = \
                        int((ambiguous & v.ok).sum())
                continue
            res.typed[f"_{col.name}_ambiguous"] = pd.Series(ambiguous, index=raw.index)
            v.reject(bad, "unparseable_date", col.name,
                     _quoted(col, text, "is not a date and time (expected ISO 8601 to the "
                                        "minute, such as 2026-10-27T14:30)"))
            v.reject(nonexistent, "nonexistent_local_time", col.name,
                     _quoted(col, text, f"does not exist in {cfg.timezone} (clocks "
                                        "sprang forward)"))
            _reject_outside_window(res, col, text, values, cfg)
            n_amb = int((ambiguous & v.ok).sum())
            if n_amb:
                res.adjustments[f"{col.name}_ambiguous_local_time_first_occurrence"] = n_amb
            res.typed[col.name] = values
        elif col.name == "duration_minutes" and spec.name == "appointments":
            _check_duration(res, col, text, cmap)
        elif col.kind in ("int", "number"):
            _check_number(res, col, text)
        elif col.name == "service" and spec.name == "appointments":
            _services(res, text, cfg, cmap.values.get(spec.name, {}).get(col.name, {}),
                      cmap.service_text == "free")
        elif col.kind == "enum":
            extra = cmap.values.get(spec.name, {}).get(col.name, {})
            mapped = _map_enum(text, C.VOCABULARIES[col.vocabulary], extra,
                               instrument=col.vocabulary == "instrument")
            if col.name == "service":  # DATA_CONTRACT: service defaults to therapy
                mapped = mapped.where(text != "", "therapy")
            unknown = (text != "").to_numpy() & mapped.isna().to_numpy()
            reason = C.ENUM_REASON.get(col.vocabulary, "unknown_value")
            allowed = sorted(set(C.VOCABULARIES[col.vocabulary].values()))
            v.reject(unknown, reason, col.name,
                     _quoted(col, text, f"is not a known {col.name} (allowed: "
                                        f"{', '.join(allowed)}; map other labels in the "
                                        "column map)"))
            res.typed[col.name] = mapped
        else:
            if col.name in res.fractional_ids:
                v.reject(res.fractional_ids[col.name], "invalid_id", col.name,
                         f"{col.name} is a number with a fraction (ids are text or whole "
                         "numbers)")
            if spec.name == "clinicians" and col.name == "email":
                text = _emails(res, text)
            res.typed[col.name] = text.where(text != "", None)


def _free_text_note_column(res: _TableResult) -> None:
    """A column read as the note status through a column map ("Progress Note", "Chart Status")
    whose values are mostly not note statuses is free text (what a clinician wrote), not a
    status: it is read as not provided (the documentation figures are then "not known"),
    said in validate, and never checked row by row, so no row is rejected for it and none of
    its text is quoted."""
    header = res.read_from.get("status", "status")
    text = res.raw["status"]
    filled = (text != "").to_numpy()
    if header == "status" or not filled.any():
        return
    known = _map_unique(text[filled], lambda v: C.NOTE_STATUS_SYNONYMS.get(C.normalize_label(v))
                        is not None).to_numpy(dtype=bool)
    if known.mean() >= 0.5:
        return
    res.raw["status"] = ""
    res.in_file.discard("status")
    res.not_statuses = header


def _emails(res: _TableResult, text: pd.Series) -> pd.Series:
    """The roster's ``email``: a value that is not one plain address is left empty, and the
    clinician kept (a typo in an address must not drop a clinician from every figure); the
    rows are counted under ``adjustments`` (``email_not_an_address``) and listed in
    ``invalid_email_rows`` (row 1 is the first row under the header). The value itself is
    never quoted anywhere: it is a contact detail."""
    text = text.str.strip()
    bad = np.array([t != "" and not is_email_address(t) for t in text], dtype=bool)
    res.adjustments["email_not_an_address"] = int((bad & res.verdicts.ok).sum())
    res.invalid_email_rows = [int(i) + 1 + res.title_rows
                              for i in np.flatnonzero(bad & res.verdicts.ok)]
    return text.where(~bad, "")


def _check_number(res: _TableResult, col: C.Column, text: pd.Series) -> None:
    """Read a number column: unreadable, fractional where whole numbers are due, and outside
    the contract's bounds are rejected; the values go to ``res.typed``."""
    v = res.verdicts
    values, bad = _parse_number(text)
    v.reject(bad, "invalid_number", col.name, _quoted(col, text, "is not a number"))
    if col.kind == "int":
        frac = ~np.isnan(values) & (values % 1 != 0)
        v.reject(frac, "invalid_number", col.name, _quoted(col, text, "is not a whole number"))
    out = np.zeros(len(values), dtype=bool)
    if col.lo is not None:
        out |= (values <= col.lo) if col.lo_open else (values < col.lo)
    if col.hi is not None:
        out |= values > col.hi
    if out.any():
        bounds = ([f"above {col.lo:g}" if col.lo_open else f"at least {col.lo:g}"]
                  if col.lo is not None else [])
        bounds += [f"at most {col.hi:g}"] if col.hi is not None else []
        v.reject(out & ~np.isnan(values), "out_of_range", col.name,
                 _quoted(col, text, f"is outside the allowed range ({', '.join(bounds)})"))
    res.typed[col.name] = pd.Series(values, index=res.raw.index)


def _reject_outside_window(res: _TableResult, col: C.Column, text: pd.Series,
                           values: pd.Series, cfg: Config) -> None:
    """Reject dates outside the plausible window (``dates`` in the parameters): a typo such as
    1900 or 2100 would otherwise stretch every weekly series and model. A clinician's start
    date may lie any time before the window (long tenure), never after it."""
    lo, hi = cfg.dates.window(cfg)
    x = values
    if isinstance(x.dtype, pd.DatetimeTZDtype):
        lo, hi = lo.tz_localize(cfg.timezone), hi.tz_localize(cfg.timezone)
    late = (x >= hi).to_numpy(dtype=bool, na_value=False)
    early = np.zeros(len(x), dtype=bool) if col.upper_bound_only \
        else (x < lo).to_numpy(dtype=bool, na_value=False)
    res.verdicts.reject(early | late, "date_out_of_range", col.name,
                        _quoted(col, text, f"lies outside the plausible dates ({lo:%Y-%m-%d} "
                                           f"to {hi - pd.Timedelta(days=1):%Y-%m-%d}; "
                                           "parameter 'dates')"))


def _reference(res: _TableResult, column: str, accepted: set, rejected: set,
               reason_unknown: str, reason_rejected: str, what: str) -> None:
    """Check that a non-empty reference points at an accepted row of its parent table."""
    values = res.raw[column]
    present = (values != "").to_numpy()
    in_acc = _isin(values, accepted)
    in_rej = _isin(values, rejected) & ~in_acc
    res.verdicts.reject(present & in_rej, reason_rejected, column,
                        f"{column} refers to {'an' if what[0] in 'aeiou' else 'a'} {what} row "
                        "that was rejected")
    echo = C.TABLES[res.name].column(column).echo if column in C.TABLES[res.name].column_names \
        else False
    detail = _echo(values, column, f"is not a known {what}") if echo \
        else f"{column} is not a known {what}"
    res.verdicts.reject(present & ~in_acc & ~in_rej, reason_unknown, column, detail)


def _ids(res: _TableResult | None, column: str,
         skip: np.ndarray | None = None) -> tuple[pd.Index, pd.Index]:
    """(accepted ids, ids seen only on rejected rows) of a parent table; ``skip``: rows that
    are neither (add-on lines folded into another row)."""
    if res is None:
        return pd.Index([]), pd.Index([])
    rows = np.ones(len(res.raw), dtype=bool) if skip is None else ~skip
    ok, col = res.verdicts.ok[rows], res.raw[column].to_numpy(dtype=object)[rows]
    acc = pd.Index(pd.unique(col[ok]), dtype=object)
    rej = pd.Index(pd.unique(col[~ok]), dtype=object)
    return acc, rej[~rej.isin(acc) & (rej != "")]


# A length written as text in a duration column: "50 min", "50m", "45 minutes", "1 hr",
# "1.5 hours", "1h 30m", "1 hour and 30 minutes", or a clock length "0:50", "1:30", "01:30:00".
_DURATION_TEXT = re.compile(
    r"(?:(?P<h>\d{1,2}(?:\.\d{1,3})?)\s*(?:h|hrs?|hours?)\.?"
    r"(?:\s*(?:and|,)?\s*(?P<hm>\d{1,3})\s*(?:m|mins?|minutes?)?\.?)?"
    r"|(?P<m>\d{1,3}(?:\.\d{1,3})?)\s*(?:m|mins?|minutes?)\.?"
    r"|(?P<ch>\d{1,2}):(?P<cm>[0-5]\d)(?::(?P<cs>[0-5]\d))?)", re.IGNORECASE)


def _duration_text(value: str) -> float:
    """The minutes a duration written as text states (rounded to the minute), else NaN."""
    m = _DURATION_TEXT.fullmatch(value.strip()) if len(value) <= 40 else None
    if m is None:
        return np.nan
    if m["h"] is not None:
        minutes = float(m["h"]) * 60 + float(m["hm"] or 0)
    elif m["m"] is not None:
        minutes = float(m["m"])
    else:
        minutes = int(m["ch"]) * 60 + int(m["cm"]) + int(m["cs"] or 0) / 60
    return float(round(minutes))


def _check_duration(res: _TableResult, col: C.Column, text: pd.Series,
                    cmap: ColumnMap) -> None:
    """The appointments' duration column: whole minutes, as the contract says, or a length
    written as text ("50 min", "0:50", "1 hr", "1h 30m"), read as its minutes in any profile
    (one meaning, so never a guess; counted as ``duration_from_text``). A value that is
    neither is rejected (``invalid_number``), except where the column map allows the default
    length (``session_length: default``, the generic profile): there it is set aside as if the
    cell were empty, so the session's length comes from its end time, billing code, treatment
    name or the default, and it is counted (``duration_unreadable_set_aside``), never
    quoted. Whole numbers, fractions and bounds are checked as for any number."""
    v = res.verdicts
    values, bad = _parse_number(text)
    from_text = np.zeros(len(values), dtype=bool)
    if bad.any():
        read = _map_unique(text[bad], _duration_text).to_numpy(dtype=float)
        rows = np.flatnonzero(bad)
        values[rows] = read
        from_text[rows[~np.isnan(read)]] = True
        bad = bad & ~from_text
    set_aside = np.zeros(len(values), dtype=bool)
    if cmap.session_length == "default":
        set_aside, bad = bad, np.zeros(len(values), dtype=bool)
    v.reject(bad, "invalid_number", col.name,
             _quoted(col, text, "is not a number of minutes (such as 50, '50 min' or '0:50')"))
    frac = ~np.isnan(values) & (values % 1 != 0)
    v.reject(frac, "invalid_number", col.name, _quoted(col, text, "is not a whole number"))
    out = ~np.isnan(values) & ((values < col.lo) | (values > col.hi))
    v.reject(out, "out_of_range", col.name,
             _quoted(col, text, f"is outside the allowed range (at least {col.lo:g}, at most "
                                f"{col.hi:g} minutes)"))
    res.typed[col.name] = pd.Series(values, index=res.raw.index)
    res.typed["_duration_from_text"] = pd.Series(from_text, index=res.raw.index)
    res.typed["_duration_set_aside"] = pd.Series(set_aside, index=res.raw.index)


def _cancellation_times(res: _TableResult, values: pd.Series, bad: np.ndarray,
                        date_only: np.ndarray, cfg: Config) -> None:
    """The appointments' ``cancelled_at``: a value that is not a date and time (free text, a
    time skipped by a clock change) or outside the plausible dates is read as empty and
    counted (``cancellation_time_not_read``), never a reason to reject the appointment; which
    values have no time of day is kept for ``_late_cancel_from_cancellation_time``."""
    lo, hi = cfg.dates.window(cfg)
    tz = cfg.timezone
    outside = ((values < lo.tz_localize(tz)) | (values >= hi.tz_localize(tz))).to_numpy(
        dtype=bool, na_value=False)
    unread = np.asarray(bad, dtype=bool) | outside
    res.typed["cancelled_at"] = values.where(~unread)
    res.typed["_cancelled_at_unread"] = pd.Series(unread, index=res.raw.index)
    res.typed["_cancelled_at_date_only"] = pd.Series(
        np.asarray(date_only, dtype=bool) & ~unread, index=res.raw.index)


def _check_clinicians(res: _TableResult) -> None:
    t, v = res.typed, res.verdicts
    v.reject((t["end_date"] < t["start_date"]).to_numpy(), "end_before_start", "end_date")
    ids = pd.Index(res.raw["clinician_id"][v.ok].to_numpy(dtype=object), dtype=object)
    sup = res.raw["supervisor_id"]
    self_sup = (sup != "") & (sup == res.raw["clinician_id"])
    v.reject(self_sup.to_numpy(), "unknown_supervisor", "supervisor_id",
             "a clinician cannot be their own supervisor")
    listed = pd.Index(res.raw["clinician_id"].to_numpy(dtype=object), dtype=object)
    rejected = (sup != "").to_numpy() & ~_isin(sup, ids) & _isin(sup, listed)
    v.reject(rejected, "clinician_rejected", "supervisor_id",
             _echo(sup, "supervisor_id", "is a clinician whose own row was rejected"))
    unknown = (sup != "").to_numpy() & ~_isin(sup, ids)
    v.reject(unknown, "unknown_supervisor", "supervisor_id",
             _echo(sup, "supervisor_id", "is not a known clinician"))


def _check_assessments(res: _TableResult, cfg: Config) -> None:
    """Instrument-specific item and total rules (the instrument registry lives in Config)."""
    raw, v, t = res.raw, res.verdicts, res.typed
    item_cols = C.item_columns(raw.columns)
    n_max = max(item_cols.values(), default=0)
    n = len(raw)
    items = np.full((n, max(n_max, 1)), np.nan)
    for col, k in item_cols.items():
        values, bad = _parse_number(raw[col])
        v.reject(bad, "invalid_number", col, _echo(raw[col], col, "is not a number"))
        items[:, k - 1] = values
    instrument = t["instrument"]
    total = t["total_score"].to_numpy(dtype=float).copy()
    computed = np.full(n, np.nan)
    prorated = np.zeros(n, dtype=bool)
    answered = np.zeros(n, dtype=int)
    for name, inst in cfg.instruments.items():
        rows = (instrument == name).to_numpy() & v.ok
        if not rows.any():
            continue
        block = items[:, : inst.n_items] if n_max else np.full((n, 0), np.nan)
        # items the instrument does not have
        for k in range(inst.n_items + 1, n_max + 1):
            v.reject(rows & ~np.isnan(items[:, k - 1]), "item_not_in_instrument", f"item_{k}",
                     f"item_{k} is filled in but {name} has {inst.n_items} items")
        for k in range(1, min(inst.n_items, n_max) + 1):
            x = items[:, k - 1]
            fraction = ~np.isnan(x) & ((x % 1 != 0) if inst.whole_numbers else False)
            v.reject(rows & fraction, "invalid_number", f"item_{k}",
                     f"item_{k} is not a whole number ({name} items are whole numbers)")
            bad = ~np.isnan(x) & ((x < inst.item_min) | (x > inst.item_max))
            v.reject(rows & bad, "out_of_range", f"item_{k}",
                     f"item_{k} must be from {inst.item_min:g} to {inst.item_max:g} on the "
                     f"{name}")
        rows = rows & v.ok
        got = (~np.isnan(block)).sum(axis=1) if block.shape[1] else np.zeros(n, dtype=int)
        sums = np.nansum(block, axis=1) if block.shape[1] else np.zeros(n)
        missing = inst.n_items - got
        has_total = ~np.isnan(total)
        complete = rows & (got == inst.n_items)
        v.reject(complete & has_total & (np.abs(total - sums) > 1e-9), "total_mismatch",
                 "total_score", f"total_score disagrees with the sum of the {name} items")
        need = rows & ~has_total & v.ok
        v.reject(need & (got == 0), "no_score", "total_score",
                 f"no total_score and no {name} item scores")
        v.reject(need & (got > 0) & (missing > inst.max_missing_items),
                 "too_many_missing_items", "total_score",
                 f"{name} allows a prorated total with at most {inst.max_missing_items} "
                 "missing items")
        ok_items = need & v.ok & (got > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            pro = sums * inst.n_items / np.where(got > 0, got, 1)
        computed[ok_items] = pro[ok_items]
        prorated |= ok_items & (missing > 0)
        total_rows = rows & v.ok & has_total
        if inst.whole_numbers:
            v.reject(total_rows & (total % 1 != 0), "invalid_number", "total_score",
                     _echo(raw["total_score"], "total_score",
                           f"is not a whole number ({name} totals are whole numbers)"))
        out = (total < inst.score_min) | (total > inst.score_max)
        v.reject(total_rows & out, "out_of_range", "total_score",
                 _echo(raw["total_score"], "total_score",
                       f"is not from {inst.score_min:g} to {inst.score_max:g} ({name})"))
        answered[rows] = got[rows]
    from_items = ~np.isnan(computed)
    res.adjustments["total_from_items"] = int((from_items & v.ok).sum())
    res.adjustments["total_prorated"] = int((prorated & v.ok).sum())
    t["total_score"] = pd.Series(np.where(from_items, computed, total), index=raw.index)
    t["prorated"] = pd.Series(prorated, index=raw.index)
    t["items_answered"] = pd.Series(answered, index=raw.index)
    for k in item_cols.values():
        t[f"item_{k}"] = pd.Series(items[:, k - 1], index=raw.index)
    followup, unclear = _followup(raw["item9_followup"])
    t["item9_followup"] = followup
    if unclear.any():
        res.adjustments["with_an_item9_followup_that_is_not_yes_no_or_a_date"] = \
            int((unclear & v.ok).sum())


# a date inside a follow-up value: 2026-10-09, 10/09/2026, 9.10.2026, Oct 9 2026, 9 Oct 2026
_FOLLOWUP_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}"
                            r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.?,? \d{4}")


def _followup(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """The optional ``item9_followup`` column read as ``yes`` (a yes, or any date: done that
    day), ``no``, ``unclear`` (a value that is neither: the report sends the reader to the
    EHR) or missing (an empty cell), and which values were unclear. A value is never quoted:
    it may be a clinician's free text."""
    followup = C.label_lookup(C.FOLLOWUP_SYNONYMS)
    labels = text.map(lambda v: followup(v) if v else None)
    dated = text.str.contains(_FOLLOWUP_DATE, na=False)
    out = labels.where(labels.notna(), np.where(dated, "yes", None))
    unclear = ((text != "") & out.isna()).to_numpy()
    out = out.where(~unclear, "unclear")
    return out.astype(object).where(out.notna(), None), unclear
