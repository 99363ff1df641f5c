"""Benchmark: fit the three-level growth model at about 4k, 35k and 84k scores, in perfkit
(statsmodels with perfkit's fitting procedure) and, when R with lme4 is present, in lme4 on the
same files.

    .venv/bin/python benchmarks/bench_models.py            # all sizes
    .venv/bin/python benchmarks/bench_models.py --sizes 4k  # one size

Data are drawn from perfkit.models.simulate_growth_data (the same structure as perfkit's
model_data files). Prints fit seconds, REML log-likelihoods and their difference, and the time
ratio. Timings are recorded in benchmarks/README.md, never asserted in tests.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import perfkit as pk
from perfkit import models

SIZES = {  # clinicians, clients per clinician, scores per client
    "4k": (20, 40, 5),
    "35k": (70, 100, 5),
    "84k": (120, 140, 5),
}

R_SCRIPT = r"""
suppressMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1], colClasses = c(clinician_id = "character",
                                                    client_id = "character"))
t <- system.time(fit <- lmer(score ~ week * intake_c + (1 + week | clinician_id) +
  (1 | clinician_id:client_id) + (0 + week | clinician_id:client_id), data = d, REML = TRUE))
cat(t[["elapsed"]], as.numeric(logLik(fit)), "\n")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", default=list(SIZES))
    args = ap.parse_args()
    cfg = pk.load_config()
    rscript = shutil.which("Rscript")
    print(f"{'size':>5} {'scores':>7} {'perfkit s':>10} {'lme4 s':>8} {'ratio':>7} "
          f"{'perfkit logLik':>15} {'lme4 logLik':>13} {'diff':>8}  optimizer path")
    with tempfile.TemporaryDirectory() as tmp:
        rfile = Path(tmp) / "fit.R"
        rfile.write_text(R_SCRIPT)
        for size in args.sizes:
            n_c, per, scores = SIZES[size]
            data = models.simulate_growth_data(n_c, per, scores, seed=42)
            path = Path(tmp) / f"{size}.csv"
            data.to_csv(path, index=False)
            t0 = time.perf_counter()
            fit = models.fit_growth_model(data, cfg, "bench")
            ours = time.perf_counter() - t0
            r_time = r_ll = float("nan")
            if rscript:
                out = subprocess.run([rscript, str(rfile), str(path)], capture_output=True,
                                     text=True, check=True).stdout.split()
                r_time, r_ll = float(out[0]), float(out[1])
            path_txt = " > ".join(c["optimizer"] for c in fit.candidates)
            print(f"{size:>5} {len(data):>7} {ours:>10.1f} {r_time:>8.2f} "
                  f"{ours / r_time:>7.1f} {fit.reml_loglik:>15.3f} {r_ll:>13.3f} "
                  f"{fit.reml_loglik - r_ll:>8.3f}  {path_txt}", flush=True)


if __name__ == "__main__":
    main()
