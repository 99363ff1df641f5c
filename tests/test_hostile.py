"""Hostile input end to end: a practice whose names, licence types, goals, review evidence and
CE titles carry scripts and markup, and whose ids look like paths, numbers and missing values.
Every report renders "ok", nothing runs in a real browser, every name shows as written, nothing
lands outside the run folder, and each report is about the right person."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import perfkit as pk
from perfkit.demo import DemoSettings, write_demo
from perfkit.io import read_table
from perfkit.pipeline import run_period
from perfkit.pseudonym import fingerprint

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end

PWN = "document.body.setAttribute('data-pwned','{}')"

# original demo id -> (hostile id, hostile name)
HOSTILE = {
    "C01": ("../practice", f'<img src=x onerror="{PWN.format("img")}">Maya'),
    "C02": ("/abs/evil", f'<svg onload="{PWN.format("svg")}"></svg>Jordan'),
    "C03": ("../../evil", f"[Priya](javascript:{PWN.format('md')})"),
    "C04": ("a/b", "O'Brien & *Sons* _x_ <b>bold</b>"),
    "C05": ("001", "Zoë Ñúñez 李 $x^2$ \\ # 1."),
    "C06": ("NA", f"<script>{PWN.format('script')}</script>Marcus"),
    "C07": ("None", '"><iframe srcdoc="<b>hi</b>"></iframe>Aisha'),
    "C08": ("a#b?c", "Daniel <u>Castillo</u>"),
    "C09": ("Ω" + "x" * 299, "Grace ${\\frac"),
    "C10": ("../supervisors/C01", "Tomas &amp; Chen"),
}
ID_COLUMNS = ("clinician_id", "supervisor_id", "supervisee_id", "reviewer_id")
PAYLOAD = f'<img src=x onerror="{PWN.format("text")}"> *see* [me](javascript:alert(1))'


def hostile_practice(folder: Path) -> Path:
    """The small demo practice with every id replaced and payloads in every text field."""
    src = write_demo(folder / "clean", DemoSettings(n_clinicians=10, months=4))
    out = folder / "data"
    out.mkdir()
    ids = {k: v[0] for k, v in HOSTILE.items()}
    for path in src.glob("*.csv"):
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in ID_COLUMNS:
            if col in t:
                t[col] = t[col].map(lambda v: ids.get(v, v))
        if path.stem == "clinicians":
            t["name"] = t["clinician_id"].map({v[0]: v[1] for v in HOSTILE.values()})
            t.loc[t["clinician_id"] == "a/b", "license_type"] = PAYLOAD
        for table, col in (("goals", "description"), ("reviews", "evidence"), ("ce", "title")):
            if path.stem == table:
                t[col] = PAYLOAD
        t.to_csv(out / path.name, index=False)
    return out


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    data = hostile_practice(base)
    out = base / "reports" / "2026-11-01"
    (base / "work").mkdir()
    before = {p for p in base.rglob("*")}
    cfg = pk.load_config(pseudonym_key_file=base / "keys" / "k.key",
                         practice_name=f"<script>{PWN.format('practice')}</script>Hostile & Co")
    cwd = os.getcwd()
    os.chdir(base / "work")  # a path built from an id relative to here would land here
    try:
        manifest = run_period(data, cfg, out=out, workers=2)
    finally:
        os.chdir(cwd)
    after = {p for p in base.rglob("*")}
    return base, out, manifest, before, after


def test_every_report_renders_ok(hostile_run):
    _, out, manifest, _, _ = hostile_run
    failed = [o for o in manifest["outputs"] if o["status"] != "ok"]
    assert not failed, failed
    reports = [o for o in manifest["outputs"] if o.get("role")]
    ids = {v[0] for k, v in HOSTILE.items() if k != "C08"}  # C08 left before the period
    assert {o["id"] for o in reports if o["role"] == "clinician"} == ids
    assert {o["id"] for o in reports if o["role"] == "supervisor"} == \
        {"../practice", "/abs/evil", "a/b"}
    for o in reports:  # the mapping: every report file inside its own folder, one per id
        folder = {"clinician": "clinicians", "supervisor": "supervisors",
                  "owner": "."}[o["role"]]
        assert (out / o["path"]).resolve().parent == (out / folder).resolve()
        assert (out / o["path"]).is_file() and (out / o["notebook"]).is_file()
    paths = [o["path"].lower() for o in reports]
    assert len(paths) == len(set(paths))
    assert (out / "clinicians" / "001.html").is_file()  # plain ids keep their own names
    assert (out / "clinicians" / "NA.html").is_file()


def test_nothing_lands_outside_the_run_folder(hostile_run):
    base, out, _, before, after = hostile_run
    new = {p for p in after - before if not p.resolve().is_relative_to(out.resolve())}
    lock = out.parent / f".{out.name}.lock"  # one run at a time per folder (flock)
    assert new <= {out.parent, lock, base / "keys", base / "keys" / "k.key"}, sorted(new)
    assert not Path("/abs").exists() and not (base / "evil").exists()
    assert not (out.parent / "practice.html").exists()


def test_the_practice_report_and_packs_are_not_overwritten(hostile_run):
    _, out, _, _, _ = hostile_run
    assert "practice report" in _title(out / "practice.html")
    for pack in (out / "supervisors").glob("*.html"):
        assert "supervision pack" in _title(pack)
    index = (out / "index.html").read_text(encoding="utf-8")
    for href in re.findall(r'href="([^"]+)"', index):
        assert not href.startswith(("/", "..")) and "#" not in href and "?" not in href
        assert (out / _unquote(href)).is_file()


class _Tags(HTMLParser):
    """Every real start tag of a page with its attributes, as a browser parses them (text,
    escaped text and attribute values are not tags)."""

    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_no_input_markup_survives_in_any_html(hostile_run):
    _, out, _, _, _ = hostile_run
    for page in out.rglob("*.html"):
        parsed = _Tags()
        parsed.feed(page.read_text(encoding="utf-8"))
        assert parsed.tags, page.name
        for tag, attrs in parsed.tags:
            assert tag not in ("script", "svg", "iframe", "object", "embed", "u", "b"), \
                (page.name, tag, attrs)
            assert not any(a.startswith("on") for a in attrs), (page.name, tag, attrs)
            for a in ("href", "src", "action", "formaction"):
                assert not (attrs.get(a) or "").strip().lower().startswith("javascript:"), \
                    (page.name, tag, attrs)
            if tag == "img":  # figures only: embedded images, never an input's <img src=x>
                assert (attrs.get("src") or "").startswith("data:image/"), (page.name, attrs)


def test_ids_and_names_reach_the_tables_as_written(hostile_run):
    _, out, _, _, _ = hostile_run
    m = read_table(out / "tables" / "clinician_metrics.csv")
    assert set(m["clinician_id"]) == {v[0] for k, v in HOSTILE.items() if k != "C08"}
    clin = pk.load_prepared(out).clinicians
    assert dict(zip(clin["clinician_id"], clin["name"], strict=True)) == \
        {v[0]: v[1] for v in HOSTILE.values()}


# ---- the real browser ---------------------------------------------------------------------


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class _Page(HTMLParser):
    """Title, visible text and <body> attributes of a page as the browser left it."""

    def __init__(self):
        super().__init__()
        self.title, self.text, self.body_attrs, self._in = "", [], {}, []

    def handle_starttag(self, tag, attrs):
        self._in.append(tag)
        if tag == "body":
            self.body_attrs = dict(attrs)

    def handle_endtag(self, tag):
        while self._in and self._in.pop() != tag:
            pass

    def handle_data(self, data):
        if self._in and self._in[-1] == "title":
            self.title += data
        elif not (self._in and self._in[-1] in ("style", "script")):
            self.text.append(data)


def _dom(browser: str, page: Path, profile: Path) -> _Page:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={profile}", "--virtual-time-budget=2000"]
    dom = subprocess.run([browser, *flags, "--dump-dom", page.resolve().as_uri()],
                         capture_output=True, text=True, timeout=180).stdout
    parsed = _Page()
    parsed.feed(dom)
    return parsed


@pytest.mark.skipif(_browser() is None and not os.environ.get("CI"),
                    reason="headless Chromium is not installed (CI installs it)")
def test_nothing_executes_in_a_real_browser_and_names_show_as_written(hostile_run, tmp_path):
    _, out, manifest, _, _ = hostile_run
    browser = _browser()
    assert browser, "Chromium is missing: .ci/run installs Debian's chromium"
    pages = [(o, out / o["path"]) for o in manifest["outputs"]
             if o.get("role") or o["path"].endswith("index.html")]
    with ThreadPoolExecutor(max_workers=3) as pool:
        doms = list(pool.map(lambda a: _dom(browser, a[1][1], tmp_path / f"p{a[0]}"),
                             enumerate(pages)))
    names = {v[0]: v[1] for v in HOSTILE.values()}
    for (o, page), dom in zip(pages, doms, strict=True):
        assert "data-pwned" not in dom.body_attrs, (page.name, dom.body_attrs)
        text = " ".join(dom.text)
        role = o.get("role")
        if role == "clinician":
            # the title and heading name this report's own clinician, exactly as written
            assert dom.title.startswith(names[o["id"]] + ": clinician report"), page.name
            assert names[o["id"]] in text
            others = [n for i, n in names.items() if i != o["id"]]
            assert not any(n in text for n in others), page.name
        elif role == "supervisor":
            assert dom.title.startswith(names[o["id"]] + ": supervision pack")
            assert names[o["id"]] in text
        elif role == "owner":
            assert "Hostile & Co" in text and "<script>" in text  # the name, shown as text
            for cid, name in names.items():
                if cid != "a#b?c":  # left before the period
                    assert name in text, name
        elif o["path"] == "index.html":  # the owner's index names no one
            assert "Hostile & Co" in text and not any(n in text for n in names.values())
        else:  # a clinician's or supervisor's own index: their name, as written, alone
            assert names[o["reader_id"]] in text, page
            assert not any(n in text for i, n in names.items() if i != o["reader_id"])
    goals = [d for (o, _), d in zip(pages, doms, strict=True) if o.get("role") == "supervisor"]
    assert any(PAYLOAD in " ".join(d.text) for d in goals)  # goal text shown, as text


def _title(path: Path) -> str:
    m = re.search(r"<title>(.*?)</title>", path.read_text(encoding="utf-8"), re.S)
    return m.group(1) if m else ""


def _unquote(href: str) -> str:
    import html
    import urllib.parse

    return urllib.parse.unquote(html.unescape(href))


def test_manifest_records_the_mapping_and_never_the_key(hostile_run):
    base, out, manifest, _, _ = hostile_run
    key = (base / "keys" / "k.key").read_text().strip()
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["pseudonym_key"]["fingerprint"] == fingerprint(bytes.fromhex(key))
    for path in out.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


# ---- ids that look like numbers or missing values -------------------------------------------

NUMERIC = {f"C{i:02d}": f"{i:03d}" for i in range(1, 11)} | {"C05": "NA", "C07": "None"}


def _remapped(src: Path, dest: Path, ids: dict[str, str]) -> Path:
    dest.mkdir(parents=True)
    for path in src.glob("*.csv"):
        t = pd.read_csv(path, dtype=str, keep_default_na=False)
        for col in ID_COLUMNS:
            if col in t:
                t[col] = t[col].map(lambda v: ids.get(v, v))
        t.to_csv(dest / path.name, index=False)
    return dest


def _visible_text(path: Path) -> str:
    """A page's title and text, with model results masked: estimates (three signed decimals)
    and the practice report's model paragraph (shares of variance, singular fits), which
    depend on the order clinicians enter the fit where the likelihood is flat."""
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    text = page.title + "\n" + " ".join(" ".join(page.text).split())
    text = re.sub(r"Studies of routine practice find.*?(?=Licences)", "[model]", text)
    return re.sub(r"[+-]\d+\.\d{3}\b", "±x", text)


def test_ids_that_look_like_numbers_or_na_give_the_same_tables_and_reports(tmp_path):
    src = write_demo(tmp_path / "clean", DemoSettings(n_clinicians=10, months=4))
    numeric = _remapped(src, tmp_path / "numeric", NUMERIC)
    cfg = pk.load_config(pseudonym_key_file=tmp_path / "k.key")
    a = tmp_path / "a" / "2026-11-01"
    b = tmp_path / "b" / "2026-11-01"
    run_period(src, cfg, out=a, workers=2, clinicians=["C01", "C05", "C07"])
    manifest = run_period(numeric, cfg, out=b, workers=2, clinicians=["001", "NA", "None"])
    assert all(o["status"] == "ok" for o in manifest["outputs"]), manifest["outputs"]
    back = {v: k for k, v in NUMERIC.items()}
    for table in sorted((a / "tables").glob("*.csv")):
        left = read_table(table)
        right = read_table(b / "tables" / table.name)
        for col in right.columns:
            if col.endswith("_id") and col != "client_id":
                right[col] = right[col].map(lambda v: back.get(v, v))
        if table.name == "clinician_effects.csv":
            # Model estimates depend on the order clinicians enter the fit (id order) within
            # the optimizer's tolerance, more so where the likelihood is flat (few clients):
            # the same clinicians and counts are what ids must not change.
            left = left.drop(columns=["effect", "ci_low", "ci_high"])
            right = right.drop(columns=["effect", "ci_low", "ci_high"])
        key = list(left.columns)
        pd.testing.assert_frame_equal(left.sort_values(key).reset_index(drop=True),
                                      right.sort_values(key).reset_index(drop=True),
                                      check_dtype=False, obj=table.name, rtol=1e-6)
    assert read_table(b / "tables" / "clinician_metrics.csv")["clinician_id"].isin(
        ["001", "NA", "None"]).sum() == 3
    pairs = [("practice.html", "practice.html"), ("clinicians/C01.html", "clinicians/001.html"),
             ("clinicians/C05.html", "clinicians/NA.html"),
             ("clinicians/C07.html", "clinicians/None.html"),
             ("supervisors/C01.html", "supervisors/001.html")]
    for left, right in pairs:
        assert _visible_text(a / left) == _visible_text(b / right), right
    # the plain papermill CLI takes such an id as raw text (-r); -p would make it the number 1
    from perfkit.render import notebook_dir
    from perfkit.report import load_run, pick_clinician

    papermill = Path(sys.executable).parent / "papermill"
    target = tmp_path / "c.ipynb"
    proc = subprocess.run([str(papermill), str(notebook_dir() / "clinician_report.ipynb"),
                           str(target), "-p", "run_folder", str(b), "-r", "clinician_id", "001",
                           "--no-progress-bar"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with pytest.raises(ValueError, match="pass it to papermill with -r clinician_id"):
        pick_clinician(load_run(b), 1)


def test_a_title_becomes_a_css_string_that_shows_as_written():
    """A printed page's running title (perfkit.page_style.page_css) is a CSS string in a <style>
    element: every character but an ASCII letter or digit is a hex escape and a space, so the
    value can close neither the string nor the element, and reading the escapes back gives the
    value as written (U+0000, which CSS cannot hold, reads as U+FFFD)."""
    from perfkit.hostile_text import css_string

    assert css_string('A "b"') == '"A\\20 \\22 b\\22 "'
    assert css_string("Zoë\n1") == '"Zo\\eb \\a 1"'
    assert css_string(None) == '""' and css_string("a\x00") == '"a\\fffd "'
    for value in [*(v[1] for v in HOSTILE.values()), PAYLOAD, "}</style><style>*{x:y}",
                  "\\\"'\r\n\t;@{}<>&", "李 $x^2$ \u2028"]:
        written = css_string(value)
        inner = written[1:-1]
        assert re.fullmatch(r"(?:[A-Za-z0-9]|\\[0-9a-f]{1,6} )*", inner), written
        assert re.sub(r"\\([0-9a-f]{1,6}) ", lambda m: chr(int(m.group(1), 16)), inner) == value
