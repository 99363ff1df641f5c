"""Hand each reader of a run their own part, and nothing of anyone else's (``perfkit deliver``).

A run folder holds, per reader (``manifest.json``, each output's ``reader``): the owner's part
(the practice report and the owner's tables) and, per person, their own self-view and, for a
supervisor, their supervision pack. A person who is both clinician and supervisor is one
reader: one message, one folder. The run record (prepared snapshot, rejected rows, executed
notebooks, tables with client rows or supervision content) is never delivered.

Two channels:

- ``--to DIR`` copies each reader's part into a folder of its own, for a shared drive or an
  EHR's document upload::

      DIR/owner/<run>/index.html, practice.html, tables/...
      DIR/people/<stem>/<run>/index.html, self-view.html, supervision-pack.html

  Folders 0700, files 0600 (the practice shares each folder with its reader alone); links are
  never followed when writing, and each folder's ``index.html`` links only the files beside it.
- ``--email`` sends one message per reader with their files attached, through the practice's
  own mail server (``delivery:`` in the parameters), over TLS with the certificate checked.

Nothing is sent or written without ``--send``: a dry run lists each reader, where their part
would go and its files. What was delivered is recorded in the run folder (``delivery.json``:
who, channel, address or folder, files with their SHA-256, when, period), so a second delivery
of the same run to the same place sends nothing new unless ``--resend``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import os
import smtplib
import ssl
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pandas as pd

from .config import Config, ConfigError, DeliveryConfig, load_config
from .hostile_text import distinct_names, file_stems, is_email_address
from .indexes import NOT_A_RISK_CHANNEL, TABLE_WORDS, index_page
from .io import atomic_write, atomic_write_text, read_record
from .pipeline import DELIVERY_RECORD
from .recipients import RUN_RECORD
from .report.format import span_words

__all__ = ["DeliveryError", "Part", "Outcome", "reader_parts", "deliver", "smtp_password",
           "DELIVERED_NAMES"]


class DeliveryError(ValueError):
    """A delivery that cannot start (not a run folder, no settings, no password, a target
    folder that is unsafe): one sentence the practice can act on."""


# What each report is called in a delivered folder and as an attachment: the same name for
# every reader, so a clinician's self-view never carries an id or a name in its file name.
DELIVERED_NAMES = {"clinician": "self-view.html", "supervisor": "supervision-pack.html",
                   "owner": "practice.html"}
_WORDS = {"self-view.html": "your own report for the period",
          "supervision-pack.html": "your supervision pack: your supervisees' figures, for "
                                   "supervision",
          "practice.html": "the practice report", "index.html": "this list"}


@dataclass
class Part:
    """One reader's part of a run: ``files`` maps the delivered name (``self-view.html``,
    ``tables/workforce.csv``) to the path in the run folder."""

    key: str  # "owner", or the person's clinician id
    roles: tuple[str, ...]  # ("owner",), ("clinician",), ("supervisor",) or both
    name: str  # as the roster gives it (hostile text: escape where shown)
    stem: str  # the person's file stem in the run (their folder name); "owner"
    files: dict[str, str]
    addresses: list[str] = field(default_factory=list)

    @property
    def role_words(self) -> str:
        return " and ".join(self.roles)


@dataclass
class Outcome:
    """What happened to one reader's part: ``status`` is ``sent`` (or ``copied``), ``would``
    (dry run), ``skipped`` (delivered before), ``no address`` or ``failed``."""

    part: Part
    status: str
    target: str
    message: str = ""


# ------------------------------------------------------------------------------------------
# The run folder
# ------------------------------------------------------------------------------------------


def _manifest(run: Path) -> dict:
    path = run / "manifest.json"
    if not run.is_dir() or not os.path.lexists(path):
        raise DeliveryError(f"{run} is not a run folder (it has no manifest.json): give the "
                            "folder perfkit run wrote, such as reports/2026-11-01")
    manifest = read_record(path)  # never a link, a pipe or a bomb: None
    try:
        usable = (isinstance(manifest.get("outputs"), list)
                  and all(isinstance(o, dict) and "path" in o for o in manifest["outputs"])
                  and {"start", "end"} <= set(manifest.get("period") or {}))
    except (ValueError, AttributeError, TypeError):
        usable = False
    if not usable:
        raise DeliveryError(f"{path} cannot be read as a run's manifest: run the period "
                            "again")
    if any("reader" not in o for o in manifest["outputs"]):
        raise DeliveryError(f"{run} was made by an older perfkit that did not record each "
                            "report's reader: run the period again before delivering it")
    return manifest


def period_words(manifest: dict, pattern: str = "%d %b %Y") -> str:
    """``01 Aug 2026 to 31 Oct 2026`` (the period's first and last day, as the reports say)."""
    return span_words(manifest["period"]["start"], manifest["period"]["end"], pattern)


def _inside(rel: str) -> bool:
    p = Path(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def reader_parts(run: str | os.PathLike, manifest: dict | None = None) -> list[Part]:
    """Each reader's part of a run: the owner's first, then one per person (a clinician who
    is also a supervisor once, with both reports), in the order of their ids.

    Raises
    ------
    DeliveryError
        When the run has no reports, or a report of any reader could not be produced (a reader
        would get less than their part and not know it): rerun the period first. A table that
        could not be made is left out of the owner's part.
    """
    run = Path(run)
    manifest = manifest if manifest is not None else _manifest(run)
    # a table that could not be made (a growth model that would not fit) is left out of the
    # owner's part, as the run's own index leaves it out; a missing report stops the delivery
    outputs = [o for o in manifest["outputs"] if o.get("reader") != RUN_RECORD
               and (o.get("status") == "ok" or o.get("role"))]
    failed = [o for o in outputs if o.get("status") != "ok"]
    if failed:
        raise DeliveryError(f"{len(failed)} of this run's reports could not be produced "
                            f"(manifest.json lists which, first {failed[0]['path']}): correct "
                            "the cause and run the period again before delivering")
    if not any(o.get("role") == "owner" for o in outputs) and not any(
            o.get("role") in ("clinician", "supervisor") for o in outputs):
        raise DeliveryError(f"{run} holds no reports (a --tables-only run?): run the period "
                            "with its reports before delivering")
    owner = {}
    for o in outputs:
        if o.get("reader") != "owner" or not _inside(o["path"]) or o["path"] == "index.html":
            continue
        name = DELIVERED_NAMES["owner"] if o.get("role") == "owner" else o["path"]
        owner[name] = o["path"]
    owner = dict(sorted(owner.items(), key=lambda kv: (kv[0] != DELIVERED_NAMES["owner"],
                                                       kv[0])))  # the report first
    parts = [Part("owner", ("owner",), "the practice owner", "owner", owner)] if owner else []
    people: dict[str, dict] = {}
    for o in outputs:
        if o.get("reader") not in ("clinician", "supervisor") or o.get("role") not in (
                "clinician", "supervisor") or not _inside(o["path"]):
            continue  # a person's own index links ../../: each delivered folder gets its own
        pid = str(o["reader_id"])
        entry = people.setdefault(pid, {"roles": set(), "files": {}})
        entry["roles"].add(o["role"])
        entry["files"][DELIVERED_NAMES[o["role"]]] = o["path"]
    roster = _roster(run)
    shown = distinct_names({i: r.get("name") or i for i, r in roster.items()})
    stems = file_stems(sorted(people))  # one folder per person, never named by a raw id
    for pid in sorted(people):
        entry = people[pid]
        entry["stem"] = stems[pid]
        roles = tuple(r for r in ("clinician", "supervisor") if r in entry["roles"])
        row = roster.get(pid, {})
        address = row.get("email")
        parts.append(Part(pid, roles, shown.get(pid, pid), entry["stem"],
                          dict(sorted(entry["files"].items())),
                          [address] if is_email_address(address) else []))
    return parts


def _roster(run: Path) -> dict[str, dict]:
    """The prepared roster's name and email per clinician id (``prepared/clinicians.parquet``)."""
    path = run / "prepared" / "clinicians.parquet"
    if not path.is_file():
        raise DeliveryError(f"{path} is missing: the run's roster tells who each report is for; "
                            "run the period again")
    frame = pd.read_parquet(path)
    cols = [c for c in ("name", "email") if c in frame.columns]
    out = {}
    for row in frame[["clinician_id", *cols]].itertuples(index=False):
        out[str(row.clinician_id)] = {c: (None if pd.isna(getattr(row, c)) else
                                          str(getattr(row, c))) for c in cols}
    return out


def _read(run: Path, rel: str) -> bytes:
    """A file of the run, never through a link (a link planted in a run folder must not send
    another file)."""
    fd = os.open(run / rel, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


# ------------------------------------------------------------------------------------------
# The delivery record
# ------------------------------------------------------------------------------------------


def _record(run: Path) -> dict:
    path = run / DELIVERY_RECORD
    if path.is_symlink():
        raise DeliveryError(f"{path} is a link: perfkit reads and writes its delivery record "
                            "only as a file of the run folder")
    if not path.is_file():
        return {"deliveries": []}
    data = read_record(path)
    if not isinstance(data, dict) or not isinstance(data.get("deliveries"), list):
        raise DeliveryError(f"{path} cannot be read: move it away to deliver again (it "
                            "records what was sent)")
    return data


def _earlier(record: dict, part: Part, channel: str, target: str) -> dict | None:
    for d in reversed(record["deliveries"]):
        if d.get("reader") == part.key and d.get("role") == list(part.roles) and \
                d.get("channel") == channel and d.get("target") == target:
            return d
    return None


def _save(run: Path, record: dict, manifest: dict) -> None:
    record["run_folder"] = str(run)
    record["period"] = {k: manifest["period"].get(k) for k in ("start", "end")}
    atomic_write_text(run / DELIVERY_RECORD, json.dumps(record, indent=2) + "\n")


def _entry(part: Part, channel: str, target: str, blobs: dict[str, bytes],
           manifest: dict) -> dict:
    return {"reader": part.key, "role": list(part.roles), "channel": channel, "target": target,
            "files": [{"name": n, "sha256": hashlib.sha256(b).hexdigest()}
                      for n, b in blobs.items()],
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "period": {k: manifest["period"].get(k) for k in ("start", "end")}}


# ------------------------------------------------------------------------------------------
# Index pages of a delivered folder
# ------------------------------------------------------------------------------------------


def _index(part: Part, names: list[str], practice: str, period: str) -> str:
    def words(n: str) -> str:
        if n.startswith("tables/"):
            return f"{Path(n).name}: {TABLE_WORDS.get(Path(n).stem, 'a table')}"
        return _WORDS.get(n, n).capitalize()

    rows = [{"href": n, "text": words(n), "status": "ok"} for n in names
            if not n.startswith("tables/")]
    tables = [{"href": n, "text": words(n), "status": "ok"} for n in names
              if n.startswith("tables/")]
    if part.key == "owner":
        lead = f"For the practice owner: the practice report for {period}."
        heading = practice
    else:
        lead = f"For {part.name} alone: your reports for {period}."
        heading = f"{practice}: {part.name}"
    after = f"<p>{html.escape(NOT_A_RISK_CHANNEL)}</p>"
    who = practice if part.key == "owner" else part.name
    return index_page(f"{who}: reports, {period}", heading, lead, rows, after, tables)


# ------------------------------------------------------------------------------------------
# --to DIR
# ------------------------------------------------------------------------------------------


def _private_dir(path: Path) -> None:
    """Make (or check) one folder below the target: never a link, always 0700."""
    if path.is_symlink():
        raise DeliveryError(f"{path} is a link: perfkit does not write through links; remove "
                            "it or choose another folder")
    try:
        path.mkdir(mode=0o700, exist_ok=True)
    except FileExistsError:
        raise DeliveryError(f"{path} exists and is not a folder") from None
    os.chmod(path, 0o700, follow_symlinks=False)


def _write_private(path: Path, data: bytes) -> None:
    """Write a 0600 file in place of ``path`` (:func:`perfkit.io.atomic_write`: a new
    temporary file renamed over it, so a link there is replaced, never followed)."""
    atomic_write(path, lambda p: p.write_bytes(data), mode=0o600)


def _folder_of(base: Path, part: Part, run: Path) -> Path:
    if part.key == "owner":
        return base / "owner" / run.name
    return base / "people" / part.stem / run.name


def _check_target(base: Path, run: Path) -> Path:
    base = Path(os.path.abspath(base.expanduser()))
    if base.is_symlink():
        base = base.resolve()
    real, real_run = base.resolve(), run.resolve()
    if real == real_run or real_run in real.parents:
        raise DeliveryError(f"{base} is inside the run folder {run}: choose a folder outside "
                            "it (each reader's folder must not sit inside everyone's run)")
    if real.exists() and not real.is_dir():
        raise DeliveryError(f"{base} exists and is not a folder")
    return base


def _copy(run: Path, base: Path, part: Part, blobs: dict[str, bytes], practice: str,
          period: str) -> Path:
    if not base.exists():
        base.mkdir(mode=0o700, parents=True)
    top = base / ("owner" if part.key == "owner" else "people")
    _private_dir(top)
    folder = _folder_of(base, part, run)
    if part.key != "owner":
        _private_dir(folder.parent)
    _private_dir(folder)
    for name, data in blobs.items():
        target = folder / name
        if target.parent != folder:
            _private_dir(target.parent)
        _write_private(target, data)
    _write_private(folder / "index.html",
                   _index(part, list(blobs), practice, period).encode("utf-8"))
    return folder


# ------------------------------------------------------------------------------------------
# --email
# ------------------------------------------------------------------------------------------


def smtp_password(settings: DeliveryConfig) -> str | None:
    """The mail password: from ``password_file`` when set, else from the environment variable
    ``password_env``; ``None`` when no login is configured.

    Raises
    ------
    DeliveryError
        When a login is configured and no password is found.
    """
    if not settings.username:
        return None
    if settings.password_file is not None:
        path = Path(settings.password_file)
        try:
            if os.name == "posix" and path.stat().st_mode & 0o077:
                raise DeliveryError(f"the mail password file {path} can be read by others: "
                                    f"make it yours alone (chmod 600 {path})")
            text = path.read_text(encoding="utf-8").strip("\r\n")
        except OSError as exc:
            raise DeliveryError(f"the mail password file {settings.password_file} cannot be "
                                f"read ({exc.strerror or type(exc).__name__})") from None
        if not text:
            raise DeliveryError(f"the mail password file {settings.password_file} is empty")
        return text
    value = os.environ.get(settings.password_env)
    if not value:
        raise DeliveryError(f"no mail password: set the environment variable "
                            f"{settings.password_env} (or delivery.password_file) for the "
                            f"account {settings.username}")
    return value


def _plain_text(value: str, limit: int = 120) -> str:
    """A roster value as one line of plain text: control and format characters (line breaks,
    terminal escapes, bidirectional overrides) removed."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c
                   for c in str(value))
    return " ".join(text.split())[:limit]


def _body(part: Part, names: list[str], practice: str, period: str) -> str:
    hello = "Hello," if part.key == "owner" else f"Hello {_plain_text(part.name)},"
    listed = "\n".join(f"  - {n}: {_WORDS.get(n, 'a table for analysts (CSV)')}"
                       for n in names)
    own = "the practice report" if part.key == "owner" else "your own reports"
    private = ("" if part.key == "owner" else
               "\nThey are for you alone: please do not forward them.")
    return (f"{hello}\n\nHere are {own} from {practice} for {period}. Attached:\n\n"
            f"{listed}\n\n"
            "Open each file in a web browser. The figures describe the period; they are not "
            f"a verdict on anyone.{private}\n\n"
            "These reports are not a risk channel. Anything about a client's safety, "
            "including PHQ-9 item 9 answers, is handled in the session and in the EHR the "
            "same day; never wait for these reports.\n\n"
            f"Sent by perfkit for {practice}.\n")


_TYPES = {".html": ("text", "html"), ".csv": ("text", "csv"), ".json": ("application", "json")}


def attachment_name(name: str, manifest: dict) -> str:
    """An attachment's file name with the period in it (``self-view_2026-08-01_to_2026-10-31
    .html``): a reader saving each month's files in one folder keeps them all."""
    span = period_words(manifest, "%Y-%m-%d").replace(" ", "_")
    path = Path(name)
    return f"{path.stem}_{span}{path.suffix}"


def _message(part: Part, blobs: dict[str, bytes], settings: DeliveryConfig, practice: str,
             period: str, manifest: dict) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(part.addresses)
    whose = "practice report" if part.key == "owner" else "your reports"
    msg["Subject"] = f"{settings.subject_prefix}{_plain_text(practice, 80)}: {whose}, {period}"
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain=settings.from_address.split("@", 1)[1])
    msg.set_content(_body(part, list(blobs), _plain_text(practice, 80), period))
    for name, data in blobs.items():
        maintype, subtype = _TYPES.get(Path(name).suffix, ("application", "octet-stream"))
        msg.add_attachment(data, maintype=maintype, subtype=subtype,
                           filename=attachment_name(Path(name).name, manifest))
    return msg


class _Mail:
    """One connection to the practice's mail server, opened when the first message goes."""

    def __init__(self, settings: DeliveryConfig, password: str | None):
        self.settings, self.password, self.smtp = settings, password, None

    def connect(self) -> None:
        s = self.settings
        ctx = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.smtp_host, s.port, timeout=s.timeout_seconds,
                                        context=ctx)
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.port, timeout=s.timeout_seconds)
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise DeliveryError(f"the mail server {s.smtp_host}:{s.port} does not offer "
                                        "STARTTLS: perfkit sends reports only over TLS (try "
                                        "security: ssl with port 465)")
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, self.password or "")
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"the mail server {s.smtp_host}:{s.port}'s certificate could "
                                f"not be verified ({exc.verify_message}): nothing was sent; if "
                                "the practice uses its own certificate authority, name its "
                                "certificate in delivery.ca_file") from None
        except smtplib.SMTPAuthenticationError:
            raise DeliveryError(f"the mail server refused the login of {s.username}: check the "
                                "account and its password; nothing was sent") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"cannot reach the mail server {s.smtp_host}:{s.port} over TLS "
                                f"({_reason(exc)}): nothing was sent") from None
        self.smtp = smtp

    def send(self, msg: EmailMessage) -> None:
        if self.smtp is None:
            self.connect()
        try:
            self.smtp.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            self.smtp = None
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass


def _reason(exc: Exception) -> str:
    text = getattr(exc, "smtp_error", None)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _plain_text(text or getattr(exc, "strerror", None) or str(exc)
                       or type(exc).__name__, 160)


# ------------------------------------------------------------------------------------------
# The command
# ------------------------------------------------------------------------------------------


def _settings(manifest: dict, params: str | os.PathLike | None) -> tuple[str, dict | None]:
    """The practice name and the ``delivery`` settings: from ``params`` when given (it must be
    the run's practice), else those the run was made with (its manifest's parameters)."""
    recorded = manifest.get("parameters") or {}
    name = recorded.get("practice_name") or "the practice"
    if params is None:
        return name, recorded.get("delivery")
    cfg: Config = load_config(params)
    from .history import same_practice

    if recorded and not same_practice(recorded, cfg):
        raise DeliveryError(f"{params} is the parameters of {cfg.practice_name!r}, but this run "
                            f"is of {name!r}: give the practice's own parameters file")
    return name, (cfg.delivery.model_dump() if cfg.delivery else None)


def deliver(run: str | os.PathLike, *, to: str | os.PathLike | None = None,
            email: bool = False, send: bool = False, resend: bool = False,
            params: str | os.PathLike | None = None) -> list[Outcome]:
    """Deliver (or, without ``send``, list) each reader's part of a run.

    Parameters
    ----------
    run : path-like
        The run folder (``reports/2026-11-01``).
    to : path-like, optional
        Copy each reader's part into their own folder below this one.
    email : bool
        Send each reader their own files by e-mail (``delivery:`` settings).
    send : bool
        Really copy or send; without it nothing is written or sent (a dry run).
    resend : bool
        Deliver again what ``delivery.json`` says was delivered to the same place.
    params : path-like, optional
        A parameters file for the ``delivery:`` settings (default: those the run was made with).

    Returns
    -------
    list of Outcome
        One per reader, the owner first.

    Raises
    ------
    DeliveryError, ConfigError
        A mistake the user can correct; nothing was sent.
    """
    if (to is None) == (not email):
        raise DeliveryError("say where the reports go: --to FOLDER or --email (one of them)")
    run = Path(run)
    manifest = _manifest(run)
    run = run.resolve()
    practice, raw = _settings(manifest, params)
    period = period_words(manifest)
    parts = reader_parts(run, manifest)
    record = _record(run)
    if to is not None:
        return _deliver_folders(run, _check_target(Path(to), run), parts, record, manifest,
                                practice, period, send, resend)
    if not raw:
        raise DeliveryError("no delivery settings: add a delivery: section (mail server, "
                            "sender, owner's address) to the parameters, or use --to FOLDER")
    try:
        settings = DeliveryConfig(**raw) if isinstance(raw, dict) else raw
    except ValueError as exc:
        raise ConfigError(f"delivery settings: {str(exc).splitlines()[0]}") from None
    password = smtp_password(settings)
    parts[0:1] = [_owner_with(parts[0], settings)] if parts and parts[0].key == "owner" else []
    return _deliver_mail(run, parts, record, manifest, settings, password, practice, period,
                         send, resend)


def _owner_with(owner: Part, settings: DeliveryConfig) -> Part:
    files = {n: p for n, p in owner.files.items()
             if not n.startswith("tables/") or (settings.attach_owner_tables
                                               and n.endswith(".csv"))}
    return Part(owner.key, owner.roles, owner.name, owner.stem, files,
                list(settings.owner_addresses))


def _blobs(run: Path, part: Part) -> dict[str, bytes]:
    try:
        return {name: _read(run, rel) for name, rel in part.files.items()}
    except OSError as exc:
        raise DeliveryError(f"a report of {run} cannot be read ({exc.strerror or exc}): run "
                            "the period again") from None


def _not_now(run: Path, record: dict, part: Part, channel: str, target: str, send: bool,
             resend: bool) -> Outcome | None:
    """The outcome of a part that is not delivered now: delivered to the same place before
    (``delivery.json``; unless ``resend``), or a dry run. None when it goes now. A part
    delivered before whose files have changed since (a rerun with corrected data) is still
    not sent again on its own, but the outcome names the changed files."""
    before = _earlier(record, part, channel, target)
    if before and not resend:
        done = "copied there" if channel == "folder" else "sent"
        was = {f.get("name"): f.get("sha256") for f in before.get("files", [])}
        changed = [n for n, data in _blobs(run, part).items()
                   if was.get(n) != hashlib.sha256(data).hexdigest()]
        since = (f"; {', '.join(changed)} changed since, so the reader has an older version"
                 if changed else "")
        return Outcome(part, "skipped", target, f"{done} on {before['when']}{since}")
    if not send:
        return Outcome(part, "would", target)
    return None


def _deliver_folders(run, base, parts, record, manifest, practice, period, send, resend):
    out = []
    for part in parts:
        target = str(_folder_of(base, part, run))
        later = _not_now(run, record, part, "folder", target, send, resend)
        if later is not None:
            out.append(later)
            continue
        blobs = _blobs(run, part)
        try:
            _copy(run, base, part, blobs, practice, period)
        except OSError as exc:
            raise DeliveryError(f"cannot write {target} ({exc.strerror or type(exc).__name__})"
                                ) from None
        record["deliveries"].append(_entry(part, "folder", target, blobs, manifest))
        _save(run, record, manifest)
        out.append(Outcome(part, "copied", target))
    return out


def _deliver_mail(run, parts, record, manifest, settings, password, practice, period, send,
                  resend):
    out = []
    mail = _Mail(settings, password)
    try:
        for part in parts:
            if not part.addresses:
                why = ("no owner_addresses in the delivery settings" if part.key == "owner"
                       else "no address on the roster")
                out.append(Outcome(part, "no address", "", f"{why}: not sent"))
                continue
            target = ", ".join(part.addresses)
            later = _not_now(run, record, part, "email", target, send, resend)
            if later is not None:
                out.append(later)
                continue
            blobs = _blobs(run, part)
            msg = _message(part, blobs, settings, practice, period, manifest)
            try:
                mail.send(msg)
            except DeliveryError as exc:  # the server went away and cannot be reached again
                if not any(o.status == "sent" for o in out):
                    raise
                out.append(Outcome(part, "failed", target, f"not sent: {exc}"))
                continue
            except (smtplib.SMTPException, OSError) as exc:
                out.append(Outcome(part, "failed", target, f"not sent: the mail server "
                                                           f"answered {_reason(exc)}"))
                continue
            record["deliveries"].append(_entry(part, "email", target, blobs, manifest))
            _save(run, record, manifest)
            out.append(Outcome(part, "sent", target))
    finally:
        mail.close()
    return out


def describe(outcomes: list[Outcome], *, run: Path, period: str, channel: str,
             send: bool) -> list[str]:
    """The lines ``perfkit deliver`` prints: one per reader, then what to do next."""
    how = "by e-mail" if channel == "email" else "to folders"
    head = (f"Delivering {run} ({period}) {how}:" if send else
            f"Dry run, nothing is sent or written ({run}, {period}, {how}); add --send to "
            "deliver:")
    lines = [head]
    for o in outcomes:
        p = o.part
        who = ("owner" if p.key == "owner" else
               f"{_plain_text(p.name)} ({_plain_text(p.key, 64)}), {p.role_words}")
        files = ", ".join(p.files) + (", index.html" if channel == "folder" else "")
        verb = {"sent": "sent to", "copied": "copied to", "would": "would go to",
                "skipped": "already delivered to", "failed": "FAILED to"}.get(o.status, "")
        if o.status == "no address":
            lines.append(f"  {who}: {o.message} ({files})")
        elif o.status == "skipped":
            lines.append(f"  {who}: {verb} {o.target} ({o.message}): not sent again "
                         "(--resend sends again)")
        elif o.status == "failed":
            lines.append(f"  {who}: {verb} {o.target}: {o.message}")
        else:
            lines.append(f"  {who}: {verb} {o.target}: {files}")
    return lines
