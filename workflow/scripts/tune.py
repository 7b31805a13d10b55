import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.exact import solutions_from_frame
from sincvae.forward import ForwardMap
from sincvae.train import resolve_device
from sincvae.tuning import OBJECTIVE, make_objective, open_study, run_worker, trials_frame

torch.set_num_threads(snakemake.threads)
tuning, options = snakemake.params.tuning, snakemake.params.evaluate
dataset, worker = snakemake.wildcards.dataset, int(snakemake.wildcards.worker)
fmap = ForwardMap.from_config(snakemake.params.dataset)
validation = load_split(snakemake.input.validation)
rows = options["validation_rows"]
solutions = solutions_from_frame(pd.read_parquet(snakemake.input.solutions), "validation", rows)
objective = make_objective(snakemake.params.base, tuning["space"], fmap, load_split(snakemake.input.train), validation,
                           tuple(t[:rows] for t in validation), solutions, options,
                           resolve_device(snakemake.params.device))
study = open_study(snakemake.params.journal, dataset, tuning["seed"] + worker, tuning["startup_trials"])
print(f"worker {worker}, objective {OBJECTIVE} on {rows} validation rows")
ran = run_worker(study, objective, tuning["trials"])
print(f"worker {worker} ran {ran} trials")
trials_frame(study).to_csv(snakemake.output[0], index=False)
