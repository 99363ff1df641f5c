"""Session lengths from exports that give none (issue 30, item 5): a billing code anywhere in a
service text, the minutes a treatment name states (Jane: "Individual Therapy 50 min"), and the
default session length, each flagged as estimated and said. Every expectation is computed by
hand."""

from __future__ import annotations

import pandas as pd
import pytest

import perfkit as pk
from perfkit import operations as op
from perfkit import practice_summary as ps
from perfkit.ingest import IngestError, load_column_map
from perfkit.report.practice import _estimated_words

from practice_data import CLINICIANS, write_table

# A Jane-shaped appointment report: a treatment name per row, no duration, no end time.
ROWS = [
    # date, staff member, patient, treatment, state, note
    ["10/5/2026 10:00 AM", "Ada Lovelace", "Client A", "Psychotherapy 53 min (90837)",
     "attended", "signed"],
    ["10/6/2026 10:00 AM", "Ada Lovelace", "Client B", "Initial Consultation (60 minutes)",
     "attended", "signed"],
    ["10/7/2026 10:00 AM", "Ada Lovelace", "Client C", "Individual Therapy", "attended",
     "signed"],
    ["10/8/2026 10:00 AM", "Grace Hopper", "Client D", "Individual Therapy 45 min", "attended",
     "signed"],
    ["10/9/2026 10:00 AM", "Grace Hopper", "Client E", "First Counseling Appointment",
     "no_show", "signed"],
    ["10/12/2026 10:00 AM", "Grace Hopper", "Client D", "Family therapy 95 min (90847)",
     "attended", "signed"],
    ["10/13/2026 10:00 AM", "Grace Hopper", "Client E", "90834", "attended", "signed"],
]
HEADER = ["Date", "Staff Member", "Patient", "Treatment", "State", "Note"]

MAP = """
files: {appointments: export.csv, notes: export.csv}
columns:
  appointments: {Date: start, Staff Member: clinician_id, Treatment: service, State: status}
  notes: {Note: status}
client_key: [Patient]
exported_at: "11/3/2026 9:00 AM"
"""
FREE = "service_text: free\nsession_length: default\n"


@pytest.fixture
def export(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(folder, "clinicians", CLINICIANS)
    pd.DataFrame(ROWS, columns=HEADER).to_csv(folder / "export.csv", index=False)
    return folder


def _map(tmp_path, extra: str) -> str:
    path = tmp_path / "map.yaml"
    path.write_text(MAP + extra)
    return path


def test_treatment_names_give_kinds_and_lengths_and_the_default_fills_the_rest(
        export, cfg, tmp_path):
    ing = pk.ingest(export, cfg, column_map=_map(tmp_path, FREE))
    a = ing["appointments"]
    assert a.source_row.tolist() == [1, 2, 3, 4, 5, 6, 7]
    # 53 written (not the 60 of 90837); 60 written; the default 50; 45 written; a no-show
    # needs none; 95 written (not 90847's 50); 90834's usual 45
    assert a.duration_minutes.tolist() == [53, 60, 50, 45, pd.NA, 95, 45]
    assert a.duration_estimated.tolist() == [True, True, True, True, False, True, True]
    assert a.duration_default.tolist() == [False, False, True, False, False, False, False]
    assert a.service.tolist() == ["therapy", "intake", "therapy", "therapy", "intake",
                                  "therapy", "therapy"]
    assert a.service_code.fillna("").tolist() == ["90837", "", "", "", "", "90847", "90834"]
    # "53 min" and "95 min" are lengths, not CPT modifiers (95 would mean telehealth)
    assert not a.telehealth.any()
    q = ing.quality["tables"]["appointments"]
    assert q["reasons"] == {}
    adj = q["adjustments"]
    assert (adj["duration_from_service_name"], adj["duration_default"],
            adj["duration_from_code"], adj["service_from_name"]) == (4, 1, 1, 4)


def test_contract_reading_stays_strict_without_the_settings(export, cfg, tmp_path):
    """Without service_text: free, a treatment name is unknown_service (as for contract files);
    a billing code in a text still gives its usual length (90837: 60, not the 53 written)."""
    ing = pk.ingest(export, cfg, column_map=_map(tmp_path, ""))
    a = ing["appointments"]
    assert a.source_row.tolist() == [1, 6, 7]
    assert a.duration_minutes.tolist() == [60, 50, 45]
    assert not a.telehealth.any()  # "95 min" is still not the modifier 95
    q = ing.quality["tables"]["appointments"]
    assert q["reasons"] == {"unknown_service": 4}
    assert q["adjustments"]["duration_from_code"] == 3
    assert "duration_default" not in q["adjustments"]


def test_without_the_default_an_attended_session_with_no_length_is_rejected(export, cfg,
                                                                           tmp_path):
    ing = pk.ingest(export, cfg, column_map=_map(tmp_path, "service_text: free\n"))
    q = ing.quality["tables"]["appointments"]
    assert q["reasons"] == {"missing_duration": 1}
    assert ing.rejects.set_index(["table", "row"]).loc[("appointments", 3), "reason"] == \
        "missing_duration"


def test_the_default_length_is_the_parameters_and_a_given_length_wins(export, tmp_path):
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key",
                         services={"default_session_minutes": 55})
    rows = [r[:] for r in ROWS]
    frame = pd.DataFrame(rows, columns=HEADER)
    frame["Duration"] = ["", "", "", "", "", "30", ""]  # the export's own length wins
    frame.to_csv(export / "export.csv", index=False)
    own = MAP.replace("State: status}", "State: status, Duration: duration_minutes}")
    path = tmp_path / "own.yaml"
    path.write_text(own + FREE)
    a = pk.ingest(export, cfg, column_map=path)["appointments"]
    assert a.duration_minutes.tolist() == [53, 60, 55, 45, pd.NA, 30, 45]
    assert a.duration_estimated.tolist() == [True, True, True, True, False, False, True]


def test_hours_at_the_default_length_are_counted_apart(export, cfg, tmp_path):
    """C1: 53 + 60 + 50 minutes attended, all estimated, 50 at the default; C2: 45 + 95 + 45,
    none at the default."""
    data = pk.prepare(export, tmp_path / "run", cfg, column_map=_map(tmp_path, FREE))
    m = op.clinician_metrics(data, cfg).set_index("clinician_id")
    assert m.loc["C1", ["hours_attended", "hours_estimated", "hours_default"]].tolist() == \
        pytest.approx([163 / 60, 163 / 60, 50 / 60])
    assert m.loc["C2", ["hours_attended", "hours_estimated", "hours_default"]].tolist() == \
        pytest.approx([185 / 60, 185 / 60, 0.0])
    p = ps.practice_summary(data, cfg, m.reset_index()).iloc[0]
    assert p["hours_default"] == pytest.approx(50 / 60)
    assert p["hours_estimated"] == pytest.approx(348 / 60)


def _shares(hours: float, estimated: float, default: float) -> pd.Series:
    """The practice_summary row's shares of estimated hours, as perfkit run writes them."""
    return pd.Series(ps.hours_shares(hours, estimated, default))


def test_the_shares_of_estimated_hours_are_computed_with_the_summary():
    assert ps.hours_shares(10.0, 4.0, 1.0) == pytest.approx(
        {"hours_estimated_share": 0.4, "hours_default_share": 0.1,
         "hours_from_codes_share": 0.3})
    assert ps.hours_shares(8.0, 2.0, 2.0)["hours_from_codes_share"] == 0.0
    assert all(pd.isna(v) for v in ps.hours_shares(8.0, 0.0, 0.0).values())


def test_the_owners_words_say_which_part_is_the_default_length():
    both = _shares(10.0, 4.0, 1.0)
    assert _estimated_words(both, 50) == (
        " (40% of the hours are estimated: 10% at the default session length of 50 minutes, "
        "set in the parameters, as the export gave no length at all; 30% from billing codes "
        "or service names)")
    only = _shares(8.0, 2.0, 2.0)
    assert _estimated_words(only, 55) == (
        " (25% of the hours are at the default session length of 55 minutes, set in the "
        "parameters, as the export gave no length at all)")
    codes = _shares(8.0, 2.0, 0.0)
    assert _estimated_words(codes, 50) == (
        " (25% of the hours are estimated from billing codes or service names: the export "
        "gave no session lengths)")
    assert _estimated_words(_shares(8.0, 0.0, 0.0), 50) == ""


@pytest.mark.parametrize("text, words", [
    ("service_text: loose\n", "'service_text' must be codes or free, not 'loose'"),
    ("session_length: 50\n", "'session_length' must be required or default, not '50'"),
])
def test_a_wrong_setting_is_one_sentence(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(IngestError, match=words):
        load_column_map(path)
