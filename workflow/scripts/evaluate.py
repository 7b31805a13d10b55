import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import evaluate_split, evaluated_splits
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.methods import load_sampler
from sincvae.planning import with_best_setting
from sincvae.train import TrainSettings, resolve_device

torch.set_num_threads(snakemake.threads)
case, options = with_best_setting(snakemake.params.case, snakemake.input.get("best")), snakemake.params.evaluate
if not case.get("refine", True):  # the ablations score the method's own lines only
    options = {**options, "refine": {**options["refine"], "steps": 0}}
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
train = load_split(snakemake.input.train) if case["method"] == "nearest" else None
sampler = load_sampler(TrainSettings.from_dict(case), snakemake.input.get("model"), train, device)
generator = torch.Generator(device).manual_seed(case["seed"])

exact = pd.read_parquet(snakemake.input.solutions)
w = snakemake.wildcards
metrics = {"dataset": w.dataset, "case": w.case, "method": case["method"], "stages": {}}
timing = {"dataset": w.dataset, "case": w.case, "seed": case["seed"],
          "train_s": float(pd.read_csv(snakemake.input.history)["seconds"].sum())
          if "history" in snakemake.input.keys() else 0.0}
samples, scores, row_scores = [], [], []
for split, rows in evaluated_splits(options["validation_rows"]):
    x, y = (t[:rows] for t in load_split(snakemake.input[split]))
    print(f"{split}: generating {options['samples']} lines for each of {len(x)} rows "
          f"(refinement: {options['refine']})")
    solutions = solutions_from_frame(exact, split, len(x))
    stages, timing[split] = evaluate_split(sampler, fmap, split, x, y, solutions, options, generator)
    for stage, (split_samples, split_scores, summary, split_rows) in stages.items():
        if split == "scoring":  # the lines themselves of the scoring rows only: 1 MB, not 6 (README "Disk")
            samples.append(split_samples.assign(stage=stage))
        scores.append(split_scores.assign(stage=stage))
        row_scores.append(split_rows.assign(stage=stage, dataset=w.dataset, case=w.case, seed=case["seed"]))
        metrics["stages"].setdefault(stage, {})[split] = summary
        print(stage, json.dumps(summary, indent=2))
    print("timing", json.dumps(timing[split]))

pd.concat(samples, ignore_index=True).to_parquet(snakemake.output.samples, index=False)
pd.concat(scores, ignore_index=True).to_parquet(snakemake.output.scores, index=False)
pd.concat(row_scores, ignore_index=True).to_parquet(snakemake.output.rows, index=False)
with open(snakemake.output.metrics, "w") as out:
    json.dump(metrics, out, indent=2)
# Wall times vary run to run: kept out of metrics.json, which the same config reproduces byte for byte.
with open(snakemake.output.timing, "w") as out:
    json.dump(timing, out, indent=2)
