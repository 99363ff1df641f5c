"""perfkit: understand and support the clinicians of a therapy group practice.

Typical use in a notebook::

    import perfkit as pk
    data = pk.load_prepared()            # the bundled demo practice, validated
    data = pk.load_prepared("reports/2026-11-01")   # a run folder prepared by `perfkit run`
"""

__version__ = "0.1.0"

from .config import Config, ConfigError, load_config  # noqa: E402
from .growth import GrowthResult, compare_growth, fit_growth, weeks_since  # noqa: E402
from .ingest import IngestError, ingest  # noqa: E402
from .prepared import Prepared, load_prepared, prepare  # noqa: E402

__all__ = [
    "__version__",
    "Config",
    "ConfigError",
    "IngestError",
    "Prepared",
    "ingest",
    "load_config",
    "load_prepared",
    "prepare",
    "GrowthResult",
    "compare_growth",
    "fit_growth",
    "weeks_since",
]
