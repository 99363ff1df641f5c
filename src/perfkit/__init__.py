"""perfkit: understand and support the clinicians of a therapy group practice.

Typical use in a notebook::

    import perfkit as pk
    data = pk.load_prepared()            # the bundled demo practice, validated
    data = pk.load_prepared("reports/2026-11-01")   # a run folder prepared by `perfkit run`
"""

import inspect as _inspect  # noqa: E402
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

from .config import Config, ConfigError, load_config  # noqa: E402
from .fit_problems import FitError  # noqa: E402
from .growth import GrowthResult, compare_growth, fit_growth, weeks_since  # noqa: E402
from .ingest import IngestError  # noqa: E402
from .prepared import Prepared, load_prepared, prepare  # noqa: E402
from .version import __version__  # noqa: E402


class _IngestModule(_types.ModuleType):
    """:mod:`perfkit.ingest`, which can also be called as its function
    :func:`perfkit.ingest.ingest`.

    ``perfkit.ingest(folder, config)`` is perfkit's documented call, and ``perfkit.ingest`` is
    also the name of a package (perfkit/ingest/): a function bound to perfkit under that name
    hid it (``import perfkit.ingest as m`` gave the function). perfkit's attribute is the
    package, and calling the package calls the function, so both keep working. The function is
    looked up when called (a test that patches ``perfkit.ingest.ingest`` is obeyed)."""

    def __call__(self, *args, **kwargs):
        return self.ingest(*args, **kwargs)

    @property
    def __signature__(self):  # inspect.signature(perfkit.ingest): the function's
        return _inspect.signature(self.ingest)


_sys.modules[__name__ + ".ingest"].__class__ = _IngestModule
ingest = _sys.modules[__name__ + ".ingest"]  # the package (callable), never the function

__all__ = [
    "__version__",
    "Config",
    "ConfigError",
    "FitError",
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
