import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

from sincvae.problem.data import make_dataset, save_dataset, split_rng
from sincvae.problem.forward import ForwardMap

fmap = ForwardMap.from_config(snakemake.params.dataset)
split = snakemake.wildcards.split
print(f"generating {snakemake.params.rows} {split} lines for {fmap} (seed {snakemake.params.seed})")
x, y = make_dataset(fmap, snakemake.params.rows, split_rng(snakemake.params.seed, split))
save_dataset(snakemake.output[0], x, y)
