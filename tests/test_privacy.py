"""Privacy and hostile-input safeguards below the reports: the pseudonym key, error messages
that never quote a row, ids from Parquet, ids read back as text, private run folders, and the
escaping and file-name helpers of perfkit.hostile_text."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import perfkit as pk
from perfkit.cli import app
from perfkit.config import ConfigError
from perfkit.hostile_text import file_stem, file_stems, href, md
from perfkit.ingest import IngestError
from perfkit.io import read_table
from perfkit.pseudonym import fingerprint, load_key

from practice_data import APPOINTMENTS, ASSESSMENTS, write_table

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


# ---- the pseudonym key ----------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"ab" * 20 + b"\n", b"\x00\xff\xfe" * 30,
                                     b"zz" * 32, b"", b"ab" * 32 + b"cd"])
def test_a_damaged_key_is_one_sentence(tmp_path, content):
    key = tmp_path / "k.key"
    key.write_bytes(content)
    with pytest.raises(ConfigError, match="must hold exactly 64 hex digits"):
        load_key(key)


def test_a_key_that_is_a_folder_or_unreadable_is_one_sentence(tmp_path):
    (tmp_path / "dir.key").mkdir()
    with pytest.raises(ConfigError, match="is a folder, not a key file"):
        load_key(tmp_path / "dir.key")
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(ConfigError, match="cannot be read or created"):
        load_key(blocked / "k.key")  # its folder is a file


def test_a_new_key_is_64_hex_digits_owner_only_and_said(tmp_path):
    key = load_key(tmp_path / "sub" / "k.key")
    assert key.created and re.fullmatch(r"[0-9a-f]{64}\n", (tmp_path / "sub" / "k.key")
                                        .read_text())
    assert stat.S_IMODE((tmp_path / "sub" / "k.key").stat().st_mode) == 0o600
    again = load_key(tmp_path / "sub" / "k.key")
    assert not again.created and again.key == key.key
    assert key.key.hex() not in repr(key)


def test_a_key_others_can_read_gets_a_warning(tmp_path, caplog):
    path = tmp_path / "k.key"
    path.write_text("ab" * 32 + "\n")
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        load_key(path)
    assert "can be read by other users" in caplog.text and "chmod 600" in caplog.text


def test_fingerprint_is_a_hash_of_the_key_never_the_key():
    key = bytes(range(32))
    expected = hashlib.sha256(b"perfkit pseudonym key fingerprint\x00" + key).hexdigest()[:16]
    assert fingerprint(key) == expected
    assert fingerprint(key) not in key.hex() and fingerprint(key) != fingerprint(key[::-1])


def test_pseudonyms_are_hmac_sha256_of_the_id(practice, cfg):
    """Checked against an HMAC-SHA256 computed here, not by perfkit's own function."""
    ing = pk.ingest(practice, cfg)
    key = bytes.fromhex(Path(cfg.pseudonym_key_file).read_text().strip())
    want = "cl-" + hmac.new(key, b"MRN-111", hashlib.sha256).hexdigest()[:12]
    assert ing["appointments"].client_id.iloc[0] == want


def _run(practice, out, key, *extra):
    return invoke("run", "--data", practice, "--out", out, "--period-start", "2026-10-01",
                  "--period-end", "2026-11-01", "--tables-only", *extra) \
        if key is None else runner.invoke(app, [
            "run", "--data", str(practice), "--out", str(out), "--period-start", "2026-10-01",
            "--period-end", "2026-11-01", "--tables-only", *map(str, extra)],
            env={"PERFKIT_PSEUDONYM_KEY_FILE": str(key)})


def test_a_changed_or_missing_key_is_caught_and_explained(practice, tmp_path):
    key, reports = tmp_path / "keys" / "k.key", tmp_path / "reports"
    first = _run(practice, reports / "2026-10-01", key)
    assert first.exit_code == 0, first.output
    assert f"created a new pseudonym key at {key}" in first.output
    manifest = json.loads((reports / "2026-10-01" / "manifest.json").read_text())
    fp = fingerprint(bytes.fromhex(key.read_text().strip()))
    assert manifest["pseudonym_key"] == {"fingerprint": fp, "created_by_this_run": True}
    snapshot = json.loads((reports / "2026-10-01" / "prepared" / "snapshot.json").read_text())
    assert snapshot["pseudonym_key_fingerprint"] == fp
    # the same key again, in the same folder and in the next month's: fine, nothing said
    again = _run(practice, reports / "2026-11-01", key)
    assert again.exit_code == 0 and "created" not in again.output
    # a missing key: stop before a new one is made
    key.rename(tmp_path / "moved.key")
    res = _run(practice, reports / "2026-12-01", key)
    assert res.exit_code == 2 and "is missing" in res.output and fp in res.output
    assert "Traceback" not in res.output and not key.exists()
    assert not (reports / "2026-12-01" / "manifest.json").exists()
    # another key: stop, naming both fingerprints
    other = tmp_path / "other.key"
    load_key(other)
    res = _run(practice, reports / "2026-12-01", other)
    assert res.exit_code == 2 and "would not match earlier months" in res.output
    assert fp in res.output and "--new-pseudonym-key" in res.output
    # ... unless the user says so
    res = _run(practice, reports / "2026-12-01", other, "--new-pseudonym-key")
    assert res.exit_code == 0, res.output
    new = json.loads((reports / "2026-12-01" / "manifest.json").read_text())
    assert new["pseudonym_key"]["fingerprint"] != fp
    # and from then on the new key is the one to match
    assert _run(practice, reports / "2027-01-01", other).exit_code == 0
    assert _run(practice, reports / "2027-01-01", tmp_path / "moved.key").exit_code == 2


@pytest.mark.parametrize("content", [b"ab" * 20, b"\x00\xff" * 40])
def test_a_damaged_key_through_the_cli_is_exit_2(practice, tmp_path, content):
    key = tmp_path / "k.key"
    key.write_bytes(content)
    for args in (["validate", practice], ["run", "--data", practice, "--out", tmp_path / "r",
                                          "--tables-only"]):
        res = runner.invoke(app, [str(a) for a in args],
                            env={"PERFKIT_PSEUDONYM_KEY_FILE": str(key)})
        assert res.exit_code == 2 and "64 hex digits" in res.output, res.output
        assert res.exception is None or isinstance(res.exception, SystemExit)


def test_one_default_key_location_with_or_without_parameters(monkeypatch):
    monkeypatch.delenv("PERFKIT_PSEUDONYM_KEY_FILE")
    shipped = pk.load_config(ROOT / "parameters" / "practice.yaml")
    assert shipped.pseudonym_key_file == pk.load_config().pseudonym_key_file
    readme = (ROOT / "README.md").read_text()
    assert "~/.local/share/perfkit/pseudonym.key" in readme
    assert shipped.pseudonym_key_file == Path.home() / ".local/share/perfkit/pseudonym.key"


def test_every_doc_names_the_one_default_key_location():
    """Each key file a user-facing doc names is the code's default (data/README.md once
    named data/.pseudonym.key)."""
    docs = [ROOT / "README.md", ROOT / "data" / "README.md", ROOT / "parameters" / "practice.yaml",
            *sorted((ROOT / "docs").glob("*.md"))]
    named = {d.relative_to(ROOT).as_posix(): set(re.findall(r"[\w./~-]*pseudonym\.key",
                                                            d.read_text(encoding="utf-8")))
             for d in docs}
    assert {p for paths in named.values() for p in paths} == {
        "~/.local/share/perfkit/pseudonym.key"}, named
    assert named["data/README.md"] and named["README.md"] and named["docs/data_contract.md"]


# ---- error messages quote no row ------------------------------------------------------------

def _cli(*args, key: Path):
    return subprocess.run([sys.executable, "-m", "perfkit.cli", *map(str, args)],
                          capture_output=True, text=True,
                          env={"PERFKIT_PSEUDONYM_KEY_FILE": str(key), "PATH": "/usr/bin:/bin"})


def test_a_row_with_an_extra_field_is_named_not_quoted(practice, tmp_path):
    text = (practice / "appointments.csv").read_text().splitlines()
    text[2] += ",zebulon@example.org"
    (practice / "appointments.csv").write_text("\n".join(text) + "\n")
    proc = _cli("validate", practice, key=tmp_path / "k.key")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("perfkit: appointments.csv: row 2 has 10 fields where the "
                                   "header has 9 (a comma inside a value needs quotes); fix "
                                   "that row and run again")
    for secret in ("Zebulon", "Quixote", "MRN-111", "1961", "zebulon@"):
        assert secret not in proc.stderr + proc.stdout


def test_text_that_is_not_utf8_names_the_row_not_the_text(practice, tmp_path):
    raw = (practice / "appointments.csv").read_bytes().replace(b"Philippa", b"Phil\xe9ppa")
    (practice / "appointments.csv").write_bytes(raw)
    with pytest.raises(IngestError) as err:
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"))
    assert str(err.value).startswith("appointments.csv: row 3 (a column outside the contract) "
                                     "holds text that is not UTF-8")
    assert "Phil" not in str(err.value)
    raw = (practice / "appointments.csv").read_bytes().replace(b"no_show", b"no_sh\xf6w")
    (practice / "appointments.csv").write_bytes(raw.replace(b"Phil\xe9ppa", b"Philippa"))
    with pytest.raises(IngestError, match=r"row 3 \(column 'status'\) holds text that is not "):
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"))


def test_a_broken_parquet_file_is_one_sentence(practice, tmp_path):
    (practice / "notes.csv").unlink()
    (practice / "notes.parquet").write_bytes(b"PAR1 Zebulon Quixote not really parquet")
    with pytest.raises(IngestError, match=r"^notes.parquet could not be read as a Parquet") \
            as err:
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"))
    assert "Zebulon" not in str(err.value)


# ---- ids from Parquet -----------------------------------------------------------------------

def test_whole_number_float_ids_match_integer_ids_across_tables(practice, cfg):
    appts = pd.DataFrame(APPOINTMENTS).assign(client_id=[100042, 100042, 7])
    (practice / "appointments.csv").unlink()
    appts.to_parquet(practice / "appointments.parquet")  # int64
    assess = pd.DataFrame(ASSESSMENTS).assign(client_id=[100042.0, None])
    (practice / "assessments.csv").unlink()
    assess.to_parquet(practice / "assessments.parquet")  # float64 with a gap
    ing = pk.ingest(practice, cfg)
    key = bytes.fromhex(Path(cfg.pseudonym_key_file).read_text().strip())
    want = "cl-" + hmac.new(key, b"100042", hashlib.sha256).hexdigest()[:12]
    assert ing["appointments"].client_id.iloc[0] == want
    assert ing["assessments"].client_id.iloc[0] == want
    assert ing.quality["tables"]["assessments"]["rows_rejected"] == 1  # the missing id
    assert ing.rejects.reason.tolist() == ["missing_value"]


def test_a_fractional_float_id_is_rejected_with_a_reason(practice, cfg):
    appts = pd.DataFrame(APPOINTMENTS).assign(client_id=[100042.0, 100042.5, 7.0])
    (practice / "appointments.csv").unlink()
    appts.to_parquet(practice / "appointments.parquet")
    ing = pk.ingest(practice, cfg)
    bad = ing.rejects[ing.rejects.table == "appointments"]
    assert bad[["row", "column", "reason"]].values.tolist() == [[2, "client_id", "invalid_id"]]
    assert "100042" not in bad.detail.iloc[0]
    q = ing.quality["tables"]["appointments"]
    assert (q["rows_in"], q["rows_accepted"], q["rows_rejected"]) == (3, 2, 1)


# ---- ids read back as text ------------------------------------------------------------------

def test_run_tables_keep_ids_and_names_as_written(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"clinician_id": ["001", "NA", "None", "1e3", ""],
                  "name": ["NA", "None", "null", "nan", "x"],
                  "rate": [0.5, None, 1, 2, 3]}).to_csv(path, index=False)
    t = read_table(path)
    assert t["clinician_id"].tolist()[:4] == ["001", "NA", "None", "1e3"]
    assert pd.isna(t["clinician_id"].iloc[4])
    assert t["name"].tolist() == ["NA", "None", "null", "nan", "x"]
    assert t["rate"].isna().tolist() == [False, True, False, False, False]


def test_every_reader_of_run_tables_uses_read_table():
    """The whole class: no module or notebook reads a run's CSV tables with pandas' guessing."""
    for path in [*ROOT.glob("src/perfkit/*.py"), *ROOT.glob("notebooks/*.ipynb")]:
        if path.name == "io.py":  # read_table itself (perfkit/ingest/, a folder not globbed
            # here, reads raw input, all text)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if "read_csv(" in line:  # the rejects file, or raw input read as text
                assert "keep_default_na=False" in line and (
                    "rejects.csv" in line or "dtype=str" in line), (path, line)


# ---- private run folders --------------------------------------------------------------------

def _modes(folder: Path) -> set[tuple[str, int]]:
    return {("d" if p.is_dir() else "f", stat.S_IMODE(p.stat().st_mode))
            for p in [folder, *folder.rglob("*")]}


def test_run_folders_are_private_by_default(practice, tmp_path):
    out = tmp_path / "run"
    out.mkdir(mode=0o755)
    (out / "tables").mkdir(mode=0o755)  # left by an earlier run with wider permissions
    (out / "manifest.json").write_text(json.dumps(  # which its manifest proves a run
        {"perfkit_version": "0.1.0", "run_folder": str(out), "created": "2026-11-01T06:00:00",
         "period": {"start": "2026-10-01", "end": "2026-11-01"}, "parameters": {},
         "outputs": []}))
    (out / "manifest.json").chmod(0o644)
    res = invoke("run", "--data", practice, "--out", out, "--period-start", "2026-10-01",
                 "--period-end", "2026-11-01", "--workers", "1")
    assert res.exit_code == 0, res.output
    assert (out / "clinicians").is_dir() and (out / "prepared" / "snapshot.json").is_file()
    assert _modes(out) == {("d", 0o700), ("f", 0o600)}


def test_group_readable_outputs_when_the_parameters_say_so(practice, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("privacy:\n  group_readable_outputs: true\n")
    out = tmp_path / "run"
    res = invoke("run", "--data", practice, "--out", out, "--params", params,
                 "--period-start", "2026-10-01", "--period-end", "2026-11-01", "--tables-only")
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text())
    owner = {o["path"] for o in manifest["outputs"] if o["reader"] == "owner"}
    assert "tables/clinician_metrics.csv" in owner and "tables/item9_flags.csv" not in owner
    # only the owner's part is opened to the group: client rows, supervision content and the
    # prepared snapshot stay the owner's alone
    for path in [out, *out.rglob("*")]:
        rel = path.relative_to(out).as_posix()
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == (0o750 if rel in (".", "tables") else 0o700), rel
        else:
            assert mode == (0o640 if rel in owner else 0o600), rel


def test_validate_out_is_private_too(practice, tmp_path):
    res = invoke("validate", practice, "--out", tmp_path / "v")
    assert res.exit_code == 0, res.output
    assert _modes(tmp_path / "v") == {("d", 0o700), ("f", 0o600)}


# ---- perfkit.hostile_text ------------------------------------------------------------------

NASTY = ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "*a* _b_ **c**",
         "O'Brien & Sons", "Zoë Ñúñez 李", "$x^2$ and $\\frac", "# not a heading", "1. two",
         "- dash", "a|b", "back\\slash", "~~s~~", "`code`", "&amp; literal", "<!-- c -->",
         "line\nbreak", "http://example.org/x?y=1"]


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)


@pytest.mark.parametrize("value", NASTY)
def test_md_shows_a_value_exactly_as_written(value):
    """Rendered by the Markdown renderer the reports use, the text is the value itself
    (line breaks become spaces) and no tag or link comes out of it."""
    from nbconvert.filters.markdown import markdown2html

    out = markdown2html(f"**{md(value)}** and more")
    text = _Text()
    text.feed(out)
    assert "".join(text.parts).strip() == value.replace("\n", " ") + " and more"
    assert re.findall(r"<(\w+)", out) == ["p", "strong"]


@pytest.mark.parametrize("ident", ["../x", "/abs", "a/b", "001", "NA", "None", "a#b?c", ".",
                                   "..", "", " ", "x" * 300, "Ωμέγα", "practice", "index",
                                   "CON", "a\\b", "C:\\x", ".hidden", "-dash", "a\x00b"])
def test_file_stems_stay_in_their_folder(ident, tmp_path):
    stem = file_stem(ident)
    assert stem and "/" not in stem and "\\" not in stem and "\x00" not in stem
    assert not stem.startswith((".", "-")) and len(stem.encode()) <= 64
    assert stem.lower() not in ("practice", "index", "con")
    assert (tmp_path / f"{stem}.html").resolve().parent == tmp_path.resolve()


def test_file_stems_are_one_to_one_and_readable():
    ids = ["C01", "c01", "../x", "..x", "a/b", "a-b", "001", "1", "NA", "nA.1", "x" * 300,
           "x" * 301, "a#b?c", "a b", "a_b"]
    stems = file_stems(ids)
    assert len({s.lower() for s in stems.values()}) == len(ids)
    assert stems["001"] == "001" and stems["NA"] == "NA" and stems["a_b"] == "a_b"
    assert stems["C01"] != "C01" and stems["c01"] != "c01"  # they would meet on macOS
    assert file_stems(["C01", "C02"]) == {"C01": "C01", "C02": "C02"}


def test_href_percent_encodes_and_escapes():
    assert href("clinicians/a#b?c.html") == "clinicians/a%23b%3Fc.html"
    assert href('x/"><b>.html') == "x/%22%3E%3Cb%3E.html"


def test_a_file_without_its_header_row_is_not_quoted(practice, tmp_path):
    """The first data row stands where the headers should be: the message names no value."""
    rows = (practice / "appointments.csv").read_text().splitlines()
    (practice / "appointments.csv").write_text("\n".join(rows[1:]) + "\n")
    with pytest.raises(IngestError) as err:
        pk.ingest(practice, pk.load_config(pseudonym_key_file=tmp_path / "k"))
    assert str(err.value) == ("appointments.csv: required column 'clinician_id' is missing "
                              "(contract columns found: none; and 9 other columns)")


# ---- pseudonyms against an independent program ------------------------------------------------

KEY_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"


def test_pseudonyms_match_openssl_hmac_sha256(practice, tmp_path):
    """Known answers from OpenSSL 3 (`printf '%s' ID | openssl dgst -sha256 -mac HMAC -macopt
    hexkey:KEY_HEX`): a client id, a name key (case folded) and a composed key (name and birth
    date joined by the unit separator 0x1f)."""
    key = tmp_path / "known.key"
    key.write_text(KEY_HEX + "\n")
    key.chmod(0o600)
    cfg = pk.load_config(pseudonym_key_file=key)
    ing = pk.ingest(practice, cfg)
    assert ing["appointments"].client_id.iloc[0] == "cl-722e4253ef40"  # MRN-111
    write_table(practice, "appointments", [dict(APPOINTMENTS[0], client_id="",
                                                **{"Client": "Zeb  QUIXOTE", "DOB": "2/3/1961"})])
    write_table(practice, "notes", [])
    write_table(practice, "assessments", [])
    for key_cols, expected in ((["Client"], "cl-4d81b68cac7a"),
                               (["Client", "DOB"], "cl-7723292b8ac3")):
        cmap = tmp_path / "map.yaml"
        cmap.write_text(f"client_key: {key_cols}\n")
        ing = pk.ingest(practice, cfg, column_map=cmap)
        assert ing["appointments"].client_id.tolist() == [expected], key_cols


def test_names_that_repeat_carry_their_id(tmp_path):
    """Two clinicians named alike (case and spacing aside) are told apart by their ids
    wherever a report names them (every report names clinicians through RunFolder.name_of);
    other names are shown as written."""
    from perfkit.hostile_text import distinct_names
    from perfkit.report.run_folder import RunFolder

    names = {"C1": "Aisha Moreau", "C2": " aisha  MOREAU", "C3": "Bo", "007": "Bo Li"}
    assert distinct_names(names) == {"C1": "Aisha Moreau (C1)", "C2": " aisha  MOREAU (C2)",
                                     "C3": "Bo", "007": "Bo Li"}
    run = RunFolder(tmp_path, pk.load_config(), {}, {}, _names=names)
    assert run.name_of("C2") == " aisha  MOREAU (C2)" and run.name_of("007") == "Bo Li"
    assert run.written_name("C1") == "Aisha Moreau"  # to match other records as written
