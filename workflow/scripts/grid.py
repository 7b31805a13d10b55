import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from sincvae.learn.tuning import grid_frame

metrics = []
for path in snakemake.input.metrics:
    with open(path) as f:
        metrics.append(json.load(f))
table = grid_frame(snakemake.params.points, metrics)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string())
