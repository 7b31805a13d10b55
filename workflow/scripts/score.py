import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.data import load_split
from sincvae.evaluate import lines_from_frame, save_table, score_stored
from sincvae.exact import solutions_by_split
from sincvae.forward import ForwardMap
from sincvae.lines import POINTS
from sincvae.planning import with_best_setting
from sincvae.report import case_summary

# Every seed's stored lines of one case scored against the exact solutions: no model needed,
# so `snakemake --forcerun score` rescores a finished study after a change of the metrics.
w = snakemake.wildcards
case = with_best_setting(snakemake.params.case, snakemake.input.get("best"))
fmap = ForwardMap.from_config(snakemake.params.dataset)
solutions = solutions_by_split(pd.read_parquet(snakemake.input.solutions))
splits = {split: tuple(t.numpy() for t in load_split(snakemake.input[split])) for split in solutions}
out, seeds = snakemake.output, snakemake.params.seeds
histories = snakemake.input.get("histories") or [None] * len(seeds)
seed_metrics, seed_histories = [], []
for index, seed in enumerate(seeds):
    lines = lines_from_frame(pd.read_parquet(snakemake.input.lines[index]), POINTS)
    scores, rows, summaries = score_stored(fmap, lines, splits, solutions, snakemake.params.match_tolerance)
    save_table(scores, out.scores[index])
    rows.assign(dataset=w.dataset, case=w.case, seed=seed).to_parquet(out.rows[index], index=False)
    metrics = {"dataset": w.dataset, "case": w.case, "method": case["method"], "stages": summaries}
    with open(out.metrics[index], "w") as f:
        json.dump(metrics, f, indent=2)
    print(f"seed {seed}:", json.dumps(summaries, indent=2))
    seed_metrics.append(metrics)
    seed_histories.append(pd.read_csv(histories[index]) if histories[index] else None)
if "summary" in out.keys():  # a case's target (grid points of the search have none)
    with open(out.summary, "w") as f:
        json.dump(case_summary(case, seeds, seed_metrics, seed_histories), f, indent=2)
    print(f"{len(seeds)} seeds summarised in {out.summary}")
