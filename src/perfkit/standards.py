"""The settings perfkit takes from published standards rather than from a practice: how each
measurement instrument is scored and read (PHQ-9, GAD-7, PCL-5, ORS, SRS), what the CPT
psychotherapy codes mean, and the continuing-education hours of the license types whose boards
are cited. Every figure carries its source; a practice overrides any of them in its parameters
file (:mod:`perfkit.config` merges them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

__all__ = ["InstrumentConfig", "ServiceCode", "CERequirement", "default_instruments",
           "default_codes", "default_ce", "state_codes", "StrictSettings", "StateCode"]


def _one_state(value) -> str | None:
    """A board's state as its upper-case two-letter code (nothing for an empty value)."""
    return None if value in (None, "") else state_codes(value, one=True)[0]


# one state's two-letter code ("tx" is TX), or None: a CE requirement's or a licensure rule's
StateCode = Annotated[str | None, BeforeValidator(_one_state)]


class StrictSettings(BaseModel):
    """A settings block: unknown keys are refused (a misspelt setting is an error, not
    ignored) and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InstrumentConfig(StrictSettings):
    """Scoring and interpretation of one measurement instrument.

    Defaults and their sources: docs/references.md (Measures; Choices).
    """

    n_items: int = Field(gt=0, description="number of items")
    item_min: float = Field(description="lowest item score")
    item_max: float = Field(description="highest item score")
    score_min: float = Field(description="lowest total score")
    score_max: float = Field(description="highest total score")
    better: Literal["lower", "higher"] = Field(description="direction of improvement")
    caseness: float | None = Field(
        default=None,
        description="clinical cut-off: at caseness when score >= caseness (lower-is-better) "
        "or score < caseness (higher-is-better)",
    )
    reliable_change: float | None = Field(default=None, description="reliable-change points")
    max_missing_items: int = Field(
        ge=0, description="most items that may be missing for a prorated total"
    )
    whole_numbers: bool = Field(description="items and totals are whole numbers")
    severity_bands: list[tuple[float, str]] = Field(
        default_factory=list,
        description="(lowest score, label) pairs in rising order; empty when the instrument "
                    "has no published bands",
    )
    remission_below: float | None = Field(
        default=None, description="remission: last score below this (PHQ-9 and GAD-7: 5)")
    outcome: bool = Field(True, description="an outcome measure (SRS measures the alliance)")

    @model_validator(mode="after")
    def _ranges(self) -> InstrumentConfig:
        if self.item_min >= self.item_max or self.score_min >= self.score_max:
            raise ValueError("item and score ranges must have min below max")
        if self.max_missing_items >= self.n_items:
            raise ValueError("max_missing_items must be below n_items")
        return self


def default_instruments() -> dict[str, InstrumentConfig]:
    # Sources (docs/references.md): [Kroenke2001], [Spitzer2006], [NCPTSD], [Miller2003],
    # [Duncan2003], [NHSTT].
    # Prorating: PHQ-9 up to two missing items replaced by the mean of the answered items
    # (Arrieta et al. 2017, J Clin Psychol, doi:10.1002/jclp.22390, as used by Kroenke 2010);
    # GAD-7 and PCL-5 follow the same at-least-80%-answered rule (Enders 2010, as summarised in
    # the documentation of R's misty::item.scores); ORS and SRS have four visual-analogue items
    # and are never prorated.
    # Severity bands: PHQ-9 Kroenke et al. 2001; GAD-7 Spitzer et al. 2006. PCL-5 and ORS have
    # no empirically derived bands (National Center for PTSD; PCOMS). Remission below 5:
    # Kaiser/NCQA comparison, Psychiatric Services 2020 (docs/references.md [Kaiser2020]).
    return {
        "PHQ-9": InstrumentConfig(
            n_items=9, item_min=0, item_max=3, score_min=0, score_max=27, better="lower",
            caseness=10, reliable_change=6, max_missing_items=2, whole_numbers=True,
            severity_bands=[(0, "minimal"), (5, "mild"), (10, "moderate"),
                            (15, "moderately severe"), (20, "severe")],
            remission_below=5,
        ),
        "GAD-7": InstrumentConfig(
            n_items=7, item_min=0, item_max=3, score_min=0, score_max=21, better="lower",
            caseness=8, reliable_change=4, max_missing_items=1, whole_numbers=True,
            severity_bands=[(0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe")],
            remission_below=5,
        ),
        "PCL-5": InstrumentConfig(
            n_items=20, item_min=0, item_max=4, score_min=0, score_max=80, better="lower",
            caseness=33, reliable_change=10, max_missing_items=4, whole_numbers=True,
        ),
        "ORS": InstrumentConfig(
            n_items=4, item_min=0, item_max=10, score_min=0, score_max=40, better="higher",
            caseness=25, reliable_change=5, max_missing_items=0, whole_numbers=False,
        ),
        "SRS": InstrumentConfig(
            n_items=4, item_min=0, item_max=10, score_min=0, score_max=40, better="higher",
            caseness=36, reliable_change=None, max_missing_items=0, whole_numbers=False,
            outcome=False,
        ),
    }


class ServiceCode(StrictSettings):
    """What a billing code means for perfkit: the kind of service and its usual length.

    ``minutes`` estimates a session's length when the export gives neither a duration nor an
    end time (the estimate is flagged); with ``per_unit`` it is the length of one billed unit.
    An ``add_on`` code is billed with a session, never alone: its line is folded into the
    session (its minutes, if any, added to an estimated length)."""

    service: Literal["intake", "therapy", "other"] = "therapy"
    minutes: float | None = Field(None, ge=0, le=600)
    per_unit: bool = False
    group: bool = False
    add_on: bool = False


def default_codes() -> dict[str, ServiceCode]:
    # CPT psychotherapy codes and their time thresholds (AMA CPT 2013 psychiatry revisions, as
    # summarised by CMS and the APA; sources in docs/data_contract.md): 90832 16-37 minutes,
    # 90834 38-52, 90837 53 or more, 90839 the first 30-74 minutes of crisis psychotherapy,
    # 90840 each further 30; 90846/90847 family psychotherapy 26 minutes or more (50 is the
    # usual booked hour); 90791/90792 and 90853 carry no time, an hour is the usual booking.
    def code(service="therapy", **kw):
        return ServiceCode(service=service, **kw)
    return {
        "90791": code("intake", minutes=60), "90792": code("intake", minutes=60),
        "90832": code(minutes=30), "90834": code(minutes=45), "90837": code(minutes=60),
        "90839": code(minutes=60), "90846": code(minutes=50), "90847": code(minutes=50),
        "90849": code(minutes=60, group=True), "90853": code(minutes=60, group=True),
        "90785": code(minutes=0, add_on=True), "90840": code(minutes=30, add_on=True),
        "90833": code(minutes=30, add_on=True), "90836": code(minutes=45, add_on=True),
        "90838": code(minutes=60, add_on=True),
        "H0004": code(minutes=15, per_unit=True),
    }


class CERequirement(StrictSettings):
    """Continuing-education hours a license type needs in each renewal cycle."""

    hours: float = Field(gt=0)
    cycle_years: int = Field(gt=0, le=5)
    source: str = Field("", description="where the requirement comes from")
    state: StateCode = Field(None, description="the state whose board sets it (two-letter "
                             "code): it applies only to a practice in that state; without "
                             "one it applies wherever it is set")


def default_ce() -> dict[str, CERequirement]:
    # Sources (boards' current rules govern; practices set their own in parameters):
    # California LCSW: Business and Professions Code 4996.22, 36 hours in the preceding two
    # years; Texas LPC: 22 TAC chapter 681 continuing education, 24 hours each renewal period
    # (texreg.sos.state.tx.us, 22 TAC 681); California LMFT: B&P 4980.54, 36 hours every two
    # years; California ASW: B&P 4996.22(a)(3), 3 hours of law and ethics a year. Other
    # license types have no default: a practice adds its own board's figure under
    # supervision.ce_requirements.
    # Each carries its state: it applies only to a practice in that state (``state``).
    return {
        "LCSW": CERequirement(hours=36, cycle_years=2, state="CA",
                              source="California Business and Professions Code §4996.22"),
        "ASW": CERequirement(hours=3, cycle_years=1, state="CA",
                             source="California Business and Professions Code §4996.22(a)(3): "
                                    "3 hours of California law and ethics each year"),
        "LMFT": CERequirement(hours=36, cycle_years=2, state="CA",
                              source="California Business and Professions Code §4980.54 "
                                     "(36 hours every two years)"),
        "LPC": CERequirement(hours=24, cycle_years=2, state="TX",
                             source="22 Texas Administrative Code chapter 681 (24 hours each "
                                    "renewal period)"),
    }


def state_codes(value, one: bool = False) -> tuple[str, ...]:
    """``TX``, ``"CA, TX"`` or ``[CA, TX]`` as upper-case two-letter codes."""
    if isinstance(value, bool):  # YAML reads some bare words (no, on, y) as true or false
        raise ValueError("state must be a two-letter code such as TX; quote it ('NO')")
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or (one and len(items) != 1):
        raise ValueError("state must be a two-letter code such as TX"
                         + ("" if one else " (or a list of them: [CA, TX])"))
    codes = tuple(str(v).strip().upper() for v in items)
    for code in codes:
        if not (len(code) == 2 and code.isascii() and code.isalpha()):
            raise ValueError(f"state {code!r} is not a two-letter code such as TX")
    return codes
