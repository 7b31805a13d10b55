import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import evaluate_split
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.report import case_summary
from sincvae.train import generation_dtype, resolve_device, train_seeds

# One ablation level: every seed trained, then its own lines (raw stage) scored on the scoring
# split, in one job; a job per seed spent more time importing torch than training (README "Run time").
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
train = load_split(snakemake.input.train)  # no per-epoch validation loss: nothing reads it here
x, y = load_split(snakemake.input.scoring)
solutions = solutions_from_frame(pd.read_parquet(snakemake.input.solutions), "scoring", len(x))
options = {**snakemake.params.evaluate, "refine": {**snakemake.params.evaluate["refine"], "steps": 0}}
method = snakemake.params.case["method"]
amp = generation_dtype(snakemake.params.case, device)
seed_metrics, histories = [], []
runs = train_seeds(snakemake.params.case, snakemake.params.seeds, snakemake.output.histories, fmap, train, None, device,
                   f"{w.dataset}/{w.case}", snakemake.input.get("starts"), snakemake.output.get("states"))
for (seed, model, history), rows_path in zip(runs, snakemake.output.rows):
    generator = torch.Generator(device).manual_seed(seed)
    stages, _ = evaluate_split(model.to(device).eval(), fmap, "scoring", x, y, solutions, options, generator, amp)
    _, _, summary, rows = stages["raw"]
    rows.assign(stage="raw", dataset=w.dataset, case=w.case, seed=seed).to_parquet(rows_path, index=False)
    print(f"seed {seed}: raw lines on the scoring split", json.dumps(summary))
    metrics = {"dataset": w.dataset, "case": w.case, "method": method, "stages": {"raw": {"scoring": summary}}}
    seed_metrics.append(metrics)
    histories.append(pd.DataFrame(history))
# The level's target, as a comparison case's: every metric's mean over seeds with its interval.
with open(snakemake.output.metrics, "w") as out:
    json.dump(case_summary(snakemake.params.case, snakemake.params.seeds, seed_metrics, histories), out, indent=2)
