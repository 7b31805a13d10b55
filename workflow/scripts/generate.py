import json
import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd
import torch

from sincvae.data import load_split
from sincvae.evaluate import generate_split, lines_frame, save_table
from sincvae.forward import ForwardMap
from sincvae.planning import with_best_setting
from sincvae.registry import Context, load_sampler
from sincvae.train import generation_dtype, resolve_device

# Every seed of one case in one job, as in training: its lines, raw and refined, on the scored
# rows of each split; rule score scores them.
torch.set_num_threads(snakemake.threads)
w = snakemake.wildcards
case, options = with_best_setting(snakemake.params.case, snakemake.input.get("best")), snakemake.params.generate
fmap = ForwardMap.from_config(snakemake.params.dataset)
device = resolve_device(snakemake.params.device)
context = Context(fmap, snakemake.params.tolerance,
                  load_split(snakemake.input.train) if "train" in snakemake.input.keys() else None)
targets = {split: load_split(snakemake.input[split])[1][:rows] for split, rows in snakemake.params.splits}
models = snakemake.input.get("models") or [None] * len(snakemake.params.seeds)
histories = snakemake.input.get("histories") or [None] * len(snakemake.params.seeds)
amp = generation_dtype(case, device)
for index, seed in enumerate(snakemake.params.seeds):
    sampler = load_sampler(case, models[index], context, device)
    generator = torch.Generator(device).manual_seed(seed)
    train_s = float(pd.read_csv(histories[index])["seconds"].sum()) if histories[index] else 0.0
    timing = {"dataset": w.dataset, "case": w.case, "seed": seed, "train_s": train_s}
    lines = {}
    for split, y in targets.items():
        print(f"seed {seed}, {split}: generating {options['samples']} lines for each of {len(y)} rows "
              f"(refinement: {options['refine']})")
        stages, timing[split] = generate_split(sampler, fmap, y, options, generator, amp)
        lines.update({(split, stage): x for stage, x in stages.items()})
        print("timing", json.dumps(timing[split]))
    save_table(lines_frame(lines), snakemake.output.lines[index])
    # Wall times vary run to run: kept out of the scores, which the same config reproduces byte for byte.
    with open(snakemake.output.timing[index], "w") as f:
        json.dump(timing, f, indent=2)
