import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.data import load_split
from sincvae.evaluate import evaluate_exact
from sincvae.exact import solutions_by_split
from sincvae.forward import ForwardMap

# The exact solutions scored as a method (weighted by the posterior): the comparison's bound.
fmap = ForwardMap.from_config(snakemake.params.dataset)
metrics = {"dataset": snakemake.wildcards.dataset, "case": "exact", "splits": {}}
scores = []
for split, solutions in solutions_by_split(pd.read_parquet(snakemake.input.solutions)).items():
    x, y = (t.numpy()[:len(solutions)] for t in load_split(snakemake.input[split]))
    split_scores, summary = evaluate_exact(fmap, x, y, solutions, snakemake.params.match_tolerance)
    counts = pd.Series([len(lines) for lines, _ in solutions]).value_counts().sort_index()
    summary["solution_counts"] = {str(k): int(v) for k, v in counts.items()}
    metrics["splits"][split] = summary
    scores.append(split_scores.assign(split=split))
    print(split, json.dumps(summary))
pd.concat(scores, ignore_index=True).to_parquet(snakemake.output.scores, index=False)
with open(snakemake.output.metrics, "w") as out:
    json.dump(metrics, out, indent=2)
