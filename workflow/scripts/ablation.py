import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from sincvae.data import load_split
from sincvae.evaluate import generate_split, lines_frame, save_table
from sincvae.forward import ForwardMap
from sincvae.train import generation_dtype, resolve_device, train_seeds

# One ablation level: every seed trained, then its own lines (raw stage, no refinement) on the
# scoring split, in one job (a job per seed spent more time importing torch than training); rule
# score_ablation scores them.
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
train = load_split(snakemake.input.train)  # no per-epoch validation loss: nothing reads it here
_, y = load_split(snakemake.input.scoring)
amp = generation_dtype(snakemake.params.case, device)
runs = train_seeds(snakemake.params.case, snakemake.params.seeds, snakemake.output.histories, fmap, train, None, device,
                   f"{w.dataset}/{w.case}", snakemake.input.get("starts"), snakemake.output.get("states"))
for (seed, model, _), path in zip(runs, snakemake.output.lines):
    generator = torch.Generator(device).manual_seed(seed)
    stages, _ = generate_split(model.to(device).eval(), fmap, y, snakemake.params.generate, generator, amp)
    save_table(lines_frame({("scoring", "raw"): stages["raw"]}), path)
    print(f"seed {seed}: {stages['raw'].shape[1]} raw lines per scoring row written to {path}")
