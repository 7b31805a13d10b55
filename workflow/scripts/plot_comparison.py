import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.show.plots import coverage_vs_compute, save_figure

save_figure(coverage_vs_compute(pd.read_csv(snakemake.input[0]), snakemake.params.samples), snakemake.output[0])
