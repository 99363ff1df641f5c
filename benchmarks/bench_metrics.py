"""Benchmark: ingest + validation + every operational metric on a large synthetic practice.

    .venv/bin/python benchmarks/bench_metrics.py --clinicians 200 --months 12

Generates the practice (not timed), then times, in this process: ingest and row validation
(``perfkit.ingest``), the period table (``clinician_metrics``), the weekly series
(``weekly_metrics``), trend labels and flags. Reports wall time per step, the total, and the
peak resident memory of the process. Target on the 2-core machine: under 5 s and 2 GB.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import perfkit as pk
from perfkit import operations as op
from perfkit.demo import DemoSettings, write_demo
from perfkit.operations import flags
from perfkit.prepared import Prepared
from perfkit.trends import trend_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinicians", type=int, default=200)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3, help="runs; the fastest is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "practice"
        write_demo(data_dir, DemoSettings(n_clinicians=args.clinicians, months=args.months))
        cfg = pk.load_config(Path(__file__).parents[1] / "parameters" / "practice.yaml",
                             pseudonym_key_file=Path(tmp) / "bench.key")
        best = None
        for _ in range(args.repeat):
            steps = {}
            t0 = time.perf_counter()
            ing = pk.ingest(data_dir, cfg)
            steps["ingest + validation"] = time.perf_counter() - t0
            data = Prepared(ing.tables, ing.quality, {"timezone": cfg.timezone})
            t = time.perf_counter()
            metrics = op.clinician_metrics(data, cfg)
            steps["clinician_metrics (period)"] = time.perf_counter() - t
            t = time.perf_counter()
            weekly = op.weekly_metrics(data, cfg)
            steps["weekly_metrics (52 weeks)"] = time.perf_counter() - t
            t = time.perf_counter()
            trend_labels(weekly, cfg)
            flags(metrics, cfg)
            steps["trend labels + flags"] = time.perf_counter() - t
            steps["total"] = time.perf_counter() - t0
            if best is None or steps["total"] < best["total"]:
                best = steps
    q = ing.quality["tables"]
    print(f"practice: {args.clinicians} clinicians x {args.months} months: "
          f"{q['appointments']['rows_in']:,} appointments, {q['notes']['rows_in']:,} notes, "
          f"{q['assessments']['rows_in']:,} assessments (fastest of {args.repeat} runs)")
    for name, seconds in best.items():
        print(f"  {name:<28} {seconds:6.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  {'peak memory (process)':<28} {peak:6.0f} MB")


if __name__ == "__main__":
    main()
