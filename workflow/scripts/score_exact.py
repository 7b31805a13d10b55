import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.score import records
from sincvae.problem.exact import solutions_by_split
from sincvae.problem.forward import ForwardMap
from sincvae.score.scoring import evaluate_exact, targets_by_split

# The exact solutions scored as a method (weighted by the posterior): the comparison's bound, on
# the scoring split as every case (the validation split's solutions are the search's).
fmap = ForwardMap.from_config(snakemake.params.dataset)
solutions = solutions_by_split(pd.read_parquet(snakemake.input.solutions))["scoring"]
x, y = targets_by_split(pd.read_parquet(snakemake.input.targets))["scoring"]
scores, summary = evaluate_exact(fmap, x, y, solutions, snakemake.params.match_tolerance, snakemake.params.seed)
counts = pd.Series([len(lines) for lines, _ in solutions]).value_counts().sort_index()
summary["solution_counts"] = {str(k): int(v) for k, v in counts.items()}
print("scoring", json.dumps(summary))
scores.assign(split="scoring").to_parquet(snakemake.output.scores, index=False)
records.write(records.scored(snakemake.wildcards.dataset, "exact", "exact", {"raw": {"scoring": summary}}),
              snakemake.output.metrics)
