import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from sincvae.problem.data import validate_dataset
from sincvae.problem.forward import ForwardMap

fmap = ForwardMap.from_config(snakemake.params.dataset)
summary = {"dataset": snakemake.wildcards.dataset, "equations": str(fmap), "splits": {}}
for split, path in zip(snakemake.params.splits, snakemake.input):
    print(f"validating {path} against {fmap}")
    summary["splits"][split] = validate_dataset(path, fmap, snakemake.params.tolerance)
with open(snakemake.output[0], "w") as out:
    json.dump(summary, out, indent=2)
