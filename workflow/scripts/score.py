import json
import sys
import time

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.score import records
from sincvae.problem.exact import solutions_by_split
from sincvae.problem.forward import ForwardMap
from sincvae.problem.lines import POINTS
from sincvae.plan.cases import with_best_setting
from sincvae.score.summary import case_summary
from sincvae.score.scoring import lines_from_frame, save_table, score_stored, targets_by_split

# A case's stored lines, each seed's, scored against the exact solutions of the rows they answer
# (torch-free: the scored rows come from the solver's table, not the data files).
w, inputs, out = snakemake.wildcards, snakemake.input, snakemake.output
case, seeds = with_best_setting(snakemake.params.case, inputs.get("best")), snakemake.params.seeds
fmap = ForwardMap.from_config(snakemake.params.dataset)
seed_lines = [lines_from_frame(pd.read_parquet(path), POINTS) for path in inputs.lines]
# only the splits the lines answer (every seed's the same): a grid point's, or the scoring split
answered = [("split", "in", sorted({split for split, _ in seed_lines[0]}))]
splits = targets_by_split(pd.read_parquet(inputs.targets, filters=answered))
solutions = solutions_by_split(pd.read_parquet(inputs.solutions, filters=answered))
seed_metrics, seconds = [], 0.0
for index, (seed, lines) in enumerate(zip(seeds, seed_lines, strict=True)):
    start = time.perf_counter()
    scores, rows, summaries = score_stored(fmap, lines, splits, solutions, snakemake.params.match_tolerance,
                                           snakemake.params.seed)
    seconds += time.perf_counter() - start
    save_table(scores, out.scores[index])
    rows.assign(dataset=w.dataset, case=w.case, seed=seed).to_parquet(out.rows[index], index=False)
    metrics = records.scored(w.dataset, w.case, case["method"], summaries)
    records.write(metrics, out.metrics[index])
    print(f"seed {seed}: {inputs.lines[index]} scored:", json.dumps(summaries, indent=2))
    seed_metrics.append(metrics)
histories = [pd.read_csv(path) for path in inputs.histories] if "histories" in inputs.keys() else [None] * len(seeds)
records.write(case_summary(case, list(seeds), seed_metrics, histories), out.summary)
print(f"{len(seeds)} seeds summarised in {out.summary}")
# Wall times vary run to run: kept out of the metrics, which the same config reproduces byte for byte.
with open(out.timing, "w") as f:
    json.dump({"dataset": w.dataset, "case": w.case, "score_s": seconds}, f, indent=2)
