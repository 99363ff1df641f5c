"""False alarms and detections of the trend labels (``perfkit.trends``) on simulated series.

    .venv/bin/python benchmarks/trend_false_alarms.py --series 2000

Simulates 52-week series (and 8-week short ones) and labels each with the default ``trends``
parameters; prints, per kind of series, the share labelled growing or declining:

- steady series (the false-alarm rate): Gaussian noise; weekly percentages with binomial noise
  at realistic counts (utilization of 20 offered slots at 75%, missed appointments of 20
  booked at 10%, notes signed within 72 h of 18 notes at 90%); sessions a week (Poisson, 20);
  new clients a week (Poisson, 1);
  steady utilization with a holiday week at 0 and a two-week leave gap (missing weeks) placed
  at random;
- planted changes (the detection rate, in the planted direction): a step of the level 8 weeks
  before the end (sessions 26 -> 12, 14 -> 27 a week, Poisson), a ramp over the last 8 weeks
  (missed appointments 8% -> 29%, utilization 75% -> 50%, binomial), and an 8-week new hire's
  utilization 40% -> 58%.

Seeds are fixed, so the figures repeat; they are recorded in benchmarks/README.md and
docs/references.md [SPC].
"""

from __future__ import annotations

import argparse

import numpy as np

from perfkit.config import TrendConfig
from perfkit.trends import DECLINING, GROWING, read_series


def binom(rng, n, p, weeks=52):
    """Weekly shares of ``n`` events at probability ``p`` (an array, or one value)."""
    p = np.broadcast_to(np.asarray(p, dtype=float), (weeks,))
    return rng.binomial(n, np.clip(p, 0, 1)) / n


def holiday(rng, x):
    """A week at 0 and two missing weeks (leave), at random places."""
    x = x.copy()
    weeks = rng.choice(len(x), 3, replace=False)
    x[weeks[0]] = 0.0
    gap = rng.integers(0, len(x) - 2)
    x[gap:gap + 2] = np.nan
    return x


def ramp(a, b, weeks=52, over=8):
    """A level at ``a`` that moves linearly to ``b`` over the last ``over`` weeks."""
    return np.r_[np.full(weeks - over, a), np.linspace(a, b, over + 1)[1:]]


def step(a, b, weeks=52, at=8):
    return np.r_[np.full(weeks - at, a), np.full(at, b)]


STEADY = {
    "Gaussian noise (mean 50, sd 5)": (lambda r: r.normal(50, 5, 52), False),
    "utilization, 20 slots at 75%": (lambda r: binom(r, 20, 0.75), True),
    "missed appointments, 20 booked at 10%": (lambda r: binom(r, 20, 0.10), True),
    "notes within 72 h, 18 notes at 90%": (lambda r: binom(r, 18, 0.90), True),
    "sessions a week, Poisson 20": (lambda r: r.poisson(20, 52).astype(float), False),
    "new clients a week, Poisson 1": (lambda r: r.poisson(1, 52).astype(float), False),
    "utilization with a holiday week at 0 and a 2-week leave gap":
        (lambda r: holiday(r, binom(r, 20, 0.75)), True),
    "short series: utilization 8 weeks at 60%": (lambda r: binom(r, 20, 0.6, 8), True),
}

CHANGES = {
    "step: sessions 26 -> 12 a week, 8 weeks ago": (lambda r: r.poisson(step(26, 12))
                                                     .astype(float), False, DECLINING),
    "step: sessions 14 -> 27 a week, 8 weeks ago": (lambda r: r.poisson(step(14, 27))
                                                     .astype(float), False, GROWING),
    "ramp: missed appointments 8% -> 29% over 8 weeks": (lambda r: binom(
        r, 20, ramp(0.08, 0.29)), True, GROWING),
    "ramp: utilization 75% -> 50% over 8 weeks": (lambda r: binom(r, 20, ramp(0.75, 0.50)),
                                                  True, DECLINING),
    "ramp with a holiday week: utilization 75% -> 50%": (lambda r: holiday(r, binom(
        r, 20, ramp(0.75, 0.50))), True, DECLINING),
    "short series: new hire 8 weeks, utilization 40% -> 58%": (lambda r: binom(
        r, 20, np.linspace(0.40, 0.58, 8), 8), True, GROWING),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=2000, help="series per kind")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    p = TrendConfig()
    print(f"{args.series} series per kind, default trends parameters; seed {args.seed}")
    print("\nsteady series: labelled growing or declining (false alarms)")
    for i, (name, (make, percent)) in enumerate(STEADY.items()):
        rng = np.random.default_rng([args.seed, i])
        labels = [read_series(make(rng), p, percent=percent).label for _ in range(args.series)]
        alarms = sum(lab in (GROWING, DECLINING) for lab in labels)
        print(f"  {name:<62} {alarms / args.series:6.1%}")
    print("\nplanted changes: labelled in the planted direction (detections)")
    for i, (name, (make, percent, want)) in enumerate(CHANGES.items()):
        rng = np.random.default_rng([args.seed, 100 + i])
        hits = sum(read_series(make(rng), p, percent=percent).label == want
                   for _ in range(args.series))
        print(f"  {name:<62} {hits / args.series:6.1%}")


if __name__ == "__main__":
    main()
