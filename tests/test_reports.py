"""End-to-end reports on a small synthetic practice: HTML for people, privacy, isolation of
failures, and a real browser."""

from __future__ import annotations

import html as html_lib
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

import perfkit as pk
from perfkit.demo import DemoSettings, write_demo
from perfkit.pipeline import run_period
from perfkit.render import notebook_dir, render_reports
from perfkit.report.ledger_words import reasons_note
from perfkit.supervision import supervisees, supervisors

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end

CODE_MARKERS = ["import perfkit", "r.load_run", "report as r", "In&nbsp;[", "In [", "def ",
                "Traceback", "Warning", "warnings.warn", "DeprecationWarning", "FutureWarning",
                "UserWarning", "stderr"]


def text_of(path: Path) -> str:
    """A file's text without embedded images (base64 could contain anything)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "", text)


@pytest.fixture(scope="module")
def practice_dir(tmp_path_factory):
    return write_demo(tmp_path_factory.mktemp("practice") / "data",
                      DemoSettings(n_clinicians=6, months=6))


@pytest.fixture(scope="module")
def run(practice_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "2026-11-01"
    cfg = pk.load_config(pseudonym_key_file=out.parent / "k.key")
    manifest = run_period(practice_dir, cfg, out=out, workers=2)
    return out, manifest


def supervision_of(out: Path) -> dict[str, list[str]]:
    """Each supervisor's supervisees employed in the run's period."""
    clin = pk.load_prepared(out).clinicians
    cfg = pk.load_config()
    return {s: supervisees(clin, cfg, s) for s in supervisors(clin, cfg)}


def test_every_report_exists_and_is_listed(run):
    out, manifest = run
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv")
    sups = supervision_of(out)
    assert len(sups) == 2  # the small demo practice has two supervisors
    assert (out / "index.html").is_file() and (out / "practice.html").is_file()
    for cid in m.clinician_id:
        assert (out / "clinicians" / f"{cid}.html").is_file()
        assert (out / "notebooks" / f"clinician_{cid}.ipynb").is_file()  # the run record
    for sid in sups:
        assert (out / "supervisors" / f"{sid}.html").is_file()
        assert (out / "notebooks" / f"supervisor_{sid}.ipynb").is_file()
    statuses = {o["path"]: o["status"] for o in manifest["outputs"]}
    assert statuses["practice.html"] == "ok"
    assert all(statuses[f"clinicians/{c}.html"] == "ok" for c in m.clinician_id)
    assert all(statuses[f"supervisors/{s}.html"] == "ok" for s in sups)
    index = text_of(out / "index.html")
    assert 'href="practice.html"' in index
    assert 'href="clinicians/' not in index and 'href="supervisors/' not in index
    assert (f"{len(m)} clinicians' own reports and {len(sups)} supervision packs"
            in html_lib.unescape(index))


def _links(page: Path) -> list[Path]:
    """The files a page links to (relative links only; anchors and web links left out)."""
    found = re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8"))
    targets = []
    for ref in found:
        ref = html_lib.unescape(ref)
        if ref.startswith(("#", "http://", "https://", "mailto:")):
            continue
        from urllib.parse import unquote
        targets.append((page.parent / unquote(ref.split("#")[0])).resolve())
    return targets


def _reachable(start: Path) -> set[Path]:
    """Every file reached from ``start`` by following relative links, pages of pages too."""
    seen, todo = set(), [start.resolve()]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        assert page.is_file(), f"broken link to {page}"
        if page.suffix == ".html":
            todo += _links(page)
    return seen


def test_each_reader_reaches_only_their_own(run):
    """Walk every link from the owner's index and from each clinician's and supervisor's own
    index: every file reached is that reader's, by the manifest, and every reader's own outputs
    are reached."""
    out, manifest = run
    root = out.resolve()
    reader = {(root / o["path"]).resolve(): (o["reader"], o["reader_id"])
              for o in manifest["outputs"]}
    assert all(o["reader"] for o in manifest["outputs"])
    owner = _reachable(out / "index.html")
    assert {reader[f] for f in owner} == {("owner", None)}
    assert {(out / o["path"]).resolve() for o in manifest["outputs"]
            if o["reader"] == "owner"} == owner
    assert (root / "tables" / "item9_flags.csv") not in owner
    assert reader[(root / "tables" / "item9_flags.csv").resolve()][0] == "run record"
    people = {o["reader_id"] for o in manifest["outputs"]
              if o["reader"] in ("clinician", "supervisor")}
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv", dtype=str)
    assert people == set(m.clinician_id) | set(supervision_of(out))
    for pid in people:
        own = {(root / o["path"]).resolve() for o in manifest["outputs"]
               if o["reader_id"] == pid}
        index = [f for f in own if f.name == "index.html"]
        assert len(index) == 1, pid
        assert _reachable(index[0]) == own, pid
        assert {reader[f][1] for f in own} == {pid}
    both = set(supervision_of(out)) & set(m.clinician_id)
    for pid in both:  # a supervisor who also sees clients has one index with both reports
        idx = text_of(out / "readers" / pid / "index.html")
        assert "Your own report" in idx and "Your supervision pack" in idx


def test_html_is_for_people(run):
    out, _ = run
    for path in [out / "practice.html", *sorted((out / "clinicians").glob("*.html")),
                 *sorted((out / "supervisors").glob("*.html"))]:
        html = text_of(path)
        for marker in CODE_MARKERS:
            assert marker not in html, f"{marker!r} in {path.name}"
        assert "<script" not in html.lower()
        # nothing is loaded from the internet (citations may link out; nothing is fetched)
        assert not re.search(r'(src="https?://|<link[^>]+href="https?://)', html), path.name
        assert re.search(r"<title>[^<]+(report|pack), ", html), path.name
        assert "<img" in path.read_text()  # figures are embedded


def test_reports_show_the_numbers_of_the_tables(run):
    out, _ = run
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv").set_index("clinician_id")
    def pct(v):  # written here, not taken from the code under test: 0.7349 -> "73%"
        return f"{round(v * 100)}%"

    for cid, row in m.iterrows():
        html = text_of(out / "clinicians" / f"{cid}.html")
        for v in (row.utilization, row.notes_within_72h):  # a cell of its own
            assert re.search(rf"<td[^>]*>{pct(v)}</td>", html), cid
    practice = text_of(out / "practice.html")
    for _, row in m.iterrows():
        assert pct(row.utilization) in practice


def test_the_reports_say_how_a_group_session_counts(run):
    """The practice report's limits and each clinician's own figures say what
    test_exports' group test checks: once per slot for the clinician, per client otherwise."""
    out, _ = run
    said = ("A group session counts once per slot for its clinician (the clinician and its "
            "start time, at its longest recorded length) in sessions, hours and utilization, "
            "and once for each client in missed appointments, clients seen and notes.")
    assert said in html_lib.unescape(text_of(out / "practice.html"))
    first = sorted((out / "clinicians").glob("*.html"))[0]
    assert said in html_lib.unescape(text_of(first))


def test_a_clinician_report_names_no_other_clinician(run):
    out, _ = run
    clin = pk.load_prepared(out).clinicians
    for cid in clin.clinician_id:
        path = out / "clinicians" / f"{cid}.html"
        if not path.exists():
            continue
        own = text_of(path)
        executed = text_of(out / "notebooks" / f"clinician_{cid}.ipynb")
        for other, name in zip(clin.clinician_id, clin.name, strict=True):
            if other == cid:
                assert name in own
                continue
            for text in (own, executed):
                assert name not in text, f"{name} in {cid}'s report"
                assert not re.search(rf"\b{other}\b", text), f"{other} in {cid}'s report"


def test_no_client_identity_reaches_any_output(run, practice_dir):
    out, _ = run
    raw = pd.read_csv(practice_dir / "appointments.csv", dtype=str)
    secrets = set(raw.client_name) | set(raw.client_dob) | set(raw.client_email) | set(
        raw.client_id)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 20
    for path in files:
        if path.suffix == ".parquet":
            text = pd.read_parquet(path).astype(str).to_csv()
        else:
            text = text_of(path)
        found = [s for s in secrets if s in text]
        assert not found, f"{found[:3]} in {path.relative_to(out)}"


def test_small_counts_are_suppressed_in_the_practice_report(run):
    out, _ = run
    funnel = pd.read_csv(out / "tables" / "funnel.csv")
    small = funnel.paired_episodes < 10
    assert small.any(), "the fixture must hold small counts for this check to mean anything"
    assert funnel.loc[small, "reliable_improvement_rate"].isna().all()
    assert funnel.loc[~small, "reliable_improvement_rate"].notna().all()
    # the practice table: a suppressed rate reads "too few", never a number or 0%
    from perfkit.report import RunFolder, outcomes_table

    rates = {f"{r}{end}": [0.5, np.nan] for r in ("reliable_improvement_rate",
                                                  "reliable_deterioration_rate",
                                                  "recovery_rate")
             for end in ("", "_ci_low", "_ci_high")}
    table = pd.DataFrame({"instrument": ["PHQ-9", "PCL-5"], "episodes": [40, 6],
                          "paired_completeness": [0.9, 0.5], **rates})
    shown = outcomes_table(RunFolder(out, pk.load_config(), {"provided": ["assessments"]},
                                   {"outcomes_practice": table}))
    shown = shown.data.set_index("Measure")
    assert shown.loc["PCL-5", "Reliably improved"] == "– (too few)"
    assert shown.loc["PHQ-9", "Reliably improved"] == "50% (50%–50%)"


CLIENT_ID = re.compile(r"\bcl-[0-9a-f]{12}\b")


def clients_of(out: Path, ids) -> set[str]:
    data = pk.load_prepared(out)
    return set(data.assessments.loc[data.assessments.clinician_id.isin(ids), "client_id"]) | \
        set(data.appointments.loc[data.appointments.clinician_id.isin(ids), "client_id"])


def free_texts(out: Path, table: str, column: str, ids=None) -> set[str]:
    t = pk.load_prepared(out)[table]
    if ids is not None:
        t = t[t.clinician_id.isin(ids)]
    return set(t[column].dropna().astype(str))


def test_the_owners_report_holds_no_supervision_or_client_detail(run):
    out, _ = run
    html = text_of(out / "practice.html")
    assert "For the practice owner" in html and "This report is the administrative view" in html
    assert not CLIENT_ID.search(html), "a client id in the owner's report"
    for text in free_texts(out, "goals", "description") | free_texts(out, "reviews", "evidence"):
        assert text not in html, f"{text!r} in the owner's report"
    for words in ("Supervision pack", "Toward licensure", "Supervised weeks",
                  "Supervision hours", "Rating (1-5)", "What was observed"):
        assert words not in html
    assert "Licences: continuing education and reviews due" in html
    # one compliance line per associate, by name, with no ledger note or rule citation
    led = pd.read_csv(out / "tables" / "supervision_ledger.csv")
    clin = pk.load_prepared(out).clinicians.set_index("clinician_id")
    section = html.split("Associates: supervision against their licensure rule")[1]
    for _, row in led.iterrows():
        assert clin.loc[row.clinician_id, "name"] in section
        for private in (reasons_note(row.reasons), row.rule_citation):
            if isinstance(private, str) and private:
                assert html_lib.escape(private) not in html and private not in html


def test_a_supervision_pack_covers_only_the_supervisors_supervisees(run):
    out, _ = run
    clin = pk.load_prepared(out).clinicians
    for sid, mine in supervision_of(out).items():
        html = text_of(out / "supervisors" / f"{sid}.html")
        executed = text_of(out / "notebooks" / f"supervisor_{sid}.ipynb")
        name_of = dict(zip(clin.clinician_id, clin.name, strict=True))
        assert f"For you, {name_of[sid]}</strong>, as clinical supervisor of" in html
        for cid in mine:
            assert name_of[cid] in html
        for other, name in name_of.items():
            if other in mine or other == sid:
                continue
            for text in (html, executed):
                assert name not in text, f"{name} in {sid}'s pack"
                assert not re.search(rf"\b{other}\b", text), f"{other} in {sid}'s pack"
        shown = set(CLIENT_ID.findall(html))
        assert shown, "the pack lists its supervisees' clients"
        assert shown <= clients_of(out, mine)
        assert "Toward licensure" in html and "The licensing board's current rules govern" \
            in html.replace("<strong>", "").replace("</strong>", "")
        goals = pd.read_csv(out / "tables" / "goals.csv")
        for text in goals.loc[goals.clinician_id.isin(mine), "description"]:
            assert text in html


def test_a_clinicians_self_view_shows_only_their_own_clients_and_development(run):
    out, _ = run
    clin = pk.load_prepared(out).clinicians
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv")
    for cid in m.clinician_id:
        html = text_of(out / "clinicians" / f"{cid}.html")
        assert "For you." in html
        assert set(CLIENT_ID.findall(html)) <= clients_of(out, [cid])
        assert "Your professional development" in html
        goals = pd.read_csv(out / "tables" / "goals.csv")
        shown = goals[goals.clinician_id == cid]
        assert len(re.findall(r"<td[^>]*>(open|met|revised|dropped)</td>", html)) == len(shown)
        pre = clin.set_index("clinician_id").loc[cid, "license_status"] == "pre-licensed"
        assert ("Supervision met the rule this period" in html) == pre
        # whom the page points to: a supervisor only for someone who has one
        has = cid in set(pd.read_csv(out / "tables" / "supervisors.csv").clinician_id)
        assert ("your supervisor" in html.lower()) == has, cid
        if not has:
            assert "a peer consultation group or the clinical director" in html
        assert "What is going well" in html
        # peer consultation and mentoring: the self-view shows the clinician's own sessions,
        # and leaves the section out when there are none (nothing to say to this reader)
        support = pd.read_csv(out / "tables" / "support.csv").set_index("clinician_id")
        n = int(support.loc[cid, "consultation_sessions"])
        assert (f"{n} session" in html) if n else ("Peer consultation and mentoring"
                                                   not in html)
    licensed = support.index[support["consultation_sessions"] > 0]
    assert len(licensed), "the demo's licensed clinicians meet in a consultation group"


def test_roles_choose_the_reports(tmp_path):
    from perfkit.render import _jobs

    people, sups = [("C1", "A"), ("C2", "B")], [("C1", "A")]
    kinds = {role: [j["rel_html"] for j in _jobs(tmp_path, people, "P", "p", sups, (role,))]
             for role in ("owner", "supervisor", "clinician")}
    assert kinds == {"owner": ["practice.html"], "supervisor": ["supervisors/C1.html"],
                     "clinician": ["clinicians/C1.html", "clinicians/C2.html"]}
    with pytest.raises(pk.ConfigError, match="--role boss is not a role"):
        run_period(tmp_path, pk.load_config(), out=tmp_path / "out", roles=["boss"])


def test_a_failing_notebook_does_not_stop_the_batch(run, tmp_path, monkeypatch):
    out, _ = run
    nbdir = tmp_path / "nb"
    shutil.copytree(notebook_dir(), nbdir)
    nb = nbformat.read(nbdir / "clinician_report.ipynb", as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell(
        'if clinician_id == "C02":\n    raise RuntimeError("planted failure")'))
    nbformat.write(nb, nbdir / "clinician_report.ipynb")
    monkeypatch.setenv("PERFKIT_NOTEBOOKS", str(nbdir))
    target = tmp_path / "run"
    shutil.copytree(out, target, ignore=shutil.ignore_patterns("*.html", "notebooks"))
    results = render_reports(target, [("C01", "x"), ("C02", "y"), ("C03", "z")],
                             practice_name="Test", period="P", workers=2, progress=False)
    status = {r["id"] or r["name"]: r for r in results}
    assert status["C02"]["status"] == "failed"
    assert "planted failure" in status["C02"]["message"]
    assert status["C01"]["status"] == status["C03"]["status"] == status["practice"]["status"] \
        == "ok"
    index = text_of(target / "index.html")  # the owner's: one of the others failed
    assert "1 of them could not be produced" in index and "planted" not in index
    assert "y" not in re.sub(r"<[^>]+>", "", index).split()  # no other reader named
    own = text_of(target / "readers" / "C02" / "index.html")
    assert "could not be produced" in own and 'href="../../clinicians/C02.html"' not in own
    assert not (target / "clinicians" / "C02.html").exists()


def test_plain_papermill_cli_runs_a_report(run, tmp_path):
    out, _ = run
    papermill = Path(os.sys.executable).with_name("papermill")
    target = tmp_path / "c.ipynb"
    proc = subprocess.run([str(papermill), str(notebook_dir() / "clinician_report.ipynb"),
                           str(target), "-p", "run_folder", str(out), "-p", "clinician_id",
                           "C03", "--no-progress-bar"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert nbformat.read(target, as_version=4).cells[-1].outputs


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None and not os.environ.get("CI"),
                    reason="headless Chromium is not installed (CI installs it)")
@pytest.mark.parametrize("page", ["practice.html", "clinicians/C01.html",
                                  "supervisors/C01.html"])
def test_real_browser_renders_title_and_figure(run, tmp_path, page):
    out, _ = run
    browser = _chromium()
    assert browser, "Chromium is missing: .ci/run installs Debian's chromium"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    url = (out / page).resolve().as_uri()
    dom = subprocess.run([browser, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120).stdout
    assert re.search(r"<title>[^<]+(report|pack), ", dom)
    assert "<img" in dom and "<h2" in dom
    shot = tmp_path / (Path(page).stem + ".png")
    subprocess.run([browser, *flags, "--window-size=1100,1600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000


_HELD_LOCK_CALLER = """
import logging, sys, threading
from pathlib import Path
from perfkit.render import render_reports

held, done = threading.Event(), threading.Event()

def hold():  # a thread of the caller's that holds a lock (logging's own) while the batch runs
    with logging._lock:
        held.set()
        done.wait()

thread = threading.Thread(target=hold)
thread.start()
held.wait()
try:
    results = render_reports(Path(sys.argv[1]), [], practice_name="T", period="P", workers=1,
                             progress=False, roles=("owner",))
    print("finished:", results[0]["status"], flush=True)
finally:
    done.set()
"""


def test_a_caller_with_threads_does_not_hang_the_batch(tmp_path):
    """The caller of a batch may have threads holding locks (a Jupyter kernel's ZeroMQ threads,
    a test run's kernels): workers forked from it copy those locks held and can wait for ever,
    which is how a CI run once hung for 90 minutes. Here a thread holds logging's lock, which
    a fork needs and a worker takes at start: the batch still ends (the practice report fails,
    the folder has no tables, but it ends)."""
    proc = subprocess.run([os.sys.executable, "-c", _HELD_LOCK_CALLER, str(tmp_path)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "finished: failed" in proc.stdout


def _reader_text(path: Path) -> str:
    """What a reader of a page reads: its text and its figures' text alternatives."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    return soup.get_text(" ") + " ".join(img.get("alt", "") for img in soup("img"))


def test_no_statistics_jargon_on_the_owners_page_or_the_self_view(run):
    """The words of words.JARGON ("singular", "episodes", "95.0% limits"...) appear nowhere a
    reader of the owner's page or a self-view looks; both have the glossary every section's
    window line links to."""
    from perfkit.report.words import GLOSSARY_ID, JARGON

    out, _ = run
    pages = [out / "practice.html", *sorted((out / "clinicians").glob("*.html"))]
    assert len(pages) >= 3
    for page in pages:
        said = _reader_text(page).lower()
        found = [w for w in JARGON if w.lower() in said]
        assert not found, (page.name, found)
        html = page.read_text(encoding="utf-8")
        assert f'id="{GLOSSARY_ID}"' in html and f'href="#{GLOSSARY_ID}"' in html, page.name
        assert "What the words mean" in html


WINDOW = re.compile(r"^(Period: \d\d [A-Z][a-z]{2} \d{4} to \d\d [A-Z][a-z]{2} \d{4}|Last \d+ "
                    r"(months|weeks): |As of \d\d [A-Z][a-z]{2} \d{4}|Every score up to \d\d "
                    r"[A-Z][a-z]{2} \d{4}|The whole export|One column for each run's period)")


def test_every_section_of_the_owners_page_states_its_time_window(run):
    """Each top-level section of the rendered owner's page and self-view (but the glossary)
    has a line with its window: "Period: 01 Aug 2026 to 31 Oct 2026", "Last 12 months: ..."."""
    from bs4 import BeautifulSoup

    out, _ = run
    for page in [out / "practice.html", sorted((out / "clinicians").glob("*.html"))[0]]:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        title, *headings = [h for h in soup("h2") if "What the words mean" not in h.get_text()]
        assert len(headings) >= 6, page.name
        # the page's title section (practice_title, clinician_title) gives the period itself
        assert "Period 01 August 2026 to 31 October 2026" in title.find_parent(
            "section").get_text(" "), page.name
        for h in headings:
            section = h.find_parent("section") or h.parent
            lines = [em.get_text(" ", strip=True) for em in section("em")]
            assert any(WINDOW.match(x) for x in lines), (page.name, h.get_text(), lines)


def test_retention_says_its_group_and_hides_small_groups(run):
    """The owner's table: a clinician's retention is "NN% of n" with n their group
    (retention_cohort), or hidden with the reason when n is below outcomes.min_episodes."""
    from bs4 import BeautifulSoup

    out, _ = run
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv")
    names = pk.load_prepared(out).clinicians.set_index("clinician_id")["name"]
    least = pk.load_config().outcomes.min_episodes
    soup = BeautifulSoup((out / "practice.html").read_text(encoding="utf-8"), "html.parser")
    tab = next(t for t in soup("table") if "Retained 8+ sessions" in t.get_text())
    head = [th.get_text(strip=True) for th in tab("th")]
    col = head.index("Retained 8+ sessions")
    cells = {tr("td")[0].get_text(strip=True): tr("td")[col].get_text(" ", strip=True)
             for tr in tab("tr") if tr("td")}
    small = m["retention_cohort"] < least
    assert small.any() and (~small).any(), "the fixture must hold both for this to mean much"
    for _, r in m.iterrows():
        cell = cells[names[r["clinician_id"]]]
        if r["retention_cohort"] < least:
            assert cell == f"hidden: fewer than {least} clients in the group", cell
        else:
            assert cell.startswith(f"{round(100 * r['retained_8plus_rate'])}% of "
                                   f"{r['retention_cohort']}"), cell
