"""Benchmark: generate a large synthetic practice and ingest it (validation + typed snapshot).

    .venv/bin/python benchmarks/bench_ingest.py --clinicians 200 --months 12
    .venv/bin/python benchmarks/bench_ingest.py --as simplepractice   # an import profile's shape

Prints wall time and peak memory of each step. Timings are recorded in benchmarks/README.md;
they are measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import perfkit as pk
from perfkit.demo import DemoSettings, write_demo
from perfkit.demo_exports import EXPORT_SHAPES, export_as


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinicians", type=int, default=200)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--as", dest="shape", choices=EXPORT_SHAPES, default=None,
                    help="write the practice as this EHR export and read it with its profile")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "practice"
        t0 = time.perf_counter()
        write_demo(data, DemoSettings(n_clinicians=args.clinicians, months=args.months))
        if args.shape:
            data = export_as(args.shape, data, Path(tmp) / args.shape)
        t_gen = time.perf_counter() - t0
        cfg = pk.load_config(pseudonym_key_file=Path(tmp) / "bench.key",
                             source=args.shape or "contract")
        t0 = time.perf_counter()
        ing = pk.ingest(data, cfg)
        t_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        pk.prepare(data, Path(tmp) / "run", cfg)
        t_prepare = time.perf_counter() - t0
    q = ing.quality["tables"]
    print(f"practice: {args.clinicians} clinicians x {args.months} months "
          f"({args.shape or 'contract'} shape): "
          f"{q['appointments']['rows_in']:,} appointments, {q['notes']['rows_in']:,} notes, "
          f"{q['assessments']['rows_in']:,} assessments")
    print(f"generate (perfkit demo):            {t_gen:6.1f} s")
    print(f"ingest + validation:                {t_ingest:6.1f} s")
    print(f"ingest + pandera + Parquet snapshot: {t_prepare:6.1f} s")
    print(f"peak memory (whole process):        {peak_mb():6.0f} MB")


if __name__ == "__main__":
    main()
