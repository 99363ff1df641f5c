"""The owner's operations table: each clinician's operational figures with their trends,
and each figure past the practice's thresholds marked with a symbol, a word and a shade (the
flags read from the run, never recomputed here), with the legend that gives the thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import Config
from ..registry import FLAGS, concern, flag_text, format_value, label_of
from .format import (
    NO_APPOINTMENTS,
    cohort_pct,
    short_history,
    table,
    trend_words,
)
from .run_folder import RunFolder, no_appointments, on_status, unavailable
from .teams import TEAM, by_team, is_large, shortened

__all__ = ["operations_table", "flag_detail", "cell_states", "legend", "marked", "MARKS",
           "SHADES"]


# A flag's mark: a symbol and a word as well as a colour, so print in grey and a screen reader
# tell the states apart. "watch" is the utilization review band: not a flag, no check-in.
MARKS = {"low": "▼ low", "high": "▲ high", "watch": "● watch"}
SHADES = {"low": "background-color: #fbd5b5; font-weight: bold",
          "high": "background-color: #fbd5b5; font-weight: bold",
          "watch": "background-color: #fff3c4"}


def flag_detail(flag: str, row, cfg: Config) -> str:
    """One flag of a clinician in words, with its direction, its size and the threshold it is
    past, e.g. "utilization 62%, below 70%" (the registry's ``detail``:
    :data:`perfkit.registry.FLAGS`). The values are the displayed ones (the flags compare
    them as displayed: :func:`perfkit.operations.beyond`)."""
    return flag_text(flag, "detail", cfg, row) if flag in FLAGS else flag


def cell_states(m: pd.DataFrame, cfg: Config | None = None) -> pd.DataFrame:
    """The state of each thresholded cell of the operations table, per clinician row of
    ``clinician_metrics``: ``low``, ``high``, ``watch`` or empty (within the thresholds), by
    the table's column (its label with the run's parameters ``cfg``). Read from the run's
    flags (compared as displayed), never recomputed here."""
    def flag(col):
        return m[col].fillna(False).to_numpy(bool) if col in m else np.zeros(len(m), bool)

    band = m["utilization_band"].astype(str).to_numpy() if "utilization_band" in m else \
        np.array([""] * len(m))
    util = np.where(flag("flag_low_utilization"), "low",
                    np.where(flag("over_capacity"), "high",
                             np.where(band == "review", "watch", "")))
    return pd.DataFrame({
        label_of("utilization", cfg, "column"): util,
        label_of("non_attendance_rate", cfg, "column"):
            np.where(flag("flag_high_non_attendance"), "high", ""),
        label_of("notes_within_72h", cfg, "column"): np.where(flag("flag_late_notes"), "low", ""),
        "unsigned": np.where(flag("flag_unsigned_overdue"), "high", ""),
    }, index=m.index)


def marked(text: str, state: str) -> str:
    """A displayed value with its mark in front: "▼ low 62%"; unmarked within thresholds."""
    return f"{MARKS[state]} {text}" if state in MARKS and text not in ("–", "") else text


def legend(cfg: Config) -> str:
    """What each mark of the operations table means, with the thresholds from the parameters
    (each flag's ``legend`` words in the registry, :data:`perfkit.registry.FLAGS`)."""
    o = cfg.operations
    thresholds = [flag_text(k, "legend", cfg) for k in FLAGS if FLAGS[k].legend]
    return (f"{MARKS['low']} / {MARKS['high']}: outside the practice's thresholds, worth a "
            f"conversation. {MARKS['watch']}: utilization from "
            f"{format_value('utilization', o.utilization_alert)} to below "
            f"{format_value('utilization', o.utilization_review)}, the review band: worth "
            "watching, not a flag. "
            f"Thresholds (parameters): {' or '.join(thresholds[:2])}; "
            f"{'; '.join(thresholds[2:])}. Values are compared as "
            "shown (70% is not below 70%). The shading repeats the marks in colour.")


def _worsening(m: pd.DataFrame) -> np.ndarray:
    """Clinicians with a trend in the direction that is a concern."""
    out = np.zeros(len(m), dtype=bool)
    for metric in ("utilization", "non_attendance_rate", "notes_within_72h"):
        if f"trend_{metric}" in m:
            out |= (m[f"trend_{metric}"] == concern(metric)).to_numpy()
    return out


def operations_table(run: RunFolder):
    """Operational metrics per clinician, in name order (not a ranking), with trend labels;
    with teams (the roster's ``team``), by team and then name, with a Team column. A large
    practice (more than ``report.large_practice`` clinicians) shows only the clinicians with
    something to look at (a marked cell, a worsening trend, a check-in, no appointments in the
    export), with every clinician in a table that opens below (:func:`~perfkit.report.teams.
    shortened`)."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    order, team = by_team(run, m["clinician_id"], m["name"])
    grouped = team is not None
    m = (m.assign(_team=team) if grouped else m).iloc[order]

    def heading(key: str) -> str:  # a column's heading
        return label_of(key, run.config, "column")

    def fmt(key: str):
        return m[key].map(lambda v: format_value(key, v))

    unsigned_col, utilization = heading("unsigned_overdue_7d"), heading("utilization")
    out = pd.DataFrame({
        "Clinician": m["name"],
        **({TEAM: m["_team"]} if grouped else {}),
        utilization: fmt("utilization"),
        f"{utilization} trend": m["trend_utilization"].map(
            lambda v: trend_words("utilization", v, arrow=True)),
        heading("non_attendance_rate"): fmt("non_attendance_rate"),
        f"{heading('non_attendance_rate')} trend": m["trend_non_attendance_rate"].map(
            lambda v: trend_words("non_attendance_rate", v, arrow=True)),
        heading("notes_within_72h"): fmt("notes_within_72h").where(
            ~on_status(m), "no signing times"),
        "Notes trend": m["trend_notes_within_72h"].map(
            lambda v: trend_words("notes_within_72h", v, arrow=True)).where(
            m["notes_within_72h"].notna() | ~on_status(m) & ("notes_within_72h" not in
                                                              unavailable(run)), "–"),
        heading("notes_open_72h"): fmt("notes_open_72h") if "notes_open_72h" in m else "–",
        unsigned_col: fmt("unsigned_overdue_7d"),
        heading("active_clients"): fmt("active_clients"),
        heading("new_clients"): [short_history(format_value("new_clients", v), lim,
                                                      count=True) for v, lim in
                        zip(m["new_clients"], m.get("new_clients_limited", [False] * len(m)),
                            strict=True)],
        heading("retained_8plus_rate"): [short_history(cohort_pct(
            v, n, run.config.outcomes.min_episodes, "clients in the group"), lim)
            for v, n, lim in zip(m["retained_8plus_rate"],
                                 m.get("retention_cohort", [np.nan] * len(m)),
                                 m.get("new_clients_limited", [False] * len(m)),
                                 strict=True)],
    })
    short = "new_clients_limited" in m and m["new_clients_limited"].fillna(False).any()
    absent = no_appointments(m).to_numpy()
    if absent.any():  # a rostered clinician the export never names: no zeros, no trend words
        out = out.astype(object)
        out.loc[absent, out.columns[2 if grouped else 1:]] = "–"
        # a roster name close to a name whose rows were left out: probably the same person
        near = {e["closest"] for e in run.meta.get("clinicians_left_out") or []
                if e.get("closest")}
        out.loc[absent, utilization] = [
            "no appointments under this name (see Left out of this run above)"
            if run.written_name(cid) in near else NO_APPOINTMENTS
            for cid in m["clinician_id"][absent]]
    states = cell_states(m, run.config).rename(columns={"unsigned": unsigned_col})
    states.loc[absent] = ""  # nothing known: no mark
    for col in states:
        out[col] = [marked(v, s) for v, s in zip(out[col], states[col], strict=True)]

    def shade(col, states=states):
        if col.name not in states:
            return [""] * len(col)
        return [SHADES.get(s, "") for s in states[col.name]]

    caption = (legend(run.config)
               + (f" {heading('new_clients')} marked \"at most\" and retention marked "
                  "\"short history\" rest on an export that begins too late to tell new "
                  "clients from returning ones (see \"History in this export\" above)."
                  if short else ""))
    if not is_large(run):
        return table(out, caption, apply=shade)
    # a large practice: the rows with a figure beyond the practice's limits (the watch band
    # is a softer mark: counted, not listed) or a trend that is a concern; the check-in table
    # above already lists everyone with a reason, and its reasons beyond these columns
    notable = (states.isin(["low", "high"]).any(axis=1).to_numpy() | _worsening(m) | absent)
    return shortened(out, notable, caption, apply=shade, states=states,
                     why="a figure beyond the practice's limits, a trend that is a concern, or "
                         "no appointments", rest="have no figure beyond the limits and no "
                         "trend that is a concern")
