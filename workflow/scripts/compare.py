import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.report import comparison_row

rows = []
for metrics_path, history_path in zip(snakemake.input.metrics, snakemake.input.histories):
    with open(metrics_path) as f:
        metrics = json.load(f)
    rows.append(comparison_row(snakemake.params.cases[metrics["case"]], metrics, pd.read_csv(history_path)))
pd.DataFrame(rows).to_csv(snakemake.output[0], index=False)
print(f"{len(rows)} rows written to {snakemake.output[0]}")
