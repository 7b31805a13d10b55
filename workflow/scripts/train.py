import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from sincvae.data import load_split
from sincvae.forward import ForwardMap
from sincvae.planning import with_best_setting
from sincvae.train import resolve_device, train_seeds

# Every seed of one case in one job: a job per seed spent a third of its time importing torch.
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
case = with_best_setting(snakemake.params.case, snakemake.input.get("best"))
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
train, validation = load_split(snakemake.input.train), load_split(snakemake.input.validation)
runs = train_seeds(case, snakemake.params.seeds, snakemake.output.histories, fmap, train, validation, device,
                   f"{w.dataset}/{w.case}")
for (_, model, _), model_path in zip(runs, snakemake.output.models):
    torch.save(model.state_dict(), model_path)
