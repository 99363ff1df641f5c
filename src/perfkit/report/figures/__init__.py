"""Every figure of the reports and notebooks: plain, labelled, readable by people who do not
read statistics, in one house style and one palette (:mod:`.style`). Each report figure reads
the run's tables (:class:`~perfkit.report.run_folder.RunFolder`) and draws what they hold: limits,
averages, medians and statuses are columns of the tables, worked out by the compute modules;
the model figures take a fit.

- :mod:`.style`: the palette, the printed page, :func:`use_style`, :class:`Figure` and
  :class:`Figures`;
- :mod:`.outcome_charts`: model estimates, the funnel, model diagnostics, clients' scores;
- :mod:`.operations_charts`: a clinician among the others, weekly series, new hires' first weeks,
  supervision against the rule.
"""

from .operations_charts import (
    RAMP_PANELS,
    compliance_figure,
    distribution_figure,
    not_in_export,
    ramp_figure,
    weekly_trends_figure,
)
from .outcome_charts import (
    NAMES_LISTED,
    caterpillar,
    caterpillar_figure,
    caterpillar_words,
    fit_caterpillar,
    funnel_figure,
    funnel_words,
    random_effects_qq,
    residual_diagnostics,
    trajectories_chart,
    trajectories_figure,
    trajectories_grid,
)
from .style import (
    BLUE,
    GREY,
    ORANGE,
    PAGE_HEIGHT_PX,
    WIDTH,
    Figure,
    Figures,
    done,
    use_style,
)

__all__ = ["use_style", "done", "Figure", "Figures", "caterpillar", "caterpillar_words",
           "funnel_words", "fit_caterpillar", "residual_diagnostics", "random_effects_qq",
           "funnel_figure", "caterpillar_figure", "distribution_figure", "weekly_trends_figure",
           "trajectories_figure", "trajectories_chart", "trajectories_grid",
           "compliance_figure", "ramp_figure", "not_in_export", "RAMP_PANELS", "NAMES_LISTED",
           "BLUE", "GREY", "ORANGE", "WIDTH", "PAGE_HEIGHT_PX"]
