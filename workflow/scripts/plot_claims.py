import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.show.plots import claim_effects, claim_levels, save_figure

verdicts = pd.read_csv(snakemake.input.verdicts)
levels = pd.read_csv(snakemake.input.levels)
save_figure(claim_effects(verdicts), snakemake.output.headline)
for factor, text in snakemake.params.claims.items():
    inside = snakemake.params.inside[factor]
    sweep = levels[levels["factor"] == factor]
    save_figure(claim_levels(sweep, text, inside), snakemake.output[factor])
