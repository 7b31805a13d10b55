import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.planning import with_best_setting
from sincvae.report import aggregate_seeds, seed_rows

case = with_best_setting(snakemake.params.case, snakemake.input.get("best"))
histories = snakemake.input.histories or [None] * len(snakemake.params.seeds)  # none for training-free methods
stages = {}
for seed, metrics_path, history_path in zip(snakemake.params.seeds, snakemake.input.metrics, histories):
    with open(metrics_path) as f:
        metrics = json.load(f)
    history = None if history_path is None else pd.read_csv(history_path)
    for row in seed_rows(metrics, {**case, "seed": seed}, history):
        stages.setdefault(row["stage"], []).append(row)
w = snakemake.wildcards
with open(snakemake.output.metrics, "w") as out:
    json.dump({"dataset": w.dataset, "case": w.case, "method": case["method"],
               "stages": {stage: aggregate_seeds(rows) for stage, rows in stages.items()}}, out, indent=2)
print(f"{len(snakemake.params.seeds)} seeds and stages {', '.join(stages)} aggregated into {snakemake.output.metrics}")
