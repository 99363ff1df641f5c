"""Write the reference datasets for the lme4 comparison (deterministic by seed).

    .venv/bin/python tests/reference/make_datasets.py && Rscript tests/reference/lme4_fits.R

The datasets are drawn from perfkit.models.simulate_growth_data, so they have the structure of
perfkit's model data: scores within clients within clinicians.
"""

from pathlib import Path

from perfkit.models import simulate_growth_data

HERE = Path(__file__).parent

DATASETS = {
    # modest clinician differences, like a small practice
    "small_practice": dict(n_clinicians=8, clients_per=15, scores_per=6, seed=1),
    # larger clinician intercept and slope variance, more clinicians with fewer clients
    "varied_clinicians": dict(n_clinicians=15, clients_per=10, scores_per=5, seed=2,
                              clinician_sd=(1.5, 0.12), clinician_corr=0.4),
    # no clinician differences at all: lme4 reports a singular fit
    "no_clinician_effect": dict(n_clinicians=10, clients_per=12, scores_per=5, seed=3,
                                clinician_sd=(0.0, 0.0)),
}

if __name__ == "__main__":
    (HERE / "data").mkdir(exist_ok=True)
    for name, kw in DATASETS.items():
        simulate_growth_data(**kw).to_csv(HERE / "data" / f"{name}.csv", index=False)
        print("wrote", name)
