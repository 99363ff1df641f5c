"""A run's tables are typed at the seam: each ``tables/name.csv`` has ``tables/name.parquet``
beside it, and :func:`perfkit.io.read_table` (so :func:`perfkit.report.run_folder.load_run`) gives
ids as text, yes/no columns as nullable booleans and dates as datetimes, from the Parquet, or
from the CSV alone in an older run folder."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from perfkit.hostile_text import csv_safe
from perfkit.io import read_table, write_table
from perfkit.report.format import known_yes, yes_no
from perfkit.report.run_folder import load_run

from practice_data import typed_and_csv_tables_differ

IDS = ["001", "NA", "1e3", "true", "=1+1"]


def _frame() -> pd.DataFrame:
    """Ids that look like numbers, missing values, yes/no or formulas; yes/no with gaps (as a
    table builds them: object columns of True, False and None or NaN); dates; numbers."""
    return pd.DataFrame({
        "clinician_id": IDS,
        "supervisor_id": ["None", None, "007", "", "-3"],
        "flag_low_utilization": [True, None, False, True, float("nan")],
        "behind_on_supervision": [False, False, True, False, True],
        "due_soon": [float("nan")] * 5,  # nothing known: still a yes/no column
        "period_start": [dt.date(2026, 8, 1)] * 4 + [None],
        "last_review": pd.to_datetime(["2026-09-30", None, "2026-01-02", "2025-12-31",
                                       "2026-10-31"]),
        "utilization": [0.5, 0.875, None, 1.0, 0.0],
        "sessions": [12, 0, 3, 40, 7],
    })


def _run_folder(tmp_path, frame: pd.DataFrame, *, csv_only: bool = False):
    """A run folder as ``perfkit run`` writes one (the run facts and one table), or as an
    older perfkit wrote it (the CSV alone)."""
    folder = tmp_path / "run"
    (folder / "prepared").mkdir(parents=True)
    (folder / "prepared" / "snapshot.json").write_text(json.dumps({}))
    path = folder / "tables" / "clinician_metrics.csv"
    if csv_only:
        path.parent.mkdir()
        csv_safe(frame).to_csv(path, index=False, date_format="%Y-%m-%d")
    else:
        write_table(frame, path)
    return folder


def _assert_ids_and_yes_no(t: pd.DataFrame) -> None:
    assert pd.api.types.is_string_dtype(t["clinician_id"])
    assert t["clinician_id"].tolist() == IDS
    sup = t["supervisor_id"]
    assert pd.api.types.is_string_dtype(sup)
    assert (sup.iloc[0], sup.iloc[2], sup.iloc[4]) == ("None", "007", "-3")
    assert pd.isna(sup.iloc[1])
    for col in ("flag_low_utilization", "behind_on_supervision", "due_soon"):
        assert t[col].dtype == "boolean", col
    flag = t["flag_low_utilization"]
    assert flag.isna().tolist() == [False, True, False, False, True]
    assert flag.fillna(False).tolist() == [True, False, False, True, False]
    assert t["behind_on_supervision"].tolist() == [False, False, True, False, True]
    assert t["due_soon"].isna().all()
    assert t["utilization"].tolist()[:2] == [0.5, 0.875] and pd.isna(t["utilization"][2])
    assert t["sessions"].tolist() == [12, 0, 3, 40, 7]


def test_write_table_writes_the_csv_as_before_and_a_typed_parquet_beside_it(tmp_path):
    frame = _frame()
    path = write_table(frame, tmp_path / "tables" / "t.csv")
    assert sorted(p.name for p in path.parent.iterdir()) == ["t.csv", "t.parquet"]
    assert path.read_text() == csv_safe(frame).to_csv(index=False, date_format="%Y-%m-%d")
    assert "'=1+1" in path.read_text()  # guarded for spreadsheets; the Parquet is not
    assert pd.read_parquet(path.with_suffix(".parquet"))["clinician_id"].tolist() == IDS


def test_a_run_read_back_from_its_parquet_keeps_every_type(tmp_path):
    t = load_run(_run_folder(tmp_path, _frame())).table("clinician_metrics")
    _assert_ids_and_yes_no(t)
    assert t["supervisor_id"].iloc[3] == ""  # Parquet keeps an empty id apart from a gap
    for col in ("period_start", "last_review"):
        assert pd.api.types.is_datetime64_any_dtype(t[col]), col
    assert t["period_start"].tolist()[:4] == [pd.Timestamp("2026-08-01")] * 4
    assert pd.isna(t["period_start"].iloc[4])
    assert t["last_review"].iloc[2] == pd.Timestamp("2026-01-02")
    assert pd.isna(t["last_review"].iloc[1])


def test_an_older_run_with_only_csvs_is_read_with_the_same_schema(tmp_path):
    folder = _run_folder(tmp_path, _frame(), csv_only=True)
    assert not list((folder / "tables").glob("*.parquet"))
    t = load_run(folder).table("clinician_metrics")
    _assert_ids_and_yes_no(t)
    assert pd.isna(t["supervisor_id"].iloc[3])  # a CSV cannot tell "" from a gap
    for col in ("period_start", "last_review"):
        assert pd.api.types.is_datetime64_any_dtype(t[col]), col
    assert t["period_start"].tolist()[:4] == [pd.Timestamp("2026-08-01")] * 4
    assert t["last_review"].iloc[2] == pd.Timestamp("2026-01-02")
    assert pd.isna(t["last_review"].iloc[1])


def test_a_yes_no_column_holding_anything_else_is_an_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("clinician_id,flag_late_notes\nC1,True\nC2,maybe\n")
    with pytest.raises(ValueError, match="flag_late_notes"):
        read_table(path)
    with pytest.raises(ValueError, match="over_capacity"):
        write_table(pd.DataFrame({"over_capacity": [True, "yes"]}), tmp_path / "u.csv")
    path.write_text("clinician_id,flag_late_notes\nC1,1\nC2,\nC3,0\n")  # another tool's 1/0
    assert read_table(path)["flag_late_notes"].tolist() == [True, pd.NA, False]


def test_a_column_of_mixed_kinds_is_stored_as_the_csv_text(tmp_path):
    """Parquet holds one type a column; numbers and text together are kept as their text."""
    path = write_table(pd.DataFrame({"clinician_id": ["A", "B"], "value": [1.5, "n/a"]}),
                       tmp_path / "t.csv")
    assert read_table(path)["value"].tolist() == ["1.5", "n/a"]


def test_the_comparison_finds_a_csv_that_differs_from_its_parquet(tmp_path):
    folder = _run_folder(tmp_path, _frame())
    assert typed_and_csv_tables_differ(folder) == []
    path = folder / "tables" / "clinician_metrics.csv"
    path.write_text(path.read_text().replace("0.875", "0.9"))
    assert typed_and_csv_tables_differ(folder) == [
        "clinician_metrics.csv: utilization row 1: '0.875' != '0.9'"]


def test_yes_no_words_and_a_missing_value_is_not_yes():
    s = pd.Series([True, None, False], dtype="boolean")
    assert yes_no(s).tolist() == ["yes", "not known", "no"]  # unknown is never shown as "no"
    assert [known_yes(v) for v in s] == [True, False, False]
    assert known_yes(None) is False and known_yes(pd.NA) is False


def test_a_table_read_again_is_the_one_on_disk_and_no_report_changes_the_next(tmp_path):
    """load_run keeps the tables it read for the next report of the same kernel: a change one
    report makes to its frame never reaches the next, and a table written again is read
    again."""
    folder = _run_folder(tmp_path, _frame())
    first = load_run(folder).table("clinician_metrics")
    first.loc[0, "utilization"] = 9.0  # a report that writes into a table it read
    first["sessions"] = 0
    again = load_run(folder).table("clinician_metrics")
    assert again["utilization"].tolist()[:2] == [0.5, 0.875]
    assert again["sessions"].tolist() == [12, 0, 3, 40, 7]
    changed = _frame().assign(sessions=[1, 2, 3, 4, 5])
    write_table(changed, folder / "tables" / "clinician_metrics.csv")
    assert load_run(folder).table("clinician_metrics")["sessions"].tolist() == [1, 2, 3, 4, 5]
    other = _run_folder(tmp_path / "other", _frame().assign(sessions=[7] * 5))
    assert load_run(other).table("clinician_metrics")["sessions"].tolist() == [7] * 5
