"""Teams and the size of a practice on the owner's page: the roster's optional ``team`` column
(a team, site or location) groups the long per-clinician tables, and a practice of more than
``report.large_practice`` clinicians gets a summary per team first
(:func:`~perfkit.report.checkins.team_glance`) and tables that list only
the clinicians with something to look at, every clinician in a table that opens on a click
below (:class:`Shortened`). A team's name is the practice's own text: every table escapes it,
and it never names a file."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .format import count, num, table
from .run_folder import RunFolder, clinician_count

__all__ = ["TEAM", "NO_TEAM", "team_of", "has_teams", "is_large", "by_team", "Shortened",
           "shortened"]

TEAM = "Team"
NO_TEAM = "no team given"


def team_of(run: RunFolder) -> dict[str, str]:
    """Each rostered clinician's team (``roster.csv``'s ``team``: teams written with other case
    or spacing are one team, in its most frequent spelling,
    :func:`perfkit.practice_summary.team_names`), "" for none. Read once per run."""
    if run._teams is None:
        t = run.roster().get("team")
        run._teams = {} if t is None else {
            str(cid): "" if pd.isna(v) else str(v) for cid, v in t.items()}
    return run._teams


def has_teams(run: RunFolder, ids=None) -> bool:
    """Whether the roster names a team for any of ``ids`` (default: the clinicians of the
    period, ``clinician_metrics``)."""
    teams = team_of(run)
    if ids is None:
        ids = run.table("clinician_metrics")["clinician_id"]
    return any(teams.get(str(c), "") for c in ids)


def is_large(run: RunFolder) -> bool:
    """More clinicians in the period than ``report.large_practice``."""
    return clinician_count(run) > run.config.report.large_practice


def by_team(run: RunFolder, ids: pd.Series, names: pd.Series
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
