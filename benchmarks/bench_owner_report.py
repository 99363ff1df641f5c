"""Benchmark: the owner's report of a 200-clinician, 12-month practice.

    .venv/bin/python benchmarks/bench_owner_report.py --clinicians 200 --repeat 1

Steps: generate the practice (``perfkit demo``, not counted) and run the quarter before it for
its tables (``perfkit run --tables-only``, not counted: it is last quarter's run, which this
one compares with); then, timed, ``perfkit run --role owner`` as a practice owner types it: the
snapshot, checks, every table and growth model, and the practice report rendered to HTML. Each
repeat runs into a new folder (the fastest is reported). With Chromium installed, the report is
also printed to PDF and its pages counted (issue 28: at most 12 pages at 200 clinicians).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import perfkit as pk
from perfkit.history import previous_period


def _perfkit(*args, key: Path) -> float:
    """Run ``perfkit`` with ``args`` and the pseudonym key file ``key``; the seconds it took."""
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("perfkit")), *map(str, args)],
                   check=True, capture_output=True,
                   env={**os.environ, "PERFKIT_PSEUDONYM_KEY_FILE": str(key)})
    return time.perf_counter() - t0


def _printed_pages(page: Path) -> int | None:
    """Pages of ``page`` printed to PDF by headless Chromium (None without Chromium)."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:
        return None
    import pypdf

    pdf = page.with_suffix(".pdf")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", f"--user-data-dir={page.parent / '.chromium'}",
                    f"--print-to-pdf={pdf}", page.resolve().as_uri()],
                   capture_output=True, timeout=300)
    return len(pypdf.PdfReader(pdf).pages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clinicians", type=int, default=200)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        key = tmp / "pseudonym.key"
        t_gen = _perfkit("demo", "--clinicians", args.clinicians, "--months", args.months,
                         "--out", tmp / "data", key=key)
        cfg = pk.load_config()
        first, last = previous_period(cfg.period_start, cfg.period_end)
        times = []
        for k in range(args.repeat):
            reports = tmp / f"reports{k}"
            t_before = _perfkit("run", "--data", tmp / "data", "--out",
                                reports / last.isoformat(), "--tables-only", "--period-start",
                                first, "--period-end", last, key=key)
            out = reports / cfg.period_end.isoformat()
            times.append(_perfkit("run", "--data", tmp / "data", "--out", out, "--role",
                                  "owner", "--workers", 2, key=key))
        page = out / "practice.html"
        pages = _printed_pages(page)
        size = page.stat().st_size
    print(f"practice: {args.clinicians} clinicians x {args.months} months "
          f"(fastest of {args.repeat})")
    print(f"  generate (perfkit demo, not counted)               {t_gen:6.1f} s")
    print(f"  quarter before, --tables-only (not counted)        {t_before:6.1f} s")
    print(f"  perfkit run --role owner (tables + owner's report) {min(times):6.1f} s")
    print(f"  practice.html {size / 1e6:.1f} MB"
          + (f", {pages} printed pages (Chromium, Letter)" if pages else ""))


if __name__ == "__main__":
    main()
