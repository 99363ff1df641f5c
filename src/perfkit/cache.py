"""perfkit's cache of outputs derived from the bundled demo practice (``$PERFKIT_CACHE`` or
``~/.cache/perfkit``), so notebooks and examples open on the demo with no set-up. A cached
output is keyed by perfkit's code and data (and a parameters file, where one is given): a
changed perfkit never reuses it."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

__all__ = ["cache_root", "cache_dir", "demo_prepared", "demo_run"]


def cache_root() -> Path:
    """The user's perfkit cache (``$PERFKIT_CACHE`` or ``~/.cache/perfkit``)."""
    return Path(os.environ.get("PERFKIT_CACHE", Path.home() / ".cache" / "perfkit"))


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    from . import __version__

    digest = hashlib.sha256(__version__.encode())
    for f in sorted(Path(__file__).parent.rglob("*")):
        if f.suffix in (".py", ".csv", ".json", ".yaml") and f.is_file():
            digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()


def cache_dir(kind: str, extra: bytes = b"") -> Path:
    """A cache folder for something derived from the bundled demo, keyed by perfkit's code and
    data (and ``extra``, e.g. a parameters file)."""
    key = hashlib.sha256(_code_digest().encode() + extra).hexdigest()[:12]
    return cache_root() / f"{kind}-{key}"


def demo_prepared() -> Path:
    """A folder holding the bundled demo's prepared snapshot (prepared once)."""
    from .config import load_config
    from .demo import bundled_data_dir
    from .prepared import PREPARED_DIR, prepare

    folder = cache_dir("demo")
    if not (folder / PREPARED_DIR / "snapshot.json").is_file():
        prepare(bundled_data_dir(), folder, load_config(),
                key_file=cache_root() / "demo-pseudonym.key")
    return folder


def demo_run(params_file: str | os.PathLike | None = None) -> Path:
    """A run folder (tables only) of the bundled demo practice, run once with the parameters
    file (or the defaults): what the report notebooks show when no run folder is given. The
    period before it (as long, ending where it starts) is run first into the folder next to
    it, as ``make demo`` does, so the reports have a previous run to compare with."""
    from .config import load_config
    from .demo import bundled_data_dir
    from .history import previous_period
    from .runner import run_period

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
