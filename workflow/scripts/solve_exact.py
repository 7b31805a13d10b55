import json
import sys
import time

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.data import load_split
from sincvae.evaluate import evaluate_exact, evaluated_splits
from sincvae.exact import NoSolution, solutions_frame, solve_split
from sincvae.forward import ForwardMap

options = snakemake.params.evaluate
fmap = ForwardMap.from_config(snakemake.params.dataset)
metrics = {"dataset": snakemake.wildcards.dataset, "case": "exact", "splits": {}}
frames, scores = [], []
for split, rows in evaluated_splits(options["validation_rows"]):
    x, y = (t.numpy() for t in load_split(snakemake.input[split]))
    x, y = x[:rows], y[:rows]
    started = time.perf_counter()
    try:
        solutions = solve_split(fmap, y, snakemake.params.tolerance, known=x)
    except NoSolution as err:
        raise NoSolution(f"{snakemake.input[split]}, split {split}: {err}") from None
    seconds = time.perf_counter() - started
    counts = pd.Series([len(lines) for lines, _ in solutions]).value_counts().sort_index()
    print(f"{split}: {len(y)} rows solved in {seconds:.2f} s ({len(y) / seconds:.0f} y/s); "
          f"solutions per y: {counts.to_dict()}")
    split_scores, summary = evaluate_exact(fmap, x, y, solutions, options["match_tolerance"])
    summary["solution_counts"] = {str(k): int(v) for k, v in counts.items()}
    metrics["splits"][split] = summary
    frames.append(solutions_frame(split, solutions))
    scores.append(split_scores.assign(split=split))

pd.concat(frames, ignore_index=True).to_parquet(snakemake.output.solutions, index=False)
pd.concat(scores, ignore_index=True).to_parquet(snakemake.output.scores, index=False)
with open(snakemake.output.metrics, "w") as out:
    json.dump(metrics, out, indent=2)
