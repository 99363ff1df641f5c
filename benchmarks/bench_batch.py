"""Benchmark: the report fan-out for a 200-clinician, 12-month practice.

    .venv/bin/python benchmarks/bench_batch.py --clinicians 200 --sample 6

Steps, all timed: generate the practice; ``perfkit run --tables-only`` (ingest, metrics,
outcomes; growth models only for the ORS, to keep the run short: model speed is measured by
bench_models.py); the fan-out of the practice report plus one report per clinician with
perfkit's batch (papermill's Python API in worker processes, in-process nbconvert); and the
naive loop (the papermill CLI, then the ``jupyter nbconvert`` CLI, one clinician after another)
timed on a sample of clinicians and extrapolated to all of them. Target for the fan-out of 200
clinician reports on the 2-core machine: 3 minutes.
"""

from __future__ import annotations

import argparse
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


if __name__ == "__main__":
    main()
