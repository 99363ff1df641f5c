"""Every parameter of every notebook flows through (issue 19): each notebook runs under papermill
with non-default values for every parameter, and its outputs' text and numbers equal a direct
call of the package with the same values. Relative run folders are found from the project
folder; the notebooks name the perfkit kernel."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

import perfkit as pk
from perfkit import explore as ex
from perfkit import model_checks, models
from perfkit import report as r
from perfkit.cache import demo_run
from perfkit.report import research

# whole runs with reports: `make test-quick` leaves these out; `make test` and CI run them
pytestmark = pytest.mark.end_to_end

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def _execute(path: Path, out: Path, **kwargs):
    """papermill with a time limit per cell. With ipykernel 7 a kernel's reply was, rarely,
    never received (both sides idle: once in CI, in the explorer's widget cell); perfkit pins
    ipykernel < 7 since, and a run that still times out is tried once more instead of hanging
    the suite. A notebook that is slow or stuck every time still fails."""
    from nbclient.exceptions import CellTimeoutError

    for attempt in (1, 2):
        try:
            return pm.execute_notebook(str(path), str(out), progress_bar=False,
                                       cwd=str(NOTEBOOKS), execution_timeout=240, **kwargs)
        except CellTimeoutError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _run(name: str, out: Path, **parameters) -> str:
    """Execute a notebook with these parameters; all its outputs' text (Markdown, HTML,
    plain text, streams and image alt texts) in one string."""
    done = _execute(NOTEBOOKS / f"{name}.ipynb", out, parameters=parameters,
                    kernel_name="python3")
    said = []
    for cell in done.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                assert o["name"] != "stderr" or "Warning" not in o["text"], o["text"]
                said.append(o["text"])
            data = o.get("data", {})
            for kind in ("text/markdown", "text/html", "text/plain"):
                if kind in data:
                    said.append(data[kind])
            alt = o.get("metadata", {}).get("image/png", {}).get("alt")
            if alt:
                said.append(alt)
    return "\n".join(said)


def _html_text(s: str) -> str:
    import html

    return html.unescape(re.sub(r"<[^>]+>", " ", s))


@pytest.fixture(scope="module")
def params_file(tmp_path_factory) -> Path:
    """The practice parameters with another utilization threshold."""
    text = (ROOT / "parameters" / "practice.yaml").read_text()
    text = text.replace("utilization_alert: 0.70", "utilization_alert: 0.85")
    assert "utilization_alert: 0.85" in text
    path = tmp_path_factory.mktemp("params") / "practice.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def engine_file(tmp_path_factory) -> Path:
    """Parameters that choose the statsmodels engine for the models."""
    path = tmp_path_factory.mktemp("engine") / "models.yaml"
    path.write_text("models:\n  engine: statsmodels\n")
    return path


def test_the_research_notebook_honours_every_parameter(tmp_path, engine_file):
    """PCL-5, sessions, no case mix, other minimum scores and a run folder: every label,
    statement, figure and refit follows. The fits use the run's own parameters (issue 31): the
    demo's previous quarter, as of 2026-08-01, not the default period, and not the parameters
    file, which names only the demo's parameters when no run folder is given."""
    before = demo_run().parent / "before"  # the quarter before the demo's, run by demo_run
    said = _run("outcomes_models", tmp_path / "om.ipynb", run_folder=str(before),
                params_file=str(engine_file), instrument="PCL-5", time_metric="sessions",
                case_mix=False, min_scores=4, early_leaver_min_scores=6)
    text = _html_text(said)
    data = pk.load_prepared(before)
    cfg = r.load_run(before).config
    assert str(cfg.period_end) == "2026-08-01" and cfg.models.engine == "perfkit"
    rows = models.model_data(data.assessments, cfg, "PCL-5", time_metric="sessions",
                             min_scores=4)
    fit = models.fit_growth_model(rows, cfg, "PCL-5", fixed="score ~ time")
    # the fit the notebook made before: the parameters file and the default period
    default_rows = models.model_data(data.assessments, pk.load_config(engine_file), "PCL-5",
                                     time_metric="sessions", min_scores=4)
    assert len(default_rows) > len(rows) > 0  # the default period ends three months later
    assert f"{fit.n_clinicians} / {fit.n_clients} / {fit.n_scores}" in text
    assert fit.n_scores == len(rows)
    assert fit.engine.startswith("perfkit") and fit.engine in text
    assert "statsmodels MixedLM" not in text  # the engine file is not the run's
    assert fit.formula in text and "intake_c" not in fit.formula
    assert "sessions since the episode's first score" in text
    for term, value in fit.fixed_effects.items():
        assert f"{value:.4f}" in text, term
    assert "change per session (points)" in text
    assert str(research.share_statement(fit)).replace("**", "") in text.replace("**", "")
    assert f"At session {fit.share_at_time:g}" in text
    sens = model_checks.sensitivity_to_early_leavers(
        data.assessments, cfg, "PCL-5", min_scores=6, time_metric="sessions",
        fixed="score ~ time", base_min_scores=4)
    # the sensitivity check's full fit is the fit reported above, refitted with its settings
    assert list(sens["effect"].round(6)) == list(fit.effects["effect"].round(6))
    first = sens.iloc[0]
    assert (f"{first['effect']:+.3f} ({first['ci_low']:+.3f} to {first['ci_high']:+.3f})"
            in text)
    assert "three-level, no case mix (reported above)" in text
    assert "p = 0 " not in text and "p = 0.000" not in text
    for wrong in ("case-mix adjusted", "after allowing for", "points/week", "At week",
                  "weekly", "per week", "NaN", "..."):
        assert wrong not in text, wrong


def test_the_report_notebooks_honour_their_parameters(tmp_path, params_file):
    folder = demo_run()
    run = r.load_run(folder)
    said = _html_text(_run("practice_report", tmp_path / "p.ipynb", run_folder=str(folder),
                           params_file=str(params_file)))
    assert str(r.first_screen(run)).replace("**", "") in said.replace("**", "")
    # a parameters file with no run folder: the demo run with those parameters
    other = r.load_run(demo_run(params_file))
    assert other.config.operations.utilization_alert == 0.85
    said = _html_text(_run("practice_report", tmp_path / "q.ipynb",
                           params_file=str(params_file)))
    assert str(r.first_screen(other)).replace("**", "") in said.replace("**", "")
    assert str(r.first_screen(other)) != str(r.first_screen(run))  # the threshold counts
    # a clinician who left during the period of the run before: accepted, their own report
    before = folder.parent / "before"
    said = _html_text(_run("clinician_report", tmp_path / "c.ipynb", run_folder=str(before),
                           clinician_id="C08", params_file=str(params_file)))
    b = r.load_run(before)
    assert b.name_of("C08") in said and "C08" in set(b.table("clinician_metrics")[
        "clinician_id"])
    assert str(r.questions_to_explore(b, "C08")) in said
    said = _html_text(_run("supervisor_report", tmp_path / "s.ipynb", run_folder=str(folder),
                           supervisor_id="C02", params_file=str(params_file)))
    assert str(r.supervision_questions(run, r.supervisees_of(run, "C02"))) in said
    said = _html_text(_run("explore", tmp_path / "e.ipynb", run_folder=str(before),
                           params_file=str(params_file)))
    assert ex.run_words(b).replace("**", "") in said.replace("**", "")


def test_the_explorer_covers_every_clinician_with_data():
    run = r.load_run(demo_run())
    choices = dict((cid, label) for label, cid in ex.clinician_choices(run))
    weekly = set(run.table("weekly_metrics")["clinician_id"])
    assert set(choices) == weekly | set(run.table("clinician_metrics")["clinician_id"])
    assert choices["C08"].endswith("left 30 Jun 2026)")
    assert "joined 01 May 2026" in choices["C06"]
    # the weeks chosen govern the clients' chart too: fewer scores in a shorter span
    whole = r.trajectories_figure(run, "C01", whose="Maya")
    part = ex.trajectories_view(run, "C01", "PHQ-9", whose="Maya", start="2026-06-01",
                                end="2026-06-30")
    n = [int(re.search(r"\((\d+) scores\)", f.alt).group(1)) for f in (whole, part)]
    assert 0 < n[1] < n[0] and whole.alt.startswith("Maya's")
    # the report's figure (the run's tables) and the explorer's (worked out again from the
    # prepared snapshot) say the same of the whole run
    assert ex.trajectories_view(run, "C01", "PHQ-9", whose="Maya").alt == whole.alt
    _, rows = ex.weekly_view(run, "C01", "utilization", "2026-06-01", "2026-06-29")
    shown = rows.data
    assert len(shown) == 5 and shown["Utilization"].str.endswith("%").all()


def test_a_clinician_with_no_figures_for_the_period_gets_one_sentence():
    run = r.load_run(demo_run())
    with pytest.raises(ValueError, match=r"C08 has no figures .* they left on 30 Jun 2026"):
        r.pick_clinician(run, "C08")


def test_a_relative_run_folder_is_found_from_the_project(tmp_path, monkeypatch):
    """From notebooks/ (where a kernel starts), ``reports/x`` is the project's reports/x; a
    path that is nowhere says every full path looked at."""
    folder = ROOT / "reports" / ".test-relative-run"
    try:
        demo = demo_run()
        import shutil

        shutil.copytree(demo, folder)
        monkeypatch.chdir(NOTEBOOKS)
        assert r.load_run("reports/.test-relative-run").folder == folder.resolve()
        assert pk.load_prepared("reports/.test-relative-run").path.parent == folder.resolve()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with pytest.raises(FileNotFoundError) as err:
        r.load_run("reports/nowhere")
    said = str(err.value)
    assert str(NOTEBOOKS / "reports" / "nowhere") in said and str(ROOT / "reports" / "nowhere") \
        in said


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_name_the_perfkit_kernel(path):
    spec = nbformat.read(path, as_version=4).metadata.kernelspec
    assert (spec.name, spec.display_name) == ("perfkit", "Python (perfkit)")


def test_papermill_runs_a_notebook_on_the_kernel_it_names(tmp_path):
    """The README's plain papermill command: no kernel given, the notebook's own "perfkit"
    kernel (``make setup`` registers it inside .venv) runs it."""
    from jupyter_client.kernelspec import KernelSpecManager

    assert "perfkit" in KernelSpecManager().find_kernel_specs(), "run make setup"
    done = _execute(NOTEBOOKS / "explore.ipynb", tmp_path / "e.ipynb")
    assert done.metadata.kernelspec.name == "perfkit"
    assert not any(o.get("output_type") == "error" for c in done.cells
                   for o in c.get("outputs", []))


def test_the_makefile_registers_the_kernel_for_papermill():
    make = (ROOT / "Makefile").read_text()
    assert "ipykernel install --sys-prefix --name $(KERNEL)" in make
    assert "--nbval-current-env" in (ROOT / "pyproject.toml").read_text()
