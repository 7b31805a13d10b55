import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.score.records import read
from sincvae.score.summary import comparison_row, exact_row, knows, timing_rows

exact = [exact_row(read(path)) for path in snakemake.input.exact]
stages = [stage for path in [*snakemake.input.metrics, *snakemake.input.external]
          for stage in read(path)["stages"].values()]
table = pd.DataFrame(exact + [comparison_row(stage) for stage in stages])
# Wall times: mean over seeds (they vary run to run, so they stay out of the metrics files).
timing = pd.DataFrame([row for path in snakemake.input.timings for seed in read(path) for row in timing_rows(seed)])
timing = timing.groupby(["dataset", "case", "stage"], as_index=False).mean(numeric_only=True).drop(columns="seed")
table = table.merge(timing, on=["dataset", "case", "stage"], how="left")
table.insert(table.columns.get_loc("method") + 1, "knows", table["method"].map(knows))
table = table.sort_values("dataset", kind="stable")  # the exact row first within each dataset
table.to_csv(snakemake.output.table, index=False)
pd.DataFrame([row for stage in stages for row in stage["per_seed"]]).to_csv(snakemake.output.seeds, index=False)
print(f"{len(table)} rows written to {snakemake.output.table}")
