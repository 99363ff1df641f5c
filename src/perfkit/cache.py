"""perfkit's cache of outputs derived from the bundled demo practice (``$PERFKIT_CACHE`` or
``~/.cache/perfkit``), so notebooks and examples open on the demo with no set-up. A cached
output is keyed by perfkit's code and data (and a parameters file, where one is given): a
changed perfkit never reuses it.

:func:`demo_run` is the demo's run folder the report notebooks show when none is given. The
demo's prepared snapshot (what ``load_prepared()`` with no path loads) is
:func:`perfkit.prepared.demo_prepared`, and the cache's place and key are
:func:`perfkit.io.cache_dir`: both sit below the run, so that nothing imports in a circle.
"""

from __future__ import annotations

import os
from pathlib import Path

from .io import cache_dir, cache_root

__all__ = ["demo_run"]


def demo_run(params_file: str | os.PathLike | None = None) -> Path:
    """A run folder (tables only) of the bundled demo practice, run once with the parameters
    file (or the defaults): what the report notebooks show when no run folder is given. The
    period before it (as long, ending where it starts) is run first into the folder next to
    it, as ``make demo`` does, so the reports have a previous run to compare with."""
    from .config import load_config  # here: a notebook importing this loads no pipeline
    from .demo import bundled_data_dir
    from .history import previous_period
    from .pipeline import run_period

    extra = Path(params_file).read_bytes() if params_file else b""
    home = cache_dir("demo-run", extra)
    cfg = load_config(params_file or None,
                      pseudonym_key_file=cache_root() / "demo-pseudonym.key")
    out = home / "run"
    if not (out / "tables" / "model_summary.json").is_file():
        first, last = previous_period(cfg.period_start, cfg.period_end)
        before = load_config(params_file or None, period_start=first, period_end=last,
                             pseudonym_key_file=cache_root() / "demo-pseudonym.key")
        run_period(bundled_data_dir(), before, out=home / "before", tables_only=True,
                   new_pseudonym_key=True)  # synthetic data: no earlier months to match
        run_period(bundled_data_dir(), cfg, out=out, tables_only=True)
    return out
