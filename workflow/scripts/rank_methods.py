import sys

sys.stdout = sys.stderr = open(snakemake.log[0], "w", buffering=1)

import pandas as pd

from sincvae.stats import ranking

# Which method is best: paired tests on the scoring split's rows, each stage apart, over all
# cases and within each class of what the methods know of the map.
rows = pd.concat(pd.read_parquet(path) for path in snakemake.input.rows)
table = ranking(rows[rows["split"] == "scoring"], snakemake.params.metric, snakemake.params.alpha,
                snakemake.params.classes)
table.to_csv(snakemake.output[0], index=False)
print(table.to_string())
