import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.show.calibration_plots import (accuracy_for_time, best_cases, best_of_budget, coverage_curves,
                                            rank_histograms)
from sincvae.show.plots import coverage_vs_compute, save_figure

inputs, out = snakemake.input, snakemake.output
comparison, ranking = pd.read_csv(inputs.comparison), pd.read_csv(inputs.ranking)
save_figure(coverage_vs_compute(comparison, snakemake.params.samples), out.compute)
# Each method's best case's calibration against the exact posterior (score/diagnostics.py).
rows = pd.concat(pd.read_parquet(path) for path in inputs.rows)
cases = best_cases(comparison)
print("best case of each method:", cases)
save_figure(coverage_curves(rows, cases), out.expected_coverage)
save_figure(rank_histograms(rows, cases), out.rank_histograms)
save_figure(best_of_budget(comparison, cases), out.best_of_budget)
save_figure(accuracy_for_time(comparison, ranking, cases), out.accuracy_for_time)
