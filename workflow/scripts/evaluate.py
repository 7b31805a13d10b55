import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import evaluate_split, evaluated_splits, load_model
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.train import resolve_device

torch.set_num_threads(snakemake.threads)
case, options = snakemake.params.case, snakemake.params.evaluate
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
model = load_model(snakemake.input.model, case["latent_dim"], case["variant"], device)
generator = torch.Generator(device).manual_seed(case["seed"])

exact = pd.read_parquet(snakemake.input.solutions)
metrics = {"dataset": snakemake.wildcards.dataset, "case": snakemake.wildcards.case, "splits": {}}
samples, scores = [], []
for split, rows in evaluated_splits(options["validation_rows"]):
    x, y = (t[:rows] for t in load_split(snakemake.input[split]))
    print(f"generating {options['samples']} lines for each of {len(x)} {split} rows")
    solutions = solutions_from_frame(exact, split, len(x))
    split_samples, split_scores, summary = evaluate_split(
        model, fmap, split, x, y, solutions, options["samples"], options["match_tolerance"], generator
    )
    samples.append(split_samples)
    scores.append(split_scores)
    metrics["splits"][split] = summary
    print(json.dumps(summary, indent=2))

pd.concat(samples, ignore_index=True).to_parquet(snakemake.output.samples, index=False)
pd.concat(scores, ignore_index=True).to_parquet(snakemake.output.scores, index=False)
with open(snakemake.output.metrics, "w") as out:
    json.dump(metrics, out, indent=2)
