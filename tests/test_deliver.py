"""perfkit deliver: each reader gets exactly their own files, by folder or by e-mail through a
local SMTP server (aiosmtpd) with test certificates (trustme); the roster's email column."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import re
import socket
import ssl
import stat
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from typer.testing import CliRunner

import perfkit as pk
from perfkit.cli import app
from perfkit.config import ConfigError
from perfkit.deliver import DeliveryError, deliver
from perfkit.hostile_text import file_stems
from perfkit.pipeline import DELIVERY_RECORD
from perfkit.recipients import with_readers

from practice_data import CLINICIANS, write_table

HOSTILE = '../x <b>"Zoë"</b>\n'  # an id that is no file name and no header
STEM = file_stems([HOSTILE])[HOSTILE]
PRACTICE = "Test Practice"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def fake_run(base: Path) -> Path:
    """A run folder as perfkit run lays it out: C01 is clinician and supervisor, C02 a
    clinician, C03 a clinician without an address, HOSTILE a clinician with a hostile id and
    name. Each report's text says whose it is, so a mix-up shows."""
    run = base / "reports" / "2026-11-01"
    reports = [("owner", "practice", "practice.html"),
               ("clinician", "C01", "clinicians/C01.html"),
               ("supervisor", "C01", "supervisors/C01.html"),
               ("clinician", "C02", "clinicians/C02.html"),
               ("clinician", "C03", "clinicians/C03.html"),
               ("clinician", HOSTILE, f"clinicians/{STEM}.html")]
    outputs = [{"path": "prepared/clinicians.parquet", "status": "ok", "message": ""},
               {"path": "tables/workforce.csv", "status": "ok", "message": ""},
               {"path": "tables/goals.csv", "status": "ok", "message": ""},
               {"path": "rejects.csv", "status": "ok", "message": ""}]
    for role, pid, path in reports:
        _write(run / path, f"<html><body>{role} report of {pid!r}</body></html>")
        outputs.append({"path": path, "status": "ok", "message": "", "role": role, "id": pid,
                        "notebook": f"notebooks/{Path(path).stem}.ipynb"})
    _write(run / "index.html", '<a href="practice.html">practice</a>')
    outputs.append({"path": "index.html", "status": "ok", "message": ""})
    for pid, stem in (("C01", "C01"), ("C02", "C02"), ("C03", "C03"), (HOSTILE, STEM)):
        _write(run / "readers" / stem / "index.html", f'<a href="../../clinicians/{stem}.html">')
        outputs.append({"path": f"readers/{stem}/index.html", "status": "ok", "message": "",
                        "reader_index_of": pid})
    _write(run / "tables" / "workforce.csv", "clinician_id,starters\nC01,1\n")
    _write(run / "tables" / "goals.csv", "clinician_id,goal\nC02,private goal\n")
    _write(run / "rejects.csv", "table,row\n")
    roster = pd.DataFrame({"clinician_id": ["C01", "C02", "C03", HOSTILE],
                           "name": ["Ada One", "Bo Two", "Cy Three", "Zoë\u202e <i>Four</i>"],
                           "email": ["ada@example.org", "bo@example.org", None,
                                     "zoe@example.org"]})
    (run / "prepared").mkdir(parents=True)
    roster.to_parquet(run / "prepared" / "clinicians.parquet")
    manifest = {"run_folder": str(run),
                "period": {"start": "2026-08-01", "end": "2026-11-01", "as_of": "2026-11-01"},
                "parameters": {"practice_name": PRACTICE}, "parameters_file": None,
                "outputs": with_readers(outputs)}
    _write(run / "manifest.json", json.dumps(manifest))
    return run


# What each reader must receive: the delivered name and the run file it is a copy of.
EXPECTED = {"owner@example.org": {"practice.html": "practice.html"},
            "ada@example.org": {"self-view.html": "clinicians/C01.html",
                                "supervision-pack.html": "supervisors/C01.html"},
            "bo@example.org": {"self-view.html": "clinicians/C02.html"},
            "zoe@example.org": {"self-view.html": f"clinicians/{STEM}.html"}}


# ------------------------------------------------------------------------------------------
# A local SMTP server
# ------------------------------------------------------------------------------------------


class Inbox:
    def __init__(self, refuse: str | None = None):
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"reports", b"s3cret"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def _server_context(ca) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    return ctx


def _serve(inbox, **kw):
    port = _free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, **kw)
    ctl.start()
    return ctl, port


@pytest.fixture
def starttls(ca):
    """A server that requires STARTTLS, then a login."""
    inbox = Inbox()
    ctl, port = _serve(inbox, tls_context=_server_context(ca), require_starttls=True,
                       authenticator=_login, auth_required=True)
    yield inbox, port
    ctl.stop()


def _params(tmp_path: Path, ca, port: int, practice: str = PRACTICE, **extra) -> Path:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    delivery = {"smtp_host": "127.0.0.1", "smtp_port": port, "security": "starttls",
                "username": "reports", "from_address": "reports@example.org",
                "owner_addresses": ["owner@example.org"], "ca_file": str(ca_file),
                "timeout_seconds": 10, **extra}
    path = tmp_path / "practice.yaml"
    path.write_text(json.dumps({"practice_name": practice, "delivery": delivery}))
    return path


def _received(inbox: Inbox) -> dict[str, dict[str, bytes]]:
    """Each message's recipient and its attachments (name -> bytes)."""
    out = {}
    for rcpts, raw in inbox.messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert rcpts == [msg["To"]]
        assert msg["To"] not in out, "one message per reader"
        period = "_2026-08-01_to_2026-10-31"  # in each name: a month never replaces another
        names = [a.get_filename() for a in msg.iter_attachments()]
        assert all(period + "." in n for n in names), names
        out[msg["To"]] = {a.get_filename().replace(period, ""): a.get_payload(decode=True)
                          for a in msg.iter_attachments()}
    return out


@pytest.fixture
def password(monkeypatch):
    monkeypatch.setenv("PERFKIT_SMTP_PASSWORD", "s3cret")


# ------------------------------------------------------------------------------------------
# E-mail
# ------------------------------------------------------------------------------------------


def test_each_message_holds_only_its_readers_files(tmp_path, ca, starttls, password):
    inbox, port = starttls
    run = fake_run(tmp_path)
    outcomes = deliver(run, email=True, send=True, params=_params(tmp_path, ca, port))
    got = _received(inbox)
    assert set(got) == set(EXPECTED)
    for address, files in EXPECTED.items():
        assert got[address] == {n: (run / p).read_bytes() for n, p in files.items()}, address
    # the owner gets neither a pack nor a self-view; C03 (no address) nothing at all
    assert {o.part.key: o.status for o in outcomes} == {
        "owner": "sent", "C01": "sent", "C02": "sent", "C03": "no address", HOSTILE: "sent"}
    body = email.message_from_bytes(inbox.messages[0][1], policy=email.policy.default)
    text = body.get_body(("plain",)).get_content()
    assert "01 Aug 2026 to 31 Oct 2026" in text and "not a risk channel" in text
    assert "practice.html" in text and "s3cret" not in inbox.messages[0][1].decode()
    record = json.loads((run / DELIVERY_RECORD).read_text())
    ada = next(d for d in record["deliveries"] if d["reader"] == "C01")
    assert ada["channel"] == "email" and ada["target"] == "ada@example.org"
    assert ada["role"] == ["clinician", "supervisor"]
    assert {f["name"]: f["sha256"] for f in ada["files"]} == {
        "self-view.html": hashlib.sha256((run / "clinicians/C01.html").read_bytes()).hexdigest(),
        "supervision-pack.html": hashlib.sha256(
            (run / "supervisors/C01.html").read_bytes()).hexdigest()}
    assert record["period"] == {"start": "2026-08-01", "end": "2026-11-01"}


def test_hostile_name_never_reaches_a_header(tmp_path, ca, starttls, password):
    inbox, port = starttls
    deliver(fake_run(tmp_path), email=True, send=True, params=_params(tmp_path, ca, port))
    for _, raw in inbox.messages:
        headers = raw.split(b"\r\n\r\n", 1)[0].decode()
        assert "Zo" not in headers and "<i>" not in headers
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert "\u202e" not in msg.get_body(("plain",)).get_content()


def test_a_second_delivery_sends_nothing_new_and_resend_sends_again(tmp_path, ca, starttls,
                                                                    password):
    inbox, port = starttls
    run, params = fake_run(tmp_path), _params(tmp_path, ca, port)
    deliver(run, email=True, send=True, params=params)
    assert len(inbox.messages) == 4
    again = deliver(run, email=True, send=True, params=params)
    assert len(inbox.messages) == 4
    assert {o.status for o in again} == {"skipped", "no address"}
    deliver(run, email=True, send=True, resend=True, params=params)
    assert len(inbox.messages) == 8
    assert len(json.loads((run / DELIVERY_RECORD).read_text())["deliveries"]) == 8


def test_owner_tables_attached_only_when_asked(tmp_path, ca, starttls, password):
    inbox, port = starttls
    run = fake_run(tmp_path)
    deliver(run, email=True, send=True,
            params=_params(tmp_path, ca, port, attach_owner_tables=True))
    owner = _received(inbox)["owner@example.org"]
    # the owner's table, never goals.csv (supervision content: the run record)
    assert owner == {"practice.html": (run / "practice.html").read_bytes(),
                     "workforce.csv": (run / "tables/workforce.csv").read_bytes()}


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtps(tmp_path, ca, password):
    inbox = Inbox()
    # the whole connection is TLS; aiosmtpd cannot tell, so it is told AUTH needs no STARTTLS
    ctl, port = _serve(inbox, ssl_context=_server_context(ca), authenticator=_login,
                       auth_required=True, auth_require_tls=False)
    try:
        deliver(fake_run(tmp_path), email=True, send=True,
                params=_params(tmp_path, ca, port, security="ssl"))
    finally:
        ctl.stop()
    assert set(_received(inbox)) == set(EXPECTED)


def test_plain_smtp_and_unverified_certificates_are_refused(tmp_path, ca, password):
    run = fake_run(tmp_path)
    plain = Inbox()
    ctl, port = _serve(plain)  # offers no STARTTLS
    try:
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            deliver(run, email=True, send=True, params=_params(tmp_path, ca, port))
    finally:
        ctl.stop()
    other = Inbox()  # a certificate from a CA the client was not told to trust
    ctl, port = _serve(other, tls_context=_server_context(trustme.CA()),
                       require_starttls=True)
    try:
        with pytest.raises(DeliveryError, match="could not be verified"):
            deliver(run, email=True, send=True, params=_params(tmp_path, ca, port))
    finally:
        ctl.stop()
    assert plain.messages == other.messages == []
    assert not (run / DELIVERY_RECORD).exists()


def test_password_from_environment_or_file_never_from_parameters(tmp_path, ca, starttls,
                                                                 monkeypatch):
    inbox, port = starttls
    run = fake_run(tmp_path)
    monkeypatch.delenv("PERFKIT_SMTP_PASSWORD", raising=False)
    with pytest.raises(DeliveryError, match="set the environment variable "
                                            "PERFKIT_SMTP_PASSWORD"):
        deliver(run, email=True, params=_params(tmp_path, ca, port))
    secret = tmp_path / "smtp.pass"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    with pytest.raises(DeliveryError, match="can be read by others"):
        deliver(run, email=True, params=_params(tmp_path, ca, port, password_file=str(secret)))
    secret.chmod(0o600)
    deliver(run, email=True, send=True,
            params=_params(tmp_path, ca, port, password_file=str(secret)))
    assert len(inbox.messages) == 4
    with pytest.raises(ConfigError, match="never goes in the parameters"):
        pk.load_config(_params(tmp_path, ca, port, password="s3cret"))
    res = CliRunner().invoke(app, ["deliver", str(run), "--email", "--params",
                                   str(_params(tmp_path, ca, port, password="s3cret"))])
    assert res.exit_code == 2 and "s3cret" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_one_refused_reader_the_others_still_sent(tmp_path, ca, password):
    inbox = Inbox(refuse="bo@example.org")
    ctl, port = _serve(inbox, tls_context=_server_context(ca), require_starttls=True,
                       authenticator=_login, auth_required=True)
    run = fake_run(tmp_path)
    try:
        res = CliRunner().invoke(app, ["deliver", str(run), "--email", "--send", "--params",
                                       str(_params(tmp_path, ca, port))])
    finally:
        ctl.stop()
    assert res.exit_code == 1
    assert set(_received(inbox)) == set(EXPECTED) - {"bo@example.org"}
    assert re.search(r"Bo Two \(C02\), clinician: FAILED to bo@example.org: not sent: .*550",
                     res.output)
    record = json.loads((run / DELIVERY_RECORD).read_text())
    assert "C02" not in {d["reader"] for d in record["deliveries"]}


def test_dry_run_lists_every_reader_and_sends_nothing(tmp_path, ca, starttls, password):
    inbox, port = starttls
    run = fake_run(tmp_path)
    res = CliRunner().invoke(app, ["deliver", str(run), "--email", "--params",
                                   str(_params(tmp_path, ca, port))])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("Dry run, nothing is sent")
    assert "  owner: would go to owner@example.org: practice.html" in lines
    assert ("  Ada One (C01), clinician and supervisor: would go to ada@example.org: "
            "self-view.html, supervision-pack.html") in lines
    assert ("  Cy Three (C03), clinician: no address on the roster: not sent "
            "(self-view.html)") in lines
    assert not any("\u202e" in line or "\n" in line for line in lines)
    assert inbox.messages == [] and not (run / DELIVERY_RECORD).exists()


def test_settings_from_the_run_when_no_params(tmp_path, ca, starttls, password):
    inbox, port = starttls
    run = fake_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["parameters"] = json.loads(pk.load_config(_params(tmp_path, ca, port))
                                        .model_dump_json())
    (run / "manifest.json").write_text(json.dumps(manifest))
    deliver(run, email=True, send=True)
    assert len(inbox.messages) == 4


@pytest.mark.parametrize("problem, match", [
    ("no manifest", "is not a run folder"),
    ("no settings", "no delivery settings"),
    ("failed report", "could not be produced"),
    ("other practice", "this run is of"),
])
def test_user_mistakes_are_one_sentence(tmp_path, ca, problem, match, password):
    run = fake_run(tmp_path)
    args = ["deliver", str(run), "--email", "--params", str(_params(tmp_path, ca, 1))]
    manifest = json.loads((run / "manifest.json").read_text())
    if problem == "no manifest":
        args[1] = str(run / "clinicians")
    elif problem == "no settings":
        args = args[:3]
    elif problem == "failed report":
        manifest["outputs"] = [dict(o, status="failed") if o["path"] == "clinicians/C02.html"
                               else o for o in manifest["outputs"]]
    else:
        manifest["parameters"]["practice_name"] = "Another Practice"
    (run / "manifest.json").write_text(json.dumps(manifest))
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert re.search(match, res.output) and len(res.output.strip().splitlines()) == 1
    assert "Traceback" not in res.output


# ------------------------------------------------------------------------------------------
# --to DIR
# ------------------------------------------------------------------------------------------


def _links(page: Path) -> list[str]:
    return [urllib.parse.unquote(h) for h in re.findall(r'<a href="([^"]*)"',
                                                          page.read_text())]


def test_folders_per_reader_private_and_self_contained(tmp_path):
    run, out = fake_run(tmp_path), tmp_path / "shared"
    dry = deliver(run, to=out)
    assert {o.status for o in dry} == {"would"} and not out.exists()
    deliver(run, to=out, send=True)
    owner = out / "owner" / "2026-11-01"
    people = {p: out / "people" / s / "2026-11-01" for p, s in
              (("C01", "C01"), ("C02", "C02"), ("C03", "C03"), (HOSTILE, STEM))}
    assert sorted(p.relative_to(owner).as_posix() for p in owner.rglob("*") if p.is_file()) \
        == ["index.html", "practice.html", "tables/workforce.csv"]
    assert sorted(f.name for f in people["C01"].iterdir()) == [
        "index.html", "self-view.html", "supervision-pack.html"]
    assert sorted(f.name for f in people["C02"].iterdir()) == ["index.html", "self-view.html"]
    # a folder still goes to a reader without an address: the practice shares it
    assert (people["C03"] / "self-view.html").read_bytes() == \
        (run / "clinicians/C03.html").read_bytes()
    assert (people[HOSTILE] / "self-view.html").read_bytes() == \
        (run / f"clinicians/{STEM}.html").read_bytes()
    assert (people["C01"] / "supervision-pack.html").read_bytes() == \
        (run / "supervisors/C01.html").read_bytes()
    for folder in (owner, *people.values()):
        for p in [folder, *folder.rglob("*")]:
            mode = stat.S_IMODE(p.lstat().st_mode)
            assert mode == (0o700 if p.is_dir() else 0o600), p
        index = folder / "index.html"
        links = _links(index)
        assert links, index
        for link in links:  # every link resolves to a file in the same folder
            target = (folder / link).resolve()
            assert target.is_file() and folder.resolve() in target.parents, (index, link)
    assert "Zo" in (people[HOSTILE] / "index.html").read_text()
    assert "<i>Four" not in (people[HOSTILE] / "index.html").read_text()


def test_a_failed_table_is_left_out_a_failed_report_stops(tmp_path):
    run = fake_run(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["outputs"].append({"path": "tables/clinician_effects.csv", "status": "failed",
                                "message": "did not converge", "reader": "owner",
                                "reader_id": None})
    (run / "manifest.json").write_text(json.dumps(manifest))
    owner = next(o for o in deliver(run, to=tmp_path / "out") if o.part.key == "owner")
    assert list(owner.part.files) == ["practice.html", "tables/workforce.csv"]


def test_folders_second_time_and_unsafe_targets(tmp_path):
    run, out = fake_run(tmp_path), tmp_path / "shared"
    deliver(run, to=out, send=True)
    again = deliver(run, to=out, send=True)
    assert {o.status for o in again} == {"skipped"}
    assert not any("changed since" in o.message for o in again)
    # a rerun corrected one report: still not sent on its own, but said, by file
    (run / "clinicians" / "C02.html").write_text("<p>corrected</p>")
    said = {o.part.key: o.message for o in deliver(run, to=out, send=True)}
    assert said["C02"].endswith("self-view.html changed since, so the reader has an older "
                                "version")
    assert "changed" not in said["C01"] and "changed" not in said["owner"]
    assert {o.status for o in deliver(run, to=out, send=True, resend=True)} == {"copied"}
    assert (out / "people" / "C02" / "2026-11-01" / "self-view.html").read_text() == \
        "<p>corrected</p>"
    with pytest.raises(DeliveryError, match="inside the run folder"):
        deliver(run, to=run / "out", send=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    links = tmp_path / "links"
    (links / "people").mkdir(parents=True)
    os.symlink(elsewhere, links / "people" / "C02")
    with pytest.raises(DeliveryError, match="is a link"):
        deliver(run, to=links, send=True)
    assert list(elsewhere.iterdir()) == []


def test_a_file_link_in_the_target_is_replaced_not_followed(tmp_path):
    run, out = fake_run(tmp_path), tmp_path / "shared"
    folder = out / "people" / "C02" / "2026-11-01"
    folder.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    os.symlink(victim, folder / "self-view.html")
    deliver(run, to=out, send=True)
    assert victim.read_text() == "keep"
    assert not (folder / "self-view.html").is_symlink()


# ------------------------------------------------------------------------------------------
# The roster's email column
# ------------------------------------------------------------------------------------------


def test_an_unusable_email_keeps_the_clinician(practice, cfg):
    rows = [dict(c) for c in CLINICIANS]
    rows[0]["email"] = "ada@example.org"
    rows[1]["email"] = "grace@example.org\r\nBcc: all@example.org"
    write_table(practice, "clinicians", rows)
    ing = pk.ingest(practice, cfg)
    roster = ing.tables["clinicians"].set_index("clinician_id")
    assert list(roster.index) == ["C1", "C2"]  # nobody dropped
    assert roster.loc["C1", "email"] == "ada@example.org"
    assert pd.isna(roster.loc["C2", "email"])
    entry = ing.quality["tables"]["clinicians"]
    assert entry["adjustments"]["email_not_an_address"] == 1
    assert entry["invalid_email_rows"] == [2] and entry["rows_rejected"] == 0
    res = CliRunner().invoke(app, ["validate", str(practice)])
    line = next(x for x in res.output.splitlines() if "column email" in x)
    assert "clinicians.csv, column email, row 2" in line
    assert "grace@" not in res.output  # a contact detail is never echoed


@pytest.mark.end_to_end
def test_emails_stay_out_of_reports_tables_and_logs(tmp_path, ca, starttls, password):
    """A real run of a small demo practice (emails on the roster, one clinician without),
    delivered to folders and by e-mail: each person gets exactly their own reports, the one
    without an address nothing; the addresses appear only in the prepared roster and the
    delivery record."""
    from perfkit.demo import DemoSettings, write_demo
    from perfkit.pipeline import run_period

    data = write_demo(tmp_path / "data", DemoSettings(n_clinicians=6, months=4))
    roster = pd.read_csv(data / "clinicians.csv", dtype=str, keep_default_na=False)
    assert (roster["email"] == "").sum() == 1  # the demo's clinician without an address
    out = tmp_path / "reports" / "2026-11-01"
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    manifest = run_period(data, cfg, out=out, workers=2, roles=["owner", "clinician",
                                                                "supervisor"])
    outcomes = deliver(out, to=tmp_path / "shared", send=True)
    assert [o.part.key for o in outcomes][0] == "owner"
    people = {o.part.key: o for o in outcomes if o.part.key != "owner"}
    sups = {o["reader_id"] for o in manifest["outputs"] if o["reader"] == "supervisor"}
    assert sups and sups <= set(people)
    for pid, o in people.items():
        names = sorted(f.name for f in Path(o.target).iterdir())
        want = ["index.html", "self-view.html"] + (["supervision-pack.html"]
                                                   if pid in sups else [])
        assert names == sorted(want), pid
    inbox, port = starttls
    sent = deliver(out, email=True, send=True,
                   params=_params(tmp_path, ca, port, practice=cfg.practice_name))
    address = dict(zip(roster["clinician_id"], roster["email"], strict=True))
    got = _received(inbox)
    assert set(got) == {"owner@example.org"} | {address[p] for p in people if address[p]}
    for o in sent:
        if o.part.key == "owner":
            assert got["owner@example.org"] == {"practice.html":
                                                (out / "practice.html").read_bytes()}
            continue
        if not address[o.part.key]:
            assert o.status == "no address"
            continue
        files = {f.name: f.read_bytes() for f in Path(people[o.part.key].target).iterdir()
                 if f.name != "index.html"}
        assert got[address[o.part.key]] == files, o.part.key
    for path in out.rglob("*"):
        rel = path.relative_to(out).as_posix()
        if not path.is_file() or rel.startswith("prepared/") or rel == DELIVERY_RECORD:
            continue
        assert b"@example.org" not in path.read_bytes(), rel


@pytest.mark.parametrize("where", [[], ["--email", "--to", "out"]])
def test_one_channel_exactly(tmp_path, where):
    res = CliRunner().invoke(app, ["deliver", str(fake_run(tmp_path)), *where])
    assert res.exit_code == 2
    assert res.output.strip() == ("perfkit: say where the reports go: --to FOLDER or --email "
                                  "(one of them)")
