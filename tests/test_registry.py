"""The metric registry (perfkit.registry): every metric's words and format are written once,
every metric column of the run's clinician table has an entry, every threshold parameter
exists, and values are written as worked out by hand."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
        assert bool(m.threshold) <= bool(m.flag), key  # a threshold sets a flag
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
    tree = ast.parse((SRC / "registry.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    # the parameters and the data contract's vocabularies (the trend labels): data, no compute
    assert imported <= {"__future__", "dataclasses", "pandas", "config", "contract"}
