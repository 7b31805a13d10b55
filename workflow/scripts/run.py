import json
from dataclasses import replace
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae import paths
from sincvae.problem.data import SolutionSets, load_split
from sincvae.learn.evaluate import run_seeds
from sincvae.problem.forward import ForwardMap
from sincvae.plan.cases import with_best_setting
from sincvae.plan.planning import Run
from sincvae.score.scoring import lines_frame, save_table
from sincvae.learn.train import resolve_device

# One job's Run (planning.Run, one library function: evaluate.run_seeds): a batch of one case's
# seeds trained (if its method learns) and its lines generated, in one process: a job per seed
# spent most of its time starting Python and importing torch. The case's score job scores the
# stored lines of all its batches.
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
                  tolerance=snakemake.params.get("tolerance"), history=out.get("histories"),
                  checkpoints=paths.fill(paths.CHECKPOINTS, dataset=w.dataset, case=w.case),
                  starts=inputs.get("starts"), states=out.get("states"), solutions=train_solutions)
frames, models, timings = [], {}, []
for seed, model, lines, timing, history in seeds:
    models[seed] = model.state_dict()
    frames.append(lines_frame(lines).assign(seed=seed))
    # Wall times vary run to run: kept apart from the lines, which the same config reproduces byte for byte.
    timings.append({"dataset": w.dataset, "case": w.case, **timing})
    print(f"seed {seed}: lines generated")
if "models" in out.keys():
    torch.save(models, out.models)
save_table(pd.concat(frames, ignore_index=True), out.lines)
with open(out.timing, "w") as f:
    json.dump(timings, f, indent=2)
print(f"seeds {', '.join(map(str, run.seeds))}: lines written to {out.lines}")
