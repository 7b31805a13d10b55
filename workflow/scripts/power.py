import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.decide.power import power

# What the planned seeds can detect, from a finished study's variance components (sincvae.decide.power).
table = power(pd.read_csv(snakemake.input.components), **snakemake.params.planned)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string())
