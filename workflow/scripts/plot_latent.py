import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import torch

from sincvae.problem.data import load_split
from sincvae.learn.latent import projected_means
from sincvae.show.plots import latent_projections, save_figure
from sincvae.learn.registry import load_sampler

x, y = (t[:snakemake.params.rows] for t in load_split(snakemake.input.validation))
points, shares = {}, {}
for (case, row), path in zip(snakemake.params.cases.items(), snakemake.input.models):
    model = load_sampler(row, path, None, torch.device("cpu"), seed=0)
    points[case], shares[case] = projected_means(model, x, y)
    print(f"{case}: first two principal axes hold {shares[case].sum():.0%} of the encoder means' variance")
save_figure(latent_projections(points, shares, x[:, 0, 0].numpy(), "x0 at the start of the line"), snakemake.output[0])
