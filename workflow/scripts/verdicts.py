import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.decide.claims import level_summary, verdicts

# The claims are about the CVAE's own lines: raw stage, scoring split.
rows = pd.concat(pd.read_parquet(path) for path in snakemake.input.rows)
scored = rows[(rows["split"] == "scoring") & (rows["stage"] == "raw")]
params = snakemake.params
table = verdicts(scored, params.levels, params.claims, params.alpha, params.primary, params.margins,
                 params.resamples, params.seed)
table.to_csv(snakemake.output.verdicts, index=False)
level_summary(scored, snakemake.params.levels).to_csv(snakemake.output.levels, index=False)
print(table.to_string())
