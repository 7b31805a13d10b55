import json
from dataclasses import replace
import sys
import time

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae import records
from sincvae.data import SolutionSets, load_split
from sincvae.evaluate import lines_frame, lines_from_frame, run_seeds, save_table, score_stored
from sincvae.exact import solutions_by_split
from sincvae.forward import ForwardMap
from sincvae.lines import POINTS
from sincvae.planning import Run, with_best_setting
from sincvae.report import case_summary
from sincvae.train import resolve_device

# One job's Run (planning.Run): every seed of one case trained (if its method learns), its lines
# generated and scored against the exact solutions, in one process: a job per seed or per step
# spent most of its time starting Python and importing torch.
torch.set_num_threads(snakemake.threads)
w, inputs, out = snakemake.wildcards, snakemake.input, snakemake.output
run = Run.from_dict(snakemake.params.run)
run = replace(run, case=with_best_setting(run.case, inputs.get("best")))
fmap = ForwardMap.from_config(snakemake.params.dataset)
scored = {split: tuple(t[:rows] for t in load_split(inputs[split])) for split, rows in run.splits}
solutions = solutions_by_split(pd.read_parquet(inputs.solutions, filters=[("split", "in", list(scored))]))
data = {name: load_split(inputs[name]) for name in ("train", "validation") if name in inputs.keys()}
train_solutions = SolutionSets(pd.read_parquet(inputs.train_solutions)) if "train_solutions" in inputs.keys() else None
seeds = run_seeds(run, fmap, {split: y for split, (_, y) in scored.items()}, resolve_device(snakemake.params.device),
                  f"{w.dataset}/{w.case}", train=data.get("train"), validation=data.get("validation"),
                  tolerance=snakemake.params.get("tolerance"), histories=out.get("histories"),
                  starts=inputs.get("starts"), states=out.get("states"), solutions=train_solutions)
splits = {split: (x.numpy(), y.numpy()) for split, (x, y) in scored.items()}
seed_metrics, seed_histories = [], []
for index, (seed, model, lines, timing, history) in enumerate(seeds):
    if "models" in out.keys():
        torch.save(model.state_dict(), out.models[index])
    stored = lines_frame(lines)
    save_table(stored, out.lines[index])
    # the stored lines are scored, so a finished study's files reproduce its scores
    start = time.perf_counter()
    scores, rows, summaries = score_stored(fmap, lines_from_frame(stored, POINTS), splits, solutions,
                                           snakemake.params.match_tolerance)
    timing["score_s"] = time.perf_counter() - start
    save_table(scores, out.scores[index])
    rows.assign(dataset=w.dataset, case=w.case, seed=seed).to_parquet(out.rows[index], index=False)
    metrics = records.scored(w.dataset, w.case, run.case["method"], summaries)
    records.write(metrics, out.metrics[index])
    # Wall times vary run to run: kept out of the scores, which the same config reproduces byte for byte.
    with open(out.timing[index], "w") as f:
        json.dump({"dataset": w.dataset, "case": w.case, **timing}, f, indent=2)
    print(f"seed {seed}: lines and scores written to {out.lines[index]}, {out.metrics[index]}:",
          json.dumps(summaries, indent=2))
    seed_metrics.append(metrics)
    seed_histories.append(pd.DataFrame(history) if history else None)
if "summary" in out.keys():  # a case's target (grid points of the search have none)
    records.write(case_summary(run.case, list(run.seeds), seed_metrics, seed_histories), out.summary)
    print(f"{len(run.seeds)} seeds summarised in {out.summary}")
