import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.plots import loss_curves, save_figure

histories = pd.concat(pd.read_csv(path).assign(seed=f"seed {seed}")
                      for seed, path in zip(snakemake.params.seeds, snakemake.input.histories))
save_figure(loss_curves(histories, hue="seed"), snakemake.output[0])
