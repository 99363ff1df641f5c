"""The licensure ledger's and the continuing-education table's reasons in words: why a rule was
taken by default or none was, why no completion is projected, why a clinician is behind, where a
CE requirement comes from or why none applies. Compute writes codes with their values
(``tables/supervision_ledger.csv``'s and ``tables/ce.csv``'s ``reasons``, JSON lists;
:data:`perfkit.supervision.LEDGER_REASONS`, :data:`perfkit.supervision.CE_REASONS`); the
sentences are made here, for the supervision pack and ``perfkit validate``."""

from __future__ import annotations

import json

from .format import date_words

__all__ = ["reason_words", "reasons_note", "reason_codes", "licensure_note"]

NO_SUPERVISION = ("no supervision records were provided, so supervision hours, compliance and "
                  "the projected completion are unknown")


def reason_words(reason: dict) -> str:
    """One reason (a ``{"code": ..., values}`` object) as its sentence."""
    code = reason.get("code", "")
    r = reason
    if code == "rule_by_default":
        return (f"licensure rule {r['rule']} taken from the license type {r['license_type']} "
                f"and the state {r['state']}")
    if code == "several_rules_fit":
        return (f"no licensure rule set: several fit the license type {r['license_type']} "
                f"({', '.join(r['rules'])}); set licensure_rule")
    if code in ("no_rule_for_license_type", "state_not_set", "no_license_type"):
        why = (f"no licensure rule of {', '.join(r['states'])} is for the license type "
               f"{r['license_type']}" if code == "no_rule_for_license_type"
               else "the practice's state is not set (state in the parameters)"
               if code == "state_not_set" else
               "the roster gives no license type to choose one by")
        return f"no licensure rule set, and none is taken: {why}"
    if code == "unknown_rule":
        return f"unknown licensure rule '{r['rule']}' (known: {', '.join(r['known'])})"
    if code == "records_begin_late":
        return (f"the records begin on {date_words(r['records_begin'])}, after the start on "
                f"{date_words(r['start'])}: hours before then are not in the export (add them "
                "as carried-in hours in the parameters), so these hours are a lower bound"
                + (" and no completion is projected" if r.get("no_projection") else ""))
    if code == "no_recent_pace":
        return f"no {', '.join(r['what'])} in the last {r['weeks']} weeks: no projection"
    if code == "too_slow":
        return (f"at the last {r['weeks']} weeks' pace of {', '.join(r['what'])}, completion "
                f"lies more than {r['years']} years away: no projection")
    if code == "after_max_months":
        return f"projected after the {r['months']}-month limit"
    if code == "supervision_below_pace":
        return (f"{r['have']:.0f} supervision hours where the rule's pace needs "
                f"{r['expected']:.0f}")
    if code == "no_supervision_records":
        return NO_SUPERVISION
    if code == "ce_requirement":
        return r["source"]
    if code == "no_ce_requirement":
        return ("no continuing-education requirement set for "
                f"'{r['license_type'] or 'no license type'}'")
    if code == "ce_requirement_of_another_state":
        states = (f"the practice's state is {', '.join(r['practice_states'])}"
                  if r["practice_states"] else
                  "the practice's state is not set (state in the parameters)")
        return (f"the continuing-education requirement set for {r['license_type']} is "
                f"{r['state']}'s ({r['source']}) and {states}: set your board's under "
                "supervision.ce_requirements")
    if code == "no_ce_records":
        return "no continuing-education records were provided"
    return str(code)


def _parsed(value):
    if isinstance(value, str):
        return json.loads(value) if value.strip() else None
    if value is None or (isinstance(value, float) and value != value):  # missing (NaN)
        return None
    return value


def reasons_note(reasons) -> str:
    """A ledger row's ``reasons`` (JSON text or a list) as one note: the sentences joined by
    "; " ("" for none)."""
    parsed = _parsed(reasons) or []
    return "; ".join(reason_words(r) for r in parsed)


def reason_codes(reasons) -> list[str]:
    """The codes of a row's ``reasons`` (JSON text or a list), in order."""
    return [r.get("code", "") for r in _parsed(reasons) or []]


def licensure_note(reason) -> str:
    """:func:`perfkit.supervision.licensure_rules_for`'s ``reason`` (JSON text or a dict) as
    its sentence ("" for a rule from the roster)."""
    parsed = _parsed(reason)
    return reason_words(parsed) if parsed else ""
