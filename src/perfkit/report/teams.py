"""Teams and the size of a practice on the owner's page: the roster's optional ``team`` column
(a team, site or location) groups the long per-clinician tables, and a practice of more than
``report.large_practice`` clinicians gets a summary per team first and tables that list only
the clinicians with something to look at, every clinician in a table that opens on a click
below (:class:`Shortened`). A team's name is the practice's own text: every table escapes it,
and it never names a file."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ..contract import DISPLAY_DIGITS
from .format import NO_SIGNING_TIMES, NOT_IN_EXPORT, Text, count, is_yes, num, pct, table
from .run import RunData, clinician_count, on_status, unavailable

__all__ = ["TEAM", "NO_TEAM", "team_of", "has_teams", "is_large", "by_team", "Shortened",
           "shortened", "team_glance", "team_rows"]

TEAM = "Team"
NO_TEAM = "no team given"


def team_of(run: RunData) -> dict[str, str]:
    """Each rostered clinician's team (``roster.csv``'s ``team``: teams written with other case
    or spacing are one team, in its most frequent spelling, :func:`perfkit.operations.team_names`),
    "" for none. Read once per run."""
    if run._teams is None:
        t = run.roster().get("team")
        run._teams = {} if t is None else {
            str(cid): "" if pd.isna(v) else str(v) for cid, v in t.items()}
    return run._teams


def has_teams(run: RunData, ids=None) -> bool:
    """Whether the roster names a team for any of ``ids`` (default: the clinicians of the
    period, ``clinician_metrics``)."""
    teams = team_of(run)
    if ids is None:
        ids = run.table("clinician_metrics")["clinician_id"]
    return any(teams.get(str(c), "") for c in ids)


def is_large(run: RunData) -> bool:
    """More clinicians in the period than ``report.large_practice``."""
    return clinician_count(run) > run.config.report.large_practice


def by_team(run: RunData, ids: pd.Series, names: pd.Series
            ) -> tuple[np.ndarray, pd.Series | None]:
    """The order of a per-clinician table's rows as positions, and each row's team in words
    (:data:`NO_TEAM` for none): with teams (:func:`has_teams` of ``ids``), team, then name,
    clinicians with no team last; without, name order and no team (None)."""
    teams = team_of(run)
    if not any(teams.get(str(c), "") for c in ids):
        return np.argsort(names.to_numpy(), kind="stable"), None
    team = pd.Series([teams.get(str(c), "") for c in ids], index=ids.index)
    key = pd.DataFrame({"none": team.eq(""), "team": team.str.casefold(),
                        "name": names.astype(str).str.casefold(), "n": range(len(ids))})
    order = key.sort_values(["none", "team", "name", "n"], kind="stable")["n"].to_numpy()
    return order, team.where(team != "", NO_TEAM)


# The most rows a shortened table prints: longer, it shows on screen and is counted on paper,
# so a large practice's report stays a few pages (the tables/*.csv files hold every row).
PRINTED_ROWS = 30


class Shortened:
    """A long per-clinician table of a large practice: the rows with something to look at,
    a sentence saying how many others are within the practice's ranges, and every row in a
    closed ``<details>`` below (a printed page shows the short table only). ``data`` is the
    full table's frame, as a Styler's is."""

    def __init__(self, short, full, n_shown: int, n_all: int, why: str,
                 rest: str = "are within the practice's ranges", *,
                 noun: tuple[str, str] = ("clinician", "clinicians"), lead: str = "",
                 printed: bool = False):
        self.short, self.full, self.printed = short, full, printed
        self.n_shown, self.n_all, self.why, self.rest = n_shown, n_all, why, rest
        self.noun, self.lead = noun, lead

    def _n(self, n: int) -> str:
        return count(n, *self.noun)

    @property
    def data(self) -> pd.DataFrame:
        return self.full.data

    @property
    def caption(self) -> str | None:
        """The short table's caption (its legend)."""
        return self.short.caption

    def __repr__(self) -> str:
        return f"{self.sentence()} ({self.n_all} rows)"

    def sentence(self) -> str:
        others = self.n_all - self.n_shown
        if not self.n_shown:
            return (f"All {self._n(self.n_all)} {self.rest}: nothing to look at "
                    f"here. Every {self.noun[0]} is in the table that opens below.")
        rest = self.rest if others != 1 else self.rest.replace("are ", "is ", 1).replace(
            "have ", "has ", 1)
        have = "has" if self.n_shown == 1 else "have"
        return (f"{self._n(self.n_shown).capitalize()} {have} something to look at "
                f"({self.why}); the other {num(others, 0)} {rest}. Every {self.noun[0]} is in "
                "the table that opens below.")

    @property
    def on_paper(self) -> bool:
        """Whether the short table (and its legend) prints: a list the reader acts on, or
        one of at most :data:`PRINTED_ROWS` rows."""
        return self.printed or self.n_shown <= PRINTED_ROWS

    def to_html(self) -> str:
        short = self.short.to_html() if self.n_shown else ""
        if not self.on_paper:  # open on screen; counted on paper
            short = (f'<details open class="not-printed"><summary>The '
                     f'{html.escape(self._n(self.n_shown))} with something to look at'
                     f'</summary>{short}</details>')
        lead = f"<p>{html.escape(self.lead)}</p>" if self.lead else ""
        return (f"{lead}<p>{html.escape(self.sentence())}</p>{short}"
                f"<details><summary>All {html.escape(self._n(self.n_all))}"
                f"</summary>{self.full.to_html()}</details>")

    def _repr_html_(self) -> str:
        return self.to_html()


def shortened(frame: pd.DataFrame, notable, caption: str | None, *, apply=None,
              states: pd.DataFrame | None = None, why: str,
              rest: str = "are within the practice's ranges",
              full_caption: str = "Every clinician, in the same columns.",
              noun: tuple[str, str] = ("clinician", "clinicians"), lead: str = "",
              printed: bool = False, kind: str | None = None):
    """:class:`Shortened` from a table's rows (``frame``) and which of them have something to
    look at (``notable``, a boolean per row). ``apply`` (a shading function of the full
    table's column and the matching ``states`` column) is applied to both tables, each with
    its own rows' states. ``noun`` names what a row is (singular, plural); ``lead`` is a
    sentence shown before everything else. A short table of more than :data:`PRINTED_ROWS`
    rows is shown on screen and counted on paper, unless ``printed`` (a list the reader acts
    on). ``kind``: the tables' class for the print style sheet (:func:`format.table`)."""
    notable = np.asarray(notable, dtype=bool)

    def styled(rows: np.ndarray, words: str | None):
        part = frame[rows]
        shade = None
        if apply is not None:
            sub = states[rows] if states is not None else None

            def shade(col):  # noqa: E306 - the shading of this part's own rows
                return apply(col, sub)
        return table(part, words, apply=shade, kind=kind)

    everyone = np.ones(len(frame), dtype=bool)
    if not notable.any():  # no short table: the whole one carries the legend
        full_caption = caption
    return Shortened(styled(notable, caption), styled(everyone, full_caption),
                     int(notable.sum()), len(frame), why, rest, noun=noun, lead=lead,
                     printed=printed)


def team_rows(run: RunData) -> pd.DataFrame:
    """One row per team (clinicians with no team last, then the whole practice), as numbers:
    ``team`` ("" for no team and for the whole practice), ``whole`` (the practice's row),
    ``clinicians``, ``check_in`` (the clinicians the check-in table lists as newly flagged
    or worsening, still flagged, or flagged: :func:`~perfkit.report.practice.support_rows`;
    a flag cleared, or context alone, is not counted),
    ``newly_flagged`` (clinicians with a flag new since the compared run) and the pooled
    ``utilization``, ``non_attendance_rate`` and ``notes_within_72h`` of the team's rows of
    ``clinician_metrics`` (``team_rates.csv``: ratios of sums, as the practice's own
    figures), with ``timed`` (clinicians whose notes have signing times)."""
    from .practice import FLAGGED_NOW, NEW, STILL_FLAGGED, support_rows

    m = run.table("clinician_metrics")
    teams = team_of(run)
    team = m["clinician_id"].map(lambda c: teams.get(str(c), ""))
    rows_ = support_rows(run)  # the check-in table's rows: its counts are the table's
    asked = set(rows_.loc[rows_["status"].isin([NEW, STILL_FLAGGED, FLAGGED_NOW]),
                          "clinician_id"])
    new = set(rows_.loc[rows_["new"].map(len) > 0, "clinician_id"])
    rates = run.table("team_rates")  # perfkit.operations.team_rates: the same groups
    rows = []
    for _, r in rates.iterrows():
        whole = is_yes(r["whole"])
        name = "" if whole or pd.isna(r["team"]) else str(r["team"])
        g = m if whole else m[(team == name).to_numpy()]
        rows.append({"team": name, "whole": whole, "clinicians": len(g),
                     "check_in": int(g["clinician_id"].isin(asked).sum()),
                     "newly_flagged": int(g["clinician_id"].isin(new).sum()),
                     "utilization": r["utilization"],
                     "non_attendance_rate": r["non_attendance_rate"],
                     "notes_within_72h": r["notes_within_72h"],
                     "timed": int((~on_status(g) & g["notes_within_72h"].notna()).sum())})
    return pd.DataFrame(rows)


def team_glance(run: RunData):
    """Teams at a glance, for a large practice (more than ``report.large_practice``
    clinicians) whose roster names teams: one row per team, then the clinicians with no team
    and the whole practice. Each rate pools the team's clinicians (attended hours over
    available hours, missed over past appointments, notes within 72 hours over the notes due
    of clinicians with signing times), never an average of their rates. Empty text for a
    smaller practice or one without teams (the page then leaves the heading out).

    Small teams: these are operational figures of the clinicians the owner's page already
    shows one by one, so a team of one clinician tells the owner nothing the table below does
    not; no outcome or retention rate (the rates ``outcomes.min_episodes`` hides) is here, and
    this page is the owner's alone (``privacy.min_peers`` guards what clinicians read)."""
    if not is_large(run) or not has_teams(run):
        return Text("")
    from .practice import compared_run

    t = team_rows(run)
    gone = unavailable(run)
    compared = compared_run(run, markdown=False) is not None

    def rate(v, metric, timed=1):
        if metric in gone:
            return NOT_IN_EXPORT
        if metric == "notes_within_72h" and not timed:
            return NO_SIGNING_TIMES
        return pct(v, DISPLAY_DIGITS[metric])  # as the clinicians' table shows them

    out = pd.DataFrame({
        TEAM: ["Whole practice" if whole else n or "No team given"
               for n, whole in zip(t["team"], t["whole"], strict=True)],
        "Clinicians": t["clinicians"].map(lambda v: num(v, 0)),
        "Might welcome a check-in": t["check_in"].map(lambda v: num(v, 0)),
        **({"Newly flagged": t["newly_flagged"].map(lambda v: num(v, 0))} if compared else {}),
        "Utilization": [rate(v, "utilization") for v in t["utilization"]],
        "Missed appointments": [rate(v, "non_attendance_rate")
                                for v in t["non_attendance_rate"]],
        "Notes within 72 h": [rate(v, "notes_within_72h", n)
                              for v, n in zip(t["notes_within_72h"], t["timed"], strict=True)],
    })
    caption = ("One row per team of the roster, then the whole practice. Each rate pools the "
               "team's clinicians: attended hours over the hours they offered, missed over "
               "past appointments, notes signed within 72 hours over the notes due, so a busy "
               "clinician weighs more than a quiet one. Might welcome a check-in counts the "
               "clinicians the check-in table lists as newly flagged or worsening, still "
               "flagged or flagged"
               + ("; newly flagged, those with a flag new since the previous run." if compared
                  else "; with no earlier run to compare, nothing can be newly flagged yet.")
               + " The tables below list the clinicians by team.")
    whole = t["whole"].to_numpy()

    def bold(col):  # the whole practice's row, to compare each team with
        return ["font-weight: bold" if w else "" for w in whole]

    return table(out, caption, caption_above=True, apply=bold)
