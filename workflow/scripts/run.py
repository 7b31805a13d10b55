import json
from dataclasses import replace
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from sincvae.data import load_split
from sincvae.evaluate import lines_frame, run_seeds, save_table
from sincvae.forward import ForwardMap
from sincvae.planning import Run, with_best_setting
from sincvae.train import resolve_device

# One job's Run (planning.Run): every seed of one case trained (if its method learns) and its
# lines generated, in one process: a job per seed or per step spent its time importing torch.
torch.set_num_threads(snakemake.threads)
w, inputs, out = snakemake.wildcards, snakemake.input, snakemake.output
run = Run.from_dict(snakemake.params.run)
run = replace(run, case=with_best_setting(run.case, inputs.get("best")))
fmap = ForwardMap.from_config(snakemake.params.dataset)
targets = {split: load_split(inputs[split])[1][:rows] for split, rows in run.splits}
data = {name: load_split(inputs[name]) for name in ("train", "validation") if name in inputs.keys()}
seeds = run_seeds(run, fmap, targets, resolve_device(snakemake.params.device), f"{w.dataset}/{w.case}",
                  data.get("train"), data.get("validation"), snakemake.params.get("tolerance"),
                  out.get("histories"), inputs.get("starts"), out.get("states"))
for index, (seed, model, lines, timing) in enumerate(seeds):
    if "models" in out.keys():
        torch.save(model.state_dict(), out.models[index])
    save_table(lines_frame(lines), out.lines[index])
    # Wall times vary run to run: kept out of the scores, which the same config reproduces byte for byte.
    with open(out.timing[index], "w") as f:
        json.dump({"dataset": w.dataset, "case": w.case, **timing}, f, indent=2)
    print(f"seed {seed}: lines written to {out.lines[index]}")
