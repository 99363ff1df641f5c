"""``check_ins.csv`` (perfkit.check_ins): who might welcome a check-in, sorted in compute.

The clinicians, flags, changes, ramps and leave are planted by hand; every expected row (the
group, the signals by kind, the context, the marks and the order) is worked out from the
planted values below, never read from perfkit's own output."""

from __future__ import annotations

import pandas as pd

from perfkit.check_ins import CHECK_INS_COLUMNS, check_ins
from perfkit.contract import DECLINING, GROWING, NEWLY, NOT_KNOWN, STILL

from practice_data import metric_rows

NAMES = {"N": "Nia", "L": "Lea", "W": "Wes", "S": "Sam", "F": "Fay", "O": "Ros", "R": "Rui",
         "C": "Cal", "Q": "Quinn"}


def _planted():
    metrics = metric_rows([
        # N: two flags new since the compared run
        {"clinician_id": "N", "flag_late_notes": True, "flag_over_goal": True},
        # L: notes late (14 days of time off explain it; flagged then too) and utilization
        # falling (time off does not explain utilization)
        {"clinician_id": "L", "flag_late_notes": True, "trend_utilization": DECLINING},
        # W: missed appointments rising; the unsigned-notes flag rests on documentation the
        # export does not know, so it is no signal
        {"clinician_id": "W", "trend_non_attendance_rate": GROWING,
         "flag_unsigned_overdue": True, "documentation_source": NOT_KNOWN},
        # S: flagged in the compared run too
        {"clinician_id": "S", "flag_high_non_attendance": True},
        # F and O: flagged, nothing to compare (O is a hire past their first weeks)
        {"clinician_id": "F", "flag_over_goal": True},
        {"clinician_id": "O", "flag_low_utilization": True},
        # R: a ramping new hire's low utilization, flagged then too; C: a ramping hire's
        # growing caseload, new (the ramp explains both)
        {"clinician_id": "R", "flag_low_utilization": True},
        {"clinician_id": "C", "flag_caseload_growing": True},
        # Q: nothing
        {"clinician_id": "Q"},
    ])
    changes = pd.DataFrame([("N", "flag_late_notes", NEWLY), ("N", "flag_over_goal", NEWLY),
                            ("L", "flag_late_notes", STILL),
                            ("S", "flag_high_non_attendance", STILL),
                            ("R", "flag_low_utilization", STILL)],
                           columns=["clinician_id", "flag", "change"])
    ramp = pd.DataFrame({"clinician_id": ["R", "C", "O"], "ramping": [True, True, False]})
    leave = pd.DataFrame({"clinician_id": ["L", "S"], "leave_days": [14, 12]})
    roster = pd.DataFrame({"clinician_id": list(NAMES), "name": list(NAMES.values())})
    return metrics, changes, ramp, leave, roster


def _row(cid, group, order, new="", worsening="", standing="", flagged="", explained="",
         held="", context="", leave_days=0, check_in=True, newly_flagged=False):
    return {"clinician_id": cid, "group": group, "order": order, "new": new,
            "worsening": worsening, "standing": standing, "flagged": flagged,
            "explained": explained, "held": held, "context": context,
            "leave_days": leave_days, "check_in": check_in, "newly_flagged": newly_flagged}


def test_each_signal_is_sorted_once_and_the_list_is_in_order_of_need():
    t = check_ins(*_planted())
    assert list(t.columns) == CHECK_INS_COLUMNS
    # changed first: Nia asks about 2 signals, then Lea and Wes (1 each) by name; then Sam
    # (standing); then Fay and Ros (flagged) by name; last the context rows, Cal and Rui.
    # Q has no signal; S's 12 days off explain nothing of missed appointments.
    assert t.to_dict("records") == [
        _row("N", "changed", 1, new="flag_late_notes;flag_over_goal", newly_flagged=True),
        _row("L", "changed", 2, worsening="trend_utilization", explained="flag_late_notes",
             held="flag_late_notes", context="leave", leave_days=14),
        _row("W", "changed", 3, worsening="trend_non_attendance_rate"),
        _row("S", "standing", 4, standing="flag_high_non_attendance",
             held="flag_high_non_attendance"),
        _row("F", "flagged", 5, flagged="flag_over_goal"),
        _row("O", "flagged", 6, flagged="flag_low_utilization"),
        # Cal's flag was not on before: context alone, no check-in; Rui's was: still flagged
        _row("C", "context", 7, explained="flag_caseload_growing", context="ramp",
             check_in=False),
        _row("R", "context", 8, explained="flag_low_utilization",
             held="flag_low_utilization", context="ramp"),
    ]


def test_time_off_the_practice_did_not_give_explains_nothing():
    metrics, changes, ramp, leave, roster = _planted()
    t = check_ins(metrics, changes, ramp, leave, roster, time_off_provided=False)
    lea = t[t["clinician_id"] == "L"].iloc[0].to_dict()
    # Lea's late notes are standing now (flagged then too), asked about beside the trend: 2
    # signals put her first, before Nia (2 as well) by name
    assert lea == _row("L", "changed", 1, worsening="trend_utilization",
                       standing="flag_late_notes", held="flag_late_notes")


def test_no_earlier_run_and_no_signal():
    metrics, _, ramp, leave, roster = _planted()
    t = check_ins(metrics, None, ramp, leave, roster).set_index("clinician_id")
    # without changes nothing is new or standing: N's two flags are flagged, Rui's ramp
    # explains his flag and nothing is held
    assert t.loc["N", ["group", "flagged", "check_in", "newly_flagged"]].tolist() == [
        "flagged", "flag_late_notes;flag_over_goal", True, False]
    assert t.loc["R", ["group", "held", "check_in"]].tolist() == ["context", "", False]
    calm = check_ins(metrics[metrics["clinician_id"] == "Q"], None, None, None, None)
    assert calm.empty and list(calm.columns) == CHECK_INS_COLUMNS
