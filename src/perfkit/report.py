"""Content of the report notebooks: one function per section, returning a table, a figure or a
short text. Report notebooks call these and nothing else, so every number a report shows comes
from the run folder's tables (DATA_CONTRACT section 2) and the same code the tables use.

Formatting for people, not programs: percentages, plain words, no code, no warnings.
"""

from __future__ import annotations

import functools
import html
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection

from . import operations as op
from . import plots
from .config import Config, load_config
from .io import read_table
from .prepared import Prepared, load_prepared
from .safety import md

__all__ = ["RunData", "load_run", "quiet", "Text", "practice_title", "period_summary",
           "operations_table", "check_in_list", "outcomes_table", "funnel_figure",
           "model_section", "pick_clinician",
           "caterpillar_figure", "limits_note", "data_quality_table", "clinician_title",
           "own_metrics_table", "distribution_figure", "weekly_trends_figure",
           "trajectories_figure", "own_alerts_table", "item9_table", "own_effect_text",
           "questions_to_explore", "pick_supervisor", "supervisees_of", "supervisor_title",
           "ledger_table", "ledger_note", "compliance_figure", "goals_table", "reviews_table",
           "ce_table", "supervision_questions", "supervisee_alerts", "trajectories_grid",
           "renewals_table"]


def quiet() -> None:
    """Keep library warnings out of a report: they mean nothing to its readers. Anything a
    reader should know is said in plain words by the report itself."""
    warnings.filterwarnings("ignore")
    plots.use_style()
    # a name or an id is shown whole, never cut to 50 characters with "..."
    pd.set_option("display.max_colwidth", None)


def table(frame: pd.DataFrame, caption: str | None = None, *, apply=None):
    """A report table without its index: every cell, header and the caption HTML-escaped
    (a pandas Styler does not escape by default), so text from the practice's records shows
    exactly as written. ``apply`` is a Styler column function (shading). Every styled table of
    a report is built here."""
    styler = frame.style.format(escape="html").format_index(escape="html", axis=1) \
        .hide(axis="index")
    if apply is not None:
        styler = styler.apply(apply)
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler


class Text(str):
    """Markdown text that renders as formatted text in a notebook and its HTML."""

    def _repr_markdown_(self) -> str:
        return str(self)


def _pct(v, digits: int = 0) -> str:
    return "–" if v is None or pd.isna(v) else f"{100 * v:.{digits}f}%"


def _num(v, digits: int = 1) -> str:
    return "–" if v is None or pd.isna(v) else f"{v:,.{digits}f}"


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class RunData:
    """A run folder for the reports. The prepared snapshot is read table by table when a
    section first needs it (a clinician report reads the clinician list and its own clients'
    scores, not every appointment of the practice)."""

    folder: Path
    config: Config
    meta: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    validate: bool = False
    _data: Prepared | None = None
    _names: dict | None = None

    @property
    def data(self) -> Prepared:
        """The whole prepared snapshot (read on first use)."""
        if self._data is None:
            self._data = load_prepared(self.folder, validate=self.validate)
        return self._data

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def provided(self, name: str) -> bool:
        """Whether the practice provided an input table (what rests on a table that was not
        provided is unknown, and the reports say so)."""
        return name in self.meta.get("provided", [name])  # older runs: assume provided

    def prepared_table(self, name: str, clinician_id: str | None = None) -> pd.DataFrame:
        """One prepared table, optionally only one clinician's rows, without loading the
        rest of the snapshot."""
        if self._data is not None:
            t = self._data[name]
            return t if clinician_id is None else t[t["clinician_id"] == clinician_id]
        filters = [("clinician_id", "==", clinician_id)] if clinician_id else None
        return pd.read_parquet(self.folder / "prepared" / f"{name}.parquet", filters=filters)

    def name_of(self, clinician_id: str) -> str:
        if self._names is None:
            c = self.prepared_table("clinicians")
            self._names = dict(zip(c["clinician_id"], c["name"], strict=True))
        return str(self._names.get(clinician_id, clinician_id))


def load_run(run_folder: str | os.PathLike | None = None,
             params_file: str | os.PathLike | None = None, *, validate: bool = False) -> RunData:
    """Load a run folder written by ``perfkit run`` (tables and prepared snapshot).

    With no folder, the bundled demo practice is run once into the user's cache (tables only),
    so report notebooks open and run with no set-up. The prepared snapshot is not re-checked
    (``validate=False``): the run checked it when it wrote it.
    """
    if not run_folder:
        run_folder = _demo_run(params_file)
    folder = Path(run_folder)
    meta_file = folder / "prepared" / "snapshot.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{folder} is not a run folder (no prepared/snapshot.json): "
                                "run 'perfkit run' first")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    params = dict(meta.get("parameters", {}))
    config = load_config(**params) if params else load_config(params_file or None)
    tables = {p.stem: read_table(p)
              for p in sorted((folder / "tables").glob("*.csv"))
              if not p.stem.startswith("model_data_")}
    summary_file = folder / "tables" / "model_summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    return RunData(folder, config, meta, tables, summary, validate)


def _demo_run(params_file) -> Path:
    from .demo import bundled_data_dir, cache_dir, cache_root
    from .runner import run_period

    extra = Path(params_file).read_bytes() if params_file else b""
    out = cache_dir("demo-run", extra)
    if not (out / "tables" / "model_summary.json").is_file():
        cfg = load_config(params_file or None,
                          pseudonym_key_file=cache_root() / "demo-pseudonym.key")
        run_period(bundled_data_dir(), cfg, out=out, tables_only=True,
                   new_pseudonym_key=True)  # synthetic data: no earlier months to match
    return out


# --------------------------------------------------------------------------------------------
# Practice report
# --------------------------------------------------------------------------------------------


def _period_words(cfg: Config) -> str:
    last = cfg.period_end - pd.Timedelta(days=1)
    return f"{cfg.period_start:%d %B %Y} to {last:%d %B %Y}"


def practice_title(run: RunData) -> Text:
    cfg = run.config
    return Text(f"## {md(cfg.practice_name)}\n\nFor the practice owner and clinical director. "
                f"Period {_period_words(cfg)}.")


NO_SIGNING_TIMES = "not known: this export has no signing times"
NOT_IN_EXPORT = "not available from this export"


def _on_status(m: pd.DataFrame) -> pd.Series:
    """Clinicians whose documentation figures rest on note statuses, not signing times."""
    if "documentation_source" not in m:
        return pd.Series(False, index=m.index)
    return m["documentation_source"] == op.NOTE_STATUS


def documentation_basis(run: RunData) -> str:
    """What the documentation figures rest on, in plain words."""
    m = run.table("clinician_metrics")
    on_status = _on_status(m)
    if not on_status.any():
        return "the times notes were signed"
    doc = run.meta.get("documentation") or {}
    when = pd.Timestamp(doc["exported_at"]) if doc.get("exported_at") else None
    at = f"the export of {when:%d %B %Y, %H:%M}" if when is not None else "the export"
    some = "" if on_status.all() else " for some clinicians"
    return (f"note statuses (signed, draft, missing) as of {at}{some}; the export has no "
            "signing times, so how quickly notes were signed is not known")


def _estimated_words(m: pd.DataFrame, hours: float) -> str:
    """How much of the attended hours the billing codes' usual lengths estimate."""
    est = m["hours_estimated"].sum() if "hours_estimated" in m else 0
    if not hours or not est:
        return ""
    return (f" ({_pct(est / hours)} of the hours are estimated from billing codes: the export "
            "gave no session lengths)")


def _caveats(run: RunData) -> list[str]:
    """What the practice's export cannot give (its import profile says), in plain words."""
    return list((run.meta.get("export_profile") or {}).get("caveats") or [])


def _unavailable(run: RunData) -> set[str]:
    return set((run.meta.get("export_profile") or {}).get("unavailable") or [])


def period_summary(run: RunData) -> pd.DataFrame:
    """The period in a few plain numbers."""
    m = run.table("clinician_metrics")
    cfg = run.config
    hours = m["hours_attended"].sum()
    avail = m["available_hours"].sum()
    past = m["past_appointments"].sum()
    ns = (m["no_show_rate"] * m["past_appointments"]).sum()
    lc = (m["late_cancel_rate"] * m["past_appointments"]).sum()
    due = m["notes_due"].sum()
    within72 = (m["notes_within_72h"] * m["notes_due"]).sum()
    gone = _unavailable(run)
    rows = {
        "Period": _period_words(cfg),
        "Clinicians": f"{len(m)}",
        "Sessions attended": f"{int(m['sessions_attended'].sum()):,}",
        "Utilization (attended hours / available hours)": _pct(hours / avail if avail else None)
        + _estimated_words(m, hours),
        "Missed appointments (no-shows and late cancellations)":
            NOT_IN_EXPORT if "non_attendance_rate" in gone
            else _pct((ns + lc) / past if past else None, 1),
        "Appointments the clinicians cancelled (not counted as missed)":
            NOT_IN_EXPORT if "clinician_cancelled" in gone
            else f"{int(m['clinician_cancelled'].sum()):,}" if "clinician_cancelled" in m
            else "–",
        "Notes signed within 72 hours": NO_SIGNING_TIMES if _on_status(m).all() and len(m)
        else _pct(within72 / due if due else None),
        "Notes open more than 72 hours": f"{int(m['notes_open_72h'].sum())}"
        if "notes_open_72h" in m else "–",
        "Notes unsigned for more than 7 days": f"{int(m['unsigned_overdue_7d'].sum())}",
        "Documentation figures rest on": documentation_basis(run),
        **({"About this export": " ".join(caveats)} if (caveats := _caveats(run)) else {}),
        "Clients seen": f"{int(m['active_clients'].sum()):,}",
        "New clients": f"{int(m['new_clients'].sum()):,}",
    }
    return pd.DataFrame({"": list(rows.values())}, index=list(rows))


TREND_WORDS = {"growing": "↑ rising", "declining": "↓ falling", "stable": "→ steady",
               "not enough data": "· too few weeks"}


def operations_table(run: RunData):
    """Operational metrics per clinician, in name order (not a ranking), with trend labels."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    m = m.sort_values("name")
    out = pd.DataFrame({
        "Clinician": m["name"],
        "Utilization": m["utilization"].map(_pct),
        "Utilization trend": m["trend_utilization"].map(TREND_WORDS),
        "Missed appointments": m["non_attendance_rate"].map(lambda v: _pct(v, 1)),
        "Notes within 72 h": m["notes_within_72h"].map(_pct).where(
            ~_on_status(m), "no signing times"),
        "Notes trend": m["trend_notes_within_72h"].map(TREND_WORDS),
        "Notes open > 72 h": m["notes_open_72h"].astype(int) if "notes_open_72h" in m
        else "–",
        "Notes unsigned > 7 days": m["unsigned_overdue_7d"].astype(int),
        "Clients seen": m["active_clients"].astype(int),
        "New clients": m["new_clients"].astype(int),
        "Retained 8+ sessions": m["retained_8plus_rate"].map(_pct),
    })
    flag_cols = {"Utilization": "flag_low_utilization",
                 "Missed appointments": "flag_high_non_attendance",
                 "Notes within 72 h": "flag_late_notes",
                 "Notes unsigned > 7 days": "flag_unsigned_overdue"}
    flags = pd.DataFrame({col: _flag(m[f]) for col, f in flag_cols.items()},
                         index=out.index)

    def shade(col):
        if col.name not in flags:
            return [""] * len(col)
        return ["background-color: #fdebd3" if f else "" for f in flags[col.name]]

    return table(out, "Shaded cells are outside the practice's thresholds (see parameters).",
                 apply=shade)


def _check_in_reasons(row: pd.Series, cfg: Config) -> list[str]:
    ops = cfg.operations
    q = []
    if row.get("trend_utilization") == "declining" or row.get("flag_low_utilization"):
        q.append(f"Utilization is {_pct(row['utilization'])}"
                 + (" and has been falling for several weeks" if row.get("trend_utilization")
                    == "declining" else "") + ". Is the caseload what they want it to be, or is "
                 "something making sessions harder to fill?")
    if row.get("trend_notes_within_72h") == "declining" or row.get("flag_late_notes"):
        q.append(f"{_pct(row['notes_within_72h'], 1)} of notes were signed within "
                 f"{ops.note_standard_hours:g} hours. Would protected documentation time or a "
                 "simpler note template help?")
    if row.get("flag_unsigned_overdue"):
        n = int(row["unsigned_overdue_7d"])
        q.append(f"{n} {'note has' if n == 1 else 'notes have'} been unsigned for more than "
                 f"{ops.note_overdue_days:g} days. Is there a backlog they would like help with?")
    if row.get("flag_high_non_attendance") or row.get("trend_non_attendance_rate") == "growing":
        q.append(f"{_pct(row['non_attendance_rate'], 1)} of appointments were missed. Are "
                 "reminders, scheduling or client circumstances getting in the way?")
    return q


def check_in_list(run: RunData) -> Text:
    """Who might welcome a check-in, framed as questions to ask, not verdicts."""
    m = run.table("clinician_metrics").copy()
    m["name"] = m["clinician_id"].map(run.name_of)
    lines = []
    for _, row in m.sort_values("name").iterrows():
        reasons = _check_in_reasons(row, run.config)
        if reasons:
            lines.append(f"**{md(row['name'])}**\n" + "\n".join(f"- {r}" for r in reasons))
    if not lines:
        return Text("No clinician's metrics are outside the thresholds or slipping this "
                    "period.")
    return Text("These are prompts for a supportive conversation, not judgements: numbers "
                "cannot see a hard month, a complex caseload or a new role.\n\n"
                + "\n\n".join(lines))


NO_MEASURES = ("No measures were provided (the export has no assessments table), so there are "
               "no outcome figures here. Everything else in this report stands on its own.")


def _measured(say: bool = False):
    """An outcome section (its first argument is the run): when the practice provided no
    assessments it shows the sentence that says so (``say``, the first outcome section of a
    report) or nothing (the sections after it), instead of empty tables and figures."""
    def wrap(section):
        @functools.wraps(section)
        def shown(run: RunData, *args, **kwargs):
            if not run.provided("assessments"):
                return Text(NO_MEASURES if say else "")
            return section(run, *args, **kwargs)
        return shown
    return wrap


@_measured(say=True)
def outcomes_table(run: RunData) -> pd.DataFrame:
    """Practice outcome rates per instrument with their 95% intervals."""
    p = run.table("outcomes_practice")

    def cell(row, rate):
        v = row[rate]
        if pd.isna(v):
            return "– (too few)"
        return f"{_pct(v)} ({_pct(row[rate + '_ci_low'])}–{_pct(row[rate + '_ci_high'])})"

    out = pd.DataFrame({
        "Measure": p["instrument"],
        "Episodes": p["episodes"].astype(int),
        "With a first and last score": p["paired_completeness"].map(_pct),
        "Reliably improved": [cell(r, "reliable_improvement_rate") for _, r in p.iterrows()],
        "Reliably worse": [cell(r, "reliable_deterioration_rate") for _, r in p.iterrows()],
        "Recovered": [cell(r, "recovery_rate") for _, r in p.iterrows()],
    })
    return out.set_index("Measure")


@_measured()
def funnel_figure(run: RunData, instrument: str = "PHQ-9", *, highlight: str | None = None,
                  label_points: bool = True):
    """Funnel plot: reliable-improvement rate against paired episodes, with control limits."""
    f = run.table("funnel")
    f = f[(f["instrument"] == instrument)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    if f.empty:
        ax.text(0.5, 0.5, "No paired episodes for this measure", ha="center")
        ax.set_axis_off()
        return plots.done(fig)
    p0 = float(f["practice_rate"].iloc[0])
    from .outcomes import funnel_limits

    nmax = max(int(f["paired_episodes"].max() * 1.15), 20)
    grid = np.arange(5, nmax + 1)
    for level, style in zip(run.config.outcomes.funnel_levels, ["--", ":"], strict=True):
        lo, hi = funnel_limits(p0, grid, level)
        ax.plot(grid, lo, style, color=plots.GREY, lw=1)
        ax.plot(grid, hi, style, color=plots.GREY, lw=1, label=f"{level:.1%} limits")
    ax.axhline(p0, color=plots.GREY, lw=1.2, label=f"practice rate {_pct(p0)}")
    shown = f.dropna(subset=["reliable_improvement_rate"])
    colors = [plots.ORANGE if c == highlight else plots.BLUE for c in shown["clinician_id"]]
    ax.scatter(shown["paired_episodes"], shown["reliable_improvement_rate"], color=colors,
               zorder=3, s=36)
    if label_points:
        for _, r in shown.iterrows():
            ax.annotate(run.name_of(r["clinician_id"]).split()[0], (r["paired_episodes"],
                        r["reliable_improvement_rate"]), fontsize=8, xytext=(4, 3),
                        textcoords="offset points")
    ax.set(xlabel="clients with a first and last score", ylabel="share reliably improved",
           ylim=(0, 1), title=f"{instrument}: reliable improvement against number of clients")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return plots.done(fig)


@_measured()
def model_section(run: RunData) -> Text:
    """The models' share of variance due to clinicians, in plain words."""
    lines = []
    for inst, s in run.summary.items():
        share = s.get("share_of_variance_due_to_clinicians")
        msg = "; ".join(s.get("messages", []))
        if share is None:
            lines.append(f"- **{md(inst)}**: {md(msg) or 'no model was fitted.'}")
        else:
            lines.append(f"- **{md(inst)}**: {share:.1%} of the variation in scores lies between "
                         f"clinicians ({s['n_clients']} clients, {s['n_scores']} scores)"
                         + (f". {md(msg[0].upper() + msg[1:])}." if msg else "."))
    return Text("Studies of routine practice find that about 5% of the variation in outcomes "
                "lies between therapists, after allowing for how ill clients were at intake. "
                "Here:\n\n" + "\n".join(lines))


@_measured()
def caterpillar_figure(run: RunData, instrument: str = "PHQ-9", *,
                       only: str | None = None, names: bool = True):
    """Each clinician's model estimate with its 95% interval, in name order (never ranked)."""
    e = run.table("clinician_effects")
    e = e[(e["instrument"] == instrument) & e["effect"].notna()].copy()
    if only is not None:
        e = e[e["clinician_id"] == only]
    if names:
        e["clinician_id"] = e["clinician_id"].map(run.name_of)
    return plots.caterpillar(e, instrument, better=run.config.instruments[instrument].better)


def limits_note() -> Text:
    return Text(
        "**What these numbers can and cannot tell you.** Operational metrics describe "
        "scheduling and paperwork, not the quality of care. Outcome rates rest on the clients "
        "who completed questionnaires, and clients are not randomly assigned: referral "
        "patterns and life events that intake scores do not capture move them. Rates for "
        "small numbers of clients are hidden, and every rate and estimate is shown with its "
        "uncertainty. Use this report to start supportive conversations, alongside "
        "supervision and the clinician's own view, never to rank people.")


def data_quality_table(run: RunData) -> pd.DataFrame:
    path = run.folder / "data_quality.json"
    q = json.loads(path.read_text(encoding="utf-8")).get("tables", {}) if path.is_file() else {}
    rows = []
    for name, e in q.items():
        if e.get("present"):
            rows.append({"Table": name, "Rows read": e["rows_in"],
                         "Used": e["rows_accepted"], "Set aside": e["rows_rejected"],
                         "Why set aside": ", ".join(f"{k.replace('_', ' ')} ({v})"
                                                    for k, v in e["reasons"].items()) or "–"})
    return pd.DataFrame(rows).set_index("Table")


# --------------------------------------------------------------------------------------------
# Clinician report
# --------------------------------------------------------------------------------------------


def _text_id(value, name: str) -> None:
    """An id parameter must arrive as text: papermill's ``-p`` reads ``001`` as the number 1."""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, not the number {value!r}: pass it to papermill "
                         f"with -r {name} ... (raw text) instead of -p")


def pick_clinician(run: RunData, clinician_id: str = "") -> str:
    """The clinician a report is for: the one asked for, or the first in the run (so the
    notebook runs on its defaults). An id that is not in the run is an error in plain words."""
    ids = list(run.table("clinician_metrics")["clinician_id"])
    _text_id(clinician_id, "clinician_id")
    if not clinician_id:
        return ids[0]
    if clinician_id not in ids:
        raise ValueError(f"clinician {clinician_id} is not in this run's period")
    return clinician_id


def clinician_title(run: RunData, clinician_id: str) -> Text:
    cfg = run.config
    return Text(f"## {md(run.name_of(clinician_id))}\n\n**For you.** Period {_period_words(cfg)}. "
                "Other clinicians appear only as an anonymous spread of values. Your supervisor "
                "sees your supervision, goals and clients' progress in their supervision pack; "
                "the owner's report shows your scheduling, documentation and outcome figures "
                "but not your clients, goals, reviews or supervision.")


OWN_METRICS = [("utilization", "Utilization", _pct), ("non_attendance_rate",
               "Missed appointments", lambda v: _pct(v, 1)),
               ("notes_within_72h", "Notes within 72 hours", _pct),
               ("median_note_lag_hours", "Median hours to sign a note", _num),
               ("notes_open_72h", "Notes open more than 72 hours", lambda v: _num(v, 0)),
               ("active_clients", "Clients seen", lambda v: _num(v, 0)),
               ("new_clients", "New clients", lambda v: _num(v, 0)),
               ("retained_8plus_rate", "New clients retained 8+ sessions", _pct)]


def own_metrics_table(run: RunData, clinician_id: str) -> pd.DataFrame:
    """The clinician's metrics next to the practice median and middle half (anonymous)."""
    m = run.table("clinician_metrics").set_index("clinician_id")
    on_status = _on_status(m)
    gone = _unavailable(run)
    rows = []
    for col, label, fmt in OWN_METRICS:
        if col not in m:
            continue
        vals = m[col].dropna()
        mine = m.loc[clinician_id, col] if clinician_id in m.index else np.nan
        you = NO_SIGNING_TIMES if col in op.LAG_FIGURES and on_status.get(clinician_id, False) \
            else NOT_IN_EXPORT if col in gone else fmt(mine)
        rows.append({"": label, "You": you, "Practice median": fmt(vals.median()),
                     "Middle half of clinicians": "–" if vals.empty else
                     f"{fmt(vals.quantile(.25))} to {fmt(vals.quantile(.75))}"})
    return pd.DataFrame(rows).set_index("")


def _not_in_export(ax, title: str, col: str, run: RunData) -> None:
    """A panel for a figure with no values: say why instead of drawing empty axes."""
    why = NO_SIGNING_TIMES if col in op.LAG_FIGURES else NOT_IN_EXPORT \
        if col in _unavailable(run) else "no values for this period"
    ax.text(0.5, 0.5, why[0].upper() + why[1:], ha="center", va="center", wrap=True,
            color=plots.GREY, transform=ax.transAxes)
    ax.set_title(title, loc="left")
    ax.set_axis_off()


def distribution_figure(run: RunData, clinician_id: str):
    """Where the clinician sits among all clinicians: the others are unlabelled dots."""
    m = run.table("clinician_metrics")
    cols = [("utilization", "Utilization"), ("non_attendance_rate", "Missed appointments"),
            ("notes_within_72h", "Notes within 72 hours")]
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.4))
    for ax, (col, label) in zip(axes, cols, strict=True):
        vals = m[col].to_numpy(dtype=float)
        mine = m.loc[m["clinician_id"] == clinician_id, col].to_numpy(dtype=float)
        if not np.isfinite(vals).any():  # a figure the export cannot give
            _not_in_export(ax, label, col, run)
            continue
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(vals))
        ax.scatter(vals, jitter, color=plots.GREY, alpha=0.6, s=30, label="other clinicians")
        if len(mine):
            ax.scatter(mine, [0], color=plots.ORANGE, s=90, zorder=3, label="you")
        ax.set(title=label, yticks=[], ylim=(-0.5, 0.5))
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].legend(loc="upper left", fontsize=8, frameon=False, bbox_to_anchor=(0, -0.3),
                   ncol=2)
    return plots.done(fig)


def weekly_trends_figure(run: RunData, clinician_id: str):
    """The clinician's weekly series with the centre line and natural process limits."""
    from .trends import xmr_limits

    w = run.table("weekly_metrics")
    w = w[w["clinician_id"] == clinician_id].sort_values("week_start")
    labels = run.table("clinician_metrics").set_index("clinician_id")
    cols = [("utilization", "Utilization"), ("non_attendance_rate", "Missed appointments"),
            ("notes_within_72h", "Notes signed within 72 hours")]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True)
    x = pd.to_datetime(w["week_start"])
    shown = None
    for ax, (col, label) in zip(axes, cols, strict=True):
        y = w[col].to_numpy(dtype=float)
        if not np.isfinite(y).any():  # a figure the export cannot give
            _not_in_export(ax, f"{label} by week", col, run)
            continue
        lo, centre, hi = xmr_limits(y)
        ax.plot(x, y, marker="o", ms=3, color=plots.BLUE)
        if np.isfinite(centre):
            ax.axhline(centre, color=plots.GREY, lw=1)
            ax.axhspan(max(lo, 0), hi, color=plots.GREY, alpha=0.08)
        trend = labels.loc[clinician_id, f"trend_{col}"] if clinician_id in labels.index \
            else ""
        ax.set_title(f"{label} by week ({TREND_WORDS.get(trend, '')})", loc="left")
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        shown = ax
    if shown is not None:  # the dates under the lowest panel that has values
        shown.tick_params(labelbottom=True)
    return plots.done(fig)


@_measured(say=True)
def trajectories_figure(run: RunData, clinician_id: str, instrument: str = "PHQ-9"):
    """The clinician's clients' scores over time (pseudonymous), with the caseness line."""
    inst = run.config.instruments[instrument]
    a = run.prepared_table("assessments", clinician_id)
    as_of = pd.Timestamp(run.config.period_end).tz_localize(run.config.timezone)
    a = a[(a["clinician_id"] == clinician_id) & (a["instrument"] == instrument)
          & (a["administered_at"] < as_of)].sort_values("administered_at")
    fig, ax = plt.subplots(figsize=(9, 4))
    if a.empty:
        ax.text(0.5, 0.5, f"No {instrument} scores", ha="center")
        ax.set_axis_off()
        return plots.done(fig)
    first = a.groupby("client_id")["administered_at"].transform("first")
    weeks = (a["administered_at"] - first) / pd.Timedelta(weeks=1)
    # one LineCollection for all clients: a line per client, drawn as one artist
    lines = [np.column_stack([g["week"], g["total_score"]])
             for _, g in a.assign(week=weeks).groupby("client_id", sort=False)]
    ax.add_collection(LineCollection(lines, colors=plots.BLUE, alpha=0.25, linewidths=1))
    ax.autoscale_view()
    # the typical course: median score by whole week, where at least 5 clients have a score
    by_week = a.assign(week=weeks.round()).groupby("week")["total_score"]
    typical = by_week.median()[by_week.size() >= 5]
    if len(typical) >= 2:
        ax.plot(typical.index, typical.to_numpy(), color=plots.BLUE, lw=2.5,
                label="median of your clients (weeks with 5 or more scores)")
    if inst.caseness is not None:
        ax.axhline(inst.caseness, color=plots.ORANGE, ls="--", lw=1,
                   label=f"clinical cut-off ({inst.caseness:g})")
    ax.set(xlabel="weeks since the client's first score", ylabel=f"{instrument} score",
           title=f"Your clients' {instrument} scores over time "
                 f"({'lower' if inst.better == 'lower' else 'higher'} is better)")
    ax.legend(frameon=False, fontsize=8)
    return plots.done(fig)


@_measured()
def own_alerts_table(run: RunData, clinician_id: str) -> pd.DataFrame:
    """The clinician's clients who are not on track (pseudonymous ids)."""
    t = run.table("not_on_track")
    t = t[t["clinician_id"] == clinician_id]
    if t.empty:
        return pd.DataFrame({"": ["No client is off track this period."]}).set_index("")
    return pd.DataFrame({
        "Client": t["client_id"], "Measure": t["instrument"], "First score": t["first_score"],
        "Latest score": t["last_score"], "Latest": t["last_at"],
        "Expected by now": t["expected"].round(1), "Why listed": t["reason"],
    }).set_index("Client")


@_measured()
def item9_table(run: RunData, clinician_id: str) -> pd.DataFrame:
    """PHQ-9 item 9 responses above zero for the clinician's clients."""
    t = run.table("item9_flags")
    t = t[t["clinician_id"] == clinician_id]
    if t.empty:
        return pd.DataFrame({"": ["No PHQ-9 item 9 responses above zero this period."]}) \
            .set_index("")
    return pd.DataFrame({"Client": t["client_id"], "Date": t["date"],
                         "Thoughts of being better off dead or of self-harm":
                             t["response_words"],
                         "Review": np.where(t["escalate"], "same day, escalate",
                                            "same day")}).set_index("Client")


@_measured()
def own_effect_text(run: RunData, clinician_id: str, instrument: str = "PHQ-9") -> Text:
    e = run.table("clinician_effects")
    row = e[(e["clinician_id"] == clinician_id) & (e["instrument"] == instrument)]
    if row.empty or pd.isna(row["effect"].iloc[0]):
        return Text(f"No model estimate for you on the {md(instrument)} this period "
                    "(too little data, or the model could not separate clinicians).")
    r = row.iloc[0]
    better = run.config.instruments[instrument].better
    crosses = r["ci_low"] <= 0 <= r["ci_high"]
    faster = (r["effect"] < 0) == (better == "lower")
    if crosses:
        meaning = ("the interval includes zero: your clients' scores changed at a rate the data "
                   "cannot tell apart from the practice average")
    else:
        meaning = (f"your clients' scores {'improved faster' if faster else 'improved more slowly'}"
                   " than the practice average, after allowing for how ill they were at intake")
    return Text(f"On the {md(instrument)}, your estimate is {r['effect']:+.3f} points per week "
                f"(95% interval {r['ci_low']:+.3f} to {r['ci_high']:+.3f}, from "
                f"{int(r['n_clients'])} clients): {meaning}. This is one data point among many.")


def questions_to_explore(run: RunData, clinician_id: str) -> Text:
    m = run.table("clinician_metrics").set_index("clinician_id")
    qs = []
    if clinician_id in m.index:
        qs += _check_in_reasons(m.loc[clinician_id], run.config)
    t = run.table("not_on_track")
    n = int((t["clinician_id"] == clinician_id).sum())
    if n:
        qs.append(f"{n} clients are off their expected course. Which of them would it help to "
                  "talk through in supervision?")
    qs.append("What has gone well this period that you would like to do more of?")
    qs.append("What support, training or change in caseload would help most next period?")
    return Text("\n".join(f"- {q}" for q in qs))


# --------------------------------------------------------------------------------------------
# Supervision and professional development (supervisor packs and the clinician's self-view)
# --------------------------------------------------------------------------------------------


def _flag(values: pd.Series) -> np.ndarray:
    """A yes/no column as booleans where only a true value is yes: a missing value (not
    known, e.g. a table the practice did not provide) is not a yes. (``astype(bool)`` would
    turn NaN into True.)"""
    return np.array([v is True or v == "True" or (isinstance(v, np.bool_) and bool(v))
                     for v in values], dtype=bool)


def _text_or(v, default: str) -> str:
    """A text value, or ``default`` when it is missing or empty (never "nan")."""
    return v if isinstance(v, str) and v else default


def _date_words(v) -> str:
    return "–" if v is None or pd.isna(v) or v == "" else f"{pd.Timestamp(v):%d %b %Y}"


def _rows_for(run: RunData, table: str, ids: list[str]) -> pd.DataFrame:
    t = run.tables.get(table)
    if t is None:
        return pd.DataFrame()
    return t[t["clinician_id"].astype(str).isin(ids)]


def _who(run: RunData, t: pd.DataFrame, names: bool) -> dict:
    """The leading "Clinician" column of a supervisor's table (none in a self-view)."""
    return {"Clinician": t["clinician_id"].map(run.name_of)} if names else {}


def pick_supervisor(run: RunData, supervisor_id: str = "") -> str:
    """The supervisor a pack is for: the one asked for, or the first supervisor in the run."""
    from .supervision import supervisors

    ids = supervisors(run.prepared_table("clinicians"), run.config)
    _text_id(supervisor_id, "supervisor_id")
    if not supervisor_id:
        if not ids:
            raise ValueError("no clinician supervises anyone employed in this period")
        return ids[0]
    if supervisor_id not in ids:
        raise ValueError(f"{supervisor_id} supervises no clinician employed in this period")
    return supervisor_id


def supervisees_of(run: RunData, supervisor_id: str) -> list[str]:
    from .supervision import supervisees

    return supervisees(run.prepared_table("clinicians"), run.config, supervisor_id)


def supervisor_title(run: RunData, supervisor_id: str) -> Text:
    names = [md(run.name_of(c)) for c in supervisees_of(run, supervisor_id)]
    me = md(run.name_of(supervisor_id))
    return Text(f"## Supervision pack: {me}\n\n"
                f"**For {me}**, as clinical supervisor of "
                f"{', '.join(names)}. Period {_period_words(run.config)}. This pack supports "
                "supervision: it is not for employment decisions, and the owner's report does "
                "not include it. Share each supervisee's part with them.")


def ledger_table(run: RunData, ids: list[str], *, names: bool = True):
    """The licensure ledger in words: hours to date against the rule, compliance in the
    period, projected completion."""
    from .supervision import load_rules

    t = _rows_for(run, "supervision", ids)
    if t.empty:
        return Text("No pre-licensed clinician here: there is no licensure ledger.")
    rules = load_rules(run.config)
    cols = {}
    for _, r in t.iterrows():
        who = run.name_of(r["clinician_id"]) if names else "You"

        def of(have, need):
            if pd.isna(have):
                return "not known"
            return (f"{have:,.0f} of {need:,.0f}" if pd.notna(need) else f"{have:,.0f}")

        per = "–"
        if pd.notna(r["periods_assessed"]):
            unit = f"{rules[r['rule']].compliance.period}s"
            per = f"{int(r['periods_compliant'])} of {int(r['periods_assessed'])} {unit}"
        cols[who] = {
            "Rule": _text_or(r["rule_name"], _text_or(r["note"], "–")),
            "Experience counted since": _date_words(r["experience_since"]),
            "Total hours": of(r["total_hours"], r.get("total_required")),
            "Direct client hours": of(r["direct_hours"], r.get("direct_required")),
            "Supervision hours (individual or triadic)":
                of(r["supervision_hours_individual"], r.get("supervision_individual_required")),
            "Supervision hours (group)": of(r["supervision_hours_group"], None),
            "Supervised weeks": of(r["supervised_weeks"], r.get("weeks_required")),
            "Supervision met the rule this period": per,
            "Projected completion at the current pace": _date_words(r["projected_completion"]),
            "Note": _text_or(r["note"], "–"),
        }
    return pd.DataFrame(cols)


def ledger_note(run: RunData, ids: list[str]) -> Text:
    from .supervision import load_rules

    rules = load_rules(run.config)
    t = _rows_for(run, "supervision", ids)
    used = set(t["rule"].dropna()) if not t.empty else set()
    cites = "\n".join(f"- **{md(r.name)}**: {md(r.citation)}" for r in rules.values()
                      if r.id in used)
    if not cites:
        return Text("")
    return Text("Hours come from the practice's records: attended sessions are direct client "
                "hours, the supervision log gives supervision hours. Experience from before the "
                "records can be added in the parameters file. **The licensing board's current "
                "rules govern**; perfkit's rule files summarise them:\n\n" + cites)


def compliance_figure(run: RunData, ids: list[str], *, names: bool = True):
    """Supervision in each week or month of the last half year against what the rule needs."""
    t = _rows_for(run, "supervision_periods", ids)
    if not run.provided("supervision"):
        return Text("No supervision records were provided, so weekly or monthly supervision "
                    "cannot be shown.")
    if t.empty:
        return Text("No weekly or monthly supervision requirement applies here.")
    t = t.assign(period_start=pd.to_datetime(t["period_start"]))
    t = t[t["period_start"] >= pd.Timestamp(run.config.period_end) - pd.DateOffset(months=6)]
    people = sorted(t["clinician_id"].unique())
    fig, axes = plt.subplots(len(people), 1, figsize=(9, 2.6 * len(people)), squeeze=False)
    for ax, cid in zip(axes[:, 0], people, strict=True):
        p = t[t["clinician_id"] == cid]
        unit = p["unit"].iloc[0]
        width = 5 if p["period"].iloc[0] == "week" else 24
        colors = np.where(~_flag(p["assessed"]), "#cbd5e0",
                          np.where(_flag(p["compliant"]), plots.BLUE, plots.ORANGE))
        ax.bar(p["period_start"], p["counted"], width=width, color=colors, align="edge")
        missed = p[_flag(p["assessed"]) & (p["counted"] == 0)]
        ax.scatter(missed["period_start"] + pd.Timedelta(days=width / 2),
                   np.zeros(len(missed)), marker="x", color=plots.ORANGE, zorder=3,
                   label="no supervision" if len(missed) else None)
        ax.step(p["period_start"], p["required"], where="post", color=plots.GREY, lw=1.5,
                label="what the rule needs")
        who = run.name_of(cid) if names else "Your supervision"
        ax.set_title(f"{who}: supervision {unit} per {p['period'].iloc[0]} "
                     "(orange: below the rule; grey: no client hours)", loc="left")
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=-0.1 * max(p["required"].max(), p["counted"].max(), 1))
        ax.legend(loc="upper left", bbox_to_anchor=(1, 1), frameon=False, fontsize=8)
    return plots.done(fig)


def goals_table(run: RunData, ids: list[str], *, names: bool = True):
    t = _rows_for(run, "goals", ids)
    if not run.provided("goals"):
        return Text("No goals were provided in this export.")
    if t.empty:
        return Text("No goals recorded.")
    days = run.config.supervision.goal_review_days
    out = pd.DataFrame({
        **_who(run, t, names),
        "Goal": t["description"], "Set": t["set_on"].map(_date_words),
        "Target": t["target_date"].map(_date_words), "Status": t["status"],
        "Last looked at": t["last_reviewed"].map(_date_words),
        "Needs a review": np.where(_flag(t["review_overdue"]),
                                   f"yes: over {days} days", ""),
    })
    return table(
        out, "Goals are agreed together; an open goal not looked at for a while is listed so it "
        "can be revisited, revised or let go.")


def reviews_table(run: RunData, ids: list[str], *, names: bool = True):
    """Latest competency rating per domain with the observed evidence and change."""
    t = _rows_for(run, "reviews", ids)
    if not run.provided("reviews"):
        return Text("No competency reviews were provided in this export, so whether one is "
                    "due is not known.")
    if t.empty:
        return Text("No competency reviews apply here (structured reviews are for licensed "
                    "clinicians; supervision covers pre-licensed ones).")
    t = t[t["rating"].notna() | _flag(t["review_overdue"])]
    if t.empty:
        return Text("No competency reviews recorded.")

    def change(v):
        return "–" if pd.isna(v) else ("same" if v == 0 else f"{v:+.0f}")

    out = pd.DataFrame({
        **_who(run, t, names),
        "Area": t["domain"].str.capitalize(),
        "Rating (1-5)": t["rating"].map(lambda v: "not yet rated" if pd.isna(v) else f"{v:.0f}"),
        "What was observed": t["evidence"].fillna("–"),
        "Reviewed": t["review_date"].map(_date_words),
        "Change since the previous review": t["change"].map(change),
        "Review due": np.where(_flag(t["review_overdue"]), "yes", ""),
    })
    return table(
        out, "Ratings rest on observed behaviour (knowledge, skills, attitudes, values): what the "
        "clinician does, not who they are.")


def ce_table(run: RunData, ids: list[str], *, names: bool = True):
    t = _rows_for(run, "ce", ids)
    if not run.provided("ce"):
        return Text("No continuing-education records were provided in this export, so hours "
                    "toward renewal are not known.")
    if t.empty:
        return Text("No continuing-education records.")
    out = pd.DataFrame({
        **_who(run, t, names),
        "License": t["license_type"].fillna("–"),
        "Cycle": [f"{_date_words(a)} to {_date_words(pd.Timestamp(b) - pd.Timedelta(days=1))}"
                  if pd.notna(a) else "–"
                  for a, b in zip(t["cycle_start"], t["cycle_end"], strict=True)],
        "Hours so far": t["hours"].map(lambda v: _num(v, 1)),
        "Hours needed": t["required_hours"].map(lambda v: _num(v, 0)),
        "Status": [_ce_words(r) for _, r in t.iterrows()],
    })
    return table(out)


def _ce_words(r) -> str:
    if pd.isna(r["required_hours"]):
        return "no requirement set in the parameters"
    if pd.isna(r["hours"]):
        return "not known: no continuing-education records were provided"
    if r["remaining_hours"] <= 0:
        return "complete for this cycle"
    if bool(r["due_soon"]):
        return f"{r['remaining_hours']:g} hours still needed before {_date_words(r['cycle_end'])}"
    return "on an even pace" if not bool(r["behind_pace"]) else \
        f"{r['remaining_hours']:g} hours to go"


def supervision_questions(run: RunData, ids: list[str], *, names: bool = True) -> Text:
    """Prompts for the next supervision meeting, from the ledger, goals and outcomes."""
    qs = []
    led = _rows_for(run, "supervision", ids)
    for _, r in led.iterrows():
        who = md(run.name_of(r["clinician_id"])) if names else "You"
        if r.get("behind_on_supervision") in (True, "True"):
            qs.append(f"{who}: supervision fell short of the rule in "
                      f"{int(r['periods_assessed'] - r['periods_compliant'])} of "
                      f"{int(r['periods_assessed'])} periods. What would make a regular slot "
                      "easier to keep?" if pd.notna(r["periods_assessed"]) else
                      f"{who}: supervision hours are behind the rule's pace. How can we catch "
                      "up?")
    g = _rows_for(run, "goals", ids)
    g = g[_flag(g["review_overdue"])] if not g.empty else g
    for cid, n in (g.groupby("clinician_id").size().items() if not g.empty else []):
        who = md(run.name_of(cid)) if names else "You"
        qs.append(f"{who}: {n} open {'goal has' if n == 1 else 'goals have'} not been looked at "
                  "for a while. Still the right goals?")
    nt = _rows_for(run, "not_on_track", ids)
    for cid, n in (nt.groupby("clinician_id").size().items() if not nt.empty else []):
        who = md(run.name_of(cid)) if names else "You"
        qs.append(f"{who}: {n} {'client is' if n == 1 else 'clients are'} off their expected "
                  "course. Which would it help to talk through?")
    if not qs:
        qs.append("Nothing is flagged this period. What would be most useful to focus on?")
    return Text("\n".join(f"- {q}" for q in qs))


@_measured(say=True)
def supervisee_alerts(run: RunData, ids: list[str]):
    """Supervisees' clients who are off track or answered PHQ-9 item 9 above zero."""
    nt = _rows_for(run, "not_on_track", ids)
    i9 = _rows_for(run, "item9_flags", ids)
    i9 = i9 if not i9.empty else pd.DataFrame(columns=["clinician_id", "client_id"])
    rows = [{"Clinician": run.name_of(r["clinician_id"]), "Client": r["client_id"],
             "Why listed": r["reason"], "Measure": r["instrument"],
             "Latest": r["last_at"]} for _, r in nt.iterrows()]
    # item 9: one row per client (how often, the highest answer, the latest date)
    for (cid, client), g in i9.groupby(["clinician_id", "client_id"], sort=False):
        worst = g.loc[g["response"].idxmax()] if "response" in g else g.iloc[-1]
        rows.append({"Clinician": run.name_of(cid), "Client": client,
                     "Why listed": f"PHQ-9 item 9 above zero {len(g)} "
                                   f"{'time' if len(g) == 1 else 'times'}, at most "
                                   f"'{worst['response_words']}'",
                     "Measure": "PHQ-9", "Latest": g["date"].max()})
    if not rows:
        return Text("No supervisee's client is off track or flagged this period.")
    return table(
        pd.DataFrame(rows), "Clients are shown by pseudonymous id only.")


@_measured()
def trajectories_grid(run: RunData, ids: list[str], instrument: str = "PHQ-9"):
    """Each supervisee's clients' scores over time, one panel per supervisee."""
    figs = [(cid, trajectories_figure(run, cid, instrument)) for cid in ids]
    if len(figs) == 1:
        return figs[0][1]
    from IPython.display import display

    for cid, fig in figs:
        fig.axes[0].set_title(f"{run.name_of(cid)}: clients' {instrument} scores over time",
                              loc="left")
        display(fig)
    return None


def renewals_table(run: RunData):
    """The owner's administrative view of licences: continuing education against the
    requirement and whether a competency review is due. No ratings, evidence, goals or
    supervision content."""
    ce = run.tables.get("ce", pd.DataFrame())
    rv = run.tables.get("reviews", pd.DataFrame())
    if ce.empty or "clinician_id" not in ce:
        return Text("No clinician records for licences this period.")
    due = rv.groupby("clinician_id").agg(last=("last_review", "max"),
                                         due=("review_overdue", "max")) if not rv.empty else None
    out = pd.DataFrame({"Clinician": ce["clinician_id"].map(run.name_of),
                        "License": ce["license_type"].fillna("–"),
                        "CE hours this cycle": [
                            f"{_num(h, 1)} of {_num(n, 0)}" if pd.notna(n) and pd.notna(h)
                            else "–"
                            for h, n in zip(ce["hours"], ce["required_hours"], strict=True)],
                        "Continuing education": [_ce_words(r) for _, r in ce.iterrows()]})
    if due is not None:
        last = ce["clinician_id"].map(due["last"])
        flag = ce["clinician_id"].map(due["due"])
        out["Last competency review"] = [
            _date_words(d) if isinstance(d, str) else ("–" if pd.isna(f) else "none yet")
            for d, f in zip(last, flag, strict=True)]
        out["Review due"] = np.where(_flag(flag), "yes",
                                     "–" if not run.provided("reviews") else "")
    return table(
        out.sort_values("Clinician"), "Ratings, observed evidence, goals and supervision are "
        "not shown here: they belong to supervision and to the clinician.")
