"""End-to-end reports on a small synthetic practice: HTML for people, privacy, isolation of
failures, and a real browser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import perfkit as pk
from perfkit.demo import DemoSettings, write_demo
from perfkit.report import _pct
from perfkit.reports import notebook_dir, render_reports
from perfkit.runner import run_period

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
    out = tmp_path_factory.mktemp("run")
    cfg = pk.load_config(pseudonym_key_file=out.parent / "k.key")
    manifest = run_period(practice_dir, cfg, out=out, workers=2)
    return out, manifest


def test_every_report_exists_and_is_listed(run):
    out, manifest = run
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv")
    assert (out / "index.html").is_file() and (out / "practice.html").is_file()
    for cid in m.clinician_id:
        assert (out / "clinicians" / f"{cid}.html").is_file()
        assert (out / "notebooks" / f"clinician_{cid}.ipynb").is_file()  # the run record
    statuses = {o["path"]: o["status"] for o in manifest["outputs"]}
    assert statuses["practice.html"] == "ok"
    assert all(statuses[f"clinicians/{c}.html"] == "ok" for c in m.clinician_id)
    index = text_of(out / "index.html")
    assert f"{len(m) + 1} ready, 0 could not be produced" in index
    assert 'href="clinicians/' in index


def test_html_is_for_people(run):
    out, _ = run
    for path in [out / "practice.html", *sorted((out / "clinicians").glob("*.html"))]:
        html = text_of(path)
        for marker in CODE_MARKERS:
            assert marker not in html, f"{marker!r} in {path.name}"
        assert "<script" not in html.lower()
        assert not re.search(r'(src|href)="https?://', html), path.name
        assert re.search(r"<title>[^<]+report, ", html), path.name
        assert "<img" in path.read_text()  # figures are embedded


def test_reports_show_the_numbers_of_the_tables(run):
    out, _ = run
    m = pd.read_csv(out / "tables" / "clinician_metrics.csv").set_index("clinician_id")
    for cid, row in m.iterrows():
        html = text_of(out / "clinicians" / f"{cid}.html")
        assert f"<td>{_pct(row.utilization)}</td>" in html, cid
        assert f"<td>{_pct(row.notes_within_72h)}</td>" in html, cid
    practice = text_of(out / "practice.html")
    for _, row in m.iterrows():
        assert _pct(row.utilization) in practice


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
    by = pd.read_csv(out / "tables" / "outcomes_practice.csv")
    html = text_of(out / "practice.html")
    if by.reliable_improvement_rate.isna().any():
        assert "– (too few)" in html
    funnel = pd.read_csv(out / "tables" / "funnel.csv")
    assert funnel.loc[funnel.paired_episodes < 10, "reliable_improvement_rate"].isna().all()


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
    status = {r["name"]: r for r in results}
    assert status["C02"]["status"] == "failed"
    assert "planted failure" in status["C02"]["message"]
    assert status["C01"]["status"] == status["C03"]["status"] == status["practice"]["status"] \
        == "ok"
    index = text_of(target / "index.html")
    assert "Could not be produced: RuntimeError: planted failure" in index
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
@pytest.mark.parametrize("page", ["practice.html", "clinicians/C01.html"])
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
    assert re.search(r"<title>[^<]+report, ", dom)
    assert "<img" in dom and "<h2" in dom
    shot = tmp_path / (Path(page).stem + ".png")
    subprocess.run([browser, *flags, "--window-size=1100,1600", f"--screenshot={shot}", url],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 20_000
