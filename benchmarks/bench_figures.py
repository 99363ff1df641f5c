"""Benchmark: the figures of N clinician reports drawn in one process, as a report kernel draws
them (the figure functions the clinician notebook calls, each figure's PNG as the notebook
shows it), with the CPU time (``time.process_time``: steadier than wall time on a shared
machine) per figure kind, best of ``--repeats``; the PNGs of the first round are written to OUT.
``--compare A B``: whether two such folders hold the same pictures (decoded pixels, with
Pillow and numpy), to check that a change to the figure code leaves them as they were.

    # a run folder: perfkit demo --clinicians 200 --months 12, then perfkit run --tables-only
    PYTHONPATH=src .venv/bin/python benchmarks/bench_figures.py RUN_FOLDER OUT --n 20
    .venv/bin/python benchmarks/bench_figures.py --compare OUT_BEFORE OUT_AFTER

Timings are recorded in benchmarks/README.md, never asserted in tests.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def draw(run_folder: str, out: Path, n: int, repeats: int) -> None:
    import perfkit.report as r
    from perfkit.report.figures import Figure, Figures

    r.use_report_style()
    run = r.load_run(run_folder)
    ids = sorted(run.table("clinician_metrics")["clinician_id"])[:n]
    kinds = {
        "distribution": lambda c: r.distribution_figure(run, c),
        "ramp": lambda c: r.ramp_figure(run, only=c),
        "weekly": lambda c: r.weekly_trends_figure(run, c),
        "trajectories": lambda c: r.trajectories_figure(run, c, "PHQ-9"),
        "caterpillar": lambda c: r.caterpillar_figure(run, "PHQ-9", only=c),
        "compliance": lambda c: r.compliance_figure(run, [c], names=False),
    }

    def pngs(shown) -> list[bytes]:
        return [p.png() for p in shown.pages] if isinstance(shown, Figure | Figures) else []

    for f in kinds.values():  # warm up: imports, the font cache, the tables read
        pngs(f(ids[0]))
    out.mkdir(parents=True, exist_ok=True)
    best: dict[str, float] = {}
    for rep in range(repeats):
        spent = dict.fromkeys(kinds, 0.0)
        for cid in ids:
            for kind, f in kinds.items():
                t0 = time.process_time()
                images = pngs(f(cid))
                spent[kind] += time.process_time() - t0
                if rep == 0:
                    for k, png in enumerate(images):
                        (out / f"{cid}_{kind}_{k}.png").write_bytes(png)
        best = {k: min(best.get(k, float("inf")), v) for k, v in spent.items()}
        print(f"round {rep + 1}: " + ", ".join(f"{k} {v / n * 1000:.0f}" for k, v in
                                                spent.items())
              + f"; all {sum(spent.values()) / n * 1000:.0f} ms CPU a report", flush=True)
    print(f"best of {repeats}, ms CPU a report: "
          + ", ".join(f"{k} {v / n * 1000:.0f}" for k, v in best.items())
          + f"; all {sum(best.values()) / n * 1000:.0f}")


def compare(a: Path, b: Path) -> bool:
    import numpy as np
    from PIL import Image

    names = sorted(p.name for p in a.glob("*.png"))
    if names != sorted(p.name for p in b.glob("*.png")):
        print("the two folders hold different figures")
        return False
    differ = []
    for name in names:
        with Image.open(a / name) as x, Image.open(b / name) as y:
            if x.size != y.size or x.mode != y.mode or not np.array_equal(np.asarray(x),
                                                                          np.asarray(y)):
                differ.append(name)
    size_a = sum((a / n).stat().st_size for n in names)
    size_b = sum((b / n).stat().st_size for n in names)
    same_bytes = sum((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    print(f"{len(names)} figures, {len(differ)} with different pixels {differ or ''}; "
          f"{same_bytes} byte for byte the same; {size_a:,} bytes -> {size_b:,}")
    return not differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_folder", nargs="?")
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--n", type=int, default=20, help="clinicians (the first by id)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = ap.parse_args()
    if args.compare:
        raise SystemExit(0 if compare(*args.compare) else 1)
    if not args.run_folder or not args.out:
        ap.error("give RUN_FOLDER and OUT, or --compare A B")
    draw(args.run_folder, args.out, args.n, args.repeats)


if __name__ == "__main__":
    main()
