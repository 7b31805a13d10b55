import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import evaluate_split, evaluated_splits, save_table
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.metrics import samples_frame
from sincvae.planning import with_best_setting
from sincvae.registry import Context, load_sampler
from sincvae.report import case_summary
from sincvae.train import generation_dtype, resolve_device

# Every seed of one case in one job, as in training.
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
case, options = with_best_setting(snakemake.params.case, snakemake.input.get("best")), snakemake.params.evaluate
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
context = Context(fmap, snakemake.params.tolerance,
                  load_split(snakemake.input.train) if "train" in snakemake.input.keys() else None)
exact = pd.read_parquet(snakemake.input.solutions)
splits = {split: [t[:rows] for t in load_split(snakemake.input[split])]
          for split, rows in evaluated_splits(options["validation_rows"])}
solutions = {split: solutions_from_frame(exact, split, len(x)) for split, (x, _) in splits.items()}
seeds = snakemake.params.seeds
models = snakemake.input.get("models") or [None] * len(seeds)
histories = snakemake.input.get("histories") or [None] * len(seeds)
out = snakemake.output
amp = generation_dtype(case, device)
seed_metrics, seed_histories = [], []
for index, seed in enumerate(seeds):
    sampler = load_sampler(case, models[index], context, device)
    generator = torch.Generator(device).manual_seed(seed)
    history = pd.read_csv(histories[index]) if histories[index] else None
    seed_histories.append(history)
    metrics = {"dataset": w.dataset, "case": w.case, "method": case["method"], "stages": {}}
    timing = {"dataset": w.dataset, "case": w.case, "seed": seed,
              "train_s": float(history["seconds"].sum()) if history is not None else 0.0}
    samples, scores, row_scores = [], [], []
    for split, (x, y) in splits.items():
        print(f"seed {seed}, {split}: generating {options['samples']} lines for each of {len(x)} rows "
              f"(refinement: {options['refine']})")
        stages, timing[split] = evaluate_split(sampler, fmap, split, x, y, solutions[split], options, generator, amp)
        for stage, (lines, split_scores, summary, split_rows) in stages.items():
            if split == "scoring":  # the lines themselves of the scoring rows only (README "Disk")
                samples.append(samples_frame(split, lines).assign(stage=stage))
            scores.append(split_scores.assign(stage=stage))
            row_scores.append(split_rows.assign(stage=stage, dataset=w.dataset, case=w.case, seed=seed))
            metrics["stages"].setdefault(stage, {})[split] = summary
            print(stage, json.dumps(summary, indent=2))
        print("timing", json.dumps(timing[split]))
    save_table(pd.concat(samples, ignore_index=True), out.samples[index])
    save_table(pd.concat(scores, ignore_index=True), out.scores[index])
    pd.concat(row_scores, ignore_index=True).to_parquet(out.rows[index], index=False)
    with open(out.metrics[index], "w") as f:
        json.dump(metrics, f, indent=2)
    seed_metrics.append(metrics)
    # Wall times vary run to run: kept out of metrics.json, which the same config reproduces byte for byte.
    with open(out.timing[index], "w") as f:
        json.dump(timing, f, indent=2)
if "summary" in out.keys():  # a case's target (grid points of the search have none)
    with open(out.summary, "w") as f:
        json.dump(case_summary(case, seeds, seed_metrics, seed_histories), f, indent=2)
    print(f"{len(seeds)} seeds and stages {', '.join(metrics['stages'])} summarised in {out.summary}")
