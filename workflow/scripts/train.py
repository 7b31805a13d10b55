import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from pathlib import Path

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.forward import ForwardMap
from sincvae.planning import with_best_setting
from sincvae.train import TrainingDiverged, TrainSettings, fit, resolve_device

torch.set_num_threads(snakemake.threads)
settings = TrainSettings.from_dict(with_best_setting(snakemake.params.case, snakemake.input.get("best")))
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
print(f"training {snakemake.wildcards.case} on {snakemake.wildcards.dataset} ({fmap}); "
      f"{settings}; device {device}, {torch.get_num_threads()} threads")
# Not a declared output, so Snakemake keeps it when the job dies: a rerun resumes from it.
checkpoint = Path(snakemake.output.model).with_name("checkpoint.pt")
try:
    model, history = fit(settings, fmap, load_split(snakemake.input.train),
                         load_split(snakemake.input.validation), device, checkpoint=checkpoint)
except TrainingDiverged as err:
    w = snakemake.wildcards
    raise TrainingDiverged(f"{w.dataset}/{w.case}/seed{w.seed}: {err}") from None
history = pd.DataFrame(history)
history.to_csv(snakemake.output.history, index=False)
torch.save(model.state_dict(), snakemake.output.model)
checkpoint.unlink()
