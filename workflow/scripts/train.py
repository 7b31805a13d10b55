import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.forward import ForwardMap
from sincvae.planning import with_best_setting
from sincvae.train import TrainSettings, resolve_device, train_seed

# Every seed of one case in one job: a job per seed spent a third of its time importing torch.
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
case = with_best_setting(snakemake.params.case, snakemake.input.get("best"))
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
train, validation = load_split(snakemake.input.train), load_split(snakemake.input.validation)
checkpoints = []
for seed, model_path, history_path in zip(snakemake.params.seeds, snakemake.output.models,
                                          snakemake.output.histories):
    settings = TrainSettings.from_dict({**case, "seed": seed})
    # Not a declared output, so Snakemake keeps it when the job dies: a rerun resumes from it
    # (a finished seed's, kept until the job ends, returns that seed's model without training).
    checkpoint = Path(history_path).with_name("checkpoint.pt")
    checkpoints.append(checkpoint)
    model, history = train_seed(settings, fmap, train, validation, device, checkpoint, f"{w.dataset}/{w.case}/seed{seed}")
    pd.DataFrame(history).to_csv(history_path, index=False)
    torch.save(model.state_dict(), model_path)
for checkpoint in checkpoints:
    checkpoint.unlink()
