"""A run of perfkit for one period: the run folder of DATA_CONTRACT section 2.

Today a run prepares the validated snapshot and writes ``data_quality.json``, ``rejects.csv``
and ``manifest.json``; the metric tables and reports are added by later steps through the same
manifest, so a scheduler always finds every output listed with its status.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

from . import __version__
from .config import Config
from .io import atomic_write_text
from .prepared import PREPARED_DIR, prepare

__all__ = ["run_period", "default_run_folder"]


def default_run_folder(config: Config, base: str | os.PathLike = "reports") -> Path:
    """``reports/<period_end>/``: named from the parameters, never from the clock."""
    return Path(base) / config.period_end.isoformat()


def run_period(data_dir: str | os.PathLike, config: Config, *, out: str | os.PathLike | None = None,
               column_map: str | os.PathLike | None = None,
               params_file: str | os.PathLike | None = None) -> dict:
    """Prepare the run folder for ``config``'s period and return its manifest.

    Input problems that make the data unusable raise ``IngestError``; rejected rows do not stop
    the run (they are counted in ``data_quality.json``).
    """
    folder = Path(out) if out is not None else default_run_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared = prepare(data_dir, folder, config, column_map=column_map)
    timings["prepare_seconds"] = round(time.perf_counter() - t0, 3)
    outputs = [{"path": "data_quality.json", "status": "ok", "message": ""},
               {"path": "rejects.csv", "status": "ok", "message": ""}]
    outputs += [{"path": f"{PREPARED_DIR}/{name}.parquet", "status": "ok", "message": ""}
                for name in sorted(prepared.tables)]
    params = json.loads(config.model_dump_json())
    params.pop("pseudonym_key_file", None)
    q = prepared.quality
    manifest = {
        "perfkit_version": __version__,
        "run_folder": str(folder),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_folder": str(Path(data_dir)),
        "parameters_file": str(params_file) if params_file else None,
        "period": {"start": config.period_start.isoformat(), "end": config.period_end.isoformat(),
                   "as_of": config.as_of.isoformat(), "timezone": config.timezone},
        "parameters": params,
        "data_quality": {k: q[k] for k in ("rows_in", "rows_accepted", "rows_rejected")},
        "timings": timings,
        "outputs": outputs,
    }
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest
