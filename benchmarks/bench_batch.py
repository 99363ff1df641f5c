"""Benchmark: the report fan-out for a 200-clinician, 12-month practice.

    .venv/bin/python benchmarks/bench_batch.py --clinicians 200 --sample 6

Steps, all timed: generate the practice; ``perfkit run --tables-only`` (ingest, metrics,
outcomes; growth models only for the ORS, to keep the run short: model speed is measured by
bench_models.py); the fan-out of the practice report plus one report per clinician with
perfkit's batch (papermill's Python API in worker processes, in-process nbconvert); and the
naive loop (the papermill CLI, then the ``jupyter nbconvert`` CLI, one clinician after another)
timed on a sample of clinicians and extrapolated to all of them, in the same run, and the ratio
of the two. Target (issue 33): the fan-out at least 17 times faster than the naive loop in the
same run; 200 reports in about 90 s on the 2-core machine.

``--profile N`` adds where one report's time goes: one worker (this process, perfkit's own
``render._render`` with its reused kernel) renders N clinician reports in a row, after one
report to warm the kernel up; each step is timed (papermill's execution, the namespace reset,
the HTML export), the kernel times each of its cells itself
(IPython's ``pre_run_cell``/``post_run_cell`` events), and the CPU time of the worker and of its
kernel is read from ``/proc`` (Linux). The part of papermill's execution the kernel's cells do not
account for is the round trips and papermill's and nbclient's bookkeeping.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import perfkit as pk
from perfkit.demo import DemoSettings, write_demo
from perfkit.operations import clinicians_in_period
from perfkit.pipeline import run_period
from perfkit.render import notebook_dir, render_reports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinicians", type=int, default=200)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--sample", type=int, default=6, help="clinicians for the naive loop")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also break one worker's time down over N clinician reports")
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        write_demo(tmp / "data", DemoSettings(n_clinicians=args.clinicians, months=args.months))
        t_gen = time.perf_counter() - t0
        cfg = pk.load_config(Path(__file__).parents[1] / "parameters" / "practice.yaml",
                             pseudonym_key_file=tmp / "k.key", models={"instruments": ["ORS"]})
        run = tmp / "run"
        t0 = time.perf_counter()
        run_period(tmp / "data", cfg, out=run, tables_only=True)
        t_tables = time.perf_counter() - t0
        clin = clinicians_in_period(pk.load_prepared(run, validate=False).clinicians, cfg)
        people = list(zip(clin["clinician_id"], clin["name"], strict=True))
        t0 = time.perf_counter()
        results = render_reports(run, people, practice_name=cfg.practice_name, period="bench",
                                 workers=args.workers, progress=True)
        t_fan = time.perf_counter() - t0
        failed = sum(r["status"] != "ok" for r in results)
        breakdown = one_worker(run, people, args.profile) if args.profile else None
        sample = people[: args.sample]
        t0 = time.perf_counter()
        for cid, _ in sample:
            out_nb = tmp / f"naive_{cid}.ipynb"
            subprocess.run([str(bindir / "papermill"), str(notebook_dir() /
                            "clinician_report.ipynb"), str(out_nb), "-p", "run_folder",
                            str(run), "-p", "clinician_id", cid, "--no-progress-bar"],
                           check=True, capture_output=True)
            subprocess.run([str(bindir / "jupyter"), "nbconvert", "--to", "html", "--no-input",
                            str(out_nb)], check=True, capture_output=True)
        t_naive = (time.perf_counter() - t0) / len(sample)
    n = len(results)
    print(f"practice: {args.clinicians} clinicians x {args.months} months; "
          f"{n} reports ({n - 1} clinicians + practice), {failed} failed; "
          f"{args.workers} workers")
    print(f"  generate practice                 {t_gen:7.1f} s")
    print(f"  perfkit run --tables-only         {t_tables:7.1f} s  (growth model for ORS only)")
    print(f"  fan-out, perfkit batch            {t_fan:7.1f} s  ({t_fan / n:.2f} s per report)")
    print(f"  naive loop, per report (sample {len(sample)}) {t_naive:5.1f} s  "
          f"-> {t_naive * n:7.1f} s for {n} reports (extrapolated)")
    print(f"  fan-out faster than the naive loop  {t_naive * n / t_fan:6.1f}x")
    if breakdown:
        print(breakdown)


# The kernel times each of its cells (IPython's events survive the reset between reports:
# they are not in the namespace) and appends (the cell's first line, seconds) to a file.
_CELL_CLOCK = """
import time as _time, IPython as _IPython
_s = {{}}
def _pre(info, _s=_s, _t=_time):
    _s['start'], _s['cell'] = _t.perf_counter(), info.raw_cell.splitlines()[0][:60]
def _post(result, _s=_s, _t=_time):
    with open({path!r}, 'a') as f:
        f.write(repr((_s['cell'], _t.perf_counter() - _s['start'])) + '\\n')
_IPython.get_ipython().events.register('pre_run_cell', _pre)
_IPython.get_ipython().events.register('post_run_cell', _post)
del _pre, _post, _s, _time, _IPython
"""


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux ``/proc``; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_worker(run: Path, people: list[tuple[str, str]], n: int) -> str:
    """Where one report's time goes: this process as one report worker renders ``n`` clinician
    reports in a row (after one that starts and warms its kernel), through perfkit's own
    ``render._render``; the steps it takes are timed by wrapping them."""
    import papermill

    from perfkit import render

    jobs = render._jobs(run, people[: n + 1], "Bench", "bench", roles=("clinician",))
    for job in jobs:  # a folder of their own: the fan-out's reports stay as they were
        for key in ("executed", "html"):
            job[key] = job[key].replace(str(run), str(run / "profile"), 1)
    cells = run / "profile" / "cells.txt"
    cells.parent.mkdir()
    km = render._kernel()
    assert render._run_silently(km, _CELL_CLOCK.format(path=str(cells)))
    render._render(jobs[0])
    cells.unlink(missing_ok=True)
    steps: dict[str, float] = collections.defaultdict(float)

    def timed(name, f):
        def step(*a, **k):
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                steps[name] += time.perf_counter() - t
        return step

    saved = papermill.execute_notebook, render._reset_kernel, render.export_html
    papermill.execute_notebook = timed("papermill execute", saved[0])
    render._reset_kernel = timed("namespace reset", saved[1])
    render.export_html = timed("HTML export", saved[2])
    kernel_pid = km.provisioner.process.pid
    cpu0 = _cpu_seconds(os.getpid()), _cpu_seconds(kernel_pid)
    t0 = time.perf_counter()
    try:
        for job in jobs[1:]:
            assert render._render(job)["status"] == "ok", job["name"]
    finally:
        papermill.execute_notebook, render._reset_kernel, render.export_html = saved
    total = time.perf_counter() - t0
    cpu = _cpu_seconds(os.getpid()) - cpu0[0], _cpu_seconds(kernel_pid) - cpu0[1]
    render._shutdown_kernel()
    per_cell: dict[str, float] = collections.defaultdict(float)
    for line in cells.read_text().splitlines():
        cell, seconds = eval(line)  # noqa: S307 - written just above by our own kernel
        per_cell[cell] += seconds
    in_cells = sum(per_cell.values())
    rows = [f"one worker, {n} clinician reports in a row (seconds per report):",
            f"  total                               {total / n:6.3f}"]
    rows += [f"  {name:35s} {v / n:6.3f}" for name, v in steps.items()]
    rows += [f"    of which the kernel's cells       {in_cells / n:6.3f} ({len(per_cell)} cells)",
             f"    round trips and bookkeeping       "
             f"{(steps['papermill execute'] - in_cells) / n:6.3f}",
             f"  CPU: worker {cpu[0] / n:.3f}, kernel {cpu[1] / n:.3f}",
             "  the kernel's costliest cells:"]
    rows += [f"    {v / n:6.3f}  {cell}" for cell, v in
             sorted(per_cell.items(), key=lambda kv: -kv[1])[:8]]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
