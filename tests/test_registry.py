"""The metric registry (perfkit.registry): every metric's words and format are written once,
every metric column of the run's clinician table has an entry, every threshold parameter
exists, and values are written as worked out by hand."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

import perfkit
from perfkit import registry as reg
from perfkit.config import Config

SRC = Path(perfkit.__file__).parent
DOCS = Path(__file__).parent.parent / "docs" / "data_contract.md"


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module (f-string parts too), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docstrings]


def _labels() -> set[str]:
    """Every label the registry writes (the labels, long labels, columns and series),
    placeholders and all."""
    out = set()
    for m in reg.METRICS.values():
        out |= {w for w in (m.label, m.long, m.column, m.series) if w}
    return out


def test_each_label_is_written_once_in_the_package_in_the_registry():
    # outside the registry, no string is a label or begins with one ("Missed appointments
    # (no-shows ...)", "Utilization trend"): a metric's words written again; in the registry,
    # each label is one whole string (its long label may begin with it)
    labels = {w for w in _labels() if "{" not in w}
    labels |= {w.split("{")[0] for w in _labels() if "{" in w and len(w.split("{")[0]) > 12}
    assert "Missed appointments" in labels and "Notes within " in labels
    elsewhere, whole = {}, {}
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(SRC))
        for line, text in _literals(path):
            for w in labels:
                starts = text.startswith(w if w.endswith(" ") else (w + " ", w + ":"))
                if where != "registry.py" and (text == w or starts):
                    elsewhere.setdefault(w, []).append(f"{where}:{line}")
                if where == "registry.py" and text == w:
                    whole.setdefault(w, []).append(line)
    assert elsewhere == {}
    complete = {w for w in _labels() if "{" not in w}
    assert {w: lines for w, lines in whole.items() if len(lines) != 1} == {}
    assert complete <= set(whole)


def test_the_label_test_would_find_a_copy(tmp_path):
    # the scan above is not empty-handed by construction: a copy of a label is a literal it sees
    copy = tmp_path / "copy.py"
    copy.write_text('"""Missed appointments in a docstring is fine."""\n'
                    'COLS = ["Missed appointments", "Utilization"]\n', encoding="utf-8")
    assert [t for _, t in _literals(copy)] == ["Missed appointments", "Utilization"]


def test_every_metric_column_of_the_clinician_table_has_an_entry():
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"`tables/clinician_metrics.csv`: (`[^.]*?`) \(more columns", text,
                      re.S).group(1)
    columns = [c.strip() for c in block.replace("`", "").replace("\n", " ").split(",")]
    assert columns[0] == "clinician_id" and "non_attendance_rate" in columns
    assert [c for c in columns[1:] if c not in reg.METRICS] == []


def test_the_reports_metric_columns_have_an_entry():
    # the figures the reports and the explorer show: each of these columns is read with its
    # registry entry's words and format
    shown = ["sessions_attended", "hours_attended", "available_hours", "utilization",
             "no_show_rate", "late_cancel_rate", "non_attendance_rate", "notes_due",
             "notes_within_24h", "notes_within_72h", "median_note_lag_hours", "notes_open_72h",
             "unsigned_overdue_7d", "unsigned_overdue_share", "active_clients", "new_clients",
             "retained_8plus_rate", "caseload", "clinician_cancelled", "weeks_over_goal",
             "days_off_recent", "caseload_growing_weeks", "episodes", "paired_completeness",
             "reliable_improvement_rate", "reliable_deterioration_rate", "recovery_rate"]
    assert [k for k in shown if k not in reg.METRICS] == []


def test_every_threshold_parameter_resolves_on_a_default_config():
    cfg = Config()
    paths = [p for m in reg.METRICS.values() for p in m.threshold]
    assert "operations.non_attendance_alert" in paths
    for p in paths:
        assert isinstance(reg.config_path(cfg, p), (int, float)), p
    assert reg.threshold_values("non_attendance_rate") == {
        "operations.non_attendance_alert": 0.10}
    assert reg.threshold_values("utilization") == {
        "operations.utilization_alert": 0.70, "operations.utilization_review": 0.80,
        "workload.over_capacity": 1.0}
    # a window given as a Config path resolves too
    for m in reg.METRICS.values():
        head = m.window.split(":")[0]
        if re.fullmatch(r"[a-z]+\.[a-z_]+", head):
            assert isinstance(reg.config_path(cfg, head), int), m.key


def test_each_entry_is_well_formed():
    for key, m in reg.METRICS.items():
        assert m.key == key
        assert m.unit in reg.UNITS, key
        assert m.direction in (reg.HIGHER_BETTER, reg.HIGHER_WORSE, reg.NEITHER), key
        assert m.source in ("clinician_metrics", "outcomes_by_clinician", "clinician_effects",
                            "workforce"), key
        # a threshold sets a flag (utilization's review band sets the watch mark, beside its
        # two flags)
        assert bool(m.threshold) <= bool(reg.flags_of(key)), key
    with pytest.raises(AttributeError):
        reg.METRICS["utilization"].label = "Use"  # frozen


@pytest.mark.parametrize(("key", "value", "written"), [
    ("non_attendance_rate", 0.1234, "12.3%"),  # one decimal
    ("non_attendance_rate", 0.1, "10.0%"),
    ("utilization", 0.695, "70%"),  # no decimals (rounded half to even: 69.5 -> 70)
    ("utilization", 0.6949, "69%"),
    ("notes_within_72h", 0.9, "90%"),
    ("unsigned_overdue_share", 0.025, "2.5%"),
    ("median_note_lag_hours", 30.25, "30.2"),
    ("sessions_attended", 1336, "1,336"),
    ("sessions_attended", float("nan"), "–"),
    ("utilization", None, "–"),
])
def test_values_are_written_as_worked_out_by_hand(key, value, written):
    assert reg.format_value(key, value) == written


def test_value_words_give_a_count_its_noun():
    assert reg.value_words("unsigned_overdue_7d", 3) == "3 notes"
    assert reg.value_words("unsigned_overdue_7d", 1) == "1 note"
    assert reg.value_words("caseload_growing_weeks", 9.0) == "9 weeks"
    assert reg.value_words("days_off_recent", 1) == "1 day"
    assert reg.value_words("non_attendance_rate", 0.125) == "12.5%"
    assert reg.value_words("utilization", "") == "–"


def test_labels_say_the_runs_own_settings():
    assert reg.label_of("non_attendance_rate") == "Missed appointments"
    assert reg.label_of("non_attendance_rate", kind="long") == \
        "Missed appointments (no-shows and late cancellations)"
    assert reg.label_of("utilization", kind="column") == "Utilization"  # falls back to label
    assert reg.label_of("notes_within_72h", kind="column") == "Notes within 72 h"
    cfg = Config(operations={"note_standard_hours": 48, "note_overdue_days": 10})
    assert reg.label_of("notes_within_72h", cfg) == "Notes within 48 hours"
    assert reg.label_of("unsigned_overdue_7d", cfg, "column") == "Notes unsigned > 10 days"
    assert "within 48 hours of the session's end" in reg.definition_of("notes_within_72h", cfg)


def test_directions_give_the_trend_that_is_a_concern():
    assert reg.concern("utilization") == "declining"
    assert reg.concern("non_attendance_rate") == "growing"
    assert reg.concern("active_clients") is None
    # the trends module reads them: the same concern for each weekly metric
    from perfkit.trends import PERCENT_METRICS, TREND_CONCERN
    assert TREND_CONCERN["median_note_lag_hours"] == "growing"
    assert TREND_CONCERN["notes_within_24h"] == "declining"
    assert TREND_CONCERN["new_clients"] is None
    assert PERCENT_METRICS == {"utilization", "non_attendance_rate", "no_show_rate",
                               "late_cancel_rate", "notes_within_24h", "notes_within_72h"}


def test_the_flags_compare_rates_with_the_registrys_digits():
    from perfkit.operations import as_displayed, beyond
    assert reg.DISPLAY_DIGITS["non_attendance_rate"] == 1
    assert as_displayed([0.09951], "non_attendance_rate").tolist() == [0.1]
    assert beyond([0.09951], "non_attendance_rate", 0.10, "at or above").tolist() == [True]
    assert beyond([0.6951], "utilization", 0.70, "below").tolist() == [False]  # shown as 70%


def test_the_registry_imports_nothing_that_computes():
    from test_architecture import imported
    found = {name for _, name in imported((SRC / "registry.py").read_text(encoding="utf-8"),
                                          "perfkit.registry")}
    # the parameters and the data contract's vocabularies (the trend labels): data, no compute
    assert found == {"perfkit.config", "perfkit.contract"}


# -- the flags: each one's words, written once, with the thresholds in the metric's format ----


def test_every_flag_column_has_one_entry_reading_a_registered_metric():
    from perfkit import history
    from perfkit.check_ins import FLAG_SIGNALS
    # the flag columns the compute side writes and the check-ins ask about: one entry each,
    # over_capacity too (utilization's second flag)
    assert list(reg.FLAGS) == [f for f, _ in history.FLAGS] == list(FLAG_SIGNALS)
    assert {f: e.metric for f, e in reg.FLAGS.items()} == dict(history.FLAGS)
    assert reg.flags_of("utilization") == ["flag_low_utilization", "over_capacity"]
    for key, f in reg.FLAGS.items():
        assert f.side in (reg.BELOW, reg.ABOVE), key
        assert f.mark == ("▼" if f.side == reg.BELOW and key != "flag_no_time_off" else "▲")
        for path in f.threshold:  # a metric's threshold: written in that metric's format
            assert any(path in m.threshold for m in reg.METRICS.values()), path


def test_flag_words_fill_the_thresholds_in_each_metrics_format():
    row = {"utilization": 0.62, "non_attendance_rate": 0.1234, "notes_within_72h": 0.8,
           "unsigned_overdue_7d": 4, "unsigned_overdue_share": 0.05, "weeks_over_goal": 5,
           "caseload_growing_weeks": 7}
    cfg = Config(operations={"utilization_alert": 0.65, "non_attendance_alert": 0.125,
                             "note_standard_hours": 48, "unsigned_overdue_share": 0.025},
                 workload={"over_capacity": 1.05, "over_goal_margin": 0.15})

    def text(key, kind):
        return reg.flag_text(key, kind, cfg, row)

    # a share threshold with its metric's digits: missed appointments one decimal (12.5%,
    # not 12% or 13%), utilization none, the backlog's share one
    assert text("flag_low_utilization", "detail") == "utilization 62%, below 65%"
    assert text("over_capacity", "phrase") == "utilization above 105% of the hours offered"
    assert text("flag_high_non_attendance", "detail") == \
        "missed appointments 12.3%, at or above 12.5%"
    assert text("flag_high_non_attendance", "limit") == "flagged at 12.5% or more"
    assert text("flag_late_notes", "phrase") == "fewer than 90% of notes signed within 48 hours"
    assert text("flag_late_notes", "cell") == "notes signed within 48 hours 80%"
    assert text("flag_unsigned_overdue", "detail") == (
        "4 notes unsigned for more than 7 days (5.0% of notes due), at or above 3 notes and "
        "2.5%")
    # the metric's window from the parameters; a margin that is not a metric's own value
    assert text("flag_over_goal", "phrase") == \
        "sessions 15% or more above the weekly goal in 4 of 6 weeks"
    assert text("flag_no_time_off", "cell") == "no time off recorded in 6 months"
    assert text("flag_caseload_growing", "detail") == \
        "caseload growing for 7 weeks in a row, at or above 8"
    # no share of notes due known: no brackets
    assert reg.flag_text("flag_unsigned_overdue", "detail", cfg,
                         {"unsigned_overdue_7d": 1}).startswith("1 note unsigned for more "
                                                                "than 7 days, at or above")


def test_the_reports_take_the_flags_words_from_the_registry():
    from perfkit.report import checkins, clinician, compare, metrics_table
    cfg = Config(operations={"non_attendance_alert": 0.125, "unsigned_overdue_share": 0.025})
    assert compare.flag_words(cfg)["flag_high_non_attendance"] == \
        "missed appointments at 12.5% or more"
    assert checkins.REASONS["over_capacity"] == "over capacity"
    assert list(checkins.REASONS)[:len(reg.FLAGS)] == list(reg.FLAGS)
    legend = metrics_table.legend(cfg)
    assert ("Thresholds (parameters): utilization below 70% or above 100% of the hours "
            "offered; missed appointments at or above 12.5%; notes within 72 h below 90%; "
            "notes unsigned for more than 7 days: 3 or more and at least 2.5% of the notes "
            "due.") in legend
    assert metrics_table.flag_detail("flag_low_utilization", {"utilization": 0.6}, cfg) == \
        "utilization 60%, below 70%"

    class Run:
        config = cfg
    assert clinician._thresholds(Run()) == {
        "utilization": "flagged below 70% or above 100%",
        "non_attendance_rate": "flagged at 12.5% or more",
        "notes_within_72h": "flagged below 90%"}


def test_the_glossary_terms_of_metrics_are_the_registrys():
    assert reg.term_of("episodes") == "Course of treatment"
    assert reg.term_of("utilization") == "Utilization"  # no term: its label
    # a term naming two metrics says their labels
    assert reg.term_of("reliable_improvement_rate") == (
        f"{reg.label_of('reliable_improvement_rate')} / "
        f"{reg.label_of('reliable_deterioration_rate').lower()}")
    cfg = Config(operations={"note_standard_hours": 48, "note_overdue_days": 10})
    assert reg.definition_of("notes_open_72h", cfg) == (
        "attended sessions of the period without a signed note more than 48 hours or 10 days "
        "after they ended.")
    assert reg.definition_of("turnover_12m", last="31 Oct 2026").endswith(
        "turnover over the last 12 months to 31 Oct 2026.")


@pytest.mark.parametrize("col", ["utilization", "non_attendance_rate", "notes_within_72h"])
def test_the_weekly_figure_and_the_table_write_a_share_alike(tmp_path, col):
    """The weekly figure's sentence and the operations table write one value the same way:
    8.33% is "8.3%" in both for missed appointments (one decimal), "8%" for the others."""
    from test_checkins import _metrics, _run

    from perfkit.report.figures.operations_charts import _weekly_words
    from perfkit.report.metrics_table import operations_table
    reading = pd.Series({"weeks": 12, "end_weeks": 6, "left_out": 0, "start": 1 / 12,
                         "end": 1 / 12})
    said = _weekly_words(col, reg.label_of(col, kind="series"), reading, "")
    t = operations_table(_run(tmp_path, _metrics([{"clinician_id": "A", col: 1 / 12}])))
    cell = t.data.set_index("Clinician").loc["Ann", reg.label_of(col, kind="column")]
    written = {"non_attendance_rate": "8.3%"}.get(col, "8%")
    assert cell == written
    assert f"from {written} to {written} over the last 12 weeks" in said
