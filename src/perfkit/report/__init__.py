"""The reports, section by section. Each function lays out one section (a table, a figure or a
short text) from a run folder's tables; the report notebooks call these and nothing else, so
every number a report shows comes from the run's tables.

- :mod:`.run_folder`: a run folder as the reports read it (:func:`load_run`);
- :mod:`.practice`: the owner's practice report; its first screen and check-in table are
  :mod:`.checkins`, its operations table :mod:`.metrics_table`;
- :mod:`.questions`: the questions a clinician's figures raise, asked alike on every page;
- :mod:`.compare`: the run this one is compared with, and the flags' thresholds, in words;
- :mod:`.teams`: teams and the size of a practice (tables that list only what to look at);
- :mod:`.clinician`: a clinician's own report;
- :mod:`.supervisor`: the supervision pack and the development sections;
- :mod:`.figures`: every figure, in one house style;
- :mod:`.format`: words and numbers for people (percentages, dates, escaped tables);
- :mod:`.words`: each section's time window and the glossary of the words the reports use;
- :mod:`.research`: tables and statements about one model fit (outcomes notebook).

The analyst's widgets (explore notebook), which refit models, are :mod:`perfkit.explore`,
outside this package.

The batch that executes the notebooks and writes the HTML is :mod:`perfkit.render`.
"""

import pandas as pd

from .checkins import check_in_questions, check_in_table, first_screen, team_glance
from .clinician import (
    clinician_title,
    going_well,
    item9_table,
    own_alerts_table,
    own_effect_text,
    own_history_table,
    own_intro,
    own_metrics_table,
    own_ramp_text,
    pick_clinician,
    questions_to_explore,
)
from .figures import (
    caterpillar_figure,
    compliance_figure,
    distribution_figure,
    funnel_figure,
    ramp_figure,
    trajectories_figure,
    trajectories_grid,
    use_style,
    weekly_trends_figure,
)
from .format import Text
from .metrics_table import operations_table
from .practice import (
    associates_compliance,
    data_quality_table,
    funnel_intro,
    left_out_words,
    limits_note,
    model_section,
    outcomes_table,
    period_summary,
    practice_title,
    ramp_words,
    renewals_table,
)
from .questions import check_in_reasons
from .run_folder import RunFolder, load_run
from .supervisor import (
    ce_table,
    goals_table,
    ledger_note,
    ledger_table,
    pick_supervisor,
    reviews_table,
    supervisee_alerts,
    supervisee_item9,
    supervisees_of,
    supervision_questions,
    supervisor_title,
    support_table,
)
from .words import glossary, section_window


def use_report_style() -> None:
    """Set up a report kernel: the house figure style, and table cells shown whole (a name or
    an id is never cut to 50 characters with "..."). Library warnings are not silenced here:
    the batch drops every stderr output from a report's HTML and keeps it in its log, where a
    warning that means something can still be read."""
    use_style()
    pd.set_option("display.max_colwidth", None)


__all__ = ["RunFolder", "load_run", "use_report_style", "Text", "practice_title", "period_summary",
           "operations_table", "check_in_table", "check_in_questions", "outcomes_table",
           "funnel_figure",
           "model_section", "pick_clinician", "caterpillar_figure", "limits_note",
           "data_quality_table", "clinician_title", "own_metrics_table", "distribution_figure",
           "weekly_trends_figure", "trajectories_figure", "own_alerts_table", "item9_table",
           "own_effect_text", "questions_to_explore", "pick_supervisor", "supervisees_of",
           "supervisor_title", "ledger_table", "ledger_note", "compliance_figure", "goals_table",
           "reviews_table", "ce_table", "supervision_questions", "supervisee_alerts",
           "supervisee_item9", "trajectories_grid", "renewals_table", "support_table",
           "first_screen",
           "own_history_table", "ramp_figure", "ramp_words", "left_out_words",
           "check_in_reasons", "going_well", "own_ramp_text", "associates_compliance",
           "section_window", "glossary", "own_intro", "funnel_intro", "team_glance"]
