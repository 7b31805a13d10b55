import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from sincvae.learn.tuning import grid_frame

metrics = []
for path in snakemake.input.metrics:  # a grid point's first (only) seed's
    with open(path) as f:
        metrics.append(json.load(f)[0])
table = grid_frame(snakemake.params.points, metrics)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string())
