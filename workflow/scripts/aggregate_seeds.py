import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.plots import loss_curves, save_figure
from sincvae.report import aggregate_seeds, seed_row

rows, histories = [], []
for seed, metrics_path, history_path in zip(snakemake.params.seeds, snakemake.input.metrics,
                                            snakemake.input.histories):
    with open(metrics_path) as f:
        metrics = json.load(f)
    history = pd.read_csv(history_path)
    rows.append(seed_row(metrics, {**snakemake.params.case, "seed": seed}, history))
    histories.append(history.assign(seed=f"seed {seed}"))
with open(snakemake.output.metrics, "w") as out:
    json.dump(aggregate_seeds(rows), out, indent=2)
save_figure(loss_curves(pd.concat(histories), hue="seed"), snakemake.output.curves)
print(f"{len(rows)} seeds aggregated into {snakemake.output.metrics}")
