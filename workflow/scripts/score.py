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
from sincvae.score.scoring import each_seed, lines_from_frame, save_table, score_stored, targets_by_split

# A case's stored lines, every batch's, scored seed by seed against the exact solutions of the
# rows they answer (torch-free: the scored rows come from the solver's table, not the data files).
w, inputs, out = snakemake.wildcards, snakemake.input, snakemake.output
case, seeds = with_best_setting(snakemake.params.case, inputs.get("best")), snakemake.params.seeds
fmap = ForwardMap.from_config(snakemake.params.dataset)
seed_lines = [lines_from_frame(frame, POINTS)
              for frame in each_seed([pd.read_parquet(path) for path in inputs.lines], seeds)]
# only the splits the lines answer (every seed's the same): a grid point's, or the scoring split
answered = [("split", "in", sorted({split for split, _ in seed_lines[0]}))]
splits = targets_by_split(pd.read_parquet(inputs.targets, filters=answered))
solutions = solutions_by_split(pd.read_parquet(inputs.solutions, filters=answered))
seed_metrics, seed_scores, seed_rows, seconds = [], [], [], 0.0
for seed, lines in zip(seeds, seed_lines, strict=True):
    start = time.perf_counter()
    scores, rows, summaries = score_stored(fmap, lines, splits, solutions, snakemake.params.match_tolerance,
                                           snakemake.params.seed)
    seconds += time.perf_counter() - start
    seed_scores.append(scores.assign(seed=seed))
    seed_rows.append(rows.assign(dataset=w.dataset, case=w.case, seed=seed))
    seed_metrics.append(records.scored(w.dataset, w.case, case["method"], summaries))
    print(f"seed {seed} scored:", json.dumps(summaries, indent=2))
save_table(pd.concat(seed_scores, ignore_index=True), out.scores)
pd.concat(seed_rows, ignore_index=True).to_parquet(out.rows, index=False)
records.write(seed_metrics, out.seed_metrics)
histories = (each_seed([pd.read_csv(path) for path in inputs.histories], seeds) if "histories" in inputs.keys()
             else [None] * len(seeds))
records.write(case_summary(case, list(seeds), seed_metrics, histories), out.summary)
print(f"{len(seeds)} seeds summarised in {out.summary}")
# Wall times vary run to run: kept out of the metrics, which the same config reproduces byte for byte.
with open(out.timing, "w") as f:
    json.dump({"dataset": w.dataset, "case": w.case, "score_s": seconds}, f, indent=2)
