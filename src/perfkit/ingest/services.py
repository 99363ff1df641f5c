"""A service read from an export: a contract word, a billing code (CPT, HCPCS) or, when the
column map says so, a treatment's name ("Individual Therapy 50 min"), as its kind and length."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import contract as C
from ..config import Config
from .bookkeeping import _shown, _TableResult
from .parse import _map_unique

_CODE = re.compile(r"^(?:\d{4}[0-9A-Z]|[A-Z]\d{4})$")  # CPT and HCPCS codes


@dataclass(frozen=True)
class _Service:
    """What one service cell says: ``90837-95``, ``90837 GT``, ``90839, 90840``, ``therapy``,
    or (``service_text: free``) a treatment name such as ``Individual Therapy 50 min``."""

    service: str | None  # intake / therapy / other; None: not understood
    code: str | None = None  # the session's own billing code, modifiers removed
    minutes: float = np.nan  # its usual length (per unit when per_unit)
    per_unit: bool = False
    group: bool = False
    telehealth: bool = False
    add_on_only: bool = False  # only add-on codes: a line to fold into its session
    add_on_minutes: float = 0.0
    problem: str = ""
    text_minutes: float = np.nan  # minutes written in a treatment name (free text only)
    from_text: bool = False  # the kind read from a treatment name's words (free text only)


# A length written in a service or treatment name: "50 min", "53-minute", "(60 minutes)",
# "1 hour", "1.5 hrs". The number before "min" is a length, never a billing modifier.
_LENGTH = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d++)?)\s*+(?:-\s*+)?"
                     r"(min(?:ute)?s?|h(?:ou)?rs?|hour|h)\b", re.IGNORECASE)
# Words of a treatment name that make it an intake (Jane's "Initial Consultation", "First
# Counseling Appointment", "Intake Assessment", "Psychological Evaluation"): first contact or
# assessment, not ongoing therapy.
_INTAKE_WORDS = re.compile(r"\b(intake|initial|first|assessment|evaluation|consult(?:ation)?|"
                           r"diagnostic|screening|new (?:client|patient))\b", re.IGNORECASE)
# Words of a treatment name that make it ``other``, read before the intake words: a free or
# brief contact before any care ("Free 15 min Consultation", "Phone Consultation", "Discovery
# Call", "Phone Screen") and a clinician's time that is no session ("Admin Time", "Staff
# Meeting", "Blocked", "Clinical Supervision", "Staff Training"). A consultation with none of
# these words ("Initial Consultation") stays an intake.
_FREE_WORDS = re.compile(r"\b(?:free|complimentary|no[ -]?charge|courtesy|phone|telephone|"
                         r"discovery|screening|intro(?:ductory)?)\b", re.IGNORECASE)
_CONTACT_WORDS = re.compile(r"\b(?:consult(?:ation)?s?|calls?|chats?)\b", re.IGNORECASE)
_BRIEF_CONTACT = re.compile(r"\b(?:meet (?:and|&) greet|phone screen(?:ing)?|"
                            r"(?:free|complimentary) screening|consult(?:ation)? calls?)\b",
                            re.IGNORECASE)
_NOT_A_SESSION = re.compile(
    r"\b(?:admin(?:istrative|istration)?|meetings?|block(?:ed)?(?: (?:off|out|time))?|"
    r"supervision|case consult(?:ation)?|paperwork|lunch|out of (?:the )?office|time off|"
    r"vacation|holiday)\b", re.IGNORECASE)
# "training" is no session only where nothing in the name is a treatment ("Parent Training",
# "DBT Skills Training Group" are therapy)
_TRAINING = re.compile(r"\btraining\b", re.IGNORECASE)
_TREATMENT_WORDS = re.compile(r"\b(?:therap\w*|psychotherap\w*|counsell?ing|session|skills?|"
                              r"parent\w*|famil\w*|couples?|group|child\w*|behaviou?r\w*|"
                              r"social|dbt|cbt|emdr|pcit|treatment)\b", re.IGNORECASE)


def _kind_from_name(label: str) -> str:
    """A treatment name's kind by its words: ``other`` (a free or brief contact before care,
    or a clinician's time that is no session), else ``intake`` (first contact or assessment),
    else ``therapy``."""
    free_contact = (_FREE_WORDS.search(label) and _CONTACT_WORDS.search(label)) \
        or _BRIEF_CONTACT.search(label)
    if free_contact or _NOT_A_SESSION.search(label) or (
            _TRAINING.search(label) and not _TREATMENT_WORDS.search(label)):
        return "other"
    return "intake" if _INTAKE_WORDS.search(label) else "therapy"


def _written_minutes(label: str) -> float:
    """The one length a treatment name states, in minutes (1 to 600), else NaN; a name that
    states two different lengths states none."""
    found = set()
    for number, unit in _LENGTH.findall(label):
        minutes = float(number) * (60 if unit.lower().startswith("h") else 1)
        if 1 <= minutes <= C.TABLES["appointments"].column("duration_minutes").hi:
            found.add(round(minutes))
    return float(found.pop()) if len(found) == 1 else np.nan


def _read_service(label: str, cfg: Config, extra: dict[str, str], free: bool = False
                  ) -> _Service:
    if not label:
        return _Service("therapy")  # DATA_CONTRACT: service defaults to therapy
    word = C.label_lookup(extra)(label) or C.label_lookup(C.SERVICE_SYNONYMS)(label)
    # "Psychotherapy 53 min (90837)": the 53 is a length, not a CPT modifier
    tokens = re.findall(r"[A-Z0-9]+", _LENGTH.sub(" ", label).upper())
    codes = [t for t in tokens if _CODE.match(t)]
    written = _written_minutes(label) if free else np.nan
    if word in ("intake", "therapy", "other") and not codes:
        return _Service(word, text_minutes=written)
    if not codes:
        if free:  # a treatment name (Jane, Owl): its words say other, intake or therapy
            return _Service(_kind_from_name(label), text_minutes=written, from_text=True)
        return _Service(None, problem="is not a known service (intake, therapy, other or a "
                                      "billing code; map other labels in the column map)")
    known = cfg.services.codes
    unknown = [c for c in codes if c not in known]
    if unknown:
        return _Service(None, problem=f"holds the billing code {unknown[0]}, which is not in "
                                      "the parameters (services.codes)")
    modifiers = {t for t in tokens if len(t) == 2}
    tele = bool(modifiers & set(cfg.services.telehealth_modifiers))
    main = [c for c in codes if not known[c].add_on]
    add_ons = [c for c in codes if known[c].add_on]
    extra_minutes = float(sum(known[c].minutes or 0 for c in add_ons))
    if not main:
        return _Service("therapy", code=add_ons[0], telehealth=tele, add_on_only=True,
                        add_on_minutes=extra_minutes)
    if len(main) > 1:
        return _Service(None, problem=f"holds two session codes ({main[0]} and {main[1]}) "
                                      "on one line")
    code = known[main[0]]
    return _Service(word if word in ("intake", "therapy", "other") else code.service,
                    code=main[0], minutes=np.nan if code.minutes is None else code.minutes,
                    per_unit=code.per_unit, group=code.group, telehealth=tele,
                    add_on_minutes=extra_minutes,
                    text_minutes=np.nan if code.per_unit else written)


def _services(res: _TableResult, text: pd.Series, cfg: Config, extra: dict[str, str],
              free: bool = False) -> None:
    """Service kinds from the service column: the contract's words, or billing codes with
    their modifiers (telehealth), add-on codes and the parameters' usual lengths; with
    ``free`` (the column map's ``service_text: free``) also treatment names, whose words
    give the kind (intake words, else therapy) and whose written minutes a length."""
    read = _map_unique(text, lambda label: _read_service(label, cfg, extra, free))
    v, t = res.verdicts, res.typed
    problem = read.map(lambda r: r.problem)
    v.reject((problem != "").to_numpy(), "unknown_service", "service",
             lambda m: [f"service {_shown(x)} {p}" for x, p in
                        zip(text.to_numpy(dtype=object)[m], problem.to_numpy(dtype=object)[m],
                            strict=True)])
    for name in ("service", "code", "minutes", "per_unit", "group", "telehealth",
                 "add_on_only", "add_on_minutes", "text_minutes", "from_text"):
        t[f"_svc_{name}" if name != "service" else "service"] = read.map(
            lambda r, n=name: getattr(r, n))
    t["service_code"] = t.pop("_svc_code")
