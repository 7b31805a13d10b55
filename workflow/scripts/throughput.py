import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from dataclasses import replace

import pandas as pd
import torch

from sincvae.problem.data import load_split
from sincvae.problem.forward import ForwardMap
from sincvae.learn.throughput import exact_y_per_s, generation_samples_per_s, machine, training_samples_per_s
from sincvae.learn.train import PRECISIONS, TrainSettings, resolve_device

torch.set_num_threads(snakemake.threads)
device = resolve_device(snakemake.params.device)
settings = TrainSettings.from_dict({**snakemake.params.case, "seed": 0})
rows = []
for dataset, train_path, validation_path in zip(snakemake.params.datasets, snakemake.input.train,
                                                snakemake.input.validation):
    fmap = ForwardMap.from_config(snakemake.params.dataset_specs[dataset])
    x, y = load_split(train_path)
    _, y_val = load_split(validation_path)
    measures = {
        **{f"training samples/s {precision}": training_samples_per_s(replace(settings, precision=precision), fmap,
                                                                   x, y, snakemake.params.steps, device)
           for precision in PRECISIONS},
        "generation samples/s": generation_samples_per_s(settings, y_val[:100], 30,
                                                         snakemake.params.steps, device),
        "exact y/s": exact_y_per_s(fmap, y_val[:snakemake.params.exact_rows].numpy(), snakemake.params.tolerance),
    }
    for measure, value in measures.items():
        print(f"{dataset}: {measure} {value:,.0f}")
        rows.append({"dataset": dataset, "measure": measure, "value": value, "case": snakemake.params.case["case"],
                     "device": str(device), **machine()})
pd.DataFrame(rows).to_csv(snakemake.output[0], index=False)
