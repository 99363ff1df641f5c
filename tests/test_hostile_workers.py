"""Issue 29, item 11: the report workers under hostile notebooks. A report whose process is
killed (the kernel ends its own worker, as the out-of-memory killer would) fails alone and is
retried once; a step that never ends is stopped at the time limit and the batch finishes.

The notebooks here are the smallest that render: a parameters cell and one cell of code, put
where :func:`perfkit.render.notebook_dir` looks (``$PERFKIT_NOTEBOOKS``). Each report appends a
line to ``attempts/<clinician_id>`` when it runs, so the test counts its attempts."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
import zmq

import perfkit as pk
from perfkit.render import all_reports_failed, render_reports

# report workers killed and timed out on purpose: `make test-quick` leaves these out; `make test`
# and CI run them
pytestmark = pytest.mark.end_to_end

# What a clinician's report does, by clinician id: KILL ends its worker (the kernel's parent)
# with SIGKILL, EXIT ends its own kernel, SLEEP waits far beyond the tests' time limit.
_BODY = """\
import os, pathlib, signal, time

attempts = pathlib.Path(run_folder).parent / "attempts"
attempts.mkdir(exist_ok=True)
with open(attempts / clinician_id, "a") as f:
    f.write("ran\\n")
if clinician_id.startswith("KILL"):
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)
if clinician_id == "EXIT":
    os._exit(3)
if clinician_id == "SLEEP":
    time.sleep(120)
print("report of", clinician_id)
"""


def _notebooks(folder: Path) -> Path:
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('run_folder = ""\nclinician_id = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A test report"), params,
                nbformat.v4.new_code_cell(_BODY)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, folder / "clinician_report.ipynb")
    return folder


@pytest.fixture
def notebooks(tmp_path, monkeypatch):
    monkeypatch.setenv("PERFKIT_NOTEBOOKS", str(_notebooks(tmp_path / "nb")))
    return tmp_path


def _attempts(tmp_path: Path, cid: str) -> int:
    path = tmp_path / "attempts" / cid
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_killed_worker_fails_only_its_report_after_one_retry(notebooks):
    tmp_path = notebooks
    people = [("C1", "A"), ("KILL", "B"), ("C2", "C"), ("EXIT", "D"), ("C3", "E")]
    results = render_reports(tmp_path / "run", people, practice_name="T", period="P",
                             workers=2, progress=False, roles=("clinician",))
    by_id = {r["id"]: r for r in results}
    assert [r["id"] for r in results] == [p for p, _ in people]  # one row each, in order
    assert by_id["KILL"]["status"] == "failed"
    assert by_id["KILL"]["message"] == "the report's process stopped unexpectedly twice"
    assert _attempts(tmp_path, "KILL") == 2  # tried, then retried once
    assert by_id["EXIT"]["status"] == "failed"  # a kernel that ends: that report alone
    assert by_id["EXIT"]["message"] == "the report's process stopped unexpectedly twice"
    assert _attempts(tmp_path, "EXIT") == 2
    for cid in ("C1", "C2", "C3"):
        assert by_id[cid]["status"] == "ok", by_id[cid]
        assert 1 <= _attempts(tmp_path, cid) <= 2  # running beside KILL: run again
        assert (tmp_path / "run" / "clinicians" / f"{cid}.html").is_file()
    assert not (tmp_path / "run" / "clinicians" / "KILL.html").exists()
    assert set(by_id["C1"]) == set(by_id["KILL"])  # a stopped report's row has every key
    assert not all_reports_failed(results)
    index = (tmp_path / "run" / "readers" / "KILL" / "index.html").read_text()
    assert "could not be produced" in index
    assert not (tmp_path / "run" / ".kernels").exists()


def test_every_report_killed_is_said(notebooks):
    tmp_path = notebooks
    people = [("KILL1", "A"), ("KILL2", "B")]
    results = render_reports(tmp_path / "run", people, practice_name="T", period="P",
                             workers=2, progress=False, roles=("clinician",))
    assert [r["message"] for r in results] == ["the report's process stopped unexpectedly "
                                               "twice"] * 2
    # the first to kill its worker ran twice; the other may have been stopped with that
    # worker's pool before its notebook began, and was then run once alone
    assert sorted(_attempts(tmp_path, c) for c, _ in people) in ([1, 2], [2, 2])
    assert all_reports_failed(results)


def test_a_step_that_never_ends_is_stopped_at_the_time_limit(notebooks):
    tmp_path = notebooks
    t0 = time.monotonic()
    results = render_reports(tmp_path / "run", [("SLEEP", "A"), ("C1", "B")],
                             practice_name="T", period="P", workers=1, progress=False,
                             roles=("clinician",), cell_timeout=3)
    elapsed = time.monotonic() - t0
    by_id = {r["id"]: r for r in results}
    assert by_id["SLEEP"]["status"] == "failed"
    assert by_id["SLEEP"]["message"] == ("one step of this report took longer than 3 seconds "
                                         "and was stopped")
    assert _attempts(tmp_path, "SLEEP") == 1  # a step past the limit is not retried
    assert by_id["C1"]["status"] == "ok"  # the same worker goes on with the next report
    assert elapsed < 60  # the sleep (120 s) did not hold the batch


def test_all_reports_failed_reads_results_and_manifest_rows():
    ok = {"path": "practice.html", "status": "ok", "message": "", "role": "owner"}
    bad = {"path": "clinicians/C1.html", "status": "failed", "message": "x", "role": "clinician"}
    index = {"path": "index.html", "status": "ok", "message": ""}  # not a report
    assert all_reports_failed([bad, index])
    assert not all_reports_failed([bad, ok, index])
    assert not all_reports_failed([index])  # no reports at all (--tables-only): not a failure
    assert not all_reports_failed([])


def test_the_time_limit_is_a_parameter_with_a_generous_default(tmp_path):
    assert pk.load_config().report.cell_timeout_seconds == 600
    params = tmp_path / "p.yaml"
    params.write_text("report:\n  cell_timeout_seconds: 0\n")
    with pytest.raises(pk.ConfigError, match="cell_timeout_seconds"):
        pk.load_config(params)


def test_workers_that_cannot_start_end_the_batch_with_a_sentence(notebooks):
    """Every worker fails at start (its log cannot be opened: a folder stands in its place):
    the batch still ends, after two tries, each report failed with a sentence."""
    tmp_path = notebooks
    (tmp_path / "run" / "notebooks" / "batch.log").mkdir(parents=True)
    t0 = time.monotonic()
    results = render_reports(tmp_path / "run", [("C1", "A"), ("C2", "B"), ("C3", "C")],
                             practice_name="T", period="P", workers=2, progress=False,
                             roles=("clinician",))
    assert [r["message"] for r in results] == [
        "the report workers stopped before they could start this report"] * 3
    assert _attempts(tmp_path, "C1") == 0
    assert time.monotonic() - t0 < 60


def test_a_kernel_dead_at_its_start_is_said_not_waited_for():
    """A report kernel that died at its start (another process took its port: "Address already
    in use", more likely with two test processes starting kernels at once) is said at once, in
    words the worker retries on; its client once waited for ever to send it a request."""
    from perfkit import render

    km = render._WorkerKernelManager(kernel_name="python3", client_factory=render._WarmClient)
    km.start_kernel(extra_arguments=render.KERNEL_ARGS)
    kc = None
    try:
        km.provisioner.process.kill()  # as a kernel that could not bind its port ends
        km.provisioner.process.wait()
        kc = km.client()
        kc.start_channels()
        sent = []  # what the client tried to send to the dead kernel (the send that hung)
        send = kc.shell_channel.send
        kc.shell_channel.send = lambda msg: (sent.append(msg), send(msg))[1]
        t0 = time.monotonic()
        with pytest.raises(RuntimeError, match="Kernel died") as said:
            kc.wait_for_ready(timeout=60)
        assert time.monotonic() - t0 < 30 and sent == []
        assert render._is_kernel_start_failure(said.value)
        # and no request to a kernel that goes later waits for ever to be sent
        assert kc.shell_channel.socket.getsockopt(zmq.SNDTIMEO) == render.SEND_TIMEOUT_MS
    finally:
        if kc is not None:
            kc.stop_channels()
        km.cleanup_resources()


def test_a_reset_leaves_nothing_of_a_failed_report_behind():
    """Between reports the kernel forgets the report: its variables, and the error it raised
    (Python keeps the last one, traceback and frames with it, in ``sys.last_*``, which IPython's
    reset leaves alone). What the kernel keeps of its own after its first report is frozen
    once, not again at every reset (the second reset freezes nothing more)."""
    from perfkit import render

    km = render._WorkerKernelManager(kernel_name="python3", client_factory=render._WarmClient)
    km.start_kernel(extra_arguments=render.KERNEL_ARGS)
    try:
        assert render._run_silently(km, render._WARM_UP)
        kc = km.client()

        def ask(code: str) -> str:
            """What the kernel says ``code`` is (its text/plain)."""
            msg_id, said = kc.execute(code), None
            while True:
                msg = kc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "execute_result":
                    said = msg["content"]["data"]["text/plain"]
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    return said

        assert not render._run_silently(km, "secret = 'C01'\nraise ValueError(secret)")
        assert ask("import sys; type(sys.last_value).__name__") == "'ValueError'"
        assert render._reset_kernel(km) and km.settled
        assert ask("[n for n in dir() if n == 'secret']") == "[]"
        assert ask("import sys; sys.last_value") is None  # None shows nothing
        frozen = int(ask("import gc; gc.get_freeze_count()"))
        assert frozen > 0
        assert render._reset_kernel(km)  # frozen objects may die; none is added
        assert int(ask("import gc; gc.get_freeze_count()")) <= frozen
    finally:
        kc = km._client
        if kc is not None:
            kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_report_workers_leave_out_the_iri_grammar_the_caller_keeps():
    """The fork server counts ``rfc3987_syntax`` as not installed (perfkit.render_preload):
    its workers have the rendering libraries, and jsonschema without the ``iri`` format
    check; the caller's own process is left as it was."""
    import sys
    from concurrent.futures import ProcessPoolExecutor

    from perfkit import render

    with ProcessPoolExecutor(1, mp_context=render._worker_context()) as pool:
        seen = pool.submit(eval, "(__import__('sys').modules.get('rfc3987_syntax', 0), "
                                 "'iri' in __import__('jsonschema').FormatChecker().checkers, "
                                 "'papermill' in __import__('sys').modules)").result()
    assert seen == (None, False, True)
    assert sys.modules.get("rfc3987_syntax", 0) is not None
