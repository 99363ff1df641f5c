"""A run of perfkit for one period: the run folder of DATA_CONTRACT section 2.

A run prepares the validated snapshot (``data_quality.json``, ``rejects.csv``, ``prepared/``),
computes the tables from it once (``tables/``), and lists every output with its status in
``manifest.json``. A table that fails is recorded as failed with its message; the others are
still written, and the command exits non-zero.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import functools
import json
import logging
import os
import shutil
import stat
import sys
import time
from pathlib import Path

from .config import Config, ConfigError
from .history import change_table, earlier_runs, history_table, previous_run, same_practice
from .hostile_text import distinct_names
from .ingest import IngestError, run_blockers
from .io import (
    atomic_write_text,
    open_to_group,
    private_outputs,
    read_record,
    read_table,
    restrict_tree,
    write_table,
)
from .operations import clinicians_in_period
from .prepared import PREPARED_DIR, Prepared, prepare
from .pseudonym import PseudonymKey, load_key
from .recipients import with_readers
from .tables import CHECK_IN_INPUTS, STEPS, check_in_tables, model_tables
from .version import __version__

__all__ = ["run_period", "validate_into", "default_run_folder", "model_outputs", "check_key",
           "previous_key_fingerprint", "is_run_folder", "ReportsFailed"]


class ReportsFailed(RuntimeError):
    """Every report of a run failed: the previous run stays in place (the message says so)."""

log = logging.getLogger(__name__)


def default_run_folder(config: Config, base: str | os.PathLike = "reports") -> Path:
    """``reports/<period_end>/``: named from the parameters, never from the clock."""
    return Path(base) / config.period_end.isoformat()


def model_outputs(data: Prepared, config: Config, folder: Path) -> list[dict]:
    """Write the model tables (:func:`perfkit.tables.model_tables`): ``clinician_effects.csv``,
    ``model_summary.json`` and the exact rows fitted (``model_data_<instrument>.csv``); an
    instrument whose fit failed is recorded as failed."""
    frames, summary, failed = model_tables(data, config)
    outputs = [{"path": f"tables/{name}.csv", "status": "failed", "message": message}
               for name, message in failed.items()]
    for name, frame in frames.items():
        write_table(frame, folder / "tables" / f"{name}.csv")
        outputs += _written(name)
    atomic_write_text(folder / "tables" / "model_summary.json",
                      json.dumps(summary, indent=2) + "\n")
    return outputs + [{"path": "tables/model_summary.json", "status": "ok", "message": ""}]


def _reports_step(folder: Path, data: Prepared, config: Config, only: list[str] | None,
                  workers: int | None, progress: bool,
                  roles: tuple[str, ...] | None = None) -> list[dict]:
    from .render import ROLES, render_reports
    from .supervision import supervision_pairs

    roles = tuple(roles or ROLES)
    in_period = clinicians_in_period(data.clinicians, config)
    sup_ids = sorted(set(supervision_pairs(data.clinicians, config)["supervisor_id"]))
    if only:
        known = set(in_period["clinician_id"]) | set(sup_ids)
        unknown = sorted(set(only) - known)
        if unknown:
            raise ConfigError(f"--clinician {unknown[0]} is not a clinician employed in the "
                              "period")
        in_period = in_period[in_period["clinician_id"].isin(only)]
        sup_ids = [s for s in sup_ids if s in only]
    names = distinct_names(dict(zip(data.clinicians["clinician_id"], data.clinicians["name"],
                                    strict=True)))  # a shared name carries its id
    people = list(zip(in_period["clinician_id"], in_period["name"], strict=True))
    sups = [(s, names[s]) for s in sup_ids]
    last = config.period_end - dt.timedelta(days=1)
    period = f"{config.period_start:%d %b %Y} to {last:%d %b %Y}"
    results = render_reports(folder, people, practice_name=config.practice_name, period=period,
                             workers=workers, progress=progress, supervisors=sups, roles=roles,
                             cell_timeout=config.report.cell_timeout_seconds)
    indexes = {r["reader_index"]: r["id"] for r in results if r.get("reader_index")}
    return ([{"path": r["path"], "status": r["status"], "message": r["message"],
              "role": r["role"], "id": r["id"], "notebook": f"notebooks/{r['notebook']}"}
             for r in results] + [{"path": "index.html", "status": "ok", "message": ""}]
            + [{"path": path, "status": "ok", "message": "", "reader_index_of": pid}
               for path, pid in indexes.items()])


def _written(name: str) -> list[dict]:
    """The outputs of a table :func:`perfkit.io.write_table` wrote: ``tables/name.csv`` (for
    people) and its typed copy ``tables/name.parquet`` (for programs: the run record's, never
    a reader's, :func:`perfkit.recipients.with_readers`)."""
    return [{"path": f"tables/{name}{ext}", "status": "ok", "message": ""}
            for ext in (".csv", ".parquet")]


def _tables_step(step: str, data: Prepared, config: Config, folder: Path) -> list[dict]:
    """Build and write one step's tables; a failure is recorded, not raised, so the other
    steps still run."""
    build, names = STEPS[step]
    try:
        tables = build(data, config)
    except Exception as exc:  # isolate the failure; the manifest says what went wrong
        log.exception("%s tables failed", step)
        return [{"path": f"tables/{name}.csv", "status": "failed",
                 "message": f"{type(exc).__name__}: {exc}"} for name in names]
    for name, frame in tables.items():
        write_table(frame, folder / "tables" / f"{name}.csv")
    return [o for name in tables for o in _written(name)]


def _history_step(folder: Path, config: Config, runs, previous, name: str) -> list[dict]:
    """``changes.csv`` and ``history.csv`` against the earlier runs (:mod:`perfkit.history`),
    from this run's ``clinician_metrics.csv`` as written (so both sides are read alike);
    ``name`` is this run's folder name."""
    names = ("tables/changes.csv", "tables/history.csv")
    try:
        current = read_table(folder / "tables" / "clinician_metrics.csv")
    except OSError:
        return [{"path": n, "status": "failed", "message": "no clinician_metrics.csv to "
                 "compare"} for n in names]
    write_table(change_table(current, previous), folder / names[0])
    write_table(history_table(current, config, list(runs), previous, name), folder / names[1])
    left_out = getattr(runs, "left_out", 0)  # damaged earlier runs: the report counts them
    if left_out:
        snapshot = folder / PREPARED_DIR / "snapshot.json"
        meta = json.loads(snapshot.read_text(encoding="utf-8"))
        meta["earlier_runs_left_out"] = left_out
        atomic_write_text(snapshot, json.dumps(meta, indent=2) + "\n")
    return [o for n in names for o in _written(Path(n).stem)]


def _check_ins_step(folder: Path, data: Prepared, config: Config) -> list[dict]:
    """``check_ins.csv`` (:func:`perfkit.tables.check_in_tables`) from the run's tables as
    written (typed, as the reports read them), after ``changes.csv``; a failure is recorded,
    not raised."""
    try:
        tables = {n: read_table(folder / "tables" / f"{n}.csv") for n in CHECK_IN_INPUTS
                  if (folder / "tables" / f"{n}.csv").is_file()}
        built = check_in_tables(tables, config, data.provided("time_off"))
    except Exception as exc:  # isolate the failure; the manifest says what went wrong
        log.exception("check-in table failed")
        return [{"path": "tables/check_ins.csv", "status": "failed",
                 "message": f"{type(exc).__name__}: {exc}"}]
    for name, frame in built.items():
        write_table(frame, folder / "tables" / f"{name}.csv")
    return [o for name in built for o in _written(name)]


def previous_key_fingerprint(folder: Path, config: Config | None = None
                             ) -> tuple[str, Path] | None:
    """The pseudonym-key fingerprint of the latest earlier run in the same reports folder
    (this run folder and its siblings), with that run's folder; None when there is none. With
    ``config``, only runs of its practice count (:func:`perfkit.history.same_practice`):
    another practice's runs beside it say nothing about this practice's key."""
    folder = Path(folder).resolve()
    found = []
    manifests = [folder / "manifest.json"]
    if folder.parent.is_dir():  # sibling run folders; hidden ones are staging leftovers
        manifests += sorted(m for m in folder.parent.glob("*/manifest.json")
                            if not m.parent.name.startswith("."))
    for m in manifests:
        data = read_record(m)  # never a link, a pipe or a bomb: None, and skipped
        try:
            fp = data["pseudonym_key"]["fingerprint"]
            written = m.stat().st_mtime_ns  # finer than the manifest's "created" seconds
            if config is not None and not same_practice(data.get("parameters"), config):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(fp, str) and fp:
            found.append((written, fp, m.parent))
    if not found:
        return None
    _, fp, where = max(found, key=lambda f: f[0])
    return fp, where


def check_key(folder: Path, config: Config, *, new_key: bool = False) -> PseudonymKey:
    """Load the pseudonym key for a run into ``folder``, or stop with one sentence when it
    would give other pseudonyms than the latest earlier run in the same reports folder: a
    missing key (a new one would be made) or a different one (runs of another practice beside
    it do not count). ``new_key`` (the CLI's ``--new-pseudonym-key``) accepts the change."""
    path = Path(config.pseudonym_key_file)
    previous = previous_key_fingerprint(folder, config)
    if previous and not new_key:
        fp, where = previous
        if not path.exists():
            raise ConfigError(
                f"the pseudonym key file {path} is missing, but the earlier run in {where} "
                f"used a key (fingerprint {fp}): a new key would give every client a new "
                "pseudonym that matches no earlier month. Restore the key file (or point "
                "pseudonym_key_file at it), or pass --new-pseudonym-key to start afresh.")
        key = load_key(path, create=False)
        if key.fingerprint != fp:
            raise ConfigError(
                f"the pseudonym key {path} (fingerprint {key.fingerprint}) is not the key of "
                f"the earlier run in {where} (fingerprint {fp}): client pseudonyms would not "
                "match earlier months. Use the earlier key file, or pass --new-pseudonym-key "
                "to start afresh.")
        return key
    return load_key(path)


def run_period(data_dir: str | os.PathLike, config: Config, *, out: str | os.PathLike | None = None,
               column_map: str | os.PathLike | None = None,
               params_file: str | os.PathLike | None = None, tables_only: bool = False,
               clinicians: list[str] | None = None, workers: int | None = None,
               progress: bool = False, roles: list[str] | None = None,
               new_pseudonym_key: bool = False,
               compare_to: str | os.PathLike | None = None,
               skip_unknown_clinicians: bool = False) -> dict:
    """Prepare the run folder for ``config``'s period and return its manifest.

    ``compare_to`` names the earlier run to compare with (default: the latest earlier period
    among the run folders next to this one; :mod:`perfkit.history`).

    Input problems that make the data unusable raise ``IngestError``: among them a required
    table with no usable rows, and clinicians named in the export who are not on the roster
    (or whose roster row was rejected), unless ``skip_unknown_clinicians`` leaves their rows
    out (``data_quality.json`` lists them, and the practice report says so); a pseudonym key that
    differs from the earlier runs' raises ``ConfigError`` (unless ``new_pseudonym_key``);
    rejected rows do not stop the run (they are counted in ``data_quality.json``). The run
    folder and everything in it are readable by the owner only, unless
    ``privacy.group_readable_outputs`` says otherwise.

    ``out`` (default ``reports/<period_end>``) must be new, empty, or a folder whose
    ``manifest.json`` proves it a perfkit run (:func:`is_run_folder`); anything else raises
    ``ConfigError`` before the lock file is made. A folder that is a link is followed. When
    every report of the run failed, the previous run stays in place and ``ReportsFailed`` is
    raised.

    The reports are rendered by worker processes started from multiprocessing's fork server:
    a script that calls this at its top level needs the ``if __name__ == "__main__":`` guard.
    """
    from .render import ROLES, all_reports_failed

    # every table of a run is as of the period it was given, the built-in one included (a
    # Config left at it: perfkit.models.model_data would otherwise use every score)
    config = config.model_copy(update={"period_start": config.period_start,
                                       "period_end": config.period_end})
    unknown_roles = sorted(set(roles or ()) - set(ROLES))
    if unknown_roles:
        raise ConfigError(f"--role {unknown_roles[0]} is not a role (use owner, supervisor or "
                          "clinician)")
    folder = _out_folder(out if out is not None else default_run_folder(config))
    group = config.privacy.group_readable_outputs
    _make_parent(folder)
    _check_replaceable(folder)  # before the lock: a refused --out leaves nothing beside it
    with _locked(folder):
        _recover(folder)
        _check_replaceable(folder)  # again, now that no other run can be changing it
        had_run = is_run_folder(folder)
        _recover_siblings(folder)  # an earlier period's run a crash left hidden
        key = check_key(folder, config, new_key=new_pseudonym_key)
        runs = earlier_runs(folder, config, Path(compare_to) if compare_to else None)
        previous = previous_run(runs, Path(compare_to) if compare_to else None)
        staging = _staging(folder)
        with private_outputs(False):  # the owner's part alone is opened to the group, below
            _make_staging(staging)
            try:
                manifest = _run_into(data_dir, config, staging, key, column_map=column_map,
                                     params_file=params_file, tables_only=tables_only,
                                     clinicians=clinicians, workers=workers, progress=progress,
                                     roles=roles, final=folder, history=(runs, previous),
                                skip_unknown=skip_unknown_clinicians)
                reports = [o for o in manifest["outputs"] if o.get("role")]
                if had_run and all_reports_failed(manifest["outputs"]):
                    first = (str(reports[0]["message"]).strip().splitlines() or [""])[0][:200]
                    raise ReportsFailed(
                        f"all {len(reports)} reports of this run failed (the first: {first}), "
                        f"so {folder} keeps the previous run as it was")
                with _putting(f"the finished run in place of {folder}"):
                    restrict_tree(staging, False)
                    if group:
                        open_to_group(staging, [o["path"] for o in manifest["outputs"]
                                                if o.get("reader") == "owner"])
                    _replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return manifest


def validate_into(data_dir: str | os.PathLike, config: Config, out: str | os.PathLike, *,
                  column_map: str | os.PathLike | None = None) -> Prepared:
    """``perfkit validate --out``: write the prepared snapshot, ``data_quality.json``,
    ``rejects.csv`` and the record ``validate.json`` into ``out``, and return the snapshot.

    ``out`` is a new folder, an empty one, or one an earlier ``validate --out`` wrote (its
    ``validate.json`` proves it); anything else, a run folder included, is refused with a
    sentence. The same lock and staging as a run: the files are built in ``.<name>.staging``
    beside ``out`` and put in place when complete. A new folder is private (0700); an existing
    one keeps its own permissions (only what validate writes in it is private).
    """
    folder = _out_folder(out)
    group = config.privacy.group_readable_outputs
    _make_parent(folder)
    _check_replaceable(folder, validate=True)
    with _locked(folder):
        _recover(folder)
        _check_replaceable(folder, validate=True)
        staging = _staging(folder)
        with private_outputs(group):
            _make_staging(staging)
            try:
                prep = prepare(data_dir, staging, config, column_map=column_map)
                record = {"perfkit_version": __version__, "kind": "validate",
                          "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                          "data_folder": str(Path(data_dir)),
                          "outputs": [PREPARED_DIR, "data_quality.json", "rejects.csv"]}
                atomic_write_text(staging / VALIDATE_RECORD, json.dumps(record, indent=2) + "\n")
                with _putting(f"the checked data in {folder}"):
                    restrict_tree(staging, group)
                    _put_entries(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    prep.path = folder / PREPARED_DIR
    return prep


@contextlib.contextmanager
def _putting(what: str):
    """Put finished files in place: a file system that refuses is one sentence, not a
    traceback."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(f"cannot put {what} ({exc.strerror or type(exc).__name__}): check "
                          "that you may write there") from None


def _out_folder(out: str | os.PathLike) -> Path:
    """The run (or validate) folder as an absolute path; a folder that is a link is followed
    once, here, so the lock, the staging and the swap all happen beside its target (data meant
    for a mounted or encrypted place stay there, and the link stays a link)."""
    folder = Path(os.path.abspath(out))
    if folder.is_symlink():
        try:
            folder = folder.resolve()
            if folder.is_symlink():  # Python 3.13 leaves a loop unresolved
                raise OSError(errno.ELOOP, "loop")
        except (OSError, RuntimeError):  # a loop of links
            raise ConfigError(f"--out {out} is a link that leads nowhere (a loop of links): "
                              "choose another --out") from None
    return folder


def _make_parent(folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {folder.parent} "
                          f"({exc.strerror or type(exc).__name__})") from None


def _make_staging(staging: Path) -> None:
    """Create the staging folder, with perfkit's mark in it (:data:`STAGING_MARK`: a leftover
    of a killed run is then known to be perfkit's, and removed by :func:`_recover`)."""
    if os.path.lexists(staging):  # _recover left it: not perfkit's
        raise ConfigError(f"{staging} is in the way of the run and perfkit did not make it "
                          "(perfkit leaves it as it is): move it away, or choose another --out")
    try:
        staging.mkdir()
        (staging / STAGING_MARK).touch()
    except OSError as exc:
        raise ConfigError(f"cannot write in {staging.parent} "
                          f"({exc.strerror or type(exc).__name__}): choose another "
                          "--out") from None


# The mark inside a staging folder that perfkit made (removed before the folder is put in place).
STAGING_MARK = ".perfkit-staging"

# What ``perfkit deliver`` sent from a run folder (who, what, when); a rerun into the same
# folder keeps it, so a month is not sent twice.
DELIVERY_RECORD = "delivery.json"

# What a run writes in its folder.
RUN_ENTRIES = ("manifest.json", "data_quality.json", "rejects.csv", "index.html",
               "practice.html", PREPARED_DIR, "tables", "notebooks", "clinicians",
               "supervisors", "readers", DELIVERY_RECORD)


# What ``perfkit validate --out`` writes; its record proves a folder is validate's.
VALIDATE_RECORD = "validate.json"
VALIDATE_ENTRIES = (VALIDATE_RECORD, PREPARED_DIR, "data_quality.json", "rejects.csv")

# perfkit's own keys in a run's manifest.json (written by ``_run``, by every perfkit version):
# a folder is a run only when its manifest is a regular file that parses and has them all.
RUN_MANIFEST_KEYS = ("perfkit_version", "run_folder", "created", "period", "parameters",
                     "outputs")


def _record(path: Path, keys: tuple[str, ...]) -> dict | None:
    """The JSON object in ``path`` (:func:`perfkit.io.read_record`: a regular file, not a link,
    of a record's size) holding every one of ``keys`` with ``outputs`` a list of objects; None
    otherwise."""
    data = read_record(path)
    if not isinstance(data, dict) or any(k not in data for k in keys):
        return None
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not all(isinstance(o, (dict, str)) for o in outputs):
        return None
    return data


# What a run writes without listing it in its manifest's outputs (besides the manifest).
RUN_UNLISTED = (DELIVERY_RECORD, "notebooks/batch.log")


def _run_files(manifest: dict) -> set[str]:
    """The files a run's manifest says the run wrote: each output's path and notebook, and
    :data:`RUN_UNLISTED`."""
    listed = {"manifest.json", *RUN_UNLISTED}
    for o in manifest["outputs"]:
        for path in ([o] if isinstance(o, str) else [o.get("path"), o.get("notebook")]):
            if isinstance(path, str):
                listed.add(os.path.normpath(path))
    return listed


def _files_below(folder: Path) -> list[str] | None:
    """Every entry below ``folder`` that is not a folder (files, links, pipes), as paths
    relative to it, in one walk that follows no link; None when it cannot be read."""
    found: list[str] = []
    stack = [""]
    try:
        while stack:
            rel = stack.pop()
            with os.scandir(folder / rel if rel else folder) as entries:
                for e in entries:
                    path = f"{rel}/{e.name}" if rel else e.name
                    if e.is_dir(follow_symlinks=False):
                        stack.append(path)
                    else:
                        found.append(path)
    except OSError:
        return None
    return sorted(found)


def _foreign(folder: Path) -> list[str] | None:
    """The files in ``folder`` that its run did not write (relative paths, sorted): the
    manifest proves it a perfkit run, and every file in it is one the manifest lists or one
    a run writes without listing (:func:`_run_files`); a file anywhere else, or of another
    name, is someone's. None: no run at all (no manifest of perfkit's, or not readable)."""
    data = _record(folder / "manifest.json", RUN_MANIFEST_KEYS)
    if data is None or not isinstance(data["period"], dict):
        return None
    files = _files_below(folder)
    if files is None:
        return None
    own = _run_files(data)
    return [f for f in files if f not in own or f.split("/", 1)[0] not in RUN_ENTRIES]


def is_run_folder(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a perfkit run and nothing else: its ``manifest.json`` parses
    and has perfkit's own keys (a period and outputs), and every file in it, in its subfolders
    too, is one the run wrote (:func:`_foreign`)."""
    return _foreign(Path(folder)) == []


def _validate_foreign(folder: Path) -> list[str] | None:
    """The files in ``folder`` that an earlier ``validate --out`` did not write (relative
    paths, sorted): its record ``validate.json`` proves it validate's, and it writes only that
    record, ``data_quality.json``, ``rejects.csv`` and, in ``prepared/``, the snapshot's tables
    and ``snapshot.json``. None: no validate's record (or not readable)."""
    data = _record(folder / VALIDATE_RECORD, ("perfkit_version", "kind", "outputs"))
    if data is None or data["kind"] != "validate":
        return None
    files = _files_below(folder)
    if files is None:
        return None
    return [f for f in files if f not in VALIDATE_ENTRIES and not (
        f.startswith(f"{PREPARED_DIR}/") and f.count("/") == 1
        and (f.endswith(".parquet") or f.endswith("/snapshot.json")))]


def _is_validate_folder(folder: Path) -> bool:
    """Whether ``folder`` is what an earlier ``validate --out`` wrote and nothing else."""
    return _validate_foreign(folder) == []


def _staging(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.staging"


def _previous(folder: Path) -> Path:
    return folder.parent / f".{folder.name}.previous"


@contextlib.contextmanager
def _locked(folder: Path):
    """One run at a time per run folder: an exclusive ``flock`` on ``.<name>.lock`` beside
    it. The kernel releases the lock when the process ends, however it ends (SIGKILL too), so
    a killed run never leaves a stale lock. The lock file is opened without following a link
    (``O_NOFOLLOW``) and must be a plain file of its own: a link or a second name of another
    file there is refused with a sentence, and that file is never written."""
    import fcntl

    lock = folder.parent / f".{folder.name}.lock"
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(lock, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{lock} is a link, not perfkit's lock file: perfkit never "
                              "writes through a link, so remove it or choose another "
                              "--out") from None
        raise ConfigError(f"cannot write in {folder.parent} "
                          f"({exc.strerror or type(exc).__name__}): choose another --out") \
            from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise ConfigError(f"{lock} is not perfkit's lock file (it is not a plain file of "
                              "its own): perfkit never writes into it, so remove it or choose "
                              "another --out")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "unknown"
            raise ConfigError(f"another perfkit run ({holder}) is writing {folder}: wait for "
                              "it to finish, or choose another --out") from None
        os.ftruncate(fd, 0)
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.write(fd, f"process {os.getpid()}, started {started}".encode())
        yield
    finally:
        os.close(fd)


def _recover(folder: Path) -> None:
    """Finish what a run killed between its two renames left: the previous complete run
    waits as ``.<name>.previous`` and goes back in place. A staging folder left by a killed
    run is removed (its lock is ours now, so nothing is writing it). Only what perfkit made is
    moved or removed: a ``.<name>.previous`` that is a run (:func:`is_run_folder`), a staging
    folder that holds perfkit's mark (:data:`STAGING_MARK`) or a run; anything else of those
    names is left as it is."""
    previous = _previous(folder)
    if not previous.is_symlink() and is_run_folder(previous):  # only a run perfkit made
        if not os.path.lexists(folder):
            os.rename(previous, folder)
            _fsync_dir(folder.parent)
        else:
            shutil.rmtree(previous, ignore_errors=True)
    staging = _staging(folder)
    if not staging.is_symlink() and (os.path.lexists(staging / STAGING_MARK)
                                     or is_run_folder(staging)):
        shutil.rmtree(staging, ignore_errors=True)


def _recover_siblings(folder: Path) -> None:
    """Put back the run folders beside ``folder`` that a crash between two renames left
    hidden as ``.<name>.previous`` (so this run's history sees them), each under its own
    lock; one that another run holds is left to that run. A ``.<name>.previous`` that is not
    a perfkit run (:func:`is_run_folder`) is not perfkit's and is left alone (no lock is made
    for it)."""
    try:
        hidden = sorted(folder.parent.glob(".*.previous"))
    except OSError:
        return
    for previous in hidden:
        sibling = folder.parent / previous.name[1:-len(".previous")]
        if sibling == folder or not sibling.name or os.path.lexists(sibling):
            continue
        if previous.is_symlink() or not is_run_folder(previous):  # not a run perfkit made
            continue
        try:
            with _locked(sibling):
                if not os.path.lexists(sibling) and not previous.is_symlink() \
                        and is_run_folder(previous):
                    os.rename(previous, sibling)
                    _fsync_dir(folder.parent)
                    log.warning("put back the run %s that an interrupted run had left hidden",
                                sibling)
        except (ConfigError, OSError):
            continue


def _check_replaceable(folder: Path, *, validate: bool = False) -> None:
    """A run replaces a run folder whole; it refuses a folder that ``manifest.json`` does not
    prove a perfkit run (a mistyped ``--out`` must never delete someone's files, whatever
    its files are called). A new or empty folder is fine, and so is one an earlier
    ``validate --out`` wrote. With ``validate``: the folder must be new, empty or an earlier
    validate's (never a run: its manifest and snapshot would disagree)."""
    if not os.path.lexists(folder):
        return
    if not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder: choose another --out")
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise ConfigError(f"cannot read {folder} ({exc.strerror or type(exc).__name__}): "
                          "choose another --out") from None
    if not names or _is_validate_folder(folder):
        return
    if validate:
        if is_run_folder(folder):
            raise ConfigError(f"{folder} is a perfkit run: validate --out writes only into a "
                              "new or empty folder (or one an earlier validate --out wrote), "
                              "so choose another --out")
        first = (_validate_foreign(folder) or names)[0]
        raise ConfigError(f"{folder} holds files that perfkit validate did not write (such "
                          f"as {first!r}): validate --out writes only into a new or empty "
                          "folder (or one an earlier validate --out wrote), so choose another "
                          "--out")
    foreign = _foreign(folder)
    if foreign is None:
        top = [n for n in names if n not in RUN_ENTRIES] or names
        raise ConfigError(f"{folder} holds files that are not a perfkit run (such as "
                          f"{top[0]!r}; a perfkit run has its own manifest.json): a run "
                          "replaces its folder whole, so choose an empty or new --out")
    if foreign:
        n = len(foreign)
        raise ConfigError(f"{folder} is a perfkit run, but {n} file{'s' if n > 1 else ''} in "
                          f"it {'were' if n > 1 else 'was'} not written by the run (the first: "
                          f"{foreign[0]!r}): a run replaces its folder whole, so move "
                          f"{'them' if n > 1 else 'it'} out of the folder first, or choose "
                          "another --out")


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h


@functools.cache
def _renameat2():
    """glibc's ``renameat2`` (Linux 3.15+, glibc 2.28+), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step (``renameat2(RENAME_EXCHANGE)``); False when the
    system or the file system cannot (then the caller renames twice)."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a folder
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder below ``folder`` to disk (links are not followed), so a
    power cut after the swap finds complete files."""
    for root, dirs, files in os.walk(folder):
        for name in files:
            try:
                fd = os.open(os.path.join(root, name), os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:  # a link
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for name in dirs:
            if not os.path.islink(os.path.join(root, name)):
                _fsync_dir(Path(root, name))
    _fsync_dir(folder)


def _swap_in(staging: Path, folder: Path, previous: Path) -> bool:
    """Put ``staging`` at ``folder``; whatever was at ``folder`` ends at ``staging`` (one
    atomic exchange) or, where the system cannot exchange, at ``previous`` (two renames; a
    crash between them leaves it there, and ``_recover`` puts it back). True: it is at
    ``previous`` (for the caller to remove)."""
    moved = False
    if not os.path.lexists(folder):
        os.rename(staging, folder)
    elif not _exchange(staging, folder):
        os.rename(folder, previous)
        moved = True
        os.rename(staging, folder)
    _fsync_dir(folder.parent)
    return moved


def _replace(staging: Path, folder: Path) -> None:
    """Put a finished run in place of the previous one in one step, with
    ``renameat2(RENAME_EXCHANGE)`` (the previous run lands in the staging folder, removed
    after): the folder is always the previous complete run or the new one. Without it, two
    renames in one file system (between them the previous run waits as ``.<name>.previous``
    and ``_recover`` restores it). Every file is flushed to disk before the swap, and the
    folder holding the run after it."""
    from .render import KERNEL_DIR

    shutil.rmtree(staging / KERNEL_DIR, ignore_errors=True)
    (staging / STAGING_MARK).unlink(missing_ok=True)
    for nb in (staging / "notebooks").glob("*.ipynb"):  # the run record names the final folder
        text = nb.read_text(encoding="utf-8")
        fixed = text.replace(json.dumps(str(staging))[1:-1], json.dumps(str(folder))[1:-1])
        if fixed != text:
            atomic_write_text(nb, fixed)
    record = folder / DELIVERY_RECORD  # what was sent stays known after a rerun
    if record.is_file() and not record.is_symlink() and not (staging / DELIVERY_RECORD).exists():
        shutil.copy2(record, staging / DELIVERY_RECORD)
    previous = _previous(folder)
    _fsync_tree(staging)
    if _swap_in(staging, folder, previous):  # only what the swap moved there is removed
        shutil.rmtree(previous, ignore_errors=True)
    # (after an exchange, the previous run is in the staging folder: removed in run_period)


def _put_entries(staging: Path, folder: Path) -> None:
    """Put what ``validate --out`` built in ``staging`` into ``folder``: a new folder by one
    rename; an existing one (empty, or an earlier validate's) keeps its own permissions and
    gets each entry swapped in, the record that proves it validate's first."""
    (staging / STAGING_MARK).unlink(missing_ok=True)
    _fsync_tree(staging)
    if not os.path.lexists(folder):
        os.rename(staging, folder)
        _fsync_dir(folder.parent)
        return
    for name in VALIDATE_ENTRIES:  # the record first: a folder half-written is still provably ours
        src, dst = staging / name, folder / name
        _swap_in(src, dst, staging / f"{name}.previous")
    _fsync_dir(folder)


def _run_into(data_dir, config: Config, folder: Path, key: PseudonymKey, *, column_map,
              params_file, tables_only, clinicians, workers, progress, roles, final: Path,
              history: tuple = ((), None), skip_unknown: bool = False) -> dict:
    """Build a whole run in ``folder`` (the staging folder); ``final`` is where it will live."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepared = prepare(data_dir, folder, config, column_map=column_map, key=key)
    problem = run_blockers(prepared.quality, skip_unknown=skip_unknown)
    if problem:  # nothing is published from data the run cannot use
        raise IngestError(problem)
    timings["prepare_seconds"] = round(time.perf_counter() - t0, 3)
    outputs = [{"path": "data_quality.json", "status": "ok", "message": ""},
               {"path": "rejects.csv", "status": "ok", "message": ""}]
    outputs += [{"path": f"{PREPARED_DIR}/{name}.parquet", "status": "ok", "message": ""}
                for name in sorted(prepared.tables)]
    outputs.append({"path": f"{PREPARED_DIR}/snapshot.json", "status": "ok", "message": ""})
    for step in STEPS:
        t0 = time.perf_counter()
        outputs += _tables_step(step, prepared, config, folder)
        timings[f"{step}_seconds"] = round(time.perf_counter() - t0, 3)
    outputs += _history_step(folder, config, *history, name=final.name)
    outputs += _check_ins_step(folder, prepared, config)
    t0 = time.perf_counter()
    try:
        outputs += model_outputs(prepared, config, folder)
    except Exception as exc:  # isolate the failure; the manifest says what went wrong
        log.exception("models failed")
        outputs += [{"path": f"tables/{n}", "status": "failed",
                     "message": f"{type(exc).__name__}: {exc}"}
                    for n in ("clinician_effects.csv", "model_summary.json")]
    timings["models_seconds"] = round(time.perf_counter() - t0, 3)
    if not tables_only:
        t0 = time.perf_counter()
        outputs += _reports_step(folder, prepared, config, clinicians, workers, progress,
                                 tuple(roles) if roles else None)
        timings["reports_seconds"] = round(time.perf_counter() - t0, 3)
    params = json.loads(config.model_dump_json())
    params.pop("pseudonym_key_file", None)
    q = prepared.quality
    manifest = {
        "perfkit_version": __version__,
        "run_folder": str(final),
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "data_folder": str(Path(data_dir)),
        "parameters_file": str(params_file) if params_file else None,
        "period": {"start": config.period_start.isoformat(), "end": config.period_end.isoformat(),
                   "as_of": config.as_of.isoformat(), "timezone": config.timezone},
        "parameters": params,
        "data_quality": {k: q[k] for k in ("rows_in", "rows_accepted", "rows_rejected",
                                           "input_rows") if k in q},
        "timings": timings,
        "pseudonym_key": {"fingerprint": key.fingerprint, "created_by_this_run": key.created},
        "reports": "skipped (--tables-only)" if tables_only else "rendered",
        "outputs": outputs,
    }
    manifest["outputs"] = with_readers(outputs)
    atomic_write_text(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


