import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.stats import ranking

# Which method is best: paired tests on the scoring split's rows, each stage apart.
rows = pd.concat(pd.read_parquet(path) for path in snakemake.input.rows)
table = ranking(rows[rows["split"] == "scoring"], snakemake.params.metric, snakemake.params.alpha)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string())
