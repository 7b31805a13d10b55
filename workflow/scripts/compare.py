import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.report import comparison_row

def read(path):
    with open(path) as f:
        return json.load(f)


rows = [comparison_row(read(path)) for path in snakemake.input.exact]
for metrics_path, history_path in zip(snakemake.input.metrics, snakemake.input.histories):
    metrics = read(metrics_path)
    rows.append(comparison_row(metrics, snakemake.params.cases[metrics["case"]], pd.read_csv(history_path)))
table = pd.DataFrame(rows).sort_values(["dataset", "method"], key=lambda c: c.ne("exact") if c.name == "method" else c,
                                      kind="stable")
table.to_csv(snakemake.output[0], index=False)
print(f"{len(rows)} rows written to {snakemake.output[0]}")
