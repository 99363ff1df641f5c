"""The prepared snapshot: typed, validated Parquet that every later step and notebook reads.

``prepare()`` ingests a data folder and writes, inside a run folder::

    <run>/prepared/<table>.parquet   accepted rows, typed (times in the practice time zone)
    <run>/prepared/snapshot.json     what was prepared: source, time zone, parameters, version
    <run>/data_quality.json          rows in / accepted / rejected and reasons, per table
    <run>/rejects.csv                one row per rejected input row: table, row, column, reason

``load_prepared()`` reads a snapshot back and checks every table against its pandera schema,
so no notebook re-parses raw CSVs or trusts a file it did not check.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import contract as C
from .config import Config, load_config
from .demo import bundled_data_dir
from .ingest import Ingested, ingest, write_quality
from .io import atomic_write, atomic_write_text, cache_dir, cache_root, find_folder
from .version import __version__

__all__ = ["Prepared", "prepare", "load_prepared", "demo_prepared", "schema", "PREPARED_DIR"]

PREPARED_DIR = "prepared"


@dataclass
class Prepared:
    """Typed tables of one practice snapshot, with its data-quality summary and metadata."""

    tables: dict[str, pd.DataFrame]
    quality: dict
    meta: dict
    path: Path | None = None
    key: object = None  # the PseudonymKey used, when this snapshot was just prepared
    rejects: pd.DataFrame | None = None  # the rejected rows, when just prepared

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        if name in C.TABLES:  # an optional table the practice did not provide
            return pd.DataFrame(columns=C.TABLES[name].column_names)
        raise AttributeError(name)

    def provided(self, name: str) -> bool:
        """Whether the practice provided this table (an optional table that was not provided
        is empty here, and what rests on it is unknown, not zero)."""
        return name in self.meta.get("provided", self.tables)


def _is_tz_datetime(tz: str):
    import pandera.pandas as pa

    return pa.Check(lambda s: isinstance(s.dtype, pd.DatetimeTZDtype) and str(s.dtype.tz) == tz,
                    element_wise=False, error=f"must be a date-time in {tz}")


def _is_date():
    import pandera.pandas as pa

    return pa.Check(lambda s: pd.api.types.is_datetime64_dtype(s.dtype)
                    and not isinstance(s.dtype, pd.DatetimeTZDtype)
                    and bool((s.dropna() == s.dropna().dt.normalize()).all()),
                    element_wise=False, error="must be a date")


def _is_text():
    import pandera.pandas as pa

    return pa.Check(_all_text, element_wise=False, error="must be text")


def _all_text(s: pd.Series) -> bool:
    """Every value present is a ``str`` (an empty or all-missing column passes)."""
    if isinstance(s.dtype, pd.StringDtype):
        return True
    values = s.dropna().to_numpy(dtype=object)
    return all(isinstance(v, str) for v in values)


def schema(table: str, timezone: str):
    """The pandera schema of a prepared table, built from the contract in ``contract.py``.

    pandera is imported here, not at module level: report notebooks load snapshots without
    re-checking them and should not pay for the import."""
    import pandera.pandas as pa

    from .ingest import OUTPUT_COLUMNS

    spec = C.TABLES[table]
    cols: dict[str, pa.Column] = {"source_row": pa.Column("int64", pa.Check.ge(1))}
    for col in spec.columns:
        if col.name not in OUTPUT_COLUMNS[table]:  # read at ingest, folded into others
            continue
        nullable = not col.required
        checks: list[pa.Check] = []
        dtype = None
        if col.kind in ("int", "number"):
            dtype = "float64" if col.kind == "number" else ("int64" if col.required else "Int64")
            if col.lo is not None:
                checks.append(pa.Check.gt(col.lo) if col.lo_open else pa.Check.ge(col.lo))
            if col.hi is not None:
                checks.append(pa.Check.le(col.hi))
        elif col.kind == "date":
            checks.append(_is_date())
        elif col.kind == "datetime":
            checks.append(_is_tz_datetime(timezone))
        elif col.kind == "enum":
            checks.append(pa.Check.isin(sorted(set(C.VOCABULARIES[col.vocabulary].values()))))
        else:
            checks.append(_is_text())
        if col.name == "client_id":
            checks.append(pa.Check.str_startswith("cl-"))
        cols[col.name] = pa.Column(dtype, checks=checks, nullable=nullable)
    if table == "appointments":
        # a cancelled or missed appointment may have no length, and then no end
        cols["end"] = pa.Column(None, _is_tz_datetime(timezone), nullable=True)
        cols["service_code"] = pa.Column(None, _is_text(), nullable=True)
        for flag in ("duration_estimated", "duration_default", "start_date_only", "telehealth",
                     "group"):
            cols[flag] = pa.Column("bool")
    if table == "assessments":
        cols["clinician_id"] = pa.Column(None, _is_text(), nullable=False)
        cols["total_score"] = pa.Column("float64", nullable=False)
        cols["clinician_inferred"] = pa.Column("bool")
        cols["prorated"] = pa.Column("bool")
        cols["items_answered"] = pa.Column("int64", pa.Check.ge(0))
        cols["item_\\d+"] = pa.Column("float64", nullable=True, regex=True, required=False)
    return pa.DataFrameSchema(cols, unique=list(spec.key) or None, strict=True,
                              name=f"prepared {table}")


def _validate(frame: pd.DataFrame, table: str, timezone: str, where: str) -> pd.DataFrame:
    import pandera.pandas as pa

    try:
        return schema(table, timezone).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        first = exc.failure_cases.iloc[0]
        raise ValueError(f"{where}: table {table} does not match the data contract (column "
                         f"{first['column']}: {first['check']}); prepare the data again with "
                         "this version of perfkit") from None


def prepare(data_dir: str | os.PathLike, out_dir: str | os.PathLike, config: Config, *,
            column_map: str | os.PathLike | None = None,
            key_file: str | os.PathLike | None = None, key=None) -> Prepared:
    """Ingest ``data_dir`` and write the prepared snapshot and data-quality files to ``out_dir``.

    ``key`` is a :class:`perfkit.pseudonym.PseudonymKey` already loaded; without it the key
    file is read (or created on first use). The key's fingerprint, never the key, is recorded
    in ``snapshot.json``.

    Returns the :class:`Prepared` snapshot that was written.
    """
    out = Path(out_dir)
    ing: Ingested = ingest(data_dir, config, column_map=column_map, key_file=key_file,
                           key=key)
    target = out / PREPARED_DIR
    target.mkdir(parents=True, exist_ok=True)
    for stale in target.glob("*.parquet"):  # a table absent now must not linger from before
        if stale.stem not in ing.tables:
            stale.unlink()
    for name, frame in ing.tables.items():
        _validate(frame, name, config.timezone, "ingest")
        atomic_write(target / f"{name}.parquet", lambda p, f=frame: f.to_parquet(p, index=False))
    meta = {
        "perfkit_version": __version__,
        "source": str(Path(data_dir).resolve()),
        "timezone": config.timezone,
        "practice_name": config.practice_name,
        "period_start": config.period_start.isoformat(),
        "period_end": config.period_end.isoformat(),
        "tables": sorted(ing.tables),
        "provided": sorted(n for n, e in ing.quality["tables"].items() if e.get("present")),
        "parameters": json.loads(config.model_dump_json()),
        "pseudonym_key_fingerprint": ing.key.fingerprint if ing.key else None,
        "documentation": ing.quality.get("documentation"),
        "export_profile": ing.quality.get("source"),
        # rows of clinicians the roster cannot use, left out (perfkit run
        # --skip-unknown-clinicians): the practice report says how many and why
        "clinicians_left_out": ing.quality.get("clinicians_left_out") or [],
        # where each table's data begin and end, and the figures a short export limits
        "coverage": (ing.quality.get("coverage") or {}).get("tables"),
        "history_limits": (ing.quality.get("coverage") or {}).get("limits", []),
    }
    meta["parameters"].pop("pseudonym_key_file", None)  # where the key lives is nobody's business
    atomic_write_text(target / "snapshot.json", json.dumps(meta, indent=2) + "\n")
    write_quality(ing.quality, ing.rejects, out)
    return Prepared(dict(ing.tables), ing.quality, meta, target, key=ing.key,
                    rejects=ing.rejects)


def load_prepared(path: str | os.PathLike | None = None, *, validate: bool = True) -> Prepared:
    """Load a prepared snapshot, checking every table against the contract.

    Parameters
    ----------
    path : path-like, optional
        A run folder or its ``prepared/`` folder. ``None`` loads the bundled demo practice,
        preparing it once into the user's cache, so notebooks run with no set-up.
    validate : bool
        Check every table against its pandera schema (default). The batch of reports skips it
        for speed: the run checked the same files when it wrote them moments before.
    """
    if path is None:
        return load_prepared(demo_prepared())
    path = find_folder(path, "run folder")  # relative: from here, else the project folder
    if (path / PREPARED_DIR / "snapshot.json").is_file():
        path = path / PREPARED_DIR
    meta_file = path / "snapshot.json"
    if not meta_file.is_file():
        raise FileNotFoundError(f"{path} holds no prepared snapshot (snapshot.json): it is not "
                                "a run folder ('perfkit run' or 'perfkit validate --out' "
                                "writes one)")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    tables = {}
    for name in meta["tables"]:
        frame = pd.read_parquet(path / f"{name}.parquet")
        tables[name] = _validate(frame, name, meta["timezone"], str(path)) if validate else frame
    quality_file = path.parent / "data_quality.json"
    quality = json.loads(quality_file.read_text(encoding="utf-8")) if quality_file.is_file() \
        else {}
    return Prepared(tables, quality, meta, path)


def demo_prepared() -> Path:
    """A folder holding the bundled demo's prepared snapshot (prepared once, into the user's
    cache: :func:`perfkit.io.cache_dir`)."""
    folder = cache_dir("demo")
    if not (folder / PREPARED_DIR / "snapshot.json").is_file():
        prepare(bundled_data_dir(), folder, load_config(),
                key_file=cache_root() / "demo-pseudonym.key")
    return folder
