import json
from dataclasses import replace
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.problem.data import SolutionSets, load_split
from sincvae.learn.evaluate import run_seeds
from sincvae.problem.forward import ForwardMap
from sincvae.plan.cases import with_best_setting
from sincvae.plan.planning import Run
from sincvae.score.scoring import lines_frame, save_table
from sincvae.learn.train import resolve_device

# One job's Run (planning.Run): every seed of one case trained (if its method learns) and its
# lines generated, in one process: a job per seed spent most of its time starting Python and
# importing torch. The case's score job scores the stored lines.
torch.set_num_threads(snakemake.threads)
w, inputs, out = snakemake.wildcards, snakemake.input, snakemake.output
run = Run.from_dict(snakemake.params.run)
run = replace(run, case=with_best_setting(run.case, inputs.get("best")))
fmap = ForwardMap.from_config(snakemake.params.dataset)
targets = {split: load_split(inputs[split])[1][:rows] for split, rows in run.splits}
data = {name: load_split(inputs[name]) for name in ("train", "validation") if name in inputs.keys()}
train_solutions = SolutionSets(pd.read_parquet(inputs.train_solutions)) if "train_solutions" in inputs.keys() else None
seeds = run_seeds(run, fmap, targets, resolve_device(snakemake.params.device),
                  f"{w.dataset}/{w.case}", train=data.get("train"), validation=data.get("validation"),
                  tolerance=snakemake.params.get("tolerance"), histories=out.get("histories"),
                  starts=inputs.get("starts"), states=out.get("states"), solutions=train_solutions)
for index, (seed, model, lines, timing, history) in enumerate(seeds):
    if "models" in out.keys():
        torch.save(model.state_dict(), out.models[index])
    save_table(lines_frame(lines), out.lines[index])
    # Wall times vary run to run: kept apart from the lines, which the same config reproduces byte for byte.
    with open(out.timing[index], "w") as f:
        json.dump({"dataset": w.dataset, "case": w.case, **timing}, f, indent=2)
    print(f"seed {seed}: lines written to {out.lines[index]}")
