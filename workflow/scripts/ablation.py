import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import json
from pathlib import Path

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import evaluate_split
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.report import aggregate_seeds, seed_rows
from sincvae.train import TrainSettings, end_checkpoint, resolve_device, start_checkpoint, train_seed

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
seeds = snakemake.params.seeds
seed_summaries, checkpoints = [], []
starts = snakemake.input.get("starts") or [None] * len(seeds)
states = snakemake.output.get("states") or [None] * len(seeds)
for seed, history_path, rows_path, start, state in zip(seeds, snakemake.output.histories, snakemake.output.rows,
                                                       starts, states):
    settings = TrainSettings.from_dict({**snakemake.params.case, "seed": seed})
    # Not a declared output, so Snakemake keeps it when the job dies: a rerun resumes from it
    # (a finished seed's, kept until the job ends, returns that seed's model without training).
    checkpoint = Path(history_path).with_name("checkpoint.pt")
    checkpoints.append(checkpoint)
    start_checkpoint(checkpoint, start)
    model, history = train_seed(settings, fmap, train, None, device, checkpoint, f"{w.dataset}/{w.case}/seed{seed}")
    pd.DataFrame(history).to_csv(history_path, index=False)
    generator = torch.Generator(device).manual_seed(seed)
    stages, _ = evaluate_split(model.to(device).eval(), fmap, "scoring", x, y, solutions, options, generator)
    _, _, summary, rows = stages["raw"]
    rows.assign(stage="raw", dataset=w.dataset, case=w.case, seed=seed).to_parquet(rows_path, index=False)
    print(f"seed {seed}: raw lines on the scoring split", json.dumps(summary))
    metrics = {"dataset": w.dataset, "case": w.case, "method": "cvae", "stages": {"raw": {"scoring": summary}}}
    seed_summaries += seed_rows(metrics, {**snakemake.params.case, "seed": seed}, pd.DataFrame(history))
for checkpoint, state in zip(checkpoints, states):
    end_checkpoint(checkpoint, state)
# The level's target, as a comparison case's: every metric's mean over seeds with its interval.
with open(snakemake.output.metrics, "w") as out:
    json.dump({"dataset": w.dataset, "case": w.case, "method": "cvae",
               "stages": {"raw": aggregate_seeds(seed_summaries)}}, out, indent=2)
