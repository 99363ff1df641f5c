"""Small file helpers: every output is written to a temporary file and renamed into place, so a
reader (a scheduler, a browser, a BI tool) never sees a half-written file; outputs are private
to their owner; a run's tables are written twice (``name.csv`` for people and spreadsheets,
``name.parquet`` typed, for programs) and read back typed: ids as text, yes/no as booleans; the
user's cache of what perfkit derives from the bundled demo (:func:`cache_dir`) is keyed by
perfkit's code."""

from __future__ import annotations

import datetime as dt
import errno
import functools
import hashlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .version import __version__

__all__ = ["atomic_write", "atomic_write_text", "read_table", "write_table", "is_id_column",
           "is_yes_no_column", "YES_NO_COLUMNS", "private_outputs",
           "restrict_tree", "open_to_group", "project_root", "find_folder", "read_regular",
           "read_record", "RECORD_LIMIT", "cache_root", "cache_dir", "written_time",
           "created_day"]


def _modes(group_readable: bool) -> tuple[int, int, int]:
    """(umask, folder mode, file mode): owner only, or owner and group read."""
    return (0o027, 0o750, 0o640) if group_readable else (0o077, 0o700, 0o600)


@contextmanager
def private_outputs(group_readable: bool = False) -> Iterator[None]:
    """Create every file and folder in the block readable by the owner only (0700 folders,
    0600 files), or also by the owner's group. Sets the process umask, which report workers
    and their kernels inherit, and restores it afterwards."""
    old = os.umask(_modes(group_readable)[0])
    try:
        yield
    finally:
        os.umask(old)


def restrict_tree(folder: str | os.PathLike, group_readable: bool = False,
                  entries: tuple[str, ...] | None = None) -> None:
    """Give a folder and the named entries in it (all of them when ``entries`` is None), with
    everything below them, the private modes: files that an earlier run left with wider
    permissions included. Links are never followed."""
    _, dmode, fmode = _modes(group_readable)
    folder = Path(folder)
    os.chmod(folder, dmode)
    names = entries if entries is not None else tuple(os.listdir(folder))
    for name in names:
        top = folder / name
        if top.is_symlink() or not top.exists():
            continue
        if top.is_file():
            os.chmod(top, fmode)
            continue
        os.chmod(top, dmode)
        for root, dirs, files in os.walk(top):
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p):
                    os.chmod(p, dmode)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, fmode)


def open_to_group(folder: str | os.PathLike, paths) -> None:
    """Make the named files (relative to ``folder``) readable by the owner's group, with the
    folders that lead to them (0750 / 0640); everything else keeps its private modes. A run
    opens only its owner's part this way (``privacy.group_readable_outputs``): the clinicians'
    own reports, the packs and the run record stay readable by their owner alone. Links are
    never followed."""
    folder = Path(folder)
    _, dmode, fmode = _modes(True)
    os.chmod(folder, dmode)
    for rel in paths:
        target = folder / rel
        if target.is_symlink() or not target.is_file():
            continue
        for parent in list(target.relative_to(folder).parents)[:-1]:
            d = folder / parent
            if not d.is_symlink():
                os.chmod(d, dmode)
        os.chmod(target, fmode)


def is_id_column(name: str) -> bool:
    """Identifier columns (``clinician_id``, ``client_id``, ``supervisor_id``, ...): text, never
    numbers or missing values, whatever they look like (``001``, ``NA``, ``None``)."""
    return str(name).endswith("_id")


# The yes/no columns of a run's tables (besides every ``flag_*`` column): booleans, missing when
# not known (a table the practice did not provide, a licence with no requirement). The Parquet
# copy stores them as booleans; a CSV of an older run is read back with them as booleans too.
YES_NO_COLUMNS = frozenset({
    "new_clients_limited", "over_capacity", "suppressed", "escalate", "behind_on_supervision",
    "history_complete", "assessed", "compliant", "in_reporting_period", "review_overdue",
    "past_target", "behind_pace", "due_soon", "competency_review_due", "this_run",
    "compared_with", "definitions_changed", "previous_flag", "current_flag",
    "compared", "whole", "item9_in_export",  # ramp_summary, team_rates, item9_coverage
    "ramping", "check_in", "newly_flagged",  # ramp_summary, check_ins
})


def is_yes_no_column(name: str) -> bool:
    """Yes/no columns of a run's tables (:data:`YES_NO_COLUMNS` and every ``flag_*``): read
    back as pandas' nullable booleans (``True``, ``False`` or ``<NA>``: not known)."""
    return str(name) in YES_NO_COLUMNS or str(name).startswith("flag_")


# A record perfkit wrote (a run's manifest.json, a delivery record) is never larger than this.
RECORD_LIMIT = 64 * 2**20


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes. It is opened
    without following a link and without waiting (``O_NOFOLLOW | O_NONBLOCK``), so a link (to
    ``/dev/zero``, say), a named pipe or a device there never hangs or floods the reader.

    Raises ``FileNotFoundError`` when there is nothing at ``path``, ``ValueError`` when it is not
    a regular file or is larger than ``limit``, and ``OSError`` when it cannot be read.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link
            raise ValueError(f"{path} is a link, not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if st.st_size > limit:
            raise ValueError(f"{path} is larger than {limit} bytes")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
        if len(data) > limit:  # it grew while read
            raise ValueError(f"{path} is larger than {limit} bytes")
        return data
    finally:
        os.close(fd)


def read_record(path: str | os.PathLike, limit: int = RECORD_LIMIT):
    """The JSON in ``path`` (a run's ``manifest.json``, say), or None when it is not a regular
    file (:func:`read_regular`), is larger than ``limit``, is not UTF-8 or not JSON, or nests
    too deep to parse. The one reader of a record that a run, its history and a delivery
    read from a folder they did not just write."""
    try:
        return json.loads(read_regular(path, limit).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _yes_no(column: pd.Series, name: str) -> pd.Series:
    """A yes/no column as nullable booleans: ``True``/``False`` (or 1/0), missing when not
    known; anything else is an error."""
    def one(v):
        if pd.isna(v):
            return None
        if isinstance(v, bool | np.bool_) or (
                isinstance(v, int | float | np.integer | np.floating) and v in (0, 1)):
            return bool(v)
        raise ValueError(f"the yes/no column {name} holds something other than True, False "
                         "or an empty cell")

    return pd.Series(pd.array([one(v) for v in column], dtype="boolean"), index=column.index)


def _is_dates(column: pd.Series) -> bool:
    """A column of calendar dates held as ``datetime.date`` objects (and missing values)."""
    known = column.dropna()
    return (column.dtype == object and not known.empty
            and known.map(lambda v: type(v) is dt.date).all())


_DAY = r"\d{4}-\d{2}-\d{2}"


def _is_days(column: pd.Series) -> bool:
    """A CSV column of days as perfkit writes dates (``2026-08-01``), and empty cells."""
    known = column.dropna()
    return (not known.empty and not pd.api.types.is_numeric_dtype(column)
            and known.map(lambda v: isinstance(v, str)).all()
            and known.str.fullmatch(_DAY).all())


def _as_text(column: pd.Series) -> pd.Series:
    """A column's values as the CSV writes them (text), missing values kept missing."""
    return column.map(lambda v: v if pd.isna(v) else str(v)).astype("str")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the types of a run's table: ids as text (:func:`is_id_column`), yes/no
    columns as nullable booleans (:func:`is_yes_no_column`), calendar dates as datetimes."""
    out = frame.reset_index(drop=True)
    for col in out.columns:
        if is_id_column(col):
            out[col] = _as_text(out[col])
        elif is_yes_no_column(col):
            out[col] = _yes_no(out[col], col)
        elif _is_dates(out[col]):
            out[col] = pd.to_datetime(out[col])
    return out


def _arrow_table(frame: pd.DataFrame):
    """``frame`` as an Arrow table; a column of mixed kinds (numbers and text, say), which
    Parquet cannot hold as one type, is stored as the text the CSV holds."""
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        pass
    out = frame.copy()
    for col in out.columns:
        try:
            pa.Table.from_pandas(out[[col]], preserve_index=False)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            out[col] = _as_text(out[col])
    return pa.Table.from_pandas(out, preserve_index=False)


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a run's table ``tables/name.csv`` and its typed copy ``tables/name.parquet``
    beside it, each atomically (:func:`atomic_write`).

    The CSV is for people and spreadsheets: every text cell a spreadsheet would run as a
    formula is guarded (:func:`perfkit.hostile_text.csv_safe`), dates are written as days. The
    Parquet copy holds the same rows, typed (:func:`_typed`): programs, and :func:`read_table`,
    read it and need no conversions. Returns the CSV's path.
    """
    import pyarrow.parquet as pq

    from .hostile_text import csv_safe

    path = Path(path)
    table = _arrow_table(_typed(frame))
    safe = csv_safe(frame)
    atomic_write(path.with_suffix(".parquet"), lambda p: pq.write_table(table, p))
    return atomic_write(path, lambda p: safe.to_csv(p, index=False, date_format="%Y-%m-%d"))


def read_table(path: str | os.PathLike | bytes) -> pd.DataFrame:
    """Read a run's table (``tables/name.csv``) back typed, as perfkit wrote it.

    The typed copy ``tables/name.parquet`` beside it is read when it is there (every run
    since perfkit wrote them): ids are text, yes/no columns nullable booleans, dates datetimes,
    numbers numbers. A run folder with only the CSV (an older run), or the CSV's bytes (already
    read: :func:`read_regular`), is read with the same schema: identifier columns as text
    (``001`` stays ``001``) and only an empty cell a missing value (pandas' NA guessing would
    turn an id or a name such as ``NA`` or ``None`` into a gap); yes/no columns
    (:func:`is_yes_no_column`) as booleans, and a ``ValueError`` when one holds anything
    else; a column of days (``2026-08-01``) as datetimes; the ``'`` that guards a text cell
    against running as a spreadsheet formula (:func:`perfkit.hostile_text.csv_cell`: an id ``=1+1``
    is written ``'=1+1``) is taken off. Every reader of a run's tables goes through here.
    """
    from .hostile_text import csv_unguard

    if not isinstance(path, bytes):
        typed_copy = Path(path).with_suffix(".parquet")
        if typed_copy.is_file():
            import pyarrow.parquet as pq

            return pq.read_table(typed_copy).to_pandas()

    def source():  # the table's bytes (already read: :func:`read_regular`), or its path
        return io.BytesIO(path) if isinstance(path, bytes) else path

    header = pd.read_csv(source(), nrows=0).columns
    ids = {c: str for c in header if is_id_column(c)}
    frame = csv_unguard(pd.read_csv(source(), dtype=ids, keep_default_na=False, na_values=[""]))
    for col in frame.columns:
        if is_yes_no_column(col):
            frame[col] = _yes_no(frame[col], col)
        elif not is_id_column(col) and _is_days(frame[col]):
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d")
    return frame


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], *,
                 mode: int | None = None) -> Path:
    """Call ``write(tmp_path)`` and rename the result onto ``path`` (a link there is replaced,
    never followed). ``mode``: the file's permissions (default: the usual ones under the
    process umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    if mode is None:  # mkstemp makes 0600; give the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp_path, mode)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The perfkit project folder holding ``start`` (default: the current folder): the nearest
    folder, going up, that has a ``parameters`` folder next to ``notebooks`` or a
    ``pyproject.toml``. A notebook's kernel runs in ``notebooks/``; the README's paths
    (``reports/2026-11-01``) are relative to the project."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "parameters").is_dir() and ((folder / "notebooks").is_dir()
                                                 or (folder / "pyproject.toml").is_file()):
            return folder
    return None


def find_folder(path: str | os.PathLike, what: str = "folder") -> Path:
    """An existing folder named by a user: an absolute path as it is; a relative one from the
    current folder, else from the project folder (:func:`project_root`).

    Raises
    ------
    FileNotFoundError
        Nothing is there: the message gives every full path looked at.
    """
    given = Path(path).expanduser()
    tried = [given] if given.is_absolute() else [Path.cwd() / given]
    root = project_root()
    if not given.is_absolute() and root is not None and root / given not in tried:
        tried.append(root / given)
    for place in tried:
        if place.exists():
            return place.resolve()
    raise FileNotFoundError(f"No {what} at {path}: looked at "
                            + " and ".join(str(p.resolve()) for p in tried))


def cache_root() -> Path:
    """The user's perfkit cache (``$PERFKIT_CACHE`` or ``~/.cache/perfkit``): what perfkit
    derives from the bundled demo (:func:`perfkit.prepared.demo_prepared`,
    :func:`perfkit.cache.demo_run`), so notebooks and examples open on it with no set-up."""
    return Path(os.environ.get("PERFKIT_CACHE", Path.home() / ".cache" / "perfkit"))


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    digest = hashlib.sha256(__version__.encode())
    for f in sorted(Path(__file__).parent.rglob("*")):
        if f.suffix in (".py", ".csv", ".json", ".yaml") and f.is_file():
            digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()


def cache_dir(kind: str, extra: bytes = b"") -> Path:
    """A cache folder for something derived from the bundled demo, keyed by perfkit's code and
    data (and ``extra``, e.g. a parameters file): a changed perfkit never reuses it."""
    key = hashlib.sha256(_code_digest().encode() + extra).hexdigest()[:12]
    return cache_root() / f"{kind}-{key}"


def written_time(created) -> dt.datetime | None:
    """A manifest's ``created`` (an ISO date and time) as a time in UTC; None when it is not
    one."""
    if not isinstance(created, str) or not 10 <= len(created) <= 40:
        return None
    try:
        when = dt.datetime.fromisoformat(created)
    except ValueError:
        return None
    return when.astimezone(dt.UTC) if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def created_day(created) -> dt.date | None:
    """The day (UTC) a run was written, from its manifest's ``created`` (an ISO date and
    time); None when it is not one: an earlier run contributes a date, never its text."""
    when = written_time(created)
    return when.date() if when else None
